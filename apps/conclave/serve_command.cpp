#include "serve_command.hpp"

#include "ask_command.hpp"
#include "backend.hpp"
#include "tools_setup.hpp"

#include <conclave/journal/journal.hpp>
#include <conclave/redis/journal_store.hpp>
#include <conclave/serve/service.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <fstream>
#include <iostream>
#include <sys/stat.h>

namespace asio = boost::asio;

namespace conclave::cli {

void parse_listen(const std::string& text, std::string& host, std::uint16_t& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    throw usage_error("--listen wants HOST:PORT (e.g. 127.0.0.1:8080), got \"" + text + "\"");
  host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  unsigned long n = 0;
  const std::string digits = text.substr(colon + 1);
  if (digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos ||
      (n = std::stoul(digits)) > 65535) {
    throw usage_error("--listen: the port must be a number from 0 to 65535, got \"" + digits +
                      "\"");
  }
  port = static_cast<std::uint16_t>(n);
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  if (ec) throw usage_error("--listen: \"" + host + "\" is not an IP address");
}

std::vector<std::string> read_keys_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw usage_error("--keys-file: cannot read " + path);
  if ((st.st_mode & 077) != 0) {
    throw usage_error("--keys-file: " + path +
                      " is readable by others; make it private (chmod 600)");
  }
  std::ifstream in(path);
  if (!in) throw usage_error("--keys-file: cannot read " + path);
  std::vector<std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    const auto from = line.find_first_not_of(" \t\r");
    if (from == std::string::npos || line[from] == '#') continue;
    const auto to = line.find_last_not_of(" \t\r");
    keys.push_back(line.substr(from, to - from + 1));
  }
  if (keys.empty()) throw usage_error("--keys-file: " + path + " holds no key");
  return keys;
}

int run_serve(const ask_settings& s, const serve_settings& v, const standard_fds& fds) {
  serve::service_options o;
  parse_listen(v.listen, o.http.address, o.http.port);
  if (!v.keys_file.empty()) o.api_keys = read_keys_file(v.keys_file);
  const auto style = v.reasoning == "fields" ? std::optional(serve::reasoning_style::fields)
                                             : serve::reasoning_style_from(v.reasoning);
  if (!style) throw usage_error("--reasoning must be fields, think or none");
  o.reasoning = *style;

  asio::io_context io(1);
  // Registered first: a SIGTERM during start-up is held for the wait below, never the default
  // death.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  backend b = make_backend(io.get_executor(), s, fds.open_files);
  engine e(io.get_executor(), b.entry());
  e.set_single_threaded(true);  // io_context(1), run by this thread alone
  o.run_defaults = options_from(s);
  o.run_defaults.tools = builtin_tools(io.get_executor(), s);
  o.http.single_threaded = true;
  o.http.name = "conclave";
  o.workers = std::max<std::size_t>(1, v.workers);
  o.queue.capacity = std::max<std::size_t>(1, v.queue_size);
  o.max_chat_runs = std::max<std::size_t>(1, v.max_chat_runs);
  o.shutdown_grace = std::chrono::milliseconds(static_cast<long>(v.grace_s * 1000));
  // What a journaled task must still match to be resumed: the providers and models (no keys).
  o.fingerprint = "provider=" + b.provider + ";model=" + s.model;
  for (const auto& p : b.providers) o.fingerprint += ";" + p.llm->describe();
  // And its tools: a plan naming one is only run (resumed, claimed) where the tool is.
  for (const auto& t : o.run_defaults.tools)
    if (t) o.fingerprint += ";tool=" + t->spec().name;
  o.log = [](const std::string& line) { std::cerr << line << "\n"; };
  o.upkeep = [&b, ex = io.get_executor()] {
    // Bounded memory under arbitrary model names: forget limits and breakers unused for 10 min.
    const auto idle_since = std::chrono::steady_clock::now() - std::chrono::minutes(10);
    for (auto& p : b.providers) {
      if (p.limited) p.limited->expire_idle(idle_since);
      if (p.guarded) p.guarded->expire_idle(idle_since);
    }
    asio::co_spawn(ex, b.client->evict_idle(), asio::detached);
  };
  o.takeover_after = std::chrono::milliseconds(static_cast<long>(v.takeover_s * 1000));
  if (s.journal && !s.redis_url.empty()) {
    // Shared by every instance on this Redis: one takes over the tasks of another that died.
    if (!s.journal_path.empty()) {
      std::cerr << "conclave serve: note: with --redis the journal is on Redis; " << s.journal_path
                << " is not used\n";
    }
    try {
      redis::journal_options jo;
      jo.where = *redis::parse_url(s.redis_url);  // checked when the flag was read
      // Per organisation: instances of another --redis-org on the same Redis never take these
      // tasks over.
      jo.prefix = "conclave:" + s.redis_org;
      o.journal = redis::open_journal(jo);
    } catch (const std::exception& x) {
      std::cerr << "conclave serve: " << x.what() << "\n";
      return 1;
    }
  } else if (!s.redis_url.empty()) {
    std::cerr << "conclave serve: note: --no-journal with --redis: this instance shares limits "
                 "only; its tasks are its own (not queued, seen or taken over by others)\n";
  } else if (s.journal) {  // --journal FILE / --no-journal, as ask takes them
    const std::string path =
        s.journal_path.empty() ? journal::default_journal_path() : s.journal_path;
    if (path.empty()) {
      std::cerr << "conclave serve: warning: no journal (no XDG_STATE_HOME or HOME); tasks will "
                   "not survive a restart\n";
    } else {
      try {
        o.journal = journal::journal::open(path);
      } catch (const std::exception& x) {
        std::cerr << "conclave serve: " << x.what() << "\n";
        return 1;
      }
    }
  }
  const bool open_door = o.api_keys.empty();
  serve::service svc(io.get_executor(), e, std::move(o));
  try {
    svc.listen();
  } catch (const std::invalid_argument& x) {
    throw usage_error(x.what());
  } catch (const boost::system::system_error& x) {
    std::cerr << "conclave serve: cannot listen on " << v.listen << ": " << x.code().message()
              << "\n";
    return 1;
  }
  // The first line says where (port 0 picked one): scripts read it.
  std::cout << "conclave serve listening on " << svc.origin() << std::endl;
  if (!b.note.empty()) std::cerr << "conclave serve: NOTE: " << b.note << "\n";
  for (const auto& w : b.warnings) std::cerr << "conclave serve: warning: " << w << "\n";
  if (open_door) {
    std::cerr << "conclave serve: no client keys (--keys-file): listening on loopback only\n";
  }
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    std::cerr << "conclave serve: stopping (signal; again to quit at once)\n";
    svc.stop();
    signals.async_wait([](boost::system::error_code ec2, int n) {
      if (ec2) return;
      std::cerr << "conclave serve: quitting now; unfinished tasks resume at the next start\n";
      std::_Exit(128 + n);  // a second signal: out now
    });
  });
  boost::system::error_code result;
  svc.async_run([&](boost::system::error_code ec) {
    result = ec;
    io.stop();  // the built-in mock and idle connections would keep run() going
  });
  io.run();
  std::cerr << "conclave serve: stopped\n";
  return result ? 1 : 0;
}

}  // namespace conclave::cli
