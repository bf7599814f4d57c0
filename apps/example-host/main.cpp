// A host service's view of conclave: its own io_context, its own periodic work (a heartbeat
// here), and a heavy-mode ask running alongside on the same loop, awaited with use_awaitable.
// Build: part of the project (target example-host). Run: ./example-host "question"
#include <conclave/engine/ask.hpp>
#include <conclave/engine/progress.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>

namespace asio = boost::asio;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  const std::string question = argc > 1 ? argv[1] : "Should our team adopt a four-day week?";
  asio::io_context io;

  // The model: the mock on loopback here; an openai_model on a real endpoint works the same.
  conclave::mock::mock_options mock_opts;
  mock_opts.latency = 200ms;
  conclave::mock::mock_server mock(io.get_executor(), mock_opts);
  mock.start();
  conclave::http::client client(io.get_executor());
  conclave::openai::openai_model llm(client,
                                     {.base_url = mock.base_url(), .default_model = "mock"});
  conclave::engine engine(io.get_executor(), llm);

  // The host's own work: a heartbeat every 100 ms, untouched by the ask.
  bool asking = true;
  int beats = 0;
  asio::steady_timer heartbeat(io);
  std::function<void()> beat = [&] {
    heartbeat.expires_after(100ms);
    heartbeat.async_wait([&](boost::system::error_code ec) {
      if (ec || !asking) return;
      std::cout << "  host heartbeat " << ++beats << "\n";
      beat();
    });
  };
  beat();

  auto ask = [&]() -> asio::awaitable<void> {
    conclave::ask_options opts;
    opts.agents = 5;
    opts.observers.push_back([](const conclave::event& e, const conclave::progress_map&) {
      if (e.kind != conclave::event_kind::progress) {
        std::cout << "  event " << conclave::to_string(e.kind)
                  << (e.agent ? " agent " + std::to_string(*e.agent + 1) : "") << "\n";
      }
    });
    auto [ec, report] =
        co_await conclave::async_ask(engine, question, opts, asio::as_tuple(asio::use_awaitable));
    asking = false;
    heartbeat.cancel();
    mock.stop();
    std::cout << (ec ? "failed: " + ec.message() : report.answer) << "\n"
              << report.agents.size() << " agents, wall "
              << std::chrono::duration<double>(report.wall).count() << " s, speedup "
              << report.speedup() << "x, while the host beat " << beats << " times\n";
  };
  // The host owns this coroutine; a failure inside it would surface from io.run().
  asio::co_spawn(io, ask(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}
