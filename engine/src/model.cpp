#include <conclave/engine/error.hpp>
#include <conclave/engine/model.hpp>

#include <boost/asio/post.hpp>

namespace conclave {

chat_response model::internal_error_reply(std::exception_ptr what) {
  chat_response failed;
  try {
    std::rethrow_exception(what);
  } catch (const std::exception& x) {
    failed.diag.message = std::string("internal error: ") + x.what();
  } catch (...) {
    failed.diag.message = "internal error";
  }
  return failed;
}

void model::complete_after_throw(boost::asio::any_io_executor ex, completion_handler h,
                                 std::exception_ptr what) {
  chat_response failed = internal_error_reply(what);
  boost::asio::post(ex, [h = std::move(h), failed = std::move(failed)]() mutable {
    std::move(h)(error::internal_error, std::move(failed));
  });
}

}  // namespace conclave
