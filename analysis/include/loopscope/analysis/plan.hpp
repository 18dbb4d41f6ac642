// The result of the dynamic phase: the dependence graph of a bound nest and
// the parallel plan derived from it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loopscope/analysis/ir.hpp"

namespace loopscope::analysis {

enum class DepKind { Flow, Anti, Output };
const char* to_string(DepKind k);  // "flow", "anti", "output"

// One component of a direction vector.
enum class Direction { Lt, Eq, Gt, Star };  // '<', '=', '>', '*'
char to_char(Direction d);

// Directions and distances are in iterations of the loops in execution order
// (a loop `range(n-1, -1, -1)` runs forward in its iteration count), so
// '<' always means "the source executes in an earlier iteration".
struct DependenceEdge {
  int src = 0;  // Stmt::id of the source statement (executes first)
  int dst = 0;  // Stmt::id of the sink statement
  DepKind kind = DepKind::Flow;
  std::string variable;  // array or scalar name
  std::string src_ref;   // the reference as written, e.g. "A[i][j]"
  std::string dst_ref;
  // One entry per loop common to src and dst, outermost first.
  std::vector<std::string> loops;  // loop variable names
  std::vector<Direction> direction;
  std::vector<std::optional<int64_t>> distance;  // when constant
  int carrier = -1;                              // index into `loops` of the carrying loop; -1 if
                                                 // loop-independent
  std::string test;                              // which test decided it ("strong SIV", "GCD", ...)
};

enum class LoopVerdict { Parallel, Sequential, Reduction };
const char* to_string(LoopVerdict v);  // "parallel", "sequential", "reduction"

struct Reduction {
  std::string variable;   // scalar name, or array name for A[...] += ...
  BinOp op = BinOp::Add;  // Add, Mul or Sub (`s -= e`: partial sums of e are
                          // combined by + and subtracted from the initial
                          // value); min/max are recorded in `fn`
  std::string fn;         // "" for + and *, "min" or "max"
  int stmt = 0;           // Stmt::id
};

struct LoopPlan {
  int loop = 0;  // Stmt::id of the For
  std::string var;
  int line = 0;
  LoopVerdict verdict = LoopVerdict::Sequential;
  std::vector<std::string> reasons;       // readable; empty only when parallel
                                          // (for a reduction: what it accumulates)
  std::vector<Reduction> reductions;      // when verdict == Reduction
  std::vector<std::string> privates;      // scalars private to an iteration
                                          // (including the variables of
                                          // inner loops)
  std::vector<std::string> last_private;  // privates whose final value is live after the loop
};

// Names one plan object handed out by the plan cache, for consumers that
// memoise work derived from it (the CPU variant's specialisation). Only the
// cache gives identities, to plans it never changes afterwards; a copy has
// none (0), since a copy may be changed.
class PlanIdentity {
 public:
  PlanIdentity() = default;
  PlanIdentity(const PlanIdentity&) {}
  PlanIdentity& operator=(const PlanIdentity&) {
    value_ = 0;
    return *this;
  }
  PlanIdentity(PlanIdentity&& o) noexcept : value_(o.value_) { o.value_ = 0; }
  PlanIdentity& operator=(PlanIdentity&& o) noexcept {
    value_ = o.value_;
    o.value_ = 0;
    return *this;
  }
  uint64_t value() const { return value_; }  // 0: none
  static PlanIdentity fresh();

 private:
  uint64_t value_ = 0;
};

// Bytes of one array, as offsets from its data pointer: [lo, hi).
struct ByteExtent {
  int64_t lo = 0, hi = 0;
};

struct ParallelPlan {
  std::vector<DependenceEdge> edges;
  std::vector<LoopPlan> loops;  // pre-order, one per For in the nest
  // Set when the dynamic phase could not decide safely (e.g. a subscript it
  // cannot bound); the nest then runs in Python.
  std::optional<Decline> decline;
  // Whether every subscript is proved in range for this bound instance
  // (after Python's negative-index wrap-around). When false,
  // `subscript_problem` names the first reference that may raise IndexError:
  // native code checks it as it runs (a failing check restores the written
  // arrays and the Python loop raises as Python would), so the report says
  // so and the cost model prices the native variants all the same.
  bool subscripts_in_range = false;
  std::optional<Decline> subscript_problem;
  // Set when every reference that may be out of range is so only through
  // indirect subscripts (an index that reads an array: `x[idx[i]]`, `h[int(
  // v[i] * 10)]`), whose values no analysis before the loop can bound. Native
  // code checks each such subscript as it runs (a failing check restores the
  // written arrays and Python runs the loop, which raises), as it does every
  // subscript not proved in range (check_subscripts gives no problem).
  bool subscripts_only_indirect = false;
  // Notes a student should read (e.g. "reductions in floating point may
  // differ from Python by reassociation").
  std::vector<std::string> notes;
  // Pairs of references (one a write) that could touch the same memory by
  // name or aliasing but were proved never to: "A[2 * i] and A[2 * i + 1]:
  // independent (GCD)". The teaching counterpart of `edges`.
  std::vector<std::string> proofs;
  // Where the nest's writes can land in each array it writes, for this bound
  // instance (after Python's wrap-around; a subscript that cannot be bounded
  // covers its whole axis, one out of range is clipped, since the native
  // code stops before such a write). A native run that may stop half-way
  // saves only these bytes (jit::run_cpu), and the cost model prices that
  // copy. An array absent here is not written.
  std::map<std::string, ByteExtent> write_extents;
  // Set on plans of analyze_dynamic_cached (shared and never changed).
  PlanIdentity identity;
};

}  // namespace loopscope::analysis
