#include <conclave/engine/text.hpp>
#include <conclave/tools/builtin.hpp>

#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <initializer_list>

namespace asio = boost::asio;

namespace conclave::tools {
namespace {

// A tool whose work is one synchronous step on the call's executor.
class step_tool final : public tool {
 public:
  using body_type = std::function<tool_output(std::string_view arguments)>;

  step_tool(asio::any_io_executor ex, tool_spec spec, body_type body)
      : ex_(std::move(ex)),
        spec_(std::move(spec)),
        body_(std::make_shared<const body_type>(std::move(body))) {}

  const tool_spec& spec() const override { return spec_; }
  asio::any_io_executor get_executor() const override { return ex_; }

 protected:
  void do_invoke(asio::any_io_executor ex, std::string arguments,
                 invoke_handler&& handler) override {
    // The body is shared, not the tool: a call in flight outlives a tool dropped meanwhile.
    asio::post(ex, [body = body_, args = std::move(arguments), h = std::move(handler)]() mutable {
      tool_output out;
      try {
        out = (*body)(args);
      } catch (const std::exception& x) {
        out = {std::string("the tool failed: ") + x.what(), true};
      }
      std::move(h)(boost::system::error_code{}, std::move(out));
    });
  }

 private:
  asio::any_io_executor ex_;
  tool_spec spec_;
  std::shared_ptr<const body_type> body_;
};

// The string fields `fields` of the JSON object `arguments`, in that order, or nullopt with an
// is_error output.
std::optional<std::vector<std::string>> string_fields(std::string_view arguments,
                                                      std::initializer_list<const char*> fields,
                                                      tool_output& why) {
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(arguments, ec);
  std::string expected = "arguments must be a JSON object with";
  const char* joint = " a string \"";
  for (const char* field : fields) {
    expected += joint + std::string(field) + "\"";
    joint = " and a string \"";
  }
  if (ec || !v.is_object()) {
    why = {expected + (ec ? " (" + ec.message() + ")" : ""), true};
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const char* field : fields) {
    const auto* s = v.as_object().if_contains(field);
    if (!s || !s->is_string()) {
      why = {expected + (s ? "" : " (\"" + std::string(field) + "\" is missing)"), true};
      return std::nullopt;
    }
    out.emplace_back(s->as_string());
  }
  return out;
}

std::optional<std::string> string_field(std::string_view arguments, const char* field,
                                        tool_output& why) {
  auto got = string_fields(arguments, {field}, why);
  if (!got) return std::nullopt;
  return std::move(got->front());
}

tool_spec calculator_spec() {
  return {"calculator",
          "Evaluates an arithmetic expression exactly, with rational numbers: + - * / ^, "
          "parentheses, unary minus, decimals and e-notation (0.1, 1e3). ^ needs an integer "
          "exponent (at most 1000 in size) and is right-associative; -2^2 is -4. The result is "
          "an exact decimal, or a fraction p/q with a 20-digit approximation. No variables or "
          "functions.",
          R"({"type":"object","properties":{"expression":{"type":"string","description":)"
          R"("the expression, e.g. (1/3 + 0.5) * 2^10","examples":["(1/3 + 0.5) * 2^10"]}},)"
          R"("required":["expression"]})"};
}

std::string roots_text(const rooted_files& files) {
  std::string out;
  for (const auto& root : files.roots())
    out += (out.empty() ? "" : ", ") + text::to_valid_utf8(root.string());
  return out;
}

tool_spec read_file_spec(const rooted_files& files, const file_limits& limits) {
  return {"read_file",
          "Reads a text file inside the allowed directories (" + roots_text(files) +
              "). The path is relative to one of them (tried in that order) or absolute inside "
              "one. Shows at most " +
              std::to_string(limits.max_read_bytes) + " bytes; binary files are not shown.",
          R"({"type":"object","properties":{"path":{"type":"string","description":)"
          R"("the file, relative to an allowed directory or absolute inside one"}},)"
          R"("required":["path"]})"};
}

tool_spec list_dir_spec(const rooted_files& files, const file_limits& limits) {
  return {"list_dir",
          "Lists a directory inside the allowed directories (" + roots_text(files) +
              "), sorted, one name a line: name/ for a directory, name@ for a symlink. The "
              "path is relative to one of them (tried in that order; \".\" is the first) or "
              "absolute inside one. Shows at most " +
              std::to_string(limits.max_entries) + " names.",
          R"({"type":"object","properties":{"path":{"type":"string","description":)"
          R"("the directory, relative to an allowed directory or absolute inside one",)"
          R"("examples":["."]}},)"
          R"("required":["path"]})"};
}

tool_spec write_file_spec(const rooted_files& files, const file_limits& limits) {
  const std::string first = text::to_valid_utf8(files.roots().front().string());
  tool_spec spec{"write_file",
                 "Writes a text file inside the allowed directories (" + roots_text(files) +
                     "): creates it, or replaces all its content. The path is relative to " +
                     first +
                     " or absolute inside an allowed directory; the directory must exist (none is "
                     "created). Symlinks are not followed. At most " +
                     std::to_string(limits.max_write_bytes) + " bytes.",
                 R"({"type":"object","properties":{"path":{"type":"string","description":)"
                 R"("the file, relative to the first allowed directory or absolute inside one",)"
                 R"("examples":["notes.txt"]},"content":{"type":"string","description":)"
                 R"("the file's whole new content"}},"required":["path","content"]})"};
  spec.writes = "path";  // calls are tracked: two agents writing one path is a conflict
  return spec;
}

// "read_file needs at least one root directory", "list_dir: root '/x' is not usable"
std::shared_ptr<const rooted_files> open_roots(std::string_view name,
                                               const builtin_options& options, std::string& why) {
  auto files = rooted_files::open(options.roots, options.files, why);
  if (!files) {
    why = std::string(name) + (why.starts_with("needs") ? " " : ": ") + why;
    return nullptr;
  }
  return std::make_shared<const rooted_files>(std::move(*files));
}

}  // namespace

std::vector<std::string_view> builtin_names() {
  return {"calculator", "list_dir", "read_file", "write_file"};
}

std::shared_ptr<tool> make_builtin(std::string_view name, asio::any_io_executor ex,
                                   const builtin_options& options, std::string& why) {
  if (name == "calculator") {
    return std::make_shared<step_tool>(std::move(ex), calculator_spec(),
                                       [limits = options.calculator](std::string_view arguments) {
                                         tool_output bad;
                                         const auto expression =
                                             string_field(arguments, "expression", bad);
                                         if (!expression) return bad;
                                         calculation c = calculate(*expression, limits);
                                         return tool_output{std::move(c.text), !c.ok};
                                       });
  }
  if (name == "write_file") {
    auto shared = open_roots(name, options, why);
    if (!shared) return nullptr;
    return std::make_shared<step_tool>(
        std::move(ex), write_file_spec(*shared, options.files),
        [shared](std::string_view arguments) {
          tool_output bad;
          const auto got = string_fields(arguments, {"path", "content"}, bad);
          if (!got) return bad;
          return shared->write_file((*got)[0], (*got)[1]);
        });
  }
  if (name == "read_file" || name == "list_dir") {
    auto shared = open_roots(name, options, why);
    if (!shared) return nullptr;
    const bool read = name == "read_file";
    tool_spec spec =
        read ? read_file_spec(*shared, options.files) : list_dir_spec(*shared, options.files);
    return std::make_shared<step_tool>(
        std::move(ex), std::move(spec), [shared, read](std::string_view arguments) {
          tool_output bad;
          const auto path = string_field(arguments, "path", bad);
          if (!path) return bad;
          return read ? shared->read_file(*path) : shared->list_dir(*path);
        });
  }
  why = "no built-in tool named '" + text::quote(name, 64) + "' (there are calculator, " +
        "list_dir, read_file and write_file)";
  return nullptr;
}

std::vector<std::shared_ptr<tool>> make_builtin_tools(const std::vector<std::string>& names,
                                                      asio::any_io_executor ex,
                                                      const builtin_options& options,
                                                      std::string& why) {
  std::vector<std::shared_ptr<tool>> out;
  for (const auto& name : names) {
    auto t = make_builtin(name, ex, options, why);
    if (!t) return {};
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace conclave::tools
