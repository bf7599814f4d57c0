// The built-in tools: the calculator's exact arithmetic and its bounds (pure), the file tools'
// root rule (reads and writes) in a temporary directory made here, and calls through the tool
// port on an io_context (no sockets, nothing reaches the network).
#include <conclave/engine/text.hpp>
#include <conclave/tools/builtin.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/stat.h>

namespace unit_test_builtin_tools {  // file-local names stay apart in unity batches

namespace fs = std::filesystem;
using namespace conclave;
using namespace conclave::tools;

namespace {

std::string value_of(std::string_view expression) {
  calculation c = calculate(expression);
  BOOST_TEST_INFO("expression: " << expression << " -> " << c.text);
  BOOST_REQUIRE(c.ok);
  return c.text;
}

void write(const fs::path& p, std::string_view bytes) {
  std::ofstream(p, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A tree under a fresh temporary directory, removed at the end:
//   top/secret.txt  root/{a.txt, sub/b.txt, bad.txt, bin.dat, big.txt, links}  root2/{a.txt,
//   only2.txt}
struct tree {
  fs::path top;
  fs::path root;
  fs::path root2;

  tree() {
    top = fs::temp_directory_path() /
          ("conclave-builtin-" + std::to_string(std::random_device{}()) + "-" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    root = top / "root";
    root2 = top / "root2";
    fs::create_directories(root / "sub");
    fs::create_directories(root2);
    write(top / "secret.txt", "TOPSECRET");
    write(root / "a.txt", "hello\n");
    write(root / "zeta.txt", "z");
    write(root / "sub" / "b.txt", "in sub");
    write(root / "bad.txt", "ok \xff\xfe end");
    write(root / "bin.dat", std::string_view("ab\0cd", 5));
    // 65,535 ASCII bytes, then a 2-byte character across the 64 KiB cut.
    write(root / "big.txt", std::string(65535, 'x') + "\xc3\xa9" + std::string(1000, 'y'));
    fs::create_symlink("../secret.txt", root / "escape");
    fs::create_directory_symlink("..", root / "escape_dir");
    fs::create_symlink("a.txt", root / "inner");
    write(root2 / "a.txt", "from root2");
    write(root2 / "only2.txt", "only in root2");
  }
  ~tree() {
    std::error_code ec;
    fs::remove_all(top, ec);
  }
  tree(const tree&) = delete;
  tree& operator=(const tree&) = delete;

  rooted_files files(std::vector<fs::path> roots = {}, file_limits limits = {}) const {
    std::string why;
    auto f = rooted_files::open(roots.empty() ? std::vector<fs::path>{root} : roots, limits, why);
    BOOST_REQUIRE_MESSAGE(f, why);
    return *f;
  }
};

std::string contents(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void check_refused(const tool_output& out) {
  BOOST_TEST_INFO("output: " << out.content);
  BOOST_TEST(out.is_error);
  BOOST_TEST(out.content.find("outside the allowed directories") != std::string::npos);
  BOOST_TEST(out.content.find("TOPSECRET") == std::string::npos);
}

// Runs one call through the tool port; the run is bounded and must leave no work behind.
tool_output invoke(boost::asio::io_context& io, tool& t, std::string arguments) {
  bool done = false;
  tool_output got;
  t.async_invoke(std::move(arguments), [&](boost::system::error_code ec, tool_output out) {
    BOOST_TEST(!ec);
    got = std::move(out);
    done = true;
  });
  BOOST_TEST(!done);  // posted, never completed inline
  io.restart();
  io.run_for(std::chrono::seconds(10));
  BOOST_REQUIRE(done);
  BOOST_TEST(io.stopped());
  return got;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(builtin_tools)

BOOST_AUTO_TEST_CASE(calculator_values) {
  const std::pair<const char*, const char*> cases[] = {
      {"0.1+0.2", "0.3"},
      {"1/3*3", "1"},
      {"1/3", "1/3 \u2248 0.33333333333333333333"},
      {"2/3", "2/3 \u2248 0.66666666666666666667"},
      {"-1/3", "-1/3 \u2248 -0.33333333333333333333"},
      {"2+3*4", "14"},
      {"(2+3)*4", "20"},
      {"10-4-3", "3"},
      {"2/4/2", "0.25"},
      {"2^3^2", "512"},
      {"-2^2", "-4"},
      {"(-2)^2", "4"},
      {"2^-2", "0.25"},
      {"--3", "3"},
      {"+-(1.5)", "-1.5"},
      {" 7 \t", "7"},
      {"1e3", "1000"},
      {"2.5E-3", "0.0025"},
      {".5+1.", "1.5"},
      {"0^0", "1"},
      {"2^100", "1267650600228229401496703205376"},
      {"1/7000000000", "1/7000000000 \u2248 1.4285714285714285714e-10"},
      {"10^30/3", "1000000000000000000000000000000/3 \u2248 3.3333333333333333333e29"},
      {"1/8000", "0.000125"},
  };
  for (const auto& [expression, expected] : cases) BOOST_TEST(value_of(expression) == expected);
  // Rounding up to the next power of ten: 1 - 3^-50 is 0.999... (20 nines and more).
  const std::string near_one = value_of("1-3^-50");
  BOOST_TEST(near_one.ends_with("\u2248 1"));
}

BOOST_AUTO_TEST_CASE(calculator_errors) {
  struct error_case {
    const char* expression;
    const char* words;
    std::size_t position;
  };
  const error_case cases[] = {
      {"1/0", "division by zero", 2},
      {"1/(2-2)", "division by zero", 2},
      {"0^-1", "division by zero", 2},
      {"", "empty expression", 0},
      {"2 $ 3", "syntax error: unexpected character '$'", 3},
      {"2(3)", "syntax error", 2},
      {"2*", "expression ended", 3},
      {"2*(3+4", "missing ')' for the '(' at position 3", 7},
      {".", "a number needs digits", 1},
      {"1e", "digits of an exponent", 3},
      {"2^0.5", "exponent must be an integer", 2},
      {"2^1001", "exponent too large", 2},
      {"9^9^9", "exponent too large", 2},
      {"1e1001", "exponent of the number too large", 1},
      {"(10^1000)^11", "result too big", 10},
  };
  for (const auto& c : cases) {
    calculation r = calculate(c.expression);
    BOOST_TEST_INFO("expression: " << c.expression << " -> " << r.text);
    BOOST_TEST(!r.ok);
    BOOST_TEST(r.text.find(c.words) != std::string::npos);
    BOOST_TEST(r.position == c.position);
  }
  BOOST_TEST(calculate("1/0").text == "division by zero (at position 2)");
}

BOOST_AUTO_TEST_CASE(calculator_bounds) {
  // Huge powers are refused from the sizes alone, before any multiplication.
  const auto start = std::chrono::steady_clock::now();
  for (const char* e : {"9^9^9", "(10^999)^1000", "7^1000^1000", "(7^1000)^1000"}) {
    BOOST_TEST_INFO("expression: " << e);
    BOOST_TEST(!calculate(e).ok);
  }
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(2)));
  // Products that grow step by step stop at the size bound too.
  std::string product = "10^1000";
  for (int i = 0; i < 10; ++i) product += "*10^1000";
  BOOST_TEST(calculate(product).text.starts_with("result too big"));
  BOOST_TEST(value_of("(10^1000)^10") == "1" + std::string(10000, '0'));  // whole, at the bound

  const auto nest = [](int n) { return std::string(n, '(') + "1" + std::string(n, ')'); };
  BOOST_TEST(calculate(nest(100)).ok);
  BOOST_TEST(calculate(nest(101)).text.starts_with("nested too deeply"));
  BOOST_TEST(calculate(std::string(200, '-') + "1").text.starts_with("nested too deeply"));

  BOOST_TEST(calculate(std::string(1000, '1')).ok);
  BOOST_TEST(calculate(std::string(1001, '1')).text ==
             "expression too long (1001 characters; the limit is 1000)");
  BOOST_TEST(!calculate("1+1", {.max_length = 2}).ok);
}

BOOST_AUTO_TEST_CASE(read_inside_the_root) {
  tree t;
  const rooted_files files = t.files();
  BOOST_TEST(files.read_file("a.txt").content == "hello\n");
  BOOST_TEST(files.read_file("sub/b.txt").content == "in sub");
  BOOST_TEST(files.read_file("sub/../a.txt").content == "hello\n");
  BOOST_TEST(files.read_file((t.root / "a.txt").string()).content == "hello\n");
  BOOST_TEST(files.read_file("inner").content == "hello\n");  // a symlink staying inside
  const tool_output missing = files.read_file("missing.txt");
  BOOST_TEST(missing.is_error);
  BOOST_TEST(missing.content == "no such file or directory: 'missing.txt'");
  BOOST_TEST(files.read_file("sub").content == "'sub' is a directory: use list_dir");
}

BOOST_AUTO_TEST_CASE(escapes_are_refused) {
  tree t;
  const rooted_files files = t.files();
  check_refused(files.read_file("../secret.txt"));
  check_refused(files.read_file("sub/../../secret.txt"));
  check_refused(files.read_file((t.top / "secret.txt").string()));
  check_refused(files.read_file("/etc/passwd"));
  check_refused(files.read_file("/no/such/place"));  // same words whether it exists or not
  check_refused(files.read_file("escape"));          // symlink to a file outside
  check_refused(files.read_file("escape_dir/secret.txt"));
  check_refused(files.read_file("missing/../../secret.txt"));
  check_refused(files.list_dir(".."));
  check_refused(files.list_dir("escape_dir"));
  check_refused(files.list_dir("/"));
  BOOST_TEST(files.read_file(std::string_view("a.txt\0x", 7)).is_error);
}

BOOST_AUTO_TEST_CASE(read_caps_repairs_and_refuses_binary) {
  tree t;
  const rooted_files files = t.files();
  const tool_output big = files.read_file("big.txt");
  BOOST_TEST(!big.is_error);
  BOOST_TEST(big.content.ends_with("\n(cut at 65535 of 66537 bytes)"));  // not inside the é
  BOOST_TEST(text::is_valid_utf8(big.content));

  const tool_output bad = files.read_file("bad.txt");
  BOOST_TEST(text::is_valid_utf8(bad.content));
  BOOST_TEST(bad.content == "ok \xef\xbf\xbd\xef\xbf\xbd end");

  const tool_output bin = files.read_file("bin.dat");
  BOOST_TEST(bin.is_error);
  BOOST_TEST(bin.content == "'bin.dat' is a binary file (5 bytes, with NUL bytes): not shown");
}

BOOST_AUTO_TEST_CASE(list_sorted_marked_and_capped) {
  tree t;
  const rooted_files files = t.files();
  const std::string all =
      "a.txt\nbad.txt\nbig.txt\nbin.dat\nescape@\nescape_dir@\ninner@\nsub/\nzeta.txt";
  BOOST_TEST(files.list_dir(".").content == all);
  BOOST_TEST(files.list_dir("").content == all);
  BOOST_TEST(files.list_dir(t.root.string()).content == all);
  BOOST_TEST(files.list_dir("sub").content == "b.txt");
  BOOST_TEST(files.list_dir("a.txt").content == "'a.txt' is not a directory");

  const rooted_files capped = t.files({t.root}, {.max_entries = 3});
  BOOST_TEST(capped.list_dir(".").content == "a.txt\nbad.txt\nbig.txt\n... and 6 more");
  const rooted_files small = t.files({t.root}, {.max_read_bytes = 4});
  BOOST_TEST(small.read_file("a.txt").content == "hell\n(cut at 4 of 6 bytes)");
  fs::create_directory(t.root / "sub" / "empty");
  BOOST_TEST(files.list_dir("sub/empty").content == "(empty directory)");
}

BOOST_AUTO_TEST_CASE(several_roots_in_order) {
  tree t;
  const rooted_files files = t.files({t.root, t.root2});
  BOOST_TEST(files.read_file("a.txt").content == "hello\n");  // the first root wins
  BOOST_TEST(files.read_file("only2.txt").content == "only in root2");
  BOOST_TEST(files.read_file((t.root2 / "a.txt").string()).content == "from root2");
  BOOST_TEST(files.list_dir(".").content.starts_with("a.txt\nbad.txt"));
}

BOOST_AUTO_TEST_CASE(write_inside_the_root) {
  tree t;
  const rooted_files files = t.files({t.root, t.root2});
  const tool_output made = files.write_file("new.txt", "fresh");
  BOOST_TEST(!made.is_error);
  BOOST_TEST(made.content == "wrote 5 bytes to 'new.txt'");
  BOOST_TEST(contents(t.root / "new.txt") == "fresh");
  const mode_t umask_now = ::umask(0);
  ::umask(umask_now);
  BOOST_TEST(static_cast<unsigned>(fs::status(t.root / "new.txt").permissions()) ==
             (0644u & ~static_cast<unsigned>(umask_now)));

  // Replaced whole, not appended to.
  BOOST_TEST(files.write_file("a.txt", "x").content == "wrote 1 bytes to 'a.txt'");
  BOOST_TEST(contents(t.root / "a.txt") == "x");
  BOOST_TEST(files.read_file("a.txt").content == "x");
  BOOST_TEST(!files.write_file("sub/c.txt", "in sub").is_error);
  BOOST_TEST(contents(t.root / "sub" / "c.txt") == "in sub");
  BOOST_TEST(!files.write_file("sub/../d.txt", "d").is_error);
  BOOST_TEST(contents(t.root / "d.txt") == "d");
  BOOST_TEST(files.write_file("empty.txt", "").content == "wrote 0 bytes to 'empty.txt'");
  BOOST_TEST(fs::file_size(t.root / "empty.txt") == 0u);

  // Relative paths go to the first root; absolute ones to any root.
  BOOST_TEST(!files.write_file("only2.txt", "first").is_error);
  BOOST_TEST(contents(t.root / "only2.txt") == "first");
  BOOST_TEST(contents(t.root2 / "only2.txt") == "only in root2");
  BOOST_TEST(!files.write_file((t.root2 / "only2.txt").string(), "second").is_error);
  BOOST_TEST(contents(t.root2 / "only2.txt") == "second");

  // At the cap is fine; one byte over is refused and nothing is written.
  const rooted_files small = t.files({t.root}, {.max_write_bytes = 4});
  BOOST_TEST(!small.write_file("four.txt", "1234").is_error);
  const tool_output over = small.write_file("a.txt", "12345");
  BOOST_TEST(over.is_error);
  BOOST_TEST(over.content == "refused: the content is 5 bytes; the limit is 4");
  BOOST_TEST(contents(t.root / "a.txt") == "x");
  const tool_output mib = files.write_file("big.out", std::string(1024 * 1024 + 1, 'm'));
  BOOST_TEST(mib.content == "refused: the content is 1048577 bytes; the limit is 1048576");
  BOOST_TEST(!fs::exists(t.root / "big.out"));
  BOOST_TEST(!files.write_file("big.out", std::string(1024 * 1024, 'm')).is_error);
  BOOST_TEST(fs::file_size(t.root / "big.out") == 1024u * 1024u);
}

BOOST_AUTO_TEST_CASE(writes_that_would_leave_the_root_are_refused) {
  tree t;
  const rooted_files files = t.files();
  fs::create_symlink("../new_outside.txt", t.root / "dangling");
  fs::create_hard_link(t.top / "secret.txt", t.root / "hard");
  const std::vector<std::string> escapes{"../secret.txt",
                                         "sub/../../secret.txt",
                                         (t.top / "secret.txt").string(),
                                         "/etc/passwd",
                                         "/no/such/place/x.txt",
                                         "escape_dir/secret.txt",
                                         "escape_dir/new_outside.txt",
                                         "missing/../../secret.txt",
                                         (t.top / "new_outside.txt").string()};
  for (const std::string& path : escapes) {
    BOOST_TEST_CONTEXT(path) { check_refused(files.write_file(path, "PWNED")); }
  }
  // The file itself a symlink, pointing out, pointing nowhere, or staying inside: never followed.
  for (const char* path : {"escape", "dangling", "inner"}) {
    const tool_output out = files.write_file(path, "PWNED");
    BOOST_TEST_INFO("output: " << out.content);
    BOOST_TEST(out.is_error);
    BOOST_TEST(out.content == "refused: '" + std::string(path) + "' is a symlink (not followed)");
  }
  const tool_output hard = files.write_file("hard", "PWNED");
  BOOST_TEST(hard.is_error);
  BOOST_TEST(hard.content.find("has other hard links") != std::string::npos);
  BOOST_TEST(contents(t.top / "secret.txt") == "TOPSECRET");
  BOOST_TEST(contents(t.root / "a.txt") == "hello\n");
  BOOST_TEST(!fs::exists(t.top / "new_outside.txt"));
  BOOST_TEST(files.write_file(std::string_view("a.txt\0x", 7), "PWNED").is_error);
}

BOOST_AUTO_TEST_CASE(writes_need_an_existing_directory_and_a_regular_file) {
  tree t;
  const rooted_files files = t.files();
  const tool_output missing = files.write_file("nodir/x.txt", "x");
  BOOST_TEST(missing.is_error);
  BOOST_TEST(missing.content == "no such directory for 'nodir/x.txt' (write_file creates none)");
  BOOST_TEST(!fs::exists(t.root / "nodir"));
  BOOST_TEST(files.write_file("sub", "x").content == "refused: 'sub' is a directory");
  for (const char* path : {"", ".", "sub/", "sub/.."}) {
    BOOST_TEST_CONTEXT(path) {
      BOOST_TEST(files.write_file(path, "x").content ==
                 "refused: '" + std::string(path) + "' does not name a file");
    }
  }
  // A FIFO with no reader would block an ordinary open; it is refused at once instead.
  BOOST_REQUIRE(::mkfifo((t.root / "fifo").c_str(), 0600) == 0);
  BOOST_TEST(files.write_file("fifo", "x").content == "refused: 'fifo' is not a regular file");
}

BOOST_AUTO_TEST_CASE(factory) {
  boost::asio::io_context io;
  BOOST_TEST((builtin_names() ==
              std::vector<std::string_view>{"calculator", "list_dir", "read_file", "write_file"}));
  std::string why;
  BOOST_TEST(!make_builtin("read_file", io.get_executor(), {}, why));
  BOOST_TEST(why == "read_file needs at least one root directory");
  BOOST_TEST(!make_builtin("write_file", io.get_executor(), {}, why));
  BOOST_TEST(why == "write_file needs at least one root directory");
  BOOST_TEST(!make_builtin("list_dir", io.get_executor(), {.roots = {"/no/such/root"}}, why));
  BOOST_TEST(why.starts_with("list_dir: root '/no/such/root' is not usable"));
  BOOST_TEST(!make_builtin("shell", io.get_executor(), {}, why));
  BOOST_TEST(why.starts_with("no built-in tool named 'shell'"));
  BOOST_TEST(make_builtin_tools({"calculator", "read_file"}, io.get_executor(), {}, why).empty());

  tree t;
  const auto tools = make_builtin_tools({"calculator", "read_file", "list_dir"}, io.get_executor(),
                                        {.roots = {t.root}}, why);
  BOOST_REQUIRE(tools.size() == 3);
  BOOST_TEST(tools[0]->spec().name == "calculator");
  BOOST_TEST(tools[0]->spec().parameters.find(R"("required":["expression"])") != std::string::npos);
  BOOST_TEST(tools[1]->spec().name == "read_file");
  BOOST_TEST(tools[1]->spec().description.find(fs::canonical(t.root).string()) !=
             std::string::npos);
  BOOST_TEST(tools[2]->spec().name == "list_dir");
  for (const auto& made : tools) BOOST_TEST(made->spec().writes.empty());  // they only read

  auto writer = make_builtin("write_file", io.get_executor(), {.roots = {t.root}}, why);
  BOOST_REQUIRE(writer);
  BOOST_TEST(writer->spec().name == "write_file");
  BOOST_TEST(writer->spec().writes == "path");
  BOOST_TEST(writer->spec().parameters.find(R"("required":["path","content"])") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(through_the_tool_port) {
  boost::asio::io_context io;
  std::string why;
  tree t;
  auto calc = make_builtin("calculator", io.get_executor(), {}, why);
  auto read = make_builtin("read_file", io.get_executor(), {.roots = {t.root}}, why);
  BOOST_REQUIRE(calc && read);

  tool_output out = invoke(io, *calc, R"({"expression":"0.1+0.2"})");
  BOOST_TEST(!out.is_error);
  BOOST_TEST(out.content == "0.3");
  out = invoke(io, *calc, R"({"expression":"1/0"})");
  BOOST_TEST(out.is_error);
  BOOST_TEST(out.content == "division by zero (at position 2)");
  for (const char* bad : {"{not json", "[]", "{}", R"({"expression":3})", ""}) {
    out = invoke(io, *calc, bad);
    BOOST_TEST_INFO("arguments: " << bad);
    BOOST_TEST(out.is_error);
    BOOST_TEST(out.content.starts_with("arguments must be a JSON object with a string"));
  }
  BOOST_TEST(invoke(io, *read, R"({"path":"a.txt"})").content == "hello\n");
  check_refused(invoke(io, *read, R"({"path":"../secret.txt"})"));
  BOOST_TEST(invoke(io, *read, R"({"file":"a.txt"})").is_error);

  auto write = make_builtin("write_file", io.get_executor(), {.roots = {t.root}}, why);
  BOOST_REQUIRE(write);
  out = invoke(io, *write, R"({"path":"out.txt","content":"via the port"})");
  BOOST_TEST(!out.is_error);
  BOOST_TEST(out.content == "wrote 12 bytes to 'out.txt'");
  BOOST_TEST(contents(t.root / "out.txt") == "via the port");
  check_refused(invoke(io, *write, R"({"path":"../secret.txt","content":"x"})"));
  for (const char* bad :
       {"{not json", "[]", "{}", R"({"path":"out.txt"})", R"({"path":3,"content":"x"})",
        R"({"path":"out.txt","content":["x"]})", R"({"content":"x"})", ""}) {
    out = invoke(io, *write, bad);
    BOOST_TEST_INFO("arguments: " << bad);
    BOOST_TEST(out.is_error);
    BOOST_TEST(out.content.starts_with(
        R"(arguments must be a JSON object with a string "path" and a string "content")"));
  }
  BOOST_TEST(contents(t.root / "out.txt") == "via the port");

  // With use_future (whose handler brings its own executor, so the step may run at once).
  auto future = calc->async_invoke(R"({"expression":"2^-2"})", boost::asio::use_future);
  io.restart();
  io.run_for(std::chrono::seconds(10));
  BOOST_TEST(io.stopped());
  BOOST_TEST(future.get().content == "0.25");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace unit_test_builtin_tools
