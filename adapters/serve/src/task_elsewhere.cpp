// A task another instance holds, read from the journal they share: what GET and DELETE answer
// for it on any instance (behind a load balancer, a client's next call may land anywhere).
#include "service_state.hpp"

#include <boost/json/parse.hpp>

namespace json = boost::json;

namespace conclave::serve {
namespace {

task_state state_of(const std::string& status) {
  if (status == "succeeded") return task_state::succeeded;
  if (status == "failed") return task_state::failed;
  if (status == "cancelled") return task_state::cancelled;
  return task_state::running;
}

}  // namespace

std::optional<task_record> task_elsewhere(const service::state& st, std::string_view id) {
  if (!st.shared_journal() || !id.starts_with("task_") || id.size() > 64) return std::nullopt;
  std::optional<journal::run_record> run;
  try {
    run = st.opts.journal->find_by_owner("serve:" + std::string(id));
  } catch (const std::exception& x) {
    st.log(std::string("conclave serve: journal: ") + x.what());
    return std::nullopt;
  }
  if (!run || run->kind != "task") return std::nullopt;
  task_record r;
  r.id = std::string(id);
  r.state = state_of(run->status);
  r.created_ms = run->created_ms;
  r.run_id = run->id;
  r.cancel_requested = run->cancel_requested;
  r.result_json = run->report_json;
  json::error_code ec;
  const json::value options = json::parse(run->options_json, ec);
  if (!ec && options.is_object()) {
    const json::object& o = options.as_object();
    if (const auto* p = o.if_contains("priority"); p && p->is_int64())
      r.spec.priority = static_cast<int>(p->as_int64());
    if (const auto* m = o.if_contains("metadata"); m && m->is_string())
      r.spec.client_ref = std::string(m->as_string());
  }
  if (is_finished(r.state)) {
    r.finished_ms = run->updated_ms;
    r.progress.phase = "finished";
    if (r.state != task_state::succeeded) {
      r.error_code = r.state == task_state::failed ? "failed" : "cancelled";
      r.error_message = "ended on another instance (see the report)";
    }
  } else {
    r.progress.phase = "elsewhere";  // its progress and events are with the instance running it
  }
  return r;
}

}  // namespace conclave::serve
