// Internal declarations of the dynamic phase, shared by its files:
//   dynamic.cpp        entry points (analyze_dynamic, analyze_dynamic_cached,
//                      check_subscripts), the switches, the plan cache key
//   dynamic_bind.cpp   binding one BoundNest: integer values, intervals,
//                      affine forms, loop and reference instances, subscript
//                      ranges, array relations
//   dynamic_exact.cpp  testing one pair of references: the problem for
//                      deptest.cpp, Fourier-Motzkin, the exact enumeration,
//                      evaluate_pair
//   dynamic_edges.cpp  which pairs are tested (every pair, or through memory
//                      sharing outcomes by signature) and the dependence
//                      edges and proofs their outcomes give
//   dynamic_plan.cpp   the parallel plan from the edges (Planner): verdicts,
//                      reductions, privates, last-private, notes, proofs
// Nothing here is part of the library's interface.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "internal.hpp"
#include "loopscope/analysis/deptest.hpp"
#include "loopscope/analysis/interval.hpp"

namespace loopscope::analysis::dynamic_detail {

using i128 = __int128;
constexpr int64_t kLimit = (int64_t)1 << 52;

// Values of the loop variables around an expression (at most a few).
using Locals = std::vector<std::pair<const std::string*, int64_t>>;

inline bool fits(i128 v) { return v <= kLimit && v >= -kLimit; }

struct AffineForm {
  std::vector<int64_t> c;  // per loop of the nest
  int64_t k = 0;
};

struct LoopInstance {
  AffineForm start, stop, tform;  // v-forms of the bounds; v as affine in counters
  int64_t step = 1;
  int64_t last_counter = -1;  // counters run over [0, last_counter]
  int64_t min_trip = 0;
  IntInterval v = IntInterval::of(0);  // values the variable can take
  bool runs = false;
  // LoopInfo::opaque: start, stop and tform are placeholders, the counters
  // run over [0, last_counter] (a bound, not the trip count), and v is
  // known only when v_known (an interval of the bounds' expressions).
  bool opaque = false;
  bool v_known = true;
};

enum class Relation { Disjoint, Same, Overlap };

struct RefInstance {
  bool live = false;
  std::vector<std::optional<AffineForm>> t;  // per dimension, counters form after wrap-around
  bool in_range = false;
  std::string problem;
  // Out of range, if at all, only through indirect subscripts (that read an
  // array: `x[idx[i]]`), which no bound before the loop can decide.
  bool indirect_only = false;
  // Per dimension: "" for a subscript whose t-form is the element's index;
  // the name of a distinct index array (distinct_index_arrays) for
  // `idx[e]`, whose t-form is then e's: two references meet on that
  // dimension exactly when both go through the same array with equal e.
  std::vector<std::string> through;
};

// The inspected index arrays of the nest (StaticAnalysis::inspected_indexes)
// whose values are distinct for this binding: integer, one-dimensional,
// sharing no memory with an array the nest writes, every value >= 0 and no
// value twice. Part of the dynamic phase's cache key.
std::set<std::string> distinct_index_arrays(const StaticAnalysis& sa, const BoundNest& bound);

struct FoundEdge {
  DependenceEdge e;
  const Stmt* carrier_loop = nullptr;
  int r_src = -1, r_dst = -1;
};

// The dynamic phase for one bound instance. Its members are defined in the
// file named by each section.
struct DynamicPhase {
  const StaticAnalysis& sa;
  const BoundNest& bound;
  size_t num_loops;
  std::map<std::string, int64_t> ints;
  std::vector<LoopInstance> loops;
  std::vector<RefInstance> refs;
  std::map<std::string, ByteExtent> write_extents;  // ParallelPlan::write_extents (bind_refs)
  std::map<std::pair<std::string, std::string>, Relation> array_relations;
  std::vector<FoundEdge> edges;
  std::optional<Decline> decline;
  const std::vector<int>* cur_chain = nullptr;  // loops around the expression being bounded
  std::set<std::string> distinct_indexes;       // distinct_index_arrays

  DynamicPhase(const StaticAnalysis& s, const BoundNest& bn) : sa(s), bound(bn), num_loops(s.loops.size()) {}

  // ---- symbolic values and binding (dynamic_bind.cpp) ---------------------
  void fail(DeclineCode code, int line, std::string why);
  std::optional<int64_t> eval(const Expr* e, const Locals* locals = nullptr) const;
  // Interval of an integer expression over the loop variables' ranges
  // (unknown where it has none).
  IntInterval eval_interval(const Expr* e) const;
  std::optional<AffineForm> concrete(const SymAffine& s) const;
  // Intervals of an affine form over the loop variables (a v-form) and over
  // the counters (a t-form); unknown beyond kLimit.
  IntInterval interval_v(const AffineForm& a) const;
  IntInterval interval_t(const AffineForm& a) const;
  // v-form (over loop variables) to t-form (over counters).
  std::optional<AffineForm> to_t(const AffineForm& a) const;
  // A v-form's interval, narrowed by its t-form's.
  IntInterval interval_both(const AffineForm& v) const;
  void bind_scalars();
  void bind_loops();
  void bind_opaque_loop(size_t i, bool parent_runs);
  // The variable of an opaque loop among `chain` that `e` uses, or "".
  std::string opaque_var_in(const Expr& e, const std::vector<int>& chain) const;
  void narrow_by_guards(const AffineForm& v, const std::vector<SymAffine>& guards, IntInterval& iv) const;
  void bind_refs();
  // Widens write_extents[array] by the bytes a write with these index ranges
  // (per axis, after wrap-around) can reach.
  void add_write_extent(const std::string& array, const ArrayBinding& ab,
                        const std::vector<std::pair<int64_t, int64_t>>& reach);
  void bind_relations();

