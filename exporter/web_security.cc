#include "exporter/web_security.h"

namespace stx {
namespace {

std::vector<std::string> files_of(const std::string& path, const WebConfig& c) {
  std::vector<std::string> files = {path};
  if (c.tls) {
    for (const std::string* f : {&c.tls->cert_file, &c.tls->key_file, &c.tls->client_ca_file}) {
      if (!f->empty()) files.push_back(*f);
    }
  }
  return files;
}

}  // namespace

WebSecurity load_web_security(const std::string& path) {
  WebSecurity s;
  s.config = load_web_config(path);
  if (s.config.tls) s.tls = make_tls_context(*s.config.tls);
  s.auth = std::make_shared<const BasicAuth>(s.config.basic_auth_users);
  return s;
}

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  FileStamp f;
  if (::stat(path.c_str(), &st) != 0) return f;
  f.exists = true;
  f.dev = st.st_dev;
  f.ino = st.st_ino;
  f.size = st.st_size;
  f.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec;
  return f;
}

WebSecurityWatch::WebSecurityWatch(std::string path, const WebConfig& loaded)
    : path_(std::move(path)) {
  this->loaded(loaded);
}

bool WebSecurityWatch::changed() {
  bool any = false;
  for (auto& [file, stamp] : files_) {
    const FileStamp now = stamp_of(file);
    if (now != stamp) {
      stamp = now;  // a broken file is reported once, not on every connection
      any = true;
    }
  }
  return any;
}

void WebSecurityWatch::loaded(const WebConfig& config) {
  files_.clear();
  for (std::string& f : files_of(path_, config)) {
    const FileStamp s = stamp_of(f);
    files_.emplace_back(std::move(f), s);
  }
}

}  // namespace stx
