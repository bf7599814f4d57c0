#include <conclave/provider/scrub.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>

namespace conclave::provider {
namespace {

// Redact first, then repair and cut: a cut before redacting could leave half a key behind.
void clean(std::string& s, const text::redactor& secrets, std::size_t max_bytes) {
  secrets.apply_in_place(s);
  // What quote() would give back, kept as it is: every reply's fields come through here.
  if (s.size() <= max_bytes && text::is_valid_utf8(s)) return;
  s = text::quote(s, max_bytes);
}

void clean_whole(std::string& s, const text::redactor& secrets) {
  secrets.apply_in_place(s);
  if (!text::is_valid_utf8(s)) s = text::to_valid_utf8(s);
}

// Redacts every string in `v` (object keys too); true when one changed.
bool redact_strings(boost::json::value& v, const text::redactor& secrets) {
  bool changed = false;
  if (auto* s = v.if_string()) {
    std::string text(*s);
    if (secrets.apply_in_place(text)) {
      *s = text;
      changed = true;
    }
  } else if (auto* a = v.if_array()) {
    for (auto& e : *a) changed = redact_strings(e, secrets) || changed;
  } else if (auto* o = v.if_object()) {
    boost::json::object out;
    for (auto& [key, value] : *o) {
      changed = redact_strings(value, secrets) || changed;
      std::string k(key);
      changed = secrets.apply_in_place(k) || changed;
      out[k] = std::move(value);
    }
    *o = std::move(out);
  }
  return changed;
}

}  // namespace

void scrub_arguments(std::string& arguments, const text::redactor& secrets) {
  if (secrets.empty()) {
    if (!text::is_valid_utf8(arguments)) arguments = text::to_valid_utf8(arguments);
    return;
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(arguments, ec);
  if (!ec && redact_strings(v, secrets)) arguments = boost::json::serialize(v);
  clean_whole(arguments, secrets);
}

void scrub(diagnostics& d, const text::redactor& secrets) {
  clean(d.message, secrets, max_diag_message);
  clean(d.provider_code, secrets, max_diag_field);
  clean(d.request_id, secrets, max_diag_field);
}

void scrub(chat_response& r, const text::redactor& secrets) {
  scrub(r.diag, secrets);
  for (auto& part : r.message.parts) {
    if (auto* t = std::get_if<text_part>(&part)) clean_whole(t->text, secrets);
    if (auto* c = std::get_if<tool_call>(&part)) {
      clean(c->id, secrets, max_diag_field);
      clean(c->name, secrets, max_diag_field);
      scrub_arguments(c->arguments, secrets);
    }
  }
  clean_whole(r.message.reasoning, secrets);
  clean(r.model, secrets, max_diag_field);
  clean(r.finish_reason, secrets, max_diag_field);
}

delta_scrubber::delta_scrubber(const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (text::redactor({s}).empty()) continue;  // one the redactor would not redact either
    redactor_.add(s);
    secrets_.push_back(s);
  }
}

std::string delta_scrubber::push(std::string_view delta) {
  if (secrets_.empty()) {
    return text::is_valid_utf8(delta) ? std::string(delta) : text::to_valid_utf8(delta);
  }
  pending_.append(delta);
  redactor_.apply_in_place(pending_);
  const std::size_t ready = pending_.size() - held_tail();
  std::string out = pending_.substr(0, ready);
  pending_.erase(0, ready);
  return text::is_valid_utf8(out) ? out : text::to_valid_utf8(out);
}

std::string delta_scrubber::finish() {
  std::string out = redactor_.apply(pending_);
  pending_.clear();
  return text::is_valid_utf8(out) ? out : text::to_valid_utf8(out);
}

// The longest tail of pending_ that is a proper prefix of a secret (keys are tens of bytes:
// the quadratic scan is cheap next to a network read).
std::size_t delta_scrubber::held_tail() const noexcept {
  const std::string_view p = pending_;
  std::size_t longest = 0;
  for (const auto& secret : secrets_) {
    for (std::size_t n = std::min(secret.size() - 1, p.size()); n > longest; --n) {
      if (p.ends_with(std::string_view(secret).substr(0, n))) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}

}  // namespace conclave::provider
