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
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"
#include "loopscope/analysis/plan.hpp"

namespace loopscope::jit {

// Two tiers of machine code, with the same results (neither uses fast-math or
// FP contraction, so every operation is the same IEEE operation in the same
// order):
// - Quick: promotes variables to registers, removes common subexpressions,
//   hoists loop invariants, then fast instruction selection. A few ms to
//   compile; runs about 1-6x slower than Optimised (no vectorisation).
// - Optimised: the O3 pipeline and the host's full back end (10-50 ms).
// Auto compiles Quick when the slower code is expected to cost less than
// waiting for Optimised (the caller's cost model decides, see
// prefer_quick), runs it, and builds Optimised on a background thread that
// replaces the cache entry when done; otherwise it compiles Optimised at once.
enum class CpuTier { Auto, Quick, Optimised };
const char* to_string(CpuTier t);  // "auto", "quick", "optimised"

struct CpuOptions {
  bool parallel = true;  // false: every loop runs sequentially ("cpu-serial")
  CpuTier tier = CpuTier::Auto;
  // Auto: whether to start with Quick code, asked on a cache miss (absent:
  // yes).
  std::function<bool()> prefer_quick;
  // Auto: keeps the nest's IR alive for the background compile. Without it
  // Auto compiles Optimised at once (the nest may not outlive the call).
  std::shared_ptr<const analysis::LoopNest> nest_owner;
  // Inputs (names in BoundNest::scalars) that are NumPy scalars (np.float64,
  // np.int64, np.bool_) rather than Python int/float/bool: arithmetic on them
  // follows NumPy's rules and values derived from them keep NumPy types.
  std::vector<std::string> numpy_scalars;
  // Those of numpy_scalars that are np.complex64 (the others' type follows
  // from their value: np.float64, np.int64, np.bool_, np.complex128).
  std::vector<std::string> complex64_scalars;
  // Those of numpy_scalars that are np.float32: float32 arithmetic, by
  // NumPy's rules for its scalars.
  std::vector<std::string> float32_scalars;
  // Those of numpy_scalars that are np.uint64 (ScalarBinding::ival holds
  // their 64 bits): NumPy's uint64 arithmetic (cpu::Small::U64).
  std::vector<std::string> uint64_scalars;
  // Those of numpy_scalars that are np.float16 (exact as a float32):
  // NumPy's float16 arithmetic (cpu::Small::F16).
  std::vector<std::string> float16_scalars;
  // Those of numpy_scalars that are np.int8, np.int16, np.int32, np.uint8,
  // np.uint16 or np.uint32, with their dtype: typed as an element read of an
  // array of that dtype (np.int32: Repr::I32; the others: cpu::Small).
  std::vector<std::pair<std::string, analysis::DType>> small_int_scalars;
  bool keep_ir = false;  // keep the optimised LLVM IR text (cpu_variant_ir)
  // NumPy's own inner loops of its float ufuncs (np.exp, np.arctan2, ...),
  // keyed "np.exp:d" (float64) or "np.exp:f" (float32): calling one on a
  // single element is what NumPy does for a scalar, so the result is NumPy's
  // to the last bit, whatever its SIMD code does. Filled by the caller from
  // the live numpy module (absent: such calls decline, as NumPy's last bits
  // may differ from the C library's).
  struct UfuncLoop {
    void* fn = nullptr;    // PyUFuncGenericFunction
    void* data = nullptr;  // its innerloopdata
    int nin = 1;
  };
  // Shared, not copied: options are made at every run, the loops once.
  std::shared_ptr<const std::map<std::string, UfuncLoop>> ufunc_loops;
  // The loop for `key` ("np.exp:d") taking `nin` arguments, or null.
  const UfuncLoop* ufunc_loop(const std::string& key, size_t nin) const {
    if (!ufunc_loops) return nullptr;
    auto it = ufunc_loops->find(key);
    return it == ufunc_loops->end() || static_cast<size_t>(it->second.nin) != nin ? nullptr : &it->second;
  }
};

// The Python type a scalar output had at its last assignment, so that the
// caller can rebuild exactly the object Python would hold.
enum class ValueKind {
  PyInt,
  PyFloat,
  PyBool,
  NpFloat64,
  NpFloat32,
  NpInt64,
  NpInt32,
  NpBool,
  NpUInt8,  // an element of a small integer array kept in a variable
  NpInt8,
  NpUInt16,
  NpInt16,
  NpUInt32,
  PyComplex,  // a Python complex, np.complex128, np.complex64 (fval, fimag)
  NpComplex128,
  NpComplex64,
  NpUInt64,   // an element of a uint64 array: its 64 bits in ival
  NpFloat16,  // an element of a float16 array (fval, exact)
};
const char* to_string(ValueKind k);  // "int", "float", "bool", "float64", ...

struct ScalarOutput {
  std::string name;
  bool assigned = false;  // false: the nest never assigned it (keep the old value)
  ValueKind kind = ValueKind::PyInt;
  int64_t ival = 0;    // PyInt, PyBool, NpInt64, NpInt32, NpBool
  double fval = 0.0;   // PyFloat, NpFloat64, NpFloat32 (exactly representable); complex: real part
  double fimag = 0.0;  // complex kinds: the imaginary part
};

class CpuVariant;  // compiled code plus the layout it expects (opaque)

struct CpuCompileResult {
  std::shared_ptr<const CpuVariant> variant;  // null when declined
  std::optional<analysis::Decline> decline;   // why the nest stays in Python
  bool cache_hit = false;
  double analyse_ms = 0.0;            // specialisation (always paid)
  double compile_ms = 0.0;            // IR generation + optimisation + machine code (0 on a hit)
  CpuTier tier = CpuTier::Optimised;  // of the variant returned (Quick or Optimised)
  bool upgrade_pending = false;       // Optimised code for it is being built in the background
  std::string parallel_loops;         // e.g. "i" or "j (inside t)"; "" when serial
};

// Specialise and compile (or find in the variant cache) the CPU code for this
// bound nest and plan. Never throws for user-level problems: returns a decline.
CpuCompileResult compile_cpu(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan,
                             const CpuOptions& options = {});

// What compile_cpu would do with this bound nest and plan, without
// compiling: the specialisation alone (memoised like compile_cpu's). The cost
// model asks it, so that it never prices as available a variant that the CPU
// code generator refuses, and explain asks it, so that it says what run will
// do: decline (and why) or run, with these loops in parallel.
struct CpuCheck {
  std::optional<analysis::Decline> decline;
  std::string parallel_loops;          // as CpuCompileResult::parallel_loops; "" when declined or serial
  std::vector<int> parallel_loop_ids;  // the same loops (analysis::map_cpu's), by Stmt::id, for the cost model
  bool compiled = false;               // its machine code is in the cache (any tier): running it compiles nothing
  // The static type of each hidden scalar the nest assigns (analysis::is_hidden_name), as the
  // kind code of the value written back (cpu_types.hpp:kind_code: 0 int, 1 float, 2 bool, 3
  // np.float64 ...), or -1 when it may be of more than one type. The buffered appends to a list
  // (kernel/python/loopscope/_appends.py) learn from it the type of each appended value.
  std::map<std::string, int> hidden_kinds;
};
CpuCheck check_cpu(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan,
                   const CpuOptions& options = {});

// Queues an Optimised compile of the variant compile_cpu would build for
// these values on the background thread, and returns at once: true when a
// compile was queued, false when the variant is cached or under way, the
// specialisation declines, or the cache is at its limits. Runs of the same
// instance find it in the cache once it is built. For a nest that runs as
// plain Python because compiling it now would cost more than it saves, but
// that runs again and again (`options.nest_owner` must own the nest: the
// job reads its IR later).
bool compile_cpu_in_background(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan,
                               const CpuOptions& options);

// Whether the variant for these values is in the cache, from the record of
// its specialisation alone (no specialising: microseconds); false when it
// was never specialised here.
bool cpu_variant_cached(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan,
                        const CpuOptions& options);

enum class RunStatus { Ok, Fallback, Cancelled };

struct CpuRunResult {
  RunStatus status = RunStatus::Ok;
  // Fallback: what made the native code stop (trap_decline: code Trap or
  // SubscriptRange); Cancelled: code Interrupted. Empty for Ok.
  std::optional<analysis::Decline> decline;
  std::vector<ScalarOutput> outputs;  // one per LoopNest::outputs name
  double run_ms = 0.0;
  size_t snapshot_bytes = 0;  // saved before the run (0: the variant cannot stop half-way)
  // Entries of parallel loops that ran on the thread pool, and those that ran
  // on the calling thread because their work did not pay for waking the
  // other threads (analysis::parallel_region_pays). Both 0 on one thread.
  int64_t regions_parallel = 0;
  int64_t regions_inline = 0;
};

// Run a compiled variant on the bound instance (same nest, same layout as at
// compile time; the arrays' data pointers, shapes and scalar values may
// differ in the ways the variant was specialised for). On Cancelled the
// arrays hold whatever the loop had written up to that point.
// `write_extents` (ParallelPlan::write_extents of this bound instance), when
// given, limits the arrays saved before a run that may stop half-way to the
// bytes the nest can write; without it, every written array is saved whole.
CpuRunResult run_cpu(const CpuVariant& variant, const analysis::BoundNest& bound,
                     const std::map<std::string, analysis::ByteExtent>* write_extents = nullptr);

// LLVM IR of a variant (after optimisation), for reports and tests; empty
// unless it was compiled with CpuOptions::keep_ir (a variant compiled
// without it is recompiled, not taken from the cache, when keep_ir is set).
std::string cpu_variant_ir(const CpuVariant& variant);
bool cpu_variant_needs_snapshot(const CpuVariant& variant);
// Loop nests generated interchanged ("i/j": outer/inner as written, comma
// separated); empty when none.
std::string cpu_variant_interchanged(const CpuVariant& variant);
// Loop nests whose outer loop was unrolled and jammed into the inner one
// ("i/j", comma separated): several independent accumulation chains in flight.
std::string cpu_variant_unroll_jammed(const CpuVariant& variant);

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
// Whether the thread pool's workers are awake now: a parallel loop (or a
// snapshot of 4 MiB or more, copied on the pool) ended less than their spin
// time (2 ms) ago.
// The first parallel region of a run then costs a warm fork/join, not a
// wake-up (the cost model's VariantFacts::workers_awake).
bool cpu_workers_awake();
// Testing: every parallel loop runs as chunks of one iteration each (up to
// 65536 chunks), last chunk first, on the calling thread. Chunks are still
// combined in order (reductions, last values), so correct parallel code gives
// the sequential result bit for bit (a sum's chunks start from -0.0; only a
// reduction adding several terms per iteration is still reassociated), while
// a loop wrongly made parallel gives a different one, deterministically.
void set_cpu_reverse_chunks(bool on);
bool cpu_reverse_chunks();
// Whether NumPy prints its RuntimeWarnings now (np.seterr/np.errstate: any of
// divide, over, invalid set to "warn"; the binding sets it before each run).
// When it does not, a run that meets an overflow or a division by zero stays
// native: nothing would be printed, and the values are NumPy's.
void set_numpy_warnings(bool on);
bool numpy_warnings();

struct CpuCacheStats {
  size_t entries = 0;
  size_t hits = 0;
  size_t misses = 0;
  size_t upgrades = 0;                // Quick entries replaced by background Optimised code
  size_t specialisations_reused = 0;  // hits that skipped the specialisation
};
CpuCacheStats cpu_cache_stats();
// Drops every cached variant and every background compile not yet started;
// one under way finishes but does not enter the cache.
void clear_cpu_cache();
// Blocks until no background (Optimised) compile is queued or running.
void wait_cpu_compiles();
// Whether a background compile is queued or running now (it holds a core:
// a parallel run beside it measures the compile as much as the code).
bool cpu_compiling_in_background();
// At shutdown: drops queued background compiles, waits for the one under way
// and starts no other (later Auto misses keep their Quick code). Call it
// before exit() begins destroying static objects, which LLVM's code
// generator still uses.
void stop_cpu_compiles();
// Tier of a compiled variant (Quick or Optimised).
CpuTier cpu_variant_tier(const CpuVariant& variant);

}  // namespace loopscope::jit
