#pragma once
// Structured logs in logfmt on stderr: ts=... level=... msg="..." key=value ...
#include <atomic>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace stx {

enum class LogLevel { debug, info, warn, error };

std::optional<LogLevel> parse_log_level(std::string_view s);

struct LogField {
  std::string_view key;
  std::string value;
};

class Logger {
 public:
  void set_level(LogLevel l) { level_.store(l); }
  bool enabled(LogLevel l) const { return l >= level_.load(); }
  void log(LogLevel l, std::string_view msg, std::initializer_list<LogField> fields = {});

  // The line log() would write, without the timestamp (for tests).
  static std::string format(LogLevel l, std::string_view msg,
                            std::initializer_list<LogField> fields);

 private:
  std::atomic<LogLevel> level_{LogLevel::info};
  std::mutex mu_;
};

// Quotes a logfmt value when it needs it (spaces, quotes, '=', control characters, empty).
std::string logfmt_value(std::string_view v);

}  // namespace stx
