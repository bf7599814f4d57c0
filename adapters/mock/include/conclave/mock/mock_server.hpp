// The mock model: a loopback HTTP/1.1 (optionally TLS) server speaking the OpenAI
// chat-completions wire format and Anthropic's Messages wire, JSON and SSE, with scripted
// latency, streaming cadence, decomposition replies and fault modes (see scenario.hpp). It is
// also conclave's built-in default model when no API key is set, so even that path runs real
// HTTP.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace conclave::mock {

struct tls_material {
  std::string certificate_chain_pem;  ///< server certificate (then intermediates)
  std::string private_key_pem;        ///< its key
};

struct mock_options {
  std::string address = "127.0.0.1";             ///< listen address (loopback)
  std::uint16_t port = 0;                        ///< 0: an ephemeral port, see mock_server::port()
  std::chrono::milliseconds latency{0};          ///< before the first byte of every reply
  std::chrono::milliseconds jitter{0};           ///< plus a uniform draw in [0, jitter]
  std::chrono::milliseconds stream_interval{0};  ///< between streamed chunks
  std::chrono::milliseconds drip_interval{20};   ///< between characters in the drip fault
  std::chrono::milliseconds retry_after{50};     ///< advertised by 429 and 503 replies
  int reply_words = 24;                          ///< words in an ordinary reply
  int words_per_chunk = 3;                       ///< words per streamed chunk
  std::uint64_t seed = 1;                        ///< jitter draws
  std::size_t close_after_requests = 0;          ///< close a connection silently after this many
                                         ///< replies (0: never), like a server's idle reaper
  std::optional<tls_material> tls;  ///< serve https instead of http
  /// The io_context runs on one thread only: connections then skip their strands (cheaper).
  /// Leave false when several threads may run the executor.
  bool single_threaded = false;
  /// Non-empty: requests without "Authorization: Bearer <key>" get 401 (on the Anthropic wire
  /// "x-api-key: <key>" does as well).
  std::string required_api_key;
  /// Enforce a provider-style limit: at most this many calls (both wires together) start
  /// within any `rate_limit_window` (a sliding window); more get 429 with retry-after. Every
  /// reply then carries x-ratelimit-{limit,remaining,reset}-requests (Anthropic:
  /// anthropic-ratelimit-requests-*). 0: no limit.
  std::size_t rate_limit_requests = 0;
  std::chrono::milliseconds rate_limit_window{60'000};
  /// Probability that a request for an ordinary model gets a random fault instead (drawn from
  /// 429, 500, 503, reset, malformed, truncated, error-event, and hang when `random_hangs`).
  double fault_rate = 0.0;
  std::uint64_t fault_seed = 1;  ///< the random faults' draws: same seed, same sequence
  bool random_hangs = false;     ///< include hangs among random faults (clients need timeouts)
};

struct mock_stats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t requests = 0;              ///< requests read (every path)
  std::uint64_t completions = 0;           ///< chat completions answered normally
  std::uint64_t faults_injected = 0;       ///< requests answered with a fault mode
  std::uint64_t in_flight = 0;             ///< requests being answered now
  std::uint64_t rate_limited = 0;          ///< refused by the enforced rate limit (not faults)
  std::uint64_t peak_window_requests = 0;  ///< most completions started within one window
  std::map<std::string, std::uint64_t> faults_by_kind;  ///< "429", "reset"... (see scenario.hpp)
  /// Calls per wire: POSTs to .../chat/completions (OpenAI) and to .../messages (Anthropic),
  /// whatever their answer (400s, 401s, faults and rate-limited ones included).
  std::uint64_t openai_calls = 0;
  std::uint64_t anthropic_calls = 0;
};

/// It answers POST /v1/chat/completions (OpenAI), POST /v1/messages (Anthropic; see
/// adapters/mock/README.md), GET /v1/models and GET /v1/stats (the counters below plus the
/// serving process's CPU time and peak RSS, for benchmarks). Routes match the path's end, so
/// any base path works ("/messages", "/proxy/v1/messages").
///
/// Thread safety: start/stop/stats from any thread. Each connection runs on its own strand
/// (unless `single_threaded`), so the server may share a multi-threaded io_context.
/// A mock's base URL ("…/v1") cut to its origin's root, where the Anthropic Messages API
/// sits; any other URL is returned as it is.
inline std::string root_of(std::string url) {
  if (url.ends_with("/v1")) url.resize(url.size() - 3);
  return url;
}

class mock_server {
 public:
  mock_server(boost::asio::any_io_executor ex, mock_options opts = {});
  ~mock_server();  ///< stops
  mock_server(const mock_server&) = delete;
  mock_server& operator=(const mock_server&) = delete;

  /// Binds and listens at once (so port() is known on return), then accepts on the executor.
  /// Throws boost::system::system_error when the address cannot be bound or the TLS material
  /// is unusable.
  void start();

  /// Stops accepting and closes every connection (pending hangs end). Idempotent.
  void stop();

  std::uint16_t port() const noexcept;
  /// "http://127.0.0.1:PORT/v1" (https when serving TLS).
  std::string base_url() const;
  /// "http://127.0.0.1:PORT": the base URL Anthropic's clients take (they add /v1/messages).
  std::string root_url() const { return root_of(base_url()); }
  mock_stats stats() const noexcept;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace conclave::mock
