#pragma once
// How many basic auth checks may wait for bcrypt, in all and per client address. bcrypt
// takes tens of milliseconds by design, so without a bound a flood of wrong passwords queues
// up minutes of work in front of everyone else. Not thread-safe: the HTTP thread owns it.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <map>

namespace stx {

class AuthGate {
 public:
  AuthGate(std::size_t max_waiting, std::size_t max_per_client)
      : max_waiting_(max_waiting), max_per_client_(max_per_client) {}

  // A slot for one check from `client`; false when all slots, or the client's share, are
  // taken. Every true is followed by one leave() for the same client.
  bool enter(const boost::asio::ip::address& client);
  void leave(const boost::asio::ip::address& client);

  std::size_t waiting() const { return waiting_; }
  std::size_t waiting_from(const boost::asio::ip::address& client) const;

 private:
  std::size_t max_waiting_;
  std::size_t max_per_client_;
  std::size_t waiting_ = 0;
  std::map<boost::asio::ip::address, std::size_t> per_client_;  // only clients with checks
};

}  // namespace stx
