// CUDA source generation for a bound loop nest and its parallel plan.
//
// The generated program has two parts:
//  - CUDA C source (readable: the Python lines as comments, the user's names)
//    holding one __global__ kernel per parallel region of the nest;
//  - a host schedule: the sequential loops that enclose parallel regions,
//    run on the host, each iteration launching the region's kernel.
//
// Every kernel parameter occupies one 8-byte slot (pointers, int64 values,
// doubles), so a launcher fills an array of slots and passes their
// addresses, exactly as cuLaunchKernel expects.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"
#include "loopscope/analysis/plan.hpp"

namespace loopscope::jit {

// What a kernel parameter slot holds.
enum class CudaParamKind {
  ArrayData,    // device pointer to the array's element [0, ...]; `array`
  ArrayExtent,  // shape[dim] of `array`
  ArrayStride,  // stride[dim] of `array`, in elements
  IntScalar,    // a Python int/bool read by the nest (`name`), or a host loop variable
  FloatScalar,  // a Python float read by the nest (`name`)
  ErrorFlag,    // device pointer to the int64 error word (0 = no error)
  Result,       // device pointer to the 8-byte result slot of output `name`
};

struct CudaParam {
  CudaParamKind kind = CudaParamKind::IntScalar;
  std::string name;   // C++ parameter name in the kernel
  std::string array;  // for Array*: the array's Python name
  int dim = 0;        // for ArrayExtent/ArrayStride
};

// How a result slot is combined and returned.
enum class CudaResultKind {
  Reduction,    // initialised by the host to the scalar's value (or the
                // identity), combined atomically by every thread
  LastValue,    // written by the thread that runs the last iteration
  Sequential,   // written by the single thread of a sequential kernel; a
                // second slot `<name>` + "__set" records whether it was assigned
};

struct CudaResult {
  std::string name;      // Python scalar name
  CudaResultKind kind = CudaResultKind::Reduction;
  bool is_float = true;  // slot holds a double (else an int64)
  bool is_bool = false;  // the int64 slot holds a Python bool
  std::string op;        // Reduction: "+", "min", "max"
  int slot = 0;          // index into the result buffer (8 bytes each)
  int set_slot = -1;     // Sequential: index of the "assigned" flag slot
  bool init_from_input = false;  // host initialises the slot with the scalar's value
  int kernel = -1;       // kernel that writes it
  // Reduction/LastValue: the loop whose iterations produce the value; the
  // result is written back only when that loop ran at least once.
  int loop = 0;
};

struct CudaKernel {
  std::string name;               // e.g. "loopscope_L1"
  int loop = 0;                   // Stmt::id of the For at the region's root
  std::vector<CudaParam> params;
  // Grid loops, outermost first, and the hardware dimension of each
  // (0 = x, 1 = y, 2 = z). Empty for a single-thread sequential kernel.
  std::vector<int> grid_loops;
  std::vector<const analysis::Stmt*> grid_stmts;
  std::vector<int> grid_axis;
  unsigned block[3] = {1, 1, 1};
  std::string mapping;            // one readable sentence on the thread mapping
  bool uses_warp_shuffles = false;  // reductions combine partials across a warp
};

// The host schedule: a tree of host loops and kernel launches, in program order.
struct CudaHostNode {
  enum Kind { Loop, Launch } kind = Launch;
  // Loop
  const analysis::Stmt* loop = nullptr;
  std::vector<CudaHostNode> body;
  // Launch
  int kernel = -1;
};

struct CudaProgram {
  std::optional<analysis::Decline> decline;  // set when the nest has no GPU variant
  std::string source;          // the CUDA C source shown to the user and compiled
  std::string emulator_entry;  // extra C++ appended when compiled by the emulator
  std::vector<CudaKernel> kernels;
  std::vector<CudaHostNode> schedule;
  std::vector<CudaResult> results;
  int result_slots = 0;
  std::vector<std::string> arrays_read;     // copied to the device
  std::vector<std::string> arrays_written;  // copied back
  std::vector<std::string> notes;           // readable remarks (reduction order, ...)
};

// Name of the helper header every generated source includes.
extern const char* const kCudaHelperHeaderName;  // "loopscope_cuda.h"
// Directory holding the helper and emulator headers (share/cuda).
std::string cuda_share_dir();
// Contents of the helper header (read from cuda_share_dir()).
std::string cuda_helper_header();

CudaProgram generate_cuda(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan);

// Host-side evaluation of the integer expressions of the schedule (loop
// bounds) given scalar inputs and host loop variables. Returns nullopt when
// the expression is not a host-computable integer.
std::optional<int64_t> eval_host_int(const analysis::Expr& e, const analysis::BoundNest& bound,
                                     const std::map<std::string, int64_t>& env);

// Number of iterations of range(start, stop, step) (0 when empty; step != 0).
int64_t range_count(int64_t start, int64_t stop, int64_t step);

// The values Python leaves in the nest's loop variables after running it:
// name -> value, for every loop variable that some iteration assigned.
// Returns a Decline when they cannot be computed on the host (a loop under
// an `if`, or bounds read from arrays).
struct LoopFinals {
  std::map<std::string, int64_t> values;
  std::optional<analysis::Decline> decline;
};
LoopFinals loop_variable_finals(const analysis::BoundNest& bound);

}  // namespace loopscope::jit
