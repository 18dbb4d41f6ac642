// NVRTC: compile generated CUDA source to PTX and CUBIN, and read the
// resources each kernel needs (registers per thread, shared memory per
// block) from the CUBIN for the cost model.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace loopscope::jit {

struct CudaKernelResources {
  int registers = -1;     // registers per thread (EIATTR_REGCOUNT)
  long shared_bytes = 0;  // static shared memory per block (.nv.shared.<kernel>)
  long local_bytes = 0;   // per-thread stack frame (EIATTR_FRAME_SIZE)
  int max_threads = 0;    // EIATTR_MAX_THREADS when present
};

struct NvrtcOutput {
  bool ok = false;
  std::string arch;   // "sm_80", ...
  std::string log;    // NVRTC's log (errors and warnings)
  std::string error;  // readable message with the source, when !ok
  std::string ptx;
  std::vector<char> cubin;                               // empty when only PTX was requested
  std::map<std::string, CudaKernelResources> resources;  // by kernel name
  double compile_ms = 0;                                 // wall time of nvrtcCompileProgram
  bool unavailable = false;                              // no NVRTC library could be loaded (error says so)
};

// Compiles `source` (which includes loopscope_cuda.h, passed to NVRTC in
// memory) for `arch` ("sm_80", "sm_90", ...). With want_cubin the program is
// compiled for the real architecture (PTX is still returned); otherwise for
// the virtual one (compute_XX), giving PTX only. Options always include
// --fmad=false (no contraction) and no fast math.
NvrtcOutput nvrtc_compile(const std::string& source, const std::string& arch, bool want_cubin,
                          const std::vector<std::string>& kernel_names = {});

// Resources reported by ptxas (-v) in an NVRTC log: "Used N registers",
// "N bytes smem", "N bytes stack frame", per entry function.
std::map<std::string, CudaKernelResources> ptxas_resources(const std::string& log);

// Resources of every kernel in a CUBIN (an ELF file).
std::map<std::string, CudaKernelResources> cubin_resources(const std::vector<char>& cubin);

// NVRTC's version ("13.0", "unknown" without NVRTC) and the architectures
// it supports (75, 80, ...; none without NVRTC).
std::string nvrtc_version();
std::vector<int> nvrtc_supported_archs();

// NVRTC is loaded at run time, on first use (see cuda_nvrtc.cpp for the
// order of the candidates). set_nvrtc_search_dirs gives the folders of the
// nvidia-cuda-nvrtc Python packages; it counts only before the first use.
struct NvrtcLibrary {
  bool available = false;
  std::string path;   // the library loaded
  std::string error;  // why none was
};
void set_nvrtc_search_dirs(const std::vector<std::string>& dirs);
NvrtcLibrary nvrtc_library();

}  // namespace loopscope::jit
