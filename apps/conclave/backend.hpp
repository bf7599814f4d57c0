// The model `conclave` talks to: a real OpenAI-compatible endpoint, or the built-in mock
// (an in-process mock server on a loopback port, so even the default path runs real HTTP).
#pragma once

#include "settings.hpp"

#include <conclave/engine/model.hpp>
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>

namespace conclave::cli {

struct backend {
  std::unique_ptr<http::client> client;
  std::unique_ptr<mock::mock_server> builtin_mock;  ///< set when answering with the mock
  std::unique_ptr<model> llm;
  std::string provider;  ///< "openai" or "mock"
  std::string note;      ///< said to the user, e.g. why the mock answers
};

/// Throws usage_error when the settings cannot work (openai without a key, a bad URL).
backend make_backend(boost::asio::any_io_executor ex, const ask_settings& s);

}  // namespace conclave::cli
