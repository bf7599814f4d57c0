// A conclave-mock process at latency L for the suite's scenarios, and what it has served and
// spent so far (GET /v1/stats), so a measurement can charge the mock's work to itself.
#pragma once

#include "child.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace conclave::bench {

class mock_process {
 public:
  /// Starts `path` at `latency`, plain or TLS (its CA written to a temp file); throws
  /// std::runtime_error when it does not say where it listens.
  mock_process(const std::string& path, std::chrono::milliseconds latency, bool tls);
  ~mock_process();
  mock_process(const mock_process&) = delete;
  mock_process& operator=(const mock_process&) = delete;

  const std::string& url() const { return url_; }
  const std::string& ca_file() const { return ca_file_; }

  /// The mock's own counters and CPU (GET /v1/stats); throws when it cannot be read.
  boost::json::object stats() const;

 private:
  std::unique_ptr<child> proc_;
  std::string url_;
  std::string ca_file_;
};

/// A number from the mock's stats (or a worker's line); 0 when missing.
double number(const boost::json::object& o, const char* key);

/// What the mocks have served and spent so far, summed over them. Each reading is itself one
/// request to each mock.
struct mock_load {
  double requests = 0;
  double completions = 0;  ///< model calls answered
  double cpu_us = 0;
};
mock_load load_of(const std::vector<const mock_process*>& mocks);

}  // namespace conclave::bench
