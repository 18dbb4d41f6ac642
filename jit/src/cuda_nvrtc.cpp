// NVRTC compilation and CUBIN resource extraction.
#include "loopscope/jit/cuda_nvrtc.hpp"

#include <dlfcn.h>

#include <chrono>
#include <cstdint>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>

#include "loopscope/jit/cuda_codegen.hpp"

namespace loopscope::jit {

namespace {

// NVRTC is loaded at run time (dlopen), never linked: the engine builds and
// runs without a CUDA toolkit, and NVRTC comes from the nvidia-cuda-nvrtc
// package on PyPI, from a toolkit, or from LOOPSCOPE_NVRTC. The few types and
// entry points used are declared here, as nvrtc.h declares them (their ABI
// has been stable since CUDA 11).
using nvrtcResult = int;
constexpr nvrtcResult NVRTC_SUCCESS = 0;
struct _nvrtcProgram;
using nvrtcProgram = _nvrtcProgram*;

struct Nvrtc {
  void* lib = nullptr;
  std::string path;   // the library loaded
  std::string error;  // why none was, when lib is null
  nvrtcResult (*Version)(int*, int*) = nullptr;
  nvrtcResult (*GetNumSupportedArchs)(int*) = nullptr;
  nvrtcResult (*GetSupportedArchs)(int*) = nullptr;
  nvrtcResult (*CreateProgram)(nvrtcProgram*, const char*, const char*, int, const char* const*,
                               const char* const*) = nullptr;
  nvrtcResult (*CompileProgram)(nvrtcProgram, int, const char* const*) = nullptr;
  nvrtcResult (*GetProgramLogSize)(nvrtcProgram, size_t*) = nullptr;
  nvrtcResult (*GetProgramLog)(nvrtcProgram, char*) = nullptr;
  const char* (*GetErrorString)(nvrtcResult) = nullptr;
  nvrtcResult (*DestroyProgram)(nvrtcProgram*) = nullptr;
  nvrtcResult (*GetPTXSize)(nvrtcProgram, size_t*) = nullptr;
  nvrtcResult (*GetPTX)(nvrtcProgram, char*) = nullptr;
  nvrtcResult (*GetCUBINSize)(nvrtcProgram, size_t*) = nullptr;
  nvrtcResult (*GetCUBIN)(nvrtcProgram, char*) = nullptr;
};

std::mutex g_search_m;
std::vector<std::string> g_search_dirs;  // set_nvrtc_search_dirs: the Python packages' lib folders

// The candidates, in order: LOOPSCOPE_NVRTC (a file; "none" means no NVRTC),
// the lib folders of the nvidia-cuda-nvrtc packages the Python process can
// import, the toolkit ($CUDA_HOME, $CUDA_PATH, /usr/local/cuda), a conda
// environment ($CONDA_PREFIX/lib), then the dynamic loader's own search.
std::vector<std::string> nvrtc_candidates() {
  std::vector<std::string> out;
  if (const char* p = std::getenv("LOOPSCOPE_NVRTC")) {
    if (std::string(p) != "none") out.push_back(p);
    return out;
  }
  static const char* const sonames[] = {"libnvrtc.so.13", "libnvrtc.so.12"};
  {
    std::lock_guard<std::mutex> lk(g_search_m);
    for (auto& d : g_search_dirs)
      for (const char* so : sonames) out.push_back(d + "/" + so);
  }
  std::vector<std::string> roots;
  for (const char* var : {"CUDA_HOME", "CUDA_PATH"})
    if (const char* r = std::getenv(var)) roots.push_back(r);
  roots.push_back("/usr/local/cuda");
  for (auto& r : roots)
    for (const char* so : sonames) out.push_back(r + "/lib64/" + so);
  if (const char* conda = std::getenv("CONDA_PREFIX"))  // conda-forge's cuda-nvrtc
    for (const char* so : sonames) out.push_back(std::string(conda) + "/lib/" + so);
  for (const char* so : sonames) out.push_back(so);
  return out;
}

const Nvrtc& nvrtc() {
  static Nvrtc api;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> tried = nvrtc_candidates();
    for (auto& c : tried) {
      void* h = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!h) continue;
      Nvrtc a;
      bool all = true;  // every entry point found
      auto sym = [&](auto& f, const char* name) {
        f = reinterpret_cast<std::decay_t<decltype(f)>>(dlsym(h, name));
        all = all && f;
      };
      sym(a.Version, "nvrtcVersion");
      sym(a.GetNumSupportedArchs, "nvrtcGetNumSupportedArchs");
      sym(a.GetSupportedArchs, "nvrtcGetSupportedArchs");
      sym(a.CreateProgram, "nvrtcCreateProgram");
      sym(a.CompileProgram, "nvrtcCompileProgram");
      sym(a.GetProgramLogSize, "nvrtcGetProgramLogSize");
      sym(a.GetProgramLog, "nvrtcGetProgramLog");
      sym(a.GetErrorString, "nvrtcGetErrorString");
      sym(a.DestroyProgram, "nvrtcDestroyProgram");
      sym(a.GetPTXSize, "nvrtcGetPTXSize");
      sym(a.GetPTX, "nvrtcGetPTX");
      sym(a.GetCUBINSize, "nvrtcGetCUBINSize");
      sym(a.GetCUBIN, "nvrtcGetCUBIN");
      if (!all) {
        dlclose(h);
        continue;
      }
      a.lib = h;
      a.path = c;
      api = a;
      return;
    }
    api.error =
        "NVRTC was not found (install the nvidia-cuda-nvrtc package from PyPI, or a CUDA toolkit; "
        "LOOPSCOPE_NVRTC names the library)";
  });
  return api;
}

