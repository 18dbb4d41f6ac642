// Specialisation: types, intervals, parallel loops and the cache key.
#include "cpu_spec.hpp"

#include "loopscope/analysis/int_eval.hpp"
#include "loopscope/analysis/int_math.hpp"
#include "loopscope/analysis/interval.hpp"
#include "loopscope/analysis/mapping.hpp"
#include <functional>
#include <limits>
#include <optional>
#include <sstream>

namespace loopscope::jit::cpu {
using namespace loopscope::analysis;

namespace {
using i128 = __int128;

// describe(t) with its article: "an int", "a float", "a np.int64".
std::string a_type(const VT& t) {
  std::string d = describe(t);
  return (d.rfind("int", 0) == 0 ? "an " : "a ") + d;
}
// Value ranges of integers: analysis/interval.hpp's arithmetic. Its own are
// only the walker (Specialiser::expr), which types every value and bounds the
// ints among them, and the NumPy small-integer ranges.
using Interval = IntInterval;

// Whether every value of iv fits the integer representation r.
bool fits(const Interval& iv, Repr r) { return r == Repr::I32 ? iv.fits32() : iv.fits64(); }

struct TypedInterval {
  VT t;
  Interval iv;
};

const std::set<std::string>& math_fns() {
  static const std::set<std::string> s = {"sqrt",  "exp",  "log",   "sin",   "cos", "tan",  "fabs", "atan", "tanh",
                                          "log10", "log2", "expm1", "log1p", "erf", "erfc", "sinh", "cosh"};
  return s;
}
// math.fmod(x, y) and math.copysign(x, y): exact in C (fmod is an exact
// IEEE operation, copysign a bit operation), floats of their two arguments.
// math.hypot(x, y): CPython 3.11's own algorithm (jit::rt::ls_rt_hypot).
bool is_math2(const std::string& f) { return f == "fmod" || f == "copysign" || f == "hypot"; }

class Specialiser {
 public:
  Specialiser(Spec& s, const BoundNest& b, const ParallelPlan& p) : S(s), B(b), P(p) {}

  void run() {
    const LoopNest& nest = *B.nest;
    collect_names(nest);
    // Types of assigned scalars: iterate to a fixed point (a variable's type
    // can depend on another variable assigned later in the body).
    for (int iter = 0; iter < 12; ++iter) {
      changed_ = false;
      record_ = false;
      std::vector<const Stmt*> loops;
      stmt(*nest.root, loops);
      if (!changed_) break;
    }
    for (auto& v : S.vars)
      if (!v.typed)
        throw Unsupported{DeclineCode::Typing, nest.first_line,
                          (is_hidden_name(v.name) ? "" : "the variable ") + quoted_name(B.nest, v.name) +
                              " never gets a value of a known type"};
    if (std::any_of(S.vars.begin(), S.vars.end(), [](const VarInfo& v) { return v.int_then_float; }))
      check_int_then_float_reads(*nest.root);
    if (std::any_of(S.vars.begin(), S.vars.end(), [](const VarInfo& v) { return v.int_then_complex; }))
      check_int_then_complex_reads(*nest.root);
    if (std::any_of(S.vars.begin(), S.vars.end(), [](const VarInfo& v) { return v.int_or_small; }))
      check_int_or_small_reads(*nest.root);
    choose_parallel();
    record_ = true;
    std::vector<const Stmt*> loops;
    stmt(*nest.root, loops);
    build_key();
  }

 private:
  Spec& S;
  const BoundNest& B;
  const ParallelPlan& P;
  bool changed_ = false;
  bool record_ = false;
  std::map<std::string, Interval> loop_iv_;  // enclosing loop variables
  // The enclosing loops and their steps, outermost first (0: a step known
  // only when the loop starts), for affine_bound.
  std::vector<std::pair<const Stmt*, int64_t>> enclosing_;
  static constexpr int64_t kExactInDouble = int64_t{1} << 53;
  std::set<std::string> ints_not_exact_in_double_;  // assigned an int whose range is unknown or wider
  std::set<std::string> ints_not_zero_;             // assigned an int that may not be 0
  std::map<std::string, Interval> int_values_;      // the ints assigned to each variable (note_int_assigned)
  std::ostringstream decisions_;

  // ---- names ----------------------------------------------------------
  void add_var(const std::string& name) {
    if (S.var_index.count(name)) return;
    VarInfo v;
    v.name = name;
    auto it = B.scalars.find(name);
    if (it != B.scalars.end()) {
      v.input = true;
      v.typed = true;
      v.type = it->second.kind == ScalarKind::Int       ? kPyInt
               : it->second.kind == ScalarKind::Float   ? kPyFloat
               : it->second.kind == ScalarKind::Complex ? kPyComplex
                                                        : kPyBool;
      for (auto& n : S.options.numpy_scalars)
        if (n == name) {
          v.type = VT{v.type.r, false, true};
          v.input_numpy = true;
        }
      for (auto& n : S.options.complex64_scalars)
        if (n == name && v.type.r == Repr::C128) v.type.r = Repr::C64;
      for (auto& n : S.options.float32_scalars)
        if (n == name && v.type.r == Repr::F64) v.type.r = Repr::F32;
      for (auto& n : S.options.uint64_scalars)
        if (n == name && v.type.r == Repr::I64) v.type.small = Small::U64;
      for (auto& n : S.options.float16_scalars)
        if (n == name && v.type.r == Repr::F64) v.type = VT{Repr::F32, false, true, Small::F16};
      for (auto& [n, t] : S.options.small_int_scalars)  // typed as an element read of a `t` array
        if (n == name && v.type.r == Repr::I64)
          v.type = t == analysis::DType::Int32 ? VT{Repr::I32, false, true} : VT{Repr::I64, false, true, small_of(t)};
    }
    S.var_index[name] = static_cast<int>(S.vars.size());
    S.vars.push_back(v);
  }

