// What a reply's Content-Type says it is, for adapters that must not read an HTML error page
// (a proxy's, a captive portal's) as JSON or as an event stream.
#pragma once

#include <conclave/http/header_fields.hpp>

#include <string>
#include <string_view>

namespace conclave::provider {

/// The media type of the Content-Type header, lower-cased, without parameters
/// ("text/event-stream" for "Text/Event-Stream; charset=utf-8"); empty when absent.
std::string media_type(const http::header_fields& headers);

/// The same media type as sent, case kept: a view into `headers`, for the checks below
/// (they ignore case), with no copy.
std::string_view media_type_as_sent(const http::header_fields& headers);

/// Both checks ignore case.
/// True unless `type` is clearly not JSON: accepted are JSON types (application/json,
/// text/json, anything "+json"), text/plain and application/octet-stream (servers that label
/// JSON loosely) and an absent type (servers that send none).
bool may_be_json(std::string_view type) noexcept;

/// True for text/event-stream, and for an absent type (servers that send none).
bool may_be_event_stream(std::string_view type) noexcept;

}  // namespace conclave::provider
