// GPU profiles, host detection, native calibration and the calibration cache.
#include "loopscope/costmodel/hardware.hpp"
#include "loopscope/host_cpus.hpp"
#include "loopscope/share_dir.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace loopscope::costmodel {

std::string default_share_dir() { return loopscope::share_dir(); }

static std::string hardware_dir(const std::string& share_dir) {
  return (fs::path(share_dir.empty() ? default_share_dir() : share_dir) / "hardware").string();
}

std::vector<std::string> list_gpu_profiles(const std::string& share_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(hardware_dir(share_dir), ec)) {
    if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

GpuProfile gpu_profile_from_json(const nlohmann::json& j) {
  GpuProfile g;
  auto d = [&](const char* k, double def) { return j.contains(k) ? j.at(k).get<double>() : def; };
  auto i = [&](const char* k, int def) { return j.contains(k) ? j.at(k).get<int>() : def; };
  g.name = j.value("name", std::string());
  g.display_name = j.value("display_name", g.name);
  g.architecture = j.value("architecture", std::string());
  g.compute_capability = i("compute_capability", 0);
  g.sms = i("sms", 0);
  g.boost_clock_ghz = d("boost_clock_ghz", 0);
  g.fp32_tflops = d("fp32_tflops", 0);
  g.fp64_tflops = d("fp64_tflops", 0);
  g.sfu_per_sm_per_clock = d("sfu_per_sm_per_clock", 16);
  g.warp_size = i("warp_size", 32);
  g.schedulers_per_sm = i("schedulers_per_sm", 4);
  g.max_threads_per_sm = i("max_threads_per_sm", 2048);
  g.max_blocks_per_sm = i("max_blocks_per_sm", 32);
  g.max_threads_per_block = i("max_threads_per_block", 1024);
  g.registers_per_sm = i("registers_per_sm", 65536);
  g.max_registers_per_thread = i("max_registers_per_thread", 255);
  g.register_alloc_unit = i("register_alloc_unit", 256);
  g.shared_memory_per_sm = i("shared_memory_per_sm", 0);
  g.shared_memory_per_block = i("shared_memory_per_block", 0);
  g.memory_bandwidth_gbs = d("memory_bandwidth_gbs", 0);
  g.memory_gb = d("memory_gb", 0);
  g.l2_cache_mb = d("l2_cache_mb", 0);
  g.host_link = j.value("host_link", std::string());
  g.host_link_bandwidth_gbs = d("host_link_bandwidth_gbs", 0);
  g.host_link_latency_us = d("host_link_latency_us", 0);
  g.launch_overhead_us = d("launch_overhead_us", 0);
  g.memory_latency_ns = d("memory_latency_ns", 500);
  g.tdp_w = d("tdp_w", 0);
  if (j.contains("sources")) {
    for (auto& s : j["sources"]) {
      if (s.is_string())
        g.sources.push_back(s.get<std::string>());
      else if (s.is_object())
        g.sources.push_back(s.value("source", s.dump()));
    }
  }
  g.measured = j.value("measured", false);
  return g;
}

nlohmann::json to_json(const GpuProfile& g) {
  return {{"name", g.name},
          {"display_name", g.display_name},
          {"architecture", g.architecture},
          {"compute_capability", g.compute_capability},
          {"sms", g.sms},
          {"boost_clock_ghz", g.boost_clock_ghz},
          {"fp32_tflops", g.fp32_tflops},
          {"fp64_tflops", g.fp64_tflops},
          {"sfu_per_sm_per_clock", g.sfu_per_sm_per_clock},
          {"warp_size", g.warp_size},
          {"schedulers_per_sm", g.schedulers_per_sm},
          {"max_threads_per_sm", g.max_threads_per_sm},
          {"max_blocks_per_sm", g.max_blocks_per_sm},
          {"max_threads_per_block", g.max_threads_per_block},
          {"registers_per_sm", g.registers_per_sm},
          {"max_registers_per_thread", g.max_registers_per_thread},
          {"register_alloc_unit", g.register_alloc_unit},
          {"shared_memory_per_sm", g.shared_memory_per_sm},
          {"shared_memory_per_block", g.shared_memory_per_block},
          {"memory_bandwidth_gbs", g.memory_bandwidth_gbs},
          {"memory_gb", g.memory_gb},
          {"l2_cache_mb", g.l2_cache_mb},
          {"host_link", g.host_link},
          {"host_link_bandwidth_gbs", g.host_link_bandwidth_gbs},
          {"host_link_latency_us", g.host_link_latency_us},
          {"launch_overhead_us", g.launch_overhead_us},
          {"memory_latency_ns", g.memory_latency_ns},
          {"tdp_w", g.tdp_w},
          {"sources", g.sources},
          {"measured", g.measured}};
}

std::optional<GpuProfile> load_gpu_profile(const std::string& name_or_path, std::string* error,
                                           const std::string& share_dir) {
  fs::path p = name_or_path;
  if (p.extension() != ".json") p = fs::path(hardware_dir(share_dir)) / (name_or_path + ".json");
  std::ifstream in(p);
  if (!in) {
    if (error) {
      std::string known;
      for (auto& n : list_gpu_profiles(share_dir)) known += (known.empty() ? "" : ", ") + n;
      *error = "no GPU profile named '" + name_or_path + "' (known: " + known + ")";
    }
    return std::nullopt;
  }
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    GpuProfile g = gpu_profile_from_json(j);
    if (g.name.empty()) g.name = p.stem().string();
    if (g.sms <= 0 || g.fp32_tflops <= 0 || g.memory_bandwidth_gbs <= 0) {
      if (error) *error = "GPU profile " + p.string() + " lacks sms, fp32_tflops or memory_bandwidth_gbs";
      return std::nullopt;
    }
    return g;
  } catch (const std::exception& e) {
    if (error) *error = "GPU profile " + p.string() + " is not valid JSON: " + e.what();
    return std::nullopt;
  }
}

