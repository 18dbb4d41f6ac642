#include "loopscope/analysis/registry.hpp"

#include <deque>
#include <map>
#include <mutex>

namespace loopscope::analysis {
namespace {
std::mutex g_mutex;
std::deque<NestEntry>& entries() {
  static std::deque<NestEntry> e;  // deque: references stay valid on growth
  return e;
}
std::map<std::string, int>& by_key() {
  static std::map<std::string, int> m;
  return m;
}
}  // namespace

int find_nest_by_key(const std::string& key) {
  std::lock_guard<std::mutex> g(g_mutex);
  auto it = by_key().find(key);
  return it == by_key().end() ? -1 : it->second;
}

int add_nest(NestEntry entry) {
  std::lock_guard<std::mutex> g(g_mutex);
  auto it = by_key().find(entry.key);
  if (it != by_key().end()) return it->second;
  entry.id = (int)entries().size() + 1;
  by_key()[entry.key] = entry.id;
  entries().push_back(std::move(entry));
  return entries().back().id;
}

const NestEntry* find_nest(int id) {
  std::lock_guard<std::mutex> g(g_mutex);
  if (id < 1 || id > (int)entries().size()) return nullptr;
  return &entries()[id - 1];
}

}  // namespace loopscope::analysis
