// `conclave serve` in-process for a test: one io_context, the mock model over loopback through
// the OpenAI adapter, a gate in front of it (records every call; can hold calls back, so a
// test decides when a run may go on), an engine and a serve::service on an ephemeral port,
// its async_run started. Everything is driven by pumping the io_context (bounded), no sleeps.
#pragma once

#include "run.hpp"
#include "serve_client.hpp"

#include <conclave/engine/ask.hpp>
#include <conclave/engine/model.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>
#include <conclave/serve/service.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

namespace conclave::test {

/// Forwards to `inner`, recording each call's text; while held, calls wait in a list until
/// open(). (A held call does not watch its cancellation: open the gate before cancelling.)
class gate_model final : public model {
 public:
  explicit gate_model(model& inner) : inner_(inner) {}
  std::string describe() const override { return inner_.describe(); }
  boost::asio::any_io_executor get_executor() const override { return inner_.get_executor(); }

  void hold() { held_ = true; }
  void open() {
    held_ = false;
    auto waiting = std::move(waiting_);
    for (auto& w : waiting) forward(std::move(w));
  }
  std::size_t waiting() const { return waiting_.size(); }
  /// Every call's messages, joined, in the order the engine made them.
  const std::vector<std::string>& calls() const { return calls_; }
  std::size_t calls_about(std::string_view marker) const {
    std::size_t n = 0;
    for (const auto& c : calls_) n += c.find(marker) != std::string::npos;
    return n;
  }
  /// Index of the first call mentioning `marker` (calls().size() when none).
  std::size_t first_call_about(std::string_view marker) const {
    for (std::size_t i = 0; i < calls_.size(); ++i)
      if (calls_[i].find(marker) != std::string::npos) return i;
    return calls_.size();
  }

 protected:
  void do_complete(boost::asio::any_io_executor ex, chat_request req, delta_handler on_delta,
                   completion_handler&& handler) override {
    std::string text;
    for (const auto& m : req.messages) text += m.text() + "\n";
    calls_.push_back(std::move(text));
    pending p{std::move(req), std::move(on_delta), std::move(ex), std::move(handler)};
    if (held_) {
      waiting_.push_back(std::move(p));
    } else {
      forward(std::move(p));
    }
  }

 private:
  struct pending {
    chat_request req;
    delta_handler on_delta;
    boost::asio::any_io_executor ex;
    completion_handler handler;
  };
  void forward(pending p) {
    // Bound to the call's executor: its cancellation slot goes through with it.
    inner_.async_complete(std::move(p.req), std::move(p.on_delta),
                          boost::asio::bind_executor(p.ex, std::move(p.handler)));
  }

  model& inner_;
  bool held_ = false;
  std::vector<pending> waiting_;
  std::vector<std::string> calls_;
};

struct serve_setup {
  mock::mock_options mock = quick_mock();
  serve::service_options service = quick_service();

  static mock::mock_options quick_mock() {
    mock::mock_options m;
    m.retry_after = std::chrono::milliseconds(20);
    m.drip_interval = std::chrono::milliseconds(0);
    m.reply_words = 12;
    m.single_threaded = true;
    return m;
  }
  static serve::service_options quick_service() {
    serve::service_options o;
    o.http.single_threaded = true;
    o.workers = 2;
    o.run_defaults.retry.initial_delay = std::chrono::milliseconds(5);
    o.run_defaults.retry.max_delay = std::chrono::milliseconds(20);
    o.run_defaults.random_seed = 7;
    o.shutdown_grace = std::chrono::milliseconds(5'000);
    return o;
  }
};

struct serve_rig {
  explicit serve_rig(serve_setup s = {}) {
    mock = std::make_unique<mock::mock_server>(io.get_executor(), s.mock);
    mock->start();
    client = std::make_unique<http::client>(io.get_executor());
    openai::openai_options o;
    o.base_url = mock->base_url();
    o.default_model = "mock";
    o.request_timeout = std::chrono::seconds(20);
    llm = std::make_unique<openai::openai_model>(*client, o);
    gate = std::make_unique<gate_model>(*llm);
    eng = std::make_unique<engine>(io.get_executor(), *gate);
    s.service.log = [this](const std::string& line) { log.push_back(line); };
    svc = std::make_unique<serve::service>(io.get_executor(), *eng, std::move(s.service));
    svc->listen();
    svc->async_run([this](boost::system::error_code ec) {
      run_ec = ec;
      run_done = true;
    });
  }
  ~serve_rig() {
    gate->open();
    if (!run_done) {
      svc->stop();
      BOOST_CHECK_MESSAGE(pump_until(
                              io, [this] { return run_done; }, std::chrono::seconds(15)),
                          "the service's async_run did not complete after stop()");
    }
    BOOST_CHECK(!run_ec);
    mock->stop();
    expect_no_leftover_work(io);
  }
  serve_rig(const serve_rig&) = delete;
  serve_rig& operator=(const serve_rig&) = delete;

  std::uint16_t port() const { return svc->port(); }

  /// One request to the service, its whole response (a stream read to its end).
  reply call(const std::string& method, const std::string& target, const std::string& body = {},
             const header_pairs& headers = {},
             std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    return run(io, http_call(port(), method, target, body, headers), limit);
  }
  /// POST /v1/tasks, which must answer 202; the task's id.
  std::string submit(const std::string& body) {
    const reply r = call("POST", "/v1/tasks", body);
    BOOST_REQUIRE_MESSAGE(r.result_int() == 202, "submit: " + r.body());
    return std::string(json_of(r.body()).at("id").as_string());
  }
  /// The task's whole event stream: it ends when the task finished.
  reply events(const std::string& id, const header_pairs& headers = {}) {
    return call("GET", "/v1/tasks/" + id + "/events", {}, headers);
  }
  boost::json::value status(const std::string& id) {
    const reply r = call("GET", "/v1/tasks/" + id);
    BOOST_REQUIRE_EQUAL(r.result_int(), 200u);
    return json_of(r.body());
  }
  std::string state_of(const std::string& id) {
    return std::string(status(id).at("state").as_string());
  }
  /// Pumps until the gate saw a call about `marker` (a run got that far).
  void until_called_about(std::string_view marker) {
    BOOST_REQUIRE_MESSAGE(pump_until(io, [&] { return gate->calls_about(marker) > 0; }),
                          "no model call about " + std::string(marker));
  }

  boost::asio::io_context io{1};
  std::unique_ptr<mock::mock_server> mock;
  std::unique_ptr<http::client> client;
  std::unique_ptr<openai::openai_model> llm;
  std::unique_ptr<gate_model> gate;
  std::unique_ptr<engine> eng;
  std::unique_ptr<serve::service> svc;
  bool run_done = false;
  boost::system::error_code run_ec;
  std::vector<std::string> log;
};

}  // namespace conclave::test