// ---------------------------------------------------------------- host ----

static std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

static int64_t parse_size(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return 0;
  int64_t mult = 1;
  char last = s.back();
  if (last == 'K') mult = 1024;
  if (last == 'M') mult = 1024 * 1024;
  if (last == 'G') mult = 1024LL * 1024 * 1024;
  if (mult != 1) s.pop_back();
  try {
    return std::stoll(s) * mult;
  } catch (...) {
    return 0;
  }
}

HostProfile detect_host() {
  HostProfile h;
  h.cores = usable_cpus().cpus;  // the threads a parallel run gets (affinity, cgroup quota)

  std::string info = read_file("/proc/cpuinfo");
  std::istringstream lines(info);
  std::string line, flags;
  while (std::getline(lines, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    std::string val = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
    if (key == "model name" && h.cpu_model.empty()) h.cpu_model = val;
    if (key == "cpu MHz" && val.size()) {
      try {
        h.clock_ghz = std::stod(val) / 1000.0;
      } catch (...) {}
    }
    if (key == "flags" && flags.empty()) flags = " " + val + " ";
  }
  auto has = [&](const char* f) { return flags.find(std::string(" ") + f + " ") != std::string::npos; };
  h.simd_bits = has("avx512f") ? 512 : has("avx2") ? 256 : has("avx") ? 256 : 128;
  h.has_fma = has("fma");

  for (int idx = 0; idx < 8; ++idx) {
    std::string base = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(idx) + "/";
    std::string lvl = read_file(base + "level");
    if (lvl.empty()) break;
    std::string type = read_file(base + "type");
    int64_t size = parse_size(read_file(base + "size"));
    int level = std::atoi(lvl.c_str());
    if (level == 1 && type.rfind("Data", 0) == 0) h.l1d_bytes = size;
    if (level == 2) h.l2_bytes = size;
    if (level == 3) h.l3_bytes = size;
    int64_t ls = parse_size(read_file(base + "coherency_line_size"));
    if (ls > 0) h.cache_line = (int)ls;
  }
  h.source = "defaults";
  return h;
}

namespace {

using Clock = std::chrono::steady_clock;
double secs(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

volatile double g_sink;

// Scalar kernels for the arithmetic microbenchmarks. They are kept from being
// vectorised so that they measure one lane's rate; the model divides by the
// vector width itself where the generated code vectorises.
__attribute__((noipa, optimize("no-tree-vectorize"))) double independent_adds(long n, double x) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
  for (long i = 0; i < n; ++i) {
    a0 += x;
    a1 += x;
    a2 += x;
    a3 += x;
    a4 += x;
    a5 += x;
    a6 += x;
    a7 += x;
    __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3));
  }
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

__attribute__((noipa, optimize("no-tree-vectorize"))) double chained_adds(long n, double x) {
  double a = 0;
  for (long i = 0; i < n; ++i) {
    a += x;
    __asm__ volatile("" : "+x"(a));
  }
  return a;
}

__attribute__((noipa, optimize("no-tree-vectorize"))) double independent_divs(long n, double x) {
  double a0 = 1, a1 = 2, a2 = 3, a3 = 4;
  for (long i = 0; i < n; ++i) {
    double y = x + (double)i;
    a0 += 1.0 / y;
    a1 += 2.0 / y;
    a2 += 3.0 / y;
    a3 += std::sqrt(y);
  }
  return a0 + a1 + a2 + a3;
}

// A mix of the transcendental calls loop nests make (exp, log, erf, sin, cos, tanh).
__attribute__((noipa, optimize("no-tree-vectorize"))) double exp_calls(long n, double x) {
  double a = 0;
  for (long i = 0; i < n; i += 6) {
    double y = x + (double)(i & 1023) * 1e-3;
    a += std::exp(y) + std::log(y) + std::erf(y) + std::sin(y) + std::cos(y) + std::tanh(y);
  }
  return a;
}

// Remainders of random values in [lo, lo + span) by 1: Python's float // and %
// call fmod (binning positions into cells). The C library's loop over the
// quotient's bits branches on the data, so the values are random, not a
// pattern the branch predictor learns (22 ns a call against 6 for quotients
// below 100). The call goes through a pointer, as LLVM's frem does: GCC
// would otherwise expand it inline with the x87 fprem. `bits` is the mean
// binary exponent of the quotients beyond the first bit.
double (*volatile g_fmod)(double, double) = static_cast<double (*)(double, double)>(std::fmod);
__attribute__((noipa, optimize("no-tree-vectorize"))) double fmod_calls(long n, double lo, double span, double* bits) {
  double (*f)(double, double) = g_fmod;
  double a = 0, b = 0;
  uint64_t r = 0x9E3779B97F4A7C15ull;
  for (long i = 0; i < n; ++i) {
    r ^= r << 13;
    r ^= r >> 7;
    r ^= r << 17;
    const double x = lo + (double)(r >> 11) * (span / 9007199254740992.0);
    a += f(x, 1.0);
    if (bits && x != 0) b += std::max(0, std::ilogb(x));
  }
  if (bits) *bits = b / (double)n;
  return a;
}

__attribute__((noipa, optimize("no-tree-vectorize"))) double chained_divs(long n, double x) {
  double a = 1e300;
  for (long i = 0; i < n; ++i) a = a / x;
  return a;
}

// Python's floor modulo on 64-bit integers, as the generated code computes
// it: the remainder, then its sign made the divisor's.
inline int64_t py_mod(int64_t a, int64_t b) {
  int64_t r = a % b;
  if (r != 0 && ((r ^ b) < 0)) r += b;
  return r;
}

// Independent modulos (the divisors read at run time).
__attribute__((noipa, optimize("no-tree-vectorize"))) int64_t independent_mods(const int64_t* a, const int64_t* b,
                                                                               long n) {
  int64_t s = 0;
  for (long i = 0; i < n; ++i) s += py_mod(a[i & 1023], b[i & 1023]);
  return s;
}

// One chain: each modulo waits for the previous one's result.
__attribute__((noipa, optimize("no-tree-vectorize"))) int64_t chained_mods(const int64_t* b, long n) {
  int64_t x = 1000003;
  for (long i = 0; i < n; ++i) x = py_mod(x * 31 + 7, b[i & 1023]) + 1000003;
  return x;
}

// The same by a constant divisor (a multiply-high and shifts).
__attribute__((noipa, optimize("no-tree-vectorize"))) int64_t independent_const_mods(const int64_t* a, long n) {
  int64_t s = 0;
  for (long i = 0; i < n; ++i) s += py_mod(a[i & 1023] + i, 1000000007);
  return s;
}

__attribute__((noipa, optimize("no-tree-vectorize"))) int64_t chained_const_mods(long n, int64_t x) {
  for (long i = 0; i < n; ++i) x = py_mod(x + 1234567, 1000000007);
  return x;
}

// A branch on data: taken where bits[i] is set. The empty asm keeps it a
// branch (it cannot be made a select); random bits against all-zero bits
// give the price of the mispredictions.
__attribute__((noipa, optimize("no-tree-vectorize", "no-if-conversion", "no-if-conversion2"))) int64_t
data_branches(const uint8_t* bits, long n) {
  int64_t s = 0;
  for (long i = 0; i < n; ++i) {
    if (bits[i]) {
      s += i;
      __asm__ volatile("" : "+r"(s));
    }
  }
  return s;
}

// p[i] = p[i - 1] * x + 1: each iteration loads what the previous one stored.
__attribute__((noipa, optimize("no-tree-vectorize"))) void memory_recurrence(double* p, long n, double x) {
  for (long i = 1; i < n; ++i) p[i] = p[i - 1] * x;
}

// Many short inner loops: the cost of entering and leaving a loop.
__attribute__((noipa, optimize("no-tree-vectorize", "no-unroll-loops"))) double short_loops(const double* p, long outer,
                                                                                            long inner) {
  double s = 0;
  for (long o = 0; o < outer; ++o) {
    double t = 0;
    for (long i = 0; i < inner; ++i) t += p[(o + i) & 1023];
    s += t;
  }
  return s;
}

// a[i] = b[i] + s * c[i] (STREAM's triad): vectorised streaming, as the
// generated code of an elementwise loop is.
__attribute__((noipa, optimize("O3"))) void triad(double* __restrict a, const double* __restrict b,
                                                  const double* __restrict c, size_t n, double s) {
  for (size_t i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}

// Best-of-k seconds per call of f.
template <class F>
double best_of(int k, F&& f) {
  double best = 1e30;
  for (int r = 0; r < k; ++r) {
    auto t0 = Clock::now();
    f();
    best = std::min(best, secs(t0, Clock::now()));
  }
  return best;
}

// A minimal fork/join pool: the cost of waking all workers and waiting for
// them, which every parallel region of the CPU variant pays.
double measure_fork_join(int threads) {
  if (threads <= 1) return 0;
  std::mutex m;
  std::condition_variable cv, done_cv;
  long generation = 0;
  int done = 0;
  bool stop = false;
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back([&] {
      long seen = 0;
      for (;;) {
        std::unique_lock<std::mutex> lk(m);
        cv.wait(lk, [&] { return stop || generation != seen; });
        if (stop) return;
        seen = generation;
        if (++done == threads - 1) done_cv.notify_one();
      }
    });
  }
  auto region = [&] {
    {
      std::lock_guard<std::mutex> lk(m);
      done = 0;
      ++generation;
    }
    cv.notify_all();
    std::unique_lock<std::mutex> lk(m);
    done_cv.wait(lk, [&] { return done == threads - 1; });
  };
  for (int i = 0; i < 20; ++i) region();
  const int reps = 300;
  auto t0 = Clock::now();
  for (int i = 0; i < reps; ++i) region();
  double per = secs(t0, Clock::now()) / reps;
  {
    std::lock_guard<std::mutex> lk(m);
    stop = true;
  }
  cv.notify_all();
  for (auto& t : pool) t.join();
  return per;
}

}  // namespace

