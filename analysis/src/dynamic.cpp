// Dynamic phase: binds the static forms to the values of one BoundNest,
// runs the dependence tests, builds the dependence graph and the parallel
// plan. After ZIV/SIV/GCD/Banerjee (deptest.cpp), a pair with coupled
// subscripts or triangular bounds goes through Fourier-Motzkin elimination
// of its whole system. The exact test used when a carried dependence is
// still open on a small instance is an enumeration of the real iteration
// space of both references (with the real, possibly triangular bounds and
// Python's wrap-around of negative subscripts), bounded to kExactIterations
// iterations per reference and kExactPairs comparisons.
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <sstream>
#include <tuple>

#include "internal.hpp"
#include "loopscope/analysis/int_math.hpp"
#include "loopscope/analysis/deptest.hpp"

namespace loopscope::analysis {

static std::atomic<bool> g_exact_enabled{true};
void set_exact_test_enabled(bool on) { g_exact_enabled = on; }
bool exact_test_enabled() { return g_exact_enabled; }

static std::atomic<bool> g_reference_pairs{false};
void set_reference_pairs(bool on) { g_reference_pairs = on; }
bool reference_pairs() { return g_reference_pairs; }

PlanIdentity PlanIdentity::fresh() {
  static std::atomic<uint64_t> next{1};
  PlanIdentity id;
  id.value_ = next.fetch_add(1);
  return id;
}

static std::atomic<bool> g_float_reassociation{false};
void set_float_reassociation(bool allowed) { g_float_reassociation = allowed; }
bool float_reassociation() { return g_float_reassociation; }

namespace {

using i128 = __int128;
constexpr int64_t kLimit = (int64_t)1 << 52;
constexpr int64_t kExactIterations = 10000;
constexpr int64_t kExactPairs = 200000;

// Values of the loop variables around an expression (at most a few).
using Locals = std::vector<std::pair<const std::string*, int64_t>>;

bool fits(i128 v) { return v <= kLimit && v >= -kLimit; }

struct AffineForm {
  std::vector<int64_t> c;  // per loop of the nest
  int64_t k = 0;
};

struct Interval {
  int64_t lo = 0, hi = 0;
};

struct LoopInstance {
  AffineForm start, stop, tform;  // v-forms of the bounds; v as affine in counters
  int64_t step = 1;
  int64_t last_counter = -1;  // counters run over [0, last_counter]
  int64_t min_trip = 0;
  Interval v;  // values the variable can take
  bool runs = false;
};

enum class Relation { Disjoint, Same, Overlap };

struct RefInstance {
  bool live = false;
  std::vector<std::optional<AffineForm>> t;  // per dimension, counters form after wrap-around
  bool in_range = false;
  std::string problem;
};

struct FoundEdge {
  DependenceEdge e;
  const Stmt* carrier_loop = nullptr;
  int r_src = -1, r_dst = -1;
};

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

struct DynamicPhase {
  const StaticAnalysis& sa;
  const BoundNest& bound;
  size_t num_loops;
  std::map<std::string, int64_t> ints;
  std::vector<LoopInstance> loops;
  std::vector<RefInstance> refs;
  std::map<std::pair<std::string, std::string>, Relation> array_relations;
  std::vector<FoundEdge> edges;
  std::optional<Decline> decline;
  const std::vector<int>* cur_chain = nullptr;  // loops around the expression being bounded

  DynamicPhase(const StaticAnalysis& s, const BoundNest& bn) : sa(s), bound(bn), num_loops(s.loops.size()) {}

  void fail(int line, std::string why) {
    if (!decline) decline = Decline{line, std::move(why)};
  }

  // ---- symbolic values -------------------------------------------------
  std::optional<int64_t> eval(const Expr* e, const Locals* locals = nullptr) const {
    if (!e) return 0;
    switch (e->kind) {
      case ExprKind::IntConst:
      case ExprKind::BoolConst: return e->ival;
      case ExprKind::Name: {
        if (locals)
          for (auto it = locals->rbegin(); it != locals->rend(); ++it)
            if (*it->first == e->name) return it->second;
        auto it = ints.find(e->name);
        if (it == ints.end()) return std::nullopt;
        return it->second;
      }
      case ExprKind::Unary: {
        auto a = eval(e->args[0].get(), locals);
        if (!a || e->un_op == UnOp::Not) return std::nullopt;
        return e->un_op == UnOp::Neg ? -*a : *a;
      }
      case ExprKind::Binary: {
        auto a = eval(e->args[0].get(), locals);
        auto c = eval(e->args[1].get(), locals);
        if (!a || !c) return std::nullopt;
        i128 r;
        switch (e->bin_op) {
          case BinOp::Add: r = (i128)*a + *c; break;
          case BinOp::Sub: r = (i128)*a - *c; break;
          case BinOp::Mul: r = (i128)*a * *c; break;
          case BinOp::FloorDiv:
            if (*c == 0) return std::nullopt;
            r = floor_div(*a, *c);
            break;
          case BinOp::Mod:
            if (*c == 0) return std::nullopt;
            r = floor_mod(*a, *c);
            break;
          case BinOp::Pow: {
            // range(10**6): exact, as Python's int ** int with an exponent
            // >= 0 (a negative one gives a float, which range() refuses).
            if (*c < 0) return std::nullopt;
            if (*a == 0)
              r = *c == 0 ? 1 : 0;
            else if (*a == 1)
              r = 1;
            else if (*a == -1)
              r = *c % 2 == 0 ? 1 : -1;
            else {  // |a| >= 2: at most 63 factors before it no longer fits
              r = 1;
              for (int64_t k = 0; k < *c; ++k) {
                r *= *a;
                if (!fits(r)) return std::nullopt;
              }
            }
            break;
          }
          default: return std::nullopt;
        }
        if (!fits(r)) return std::nullopt;
        return (int64_t)r;
      }
      case ExprKind::Call: {
        if (e->name == "abs" && e->args.size() == 1) {
          auto a = eval(e->args[0].get(), locals);
          if (!a) return std::nullopt;
          return *a < 0 ? -*a : *a;
        }
        if ((e->name == "min" || e->name == "max") && !e->args.empty()) {
          std::optional<int64_t> best;
          for (auto& x : e->args) {
            auto v = eval(x.get(), locals);
            if (!v) return std::nullopt;
            if (!best || (e->name == "min" ? *v < *best : *v > *best)) best = v;
          }
          return best;
        }
        return std::nullopt;
      }
      default: return std::nullopt;
    }
  }

