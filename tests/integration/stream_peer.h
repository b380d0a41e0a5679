#pragma once
// A scriptable SIP-over-TCP peer on 127.0.0.1 for framing edge cases real servers do
// not produce on demand (how responses are cut into writes). It runs on its own thread,
// serves one connection at a time, reads each request up to its empty line and answers
// per the script, echoing Via, From, To, Call-ID and CSeq so a real client matches the
// responses. Stopped and joined by the destructor.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace stx::it {

enum class StreamScript : std::uint8_t {
  ok,                   // one 200 OK per request
  two_in_one_write,     // 100 Trying and 200 OK in a single write
  split_in_two_writes,  // the 200 OK in two writes, `pause` apart, cut inside a header
  close_mid_response,   // the first half of a 200 OK, then close
  huge_header_line,     // a 200 OK with a 1 MiB header line, then close
  short_body,           // Content-Length 100 with 10 bytes of body, then silence
};

class StreamPeer {
 public:
  explicit StreamPeer(StreamScript script,
                      std::chrono::milliseconds pause = std::chrono::milliseconds(50));
  ~StreamPeer();
  StreamPeer(const StreamPeer&) = delete;
  StreamPeer& operator=(const StreamPeer&) = delete;

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }
  // Scripted replies fully written (or cut, for the scripts that cut them).
  int replies() const { return replies_.load(); }
  // Bytes read from clients (a TLS ClientHello counts: this peer never answers it).
  int bytes_received() const { return bytes_received_.load(); }
  std::vector<std::string> requests() const;
  // Closes the connection being served (ends short_body's silence).
  void close_connection() {
    close_requested_.store(true);
    wake();
  }

 private:
  void run();
  void serve(int fd);
  bool reply(int fd, const std::string& request);
  bool send_all(int fd, std::string_view data);
  bool wait_readable(int fd);
  void wake();

  StreamScript script_;
  std::chrono::milliseconds pause_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: stop or close requested
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> close_requested_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> replies_{0};
  std::atomic<int> bytes_received_{0};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace stx::it