void calibrate_fmod(HostProfile& h) {
  const long n = 200'000;
  // Quotients from 1 to 2: the call and one subtraction (below 1 the value
  // itself comes back, about as fast). Below 100: about 4.6 bits more each.
  h.fmod_ns = best_of(3, [&] { g_sink = fmod_calls(n, 1.0, 1.0, nullptr); }) / n * 1e9;
  double bits = 0;
  fmod_calls(1000, 0.0, 100.0, &bits);
  const double wide_ns = best_of(3, [&] { g_sink = fmod_calls(n, 0.0, 100.0, nullptr); }) / n * 1e9;
  h.fmod_bit_ns = bits > 0 ? std::max(0.0, wide_ns - h.fmod_ns) / bits : 0.0;
  h.fmod_calibrated = true;
}

double resident_fraction(const void* data, size_t bytes) {
  const long page = sysconf(_SC_PAGESIZE);
  if (!data || bytes == 0 || page <= 0) return 1.0;
  const uintptr_t lo = reinterpret_cast<uintptr_t>(data) & ~(uintptr_t)(page - 1);
  const uintptr_t hi = reinterpret_cast<uintptr_t>(data) + bytes;
  const size_t pages = (hi - lo + page - 1) / page;
  std::vector<unsigned char> in(pages);
  if (mincore(reinterpret_cast<void*>(lo), hi - lo, in.data()) != 0) return 1.0;
  size_t resident = 0;
  for (unsigned char c : in) resident += c & 1;
  return (double)resident / (double)pages;
}