  // Interval of an integer expression over the loop variables' ranges.
  std::optional<Interval> eval_interval(const Expr* e) const {
    switch (e->kind) {
      case ExprKind::IntConst:
      case ExprKind::BoolConst: return Interval{e->ival, e->ival};
      case ExprKind::Name: {
        if (cur_chain)
          for (int i : *cur_chain)
            if (sa.loops[i].stmt->var == e->name) return loops[i].v;
        auto it = ints.find(e->name);
        if (it == ints.end()) return std::nullopt;
        return Interval{it->second, it->second};
      }
      case ExprKind::Unary: {
        auto a = eval_interval(e->args[0].get());
        if (!a || e->un_op == UnOp::Not) return std::nullopt;
        if (e->un_op == UnOp::Neg) return Interval{-a->hi, -a->lo};
        return a;
      }
      case ExprKind::Binary: {
        auto a = eval_interval(e->args[0].get());
        auto c = eval_interval(e->args[1].get());
        if (!a || !c) return std::nullopt;
        i128 lo, hi;
        switch (e->bin_op) {
          case BinOp::Add: lo = (i128)a->lo + c->lo, hi = (i128)a->hi + c->hi; break;
          case BinOp::Sub: lo = (i128)a->lo - c->hi, hi = (i128)a->hi - c->lo; break;
          case BinOp::Mul: {
            i128 p[4] = {(i128)a->lo * c->lo, (i128)a->lo * c->hi, (i128)a->hi * c->lo, (i128)a->hi * c->hi};
            lo = *std::min_element(p, p + 4);
            hi = *std::max_element(p, p + 4);
            break;
          }
          case BinOp::FloorDiv:
            if (c->lo != c->hi || c->lo <= 0) return std::nullopt;
            lo = floor_div(a->lo, c->lo), hi = floor_div(a->hi, c->lo);
            break;
          case BinOp::Mod:
            if (c->lo != c->hi || c->lo <= 0) return std::nullopt;
            lo = 0, hi = c->lo - 1;
            break;
          default: return std::nullopt;
        }
        if (!fits(lo) || !fits(hi)) return std::nullopt;
        return Interval{(int64_t)lo, (int64_t)hi};
      }
      case ExprKind::Call: {
        if (e->name == "abs" && e->args.size() == 1) {
          auto a = eval_interval(e->args[0].get());
          if (!a) return std::nullopt;
          if (a->lo >= 0) return a;
          if (a->hi <= 0) return Interval{-a->hi, -a->lo};
          return Interval{0, std::max(-a->lo, a->hi)};
        }
        if ((e->name == "min" || e->name == "max") && !e->args.empty()) {
          std::optional<Interval> r;
          for (auto& x : e->args) {
            auto v = eval_interval(x.get());
            if (!v) return std::nullopt;
            if (!r)
              r = v;
            else if (e->name == "min")
              r = Interval{std::min(r->lo, v->lo), std::min(r->hi, v->hi)};
            else
              r = Interval{std::max(r->lo, v->lo), std::max(r->hi, v->hi)};
          }
          return r;
        }
        return std::nullopt;
      }
      default: return std::nullopt;
    }
  }

  std::optional<AffineForm> concrete(const SymAffine& s) const {
    if (!s.affine) return std::nullopt;
    AffineForm a;
    a.c.assign(num_loops, 0);
    for (size_t i = 0; i < num_loops; ++i) {
      auto v = eval(s.coef[i].get());
      if (!v) return std::nullopt;
      a.c[i] = *v;
    }
    auto k = eval(s.constant.get());
    if (!k) return std::nullopt;
    a.k = *k;
    return a;
  }

  std::optional<Interval> interval_v(const AffineForm& a) const {
    i128 lo = a.k, hi = a.k;
    for (size_t i = 0; i < num_loops; ++i) {
      if (!a.c[i]) continue;
      if (!loops[i].runs) return std::nullopt;
      i128 x = (i128)a.c[i] * loops[i].v.lo, y = (i128)a.c[i] * loops[i].v.hi;
      lo += std::min(x, y);
      hi += std::max(x, y);
    }
    if (!fits(lo) || !fits(hi)) return std::nullopt;
    return Interval{(int64_t)lo, (int64_t)hi};
  }
  std::optional<Interval> interval_t(const AffineForm& a) const {
    i128 lo = a.k, hi = a.k;
    for (size_t i = 0; i < num_loops; ++i) {
      if (!a.c[i]) continue;
      if (loops[i].last_counter < 0) return std::nullopt;
      i128 x = (i128)a.c[i] * loops[i].last_counter;
      lo += std::min<i128>(0, x);
      hi += std::max<i128>(0, x);
    }
    if (!fits(lo) || !fits(hi)) return std::nullopt;
    return Interval{(int64_t)lo, (int64_t)hi};
  }
  // v-form (over loop variables) to t-form (over counters).
  std::optional<AffineForm> to_t(const AffineForm& a) const {
    AffineForm r;
    r.c.assign(num_loops, 0);
    i128 k = a.k;
    std::vector<i128> c(num_loops, 0);
    for (size_t i = 0; i < num_loops; ++i) {
      if (!a.c[i]) continue;
      const AffineForm& t = loops[i].tform;
      k += (i128)a.c[i] * t.k;
      for (size_t j = 0; j < num_loops; ++j) c[j] += (i128)a.c[i] * t.c[j];
    }
    if (!fits(k)) return std::nullopt;
    r.k = (int64_t)k;
    for (size_t j = 0; j < num_loops; ++j) {
      if (!fits(c[j])) return std::nullopt;
      r.c[j] = (int64_t)c[j];
    }
    return r;
  }
  std::optional<Interval> interval_both(const AffineForm& v) const {
    auto a = interval_v(v);
    auto t = to_t(v);
    std::optional<Interval> bt = t ? interval_t(*t) : std::nullopt;
    if (a && bt) return Interval{std::max(a->lo, bt->lo), std::min(a->hi, bt->hi)};
    return a ? a : bt;
  }

  // ---- binding -----------------------------------------------------------
  // Only values that stay constant while the nest runs: scalars the nest
  // assigns, and its loop variables, are not constants even when a value
  // was bound for them.
  void bind_scalars() {
    std::set<std::string> varying = sa.assigned_scalars;
    for (auto& l : sa.loops) varying.insert(l.stmt->var);
    for (auto& [name, s] : bound.scalars)
      if (s.kind != ScalarKind::Float && !varying.count(name)) ints[name] = s.ival;
  }

  void bind_loops() {
    loops.assign(num_loops, LoopInstance{});
    for (size_t i = 0; i < num_loops; ++i) {
      const LoopInfo& li = sa.loops[i];
      LoopInstance& d = loops[i];
      d.tform.c.assign(num_loops, 0);
      bool parent_runs = li.parent < 0 || loops[li.parent].runs;
      auto st = concrete(li.start), sp = concrete(li.stop), stp = concrete(li.step);
      if (!st || !sp || !stp) {
        fail(li.stmt->line, "the bounds of loop " + li.stmt->var +
                                " are not integers known before the loop runs (range() needs integers)");
        return;
      }
      if (stp->k == 0) {
        fail(li.stmt->line, "range() of loop " + li.stmt->var + " has a zero step (Python raises ValueError)");
        return;
      }
      d.start = *st;
      d.stop = *sp;
      d.step = stp->k;
      if (!parent_runs) continue;
      // Differences as affine forms give tighter trip counts than intervals of each bound.
      AffineForm diff;
      diff.c.assign(num_loops, 0);
      for (size_t j = 0; j < num_loops; ++j)
        diff.c[j] = d.step > 0 ? d.stop.c[j] - d.start.c[j] : d.start.c[j] - d.stop.c[j];
      diff.k = d.step > 0 ? d.stop.k - d.start.k : d.start.k - d.stop.k;
      auto di = interval_both(diff);
      auto si = interval_both(d.start);
      auto pi = interval_both(d.stop);
      if (!di || !si || !pi) {
        fail(li.stmt->line, "the bounds of loop " + li.stmt->var + " are too large to analyse");
        return;
      }
      int64_t s = d.step > 0 ? d.step : -d.step;
      auto ceil_div = [](int64_t a, int64_t q) { return a <= 0 ? 0 : (a + q - 1) / q; };
      int64_t trip_max = ceil_div(di->hi, s), trip_min = ceil_div(di->lo, s);
      d.last_counter = trip_max - 1;
      d.min_trip = trip_min;
      d.runs = d.last_counter >= 0;
      if (!d.runs) continue;
      // v = start + step * t, start expressed in counters.
      auto st_t = to_t(d.start);
      if (!st_t) {
        fail(li.stmt->line, "the bounds of loop " + li.stmt->var + " are too large to analyse");
        return;
      }
      d.tform = *st_t;
      d.tform.c[i] = d.step;
      if (d.step > 0) {
        d.v.lo = si->lo;
        d.v.hi = (int64_t)std::min<i128>((i128)pi->hi - 1, (i128)si->hi + (i128)d.step * d.last_counter);
      } else {
        d.v.hi = si->hi;
        d.v.lo = (int64_t)std::max<i128>((i128)pi->lo + 1, (i128)si->lo + (i128)d.step * d.last_counter);
      }
      if (d.v.lo > d.v.hi) d.runs = false, d.last_counter = -1;
    }
  }

