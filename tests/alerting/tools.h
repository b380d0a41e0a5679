#pragma once
// The programs the alerting tests run, found or reported as missing. A missing tool
// is a test failure whose message says how to install it, never a skip.
#include <filesystem>
#include <string_view>

namespace stx::alerting {

// Absolute path of `tool` (a name looked up in PATH, or an absolute path). Throws
// std::runtime_error naming the Debian package and scripts/install-deps.sh when absent.
std::filesystem::path require_tool(std::string_view tool);

// Debian's Python (python3 on PATH may be another one without Debian's modules).
inline constexpr std::string_view kDebianPython = "/usr/bin/python3";

// Throws like require_tool when Debian's Python cannot import `module`.
void require_python_module(std::string_view module, const std::filesystem::path& work_dir);

// tests/alerting/node_modules, installed by scripts/deps/alerting.sh (npm ci); throws
// when a package the tests need is not there.
std::filesystem::path node_modules();

}  // namespace stx::alerting
