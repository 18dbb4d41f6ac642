// Internal structures shared by the static and dynamic phases.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "loopscope/analysis/analysis.hpp"

namespace loopscope::analysis {

// Affine form over the nest's loop variables (indexed in LoopNest::loops()
// order) whose coefficients and constant are symbolic expressions over
// scalars read from the enclosing scope (nullptr means 0).
struct SymAffine {
  bool affine = false;
  std::vector<ExprPtr> coef;
  ExprPtr constant;
  std::string why;  // when not affine
};

struct RefInfo {
  int index = 0;
  const Expr* expr = nullptr;  // the Subscript
  const Stmt* stmt = nullptr;
  bool write = false;
  std::string array;
  std::vector<int> loops;  // enclosing loops (indices), outermost first
  std::vector<SymAffine> subs;
  std::string text;  // "A[i, j]"
  // Guards: affine forms g with g >= 0 wherever the reference runs, from the
  // conditions of the ifs around it in the nest (`if i + 1 < N:` gives
  // N - 2 - i >= 0). The range proof of the subscripts uses them.
  std::vector<SymAffine> guards;
};

struct LoopInfo {
  const Stmt* stmt = nullptr;
  int parent = -1;
  std::vector<int> chain;  // enclosing loops including itself, outermost first
  SymAffine start, stop, step;
  // Bounds that are not one affine form each, read in one of two ways:
  // - clipped: `range(ii, min(ii + tile, n))` (a `min` where the loop stops
  //   or a `max` where it starts, for its step's sign). start/stop hold one
  //   affine alternative, so the iterations they describe are a superset of
  //   the real ones (which keeps every dependence test sound); the other
  //   affine alternatives, in start_also/stop_also, narrow the variable's
  //   interval and trip count. Code generators read the Stmt's own bounds.
  // - opaque: bounds known only while the nest runs (`range(i * i, n)`,
  //   `range(indptr[i], indptr[i + 1])`, a bound the nest assigns). The
  //   loop runs in order, its variable is never affine in a subscript (so
  //   the dependence tests assume the worst of it), and native code checks
  //   the subscripts that use it. opaque_why says why, for the user.
  std::vector<SymAffine> start_also, stop_also;
  bool opaque = false;
  std::string opaque_why;
};

struct StaticAnalysis {
  std::shared_ptr<const LoopNest> nest;
  std::optional<Decline> decline;
  std::vector<LoopInfo> loops;
  std::map<const Stmt*, int> loop_index;
  std::vector<RefInfo> refs;
  std::set<std::pair<int, int>> settled;  // ref pairs independent for any values
  std::vector<std::string> settled_text;
  std::set<std::string> assigned_scalars;
  // Scalars of the nest whose every assignment is `k = e` with e reading an
  // array element (`k = idx[i]`, `k = int(x[i] * 10)`): a subscript that
  // uses one is indirect, as `x[idx[i]]` is. Name -> the arrays read.
  std::map<std::string, std::vector<std::string>> scalars_from_arrays;
  std::set<std::string> symbols;  // scalars used in bounds and subscripts
  // One-dimensional index arrays that subscript an array the nest writes
  // (`out[perm[i]] = ...`) and that the nest never writes: when their
  // values are distinct (checked when the nest runs, distinct_index_arrays),
  // `out[perm[e]]` and `out[perm[e']]` are one element exactly when e == e'.
  std::set<std::string> inspected_indexes;

  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::shared_ptr<const ParallelPlan>> cache;
};

// The arrays an index expression's value comes from: those it reads
// (arrays_read) and those of the scalars_from_arrays it uses. Empty for a
// subscript that is not indirect.
std::vector<std::string> indirect_arrays(const StaticAnalysis& sa, const Expr& index);

}  // namespace loopscope::analysis
