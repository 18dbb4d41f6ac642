// Running a generated CUDA program: on the GPU through the runtime-loaded
// driver, or on the CPU through the emulator (the same source compiled as
// C++ against share/cuda/loopscope_emu.h).
//
// Both follow the same steps: copy each array the program uses into a
// buffer of its own (device memory, or host memory for the emulator), seed
// the result slots, walk the host schedule launching kernels, then, only if
// no kernel reported an error, copy back the arrays that were written and
// return the scalars Python must see. When a kernel meets a case where Python
// raises (an index out of range, a division by zero), nothing is copied back
// and the outcome asks for the Python loop, which then raises as usual. The
// values written back keep the Python types Python would leave (an
// np.float64 stays an np.float64), as the CPU variant's do.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/jit/cpu.hpp"
#include "loopscope/jit/cuda_codegen.hpp"

namespace loopscope::jit {

// A value to write back, with the Python type it must have (as the CPU
// variant's jit::ScalarOutput): ival for ints and bools, fval for floats
// (np.float32 values are exactly representable as doubles).
struct CudaScalarValue {
  ValueKind kind = ValueKind::PyInt;
  bool is_float = false;  // kind is PyFloat, NpFloat64 or NpFloat32
  bool is_bool = false;   // kind is PyBool or NpBool
  int64_t ival = 0;
  double fval = 0.0;
};

enum class CudaTarget { Emulator, Device };

struct CudaRunOutcome {
  // Set when the nest did not run: the Python loop runs instead, nothing was
  // copied back. Code Interrupted after jit::request_cancel; the compiler's
  // messages behind a plain reason are in its detail.
  std::optional<analysis::Decline> decline;
  bool declined = false;                           // decline decided before anything ran (no GPU version)
  std::map<std::string, CudaScalarValue> scalars;  // values to write back to Python
  int launches = 0;
  double compile_ms = 0;  // emulator compile or NVRTC + module load (0 when cached)
  double run_ms = 0;      // launches, copies included
  std::string target;     // "emulator" or the device's name
};

CudaRunOutcome run_cuda_program(const CudaProgram& program, const analysis::BoundNest& bound, CudaTarget target,
                                const std::string& arch = "");

// ---- the emulator ----------------------------------------------------------
using CudaEmuEntry = int (*)(const unsigned* grid, const unsigned* block, void** args);

struct CudaEmulatorModule {
  void* handle = nullptr;
  std::map<std::string, CudaEmuEntry> entries;  // by kernel name
  std::string library;                          // path of the shared object
  bool from_cache = false;
  double compile_ms = 0;
};

// Compiles (or finds in the cache) the program for the emulator. The cache
// directory is $LOOPSCOPE_CACHE_DIR/emu, else $XDG_CACHE_HOME/loopscope/emu,
// else ~/.cache/loopscope/emu; entries are named by a hash of everything
// that goes into the compile. On failure returns null and sets *error (the
// compiler's messages and the source).
std::shared_ptr<CudaEmulatorModule> emulator_load(const CudaProgram& program, std::string* error);
std::string emulator_cache_dir();

// Launch geometry for kernel `k` given host loop variables.
struct CudaLaunchGeometry {
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
};
CudaLaunchGeometry launch_geometry(const CudaProgram& program, int k, const analysis::BoundNest& bound,
                                   const std::map<std::string, int64_t>& env, bool emulator);

// What the host schedule will launch for this bound instance, without running
// anything (for the cost model and reports): per kernel, the number of
// launches, the parallel iterations (product of the grid loops' trip counts)
// summed over launches, and the threads launched.
struct CudaLaunchSummary {
  int64_t launches = 0;
  int64_t parallel_iterations = 0;
  int64_t threads = 0;
  unsigned block_threads = 0;
};
// Returns false when a host loop's bounds cannot be evaluated (or the walk
// exceeds a million launches).
bool summarize_launches(const CudaProgram& program, const analysis::BoundNest& bound,
                        std::vector<CudaLaunchSummary>* per_kernel);

}  // namespace loopscope::jit
