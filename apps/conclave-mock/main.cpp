// conclave-mock: the mock model server as a program. Prints one line with its base URL, then
// serves until SIGINT/SIGTERM, and prints its counters as JSON on the way out.
#include <conclave/mock/mock_server.hpp>
#include <conclave/mock/test_pki.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <sys/resource.h>

#include <charconv>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr const char* usage_text = R"(usage: conclave-mock [options]
  --address A            listen address (default 127.0.0.1)
  --port N               listen port (default 0: ephemeral, printed on start)
  --latency-ms N         delay before each reply (default 0)
  --jitter-ms N          plus a random 0..N ms (default 0)
  --stream-interval-ms N between streamed chunks (default 0)
  --reply-words N        words per reply (default 24)
  --words-per-chunk N    words per streamed chunk (default 3)
  --retry-after-ms N     advertised by 429/503 faults (default 50)
  --close-after N        close each connection silently after N replies (default 0: never)
  --seed N               jitter seed (default 1)
  --api-key K            require "Authorization: Bearer K" (else 401)
  --rate-limit N         enforce at most N completions per window (429 beyond; default 0: none)
  --rate-window-ms N     the rate limit's sliding window (default 60000)
  --fault-rate P         answer a fraction P (0..1) of ordinary requests with a random fault
  --fault-seed N         the random faults' seed (default 1)
  --random-hangs         include hangs among the random faults
  --threads N            io threads (default 1)
  --tls                  serve HTTPS with a certificate made now (see --ca-out)
  --tls-cert F --tls-key F  serve HTTPS with this PEM certificate chain and key
  --ca-out F             with --tls: write the CA certificate (PEM) for clients to trust
Fault modes are chosen per request by model name: mock-429, mock-500, mock-503, mock-hang,
mock-reset, mock-malformed, mock-truncated, mock-drip, mock-error-event.
)";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

double to_fraction(std::string_view flag, std::string_view text) {
  double v = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < 0 || v > 1) {
    throw std::invalid_argument(std::string(flag) + " needs a fraction from 0 to 1, got '" +
                                std::string(text) + "'");
  }
  return v;
}

long to_number(std::string_view flag, std::string_view text) {
  long v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < 0) {
    throw std::invalid_argument(std::string(flag) + " needs a non-negative number, got '" +
                                std::string(text) + "'");
  }
  return v;
}

// Many concurrent clients need many descriptors: raise the soft limit to the hard one.
void raise_open_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

int main(int argc, char** argv) try {
  conclave::mock::mock_options opts;
  int threads = 1;
  bool tls = false;
  std::string cert_file, key_file, ca_out;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view flag = args[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= args.size()) throw std::invalid_argument(std::string(flag) + " needs a value");
      return args[++i];
    };
    using ms = std::chrono::milliseconds;
    if (flag == "--help" || flag == "-h") {
      std::cout << usage_text;
      return 0;
    } else if (flag == "--address") opts.address = std::string(value());
    else if (flag == "--port") opts.port = static_cast<std::uint16_t>(to_number(flag, value()));
    else if (flag == "--latency-ms") opts.latency = ms(to_number(flag, value()));
    else if (flag == "--jitter-ms") opts.jitter = ms(to_number(flag, value()));
    else if (flag == "--stream-interval-ms") opts.stream_interval = ms(to_number(flag, value()));
    else if (flag == "--reply-words") opts.reply_words = static_cast<int>(to_number(flag, value()));
    else if (flag == "--words-per-chunk") opts.words_per_chunk = static_cast<int>(to_number(flag, value()));
    else if (flag == "--retry-after-ms") opts.retry_after = ms(to_number(flag, value()));
    else if (flag == "--close-after") opts.close_after_requests = to_number(flag, value());
    else if (flag == "--seed") opts.seed = static_cast<std::uint64_t>(to_number(flag, value()));
    else if (flag == "--threads") threads = std::max(1, static_cast<int>(to_number(flag, value())));
    else if (flag == "--api-key") opts.required_api_key = std::string(value());
    else if (flag == "--rate-limit") opts.rate_limit_requests = to_number(flag, value());
    else if (flag == "--rate-window-ms") opts.rate_limit_window = ms(to_number(flag, value()));
    else if (flag == "--fault-rate") opts.fault_rate = to_fraction(flag, value());
    else if (flag == "--fault-seed") opts.fault_seed = static_cast<std::uint64_t>(to_number(flag, value()));
    else if (flag == "--random-hangs") opts.random_hangs = true;
    else if (flag == "--tls") tls = true;
    else if (flag == "--tls-cert") cert_file = std::string(value());
    else if (flag == "--tls-key") key_file = std::string(value());
    else if (flag == "--ca-out") ca_out = std::string(value());
    else throw std::invalid_argument("unknown option " + std::string(flag) + " (see --help)");
  }
  if (cert_file.empty() != key_file.empty()) {
    throw std::invalid_argument("--tls-cert and --tls-key go together");
  }
  if (!cert_file.empty()) {
    opts.tls = conclave::mock::tls_material{read_file(cert_file), read_file(key_file)};
  } else if (tls) {
    auto pki = conclave::mock::make_test_pki();
    opts.tls = pki.server_material();
    if (!ca_out.empty()) {
      std::ofstream(ca_out, std::ios::binary) << pki.ca.certificate;
    }
  }

  opts.single_threaded = threads == 1;
  raise_open_file_limit();
  boost::asio::io_context io(threads);
  conclave::mock::mock_server server(io.get_executor(), opts);
  server.start();
  std::cout << "conclave-mock listening on " << server.base_url() << std::endl;

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { server.stop(); io.stop(); });

  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();

  const auto s = server.stats();
  std::cout << "{\"connections_accepted\":" << s.connections_accepted
            << ",\"requests\":" << s.requests << ",\"completions\":" << s.completions
            << ",\"faults_injected\":" << s.faults_injected << "}" << std::endl;
  return 0;
} catch (const std::exception& e) {
  std::cerr << "conclave-mock: " << e.what() << "\n";
  return 2;
}
