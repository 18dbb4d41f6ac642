// Dynamic phase, binding: the static forms of a nest (symbolic affine
// bounds and subscripts) made concrete for one BoundNest. Integer values of
// the scalars, interval evaluation, affine forms over loop variables and
// over iteration counters, the LoopInstance of every loop (trip counts,
// values of its variable) and the RefInstance of every reference (its
// subscripts in counters after Python's wrap-around, whether they stay in
// range, narrowed by the guards around it), and the run-time relation of
// every two arrays (same memory, overlapping views, disjoint).
// Separate from the tests because everything here is per loop or per
// reference, done once, and what check_subscripts reports comes from it.
#include "dynamic_internal.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "loopscope/analysis/int_eval.hpp"
#include "loopscope/analysis/int_math.hpp"

namespace loopscope::analysis::dynamic_detail {

void DynamicPhase::fail(DeclineCode code, int line, std::string why) {
  if (!decline) decline = Decline{code, line, std::move(why)};
}

// ---- symbolic values -------------------------------------------------
// The integer value of e (analysis::eval_int): loop variables from locals
// (innermost last), then the integer scalars bound before the nest. An
// absent expression (a range() without start) is 0.
std::optional<int64_t> DynamicPhase::eval(const Expr* e, const Locals* locals) const {
  if (!e) return 0;
  return eval_int(*e, [&](const std::string& name) -> std::optional<int64_t> {
    if (locals)
      for (auto it = locals->rbegin(); it != locals->rend(); ++it)
        if (*it->first == name) return it->second;
    auto it = ints.find(name);
    if (it == ints.end()) return std::nullopt;
    return it->second;
  });
}

// Interval of an integer expression over the loop variables' ranges, with
// interval.hpp's arithmetic. A walker of its own, not shared with the CPU
// specialiser's (jit/src/cpu_spec.cpp:Specialiser::expr), because the two
// mean different things by a value: here a name is a loop of cur_chain or a
// bound integer scalar, only integer expressions have an interval, and a sum,
// difference, product or quotient beyond the analysis's limit (kLimit) is
// unknown; the specialiser types every value, bounds the ints among them to
// decide which operations native code checks for overflow, and declines as
// it walks. Every result fits in int64.
IntInterval DynamicPhase::eval_interval(const Expr* e) const {
  auto int64_only = [](const IntInterval& r) { return r.fits64() ? r : IntInterval{}; };
  switch (e->kind) {
    case ExprKind::IntConst:
    case ExprKind::BoolConst: return IntInterval::of(e->ival);
    case ExprKind::Name: {
      if (cur_chain)
        for (int i : *cur_chain)
          if (sa.loops[i].stmt->var == e->name) {
            if (!loops[i].v_known) return {};
            return loops[i].v;
          }
      auto it = ints.find(e->name);
      if (it == ints.end()) return {};
      return IntInterval::of(it->second);
    }
    case ExprKind::Unary: {
      auto a = eval_interval(e->args[0].get());
      if (!a.known || e->un_op == UnOp::Not) return {};
      if (e->un_op == UnOp::Neg) return int64_only(neg(a));
      if (e->un_op == UnOp::Invert) return int64_only(invert(a));
      return a;
    }
    case ExprKind::Binary: {
      auto a = eval_interval(e->args[0].get());
      auto c = eval_interval(e->args[1].get());
      if (!a.known || !c.known) return {};
      IntInterval r;
      switch (e->bin_op) {
        case BinOp::Add: r = add(a, c); break;
        case BinOp::Sub: r = sub(a, c); break;
        case BinOp::Mul: r = mul(a, c); break;
        case BinOp::FloorDiv: r = floor_div(a, c); break;
        case BinOp::Mod: r = mod(a, c); break;
        default: return {};
      }
      return r.within(kLimit) ? r : IntInterval{};
    }
    case ExprKind::Call: {
      if (e->name == "abs" && e->args.size() == 1) return int64_only(abs(eval_interval(e->args[0].get())));
      if ((e->name == "min" || e->name == "max") && !e->args.empty()) {
        IntInterval r = eval_interval(e->args[0].get());
        for (size_t k = 1; k < e->args.size() && r.known; ++k) {
          auto v = eval_interval(e->args[k].get());
          r = e->name == "min" ? min(r, v) : max(r, v);
        }
        return r;
      }
      return {};
    }
    default: return {};
  }
}

std::optional<AffineForm> DynamicPhase::concrete(const SymAffine& s) const {
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

IntInterval DynamicPhase::interval_v(const AffineForm& a) const {
  IntInterval r = IntInterval::of(a.k);
  for (size_t i = 0; i < num_loops; ++i) {
    if (!a.c[i]) continue;
    if (!loops[i].runs) return {};
    r = add(r, mul(IntInterval::of(a.c[i]), loops[i].v));
  }
  return r.within(kLimit) ? r : IntInterval{};
}
IntInterval DynamicPhase::interval_t(const AffineForm& a) const {
  IntInterval r = IntInterval::of(a.k);
  for (size_t i = 0; i < num_loops; ++i) {
    if (!a.c[i]) continue;
    if (loops[i].last_counter < 0) return {};
    r = add(r, mul(IntInterval::of(a.c[i]), IntInterval::span(0, loops[i].last_counter)));
  }
  return r.within(kLimit) ? r : IntInterval{};
}
// v-form (over loop variables) to t-form (over counters).
std::optional<AffineForm> DynamicPhase::to_t(const AffineForm& a) const {
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
IntInterval DynamicPhase::interval_both(const AffineForm& v) const {
  auto t = to_t(v);
  return intersect(interval_v(v), t ? interval_t(*t) : IntInterval{});
}

// ---- binding -----------------------------------------------------------
// Only values that stay constant while the nest runs: scalars the nest
// assigns, and its loop variables, are not constants even when a value
// was bound for them.
void DynamicPhase::bind_scalars() {
  std::set<std::string> varying = sa.assigned_scalars;
  for (auto& l : sa.loops) varying.insert(l.stmt->var);
  for (auto& [name, s] : bound.scalars)
    if (s.kind != ScalarKind::Float && s.kind != ScalarKind::Complex && !varying.count(name)) ints[name] = s.ival;
}

void DynamicPhase::bind_loops() {
  loops.assign(num_loops, LoopInstance{});
  for (size_t i = 0; i < num_loops; ++i) {
    const LoopInfo& li = sa.loops[i];
    LoopInstance& d = loops[i];
    d.tform.c.assign(num_loops, 0);
    bool parent_runs = li.parent < 0 || loops[li.parent].runs;
    if (li.opaque) {
      bind_opaque_loop(i, parent_runs);
      if (decline) return;
      continue;
    }
    auto st = concrete(li.start), sp = concrete(li.stop), stp = concrete(li.step);
    if (!st || !sp || !stp) {
      fail(DeclineCode::Typing, li.stmt->line,
           "the bounds of loop " + li.stmt->var +
               " are not integers known before the loop runs (range() needs integers)");
      return;
    }
    if (stp->k == 0) {
      fail(DeclineCode::Exactness, li.stmt->line,
           "range() of loop " + li.stmt->var + " has a zero step (Python raises ValueError)");
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
    if (!di.known || !si.known || !pi.known) {
      fail(DeclineCode::UnsupportedValue, li.stmt->line,
           "the bounds of loop " + li.stmt->var + " are too large to analyse");
      return;
    }
    int64_t s = d.step > 0 ? d.step : -d.step;
    IntInterval trips = trips_over_span(di, s);  // di within kLimit: so are the trip counts
    int64_t trip_max = (int64_t)trips.hi, trip_min = (int64_t)trips.lo;
    // A clipped loop (LoopInfo): its counters count from the start the
    // analysis chose, at or before the real one, so only the stop's other
    // alternatives bound them further; the real trip count may be anything
    // down to zero; and every alternative narrows the variable's values.
    IntInterval narrow_v;  // unknown: no narrowing
    auto clip = [&](const std::vector<SymAffine>& alts, bool at_stop) {
      for (auto& sym : alts) {
        auto f = concrete(sym);
        IntInterval fi = f ? interval_both(*f) : IntInterval{};
        if (!fi.known) continue;  // an alternative left out only widens the superset
        if (at_stop) {
          AffineForm span;
          span.c.assign(num_loops, 0);
          for (size_t j = 0; j < num_loops; ++j)
            span.c[j] = d.step > 0 ? f->c[j] - d.start.c[j] : d.start.c[j] - f->c[j];
          span.k = d.step > 0 ? f->k - d.start.k : d.start.k - f->k;
          if (auto si2 = interval_both(span); si2.known)
            trip_max = std::min(trip_max, (int64_t)trips_over_span(si2, s).hi);
        }
        // v >= alt (a start clipped by max), v <= alt - 1 (a stop clipped by min), mirrored for a negative step.
        if (!narrow_v.known) narrow_v = IntInterval::span(INT64_MIN, INT64_MAX);
        if ((d.step > 0) == at_stop)
          narrow_v.hi = std::min(narrow_v.hi, at_stop ? fi.hi - 1 : fi.hi);
        else
          narrow_v.lo = std::max(narrow_v.lo, at_stop ? fi.lo + 1 : fi.lo);
      }
    };
    clip(li.start_also, false);
    clip(li.stop_also, true);
    if (!li.start_also.empty() || !li.stop_also.empty()) trip_min = 0;
    d.last_counter = trip_max - 1;
    d.min_trip = trip_min;
    d.runs = d.last_counter >= 0;
    if (!d.runs) continue;
    // v = start + step * t, start expressed in counters.
    auto st_t = to_t(d.start);
    if (!st_t) {
      fail(DeclineCode::UnsupportedValue, li.stmt->line,
           "the bounds of loop " + li.stmt->var + " are too large to analyse");
      return;
    }
    d.tform = *st_t;
    d.tform.c[i] = d.step;
    if (d.step > 0)
      d.v = IntInterval::span(si.lo, std::min<i128>(pi.hi - 1, si.hi + (i128)d.step * d.last_counter));
    else
      d.v = IntInterval::span(std::max<i128>(pi.lo + 1, si.lo + (i128)d.step * d.last_counter), si.hi);
    d.v = intersect(d.v, narrow_v);
    if (d.v.lo > d.v.hi) d.runs = false, d.last_counter = -1;
  }
}

// An opaque loop (LoopInfo::opaque): what the intervals of its bounds'
// expressions tell about its variable, and a bound on its counters.
void DynamicPhase::bind_opaque_loop(size_t i, bool parent_runs) {
  const LoopInfo& li = sa.loops[i];
  LoopInstance& d = loops[i];
  d.opaque = true;
  d.min_trip = 0;
  d.start.c.assign(num_loops, 0);
  d.stop.c.assign(num_loops, 0);
  d.tform.c[i] = 1;
  // A step fixed before the nest runs, or one known only when the loop
  // starts (native code then raises Python's ValueError for a zero step).
  auto stp = li.step.affine ? concrete(li.step) : std::nullopt;
  bool step_fixed = stp && std::all_of(stp->c.begin(), stp->c.end(), [](int64_t c) { return c == 0; });
  if (step_fixed && stp->k == 0) {
    fail(DeclineCode::Exactness, li.stmt->line,
         "range() of loop " + li.stmt->var + " has a zero step (Python raises ValueError)");
    return;
  }
  d.step = step_fixed ? stp->k : 1;
  d.runs = parent_runs;
  if (!d.runs) return;
  cur_chain = &li.chain;
  auto a = eval_interval(li.stmt->start.get()), b = eval_interval(li.stmt->stop.get());
  cur_chain = nullptr;
  d.v_known = a.known && b.known;
  // Counters bound the dependence tests' systems; a loop of unknown length
  // gets a bound no real loop reaches.
  d.last_counter = int64_t{1} << 40;
  if (!d.v_known) return;
  if (!step_fixed)  // between start and stop, whichever way it goes
    d.v = hull(a, b);
  else
    d.v = d.step > 0 ? IntInterval::span(a.lo, b.hi - 1) : IntInterval::span(b.lo + 1, a.hi);
  if (d.v.lo > d.v.hi) {
    d.runs = false;
    d.last_counter = -1;
    return;
  }
  i128 s = d.step > 0 ? d.step : -(i128)d.step;
  d.last_counter = (int64_t)std::min<i128>((d.v.hi - d.v.lo) / s, d.last_counter);
}

std::set<std::string> distinct_index_arrays(const StaticAnalysis& sa, const BoundNest& bound) {
  std::set<std::string> out;
  std::vector<const ArrayBinding*> written;
  for (auto& r : sa.refs)
    if (r.write) {
      auto it = bound.arrays.find(r.array);
      if (it != bound.arrays.end()) written.push_back(&it->second);
    }
  for (auto& name : sa.inspected_indexes) {
    auto it = bound.arrays.find(name);
    if (it == bound.arrays.end() || it->second.shape.size() != 1) continue;
    const ArrayBinding& a = it->second;
    bool shares = std::any_of(written.begin(), written.end(),
                              [&](const ArrayBinding* w) { return a.mem_lo < w->mem_hi && w->mem_lo < a.mem_hi; });
    if (shares) continue;
    std::vector<int64_t> v;
    v.reserve(a.shape[0]);
    bool readable = true;
    for (int64_t k = 0; k < a.shape[0] && readable; ++k) {
      const char* p = static_cast<const char*>(a.data) + k * a.strides[0];
      switch (a.dtype) {
        case DType::Int64: v.push_back(*reinterpret_cast<const int64_t*>(p)); break;
        case DType::Int32: v.push_back(*reinterpret_cast<const int32_t*>(p)); break;
        case DType::Int16: v.push_back(*reinterpret_cast<const int16_t*>(p)); break;
        case DType::Int8: v.push_back(*reinterpret_cast<const int8_t*>(p)); break;
        case DType::UInt32: v.push_back(*reinterpret_cast<const uint32_t*>(p)); break;
        case DType::UInt16: v.push_back(*reinterpret_cast<const uint16_t*>(p)); break;
        case DType::UInt8: v.push_back(*reinterpret_cast<const uint8_t*>(p)); break;
        default: readable = false;
      }
    }
    if (!readable || std::any_of(v.begin(), v.end(), [](int64_t x) { return x < 0; })) continue;
    // A negative value would wrap to the element a positive one names.
    int64_t top = v.empty() ? 0 : *std::max_element(v.begin(), v.end());
    bool distinct = true;
    if (top / 64 <= (int64_t)v.size() + 1024) {  // a bitmap costs about what the array does
      std::vector<bool> seen((size_t)top + 1, false);
      for (int64_t x : v) {
        if (seen[(size_t)x]) distinct = false;
        seen[(size_t)x] = true;
      }
    } else {
      std::sort(v.begin(), v.end());
      distinct = std::adjacent_find(v.begin(), v.end()) == v.end();
    }
    if (distinct) out.insert(name);
  }
  return out;
}

std::string DynamicPhase::opaque_var_in(const Expr& e, const std::vector<int>& chain) const {
  if (e.kind == ExprKind::Name)
    for (int l : chain)
      if (loops[l].opaque && sa.loops[l].stmt->var == e.name) return e.name;
  for (auto& a : e.args)
    if (a) {
      std::string v = opaque_var_in(*a, chain);
      if (!v.empty()) return v;
    }
  return "";
}

// Narrows `iv`, the values of the affine subscript `v`, with the guards
// around its reference (each g >= 0 where it runs): when v = alpha * g + c
// for an integer alpha, v >= c (alpha > 0) or v <= c (alpha < 0). So
// `if i + 1 < N: A[i + 1]` is in range although i + 1 reaches N in the
// loop. The values where the reference does not run only widen iv, so a
// narrowed iv still covers every index the reference uses.
void DynamicPhase::narrow_by_guards(const AffineForm& v, const std::vector<SymAffine>& guards, IntInterval& iv) const {
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
      iv.lo = std::max(iv.lo, c);
    else
      iv.hi = std::min(iv.hi, c);
  }
}

void DynamicPhase::bind_refs() {
  refs.assign(sa.refs.size(), RefInstance{});
  for (auto& r : sa.refs) {
    RefInstance& d = refs[r.index];
    d.live = true;
    for (int l : r.loops)
      if (!loops[l].runs) d.live = false;
    if (!d.live) continue;
    auto it = bound.arrays.find(r.array);
    if (it == bound.arrays.end()) {
      fail(DeclineCode::UnsupportedValue, r.stmt->line, r.array + " is not bound to an array");
      return;
    }
    const ArrayBinding& ab = it->second;
    if (ab.shape.size() != r.subs.size()) {
      fail(DeclineCode::UnsupportedOperation, r.stmt->line,
           r.text + " uses " + std::to_string(r.subs.size()) + " subscript(s) but " + r.array + " has " +
               std::to_string(ab.shape.size()) + " dimension(s); only whole-element accesses are supported");
      return;
    }
    d.in_range = true;
    d.t.assign(r.subs.size(), std::nullopt);
    d.through.assign(r.subs.size(), "");
    // A write's reach: per axis, the indices it can store to.
    std::vector<std::pair<int64_t, int64_t>> reach;
    for (size_t k = 0; k < r.subs.size(); ++k) {
      int64_t N = ab.shape[k];
      IntInterval iv;  // within int64 (eval_interval, interval_both)
      std::optional<AffineForm> v;
      if (r.subs[k].affine) {
        v = concrete(r.subs[k]);
        if (!v) {
          fail(DeclineCode::Typing, r.stmt->line,
               "the subscript " + to_source(*r.expr->args[k]) + " of " + r.text +
                   " uses a value that is not an integer");
          return;
        }
        iv = interval_both(*v);
        if (iv.known) narrow_by_guards(*v, r.guards, iv);
      } else {
        cur_chain = &r.loops;
        iv = eval_interval(r.expr->args[k].get());
        cur_chain = nullptr;
      }
      std::string sub = to_source(*r.expr->args[k]);
      // A subscript that uses the variable of an opaque loop is checked by
      // native code as it runs, as an indirect one is: its values follow
      // bounds known only while the loop runs.
      std::string opaque = opaque_var_in(*r.expr->args[k], r.loops);
      if (!opaque.empty() && (!iv.known || iv.lo < -N || iv.hi > N - 1)) {
        if (d.in_range) {
          d.problem = "the subscript " + sub + " of " + r.text + " uses " + opaque +
                      ", whose loop bounds are known only while the loop runs, so whether it is in range is "
                      "known only then (native code checks it)";
          d.in_range = false;
          d.indirect_only = true;
        }
      } else if (!iv.known) {
        auto read = indirect_arrays(sa, *r.expr->args[k]);
        if (!read.empty()) {
          if (d.in_range) {
            std::string names;
            for (auto& a : read) names += (names.empty() ? "" : ", ") + a;
            bool direct = !arrays_read(*r.expr->args[k]).empty();
            d.problem = "the subscript " + sub + " of " + r.text + (direct ? " reads " : " holds a value read from ") +
                        names + ", so whether it is in range is known only while the loop runs (native code checks it)";
            d.in_range = false;
            d.indirect_only = true;
          }
        } else if (d.in_range || d.indirect_only) {
          d.problem = "the subscript " + sub + " of " + r.text + " cannot be bounded before the loop runs";
          d.in_range = false;
          d.indirect_only = false;
        }
      } else if (iv.lo < -N || iv.hi > N - 1) {
        if (d.in_range || d.indirect_only) {
          std::ostringstream os;
          os << r.text << " may be out of range: " << sub << " takes values from " << (int64_t)iv.lo << " to "
             << (int64_t)iv.hi << " but axis " << k << " of " << r.array << " has length " << N;
          d.problem = os.str();
          d.in_range = false;
          d.indirect_only = false;
        }
      }
      if (v && iv.known) {
        auto t = to_t(*v);
        if (t && iv.lo >= 0)
          d.t[k] = t;
        else if (t && iv.hi <= -1) {
          t->k += N;  // Python's wrap-around: A[-1] is A[N-1]
          d.t[k] = t;
        }
      }
      if (r.write) {
        if (iv.known && iv.lo >= 0)
          reach.push_back({(int64_t)iv.lo, (int64_t)std::min<i128>(iv.hi, N - 1)});
        else if (iv.known && iv.hi <= -1)
          reach.push_back({(int64_t)std::max<i128>(iv.lo, -N) + N, (int64_t)iv.hi + N});
        else
          reach.push_back({0, N - 1});
      }
    }
    // Through a distinct index array, the element's index follows the index
    // array's subscript e one to one: its t-form stands for the dimension.
    for (size_t k = 0; k < r.subs.size(); ++k) {
      const Expr& a = *r.expr->args[k];
      if (r.subs[k].affine || a.kind != ExprKind::Subscript || !distinct_indexes.count(a.name)) continue;
      auto inner = std::find_if(sa.refs.begin(), sa.refs.end(), [&](const RefInfo& x) { return x.expr == &a; });
      if (inner == sa.refs.end()) continue;
      const RefInstance& di = refs[inner->index];
      if (!di.live || !di.in_range || di.t.size() != 1 || !di.t[0]) continue;
      d.t[k] = di.t[0];
      d.through[k] = a.name;
    }
    if (r.write) add_write_extent(r.array, ab, reach);
  }
}

void DynamicPhase::add_write_extent(const std::string& array, const ArrayBinding& ab,
                                    const std::vector<std::pair<int64_t, int64_t>>& reach) {
  int64_t lo = 0, hi = dtype_size(ab.dtype);
  for (size_t k = 0; k < reach.size(); ++k) {
    auto [first, last] = reach[k];
    if (first > last) return;  // every index out of range: the write never happens
    int64_t a = first * ab.strides[k], b = last * ab.strides[k];
    lo += std::min(a, b);
    hi += std::max(a, b);
  }
  auto [it, fresh] = write_extents.emplace(array, ByteExtent{lo, hi});
  if (!fresh) {
    it->second.lo = std::min(it->second.lo, lo);
    it->second.hi = std::max(it->second.hi, hi);
  }
}

namespace {

// True when two different indices of the array may reach the same memory
// (a zero stride, or strides that interleave, as np.lib.stride_tricks can
// make). Per-dimension tests assume they cannot.
bool self_overlapping(const ArrayBinding& a) {
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

}  // namespace

void DynamicPhase::bind_relations() {
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

}  // namespace loopscope::analysis::dynamic_detail
