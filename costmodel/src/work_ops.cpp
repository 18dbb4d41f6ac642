// Work counting: the operations of expressions and statements. Which values
// are floats (expr_is_float, collect_locals), the OpCounts of an expression
// (count_expr) and of a statement (count_stmt, count_block; an `if` with a
// known condition counts its taken branch), the operations held back for a
// leaf loop until it is known to vectorise (add_ops), and the latency chains
// of accumulations and recurrences (count_self_chain, count_recurrence).
#include "work_internal.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <string>

namespace loopscope::costmodel::work_detail {

void Counter::collect_locals(const Stmt* s) {
  if ((s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign) && s->target &&
      s->target->kind == ExprKind::Name) {
    bool f = expr_is_float(s->value);
    if (s->kind == StmtKind::AugAssign && s->aug_op == BinOp::Div) f = true;
    local_float_[s->target->name] = local_float_[s->target->name] || f;
    // The interpreter's value: what the assignment gives (for `x op= v`, x
    // op v); where the nest assigns several kinds, the costliest.
    PyValue v = py_value(s->value);
    if (s->kind == StmtKind::AugAssign) {
      bool slow = false;
      v = py_combine(py_value(s->target), v, f || expr_is_float(s->target), slow);
    }
    auto rank = [](const PyValue& p) { return p.kind == PyValue::Python ? 0 : p.kind == PyValue::Int64 ? 1 : 2; };
    auto old = local_py_.find(s->target->name);
    if (old == local_py_.end() || rank(v) > rank(old->second)) local_py_[s->target->name] = v;
  }
  for (auto& c : s->body) collect_locals(c.get());
  for (auto& c : s->orelse) collect_locals(c.get());
}

bool Counter::expr_is_float(const ExprPtr& e) {
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
                                               "expm1", "log1p", "erf",  "hypot", "fabs", "pow",  "fmod", "copysign"};
      if (fl.count(e->name)) return true;
      if (e->name == "int" || e->name == "len" || e->name == "floor" || e->name == "ceil") return false;
      for (auto& a : e->args)
        if (expr_is_float(a)) return true;
      return false;
    }
    default: return false;
  }
}

Counter::PyValue Counter::py_value(const ExprPtr& e) {
  PyValue py;
  if (!e) return py;
  auto wide = [] { return PyValue{PyValue::Wide, DType::Float64}; };
  switch (e->kind) {
    case ExprKind::Name: {
      auto in = b_.scalars.find(e->name);
      if (in != b_.scalars.end()) {
        // An input: a Python number, or a NumPy scalar of the dtype the
        // bound value says (normalize_float32's `lo = img[0, 0]`, a float32).
        if (!in->second.numpy) return py;
        DType t = in->second.numpy_dtype;
        if (t == DType::Float64 || t == DType::Complex128) return wide();
        if (t == DType::Int64) return PyValue{PyValue::Int64, t};
        return PyValue{PyValue::Narrow, t};
      }
      auto l = local_py_.find(e->name);
      return l != local_py_.end() ? l->second : py;
    }
    case ExprKind::Subscript: {
      auto a = b_.arrays.find(e->name);
      if (a == b_.arrays.end()) return py;
      DType t = a->second.dtype;
      if (t == DType::Float64 || t == DType::Complex128) return wide();
      if (t == DType::Int64) return PyValue{PyValue::Int64, t};
      return PyValue{PyValue::Narrow, t};
    }
    case ExprKind::Binary: {
      bool slow = false;
      return py_combine(py_value(e->args[0]), py_value(e->args[1]), expr_is_float(e) || e->bin_op == BinOp::Div, slow);
    }
    case ExprKind::Unary: return e->un_op == UnOp::Not ? py : py_value(e->args[0]);
    case ExprKind::IfExp: {
      PyValue a = py_value(e->args[1]), b = py_value(e->args[2]);
      return a.kind != PyValue::Python ? a : b;
    }
    case ExprKind::Call: {
      const std::string& n = e->name;
      if (n == "np.float64") return wide();
      if (n == "np.int64") return PyValue{PyValue::Int64, DType::Int64};
      if (n == "np.float32") return PyValue{PyValue::Narrow, DType::Float32};
      if (n == "np.int32") return PyValue{PyValue::Narrow, DType::Int32};
      if (n == "np.uint64") return PyValue{PyValue::Narrow, DType::UInt64};
      if (n.rfind("np.", 0) == 0) {
        // A ufunc keeps a narrow float's dtype; otherwise it gives float64.
        for (auto& a : e->args) {
          PyValue v = py_value(a);
          if (v.kind == PyValue::Narrow && is_float(v.dtype)) return v;
        }
        return wide();
      }
      if (n == "min" || n == "max" || n == "abs" || n == "fabs") {
        for (auto& a : e->args) {
          PyValue v = py_value(a);
          if (v.kind != PyValue::Python) return v;
        }
      }
      return py;  // float(), int(), round(), math's functions: Python numbers
    }
    default: return py;
  }
}

