// make_request(): a request whose target and fields take one block of their own
// (header_fields.hpp). Apart from the client, so what only builds requests (a codec, a fuzz
// target) needs no sockets.
#include <conclave/http/client.hpp>

#include <tuple>

namespace bhttp = boost::beast::http;

namespace conclave::http {

request_message make_request(bhttp::verb method, std::string_view target, std::size_t block_bytes) {
  request_message m(std::piecewise_construct, std::make_tuple(),
                    std::make_tuple(header_allocator<char>::with_block(block_bytes)));
  m.method(method);
  m.target(target);
  m.version(11);
  return m;
}

request_message make_request(bhttp::verb method, const base_url& base, std::string_view relative,
                             std::size_t block_bytes) {
  const std::size_t length = base.target_size(relative);
  // Room for the target twice (written, then Beast's copy with the method's separator).
  request_message m = make_request(method, std::string_view(), block_bytes + 2 * length + 1);
  // Written in the block, then copied by target() into the block too: no heap allocation.
  char* room = m.get_allocator().allocate(length);
  base.write_target(relative, room);
  m.target(std::string_view(room, length));
  return m;
}

}  // namespace conclave::http
