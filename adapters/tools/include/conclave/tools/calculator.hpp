// Exact arithmetic over a small expression language, for the `calculator` built-in tool.
// Sans-io: a recursive-descent parser evaluating on exact rationals. No eval, no shell.
//
// Grammar (whitespace between tokens is ignored):
//   expr    := term (('+' | '-') term)*
//   term    := unary (('*' | '/') unary)*
//   unary   := ('-' | '+') unary | power
//   power   := primary ('^' unary)?          right-associative: 2^3^2 = 2^9
//   primary := number | '(' expr ')'
//   number  := digits ['.' digits] | '.' digits, then optionally ('e' | 'E') ['+' | '-'] digits
//
// So `-2^2` is -(2^2) = -4 (as in mathematics), and `2^-2` is 0.25. Decimal literals are exact
// (`0.1` is 1/10) and scientific notation is accepted (`1e3`, `2.5E-3`). No implicit
// multiplication (`2(3)` is a syntax error), no functions, no variables. `0^0` is 1.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace conclave::tools {

/// Bounds that keep one evaluation small and quick, whatever the input.
struct calculator_limits {
  std::size_t max_length = 1000;   ///< longest expression, in bytes
  int max_depth = 100;             ///< deepest nesting of parentheses, signs and powers
  long max_exponent = 1000;        ///< largest |n| in x^n and in a literal's e-notation
  std::size_t max_digits = 10000;  ///< largest numerator or denominator, in decimal digits
};

/// The outcome of one evaluation.
struct calculation {
  bool ok = false;
  /// The value (see calculate), or what went wrong, in plain words.
  std::string text;
  /// For an error tied to a place in the input: its 1-based byte offset; else 0.
  std::size_t position = 0;
};

/// Evaluates `expression` exactly. The value is printed as a decimal when it terminates
/// ("0.3", "-12", "0.25"), else as a reduced fraction with an approximation to 20 significant
/// digits ("1/3 ≈ 0.33333333333333333333"). A terminating decimal longer than max_digits
/// characters is printed in the fraction form too (an integer is always printed whole).
///
/// Errors (ok == false): syntax (with position), division by zero, non-integer or too large
/// exponent, a numerator or denominator past max_digits, input past max_length or max_depth.
/// Each is refused before any large computation: `9^9^9` fails at once.
calculation calculate(std::string_view expression, const calculator_limits& limits = {});

}  // namespace conclave::tools
