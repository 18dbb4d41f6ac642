// The CPU variant of a loop nest: LLVM IR generated from the loop-nest IR and
// the parallel plan, specialised to the bound instance (element types,
// contiguity, loop steps, which subscripts need a run-time check), compiled
// with ORC LLJIT at O3 (no fast-math, no FP contraction) and run either
// serially or on a thread pool.
//
// Semantics: results equal CPython's. Whenever the native code meets a case
// where Python would raise or behave differently (an int overflowing int64, a
// division by zero on Python scalars, an out-of-range subscript that could not
// be proven in range beforehand, ...), it stops, restores every array it may
// have written to its content before the run, and reports Fallback: the caller
// then runs the original Python loop, which raises exactly what Python raises.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"
#include "loopscope/analysis/plan.hpp"

namespace loopscope::jit {

struct CpuOptions {
  bool parallel = true;  // false: every loop runs sequentially ("cpu-serial")
  // Inputs (names in BoundNest::scalars) that are NumPy scalars (np.float64,
  // np.int64, np.bool_) rather than Python int/float/bool: arithmetic on them
  // follows NumPy's rules and values derived from them keep NumPy types.
  std::vector<std::string> numpy_scalars;
  bool keep_ir = false;  // keep the optimised LLVM IR text (cpu_variant_ir)
};

// The Python type a scalar output had at its last assignment, so that the
// caller can rebuild exactly the object Python would hold.
enum class ValueKind {
  PyInt, PyFloat, PyBool,
  NpFloat64, NpFloat32, NpInt64, NpInt32, NpBool,
};
const char* to_string(ValueKind k);  // "int", "float", "bool", "float64", ...

struct ScalarOutput {
  std::string name;
  bool assigned = false;  // false: the nest never assigned it (keep the old value)
  ValueKind kind = ValueKind::PyInt;
  int64_t ival = 0;       // PyInt, PyBool, NpInt64, NpInt32, NpBool
  double fval = 0.0;      // PyFloat, NpFloat64, NpFloat32 (exactly representable)
};

class CpuVariant;  // compiled code plus the layout it expects (opaque)

struct CpuCompileResult {
  std::shared_ptr<const CpuVariant> variant;   // null when declined
  std::optional<analysis::Decline> decline;    // why the nest stays in Python
  bool cache_hit = false;
  double analyse_ms = 0.0;  // specialisation (always paid)
  double compile_ms = 0.0;  // IR generation + O3 + machine code (0 on a hit)
  std::string parallel_loops;  // e.g. "i" or "j (inside t)"; "" when serial
};

// Specialise and compile (or find in the variant cache) the CPU code for this
// bound nest and plan. Never throws for user-level problems: returns a decline.
CpuCompileResult compile_cpu(const analysis::BoundNest& bound,
                             const analysis::ParallelPlan& plan,
                             const CpuOptions& options = {});

enum class RunStatus { Ok, Fallback, Cancelled };

struct CpuRunResult {
  RunStatus status = RunStatus::Ok;
  std::string reason;  // for Fallback: what made the native code stop
  std::vector<ScalarOutput> outputs;  // one per LoopNest::outputs name
  double run_ms = 0.0;
};

// Run a compiled variant on the bound instance (same nest, same layout as at
// compile time; the arrays' data pointers, shapes and scalar values may
// differ in the ways the variant was specialised for). On Cancelled the
// arrays hold whatever the loop had written up to that point.
CpuRunResult run_cpu(const CpuVariant& variant, const analysis::BoundNest& bound);

// LLVM IR of a variant (after optimisation), for reports and tests; empty
// unless it was compiled with CpuOptions::keep_ir (a variant compiled
// without it is recompiled, not taken from the cache, when keep_ir is set).
std::string cpu_variant_ir(const CpuVariant& variant);
bool cpu_variant_needs_snapshot(const CpuVariant& variant);
// Loop nests generated interchanged ("i/j": outer/inner as written, comma
// separated); empty when none.
std::string cpu_variant_interchanged(const CpuVariant& variant);

// Interrupts. The kernel's SIGINT thread calls request_cancel(true); running
// native loops notice it within one chunk or block (well under 100 ms) and
// stop with RunStatus::Cancelled. The caller clears it before a run.
void request_cancel(bool on);
bool cancel_requested();
// The flag itself, for a signal-handling thread that cannot call into C++
// through a shared-library boundary (write 1 to cancel).
std::atomic<bool>* cancel_flag();
// A callback run about every 20 ms on the thread that called run_cpu while a
// native loop is running (the Python binding uses it to check Python's
// signals); it returns true to cancel.
using PollCallback = bool (*)();
void set_poll_callback(PollCallback cb);

int cpu_thread_count();  // threads used by parallel loops
void set_cpu_thread_count(int n);

struct CpuCacheStats {
  size_t entries = 0;
  size_t hits = 0;
  size_t misses = 0;
};
CpuCacheStats cpu_cache_stats();
void clear_cpu_cache();

}  // namespace loopscope::jit
