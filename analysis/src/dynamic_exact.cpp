// Dynamic phase, testing one pair of references: the DependenceProblem that
// deptest.cpp's ZIV/SIV/GCD/Banerjee tests see, then, where it can refute
// more, Fourier-Motzkin elimination (fm_feasible, Ineq) of the pair's whole
// system (coupled subscripts, triangular bounds), then the exact test: an
// enumeration of the real iteration space of both references (with the
// real, possibly triangular bounds and Python's wrap-around of negative
// subscripts), bounded to kExactIterations iterations per reference and
// kExactPairs comparisons. evaluate_pair chains them.
// Separate because it is the decision procedure of one pair, independent of
// which pairs are tested and of what the outcomes become.
#include "dynamic_internal.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <set>

#include "loopscope/analysis/int_math.hpp"
#include "loopscope/analysis/deptest.hpp"

namespace loopscope::analysis::dynamic_detail {

namespace {

constexpr int64_t kExactIterations = 10000;
constexpr int64_t kExactPairs = 200000;

// Real feasibility of a small system of linear inequalities  sum a x <= b
// by Fourier-Motzkin elimination. Returns true when feasible or when the
// system grows too large to decide (a dependence is then kept).
constexpr size_t kFmVars = 10;  // larger systems are not eliminated (kept as dependent)

struct Ineq {
  struct Coeffs {
    std::array<i128, kFmVars> v{};
    size_t n = 0;
    void assign(size_t count, i128 x) {
      n = count;
      for (size_t k = 0; k < count; ++k) v[k] = x;
    }
    void resize(size_t count) { assign(count, 0); }
    i128& operator[](size_t k) { return v[k]; }
    i128 operator[](size_t k) const { return v[k]; }
    i128* begin() { return v.data(); }
    i128* end() { return v.data() + n; }
    const i128* begin() const { return v.data(); }
    const i128* end() const { return v.data() + n; }
  } a;
  i128 b = 0;
};

bool normalize(Ineq& q) {
  i128 g = 0;
  for (auto x : q.a) g = gcd_abs(g, x);
  if (g > 1) {
    for (auto& x : q.a) x /= g;
    // floor(b / g): the integer tightening of  sum a x <= b
    i128 f = q.b / g;
    if ((q.b % g != 0) && (q.b < 0)) --f;
    q.b = f;
  }
  const i128 big = (i128)1 << 80;
  for (auto x : q.a)
    if (x > big || x < -big) return false;
  return q.b <= big && q.b >= -big;
}

bool fm_feasible(std::vector<Ineq> sys, size_t nvars) {
  constexpr size_t kMax = 600;
  if (nvars > kFmVars) return true;
  for (auto& q : sys)
    if (!normalize(q)) return true;
  for (size_t v = 0; v < nvars; ++v) {
    std::vector<Ineq> pos, neg, rest;
    for (auto& q : sys) {
      if (q.a[v] > 0)
        pos.push_back(q);
      else if (q.a[v] < 0)
        neg.push_back(q);
      else
        rest.push_back(q);
    }
    if (pos.size() * neg.size() + rest.size() > kMax) return true;
    for (auto& p : pos)
      for (auto& n : neg) {
        Ineq c;
        i128 mp = -n.a[v], mn = p.a[v];
        c.a.resize(nvars);
        for (size_t k = 0; k < nvars; ++k) c.a[k] = mp * p.a[k] + mn * n.a[k];
        c.a[v] = 0;
        c.b = mp * p.b + mn * n.b;
        if (!normalize(c)) return true;
        bool zero = std::all_of(c.a.begin(), c.a.end(), [](i128 x) { return x == 0; });
        if (zero) {
          if (c.b < 0) return false;
          continue;
        }
        rest.push_back(std::move(c));
      }
    sys = std::move(rest);
  }
  for (auto& q : sys)
    if (q.b < 0) return false;
  return true;
}

}  // namespace

// ---- dependence tests --------------------------------------------------
int DynamicPhase::common_loops(const RefInfo& a, const RefInfo& c) const {
  size_t n = 0;
  while (n < a.loops.size() && n < c.loops.size() && a.loops[n] == c.loops[n]) ++n;
  return (int)n;
}

bool DynamicPhase::build_problem(const RefInfo& r1, const RefInfo& r2, Relation re, DependenceProblem& p) const {
  p.ncommon = common_loops(r1, r2);
  for (int l : r1.loops) p.src_upper.push_back(loops[l].last_counter);
  for (int l : r2.loops) p.dst_upper.push_back(loops[l].last_counter);
  const RefInstance& d1 = refs[r1.index];
  const RefInstance& d2 = refs[r2.index];
  auto coeffs = [&](const AffineForm& a, const RefInfo& r) {
    std::vector<int64_t> out;
    for (int l : r.loops) out.push_back(a.c[l]);
    return out;
  };
  if (re == Relation::Same) {
    for (size_t k = 0; k < d1.t.size() && k < d2.t.size(); ++k) {
      if (!d1.t[k] || !d2.t[k] || d1.through[k] != d2.through[k]) continue;
      LinearCondition c;
      c.a = coeffs(*d1.t[k], r1);
      c.b = coeffs(*d2.t[k], r2);
      c.c_lo = c.c_hi = d2.t[k]->k - d1.t[k]->k;
      p.conditions.push_back(c);
    }
    return true;
  }
  // Different views of overlapping memory: compare byte addresses.
  const ArrayBinding& a1 = bound.arrays.at(r1.array);
  const ArrayBinding& a2 = bound.arrays.at(r2.array);
  auto address = [&](const RefInstance& d, const ArrayBinding& ab, const RefInfo& r, std::vector<int64_t>& co,
                     i128& k) {
    std::vector<i128> c(num_loops, 0);
    k = (i128)(intptr_t)ab.data;
    for (size_t dim = 0; dim < d.t.size(); ++dim) {
      if (!d.t[dim] || !d.through[dim].empty()) return false;
      k += (i128)ab.strides[dim] * d.t[dim]->k;
      for (size_t j = 0; j < num_loops; ++j) c[j] += (i128)ab.strides[dim] * d.t[dim]->c[j];
    }
    for (int l : r.loops) {
      if (!fits(c[l])) return false;
      co.push_back((int64_t)c[l]);
    }
    return true;
  };
  LinearCondition c;
  i128 k1, k2;
  if (!address(d1, a1, r1, c.a, k1) || !address(d2, a2, r2, c.b, k2)) return true;  // unconstrained
  i128 lo = k2 - k1 - dtype_size(a1.dtype) + 1, hi = k2 - k1 + dtype_size(a2.dtype) - 1;
  if (!fits(lo) || !fits(hi)) return true;
  c.c_lo = (int64_t)lo;
  c.c_hi = (int64_t)hi;
  p.conditions.push_back(c);
  return true;
}

// Whether Fourier-Motzkin may refute what per-dimension Banerjee kept (it
// is exact on one condition over a box): a loop bound that depends on an
// outer loop (triangular), or a loop that appears in two conditions.
bool DynamicPhase::fm_useful(const RefInfo& r1, const RefInfo& r2, const DependenceProblem& p) const {
  for (const RefInfo* r : {&r1, &r2})
    for (int l : r->loops)
      for (size_t j = 0; j < num_loops; ++j)
        if ((int)j != l && (loops[l].start.c[j] != 0 || loops[l].stop.c[j] != 0)) return true;
  // A variable (a common loop, or a loop of one side) in two conditions.
  std::vector<int> uses(r1.loops.size() + r2.loops.size(), 0);
  for (auto& c : p.conditions) {
    for (size_t k = 0; k < c.a.size(); ++k)
      if (c.a[k] != 0) ++uses[k];
    for (size_t k = 0; k < c.b.size(); ++k)
      if (c.b[k] != 0 && !((int)k < p.ncommon && k < c.a.size() && c.a[k] != 0))
        ++uses[(int)k < p.ncommon ? k : r1.loops.size() + k];
  }
  for (int u : uses)
    if (u >= 2) return true;
  return false;
}

// Fourier-Motzkin on the whole system of a pair and one direction vector:
// all subscript conditions at once (coupled subscripts), the real loop
// bounds including triangular upper bounds, and the direction. True when
// the system has no real solution, so the direction is impossible.
bool DynamicPhase::fm_refutes(const RefInfo& r1, const RefInfo& r2, const DependenceProblem& p,
                              const std::vector<Direction>& dir) const {
  size_t n1 = r1.loops.size(), n2 = r2.loops.size(), nv = n1 + n2;
  if (nv > kFmVars) return false;
  std::vector<Ineq> sys;
  sys.reserve(4 * nv + 2 * p.conditions.size() + 2 * dir.size());
  auto add_bounds = [&](const RefInfo& r, size_t off) {
    for (size_t q = 0; q < r.loops.size(); ++q) {
      const LoopInstance& d = loops[r.loops[q]];
      Ineq lo;  // -t <= 0
      lo.a.assign(nv, 0);
      lo.a[off + q] = -1;
      sys.push_back(lo);
      Ineq hi;  // t <= last_counter
      hi.a.assign(nv, 0);
      hi.a[off + q] = 1;
      hi.b = d.last_counter;
      sys.push_back(hi);
      // v <= stop - 1 (step > 0) or v >= stop + 1 (step < 0), in counters
      if (d.opaque) continue;
      auto stop_t = to_t(d.stop);
      if (!stop_t) continue;
      Ineq tri;
      tri.a.assign(nv, 0);
      i128 sign = d.step > 0 ? 1 : -1;
      bool ok = true;
      for (size_t j = 0; j < num_loops; ++j) {
        i128 coef = sign * ((i128)d.tform.c[j] - stop_t->c[j]);
        if (!coef) continue;
        auto it = std::find(r.loops.begin(), r.loops.end(), (int)j);
        if (it == r.loops.end()) {
          ok = false;
          break;
        }
        tri.a[off + (it - r.loops.begin())] += coef;
      }
      tri.b = sign * ((i128)stop_t->k - d.tform.k) - 1;
      if (ok) sys.push_back(tri);
    }
  };
  add_bounds(r1, 0);
  add_bounds(r2, n1);
  for (auto& c : p.conditions) {
    Ineq up, down;
    up.a.assign(nv, 0);
    down.a.assign(nv, 0);
    for (size_t k = 0; k < c.a.size(); ++k) up.a[k] += c.a[k], down.a[k] -= c.a[k];
    for (size_t k = 0; k < c.b.size(); ++k) up.a[n1 + k] -= c.b[k], down.a[n1 + k] += c.b[k];
    up.b = c.c_hi;
    down.b = -(i128)c.c_lo;
    sys.push_back(up);
    sys.push_back(down);
  }
  for (size_t k = 0; k < dir.size(); ++k) {
    Ineq q;
    q.a.assign(nv, 0);
    if (dir[k] == Direction::Lt) {
      q.a[k] = 1, q.a[n1 + k] = -1, q.b = -1;
      sys.push_back(q);
    } else if (dir[k] == Direction::Gt) {
      q.a[k] = -1, q.a[n1 + k] = 1, q.b = -1;
      sys.push_back(q);
    } else if (dir[k] == Direction::Eq) {
      q.a[k] = 1, q.a[n1 + k] = -1;
      sys.push_back(q);
      Ineq r;
      r.a.assign(nv, 0);
      r.a[k] = -1, r.a[n1 + k] = 1;
      sys.push_back(r);
    }
  }
  return !fm_feasible(std::move(sys), nv);
}

// Enumerates the iterations of a reference: (key, counters of the first
// `ncommon` loops). False when too large or not computable.
bool DynamicPhase::enumerate(const RefInfo& r, Relation re, int ncommon,
                             std::vector<std::pair<int64_t, std::vector<int64_t>>>& out) const {
  // An opaque loop's iterations are known only while the nest runs.
  for (int l : r.loops)
    if (loops[l].opaque) return false;
  const ArrayBinding& ab = bound.arrays.at(r.array);
  Locals vals(r.loops.size());
  std::vector<int64_t> by_loop(num_loops, 0);
  for (size_t q = 0; q < r.loops.size(); ++q) vals[q].first = &sa.loops[r.loops[q]].stmt->var;
  std::vector<int64_t> t(r.loops.size(), 0);
  int64_t count = 0;
  bool ok = true;
  std::function<void(size_t)> rec = [&](size_t level) {
    if (!ok) return;
    if (level == r.loops.size()) {
      if (++count > kExactIterations) {
        ok = false;
        return;
      }
      i128 key = 0;
      if (re == Relation::Same) {
        for (size_t k = 0; k < r.expr->args.size(); ++k) {
          auto v = eval(r.expr->args[k].get(), &vals);
          if (!v) return void(ok = false);
          int64_t x = *v < 0 ? *v + ab.shape[k] : *v;
          if (x < 0 || x >= ab.shape[k]) return void(ok = false);
          key = key * ab.shape[k] + x;
        }
      } else {
        key = (i128)(intptr_t)ab.data;
        for (size_t k = 0; k < r.expr->args.size(); ++k) {
          auto v = eval(r.expr->args[k].get(), &vals);
          if (!v) return void(ok = false);
          int64_t x = *v < 0 ? *v + ab.shape[k] : *v;
          if (x < 0 || x >= ab.shape[k]) return void(ok = false);
          key += (i128)x * ab.strides[k];
        }
      }
      out.emplace_back((int64_t)key, std::vector<int64_t>(t.begin(), t.begin() + ncommon));
      return;
    }
    int l = r.loops[level];
    const LoopInstance& d = loops[l];
    auto aff_at = [&](const AffineForm& a) {
      i128 v = a.k;
      for (size_t j = 0; j < num_loops; ++j)
        if (a.c[j]) v += (i128)a.c[j] * by_loop[j];
      return (int64_t)v;
    };
    int64_t start = aff_at(d.start), stop = aff_at(d.stop);
    int64_t tt = 0;
    for (int64_t v = start; d.step > 0 ? v < stop : v > stop; v += d.step, ++tt) {
      vals[level].second = v;
      by_loop[l] = v;
      t[level] = tt;
      rec(level + 1);
      if (!ok) return;
    }
  };
  rec(0);
  return ok;
}

// The iterations of a reference as enumerate() gives them, sorted and
// without duplicates; false when too many or not computable.
bool DynamicPhase::enumerate_sorted(const RefInfo& r, Relation re, int ncommon, Enumeration& out) const {
  double est = 1;
  for (int l : r.loops) est *= (double)(loops[l].last_counter + 1);
  if (est > kExactIterations) return false;
  if (!enumerate(r, re, ncommon, out)) return false;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return true;
}

// The exact test on two enumerations (nullptr: not enumerable).
std::optional<std::vector<DirectionVector>> DynamicPhase::exact(const RefInfo& r1, const RefInfo& r2, Relation re,
                                                                int ncommon) {
  if (re == Relation::Overlap) {
    const ArrayBinding& a1 = bound.arrays.at(r1.array);
    const ArrayBinding& a2 = bound.arrays.at(r2.array);
    int s = dtype_size(a1.dtype);
    if (s != dtype_size(a2.dtype)) return std::nullopt;
    if (((uintptr_t)a1.data - (uintptr_t)a2.data) % s) return std::nullopt;
    for (auto st : a1.strides)
      if (st % s) return std::nullopt;
    for (auto st : a2.strides)
      if (st % s) return std::nullopt;
  }
  std::optional<Enumeration> own1, own2;
  const Enumeration* e1 = enumeration(r1, re, ncommon, own1);
  if (!e1) return std::nullopt;
  const Enumeration* e2 = enumeration(r2, re, ncommon, own2);
  if (!e2) return std::nullopt;
  std::map<std::vector<Direction>, std::vector<std::set<int64_t>>> found;
  int64_t work = 0;
  size_t j0 = 0;
  for (size_t i = 0; i < e1->size();) {
    size_t i1 = i;
    while (i1 < e1->size() && (*e1)[i1].first == (*e1)[i].first) ++i1;
    while (j0 < e2->size() && (*e2)[j0].first < (*e1)[i].first) ++j0;
    size_t j1 = j0;
    while (j1 < e2->size() && (*e2)[j1].first == (*e1)[i].first) ++j1;
    for (size_t x = i; x < i1; ++x)
      for (size_t y = j0; y < j1; ++y) {
        if (++work > kExactPairs) return std::nullopt;
        std::vector<Direction> dir(ncommon);
        for (int k = 0; k < ncommon; ++k) {
          int64_t a = (*e1)[x].second[k], c = (*e2)[y].second[k];
          dir[k] = a < c ? Direction::Lt : a == c ? Direction::Eq : Direction::Gt;
        }
        auto& slot = found[dir];
        if (slot.empty()) slot.resize(ncommon);
        for (int k = 0; k < ncommon; ++k)
          if (slot[k].size() < 3) slot[k].insert((*e2)[y].second[k] - (*e1)[x].second[k]);
      }
    i = i1;
  }
  std::vector<DirectionVector> out;
  for (auto& [dir, dist] : found) {
    DirectionVector v;
    v.dir = dir;
    for (int k = 0; k < ncommon; ++k)
      v.distance.push_back(dist[k].size() == 1 ? std::optional<int64_t>(*dist[k].begin()) : std::nullopt);
    out.push_back(v);
  }
  return out;
}

// The sorted enumeration of a reference: computed once per signature when
// work is shared, else into `own`.
const DynamicPhase::Enumeration* DynamicPhase::enumeration(const RefInfo& r, Relation re, int ncommon,
                                                           std::optional<Enumeration>& own) {
  if (!share) {
    own.emplace();
    if (!enumerate_sorted(r, re, ncommon, *own)) return nullptr;
    return &*own;
  }
  auto key = std::make_tuple(signature(r, re), (int)re, ncommon);
  auto it = enum_cache.find(key);
  if (it == enum_cache.end()) {
    std::optional<Enumeration> e;
    e.emplace();
    if (!enumerate_sorted(r, re, ncommon, *e)) e.reset();
    it = enum_cache.emplace(key, std::move(e)).first;
  }
  return it->second ? &*it->second : nullptr;
}

DynamicPhase::PairOutcome DynamicPhase::evaluate_pair(const RefInfo& r1, const RefInfo& r2, Relation re) {
  PairOutcome out;
  DependenceProblem p;
  build_problem(r1, r2, re, p);
  DependenceResult res = test_dependence(p);
  if (res.independent) {
    out.test = res.test;
    return out;
  }
  // Fourier-Motzkin, where it can see more than Banerjee (coupled
  // subscripts, triangular bounds), once per carrying loop and sign:
  // the direction (=, ..., =, <, *, ..., *).
  if (fm_useful(r1, r2, p)) {
    std::map<std::pair<int, int>, bool> refuted;
    std::vector<DirectionVector> kept;
    for (auto& v : res.vectors) {
      int l = -1;
      for (size_t k = 0; k < v.dir.size(); ++k)
        if (v.dir[k] != Direction::Eq) {
          l = (int)k;
          break;
        }
      if (l < 0) {
        kept.push_back(v);
        continue;
      }
      auto key = std::make_pair(l, v.dir[l] == Direction::Lt ? 0 : 1);
      auto it2 = refuted.find(key);
      if (it2 == refuted.end()) {
        std::vector<Direction> d(v.dir.size(), Direction::Star);
        for (int k = 0; k < l; ++k) d[k] = Direction::Eq;
        d[l] = v.dir[l];
        it2 = refuted.emplace(key, fm_refutes(r1, r2, p, d)).first;
      }
      if (!it2->second) kept.push_back(v);
    }
    if (kept.empty()) {  // independent
      out.test = "Fourier-Motzkin";
      return out;
    }
    if (kept.size() != res.vectors.size()) res.test = "Fourier-Motzkin";
    res.vectors = std::move(kept);
  }
  // The exact test can only refine a carried direction when the
  // carrying loop appears in some subscript condition, or when a
  // subscript was left out of the conditions (non-affine, mixed sign).
  bool worth = false;
  bool partial = false;
  for (const RefInfo* r : {&r1, &r2})
    for (size_t k = 0; k < refs[r->index].t.size(); ++k)
      partial |= !refs[r->index].t[k] || !refs[r->index].through[k].empty();
  if (re == Relation::Overlap) partial = true;
  for (auto& v : res.vectors)
    for (size_t k = 0; k < v.dir.size(); ++k) {
      if (v.dir[k] == Direction::Eq) continue;
      bool appears = false;
      for (auto& c : p.conditions) appears |= (k < c.a.size() && c.a[k] != 0) || (k < c.b.size() && c.b[k] != 0);
      if (appears || partial) worth = true;
      break;
    }
  out.test = res.test;
  if (worth && exact_on) {
    auto ex = exact(r1, r2, re, p.ncommon);
    if (ex) {
      res.vectors = *ex;
      out.test = "exact";
    }
  }
  out.vectors = std::move(res.vectors);
  return out;
}

}  // namespace loopscope::analysis::dynamic_detail
