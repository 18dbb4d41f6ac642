// Dependence tests on affine conditions over normalised iteration counters.
// See deptest.hpp for the scheme.
#include "loopscope/analysis/deptest.hpp"

#include "loopscope/analysis/int_math.hpp"

#include <algorithm>
#include <numeric>

namespace loopscope::analysis {
namespace {

using i128 = __int128;

// Min and max of a*t - b*u over the region of (t, u) allowed by `d`, with
// t, u in [0, U]. Returns false when the region is empty.
bool term_bounds(int64_t a, int64_t b, int64_t U, Direction d, i128& lo, i128& hi) {
  std::vector<std::pair<i128, i128>> v;
  switch (d) {
    case Direction::Star: v = {{0, 0}, {0, U}, {U, 0}, {U, U}}; break;
    case Direction::Eq: v = {{0, 0}, {U, U}}; break;
    case Direction::Lt:
      if (U < 1) return false;
      v = {{0, 1}, {0, U}, {U - 1, U}};
      break;
    case Direction::Gt:
      if (U < 1) return false;
      v = {{1, 0}, {U, 0}, {U, U - 1}};
      break;
  }
  if (U < 0) return false;
  bool first = true;
  for (auto& [t, u] : v) {
    i128 f = (i128)a * t - (i128)b * u;
    if (first || f < lo) lo = f;
    if (first || f > hi) hi = f;
    first = false;
  }
  return true;
}

bool all_zero(const LinearCondition& c) {
  for (auto x : c.a)
    if (x) return false;
  for (auto x : c.b)
    if (x) return false;
  return true;
}

}  // namespace

bool ziv_test(const LinearCondition& c) {
  if (!all_zero(c)) return true;
  return c.c_lo <= 0 && 0 <= c.c_hi;
}

bool gcd_test(const LinearCondition& c, int ncommon, const std::vector<Direction>& dirs) {
  int64_t g = 0;
  for (size_t k = 0; k < c.a.size(); ++k) {
    if ((int)k < ncommon && dirs[k] == Direction::Eq) {
      int64_t b = k < c.b.size() ? c.b[k] : 0;
      g = gcd_abs<int64_t>(g, c.a[k] - b);
    } else {
      g = gcd_abs<int64_t>(g, c.a[k]);
    }
  }
  for (size_t k = 0; k < c.b.size(); ++k) {
    if ((int)k < ncommon && dirs[k] == Direction::Eq) continue;
    g = gcd_abs<int64_t>(g, c.b[k]);
  }
  if (g == 0) return c.c_lo <= 0 && 0 <= c.c_hi;
  // Is there a multiple of g in [c_lo, c_hi]?
  i128 m = floor_div<i128>(c.c_hi, g) * g;
  return m >= c.c_lo;
}

bool banerjee_test(const LinearCondition& c, const DependenceProblem& p, const std::vector<Direction>& dirs) {
  i128 lo = 0, hi = 0;
  size_t na = c.a.size(), nb = c.b.size();
  for (size_t k = 0; k < std::max(na, nb); ++k) {
    int64_t a = k < na ? c.a[k] : 0;
    int64_t b = k < nb ? c.b[k] : 0;
    i128 l = 0, h = 0;
    if ((int)k < p.ncommon) {
      if (!term_bounds(a, b, p.src_upper[k], dirs[k], l, h)) return false;
    } else {
      if (k < na) {
        int64_t U = p.src_upper[k];
        if (U < 0) return false;
        i128 x = (i128)a * U;
        l += std::min<i128>(0, x);
        h += std::max<i128>(0, x);
      }
      if (k < nb) {
        int64_t U = p.dst_upper[k];
        if (U < 0) return false;
        i128 x = -(i128)b * U;
        l += std::min<i128>(0, x);
        h += std::max<i128>(0, x);
      }
    }
    lo += l;
    hi += h;
  }
  return hi >= c.c_lo && lo <= c.c_hi;
}

std::optional<int64_t> strong_siv(const LinearCondition& c, int ncommon, int64_t upper, int* loop, bool* independent) {
  if (independent) *independent = false;
  if (c.c_lo != c.c_hi) return std::nullopt;
  int found = -1;
  for (size_t k = 0; k < std::max(c.a.size(), c.b.size()); ++k) {
    int64_t a = k < c.a.size() ? c.a[k] : 0;
    int64_t b = k < c.b.size() ? c.b[k] : 0;
    if (a == 0 && b == 0) continue;
    if ((int)k >= ncommon || a != b || found >= 0) return std::nullopt;
    found = (int)k;
  }
  if (found < 0) return std::nullopt;
  if (loop) *loop = found;
  int64_t a = c.a[found];
  // a t - a u = c  =>  u - t = -c / a
  if (c.c_lo % a != 0) {
    if (independent) *independent = true;
    return std::nullopt;
  }
  int64_t d = -c.c_lo / a;
  if (d > upper || -d > upper) {
    if (independent) *independent = true;
    return std::nullopt;
  }
  return d;
}

namespace {

struct Search {
  const DependenceProblem& p;
  DependenceResult& r;
  std::string last_fail;

  bool feasible(const std::vector<Direction>& dirs) {
    for (auto& c : p.conditions) {
      if (!ziv_test(c)) {
        last_fail = "ZIV";
        return false;
      }
      if (!gcd_test(c, p.ncommon, dirs)) {
        last_fail = "GCD";
        return false;
      }
      if (!banerjee_test(c, p, dirs)) {
        int k = -1;
        bool indep = false;
        strong_siv(c, p.ncommon, 0, &k, &indep);
        last_fail = k >= 0 ? "strong SIV" : "Banerjee";
        return false;
      }
    }
    return true;
  }

  void leaf(const std::vector<Direction>& dirs) {
    DirectionVector v;
    v.dir = dirs;
    v.distance.assign(p.ncommon, std::nullopt);
    for (int k = 0; k < p.ncommon; ++k)
      if (dirs[k] == Direction::Eq) v.distance[k] = 0;
    for (auto& c : p.conditions) {
      int k = -1;
      bool indep = false;
      auto d = strong_siv(c, p.ncommon, p.src_upper.empty() ? 0 : INT64_MAX, &k, &indep);
      if (d && k >= 0) v.distance[k] = *d;
    }
    r.vectors.push_back(v);
  }

  void refine(std::vector<Direction>& dirs, int level) {
    if (level == p.ncommon) {
      leaf(dirs);
      return;
    }
    for (Direction d : {Direction::Lt, Direction::Eq, Direction::Gt}) {
      dirs[level] = d;
      if (feasible(dirs)) refine(dirs, level + 1);
    }
    dirs[level] = Direction::Star;
  }
};

}  // namespace

DependenceResult test_dependence(const DependenceProblem& p) {
  DependenceResult r;
  Search s{p, r, ""};
  std::vector<Direction> dirs(p.ncommon, Direction::Star);
  if (!s.feasible(dirs)) {
    r.independent = true;
    r.test = s.last_fail;
    return r;
  }
  s.refine(dirs, 0);
  if (r.vectors.empty()) {
    r.independent = true;
    r.test = s.last_fail.empty() ? "Banerjee" : s.last_fail + " with direction vectors";
    return r;
  }
  bool siv = !p.conditions.empty();
  for (auto& c : p.conditions) {
    int k = -1;
    bool indep = false;
    if (!strong_siv(c, p.ncommon, INT64_MAX, &k, &indep) && !all_zero(c)) siv = false;
  }
  r.test = siv ? "strong SIV" : "GCD + Banerjee";
  return r;
}

}  // namespace loopscope::analysis
