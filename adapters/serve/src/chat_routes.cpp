// Heavy mode as an OpenAI-compatible model: /v1/models, /v1/chat/completions and /v1/responses,
// streamed or not. Progress goes out as reasoning, the synthesis as content; a slow reader is
// dropped (bounded event_stream) rather than slowing the run; a client that goes away cancels
// its run.
#include "service_state.hpp"

#include <conclave/engine/error.hpp>
#include <conclave/serve/responses_compat.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;
using boost::system::error_code;
using namespace asio::experimental::awaitable_operators;

namespace conclave::serve {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// One wire's frames (chat completions or responses).
struct heavy_wire {
  virtual ~heavy_wire() = default;
  virtual std::string start() = 0;
  virtual std::string reasoning(std::string_view text) = 0;
  virtual std::string content(std::string_view text) = 0;
  virtual std::string finish(const run_report& r, bool include_usage) = 0;
  virtual std::string fail(const wire_error& e) = 0;
  virtual std::string whole(const run_report& r, const std::string& reasoning) = 0;
};

struct chat_wire final : heavy_wire {
  chat_wire(std::string id_, std::string model_, std::int64_t created_, reasoning_style style_)
      : id(id_),
        model(model_),
        created(created_),
        style(style_),
        s(id_, model_, created_, style_) {}
  std::string start() override { return s.role(); }
  std::string reasoning(std::string_view t) override { return s.reasoning(t); }
  std::string content(std::string_view t) override { return s.content(t); }
  std::string finish(const run_report& r, bool include_usage) override {
    std::string out = s.finish("stop");
    if (include_usage) out += s.usage(r.total_tokens());
    return out + chat_stream::done();
  }
  std::string fail(const wire_error& e) override { return chat_stream::error(e); }
  std::string whole(const run_report& r, const std::string& reasoning) override {
    const usage u = r.total_tokens();
    return chat_completion(id, model, created, r.answer, reasoning, style, "stop", u.prompt_tokens,
                           u.completion_tokens);
  }
  std::string id, model;
  std::int64_t created;
  reasoning_style style;
  chat_stream s;
};

struct responses_wire final : heavy_wire {
  responses_wire(std::string id_, std::string model_, std::int64_t created_)
      : id(id_), model(model_), created(created_), s(id_, model_, created_) {}
  std::string start() override { return s.created(); }
  std::string reasoning(std::string_view t) override { return s.reasoning(t); }
  std::string content(std::string_view t) override { return s.output_text(t); }
  std::string finish(const run_report& r, bool) override { return s.completed(r.total_tokens()); }
  std::string fail(const wire_error& e) override { return s.failed(e); }
  std::string whole(const run_report& r, const std::string& reasoning) override {
    const usage u = r.total_tokens();
    return response_object(id, model, created, r.answer, reasoning, u.prompt_tokens,
                           u.completion_tokens);
  }
  std::string id, model;
  std::int64_t created;
  responses_stream s;
};

// What the observer and the wire share during one run (the observer runs on the run's strand,
// the rest after the run: never at once).
struct feed {
  std::unique_ptr<heavy_wire> wire;
  std::shared_ptr<http::event_stream> stream;  // null when not streaming
  std::size_t total = 0;
  std::vector<std::string> sub_questions;
  std::string reasoning;
  bool answer_streamed = false;
};

observer watch(std::shared_ptr<feed> f) {
  return [f](const event& e, const progress_map&) {
    if (e.kind == event_kind::decomposed) {
      f->total = e.count;
      f->sub_questions.clear();
      if (e.full_plan)
        for (const auto& s : e.full_plan->subtasks) f->sub_questions.push_back(s.prompt);
    }
    if (e.kind == event_kind::progress && !e.agent) {  // the synthesis, as it is written
      if (e.text.empty()) return;
      f->answer_streamed = true;
      if (f->stream) f->stream->push(f->wire->content(e.text));
      return;
    }
    std::string_view sub;  // not a ternary: string vs "" would make a temporary copy
    if (e.agent && *e.agent < f->sub_questions.size()) sub = f->sub_questions[*e.agent];
    if (auto line = progress_line(e, f->total, sub)) {
      f->reasoning += *line;
      if (f->stream) f->stream->push(f->wire->reasoning(*line));
    }
  };
}

// Runs heavy mode for one request and answers on its wire.
asio::awaitable<void> serve_heavy(std::shared_ptr<service::state> st, http::exchange& ex,
                                  heavy_request req, std::unique_ptr<heavy_wire> wire) {
  bool admitted = false, stopping = false;
  {
    // Decided under the lock, answered after it: never hold the mutex across a co_await.
    std::lock_guard lock(st->mutex);
    stopping = st->stopping;
    admitted = !stopping && st->chat_runs < st->opts.max_chat_runs;
    if (admitted) ++st->chat_runs;
  }
  if (!admitted) {
    // Refused before the first byte: a status and an OpenAI error body.
    wire_error e{stopping ? 503u : 429u,
                 stopping ? "The server is stopping." : "Too many heavy runs at once; retry soon.",
                 stopping ? "server_error" : "rate_limit_error", "",
                 stopping ? "shutting_down" : "too_many_runs"};
    if (!stopping) ex.add_header("retry-after", "2");
    co_await ex.json(e.status, e.body());
    co_return;
  }
  struct release {
    service::state& st;
    ~release() {
      std::lock_guard lock(st.mutex);
      --st.chat_runs;
    }
  } done{*st};

  ask_options o = st->opts.run_defaults;
  o.observers.clear();
  o.agents = req.agents;
  o.max_agents = std::min(o.max_agents, st->opts.max_agents);
  o.deadline = std::min(o.deadline, st->opts.chat_deadline);
  o.agent_timeout = std::min(o.agent_timeout, o.deadline);
  o.synthesis_reserve = std::min(o.synthesis_reserve, o.deadline / 4);
  if (!req.system.empty())
    o.agent_instructions += (o.agent_instructions.empty() ? "" : "\n") + req.system;
  if (req.max_output_tokens) o.max_output_tokens = req.max_output_tokens;
  if (req.temperature) o.temperature = req.temperature;
  o.stream_synthesis = true;
  auto f = std::make_shared<feed>();
  f->wire = std::move(wire);
  o.observers.push_back(watch(f));

  auto run = [&]() -> asio::awaitable<std::tuple<error_code, run_report>> {
    std::string question = req.question;
    co_return co_await async_ask(st->eng, std::move(question), std::move(o), use_tuple);
  };

  if (!req.stream) {
    // A client that goes away cancels its run.
    auto raced = co_await (run() || ex.until_peer_gone());
    if (raced.index() != 0) co_return;
    // The server closes a connection whose exchange watched for the peer (until_peer_gone
    // read, and threw away, whatever came meanwhile), but the reply's head would not say so:
    // a keep-alive client (the openai SDK's pooled agent) then sent its next request on a
    // socket about to close and got "Connection error". Say `connection: close` up front.
    ex.close_after();
    auto [ec, report] = std::get<0>(std::move(raced));
    if (ec && report.answer.empty()) {
      const wire_error e = run_failure(ec, report);
      if (e.retry_after) {
        ex.add_header("retry-after", std::to_string((e.retry_after->count() + 999) / 1000));
      }
      co_await ex.json(e.status, e.body());
      co_return;
    }
    co_await ex.json(200, f->wire->whole(report, f->reasoning));
    co_return;
  }

  f->stream = http::event_stream::create(co_await asio::this_coro::executor);
  // The stream races until_peer_gone (reading ahead), so the connection closes after it: the
  // header says so, or a client would reuse it and see a reset.
  ex.close_after();
  if (!co_await ex.start_stream()) co_return;
  const std::string first = f->wire->start();
  if (!co_await ex.write(first)) co_return;
  bool failed = false;
  auto run_and_finish = [&]() -> asio::awaitable<void> {
    auto [ec, report] = co_await run();
    if (!f->answer_streamed && !report.answer.empty())
      f->stream->push(f->wire->content(report.answer));
    if (ec && report.answer.empty()) {
      failed = true;  // after the first byte: an error frame, then close
      f->stream->push(f->wire->fail(run_failure(ec, report)));
    } else {
      f->stream->push(f->wire->finish(report, req.include_usage));
    }
    f->stream->finish();
  };
  auto pump = [&]() -> asio::awaitable<void> {
    if (!co_await f->stream->pump(ex))
      throw boost::system::system_error(asio::error::connection_reset);  // cancels the run
  };
  try {
    // A client that leaves is noticed at once (not at the next write), cancelling the run.
    auto raced = co_await ((run_and_finish() && pump()) || ex.until_peer_gone());
    if (raced.index() != 0) co_return;
  } catch (const boost::system::system_error&) {
    co_return;  // the client went away or read too slowly: the run was cancelled
  }
  if (failed) ex.close_after();
  co_await ex.end_stream();
}

asio::awaitable<void> chat(std::shared_ptr<service::state> st, http::exchange& ex) {
  auto parsed = parse_chat_request(ex.request().body(), {.max_agents = st->opts.max_agents});
  if (auto* e = std::get_if<wire_error>(&parsed)) {
    co_await ex.json(e->status, e->body());
    co_return;
  }
  heavy_request req = std::get<heavy_request>(std::move(parsed));
  const auto style = req.reasoning.value_or(st->opts.reasoning);
  auto wire =
      std::make_unique<chat_wire>(random_id("chatcmpl-"), req.model, unix_ms() / 1000, style);
  co_await serve_heavy(st, ex, std::move(req), std::move(wire));
}

asio::awaitable<void> responses(std::shared_ptr<service::state> st, http::exchange& ex) {
  auto parsed = parse_responses_request(ex.request().body(), {.max_agents = st->opts.max_agents});
  if (auto* e = std::get_if<wire_error>(&parsed)) {
    co_await ex.json(e->status, e->body());
    co_return;
  }
  heavy_request req = std::get<heavy_request>(std::move(parsed));
  auto wire = std::make_unique<responses_wire>(random_id("resp_"), req.model, unix_ms() / 1000);
  co_await serve_heavy(st, ex, std::move(req), std::move(wire));
}

}  // namespace

void add_model_routes(http::router& r, std::shared_ptr<service::state> st) {
  const std::int64_t created = unix_ms() / 1000;
  r.add("GET", "/v1/models",
        with_auth(st, [st, created](http::exchange& ex) -> asio::awaitable<void> {
          co_await ex.json(200, models_json(st->opts.max_agents, created));
        }));
  r.add("GET", "/v1/models/{id}",
        with_auth(st, [st, created](http::exchange& ex) -> asio::awaitable<void> {
          const std::string name(ex.param("id"));
          if (!heavy_model_agents(name, st->opts.max_agents)) {
            const wire_error e = model_not_found(name);
            {
              co_await ex.json(e.status, e.body());
              co_return;
            }
          }
          co_await ex.json(200, model_json(name, created));
        }));
  r.add("POST", "/v1/chat/completions",
        with_auth(st, [st](http::exchange& ex) { return chat(st, ex); }));
  r.add("POST", "/v1/responses",
        with_auth(st, [st](http::exchange& ex) { return responses(st, ex); }));
}

}  // namespace conclave::serve
