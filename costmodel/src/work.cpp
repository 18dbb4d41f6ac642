// Work counting over the loop-nest IR. See docs/costmodel.md, "Counting work".
#include "loopscope/costmodel/work.hpp"

#include "loopscope/analysis/int_eval.hpp"
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>

namespace loopscope::costmodel {

using namespace loopscope::analysis;

OpCounts& OpCounts::operator+=(const OpCounts& o) {
  add += o.add;
  mul += o.mul;
  div += o.div;
  sqrt += o.sqrt;
  exp += o.exp;
  pow += o.pow;
  intop += o.intop;
  compare += o.compare;
  call += o.call;
  load += o.load;
  store += o.store;
  assign += o.assign;
  index_dims += o.index_dims;
  return *this;
}

OpCounts OpCounts::scaled(double f) const {
  OpCounts r = *this;
  r.add *= f;
  r.mul *= f;
  r.div *= f;
  r.sqrt *= f;
  r.exp *= f;
  r.pow *= f;
  r.intop *= f;
  r.compare *= f;
  r.call *= f;
  r.load *= f;
  r.store *= f;
  r.assign *= f;
  r.index_dims *= f;
  return r;
}

double WorkProfile::bytes_read() const {
  double b = 0;
  for (auto& a : arrays)
    if (a.read || (a.written && !a.fully_written)) b += a.footprint_bytes;
  return b;
}

double WorkProfile::bytes_written() const {
  double b = 0;
  for (auto& a : arrays)
    if (a.written) b += a.footprint_bytes;
  return b;
}

namespace {

int elem_size(DType t) {
  switch (t) {
    case DType::Float64:
    case DType::Int64: return 8;
    case DType::Float32:
    case DType::Int32: return 4;
    case DType::Bool: return 1;
  }
  return 8;
}

bool is_float(DType t) { return t == DType::Float64 || t == DType::Float32; }

const char* to_string_verdict(LoopVerdict v) {
  switch (v) {
    case LoopVerdict::Parallel: return "parallel";
    case LoopVerdict::Reduction: return "reduction";
    default: return "sequential";
  }
}

// The same expression tree (kinds, names, constants, operators, arguments).
static bool same_expr(const ExprPtr& a, const ExprPtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  if (a->kind != b->kind || a->name != b->name || a->ival != b->ival || a->fval != b->fval || a->bin_op != b->bin_op ||
      a->un_op != b->un_op || a->bool_op != b->bool_op || a->cmp_ops != b->cmp_ops || a->args.size() != b->args.size())
    return false;
  for (size_t k = 0; k < a->args.size(); ++k)
    if (!same_expr(a->args[k], b->args[k])) return false;
  return true;
}

struct Interval {
  double lo, hi;
};

class Counter {
 public:
  Counter(const BoundNest& b, const ParallelPlan& plan, const NestMapping& mapping, double scale)
      : b_(b), mapping_(mapping), scale_(scale) {
    for (auto& lp : plan.loops) verdicts_[lp.loop] = lp.verdict;
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
  }

  WorkProfile run();

 private:
  const BoundNest& b_;
  const NestMapping& mapping_;
  double scale_;
  std::map<int, LoopVerdict> verdicts_;
  std::map<int, std::set<std::string>> carried_flow_;  // stmt id -> loops carrying a flow into it
  std::map<std::string, int64_t> ints_;                // integer scalars (scaled when in bounds)
  std::set<std::string> bound_names_;                  // scalars appearing in loop bounds
  std::map<std::string, int64_t> env_;                 // current loop-variable values
  std::map<std::string, Interval> range_;              // loop-variable ranges
  std::map<std::string, bool> local_float_;            // scalars assigned in the nest
  std::map<int, LoopTraffic> loops_;
  std::map<std::string, ArrayTraffic> arrays_;
  std::map<std::string, double> ref_footprint_read_, ref_footprint_write_;
  std::set<int> cpu_parallel_;  // loops split over CPU threads (mapping_.cpu)
  // The GPU mapping's launches that have a grid (mapping_.gpu), by root loop.
  std::set<int> gpu_launch_roots_;
  std::set<int> grid_loops_;
  std::map<int, std::string> grid_x_of_;  // launch root -> its grid's x variable
  std::map<int, int> grid_deepest_;       // launch root -> deepest grid loop
  std::string grid_x_var_;
  WorkProfile w_;
  std::string error_;

  // Where we are while walking.
  bool in_parallel_ = false;                           // inside a loop split over CPU threads
  bool in_gpu_kernel_ = false;                         // inside a grid launch
  const Stmt* innermost_ = nullptr;                    // innermost enclosing loop
  double inner_trip_ = 1;                              // its trip at this sample
  bool innermost_is_leaf_ = false;                     // it contains no loop
  bool inner_vec_ok_ = false;                          // innermost leaf loop vectorisable (decided per loop)
  std::vector<const Stmt*> loop_stack_;                // enclosing loops, outermost first
  std::set<std::string> charged_groups_;               // reference groups charged in the current loop body
  std::vector<const Expr*> leaf_reads_, leaf_writes_;  // array references of the current leaf loop
  // Cache assumed to keep the lines of one column walk (a typical L2 share).
  static constexpr double kReuseCacheBytes = 1 << 20;
  // Samples of a loop variable that inner bounds depend on.
  static constexpr int64_t kSamples = 25;

