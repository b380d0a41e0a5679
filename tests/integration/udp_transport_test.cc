// UdpTransport on a local io_context against a plain loopback socket: datagrams wake the
// event loop only while the transport is watched.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "probes/clock.h"
#include "probes/udp_transport.h"

namespace stx::it {
namespace {

using std::chrono::milliseconds;

// Times this thread blocked (in epoll_wait, here) so far.
long blocked_count() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nvcsw;
}

struct Rig {
  boost::asio::io_context io;
  AsioClock clock{io};
  int datagrams = 0;
  int readable = 0;
  UdpTransport udp{io,
                   clock,
                   {[this](const UdpEndpoint&, std::string_view, bool, TimePoint) { ++datagrams; },
                    [](const UdpEndpoint&, std::string_view, int) {}, [this] { ++readable; }}};
  boost::asio::io_context peer_io;
  boost::asio::ip::udp::socket peer{peer_io,
                                    UdpEndpoint(boost::asio::ip::make_address("127.0.0.1"), 0)};
  UdpEndpoint ours;

  Rig() {
    std::error_code ec;
    const auto id = udp.socket_for(peer.local_endpoint(), nullptr, ec);
    EXPECT_TRUE(id.has_value()) << ec.message();
    const auto local = udp.local_endpoint_for(*id, peer.local_endpoint(), ec);
    EXPECT_TRUE(local.has_value()) << ec.message();
    ours = *local;
  }
  // Runs the loop for `d` of real time, while the peer sends `count` datagrams 2 ms apart.
  void run_while_peer_sends(milliseconds d, int count) {
    std::thread sender([this, count] {
      std::this_thread::sleep_for(milliseconds(10));
      for (int i = 0; i < count; ++i) {
        peer.send_to(boost::asio::buffer(std::string("ping")), ours);
        std::this_thread::sleep_for(milliseconds(2));
      }
    });
    boost::asio::steady_timer until(io, d);
    until.async_wait([](const boost::system::error_code&) {});
    io.run();
    io.restart();
    sender.join();
  }
};

TEST(UdpTransport, DatagramsWhileUnwatchedWakeNothingAndWaitForThePoll) {
  Rig rig;
  // Unwatched: 20 datagrams arrive over 50 ms; the loop sleeps through them to its timer.
  const long before = blocked_count();
  rig.run_while_peer_sends(milliseconds(150), 20);
  EXPECT_LE(blocked_count() - before, 3);  // the timer's wakeup, not one per datagram
  EXPECT_EQ(rig.readable, 0);
  EXPECT_EQ(rig.datagrams, 0);

  // Watched with datagrams already queued: it signals at once, and the poll reads them all.
  rig.udp.watch();
  rig.io.run();
  rig.io.restart();
  EXPECT_EQ(rig.readable, 1);
  rig.udp.poll();
  EXPECT_EQ(rig.datagrams, 20);

  // Watched on an empty socket: one signal for the next datagram, then quiet again.
  rig.udp.watch();
  rig.run_while_peer_sends(milliseconds(100), 5);
  EXPECT_EQ(rig.readable, 2);
  rig.udp.poll();
  EXPECT_EQ(rig.datagrams, 25);
}

}  // namespace
}  // namespace stx::it
