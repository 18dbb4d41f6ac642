#include "loopscope/share_dir.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#ifndef LOOPSCOPE_SHARE_DIR
#define LOOPSCOPE_SHARE_DIR "share"
#endif

namespace loopscope {
namespace {
std::mutex g_mutex;
std::string g_share_dir;  // set_share_dir's folder; empty until set
}  // namespace

std::string share_dir() {
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_share_dir.empty()) return g_share_dir;
  }
  if (const char* env = std::getenv("LOOPSCOPE_SHARE_DIR"); env != nullptr && *env != '\0') return env;
#ifdef LOOPSCOPE_SHARE_DIR_BESIDE_ENGINE
  // The wheel: the data lies at this path relative to the folder of the
  // shared object that holds the engine (site-packages/_loopscope...so and
  // site-packages/loopscope/share), wherever the wheel was installed.
  static const std::string beside_engine = [] {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&share_dir), &info) == 0 || info.dli_fname == nullptr) return std::string();
    return (std::filesystem::path(info.dli_fname).parent_path() / LOOPSCOPE_SHARE_DIR_BESIDE_ENGINE).string();
  }();
  if (!beside_engine.empty()) return beside_engine;
#endif
  return LOOPSCOPE_SHARE_DIR;
}

void set_share_dir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_share_dir = dir;
}

}  // namespace loopscope