void calibrate_first_touch(HostProfile& h) {
  // 32 MiB mapped fresh, written one byte a page: the faults and zeroing;
  // written again: the same loop on memory in place. The best of three
  // mappings (transparent huge pages, where the kernel gives them, zero 2
  // MiB a fault: the rate per byte is what a run pays either way).
  const size_t bytes = 32u << 20;
  const long page = std::max(4096L, sysconf(_SC_PAGESIZE));
  double best = 0;
  for (int k = 0; k < 3; ++k) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    volatile char* c = static_cast<volatile char*>(p);
    auto pass = [&] {
      auto t0 = Clock::now();
      for (size_t i = 0; i < bytes; i += (size_t)page) c[i] = 1;
      return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    const double first = pass(), again = pass();
    munmap(p, bytes);
    const double gbs = (double)bytes / std::max(1e-9, first - again) / 1e9;
    best = std::max(best, gbs);
  }
  if (best > 0) h.first_touch_gbs = best;
  h.first_touch_calibrated = true;
}

void calibrate_branches(HostProfile& h) {
  // Integer divides (Python's floor modulo), by run-time and constant
  // divisors, each minus nothing: the loop around them is a few adds.
  std::vector<int64_t> a(1024), b(1024);
  uint64_t r = 88172645463325252ull;
  auto next = [&] {
    r ^= r << 13;
    r ^= r >> 7;
    r ^= r << 17;
    return r;
  };
  for (int i = 0; i < 1024; ++i) {
    a[i] = (int64_t)(next() >> 2) * ((i & 1) ? 1 : -1);
    b[i] = (int64_t)(next() % 1000000) + 3;
  }
  volatile int64_t isink;
  const long n = 200'000;
  double t = best_of(3, [&] { isink = independent_mods(a.data(), b.data(), n); });
  h.idiv_ns = t / n * 1e9;
  t = best_of(3, [&] { isink = chained_mods(b.data(), n); });
  h.idiv_latency_ns = t / n * 1e9;
  t = best_of(3, [&] { isink = independent_const_mods(a.data(), n); });
  h.idiv_const_ns = t / n * 1e9;
  t = best_of(3, [&] { isink = chained_const_mods(n, 12345); });
  h.idiv_const_latency_ns = t / n * 1e9;
  // A mispredicted branch: random bits against none set (the same loop,
  // always predicted), per miss (half of the random ones).
  std::vector<uint8_t> rnd(n), zero(n, 0);
  for (long i = 0; i < n; ++i) rnd[i] = (uint8_t)(next() & 1);
  double tr = best_of(3, [&] { isink = data_branches(rnd.data(), n); });
  double tz = best_of(3, [&] { isink = data_branches(zero.data(), n); });
  h.branch_miss_ns = std::max(0.5, (tr - tz) / (0.5 * n) * 1e9);
  (void)isink;
  h.branch_calibrated = true;
}

