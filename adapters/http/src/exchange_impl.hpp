// The exchange a handler answers through: one request on one connection, and what went out.
#pragma once

#include "session.hpp"

#include <conclave/http/server.hpp>

namespace conclave::http::detail {

class exchange_impl final : public exchange {
 public:
  /// `keep_alive`: the session lets the connection go on after this response (the request asked
  /// for it and no cap was reached); the handler can still end it (close_after).
  exchange_impl(connection& c, const incoming_request& req, std::string path, std::string query,
                std::map<std::string, std::string, std::less<>> params, std::string id,
                bool keep_alive);

  const incoming_request& request() const override { return req_; }
  std::string_view path() const override { return path_; }
  std::optional<std::string> query(std::string_view name) const override;
  std::string_view param(std::string_view name) const override;
  boost::asio::ip::tcp::endpoint remote_endpoint() const override { return c_.remote_endpoint(); }
  const std::string& request_id() const override { return id_; }
  void add_header(std::string name, std::string value) override;
  void close_after() override { close_after_ = true; }

  boost::asio::awaitable<bool> respond(unsigned status, std::string content_type, std::string body,
                                       header_list extra) override;
  boost::asio::awaitable<bool> start_stream(std::string content_type, header_list extra,
                                            unsigned status) override;
  boost::asio::awaitable<bool> write(std::string_view data) override;
  boost::asio::awaitable<bool> end_stream() override;
  boost::asio::awaitable<bool> write_raw(std::string_view bytes) override;
  void mark_complete() override { marked_complete_ = true; }
  void reset() override;
  boost::asio::awaitable<void> until_peer_gone() override;
  bool peer_gone() const override { return c_.peer_gone(); }

  /// A whole response went out (or the handler said its raw bytes made one).
  bool complete() const { return marked_complete_ || (state_ == state::complete && !raw_); }
  /// The connection must close after this exchange, whatever the response said.
  bool must_close() const { return !keep_alive_ || connection_close_ || watched_ || close_after_; }

 private:
  enum class state { none, streaming, complete };

  // The head with the server's headers, this request's and `extra`; decides keep-alive.
  std::string head(unsigned status, std::string_view content_type, header_list extra,
                   std::string_view framing_name, std::string_view framing_value);

  connection& c_;
  const incoming_request& req_;
  std::string path_;
  std::string query_;
  std::map<std::string, std::string, std::less<>> params_;
  std::string id_;
  header_list common_;
  bool keep_alive_;
  bool head_only_;  // a HEAD request: no body on the wire
  state state_ = state::none;
  bool chunked_ = false;
  bool close_after_ = false;
  bool connection_close_ = false;  // the head said (or implied) close
  bool raw_ = false;               // raw bytes after the response started: the framing is unknown
  bool marked_complete_ = false;
  bool watched_ = false;
};

}  // namespace conclave::http::detail
