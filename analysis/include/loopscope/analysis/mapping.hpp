// The GPU mapping of a bound nest: which loops the host runs around kernel
// launches, where each launch starts, and which loops form its grid.
//
// It is decided here, once, and read by both consumers: the CUDA generator
// emits exactly these launches and grids, and the cost model prices exactly
// them (launches, threads per launch, coalescing along the grid's x loop).
// The generator's program carries the mapping it emitted (CudaProgram::
// mapping); the cost model is handed that mapping, so the two cannot
// disagree about what runs on the GPU.
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

// Whether the code generator combines the reductions of `loop` across GPU
// threads (a typed decision only the generator can make). A loop whose
// verdict is Parallel needs no such rule.
using GridReductionRule = std::function<bool(const Stmt& loop)>;

// The one mapping rule:
// - a loop that is parallel (or a reduction `reduces_on_grid` accepts), with
//   bounds the host can evaluate, starts a launch; the loops perfectly
//   nested in it that qualify too (with the enclosing grid variables known
//   on the host) join its grid, up to three;
// - otherwise a loop whose body is only loops, with host bounds, and with a
//   loop inside that can start a launch, runs on the host around them;
// - otherwise the loop is one launch on a single GPU thread.
GpuMapping map_gpu(const BoundNest& bound, const ParallelPlan& plan, const GridReductionRule& reduces_on_grid);

// The same rule when no generator is at hand (the cost model on its own, and
// nests the CUDA generator declined): the generator's reduction rule without
// its typing (scalar sums, minima and maxima with a value before the nest).
GpuMapping map_gpu_by_verdicts(const BoundNest& bound, const ParallelPlan& plan);

// Whether the host can evaluate `e` before a launch: constants and names
// that are in `host_known`, or integer scalars fixed before the nest (not
// assigned in it, not loop variables).
bool host_computable(const Expr* e, const BoundNest& bound, const std::set<std::string>& host_known);

}  // namespace loopscope::analysis