  double scaled(double v) const { return scale_ == 1.0 ? v : std::max(1.0, std::round(v * scale_)); }
  // No input has a size (see WorkProfile::size_axis): the sweep scales the
  // constant bound of each loop (its stop, or its start when it counts down).
  bool constant_size_ = false;
  int64_t largest_constant_bound_ = 0;

  int64_t shape_dim(const std::string& arr, size_t d) const {
    auto it = b_.arrays.find(arr);
    if (it == b_.arrays.end() || d >= it->second.shape.size()) return -1;
    return (int64_t)scaled((double)it->second.shape[d]);
  }

  // Integer value of an expression at this sample (analysis::eval_int):
  // loop variables, then integer scalars, scaled when they size a loop.
  std::optional<int64_t> eval(const ExprPtr& e) {
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

  // Interval of an affine-ish index expression over the loop ranges.
  std::optional<Interval> interval(const ExprPtr& e) {
    if (!e) return std::nullopt;
    if (e->kind == ExprKind::Name) {
      auto r = range_.find(e->name);
      if (r != range_.end()) return r->second;
    }
    if (e->kind == ExprKind::Binary &&
        (e->bin_op == BinOp::Add || e->bin_op == BinOp::Sub || e->bin_op == BinOp::Mul)) {
      auto a = interval(e->args[0]), c = interval(e->args[1]);
      if (!a || !c) return std::nullopt;
      if (e->bin_op == BinOp::Add) return Interval{a->lo + c->lo, a->hi + c->hi};
      if (e->bin_op == BinOp::Sub) return Interval{a->lo - c->hi, a->hi - c->lo};
      double p[4] = {a->lo * c->lo, a->lo * c->hi, a->hi * c->lo, a->hi * c->hi};
      return Interval{*std::min_element(p, p + 4), *std::max_element(p, p + 4)};
    }
    if (e->kind == ExprKind::Unary && e->un_op == UnOp::Neg) {
      auto a = interval(e->args[0]);
      if (!a) return std::nullopt;
      return Interval{-a->hi, -a->lo};
    }
    auto v = eval(e);
    if (v) return Interval{(double)*v, (double)*v};
    return std::nullopt;
  }

  // Coefficient of loop variable `var` in an index expression: 0 when the
  // expression does not mention it, NaN when it is not affine in it.
  double coeff(const ExprPtr& e, const std::string& var) {
    if (!e) return 0;
    switch (e->kind) {
      case ExprKind::Name: return e->name == var ? 1.0 : 0.0;
      case ExprKind::IntConst:
      case ExprKind::FloatConst:
      case ExprKind::BoolConst: return 0;
      case ExprKind::Unary: return e->un_op == UnOp::Neg ? -coeff(e->args[0], var) : coeff(e->args[0], var);
      case ExprKind::Binary: {
        double a = coeff(e->args[0], var), c = coeff(e->args[1], var);
        if (e->bin_op == BinOp::Add) return a + c;
        if (e->bin_op == BinOp::Sub) return a - c;
        if (e->bin_op == BinOp::Mul) {
          if (a == 0 && c == 0) return 0;
          if (a == 0) {
            auto k = eval(e->args[0]);
            return k ? c * (double)*k : NAN;
          }
          if (c == 0) {
            auto k = eval(e->args[1]);
            return k ? a * (double)*k : NAN;
          }
          return NAN;
        }
        return (a == 0 && c == 0) ? 0 : NAN;
      }
      default: {
        for (auto& a : e->args)
          if (coeff(a, var) != 0) return NAN;
        return 0;
      }
    }
  }

  static void names_in(const ExprPtr& e, std::set<std::string>& out) {
    if (!e) return;
    if (e->kind == ExprKind::Name) out.insert(e->name);
    if (e->kind == ExprKind::Subscript) out.insert(e->name);
    for (auto& a : e->args) names_in(a, out);
  }

  // Names that loop bounds or branch conditions inside `body` depend on.
  static void control_names(const std::vector<StmtPtr>& body, std::set<std::string>& out) {
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

  void collect_bound_names(const Stmt* s) {
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

  void collect_locals(const Stmt* s) {
    if ((s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign) && s->target &&
        s->target->kind == ExprKind::Name) {
      bool f = expr_is_float(s->value);
      if (s->kind == StmtKind::AugAssign && s->aug_op == BinOp::Div) f = true;
      local_float_[s->target->name] = local_float_[s->target->name] || f;
    }
    for (auto& c : s->body) collect_locals(c.get());
    for (auto& c : s->orelse) collect_locals(c.get());
  }

  bool expr_is_float(const ExprPtr& e) {
    if (!e) return false;
    switch (e->kind) {
      case ExprKind::FloatConst: return true;
      case ExprKind::IntConst:
      case ExprKind::BoolConst: return false;
      case ExprKind::Name: {
        auto s = b_.scalars.find(e->name);
        if (s != b_.scalars.end()) return s->second.kind == ScalarKind::Float;
        auto l = local_float_.find(e->name);
        return l != local_float_.end() && l->second;
      }
      case ExprKind::Subscript: {
        auto a = b_.arrays.find(e->name);
        return a != b_.arrays.end() && is_float(a->second.dtype);
      }
      case ExprKind::Binary:
        if (e->bin_op == BinOp::Div) return true;
        return expr_is_float(e->args[0]) || expr_is_float(e->args[1]);
      case ExprKind::Unary: return expr_is_float(e->args[0]);
      case ExprKind::IfExp: return expr_is_float(e->args[1]) || expr_is_float(e->args[2]);
      case ExprKind::Call: {
        static const std::set<std::string> fl = {"sqrt",  "exp",   "log",  "sin",   "cos",  "tan",  "tanh", "float",
                                                 "log2",  "log10", "atan", "atan2", "asin", "acos", "sinh", "cosh",
                                                 "expm1", "log1p", "erf",  "hypot", "fabs", "pow"};
        if (fl.count(e->name)) return true;
        if (e->name == "int" || e->name == "len" || e->name == "floor" || e->name == "ceil") return false;
        for (auto& a : e->args)
          if (expr_is_float(a)) return true;
        return false;
      }
      default: return false;
    }
  }

  void count_expr(const ExprPtr& e, double w, OpCounts& ops, bool& has_call);
  void count_recurrence(const Stmt& s, double w);
  void count_self_chain(const Stmt& s, double w);
  void count_ref(const Expr& ref, double w, bool is_write);
  void count_block(const std::vector<StmtPtr>& body, double w);
  void count_stmt(const Stmt& s, double w);
  void count_loop(const Stmt& s, double w);
  void add_ops(const OpCounts& o, bool vec_leaf);
  // Statements of a leaf loop are held back until the loop is walked, because
  // whether it vectorises is known only then.
  bool collecting_ = false;
  std::vector<OpCounts> pending_;
  void emit(const OpCounts& o) {
    if (collecting_)
      pending_.push_back(o);
    else
      add_ops(o, false);
  }
  void plan_mapping();
};

void Counter::add_ops(const OpCounts& o, bool vec_leaf) {
  w_.ops += o;
  if (in_parallel_) w_.ops_parallel += o;
  if (in_gpu_kernel_) w_.ops_gpu_kernel += o;
  if (vec_leaf) w_.ops_vector += o;
}

void Counter::count_expr(const ExprPtr& e, double w, OpCounts& ops, bool& has_call) {
  if (!e) return;
  switch (e->kind) {
    case ExprKind::Subscript: {
      if (b_.arrays.count(e->name)) {
        ops.load += w;
        ops.index_dims += w * (double)std::max<size_t>(1, e->args.size()) - w;
        count_ref(*e, w, false);
      }
      for (auto& a : e->args) count_expr(a, w, ops, has_call);
      return;
    }
    case ExprKind::Binary: {
      bool f = expr_is_float(e);
      count_expr(e->args[0], w, ops, has_call);
      count_expr(e->args[1], w, ops, has_call);
      if (!f) {
        ops.intop += w;
        return;
      }
      switch (e->bin_op) {
        case BinOp::Add:
        case BinOp::Sub: ops.add += w; break;
        case BinOp::Mul: ops.mul += w; break;
        case BinOp::Div: ops.div += w; break;
        case BinOp::Pow: {
          // x ** 2 and x ** 0.5 compile to a multiply and a sqrt.
          auto& r = e->args[1];
          if ((r->kind == ExprKind::IntConst && r->ival == 2) || (r->kind == ExprKind::FloatConst && r->fval == 2.0))
            ops.mul += w;
          else if (r->kind == ExprKind::FloatConst && r->fval == 0.5)
            ops.sqrt += w;
          else {
            ops.pow += w;
            has_call = true;
          }
          break;
        }
        default: ops.div += w; break;  // float // and %
      }
      return;
    }
    case ExprKind::Unary:
      count_expr(e->args[0], w, ops, has_call);
      if (e->un_op == UnOp::Neg) {
        if (expr_is_float(e))
          ops.add += w;
        else
          ops.intop += w;
      } else if (e->un_op == UnOp::Not)
        ops.compare += w;
      return;
    case ExprKind::Compare:
      for (auto& a : e->args) count_expr(a, w, ops, has_call);
      ops.compare += w * (double)e->cmp_ops.size();
      return;
    case ExprKind::Logical:
      for (auto& a : e->args) count_expr(a, w, ops, has_call);
      ops.compare += w * (double)(e->args.size() - 1);
      return;
    case ExprKind::IfExp:
      count_expr(e->args[0], w, ops, has_call);
      count_expr(e->args[1], w * 0.5, ops, has_call);
      count_expr(e->args[2], w * 0.5, ops, has_call);
      ops.compare += w;
      return;
    case ExprKind::Call: {
      for (auto& a : e->args) count_expr(a, w, ops, has_call);
      const std::string& n = e->name;
      if (n == "sqrt")
        ops.sqrt += w;
      else if (n == "pow") {
        ops.pow += w;
        has_call = true;
      } else if (n == "min" || n == "max" || n == "abs" || n == "fabs")
        ops.compare += w * std::max<double>(1.0, (double)e->args.size() - 1);
      else if (n == "float" || n == "int" || n == "len" || n == "bool")
        ops.call += w;
      else {
        ops.exp += w;
        has_call = true;
      }
      return;
    }
    default: return;
  }
}

void Counter::count_ref(const Expr& ref, double w, bool is_write) {
  // A leaf loop that reads an array it also writes, at another element,
  // keeps its loads and stores in order: no vectorisation.
  if (innermost_ && innermost_is_leaf_) {
    auto& refs = is_write ? leaf_writes_ : leaf_reads_;
    refs.push_back(&ref);
    const auto& other = is_write ? leaf_reads_ : leaf_writes_;
    for (const Expr* o : other) {
      if (o->name != ref.name) continue;
      bool same = o->args.size() == ref.args.size();
      for (size_t k = 0; same && k < ref.args.size(); ++k) same = same_expr(o->args[k], ref.args[k]);
      if (!same) inner_vec_ok_ = false;
    }
  }
  auto it = b_.arrays.find(ref.name);
  if (it == b_.arrays.end()) return;
  const ArrayBinding& ab = it->second;
  ArrayTraffic& t = arrays_[ref.name];
  if (t.name.empty()) {
    t.name = ref.name;
    t.elem_bytes = elem_size(ab.dtype);
    double n = 1;
    for (size_t d = 0; d < ab.shape.size(); ++d) n *= (double)shape_dim(ref.name, d);
    t.nbytes = n * t.elem_bytes;
  }
  if (is_write) {
    t.written = true;
    t.writes += w;
  } else {
    t.read = true;
    t.reads += w;
  }

  // Footprint of this reference over the loop ranges.
  double distinct = 1;
  for (size_t d = 0; d < ref.args.size(); ++d) {
    int64_t dim = d < ab.shape.size() ? shape_dim(ref.name, d) : 1;
    auto iv = interval(ref.args[d]);
    double ext = iv ? (iv->hi - iv->lo + 1) : (double)dim;
    distinct *= std::max(1.0, std::min(ext, (double)std::max<int64_t>(dim, 1)));
  }
  // Indexing fewer dimensions than the array has selects whole rows.
  for (size_t d = ref.args.size(); d < ab.shape.size(); ++d) distinct *= (double)shape_dim(ref.name, d);
  double fp = std::min(t.nbytes, distinct * t.elem_bytes);
  auto& slot = is_write ? ref_footprint_write_[ref.name] : ref_footprint_read_[ref.name];
  slot = std::max(slot, fp);

  // Stride in bytes along the innermost loop (CPU) and the grid's x loop (GPU).
  auto stride_along = [&](const std::string& var) -> double {
    double s = 0;
    for (size_t d = 0; d < ref.args.size() && d < ab.strides.size(); ++d) {
      double c = coeff(ref.args[d], var);
      if (std::isnan(c)) return NAN;
      s += c * (double)ab.strides[d];
    }
    return std::fabs(s);
  };
  const double line = 64;
  double cpu_bytes = t.elem_bytes * w;
  if (innermost_) {
    double s = stride_along(innermost_->var);
    if (s == 0)
      cpu_bytes = t.elem_bytes * w / std::max(1.0, inner_trip_);
    else if (std::isnan(s))
      cpu_bytes = line * w;
    else
      cpu_bytes = std::min(line, std::max<double>(s, t.elem_bytes)) * w;
    // A column walk (large stride) whose lines stay cached until the next
    // iteration of the enclosing loop uses their neighbouring elements (B[k, j]
    // with k inner and j outer) brings each line from memory only once.
    if (!(s <= line) && loop_stack_.size() >= 2 && inner_trip_ * line <= kReuseCacheBytes) {
      double s2 = stride_along(loop_stack_[loop_stack_.size() - 2]->var);
      if (!std::isnan(s2) && s2 <= t.elem_bytes) cpu_bytes = t.elem_bytes * w;
    }
    if (!(s == 0 || s == t.elem_bytes)) inner_vec_ok_ = false;
  }
  // Group reuse: references to the same array that move alike with every
  // enclosing loop and differ only by a constant (A[i, j - 1], A[i, j],
  // A[i + 1, j]) walk the same cache lines a few rows apart; only the first
  // one of a loop body brings them from memory.
  {
    std::string key = ref.name + (is_write ? "/w" : "/r");
    bool affine = true;
    for (auto& a : ref.args) {
      key += "|";
      for (const Stmt* l : loop_stack_) {
        double c = coeff(a, l->var);
        if (std::isnan(c)) affine = false;
        key += std::to_string(c) + ",";
      }
    }
    if (affine && !charged_groups_.insert(key).second) cpu_bytes = 0;
  }
  t.cpu_traffic_bytes += cpu_bytes;
  {
    double acc = w;
    if (innermost_ && !grid_loops_.count(innermost_->id)) {
      double s = stride_along(innermost_->var);
      if (s == 0) acc = w / std::max(1.0, inner_trip_);
    }
    t.gpu_accesses += acc;
  }
  if (!grid_x_var_.empty()) {
    double s = stride_along(grid_x_var_);
    double f = 1;
    if (std::isnan(s))
      f = 32.0 / t.elem_bytes;
    else if (s == 0)
      f = 1.0 / 32;  // the whole warp reads one element
    else if (s > t.elem_bytes)
      f = std::min(s, 32.0) / t.elem_bytes;
    // Weighted mean over accesses.
    double prev = t.reads + t.writes - w;
    t.gpu_coalescing = (t.gpu_coalescing * prev + f * w) / std::max(1.0, prev + w);
  }
}

void Counter::count_stmt(const Stmt& s, double w) {
  switch (s.kind) {
    case StmtKind::For: count_loop(s, w); return;
    case StmtKind::If: {
      OpCounts ops;
      bool has_call = false;
      count_expr(s.cond, w, ops, has_call);
      ops.compare += w;
      inner_vec_ok_ = false;
      emit(ops);
      auto c = eval(s.cond);
      if (c) {
        count_block(*c ? s.body : s.orelse, w);
      } else {
        count_block(s.body, w * 0.5);
        count_block(s.orelse, w * 0.5);
      }
      return;
    }
    case StmtKind::Assign:
    case StmtKind::AugAssign: {
      OpCounts ops;
      bool has_call = false;
      w_.statements += w;
      count_expr(s.value, w, ops, has_call);
      bool aug = s.kind == StmtKind::AugAssign;
      if (s.target->kind == ExprKind::Subscript) {
        for (auto& a : s.target->args) count_expr(a, w, ops, has_call);
        const double dims = (double)std::max<size_t>(1, s.target->args.size()) - 1;
        if (aug) {
          ops.load += w;
          ops.index_dims += w * dims;
          count_ref(*s.target, w, false);
        }
        ops.store += w;
        ops.index_dims += w * dims;
        count_ref(*s.target, w, true);
      } else {
        ops.assign += w;
      }
      if (aug) {
        bool f = expr_is_float(s.target) || expr_is_float(s.value);
        if (!f)
          ops.intop += w;
        else if (s.aug_op == BinOp::Mul)
          ops.mul += w;
        else if (s.aug_op == BinOp::Div)
          ops.div += w;
        else if (s.aug_op == BinOp::Pow)
          ops.pow += w;
        else
          ops.add += w;
        // An accumulation whose target does not move with the innermost loop
        // is a dependence chain: each add waits for the previous one.
        if (innermost_ && innermost_is_leaf_) {
          bool invariant = true;
          if (s.target->kind == ExprKind::Subscript)
            for (auto& a : s.target->args)
              if (coeff(a, innermost_->var) != 0) invariant = false;
          if (invariant) {
            w_.chain_ops += w;
            inner_vec_ok_ = false;
          }
        }
      }
      if (!aug && innermost_ && innermost_is_leaf_) count_self_chain(s, w);
      if (has_call && ops.pow + ops.exp > 0) inner_vec_ok_ = false;
      if (innermost_ && innermost_is_leaf_) {
        auto cf = carried_flow_.find(s.id);
        if (cf != carried_flow_.end() && cf->second.count(innermost_->var)) count_recurrence(s, w);
      }
      emit(ops);
      return;
    }
  }
}

// Operations on the longest path from a value the previous iteration
// produced (`is_source`) to the root of `e`; nullopt when no such value is read.
static std::optional<OpCounts> recurrence_path(const ExprPtr& e, const std::function<bool(const ExprPtr&)>& is_source) {
  if (!e) return std::nullopt;
  if (is_source(e)) return OpCounts{};
  std::optional<OpCounts> best;
  auto weight = [](const OpCounts& o) { return o.add + 4 * (o.div + o.sqrt) + 8 * (o.exp + o.pow); };
  for (auto& a : e->args) {
    if (e->kind == ExprKind::Subscript) break;  // indices are not on the value path
    auto p = recurrence_path(a, is_source);
    if (p && (!best || weight(*p) > weight(*best))) best = p;
  }
  if (!best) return std::nullopt;
  switch (e->kind) {
    case ExprKind::Binary:
      if (e->bin_op == BinOp::Div || e->bin_op == BinOp::FloorDiv || e->bin_op == BinOp::Mod)
        best->div += 1;
      else if (e->bin_op == BinOp::Pow)
        best->pow += 1;
      else
        best->add += 1;
      break;
    case ExprKind::Call:
      if (e->name == "sqrt")
        best->sqrt += 1;
      else if (e->name == "min" || e->name == "max" || e->name == "abs" || e->name == "float" || e->name == "int")
        best->add += 1;
      else
        best->exp += 1;
      break;
    case ExprKind::Unary:
    case ExprKind::Compare:
    case ExprKind::IfExp:
    case ExprKind::Logical: best->add += 1; break;
    default: break;
  }
  return best;
}

// `x = x + a * b` or `C[i] = C[i] + ...` with the target fixed in the
// innermost loop: the same chain as `+=`, as long as the path from the read
// of the target to the new value.
void Counter::count_self_chain(const Stmt& s, double w) {
  const ExprPtr& target = s.target;
  if (target->kind == ExprKind::Subscript)
    for (auto& a : target->args)
      if (coeff(a, innermost_->var) != 0) return;
  auto path = recurrence_path(s.value, [&](const ExprPtr& e) { return same_expr(e, target); });
  if (!path) return;
  w_.chain_ops += w * std::max(1.0, path->add + path->mul + path->compare) + w * 4 * (path->div + path->sqrt);
  inner_vec_ok_ = false;
}

void Counter::count_recurrence(const Stmt& s, double w) {
  const ExprPtr& target = s.target;
  const bool aug = s.kind == StmtKind::AugAssign;
  std::function<bool(const ExprPtr&)> is_source;
  if (target->kind == ExprKind::Name) {
    is_source = [&](const ExprPtr& e) { return e->kind == ExprKind::Name && e->name == target->name; };
  } else {
    // Reads of the same array at another element than the one written.
    is_source = [&](const ExprPtr& e) {
      return e->kind == ExprKind::Subscript && e->name == target->name && !same_expr(e, target);
    };
  }
  auto path = recurrence_path(s.value, is_source);
  if (!path && !aug) return;
  OpCounts p = path.value_or(OpCounts{});
  if (aug) {
    // The accumulation into an element that stays put is priced as a chain.
    bool invariant = true;
    if (target->kind == ExprKind::Subscript)
      for (auto& a : target->args)
        if (coeff(a, innermost_->var) != 0) invariant = false;
    if (invariant || target->kind == ExprKind::Name) return;
    if (s.aug_op == BinOp::Div)
      p.div += 1;
    else
      p.add += 1;
  }
  if (target->kind == ExprKind::Subscript) p.store += 1;  // stored, then loaded back
  w_.ops_recurrence += p.scaled(w);
  inner_vec_ok_ = false;
}

void Counter::count_block(const std::vector<StmtPtr>& body, double w) {
  for (auto& st : body) {
    if (!error_.empty()) return;
    count_stmt(*st, w);
  }
}

static bool contains_loop(const std::vector<StmtPtr>& body) {
  for (auto& s : body) {
    if (s->kind == StmtKind::For) return true;
    if (s->kind == StmtKind::If && (contains_loop(s->body) || contains_loop(s->orelse))) return true;
  }
  return false;
}

void Counter::count_loop(const Stmt& s, double w) {
  auto start = s.start ? eval(s.start) : std::optional<int64_t>(0);
  auto stop = eval(s.stop);
  auto step = s.step ? eval(s.step) : std::optional<int64_t>(1);
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
  double trip = 0;
  if (*step > 0 && *stop > *start) trip = (double)((*stop - *start + *step - 1) / *step);
  if (*step < 0 && *start > *stop) trip = (double)((*start - *stop - *step - 1) / -*step);

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
  if (trip <= 0) return;

  const int64_t first = *start, last = *start + (int64_t)(trip - 1) * *step;
  bool leaf = !contains_loop(s.body);
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
  saved_pending.swap(pending_);

  innermost_ = &s;
  loop_stack_.push_back(&s);
  std::set<std::string> saved_groups;
  saved_groups.swap(charged_groups_);
  inner_trip_ = trip;
  innermost_is_leaf_ = leaf;
  if (cpu_parallel_.count(s.id)) in_parallel_ = true;
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
  range_[s.var] = Interval{(double)std::min(first, last), (double)std::max(first, last)};

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
    const int64_t k = std::min<int64_t>(n, kSamples);
    std::vector<int64_t> pos;
    for (int64_t j = 0; j < k; ++j) {
      int64_t idx = k == 1 ? 0 : (int64_t)std::llround((double)j * (double)(n - 1) / (double)(k - 1));
      if (pos.empty() || idx > pos.back()) pos.push_back(idx);
    }
    for (size_t j = 0; j < pos.size() && error_.empty(); ++j) {
      double weight = 1;
      if (j > 0) weight += (double)(pos[j] - pos[j - 1] - 1) / 2;
      if (j + 1 < pos.size()) weight += (double)(pos[j + 1] - pos[j] - 1) / 2;
      env_[s.var] = first + pos[j] * *step;
      charged_groups_.clear();
      count_block(s.body, w * weight);
    }
  }
  env_.erase(s.var);
  range_.erase(s.var);

  if (leaf) {
    w_.innermost_iterations += w * trip;
    bool vec = inner_vec_ok_ && trip >= 4;
    for (auto& o : pending_) add_ops(o, vec);
    pending_.clear();
  }
  pending_.swap(saved_pending);
  loop_stack_.pop_back();
  charged_groups_.swap(saved_groups);
  innermost_ = saved_inner;
  inner_trip_ = saved_trip;
  innermost_is_leaf_ = saved_leaf;
  in_parallel_ = saved_par;
  in_gpu_kernel_ = saved_kernel;
  collecting_ = saved_collect;
  inner_vec_ok_ = saved_vec && !leaf;
  grid_x_var_ = saved_grid;
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
    w_.ok = false;
    w_.reason = "there is no loop nest to count";
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
    w_.ok = false;
    w_.reason = error_;
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
  double regions = 0, par_iters = 0, launches = 0, threads = 0, red = 0;
  int first_par = -1;
  for (auto& lt : w_.loops) {
    if (!cpu_parallel_.count(lt.loop)) continue;
    if (first_par < 0) first_par = lt.loop;
    regions += lt.entries;
    par_iters += lt.iterations;
  }
  for (auto& lt : w_.loops) {
    if (!gpu_launch_roots_.count(lt.loop)) continue;
    launches += lt.entries;
    if (lt.verdict == LoopVerdict::Reduction) red += lt.iterations;
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

nlohmann::json ops_json(const OpCounts& o) {
  return {{"add", o.add},
          {"mul", o.mul},
          {"div", o.div},
          {"sqrt", o.sqrt},
          {"exp", o.exp},
          {"pow", o.pow},
          {"intop", o.intop},
          {"compare", o.compare},
          {"call", o.call},
          {"load", o.load},
          {"store", o.store},
          {"assign", o.assign},
          {"index_dims", o.index_dims},
          {"flops", o.flops()}};
}

OpCounts ops_from_json(const nlohmann::json& j) {
  OpCounts o;
  auto g = [&](const char* k) { return j.contains(k) ? j.at(k).get<double>() : 0.0; };
  o.add = g("add");
  o.mul = g("mul");
  o.div = g("div");
  o.sqrt = g("sqrt");
  o.exp = g("exp");
  o.pow = g("pow");
  o.intop = g("intop");
  o.compare = g("compare");
  o.call = g("call");
  o.load = g("load");
  o.store = g("store");
  o.assign = g("assign");
  o.index_dims = g("index_dims");
  return o;
}

}  // namespace

WorkProfile count_work(const BoundNest& bound, const ParallelPlan& plan, double size_scale,
                       const NestMapping* mapping) {
  if (mapping) return Counter(bound, plan, *mapping, size_scale).run();
  const NestMapping by_verdicts = map_by_verdicts(bound, plan);
  return Counter(bound, plan, by_verdicts, size_scale).run();
}

std::string work_key(const BoundNest& b) {
  std::string k;
  auto put = [&](int64_t v) { k.append(reinterpret_cast<const char*>(&v), sizeof v); };
  auto name = [&](const std::string& n) {
    put((int64_t)n.size());
    k += n;
  };
  put((int64_t)(intptr_t)b.nest);
  put((int64_t)b.scalars.size());
  for (auto& [n, s] : b.scalars) {
    name(n);
    k.push_back(s.kind == ScalarKind::Int ? 'i' : s.kind == ScalarKind::Bool ? 'b' : 'f');
    put(s.kind == ScalarKind::Float ? 0 : s.ival);
  }
  put((int64_t)b.arrays.size());
  for (auto& [n, a] : b.arrays) {
    name(n);
    k.push_back((char)a.dtype);
    put((int64_t)a.shape.size());
    for (auto x : a.shape) put(x);
    put((int64_t)a.strides.size());
    for (auto x : a.strides) put(x);
  }
  return k;
}

nlohmann::json to_json(const WorkProfile& w) {
  nlohmann::json j;
  j["ok"] = w.ok;
  j["reason"] = w.reason;
  j["size_label"] = w.size_label;
  j["size_axis"] = w.size_axis;
  j["size_value"] = w.size_value;
  j["fp32"] = w.fp32;
  j["ops"] = ops_json(w.ops);
  j["ops_parallel"] = ops_json(w.ops_parallel);
  j["ops_gpu_kernel"] = ops_json(w.ops_gpu_kernel);
  j["ops_vector"] = ops_json(w.ops_vector);
  j["chain_ops"] = w.chain_ops;
  j["ops_recurrence"] = ops_json(w.ops_recurrence);
  j["inputs"] = w.inputs;
  j["reference_dims"] = w.reference_dims;
  j["innermost_iterations"] = w.innermost_iterations;
  j["statements"] = w.statements;
  j["loops"] = nlohmann::json::array();
  for (auto& l : w.loops)
    j["loops"].push_back({{"loop", l.loop},
                          {"var", l.var},
                          {"depth", l.depth},
                          {"verdict", to_string_verdict(l.verdict)},
                          {"entries", l.entries},
                          {"iterations", l.iterations},
                          {"mean_trip", l.mean_trip},
                          {"triangular", l.triangular}});
  j["arrays"] = nlohmann::json::array();
  for (auto& a : w.arrays)
    j["arrays"].push_back({{"name", a.name},
                           {"elem_bytes", a.elem_bytes},
                           {"nbytes", a.nbytes},
                           {"read", a.read},
                           {"written", a.written},
                           {"fully_written", a.fully_written},
                           {"reads", a.reads},
                           {"writes", a.writes},
                           {"footprint_bytes", a.footprint_bytes},
                           {"cpu_traffic_bytes", a.cpu_traffic_bytes},
                           {"gpu_coalescing", a.gpu_coalescing},
                           {"gpu_accesses", a.gpu_accesses}});
  j["cpu_parallel_loop"] = w.cpu_parallel_loop;
  j["cpu_parallel_loops"] = w.cpu_parallel_loops;
  j["cpu_regions"] = w.cpu_regions;
  j["cpu_parallel_iterations"] = w.cpu_parallel_iterations;
  j["parallel_fraction"] = w.parallel_fraction;
  j["gpu_grid_loops"] = w.gpu_grid_loops;
  j["gpu_launches"] = w.gpu_launches;
  j["gpu_threads"] = w.gpu_threads;
  j["gpu_grid_reduction"] = w.gpu_grid_reduction;
  j["gpu_single_thread_loops"] = w.gpu_single_thread_loops;
  j["bytes_read"] = w.bytes_read();
  j["bytes_written"] = w.bytes_written();
  return j;
}

WorkProfile work_profile_from_json(const nlohmann::json& j) {
  WorkProfile w;
  auto num = [&](const nlohmann::json& o, const char* k, double d = 0.0) {
    return o.contains(k) ? o.at(k).get<double>() : d;
  };
  w.ok = j.value("ok", true);
  w.reason = j.value("reason", std::string());
  w.size_label = j.value("size_label", std::string("n"));
  w.size_axis = j.value("size_axis", std::string());
  w.size_value = num(j, "size_value");
  w.fp32 = j.value("fp32", false);
  if (j.contains("ops")) w.ops = ops_from_json(j["ops"]);
  if (j.contains("ops_parallel")) w.ops_parallel = ops_from_json(j["ops_parallel"]);
  // Profiles written by hand (tests, older caches) may give only the CPU's
  // parallel part: the kernels then hold that same work.
  w.ops_gpu_kernel = j.contains("ops_gpu_kernel") ? ops_from_json(j["ops_gpu_kernel"]) : w.ops_parallel;
  if (j.contains("ops_vector")) w.ops_vector = ops_from_json(j["ops_vector"]);
  w.chain_ops = num(j, "chain_ops");
  if (j.contains("ops_recurrence")) w.ops_recurrence = ops_from_json(j["ops_recurrence"]);
  w.inputs = j.value("inputs", 0);
  w.reference_dims = j.value("reference_dims", 0);
  w.innermost_iterations = num(j, "innermost_iterations");
  w.statements = num(j, "statements");
  if (j.contains("loops"))
    for (auto& l : j["loops"]) {
      LoopTraffic t;
      t.loop = l.value("loop", 0);
      t.var = l.value("var", std::string());
      t.depth = l.value("depth", 0);
      std::string v = l.value("verdict", std::string("sequential"));
      t.verdict = v == "parallel"    ? LoopVerdict::Parallel
                  : v == "reduction" ? LoopVerdict::Reduction
                                     : LoopVerdict::Sequential;
      t.entries = num(l, "entries");
      t.iterations = num(l, "iterations");
      t.mean_trip = t.entries > 0 ? t.iterations / t.entries : 0;
      t.triangular = l.value("triangular", false);
      w.loops.push_back(t);
    }
  if (j.contains("arrays"))
    for (auto& a : j["arrays"]) {
      ArrayTraffic t;
      t.name = a.value("name", std::string());
      t.elem_bytes = a.value("elem_bytes", 8);
      t.nbytes = num(a, "nbytes");
      t.read = a.value("read", false);
      t.written = a.value("written", false);
      t.fully_written = a.value("fully_written", false);
      t.reads = num(a, "reads");
      t.writes = num(a, "writes");
      t.footprint_bytes = num(a, "footprint_bytes", t.nbytes);
      t.cpu_traffic_bytes = num(a, "cpu_traffic_bytes", (t.reads + t.writes) * t.elem_bytes);
      t.gpu_coalescing = num(a, "gpu_coalescing", 1.0);
      t.gpu_accesses = num(a, "gpu_accesses", t.reads + t.writes);
      w.arrays.push_back(t);
    }
  w.cpu_parallel_loop = j.value("cpu_parallel_loop", -1);
  if (j.contains("cpu_parallel_loops")) w.cpu_parallel_loops = j["cpu_parallel_loops"].get<std::vector<int>>();
  w.cpu_regions = num(j, "cpu_regions");
  w.cpu_parallel_iterations = num(j, "cpu_parallel_iterations");
  w.parallel_fraction = num(j, "parallel_fraction");
  if (j.contains("gpu_grid_loops")) w.gpu_grid_loops = j["gpu_grid_loops"].get<std::vector<int>>();
  w.gpu_launches = num(j, "gpu_launches");
  w.gpu_threads = num(j, "gpu_threads");
  w.gpu_grid_reduction = num(j, "gpu_grid_reduction");
  w.gpu_single_thread_loops = (int)num(j, "gpu_single_thread_loops");
  return w;
}

}  // namespace loopscope::costmodel