Counter::PyValue Counter::py_combine(const PyValue& a, const PyValue& b, bool as_float, bool& slow) {
  // NumPy 1.x scalar arithmetic (bench/validate_costmodel_corpus.py, docs/
  // costmodel.md section 3): float64 and complex128 scalars take the fast
  // path with anything; int64 with ints; a scalar of another dtype only with
  // one of its own dtype. Anything else converts both through arrays,
  // about 20 times the cost of the fast path.
  slow = false;
  const PyValue wide{PyValue::Wide, DType::Float64};
  const PyValue int64{PyValue::Int64, DType::Int64};
  if (a.kind == PyValue::Python && b.kind == PyValue::Python) return a;
  if (a.kind == PyValue::Wide || b.kind == PyValue::Wide) return wide;
  if (a.kind == PyValue::Narrow && b.kind == PyValue::Narrow && a.dtype == b.dtype) return a;
  if (a.kind != PyValue::Narrow && b.kind != PyValue::Narrow) {  // int64 with int64 or a Python number
    if (!as_float) return int64;
    slow = a.kind == PyValue::Python || b.kind == PyValue::Python;  // int64 with a Python float
    return wide;
  }
  // int64 with a narrow integer (a count of uint8 cells): NumPy's scalar
  // path for two integer types, a few times the fast path but not the slow one.
  auto narrow_int = [](const PyValue& p) {
    return p.kind == PyValue::Narrow && !is_float(p.dtype) && !is_complex(p.dtype) && p.dtype != DType::Bool;
  };
  if ((a.kind == PyValue::Int64 && narrow_int(b)) || (b.kind == PyValue::Int64 && narrow_int(a)))
    return as_float ? wide : int64;
  slow = true;
  return as_float ? wide : int64;
}

// Calls the native code makes one instruction: rounding to an integral
// value (roundsd, for Python's round() of one number too: half to even), a
// sign flip of the imaginary part. Priced as libm calls they made
// floor_int, quantize and julia_set 3 to 14 times slower than measured.
static bool one_instruction(const std::string& n, size_t args) {
  static const std::set<std::string> names = {"floor",   "ceil",     "trunc",   "np.floor",
                                              "np.ceil", "np.trunc", "np.rint", ".conjugate"};
  return names.count(n) > 0 || (n == "round" && args == 1);
}

void Counter::count_remainder(const ExprPtr& a, const ExprPtr& b, double w, OpCounts& ops) {
  const Remainder r = sampled_remainder(a, b);
  ops.div += w;
  ops.fmod += w * r.full;
  ops.fmod_bits += w * r.bits;
}

void Counter::count_py_op(const ExprPtr& l, const ExprPtr& r, bool is_float, double w, OpCounts& ops) {
  PyValue a = py_value(l), b = py_value(r);
  bool slow = false;
  py_combine(a, b, is_float, slow);
  if (slow)
    ops.py_mixed += w;
  else if (is_float && a.kind == PyValue::Python && b.kind == PyValue::Python)
    ops.py_float += w;
}

// np.clip on a number goes through the array wrapper: about 13 times a
// ufunc on a scalar (measured on CPython 3.11 with NumPy 1.24).
constexpr double kNpClipCalls = 13;

void count_int_op(BinOp op, const ExprPtr& divisor, double w, OpCounts& ops) {
  if (op != BinOp::FloorDiv && op != BinOp::Mod) {
    ops.intop += w;
    return;
  }
  // Python's // and % on integers: a hardware divide (or, by a constant, a
  // multiply and shifts) and the sign fix-ups of floor semantics.
  ops.idiv += w;
  if (divisor &&
      (divisor->kind == ExprKind::IntConst || (divisor->kind == ExprKind::Unary && divisor->un_op == UnOp::Neg &&
                                               divisor->args[0]->kind == ExprKind::IntConst)))
    ops.idiv_const += w;
}

