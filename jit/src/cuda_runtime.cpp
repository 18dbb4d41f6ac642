// Executing generated CUDA programs on the device or in the emulator.
#include "loopscope/jit/cuda_runtime.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>

#include "loopscope/jit/cpu.hpp"
#include "loopscope/jit/cuda_driver.hpp"
#include "loopscope/jit/cuda_nvrtc.hpp"
#include "loopscope/analysis/exactness.hpp"

namespace loopscope::jit {

using analysis::ArrayBinding;
using analysis::BoundNest;
using analysis::ScalarKind;

namespace {

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void mkdirs(const std::string& path) {
  std::string cur;
  std::stringstream ss(path);
  for (std::string part; std::getline(ss, part, '/');) {
    cur += part + "/";
    if (cur.size() > 1) ::mkdir(cur.c_str(), 0755);
  }
}

std::string run_capture(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) {
    *status = -1;
    return "could not start the compiler";
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

// What a launch that stopped for an interrupt returns (internal to this file:
// the outcome carries a decline with code Interrupted).
const char* const kInterrupted = "interrupted";
const char* const kEmulatorCannotRun = "the emulator cannot run ";

// The decline for a failure met while running (after the program was
// prepared): an interrupt, a kernel the emulator cannot run, or a failure of
// the driver or the engine.
analysis::Decline run_failure(const std::string& why) {
  using analysis::DeclineCode;
  if (why == kInterrupted) return analysis::Decline{DeclineCode::Interrupted, 0, why};
  if (why.rfind(kEmulatorCannotRun, 0) == 0) return analysis::Decline{DeclineCode::UnsupportedOperation, 0, why};
  if (why.rfind("no GPU version: ", 0) == 0) return analysis::Decline{DeclineCode::UnsupportedOperation, 0, why};
  return analysis::Decline{DeclineCode::Internal, 0, why};
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Everything a launch needs, for one target.
struct Backend {
  virtual ~Backend() = default;
  virtual std::string prepare(const CudaProgram& p) = 0;
  virtual std::string alloc_copy(uintptr_t lo, uintptr_t hi, uint64_t* base) = 0;
  virtual std::string alloc_slots(size_t bytes, const void* init, uint64_t* base) = 0;
  virtual std::string launch(const CudaProgram& p, int k, const CudaLaunchGeometry& g, void** args) = 0;
  virtual std::string finish() = 0;
  virtual std::string copy_out(void* dst, uint64_t src, size_t bytes) = 0;
  virtual void release() = 0;
  bool emulator = false;
  double compile_ms = 0;
  std::string detail;  // compiler messages behind a failed prepare()
  // The code of a failed prepare(): no driver, device or NVRTC, unless the
  // generated code itself failed (Internal).
  analysis::DeclineCode prepare_code = analysis::DeclineCode::NoDevice;
};

struct EmulatorBackend : Backend {
  std::shared_ptr<CudaEmulatorModule> mod;
  std::vector<std::vector<uint64_t>> buffers;
  EmulatorBackend() { emulator = true; }
  std::string prepare(const CudaProgram& p) override {
    std::string err;
    mod = emulator_load(p, &err);
    if (!mod) {
      detail = err;
      prepare_code = analysis::DeclineCode::Internal;
      return "the emulator could not compile the generated CUDA (an internal error), so the loop runs as Python";
    }
    compile_ms = mod->from_cache ? 0 : mod->compile_ms;
    if (auto set = reinterpret_cast<void (*)(const void*)>(dlsym(mod->handle, "ls_emu_set_cancel")))
      set(static_cast<const void*>(cancel_flag()));
    return "";
  }
  std::string alloc_copy(uintptr_t lo, uintptr_t hi, uint64_t* base) override {
    size_t bytes = hi > lo ? hi - lo : 0;
    buffers.emplace_back((bytes + 7) / 8 + 8, 0);
    if (bytes) std::memcpy(buffers.back().data(), (const void*)lo, bytes);
    *base = (uint64_t)(uintptr_t)buffers.back().data();
    return "";
  }
  std::string alloc_slots(size_t bytes, const void* init, uint64_t* base) override {
    buffers.emplace_back(bytes / 8 + 1, 0);
    std::memcpy(buffers.back().data(), init, bytes);
    *base = (uint64_t)(uintptr_t)buffers.back().data();
    return "";
  }
  std::string launch(const CudaProgram& p, int k, const CudaLaunchGeometry& g, void** args) override {
    auto it = mod->entries.find(p.kernels[k].name);
    if (it == mod->entries.end()) return "the emulator library lacks " + p.kernels[k].name;
    // The emulator keeps the grid position and its fibers in globals of the
    // compiled library: one launch at a time in the process (nests run from
    // several threads at once take turns).
    static std::mutex launch_mu;
    std::lock_guard<std::mutex> lock(launch_mu);
    int rc = it->second(g.grid, g.block, args);
    if (rc == 2) return kInterrupted;
    if (rc != 0) return kEmulatorCannotRun + p.kernels[k].name + " (thread barriers or warp shuffles)";
    return "";
  }
  std::string finish() override { return ""; }
  std::string copy_out(void* dst, uint64_t src, size_t bytes) override {
    std::memcpy(dst, (const void*)(uintptr_t)src, bytes);
    return "";
  }
  void release() override { buffers.clear(); }
};

struct DeviceModule {
  void* module = nullptr;
  std::map<std::string, void*> functions;
  std::vector<char> image;
};

struct DeviceBackend : Backend {
  CudaDriver& drv = CudaDriver::instance();
  std::string arch;
  std::shared_ptr<DeviceModule> mod;
  std::vector<CudaDevicePtr> allocations;
  std::string prepare(const CudaProgram& p) override {
    if (!drv.available()) return drv.status();
    if (auto e = drv.make_current(); !e.empty()) return e;
    static std::mutex mu;
    static std::map<uint64_t, std::shared_ptr<DeviceModule>> cache;
    std::string a = arch.empty() ? "sm_" + std::to_string(drv.compute_capability()) : arch;
    uint64_t key = fnv1a(a, fnv1a(p.source));
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(key);
    if (it != cache.end()) {
      mod = it->second;
      return "";
    }
    auto t0 = std::chrono::steady_clock::now();
    // A device newer than this NVRTC knows gets PTX for the newest
    // architecture NVRTC supports below it; the driver compiles that.
    int want = std::atoi(a.c_str() + (a.find('_') == std::string::npos ? 0 : a.find('_') + 1));
    if (NvrtcLibrary lib = nvrtc_library(); !lib.available)
      return "no GPU version: " + lib.error + ", so the loop runs as Python";
    std::vector<int> archs = nvrtc_supported_archs();
    bool known = archs.empty() || std::find(archs.begin(), archs.end(), want) != archs.end();
    std::string target = a;
    if (!known) {
      int best = 0;
      for (int x : archs)
        if (x <= want && x > best) best = x;
      if (best == 0) return "NVRTC " + nvrtc_version() + " cannot compile for " + a;
      target = "sm_" + std::to_string(best);
    }
    NvrtcOutput out = nvrtc_compile(p.source, target, known);
    if (out.unavailable) return "no GPU version: " + out.error + ", so the loop runs as Python";
    if (!out.ok) {
      detail = out.error;
      prepare_code = analysis::DeclineCode::Internal;
      return "NVRTC could not compile the generated CUDA (an internal error), so the loop runs as Python";
    }
    auto m = std::make_shared<DeviceModule>();
    if (known) {
      m->image = out.cubin;
    } else {
      m->image.assign(out.ptx.begin(), out.ptx.end());
      m->image.push_back('\0');
    }
    prepare_code = analysis::DeclineCode::Internal;  // the driver refuses the compiled code
    if (auto e = drv.load_module(m->image.data(), &m->module); !e.empty()) return e;
    for (auto& k : p.kernels) {
      void* fn = nullptr;
      if (auto e = drv.get_function(m->module, k.name, &fn); !e.empty()) return e;
      m->functions[k.name] = fn;
    }
    compile_ms = ms_since(t0);
    cache[key] = m;
    mod = m;
    return "";
  }
  std::string alloc_copy(uintptr_t lo, uintptr_t hi, uint64_t* base) override {
    size_t bytes = hi > lo ? hi - lo : 0;
    CudaDevicePtr d = 0;
    if (auto e = drv.alloc(bytes + 64, &d); !e.empty()) return e;
    allocations.push_back(d);
    if (bytes)
      if (auto e = drv.copy_to_device(d, (const void*)lo, bytes); !e.empty()) return e;
    *base = d;
    return "";
  }
  std::string alloc_slots(size_t bytes, const void* init, uint64_t* base) override {
    CudaDevicePtr d = 0;
    if (auto e = drv.alloc(bytes + 8, &d); !e.empty()) return e;
    allocations.push_back(d);
    if (auto e = drv.copy_to_device(d, init, bytes); !e.empty()) return e;
    *base = d;
    return "";
  }
  std::string launch(const CudaProgram& p, int k, const CudaLaunchGeometry& g, void** args) override {
    return drv.launch(mod->functions.at(p.kernels[k].name), g.grid, g.block, args);
  }
  std::string finish() override { return drv.synchronize(); }
  std::string copy_out(void* dst, uint64_t src, size_t bytes) override { return drv.copy_to_host(dst, src, bytes); }
  void release() override {
    for (auto d : allocations) drv.free(d);
    allocations.clear();
  }
};

int64_t grid_count(const analysis::Stmt& loop, const BoundNest& bound, const std::map<std::string, int64_t>& env) {
  auto a = loop.start ? eval_host_int(*loop.start, bound, env) : std::optional<int64_t>(0);
  auto b = loop.stop ? eval_host_int(*loop.stop, bound, env) : std::nullopt;
  auto c = loop.step ? eval_host_int(*loop.step, bound, env) : std::optional<int64_t>(1);
  if (!a || !b || !c || *c == 0) return -1;
  return range_count(*a, *b, *c);
}

// A precompiled loopscope_emu.h (GCC's .gch, found before the header itself
// through the -I directory returned; "" when it cannot be built): the
// standard headers it includes take most of each emulator compile.
std::string emulator_pch(const std::string& dir, const std::string& share, const std::string& cxx,
                         const std::string& flags) {
  if (cxx.find("g++") == std::string::npos) return "";
  const std::string header = share + "/loopscope_emu.h";
  char name[40];
  std::snprintf(name, sizeof name, "pch-%016llx",
                (unsigned long long)fnv1a(cxx + " " + flags, fnv1a(read_file(header))));
  const std::string pdir = dir + "/" + name;
  const std::string gch = pdir + "/loopscope_emu.h.gch";
  if (::access(gch.c_str(), R_OK) == 0) return pdir;
  mkdirs(pdir);
  const std::string tmp = gch + ".tmp" + std::to_string(::getpid());
  int status = 0;
  std::string flags_no_shared = flags;
  auto at = flags_no_shared.find(" -shared");
  if (at != std::string::npos) flags_no_shared.erase(at, 8);
  run_capture(cxx + " " + flags_no_shared + " -x c++-header '" + header + "' -o '" + tmp + "'", &status);
  if (status != 0 || std::rename(tmp.c_str(), gch.c_str()) != 0) {
    std::remove(tmp.c_str());
    return "";
  }
  return pdir;
}

}  // namespace

std::string emulator_cache_dir() {
  if (const char* d = std::getenv("LOOPSCOPE_CACHE_DIR"); d && *d) return std::string(d) + "/emu";
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/loopscope/emu";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/loopscope/emu";
  return "/tmp/loopscope-emu";
}

std::shared_ptr<CudaEmulatorModule> emulator_load(const CudaProgram& program, std::string* error) {
  static std::mutex mu;
  static std::map<uint64_t, std::shared_ptr<CudaEmulatorModule>> loaded;
  const std::string share = cuda_share_dir();
  const std::string cxx = std::getenv("CXX") && *std::getenv("CXX") ? std::getenv("CXX") : "g++";
  // -frounding-math: without it GCC (12, at every -O level) folds
  // `0.0 - (double)j` into `-(double)j`, which gives -0.0 for j == 0 where
  // IEEE (and Python, and the GPU) give +0.0. Under the default rounding
  // mode it changes no result, only what GCC may fold.
  const std::string flags =
      "-std=c++17 -O1 -fPIC -shared -fwrapv -fno-strict-aliasing -ffp-contract=off -fno-fast-math "
      "-frounding-math -fno-builtin-pow -fno-builtin-powf -w";
  std::string tu =
      "#include \"loopscope_emu.h\"\n" + program.source + "\n// Emulator entry points\n" + program.emulator_entry;
  uint64_t key = fnv1a(tu);
  key = fnv1a(read_file(share + "/loopscope_emu.h"), key);
  key = fnv1a(read_file(share + "/" + kCudaHelperHeaderName), key);
  key = fnv1a(read_file(share + "/" + kCudaSharedHeaderName), key);
  key = fnv1a(cxx + " " + flags, key);
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = loaded.find(key); it != loaded.end()) {
    auto m = std::make_shared<CudaEmulatorModule>(*it->second);
    m->from_cache = true;
    return m;
  }
  char name[32];
  std::snprintf(name, sizeof name, "%016llx", (unsigned long long)key);
  const std::string dir = emulator_cache_dir();
  mkdirs(dir);
  const std::string so = dir + "/" + name + ".so";
  auto mod = std::make_shared<CudaEmulatorModule>();
  mod->library = so;
  auto t0 = std::chrono::steady_clock::now();
  if (::access(so.c_str(), R_OK) == 0) {
    mod->from_cache = true;
  } else {
    const std::string cpp = dir + "/" + name + ".cpp";
    const std::string tmp = so + ".tmp" + std::to_string(::getpid());
    {
      std::ofstream out(cpp);
      out << tu;
    }
    int status = 0;
    std::string pch = emulator_pch(dir, share, cxx, flags);
    std::string cmd = cxx + " " + flags + (pch.empty() ? "" : " -I'" + pch + "'") + " -I'" + share + "' '" + cpp +
                      "' -o '" + tmp + "'";
    std::string msgs = run_capture(cmd, &status);
    if (status != 0) {
      *error = "the emulator could not compile the generated CUDA as C++:\n" + msgs + "\nCommand: " + cmd;
      std::remove(tmp.c_str());
      return nullptr;
    }
    if (std::rename(tmp.c_str(), so.c_str()) != 0) {
      *error = "could not write " + so;
      return nullptr;
    }
    mod->compile_ms = ms_since(t0);
  }
  mod->handle = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!mod->handle) {
    const char* e = dlerror();
    *error = std::string("could not load the emulator library: ") + (e ? e : so);
    return nullptr;
  }
  for (auto& k : program.kernels) {
    void* f = dlsym(mod->handle, ("ls_emu_" + k.name).c_str());
    if (!f) {
      *error = "the emulator library lacks the entry for " + k.name;
      return nullptr;
    }
    mod->entries[k.name] = reinterpret_cast<CudaEmuEntry>(f);
  }
  loaded[key] = mod;
  return mod;
}

CudaLaunchGeometry launch_geometry(const CudaProgram& program, int k, const BoundNest& bound,
                                   const std::map<std::string, int64_t>& env, bool emulator) {
  CudaLaunchGeometry g;
  const CudaKernel& kern = program.kernels[k];
  for (int d = 0; d < 3; ++d) g.block[d] = kern.block[d];
  std::map<std::string, int64_t> e = env;
  for (size_t i = 0; i < kern.grid_stmts.size(); ++i) {
    const analysis::Stmt& L = *kern.grid_stmts[i];
    int64_t count = grid_count(L, bound, e);
    if (count < 0) {
      // Bounds that depend on an outer grid loop: size for the largest of
      // its first and last iterations (affine bounds peak at an end); the
      // kernel's grid-stride loops cover any remainder.
      count = 0;
      if (i > 0) {
        const analysis::Stmt& O = *kern.grid_stmts[i - 1];
        auto a = O.start ? eval_host_int(*O.start, bound, e) : std::optional<int64_t>(0);
        auto c = O.step ? eval_host_int(*O.step, bound, e) : std::optional<int64_t>(1);
        int64_t n = grid_count(O, bound, e);
        if (a && c && n > 0) {
          for (int64_t v : {*a, *a + (n - 1) * *c}) {
            auto e2 = e;
            e2[O.var] = v;
            count = std::max(count, grid_count(L, bound, e2));
          }
        }
      }
      if (count <= 0) count = 4096;
    }
    int ax = kern.grid_axis[i];
    uint64_t blocks = (uint64_t)(count + g.block[ax] - 1) / g.block[ax];
    uint64_t cap = ax == 0 ? (emulator ? (1u << 20) : 0x7fffffffu) : 65535u;
    g.grid[ax] = (unsigned)std::max<uint64_t>(1, std::min<uint64_t>(blocks, cap));
  }
  return g;
}

// Walks the host schedule in order: host loops with their bounds evaluated on
// the host, and `launch(kernel, env)` for every kernel launch, with `env` the
// values of the enclosing host loop variables. False when a bound cannot be
// evaluated (*err says which) or when `launch` returns false.
bool walk_schedule(const std::vector<CudaHostNode>& nodes, const BoundNest& bound, std::map<std::string, int64_t>& env,
                   const std::function<bool(int, const std::map<std::string, int64_t>&)>& launch, std::string* err) {
  for (auto& n : nodes) {
    if (n.kind != CudaHostNode::Loop) {
      if (!launch(n.kernel, env)) return false;
      continue;
    }
    const analysis::Stmt& L = *n.loop;
    auto a = L.start ? eval_host_int(*L.start, bound, env) : std::optional<int64_t>(0);
    auto b = L.stop ? eval_host_int(*L.stop, bound, env) : std::nullopt;
    auto c = L.step ? eval_host_int(*L.step, bound, env) : std::optional<int64_t>(1);
    if (!a || !b || !c || *c == 0) {
      *err = "the host cannot evaluate the bounds of the loop over " + L.var;
      return false;
    }
    int64_t cnt = range_count(*a, *b, *c);
    for (int64_t i = 0; i < cnt; ++i) {
      env[L.var] = *a + i * *c;
      if (!walk_schedule(n.body, bound, env, launch, err)) return false;
    }
    env.erase(L.var);
  }
  return true;
}

CudaRunOutcome run_cuda_program(const CudaProgram& program, const BoundNest& bound, CudaTarget target,
                                const std::string& arch) {
  CudaRunOutcome out;
  if (program.decline) {
    out.decline = program.decline;
    out.declined = true;
    return out;
  }
  LoopFinals finals = schedule_loop_finals(program, bound);
  if (finals.decline) {
    out.decline = finals.decline;
    out.decline->reason = "no GPU version: " + finals.decline->reason;
    out.declined = true;
    return out;
  }
  std::unique_ptr<Backend> be;
  if (target == CudaTarget::Emulator) {
    be = std::make_unique<EmulatorBackend>();
    out.target = "emulator";
  } else {
    auto d = std::make_unique<DeviceBackend>();
    d->arch = arch;
    out.target = CudaDriver::instance().device_name();
    be = std::move(d);
  }
  if (auto e = be->prepare(program); !e.empty()) {
    out.decline = analysis::Decline{be->prepare_code, 0, e, be->detail};
    return out;
  }
  out.compile_ms = be->compile_ms;
  auto t0 = std::chrono::steady_clock::now();
  auto fail = [&](analysis::Decline why) {
    be->release();
    out.decline = std::move(why);
    return out;
  };
  // Arrays.
  std::map<std::string, uint64_t> base;
  std::vector<std::string> used;
  for (auto& a : program.arrays_read) used.push_back(a);
  for (auto& a : program.arrays_written)
    if (std::find(used.begin(), used.end(), a) == used.end()) used.push_back(a);
  // Arrays that share memory (views of one buffer) share one device buffer
  // covering the union of their byte ranges, so the kernels see the same
  // aliasing Python does. Arrays only written are copied in as well: the
  // kernel may leave some of their elements untouched.
  struct Region {
    uintptr_t lo, hi;
    uint64_t base = 0;
    bool written = false;
    std::vector<std::string> arrays;
  };
  std::vector<Region> regions;
  {
    std::vector<std::string> order = used;
    std::sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
      return bound.arrays.at(a).mem_lo < bound.arrays.at(b).mem_lo;
    });
    for (auto& name : order) {
      const ArrayBinding& a = bound.arrays.at(name);
      bool w =
          std::find(program.arrays_written.begin(), program.arrays_written.end(), name) != program.arrays_written.end();
      if (!regions.empty() && a.mem_lo < regions.back().hi) {
        regions.back().hi = std::max(regions.back().hi, a.mem_hi);
      } else {
        regions.push_back(Region{a.mem_lo, a.mem_hi, 0, false, {}});
      }
      regions.back().written = regions.back().written || w;
      regions.back().arrays.push_back(name);
    }
  }
  for (auto& r : regions) {
    if (auto e = be->alloc_copy(r.lo, r.hi, &r.base); !e.empty()) return fail(run_failure(e));
    for (auto& name : r.arrays) base[name] = r.base + (bound.arrays.at(name).mem_lo - r.lo);
  }
  // The error word (word 0), then four words per result: the value, whether
  // the nest assigned it, its Python type code, the zero signs met.
  std::vector<int64_t> slots(program.result_slots + 1, 0);
  for (auto& r : program.results) {
    int64_t* w = &slots[1 + r.slot];
    w[2] = r.init_kind < 0 ? 0 : r.init_kind;
    auto s = bound.scalars.find(r.name);
    if (s == bound.scalars.end() || r.init_kind < 0) continue;
    double f = s->second.kind == ScalarKind::Float ? s->second.fval : (double)s->second.ival;
    int64_t i = s->second.kind == ScalarKind::Float ? 0 : s->second.ival;
    switch (r.slot_type) {
      case CudaSlotType::F64: std::memcpy(w, &f, 8); break;
      case CudaSlotType::F32: {
        float x = (float)f;
        std::memcpy(w, &x, 4);
        break;
      }
      case CudaSlotType::I64: w[0] = r.repr == CudaRepr::Bool ? (i != 0) : i; break;
    }
  }
  uint64_t slot_base = 0;
  if (auto e = be->alloc_slots(slots.size() * 8, slots.data(), &slot_base); !e.empty()) return fail(run_failure(e));

  // The schedule.
  std::string err;
  auto launch = [&](int kernel, const std::map<std::string, int64_t>& env) -> bool {
    if (cancel_requested()) {
      err = kInterrupted;
      return false;
    }
    const CudaKernel& k = program.kernels[kernel];
    std::optional<std::vector<int64_t>> last;
    bool wants_last = std::any_of(k.params.begin(), k.params.end(),
                                  [](const CudaParam& p) { return p.kind == CudaParamKind::GridLast; });
    if (wants_last) {
      bool ok = true;
      last = last_grid_point(program, kernel, bound, env, &ok);
      if (!ok) {
        err = "no GPU version: the loop bounds depend on values only known while the loop runs";
        return false;
      }
    }
    std::vector<uint64_t> vals(k.params.size());
    std::vector<void*> args(k.params.size());
    for (size_t i = 0; i < k.params.size(); ++i) {
      const CudaParam& p = k.params[i];
      uint64_t v = 0;
      switch (p.kind) {
        case CudaParamKind::ArrayData: {
          const ArrayBinding& ab = bound.arrays.at(p.array);
          v = base.at(p.array) + ((uintptr_t)ab.data - ab.mem_lo);
          break;
        }
        case CudaParamKind::ArrayExtent: v = (uint64_t)bound.arrays.at(p.array).shape[p.dim]; break;
        case CudaParamKind::ArrayStride: {
          const ArrayBinding& ab = bound.arrays.at(p.array);
          v = (uint64_t)(ab.strides[p.dim] / analysis::dtype_size(ab.dtype));
          break;
        }
        case CudaParamKind::IntScalar: {
          auto it = env.find(p.array);
          if (it != env.end()) {
            v = (uint64_t)it->second;
          } else {
            auto s = bound.scalars.find(p.array);
            if (s == bound.scalars.end()) {
              err = "no value for " + p.array;
              return false;
            }
            v = (uint64_t)s->second.ival;
          }
          break;
        }
        case CudaParamKind::FloatScalar: {
          auto s = bound.scalars.find(p.array);
          if (s == bound.scalars.end()) {
            err = "no value for " + p.array;
            return false;
          }
          double f = s->second.fval;
          std::memcpy(&v, &f, 8);
          break;
        }
        case CudaParamKind::BoolScalar: {
          auto s = bound.scalars.find(p.array);
          if (s == bound.scalars.end()) {
            err = "no value for " + p.array;
            return false;
          }
          v = s->second.ival != 0 ? 1 : 0;  // the kernel reads the first byte
          break;
        }
        case CudaParamKind::GridLast:
          // No iteration at all: a value no iteration has (the body never runs).
          v = last ? (uint64_t)(*last)[p.dim] : 0;
          break;
        case CudaParamKind::LaunchNumber: v = (uint64_t)(out.launches + 1); break;
        case CudaParamKind::ErrorFlag: v = slot_base; break;
        case CudaParamKind::Result:
        case CudaParamKind::ResultMeta: v = slot_base + 8 * (1 + p.dim); break;
      }
      vals[i] = v;
      args[i] = &vals[i];
    }
    CudaLaunchGeometry g = launch_geometry(program, kernel, bound, env, be->emulator);
    if (auto e = be->launch(program, kernel, g, args.data()); !e.empty()) {
      err = e;
      return false;
    }
    ++out.launches;
    return true;
  };
  std::map<std::string, int64_t> schedule_env;
  if (!walk_schedule(program.schedule, bound, schedule_env, launch, &err)) return fail(run_failure(err));
  if (auto e = be->finish(); !e.empty()) return fail(run_failure(e));
  if (auto e = be->copy_out(slots.data(), slot_base, slots.size() * 8); !e.empty()) return fail(run_failure(e));
  if (cancel_requested()) return fail(run_failure(kInterrupted));
  // The reason is the CPU variant's for the same trap: Python then runs the
  // loop from the start on the untouched arrays (and raises where it raises).
  if (slots[0] != 0) return fail(analysis::trap_decline(static_cast<int>(slots[0] - 1)));
  for (auto& [name, v] : finals.values) {
    CudaScalarValue sv;
    sv.kind = ValueKind::PyInt;
    sv.ival = v;
    out.scalars[name] = sv;
  }
  for (auto& r : program.results) {
    const int64_t* w = &slots[1 + r.slot];
    if (w[1] == 0) continue;  // never assigned: Python keeps the old value
    CudaScalarValue v;
    double f = 0;
    int64_t i = 0;
    switch (r.slot_type) {
      case CudaSlotType::F64: std::memcpy(&f, w, 8); break;
      case CudaSlotType::F32: {
        float x;
        std::memcpy(&x, w, 4);
        f = x;
        break;
      }
      case CudaSlotType::I64: i = w[0]; break;
    }
    if (r.repr == CudaRepr::F32) f = (double)(float)f;
    if (r.repr == CudaRepr::I32) i = (int32_t)(uint32_t)(uint64_t)i;
    if (r.repr == CudaRepr::Bool) i = i != 0;
    int kind = (int)w[2];
    if (r.kind == CudaResultKind::Reduction) {
      int touched = r.value_kind >= 0 ? r.value_kind : r.init_kind;
      if (r.op == "+") {
        kind = touched;
      } else {
        // min(s, x) keeps s unless some x was strictly better: then the
        // result is a term, with the terms' type.
        bool mn = r.op == "min";
        double f0 = 0;
        int64_t i0 = 0;
        auto s0 = bound.scalars.find(r.name);
        if (s0 != bound.scalars.end()) {
          f0 = s0->second.kind == ScalarKind::Float ? s0->second.fval : (double)s0->second.ival;
          i0 = s0->second.ival;
        }
        bool fl = r.repr == CudaRepr::F64 || r.repr == CudaRepr::F32;
        bool beaten = fl ? (mn ? f < f0 : f > f0) : (mn ? i < i0 : i > i0);
        if (!r.acc_first) beaten = beaten || (fl ? f == f0 : i == i0);
        kind = beaten ? touched : r.init_kind;
        if (fl && beaten && f == 0.0 && (w[3] & 3) == 3) {
          out.scalars.clear();
          return fail(analysis::trap_decline(analysis::Trap::ReductionOrder));
        }
      }
    }
    if (kind < 0 || kind > 7) kind = 0;
    v.kind = static_cast<ValueKind>(kind);
    v.is_float = v.kind == ValueKind::PyFloat || v.kind == ValueKind::NpFloat64 || v.kind == ValueKind::NpFloat32;
    v.is_bool = v.kind == ValueKind::PyBool || v.kind == ValueKind::NpBool;
    if (v.is_float)
      v.fval = f;
    else
      v.ival = i;
    out.scalars[r.name] = v;
  }
  // Only now, with every check passed, do the arrays receive the results.
  for (auto& r : regions) {
    if (!r.written || r.hi <= r.lo) continue;
    if (auto e = be->copy_out((void*)r.lo, r.base, r.hi - r.lo); !e.empty()) {
      out.scalars.clear();
      return fail(run_failure(e));
    }
  }
  be->release();
  out.run_ms = ms_since(t0);
  return out;
}

