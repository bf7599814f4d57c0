#include "limit_flags.hpp"

#include "cli_numbers.hpp"

#include <conclave/redis/reply.hpp>

#include <CLI/CLI.hpp>

namespace conclave::cli {

void add_limit_flags(CLI::App& cmd, ask_settings& s) {
  using conclave::apps::positive;
  cmd.add_option("--rpm", s.rpm, "the provider's requests per minute: never exceeded")
      ->check(positive<std::int64_t>("a whole number > 0"));
  cmd.add_option("--tpm", s.tpm, "the provider's tokens per minute: never exceeded")
      ->check(positive<std::int64_t>("a whole number > 0"));
  cmd.add_option("--redis", s.redis_url,
                 "share --rpm, --tpm and 429 cooldowns with every conclave on this Redis "
                 "(redis://[[user]:password@]host[:port][/db], percent-encoded; loopback or a "
                 "private network: no TLS)")
      ->type_name("URL")
      ->envname("CONCLAVE_REDIS_URL")  // keeps a password out of `ps`
      ->check([](const std::string& url) {
        std::string why;
        return conclave::redis::parse_url(url, &why) ? std::string() : why;
      });
  cmd.add_option("--redis-org", s.redis_org,
                 "whose limits these are: processes with the same name share them")
      ->check([](const std::string& org) {
        if (org.empty() || org.size() > 64) return std::string("1 to 64 characters");
        for (unsigned char c : org)
          if (c < 0x21 || c > 0x7e || c == '{' || c == '}')
            return std::string("letters, digits and punctuation only (no braces)");
        return std::string();
      })
      ->capture_default_str();
}

}  // namespace conclave::cli
