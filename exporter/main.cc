// sip_trunk_exporter: probes SIP trunks and gateways and serves Prometheus metrics.
#include <csignal>
#include <iostream>
#include <string_view>
#include <vector>

#include "exporter/app.h"
#include "exporter/flags.h"
#include "exporter/log.h"
#include "version.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string_view> args(argv + 1, argv + argc);
  stx::Flags flags;
  const std::string error = stx::parse_flags(args, flags);
  if (!error.empty()) {
    std::cerr << "sip_trunk_exporter: " << error << "\n\n" << stx::usage();
    return 2;
  }
  if (flags.help) {
    std::cout << stx::usage();
    return 0;
  }
  if (flags.version) {
    std::cout << "sip_trunk_exporter, version " << stx::kVersion << " (revision: "
              << stx::kRevision << ")\n";
    return 0;
  }
  stx::Logger log;
  log.set_level(*stx::parse_log_level(flags.log_level));
  log.set_format(*stx::parse_log_format(flags.log_format));
  try {
    stx::App app(flags, log);
    return app.run();
  } catch (const std::exception& e) {
    log.log(stx::LogLevel::error, "fatal", {{"err", e.what()}});
    return 1;
  }
}
