"""Two network namespaces joined by a veth pair, with nftables loss on the peer's side.

The prober side ("x") holds the exporter and sipsak, the peer side ("p") the responder.
Nothing is added to the root namespace; both namespaces (and with them the veth pair
and the nftables table) are deleted when the `with` block ends.
"""

import os

from procs import require_root, require_tool, run

PROBER_ADDRESS = "10.213.0.1"
PEER_ADDRESS = "10.213.0.2"


class NetnsPair:
    def __init__(self):
        tag = "stxb%d" % os.getpid()
        self.prober = tag + "x"
        self.peer = tag + "p"
        self.veth = (tag + "a", tag + "b")  # interface names: at most 15 characters
        self.created = []

    def __enter__(self):
        require_root("network namespaces and nftables")
        require_tool("ip")
        require_tool("nft")
        try:
            for ns in (self.prober, self.peer):
                run(["ip", "netns", "add", ns])
                self.created.append(ns)
                run(["ip", "-n", ns, "link", "set", "lo", "up"])
            a, b = self.veth
            run(["ip", "-n", self.prober, "link", "add", a, "type", "veth", "peer", "name", b,
                 "netns", self.peer])
            for ns, dev, addr in ((self.prober, a, PROBER_ADDRESS), (self.peer, b, PEER_ADDRESS)):
                run(["ip", "-n", ns, "addr", "add", addr + "/30", "dev", dev])
                run(["ip", "-n", ns, "link", "set", dev, "up"])
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        for ns in reversed(self.created):
            run(["ip", "netns", "del", ns], check=False)
        self.created = []
        return False

    def set_loss(self, port, percent, both_directions):
        """Drops `percent` % of the peer's incoming UDP to `port` (and outgoing from it)."""
        rules = ["table inet stxbench {",
                 "  chain in {",
                 "    type filter hook input priority 0; policy accept;",
                 "    udp dport %d numgen random mod 100 < %d drop" % (port, percent),
                 "  }",
                 "  chain out {",
                 "    type filter hook output priority 0; policy accept;"]
        if both_directions:
            rules.append("    udp sport %d numgen random mod 100 < %d drop" % (port, percent))
        rules += ["  }", "}"]
        run(["ip", "netns", "exec", self.peer, "nft", "delete", "table", "inet", "stxbench"],
            check=False)
        run(["ip", "netns", "exec", self.peer, "nft", "-f", "-"],
            stdin_text="\n".join(rules) + "\n")
