// How many CPUs this process may use: the one place that decides it, read by
// the CPU variant's thread pool and by the cost model's host profile, so that
// the model prices the threads a run really gets.
//
// LOOPSCOPE_THREADS (a positive integer) overrides. Otherwise it is the
// smaller of the CPUs in the process's affinity mask (taskset, cpusets) and
// its cgroup CPU quota rounded up (cgroup v2 cpu.max, v1 cpu.cfs_quota_us,
// the tightest on the path from the process's cgroup to the root): a
// classroom container limited to 2 CPUs on a 64-core node runs 2 threads,
// not 64. Header-only (the cost model links no library of the engine's).
#pragma once

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace loopscope {

struct CpuBudget {
  int cpus = 1;
  std::string source;  // "LOOPSCOPE_THREADS", "cgroup quota" or "affinity"
};

namespace host_cpus_detail {

inline std::string first_line(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  if (f) std::getline(f, line);
  return line;
}

// The quota in CPUs of one cgroup directory (infinity when none).
inline double quota_in(const std::string& dir, bool v2) {
  double inf = std::numeric_limits<double>::infinity();
  if (v2) {
    std::istringstream in(first_line(dir + "/cpu.max"));
    std::string quota;
    double period = 0;
    if (!(in >> quota >> period) || quota == "max" || period <= 0) return inf;
    double q = std::atof(quota.c_str());
    return q > 0 ? q / period : inf;
  }
  double q = std::atof(first_line(dir + "/cpu.cfs_quota_us").c_str());
  double period = std::atof(first_line(dir + "/cpu.cfs_period_us").c_str());
  return q > 0 && period > 0 ? q / period : inf;
}

// The tightest quota from `path` (a cgroup, relative to the hierarchy's
// mount `mount`) up to the hierarchy's root.
inline double tightest_quota(const std::string& mount, std::string path, bool v2) {
  double best = std::numeric_limits<double>::infinity();
  while (true) {
    best = std::min(best, quota_in(mount + path, v2));
    if (path.empty() || path == "/") break;
    auto slash = path.find_last_of('/');
    path = slash == std::string::npos || slash == 0 ? std::string() : path.substr(0, slash);
  }
  return best;
}

}  // namespace host_cpus_detail

// The process's cgroup CPU quota in CPUs (infinity when unlimited). `root` is
// where the cgroup file systems are mounted and `self_cgroup` the process's
// /proc/self/cgroup (both replaceable, for tests).
inline double cgroup_cpu_quota(const std::string& root = "/sys/fs/cgroup",
                               const std::string& self_cgroup = "/proc/self/cgroup") {
  using namespace host_cpus_detail;
  double best = std::numeric_limits<double>::infinity();
  std::ifstream f(self_cgroup);
  std::string line;
  while (std::getline(f, line)) {
    // "hierarchy-id:controllers:path"; v2 is "0::path".
    auto a = line.find(':');
    auto b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers.empty()) {
      best = std::min(best, tightest_quota(root, path, true));
      best = std::min(best, tightest_quota(root + "/unified", path, true));
      continue;
    }
    std::vector<std::string> names;
    std::istringstream in(controllers);
    for (std::string c; std::getline(in, c, ',');) names.push_back(c);
    if (std::find(names.begin(), names.end(), "cpu") == names.end()) continue;
    best = std::min(best, tightest_quota(root + "/" + controllers, path, false));
    if (controllers != "cpu") best = std::min(best, tightest_quota(root + "/cpu", path, false));
  }
  return best;
}

inline CpuBudget usable_cpus() {
  if (const char* env = std::getenv("LOOPSCOPE_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return {n, "LOOPSCOPE_THREADS"};
  }
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = (int)std::max(1u, std::thread::hardware_concurrency());
  const char* root = std::getenv("LOOPSCOPE_CGROUP_ROOT");  // tests: a fake hierarchy
  const char* self = std::getenv("LOOPSCOPE_SELF_CGROUP");
  double quota = cgroup_cpu_quota(root ? root : "/sys/fs/cgroup", self ? self : "/proc/self/cgroup");
  if (quota < cpus) return {std::max(1, (int)std::ceil(quota - 1e-9)), "cgroup quota"};
  return {cpus, "affinity"};
}

}  // namespace loopscope
