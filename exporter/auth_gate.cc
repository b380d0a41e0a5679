#include "exporter/auth_gate.h"

namespace stx {

bool AuthGate::enter(const boost::asio::ip::address& client) {
  if (waiting_ >= max_waiting_ || waiting_from(client) >= max_per_client_) return false;
  ++per_client_[client];
  ++waiting_;
  return true;
}

void AuthGate::leave(const boost::asio::ip::address& client) {
  const auto it = per_client_.find(client);
  if (it == per_client_.end()) return;
  --waiting_;
  if (--it->second == 0) per_client_.erase(it);
}

std::size_t AuthGate::waiting_from(const boost::asio::ip::address& client) const {
  const auto it = per_client_.find(client);
  return it == per_client_.end() ? 0 : it->second;
}

}  // namespace stx