bool summarize_launches(const CudaProgram& program, const BoundNest& bound,
                        std::vector<CudaLaunchSummary>* per_kernel) {
  per_kernel->assign(program.kernels.size(), CudaLaunchSummary{});
  int64_t budget = 1000000;
  auto count = [&](int kernel, const std::map<std::string, int64_t>& env) -> bool {
    if (--budget < 0) return false;
    const CudaKernel& k = program.kernels[kernel];
    CudaLaunchSummary& s = (*per_kernel)[kernel];
    CudaLaunchGeometry g = launch_geometry(program, kernel, bound, env, false);
    s.launches += 1;
    s.block_threads = g.block[0] * g.block[1] * g.block[2];
    s.threads += (int64_t)g.grid[0] * g.grid[1] * g.grid[2] * s.block_threads;
    // Parallel iterations: the grid loops' trip counts (outer values at
    // their first iteration when bounds depend on them).
    int64_t iters = 1;
    std::map<std::string, int64_t> e = env;
    for (auto* L : k.grid_stmts) {
      int64_t c = grid_count(*L, bound, e);
      if (c < 0) c = 0;
      iters *= c;
      auto a = L->start ? eval_host_int(*L->start, bound, e) : std::optional<int64_t>(0);
      if (a) e[L->var] = *a;
    }
    s.parallel_iterations += k.grid_stmts.empty() ? 1 : iters;
    return true;
  };
  std::map<std::string, int64_t> env;
  std::string err;
  return walk_schedule(program.schedule, bound, env, count, &err);
}

}  // namespace loopscope::jit