std::string numbered(const std::string& src) {
  std::ostringstream out;
  std::istringstream in(src);
  int n = 1;
  for (std::string line; std::getline(in, line); ++n) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%4d | ", n);
    out << buf << line << "\n";
  }
  return out.str();
}

template <class T>
bool read_at(const std::vector<char>& b, size_t off, T* out) {
  if (off + sizeof(T) > b.size()) return false;
  std::memcpy(out, b.data() + off, sizeof(T));
  return true;
}

}  // namespace

std::map<std::string, CudaKernelResources> ptxas_resources(const std::string& log) {
  std::map<std::string, CudaKernelResources> res;
  std::istringstream in(log);
  std::string current;
  auto number_before = [](const std::string& line, const std::string& word) -> long {
    auto p = line.find(word);
    if (p == std::string::npos || p == 0) return -1;
    size_t e = p;
    while (e > 0 && line[e - 1] == ' ') --e;
    size_t b = e;
    while (b > 0 && std::isdigit((unsigned char)line[b - 1])) --b;
    if (b == e) return -1;
    return std::stol(line.substr(b, e - b));
  };
  for (std::string line; std::getline(in, line);) {
    auto q = line.find("Compiling entry function '");
    if (q != std::string::npos) {
      auto b = q + 26, e = line.find('\'', b);
      current = line.substr(b, e - b);
      continue;
    }
    auto f = line.find("Function properties for ");
    if (f != std::string::npos) {
      current = line.substr(f + 24);
      while (!current.empty() && (current.back() == ' ' || current.back() == '\r')) current.pop_back();
      continue;
    }
    if (current.empty()) continue;
    if (long r = number_before(line, " registers"); r >= 0) res[current].registers = (int)r;
    if (long s = number_before(line, " bytes smem"); s >= 0) res[current].shared_bytes = s;
    if (long st = number_before(line, " bytes stack frame"); st >= 0) res[current].local_bytes = st;
  }
  return res;
}

void set_nvrtc_search_dirs(const std::vector<std::string>& dirs) {
  std::lock_guard<std::mutex> lk(g_search_m);
  g_search_dirs = dirs;
}

NvrtcLibrary nvrtc_library() {
  const Nvrtc& api = nvrtc();
  return NvrtcLibrary{api.lib != nullptr, api.path, api.error};
}

std::string nvrtc_version() {
  const Nvrtc& api = nvrtc();
  int major = 0, minor = 0;
  if (!api.lib || api.Version(&major, &minor) != NVRTC_SUCCESS) return "unknown";
  return std::to_string(major) + "." + std::to_string(minor);
}

std::vector<int> nvrtc_supported_archs() {
  const Nvrtc& api = nvrtc();
  int n = 0;
  std::vector<int> archs;
  if (!api.lib || api.GetNumSupportedArchs(&n) != NVRTC_SUCCESS || n <= 0) return archs;
  archs.resize(n);
  api.GetSupportedArchs(archs.data());
  return archs;
}

