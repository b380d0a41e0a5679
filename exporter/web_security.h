#pragma once
// What --web.config.file makes of the web server: a TLS context and basic auth, and the
// watch that reloads them when the file, or a certificate, key or CA file it names, changes
// (a renewed certificate is served without a restart, as Prometheus' exporter-toolkit does).
#include <sys/stat.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "exporter/web_config.h"

namespace stx {

struct WebSecurity {
  WebConfig config;
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: plain HTTP
  std::shared_ptr<const BasicAuth> auth;           // disabled when config has no users
};

// Loads the web config and the files it names. Throws WebConfigError naming the file.
WebSecurity load_web_security(const std::string& path);

// Identity and content stamp of a file: a rename over it (certbot, cert-manager) or an
// in-place rewrite both change it.
struct FileStamp {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  long long mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp stamp_of(const std::string& path);

class WebSecurityWatch {
 public:
  // Watches `path` and the files `loaded` names.
  WebSecurityWatch(std::string path, const WebConfig& loaded);
  // True once per change: when any watched file differs from the last load or attempt.
  bool changed();
  // After a successful reload: watch the files the new config names.
  void loaded(const WebConfig& config);

 private:
  std::string path_;
  std::vector<std::pair<std::string, FileStamp>> files_;
};

}  // namespace stx
