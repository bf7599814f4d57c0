#include <conclave/http/sse_parser.hpp>

#include <algorithm>

namespace conclave::http {

bool sse_parser::feed(std::string_view bytes, std::vector<sse_event>& out) {
  if (failed_) return false;
  if (at_stream_start_ && !bytes.empty()) {
    // The BOM may itself arrive split; keep it buffered until we know.
    static constexpr std::string_view bom = "\xEF\xBB\xBF";
    const std::size_t have = line_.size();
    const std::size_t take = std::min(bytes.size(), bom.size() - have);
    const std::string_view candidate = bytes.substr(0, take);
    if (bom.substr(have, take) == candidate) {
      line_.append(candidate);
      bytes.remove_prefix(take);
      if (line_.size() < bom.size()) return true;  // need more bytes to decide
      line_.clear();
    } else {
      // Not a BOM: whatever we held back is ordinary text; reprocess it below.
      std::string held = std::move(line_);
      line_.clear();
      at_stream_start_ = false;
      if (!held.empty() && !feed(held, out)) return false;
    }
    at_stream_start_ = false;
  }

  while (!bytes.empty()) {
    if (after_cr_) {
      after_cr_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    const std::size_t eol = bytes.find_first_of("\r\n");
    if (eol == std::string_view::npos) {
      line_.append(bytes);
      if (line_.size() + data_.size() > max_event_bytes_) {
        failed_ = true;
        return false;
      }
      return true;
    }
    after_cr_ = bytes[eol] == '\r';
    if (line_.empty()) {
      process_line(bytes.substr(0, eol), out);
    } else {
      line_.append(bytes.substr(0, eol));
      process_line(line_, out);
      line_.clear();
    }
    if (data_.size() > max_event_bytes_) {
      failed_ = true;
      return false;
    }
    bytes.remove_prefix(eol + 1);
  }
  return true;
}

bool sse_parser::has_partial_event() const noexcept {
  if (at_stream_start_) return false;  // only (part of) a BOM so far
  return !line_.empty() || has_fields_;
}

void sse_parser::process_line(std::string_view line, std::vector<sse_event>& out) {
  if (line.empty()) {
    dispatch(out);
    return;
  }
  if (line.front() == ':') return;  // comment, e.g. keep-alive ": ping"

  std::string_view field = line;
  std::string_view value;
  if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }

  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
    has_fields_ = true;
  } else if (field == "event") {
    type_.assign(value);
    has_fields_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
    has_fields_ = true;
  } else if (field == "retry") {
    const bool digits =
        !value.empty() && value.size() <= 9 &&
        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) retry_ms_ = std::stol(std::string(value));
    has_fields_ = true;
  }
  // Unknown fields are ignored, as the spec says.
}

void sse_parser::dispatch(std::vector<sse_event>& out) {
  has_fields_ = false;
  if (data_.empty()) {  // per spec, an event without data is not dispatched
    type_.clear();
    return;
  }
  data_.pop_back();  // the last '\n'
  sse_event e;
  if (!type_.empty()) e.type = std::move(type_);
  e.data = std::move(data_);
  e.id = last_id_;
  out.push_back(std::move(e));
  data_.clear();
  type_.clear();
}

}  // namespace conclave::http
