// A fast UDP OPTIONS responder for the benchmarks: answers every request with a 200 (or
// --code), copying Via, From, To, Call-ID and CSeq, optionally holding each answer a fixed
// time (--delay-ms) so RTT accuracy can be checked against a known delay. Batched with
// recvmmsg/sendmmsg so one core answers far more than the exporter sends.
//   sip_bench_responder --port 5070 [--address 127.0.0.1] [--delay-ms 0] [--code 200]
// On SIGTERM/SIGINT it prints "received=N answered=N dropped=N" to stdout and exits 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kBatch = 64;
constexpr std::size_t kMaxAnswer = 1400;
constexpr std::size_t kRingSize = 1 << 15;  // answers held at once (delay mode)

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
}

// Which of the copied headers a line is: 0 none, 1 Via, 2 From, 3 To, 4 Call-ID, 5 CSeq.
int header_kind(std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return 0;
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
  if (iequals(name, "via") || iequals(name, "v")) return 1;
  if (iequals(name, "from") || iequals(name, "f")) return 2;
  if (iequals(name, "to") || iequals(name, "t")) return 3;
  if (iequals(name, "call-id") || iequals(name, "i")) return 4;
  if (iequals(name, "cseq")) return 5;
  return 0;
}

struct Writer {
  char* out;
  std::size_t cap;
  std::size_t len = 0;
  bool ok = true;
  void put(std::string_view s) {
    if (len + s.size() > cap) {
      ok = false;
      return;
    }
    std::memcpy(out + len, s.data(), s.size());
    len += s.size();
  }
};

// Builds the answer to `req` into `out`; returns its length, 0 if `req` is no request.
std::size_t build_answer(std::string_view req, std::string_view status_line, char* out,
                         std::size_t cap) {
  if (req.size() < 8 || req.substr(0, 4) == "SIP/") return 0;
  Writer w{out, cap};
  w.put(status_line);
  std::size_t pos = req.find("\r\n");
  if (pos == std::string_view::npos) return 0;
  pos += 2;
  while (pos < req.size()) {
    std::size_t end = req.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;  // end of headers
    const std::string_view line = req.substr(pos, end - pos);
    const int kind = header_kind(line);
    if (kind != 0) {
      w.put(line);
      if (kind == 3 && line.find(";tag=") == std::string_view::npos) w.put(";tag=bench1");
      w.put("\r\n");
    }
    pos = end + 2;
  }
  w.put("Server: stx-bench-responder\r\nContent-Length: 0\r\n\r\n");
  return w.ok ? w.len : 0;
}

struct Held {
  std::int64_t due_ns = 0;
  sockaddr_storage to{};
  socklen_t to_len = 0;
  std::uint32_t len = 0;
  std::array<char, kMaxAnswer> data{};
};

struct Options {
  std::string address = "127.0.0.1";
  int port = 0;
  int delay_ms = 0;
  int code = 200;
};

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--address") {
      o.address = v;
    } else if (k == "--port") {
      o.port = std::atoi(v);
    } else if (k == "--delay-ms") {
      o.delay_ms = std::atoi(v);
    } else if (k == "--code") {
      o.code = std::atoi(v);
    } else {
      std::fprintf(stderr, "sip_bench_responder: unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  if (o.port <= 0 || o.port > 65535) {
    std::fprintf(stderr, "sip_bench_responder: --port 1..65535 is required\n");
    std::exit(2);
  }
  return o;
}

int open_socket(const Options& o) {
  const bool v6 = o.address.find(':') != std::string::npos;
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<std::uint16_t>(o.port));
    inet_pton(AF_INET6, o.address.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<std::uint16_t>(o.port));
    inet_pton(AF_INET, o.address.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  const int buf = 8 * 1024 * 1024;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    std::fprintf(stderr, "sip_bench_responder: cannot bind %s:%d: %s\n", o.address.c_str(), o.port,
                 std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse_options(argc, argv);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  const int fd = open_socket(opt);
  const std::string status_line =
      "SIP/2.0 " + std::to_string(opt.code) + (opt.code < 300 ? " OK\r\n" : " Unavailable\r\n");
  const std::int64_t delay_ns = static_cast<std::int64_t>(opt.delay_ms) * 1000000;

  std::vector<std::array<char, 65536>> in(kBatch);
  std::vector<sockaddr_storage> from(kBatch);
  std::vector<iovec> iov(kBatch);
  std::vector<mmsghdr> msgs(kBatch);
  std::vector<Held> ring(kRingSize);
  std::size_t head = 0;  // oldest held answer
  std::size_t count = 0;
  std::vector<mmsghdr> out(kBatch);
  std::vector<iovec> out_iov(kBatch);
  std::uint64_t received = 0, answered = 0, dropped = 0;

  while (g_stop == 0) {
    // ppoll: a hold is kept to the microsecond without spinning.
    timespec timeout{0, 200000000};
    if (count > 0) {
      const std::int64_t wait = std::max<std::int64_t>(0, ring[head].due_ns - now_ns());
      timeout = {static_cast<time_t>(wait / 1000000000), static_cast<long>(wait % 1000000000)};
    }
    pollfd p{fd, POLLIN, 0};
    ppoll(&p, 1, &timeout, nullptr);
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {in[i].data(), in[i].size()};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    const std::int64_t arrived = now_ns();
    for (int i = 0; i < n; ++i) {
      ++received;
      if (count == kRingSize) {
        ++dropped;
        continue;
      }
      Held& h = ring[(head + count) % kRingSize];
      const std::string_view req(in[i].data(), msgs[i].msg_len);
      h.len =
          static_cast<std::uint32_t>(build_answer(req, status_line, h.data.data(), h.data.size()));
      if (h.len == 0) {
        ++dropped;
        continue;
      }
      h.due_ns = arrived + delay_ns;
      std::memcpy(&h.to, &from[i], msgs[i].msg_hdr.msg_namelen);
      h.to_len = msgs[i].msg_hdr.msg_namelen;
      ++count;
    }
    // Send every answer that is due, in batches.
    const std::int64_t now = now_ns();
    while (count > 0 && ring[head].due_ns <= now) {
      int m = 0;
      while (m < kBatch && m < static_cast<int>(count) &&
             ring[(head + m) % kRingSize].due_ns <= now) {
        Held& h = ring[(head + m) % kRingSize];
        out_iov[m] = {h.data.data(), h.len};
        out[m] = {};
        out[m].msg_hdr.msg_name = &h.to;
        out[m].msg_hdr.msg_namelen = h.to_len;
        out[m].msg_hdr.msg_iov = &out_iov[m];
        out[m].msg_hdr.msg_iovlen = 1;
        ++m;
      }
      const int sent = sendmmsg(fd, out.data(), static_cast<unsigned>(m), 0);
      const int done = sent > 0 ? sent : m;  // a failed batch is dropped, not retried forever
      if (sent > 0) answered += static_cast<std::uint64_t>(sent);
      if (sent <= 0) dropped += static_cast<std::uint64_t>(m);
      head = (head + static_cast<std::size_t>(done)) % kRingSize;
      count -= static_cast<std::size_t>(done);
    }
  }
  std::printf("received=%llu answered=%llu dropped=%llu\n",
              static_cast<unsigned long long>(received), static_cast<unsigned long long>(answered),
              static_cast<unsigned long long>(dropped));
  return 0;
}