void Counter::add_ops(const OpCounts& o, bool vec_leaf) {
  w_.ops += o;
  if (in_parallel_) w_.ops_parallel += o;
  if (in_gpu_kernel_) w_.ops_gpu_kernel += o;
  if (vec_leaf) w_.ops_vector += o;
}

namespace {
// np.float64, np.uint8, np.bool_ ...: a NumPy scalar type called on a value.
constexpr double kNpConstructorCalls = 0.5;

bool numpy_constructor(const std::string& n) {
  static const std::set<std::string> types = {"np.float64", "np.float32", "np.float16",    "np.int64",     "np.int32",
                                              "np.int16",   "np.int8",    "np.uint64",     "np.uint32",    "np.uint16",
                                              "np.uint8",   "np.bool_",   "np.complex128", "np.complex64", "np.intp"};
  return types.count(n) > 0;
}
}  // namespace

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
        bool slow = false;
        py_combine(py_value(e->args[0]), py_value(e->args[1]), false, slow);
        if (slow) ops.py_mixed += w;
        count_int_op(e->bin_op, e->args[1], w, ops);
        return;
      }
      if (!(e->bin_op == BinOp::Pow && e->args[1]->kind == ExprKind::FloatConst && e->args[1]->fval == 0.5))
        count_py_op(e->args[0], e->args[1], true, w, ops);
      switch (e->bin_op) {
        case BinOp::Add:
        case BinOp::Sub: ops.add += w; break;
        case BinOp::Mul: ops.mul += w; break;
        case BinOp::Div: ops.div += w; break;
        case BinOp::Pow:
          // Always the C library's pow(), as CPython calls it, even for
          // x ** 2 and x ** 0.5: both code generators call it (marked no
          // builtin, so it is not turned into x * x or a sqrt).
          ops.pow += w;
          has_call = true;
          break;
        default:  // float // and %: a divide and the C library's fmod, not vectorised
          count_remainder(e->args[0], e->args[1], w, ops);
          has_call = true;
          break;
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
      for (size_t i = 0; i + 1 < e->args.size(); i++) {
        bool slow = false;
        py_combine(py_value(e->args[i]), py_value(e->args[i + 1]),
                   expr_is_float(e->args[i]) || expr_is_float(e->args[i + 1]), slow);
        if (slow) ops.py_mixed += w;
      }
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
      // A NumPy function on a number, its constructors too (np.uint64(23):
      // about half of np.sqrt(x), kNpConstructorCalls), or round()
      // of a NumPy scalar: the interpreter calls into NumPy's machinery.
      const bool constructor = numpy_constructor(n);
      if (n.rfind("np.", 0) == 0)
        ops.np_call += w * (n == "np.clip" ? kNpClipCalls : constructor ? kNpConstructorCalls : 1.0);
      else if (n == "round" && !e->args.empty() && py_value(e->args[0]).kind != PyValue::Python)
        ops.np_call += w;
      if (constructor)
        ops.call += w;  // native code: a conversion (of a constant: none at all), not a libm call
      else if (n == "sqrt")
        ops.sqrt += w;
      else if (n == "fmod" && e->args.size() == 2) {
        count_remainder(e->args[0], e->args[1], w, ops);
        has_call = true;
      } else if (n == "copysign")
        ops.add += w;  // a bit operation
      else if (n == "pow") {
        ops.pow += w;
        has_call = true;
      } else if (n == "min" || n == "max" || n == "abs" || n == "fabs" || n == "isnan" || n == "isinf" ||
                 n == "isfinite" || n == "np.isnan" || n == "np.isinf" || n == "np.isfinite")
        ops.compare += w * std::max<double>(1.0, (double)e->args.size() - 1);
      else if (n == "float" || n == "int" || n == "len" || n == "bool" || n == ".real" || n == ".imag" ||
               n == "complex")
        ops.call += w;  // a conversion or a register's part, no call
      else if (one_instruction(n, e->args.size()))
        ops.add += w;
      else {
        ops.exp += w;
        has_call = true;
      }
      // A float made an int (int(x), round(x), math.floor(x): Python's
      // give ints) is checked for the range of int64 (Python's int has
      // none): a branch out of the loop on each element, which keeps it in
      // order (floor_int, quantize: 2 to 6 times slower than priced
      // vectorised).
      const bool to_int =
          n == "int" || n == "floor" || n == "ceil" || n == "trunc" || (n == "round" && e->args.size() == 1);
      if (to_int && !e->args.empty() && expr_is_float(e->args[0])) inner_vec_ok_ = false;
      return;
    }
    default: return;
  }
}

