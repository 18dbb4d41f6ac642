// The mapping of a bound nest onto the devices: which loops the CPU variant
// splits over threads; which loops the host runs around GPU kernel launches,
// where each launch starts, and which loops form its grid.
//
// It is decided here, once, and read by both consumers: the code generators
// emit exactly these parallel loops, launches and grids, and the cost model
// prices exactly them (regions, launches, threads, coalescing along the
// grid's x loop). Each generator supplies only the typed part of the rule
// (which reductions it combines) and reports the mapping it emitted
// (jit::CpuCheck::parallel_loop_ids, CudaProgram::mapping); the cost model is
// handed those, so it cannot price a parallel loop or a grid that does not run.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"
#include "loopscope/analysis/plan.hpp"

namespace loopscope::analysis {

// One kernel launch: it starts at `root`; `grid` holds the loops its threads
// split (the root and loops perfectly nested in it, outermost first, at
// most three). An empty grid means the whole loop runs on one GPU thread.
struct GpuLaunchPlan {
  const Stmt* root = nullptr;
  std::vector<const Stmt*> grid;
  bool sequential() const { return grid.empty(); }
};

// A node of the host schedule, in program order: a loop the host runs (its
// body is more nodes), or a launch.
struct GpuScheduleNode {
  enum Kind { HostLoop, Launch } kind = Launch;
  const Stmt* loop = nullptr;  // HostLoop
  std::vector<GpuScheduleNode> body;
  GpuLaunchPlan launch;  // Launch
};

struct GpuMapping {
  std::vector<GpuScheduleNode> schedule;

  // Every launch, in program order (launches under host loops included).
  std::vector<const GpuLaunchPlan*> launches() const;
  // Ids of all grid loops, in program order.
  std::vector<int> grid_loop_ids() const;
  // A stable text of the mapping ("L1[L1,L2];H3{L4[]}"), for cache keys.
  std::string signature() const;
};

// Whether a code generator combines the reductions of `loop` across threads
// (a typed decision only the generator can make). A loop whose verdict is
// Parallel needs no such rule.
using ReductionRule = std::function<bool(const Stmt& loop)>;

// The one mapping rule:
// - a loop that is parallel (or a reduction `reduces_on_grid` accepts), with
//   bounds the host can evaluate, starts a launch; the loops perfectly
//   nested in it that qualify too (with the enclosing grid variables known
//   on the host) join its grid, up to three;
// - otherwise a loop whose body is only loops, with host bounds, and with a
//   loop inside that can start a launch, runs on the host around them;
// - otherwise the loop is one launch on a single GPU thread.
GpuMapping map_gpu(const BoundNest& bound, const ParallelPlan& plan, const ReductionRule& reduces_on_grid);

// The same rule when no generator is at hand (the cost model on its own, and
// nests the CUDA generator declined): the generator's reduction rule without
// its typing (scalar sums, minima and maxima with a value before the nest).
GpuMapping map_gpu_by_verdicts(const BoundNest& bound, const ParallelPlan& plan);

// The loops the CPU variant splits over threads: on each path from the root,
// the outermost loop that is parallel or whose reductions `combines` accepts
// (the loops inside it run within each thread's chunk).
struct CpuMapping {
  std::vector<int> parallel_loops;  // Stmt::ids, in program order
};
CpuMapping map_cpu(const BoundNest& bound, const ParallelPlan& plan, const ReductionRule& combines);
// The CPU generator's reduction rule without its typing: scalar sums,
// differences and products, and minima and maxima of integer inputs.
CpuMapping map_cpu_by_verdicts(const BoundNest& bound, const ParallelPlan& plan);

// Both mappings, as the cost model counts them.
struct NestMapping {
  CpuMapping cpu;
  GpuMapping gpu;
  std::string signature() const;  // for cache keys
};
// Each device's mapping by verdicts (no generator at hand).
NestMapping map_by_verdicts(const BoundNest& bound, const ParallelPlan& plan);

// Whether the host can evaluate `e` before a launch: constants and names
// that are in `host_known`, or integer scalars fixed before the nest (not
// assigned in it, not loop variables).
bool host_computable(const Expr* e, const BoundNest& bound, const std::set<std::string>& host_known);

}  // namespace loopscope::analysis
