#include "exporter/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace stx {
namespace {

std::string_view level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "info";
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "debug") return LogLevel::debug;
  if (s == "info") return LogLevel::info;
  if (s == "warn") return LogLevel::warn;
  if (s == "error") return LogLevel::error;
  return std::nullopt;
}

std::optional<LogFormat> parse_log_format(std::string_view s) {
  if (s == "logfmt") return LogFormat::logfmt;
  if (s == "json") return LogFormat::json;
  return std::nullopt;
}

std::string json_string(std::string_view v) {
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else if (c >= 0x80) {
      out += "\\ufffd";  // logs stay valid JSON whatever bytes a peer sent
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string logfmt_value(std::string_view v) {
  bool quote = v.empty();
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f) quote = true;
  }
  if (!quote) return std::string(v);
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < ' ' || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

std::string Logger::format(LogLevel l, std::string_view msg, std::initializer_list<LogField> fields,
                           LogFormat f, std::string_view ts) {
  if (f == LogFormat::json) {
    std::string line = "{";
    if (!ts.empty()) line += "\"ts\":" + json_string(ts) + ",";
    line += "\"level\":" + json_string(level_name(l)) + ",\"msg\":" + json_string(msg);
    for (const LogField& field : fields) {
      line += "," + json_string(field.key) + ":" + json_string(field.value);
    }
    return line + "}";
  }
  std::string line;
  if (!ts.empty()) line = "ts=" + std::string(ts) + " ";
  line += "level=";
  line += level_name(l);
  line += " msg=";
  line += logfmt_value(msg);
  for (const LogField& field : fields) {
    line += ' ';
    line += field.key;
    line += '=';
    line += logfmt_value(field.value);
  }
  return line;
}

void Logger::log(LogLevel l, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!enabled(l)) return;
  std::string line = format(l, msg, fields, format_.load(), timestamp()) + "\n";
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace stx
