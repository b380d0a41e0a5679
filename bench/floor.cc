// The floor: the least CPU any UDP OPTIONS prober can pay per probe on this machine. Every
// request is built before the clock starts (one per target, each its own Call-ID and
// branch); a timerfd ticks every --tick-us; each tick reads the answers waiting on one
// connected socket with recvmmsg and only counts them, then sends every request that fell
// due since the last tick with one sendmmsg. No parsing, no per-probe timers, no metrics.
//   sip_bench_floor --port 5070 [--address 127.0.0.1] --targets 10000 --rate 10000
//                   [--tick-us 1000] [--warm 4] [--window 10]
// Targets are probed round robin at --rate probes/s in total. It runs --warm + --window
// seconds (or until SIGTERM/SIGINT) and prints one line for the window, e.g.
//   window_s=10.000 sent=100000 answered=99990 user_s=0.10 sys_s=0.25 wakeups=10000
//   nvcsw=10000 nivcsw=3 send_calls=10000 recv_calls=10010
// CPU comes from getrusage(RUSAGE_SELF), read at the window's start and end.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
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

constexpr int kSendBatch = 1024;  // UIO_MAXIOV: the most one sendmmsg takes
constexpr int kRecvBatch = 64;
constexpr std::size_t kRecvSlot = 2048;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Options {
  std::string address = "127.0.0.1";
  int port = 0;
  long targets = 1000;
  long rate = 1000;
  long tick_us = 1000;
  double warm = 4;
  double window = 10;
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
    } else if (k == "--targets") {
      o.targets = std::atol(v);
    } else if (k == "--rate") {
      o.rate = std::atol(v);
    } else if (k == "--tick-us") {
      o.tick_us = std::atol(v);
    } else if (k == "--warm") {
      o.warm = std::atof(v);
    } else if (k == "--window") {
      o.window = std::atof(v);
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      std::exit(2);
    }
  }
  if (o.port <= 0 || o.port > 65535 || o.targets <= 0 || o.rate <= 0 || o.tick_us <= 0 ||
      o.warm < 0 || o.window <= 0 || o.window > 3600) {
    std::fprintf(stderr, "usage: sip_bench_floor --port P --targets N --rate R ...\n");
    std::exit(2);
  }
  return o;
}

// One OPTIONS per target, shaped like the exporter's (same headers, similar length).
std::string build_request(const std::string& host, int port, const std::string& local,
                          int local_port, long i) {
  char buf[1024];
  const int n = std::snprintf(buf, sizeof buf,
                              "OPTIONS sip:%s:%d SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bKfloor%08lx%08lx;rport\r\n"
                              "Max-Forwards: 70\r\n"
                              "From: <sip:floor@%s>;tag=fl%08lx\r\n"
                              "To: <sip:%s:%d>\r\n"
                              "Call-ID: floor-%08lx-%08lx@%s\r\n"
                              "CSeq: 1 OPTIONS\r\n"
                              "Contact: <sip:floor@%s:%d>\r\n"
                              "Accept: application/sdp\r\n"
                              "User-Agent: stx-bench-floor\r\n"
                              "Content-Length: 0\r\n\r\n",
                              host.c_str(), port, local.c_str(), local_port,
                              static_cast<unsigned long>(i), static_cast<unsigned long>(getpid()),
                              local.c_str(), static_cast<unsigned long>(i), host.c_str(), port,
                              static_cast<unsigned long>(i), static_cast<unsigned long>(getpid()),
                              local.c_str(), local.c_str(), local_port);
  return std::string(buf, static_cast<std::size_t>(std::max(n, 0)));
}

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