// Branches (docs/costmodel.md, "Branches"). An `if` whose condition
// depends on data (the counter cannot evaluate it, and it reads array
// elements or names the nest assigns from them) is mispredicted, for
// unpredictable data,
// about half the time: kDataBranchMiss misses per execution, each priced by
// the host's calibrated branch_miss_ns. Not when it leaves the loop
// (`break`, `return`: taken at most once per loop run, predicted not taken),
// when it keeps a running minimum or maximum (`if a[i] < lo: lo = a[i]`: the
// condition compares a name the branch assigns, which new extremes change
// about ln(n) times in n, so it is predicted), or when the compiler turns it
// into a select: both branches at most two assignments of names to names,
// constants, elements the condition reads, or float arithmetic without
// division or calls, stored to names or elements, at most three (a swap)
// (integer arithmetic carries an overflow check, itself a branch, which
// keeps the `if`).
constexpr double kDataBranchMiss = 0.5;

static std::optional<OpCounts> recurrence_path(const ExprPtr& e, const std::function<bool(const ExprPtr&)>& is_source,
                                               const std::function<bool(const ExprPtr&)>& is_float);

void Counter::assigned_names(const std::vector<StmtPtr>& body, std::set<std::string>& out) {
  for (auto& st : body) {
    if ((st->kind == StmtKind::Assign || st->kind == StmtKind::AugAssign) && st->target &&
        st->target->kind == ExprKind::Name)
      out.insert(st->target->name);
    assigned_names(st->body, out);
    assigned_names(st->orelse, out);
  }
}

bool Counter::leaves_loop(const Stmt& s) {
  if (s.orelse.empty() && s.body.size() == 1 && s.body[0]->kind == StmtKind::Break) return true;
  std::function<bool(const std::vector<StmtPtr>&)> breaks = [&](const std::vector<StmtPtr>& b) {
    for (auto& st : b)
      if (st->kind == StmtKind::Break) return true;
    return false;
  };
  return s.orelse.empty() && breaks(s.body);
}

// An accumulator set again in each iteration of an enclosing loop (`s =
// 0.0` before the loops of a 3 x 3 stencil) whose loops inside run at most
// kOverlappedChain accumulations from each start: the chains of neighbouring
// iterations are independent, the out-of-order core runs several at once
// (and O3 unrolls such short loops fully), so they cost their operations'
// throughput, not one latency each (box_blur, stencil_9pt and gaussian_5x5
// measured 3 to 6 times faster than priced as chains). 32 accumulations
// with their loads are about 100 micro-operations: a reorder buffer of 200
// to 500 holds two to five chains.
constexpr double kOverlappedChain = 32;

bool Counter::short_restarted_chain(const Expr& target) {
  if (target.kind != ExprKind::Name) return false;
  auto it = scalar_set_in_.find(target.name);
  if (it == scalar_set_in_.end()) return false;
  // Set in the body of one of the loops around this accumulation (not in a
  // loop beside them), inside the innermost.
  const auto [depth, loop] = it->second;
  if (depth == 0 || depth >= loop_stack_.size() || loop_stack_[depth - 1] != loop) return false;
  double per_start = 1;
  for (size_t d = depth; d < trip_stack_.size(); ++d) per_start *= trip_stack_[d];
  return per_start <= kOverlappedChain;
}

bool Counter::restarted_each_iteration(const Expr& target) {
  if (target.kind != ExprKind::Name || !innermost_) return false;
  auto it = scalar_set_in_.find(target.name);
  return it != scalar_set_in_.end() && it->second.second == innermost_ && short_restarted_chain(target);
}

bool Counter::selects_iteration_values(const Stmt& s) {
  bool any = false;
  for (const auto* b : {&s.body, &s.orelse})
    for (auto& st : *b) {
      if (st->kind != StmtKind::Assign || st->target->kind != ExprKind::Name || !restarted_each_iteration(*st->target))
        return false;
      any = true;
    }
  return any;
}

