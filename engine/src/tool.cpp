#include <conclave/engine/error.hpp>
#include <conclave/engine/tool.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <stdexcept>

namespace asio = boost::asio;

namespace conclave {
namespace {

std::string what_of(std::exception_ptr what) {
  try {
    std::rethrow_exception(what);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

class coroutine_tool final : public tool {
 public:
  using body_type = std::function<asio::awaitable<tool_output>(std::string)>;

  coroutine_tool(asio::any_io_executor ex, tool_spec spec, body_type body)
      : ex_(std::move(ex)), spec_(std::move(spec)), body_(std::move(body)) {}

  const tool_spec& spec() const override { return spec_; }
  asio::any_io_executor get_executor() const override { return ex_; }

 protected:
  void do_invoke(asio::any_io_executor ex, std::string arguments,
                 invoke_handler&& handler) override {
    // The body first: should it throw, the handler is still ours, and async_invoke completes
    // it with internal_error (argument order would otherwise let co_spawn take it first).
    asio::awaitable<tool_output> work = body_(std::move(arguments));
    auto slot = asio::get_associated_cancellation_slot(handler);
    asio::co_spawn(
        ex, std::move(work),
        asio::bind_cancellation_slot(
            slot, [h = std::move(handler)](std::exception_ptr thrown, tool_output out) mutable {
              if (thrown) out = {"the tool failed: " + what_of(thrown), true};
              std::move(h)(boost::system::error_code{}, std::move(out));
            }));
  }

 private:
  asio::any_io_executor ex_;
  tool_spec spec_;
  body_type body_;
};

}  // namespace

void tool::complete_after_throw(asio::any_io_executor ex, invoke_handler h,
                                std::exception_ptr what) {
  tool_output failed{"internal error: " + what_of(what), true};
  asio::post(ex, [h = std::move(h), failed = std::move(failed)]() mutable {
    std::move(h)(error::internal_error, std::move(failed));
  });
}

std::shared_ptr<tool> make_tool(asio::any_io_executor ex, tool_spec spec,
                                std::function<asio::awaitable<tool_output>(std::string)> body) {
  if (!body) throw std::invalid_argument("make_tool: the tool '" + spec.name + "' has no body");
  return std::make_shared<coroutine_tool>(std::move(ex), std::move(spec), std::move(body));
}

}  // namespace conclave
