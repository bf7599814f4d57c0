// async_semaphore on an io_context: priority then FIFO, completions posted to the handler's
// executor, cancellation (alone, racing a grant, all at once), a cap that grows and shrinks;
// and 8,000 acquirers on four threads, some cancelled by timers (run under TSan).
#include <conclave/engine/async_semaphore.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace engine_test_semaphore {  // file-local names stay apart in unity batches

namespace asio = boost::asio;
using namespace std::chrono_literals;
using boost::system::error_code;
using conclave::async_semaphore;

namespace {

// What one acquire came to, and the order in which acquires completed.
struct journal {
  std::vector<std::string> order;
  std::vector<error_code> results;
};

// Starts an acquire that logs `name` (and its error code) when it completes.
void acquire(async_semaphore& sem, asio::io_context& io, journal& j, std::string name,
             int priority = 0, asio::cancellation_slot slot = {}) {
  sem.async_acquire(priority, asio::bind_cancellation_slot(
                                  slot, asio::bind_executor(io, [&j, name](error_code ec) {
                                    j.order.push_back(name);
                                    j.results.push_back(ec);
                                  })));
}

// Runs the handlers ready now. A waiter counts as work, so io.stopped() afterwards says that
// nobody is left waiting.
void settle(asio::io_context& io) {
  io.restart();
  io.poll();
}

bool aborted(const error_code& ec) { return ec == asio::error::operation_aborted; }

}  // namespace

BOOST_AUTO_TEST_SUITE(semaphore)

BOOST_AUTO_TEST_CASE(a_free_permit_is_granted_but_never_inline) {
  asio::io_context io;
  async_semaphore sem(1);
  journal j;
  acquire(sem, io, j, "a");
  BOOST_CHECK_EQUAL(sem.available(), 0u);  // taken at once...
  BOOST_CHECK(j.order.empty());            // ...but completed only through the executor
  settle(io);
  BOOST_REQUIRE_EQUAL(j.order.size(), 1u);
  BOOST_CHECK(!j.results[0]);
  sem.release();
  BOOST_CHECK_EQUAL(sem.available(), 1u);
  BOOST_CHECK(io.stopped());
}

BOOST_AUTO_TEST_CASE(release_posts_to_the_first_waiter_in_priority_then_fifo_order) {
  asio::io_context io;
  async_semaphore sem(0);
  journal j;
  acquire(sem, io, j, "low1", -1);
  acquire(sem, io, j, "mid1");
  acquire(sem, io, j, "high1", 5);
  acquire(sem, io, j, "mid2");
  acquire(sem, io, j, "high2", 5);
  acquire(sem, io, j, "low2", -1);
  BOOST_CHECK_EQUAL(sem.waiting(), 6u);
  for (int i = 0; i < 6; ++i) {
    sem.release();
    BOOST_CHECK_EQUAL(j.order.size(), static_cast<std::size_t>(i));  // never inside release()
    settle(io);
  }
  const std::vector<std::string> want{"high1", "high2", "mid1", "mid2", "low1", "low2"};
  BOOST_CHECK(j.order == want);
  for (const auto& ec : j.results) BOOST_CHECK(!ec);
  BOOST_CHECK_EQUAL(sem.available(), 0u);
  BOOST_CHECK_EQUAL(sem.waiting(), 0u);
  BOOST_CHECK(io.stopped());
}

