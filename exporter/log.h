#pragma once
// Structured logs on stderr: logfmt (ts=... level=... msg="..." key=value ...) or one JSON
// object per line.
#include <atomic>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace stx {

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { logfmt, json };

std::optional<LogLevel> parse_log_level(std::string_view s);
std::optional<LogFormat> parse_log_format(std::string_view s);

struct LogField {
  std::string_view key;
  std::string value;
};

class Logger {
 public:
  void set_level(LogLevel l) { level_.store(l); }
  void set_format(LogFormat f) { format_.store(f); }
  bool enabled(LogLevel l) const { return l >= level_.load(); }
  void log(LogLevel l, std::string_view msg, std::initializer_list<LogField> fields = {});

  // The line log() would write, without the timestamp when `ts` is empty.
  static std::string format(LogLevel l, std::string_view msg,
                            std::initializer_list<LogField> fields, LogFormat f = LogFormat::logfmt,
                            std::string_view ts = {});

 private:
  std::atomic<LogLevel> level_{LogLevel::info};
  std::atomic<LogFormat> format_{LogFormat::logfmt};
  std::mutex mu_;
};

// Quotes a logfmt value when it needs it (spaces, quotes, '=', control characters, empty).
std::string logfmt_value(std::string_view v);

// A JSON string literal, quotes included.
std::string json_string(std::string_view v);

}  // namespace stx