struct Counters {
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;
  std::uint64_t wakeups = 0;
  std::uint64_t send_calls = 0;
  std::uint64_t recv_calls = 0;
  std::uint64_t send_errors = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse_options(argc, argv);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);

  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (inet_pton(AF_INET, o.address.c_str(), &remote.sin_addr) != 1) {
    std::fprintf(stderr, "bad address %s\n", o.address.c_str());
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    std::perror("socket/connect");
    return 1;
  }
  const int rcvbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in local{};
  socklen_t local_len = sizeof local;
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
  char local_text[INET_ADDRSTRLEN] = "127.0.0.1";
  inet_ntop(AF_INET, &local.sin_addr, local_text, sizeof local_text);

  // Everything a tick touches is allocated here, before the first one.
  std::vector<std::string> requests;
  requests.reserve(static_cast<std::size_t>(o.targets));
  for (long i = 0; i < o.targets; ++i) {
    requests.push_back(build_request(o.address, o.port, local_text, ntohs(local.sin_port), i));
  }
  std::vector<iovec> send_iov(kSendBatch);
  std::vector<mmsghdr> send_msgs(kSendBatch);
  std::vector<char> recv_data(kRecvBatch * kRecvSlot);
  std::vector<iovec> recv_iov(kRecvBatch);
  std::vector<mmsghdr> recv_msgs(kRecvBatch);
  for (int i = 0; i < kRecvBatch; ++i) {
    recv_iov[i] = {recv_data.data() + i * kRecvSlot, kRecvSlot};
    recv_msgs[i].msg_hdr.msg_iov = &recv_iov[i];
    recv_msgs[i].msg_hdr.msg_iovlen = 1;
  }

  const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (tfd < 0) {
    std::perror("timerfd_create");
    return 1;
  }
  const std::int64_t start = now_ns();
  itimerspec its{};
  its.it_interval.tv_sec = o.tick_us / 1000000;
  its.it_interval.tv_nsec = (o.tick_us % 1000000) * 1000;
  its.it_value.tv_sec = (start + o.tick_us * 1000) / 1000000000;
  its.it_value.tv_nsec = (start + o.tick_us * 1000) % 1000000000;
  if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, nullptr) != 0) {
    std::perror("timerfd_settime");
    return 1;
  }

  const auto warm_end = start + static_cast<std::int64_t>(o.warm * 1e9);
  const auto end = warm_end + static_cast<std::int64_t>(o.window * 1e9);
  Counters c;
  Counters at_window;
  rusage ru0{};
  std::int64_t window_start = 0;
  bool in_window = false;
  std::uint64_t due_total = 0;  // requests that fell due since start
  long next_target = 0;

  while (g_stop == 0) {
    std::uint64_t expirations = 0;
    if (read(tfd, &expirations, sizeof expirations) < 0) {
      if (errno == EINTR) continue;
      std::perror("read timerfd");
      return 1;
    }
    ++c.wakeups;
    const std::int64_t now = now_ns();
    if (!in_window && now >= warm_end) {
      in_window = true;
      window_start = now;
      at_window = c;
      getrusage(RUSAGE_SELF, &ru0);
    }
    if (now >= end) break;

    // Answers: drained and counted, nothing else.
    for (;;) {
      ++c.recv_calls;
      const int n = recvmmsg(fd, recv_msgs.data(), kRecvBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;  // EAGAIN, or an ICMP error reported once
      c.answered += static_cast<std::uint64_t>(n);
      if (n < kRecvBatch) break;
    }

    // Requests: everything due since the last tick, in as few sendmmsg calls as fit.
    const auto elapsed = static_cast<std::uint64_t>(now - start);
    const auto rate = static_cast<std::uint64_t>(o.rate);
    const std::uint64_t due =
        elapsed / 1000000000U * rate + elapsed % 1000000000U * rate / 1000000000U;
    while (due_total < due) {
      const int n = static_cast<int>(std::min<std::uint64_t>(due - due_total, kSendBatch));
      for (int i = 0; i < n; ++i) {
        std::string& r = requests[static_cast<std::size_t>(next_target)];
        send_iov[i] = {r.data(), r.size()};
        send_msgs[i].msg_hdr = {};
        send_msgs[i].msg_hdr.msg_iov = &send_iov[i];
        send_msgs[i].msg_hdr.msg_iovlen = 1;
        if (++next_target == o.targets) next_target = 0;
      }
      ++c.send_calls;
      const int sent = sendmmsg(fd, send_msgs.data(), static_cast<unsigned>(n), 0);
      // Whatever did not go out (a full buffer, an ICMP error) is counted and skipped: a
      // late probe is not sent twice.
      if (sent < n) c.send_errors += static_cast<std::uint64_t>(n - std::max(sent, 0));
      c.sent += static_cast<std::uint64_t>(std::max(sent, 0));
      due_total += static_cast<std::uint64_t>(n);
    }
  }

  rusage ru1{};
  getrusage(RUSAGE_SELF, &ru1);
  const std::int64_t stop = now_ns();
  close(tfd);
  close(fd);
  if (!in_window) {
    std::printf("window_s=0 sent=0 answered=0\n");
    return g_stop != 0 ? 0 : 1;
  }
  std::printf(
      "window_s=%.3f sent=%llu answered=%llu send_errors=%llu user_s=%.3f sys_s=%.3f "
      "wakeups=%llu nvcsw=%ld nivcsw=%ld send_calls=%llu recv_calls=%llu\n",
      static_cast<double>(stop - window_start) / 1e9,
      static_cast<unsigned long long>(c.sent - at_window.sent),
      static_cast<unsigned long long>(c.answered - at_window.answered),
      static_cast<unsigned long long>(c.send_errors - at_window.send_errors),
      seconds(ru1.ru_utime) - seconds(ru0.ru_utime), seconds(ru1.ru_stime) - seconds(ru0.ru_stime),
      static_cast<unsigned long long>(c.wakeups - at_window.wakeups), ru1.ru_nvcsw - ru0.ru_nvcsw,
      ru1.ru_nivcsw - ru0.ru_nivcsw,
      static_cast<unsigned long long>(c.send_calls - at_window.send_calls),
      static_cast<unsigned long long>(c.recv_calls - at_window.recv_calls));
  std::fflush(stdout);
  return 0;
}
