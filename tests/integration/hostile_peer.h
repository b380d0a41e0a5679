#pragma once
// A scriptable misbehaving SIP peer on 127.0.0.1, for what real servers do not do on
// demand: foreign identifiers, answers from another socket, duplicates, late answers,
// garbage, oversized messages, and on TCP huge lines, short bodies and slowloris trickles.
//
// It listens on one ephemeral port for UDP and TCP and runs on its own thread. Each new
// request (a new top Via branch) takes the next Step of the script, the last step
// repeating; over UDP a retransmission gets its request's step again unless the step says
// otherwise. Responses echo the request's Via, From, To, Call-ID and CSeq, so a correct
// client matches them unless a Fault is asked for. It can also flood the UDP socket a
// request came from with unsolicited responses. Stopped and joined by the destructor.
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace stx::it {

struct HostileRequest;  // the parts of a request a response echoes

// How a response differs from the correct answer to its request.
enum class Fault : std::uint8_t {
  none,
  wrong_branch,   // top Via branch with its last character changed
  wrong_call_id,  // Call-ID with its last character changed
  wrong_cseq,     // CSeq number plus one
};

// Which socket a UDP reply leaves from: the one the request reached, another port on
// 127.0.0.1, or 127.0.0.2 (a spoofer that knows every identifier).
enum class ReplyFrom : std::uint8_t { peer, other_port, other_address };

// One thing sent back for a request. The default is a correct 200 OK.
struct Reply {
  std::string tag = "200";  // sends are counted by tag (HostilePeer::sent)
  int code = 200;
  std::string reason = "OK";
  Fault fault = Fault::none;
  ReplyFrom from = ReplyFrom::peer;           // UDP only
  int copies = 1;                             // the same bytes, sent this many times
  std::chrono::milliseconds delay{0};         // after the request arrived
  std::string headers;                        // extra header lines, each ending in CRLF
  std::optional<std::size_t> content_length;  // default: the body's size
  std::string body;
  std::size_t pad_to = 0;          // X-Pad header lines are added until the message is this long
  std::size_t cut_to = 0;          // only the first cut_to bytes are sent (0: all)
  std::optional<std::string> raw;  // these bytes instead of a response
};

// What the peer does with one request.
struct Step {
  std::vector<Reply> replies;
  bool answer_retransmissions = true;  // UDP: a retransmission gets the replies again
  // TCP, once the replies are written: keep the connection (silently), close it, or
  // trickle a response that never ends its header (slowloris) until the client leaves.
  enum class After : std::uint8_t { keep, close, trickle } after = After::keep;
};

// Canned replies.
Reply fault_reply(Fault f, std::string tag);
Reply raw_reply(std::string tag, std::string bytes);

struct HostileOptions {
  std::vector<Step> script = {Step{{Reply{}}}};  // default: a correct 200 to everything
  bool tcp = false;                              // also listen on TCP (same port number)
  std::size_t trickle_bytes = 4;                 // After::trickle: this many bytes...
  std::chrono::milliseconds trickle_every{100};  // ...this often
};

struct FloodResult {
  std::uint64_t sent = 0;  // datagrams the kernel accepted
  std::chrono::milliseconds elapsed{0};
};

class HostilePeer {
 public:
  explicit HostilePeer(HostileOptions options = {});
  ~HostilePeer();
  HostilePeer(const HostilePeer&) = delete;
  HostilePeer& operator=(const HostilePeer&) = delete;

  std::uint16_t port() const { return port_; }
  // "sip:127.0.0.1:<port>" plus ";transport=tcp" for a TCP peer.
  std::string uri() const;

  // Distinct requests (top Via branches) seen.
  int requests() const;
  // How many times each request arrived, in order of first arrival (UDP retransmissions).
  std::vector<int> transmissions() const;
  // Replies sent with this tag (each copy counts); a reply cut by a closed connection
  // counts once its first byte is written.
  int sent(std::string_view tag) const;
  // TCP connections accepted, and those the client closed or reset.
  int connections() const;
  int closed_by_client() const;
  // Bytes trickled so far (After::trickle).
  std::uint64_t trickled() const;
  // The UDP source port of the first request (the client's shared socket), 0 before.
  std::uint16_t first_source_port() const;

  // Sends well-formed responses with random branches and Call-IDs to 127.0.0.1:port from a
  // socket of its own, as fast as it can, until `limit` passes or `max_datagrams` are
  // sent; on a thread of its own. wait_flood() joins it.
  void start_flood(std::uint16_t port, std::chrono::milliseconds limit,
                   std::uint64_t max_datagrams);
  FloodResult wait_flood();

 private:
  struct Conn;
  struct Timed;
  void run();
  void on_udp(int fd);
  void on_tcp_readable(Conn& c);
  void flush(Conn& c);
  void handle(const HostileRequest& r, const sockaddr_in* udp_from, Conn* conn);
  void schedule(Timed t);
  void fire(const Timed& t);
  void count(const std::string& tag, int n);
  void flood(sockaddr_in to, std::chrono::milliseconds limit, std::uint64_t max_datagrams);

  HostileOptions options_;
  int udp_fd_ = -1;
  int other_port_fd_ = -1;
  int other_address_fd_ = -1;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;

  // Owned by the peer thread.
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Timed> timed_;
  std::uint64_t next_conn_id_ = 1;

  mutable std::mutex mu_;                             // guards what the accessors read
  std::map<std::string, int, std::less<>> branches_;  // branch -> request index
  std::vector<int> transmissions_;
  std::map<std::string, int, std::less<>> sent_;
  int connections_ = 0;
  int closed_by_client_ = 0;
  std::uint64_t trickled_ = 0;
  std::uint16_t first_source_port_ = 0;

  std::thread flood_thread_;
  FloodResult flood_result_;
};

}  // namespace stx::it
