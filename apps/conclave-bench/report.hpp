// The bench's output: a readable table with the targets, and the same as a JSON file.
#pragma once

#include "suite.hpp"

#include <iosfwd>
#include <string>

namespace conclave::bench {

void print_table(std::ostream& out, const suite_result& r);
/// Throws std::runtime_error when the file cannot be written.
void write_json(const std::string& path, const suite_result& r);

}  // namespace conclave::bench
