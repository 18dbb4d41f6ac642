// Work counting: walks the IR of a bound nest and counts what one execution
// of the nest does (operations by kind, array loads and stores, bytes moved,
// trip counts including triangular bounds) and how the plan maps it onto
// parallel hardware. The result is a plain value that the pricing step in
// model.hpp turns into times; it can be serialised, so the pricing can be
// driven (and tested) without a nest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/decline.hpp"
#include "loopscope/analysis/mapping.hpp"
#include "loopscope/analysis/plan.hpp"

namespace loopscope::costmodel {

// Operation counts (totals over one execution of the nest, or per iteration
// where stated). Floating and integer arithmetic are kept apart because the
// GPU prices fp64 and fp32 differently and the interpreter does not care.
struct OpCounts {
  double add = 0;         // + - and unary minus, fp
  double mul = 0;         // * fp
  double div = 0;         // / fp
  double sqrt = 0;        // sqrt
  double exp = 0;         // exp, log, sin, cos, tanh, ... (transcendentals)
  double pow = 0;         // ** and pow()
  double intop = 0;       // integer + - * and the rest (index arithmetic included); not // %
  double idiv = 0;        // integer // and % (Python's floor semantics: a divide and sign fix-ups)
  double idiv_const = 0;  // those of them whose divisor is a constant (a multiply and shifts); in idiv too
  double fmod = 0;        // float // and %, fmod() of a value at least the divisor: the C library's
                          // remainder runs its loop (each in div too; a smaller value comes back at once)
  double fmod_bits = 0;   // ... and the bits of their quotients beyond the first (the loop's passes)
  double compare = 0;     // comparisons, boolean ops, min/max/abs, branches
  double call = 0;        // other calls (float(), int(), ...)
  double load = 0;        // array element reads
  double store = 0;       // array element writes
  double assign = 0;      // scalar name stores
  double index_dims = 0;  // subscript dimensions beyond the first, over all loads and stores
  // Expected branch mispredictions of the native code: an `if` whose
  // condition depends on data (array elements, or values the nest computes
  // from them) and whose branches cannot become a select counts half a miss
  // per execution (docs/costmodel.md, "Branches").
  double branch_miss = 0;
  // What the interpreter pays more or less for than the counts above say
  // (the Python variant only; each is also counted above):
  double py_float = 0;  // float + - * / on Python numbers only (no NumPy scalar)
  double py_mixed = 0;  // an op or comparison mixing a NumPy scalar of another type than
                        // float64/complex128 (float32, int32, uint8, ...; int64 with a float)
                        // with a different type: NumPy's slow path through arrays
  double np_call = 0;   // a NumPy function on a single number (np.sqrt(x), np.abs(x),
                        // round(x) of a NumPy scalar); counted in exp or call too
  double flops() const { return add + mul + div + sqrt + exp + pow; }
  OpCounts& operator+=(const OpCounts& o);
  OpCounts scaled(double f) const;
};

// One array as the nest uses it.
struct ArrayTraffic {
  std::string name;
  int elem_bytes = 8;
  double nbytes = 0;  // whole array (shape product * itemsize)
  bool read = false;
  bool written = false;
  bool fully_written = false;  // every element is written (no copy-in needed for GPU)
  double reads = 0;            // element reads (all references)
  double writes = 0;           // element writes
  double footprint_bytes = 0;  // distinct bytes touched (<= nbytes)
  // Bytes the compiled CPU code moves from memory for this array, counting a
  // whole cache line per access where the innermost loop walks with a large
  // stride and nothing where a reference does not move with the innermost loop.
  double cpu_traffic_bytes = 0;
  // Coalescing factor on the GPU: bytes fetched per useful byte along the
  // thread (x) dimension; 1 for unit stride, up to 32/elem for scattered.
  double gpu_coalescing = 1;
  // Accesses a GPU thread makes to memory: a reference that does not move
  // with the thread's own innermost loop stays in a register or L1, so it
  // counts once per entry of that loop.
  double gpu_accesses = 0;
};

// A loop a slice or a NumPy reduction of slices was lowered to ($slice1, $reduce1).
bool numpy_loop_var(const std::string& var);

struct LoopTraffic {
  int loop = 0;  // Stmt::id
  std::string var;
  int depth = 0;
  analysis::LoopVerdict verdict = analysis::LoopVerdict::Sequential;
  double entries = 0;       // how many times the loop statement starts
  double iterations = 0;    // total body executions over the nest
  double mean_trip = 0;     // iterations / entries
  bool triangular = false;  // bounds depend on an enclosing loop variable
};

struct WorkProfile {
  // Why the nest could not be counted (every native variant is then
  // unavailable for that reason); nullopt when it was.
  std::optional<analysis::Decline> uncounted;
  bool ok() const { return !uncounted; }
  std::string size_label;  // "n=1000" - the dominant size parameter, for reasons
  double size_value = 0;
  // What the size sweep varies when no input has a size (no integer in a
  // loop bound, no array): the loops' constant bounds, scaled as if they
  // were a parameter. Empty otherwise (the sweep varies size_label).
  std::string size_axis;
  bool fp32 = false;        // all floating arrays are float32
  OpCounts ops;             // totals
  OpCounts ops_parallel;    // part of `ops` inside the loops the CPU splits over threads
  OpCounts ops_gpu_kernel;  // part of `ops` inside the GPU mapping's grid launches
  OpCounts ops_vector;      // part of `ops` in innermost loops the CPU code can vectorise
  // Part of `ops` in the loops a slice or a NumPy reduction of slices was
  // lowered to (`$slice`, `$reduce` loop variables): one NumPy call per entry
  // in the interpreter, not interpreted iterations.
  OpCounts ops_numpy;
  double numpy_slices = 0;  // entries of the outermost of those loops: the interpreter's NumPy calls
  // Recurrences carried by an innermost loop (A[i, j] = f(A[i, j - 1]), or
  // s = s * a + x[i]): the operations on the path from the value produced by
  // the previous iteration to the new one, which cannot overlap. `store` counts
  // the store-to-load hops through memory.
  OpCounts ops_recurrence;
  double chain_ops = 0;  // accumulations into one scalar/element in an innermost
                         // loop: each waits for the previous (latency bound)
  std::vector<LoopTraffic> loops;
  std::vector<ArrayTraffic> arrays;
  int inputs = 0;                   // values the nest reads from outside (arrays and scalars)
  int reference_dims = 0;           // subscript dimensions over all array references
                                    // written in the nest (A[i, j] counts 2)
  double innermost_iterations = 0;  // body executions of the deepest loops
  double list_items = 0;            // items of the lists and tuples it reads, copied into snapshots before a native run
  double snapshot_bytes = 0;        // what a CPU run with checks saves before it starts (the write extents)
  // Random numbers drawn before a native run (loopscope/_draws.py: the
  // elements of the hidden arrays `$draws_k`); the interpreter draws them
  // in its loop instead. Priced per number by VariantFacts::draw_ns.
  double draws = 0;
  double statements = 0;  // assignment executions