bool Counter::reads_data(const ExprPtr& e) {
  if (data_names_.empty() && !data_names_done_) {
    // Names the nest assigns from array elements, directly or through other
    // such names (a fixed point over the nest's assignments).
    std::vector<const Stmt*> assigns;
    std::function<void(const Stmt*)> collect = [&](const Stmt* s) {
      if ((s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign) && s->target &&
          s->target->kind == ExprKind::Name)
        assigns.push_back(s);
      for (auto& c : s->body) collect(c.get());
      for (auto& c : s->orelse) collect(c.get());
    };
    if (b_.nest && b_.nest->root) collect(b_.nest->root.get());
    for (bool changed = true; changed;) {
      changed = false;
      for (auto* s : assigns)
        if (!data_names_.count(s->target->name) && expr_reads_data(s->value)) {
          data_names_.insert(s->target->name);
          changed = true;
        }
    }
    data_names_done_ = true;
  }
  return expr_reads_data(e);
}

bool Counter::expr_reads_data(const ExprPtr& e) const {
  if (!e) return false;
  if (e->kind == ExprKind::Subscript && b_.arrays.count(e->name)) return true;
  if (e->kind == ExprKind::Name && data_names_.count(e->name)) return true;
  for (auto& a : e->args)
    if (expr_reads_data(a)) return true;
  return false;
}

bool Counter::if_convertible(const Stmt& s) {
  // A running extremum: the condition compares a name the branch assigns.
  if (s.cond && s.cond->kind == ExprKind::Compare && s.orelse.empty()) {
    std::set<std::string> assigned;
    assigned_names(s.body, assigned);
    for (auto& a : s.cond->args)
      if (a->kind == ExprKind::Name && assigned.count(a->name)) return true;
  }
  // Elements the condition reads are loaded anyway: selecting one is safe.
  std::vector<ExprPtr> cond_refs;
  std::function<void(const ExprPtr&)> refs = [&](const ExprPtr& e) {
    if (!e) return;
    if (e->kind == ExprKind::Subscript) cond_refs.push_back(e);
    for (auto& a : e->args) refs(a);
  };
  refs(s.cond);
  std::function<bool(const ExprPtr&)> simple = [&](const ExprPtr& e) -> bool {
    if (!e) return true;
    switch (e->kind) {
      case ExprKind::Subscript:
        for (auto& r : cond_refs)
          if (same_expr(e, r)) return true;
        return false;
      case ExprKind::Name:
      case ExprKind::IntConst:
      case ExprKind::FloatConst:
      case ExprKind::BoolConst: return true;
      case ExprKind::Binary:
        return expr_is_float(e) && e->bin_op != BinOp::Div && e->bin_op != BinOp::FloorDiv && e->bin_op != BinOp::Mod &&
               e->bin_op != BinOp::Pow && simple(e->args[0]) && simple(e->args[1]);
      case ExprKind::Unary: return expr_is_float(e) && simple(e->args[0]);
      default: return false;
    }
  };
  // A store of such a value to an element (`if x[i] < 0: x[i] = 0.0`) is a
  // select of what is stored, or a masked store, as well.
  auto target_ok = [&](const ExprPtr& t) {
    if (!t) return false;
    if (t->kind == ExprKind::Name) return true;
    if (t->kind != ExprKind::Subscript || !b_.arrays.count(t->name)) return false;
    for (auto& a : t->args)
      if (!(a->kind == ExprKind::Name || a->kind == ExprKind::IntConst || a->kind == ExprKind::Binary)) return false;
    return true;
  };
  auto branch_ok = [&](const std::vector<StmtPtr>& b) {
    if (b.size() > 3) return false;  // a swap through a temporary is three
    for (auto& st : b) {
      if (st->kind != StmtKind::Assign || !target_ok(st->target)) return false;
      if (!simple(st->value)) return false;
    }
    return true;
  };
  return branch_ok(s.body) && branch_ok(s.orelse);
}