BOOST_AUTO_TEST_CASE(a_waiter_blocks_later_comers_and_try_acquire) {
  asio::io_context io;
  async_semaphore sem(1);
  journal j;
  BOOST_CHECK(sem.try_acquire());
  BOOST_CHECK(!sem.try_acquire());
  acquire(sem, io, j, "waiter");
  sem.release();  // straight to the waiter, never to the free count
  BOOST_CHECK_EQUAL(sem.available(), 0u);
  BOOST_CHECK(!sem.try_acquire());
  settle(io);
  BOOST_REQUIRE_EQUAL(j.order.size(), 1u);
  sem.release();
  BOOST_CHECK(sem.try_acquire());
  sem.release();
  BOOST_CHECK_EQUAL(sem.available(), 1u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_waiter_is_aborted_and_loses_no_permit) {
  asio::io_context io;
  async_semaphore sem(1);
  journal j;
  BOOST_REQUIRE(sem.try_acquire());
  asio::cancellation_signal cancel_b;
  acquire(sem, io, j, "a");
  acquire(sem, io, j, "b", 0, cancel_b.slot());
  acquire(sem, io, j, "c");
  cancel_b.emit(asio::cancellation_type::terminal);
  BOOST_CHECK_EQUAL(sem.waiting(), 2u);  // gone from the list at once
  settle(io);
  BOOST_REQUIRE_EQUAL(j.order.size(), 1u);
  BOOST_CHECK_EQUAL(j.order[0], "b");
  BOOST_CHECK(aborted(j.results[0]));
  cancel_b.emit(asio::cancellation_type::terminal);  // again: nobody is listening any more
  sem.release();
  settle(io);
  sem.release();
  settle(io);
  sem.release();
  const std::vector<std::string> want{"b", "a", "c"};
  BOOST_CHECK(j.order == want);
  BOOST_CHECK(!j.results[1] && !j.results[2]);
  BOOST_CHECK_EQUAL(sem.available(), 1u);
  BOOST_CHECK(io.stopped());
}

BOOST_AUTO_TEST_CASE(any_cancellation_type_cancels_a_waiter) {
  for (auto type : {asio::cancellation_type::terminal, asio::cancellation_type::partial,
                    asio::cancellation_type::total}) {
    asio::io_context io;
    async_semaphore sem(0);
    journal j;
    asio::cancellation_signal cancel;
    acquire(sem, io, j, "a", 0, cancel.slot());
    cancel.emit(type);
    settle(io);
    BOOST_REQUIRE_EQUAL(j.results.size(), 1u);
    BOOST_CHECK(aborted(j.results[0]));
    BOOST_CHECK_EQUAL(sem.waiting(), 0u);
  }
}

BOOST_AUTO_TEST_CASE(a_cancel_after_the_grant_is_ignored_and_the_caller_holds_the_permit) {
  asio::io_context io;
  async_semaphore sem(0);
  journal j;
  asio::cancellation_signal cancel;
  acquire(sem, io, j, "a", 0, cancel.slot());
  sem.release();  // granted: its completion is posted, not run yet
  cancel.emit(asio::cancellation_type::terminal);
  settle(io);
  BOOST_REQUIRE_EQUAL(j.results.size(), 1u);
  BOOST_CHECK(!j.results[0]);  // success: the permit is the caller's
  BOOST_CHECK_EQUAL(sem.available(), 0u);
  sem.release();
  BOOST_CHECK_EQUAL(sem.available(), 1u);
}

BOOST_AUTO_TEST_CASE(a_cancel_before_the_release_sends_the_permit_to_the_next_or_free) {
  asio::io_context io;
  async_semaphore sem(0);
  journal j;
  asio::cancellation_signal cancel;
  acquire(sem, io, j, "a", 0, cancel.slot());
  cancel.emit(asio::cancellation_type::terminal);
  sem.release();  // nobody waits any more
  settle(io);
  BOOST_REQUIRE_EQUAL(j.results.size(), 1u);
  BOOST_CHECK(aborted(j.results[0]));
  BOOST_CHECK_EQUAL(sem.available(), 1u);
}

BOOST_AUTO_TEST_CASE(the_completion_runs_on_the_handlers_executor) {
  asio::io_context io;
  auto strand = asio::make_strand(io);
  async_semaphore sem(0);
  bool on_strand = false;
  bool done = false;
  sem.async_acquire(asio::bind_executor(strand, [&](error_code ec) {
    on_strand = strand.running_in_this_thread();
    done = !ec;
  }));
  sem.release();
  settle(io);
  BOOST_CHECK(done);
  BOOST_CHECK(on_strand);
}

BOOST_AUTO_TEST_CASE(a_waiter_keeps_its_context_busy_until_it_completes) {
  asio::io_context io;
  async_semaphore sem(0);
  journal j;
  acquire(sem, io, j, "a");
  settle(io);
  BOOST_CHECK(!io.stopped());  // run() would not return with a caller still waiting
  sem.release();
  settle(io);
  BOOST_CHECK(io.stopped());
}

BOOST_AUTO_TEST_CASE(a_grown_cap_adds_permits_and_a_shrunk_one_retires_them) {
  asio::io_context io;
  async_semaphore sem(2);
  journal j;
  BOOST_CHECK(sem.retire_permit());  // a free one, taken now
  BOOST_CHECK_EQUAL(sem.available(), 1u);
  BOOST_REQUIRE(sem.try_acquire());
  acquire(sem, io, j, "a");
  acquire(sem, io, j, "b");
  BOOST_CHECK(!sem.retire_permit());  // none free: the next released one
  BOOST_CHECK_EQUAL(sem.retiring(), 1u);
  sem.release();  // retired, not handed to "a"
  settle(io);
  BOOST_CHECK(j.order.empty());
  BOOST_CHECK_EQUAL(sem.retiring(), 0u);
  sem.add_permits(2);  // both waiters served
  settle(io);
  BOOST_CHECK(j.order == (std::vector<std::string>{"a", "b"}));
  BOOST_CHECK(!sem.retire_permit());
  sem.add_permits(3);  // pays the owed retirement first, two are free
  BOOST_CHECK_EQUAL(sem.retiring(), 0u);
  BOOST_CHECK_EQUAL(sem.available(), 2u);
  sem.release(2);
  BOOST_CHECK_EQUAL(sem.available(), 4u);
}

BOOST_AUTO_TEST_CASE(release_of_several_serves_waiters_then_fills_the_free_count) {
  asio::io_context io;
  async_semaphore sem(0);
  journal j;
  acquire(sem, io, j, "a");
  acquire(sem, io, j, "b");
  sem.release(5);
  settle(io);
  BOOST_CHECK_EQUAL(j.order.size(), 2u);
  BOOST_CHECK_EQUAL(sem.available(), 3u);
}

BOOST_AUTO_TEST_CASE(cancel_all_aborts_every_waiter_and_keeps_the_permits) {
  asio::io_context io;
  async_semaphore sem(1);
  journal j;
  BOOST_REQUIRE(sem.try_acquire());
  asio::cancellation_signal cancel;
  acquire(sem, io, j, "a");
  acquire(sem, io, j, "b", 3, cancel.slot());
  acquire(sem, io, j, "c", -3);
  sem.cancel_all();
  BOOST_CHECK_EQUAL(sem.waiting(), 0u);
  cancel.emit(asio::cancellation_type::terminal);  // late: "b" is already aborted, once
  settle(io);
  BOOST_REQUIRE_EQUAL(j.results.size(), 3u);
  for (const auto& ec : j.results) BOOST_CHECK(aborted(ec));
  sem.release();
  BOOST_CHECK_EQUAL(sem.available(), 1u);
  BOOST_CHECK(io.stopped());
}

BOOST_AUTO_TEST_CASE(a_coroutine_awaits_and_is_cancelled_through_its_slot) {
  asio::io_context io;
  async_semaphore sem(0);
  std::vector<std::string> log;
  auto waiter = [&](std::string name) -> asio::awaitable<void> {
    auto [ec] = co_await sem.async_acquire(asio::as_tuple(asio::use_awaitable));
    log.push_back(name + (ec ? " aborted" : " granted"));
    if (!ec) sem.release();
  };
  asio::cancellation_signal stop_first;
  asio::co_spawn(io, waiter("first"),
                 asio::bind_cancellation_slot(stop_first.slot(), [](std::exception_ptr) {}));
  asio::co_spawn(io, waiter("second"), [](std::exception_ptr) {});
  settle(io);
  BOOST_CHECK_EQUAL(sem.waiting(), 2u);
  stop_first.emit(asio::cancellation_type::terminal);
  settle(io);
  sem.release();
  settle(io);
  BOOST_CHECK(log == (std::vector<std::string>{"first aborted", "second granted"}));
  BOOST_CHECK_EQUAL(sem.available(), 1u);
  BOOST_CHECK(io.stopped());
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

namespace {

struct tally {
  std::atomic<int> holders{0};
  std::atomic<int> peak{0};
  std::atomic<int> granted{0};
  std::atomic<int> aborted{0};
  std::atomic<int> cancels_sent{0};
  std::atomic<int> failures{0};  // exceptions, or a holder count over the cap
};

// One acquirer's strand and cancellation signal, made before the threads start. Its signal
// is only ever emitted on its strand: by its own timer, or posted there by another acquirer.
struct member {
  asio::strand<asio::io_context::executor_type> strand;
  std::shared_ptr<asio::cancellation_signal> cancel = std::make_shared<asio::cancellation_signal>();
};

// Acquirer `i` on its own strand: maybe a timer cancels its wait (at a random time, so some
// fire while it waits and some after its grant), then it holds the permit for a moment (a few
// posts, or a short timer). Before giving it back it may cancel the acquirer `cap` places
// behind it, which is then likely at the head of the queue: the cancel races the grant.
asio::awaitable<void> acquirer(async_semaphore& sem, tally& t, int cap,
                               const std::vector<member>& all, std::size_t i) {
  std::mt19937 rng(static_cast<unsigned>(i) * 2654435761u + 1);
  auto ex = co_await asio::this_coro::executor;
  auto cancel = all[i].cancel;  // shared: the timer's handler may run after this frame is gone
  asio::steady_timer canceller(ex);
  if (rng() % 4 == 0) {
    canceller.expires_after(std::chrono::microseconds(rng() % 150'000));
    canceller.async_wait([cancel](error_code ec) {
      if (!ec) cancel->emit(asio::cancellation_type::terminal);
    });
  }
  const int priority = static_cast<int>(rng() % 3) - 1;
  auto token = asio::bind_cancellation_slot(cancel->slot(), asio::as_tuple(asio::use_awaitable));
  auto [ec] = co_await sem.async_acquire(priority, std::move(token));
  canceller.cancel();
  if (ec) {
    if (ec != asio::error::operation_aborted) ++t.failures;
    ++t.aborted;
    co_return;
  }
  ++t.granted;
  const int now = ++t.holders;
  if (now > cap) ++t.failures;
  for (int peak = t.peak.load(); now > peak && !t.peak.compare_exchange_weak(peak, now);) {
  }
  if (rng() % 2 == 0) {
    for (unsigned n = rng() % 4; n > 0; --n) co_await asio::post(ex, asio::use_awaitable);
  } else {
    asio::steady_timer hold(ex, std::chrono::microseconds(rng() % 100));
    co_await hold.async_wait(asio::use_awaitable);
  }
  --t.holders;
  if (rng() % 4 == 0) {
    const member& behind = all[(i + static_cast<std::size_t>(cap)) % all.size()];
    ++t.cancels_sent;
    asio::post(behind.strand, [c = behind.cancel] { c->emit(asio::cancellation_type::terminal); });
  }
  sem.release();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(semaphore_threads)

BOOST_AUTO_TEST_CASE(eight_thousand_acquirers_on_four_threads_never_exceed_the_permits) {
  constexpr int permits = 7;
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  asio::io_context io(threads);
  async_semaphore sem(permits);
  tally t;
  std::vector<member> all;
  for (int i = 0; i < threads * per_thread; ++i) all.push_back({asio::make_strand(io)});
  for (std::size_t i = 0; i < all.size(); ++i) {
    asio::co_spawn(all[i].strand, acquirer(sem, t, permits, all, i), [&t](std::exception_ptr e) {
      if (e) ++t.failures;
    });
  }
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back([&] { io.run_for(60s); });
  for (auto& th : pool) th.join();
  // Assertions only here, on the test's thread (Boost.Test is not thread-safe).
  BOOST_CHECK(io.stopped());  // ran out of work: nobody left waiting
  BOOST_CHECK_EQUAL(t.failures.load(), 0);
  BOOST_CHECK_EQUAL(t.granted.load() + t.aborted.load(), threads * per_thread);
  BOOST_CHECK_GT(t.aborted.load(), 0);
  BOOST_CHECK_LE(t.peak.load(), permits);
  BOOST_CHECK_EQUAL(t.holders.load(), 0);
  BOOST_CHECK_EQUAL(sem.available(), static_cast<std::size_t>(permits));
  BOOST_CHECK_EQUAL(sem.waiting(), 0u);
  BOOST_TEST_MESSAGE("granted " << t.granted << ", aborted " << t.aborted << ", cancels sent by "
                                << "holders " << t.cancels_sent << ", peak " << t.peak);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace engine_test_semaphore
