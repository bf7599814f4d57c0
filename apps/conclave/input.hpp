// Where the question comes from: an argument, a file (-f), or stdin; text piped beside a
// question is context for it (`cat notes.txt | conclave ask "summarise"`).
#pragma once

#include <string>

namespace conclave::cli {

/// At most this much input is read (question plus context); more is a usage error.
inline constexpr std::size_t max_input_bytes = 4 * 1024 * 1024;

/// The prompt: `argument` ("-" means stdin), or the contents of `file`, or stdin when neither
/// is given and `stdin_readable`; with a question and readable stdin holding text, that text
/// is added as context. Throws usage_error (unreadable file, too large, nothing given).
std::string read_question(const std::string& argument, const std::string& file,
                          bool stdin_readable);

/// The whole of `path` ('-': stdin), at most max_input_bytes. Throws usage_error.
std::string read_text_input(const std::string& path);

}  // namespace conclave::cli
