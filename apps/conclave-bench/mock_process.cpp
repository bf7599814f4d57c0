#include "mock_process.hpp"

#include <conclave/http/client.hpp>
#include <conclave/http/origin.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <filesystem>
#include <stdexcept>
#include <unistd.h>

namespace asio = boost::asio;
namespace json = boost::json;

namespace conclave::bench {

mock_process::mock_process(const std::string& path, std::chrono::milliseconds latency, bool tls) {
  std::vector<std::string> args{"--latency-ms", std::to_string(latency.count())};
  if (tls) {
    ca_file_ = (std::filesystem::temp_directory_path() /
                ("conclave-bench-ca-" + std::to_string(getpid()) + ".pem"))
                   .string();
    args.insert(args.end(), {"--tls", "--ca-out", ca_file_});
  }
  proc_ = std::make_unique<child>(path, args);
  proc_->pin(bench_cpu_for_mock());
  const std::string line = proc_->read_line();  // "conclave-mock listening on URL"
  const auto at = line.rfind(' ');
  if (line.find("listening on") == std::string::npos || at == std::string::npos) {
    throw std::runtime_error("conclave-mock did not start: '" + line + "'");
  }
  url_ = line.substr(at + 1);
}

mock_process::~mock_process() {
  proc_->terminate();
  proc_->wait();
  if (!ca_file_.empty()) std::filesystem::remove(ca_file_);
}

json::object mock_process::stats() const {
  asio::io_context io;
  http::client_options o;
  o.tls.ca_file = ca_file_;
  http::client client(io.get_executor(), o);
  const auto parsed = http::parse_base_url(url_);
  if (!parsed) throw std::runtime_error("bad mock URL " + url_ + ": " + parsed.error());
  const auto& base = *parsed;
  http::request_message req{boost::beast::http::verb::get, base.target("stats"), 11};
  http::response r;
  asio::co_spawn(io, client.request(base.where, req),
                 [&](std::exception_ptr, http::response got) { r = std::move(got); });
  io.run();
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  if (r.ec || ec || !v.is_object()) throw std::runtime_error("cannot read the mock's stats");
  return v.as_object();
}

double number(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v && v->is_number() ? v->to_number<double>() : 0.0;
}

mock_load load_of(const std::vector<const mock_process*>& mocks) {
  mock_load l;
  for (const auto* m : mocks) {
    const auto s = m->stats();
    l.requests += number(s, "requests");
    l.completions += number(s, "completions");
    l.cpu_us += number(s, "cpu_user_us") + number(s, "cpu_sys_us");
  }
  return l;
}

}  // namespace conclave::bench