// In a while loop, `x = f(x, y)` with x or y assigned by the loop's body:
// each pass waits for the previous one's value (gcd's `x, y = y, x % y`).
void Counter::count_while_recurrence(const Stmt& s, double w) {
  const std::set<std::string>& names = while_names_.back().second;
  auto path = recurrence_path(
      s.value, [&](const ExprPtr& e) { return e->kind == ExprKind::Name && names.count(e->name) > 0; },
      [&](const ExprPtr& e) { return expr_is_float(e); });
  const bool aug = s.kind == StmtKind::AugAssign;
  if (!path && !(aug && s.target->kind == ExprKind::Name && names.count(s.target->name))) return;
  OpCounts p = path.value_or(OpCounts{});
  if (aug) {
    bool f = expr_is_float(s.target) || expr_is_float(s.value);
    if (!f)
      count_int_op(s.aug_op, s.value, 1, p);
    else if (s.aug_op == BinOp::Div)
      p.div += 1;
    else
      p.add += 1;
  }
  // Integer steps are priced at the add latency like float ones; a divide
  // at its own.
  p.add += p.intop;
  p.intop = 0;
  if (s.target->kind == ExprKind::Subscript) p.store += 1;
  w_.ops_recurrence += p.scaled(w);
}

// Names of a leaf loop's body read in an iteration before the body assigns
// them: they carry a value from the previous iteration (fibonacci's `a, b =
// b, (a + b) % m`, through the temporaries of the tuple assignment).
const std::set<std::string>& Counter::carried_names(const Stmt& loop) {
  auto it = carried_names_.find(loop.id);
  if (it != carried_names_.end()) return it->second;
  std::set<std::string> assigned_in_body, seen, carried;
  assigned_names(loop.body, assigned_in_body);
  std::function<void(const ExprPtr&)> reads = [&](const ExprPtr& e) {
    if (!e) return;
    if (e->kind == ExprKind::Name && assigned_in_body.count(e->name) && !seen.count(e->name)) carried.insert(e->name);
    for (auto& a : e->args) reads(a);
  };
  std::function<void(const std::vector<StmtPtr>&)> walk = [&](const std::vector<StmtPtr>& body) {
    for (auto& st : body) {
      reads(st->cond);
      reads(st->value);
      if (st->target && st->target->kind == ExprKind::Subscript) reads(st->target);
      if (st->kind == StmtKind::AugAssign) reads(st->target);
      walk(st->body);
      walk(st->orelse);
      if (st->target && st->target->kind == ExprKind::Name && st->kind == StmtKind::Assign)
        seen.insert(st->target->name);
    }
  };
  walk(loop.body);
  return carried_names_[loop.id] = carried;
}

// `t = f(a, b)` in a leaf loop, `a` or `b` carried from the previous
// iteration (not the target itself: count_self_chain prices that): the
// operations from them to `t` wait for the previous iteration.
void Counter::count_carried_scalars(const Stmt& s, double w) {
  const std::set<std::string>& carried = carried_names(*innermost_);
  if (carried.empty()) return;
  const std::string& self = s.target->name;
  auto path = recurrence_path(
      s.value,
      [&](const ExprPtr& e) { return e->kind == ExprKind::Name && e->name != self && carried.count(e->name) > 0; },
      [&](const ExprPtr& e) { return expr_is_float(e); });
  if (!path) return;
  OpCounts p = *path;
  p.add += p.intop;
  p.intop = 0;
  w_.ops_recurrence += p.scaled(w);
}

// How many passes a `while` loop is counted for, each time it is reached:
// its trip count depends on values computed as it runs, so the count is a
// fixed guess (an escape-time loop such as Mandelbrot's stops after a few
// to a few hundred passes, a Newton iteration after a handful). A `for`
// loop left by a `break` is counted for the share of its range that
// break_fraction finds, where the condition can be stepped from the
// arrays' values; else for all of its range (an upper bound).
constexpr double kAssumedWhilePasses = 16;

