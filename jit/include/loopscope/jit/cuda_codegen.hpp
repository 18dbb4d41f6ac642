// CUDA source generation for a bound loop nest and its parallel plan.
//
// The generated program has two parts:
//  - CUDA C source (readable: the Python lines as comments, the user's names)
//    holding one __global__ kernel per parallel region of the nest;
//  - a host schedule: the sequential loops that enclose parallel regions,
//    run on the host, each iteration launching the region's kernel.
//
// Every kernel parameter occupies one 8-byte slot (pointers, int64 values,
// doubles; a bool reads the slot's first byte), so a launcher fills an array
// of slots and passes their addresses, exactly as cuLaunchKernel expects.
//
// Semantics are the CPU variant's (one exactness policy for every device):
// the generator types every scalar with the CPU variant's specialiser (so a
// nest the CPU variant declines for exactness is declined here with the same
// reason), keeps Python's and NumPy's scalar types, and stops the run where
// the CPU variant traps (an int beyond int64, a division by zero on Python
// numbers, a math domain error, ...; see analysis/exactness.hpp).
//
// User text (Python source lines, names) reaches the generated source only
// through cuda_escape().
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"
#include "loopscope/analysis/mapping.hpp"
#include "loopscope/analysis/plan.hpp"

namespace loopscope::jit {

// What a kernel parameter slot holds.
enum class CudaParamKind {
  ArrayData,     // device pointer to the array's element [0, ...]; `array`
  ArrayExtent,   // shape[dim] of `array`
  ArrayStride,   // stride[dim] of `array`, in elements
  IntScalar,     // an int read by the nest (`array` holds its Python name), or a host loop variable
  FloatScalar,   // a float read by the nest (`array` holds its Python name)
  BoolScalar,    // a bool read by the nest (`array` holds its Python name)
  ErrorFlag,     // device pointer to the int64 error word (0 = no error)
  Result,        // device pointer to the value word of output `array` (dim = its index)
  ResultMeta,    // device pointer to the words after it (assigned flag, type code, zero signs)
  GridLast,      // the value grid loop `dim` has at the launch's last iteration in Python's
                 // order (the iteration whose scalars Python keeps)
  LaunchNumber,  // the launch's number in the run (1, 2, ...): a later launch's iterations
                 // come after an earlier one's (LastAssigned results)
};

struct CudaParam {
  CudaParamKind kind = CudaParamKind::IntScalar;
  std::string name;   // C++ parameter name in the kernel
  std::string array;  // for Array*: the array's Python name
  int dim = 0;        // for ArrayExtent/ArrayStride
};

// How a result slot is combined and returned.
enum class CudaResultKind {
  Reduction,     // seeded by the host with the scalar's value, combined
                 // atomically by every thread
  LastValue,     // assigned by every iteration: written by the thread that runs the last one
  LastAssigned,  // assigned by some iterations: the value of the latest (in Python's order)
                 // that assigned it, each block's latest kept under a lock with its
                 // launch number and grid position
  Sequential,    // read and written by the single thread of a sequential kernel
};

// How a Python value is held (the CPU variant's representations).
enum class CudaRepr { I64, I32, F64, F32, Bool };

// The C type of a result's value word.
enum class CudaSlotType { F64, F32, I64 };

// Each result owns four 8-byte words from `slot` on: the value, whether the
// nest assigned it, its Python type code (0 int, 1 float, 2 bool,
// 3 np.float64, 4 np.float32, 5 np.int64, 6 np.int32, 7 np.bool_: the order of
// jit::ValueKind), and the signs of the zeros a float min/max reduction met.
// A LastAssigned result owns nine: the fourth is a lock, then the launch
// number and the grid position of the iteration whose value it holds, then
// the latest (launch, outermost position) a block announced.
struct CudaResult {
  std::string name;  // Python scalar (or in-kernel loop variable) name
  CudaResultKind kind = CudaResultKind::Reduction;
  CudaRepr repr = CudaRepr::F64;
  CudaSlotType slot_type = CudaSlotType::F64;
  std::string op;         // Reduction: "+", "min", "max"
  bool acc_first = true;  // min/max: the accumulator is the first argument (min(s, x))
  int init_kind = -1;     // type code of the value before the nest, -1 when it has none
  int value_kind = -1;    // Reduction: type code once a term was combined (-1: unchanged)
  int slot = 0;           // index of the first word in the result buffer
  int kernel = -1;        // kernel that writes it
  int loop = 0;           // Stmt::id of the loop whose iterations produce it
  // Compatibility views of `repr`.
  bool is_float = true;
  bool is_bool = false;
};

struct CudaKernel {
  std::string name;  // e.g. "loopscope_L1"
  int loop = 0;      // Stmt::id of the For at the region's root
  std::vector<CudaParam> params;
  // Grid loops, outermost first, and the hardware dimension of each
  // (0 = x, 1 = y, 2 = z). Empty for a single-thread sequential kernel.
  std::vector<int> grid_loops;
  std::vector<const analysis::Stmt*> grid_stmts;
  std::vector<int> grid_axis;
  unsigned block[3] = {1, 1, 1};
  std::string mapping;              // one readable sentence on the thread mapping
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
  std::string source;                        // the CUDA C source shown to the user and compiled
  std::string emulator_entry;                // extra C++ appended when compiled by the emulator
  std::vector<CudaKernel> kernels;
  std::vector<CudaHostNode> schedule;
  // The mapping the schedule and the kernels emit (analysis::map_gpu); the
  // cost model prices this very mapping.
  analysis::GpuMapping mapping;
  std::vector<CudaResult> results;
  int result_slots = 0;  // 8-byte words after the error word
  // Loops whose variables the host computes after the run (host loops and
  // grid loops); the other loop variables come back as results.
  std::vector<const analysis::Stmt*> host_side_loops;
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
// The header the helper header includes, shared with the CPU runtime
// (math.hypot, round(x, ndigits)), and its contents.
extern const char* const kCudaSharedHeaderName;  // "loopscope_math_shared.h"
std::string cuda_shared_header();

// The one way user text enters generated CUDA (and the C++ the emulator
// compiles from it). Comment: printable ASCII on one line, non-ASCII as
// U+XXXX, no trailing backslash, no "*/", "/*" or "??" sequences.
// Identifier: a valid C++ identifier fragment ([A-Za-z0-9_], non-ASCII as
// uXXXX, other characters as '_'); the generator adds prefixes and
// suffixes that keep names unique and clear of C++, CUDA and its own names.
enum class CudaTextUse { Comment, Identifier };
std::string cuda_escape(const std::string& text, CudaTextUse use);

struct CudaOptions {
  // Scalar inputs that are NumPy scalars (np.float64, np.int64, np.bool_):
  // as jit::CpuOptions::numpy_scalars.
  std::vector<std::string> numpy_scalars;
};

CudaProgram generate_cuda(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan,
                          const CudaOptions& options = {});

// Host-side evaluation of the integer expressions of the schedule (loop
// bounds) given scalar inputs and host loop variables: analysis::eval_int
// (Python's semantics) over those names. Returns nullopt when the expression
// is not a host-computable integer.
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

// The values of the variables of the program's host-side loops (host loops
// and grid loops) after the run: walks the host schedule and each launch's
// grid backwards from the end. Declines when a bound cannot be evaluated on
// the host or the walk is too long.
LoopFinals schedule_loop_finals(const CudaProgram& program, const analysis::BoundNest& bound);

// The values of kernel `k`'s grid loop variables at the last iteration (in
// Python's order) of a launch with host loop variables `env`; nullopt when
// the launch runs no iteration or a bound cannot be evaluated (*ok false).
std::optional<std::vector<int64_t>> last_grid_point(const CudaProgram& program, int k, const analysis::BoundNest& bound,
                                                    const std::map<std::string, int64_t>& env, bool* ok);

}  // namespace loopscope::jit
