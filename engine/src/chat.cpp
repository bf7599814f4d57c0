#include <conclave/engine/chat.hpp>

namespace conclave {

const char* to_string(role r) noexcept {
  switch (r) {
    case role::system: return "system";
    case role::user: return "user";
    case role::assistant: return "assistant";
  }
  return "user";
}

}  // namespace conclave
