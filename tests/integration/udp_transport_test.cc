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
  int errors = 0;
  int readable = 0;
  UdpTransport udp{
      io,
      clock,
      {[this](const UdpEndpoint&, std::string_view, bool, TimePoint) { ++datagrams; },
       [this](const UdpEndpoint&, std::string_view, int) { ++errors; }, [this] { ++readable; }}};
  boost::asio::io_context peer_io;
  boost::asio::ip::udp::socket peer{peer_io,
                                    UdpEndpoint(boost::asio::ip::make_address("127.0.0.1"), 0)};
  UdpTransport::SocketId id = 0;
  UdpEndpoint ours;

  Rig() {
    std::error_code ec;
    id = udp.socket_for(peer.local_endpoint(), nullptr, ec).value();
    ours = udp.local_endpoint_for(id, peer.local_endpoint(), ec).value();
  }
  void send_from_peer() { peer.send_to(boost::asio::buffer(std::string("ping")), ours); }
  // Runs the loop for `d` of real time, while the peer sends `count` datagrams 2 ms apart.
  void run_while_peer_sends(milliseconds d, int count) {
    std::thread sender([this, count] {
      std::this_thread::sleep_for(milliseconds(10));
      for (int i = 0; i < count; ++i) {
        send_from_peer();
        std::this_thread::sleep_for(milliseconds(2));
      }
    });
    run_for(d);
    sender.join();
  }
  // Runs the loop for `d`: a timer keeps it waiting that long, and it returns then even
  // while a watch is still pending.
  void run_for(milliseconds d) {
    boost::asio::steady_timer until(io, d);
    until.async_wait([](const boost::system::error_code&) {});
    io.run_for(d + milliseconds(20));
    io.restart();
  }
  // Runs the loop until the transport signals once (at most `limit`).
  void run_until_readable(milliseconds limit = milliseconds(5000)) {
    const int before = readable;
    io.run_one_for(limit);
    io.restart();
    EXPECT_EQ(readable, before + 1);
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
  rig.run_until_readable();
  rig.udp.poll();
  EXPECT_EQ(rig.datagrams, 20);

  // Watched on an empty socket: one signal for the next datagram, then unwatched again.
  rig.udp.watch();
  rig.send_from_peer();
  rig.run_until_readable();
  const long quiet = blocked_count();
  rig.run_while_peer_sends(milliseconds(100), 10);
  EXPECT_LE(blocked_count() - quiet, 3);
  EXPECT_EQ(rig.readable, 2);
  rig.udp.poll();
  EXPECT_EQ(rig.datagrams, 31);
}

// An ICMP port unreachable that no read took (the queue holds its report) keeps the socket
// in error: the watch reads the report when it fires, so the next watch waits again.
TEST(UdpTransport, AnUnreadIcmpErrorWakesTheWatchOnceAndIsRead) {
  Rig rig;
  std::uint16_t closed = 0;
  {
    boost::asio::ip::udp::socket s(rig.peer_io,
                                   UdpEndpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    closed = s.local_endpoint().port();
  }
  const UdpEndpoint nobody(boost::asio::ip::make_address("127.0.0.1"), closed);
  EXPECT_EQ(rig.udp.send(rig.id, nobody, "ping"), 0);  // the ICMP comes back within the call
  rig.udp.watch();
  rig.run_until_readable();
  EXPECT_EQ(rig.errors, 1);
  rig.udp.watch();
  rig.run_for(milliseconds(50));
  EXPECT_EQ(rig.readable, 1);  // nothing left to signal
  rig.send_from_peer();
  rig.run_until_readable();
}

}  // namespace
}  // namespace stx::it