  // CPU mapping (analysis::map_cpu, the loops the CPU variant splits): the
  // outermost parallel (or combined reduction) loops are split over threads;
  // sequential loops around them make them run `cpu_regions` times.
  int cpu_parallel_loop = -1;           // Stmt::id, -1 when nothing is parallel
  std::vector<int> cpu_parallel_loops;  // all of them (Stmt::ids, program order)
  // A region whose work does not pay for the fork/join (analysis::
  // parallel_region_pays at its entry) runs on the calling thread: its
  // operations are not in ops_parallel, and it is counted in
  // cpu_inline_regions, not in cpu_regions.
  double cpu_regions = 0;              // fork/join count
  double cpu_inline_regions = 0;       // regions run on the calling thread (too short)
  double cpu_parallel_iterations = 0;  // iterations of the parallel loop per forked region (mean)
  double parallel_fraction = 0;        // share of the work inside the parallel loop

  // GPU mapping (analysis::map_gpu, the one the CUDA generator emits): up to
  // three perfectly nested parallel loops form a launch's grid; loops around
  // them run on the host. Launches without a grid run one loop on a single
  // GPU thread; they are not priced as GPU work.
  std::vector<int> gpu_grid_loops;  // Stmt::ids, outermost first
  double gpu_launches = 0;
  double gpu_threads = 0;         // threads per launch (mean)
  double gpu_grid_reduction = 0;  // atomics per launch when a grid loop is a reduction
  // Scalars per launch assigned in some iterations only (mean over launches):
  // each block finds its latest value and updates the result under a lock.
  double gpu_last_assigned = 0;
  int gpu_single_thread_loops = 0;  // launches of the mapping without a grid

  double bytes_read() const;  // sum of array footprints read
  double bytes_written() const;
};

// Counts the work of one execution of `bound` under `plan`. When a bound
// cannot be evaluated (it reads an array, say) the profile has ok == false and
// a reason; callers then price only the interpreter with a rough count.
// `size_scale` multiplies every integer scalar used in loop bounds and every
// array dimension; it is used to draw time against problem size.
// `mapping` is what the code generators emit for this bound nest (see
// analysis/mapping.hpp); without one, analysis::map_by_verdicts.
WorkProfile count_work(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan, double size_scale = 1.0,
                       const analysis::NestMapping* mapping = nullptr);

// A key of everything count_work reads from the bound instance: the nest (by
// address), the names and kinds of the scalars, the values of the integer and boolean ones, and
// each array's name, dtype, shape and strides (not its address or contents).
// Two bound instances with the same key and the same plan count the same
// work. Keep it in step with the Counter in work.cpp.
std::string work_key(const analysis::BoundNest& bound);

nlohmann::json to_json(const WorkProfile& w);
WorkProfile work_profile_from_json(const nlohmann::json& j);

}  // namespace loopscope::costmodel
