// The staged dependence analysis.
//
// Static phase (once per nest, when the cell is submitted): every subscript
// and loop bound becomes an affine form over the loop variables whose
// coefficients and constants may be symbolic (expressions over scalars read
// from the enclosing scope); pairs of references that can never touch the
// same array element are settled; what remains is listed as questions for
// run time.
//
// Dynamic phase (just before the nest runs, on a BoundNest): symbols get
// their values, loop bounds and iteration counts become numbers, negative
// subscripts are resolved (Python's wrap-around), arrays are grouped by the
// memory they cover (not by name), and each pair of references that may
// touch common memory goes through the dependence tests of deptest.hpp
// (ZIV, strong/weak SIV, GCD, Banerjee with direction vectors), then, for
// coupled subscripts or triangular bounds, Fourier-Motzkin elimination on the
// whole system, and, for small bounded cases still open, an exact
// enumeration of the iteration space. The result is the dependence graph and
// the parallel plan (plan.hpp). See docs/analysis.md.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"
#include "loopscope/analysis/plan.hpp"

namespace loopscope::analysis {

struct StaticAnalysis;  // defined in the implementation

// Readable summary of the static phase.
struct StaticSummary {
  std::vector<std::string> references;    // "S1 writes A[i, j]: affine (i, j)"
  std::vector<std::string> settled;       // pairs proved independent statically
  std::vector<std::string> for_run_time;  // what the dynamic phase must decide
  // The skeletal dependence graph: pairs of references (at least one write)
  // that may depend, to be tested with values:
  // "S1 writes A[i, j] / S1 reads A[i, j - 1]". Only the first
  // `skeleton_max` pairs (in the order of the references) are written out;
  // skeleton_pairs counts them all (it grows with the square of the body).
  std::vector<std::string> skeleton;
  size_t skeleton_pairs = 0;
};

// How many pairs of the skeleton summarize writes out by default.
constexpr size_t kSkeletonShown = 500;

std::shared_ptr<const StaticAnalysis> analyze_static(std::shared_ptr<const LoopNest> nest);
// Time linear in the number of references (plus the pairs written out and
// the pairs settled statically).
StaticSummary summarize(const StaticAnalysis& sa, size_t skeleton_max = kSkeletonShown);
const LoopNest& nest_of(const StaticAnalysis& sa);
// Set when the static phase itself must decline (e.g. non-affine loop bounds).
std::optional<Decline> static_decline(const StaticAnalysis& sa);

// The dynamic phase, uncached. `bound.nest` must be the nest of `sa`.
ParallelPlan analyze_dynamic(const StaticAnalysis& sa, const BoundNest& bound);

// The dynamic phase with a cache keyed by everything the result depends on:
// integer scalar values, shapes, strides, dtypes and how the arrays overlap
// in memory (not their addresses). `hit` tells whether it came from cache.
std::shared_ptr<const ParallelPlan> analyze_dynamic_cached(const StaticAnalysis& sa, const BoundNest& bound,
                                                           bool* hit = nullptr);

// The first reference that may be out of range for this bound instance
// (IndexError in Python), or nullopt when every subscript is proved in range
// or may be out of range only through indirect subscripts, which native
// code checks as it runs (ParallelPlan::subscripts_only_indirect).
std::optional<Decline> check_subscripts(const StaticAnalysis& sa, const BoundNest& bound);

// Process-wide switch of the exact (enumeration) test, on by default. Tests
// turn it off to check the other tests alone against an oracle.
void set_exact_test_enabled(bool on);
bool exact_test_enabled();

// Process-wide switch of the reference pair loop, off by default: every pair
// of references is then tested on its own, in order, as the dynamic phase
// first did. By default pairs are found through the memory each array covers
// and pairs of the same shapes share one test; the results are the same
// (tests compare the two).
void set_reference_pairs(bool on);
bool reference_pairs();

// Process-wide: whether a loop whose iterations add (or multiply) into a
// floating-point accumulator may run in parallel, combining partial results
// in another order than Python's. Off by default: such a loop is then
// sequential in the plan (with the reason), so every variant gives Python's
// result bit for bit; min/max and integer reductions are parallel either way.
void set_float_reassociation(bool allowed);
bool float_reassociation();

// "A[i, j]", "x + 1": Python-like text of an expression.
std::string to_source(const Expr& e);

}  // namespace loopscope::analysis