// The last-level cache: the triad over three arrays that together fill a
// quarter of L3 (beyond L2, well within L3 even when a neighbour in a virtual
// machine holds part of it), repeated so the arrays stay resident, on one
// thread and split over all of them. Each core reaches L3 through its own
// port: on the 2-core EPYC host 77 to 110 GB/s on one core, 126 to 160 on
// two, where main memory gives 25 to 53 and 28 to 81 (an array of a few MB,
// read again by the next call of a nest, is served from here, not from
// memory).
void calibrate_l3(HostProfile& h) {
  const size_t total = std::max<size_t>((size_t)h.l3_bytes / 4, 3 * (size_t)h.l2_bytes);
  const size_t n = total / 3 / sizeof(double);
  std::vector<double> a(n, 0.0), b(n, 1.0), c(n, 2.0);
  const int reps = (int)std::max<size_t>(2, (128u << 20) / (3 * n * sizeof(double)));
  auto pass = [&](size_t lo, size_t count) {
    for (int r = 0; r < reps; ++r) triad(a.data() + lo, b.data() + lo, c.data() + lo, count, 0.5 + r);
  };
  double t = best_of(8, [&] {
    pass(0, n);
    g_sink = a[n / 2];
  });
  const double bytes = 3.0 * (double)(n * sizeof(double)) * reps;
  h.l3_bandwidth_gbs = std::max(h.dram_bandwidth_gbs, bytes / t / 1e9);
  h.l3_bandwidth_all_gbs = h.l3_bandwidth_gbs;
  if (h.cores > 1) {
    const int T = h.cores;
    const size_t chunk = n / T;
    double tp = best_of(8, [&] {
      std::vector<std::thread> th;
      for (int k = 0; k < T; ++k) th.emplace_back([&, k] { pass(k * chunk, chunk); });
      for (auto& x : th) x.join();
      g_sink = a[0];
    });
    h.l3_bandwidth_all_gbs = std::max(h.l3_bandwidth_gbs, 3.0 * (double)(chunk * T * sizeof(double)) * reps / tp / 1e9);
  }
  h.l3_calibrated = true;
}

