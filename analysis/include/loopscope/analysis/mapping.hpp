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

// Whether every iteration of `loop` (a launch's innermost grid loop) assigns
// the scalar `name`: a statement of the loop's own body assigns it, before any
// statement that may `continue` the loop. The thread that runs the last
// iteration then holds its value after the loop; a scalar assigned only under
// an `if` or in an inner loop (which may not run) comes from the latest
// iteration that assigned it, which the generated CUDA finds across the
// threads (ls_keep_last in share/cuda/loopscope_cuda.h) and the cost model
// prices.
bool assigned_in_every_iteration(const Stmt& loop, const std::string& name);

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

// ---- Short parallel regions ------------------------------------------------
// A region of a CPU parallel loop (one entry of the loop) whose work is too
// small to pay for waking the worker threads and waiting for them runs its
// chunks in order on the calling thread instead, as OpenMP's `if` clause
// does. The CPU variant decides it at run time at each entry of the loop,
// from region_work evaluated there; the cost model prices the same rule
// (costmodel/src/work_loops.cpp): a short region costs its serial time and no
// fork/join. The results do not change: the chunks and their combination in
// chunk order are the same either way.
//
// Work is counted in operations of the compiled code (statement_ops). One
// fork/join costs 1.5 to 5 microseconds (hardware.cpp measures it; more when
// other work holds the cores), which is the serial time of about 10,000
// operations of scalar code and of far more of vectorised code: a region runs
// in parallel from about twice that, where splitting it saves more than the
// fork/join costs even on two threads.
constexpr double kMinParallelRegionWork = 30000;
// (A work that is not a number, as an unknown trip times none, pays.)
inline bool parallel_region_pays(double work) { return !(work < kMinParallelRegionWork); }

// Operations of one evaluation of `e`: an array load, an arithmetic or
// logical operation, a comparison count 1; a division, floor division,
// modulo or power 4; a call 8 (libm). Names and constants are free.
double expr_ops(const Expr& e);
// Operations of one execution of an assignment (its value, the store, the
// update of an augmented assignment, the subscripts), or of an if's
// condition; 0 for other statements (region_work walks their bodies).
double statement_ops(const Stmt& s);
// Whether region_work evaluates an inner loop bound `e` at a region's entry:
// integer constants, names not in `changing` (not assigned in the region,
// or loop variables it binds), + - * of them, unary minus, floor division by
// a positive constant, min() and max().
bool region_bound_supported(const Expr& e, const std::set<std::string>& changing);

// The work of one region of the parallel loop `loop` with `trip` iterations:
//   trip * (1 + work(body)), where work of a statement list is the sum of its
//   statements': statement_ops, an if's condition plus the larger branch, an
//   inner loop `inner_trip * (1 + work(its body))`;
// with inner trips evaluated at the entry of the region, each loop variable
// the bounds read (the parallel loop's, an inner loop's) at its middle
// iteration (exact for triangular loops whose work grows linearly). A bound
// region_bound_supported rejects, a while loop or a step that is not a
// constant make the work unknown (Eval::unknown(): the region runs in
// parallel). `Eval` computes with numbers of its own (the cost model's
// doubles, the code generator's LLVM values):
//   using Num;  Num constant(double);  Num add(Num, Num);  Num mul(Num, Num);
//   Num max(Num, Num);  Num unknown();
//   Num enter(const Stmt& inner): the trip count of `inner` from its bounds,
//     which then binds inner.var to its middle iteration;
//   void leave(const Stmt& inner): unbinds it.
// The caller binds loop.var to its middle iteration before the call.
template <class Eval>
typename Eval::Num region_work(const Stmt& loop, typename Eval::Num trip, Eval& ev);

// Whether the host can evaluate `e` before a launch: constants and names
// that are in `host_known`, or integer scalars fixed before the nest (not
// assigned in it, not loop variables).
bool host_computable(const Expr* e, const BoundNest& bound, const std::set<std::string>& host_known);

namespace region_detail {
// Names assigned in `body`, loop variables included (an inner bound that
// reads one is not known at the region's entry, unless it is the variable of
// a loop around that bound, which region_work binds).
inline void assigned_scalars(const std::vector<StmtPtr>& body, std::set<std::string>& out) {
  for (auto& s : body) {
    if ((s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign) && s->target &&
        s->target->kind == ExprKind::Name)
      out.insert(s->target->name);
    if (s->kind == StmtKind::For) out.insert(s->var);
    assigned_scalars(s->body, out);
    assigned_scalars(s->orelse, out);
  }
}

inline bool constant_step(const Stmt& s) {
  if (!s.step) return true;
  const Expr& e = *s.step;
  if (e.kind == ExprKind::IntConst) return e.ival != 0;
  return e.kind == ExprKind::Unary && e.un_op == UnOp::Neg && e.args.size() == 1 &&
         e.args[0]->kind == ExprKind::IntConst && e.args[0]->ival != 0;
}

template <class Eval>
typename Eval::Num body_work(const std::vector<StmtPtr>& body, const std::set<std::string>& changing, Eval& ev) {
  using Num = typename Eval::Num;
  Num w = ev.constant(0);
  double ops = 0;
  for (auto& sp : body) {
    const Stmt& s = *sp;
    ops += statement_ops(s);
    if (s.kind == StmtKind::If) {
      if (s.is_while) return ev.unknown();
      w = ev.add(w, ev.max(body_work(s.body, changing, ev), body_work(s.orelse, changing, ev)));
    } else if (s.kind == StmtKind::For) {
      if (!s.stop || !constant_step(s) || (s.start && !region_bound_supported(*s.start, changing)) ||
          !region_bound_supported(*s.stop, changing))
        return ev.unknown();
      Num trip = ev.enter(s);
      std::set<std::string> inside = changing;
      inside.erase(s.var);
      Num inner = ev.add(ev.constant(1), body_work(s.body, inside, ev));
      ev.leave(s);
      w = ev.add(w, ev.mul(trip, inner));
    }
  }
  return ev.add(w, ev.constant(ops));
}
}  // namespace region_detail

template <class Eval>
typename Eval::Num region_work(const Stmt& loop, typename Eval::Num trip, Eval& ev) {
  std::set<std::string> changing;
  region_detail::assigned_scalars(loop.body, changing);
  return ev.mul(trip, ev.add(ev.constant(1), region_detail::body_work(loop.body, changing, ev)));
}

}  // namespace loopscope::analysis
