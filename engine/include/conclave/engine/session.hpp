// An agent's conversation: a read-only base context shared by every agent of a run, plus the
// agent's own messages. A value owned by the agent's coroutine: agents never see each
// other's messages, by construction.
#pragma once

#include <conclave/engine/chat.hpp>

#include <memory>
#include <vector>

namespace conclave {

class session {
 public:
  using shared_context = std::shared_ptr<const std::vector<chat_message>>;

  explicit session(shared_context base) : base_(std::move(base)) {}

  void add(role who, std::string content) { own_.push_back({who, std::move(content)}); }

  /// The base context followed by this agent's own messages, oldest first.
  chat_request to_request() const {
    chat_request req;
    if (base_) req.messages = *base_;
    req.messages.insert(req.messages.end(), own_.begin(), own_.end());
    return req;
  }

  const std::vector<chat_message>& own_messages() const noexcept { return own_; }

 private:
  shared_context base_;
  std::vector<chat_message> own_;
};

}  // namespace conclave