NvrtcOutput nvrtc_compile(const std::string& source, const std::string& arch, bool want_cubin,
                          const std::vector<std::string>& kernel_names) {
  (void)kernel_names;
  NvrtcOutput out;
  out.arch = arch;
  std::string digits = arch.substr(arch.find('_') == std::string::npos ? 0 : arch.find('_') + 1);
  std::string header = cuda_helper_header(), shared = cuda_shared_header();
  if (header.empty() || shared.empty()) {
    out.error = "the helper header " + std::string(header.empty() ? kCudaHelperHeaderName : kCudaSharedHeaderName) +
                " was not found in " + cuda_share_dir();
    return out;
  }
  const Nvrtc& api = nvrtc();
  if (!api.lib) {
    out.error = api.error;
    out.unavailable = true;
    return out;
  }
  const char* headers[] = {header.c_str(), shared.c_str()};
  const char* names[] = {kCudaHelperHeaderName, kCudaSharedHeaderName};
  nvrtcProgram prog = nullptr;
  if (api.CreateProgram(&prog, source.c_str(), "loopscope_kernel.cu", 2, headers, names) != NVRTC_SUCCESS) {
    out.error = "NVRTC could not create a program";
    return out;
  }
  std::string archopt = "--gpu-architecture=" + std::string(want_cubin ? "sm_" : "compute_") + digits;
  std::vector<const char*> opts = {archopt.c_str(), "--std=c++17",     "--fmad=false",
                                   "--ftz=false",   "--prec-div=true", "--prec-sqrt=true"};
  if (want_cubin) opts.push_back("--ptxas-options=-v");  // resource usage in the log
  auto t0 = std::chrono::steady_clock::now();
  nvrtcResult rc = api.CompileProgram(prog, (int)opts.size(), opts.data());
  out.compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  size_t log_size = 0;
  api.GetProgramLogSize(prog, &log_size);
  if (log_size > 1) {
    out.log.resize(log_size);
    api.GetProgramLog(prog, &out.log[0]);
    while (!out.log.empty() && (out.log.back() == '\0' || out.log.back() == '\n')) out.log.pop_back();
  }
  if (rc != NVRTC_SUCCESS) {
    out.error = std::string("NVRTC could not compile the generated CUDA (") + api.GetErrorString(rc) + ") for " + arch +
                ":\n" + out.log + "\n\nSource:\n" + numbered(source);
    api.DestroyProgram(&prog);
    return out;
  }
  size_t n = 0;
  if (api.GetPTXSize(prog, &n) == NVRTC_SUCCESS && n > 0) {
    out.ptx.resize(n);
    api.GetPTX(prog, &out.ptx[0]);
    while (!out.ptx.empty() && out.ptx.back() == '\0') out.ptx.pop_back();
  }
  if (want_cubin) {
    if (api.GetCUBINSize(prog, &n) == NVRTC_SUCCESS && n > 0) {
      out.cubin.resize(n);
      api.GetCUBIN(prog, out.cubin.data());
      out.resources = cubin_resources(out.cubin);
      // ptxas's own report is authoritative; the ELF attributes fill gaps.
      for (auto& [name, r] : ptxas_resources(out.log)) {
        auto& dst = out.resources[name];
        if (r.registers >= 0) dst.registers = r.registers;
        dst.shared_bytes = r.shared_bytes;
        dst.local_bytes = r.local_bytes;
      }
    }
  }
  api.DestroyProgram(&prog);
  out.ok = true;
  return out;
}