  // ---- testing one pair (dynamic_exact.cpp) --------------------------------
  int common_loops(const RefInfo& a, const RefInfo& c) const;
  bool build_problem(const RefInfo& r1, const RefInfo& r2, Relation re, DependenceProblem& p) const;
  bool fm_useful(const RefInfo& r1, const RefInfo& r2, const DependenceProblem& p) const;
  bool fm_refutes(const RefInfo& r1, const RefInfo& r2, const DependenceProblem& p,
                  const std::vector<Direction>& dir) const;
  bool enumerate(const RefInfo& r, Relation re, int ncommon,
                 std::vector<std::pair<int64_t, std::vector<int64_t>>>& out) const;
  // The iterations of a reference as enumerate() gives them, sorted and
  // without duplicates; false when too many or not computable.
  using Enumeration = std::vector<std::pair<int64_t, std::vector<int64_t>>>;
  bool enumerate_sorted(const RefInfo& r, Relation re, int ncommon, Enumeration& out) const;
  // The sorted enumeration of a reference: computed once per signature when
  // work is shared, else into `own`.
  const Enumeration* enumeration(const RefInfo& r, Relation re, int ncommon, std::optional<Enumeration>& own);
  // The exact test on two enumerations (nullptr: not enumerable).
  std::optional<std::vector<DirectionVector>> exact(const RefInfo& r1, const RefInfo& r2, Relation re, int ncommon);

  // What the tests conclude on one pair of references: proved independent
  // by `test` (no vectors), or the feasible direction vectors and the test
  // that kept them. A function of the pair's signatures only (see
  // signature()), which is what lets pairs of the same shapes share it.
  struct PairOutcome {
    std::string test;
    std::vector<DirectionVector> vectors;
  };

  bool exact_on = true;

  PairOutcome evaluate_pair(const RefInfo& r1, const RefInfo& r2, Relation re);

  // ---- edges and the pairs tested (dynamic_edges.cpp) ----------------------
  // Endpoints (references), carrier and kind: edges that agree on these merge.
  struct EdgeKey {
    int src, dst, carrier, kind;
    bool operator==(const EdgeKey& o) const {
      return src == o.src && dst == o.dst && carrier == o.carrier && kind == o.kind;
    }
  };
  struct EdgeKeyHash {
    size_t operator()(const EdgeKey& k) const {
      uint64_t h = (uint64_t)(uint32_t)k.src * 0x9E3779B97F4A7C15ull;
      h ^= (uint64_t)(uint32_t)k.dst + 0x7F4A7C159E3779B9ull + (h << 6) + (h >> 2);
      h ^= (uint64_t)(uint32_t)(k.carrier * 4 + k.kind) + (h << 6) + (h >> 2);
      return (size_t)h;
    }
  };
  using EdgeIndex = std::unordered_map<EdgeKey, size_t, EdgeKeyHash>;

  // Edges of one pair; `index` (when given) finds the edge to merge with in
  // constant time instead of scanning every edge found so far.
  void add_edges(const RefInfo& r1, const RefInfo& r2, const std::vector<DirectionVector>& vecs,
                 const std::string& test, EdgeIndex* index = nullptr);

  std::vector<std::string> proofs;

  void prove(const RefInfo& r1, const RefInfo& r2, const std::string& test);
  void apply(const RefInfo& r1, const RefInfo& r2, const PairOutcome& o, EdgeIndex* index = nullptr);

  // A reference's signature: everything evaluate_pair() reads about it for a
  // given relation of the two arrays (see signatures()).
  bool share = false;
  std::vector<int> sig_same, sig_overlap;
  std::map<std::tuple<int, int, int>, std::optional<Enumeration>> enum_cache;

  void signatures();
  int signature(const RefInfo& r, Relation re) const;
  void dependences();
  // The reference: every pair of references in order, each tested on its own.
  void dependences_every_pair();
  // The same pairs in the same order, with the same results, found through
  // the memory each array covers.
  void dependences_shared();
};

// The parallel plan of a bound instance whose dependences are found
// (dynamic_plan.cpp).
struct Planner {
  DynamicPhase& dy;
  const StaticAnalysis& sa;
  std::map<int, const Stmt*> by_id;
  std::map<std::string, std::string> cls;  // array -> alias class representative
  ParallelPlan plan;

  std::string find(const std::string& a);
  // Is `s` definitely assigned after `body` runs, and is it read before being
  // assigned (exposed_line)?
  bool defs(const std::vector<StmtPtr>& body, const std::string& s, bool defined, int& exposed_line);
  std::string describe_edge(const FoundEdge& ie, const Stmt& L);
  void run();
};

}  // namespace loopscope::analysis::dynamic_detail