  // Narrows `iv`, the values of the affine subscript `v`, with the guards
  // around its reference (each g >= 0 where it runs): when v = alpha * g + c
  // for an integer alpha, v >= c (alpha > 0) or v <= c (alpha < 0). So
  // `if i + 1 < N: A[i + 1]` is in range although i + 1 reaches N in the
  // loop. The values where the reference does not run only widen iv, so a
  // narrowed iv still covers every index the reference uses.
  void narrow_by_guards(const AffineForm& v, const std::vector<SymAffine>& guards, Interval& iv) const {
    for (auto& sym : guards) {
      auto g = concrete(sym);
      if (!g) continue;
      std::optional<int64_t> alpha;
      bool proportional = true;
      for (size_t i = 0; i < num_loops && proportional; ++i) {
        if (g->c[i] == 0) {
          proportional = v.c[i] == 0;
          continue;
        }
        i128 q = (i128)v.c[i] / g->c[i];  // in 128 bits: INT64_MIN / -1 does not fit
        if ((i128)v.c[i] % g->c[i] != 0 || q == 0 || !fits(q) || (alpha && *alpha != (int64_t)q)) {
          proportional = false;
          continue;
        }
        alpha = (int64_t)q;
      }
      if (!proportional || !alpha) continue;
      i128 c = (i128)v.k - (i128)*alpha * g->k;
      if (!fits(c)) continue;
      if (*alpha > 0)
        iv.lo = std::max<int64_t>(iv.lo, (int64_t)c);
      else
        iv.hi = std::min<int64_t>(iv.hi, (int64_t)c);
    }
  }

  void bind_refs() {
    refs.assign(sa.refs.size(), RefInstance{});
    for (auto& r : sa.refs) {
      RefInstance& d = refs[r.index];
      d.live = true;
      for (int l : r.loops)
        if (!loops[l].runs) d.live = false;
      if (!d.live) continue;
      auto it = bound.arrays.find(r.array);
      if (it == bound.arrays.end()) {
        fail(r.stmt->line, r.array + " is not bound to an array");
        return;
      }
      const ArrayBinding& ab = it->second;
      if (ab.shape.size() != r.subs.size()) {
        fail(r.stmt->line, r.text + " uses " + std::to_string(r.subs.size()) + " subscript(s) but " + r.array +
                               " has " + std::to_string(ab.shape.size()) +
                               " dimension(s); only whole-element accesses are supported");
        return;
      }
      d.in_range = true;
      d.t.assign(r.subs.size(), std::nullopt);
      for (size_t k = 0; k < r.subs.size(); ++k) {
        int64_t N = ab.shape[k];
        std::optional<Interval> iv;
        std::optional<AffineForm> v;
        if (r.subs[k].affine) {
          v = concrete(r.subs[k]);
          if (!v) {
            fail(r.stmt->line, "the subscript " + to_source(*r.expr->args[k]) + " of " + r.text +
                                   " uses a value that is not an integer");
            return;
          }
          iv = interval_both(*v);
          if (iv) narrow_by_guards(*v, r.guards, *iv);
        } else {
          cur_chain = &r.loops;
          iv = eval_interval(r.expr->args[k].get());
          cur_chain = nullptr;
        }
        std::string sub = to_source(*r.expr->args[k]);
        if (!iv) {
          if (d.in_range)
            d.problem = "the subscript " + sub + " of " + r.text + " cannot be bounded before the loop runs",
            d.in_range = false;
        } else if (iv->lo < -N || iv->hi > N - 1) {
          if (d.in_range) {
            std::ostringstream os;
            os << r.text << " may be out of range: " << sub << " takes values from " << iv->lo << " to " << iv->hi
               << " but axis " << k << " of " << r.array << " has length " << N;
            d.problem = os.str();
            d.in_range = false;
          }
        }
        if (v && iv) {
          auto t = to_t(*v);
          if (t && iv->lo >= 0)
            d.t[k] = t;
          else if (t && iv->hi <= -1) {
            t->k += N;  // Python's wrap-around: A[-1] is A[N-1]
            d.t[k] = t;
          }
        }
      }
    }
  }

  // True when two different indices of the array may reach the same memory
  // (a zero stride, or strides that interleave, as np.lib.stride_tricks can
  // make). Per-dimension tests assume they cannot.
  static bool self_overlapping(const ArrayBinding& a) {
    std::vector<std::pair<int64_t, int64_t>> dims;  // |stride|, extent
    for (size_t d = 0; d < a.shape.size(); ++d)
      if (a.shape[d] > 1) dims.push_back({a.strides[d] < 0 ? -a.strides[d] : a.strides[d], a.shape[d]});
    std::sort(dims.begin(), dims.end());
    int64_t reach = dtype_size(a.dtype);  // bytes covered by the faster dimensions
    for (auto& [st, n] : dims) {
      if (st < reach) return true;
      reach = st * n;
    }
    return false;
  }

  void bind_relations() {
    for (auto& x : sa.nest->arrays)
      for (auto& y : sa.nest->arrays) {
        auto ix = bound.arrays.find(x), iy = bound.arrays.find(y);
        if (ix == bound.arrays.end() || iy == bound.arrays.end()) continue;
        const ArrayBinding& a = ix->second;
        const ArrayBinding& c = iy->second;
        Relation r;
        if (x == y || (a.data == c.data && a.shape == c.shape && a.strides == c.strides && a.dtype == c.dtype))
          r = self_overlapping(a) ? Relation::Overlap : Relation::Same;
        else if (a.mem_lo < c.mem_hi && c.mem_lo < a.mem_hi)
          r = Relation::Overlap;
        else
          r = Relation::Disjoint;
        array_relations[{x, y}] = r;
      }
  }

  // ---- dependence tests --------------------------------------------------
  int common_loops(const RefInfo& a, const RefInfo& c) const {
    size_t n = 0;
    while (n < a.loops.size() && n < c.loops.size() && a.loops[n] == c.loops[n]) ++n;
    return (int)n;
  }

