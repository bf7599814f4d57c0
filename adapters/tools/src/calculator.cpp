#include <conclave/tools/calculator.hpp>

#include <boost/multiprecision/cpp_int.hpp>

#include <algorithm>
#include <cmath>

namespace mp = boost::multiprecision;

namespace conclave::tools {
namespace {

using mp::cpp_int;
using mp::cpp_rational;

// An error with its place; thrown inside the parser only, caught by calculate().
struct failure {
  std::string what;
  std::size_t position;  // 1-based, 0 for none
};

std::size_t bits_of(const cpp_int& v) { return v == 0 ? 0 : mp::msb(mp::abs(v)) + 1; }

cpp_int ten_to(unsigned long n) { return mp::pow(cpp_int(10), static_cast<unsigned>(n)); }

class parser {
 public:
  parser(std::string_view in, const calculator_limits& limits)
      : in_(in),
        limits_(limits),
        // A numerator of max_digits decimal digits has at most this many bits.
        max_bits_(static_cast<std::size_t>(std::ceil(limits.max_digits * 3.3219280948873623))) {}

  cpp_rational parse() {
    skip_space();
    if (at_end()) throw failure{"empty expression", 0};
    cpp_rational v = expr();
    skip_space();
    if (!at_end()) fail_here("expected an operator (+ - * / ^) or the end");
    return v;
  }

 private:
  cpp_rational expr() {
    cpp_rational v = term();
    for (;;) {
      skip_space();
      if (at_end() || (peek() != '+' && peek() != '-')) return v;
      const char op = take();
      const std::size_t where = pos_;
      cpp_rational rhs = term();
      v = op == '+' ? cpp_rational(v + rhs) : cpp_rational(v - rhs);
      check_size(v, where);
    }
  }

  cpp_rational term() {
    cpp_rational v = unary();
    for (;;) {
      skip_space();
      if (at_end() || (peek() != '*' && peek() != '/')) return v;
      const char op = take();
      const std::size_t where = pos_;
      cpp_rational rhs = unary();
      if (op == '/') {
        if (rhs == 0) throw failure{"division by zero", where};
        v /= rhs;
      } else {
        v *= rhs;
      }
      check_size(v, where);
    }
  }

  cpp_rational unary() {
    skip_space();
    if (!at_end() && (peek() == '-' || peek() == '+')) {
      const char sign = take();
      nested deeper(*this);
      cpp_rational v = unary();
      return sign == '-' ? cpp_rational(-v) : v;
    }
    return power();
  }

  cpp_rational power() {
    cpp_rational base = primary();
    skip_space();
    if (at_end() || peek() != '^') return base;
    take();
    const std::size_t where = pos_;
    nested deeper(*this);
    cpp_rational exponent = unary();
    return raise(base, exponent, where);
  }

  cpp_rational primary() {
    skip_space();
    if (at_end()) fail_here("expected a number or '(' but the expression ended");
    const char c = peek();
    if (c == '(') {
      take();
      const std::size_t open = pos_;
      nested deeper(*this);
      cpp_rational v = expr();
      skip_space();
      if (at_end() || peek() != ')')
        throw failure{"missing ')' for the '(' at position " + std::to_string(open),
                      at_end() ? in_.size() + 1 : i_ + 1};
      take();
      return v;
    }
    if (is_digit(c) || c == '.') return number();
    fail_here("expected a number or '('");
  }

  cpp_rational number() {
    const std::size_t start = i_;
    std::string digits;
    while (!at_end() && is_digit(peek())) digits += take();
    std::size_t fraction_digits = 0;
    if (!at_end() && peek() == '.') {
      take();
      while (!at_end() && is_digit(peek())) {
        digits += take();
        ++fraction_digits;
      }
    }
    if (digits.empty()) throw failure{"a number needs digits", start + 1};
    long exponent = 0;
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      take();
      bool negative = false;
      if (!at_end() && (peek() == '+' || peek() == '-')) negative = take() == '-';
      if (at_end() || !is_digit(peek())) fail_here("expected the digits of an exponent");
      while (!at_end() && is_digit(peek())) {
        exponent = std::min(exponent * 10 + (take() - '0'), limits_.max_exponent + 1);
      }
      if (exponent > limits_.max_exponent)
        throw failure{"exponent of the number too large (the limit is " +
                          std::to_string(limits_.max_exponent) + ")",
                      start + 1};
      if (negative) exponent = -exponent;
    }
    const long scale = exponent - static_cast<long>(fraction_digits);
    cpp_int mantissa(digits);
    cpp_rational v = scale >= 0 ? cpp_rational(mantissa * ten_to(scale))
                                : cpp_rational(mantissa, ten_to(-scale));
    check_size(v, start + 1);
    return v;
  }

  cpp_rational raise(const cpp_rational& base, const cpp_rational& exponent, std::size_t where) {
    if (mp::denominator(exponent) != 1) throw failure{"the exponent must be an integer", where};
    const cpp_int e = mp::numerator(exponent);
    if (mp::abs(e) > limits_.max_exponent)
      throw failure{"exponent too large (|exponent| must be at most " +
                        std::to_string(limits_.max_exponent) + ")",
                    where};
    const long n = e.convert_to<long>();
    if (base == 0 && n < 0) throw failure{"division by zero (0 to a negative power)", where};
    const unsigned magnitude = static_cast<unsigned>(n < 0 ? -n : n);
    // Refuse before computing: a b-bit integer to the n has at least (b-1)*n+1 bits.
    for (const cpp_int& part : {mp::numerator(base), mp::denominator(base)}) {
      const std::size_t b = bits_of(part);
      if (b > 1 && (b - 1) * magnitude + 1 > max_bits_) throw too_big(where);
    }
    cpp_rational v(mp::pow(mp::numerator(base), magnitude),
                   mp::pow(mp::denominator(base), magnitude));
    if (n < 0) v = 1 / v;
    check_size(v, where);
    return v;
  }

