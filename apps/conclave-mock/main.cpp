// conclave-mock: the mock model server as a program. Prints one line with its base URL, then
// serves until SIGINT/SIGTERM, and prints its counters as JSON on the way out.
#include "cli_numbers.hpp"
#include "mcp_stdio.hpp"

#include <conclave/mock/mock_server.hpp>
#include <conclave/mock/test_pki.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <CLI/CLI.hpp>
#include <charconv>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

namespace {

using conclave::apps::whole_number;

constexpr const char* fault_modes_note =
    "Two wires on one port: OpenAI POST /v1/chat/completions and Anthropic POST /v1/messages\n"
    "(anthropic-version header required; with --api-key, x-api-key may carry the key).\n"
    "\n"
    "Fault modes are chosen per request by model name: mock-429, mock-500, mock-503, mock-529\n"
    "(Anthropic answers both with 529 overloaded_error), mock-hang, mock-reset, mock-malformed,\n"
    "mock-truncated, mock-drip, mock-error-event (Anthropic: an `error` event after some text);\n"
    "stop reasons mock-length, mock-filtered, mock-empty, mock-pause (Anthropic: pause_turn until\n"
    "the conversation ends with the assistant's turn); a hostile server echoing the credential:\n"
    "mock-echo-401, mock-echo-text, mock-echo-200-error, mock-echo-malformed, mock-echo-stream;\n"
    "mock-html (200 text/html), mock-early-hints (103 first). Any other name answers normally.\n"
    "\n"
    "Tool use: a request offering tools gets tool calls (arguments filled from each tool's JSON\n"
    "Schema) for R rounds, then a text quoting the last round's results. R is 1 for mock;\n"
    "mock-tools-N sets it. Options, in any order: mock-tools[-N][-noindex][-late-name]\n"
    "[-finish-stop][-malformed][-unknown][-endless|-endless-varied].\n"
    "Anthropic thinking: mock-think and mock-think-tools[-N][-option]... start each reply with a\n"
    "signed thinking block, and a tool loop must replay it (else 400). See\n"
    "adapters/mock/README.md.";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
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
  // Milliseconds as plain numbers on the command line; put into opts after parsing.
  long latency_ms = opts.latency.count(), jitter_ms = opts.jitter.count(),
       stream_interval_ms = opts.stream_interval.count(), retry_after_ms = opts.retry_after.count(),
       rate_window_ms = opts.rate_limit_window.count();

  CLI::App app(
      "The mock model server: prints \"conclave-mock listening on URL\", serves OpenAI- and\n"
      "Anthropic-style APIs until SIGINT/SIGTERM, then prints its counters as JSON.",
      "conclave-mock");
  app.set_version_flag("-V,--version", "conclave-mock " CONCLAVE_VERSION);
  app.footer(fault_modes_note);
  app.option_defaults()->always_capture_default();
  const CLI::Validator non_negative =
      whole_number(0, std::numeric_limits<long long>::max(), "NONNEGATIVE");
  const CLI::Validator positive = whole_number(1, std::numeric_limits<int>::max(), "POSITIVE");

  app.add_option("--address", opts.address, "listen address");
  app.add_option("--port", opts.port, "listen port (0: ephemeral, printed on start)")
      ->check(whole_number(0, 65535, "PORT"));
  app.add_option("--latency-ms", latency_ms, "delay before each reply")->check(non_negative);
  app.add_option("--jitter-ms", jitter_ms, "plus a random 0..N ms")->check(non_negative);
  app.add_option("--stream-interval-ms", stream_interval_ms, "between streamed chunks")
      ->check(non_negative);
  app.add_option("--reply-words", opts.reply_words, "words per reply")->check(non_negative);
  app.add_option("--words-per-chunk", opts.words_per_chunk, "words per streamed chunk")
      ->check(positive);
  app.add_option("--retry-after-ms", retry_after_ms, "advertised by 429/503 faults")
      ->check(non_negative);
  app.add_option("--close-after", opts.close_after_requests,
                 "close each connection silently after N replies (0: never)")
      ->check(non_negative);
  app.add_option("--seed", opts.seed, "jitter seed")->check(non_negative);
  app.add_option("--api-key", opts.required_api_key,
                 "require \"Authorization: Bearer K\" (Anthropic: or \"x-api-key: K\"), else 401");
  app.add_option("--rate-limit", opts.rate_limit_requests,
                 "enforce at most N calls per window, both wires (429 beyond; 0: none)")
      ->check(non_negative);
  app.add_option("--rate-window-ms", rate_window_ms, "the rate limit's sliding window")
      ->check(positive);
  app.add_option("--fault-rate", opts.fault_rate,
                 "answer a fraction P of ordinary requests with a random fault")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault-seed", opts.fault_seed, "the random faults' seed")->check(non_negative);
  app.add_flag("--random-hangs", opts.random_hangs, "include hangs among the random faults");
  app.add_option("--threads", threads, "io threads")->check(whole_number(1, 1024, "1..1024"));
  auto* tls_flag =
      app.add_flag("--tls", tls, "serve HTTPS with a certificate made now (see --ca-out)");
  auto* cert = app.add_option("--tls-cert", cert_file,
                              "serve HTTPS with this PEM certificate chain (with --tls-key)")
                   ->check(CLI::ExistingFile);
  auto* key = app.add_option("--tls-key", key_file, "the certificate's PEM private key")
                  ->check(CLI::ExistingFile);
  auto* ca = app.add_option("--ca-out", ca_out,
                            "with --tls: write the CA certificate (PEM) for clients to trust");
  cert->needs(key);
  key->needs(cert);
  tls_flag->excludes(cert);  // --tls makes a certificate; --tls-cert brings one
  ca->needs(tls_flag);
  bool mcp_stdio = false;
  app.add_flag("--mcp-stdio", mcp_stdio,
               "be an MCP server on stdin/stdout instead (tools echo and add), e.g. for "
               "conclave ask --mcp");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "conclave-mock: " << e.what() << "\nRun with --help for more information.\n";
    return 2;
  }
  if (mcp_stdio) return conclave::mock_app::serve_mcp_stdio(std::cin, std::cout);
  using ms = std::chrono::milliseconds;
  opts.latency = ms(latency_ms);
  opts.jitter = ms(jitter_ms);
  opts.stream_interval = ms(stream_interval_ms);
  opts.retry_after = ms(retry_after_ms);
  opts.rate_limit_window = ms(rate_window_ms);

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
  signals.async_wait([&](boost::system::error_code, int) {
    server.stop();
    io.stop();
  });

  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();

  const auto s = server.stats();
  std::cout << "{\"connections_accepted\":" << s.connections_accepted
            << ",\"requests\":" << s.requests << ",\"completions\":" << s.completions
            << ",\"faults_injected\":" << s.faults_injected
            << ",\"calls_by_wire\":{\"openai\":" << s.openai_calls
            << ",\"anthropic\":" << s.anthropic_calls << "}}" << std::endl;
  return 0;
} catch (const std::exception& e) {
  std::cerr << "conclave-mock: " << e.what() << "\n";
  return 2;
}
