// The body type a client call reads its reply with: each piece the parser takes from the
// connection's buffer goes straight where the call wants it, the caller's string (a whole
// body) or the sink (a streamed 2xx). With Beast's buffer_body, a streamed reply was copied
// into a chunk of the call's own first and handed on from there: every stream in flight held
// that chunk, the largest part of a streaming agent's memory in heavy mode. Internal to
// adapters/http.
#pragma once

#include <conclave/http/client.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional/optional.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace conclave::http::detail {

/// Where one reply's body goes, set before its body is read.
struct body_target {
  const body_sink* sink = nullptr;  ///< a streamed 2xx: its pieces go here
  std::string* whole = nullptr;     ///< otherwise: appended here
  bool refused = false;             ///< the sink returned false: stop reading
  std::exception_ptr failure;       ///< the sink (or the append) threw: the call's step rethrows
};

struct call_body {
  struct value_type {
    body_target* target = nullptr;
  };

  class reader {
   public:
    // Made with the parser, before the call knows where the body goes: the target is read
    // when pieces come (set once the head was read, before the body's read starts).
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    // Called as the body's first bytes are parsed: nothing to do (the call reserves a whole
    // body's room by its content-length when it sets the target).
    void init(const boost::optional<std::uint64_t>&, boost::system::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
      ec = {};
      if (body_.target == nullptr) {  // a body read before the call said where it goes: a bug
        ec = boost::asio::error::invalid_argument;
        return 0;
      }
      body_target& target = *body_.target;
      std::size_t taken = 0;
      for (const auto b : boost::beast::buffers_range_ref(buffers)) {
        const std::string_view piece(static_cast<const char*>(b.data()), b.size());
        if (!deliver(target, piece)) {
          ec = boost::asio::error::operation_aborted;  // the call reads `target`, not this
          return taken;
        }
        taken += piece.size();
      }
      return taken;
    }

    void finish(boost::system::error_code& ec) { ec = {}; }

   private:
    // Inside Beast's read: an exception must not unwind through it (the read's handler would
    // never run, and the call never complete), so it is kept for the call's step to throw.
    static bool deliver(body_target& target, std::string_view piece) {
      try {
        if (target.sink == nullptr) {
          target.whole->append(piece);
          return true;
        }
        if ((*target.sink)(piece)) return true;
        target.refused = true;
      } catch (...) {
        target.failure = std::current_exception();
      }
      return false;
    }

    value_type& body_;
  };
};

}  // namespace conclave::http::detail