  void check_size(const cpp_rational& v, std::size_t where) const {
    if (bits_of(mp::numerator(v)) > max_bits_ || bits_of(mp::denominator(v)) > max_bits_)
      throw too_big(where);
  }

  failure too_big(std::size_t where) const {
    return {"result too big (more than about " + std::to_string(limits_.max_digits) + " digits)",
            where};
  }

  // One level of nesting for as long as it lives.
  struct nested {
    explicit nested(parser& p) : p_(p) {
      if (++p_.depth_ > p_.limits_.max_depth)
        throw failure{
            "nested too deeply (the limit is " + std::to_string(p_.limits_.max_depth) + " levels)",
            p_.pos_};
    }
    ~nested() { --p_.depth_; }
    nested(const nested&) = delete;
    nested& operator=(const nested&) = delete;
    parser& p_;
  };

  [[noreturn]] void fail_here(const std::string& what) const {
    if (at_end()) throw failure{what, in_.size() + 1};
    const char c = peek();
    std::string shown = c > ' ' && c < 0x7f ? std::string(" '") + c + "'" : std::string();
    throw failure{"syntax error: unexpected character" + shown + "; " + what, i_ + 1};
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  bool at_end() const { return i_ >= in_.size(); }
  char peek() const { return in_[i_]; }
  // Takes one character; pos_ is the 1-based position of the last one taken.
  char take() {
    pos_ = i_ + 1;
    return in_[i_++];
  }
  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++i_;
  }

  std::string_view in_;
  const calculator_limits& limits_;
  std::size_t max_bits_;
  std::size_t i_ = 0;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

// "ddd" with a decimal point `scale` digits from the right ("5", 2 -> "0.05").
std::string place_point(std::string digits, std::size_t scale) {
  if (scale == 0) return digits;
  if (digits.size() <= scale) digits.insert(0, scale + 1 - digits.size(), '0');
  digits.insert(digits.size() - scale, 1, '.');
  return digits;
}

// a/d (both positive) to 20 significant digits, rounded half up.
std::string approximate(const cpp_int& a, const cpp_int& d) {
  constexpr long significant = 20;
  const long magnitude = static_cast<long>(a.str().size()) - static_cast<long>(d.str().size());
  long s = significant - magnitude;  // a * 10^s / d has 20 or 21 digits
  cpp_int q;
  for (int attempt = 0; attempt < 3; ++attempt) {  // 21 digits, or rounded up to 10^20
    const long t = s + 1;                          // one guard digit for rounding
    const cpp_int scaled = t >= 0 ? cpp_int(a * ten_to(t) / d) : cpp_int(a / (d * ten_to(-t)));
    q = (scaled + 5) / 10;
    if (q < ten_to(significant)) break;
    --s;
  }
  // a/d >= 10^(magnitude-1), so q has exactly 20 digits here.
  const std::string digits = q.str();
  const long exp10 = static_cast<long>(digits.size()) - 1 - s;  // value = d.ddd * 10^exp10
  const auto trim = [](std::string f) {
    while (!f.empty() && f.back() == '0') f.pop_back();
    return f;
  };
  if (exp10 >= -7 && exp10 < 21) {
    if (exp10 + 1 >= static_cast<long>(digits.size()))
      return digits + std::string(static_cast<std::size_t>(exp10 + 1) - digits.size(), '0');
    std::string whole = exp10 >= 0 ? digits.substr(0, static_cast<std::size_t>(exp10 + 1)) : "0";
    std::string fraction = exp10 >= 0
                               ? digits.substr(static_cast<std::size_t>(exp10 + 1))
                               : std::string(static_cast<std::size_t>(-exp10 - 1), '0') + digits;
    fraction = trim(fraction);
    return fraction.empty() ? whole : whole + "." + fraction;
  }
  std::string fraction = trim(digits.substr(1));
  return digits.substr(0, 1) + (fraction.empty() ? "" : "." + fraction) + "e" +
         std::to_string(exp10);
}

std::string format(const cpp_rational& v, std::size_t max_digits) {
  const cpp_int n = mp::numerator(v);
  const cpp_int d = mp::denominator(v);  // positive, and n/d is reduced
  const std::string sign = n < 0 ? "-" : "";
  const cpp_int a = mp::abs(n);
  if (d == 1) return n.str();
  // A reduced fraction terminates in decimal exactly when d = 2^i * 5^j.
  const std::size_t twos = mp::lsb(d);
  cpp_int rest = d >> twos;
  std::size_t fives = 0;
  while (rest % 5 == 0) {
    rest /= 5;
    ++fives;
  }
  if (rest == 1) {
    const std::size_t scale = std::max(twos, fives);
    std::string exact = place_point(cpp_int(a * ten_to(scale) / d).str(), scale);
    if (exact.size() <= max_digits) return sign + exact;  // else the fraction is shorter
  }
  return sign + a.str() + "/" + d.str() + " \u2248 " + sign + approximate(a, d);
}

}  // namespace

calculation calculate(std::string_view expression, const calculator_limits& limits) {
  if (expression.size() > limits.max_length)
    return {false,
            "expression too long (" + std::to_string(expression.size()) +
                " characters; the limit is " + std::to_string(limits.max_length) + ")",
            0};
  try {
    const cpp_rational v = parser(expression, limits).parse();
    return {true, format(v, limits.max_digits), 0};
  } catch (const failure& f) {
    std::string text = f.what;
    if (f.position != 0) text += " (at position " + std::to_string(f.position) + ")";
    return {false, std::move(text), f.position};
  }
}

}  // namespace conclave::tools
