// Incremental Server-Sent Events parser (WHATWG "event stream interpretation").
// Pure logic: feed it bytes as they arrive, split anywhere (inside a line, between CR and LF,
// inside a UTF-8 character); it hands out complete events. No I/O, no allocation per byte.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace conclave::http {

struct sse_event {
  std::string type = "message";  ///< from "event:"; "message" when absent
  std::string data;              ///< "data:" lines joined with '\n'
  std::string id;                ///< last "id:" seen on the stream (sticky, per spec)
};

class sse_parser {
 public:
  /// `max_event_bytes` bounds one buffered line plus one event's data: a peer that never ends
  /// a line cannot make us grow without limit.
  explicit sse_parser(std::size_t max_event_bytes = 4 * 1024 * 1024)
      : max_event_bytes_(max_event_bytes) {}

  /// Consumes `bytes`, appending each event they complete to `out`. Returns false (and
  /// ignores the rest) once the size limit is exceeded; the parser then stays failed.
  bool feed(std::string_view bytes, std::vector<sse_event>& out);

  /// True when bytes of an unfinished event are buffered: at EOF, that event is lost
  /// (the spec discards it), and a caller may report the stream as truncated.
  bool has_partial_event() const noexcept;

  bool failed() const noexcept { return failed_; }

  /// The last valid "retry:" value (reconnection time, ms), if the stream sent one.
  std::optional<long> retry_ms() const noexcept { return retry_ms_; }

 private:
  void process_line(std::string_view line, std::vector<sse_event>& out);
  void dispatch(std::vector<sse_event>& out);

  std::size_t max_event_bytes_;
  std::string line_;     // the current, unterminated line
  std::string data_;     // data of the event being built
  std::string type_;     // event type of the event being built
  std::string last_id_;  // sticky last event id
  std::optional<long> retry_ms_;
  bool has_fields_ = false;      // the event being built has seen any field
  bool after_cr_ = false;        // last byte was CR: a following LF belongs to the same break
  bool at_stream_start_ = true;  // a UTF-8 BOM is skipped only here
  bool failed_ = false;
};

}  // namespace conclave::http
