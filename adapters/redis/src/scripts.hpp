// The limiter's Lua scripts, and EVALSHA with a fall-back to EVAL when the server has lost
// them (NOSCRIPT: a restart, SCRIPT FLUSH, a fail-over). Internal to the library.
#pragma once

#include <conclave/redis/connection.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/dispatch.hpp>

#include <functional>
#include <string>
#include <vector>

namespace conclave::redis {

struct script {
  const char* source;
  std::string sha1;  ///< hex, computed from source
};

/// A script with its SHA1.
script make_script(const char* source);

const script& reserve_script();
const script& settle_script();
const script& cool_down_script();

/// Runs `s` with `keys` and `args`: EVALSHA, and once more as EVAL on NOSCRIPT (which loads it
/// again for the next call). `done` runs wherever the connection completes.
void run_script(connection& redis, const script& s, const std::vector<std::string>& keys,
                const std::vector<std::string>& args,
                boost::asio::any_completion_handler<connection::command_signature> done);

/// Calls `h` with `args` on its own executor (the connection's when it has none): a script's
/// reply arrives on the connection's strand, which is not the caller's.
template <typename Handler, typename... Args>
void complete_on(connection& c, Handler h, Args&&... args) {
  boost::asio::dispatch(c.get_executor(),
                        boost::asio::append(std::move(h), std::forward<Args>(args)...));
}

}  // namespace conclave::redis
