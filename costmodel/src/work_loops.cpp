// Work counting: the walk over the nest. The Counter's set-up (verdicts,
// carried flows, integer scalars), the values of bounds and conditions
// (eval, over analysis::eval_int; the names they read), each loop's trip
// count and the samples of a triangular body (count_loop), the mapping it is
// given (plan_mapping), and the summary of the walk (run: loops in
// pre-order, arrays, the CPU's parallel regions and the GPU's launches, the
// size parameter).
#include "work_internal.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "loopscope/analysis/int_eval.hpp"
#include "loopscope/analysis/int_math.hpp"

namespace loopscope::costmodel::work_detail {

Counter::Counter(const BoundNest& b, const ParallelPlan& plan, const NestMapping& mapping, double scale)
    : b_(b), mapping_(mapping), scale_(scale) {
  for (auto& lp : plan.loops) verdicts_[lp.loop] = lp.verdict;
  // The scalars of each grid launch whose last value the blocks combine, as
  // the CUDA generator counts them: assigned in the launch, neither a grid
  // loop variable nor a reduction of a grid loop, and not assigned by every
  // iteration of the innermost grid loop.
  for (const GpuLaunchPlan* launch : mapping.gpu.launches()) {
    if (launch->sequential()) continue;
    std::set<std::string> names, skip;
    region_detail::assigned_scalars(launch->root->body, names);
    for (const Stmt* g : launch->grid) {
      skip.insert(g->var);
      for (auto& lp : plan.loops)
        if (lp.loop == g->id && lp.verdict == LoopVerdict::Reduction)
          for (auto& r : lp.reductions) skip.insert(r.variable);
    }
    int n = 0;
    for (auto& name : names)
      if (!skip.count(name) && !is_hidden_name(name) && !assigned_in_every_iteration(*launch->grid.back(), name)) ++n;
    grid_last_assigned_[launch->root->id] = n;
  }
  // Flow dependences carried at a constant distance: a recurrence every
  // iteration (a distance that varies, as D[i, k] against D[i, j] at j == k,
  // meets its source only now and then).
  for (auto& e : plan.edges)
    if (e.kind == DepKind::Flow && e.carrier >= 0 && e.carrier < (int)e.loops.size() &&
        e.carrier < (int)e.distance.size() && e.distance[e.carrier].has_value())
      carried_flow_[e.dst].insert(e.loops[e.carrier]);
  for (auto& [name, s] : b.scalars) {
    if (s.kind == ScalarKind::Int || s.kind == ScalarKind::Bool) ints_[name] = s.ival;
  }
  // Lists and tuples (ArrayBinding::python_elements): snapshotted whole
  // before each native run; their size does not follow the sweep's scale.
  for (auto& [name, a] : b.arrays) {
    if (!a.python_elements) continue;
    double items = 1;
    for (int64_t n : a.shape) items *= (double)n;
    w_.list_items += items;
  }
  // The bytes a CPU run with checks saves first (ParallelPlan::
  // write_extents). At another size of the sweep, an extent grows with each
  // axis; never past the array.
  for (auto& [name, e] : plan.write_extents) {
    auto a = b.arrays.find(name);
    if (a == b.arrays.end()) continue;
    const ArrayBinding& ab = a->second;
    double whole = (double)elem_size(ab.dtype);
    for (int64_t n : ab.shape) whole *= (double)n;
    if (ab.mem_hi > ab.mem_lo) whole = std::max(whole, (double)(ab.mem_hi - ab.mem_lo));
    const double growth = std::pow(scale, (double)ab.shape.size());
    w_.snapshot_bytes += std::min((double)(e.hi - e.lo), whole) * growth;
  }
}

// Integer value of an expression at this sample (analysis::eval_int):
// loop variables, then integer scalars, scaled when they size a loop.
std::optional<int64_t> Counter::eval(const ExprPtr& e) {
  if (!e) return std::nullopt;
  return eval_int(*e, [this](const std::string& name) -> std::optional<int64_t> {
    auto it = env_.find(name);
    if (it != env_.end()) return it->second;
    auto s = ints_.find(name);
    if (s == ints_.end()) return std::nullopt;
    if (bound_names_.count(name)) return (int64_t)scaled((double)s->second);
    return s->second;
  });
}

ExprPtr Counter::with_elements(const ExprPtr& e) {
  if (!e) return e;
  if (e->kind == ExprKind::Subscript) {
    auto it = b_.arrays.find(e->name);
    if (it == b_.arrays.end() || it->second.shape.size() != e->args.size() || !it->second.data) return e;
    const ArrayBinding& ab = it->second;
    int64_t off = 0;
    for (size_t d = 0; d < e->args.size(); ++d) {
      auto k = bound_value(e->args[d]);
      if (!k) return e;
      int64_t n = ab.shape[d], x = *k < 0 ? *k + n : *k;
      if (x < 0 || x >= n) return e;  // Python raises there: no value to price
      off += x * ab.strides[d];
    }
    const char* p = static_cast<const char*>(ab.data) + off;
    std::optional<int64_t> v;
    switch (ab.dtype) {
      case DType::Int64: v = *reinterpret_cast<const int64_t*>(p); break;
      case DType::Int32: v = *reinterpret_cast<const int32_t*>(p); break;
      case DType::Int16: v = *reinterpret_cast<const int16_t*>(p); break;
      case DType::Int8: v = *reinterpret_cast<const int8_t*>(p); break;
      case DType::UInt32: v = *reinterpret_cast<const uint32_t*>(p); break;
      case DType::UInt16: v = *reinterpret_cast<const uint16_t*>(p); break;
      case DType::UInt8: v = *reinterpret_cast<const uint8_t*>(p); break;
      default: return e;
    }
    auto c = std::make_shared<Expr>();
    c->kind = ExprKind::IntConst;
    c->ival = *v;
    return c;
  }
  bool changed = false;
  std::vector<ExprPtr> args;
  for (auto& a : e->args) {
    args.push_back(with_elements(a));
    changed |= args.back() != a;
  }
  if (!changed) return e;
  auto c = std::make_shared<Expr>(*e);
  c->args = std::move(args);
  return c;
}

std::optional<int64_t> Counter::bound_value(const ExprPtr& e) {
  if (auto v = eval(e)) return v;
  if (!e) return std::nullopt;
  ExprPtr x = with_elements(e);
  return eval_int(*x, [this](const std::string& name) -> std::optional<int64_t> {
    auto it = env_.find(name);
    if (it != env_.end()) return it->second;
    auto a = assigned_.find(name);
    if (a != assigned_.end()) return a->second;
    auto s = ints_.find(name);
    if (s == ints_.end()) return std::nullopt;
    if (bound_names_.count(name)) return (int64_t)scaled((double)s->second);
    return s->second;
  });
}

namespace {
// `a op b` on reals, as Python's floats compute it; nullopt for a division
// by zero and for the operations the count does not evaluate (eval_real
// adds **).
std::optional<double> real_arithmetic(BinOp op, double a, double b) {
  switch (op) {
    case BinOp::Add: return a + b;
    case BinOp::Sub: return a - b;
    case BinOp::Mul: return a * b;
    case BinOp::Div:
      if (b == 0) return std::nullopt;
      return a / b;
    case BinOp::FloorDiv:
      if (b == 0) return std::nullopt;
      return std::floor(a / b);
    case BinOp::Mod:
      if (b == 0) return std::nullopt;
      return a - b * std::floor(a / b);
    default: return std::nullopt;
  }
}

// An element of a real array as a double (float16 and complex: not read).
std::optional<double> real_element(const ArrayBinding& ab, const char* p) {
  switch (ab.dtype) {
    case DType::Float64: return *reinterpret_cast<const double*>(p);
    case DType::Float32: return (double)*reinterpret_cast<const float*>(p);
    case DType::Int64: return (double)*reinterpret_cast<const int64_t*>(p);
    case DType::Int32: return (double)*reinterpret_cast<const int32_t*>(p);
    case DType::Int16: return (double)*reinterpret_cast<const int16_t*>(p);
    case DType::Int8: return (double)*reinterpret_cast<const int8_t*>(p);
    case DType::UInt64: return (double)*reinterpret_cast<const uint64_t*>(p);
    case DType::UInt32: return (double)*reinterpret_cast<const uint32_t*>(p);
    case DType::UInt16: return (double)*reinterpret_cast<const uint16_t*>(p);
    case DType::UInt8: return (double)*reinterpret_cast<const uint8_t*>(p);
    case DType::Bool: return (double)*reinterpret_cast<const uint8_t*>(p);
    default: return std::nullopt;
  }
}
}  // namespace

// A condition's value where the loop variables have the values in env_:
// arithmetic and comparisons of the nest's inputs and of array elements
// (what the arrays hold before the run), nothing the nest computes.
std::optional<double> Counter::eval_sampled(const ExprPtr& e) {
  if (!e) return std::nullopt;
  switch (e->kind) {
    case ExprKind::IntConst:
    case ExprKind::BoolConst: return (double)e->ival;
    case ExprKind::FloatConst: return e->fval;
    case ExprKind::Name: {
      auto v = env_.find(e->name);
      if (v != env_.end()) return (double)v->second;
      if (nest_assigned().count(e->name)) return std::nullopt;
      auto it = b_.scalars.find(e->name);
      if (it == b_.scalars.end()) return std::nullopt;
      if (it->second.kind == ScalarKind::Float) return it->second.fval;
      if (it->second.kind == ScalarKind::Int || it->second.kind == ScalarKind::Bool) return (double)it->second.ival;
      return std::nullopt;
    }
    case ExprKind::Subscript: {
      auto it = b_.arrays.find(e->name);
      if (it == b_.arrays.end() || it->second.shape.size() != e->args.size() || !it->second.data) return std::nullopt;
      const ArrayBinding& ab = it->second;
      int64_t off = 0;
      for (size_t d = 0; d < e->args.size(); ++d) {
        auto k = eval(e->args[d]);
        if (!k) return std::nullopt;
        int64_t n = ab.shape[d], x = *k < 0 ? *k + n : *k;
        if (x < 0 || x >= n) return std::nullopt;
        off += x * ab.strides[d];
      }
      return real_element(ab, static_cast<const char*>(ab.data) + off);
    }
    case ExprKind::Unary: {
      auto a = eval_sampled(e->args[0]);
      if (!a) return std::nullopt;
      if (e->un_op == UnOp::Neg) return -*a;
      if (e->un_op == UnOp::Pos) return *a;
      if (e->un_op == UnOp::Not) return *a == 0 ? 1.0 : 0.0;
      return std::nullopt;
    }
    case ExprKind::Binary: {
      auto a = eval_sampled(e->args[0]);
      auto b = a ? eval_sampled(e->args[1]) : std::nullopt;
      if (!b) return std::nullopt;
      return real_arithmetic(e->bin_op, *a, *b);
    }
    case ExprKind::Compare: {
      std::optional<double> left = eval_sampled(e->args[0]);
      if (!left) return std::nullopt;
      bool all = true;
      for (size_t i = 0; i < e->cmp_ops.size(); ++i) {
        auto right = eval_sampled(e->args[i + 1]);
        if (!right) return std::nullopt;
        bool r = false;
        switch (e->cmp_ops[i]) {
          case CmpOp::Lt: r = *left < *right; break;
          case CmpOp::Le: r = *left <= *right; break;
          case CmpOp::Gt: r = *left > *right; break;
          case CmpOp::Ge: r = *left >= *right; break;
          case CmpOp::Eq: r = *left == *right; break;
          case CmpOp::Ne: r = *left != *right; break;
        }
        all = all && r;
        left = right;
      }
      return all ? 1.0 : 0.0;
    }
    case ExprKind::Logical: {
      // Both sides evaluated: a value either side needs is a value to know.
      bool any = false, all = true;
      for (auto& a : e->args) {
        auto v = eval_sampled(a);
        if (!v) return std::nullopt;
        any = any || *v != 0;
        all = all && *v != 0;
      }
      return (e->bool_op == BoolOp::And ? all : any) ? 1.0 : 0.0;
    }
    case ExprKind::Call:
      if ((e->name == "abs" || e->name == "fabs") && e->args.size() == 1) {
        auto a = eval_sampled(e->args[0]);
        if (!a) return std::nullopt;
        return std::fabs(*a);
      }
      return std::nullopt;
    default: return std::nullopt;
  }
}

const std::set<std::string>& Counter::nest_assigned() {
  if (!nest_assigned_done_ && b_.nest && b_.nest->root) {
    assigned_names({b_.nest->root}, nest_assigned_);
    nest_assigned_done_ = true;
  }
  return nest_assigned_;
}

bool Counter::at_sampled_points(uint64_t salt, const std::function<bool()>& at_point, int points) {
  // Points spread over the ranges of the loops around, drawn by a fixed
  // generator (the same count each time).
  std::map<std::string, int64_t> saved = env_;
  uint64_t r = 0x9E3779B97F4A7C15ull ^ (salt + 1) * 0xBF58476D1CE4E5B9ull;
  bool all = true;
  for (int k = 0; k < points && all; ++k) {
    for (const Stmt* l : loop_stack_) {
      auto rg = range_.find(l->var);
      if (rg == range_.end() || !rg->second.known) continue;
      r ^= r << 13;
      r ^= r >> 7;
      r ^= r << 17;
      const int64_t lo = (int64_t)rg->second.lo, span = (int64_t)(rg->second.hi - rg->second.lo) + 1;
      env_[l->var] = lo + (int64_t)(r % (uint64_t)std::max<int64_t>(1, span));
    }
    all = at_point();
  }
  env_ = std::move(saved);
  return all;
}

namespace {
// Whether a statement under `st` stores into an element of `array`, other
// than the element `except` names (every element when it is null).
bool stores_into(const Stmt* st, const std::string& array, const ExprPtr& except) {
  if ((st->kind == StmtKind::Assign || st->kind == StmtKind::AugAssign) && st->target &&
      st->target->kind == ExprKind::Subscript && st->target->name == array &&
      !(except && same_expr(st->target, except)))
    return true;
  for (auto& c : st->body)
    if (stores_into(c.get(), array, except)) return true;
  for (auto& c : st->orelse)
    if (stores_into(c.get(), array, except)) return true;
  return false;
}
}  // namespace

bool Counter::written_elsewhere(const ExprPtr& e) {
  if (!e) return false;
  auto known = written_elsewhere_.find(e.get());
  if (known != written_elsewhere_.end()) return known->second;
  bool& out = written_elsewhere_[e.get()];
  if (e->kind == ExprKind::Subscript && b_.nest && b_.nest->root && stores_into(b_.nest->root.get(), e->name, e))
    return out = true;
  for (auto& a : e->args)
    if (written_elsewhere(a)) return out = true;
  return out = false;
}

std::optional<double> Counter::taken_fraction(const Stmt& s) {
  if (written_elsewhere(s.cond)) return std::nullopt;
  int known = 0, taken = 0;
  const bool all = at_sampled_points((uint64_t)s.id, [&] {
    auto v = eval_sampled(s.cond);
    if (!v) return false;
    ++known;
    taken += *v != 0;
    return true;
  });
  if (!all || known == 0) return std::nullopt;
  return (double)taken / known;
}

bool Counter::reads_written_array(const ExprPtr& e) {
  if (!e) return false;
  if (e->kind == ExprKind::Subscript && b_.nest && b_.nest->root && stores_into(b_.nest->root.get(), e->name, nullptr))
    return true;
  for (auto& a : e->args)
    if (reads_written_array(a)) return true;
  return false;
}

// A search left by `if <condition>: break` runs until the condition first
// holds, not over its whole range: a trial division that stops at the first
// divisor (primes_for_else) runs a few of its sqrt(k) passes, and counted
// for all of them it was priced 6 to 9 times its time. Where the condition
// reads only loop variables, the nest's inputs and elements of arrays the
// nest does not write (eval_sampled), the loop's variable is stepped from
// its start at kBreakPoints points of the loops around (at_sampled_points)
// until the condition holds; the share of the range run, over those
// points, scales the loop's trip count. The few points that run whole
// (primes among the k) weigh most: 256 points keep the share within about
// a fifth. A point still running after kBreakSteps passes is not stepped
// further: its remaining passes are those of a search that stops at each
// pass at the rate the later half of the stepped passes stopped at (all of
// its range where none stopped).
constexpr int kBreakPoints = 256;
constexpr int64_t kBreakSteps = 128;

std::optional<double> Counter::break_fraction(const Stmt& s) {
  auto known = break_fractions_.find(s.id);
  if (known != break_fractions_.end()) return known->second;
  std::optional<double>& out = break_fractions_[s.id];
  const Stmt* exit = nullptr;
  for (auto& st : s.body) {
    if (st->kind == StmtKind::If && !st->is_while && leaves_loop(*st)) {
      if (exit) return out = std::nullopt;  // two exits: not modelled
      exit = st.get();
    }
  }
  if (!exit || !exit->cond || reads_written_array(exit->cond)) return out = std::nullopt;
  // The stops among the passes of the second half of the stepping: the
  // rate of a search that has already run long (a prime's trial division
  // never stops, where most numbers stop at their first passes).
  double ran = 0, range = 0, late_passes = 0, late_stops = 0;
  std::vector<double> unfinished;  // passes left at the points still running after kBreakSteps
  auto step_search = [&] {
    auto start = s.start ? loop_bound(s.start) : std::optional<int64_t>(0);
    auto stop = loop_bound(s.stop);
    auto step = s.step ? loop_bound(s.step) : std::optional<int64_t>(1);
    if (!start || !stop || !step || *step == 0) return false;
    const int64_t n = std::max<int64_t>(0, range_trip_count(*start, *stop, *step));
    int64_t passes = std::min(n, kBreakSteps);
    bool stopped = false;
    for (int64_t t = 0; t < passes; ++t) {
      env_[s.var] = *start + t * *step;
      auto v = eval_sampled(exit->cond);
      if (!v) return false;
      if (*v != 0) {
        passes = t + 1;
        stopped = true;
        break;
      }
    }
    late_passes += (double)std::max<int64_t>(0, passes - kBreakSteps / 2);
    late_stops += stopped && passes > kBreakSteps / 2;
    ran += (double)passes;
    range += (double)n;
    if (!stopped && n > passes) unfinished.push_back((double)(n - passes));
    return true;
  };
  if (!at_sampled_points((uint64_t)s.id ^ 0xB4EAull, step_search, kBreakPoints) || range <= 0)
    return out = std::nullopt;
  // The remaining passes of a search that stops at each pass with rate h:
  // the mean of min(geometric(h), left) = (1 - (1 - h)^left) / h.
  const double h = late_passes > 0 ? late_stops / late_passes : 0;
  for (double left : unfinished) ran += h > 0 ? (1 - std::pow(1 - h, left)) / h : left;
  return out = ran / range;
}

// The passes of the C library's fmod loop: one per bit of the quotient
// beyond the first (glibc's loop over the exponent difference); a value
// smaller than the divisor comes back at once.
constexpr double kTypicalQuotientBits = 4;  // cells of a fifth to a thirtieth of the range

Counter::Remainder Counter::sampled_remainder(const ExprPtr& a, const ExprPtr& b) {
  if (written_elsewhere(a) || written_elsewhere(b)) return {1.0, kTypicalQuotientBits};
  double bits = 0, full = 0;
  int known = 0;
  const bool all = at_sampled_points((uint64_t)a->line << 16 | (uint64_t)a->col, [&] {
    auto x = eval_sampled(a), y = x ? eval_sampled(b) : std::nullopt;
    if (!y || !std::isfinite(*x) || !std::isfinite(*y)) return false;
    if (std::fabs(*x) >= std::fabs(*y) && *y != 0) {
      full += 1;
      bits += std::max(0, std::ilogb(*x) - std::ilogb(*y));
    }
    ++known;
    return true;
  });
  if (!all || known == 0) return {1.0, kTypicalQuotientBits};
  return {full / known, bits / known};
}

std::optional<double> Counter::eval_real(const ExprPtr& e) {
  if (!e) return std::nullopt;
  if (auto v = bound_value(e)) return (double)*v;
  auto finite = [](double x) -> std::optional<double> {
    if (!std::isfinite(x)) return std::nullopt;
    return x;
  };
  switch (e->kind) {
    case ExprKind::IntConst:
    case ExprKind::BoolConst: return (double)e->ival;
    case ExprKind::FloatConst: return finite(e->fval);
    case ExprKind::Name: {
      // Integer names (loop variables, int scalars, assigned ints) were
      // bound_value's; here the float scalars the nest is given.
      auto r = real_assigned_.find(e->name);
      if (r != real_assigned_.end()) return r->second;
      auto it = b_.scalars.find(e->name);
      if (it == b_.scalars.end()) return std::nullopt;
      if (it->second.kind == ScalarKind::Float) return finite(it->second.fval);
      if (it->second.kind == ScalarKind::Int || it->second.kind == ScalarKind::Bool) return (double)it->second.ival;
      return std::nullopt;
    }
    case ExprKind::Unary: {
      auto a = eval_real(e->args[0]);
      if (!a) return std::nullopt;
      if (e->un_op == UnOp::Neg) return -*a;
      if (e->un_op == UnOp::Pos) return *a;
      return std::nullopt;
    }
    case ExprKind::Binary: {
      auto a = eval_real(e->args[0]);
      auto b = a ? eval_real(e->args[1]) : std::nullopt;
      if (!b) return std::nullopt;
      if (e->bin_op == BinOp::Pow) return finite(std::pow(*a, *b));
      auto r = real_arithmetic(e->bin_op, *a, *b);
      return r ? finite(*r) : std::nullopt;
    }
    case ExprKind::Call: {
      std::vector<double> xs;
      for (auto& a : e->args) {
        auto v = eval_real(a);
        if (!v) return std::nullopt;
        xs.push_back(*v);
      }
      const std::string& f = e->name;
      if (xs.size() == 1) {
        if (f == "int" || f == "trunc") return std::trunc(xs[0]);
        if (f == "float") return xs[0];
        if (f == "round") return std::nearbyint(xs[0]);
        if (f == "floor" || f == "np.floor") return std::floor(xs[0]);
        if (f == "ceil" || f == "np.ceil") return std::ceil(xs[0]);
        if (f == "abs" || f == "np.abs") return std::fabs(xs[0]);
        if ((f == "sqrt" || f == "np.sqrt" || f == "isqrt") && xs[0] >= 0)
          return f == "isqrt" ? std::floor(std::sqrt(xs[0])) : std::sqrt(xs[0]);
        if ((f == "log" || f == "np.log") && xs[0] > 0) return std::log(xs[0]);
        if ((f == "log2" || f == "np.log2") && xs[0] > 0) return std::log2(xs[0]);
      }
      if (!xs.empty() && (f == "min" || f == "max"))
        return f == "min" ? *std::min_element(xs.begin(), xs.end()) : *std::max_element(xs.begin(), xs.end());
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

std::optional<int64_t> Counter::loop_bound(const ExprPtr& e) {
  if (auto v = bound_value(e)) return v;
  auto r = eval_real(e);
  if (!r || std::fabs(*r) > 9e18) return std::nullopt;
  return (int64_t)std::trunc(*r);
}

namespace {
// The statement of `body` (not inside its ifs or loops) that steps `var`,
// when it is the only assignment of `var` anywhere in the body.
const Stmt* single_step(const std::vector<StmtPtr>& body, const std::string& var) {
  int assignments = 0;
  std::function<void(const std::vector<StmtPtr>&)> count = [&](const std::vector<StmtPtr>& b) {
    for (auto& st : b) {
      if ((st->kind == StmtKind::Assign || st->kind == StmtKind::AugAssign) && st->target &&
          st->target->kind == ExprKind::Name && st->target->name == var)
        ++assignments;
      if (st->kind == StmtKind::For && st->var == var) ++assignments;
      count(st->body);
      count(st->orelse);
    }
  };
  count(body);
  if (assignments != 1) return nullptr;
  for (auto& st : body)
    if ((st->kind == StmtKind::Assign || st->kind == StmtKind::AugAssign) && st->target &&
        st->target->kind == ExprKind::Name && st->target->name == var)
      return st.get();
  return nullptr;
}
}  // namespace

std::optional<Counter::CountedWhile> Counter::counted_while(const Stmt& s, const Expr* c) {
  if (!c || c->kind != ExprKind::Compare || c->cmp_ops.size() != 1 || c->args.size() != 2) return std::nullopt;
  CmpOp op = c->cmp_ops[0];
  ExprPtr name = c->args[0], limit = c->args[1];
  if (name->kind != ExprKind::Name) {
    std::swap(name, limit);
    if (name->kind != ExprKind::Name) return std::nullopt;
    switch (op) {  // limit op x  ->  x op' limit
      case CmpOp::Lt: op = CmpOp::Gt; break;
      case CmpOp::Le: op = CmpOp::Ge; break;
      case CmpOp::Gt: op = CmpOp::Lt; break;
      case CmpOp::Ge: op = CmpOp::Le; break;
      default: break;
    }
  }
  std::set<std::string> changed, read;
  assigned_names(s.body, changed);
  names_in(limit, read);
  for (auto& n : read)
    if (changed.count(n)) return std::nullopt;
  const std::string& var = name->name;
  const Stmt* st = single_step(s.body, var);
  if (!st) return std::nullopt;
  // The step: x op= d, or x = x op d (d op x for + and *).
  BinOp step_op;
  ExprPtr d;
  if (st->kind == StmtKind::AugAssign) {
    step_op = st->aug_op;
    d = st->value;
  } else {
    const Expr* v = st->value.get();
    if (!v || v->kind != ExprKind::Binary) return std::nullopt;
    step_op = v->bin_op;
    auto is_var = [&](const ExprPtr& x) { return x->kind == ExprKind::Name && x->name == var; };
    if (is_var(v->args[0]))
      d = v->args[1];
    else if (is_var(v->args[1]) && (step_op == BinOp::Add || step_op == BinOp::Mul))
      d = v->args[0];
    else
      return std::nullopt;
  }
  read.clear();
  names_in(d, read);
  for (auto& n : read)
    if (changed.count(n)) return std::nullopt;
  auto x0 = eval_real(name);
  auto lim = eval_real(limit);
  auto step = eval_real(d);
  if (!x0 || !lim || !step) return std::nullopt;
  auto holds = [&](double x) {
    switch (op) {
      case CmpOp::Lt: return x < *lim;
      case CmpOp::Le: return x <= *lim;
      case CmpOp::Gt: return x > *lim;
      case CmpOp::Ge: return x >= *lim;
      case CmpOp::Ne: return x != *lim;
      case CmpOp::Eq: return x == *lim;
    }
    return false;
  };
  CountedWhile out;
  out.var = var;
  out.integral = std::trunc(*x0) == *x0 && std::trunc(*step) == *step && b_.scalars.count(var) &&
                 b_.scalars.at(var).kind == ScalarKind::Int;
  if (step_op == BinOp::Add || step_op == BinOp::Sub) {
    const double delta = step_op == BinOp::Add ? *step : -*step;
    double passes;
    if (!holds(*x0)) {
      passes = 0;
    } else if (op == CmpOp::Lt || op == CmpOp::Le) {
      if (delta <= 0) return std::nullopt;
      passes = std::floor((*lim - *x0) / delta) + 1;
      if (op == CmpOp::Lt && *x0 + (passes - 1) * delta >= *lim) passes -= 1;
    } else if (op == CmpOp::Gt || op == CmpOp::Ge) {
      if (delta >= 0) return std::nullopt;
      passes = std::floor((*x0 - *lim) / -delta) + 1;
      if (op == CmpOp::Gt && *x0 + (passes - 1) * delta <= *lim) passes -= 1;
    } else {
      return std::nullopt;
    }
    if (!(passes >= 0) || passes > 1e12) return std::nullopt;
    out.passes = passes;
    for (int64_t p = 0; p < (int64_t)passes && p < kSamples; ++p) out.values.push_back(*x0 + (double)p * delta);
    return out;
  }
  // Geometric steps: simulated (a few dozen passes at most).
  double x = *x0;
  int64_t passes = 0;
  while (holds(x)) {
    if (passes >= 256) return std::nullopt;
    if (passes < kSamples) out.values.push_back(x);
    ++passes;
    switch (step_op) {
      case BinOp::Mul: x = x * *step; break;
      case BinOp::FloorDiv:
        if (*step == 0) return std::nullopt;
        x = std::floor(x / *step);
        break;
      case BinOp::Div:
        if (*step == 0) return std::nullopt;
        x = x / *step;
        break;
      case BinOp::RShift:
        if (*step < 0 || *step > 62) return std::nullopt;
        x = std::floor(x / std::ldexp(1.0, (int)*step));
        break;
      case BinOp::LShift:
        if (*step < 0 || *step > 62) return std::nullopt;
        x = x * std::ldexp(1.0, (int)*step);
        break;
      default: return std::nullopt;
    }
    if (!std::isfinite(x)) return std::nullopt;
  }
  out.passes = (double)passes;
  return out;
}

void Counter::names_in(const ExprPtr& e, std::set<std::string>& out) {
  if (!e) return;
  if (e->kind == ExprKind::Name) out.insert(e->name);
  if (e->kind == ExprKind::Subscript) out.insert(e->name);
  for (auto& a : e->args) names_in(a, out);
}

// Names that loop bounds or branch conditions inside `body` depend on.
void Counter::control_names(const std::vector<StmtPtr>& body, std::set<std::string>& out) {
  for (auto& s : body) {
    if (s->kind == StmtKind::For) {
      names_in(s->start, out);
      names_in(s->stop, out);
      names_in(s->step, out);
      control_names(s->body, out);
    } else if (s->kind == StmtKind::If) {
      names_in(s->cond, out);
      control_names(s->body, out);
      control_names(s->orelse, out);
    }
  }
}

void Counter::collect_bound_names(const Stmt* s) {
  if (s->kind == StmtKind::For) {
    std::set<std::string> n;
    names_in(s->start, n);
    names_in(s->stop, n);
    names_in(s->step, n);
    for (auto& x : n)
      if (ints_.count(x)) bound_names_.insert(x);
  }
  for (auto& c : s->body) collect_bound_names(c.get());
  for (auto& c : s->orelse) collect_bound_names(c.get());
}

namespace {
// A literal integer of the code (`2`, `-1`), not a value known at run time:
// only those give LLVM a loop it can unroll fully.
std::optional<int64_t> literal_int(const ExprPtr& e) {
  if (!e) return std::nullopt;
  if (e->kind == ExprKind::IntConst) return e->ival;
  if (e->kind == ExprKind::Unary && e->un_op == UnOp::Neg && e->args[0]->kind == ExprKind::IntConst)
    return -e->args[0]->ival;
  return std::nullopt;
}

// A short loop over literal bounds (`for di in range(-1, 2)` of a 3 x 3
// window) that O3's full unrolling turns into straight code: the loop
// around it is then the innermost one, and it vectorises as a leaf loop
// would (box_blur, stencil_9pt and erode_3x3 measured 3 to 8 times faster
// than priced with the window loop as the leaf). LLVM unrolls fully up to
// a few hundred instructions: a 3 x 3 window of one assignment, not a 5 x 5
// one (gaussian_5x5 runs at the scalar rate), nested window loops
// multiplied out.
constexpr double kFullUnrollStatements = 16;

// The assignments `s` becomes when unrolled fully, or nullopt where it stays
// a loop (bounds known only at run time, a jump or a while loop inside, too
// long).
std::optional<double> fully_unrolled_statements(const Stmt& s) {
  if (s.kind != StmtKind::For) return std::nullopt;
  auto start = s.start ? literal_int(s.start) : std::optional<int64_t>(0);
  auto stop = literal_int(s.stop);
  auto step = s.step ? literal_int(s.step) : std::optional<int64_t>(1);
  if (!start || !stop || !step || *step == 0) return std::nullopt;
  const double trip = (double)range_trip_count(*start, *stop, *step);
  std::function<std::optional<double>(const std::vector<StmtPtr>&)> body =
      [&](const std::vector<StmtPtr>& b) -> std::optional<double> {
    double n = 0;
    for (auto& st : b) {
      if (st->kind == StmtKind::Break || st->kind == StmtKind::Continue || st->is_while) return std::nullopt;
      auto inner = st->kind == StmtKind::For ? fully_unrolled_statements(*st) : body(st->body);
      auto other = body(st->orelse);
      if (!inner || !other) return std::nullopt;
      // Assignments make the code; an if around them becomes a select.
      const bool assigns = st->kind == StmtKind::Assign || st->kind == StmtKind::AugAssign;
      n += (assigns ? 1 : 0) + *inner + *other;
    }
    return n;
  };
  auto per_iteration = body(s.body);
  if (!per_iteration || trip < 1 || trip * *per_iteration > kFullUnrollStatements) return std::nullopt;
  return trip * *per_iteration;
}
}  // namespace

static bool unrolls_fully(const Stmt& s) { return fully_unrolled_statements(s).has_value(); }

// Whether `body` holds a loop that stays a loop in the optimised code.
static bool contains_loop(const std::vector<StmtPtr>& body) {
  for (auto& s : body) {
    if ((s->kind == StmtKind::For && !unrolls_fully(*s)) || s->is_while) return true;
    if (s->kind == StmtKind::If && (contains_loop(s->body) || contains_loop(s->orelse))) return true;
  }
  return false;
}

namespace {
// The `for` loops of `body` outside other loops (through its ifs).
void direct_loops(const std::vector<StmtPtr>& body, std::vector<const Stmt*>& out) {
  for (auto& st : body) {
    if (st->kind == StmtKind::For)
      out.push_back(st.get());
    else if (st->kind == StmtKind::If && !st->is_while) {
      direct_loops(st->body, out);
      direct_loops(st->orelse, out);
    }
  }
}
}  // namespace

void Counter::reweigh_samples(const Stmt& s, int64_t first, int64_t step, int64_t n, std::vector<int64_t>& pos,
                              std::vector<double>& weights) {
  std::vector<const Stmt*> inner;
  direct_loops(s.body, inner);
  if (inner.empty() || pos.size() < 2 || (int64_t)pos.size() >= n) return;
  // f(v): one for the body plus the trips of its loops at v.
  auto f = [&](int64_t idx) -> std::optional<double> {
    env_[s.var] = first + idx * step;
    double total = 1;
    for (const Stmt* l : inner) {
      auto a = l->start ? loop_bound(l->start) : std::optional<int64_t>(0);
      auto b = l->stop ? loop_bound(l->stop) : std::nullopt;
      auto c = l->step ? loop_bound(l->step) : std::optional<int64_t>(1);
      if (!a || !b || !c || *c == 0) return std::nullopt;
      total += (double)range_trip_count(*a, *b, *c);
    }
    return total;
  };
  // First f at the samples and midway between them: where the trapezoid
  // over both agrees with the one over the samples alone (a body linear in
  // v), nothing more is evaluated.
  {
    double coarse = 0, fine = 0;
    for (size_t k = 0; k < pos.size(); ++k) {
      auto v = f(pos[k]);
      if (!v) return;
      coarse += weights[k] * *v;
      if (k + 1 == pos.size()) {
        fine += *v;
        break;
      }
      const int64_t gap = pos[k + 1] - pos[k];
      if (gap < 2) {
        fine += *v * (double)gap;
        continue;
      }
      const int64_t mid = pos[k] + gap / 2;
      auto u = f(mid);
      auto x = f(pos[k + 1]);
      if (!u || !x) return;
      // pos[k] .. mid - 1 and mid .. pos[k + 1] - 1 by the trapezoid rule.
      fine += (*v + *u) / 2 * (double)(mid - pos[k]) + (*u + *x) / 2 * (double)(pos[k + 1] - mid);
    }
    if (std::fabs(fine - coarse) <= 0.02 * std::max(coarse, fine)) return;
  }
  // f at each index of the range, or at evenly spaced ones standing for
  // those after them (kDensePoints over the sampled bodies around this loop).
  const int64_t budget = std::max<int64_t>(256, kDensePoints / std::max<int64_t>(1, sampled_bodies_));
  const int64_t stride = std::max<int64_t>(1, (n + budget - 1) / budget);
  std::vector<int64_t> at;
  std::vector<double> mass;  // f times the indices it stands for
  double exact = 0;
  std::vector<double> fs;
  for (int64_t m = 0; m < n; m += stride) {
    auto v = f(m);
    if (!v) return;
    at.push_back(m);
    fs.push_back(*v);
  }
  for (size_t m = 0; m < at.size(); ++m) {
    // Itself, and the indices up to the next point by the trapezoid rule.
    const double gap = (double)std::min(stride, n - at[m]) - 1;
    const double after = m + 1 < at.size() ? fs[m + 1] : fs[m];
    mass.push_back(fs[m] + gap * (fs[m] + after) / 2);
    exact += mass.back();
  }
  double trapezoid = 0;
  for (size_t k = 0; k < pos.size(); ++k) {
    auto v = f(pos[k]);
    if (!v) return;
    trapezoid += weights[k] * *v;
  }
  // Linear in v (the trapezoid's exact case): kept as it is.
  if (!(exact > 0) || std::fabs(trapezoid - exact) <= 0.05 * exact) return;
  // Samples where the work is: at equal shares of the cumulated f, each
  // standing for the indices nearest to it, weighed by their f over its own.
  const size_t k = pos.size();
  std::vector<size_t> chosen;
  double cum = 0;
  size_t next = 0;
  for (size_t m = 0; m < at.size() && next < k; ++m) {
    cum += mass[m];
    if (cum >= ((double)next + 0.5) / (double)k * exact) {
      if (chosen.empty() || chosen.back() != m) chosen.push_back(m);
      while (next < k && cum >= ((double)next + 0.5) / (double)k * exact) ++next;
    }
  }
  if (chosen.empty()) return;
  std::vector<double> cell(chosen.size(), 0.0);
  size_t c = 0;
  for (size_t m = 0; m < at.size(); ++m) {
    while (c + 1 < chosen.size() &&
           std::llabs((int64_t)chosen[c + 1] - (int64_t)m) <= std::llabs((int64_t)m - (int64_t)chosen[c]))
      ++c;
    cell[c] += mass[m];
  }
  pos.clear();
  weights.clear();
  for (size_t j = 0; j < chosen.size(); ++j) {
    auto v = f(at[chosen[j]]);
    if (!v || !(*v > 0)) return;  // cannot happen: f >= 1
    pos.push_back(at[chosen[j]]);
    weights.push_back(cell[j] / *v);
  }
}

void Counter::count_loop(const Stmt& s, double w) {
  // A loop a slice was lowered to: what it counts is also kept apart
  // (WorkProfile::ops_numpy), the interpreter runs it as NumPy calls.
  if (numpy_loop_var(s.var) && !in_numpy_) {
    const OpCounts before = w_.ops;
    in_numpy_ = true;
    count_loop(s, w);
    in_numpy_ = false;
    OpCounts diff = w_.ops;
    diff += before.scaled(-1);
    w_.ops_numpy += diff;
    w_.numpy_slices += w;
    return;
  }
  auto start = s.start ? loop_bound(s.start) : std::optional<int64_t>(0);
  auto stop = loop_bound(s.stop);
  auto step = s.step ? loop_bound(s.step) : std::optional<int64_t>(1);
  if (!start || !stop || !step || *step == 0) {
    error_ = "the bounds of loop '" + s.var + "' (line " + std::to_string(s.line) +
             ") depend on values known only inside the loop";
    return;
  }
  if (constant_size_) {
    auto& far = *step > 0 ? stop : start;
    const ExprPtr& written = *step > 0 ? s.stop : s.start;
    if (written && written->kind == ExprKind::IntConst && *far > 0) {
      largest_constant_bound_ = std::max(largest_constant_bound_, *far);
      far = (int64_t)scaled((double)*far);
    }
  }
  const double range_trip = (double)range_trip_count(*start, *stop, *step);
  double trip = range_trip;
  if (trip > 0)
    if (auto ran = break_fraction(s)) trip = std::max(1.0, trip * *ran);

  LoopTraffic& lt = loops_[s.id];
  lt.loop = s.id;
  lt.var = s.var;
  lt.depth = s.depth;
  auto v = verdicts_.find(s.id);
  lt.verdict = v == verdicts_.end() ? LoopVerdict::Sequential : v->second;
  lt.entries += w;
  lt.iterations += w * trip;
  {
    std::set<std::string> n;
    names_in(s.start, n);
    names_in(s.stop, n);
    names_in(s.step, n);
    for (auto& x : n)
      if (range_.count(x)) lt.triangular = true;
  }
  if (trip <= 0) {
    if (cpu_parallel_.count(s.id)) inline_regions_ += w;  // no work: runs on the calling thread
    return;
  }

  const int64_t first = *start, last = *start + (int64_t)(range_trip - 1) * *step;
  // A window loop unrolled into the leaf loop around it (unrolls_fully):
  // its statements are that loop's, which stays the innermost one.
  const bool unrolled = collecting_ && innermost_ && innermost_is_leaf_ && unrolls_fully(s) &&
                        !cpu_parallel_.count(s.id) && !gpu_launch_roots_.count(s.id);
  bool leaf = !unrolled && !contains_loop(s.body);
  // Save the walking state.
  auto saved_inner = innermost_;
  auto saved_trip = inner_trip_;
  auto saved_leaf = innermost_is_leaf_;
  auto saved_par = in_parallel_;
  auto saved_kernel = in_gpu_kernel_;
  auto saved_collect = collecting_;
  auto saved_vec = inner_vec_ok_;
  auto saved_grid = grid_x_var_;
  std::vector<OpCounts> saved_pending;
  if (!unrolled) {
    saved_pending.swap(pending_);
    innermost_ = &s;
    inner_trip_ = trip;
    innermost_is_leaf_ = leaf;
  }
  loop_stack_.push_back(&s);
  trip_stack_.push_back(trip);
  std::set<std::string> saved_groups;
  saved_groups.swap(charged_groups_);
  if (cpu_parallel_.count(s.id)) {
    if (parallel_region_pays(region_work_here(s, first, trip, *step))) {
      in_parallel_ = true;
      forked_regions_ += w;
      forked_iterations_ += w * trip;
    } else {
      inline_regions_ += w;
    }
  }
  if (gpu_launch_roots_.count(s.id)) {
    in_gpu_kernel_ = true;
    grid_x_var_ = grid_x_of_[s.id];
  }
  if (leaf) {
    collecting_ = true;
    inner_vec_ok_ = true;
    leaf_reads_.clear();
    leaf_writes_.clear();
  }
  range_[s.var] = analysis::IntInterval::span(std::min(first, last), std::max(first, last));

  std::set<std::string> ctl;
  control_names(s.body, ctl);
  if (!ctl.count(s.var)) {
    env_[s.var] = first;
    count_block(s.body, w * trip);
  } else {
    // Bounds inside depend on this variable (triangular loops): evaluate the
    // body at up to kSamples evenly spaced iterations and weight each sample
    // by the trapezoid rule over the integers it stands for, which is exact
    // when the body's work is linear in the variable.
    const int64_t n = (int64_t)trip;
    const int64_t k = std::min<int64_t>(n, std::clamp<int64_t>(kSampledBodies / sampled_bodies_, 2, kSamples));
    std::vector<int64_t> pos;
    for (int64_t j = 0; j < k; ++j) {
      int64_t idx = k == 1 ? 0 : (int64_t)std::llround((double)j * (double)(n - 1) / (double)(k - 1));
      if (pos.empty() || idx > pos.back()) pos.push_back(idx);
    }
    const int64_t outer_bodies = sampled_bodies_;
    std::vector<double> weights;
    for (size_t j = 0; j < pos.size(); ++j) {
      double weight = 1;
      if (j > 0) weight += (double)(pos[j] - pos[j - 1] - 1) / 2;
      if (j + 1 < pos.size()) weight += (double)(pos[j + 1] - pos[j] - 1) / 2;
      weights.push_back(weight);
    }
    reweigh_samples(s, first, *step, n, pos, weights);
    sampled_bodies_ = outer_bodies * (int64_t)pos.size();
    for (size_t j = 0; j < pos.size() && error_.empty(); ++j) {
      const double weight = weights[j];
      env_[s.var] = first + pos[j] * *step;
      charged_groups_.clear();
      count_block(s.body, w * weight);
    }
    sampled_bodies_ = outer_bodies;
  }
  env_.erase(s.var);
  range_.erase(s.var);

  if (leaf) {
    w_.innermost_iterations += w * trip;
    bool vec = inner_vec_ok_ && trip >= 4;
    for (auto& o : pending_) add_ops(o, vec);
    pending_.clear();
  }
  if (!unrolled) pending_.swap(saved_pending);
  loop_stack_.pop_back();
  trip_stack_.pop_back();
  charged_groups_.swap(saved_groups);
  innermost_ = saved_inner;
  inner_trip_ = saved_trip;
  innermost_is_leaf_ = saved_leaf;
  in_parallel_ = saved_par;
  in_gpu_kernel_ = saved_kernel;
  collecting_ = saved_collect;
  if (!unrolled) inner_vec_ok_ = saved_vec && !leaf;
  grid_x_var_ = saved_grid;
}

// analysis::region_work in numbers: inner bounds evaluated at this sample
// (bound_value), each loop variable they read at its middle iteration.
namespace {
struct RegionWorkEval {
  std::function<std::optional<int64_t>(const ExprPtr&)> value;
  std::map<std::string, int64_t>& env;
  using Num = double;
  Num constant(double v) { return v; }
  Num add(Num a, Num b) { return a + b; }
  Num mul(Num a, Num b) { return a * b; }
  Num max(Num a, Num b) { return std::max(a, b); }
  Num unknown() { return 1e30; }
  Num enter(const Stmt& s) {
    auto start = s.start ? value(s.start) : std::optional<int64_t>(0);
    auto stop = value(s.stop);
    auto step = s.step ? value(s.step) : std::optional<int64_t>(1);
    if (!start || !stop || !step || *step == 0) {
      env.erase(s.var);
      return unknown();
    }
    const int64_t trip = range_trip_count(*start, *stop, *step);
    env[s.var] = *start + trip / 2 * *step;
    return (double)trip;
  }
  void leave(const Stmt& s) { env.erase(s.var); }
};
}  // namespace

double Counter::region_work_here(const Stmt& s, int64_t first, double trip, int64_t step) {
  const auto saved = env_;
  env_[s.var] = first + (int64_t)(trip / 2) * step;
  RegionWorkEval ev{[this](const ExprPtr& e) { return bound_value(e); }, env_};
  double work = region_work(s, trip, ev);
  env_ = saved;
  return work;
}

// The devices run the mapping the counter is given (analysis/mapping.hpp),
// as the code generators emit it.
void Counter::plan_mapping() {
  cpu_parallel_.insert(mapping_.cpu.parallel_loops.begin(), mapping_.cpu.parallel_loops.end());
  for (const GpuLaunchPlan* launch : mapping_.gpu.launches()) {
    if (launch->sequential()) continue;
    gpu_launch_roots_.insert(launch->root->id);
    for (const Stmt* g : launch->grid) grid_loops_.insert(g->id);
    grid_x_of_[launch->root->id] = launch->grid.back()->var;
    grid_deepest_[launch->root->id] = launch->grid.back()->id;
  }
}

WorkProfile Counter::run() {
  const Stmt* root = b_.nest ? b_.nest->root.get() : nullptr;
  if (!root) {
    w_.uncounted = Decline{DeclineCode::Internal, 0, "there is no loop nest to count"};
    return w_;
  }
  std::function<void(const Stmt*)> bounds = [&](const Stmt* s) { collect_bound_names(s); };
  bounds(root);
  constant_size_ = bound_names_.empty() && b_.arrays.empty();
  collect_locals(root);
  collect_locals(root);  // twice: a local may be defined from another one
  plan_mapping();
  count_stmt(*root, 1.0);
  if (!error_.empty()) {
    w_.uncounted = Decline{DeclineCode::UnsupportedOperation, 0, error_};
  }

  // Loops in pre-order.
  std::function<void(const Stmt*)> order = [&](const Stmt* s) {
    if (s->kind == StmtKind::For) {
      auto it = loops_.find(s->id);
      LoopTraffic lt;
      if (it != loops_.end())
        lt = it->second;
      else {
        lt.loop = s->id;
        lt.var = s->var;
        lt.depth = s->depth;
        auto v = verdicts_.find(s->id);
        lt.verdict = v == verdicts_.end() ? LoopVerdict::Sequential : v->second;
      }
      lt.mean_trip = lt.entries > 0 ? lt.iterations / lt.entries : 0;
      w_.loops.push_back(lt);
    }
    for (auto& c : s->body) order(c.get());
    for (auto& c : s->orelse) order(c.get());
  };
  order(root);

  w_.inputs = (int)(b_.arrays.size() + b_.scalars.size());
  // Random numbers drawn before the run (loopscope/_draws.py): one hidden
  // array `$draws_k` per draw site, one element per number, sized by the
  // loops around the draws (scaled with them in the size sweep).
  for (auto& [name, a] : b_.arrays) {
    if (name.rfind("$draws_", 0) != 0) continue;
    double n = 1;
    for (size_t d = 0; d < a.shape.size(); ++d) n *= (double)std::max<int64_t>(0, shape_dim(name, d));
    w_.draws += n;
  }
  {
    std::function<void(const ExprPtr&)> refs_in = [&](const ExprPtr& e) {
      if (!e) return;
      if (e->kind == ExprKind::Subscript && b_.arrays.count(e->name))
        w_.reference_dims += (int)std::max<size_t>(1, e->args.size());
      for (auto& a : e->args) refs_in(a);
    };
    std::function<void(const Stmt*)> refs = [&](const Stmt* s) {
      refs_in(s->target);
      refs_in(s->value);
      refs_in(s->cond);
      refs_in(s->start);
      refs_in(s->stop);
      refs_in(s->step);
      for (auto& c : s->body) refs(c.get());
      for (auto& c : s->orelse) refs(c.get());
    };
    refs(root);
  }
  bool any_float = false, all_f32 = true;
  for (auto& [name, t] : arrays_) {
    ArrayTraffic a = t;
    double fr = ref_footprint_read_.count(name) ? ref_footprint_read_[name] : 0;
    double fw = ref_footprint_write_.count(name) ? ref_footprint_write_[name] : 0;
    a.footprint_bytes = std::min(a.nbytes, std::max(fr, fw));
    a.fully_written = a.written && fw >= a.nbytes * 0.999;
    w_.arrays.push_back(a);
    auto ab = b_.arrays.find(name);
    if (ab != b_.arrays.end() && is_float(ab->second.dtype)) {
      any_float = true;
      if (ab->second.dtype != DType::Float32) all_f32 = false;
    }
  }
  w_.fp32 = any_float && all_f32;

  // CPU and GPU mapping.
  double regions = 0, par_iters = 0, launches = 0, threads = 0, red = 0, last_assigned = 0;
  int first_par = -1;
  for (auto& lt : w_.loops) {
    if (!cpu_parallel_.count(lt.loop)) continue;
    if (first_par < 0) first_par = lt.loop;
  }
  regions = forked_regions_;
  par_iters = forked_iterations_;
  w_.cpu_inline_regions = inline_regions_;
  for (auto& lt : w_.loops) {
    if (!gpu_launch_roots_.count(lt.loop)) continue;
    launches += lt.entries;
    if (lt.verdict == LoopVerdict::Reduction) red += lt.iterations;
    last_assigned += lt.entries * grid_last_assigned_[lt.loop];
    int deepest = grid_deepest_[lt.loop];
    for (auto& d : w_.loops)
      if (d.loop == deepest) threads += d.iterations;
  }
  for (const GpuLaunchPlan* launch : mapping_.gpu.launches())
    if (launch->sequential()) ++w_.gpu_single_thread_loops;
  for (auto& lt : w_.loops)
    if (grid_loops_.count(lt.loop)) w_.gpu_grid_loops.push_back(lt.loop);
  w_.cpu_parallel_loop = first_par;
  w_.cpu_parallel_loops = mapping_.cpu.parallel_loops;
  w_.cpu_regions = regions;
  w_.cpu_parallel_iterations = regions > 0 ? par_iters / regions : 0;
  w_.gpu_launches = launches;
  w_.gpu_threads = launches > 0 ? threads / launches : 0;
  w_.gpu_grid_reduction = launches > 0 ? red / launches : 0;
  w_.gpu_last_assigned = launches > 0 ? last_assigned / launches : 0;
  auto weight = [](const OpCounts& o) { return o.flops() + o.load + o.store + o.intop + o.compare + o.assign; };
  double tot = weight(w_.ops);
  w_.parallel_fraction = tot > 0 ? std::min(1.0, weight(w_.ops_parallel) / tot) : 0;

  // The size parameter shown in reasons: the largest integer scalar used in a
  // loop bound, else the largest array dimension.
  double best = -1;
  for (auto& n : bound_names_) {
    double v = scaled((double)ints_[n]);
    if (v > best) {
      best = v;
      w_.size_label = n;
    }
  }
  if (best < 0) {
    for (auto& [name, ab] : b_.arrays)
      for (size_t d = 0; d < ab.shape.size(); ++d) {
        double v = (double)shape_dim(name, d);
        if (v > best) {
          best = v;
          w_.size_label = "len(" + name + ")";
        }
      }
  }
  w_.size_value = std::max(0.0, best);
  if (best < 0 && largest_constant_bound_ > 0) {
    // size_label stays empty: reasons say "at this size".
    w_.size_value = scaled((double)largest_constant_bound_);
    w_.size_axis =
        "the loops' constant bounds (the largest is " + std::to_string(largest_constant_bound_) + " in the code)";
  }
  return w_;
}

}  // namespace loopscope::costmodel::work_detail
