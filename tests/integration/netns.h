#pragma once
// Network namespaces for fault tests: a namespace joined to the test's own (root) namespace by
// a veth pair, peers running inside it, and nftables rules inside it that drop, reject or
// reset what the exporter (in the root namespace) sends. Needs root; everything created is
// deleted by the destructor, even when the test fails.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness.h"

namespace stx::it {

// Why this process cannot create network namespaces (not root, `ip netns add` refused, a tool
// missing), or nullopt when it can. Checked once per process, by creating and deleting one.
std::optional<std::string> netns_unavailable();

// Deletes namespaces named stx-<pid>-<n> whose process no longer exists (a crashed run).
void sweep_stale_namespaces();

// The benchmark responder (bench/sip_responder.cc): a UDP OPTIONS answerer.
std::filesystem::path responder_binary();

enum class Proto { udp, tcp };

// Rule bodies for the namespace's input (or output) hook.
// Everything that arrives over the veth: a blackhole (no ICMP, no reset, nothing).
std::string nft_drop_all();
// The rest match one port of the peer.
std::string nft_drop(Proto proto, std::uint16_t port);
// ICMP port unreachable back to the sender (icmpx: v4 or v6).
std::string nft_reject_port_unreachable(Proto proto, std::uint16_t port);
// A TCP reset to every SYN: connections are refused.
std::string nft_reset_syn(std::uint16_t port);
// A TCP reset to every segment: established connections are reset too.
std::string nft_reset_all(std::uint16_t port);
// Drops `percent` % of the packets at random.
std::string nft_random_drop(Proto proto, std::uint16_t port, int percent);

struct NftRules {
  std::vector<std::string> input;   // packets arriving in the namespace
  std::vector<std::string> output;  // packets leaving it
};

// A network namespace stx-<pid>-<n> with a veth pair to the root namespace: 10.213.X.1/30 on
// the root side, 10.213.X.2/30 inside, links up, lo up inside.
class NetNamespace {
 public:
  explicit NetNamespace(std::filesystem::path log_dir);
  ~NetNamespace();
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;

  const std::string& name() const { return name_; }
  // The root namespace's end of the veth.
  const std::string& root_address() const { return root_address_; }
  // The namespace's end: where its peers listen.
  const std::string& peer_address() const { return peer_address_; }
  // Where its processes' logs and rule files go.
  const std::filesystem::path& log_dir() const { return log_dir_; }

  // Starts `argv` inside the namespace (`ip netns exec`, which execs: the pid is the command's).
  std::unique_ptr<Process> spawn(std::string process_name, const std::vector<std::string>& argv,
                                 ProcessOptions options = {}) const;
  // Runs `argv` inside the namespace to completion; throws when it fails.
  RunResult run(const std::string& what, const std::vector<std::string>& argv,
                std::optional<std::filesystem::path> stdin_file = std::nullopt) const;

  // Replaces this namespace's nftables table (inet stx_faults) with `rules`, atomically.
  void set_rules(const NftRules& rules);
  // Removes the table: nothing is filtered any more.
  void clear_rules();
  // `nft list table` of our table (for failure messages), empty when there is none.
  std::string rules_text() const;

 private:
  void create();
  void destroy() noexcept;
  void apply_nft(const std::string& script, const std::string& what);

  std::filesystem::path log_dir_;
  std::string name_;
  std::string host_link_;
  std::string root_address_;
  std::string peer_address_;
  bool created_ = false;
  int rules_version_ = 0;
};

// Whether the process `pid` (in whatever namespace it runs) has a UDP socket bound to `port`,
// or a TCP socket listening on it, per /proc/<pid>/net/*.
bool port_bound_in(pid_t pid, Proto proto, std::uint16_t port);

// The benchmark responder inside `ns` on <peer address>:port; waits until it is bound. The
// name is also its log files' name in ns.log_dir().
std::unique_ptr<Process> start_responder(const NetNamespace& ns, std::uint16_t port,
                                         std::string_view name = "responder");

// SIPp answering OPTIONS over TCP (options_200.xml) inside `ns` on <peer address>:port.
std::unique_ptr<Process> start_sipp_tcp(const NetNamespace& ns, std::uint16_t port,
                                        std::string_view name = "sipp-tcp");

}  // namespace stx::it
