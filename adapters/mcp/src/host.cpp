#include "launch.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mcp/host.hpp>
#include <conclave/mcp/naming.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace conclave::mcp {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// One server's tool, as agents see it: the exposed name on the spec, the server's own name
// on the wire.
class server_tool final : public tool {
 public:
  server_tool(std::shared_ptr<client> c, tool_spec spec, std::string remote)
      : client_(std::move(c)), spec_(std::move(spec)), remote_(std::move(remote)) {}

  const tool_spec& spec() const override { return spec_; }
  asio::any_io_executor get_executor() const override { return client_->get_executor(); }

 protected:
  void do_invoke(asio::any_io_executor ex, std::string arguments,
                 invoke_handler&& handler) override {
    client_->async_call_tool(remote_, std::move(arguments),
                             asio::bind_executor(ex, std::move(handler)));
  }

 private:
  std::shared_ptr<client> client_;
  tool_spec spec_;
  std::string remote_;
};

using start_result = std::tuple<error_code, std::string, std::vector<remote_tool>>;

asio::awaitable<start_result> connect_and_list(std::shared_ptr<client> c) {
  auto [ec, why] = co_await c->async_connect(asio::as_tuple(asio::use_awaitable));
  if (ec) co_return start_result{ec, why, {}};
  auto [lec, tools, lwhy] = co_await c->async_list_tools(asio::as_tuple(asio::use_awaitable));
  if (lec) co_return start_result{lec, "MCP server \"" + c->config().name + "\": " + lwhy, {}};
  co_return start_result{error_code{}, std::string{}, std::move(tools)};
}

asio::awaitable<start_result> start_one(std::shared_ptr<client> c,
                                        std::chrono::milliseconds limit) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto r = co_await (connect_and_list(c) || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (r.index() == 0) co_return std::get<0>(std::move(r));
  std::string why = "MCP server \"" + c->config().name + "\": did not start within " +
                    std::to_string(limit.count()) + " ms";
  const std::string tail = c->stderr_tail();
  if (!tail.empty()) why += "; its stderr ends with: " + tail;
  co_return start_result{error::timeout, why, {}};
}

}  // namespace

std::vector<std::shared_ptr<tool>> make_tools(const std::shared_ptr<client>& c,
                                              const std::vector<remote_tool>& tools,
                                              std::set<std::string>& taken) {
  std::vector<std::shared_ptr<tool>> out;
  for (const remote_tool& t : tools) {
    tool_spec spec{exposed_tool_name(c->config().name, t.name, taken), t.description,
                   t.input_schema, t.writes};
    out.push_back(std::make_shared<server_tool>(c, std::move(spec), t.name));
  }
  return out;
}

host::host(asio::any_io_executor ex, http::client* http, host_options opts)
    : ex_(std::move(ex)), http_(http), opts_(opts) {}

host::~host() {
  for (auto& c : all_) c->kill();
}

void host::start(std::vector<server_config> servers,
                 asio::any_completion_handler<start_signature> h) {
  for (const server_config& s : servers) {
    if (!s.url.empty() && !http_) {
      own_http_ = std::make_unique<http::client>(ex_);
      http_ = own_http_.get();
    }
    all_.push_back(client::create(ex_, s, http_));
  }
  auto body = [](host* self) -> asio::awaitable<std::pair<error_code, std::string>> {
    if (self->all_.empty())
      co_return std::pair{error_code{}, std::string{}};  // an empty
                                                         // group never
                                                         // completes
    using op_type =
        decltype(asio::co_spawn(self->ex_, start_one(self->all_[0], {}), asio::deferred));
    std::vector<op_type> ops;
    for (auto& c : self->all_)
      ops.push_back(asio::co_spawn(c->get_executor(), start_one(c, self->opts_.start_timeout),
                                   asio::deferred));
    auto [order, errors, results] =
        co_await asio::experimental::make_parallel_group(std::move(ops))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    std::pair<error_code, std::string> outcome;
    std::set<std::string> taken;
    for (std::size_t i = 0; i < self->all_.size(); ++i) {
      auto& [ec, why, tools] = results[i];
      if (errors[i]) {
        ec = error::internal_error;
        why = "MCP server \"" + self->all_[i]->config().name + "\": " + detail::what_of(errors[i]);
      }
      if (ec) {
        if (!outcome.first) outcome.first = ec;
        if (!outcome.second.empty()) outcome.second += "\n";
        outcome.second += why;
        continue;
      }
      self->clients_.push_back(self->all_[i]);
      for (auto& t : make_tools(self->all_[i], tools, taken)) self->tools_.push_back(std::move(t));
    }
    co_return outcome;
  };
  detail::launch(ex_, body(this), std::move(h),
                 [](auto h2, std::exception_ptr e, std::pair<error_code, std::string> r) {
                   if (e) r = {error::internal_error, detail::what_of(e)};
                   std::move(h2)(r.first, std::move(r.second));
                 });
}

void host::shutdown(asio::any_completion_handler<void()> h) {
  auto body = [](host* self) -> asio::awaitable<int> {
    co_await asio::this_coro::throw_if_cancelled(false);
    if (self->all_.empty()) co_return 0;
    using op_type = decltype(self->all_[0]->async_close(asio::deferred));
    std::vector<op_type> ops;
    for (auto& c : self->all_) ops.push_back(c->async_close(asio::deferred));
    co_await asio::experimental::make_parallel_group(std::move(ops))
        .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    co_return 0;
  };
  detail::launch(ex_, body(this), std::move(h),
                 [](auto h2, std::exception_ptr, int) { std::move(h2)(); });
}

}  // namespace conclave::mcp
