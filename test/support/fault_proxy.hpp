// A TCP proxy on loopback that injects transport faults between a client and a server (no
// toxiproxy or netem on these machines): latency, a bandwidth cap, re-chunking into tiny
// writes, a reset, a stall or a clean close after N bytes, and a slow close. Faults apply to
// the server-to-client direction, counted per connection. For single-threaded tests.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace conclave::test {

struct proxy_faults {
  std::chrono::milliseconds latency{0};     ///< before forwarding each read from the server
  std::size_t bytes_per_second = 0;         ///< bandwidth cap toward the client; 0: none
  std::size_t max_write = 0;                ///< forward in writes of at most this; 0: as read
  std::chrono::milliseconds write_gap{0};   ///< pause between those writes
  std::optional<std::size_t> reset_after;   ///< after this many bytes: RST both sides
  std::optional<std::size_t> stall_after;   ///< after this many bytes: forward nothing more
  std::optional<std::size_t> close_after;   ///< after this many bytes: close cleanly (FIN)
  std::chrono::milliseconds slow_close{0};  ///< the server closed: wait this long to close too
};

class fault_proxy {
 public:
  fault_proxy(boost::asio::any_io_executor ex, boost::asio::ip::tcp::endpoint server,
              proxy_faults faults = {});
  ~fault_proxy();

  /// Listens on an ephemeral loopback port and starts accepting.
  void start();
  /// Stops accepting and closes every connection.
  void stop();

  /// Applies to connections accepted from now on.
  void set_faults(proxy_faults faults);

  std::uint16_t port() const;
  /// "http://127.0.0.1:PORT" + path.
  std::string url(const std::string& path = "/v1") const;
  std::uint64_t connections() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace conclave::test
