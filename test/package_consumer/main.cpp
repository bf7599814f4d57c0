// A host program: its own io_context, the mock model, one call through conclave's API.
#include <conclave/http/client.hpp>
#include <conclave/mock/mock_server.hpp>
#include <conclave/openai/openai_model.hpp>

#include <boost/asio/io_context.hpp>

#include <iostream>

int main() {
  boost::asio::io_context io;
  conclave::mock::mock_server mock(io.get_executor());
  mock.start();
  conclave::http::client client(io.get_executor());
  conclave::openai::openai_model llm(client,
                                     {.base_url = mock.base_url(), .default_model = "mock"});

  conclave::chat_request req;
  req.messages = {{conclave::role::user, "Does the installed package work?"}};
  int status = 1;
  llm.async_complete(req, nullptr, [&](boost::system::error_code ec, conclave::chat_response r) {
    std::cout << (ec ? ec.message() : r.text()) << "\n";
    status = ec ? 1 : 0;
    mock.stop();
  });
  io.run();
  return status;
}
