// Dependence tests on one pair of references whose subscripts are affine in
// the normalised iteration counters (loop variable v = start + step * t,
// 0 <= t <= U, so t counts iterations in execution order whatever the sign
// of the step).
//
// A problem states, for the source reference at counters t (its loops) and
// the sink reference at counters u (its loops; the first `ncommon` loops are
// shared), one linear condition per subscript dimension:
//     sum a[k] t[k] - sum b[k] u[k]  in  [c_lo, c_hi]
// (an equality when c_lo == c_hi; a range when two views of one buffer are
// compared byte by byte).
//
// Tests, each a necessary condition for a dependence, are applied per
// dimension and per direction vector, refining '*' into '<', '=', '>' from
// the outermost common loop (the classical hierarchical scheme):
//   - ZIV: no counter appears; the constant decides.
//   - strong SIV: one common loop with a == b: distance (c / a), exact.
//   - weak-zero / weak-crossing SIV are special cases that GCD + Banerjee
//     decide exactly for a single equation over one loop.
//   - GCD: the gcd of the coefficients must divide some value in [c_lo, c_hi].
//   - Banerjee: the real minimum and maximum of the left-hand side over the
//     region allowed by the direction vector (evaluated at the region's
//     vertices, since the function is linear) must bracket [c_lo, c_hi].
// A direction vector survives only when every dimension passes both tests.
// The exact test (enumeration of the real iteration space for small nests)
// lives in the dynamic phase, because it needs the real, possibly
// triangular, bounds and the wrap-around of negative subscripts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loopscope/analysis/plan.hpp"

namespace loopscope::analysis {

struct LinearCondition {
  std::vector<int64_t> a;  // one per source loop (outermost first)
  std::vector<int64_t> b;  // one per sink loop
  int64_t c_lo = 0, c_hi = 0;
};

struct DependenceProblem {
  int ncommon = 0;
  std::vector<int64_t> src_upper;  // U per source loop (t in [0, U])
  std::vector<int64_t> dst_upper;  // U per sink loop (common ones equal)
  std::vector<LinearCondition> conditions;
};

struct DirectionVector {
  std::vector<Direction> dir;                    // ncommon entries, no '*'
  std::vector<std::optional<int64_t>> distance;  // u - t when constant
};

struct DependenceResult {
  bool independent = false;
  std::string test;                      // the test that proved independence, or the strongest
                                         // that was needed to keep the dependence
  std::vector<DirectionVector> vectors;  // feasible ones, when dependent
};

// Individual tests (exposed for unit tests). `dirs` has ncommon entries and
// may contain Star. They return true when a dependence remains possible.
bool ziv_test(const LinearCondition& c);
bool gcd_test(const LinearCondition& c, int ncommon, const std::vector<Direction>& dirs);
bool banerjee_test(const LinearCondition& c, const DependenceProblem& p, const std::vector<Direction>& dirs);
// Strong SIV: when the condition involves only common loop k with equal
// coefficients, returns the required distance u[k] - t[k] (or nullopt
// with *independent set when none is possible). Otherwise returns nullopt.
std::optional<int64_t> strong_siv(const LinearCondition& c, int ncommon, int64_t upper, int* loop, bool* independent);

DependenceResult test_dependence(const DependenceProblem& p);

}  // namespace loopscope::analysis
