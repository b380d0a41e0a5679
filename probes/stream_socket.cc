#include "probes/stream_socket.h"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/ssl/error.hpp>

namespace stx {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Probe connections leave the last descriptors (16, or a quarter of a smaller limit) to the
// web server, DNS and reloads: persistent flows to many targets would otherwise hold every
// one, and /metrics and the reload that could fix it would fail with EMFILE. Descriptors are
// handed out lowest first, so a socket's number tells how many are in use.
bool in_reserve(int fd) {
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur == RLIM_INFINITY) return false;
  const rlim_t reserve = std::min<rlim_t>(16, nofile.rlim_cur / 4);
  return static_cast<rlim_t>(fd) + reserve >= nofile.rlim_cur;
}

}  // namespace

std::string open_stream_socket(tcp::socket& socket, const StreamOptions& options) {
  boost::system::error_code ec;
  socket.open(options.remote.protocol(), ec);
  if (ec) return "socket: " + ec.message();
  if (in_reserve(socket.native_handle())) {
    socket.close(ec);
    return "socket: Too many open files (the last ones are kept for HTTP, DNS and reloads)";
  }
  if (options.local) {
    socket.set_option(tcp::socket::reuse_address(true), ec);
    if (!ec) socket.bind(*options.local, ec);
    if (ec) {
      const auto& l = *options.local;
      return "bind " + l.address().to_string() + ":" + std::to_string(l.port()) + ": " +
             ec.message();
    }
  }
  socket.set_option(tcp::no_delay(true), ec);
  return "";
}

bool peer_closed(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}

std::string read_error_text(const boost::system::error_code& ec) {
  if (ec == asio::error::eof) return "connection closed by peer";
  if (ec == asio::ssl::error::stream_truncated) {
    return "connection closed by peer (no TLS close_notify)";
  }
  if (ec == asio::error::connection_reset) return "connection reset by peer";
  return "read: " + ec.message();
}

}  // namespace stx