  void collect_expr(const Expr& e) {
    if (e.kind == ExprKind::Name) {
      if (B.arrays.count(e.name) || S.array_index.count(e.name))
        throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                          "the array '" + e.name + "' is used as a value; only its elements can be used"};
      add_var(e.name);
    }
    if (e.kind == ExprKind::Subscript && !S.array_index.count(e.name)) {
      auto it = B.arrays.find(e.name);
      if (it == B.arrays.end())
        throw Unsupported{DeclineCode::UnsupportedValue, e.line,
                          "'" + e.name + "' is subscripted but is not a NumPy array of a supported type"};
      add_array(e.name, it->second);
    }
    for (auto& a : e.args)
      if (a) collect_expr(*a);
  }
  void add_array(const std::string& name, const ArrayBinding& a) {
    ArrayInfo info;
    info.name = name;
    info.dtype = a.dtype;
    info.ndim = static_cast<int>(a.shape.size());
    info.inner_contiguous = info.ndim > 0 && a.strides.back() == dtype_size(a.dtype);
    info.python_elements = a.python_elements;
    S.array_index[name] = static_cast<int>(S.arrays.size());
    S.arrays.push_back(info);
  }
  void collect_stmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Assign:
      case StmtKind::AugAssign:
        collect_expr(*s.value);
        collect_expr(*s.target);
        if (s.target->kind == ExprKind::Name) {
          S.vars[S.var_index[s.target->name]].assigned = true;
        } else {
          S.arrays[S.array_index[s.target->name]].written = true;
          const ArrayBinding& ab = B.arrays.at(s.target->name);
          if (ab.python_elements)
            throw Unsupported{DeclineCode::UnsupportedValue, s.line,
                              "'" + s.target->name +
                                  "' is a Python list or tuple, which native code only reads, and the loop writes it"};
          if (!ab.writeable)
            throw Unsupported{
                DeclineCode::UnsupportedValue, s.line,
                "the array '" + s.target->name + "' is read-only, so Python raises when the loop writes it"};
        }
        break;
      case StmtKind::If:
        collect_expr(*s.cond);
        for (auto& b : s.body) collect_stmt(*b);
        for (auto& b : s.orelse) collect_stmt(*b);
        break;
      case StmtKind::Break:
      case StmtKind::Continue: break;
      case StmtKind::For:
        add_var(s.var);
        S.vars[S.var_index[s.var]].assigned = true;
        S.vars[S.var_index[s.var]].loop_var = true;
        collect_expr(*s.start);
        collect_expr(*s.stop);
        if (s.step) collect_expr(*s.step);
        for (auto& b : s.body) collect_stmt(*b);
        break;
    }
  }
  void collect_names(const LoopNest& nest) {
    collect_stmt(*nest.root);
    for (auto& v : S.vars)
      if (!v.input && !v.assigned)
        throw Unsupported{DeclineCode::UnsupportedValue, nest.first_line,
                          "'" + v.name + "' has no value before the loop, or is not an int, float or bool"};
  }

  // ---- types and intervals ---------------------------------------------
  // `iv`: the interval of the value assigned, when it is an integer.
  void join_var(VarInfo& v, const VT& t, int line, const Interval& iv = {}) {
    if (t == kPyInt) note_int_assigned(v.name, iv);
    if (v.typed && joins_int_and_small(v, t)) return;
    if (t.small != Small::None || (v.typed && v.type.small != Small::None)) {
      // An np.uint8 ... in a variable (`r = img[i, j, 0]`): written back
      // with its type; one type only (`m = 255` then `m = img[i, j]` is
      // an int or an np.uint8 depending on the data).
      if (v.typed && v.type != t)
        throw Unsupported{DeclineCode::Typing, line,
                          quoted_name(B.nest, v.name) + " holds " + a_type(v.type) + " and is assigned " + a_type(t) +
                              "; native code needs one type per variable"};
      if (v.typed) return;
    }
    if (t == kPyInt && !(iv.known && iv.lo >= -kExactInDouble && iv.hi <= kExactInDouble))
      ints_not_exact_in_double_.insert(v.name);
    if (t == kPyInt && !(iv.known && iv.lo == 0 && iv.hi == 0)) ints_not_zero_.insert(v.name);
    if (!v.typed) {
      v.type = t;
      v.typed = true;
      changed_ = true;
      return;
    }
    if (promotes_to_float(v, t)) {
      v.int_then_float = true;
      v.type = VT{Repr::F64, true, t.np};  // its int, as a float, counts as a Python float
      changed_ = true;
      return;
    }
    bool zero_input =
        v.input && !v.input_numpy && B.scalars.at(v.name).kind == ScalarKind::Int && B.scalars.at(v.name).ival == 0;
    if ((!v.input || zero_input) && !v.int_then_float && !v.int_then_complex && v.type == kPyInt && t.r == Repr::C128) {
      if (ints_not_zero_.count(v.name))
        throw Unsupported{DeclineCode::Typing, line,
                          quoted_name(B.nest, v.name) +
                              " holds an int and then a complex number; native code follows that only when the "
                              "int is the constant 0 (write 0j to make it a complex from the start)"};
      v.int_then_complex = true;
      v.type = VT{Repr::C128, true, t.np};  // its 0, as 0j, counts as a Python complex
      changed_ = true;
      return;
    }
    if (v.int_then_complex && t == kPyInt) {
      if (ints_not_zero_.count(v.name))
        throw Unsupported{DeclineCode::Typing, line,
                          quoted_name(B.nest, v.name) +
                              " holds an int and then a complex number; native code follows that only when the "
                              "int is the constant 0 (write 0j to make it a complex from the start)"};
      return;  // 0 again: its kind is tracked at run time
    }
    if (floats_then_int(v, t)) {
      v.int_then_float = true;
      v.type = VT{Repr::F64, true, v.type.np};  // its int, as a float, counts as a Python float
      changed_ = true;
      return;
    }
    if (v.int_then_float && t == kPyInt) {
      if (ints_not_exact_in_double_.count(v.name))
        throw Unsupported{DeclineCode::Typing, line,
                          quoted_name(B.nest, v.name) +
                              " is assigned an int that may be too large to be exact as a float" +
                              " (it is a float elsewhere in the loop)"};
      return;  // an int again (`s = 0` at the start of each row): its kind is tracked at run time
    }
    if (v.type.r != t.r)
      throw Unsupported{DeclineCode::Typing, line,
                        quoted_name(B.nest, v.name) + " holds " + a_type(v.type) + " and is assigned " + a_type(t) +
                            "; native code needs one type per variable"};
    VT u{t.r, v.type.py || t.py, v.type.np || t.np};
    if (u != v.type) {
      v.type = u;
      changed_ = true;
    }
  }

  // A Python int (from before the loop, or assigned in it) that the nest
  // assigns a float64 (Python float or np.float64): exact as a double while
  // |value| <= 2**53, where Python's int-to-float conversions and int-float
  // comparisons are exact.
  bool promotes_to_float(const VarInfo& v, const VT& t) const {
    if (v.input_numpy || v.int_then_float || v.type != kPyInt || t.r != Repr::F64) return false;
    if (ints_not_exact_in_double_.count(v.name)) return false;
    if (!v.input) return true;
    const ScalarBinding& b = B.scalars.at(v.name);
    return b.kind == ScalarKind::Int && b.ival >= -kExactInDouble && b.ival <= kExactInDouble;
  }

  // A float64 variable (a Python float or np.float64) that the nest also
  // assigns an int (`v = 0` to clip it): held as a double as an int then
  // float is, while every int it is assigned is exact as a double.
  bool floats_then_int(const VarInfo& v, const VT& t) const {
    if (t != kPyInt || v.int_then_float || v.input_numpy || v.type.r != Repr::F64 || v.type.small != Small::None)
      return false;
    return !ints_not_exact_in_double_.count(v.name);
  }

  // The hull of the ints a variable holds: its value before the loop and
  // every int assigned to it (unknown when one of them is).
  void note_int_assigned(const std::string& name, const Interval& iv) {
    auto [it, fresh] = int_values_.emplace(name, iv);
    if (!fresh) it->second = hull(it->second, iv);
  }
  Interval int_values(const VarInfo& v) const {
    std::optional<Interval> h;
    if (auto it = int_values_.find(v.name); it != int_values_.end()) h = it->second;
    if (v.input && B.scalars.at(v.name).kind == ScalarKind::Int) {
      Interval before = Interval::of(B.scalars.at(v.name).ival);
      h = h ? hull(*h, before) : before;
    }
    return h ? *h : Interval{};
  }

  // `m = 255` and `m = img[i, j]` (an np.uint8): see VarInfo::int_or_small.
  // Whether `v`, assigned a value of type `t`, is (now) such a variable.
  static bool plain_small(const VT& t) { return t.small != Small::None && !is_u64(t) && !is_f16(t); }
  bool joins_int_and_small(VarInfo& v, const VT& t) {
    if (v.input_numpy || is_hidden_name(v.name)) return false;
    Small small = Small::None;
    if (v.int_or_small)
      small = t == kPyInt ? v.small_kind : plain_small(t) ? t.small : Small::None;
    else if (v.type == kPyInt && !v.int_then_float && !v.int_then_complex && plain_small(t))
      small = t.small;
    else if (plain_small(v.type) && t == kPyInt)
      small = v.type.small;
    if (small == Small::None || (v.int_or_small && small != v.small_kind)) return false;
    if (!v.int_or_small) {
      v.int_or_small = true;
      v.small_kind = small;
      v.type = kPyInt;
      changed_ = true;
    }
    return true;
  }

  bool is_int_then_float(const Expr& e) const {
    if (e.kind != ExprKind::Name) return false;
    auto it = S.var_index.find(e.name);
    return it != S.var_index.end() && S.vars[it->second].int_then_float;
  }

  // Where an int-then-float variable is read, its value is a float in native
  // code and may still be Python's int: allowed only where both give the
  // same result, of the same type. `safe` says whether the context of `e`
  // is such a place: an operand of + - * / // % ** whose other operand is a
  // float64, a comparison, a condition, math functions, float() and int(),
  // a value stored into a float64 array.
  void check_int_then_float_reads(const Expr& e, bool safe) {
    if (is_int_then_float(e) && !safe)
      throw Unsupported{DeclineCode::Typing, e.line,
                        quoted_name(B.nest, e.name) +
                            " holds an int and then a float; native code follows it only where both give "
                            "the same result (in arithmetic with a float, comparisons, "
                            "conditions, math functions, float() and int()), and this use is not one"};
    auto float64 = [&](const Expr& x) {
      if (is_int_then_float(x)) return false;
      auto t = expr(x);
      return t && t->t.r == Repr::F64;
    };
    switch (e.kind) {
      case ExprKind::Binary:
        check_int_then_float_reads(*e.args[0], float64(*e.args[1]));
        check_int_then_float_reads(*e.args[1], float64(*e.args[0]));
        return;
      case ExprKind::Compare:
        for (auto& a : e.args) check_int_then_float_reads(*a, true);
        return;
      case ExprKind::Unary: check_int_then_float_reads(*e.args[0], e.un_op == UnOp::Not); return;
      case ExprKind::IfExp:
        check_int_then_float_reads(*e.args[0], true);
        check_int_then_float_reads(*e.args[1], false);
        check_int_then_float_reads(*e.args[2], false);
        return;
      case ExprKind::Call: {
        const std::string& f = e.name;
        bool same = math_fns().count(f) || f == "floor" || f == "ceil" || f == "trunc" || f == "float" || f == "int";
        for (auto& a : e.args) check_int_then_float_reads(*a, (same && e.args.size() == 1) || is_math2(f));
        return;
      }
      default:
        for (auto& a : e.args)
          if (a) check_int_then_float_reads(*a, false);
    }
  }
  void check_int_then_float_reads(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Assign:
      case StmtKind::AugAssign: {
        const Expr& t = *s.target;
        if (t.kind == ExprKind::Subscript) {
          for (auto& a : t.args) check_int_then_float_reads(*a, false);
          // Stored into (or combined with an element of) a float64 array,
          // or stored as it is into a small integer array that holds its ints.
          const DType dtype = S.arrays[S.array_index.at(t.name)].dtype;
          check_int_then_float_reads(*s.value, dtype == DType::Float64 || (s.kind == StmtKind::Assign &&
                                                                           stores_ints_exactly(*s.value, dtype)));
        } else if (s.kind == StmtKind::AugAssign) {
          // `acc += v` reads acc and v as the operands of its operator.
          auto v = expr(*s.value);
          const VarInfo& target = S.vars[S.var_index.at(t.name)];
          check_int_then_float_reads(t, !is_int_then_float(*s.value) && v && v->t.r == Repr::F64);
          check_int_then_float_reads(*s.value, !target.int_then_float && target.type.r == Repr::F64);
        } else {
          check_int_then_float_reads(*s.value, false);
        }
        return;
      }
      case StmtKind::If:
        check_int_then_float_reads(*s.cond, true);
        for (auto& b : s.body) check_int_then_float_reads(*b);
        for (auto& b : s.orelse) check_int_then_float_reads(*b);
        return;
      case StmtKind::Break:
      case StmtKind::Continue: return;
      case StmtKind::For:
        check_int_then_float_reads(*s.start, false);
        check_int_then_float_reads(*s.stop, false);
        if (s.step) check_int_then_float_reads(*s.step, false);
        for (auto& b : s.body) check_int_then_float_reads(*b);
        return;
    }
  }

  // An int then float variable stored as it is into a uint8 ... uint32
  // array: NumPy truncates its float, as native code does with the double,
  // and stores its int unchanged when every int it holds is in the array's
  // range (outside it, NumPy would warn and wrap an int, not a float).
  bool stores_ints_exactly(const Expr& value, DType dtype) const {
    if (!is_int_then_float(value) || !is_small_int(dtype) || dtype == DType::UInt64) return false;
    const Interval ints = int_values(S.vars[S.var_index.at(value.name)]);
    const auto [lo, hi] = small_range(small_of(dtype));
    return ints.known && ints.lo >= lo && ints.hi <= hi;
  }

  // ---- int or small integer ---------------------------------------------
  // A variable that holds a Python int or a small NumPy integer (VarInfo::
  // int_or_small) is typed as the int: a read is allowed only where both
  // kinds give the same result of the same type. Comparisons and conditions
  // (NumPy compares the values), a subscript (both index by value), and a
  // store of it as it is into an array whose type holds every value of the
  // small type (an np.uint8 into a uint8, int16 ... int64, float32 or float64
  // array: stored unchanged either way); not arithmetic (np.uint8 wraps),
  // nor another variable or a call, which would carry the kind on.
  bool is_int_or_small(const Expr& e) const {
    if (e.kind != ExprKind::Name) return false;
    auto it = S.var_index.find(e.name);
    return it != S.var_index.end() && S.vars[it->second].int_or_small;
  }
  bool holds_small_values(DType dtype, Small small) const {
    if (dtype == DType::Float64 || dtype == DType::Int64) return true;
    const auto [lo, hi] = small_range(small);
    if (dtype == DType::Float32) return lo >= -(1 << 24) && hi <= (1 << 24);
    if (dtype == DType::Int32) return lo >= INT32_MIN && hi <= INT32_MAX;
    if (!is_small_int(dtype) || dtype == DType::UInt64) return false;
    const auto [dlo, dhi] = small_range(small_of(dtype));
    return lo >= dlo && hi <= dhi;
  }
  void check_int_or_small_reads(const Expr& e, bool safe) {
    if (is_int_or_small(e) && !safe) {
      const VarInfo& v = S.vars[S.var_index.at(e.name)];
      throw Unsupported{DeclineCode::Typing, e.line,
                        quoted_name(B.nest, e.name) + " holds an int and then an " + small_name(v.small_kind) +
                            "; native code follows it only where both give the same result (comparisons, "
                            "conditions, subscripts, stored as it is into an array that holds every " +
                            small_name(v.small_kind) + "), and this use is not one"};
    }
    switch (e.kind) {
      case ExprKind::Compare:
        for (auto& a : e.args) check_int_or_small_reads(*a, true);
        return;
      case ExprKind::Subscript:
        for (auto& a : e.args) check_int_or_small_reads(*a, true);
        return;
      case ExprKind::Unary: check_int_or_small_reads(*e.args[0], e.un_op == UnOp::Not); return;
      default:
        for (auto& a : e.args)
          if (a) check_int_or_small_reads(*a, false);
    }
  }
  void check_int_or_small_reads(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Assign:
      case StmtKind::AugAssign: {
        const Expr& t = *s.target;
        if (t.kind == ExprKind::Subscript) {
          for (auto& a : t.args) check_int_or_small_reads(*a, true);
          bool whole = s.kind == StmtKind::Assign && is_int_or_small(*s.value) &&
                       holds_small_values(S.arrays[S.array_index.at(t.name)].dtype,
                                          S.vars[S.var_index.at(s.value->name)].small_kind);
          check_int_or_small_reads(*s.value, whole);
        } else {
          check_int_or_small_reads(t, s.kind == StmtKind::Assign);  // the target of `=` is not read
          check_int_or_small_reads(*s.value, false);
        }
        return;
      }
      case StmtKind::If:
        check_int_or_small_reads(*s.cond, true);
        for (auto& b : s.body) check_int_or_small_reads(*b);
        for (auto& b : s.orelse) check_int_or_small_reads(*b);
        return;
      case StmtKind::Break:
      case StmtKind::Continue: return;
      case StmtKind::For:
        check_int_or_small_reads(*s.start, false);
        check_int_or_small_reads(*s.stop, false);
        if (s.step) check_int_or_small_reads(*s.step, false);
        for (auto& b : s.body) check_int_or_small_reads(*b);
        return;
    }
  }

  // ---- int then complex ------------------------------------------------
  // A variable that holds the int 0 and then complex numbers is held as 0j
  // from the start. Where it may still be Python's int 0, a read is allowed
  // only where 0 and 0j give the same result of the same type: an operand of
  // + - * whose other operand is a complex (Python converts the 0 to 0j
  // first), a product, sum or difference of such variables in that place
  // (0 * 0 is 0, 0j * 0j is 0j), == and != (0 == w is 0j == w), abs() of it
  // compared (abs(0) <= 2 is abs(0j) <= 2), a condition.
  enum class Itc { Unsafe, Safe, Compared };
  bool is_int_then_complex(const Expr& e) const {
    if (e.kind == ExprKind::Name) {
      auto it = S.var_index.find(e.name);
      return it != S.var_index.end() && S.vars[it->second].int_then_complex;
    }
    if (e.kind == ExprKind::Binary && (e.bin_op == BinOp::Add || e.bin_op == BinOp::Sub || e.bin_op == BinOp::Mul))
      return is_int_then_complex(*e.args[0]) && is_int_then_complex(*e.args[1]);
    return false;
  }
  bool definitely_complex(const Expr& e) {
    if (is_int_then_complex(e)) return false;
    auto t = expr(e);
    return t && is_complex(t->t.r);
  }
  void check_int_then_complex_reads(const Expr& e, Itc ctx) {
    if (is_int_then_complex(e)) {
      if (ctx == Itc::Unsafe) {
        const Expr* name = &e;
        while (name->kind != ExprKind::Name) name = name->args[0].get();
        throw Unsupported{DeclineCode::Typing, e.line,
                          quoted_name(B.nest, name->name) +
                              " holds an int and then a complex number; native code follows it only where both "
                              "give the same result (in arithmetic with a complex number, == and !=, abs() "
                              "compared, conditions), and this use is not one"};
      }
      return;
    }
    switch (e.kind) {
      case ExprKind::Binary: {
        bool arith = e.bin_op == BinOp::Add || e.bin_op == BinOp::Sub || e.bin_op == BinOp::Mul;
        check_int_then_complex_reads(*e.args[0], arith && definitely_complex(*e.args[1]) ? Itc::Safe : Itc::Unsafe);
        check_int_then_complex_reads(*e.args[1], arith && definitely_complex(*e.args[0]) ? Itc::Safe : Itc::Unsafe);
        return;
      }
      case ExprKind::Compare:
        for (auto& a : e.args) check_int_then_complex_reads(*a, Itc::Compared);
        return;
      case ExprKind::Unary:
        check_int_then_complex_reads(*e.args[0], e.un_op == UnOp::Not ? Itc::Safe : Itc::Unsafe);
        return;
      case ExprKind::IfExp:
        check_int_then_complex_reads(*e.args[0], Itc::Safe);
        check_int_then_complex_reads(*e.args[1], Itc::Unsafe);
        check_int_then_complex_reads(*e.args[2], Itc::Unsafe);
        return;
      case ExprKind::Call:
        for (auto& a : e.args)
          check_int_then_complex_reads(*a, e.name == "abs" && ctx == Itc::Compared ? Itc::Safe : Itc::Unsafe);
        return;
      default:
        for (auto& a : e.args)
          if (a) check_int_then_complex_reads(*a, Itc::Unsafe);
    }
  }
  void check_int_then_complex_reads(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Assign:
      case StmtKind::AugAssign: {
        const Expr& t = *s.target;
        if (t.kind == ExprKind::Subscript) {
          for (auto& a : t.args) check_int_then_complex_reads(*a, Itc::Unsafe);
          check_int_then_complex_reads(*s.value, Itc::Unsafe);
        } else if (s.kind == StmtKind::AugAssign) {
          bool arith = s.aug_op == BinOp::Add || s.aug_op == BinOp::Sub || s.aug_op == BinOp::Mul;
          check_int_then_complex_reads(t, arith && definitely_complex(*s.value) ? Itc::Safe : Itc::Unsafe);
          check_int_then_complex_reads(*s.value, arith && definitely_complex(t) ? Itc::Safe : Itc::Unsafe);
        } else {
          check_int_then_complex_reads(*s.value, Itc::Unsafe);
        }
        return;
      }
      case StmtKind::If:
        check_int_then_complex_reads(*s.cond, Itc::Safe);
        for (auto& b : s.body) check_int_then_complex_reads(*b);
        for (auto& b : s.orelse) check_int_then_complex_reads(*b);
        return;
      case StmtKind::Break:
      case StmtKind::Continue: return;
      case StmtKind::For:
        check_int_then_complex_reads(*s.start, Itc::Unsafe);
        check_int_then_complex_reads(*s.stop, Itc::Unsafe);
        if (s.step) check_int_then_complex_reads(*s.step, Itc::Unsafe);
        for (auto& b : s.body) check_int_then_complex_reads(*b);
        return;
    }
  }

  void mark_ovf(const Expr* e, bool need) {
    if (!record_) return;
    if (need) S.overflow_checks.insert(e);
    decisions_ << (need ? 'o' : '-');
  }

  static bool int_like(const VT& t) { return is_int(t.r) || (t.r == Repr::Bool && !t.np); }

  // Where an integer result may leave its range, native code checks: a
  // Python int stops the run (Python's int would grow), a NumPy integer wraps
  // as NumPy does but NumPy prints a RuntimeWarning, so the run stops too.
  static bool may_overflow(const VT& t, const Interval& iv) {
    if (t.r == Repr::I64 && t.py) return !iv.fits64();
    if (is_int(t.r) && t.np) return !fits(iv, t.r);
    return false;
  }

  std::optional<TypedInterval> expr(const Expr& e) {
    switch (e.kind) {
      case ExprKind::IntConst: return TypedInterval{kPyInt, Interval::of(e.ival)};
      case ExprKind::FloatConst: return TypedInterval{kPyFloat, {}};
      case ExprKind::BoolConst: return TypedInterval{kPyBool, Interval::of(e.ival ? 1 : 0)};
      case ExprKind::Name: {
        auto li = loop_iv_.find(e.name);
        if (li != loop_iv_.end()) return TypedInterval{kPyInt, li->second};
        VarInfo& v = S.vars[S.var_index.at(e.name)];
        if (!v.typed) return std::nullopt;
        Interval iv;
        if (v.input && !v.assigned && v.type.r != Repr::F64 && !is_complex(v.type.r) && !is_u64(v.type)) {
          iv = Interval::of(B.scalars.at(e.name).ival);
        }
        return TypedInterval{v.type, iv};
      }
      case ExprKind::Subscript: return subscript(e);
      case ExprKind::Binary: {
        auto a = expr(*e.args[0]);
        auto b = expr(*e.args[1]);
        if (!a || !b) return std::nullopt;
        return binary(e, e.bin_op, *a, *b);
      }
      case ExprKind::Unary: {
        auto a = expr(*e.args[0]);
        if (!a) return std::nullopt;
        if (e.un_op == UnOp::Not) return TypedInterval{kPyBool, {}};
        if (e.un_op == UnOp::Invert) return invert(e, *a);
        if (is_u64(a->t)) {
          // -x wraps modulo 2**64 with NumPy's overflow warning for x != 0
          if (e.un_op == UnOp::Neg) mark_ovf(&e, true);
          return TypedInterval{a->t, {}};
        }
        if (is_f16(a->t)) return TypedInterval{a->t, {}};  // its sign flipped (exact)
        if (a->t.small != Small::None)
          throw Unsupported{DeclineCode::Typing, e.line,
                            std::string("unary ") + to_string(e.un_op) + " of an " + describe(a->t) +
                                " wraps at its range in NumPy, which native code does not model; convert the "
                                "element with int() first"};
        if (a->t.r == Repr::Bool && a->t.np)
          throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                            "unary minus or plus on a NumPy boolean is not supported"};
        VT t = a->t.r == Repr::Bool ? kPyInt : a->t;
        if (e.un_op == UnOp::Pos) return TypedInterval{t, a->iv};
        Interval iv = neg(a->iv);
        mark_ovf(&e, may_overflow(t, iv));
        return TypedInterval{t, iv};
      }
      case ExprKind::Compare: {
        std::optional<VT> res;
        for (size_t i = 0; i + 1 < e.args.size(); ++i) {
          auto a = expr(*e.args[i]);
          auto b = expr(*e.args[i + 1]);
          if (!a || !b) return std::nullopt;
          if ((is_complex(a->t.r) || is_complex(b->t.r)) && e.cmp_ops[i] != CmpOp::Eq && e.cmp_ops[i] != CmpOp::Ne)
            throw Unsupported{DeclineCode::Exactness, e.line,
                              std::string("'") + to_string(e.cmp_ops[i]) +
                                  "' with a complex number raises TypeError in Python (complex numbers have no "
                                  "order); compare abs(z), z.real or z.imag"};
          compare_domain(a->t, b->t, e.line);
          VT r = compare_result(a->t, b->t);
          res = res ? VT{Repr::Bool, res->py || r.py, res->np || r.np} : r;
        }
        return TypedInterval{*res, {}};
      }
      case ExprKind::Logical: {
        std::optional<VT> res;
        for (auto& a : e.args) {
          auto t = expr(*a);
          if (!t) return std::nullopt;
          reject_small(t->t, std::string("'") + to_string(e.bool_op) + "'", e.line);
          if (res && res->r != t->t.r)
            throw Unsupported{DeclineCode::Typing, e.line,
                              std::string("the operands of '") + to_string(e.bool_op) +
                                  "' have different types, so its value's type depends on the data"};
          res = res ? VT{res->r, res->py || t->t.py, res->np || t->t.np} : t->t;
        }
        return TypedInterval{*res, {}};
      }
      case ExprKind::IfExp: {
        auto c = expr(*e.args[0]);
        auto a = expr(*e.args[1]);
        auto b = expr(*e.args[2]);
        if (!c || !a || !b) return std::nullopt;
        reject_small(a->t, "a conditional expression", e.line);
        reject_small(b->t, "a conditional expression", e.line);
        if (a->t.r != b->t.r)
          throw Unsupported{DeclineCode::Typing, e.line,
                            "the two branches of a conditional expression have different types (" + describe(a->t) +
                                ", " + describe(b->t) + ")"};
        Interval iv = hull(a->iv, b->iv);
        return TypedInterval{VT{a->t.r, a->t.py || b->t.py, a->t.np || b->t.np}, iv};
      }
      case ExprKind::Call: return call(e);
    }
    return std::nullopt;
  }

  // ~x: -x - 1 on integers (in the small type for np.uint8 ...), `not` on
  // np.bool_; ~True is the int -2; a float raises TypeError.
  TypedInterval invert(const Expr& e, const TypedInterval& a) {
    if (is_float(a.t.r) || is_complex(a.t.r))
      throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                        "'~' of a float or complex number raises TypeError in Python (it takes integers)"};
    if (a.t.r == Repr::Bool) {
      if (a.t.np && a.t.py)
        throw Unsupported{DeclineCode::Typing, e.line,
                          "'~' of a value that is either a bool or an np.bool_: an int for the bool, the logical "
                          "not for the np.bool_"};
      if (a.t.np) return TypedInterval{a.t, {}};
      return TypedInterval{kPyInt, {true, -2, -1}};
    }
    if (is_u64(a.t)) return TypedInterval{a.t, {}};
    Interval iv;
    if (a.iv.known) {
      iv = analysis::invert(a.iv);
      if (a.t.small == Small::U8 || a.t.small == Small::U16 || a.t.small == Small::U32) {
        i128 max = small_range(a.t.small).second;
        iv = {true, max - a.iv.hi, max - a.iv.lo};
      }
    } else if (a.t.small != Small::None) {
      auto [lo, hi] = small_range(a.t.small);
      iv = {true, lo, hi};
    }
    return TypedInterval{a.t, iv};
  }

  std::optional<TypedInterval> binary(const Expr& e, BinOp op, const TypedInterval& a, const TypedInterval& b) {
    VT t = binary_type(op, a.t, b.t, e.line);
    if (is_bitwise(op)) {
      Interval iv;
      if (is_int(t.r) && a.iv.known && b.iv.known) {
        if (op == BinOp::BitAnd && a.iv.lo >= 0 && b.iv.lo >= 0) iv = {true, 0, std::min(a.iv.hi, b.iv.hi)};
        if (op == BinOp::RShift && b.iv.lo >= 0) {
          auto sh = [](i128 x, i128 s) { return x >> static_cast<int>(std::min<i128>(s, 63)); };
          i128 c[4] = {sh(a.iv.lo, b.iv.lo), sh(a.iv.lo, b.iv.hi), sh(a.iv.hi, b.iv.lo), sh(a.iv.hi, b.iv.hi)};
          iv = {true, *std::min_element(c, c + 4), *std::max_element(c, c + 4)};
        }
      }
      if (is_u64(t)) return TypedInterval{t, {}};
      if (t.small != Small::None) {
        auto [lo, hi] = small_range(t.small);
        if (!iv.known || iv.lo < lo || iv.hi > hi) iv = {true, lo, hi};
      }
      return TypedInterval{t, iv.fits64() ? iv : Interval{}};
    }
    if (is_complex(t.r)) {
      if (op == BinOp::Pow) {
        // CPython's complex ** int of at most 100: repeated squaring (c_powu),
        // which native code repeats product by product. NumPy's complex
        // power is its own algorithm.
        const Expr* ex = e.kind == ExprKind::Binary ? e.args[1].get() : nullptr;
        if (a.t != kPyComplex || !ex || ex->kind != ExprKind::IntConst || ex->ival < 0 || ex->ival > 100)
          throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                            "'**' with a complex number runs natively only as a Python complex raised to a "
                            "constant integer power between 0 and 100 (" +
                                describe(a.t) + " ** " + describe(b.t) + " here)"};
      }
      return TypedInterval{t, {}};
    }
    if (op == BinOp::Pow && is_float(t.r))
      if (auto types = power_via_numpy_ufunc(a.t, b.t))
        throw Unsupported{DeclineCode::Exactness, e.line,
                          *types +
                              " is computed by NumPy's vectorised np.power loop, whose last bit can "
                              "differ from the C library's pow() that native code calls; convert "
                              "the operands with float() to run natively"};
    if (is_u64(t)) return TypedInterval{t, {}};  // (Codegen::binary checks its wrapping)
    Interval iv;
    if (is_int(t.r)) {
      switch (op) {
        case BinOp::Add: iv = add(a.iv, b.iv); break;
        case BinOp::Sub: iv = sub(a.iv, b.iv); break;
        case BinOp::Mul: iv = mul(a.iv, b.iv); break;
        case BinOp::FloorDiv: iv = floor_div(a.iv, b.iv); break;
        case BinOp::Mod: iv = mod(a.iv, b.iv); break;
        case BinOp::Pow: {
          const Expr& ex = *e.args[1];
          bool const_exp = ex.kind == ExprKind::IntConst && ex.ival >= 0 && ex.ival <= 64;
          if (!const_exp)
            throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                              "an integer power needs a constant exponent between 0 and 64 in native code"};
          iv = Interval::of(1);
          for (int64_t k = 0; k < ex.ival; ++k) iv = mul(iv, a.iv);
          break;
        }
        default: break;
      }
      // (NumPy's integer ** wraps without a warning)
      bool numpy_pow = op == BinOp::Pow && !t.py;
      mark_ovf(&e, (op == BinOp::Add || op == BinOp::Sub || op == BinOp::Mul || op == BinOp::Pow) && !numpy_pow &&
                       may_overflow(t, iv));
      if (!iv.fits64()) iv = {};
      // Two small integers: the result wraps to their common type.
      if (t.small != Small::None) {
        auto [lo, hi] = small_range(t.small);
        if (!iv.known || iv.lo < lo || iv.hi > hi) iv = {true, lo, hi};
      }
    }
    return TypedInterval{t, iv};
  }

  // ---- affine subscripts over triangular loops ----------------------------
  // An integer expression as c + sum(coef[v] * v) over the enclosing loop
  // variables, the other names being scalars the instance fixes.
  struct Affine {
    i128 c = 0;
    std::map<std::string, i128> coef;
  };
  // Terms within 2**62: products of two stay far from i128's limits.
  static bool small(const Affine& a) {
    constexpr i128 kLimit = i128(1) << 62;
    if (a.c > kLimit || a.c < -kLimit) return false;
    for (auto& [v, k] : a.coef)
      if (k > kLimit || k < -kLimit) return false;
    return true;
  }
  std::optional<Affine> affine(const Expr& e) {
    switch (e.kind) {
      case ExprKind::IntConst: return Affine{e.ival, {}};
      case ExprKind::Name: {
        if (loop_iv_.count(e.name)) return Affine{0, {{e.name, 1}}};
        auto it = S.var_index.find(e.name);
        if (it == S.var_index.end()) return std::nullopt;
        const VarInfo& v = S.vars[it->second];
        if (!v.input || v.assigned || v.type.r != Repr::I64 || is_u64(v.type)) return std::nullopt;
        return Affine{B.scalars.at(e.name).ival, {}};
      }
      case ExprKind::Unary: {
        if (e.un_op != UnOp::Neg && e.un_op != UnOp::Pos) return std::nullopt;
        auto a = affine(*e.args[0]);
        if (!a || e.un_op == UnOp::Pos) return a;
        a->c = -a->c;
        for (auto& [v, k] : a->coef) k = -k;
        return a;
      }
      case ExprKind::Binary: {
        if (e.bin_op != BinOp::Add && e.bin_op != BinOp::Sub && e.bin_op != BinOp::Mul) return std::nullopt;
        auto a = affine(*e.args[0]);
        auto b = affine(*e.args[1]);
        if (!a || !b) return std::nullopt;
        if (e.bin_op == BinOp::Mul) {
          if (!a->coef.empty() && !b->coef.empty()) return std::nullopt;
          if (!a->coef.empty()) std::swap(a, b);  // a is the constant
          for (auto& [v, k] : b->coef) k *= a->c;
          b->c *= a->c;
          if (!small(*b)) return std::nullopt;
          return b;
        }
        const i128 sign = e.bin_op == BinOp::Add ? 1 : -1;
        a->c += sign * b->c;
        for (auto& [v, k] : b->coef) a->coef[v] += sign * k;
        if (!small(*a)) return std::nullopt;
        return a;
      }
      default: return std::nullopt;
    }
  }

  // The least (upper = false) or greatest value of the integer expression
  // over the iterations of the enclosing loops, from their bounds: each loop
  // variable, innermost first, is replaced by the bound of its range() that
  // minimises (maximises) the expression, an affine expression of the outer
  // variables (`for i in range(k)`: 0 <= i <= k - 1), so that `k - i - 1` in
  // that loop is at least 0, which intervals alone do not see. nullopt when
  // the expression or a bound it needs is not affine.
  std::optional<i128> affine_bound(const Expr& e, bool upper) {
    auto a = affine(e);
    if (!a || !small(*a)) return std::nullopt;
    for (auto it = enclosing_.rbegin(); it != enclosing_.rend(); ++it) {
      const Stmt* loop = it->first;
      const int64_t step = it->second;
      auto c = a->coef.find(loop->var);
      if (c == a->coef.end() || c->second == 0) continue;
      if (step == 0) return std::nullopt;  // its step is known only when it starts
      const i128 k = c->second;
      a->coef.erase(c);
      // the variable's range while the body runs: [start, stop - 1] going up, [stop + 1, start] going down
      bool take_start = (step > 0) == ((k > 0) != upper);
      auto b = affine(take_start ? *loop->start : *loop->stop);
      if (!b) return std::nullopt;
      if (!take_start) b->c += step > 0 ? -1 : 1;
      if (!small(*b)) return std::nullopt;
      a->c += k * b->c;
      for (auto& [v, kb] : b->coef) a->coef[v] += k * kb;
      if (!small(*a)) return std::nullopt;
    }
    for (auto& [v, k] : a->coef)
      if (k != 0) return std::nullopt;  // a variable of no enclosing loop with a fixed step
    return a->c;
  }

  // `stored`: the element is only assigned (`x[i] = v`), not read.
  std::optional<TypedInterval> subscript(const Expr& e, bool stored = false) {
    const ArrayInfo& a = S.arrays[S.array_index.at(e.name)];
    const ArrayBinding& ab = B.arrays.at(e.name);
    if (static_cast<int>(e.args.size()) != a.ndim)
      throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                        "'" + e.name + "' has " + std::to_string(a.ndim) + " dimensions but is indexed with " +
                            std::to_string(e.args.size()) + " subscripts"};
    std::vector<IndexMode> modes;
    bool unknown = false;
    for (size_t d = 0; d < e.args.size(); ++d) {
      auto ix = expr(*e.args[d]);
      if (!ix) {
        unknown = true;
        continue;
      }
      if (!is_int(ix->t.r))
        throw Unsupported{DeclineCode::Typing, e.line,
                          "a subscript of '" + e.name + "' is a " + describe(ix->t) + ", not an integer"};
      if (is_u64(ix->t))
        throw Unsupported{DeclineCode::Typing, e.line,
                          "a subscript of '" + e.name +
                              "' is an np.uint64, which native code does not use as an index; convert it with "
                              "int() first"};
      i128 n = ab.shape[d];
      IndexMode m = IndexMode::CheckedWrap;
      if (ix->iv.known && !(ix->iv.lo >= 0 && ix->iv.hi < n)) {
        // a triangular loop's subscript (`r[k - i - 1]` for i < k) may be
        // in range where the intervals of its variables do not show it
        auto lo = affine_bound(*e.args[d], false), hi = affine_bound(*e.args[d], true);
        if (lo && *lo > ix->iv.lo) ix->iv.lo = *lo;
        if (hi && *hi < ix->iv.hi) ix->iv.hi = *hi;
      }
      if (ix->iv.known) {
        if (ix->iv.lo > ix->iv.hi || (ix->iv.lo >= 0 && ix->iv.hi < n))
          m = IndexMode::Direct;
        else if (ix->iv.lo >= -n && ix->iv.hi < 0)
          m = IndexMode::AddExtent;
        else if (ix->iv.lo >= -n && ix->iv.hi < n)
          m = IndexMode::Wrap;
      }
      modes.push_back(m);
    }
    if (unknown) return std::nullopt;
    if (record_) {
      S.index_modes[&e] = modes;
      for (auto m : modes) decisions_ << static_cast<int>(m);
      decisions_ << ',';
    }
    Repr r = Repr::F64;
    switch (a.dtype) {
      case DType::Float64: r = Repr::F64; break;
      case DType::Float32: r = Repr::F32; break;
      case DType::Int64: r = Repr::I64; break;
      case DType::Int32: r = Repr::I32; break;
      case DType::Bool: r = Repr::Bool; break;
      case DType::UInt8: return TypedInterval{VT{Repr::I64, false, true, Small::U8}, {true, 0, UINT8_MAX}};
      case DType::Int8: return TypedInterval{VT{Repr::I64, false, true, Small::I8}, {true, INT8_MIN, INT8_MAX}};
      case DType::UInt16: return TypedInterval{VT{Repr::I64, false, true, Small::U16}, {true, 0, UINT16_MAX}};
      case DType::Int16: return TypedInterval{VT{Repr::I64, false, true, Small::I16}, {true, INT16_MIN, INT16_MAX}};
      case DType::UInt32: return TypedInterval{VT{Repr::I64, false, true, Small::U32}, {true, 0, UINT32_MAX}};
      case DType::Complex128: return TypedInterval{VT{Repr::C128, false, true}, {}};
      case DType::Complex64: return TypedInterval{VT{Repr::C64, false, true}, {}};
      case DType::Float16: return TypedInterval{VT{Repr::F32, false, true, Small::F16}, {}};
      case DType::UInt64:
        // its 64 bits in an int64, without an interval (Small::U64)
        if (stored) return TypedInterval{VT{Repr::I64, false, true}, {}};
        return TypedInterval{VT{Repr::I64, false, true, Small::U64}, {}};
    }
    Interval iv;
    if (r == Repr::I32) iv = {true, INT32_MIN, INT32_MAX};
    if (r == Repr::Bool) iv = {true, 0, 1};
    // An item of a Python list or tuple is a Python float, int or bool.
    if (a.python_elements) return TypedInterval{VT{r, true, false}, iv};
    return TypedInterval{VT{r, false, true}, iv};
  }

  // np.exp(x), np.arctan2(y, x), ...: the float type of NumPy's own inner
  // loop that the call runs (CpuOptions::ufunc_loops), when the caller
  // supplied it. Float64 arguments (Python floats or np.float64), or
  // np.float32 ones only (a Python float next to an np.float32 follows
  // NumPy 1.x's value-based rules, left to Python).
  std::optional<Repr> ufunc_loop(const std::string& f, const std::vector<TypedInterval>& args) const {
    if (f.rfind("np.", 0) != 0 || args.empty() || args.size() > 2) return std::nullopt;
    Repr r = args[0].t.r;
    for (auto& a : args)
      if (a.t.r != r || !is_float(r) || (r == Repr::F32 && a.t.py)) return std::nullopt;
    if (!S.options.ufunc_loop(f + (r == Repr::F64 ? ":d" : ":f"), args.size())) return std::nullopt;
    return r;
  }

  // round(x, ndigits) keeps x's type: a Python float rounds in decimal
  // (float.__round__), NumPy's floats and integers by np.round's arithmetic
  // (times 10**ndigits, rint, divided back), a Python int exactly; ndigits
  // must be an integer (a float raises TypeError).
  TypedInterval round_digits(const Expr& e, const TypedInterval& x, const TypedInterval& nd) {
    const VT& t = x.t;
    const VT& n = nd.t;
    if (is_float(n.r) || is_complex(n.r))
      throw Unsupported{DeclineCode::Typing, e.line,
                        "round(x, ndigits) with a float number of digits raises TypeError in Python ('float' "
                        "object cannot be interpreted as an integer): give round() an int"};
    if (!(is_int(n.r) || (n.r == Repr::Bool && !n.np)) || is_u64(n))
      throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                        "round(x, ndigits) runs natively with a Python int or a signed NumPy integer as ndigits"};
    if (t.r == Repr::Bool && t.np)
      throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                        "round() of a NumPy boolean raises TypeError in Python (np.bool_ has no __round__)"};
    if (is_complex(t.r))
      throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                        "round() of a complex number raises TypeError in Python"};
    if (t.mixed() && t.r != Repr::F64)  // (a float or an np.float64: each is rounded its own way)
      throw Unsupported{DeclineCode::Exactness, e.line,
                        "round(x, ndigits) of a value that is either a Python int or an np.int64 is not supported "
                        "in native code (Python rounds the int exactly, NumPy through float64); convert it with "
                        "int() first"};
    if (t.small != Small::None)
      throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                        "round(x, ndigits) of an " + std::string(small_name(t.small)) +
                            (is_f16(t) ? " is not supported in native code (NumPy rounds it in float16); convert it "
                                         "with float() first"
                                       : " is not supported in native code (NumPy rounds it through float64 and casts "
                                         "back); convert it with int() or float() first")};
    if (is_float(t.r) || (is_int(t.r) && t.np)) return TypedInterval{t, {}};
    return TypedInterval{kPyInt, {}};  // a Python int or bool: an int
  }

  std::optional<TypedInterval> call(const Expr& e) {
    std::vector<TypedInterval> args;
    for (auto& a : e.args) {
      auto t = expr(*a);
      if (!t) return std::nullopt;
      args.push_back(*t);
    }
    const std::string& f = e.name;
    if (auto t = complex_call(e, args)) return t;
    // int(), float() and the math functions convert an np.uint8 ... by value;
    // the others keep or depend on the small type (min(np.uint8(3), 5) is
    // np.uint8(3), abs(np.int8(-128)) wraps).
    if (f != "int" && f != "float" && f != "round" && f != "floor" && f != "ceil" && !math_fns().count(f) &&
        !is_math2(f) && f != "np.uint64")
      for (auto& a : args) reject_small(a.t, f + "()", e.line);
    // an np.uint64: int() and round() (a Python int; one of 2**63 or more
    // stops the run, Python's big ints are not modelled), float(), math's
    // functions and math.floor()/ceil() (through float), np.uint64() only
    if (f != "int" && f != "round" && f != "float" && f != "floor" && f != "ceil" && !math_fns().count(f) &&
        !is_math2(f) && f != "np.uint64")
      for (auto& a : args)
        if (is_u64(a.t))
          throw Unsupported{DeclineCode::Typing, e.line,
                            f + "() of an np.uint64 is not supported in native code; convert the element with "
                                "float() or int() first"};
    if (f == "np.uint64") {
      // np.uint64(x) of an np.uint64, an np.uint8 ... np.uint32, or an int
      // known to be between 0 and 2**63 - 1 (its value; NumPy 1.24 converts
      // a negative one with a warning and rejects a float's fraction)
      if (args.size() != 1 ||
          !(is_u64(args[0].t) || (args[0].t.small != Small::None && small_range(args[0].t.small).first == 0) ||
            (args[0].t.r == Repr::I64 && args[0].t.small == Small::None && args[0].iv.known && args[0].iv.lo >= 0)))
        throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                          "np.uint64() runs natively only of an unsigned NumPy integer or of an int known to be "
                          "non-negative (a constant such as np.uint64(13))"};
      return TypedInterval{VT{Repr::I64, false, true, Small::U64}, {}};
    }
    auto numeric = [&](const TypedInterval& a) {
      if (a.t.r == Repr::Bool && a.t.np)
        throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                          f + "() of a NumPy boolean is not supported in native code"};
    };
    auto nargs = [&](size_t n) {
      if (args.size() != n)
        throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                          f + "() takes " + std::to_string(n) + " argument(s) here"};
    };
    if (math_fns().count(f)) {
      nargs(1);
      numeric(args[0]);
      return TypedInterval{kPyFloat, {}};
    }
    if (is_math2(f)) {
      if (f == "hypot" && args.size() != 2)
        throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                          "math.hypot() runs natively with two coordinates, not " + std::to_string(args.size())};
      nargs(2);
      numeric(args[0]);
      numeric(args[1]);
      return TypedInterval{kPyFloat, {}};
    }
    if (is_float_class_test(f)) {
      // math.isnan(x) ... (a bool) and np.isnan(x) ... (an np.bool_) of a
      // number: an int is finite (and holds an int64 here, which converts
      // to a float without OverflowError).
      nargs(1);
      numeric(args[0]);
      return TypedInterval{f[0] == 'n' ? VT{Repr::Bool, false, true} : kPyBool, {true, 0, 1}};
    }
    if (f == "floor" || f == "ceil" || f == "trunc") {
      nargs(1);
      numeric(args[0]);
      const VT& t = args[0].t;
      // math.trunc() needs __trunc__: Python's int, bool and float (with
      // np.float64, a float subclass) have it, NumPy 1.24's other scalars
      // do not. math.floor()/ceil() of a NumPy integer go through float
      // (no __floor__): exact below 2**53 only, which the code generator
      // keeps; a value that may be either kind of integer is not modelled.
      if (f == "trunc" && t.np && t.r != Repr::F64)
        throw Unsupported{DeclineCode::Exactness, e.line,
                          "math.trunc() of a " + describe(VT{t.r, false, true}) +
                              " raises TypeError in Python (NumPy's scalar has no __trunc__)"};
      if (t.mixed() && is_int(t.r))
        throw Unsupported{DeclineCode::Exactness, e.line,
                          "math." + f +
                              "() of a value that is either an int or an np.int64: Python "
                              "is exact for the int and rounds the np.int64 through float"};
      return TypedInterval{kPyInt, {}};
    }
    if (f == "float") {
      nargs(1);
      return TypedInterval{kPyFloat, {}};
    }
    if (f == "int" || (f == "round" && args.size() == 1 && is_u64(args[0].t))) {
      nargs(1);
      if (is_u64(args[0].t)) {
        mark_ovf(&e, true);  // 2**63 or more
        return TypedInterval{kPyInt, {}};
      }
      if (is_int(args[0].t.r) || args[0].t.r == Repr::Bool) return TypedInterval{kPyInt, args[0].iv};
      return TypedInterval{kPyInt, {}};
    }
    if (f == "round" && args.size() == 2) return round_digits(e, args[0], args[1]);
    if (f == "round") {
      // round(x): an int, half to even (float.__round__; NumPy's floats
      // and integers give Python's int too).
      nargs(1);
      numeric(args[0]);
      if (is_int(args[0].t.r) || args[0].t.r == Repr::Bool) return TypedInterval{kPyInt, args[0].iv};
      return TypedInterval{kPyInt, {}};
    }
    if (f == "abs") {
      nargs(1);
      numeric(args[0]);
      VT t = args[0].t.r == Repr::Bool ? kPyInt : args[0].t;
      Interval iv = abs(args[0].iv);
      mark_ovf(&e, may_overflow(t, iv));
      return TypedInterval{t, iv.fits64() ? iv : Interval{}};
    }
    if (f == "min" || f == "max") {
      VT t = args[0].t;
      Interval iv = args[0].iv;
      for (auto& a : args) {
        if (a.t.r != t.r)
          throw Unsupported{
              DeclineCode::Typing, e.line,
              f + "() of " + a_type(t) + " and " + a_type(a.t) + " returns either type depending on the values"};
        t = VT{t.r, t.py || a.t.py, t.np || a.t.np};
        iv = hull(iv, a.iv);  // (looser than min's and max's own bounds, which would change the checks)
      }
      return TypedInterval{t, iv};
    }
    auto not_bool = [&](const TypedInterval& a) {
      if (a.t.r == Repr::Bool)
        throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                          f + "() of booleans returns a NumPy type (np.float16 or np.bool_) that native code "
                              "does not model"};
    };
    if (f == "np.sqrt") {
      nargs(1);
      not_bool(args[0]);
      return TypedInterval{VT{args[0].t.r == Repr::F32 ? Repr::F32 : Repr::F64, false, true}, {}};
    }
    if (f == "np.abs" || f == "np.fabs") {
      nargs(1);
      not_bool(args[0]);
      Repr r = args[0].t.r == Repr::Bool ? Repr::I64 : args[0].t.r;
      if (f == "np.fabs" && is_int(r)) r = Repr::F64;
      return TypedInterval{VT{r, false, true}, {}};
    }
    if (f == "np.clip") {
      nargs(3);
      return TypedInterval{clip_type(args[0].t, args[1].t, args[2].t, e.line), {}};
    }
    if (f == "np.minimum" || f == "np.maximum") {
      nargs(2);
      numeric(args[0]);
      numeric(args[1]);
      if (args[0].t.r == Repr::Bool && args[1].t.r == Repr::Bool) not_bool(args[0]);
      VT t = binary_type(BinOp::Add, args[0].t, args[1].t, e.line);
      return TypedInterval{VT{t.r, false, true}, {}};
    }
    if (f == "np.float64") {
      nargs(1);
      numeric(args[0]);
      return TypedInterval{VT{Repr::F64, false, true}, {}};
    }
    if (f == "np.float32") {
      nargs(1);
      if (!is_float(args[0].t.r))
        throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                          "np.float32() of an integer is not supported in native code"};
      return TypedInterval{VT{Repr::F32, false, true}, {}};
    }
    if (f == "np.int64") {
      nargs(1);
      if (!is_int(args[0].t.r))
        throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                          "np.int64() of a non-integer is not supported in native code"};
      return TypedInterval{VT{Repr::I64, false, true}, args[0].iv};
    }
    if (auto r = ufunc_loop(f, args)) return TypedInterval{VT{*r, false, true}, {}};
    if (f.rfind("np.", 0) == 0)
      throw Unsupported{DeclineCode::Exactness, e.line,
                        f + "() uses NumPy's own vectorised implementation, whose last bit can differ "
                            "from the C library; use the math module's function to run natively"};
    static const std::set<std::string> builtins = {"abs", "min", "max", "float", "int", "round"};
    std::string shown = builtins.count(f) ? f : "math." + f;
    if (f == "gamma" || f == "lgamma")
      throw Unsupported{DeclineCode::Exactness, e.line,
                        shown +
                            "() is computed by CPython's own code, not the C library's, so native "
                            "code cannot give the same last bit"};
    throw Unsupported{DeclineCode::UnsupportedOperation, e.line, shown + "() is not supported in native code"};
  }

  // The calls that make or take complex numbers: the literal 2.5j,
  // complex(re, im), z.real, z.imag, z.conjugate(), abs(z). Any other call
  // of a complex number stays in Python.
  std::optional<TypedInterval> complex_call(const Expr& e, const std::vector<TypedInterval>& args) {
    const std::string& f = e.name;
    if (f == "complex.literal") return TypedInterval{kPyComplex, {}};
    if (f == "complex") {
      if (args.empty() || args.size() > 2)
        throw Unsupported{DeclineCode::UnsupportedOperation, e.line, "complex() takes 1 or 2 arguments here"};
      for (auto& a : args) {
        if (is_complex(a.t.r))
          throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                            "complex() of a complex number is not supported in native code"};
        reject_small(a.t, "complex()", e.line);
      }
      return TypedInterval{kPyComplex, {}};
    }
    bool any = std::any_of(args.begin(), args.end(), [](const TypedInterval& a) { return is_complex(a.t.r); });
    if (f == ".real" || f == ".imag" || f == ".conjugate") {
      const VT& t = args[0].t;
      if (!is_complex(t.r))
        throw Unsupported{DeclineCode::UnsupportedOperation, e.line,
                          std::string(f == ".conjugate" ? "conjugate()" : f.substr(1)) + " of a " + describe(t) +
                              " is supported in native code only for complex numbers"};
      if (f == ".conjugate") return TypedInterval{t, {}};
      return TypedInterval{VT{t.r == Repr::C64 ? Repr::F32 : Repr::F64, t.py, t.np}, {}};
    }
    if (!any) return std::nullopt;
    if (f == "abs" && args.size() == 1) {
      const VT& t = args[0].t;
      return TypedInterval{VT{t.r == Repr::C64 ? Repr::F32 : Repr::F64, t.py, t.np}, {}};
    }
    throw Unsupported{
        DeclineCode::UnsupportedOperation, e.line,
        (f.rfind("np.", 0) == 0 || f == "abs" || f == "min" || f == "max" || f == "float" || f == "int" || f == "round"
             ? f
             : "math." + f) +
            "() of a complex number is not supported in native code"};
  }

  static void reject_small(const VT& t, const std::string& what, int line) {
    if (t.small != Small::None)
      throw Unsupported{DeclineCode::Typing, line,
                        what + " of an " + describe(t) +
                            " gives a NumPy small-integer type, which native code does not model; convert "
                            "the element with int() or float() first"};
  }

  void check_store(const Expr& target, const VT& v, int line, const Interval& iv) {
    const ArrayInfo& a = S.arrays[S.array_index.at(target.name)];
    if (a.dtype == DType::Float16) {
      // NumPy rounds a float once to float16 ("overflow encountered in
      // cast" where it becomes infinite); an integer goes through a float
      // or a double, exact when it is within 2**24
      if (is_complex(v.r) || is_u64(v) || (v.small != Small::None && !is_f16(v)) ||
          (is_int(v.r) && !(iv.known && iv.lo >= -(i128(1) << 24) && iv.hi <= (i128(1) << 24))))
        throw Unsupported{DeclineCode::Exactness, line,
                          "a " + describe(v) + " is stored into the float16 array '" + target.name +
                              "'; native code stores floats, and integers known to lie within 2**24, only (store "
                              "float(x))"};
      return;
    }
    if (is_f16(v) && is_complex(a.dtype))
      throw Unsupported{DeclineCode::Exactness, line,
                        "an np.float16 is stored into the complex array '" + target.name +
                            "'; NumPy's conversion of it stays in Python (store float(x))"};
    if (is_complex(v.r) && !is_complex(a.dtype))
      throw Unsupported{DeclineCode::Exactness, line,
                        "a complex number is stored into the " + std::string(to_string(a.dtype)) + " array '" +
                            target.name +
                            "'; NumPy warns (ComplexWarning) and drops the imaginary part, which stays in Python"};
    // (NumPy stores an np.uint64 into an int64 or int32 array through a
    // Python int: OverflowError from 2**63; into a float32 one in one rounding)
    if (is_u64(v) &&
        (is_complex(a.dtype) || a.dtype == DType::Float32 || a.dtype == DType::Int64 || a.dtype == DType::Int32))
      throw Unsupported{DeclineCode::Exactness, line,
                        "an np.uint64 is stored into the " + std::string(to_string(a.dtype)) + " array '" +
                            target.name + "'; NumPy's conversion of it stays in Python (store int(x) or float(x))"};
    if (is_complex(a.dtype)) return;
    if (is_small_int(a.dtype)) {
      // NumPy stores a float into a small integer array through a C long:
      // truncated towards zero, then wrapped to the type (300.7 -> 44 in a
      // uint8 array; NaN and inf raise). Native code does that for a
      // float64 between -2**31 and 2**31 and stops for any other.
      if (v.r == Repr::F32 || (is_float(v.r) && a.dtype == DType::UInt64))
        throw Unsupported{DeclineCode::Exactness, line,
                          "a " + describe(v) + " is stored into the " + to_string(a.dtype) + " array '" + target.name +
                              "'; NumPy's conversion of it stays in Python"};
      return;
    }
    bool int_array = a.dtype == DType::Int64 || a.dtype == DType::Int32;
    if (int_array && is_float(v.r))
      throw Unsupported{DeclineCode::Exactness, line,
                        "a float is stored into the integer array '" + target.name +
                            "'; NumPy's conversion (and its errors for NaN) stays in Python"};
  }

  // ---- statements -------------------------------------------------------
  // Whether the step of loop `s` is fixed before the loop runs (step_of
  // reads it); otherwise the analysis made the loop opaque (sequential) and
  // code evaluates the step when the loop starts (variable_step_loop).
  bool fixed_step(const Stmt& s) {
    if (!s.step || s.step->kind == ExprKind::IntConst) return true;
    const LoopPlan* lp = plan_of(s.id);
    if (!lp || lp->verdict != LoopVerdict::Sequential) return true;  // step_of decides
    std::set<std::string> varying;
    for (auto& v : S.vars)
      if (v.assigned || loop_iv_.count(v.name)) varying.insert(v.name);
    std::function<bool(const Expr&)> reads_varying = [&](const Expr& e) {
      if (e.kind == ExprKind::Name && varying.count(e.name)) return true;
      if (e.kind == ExprKind::Subscript) return true;
      for (auto& a : e.args)
        if (a && reads_varying(*a)) return true;
      return false;
    };
    return !reads_varying(*s.step);
  }

  void variable_step_loop(const Stmt& s, std::vector<const Stmt*>& loops) {
    auto a = expr(*s.start), b = expr(*s.stop), c = expr(*s.step);
    Interval iv;
    for (auto* x : {&a, &b, &c})
      if (*x && is_u64((*x)->t))
        throw Unsupported{DeclineCode::Typing, s.line,
                          "range() gets an np.uint64, which native code does not use as a bound; convert it with "
                          "int() first"};
      else if (*x && !int_like((*x)->t))
        throw Unsupported{DeclineCode::Typing, s.line,
                          "range() gets a " + describe((*x)->t) + "; Python raises TypeError"};
    // The variable lies between start and stop, whichever way the step goes.
    if (a && b) iv = hull(a->iv, b->iv);
    VarInfo& var = S.vars[S.var_index.at(s.var)];
    join_var(var, kPyInt, s.line);
    if (loop_iv_.count(s.var))
      throw Unsupported{DeclineCode::UnsupportedSyntax, s.line, "two nested loops use the variable '" + s.var + "'"};
    loop_iv_[s.var] = iv;
    loops.push_back(&s);
    enclosing_.push_back({&s, 0});
    if (record_) decisions_ << 'L' << s.id << ":v;";
    for (auto& st : s.body) stmt(*st, loops);
    enclosing_.pop_back();
    loops.pop_back();
    loop_iv_.erase(s.var);
  }

  int64_t step_of(const Stmt& s) {
    if (!s.step) return 1;
    const Expr& e = *s.step;
    if (e.kind == ExprKind::IntConst) return e.ival;
    if (e.kind == ExprKind::Unary && e.un_op == UnOp::Neg && e.args[0]->kind == ExprKind::IntConst)
      return -e.args[0]->ival;
    if (e.kind == ExprKind::Name) {
      auto it = S.var_index.find(e.name);
      if (it != S.var_index.end()) {
        const VarInfo& v = S.vars[it->second];
        if (v.input && !v.assigned && v.type.r == Repr::I64 && !is_u64(v.type)) return B.scalars.at(e.name).ival;
      }
    }
    // Any integer expression whose value the instance fixes (-st, 2 * st).
    if (auto t = expr(e); t && is_int(t->t.r) && t->iv.known && t->iv.lo == t->iv.hi && t->iv.fits64())
      return static_cast<int64_t>(t->iv.lo);
    throw Unsupported{DeclineCode::UnsupportedOperation, s.line,
                      "the step of range() must be a constant or a value fixed before the loop"};
  }

  void stmt(const Stmt& s, std::vector<const Stmt*>& loops) {
    switch (s.kind) {
      case StmtKind::Assign:
      case StmtKind::AugAssign: {
        auto v = expr(*s.value);
        if (s.target->kind == ExprKind::Name) {
          if (loop_iv_.count(s.target->name))
            throw Unsupported{DeclineCode::UnsupportedOperation, s.line,
                              "the loop variable '" + s.target->name + "' is assigned inside its loop"};
          VarInfo& var = S.vars[S.var_index.at(s.target->name)];
          if (!v) return;
          TypedInterval t = *v;
          if (s.kind == StmtKind::AugAssign) {
            if (!var.typed) return;
            t = *binary(*s.target, s.aug_op, TypedInterval{var.type, {}}, *v);
          }
          join_var(var, t.t, s.line, t.iv);
        } else {
          auto el = subscript(*s.target, s.kind == StmtKind::Assign);
          if (!v || !el) return;
          TypedInterval t = *v;
          if (s.kind == StmtKind::AugAssign) {
            t = *binary(*s.target, s.aug_op, *el, *v);
          }
          check_store(*s.target, t.t, s.line, t.iv);
        }
        return;
      }
      case StmtKind::If:
        // A while loop too: the types reach their fixed point over the
        // passes of run(), and no interval is kept for an assigned scalar.
        expr(*s.cond);
        if (record_ && s.is_while) decisions_ << 'W' << s.id << ';';
        for (auto& b : s.body) stmt(*b, loops);
        for (auto& b : s.orelse) stmt(*b, loops);
        return;
      case StmtKind::Break:
      case StmtKind::Continue:
        if (record_) decisions_ << (s.kind == StmtKind::Break ? 'B' : 'C') << s.jump_target << ';';
        return;
      case StmtKind::For: {
        if (!fixed_step(s)) return variable_step_loop(s, loops);
        int64_t step = step_of(s);
        if (step == 0)
          throw Unsupported{DeclineCode::Exactness, s.line, "range() with a step of 0 raises ValueError in Python"};
        if (step == std::numeric_limits<int64_t>::min())
          throw Unsupported{DeclineCode::UnsupportedValue, s.line, "the range() step is too large"};
        S.steps[s.id] = step;
        auto a = expr(*s.start);
        auto b = expr(*s.stop);
        Interval iv;
        for (auto* x : {&a, &b})
          if (*x && is_u64((*x)->t))
            throw Unsupported{DeclineCode::Typing, s.line,
                              "range() gets an np.uint64, which native code does not use as a bound; convert it "
                              "with int() first"};
          else if (*x && !int_like((*x)->t))
            throw Unsupported{DeclineCode::Typing, s.line,
                              "range() gets a " + describe((*x)->t) + "; Python raises TypeError"};
        if (a && b && a->iv.known && b->iv.known) {
          if (step > 0)
            iv = {true, a->iv.lo, b->iv.hi - 1};
          else
            iv = {true, b->iv.lo + 1, a->iv.hi};
          if (iv.lo > iv.hi) iv = {true, a->iv.lo, a->iv.lo};  // never runs
          Interval trips_iv = range_trips(a->iv, b->iv, Interval::of(step));
          i128 trips = trips_iv.hi;
          if (record_ && trips_iv.known && trips <= (i128(1) << 20)) {
            S.max_trips[s.id] = static_cast<int64_t>(trips);
            decisions_ << 's' << (trips <= 64 ? 0 : trips <= 4096 ? 1 : 2);
          }
        }
        VarInfo& var = S.vars[S.var_index.at(s.var)];
        join_var(var, kPyInt, s.line);
        if (loop_iv_.count(s.var))
          throw Unsupported{DeclineCode::UnsupportedSyntax, s.line,
                            "two nested loops use the variable '" + s.var + "'"};
        loop_iv_[s.var] = iv;
        loops.push_back(&s);
        enclosing_.push_back({&s, step});
        if (record_) decisions_ << 'L' << s.id << ':' << step << ';';
        for (auto& st : s.body) stmt(*st, loops);
        enclosing_.pop_back();
        loops.pop_back();
        loop_iv_.erase(s.var);
        return;
      }
    }
  }

  // ---- parallel loops ---------------------------------------------------
  const LoopPlan* plan_of(int id) const {
    for (auto& lp : P.loops)
      if (lp.loop == id) return &lp;
    return nullptr;
  }

  bool parallel_ok(const Stmt& s) const {
    const LoopPlan* lp = plan_of(s.id);
    if (!lp) return false;
    if (lp->verdict == LoopVerdict::Parallel) return true;
    if (lp->verdict != LoopVerdict::Reduction) return false;
    for (auto& r : lp->reductions) {
      auto it = S.var_index.find(r.variable);
      if (it == S.var_index.end()) {
        if (!privatisable(s, r)) return false;
        continue;
      }
      const VarInfo& v = S.vars[it->second];
      if (v.int_then_float) return false;  // its partial results would start from the int
      if (v.int_or_small) return false;    // its kind follows the order of the assignments
      // Complex sums and products are not associative (Python adds in order).
      if (is_complex(v.type.r) || v.int_then_complex) return false;
      // A small integer wraps to its type at each step, with NumPy's warning.
      if (v.type.small != Small::None) return false;
      if (!r.fn.empty()) {
        if (!is_int(v.type.r) || (r.fn != "min" && r.fn != "max")) return false;
        // min(x, m) takes x on a tie, so an int and an np.int64 of one
        // value are told apart by their order: chunks combine exactly only
        // for min(m, x) (the generated CUDA's rule).
        if (v.type.mixed() && !accumulator_first(s, r.variable)) return false;
      } else if (r.op != BinOp::Add && r.op != BinOp::Mul && r.op != BinOp::Sub) {
        return false;
      }
    }
    return true;
  }

  // Whether every min()/max() that updates `name` in the loop `s` names it
  // first (`m = min(m, x)`).
  static bool accumulator_first(const Stmt& s, const std::string& name) {
    std::function<bool(const std::vector<StmtPtr>&)> all = [&](const std::vector<StmtPtr>& body) {
      for (auto& st : body) {
        if (st->kind == StmtKind::Assign && st->target && st->target->kind == ExprKind::Name &&
            st->target->name == name && st->value && st->value->kind == ExprKind::Call &&
            (st->value->name == "min" || st->value->name == "max")) {
          const auto& a = st->value->args;
          if (a.empty() || a[0]->kind != ExprKind::Name || a[0]->name != name) return false;
        }
        if (!all(st->body) || !all(st->orelse)) return false;
      }
      return true;
    };
    return all(s.body);
  }

  // An integer array reduction (`hist[idx[i]] += 1`: + or -, an int64 or
  // int32 array that shares memory with no other array of the nest) that
  // each thread may accumulate into a zeroed copy of the array, when the
  // copies (threads * the array, zeroed and then added) cost little beside
  // the loop: at most 16 MiB in all, and a loop whose trip count, known from
  // its bounds, is at least 4 times the elements of all the copies.
  bool privatisable(const Stmt& loop, const Reduction& r) const {
    auto ai = S.array_index.find(r.variable);
    if (ai == S.array_index.end() || !r.fn.empty() || (r.op != BinOp::Add && r.op != BinOp::Sub)) return false;
    const ArrayInfo& a = S.arrays[ai->second];
    if (a.dtype != DType::Int64 && a.dtype != DType::Int32) return false;
    const ArrayBinding& x = B.arrays.at(a.name);
    for (auto& o : S.arrays) {
      if (o.name == a.name) continue;
      const ArrayBinding& y = B.arrays.at(o.name);
      if (x.mem_lo < y.mem_hi && y.mem_lo < x.mem_hi) return false;
    }
    i128 elements = 1;
    for (auto n : x.shape) elements *= n;
    const i128 threads = std::max(1, cpu_thread_count());
    if (threads * elements * dtype_size(a.dtype) > (i128(16) << 20)) return false;
    auto value = [&](const ExprPtr& e) -> std::optional<int64_t> {
      if (!e) return std::nullopt;
      return eval_int(*e, [&](const std::string& name) -> std::optional<int64_t> {
        auto it = B.scalars.find(name);
        if (it == B.scalars.end() || it->second.kind != ScalarKind::Int) return std::nullopt;
        auto v = S.var_index.find(name);
        if (v != S.var_index.end() && S.vars[v->second].assigned) return std::nullopt;
        return it->second.ival;
      });
    };
    auto start = value(loop.start), stop = value(loop.stop), step = value(loop.step);
    if (!start || !stop || !step || *step == 0) return false;
    return i128(range_trip_count(*start, *stop, *step)) >= 4 * threads * elements;
  }

  // Which loops run on the pool is analysis::map_cpu's rule (the cost model
  // prices the same loops, read from CpuCheck::parallel_loop_ids); this
  // supplies its typed part, which reductions the variant combines.
  void choose_parallel() {
    if (!S.options.parallel) return;
    CpuMapping m = map_cpu(B, P, [&](const Stmt& loop) { return parallel_ok(loop); });
    for (int id : m.parallel_loops) {
      S.parallel_loops.insert(id);
      // Copies of one loop (a time loop unrolled over swapped arrays) are named once.
      const std::string& var = plan_of(id)->var;
      if ((", " + S.parallel_description + ", ").find(", " + var + ", ") == std::string::npos)
        S.parallel_description += (S.parallel_description.empty() ? "" : ", ") + var;
      for (auto& a : S.arrays)
        for (auto& r : plan_of(id)->reductions)
          if (r.variable == a.name &&
              std::find(S.private_arrays[id].begin(), S.private_arrays[id].end(), a.name) == S.private_arrays[id].end())
            S.private_arrays[id].push_back(a.name);
    }
  }

  // ---- layout and key ---------------------------------------------------
  void build_key() {
    S.disjoint = true;
    for (auto& a : S.arrays) {
      if (!a.written) continue;
      const ArrayBinding& x = B.arrays.at(a.name);
      for (auto& b : S.arrays) {
        if (b.name == a.name) continue;
        const ArrayBinding& y = B.arrays.at(b.name);
        if (x.mem_lo < y.mem_hi && y.mem_lo < x.mem_hi) S.disjoint = false;
      }
    }
    int slot = 0;
    std::ostringstream k;
    k << "disjoint" << S.disjoint << '|';
    k << B.nest->source << "\x1f";
    for (auto& a : S.arrays) {
      a.slot = slot;
      slot += 1 + 2 * a.ndim;
      k << a.name << ':' << static_cast<int>(a.dtype) << ':' << a.ndim << ':' << a.inner_contiguous << ':'
        << a.python_elements << ';';
    }
    for (auto& v : S.vars) {
      v.slot = slot;
      slot += 5;
      k << v.name << ':' << static_cast<int>(v.type.r) << static_cast<int>(v.type.small) << v.type.py << v.type.np
        << v.input << v.input_numpy << v.int_then_float << v.int_then_complex << v.int_or_small
        << static_cast<int>(v.small_kind) << ';';
    }
    for (int id : S.parallel_loops) {
      S.parallel_start_slot[id] = slot++;
      k << 'P' << id;
      if (const LoopPlan* lp = plan_of(id))
        for (auto& r : lp->reductions) k << ',' << r.variable << static_cast<int>(r.op) << r.fn;
      k << ';';
    }
    // The rest of the plan the code generator reads: every loop's verdict
    // and the dependences' direction vectors (interchange and unroll-and-jam
    // are decided from them, serial code included). One source with
    // arguments aliased differently has other dependences: it must not
    // reuse code transformed for the first.
    k << "|V";
    for (auto& lp : P.loops) k << lp.loop << ':' << static_cast<int>(lp.verdict) << ',';
    k << "|E";
    for (auto& e : P.edges) {
      for (auto& l : e.loops) k << l << ' ';
      for (auto d : e.direction) k << to_char(d);
      k << ';';
    }
    k << "|par" << S.options.parallel << "|ir" << S.options.keep_ir << '|' << decisions_.str() << '|';
    S.frame_size = slot;
    S.key = k.str();
  }
};
}  // namespace

Spec specialise(const BoundNest& bound, const ParallelPlan& plan, const CpuOptions& options) {
  if (!bound.nest || !bound.nest->root) throw Unsupported{DeclineCode::Internal, 0, "no loop nest"};
  if (plan.decline)
    throw Unsupported{plan.decline->code, plan.decline->line, plan.decline->reason, plan.decline->detail};
  Spec s;
  s.bound = &bound;
  s.plan = &plan;
  s.options = options;
  Specialiser(s, bound, plan).run();
  return s;
}

}  // namespace loopscope::jit::cpu