void calibrate_native(HostProfile& h) {
  auto t_start = Clock::now();
  // Arithmetic.
  {
    const long n = 2'000'000;
    double t = best_of(3, [&] { g_sink = independent_adds(n, 1e-9); });
    h.add_ns = t / (8.0 * n) * 1e9;
    t = best_of(3, [&] { g_sink = chained_adds(n, 1e-9); });
    h.add_latency_ns = t / n * 1e9;
    h.loop_iter_ns = std::max(0.05, h.add_latency_ns / 4.0);
    const long nd = 500'000;
    t = best_of(3, [&] { g_sink = independent_divs(nd, 1.5); });
    h.div_ns = t / (4.0 * nd) * 1e9;
    const long ne = 300'000;
    t = best_of(3, [&] { g_sink = exp_calls(ne, 0.25); });
    h.exp_ns = t / ne * 1e9;
    calibrate_fmod(h);
    calibrate_first_touch(h);
    t = best_of(3, [&] { g_sink = chained_divs(nd, 1.0000001); });
    h.div_latency_ns = t / nd * 1e9;
    std::vector<double> rec(200'000, 1.0);
    t = best_of(3, [&] {
      memory_recurrence(rec.data(), (long)rec.size(), 0.999999);
      g_sink = rec.back();
    });
    // One multiply on the path plus the store-to-load hop.
    h.store_forward_ns = std::max(0.0, t / (double)rec.size() * 1e9 - h.add_latency_ns);
    std::vector<double> buf(1024, 1.0);
    const long outer = 200'000, inner = 3;
    t = best_of(3, [&] { g_sink = short_loops(buf.data(), outer, inner); });
    h.loop_entry_ns = std::max(0.0, t / outer * 1e9 - inner * h.add_latency_ns);
  }
  calibrate_branches(h);
  // Memory: the triad over three 16 MiB arrays for main memory (bytes read
  // and written, as the model counts them), half of L2 for the cache.
  {
    const size_t n = (16u << 20) / sizeof(double);
    std::vector<double> A(n, 0.0), Bv(n, 1.0), C(n, 2.0);
    double t = best_of(8, [&] {
      triad(A.data(), Bv.data(), C.data(), n, 0.5);
      g_sink = A[n / 2];
    });
    h.dram_bandwidth_gbs = 3.0 * (double)(n * sizeof(double)) / t / 1e9;
    int T = h.cores;
    if (T > 1) {
      double tp = best_of(6, [&] {
        std::vector<std::thread> th;
        size_t chunk = n / T;
        for (int k = 0; k < T; ++k)
          th.emplace_back(
              [&, k] { triad(A.data() + k * chunk, Bv.data() + k * chunk, C.data() + k * chunk, chunk, 0.5); });
        for (auto& x : th) x.join();
        g_sink = A[0];
      });
      h.dram_bandwidth_all_gbs = std::max(h.dram_bandwidth_gbs, 3.0 * (double)(n * sizeof(double)) / tp / 1e9);
    } else {
      h.dram_bandwidth_all_gbs = h.dram_bandwidth_gbs;
    }
    // Three arrays that together fill half of L2.
    size_t nc = std::max<size_t>(512, (size_t)(h.l2_bytes / 6) / sizeof(double));
    std::vector<double> a(nc, 0.0), b(nc, 1.0), c(nc, 2.0);
    const int reps = (int)std::max<size_t>(4, (96u << 20) / (3 * nc * sizeof(double)));
    double tc = best_of(6, [&] {
      for (int r = 0; r < reps; ++r) triad(a.data(), b.data(), c.data(), nc, 0.5 + r);
      g_sink = a[nc / 2];
    });
    h.cache_bandwidth_gbs = 3.0 * (double)(nc * sizeof(double)) * reps / tc / 1e9;
  }
  calibrate_l3(h);
  h.fork_join_us = measure_fork_join(h.cores) * 1e6;
  h.calibrated = true;
  h.calibration_s = secs(t_start, Clock::now());
  h.source = "calibrated";
}

nlohmann::json to_json(const HostProfile& h) {
  return {{"cpu_model", h.cpu_model},
          {"cores", h.cores},
          {"clock_ghz", h.clock_ghz},
          {"simd_bits", h.simd_bits},
          {"has_fma", h.has_fma},
          {"l1d_bytes", h.l1d_bytes},
          {"l2_bytes", h.l2_bytes},
          {"l3_bytes", h.l3_bytes},
          {"cache_line", h.cache_line},
          {"dram_bandwidth_gbs", h.dram_bandwidth_gbs},
          {"dram_bandwidth_all_gbs", h.dram_bandwidth_all_gbs},
          {"cache_bandwidth_gbs", h.cache_bandwidth_gbs},
          {"l3_bandwidth_gbs", h.l3_bandwidth_gbs},
          {"l3_bandwidth_all_gbs", h.l3_bandwidth_all_gbs},
          {"l3_calibrated", h.l3_calibrated},
          {"add_ns", h.add_ns},
          {"add_latency_ns", h.add_latency_ns},
          {"div_ns", h.div_ns},
          {"exp_ns", h.exp_ns},
          {"fmod_ns", h.fmod_ns},
          {"fmod_bit_ns", h.fmod_bit_ns},
          {"fmod_calibrated", h.fmod_calibrated},
          {"first_touch_gbs", h.first_touch_gbs},
          {"first_touch_calibrated", h.first_touch_calibrated},
          {"div_latency_ns", h.div_latency_ns},
          {"store_forward_ns", h.store_forward_ns},
          {"idiv_ns", h.idiv_ns},
          {"idiv_latency_ns", h.idiv_latency_ns},
          {"idiv_const_ns", h.idiv_const_ns},
          {"idiv_const_latency_ns", h.idiv_const_latency_ns},
          {"branch_miss_ns", h.branch_miss_ns},
          {"branch_calibrated", h.branch_calibrated},
          {"loop_entry_ns", h.loop_entry_ns},
          {"fork_join_us", h.fork_join_us},
          {"fork_join_cold_us", h.fork_join_cold_us},
          {"fork_join_busy_us", h.fork_join_busy_us},
          {"loop_iter_ns", h.loop_iter_ns},
          {"native_call_us", h.native_call_us},
          {"native_input_us", h.native_input_us},
          {"native_ref_us", h.native_ref_us},
          {"native_loop_us", h.native_loop_us},
          {"py_dispatch_us", h.py_dispatch_us},
          {"first_setup_us", h.first_setup_us},
          {"report_us", h.report_us},
          {"report_draw_us", h.report_draw_us},
          {"report_calibrated", h.report_calibrated},
          {"py_iter_ns", h.py_iter_ns},
          {"py_binop_ns", h.py_binop_ns},
          {"py_intop_ns", h.py_intop_ns},
          {"py_index_dim_ns", h.py_index_dim_ns},
          {"py_load_ns", h.py_load_ns},
          {"py_store_ns", h.py_store_ns},
          {"py_call_ns", h.py_call_ns},
          {"py_assign_ns", h.py_assign_ns},
          {"py_compare_ns", h.py_compare_ns},
          {"py_nest_ns", h.py_nest_ns},
          {"py_float_binop_ns", h.py_float_binop_ns},
          {"py_mixed_ns", h.py_mixed_ns},
          {"py_np_call_ns", h.py_np_call_ns},
          {"draw_py_ns", h.draw_py_ns},
          {"draw_py_gauss_ns", h.draw_py_gauss_ns},
          {"draw_np_ns", h.draw_np_ns},
          {"draw_gen_ns", h.draw_gen_ns},
          {"draw_setup_us", h.draw_setup_us},
          {"draw_np_setup_us", h.draw_np_setup_us},
          {"draw_gen_setup_us", h.draw_gen_setup_us},
          {"draws_calibrated", h.draws_calibrated},
          {"list_item_ns", h.list_item_ns},
          {"lists_calibrated", h.lists_calibrated},
          {"py_calibrated", h.py_calibrated},
          {"py_numpy_calibrated", h.py_numpy_calibrated},
          {"engine_calibrated", h.engine_calibrated},
          {"forks_calibrated", h.forks_calibrated},
          {"dispatch_calibrated", h.dispatch_calibrated},
          {"calibrated", h.calibrated},
          {"calibration_s", h.calibration_s},
          {"source", h.source}};
}

HostProfile host_profile_from_json(const nlohmann::json& j) {
  HostProfile h;
  auto d = [&](const char* k, double& f) {
    if (j.contains(k) && j[k].is_number()) f = j[k].get<double>();
  };
  auto i = [&](const char* k, auto& f) {
    if (j.contains(k) && j[k].is_number()) f = j[k].get<std::decay_t<decltype(f)>>();
  };
  h.cpu_model = j.value("cpu_model", std::string());
  i("cores", h.cores);
  d("clock_ghz", h.clock_ghz);
  i("simd_bits", h.simd_bits);
  h.has_fma = j.value("has_fma", false);
  i("l1d_bytes", h.l1d_bytes);
  i("l2_bytes", h.l2_bytes);
  i("l3_bytes", h.l3_bytes);
  i("cache_line", h.cache_line);
  d("dram_bandwidth_gbs", h.dram_bandwidth_gbs);
  d("dram_bandwidth_all_gbs", h.dram_bandwidth_all_gbs);
  d("cache_bandwidth_gbs", h.cache_bandwidth_gbs);
  d("l3_bandwidth_gbs", h.l3_bandwidth_gbs);
  d("l3_bandwidth_all_gbs", h.l3_bandwidth_all_gbs);
  h.l3_calibrated = j.value("l3_calibrated", false);
  d("add_ns", h.add_ns);
  d("add_latency_ns", h.add_latency_ns);
  d("div_ns", h.div_ns);
  d("exp_ns", h.exp_ns);
  d("fmod_ns", h.fmod_ns);
  d("fmod_bit_ns", h.fmod_bit_ns);
  h.fmod_calibrated = j.value("fmod_calibrated", false);
  d("first_touch_gbs", h.first_touch_gbs);
  h.first_touch_calibrated = j.value("first_touch_calibrated", false);
  d("div_latency_ns", h.div_latency_ns);
  d("store_forward_ns", h.store_forward_ns);
  d("idiv_ns", h.idiv_ns);
  d("idiv_latency_ns", h.idiv_latency_ns);
  d("idiv_const_ns", h.idiv_const_ns);
  d("idiv_const_latency_ns", h.idiv_const_latency_ns);
  d("branch_miss_ns", h.branch_miss_ns);
  h.branch_calibrated = j.value("branch_calibrated", false);
  d("loop_entry_ns", h.loop_entry_ns);
  d("fork_join_us", h.fork_join_us);
  d("loop_iter_ns", h.loop_iter_ns);
  d("fork_join_cold_us", h.fork_join_cold_us);
  d("fork_join_busy_us", h.fork_join_busy_us);
  d("native_call_us", h.native_call_us);
  d("native_input_us", h.native_input_us);
  d("native_ref_us", h.native_ref_us);
  d("native_loop_us", h.native_loop_us);
  d("py_dispatch_us", h.py_dispatch_us);
  d("first_setup_us", h.first_setup_us);
  d("report_us", h.report_us);
  d("report_draw_us", h.report_draw_us);
  h.report_calibrated = j.value("report_calibrated", false);
  d("py_iter_ns", h.py_iter_ns);
  d("py_binop_ns", h.py_binop_ns);
  d("py_intop_ns", h.py_intop_ns);
  d("py_index_dim_ns", h.py_index_dim_ns);
  d("py_load_ns", h.py_load_ns);
  d("py_store_ns", h.py_store_ns);
  d("py_call_ns", h.py_call_ns);
  d("py_assign_ns", h.py_assign_ns);
  d("py_compare_ns", h.py_compare_ns);
  d("py_nest_ns", h.py_nest_ns);
  d("py_float_binop_ns", h.py_float_binop_ns);
  d("py_mixed_ns", h.py_mixed_ns);
  d("py_np_call_ns", h.py_np_call_ns);
  d("draw_py_ns", h.draw_py_ns);
  d("draw_py_gauss_ns", h.draw_py_gauss_ns);
  d("draw_np_ns", h.draw_np_ns);
  d("draw_gen_ns", h.draw_gen_ns);
  d("draw_setup_us", h.draw_setup_us);
  d("draw_np_setup_us", h.draw_np_setup_us);
  d("draw_gen_setup_us", h.draw_gen_setup_us);
  h.draws_calibrated = j.value("draws_calibrated", false);
  d("list_item_ns", h.list_item_ns);
  h.lists_calibrated = j.value("lists_calibrated", false);
  h.py_calibrated = j.value("py_calibrated", false);
  h.py_numpy_calibrated = j.value("py_numpy_calibrated", false);
  h.engine_calibrated = j.value("engine_calibrated", false);
  h.forks_calibrated = j.value("forks_calibrated", false);
  h.dispatch_calibrated = j.value("dispatch_calibrated", false);
  h.calibrated = j.value("calibrated", false);
  d("calibration_s", h.calibration_s);
  h.source = j.value("source", std::string("json"));
  return h;
}

std::string cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  fs::path base;
  if (xdg && *xdg)
    base = xdg;
  else if (const char* home = std::getenv("HOME"); home && *home)
    base = fs::path(home) / ".cache";
  else
    base = fs::temp_directory_path();
  return (base / "loopscope").string();
}