  bool build_problem(const RefInfo& r1, const RefInfo& r2, Relation re, DependenceProblem& p) const {
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
        if (!d1.t[k] || !d2.t[k]) continue;
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
        if (!d.t[dim]) return false;
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
  bool fm_useful(const RefInfo& r1, const RefInfo& r2, const DependenceProblem& p) const {
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
  bool fm_refutes(const RefInfo& r1, const RefInfo& r2, const DependenceProblem& p,
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
  bool enumerate(const RefInfo& r, Relation re, int ncommon,
                 std::vector<std::pair<int64_t, std::vector<int64_t>>>& out) const {
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
  using Enumeration = std::vector<std::pair<int64_t, std::vector<int64_t>>>;
  bool enumerate_sorted(const RefInfo& r, Relation re, int ncommon, Enumeration& out) const {
    double est = 1;
    for (int l : r.loops) est *= (double)(loops[l].last_counter + 1);
    if (est > kExactIterations) return false;
    if (!enumerate(r, re, ncommon, out)) return false;
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return true;
  }

  // The exact test on two enumerations (nullptr: not enumerable).
  std::optional<std::vector<DirectionVector>> exact(const RefInfo& r1, const RefInfo& r2, Relation re, int ncommon) {
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
                 const std::string& test, EdgeIndex* index = nullptr) {
    int nc = common_loops(r1, r2);
    for (auto& v : vecs) {
      int first = -1;
      for (int k = 0; k < nc; ++k)
        if (v.dir[k] != Direction::Eq) {
          first = k;
          break;
        }
      const RefInfo* src = &r1;
      const RefInfo* dst = &r2;
      std::vector<Direction> dir = v.dir;
      std::vector<std::optional<int64_t>> dist = v.distance;
      if (first < 0) {
        if (r1.index == r2.index) continue;  // the same access
      } else if (v.dir[first] == Direction::Gt) {
        if (r1.index == r2.index) continue;  // mirror of a '<' vector
        std::swap(src, dst);
        for (auto& d : dir) d = d == Direction::Lt ? Direction::Gt : d == Direction::Gt ? Direction::Lt : d;
        for (auto& d : dist)
          if (d) d = -*d;
      }
      if (!src->write && !dst->write) continue;
      FoundEdge ie;
      ie.r_src = src->index;
      ie.r_dst = dst->index;
      DependenceEdge& e = ie.e;
      e.src = src->stmt->id;
      e.dst = dst->stmt->id;
      e.kind = src->write && dst->write ? DepKind::Output : src->write ? DepKind::Flow : DepKind::Anti;
      e.carrier = first;
      // Merge with an edge of the same endpoints and carrier.
      FoundEdge* same = nullptr;
      if (index) {
        auto [it, fresh] = index->emplace(EdgeKey{ie.r_src, ie.r_dst, e.carrier, (int)e.kind}, edges.size());
        if (!fresh) same = &edges[it->second];
      } else {
        for (auto& o : edges)
          if (o.r_src == ie.r_src && o.r_dst == ie.r_dst && o.e.carrier == e.carrier && o.e.kind == e.kind) {
            same = &o;
            break;
          }
      }
      if (same) {
        for (size_t k = 0; k < dir.size(); ++k) {
          if (same->e.direction[k] != dir[k]) same->e.direction[k] = Direction::Star;
          if (same->e.distance[k] != dist[k]) same->e.distance[k] = std::nullopt;
        }
        continue;
      }
      e.variable = src->array == dst->array ? src->array : src->array + "/" + dst->array;
      e.src_ref = src->text;
      e.dst_ref = dst->text;
      for (int k = 0; k < nc; ++k) e.loops.push_back(sa.loops[r1.loops[k]].stmt->var);
      e.direction = dir;
      e.distance = dist;
      e.test = test;
      ie.carrier_loop = first >= 0 ? sa.loops[r1.loops[first]].stmt : nullptr;
      edges.push_back(std::move(ie));
    }
  }

  std::vector<std::string> proofs;

  void prove(const RefInfo& r1, const RefInfo& r2, const std::string& test) {
    std::string text = r1.text == r2.text ? r1.text + " in different iterations" : r1.text + " and " + r2.text;
    proofs.push_back(text + ": never the same element (" + (test.empty() ? std::string("dependence tests") : test) +
                     ")");
  }

  // What the tests conclude on one pair of references: proved independent
  // by `test` (no vectors), or the feasible direction vectors and the test
  // that kept them. A function of the pair's signatures only (see
  // signature()), which is what lets pairs of the same shapes share it.
  struct PairOutcome {
    std::string test;
    std::vector<DirectionVector> vectors;
  };

  bool exact_on = true;

  PairOutcome evaluate_pair(const RefInfo& r1, const RefInfo& r2, Relation re) {
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
    for (size_t k = 0; k < refs[r1.index].t.size(); ++k) partial |= !refs[r1.index].t[k];
    for (size_t k = 0; k < refs[r2.index].t.size(); ++k) partial |= !refs[r2.index].t[k];
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

  void apply(const RefInfo& r1, const RefInfo& r2, const PairOutcome& o, EdgeIndex* index = nullptr) {
    if (o.vectors.empty())
      prove(r1, r2, o.test);
    else
      add_edges(r1, r2, o.vectors, o.test, index);
  }

  // ---- sharing work between pairs ------------------------------------------
  // A reference's signature: everything evaluate_pair() reads about it for a
  // given relation of the two arrays. For arrays that are the same memory:
  // the array's shape, the enclosing loops, the subscripts in counters and
  // the subscript expressions themselves (the exact test evaluates them).
  // For overlapping views: the same with the array's name instead of its
  // shape, since byte addresses depend on the binding.
  bool share = false;
  std::vector<int> sig_same, sig_overlap;
  std::map<std::tuple<int, int, int>, std::optional<Enumeration>> enum_cache;

  static void put_i64(std::string& s, int64_t v) { s.append(reinterpret_cast<const char*>(&v), sizeof v); }
  static void put_str(std::string& s, const std::string& t) {
    put_i64(s, (int64_t)t.size());
    s += t;
  }
  static void put_expr(std::string& s, const Expr* e) {
    if (!e) {
      s.push_back('0');
      return;
    }
    s.push_back('e');
    put_i64(s, (int64_t)e->kind);
    put_i64(s, e->ival);
    int64_t bits;
    std::memcpy(&bits, &e->fval, sizeof bits);
    put_i64(s, bits);
    put_str(s, e->name);
    put_i64(s, (int64_t)e->bin_op);
    put_i64(s, (int64_t)e->un_op);
    put_i64(s, (int64_t)e->bool_op);
    put_i64(s, (int64_t)e->cmp_ops.size());
    for (auto c : e->cmp_ops) put_i64(s, (int64_t)c);
    put_i64(s, (int64_t)e->args.size());
    for (auto& a : e->args) put_expr(s, a.get());
  }

  void signatures() {
    std::unordered_map<std::string, int> ids;
    auto intern = [&](std::string&& k) { return ids.emplace(std::move(k), (int)ids.size()).first->second; };
    sig_same.assign(sa.refs.size(), -1);
    sig_overlap.assign(sa.refs.size(), -1);
    for (auto& r : sa.refs) {
      const RefInstance& d = refs[r.index];
      if (!d.live) continue;
      std::string body;
      put_i64(body, (int64_t)r.loops.size());
      for (int l : r.loops) put_i64(body, l);
      put_i64(body, (int64_t)d.t.size());
      for (auto& t : d.t) {
        body.push_back(t ? 't' : '-');
        if (!t) continue;
        for (auto c : t->c) put_i64(body, c);
        put_i64(body, t->k);
      }
      put_i64(body, (int64_t)r.expr->args.size());
      for (auto& a : r.expr->args) put_expr(body, a.get());
      std::string same = "S";
      auto it = bound.arrays.find(r.array);
      if (it != bound.arrays.end()) {
        put_i64(same, (int64_t)it->second.shape.size());
        for (auto x : it->second.shape) put_i64(same, x);
      } else {
        put_str(same, r.array);
      }
      std::string over = "O";
      put_str(over, r.array);
      sig_same[r.index] = intern(same + body);
      sig_overlap[r.index] = intern(over + body);
    }
  }

  int signature(const RefInfo& r, Relation re) const {
    return re == Relation::Same ? sig_same[r.index] : sig_overlap[r.index];
  }

  // The sorted enumeration of a reference: computed once per signature when
  // work is shared, else into `own`.
  const Enumeration* enumeration(const RefInfo& r, Relation re, int ncommon, std::optional<Enumeration>& own) {
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

  void dependences() {
    exact_on = g_exact_enabled;
    if (g_reference_pairs)
      dependences_every_pair();
    else
      dependences_shared();
  }

  // The reference: every pair of references in order, each tested on its own.
  void dependences_every_pair() {
    share = false;
    for (size_t i = 0; i < sa.refs.size(); ++i) {
      for (size_t j = i; j < sa.refs.size(); ++j) {
        const RefInfo& r1 = sa.refs[i];
        const RefInfo& r2 = sa.refs[j];
        if (!r1.write && !r2.write) continue;
        if (!refs[i].live || !refs[j].live) continue;
        auto it = array_relations.find({r1.array, r2.array});
        if (it == array_relations.end() || it->second == Relation::Disjoint) continue;
        if (it->second == Relation::Same && sa.settled.count({(int)i, (int)j})) continue;
        apply(r1, r2, evaluate_pair(r1, r2, it->second));
      }
    }
  }

  // The same pairs in the same order, with the same results, found through
  // the memory each array covers: for a reference, only the references of
  // arrays that may share its memory (by the relations, so two names of one
  // buffer do meet), and only writes when it is a read. Pairs whose two
  // signatures were seen before reuse that outcome.
  void dependences_shared() {
    share = true;
    const auto& names = sa.nest->arrays;
    size_t na = names.size();
    std::unordered_map<std::string, int> aidx;
    for (size_t a = 0; a < na; ++a) aidx.emplace(names[a], (int)a);
    for (auto& r : sa.refs)
      if (!aidx.count(r.array)) return dependences_every_pair();  // not expected: arrays lists every name
    std::vector<std::vector<int>> all_of(na), writes_of(na);
    for (auto& r : sa.refs) {
      int a = aidx[r.array];
      all_of[a].push_back(r.index);
      if (r.write) writes_of[a].push_back(r.index);
    }
    std::vector<int> relm(na * na, -1);
    std::vector<std::vector<int>> related(na);
    for (size_t x = 0; x < na; ++x)
      for (size_t y = 0; y < na; ++y) {
        auto it = array_relations.find({names[x], names[y]});
        if (it == array_relations.end() || it->second == Relation::Disjoint) continue;
        relm[x * na + y] = (int)it->second;
        related[x].push_back((int)y);
      }
    signatures();
    std::unordered_map<uint64_t, PairOutcome> memo;
    EdgeIndex index;
    std::vector<int> cand;
    for (size_t i = 0; i < sa.refs.size(); ++i) {
      const RefInfo& r1 = sa.refs[i];
      if (!refs[i].live) continue;
      int x = aidx[r1.array];
      cand.clear();
      for (int y : related[x]) {
        const auto& list = r1.write ? all_of[y] : writes_of[y];
        cand.insert(cand.end(), std::lower_bound(list.begin(), list.end(), (int)i), list.end());
      }
      std::sort(cand.begin(), cand.end());
      for (int j : cand) {
        const RefInfo& r2 = sa.refs[j];
        if (!refs[j].live) continue;
        auto re = (Relation)relm[x * na + aidx[r2.array]];
        if (re == Relation::Same && sa.settled.count({(int)i, j})) continue;
        uint64_t key = ((uint64_t)re << 62) | ((uint64_t)(uint32_t)signature(r1, re) << 31) |
                       (uint64_t)(uint32_t)signature(r2, re);
        auto it = memo.find(key);
        if (it == memo.end()) it = memo.emplace(key, evaluate_pair(r1, r2, re)).first;
        apply(r1, r2, it->second, &index);
      }
    }
  }
};

// ---- scalar analysis helpers ----------------------------------------------

bool reads(const Expr* e, const std::string& s) {
  if (!e) return false;
  if (e->kind == ExprKind::Name && e->name == s) return true;
  for (auto& a : e->args)
    if (reads(a.get(), s)) return true;
  return false;
}

bool stmt_reads(const Stmt& st, const std::string& s) {
  switch (st.kind) {
    case StmtKind::For: return reads(st.start.get(), s) || reads(st.stop.get(), s) || reads(st.step.get(), s);
    case StmtKind::If: return reads(st.cond.get(), s);
    default:
      if (st.kind == StmtKind::AugAssign && st.target->kind == ExprKind::Name && st.target->name == s) return true;
      if (reads(st.value.get(), s)) return true;
      if (st.target->kind == ExprKind::Subscript)
        for (auto& a : st.target->args)
          if (reads(a.get(), s)) return true;
      return false;
  }
}

struct RedForm {
  BinOp op = BinOp::Add;
  std::string fn;
  const Expr* operand = nullptr;  // the read of the accumulator (Assign form)
  bool operator==(const RedForm& o) const { return op == o.op && fn == o.fn; }
};

// `acc` is the accumulator as text ("s" or "A[i]"); `mentions` tells whether
// an expression mentions the accumulator.
std::optional<RedForm> reduction_form(const Stmt& st, const std::string& acc,
                                      const std::function<bool(const Expr*)>& mentions) {
  if (to_source(*st.target) != acc) return std::nullopt;
  if (st.kind == StmtKind::AugAssign) {
    if (st.aug_op != BinOp::Add && st.aug_op != BinOp::Sub && st.aug_op != BinOp::Mul) return std::nullopt;
    if (mentions(st.value.get())) return std::nullopt;
    return RedForm{st.aug_op, "", nullptr};
  }
  if (st.kind != StmtKind::Assign) return std::nullopt;
  const Expr& v = *st.value;
  if (v.kind == ExprKind::Binary && (v.bin_op == BinOp::Add || v.bin_op == BinOp::Sub || v.bin_op == BinOp::Mul)) {
    const Expr* l = v.args[0].get();
    const Expr* r = v.args[1].get();
    if (to_source(*l) == acc && !mentions(r)) return RedForm{v.bin_op, "", l};
    if (v.bin_op != BinOp::Sub && to_source(*r) == acc && !mentions(l)) return RedForm{v.bin_op, "", r};
    return std::nullopt;
  }
  if (v.kind == ExprKind::Call && (v.name == "min" || v.name == "max") && v.args.size() == 2) {
    const Expr* l = v.args[0].get();
    const Expr* r = v.args[1].get();
    if (to_source(*l) == acc && !mentions(r)) return RedForm{BinOp::Add, v.name, l};
    if (to_source(*r) == acc && !mentions(l)) return RedForm{BinOp::Add, v.name, r};
  }
  return std::nullopt;
}

void walk_stmts(const std::vector<StmtPtr>& body, const std::function<void(const Stmt&)>& f) {
  for (auto& s : body) {
    f(*s);
    walk_stmts(s->body, f);
    walk_stmts(s->orelse, f);
  }
}

// Whether an expression's value is certainly an integer (a Python int or
// bool, or a NumPy integer) in this bound instance; false when it may be a
// float. `int_names` hold integers for sure (loop variables, and an
// accumulator under test); other names assigned in the nest (`local`) are
// not known, and names read from outside have their bound kind.
bool certainly_integer(const Expr& e, const BoundNest& b, const std::set<std::string>& int_names,
                       const std::set<std::string>& local) {
  auto all_args = [&](size_t from) {
    for (size_t k = from; k < e.args.size(); ++k)
      if (!certainly_integer(*e.args[k], b, int_names, local)) return false;
    return true;
  };
  switch (e.kind) {
    case ExprKind::IntConst:
    case ExprKind::BoolConst:
    case ExprKind::Compare: return true;
    case ExprKind::FloatConst: return false;
    case ExprKind::Name: {
      if (int_names.count(e.name)) return true;
      if (local.count(e.name)) return false;
      auto it = b.scalars.find(e.name);
      return it != b.scalars.end() && it->second.kind != ScalarKind::Float;
    }
    case ExprKind::Subscript: {
      auto it = b.arrays.find(e.name);
      return it != b.arrays.end() && it->second.dtype != DType::Float64 && it->second.dtype != DType::Float32;
    }
    case ExprKind::Binary:
      return (e.bin_op == BinOp::Add || e.bin_op == BinOp::Sub || e.bin_op == BinOp::Mul ||
              e.bin_op == BinOp::FloorDiv || e.bin_op == BinOp::Mod) &&
             all_args(0);
    case ExprKind::Unary:
    case ExprKind::Logical: return all_args(0);
    case ExprKind::IfExp: return all_args(1);
    case ExprKind::Call:
      if (e.name == "int" || e.name == "len") return true;
      return (e.name == "abs" || e.name == "min" || e.name == "max") && all_args(0);
  }
  return false;
}

std::string join_dirs(const std::vector<Direction>& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::string(1, to_char(d[i]));
  return s + ")";
}
std::string join_dist(const std::vector<std::optional<int64_t>>& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + (d[i] ? std::to_string(*d[i]) : std::string("?"));
  return s + ")";
}

struct Planner {
  DynamicPhase& dy;
  const StaticAnalysis& sa;
  std::map<int, const Stmt*> by_id;
  std::map<std::string, std::string> cls;  // array -> alias class representative
  ParallelPlan plan;

  std::string find(const std::string& a) {
    auto it = cls.find(a);
    if (it == cls.end() || it->second == a) return a;
    return it->second = find(it->second);
  }

  // Is `s` definitely assigned after `body` runs, and is it read before being
  // assigned (exposed_line)?
  bool defs(const std::vector<StmtPtr>& body, const std::string& s, bool defined, int& exposed_line) {
    for (auto& st : body) {
      switch (st->kind) {
        case StmtKind::For: {
          if (!defined && stmt_reads(*st, s) && exposed_line < 0) exposed_line = st->line;
          bool inner = defs(st->body, s, defined || st->var == s, exposed_line);
          int idx = sa.loop_index.at(st.get());
          if (dy.loops[idx].min_trip >= 1) defined = inner || st->var == s || defined;
          break;
        }
        case StmtKind::If: {
          if (!defined && stmt_reads(*st, s) && exposed_line < 0) exposed_line = st->line;
          bool a = defs(st->body, s, defined, exposed_line);
          bool c = defs(st->orelse, s, defined, exposed_line);
          defined = a && c;
          break;
        }
        default:
          if (!defined && stmt_reads(*st, s) && exposed_line < 0) exposed_line = st->line;
          if (st->target->kind == ExprKind::Name && st->target->name == s) defined = true;
      }
    }
    return defined;
  }

  std::string describe_edge(const FoundEdge& ie, const Stmt& L) {
    const DependenceEdge& e = ie.e;
    const Stmt* s = by_id[e.src];
    const Stmt* d = by_id[e.dst];
    std::ostringstream os;
    os << L.var << " carries " << (e.kind == DepKind::Flow ? "a " : "an ") << to_string(e.kind) << " dependence "
       << s->label() << " -> " << d->label() << " on " << e.variable << ": " << e.src_ref;
    const char* first = e.kind == DepKind::Anti ? " read" : " written";
    const char* second = e.kind == DepKind::Flow ? "read" : e.kind == DepKind::Anti ? "overwritten" : "written again";
    std::string where;
    if (e.carrier >= 0 && e.distance[e.carrier]) {
      int64_t step = dy.loops[sa.loop_index.at(&L)].step;
      int64_t delta = *e.distance[e.carrier] * step;
      where = L.var + (delta >= 0 ? "+" : "-") + std::to_string(delta >= 0 ? delta : -delta);
      os << first << " at iteration " << L.var << " is " << second;
      if (e.dst_ref != e.src_ref) os << " as " << e.dst_ref;
      os << " at " << where << " (distance " << join_dist(e.distance) << ")";
    } else {
      os << first << " at one iteration of " << L.var << " is " << second;
      if (e.dst_ref != e.src_ref) os << " as " << e.dst_ref;
      os << " at a later one (direction " << join_dirs(e.direction) << ")";
    }
    return os.str();
  }

  void run() {
    walk_stmts({sa.nest->root}, [&](const Stmt& s) { by_id[s.id] = &s; });
    for (auto& [k, r] : dy.array_relations)
      if (r != Relation::Disjoint) {
        std::string a = find(k.first), c = find(k.second);
        if (a != c) cls[a] = c;
      }
    for (auto& ie : dy.edges) plan.edges.push_back(ie.e);
    plan.proofs = sa.settled_text;  // proved when the cell was submitted
    plan.proofs.insert(plan.proofs.end(), dy.proofs.begin(), dy.proofs.end());
    bool any_float_reduction = false;
    // Whether the accumulator scalar `s` certainly holds an integer: its
    // value from outside (if any) is one, and every assignment to it in the
    // nest stores one.
    std::set<std::string> loop_vars, assigned_in_nest;
    walk_stmts({sa.nest->root}, [&](const Stmt& st) {
      if (st.kind == StmtKind::For) loop_vars.insert(st.var);
      if ((st.kind == StmtKind::Assign || st.kind == StmtKind::AugAssign) && st.target->kind == ExprKind::Name)
        assigned_in_nest.insert(st.target->name);
    });
    auto scalar_is_integer = [&](const std::string& s) {
      auto it = dy.bound.scalars.find(s);
      if (it != dy.bound.scalars.end() && it->second.kind == ScalarKind::Float) return false;
      std::set<std::string> ints = loop_vars;
      ints.insert(s);
      bool all = true;
      walk_stmts({sa.nest->root}, [&](const Stmt& st) {
        if ((st.kind == StmtKind::Assign || st.kind == StmtKind::AugAssign) && st.target->kind == ExprKind::Name &&
            st.target->name == s) {
          if (st.kind == StmtKind::AugAssign && st.aug_op != BinOp::Add && st.aug_op != BinOp::Sub &&
              st.aug_op != BinOp::Mul && st.aug_op != BinOp::FloorDiv && st.aug_op != BinOp::Mod)
            all = false;
          if (!certainly_integer(*st.value, dy.bound, ints, assigned_in_nest)) all = false;
        }
      });
      return all;
    };

    for (size_t li = 0; li < sa.loops.size(); ++li) {
      const Stmt& L = *sa.loops[li].stmt;
      LoopPlan lp;
      lp.loop = L.id;
      lp.var = L.var;
      lp.line = L.line;
      std::vector<std::string> reasons;
      std::vector<Reduction> reassociated_floats;  // into float accumulators, with +, - or *

      // --- scalars
      std::set<std::string> assigned, inner_vars;
      walk_stmts(L.body, [&](const Stmt& s) {
        if ((s.kind == StmtKind::Assign || s.kind == StmtKind::AugAssign) && s.target->kind == ExprKind::Name)
          assigned.insert(s.target->name);
        if (s.kind == StmtKind::For) inner_vars.insert(s.var);
      });
      for (auto& v : inner_vars) {
        int exposed = -1;
        defs(L.body, v, false, exposed);
        if (exposed >= 0)
          reasons.push_back(L.var + " carries a flow dependence on " + v + ": line " + std::to_string(exposed) +
                            " reads " + v + " after its loop, which may not have run in this iteration");
        else
          lp.privates.push_back(v);
      }
      for (auto& s : assigned) {
        // reduction?
        bool ok = true, any = false;
        std::optional<RedForm> form;
        std::vector<int> stmts;
        auto mentions = [&](const Expr* e) { return reads(e, s); };
        walk_stmts(L.body, [&](const Stmt& st) {
          if (!ok) return;
          if (st.kind == StmtKind::For || st.kind == StmtKind::If) {
            if (stmt_reads(st, s)) ok = false;
            return;
          }
          bool touches = stmt_reads(st, s) || (st.target->kind == ExprKind::Name && st.target->name == s);
          if (!touches) return;
          auto f = reduction_form(st, s, mentions);
          if (!f || (form && !(*form == *f))) {
            ok = false;
            return;
          }
          form = f;
          any = true;
          stmts.push_back(st.id);
        });
        if (ok && any) {
          for (int id : stmts) lp.reductions.push_back(Reduction{s, form->op, form->fn, id});
          if (!scalar_is_integer(s)) {
            any_float_reduction = true;
            if (form->fn.empty()) reassociated_floats.push_back(lp.reductions.back());
          }
          continue;
        }
        int exposed = -1;
        defs(L.body, s, false, exposed);
        if (exposed >= 0) {
          reasons.push_back(L.var + " carries a flow dependence on the scalar " + s + ": line " +
                            std::to_string(exposed) + " reads " + s +
                            " before this iteration assigns it, so it sees the value from the previous iteration");
          DependenceEdge e;
          e.kind = DepKind::Flow;
          e.variable = s;
          e.src_ref = s;
          e.dst_ref = s;
          int w = 0, r = 0;
          walk_stmts(L.body, [&](const Stmt& st) {
            if ((st.kind == StmtKind::Assign || st.kind == StmtKind::AugAssign) && st.target->kind == ExprKind::Name &&
                st.target->name == s)
              w = st.id;
            if (!r && stmt_reads(st, s) && st.line == exposed) r = st.id;
          });
          e.src = w;
          e.dst = r ? r : w;
          for (int l : sa.loops[li].chain) {
            e.loops.push_back(sa.loops[l].stmt->var);
            e.direction.push_back(l == (int)li ? Direction::Lt : Direction::Eq);
            e.distance.push_back(l == (int)li ? std::optional<int64_t>(1) : std::optional<int64_t>(0));
          }
          e.carrier = (int)sa.loops[li].chain.size() - 1;
          e.test = "scalar";
          plan.edges.push_back(e);
        } else {
          // Every read of s follows an assignment in the same iteration, so s
          // is private. When only some iterations assign it (a temporary under
          // an `if`), its value after the loop is the one the last assigning
          // iteration left: the CPU combines its chunks in order keeping the
          // last chunk that assigned it, and the GPU's last iteration reports
          // it or stops the run (the loop then runs as Python).
          lp.privates.push_back(s);
        }
      }

      // --- arrays
      std::map<std::string, std::optional<std::vector<Reduction>>> class_ok;
      auto in_L = [&](const RefInfo& r) { return std::find(r.loops.begin(), r.loops.end(), (int)li) != r.loops.end(); };
      auto check_class = [&](const std::string& c) -> std::optional<std::vector<Reduction>> {
        // Every reference to memory of class c inside L must be the
        // accumulator of a reduction statement with an L-invariant subscript.
        std::set<std::string> members;
        for (auto& a : sa.nest->arrays)
          if (find(a) == c) members.insert(a);
        auto mentions_class = [&](const Expr* e) {
          std::function<bool(const Expr*)> m = [&](const Expr* x) -> bool {
            if (!x) return false;
            if (x->kind == ExprKind::Subscript && members.count(x->name)) return true;
            for (auto& a : x->args)
              if (m(a.get())) return true;
            return false;
          };
          return m(e);
        };
        std::set<std::string> varying = inner_vars;
        varying.insert(L.var);
        for (auto& s : assigned) varying.insert(s);
        std::optional<RedForm> form;
        std::vector<Reduction> out;
        for (auto& r : sa.refs) {
          if (!members.count(r.array) || !in_L(r) || !dy.refs[r.index].live) continue;
          const Stmt& st = *r.stmt;
          if (st.kind != StmtKind::Assign && st.kind != StmtKind::AugAssign) return std::nullopt;
          if (st.target->kind != ExprKind::Subscript || !members.count(st.target->name)) return std::nullopt;
          auto f = reduction_form(st, to_source(*st.target), mentions_class);
          if (!f || (form && !(*form == *f))) return std::nullopt;
          form = f;
          // The reference must be the target or the accumulator operand.
          if (r.expr != st.target.get() && r.expr != f->operand) return std::nullopt;
          for (auto& a : st.target->args)
            for (auto& v : varying)
              if (reads(a.get(), v)) return std::nullopt;
          bool seen = false;
          for (auto& x : out)
            if (x.stmt == st.id) seen = true;
          if (!seen) out.push_back(Reduction{st.target->name, f->op, f->fn, st.id});
        }
        return out;
      };
      std::vector<std::string> array_reasons;
      int extra = 0;
      for (auto& ie : dy.edges) {
        if (ie.carrier_loop != &L) continue;
        const RefInfo& rs = sa.refs[ie.r_src];
        std::string c = find(rs.array);
        if (!class_ok.count(c)) class_ok[c] = check_class(c);
        if (class_ok[c]) continue;
        if (array_reasons.size() < 3)
          array_reasons.push_back(describe_edge(ie, L));
        else
          ++extra;
      }
      for (auto& [c, reds] : class_ok)
        if (reds) {
          bool used = false;
          for (auto& ie : dy.edges)
            if (ie.carrier_loop == &L && find(sa.refs[ie.r_src].array) == c) used = true;
          if (!used) continue;
          for (auto& r : *reds) {
            lp.reductions.push_back(r);
            auto it = dy.bound.arrays.find(r.variable);
            if (it != dy.bound.arrays.end() &&
                (it->second.dtype == DType::Float64 || it->second.dtype == DType::Float32)) {
              any_float_reduction = true;
              if (r.fn.empty()) reassociated_floats.push_back(r);
            }
          }
        }
      for (auto& r : array_reasons) reasons.push_back(r);
      if (extra) reasons.push_back("(and " + std::to_string(extra) + " more dependences carried by " + L.var + ")");

      if (reasons.empty() && !reassociated_floats.empty() && !g_float_reassociation) {
        // Exactness: partial sums (or products) of floats combined in
        // another order round differently, so the loop keeps Python's order.
        // Min and max, and integer sums, give the same result in any order.
        const Reduction& r = reassociated_floats.front();
        const Stmt* st = by_id[r.stmt];
        std::string acc = st && st->target->kind == ExprKind::Subscript ? to_source(*st->target) : r.variable;
        reasons.push_back(L.var + " accumulates floating-point values into " + acc + " (line " +
                          std::to_string(st ? st->line : 0) + ") with " + (r.op == BinOp::Mul ? "*" : "+") +
                          ": run in parallel, the partial results would be combined in another order than "
                          "Python's and could differ in the last bits, so it keeps Python's order "
                          "(%loopscope reassociate on, or loopscope.set_reassociation(True), allows it)");
      }
      if (!reasons.empty()) {
        lp.verdict = LoopVerdict::Sequential;
        lp.reasons = reasons;
        lp.reductions.clear();
      } else if (!lp.reductions.empty()) {
        lp.verdict = LoopVerdict::Reduction;
        std::set<std::string> said;
        for (auto& rd : lp.reductions) {
          if (!said.insert(rd.variable).second) continue;
          const Stmt* st = by_id[rd.stmt];
          std::string op = rd.fn.empty() ? (rd.op == BinOp::Mul ? "*" : "+") : rd.fn;
          bool is_array =
              std::find(sa.nest->arrays.begin(), sa.nest->arrays.end(), rd.variable) != sa.nest->arrays.end();
          lp.reasons.push_back(L.var + " accumulates into " + (is_array ? to_source(*st->target) : rd.variable) +
                               " (line " + std::to_string(st->line) +
                               "): its iterations can run in parallel on partial results combined with " + op);
        }
      } else {
        lp.verdict = LoopVerdict::Parallel;
      }
      if (lp.verdict != LoopVerdict::Sequential) lp.last_private = lp.privates;
      plan.loops.push_back(lp);
    }
    if (any_float_reduction && g_float_reassociation)
      plan.notes.push_back(
          "a reduction on floating-point values run in parallel may differ from Python's result in the last bits, "
          "because the additions are done in a different order");
  }
};

std::string cache_key(const StaticAnalysis& sa, const BoundNest& b) {
  std::string k(1, g_exact_enabled ? 'X' : 'x');
  k.push_back(g_reference_pairs ? 'R' : 'r');
  k.push_back(g_float_reassociation ? 'F' : 'f');
  auto put = [&](int64_t v) { k.append(reinterpret_cast<const char*>(&v), sizeof v); };
  // Every integer value counts (symbols of affine forms, and names inside
  // non-affine subscripts that are bounded by intervals or enumerated).
  for (auto& [name, s] : b.scalars) {
    k.push_back('s');
    k += name;
    k.push_back(s.kind == ScalarKind::Float ? 'f' : 'i');
    put(s.kind == ScalarKind::Float ? 0 : s.ival);
  }
  std::vector<const ArrayBinding*> arrs;
  for (auto& name : sa.nest->arrays) {
    auto it = b.arrays.find(name);
    if (it == b.arrays.end()) {
      k += "?";
      arrs.push_back(nullptr);
      continue;
    }
    const ArrayBinding& a = it->second;
    arrs.push_back(&a);
    k.push_back('a');
    k.push_back((char)a.dtype);
    put((int64_t)a.shape.size());
    for (auto x : a.shape) put(x);
    for (auto x : a.strides) put(x);
  }
  for (size_t i = 0; i < arrs.size(); ++i)
    for (size_t j = i + 1; j < arrs.size(); ++j) {
      if (!arrs[i] || !arrs[j]) continue;
      const ArrayBinding& a = *arrs[i];
      const ArrayBinding& c = *arrs[j];
      if (a.mem_lo < c.mem_hi && c.mem_lo < a.mem_hi) {
        k.push_back('o');
        put((int64_t)((intptr_t)c.data - (intptr_t)a.data));
      } else {
        k.push_back('d');
      }
    }
  return k;
}

}  // namespace

static ParallelPlan analyze_dynamic_impl(const StaticAnalysis& sa, const BoundNest& bound);

// A failure inside the analysis is a bug, but it must not stop the user's
// program: the nest then runs as plain Python.
ParallelPlan analyze_dynamic(const StaticAnalysis& sa, const BoundNest& bound) {
  try {
    return analyze_dynamic_impl(sa, bound);
  } catch (const std::exception& e) {
    ParallelPlan plan;
    plan.decline = Decline{sa.nest->first_line, std::string("internal error in the dependence analysis (") + e.what() +
                                                    "); the loop runs as plain Python"};
    for (auto* l : sa.nest->loops()) {
      LoopPlan lp;
      lp.loop = l->id;
      lp.var = l->var;
      lp.line = l->line;
      lp.reasons = {plan.decline->reason};
      plan.loops.push_back(lp);
    }
    return plan;
  }
}

static ParallelPlan analyze_dynamic_impl(const StaticAnalysis& sa, const BoundNest& bound) {
  ParallelPlan plan;
  if (sa.decline) {
    plan.decline = sa.decline;
    return plan;
  }
  DynamicPhase dy(sa, bound);
  dy.bind_scalars();
  for (auto& name : sa.nest->arrays)
    if (!bound.arrays.count(name)) dy.fail(sa.nest->first_line, name + " is not a NumPy array");
  if (!dy.decline) dy.bind_loops();
  if (!dy.decline) dy.bind_refs();
  if (!dy.decline) {
    dy.bind_relations();
    dy.dependences();
  }
  if (dy.decline) {
    plan.decline = dy.decline;
    for (auto* l : sa.nest->loops()) {
      LoopPlan lp;
      lp.loop = l->id;
      lp.var = l->var;
      lp.line = l->line;
      lp.verdict = LoopVerdict::Sequential;
      lp.reasons = {dy.decline->reason};
      plan.loops.push_back(lp);
    }
    return plan;
  }
  Planner pl{dy, sa, {}, {}, {}};
  pl.run();
  plan = std::move(pl.plan);
  plan.subscripts_in_range = true;
  for (auto& r : sa.refs) {
    const RefInstance& d = dy.refs[r.index];
    if (d.live && !d.in_range) {
      plan.subscripts_in_range = false;
      plan.subscript_problem = Decline{r.stmt->line, d.problem};
      break;
    }
  }
  return plan;
}

std::shared_ptr<const ParallelPlan> analyze_dynamic_cached(const StaticAnalysis& sa, const BoundNest& bound,
                                                           bool* hit) {
  std::string key = cache_key(sa, bound);
  {
    std::lock_guard<std::mutex> g(sa.cache_mutex);
    auto it = sa.cache.find(key);
    if (it != sa.cache.end()) {
      if (hit) *hit = true;
      return it->second;
    }
  }
  ParallelPlan fresh = analyze_dynamic(sa, bound);
  fresh.identity = PlanIdentity::fresh();
  auto plan = std::make_shared<const ParallelPlan>(std::move(fresh));
  std::lock_guard<std::mutex> g(sa.cache_mutex);
  if (sa.cache.size() > 256) sa.cache.clear();
  sa.cache[key] = plan;
  if (hit) *hit = false;
  return plan;
}

std::optional<Decline> check_subscripts(const StaticAnalysis& sa, const BoundNest& bound) {
  auto plan = analyze_dynamic_cached(sa, bound);
  if (plan->decline) return plan->decline;
  return plan->subscript_problem;
}

}  // namespace loopscope::analysis
