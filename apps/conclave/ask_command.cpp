#include "ask_command.hpp"

#include "backend.hpp"

#include <conclave/engine/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <iomanip>
#include <iostream>

namespace asio = boost::asio;
namespace json = boost::json;

namespace conclave::cli {
namespace {

std::string error_id(const boost::system::error_code& ec) {
  if (ec.category() == error_category()) return to_string(static_cast<error>(ec.value()));
  return ec.category().name() + std::string(":") + std::to_string(ec.value());
}

void print_json(const backend& b, const boost::system::error_code& ec, const chat_response& r) {
  json::object out{{"provider", b.provider}, {"model", r.model}};
  if (!b.note.empty()) out["note"] = b.note;
  out["usage"] = json::object{{"prompt_tokens", r.tokens.prompt_tokens},
                              {"completion_tokens", r.tokens.completion_tokens}};
  out["latency_ms"] = static_cast<double>(r.latency.count()) / 1000.0;
  if (ec) {
    json::object err{{"code", error_id(ec)}, {"message", ec.message()}};
    if (!r.diag.message.empty()) err["detail"] = r.diag.message;
    if (r.diag.http_status != 0) err["http_status"] = r.diag.http_status;
    if (r.diag.retry_after) err["retry_after_ms"] = r.diag.retry_after->count();
    out["error"] = std::move(err);
  } else {
    out["answer"] = r.content;
    out["finish_reason"] = r.finish_reason;
  }
  std::cout << json::serialize(out) << std::endl;
}

}  // namespace

int run_ask(const ask_settings& s) {
  asio::io_context io(1);
  backend b = make_backend(io.get_executor(), s);
  if (!s.json && !b.note.empty()) std::cerr << "conclave: " << b.note << "\n";

  chat_request req;
  req.messages.push_back({role::user, s.question});
  req.stream = s.stream;
  const bool print_deltas = s.stream && !s.json;

  asio::cancellation_signal cancel;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool interrupted = false;
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    interrupted = true;
    cancel.emit(asio::cancellation_type::terminal);
  });

  boost::system::error_code result_ec;
  chat_response result;
  b.llm->async_complete(
      req,
      [&](std::string_view delta) {
        if (print_deltas) std::cout << delta << std::flush;
      },
      asio::bind_cancellation_slot(cancel.slot(), [&](boost::system::error_code ec, chat_response r) {
        result_ec = ec;
        result = std::move(r);
        signals.cancel();
        if (b.builtin_mock) b.builtin_mock->stop();
      }));
  io.run();

  if (s.json) {
    print_json(b, result_ec, result);
  } else {
    if (!print_deltas && !result_ec) std::cout << result.content;
    if (print_deltas || !result_ec) std::cout << std::endl;
    if (result_ec) {
      std::cerr << "conclave: " << (interrupted ? "interrupted" : result_ec.message());
      if (!result.diag.message.empty() && !interrupted) std::cerr << ": " << result.diag.message;
      if (result.diag.http_status >= 300) std::cerr << " (HTTP " << result.diag.http_status << ")";
      std::cerr << "\n";
    } else {
      std::cerr << "[" << (result.model.empty() ? b.llm->describe() : result.model) << " · "
                << result.tokens.prompt_tokens << " prompt + " << result.tokens.completion_tokens
                << " completion tokens · " << std::fixed << std::setprecision(2)
                << static_cast<double>(result.latency.count()) / 1e6 << " s]\n";
    }
  }
  if (interrupted) return 130;
  return result_ec ? 1 : 0;
}

}  // namespace conclave::cli
