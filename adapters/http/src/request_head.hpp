// A request's head as the client sends it, written by the client itself: one string, sized
// once, where Beast's serializer walked the fields through a chain of buffer views and the
// client's own fields (host, user agent, length) cost an allocation each. Internal to
// adapters/http.
#pragma once

#include <conclave/http/client.hpp>

#include <string>
#include <string_view>

namespace conclave::http::detail {

/// The request line and headers of `req`, through the blank line: Host (the origin's, always),
/// the caller's fields but the framing the client owns (Host, Content-Length,
/// Transfer-Encoding, Connection), User-Agent unless the caller set one, Content-Length when
/// there is a body (or the method is POST, PUT or OPTIONS, as Beast's prepare_payload did),
/// and Connection: keep-alive for an HTTP/1.0 request. `req` was checked first: no field or
/// target here holds a control character (client.cpp's unsafe_part).
std::string request_head(const request_message& req, const origin& where,
                         std::string_view user_agent);

}  // namespace conclave::http::detail