// The CUBIN is an ELF64 file. Per-kernel attributes live in the sections
// ".nv.info" (whole module; entries keyed by the kernel's symbol index) and
// ".nv.info.<kernel>". Each entry is {u8 format, u8 attribute, payload}:
// format 1 has no payload, 2 a byte, 3 a u16, 4 a u16 size followed by that
// many bytes. Registers: attribute 0x2f (REGCOUNT, {u32 symbol, u32 count});
// stack frame: 0x11 (FRAME_SIZE, {u32 symbol, u32 bytes}). Static shared
// memory is the size of section ".nv.shared.<kernel>". As a fallback for the
// register count, the upper byte of sh_info of ".text.<kernel>" holds it.
std::map<std::string, CudaKernelResources> cubin_resources(const std::vector<char>& b) {
  std::map<std::string, CudaKernelResources> res;
  if (b.size() < 64 ||
      std::memcmp(b.data(),
                  "\x7f"
                  "ELF",
                  4) != 0 ||
      b[4] != 2)
    return res;
  uint64_t shoff = 0;
  uint16_t shentsize = 0, shnum = 0, shstrndx = 0;
  read_at(b, 0x28, &shoff);
  read_at(b, 0x3a, &shentsize);
  read_at(b, 0x3c, &shnum);
  read_at(b, 0x3e, &shstrndx);
  if (shentsize < 64 || shoff + (uint64_t)shnum * shentsize > b.size() || shstrndx >= shnum) return res;
  struct Sec {
    uint32_t name, type, info, link;
    uint64_t off, size, entsize;
    std::string sname;
  };
  std::vector<Sec> secs(shnum);
  for (uint16_t i = 0; i < shnum; ++i) {
    size_t h = shoff + (size_t)i * shentsize;
    read_at(b, h + 0x00, &secs[i].name);
    read_at(b, h + 0x04, &secs[i].type);
    read_at(b, h + 0x18, &secs[i].off);
    read_at(b, h + 0x20, &secs[i].size);
    read_at(b, h + 0x28, &secs[i].link);
    read_at(b, h + 0x2c, &secs[i].info);
    read_at(b, h + 0x38, &secs[i].entsize);
  }
  auto str_at = [&](const Sec& tab, uint32_t off) {
    std::string s;
    for (size_t p = tab.off + off; p < b.size() && p < tab.off + tab.size && b[p]; ++p) s += b[p];
    return s;
  };
  for (auto& s : secs) s.sname = str_at(secs[shstrndx], s.name);
  // Symbol names (for entries keyed by symbol index).
  std::vector<std::string> symbols;
  for (auto& s : secs) {
    if (s.type != 2 /*SHT_SYMTAB*/ || s.entsize < 24 || s.link >= secs.size()) continue;
    for (uint64_t o = 0; o + 24 <= s.size; o += s.entsize) {
      uint32_t nm = 0;
      read_at(b, s.off + o, &nm);
      symbols.push_back(str_at(secs[s.link], nm));
    }
  }
  auto parse_info = [&](const Sec& s, const std::string& owner) {
    size_t p = s.off, end = std::min<size_t>(s.off + s.size, b.size());
    while (p + 2 <= end) {
      uint8_t fmt = (uint8_t)b[p], attr = (uint8_t)b[p + 1];
      p += 2;
      uint16_t size = 0;
      if (fmt == 1) {
        continue;
      } else if (fmt == 2) {
        p += 1;
        continue;
      } else if (fmt == 3) {
        p += 2;
        continue;
      } else if (fmt == 4) {
        if (!read_at(b, p, &size)) break;
        p += 2;
      } else {
        break;
      }
      size_t payload = p;
      p += size;
      if (p > end) break;
      if ((attr == 0x2f || attr == 0x11) && size >= 8) {
        uint32_t sym = 0, val = 0;
        read_at(b, payload, &sym);
        read_at(b, payload + 4, &val);
        std::string name = sym < symbols.size() ? symbols[sym] : owner;
        if (name.empty()) continue;
        if (attr == 0x2f)
          res[name].registers = (int)val;
        else
          res[name].local_bytes = val;
      } else if (attr == 0x05 && size >= 12 && !owner.empty()) {  // MAX_THREADS {x, y, z}
        uint32_t x = 0, y = 0, z = 0;
        read_at(b, payload, &x);
        read_at(b, payload + 4, &y);
        read_at(b, payload + 8, &z);
        res[owner].max_threads = (int)(x * y * z);
      }
    }
  };
  for (auto& s : secs) {
    if (s.sname == ".nv.info")
      parse_info(s, "");
    else if (s.sname.rfind(".nv.info.", 0) == 0)
      parse_info(s, s.sname.substr(9));
  }
  for (auto& s : secs) {
    if (s.sname.rfind(".text.", 0) == 0) {
      std::string k = s.sname.substr(6);
      auto& r = res[k];
      if (r.registers < 0) r.registers = (int)(s.info >> 24);
    } else if (s.sname.rfind(".nv.shared.", 0) == 0) {
      res[s.sname.substr(11)].shared_bytes = (long)s.size;
    }
  }
  return res;
}

}  // namespace loopscope::jit
