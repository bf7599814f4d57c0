// How the mock cuts a reply's text into streamed pieces, on either wire.
#pragma once

#include <algorithm>
#include <string_view>
#include <vector>

namespace conclave::mock::detail {

/// `text` in pieces of `words_per_chunk` words (each piece but the first starts with its
/// space), or single bytes when `one_char` (the drip fault). Joined, they give `text` back.
inline std::vector<std::string_view> text_pieces(std::string_view text, int words_per_chunk,
                                                 bool one_char) {
  std::vector<std::string_view> pieces;
  if (one_char) {
    for (std::size_t i = 0; i < text.size(); ++i) pieces.push_back(text.substr(i, 1));
    return pieces;
  }
  const int per = std::max(1, words_per_chunk);
  while (!text.empty()) {
    std::size_t end = 0;
    for (int w = 0; w < per && end < text.size(); ++w) {
      const auto space = text.find(' ', end + 1);
      end = space == std::string_view::npos ? text.size() : space;
    }
    pieces.push_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  return pieces;
}

}  // namespace conclave::mock::detail