void Counter::count_stmt(const Stmt& s, double w) {
  switch (s.kind) {
    case StmtKind::For: count_loop(s, w); return;
    case StmtKind::Break:
    case StmtKind::Continue: return;
    case StmtKind::If: {
      if (s.is_while) {
        // A loop that steps a name towards a limit is counted for its
        // passes (counted_while); any other for kAssumedWhilePasses.
        auto counted = counted_while(s, s.cond.get());
        if (!counted && s.cond && s.cond->kind == ExprKind::Logical && s.cond->bool_op == BoolOp::And) {
          // `while k < max_iter and ...`: at most that many passes, where
          // that is fewer than the guess.
          for (auto& part : s.cond->args) {
            auto c = counted_while(s, part.get());
            if (c && c->passes < kAssumedWhilePasses && (!counted || c->passes < counted->passes)) counted = c;
          }
        }
        const double passes = counted ? counted->passes : kAssumedWhilePasses;
        OpCounts ops;
        bool has_call = false;
        const double tests = w * (passes + 1);  // the condition, once more than the body
        count_expr(s.cond, tests, ops, has_call);
        ops.compare += tests;
        // The exit of a while loop whose test depends on what it computes is
        // mispredicted once each time the loop runs.
        if (!eval(s.cond) && reads_data(s.cond)) ops.branch_miss += w;
        inner_vec_ok_ = false;
        emit(ops);
        // Its passes run one after the other: what the body computes from
        // the names it assigns is a recurrence (count_while_recurrence).
        std::set<std::string> names;
        assigned_names(s.body, names);
        while_names_.emplace_back(loop_stack_.size(), std::move(names));
        if (counted && counted->integral && counted->passes <= (double)kSamples &&
            sampled_bodies_ * (int64_t)counted->passes <= kSampledBodies) {
          // A few passes (`stride *= 2`): each counted at its own value of the
          // name, which bounds inside may read (`range(0, n, 2 * stride)`).
          const int64_t outer_bodies = sampled_bodies_;
          sampled_bodies_ = outer_bodies * std::max<int64_t>(1, (int64_t)counted->passes);
          const bool had = env_.count(counted->var) > 0;
          const int64_t saved = had ? env_[counted->var] : 0;
          for (double x : counted->values) {
            env_[counted->var] = (int64_t)x;
            charged_groups_.clear();
            count_block(s.body, w);
          }
          if (had)
            env_[counted->var] = saved;
          else
            env_.erase(counted->var);
          sampled_bodies_ = outer_bodies;
        } else {
          count_block(s.body, w * passes);
        }
        while_names_.pop_back();
        return;
      }
      OpCounts ops;
      bool has_call = false;
      count_expr(s.cond, w, ops, has_call);
      ops.compare += w;
      // A branch keeps the loop in order, except a select whose names are
      // values of the innermost loop's iteration (a running extremum over a
      // window unrolled into it, erode_3x3): independent lanes.
      const bool select = if_convertible(s);
      if (!(select && selects_iteration_values(s))) inner_vec_ok_ = false;
      auto c = eval(s.cond);
      // A condition on the arrays as they are (`if pos[i, d] < 0.0`) is
      // sampled: the branch taken as often as it holds at the samples, and
      // mispredicted as often as the rarer way goes (random data; none
      // where one way always goes). Else half and half, half a miss.
      const auto p = c ? std::nullopt : taken_fraction(s);
      if (!c && reads_data(s.cond) && !leaves_loop(s) && !select)
        ops.branch_miss += w * (p ? std::min(*p, 1 - *p) : kDataBranchMiss);
      emit(ops);
      // What a branch assigns is set in some iterations only: not a start
      // of the name's value (scalar_set_in_) for the statements after it.
      if (c) {
        count_block(*c ? s.body : s.orelse, w);
      } else {
        const auto starts = scalar_set_in_;
        count_block(s.body, w * (p ? *p : 0.5));
        count_block(s.orelse, w * (p ? 1 - *p : 0.5));
        scalar_set_in_ = starts;
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
        // A start of the name's value, not an update of it (`m = max(m, x)`).
        std::set<std::string> read;
        names_in(s.value, read);
        if (!aug && !read.count(s.target->name))
          scalar_set_in_[s.target->name] = {loop_stack_.size(), loop_stack_.empty() ? nullptr : loop_stack_.back()};
        // What a bound inside may read (bound_value); a scalar the walk
        // cannot compute is forgotten, never left at an older value.
        auto v = aug ? std::optional<int64_t>() : bound_value(s.value);
        if (v)
          assigned_[s.target->name] = *v;
        else
          assigned_.erase(s.target->name);
        auto r = aug || v ? std::optional<double>() : eval_real(s.value);
        if (r)
          real_assigned_[s.target->name] = *r;
        else
          real_assigned_.erase(s.target->name);
      }
      if (aug) {
        bool f = expr_is_float(s.target) || expr_is_float(s.value);
        if (f) {
          count_py_op(s.target, s.value, true, w, ops);
        } else {
          bool slow = false;
          py_combine(py_value(s.target), py_value(s.value), false, slow);
          if (slow) ops.py_mixed += w;
        }
        if (!f)
          count_int_op(s.aug_op, s.value, w, ops);
        else if (s.aug_op == BinOp::Mul)
          ops.mul += w;
        else if (s.aug_op == BinOp::Div)
          ops.div += w;
        else if (s.aug_op == BinOp::Pow)
          ops.pow += w;
        else if (s.aug_op == BinOp::FloorDiv || s.aug_op == BinOp::Mod) {
          count_remainder(s.target, s.value, w, ops);
          has_call = true;
        } else
          ops.add += w;
        // An accumulation whose target does not move with the innermost loop
        // is a dependence chain: each add waits for the previous one.
        if (innermost_ && innermost_is_leaf_) {
          bool invariant = true;
          if (s.target->kind == ExprKind::Subscript)
            for (auto& a : s.target->args)
              if (coeff(a, innermost_->var) != 0) invariant = false;
          // A name set again in each iteration of the innermost loop (`s =
          // 0.0` before a window unrolled into it) is a value of that
          // iteration: its lanes are independent and the loop vectorises.
          if (invariant && !restarted_each_iteration(*s.target)) {
            if (!short_restarted_chain(*s.target)) w_.chain_ops += w;
            inner_vec_ok_ = false;
          }
        }
      }
      if (!while_names_.empty() && while_names_.back().first == loop_stack_.size())
        count_while_recurrence(s, w);
      else if (!aug && innermost_ && innermost_is_leaf_ && s.target->kind == ExprKind::Name)
        count_carried_scalars(s, w);
      if (!aug && innermost_ && innermost_is_leaf_) count_self_chain(s, w);
      if (has_call && ops.pow + ops.exp + ops.fmod > 0) inner_vec_ok_ = false;
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
// `is_float` says whether an expression is a float (an integer // or % is
// an integer divide, `idiv`).
static std::optional<OpCounts> recurrence_path(const ExprPtr& e, const std::function<bool(const ExprPtr&)>& is_source,
                                               const std::function<bool(const ExprPtr&)>& is_float) {
  if (!e) return std::nullopt;
  if (is_source(e)) return OpCounts{};
  std::optional<OpCounts> best;
  auto weight = [](const OpCounts& o) {
    return o.add + 4 * (o.div + o.sqrt) + 8 * (o.exp + o.pow) + 8 * (o.idiv - o.idiv_const) + 3 * o.idiv_const;
  };
  for (auto& a : e->args) {
    if (e->kind == ExprKind::Subscript) break;  // indices are not on the value path
    auto p = recurrence_path(a, is_source, is_float);
    if (p && (!best || weight(*p) > weight(*best))) best = p;
  }
  if (!best) return std::nullopt;
  switch (e->kind) {
    case ExprKind::Binary:
      if ((e->bin_op == BinOp::FloorDiv || e->bin_op == BinOp::Mod) && !is_float(e))
        count_int_op(e->bin_op, e->args[1], 1, *best);
      else if (e->bin_op == BinOp::Div || e->bin_op == BinOp::FloorDiv || e->bin_op == BinOp::Mod)
        best->div += 1;
      else if (e->bin_op == BinOp::Pow)
        best->pow += 1;
      else
        best->add += 1;
      break;
    case ExprKind::Call:
      if (e->name == "sqrt")
        best->sqrt += 1;
      else if (e->name == "fmod")
        best->div += 1;
      else if (e->name == "min" || e->name == "max" || e->name == "abs" || e->name == "float" || e->name == "int" ||
               e->name == "copysign")
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
  // `m = max(m, x)` over a window, m set again in each iteration of the
  // innermost loop (dilate_3x3): independent lanes, no chain across them.
  if (restarted_each_iteration(*target)) return;
  auto path = recurrence_path(
      s.value, [&](const ExprPtr& e) { return same_expr(e, target); },
      [&](const ExprPtr& e) { return expr_is_float(e); });
  if (!path) return;
  w_.chain_ops += w * std::max(1.0, path->add + path->mul + path->compare) + w * 4 * (path->div + path->sqrt);
  // An integer divide on the chain waits for its own latency (count_recurrence
  // prices it where the plan has the carried flow).
  auto cf = carried_flow_.find(s.id);
  if (cf == carried_flow_.end() || !cf->second.count(innermost_->var)) {
    w_.ops_recurrence.idiv += w * path->idiv;
    w_.ops_recurrence.idiv_const += w * path->idiv_const;
  }
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
  auto path = recurrence_path(s.value, is_source, [&](const ExprPtr& e) { return expr_is_float(e); });
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

}  // namespace loopscope::costmodel::work_detail