std::string host_cache_path() { return (fs::path(cache_dir()) / "host.json").string(); }

bool save_host_profile(const HostProfile& h) {
  std::error_code ec;
  fs::create_directories(cache_dir(), ec);
  std::string path = host_cache_path();
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp);
    if (!out) return false;
    nlohmann::json j = to_json(h);
    j["format"] = 1;
    out << j.dump(2) << "\n";
    if (!out) return false;
  }
  fs::rename(tmp, path, ec);
  return !ec;
}

HostProfile host_profile(bool recalibrate) {
  HostProfile detected = detect_host();
  if (!recalibrate) {
    std::ifstream in(host_cache_path());
    if (in) {
      try {
        nlohmann::json j = nlohmann::json::parse(in);
        HostProfile cached = host_profile_from_json(j);
        if (j.value("format", 0) == 1 && cached.calibrated && cached.cpu_model == detected.cpu_model &&
            cached.cores == detected.cores) {
          if (!cached.branch_calibrated || !cached.l3_calibrated || !cached.fmod_calibrated ||
              !cached.first_touch_calibrated) {
            // cached before these figures
            if (!cached.branch_calibrated) calibrate_branches(cached);
            if (!cached.l3_calibrated) calibrate_l3(cached);
            if (!cached.fmod_calibrated) calibrate_fmod(cached);
            if (!cached.first_touch_calibrated) calibrate_first_touch(cached);
            save_host_profile(cached);
          }
          cached.source = "cache:" + host_cache_path();
          return cached;
        }
      } catch (...) {
        // A damaged cache is recalibrated below.
      }
    }
  }
  HostProfile h = detected;
  // Keep interpreter figures measured earlier on this machine.
  if (recalibrate) {
    std::ifstream in(host_cache_path());
    if (in) {
      try {
        HostProfile old = host_profile_from_json(nlohmann::json::parse(in));
        if (old.py_calibrated && old.cpu_model == h.cpu_model) {
          h.py_iter_ns = old.py_iter_ns;
          h.py_binop_ns = old.py_binop_ns;
          h.py_intop_ns = old.py_intop_ns;
          h.py_index_dim_ns = old.py_index_dim_ns;
          h.native_call_us = old.native_call_us;
          h.native_input_us = old.native_input_us;
          h.native_ref_us = old.native_ref_us;
          h.native_loop_us = old.native_loop_us;
          h.py_dispatch_us = old.py_dispatch_us;
          h.py_load_ns = old.py_load_ns;
          h.py_store_ns = old.py_store_ns;
          h.py_call_ns = old.py_call_ns;
          h.py_assign_ns = old.py_assign_ns;
          h.py_compare_ns = old.py_compare_ns;
          h.py_nest_ns = old.py_nest_ns;
          h.py_float_binop_ns = old.py_float_binop_ns;
          h.py_mixed_ns = old.py_mixed_ns;
          h.py_np_call_ns = old.py_np_call_ns;
          h.draw_py_ns = old.draw_py_ns;
          h.draw_py_gauss_ns = old.draw_py_gauss_ns;
          h.draw_np_ns = old.draw_np_ns;
          h.draw_gen_ns = old.draw_gen_ns;
          h.draw_setup_us = old.draw_setup_us;
          h.draw_np_setup_us = old.draw_np_setup_us;
          h.draw_gen_setup_us = old.draw_gen_setup_us;
          h.draws_calibrated = old.draws_calibrated;
          h.list_item_ns = old.list_item_ns;
          h.lists_calibrated = old.lists_calibrated;
        }
      } catch (...) {}
    }
  }
  calibrate_native(h);
  save_host_profile(h);
  return h;
}

}  // namespace loopscope::costmodel
