// JSON text for people and tools alike: Boost.JSON writes doubles with exponents ("2.005E2"),
// which many readers (jq's users, spreadsheets, log pipelines) handle badly. This writes the
// same value with every number as a plain decimal.
#pragma once

#include <boost/json/fwd.hpp>

#include <string>

namespace conclave {

/// `v` as compact JSON: doubles as the shortest plain decimal that reads back the same
/// ("200.5", "0.0001"), never an exponent; NaN and infinities as null. Strings are escaped as
/// Boost.JSON escapes them (the caller keeps them valid UTF-8).
std::string to_plain_json(const boost::json::value& v);

/// The same, for people to read and edit: two-space indents, one member per line (arrays of
/// plain values on one line). No trailing newline.
std::string to_pretty_json(const boost::json::value& v);

}  // namespace conclave
