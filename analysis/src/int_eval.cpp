// The one evaluator of integer IR expressions (int_eval.hpp): Python's
// semantics over int64, with python_int_op (int_math.hpp) for the binary
// operators. Plain C++ over the IR, in the Python-free loopscope_analysis_core
// library that the cost model links too.
#include "loopscope/analysis/int_eval.hpp"

#include <limits>

#include "loopscope/analysis/int_math.hpp"

namespace loopscope::analysis {

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

bool compare(CmpOp op, int64_t a, int64_t b) {
  switch (op) {
    case CmpOp::Lt: return a < b;
    case CmpOp::Le: return a <= b;
    case CmpOp::Gt: return a > b;
    case CmpOp::Ge: return a >= b;
    case CmpOp::Eq: return a == b;
    case CmpOp::Ne: return a != b;
  }
  return false;
}

std::optional<int64_t> eval_arg(const ExprPtr& e, const NameLookup& lookup) {
  if (!e) return std::nullopt;
  return eval_int(*e, lookup);
}

std::optional<int64_t> call(const Expr& e, const NameLookup& lookup) {
  const std::string& f = e.name;
  if ((f == "abs" || f == "np.abs" || f == "int") && e.args.size() == 1) {
    auto x = eval_arg(e.args[0], lookup);
    if (!x || f == "int") return x;
    if (*x == kMin) return std::nullopt;  // |INT64_MIN| is no int64
    return *x < 0 ? -*x : *x;
  }
  // min(x) and max(x) of one argument iterate over it: an int raises.
  if ((f == "min" || f == "max") && e.args.size() >= 2) {
    std::optional<int64_t> best;
    for (auto& a : e.args) {
      auto x = eval_arg(a, lookup);
      if (!x) return std::nullopt;
      if (!best || (f == "min" ? *x < *best : *x > *best)) best = x;
    }
    return best;
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> eval_int(const Expr& e, const NameLookup& lookup) {
  switch (e.kind) {
    case ExprKind::IntConst:
    case ExprKind::BoolConst: return e.ival;
    case ExprKind::Name: return lookup(e.name);
    case ExprKind::Unary: {
      if (e.args.size() != 1) return std::nullopt;
      auto a = eval_arg(e.args[0], lookup);
      if (!a) return std::nullopt;
      switch (e.un_op) {
        case UnOp::Neg:
          if (*a == kMin) return std::nullopt;
          return -*a;
        case UnOp::Pos: return *a;
        case UnOp::Not: return *a == 0 ? 1 : 0;
        case UnOp::Invert: return ~*a;
      }
      return std::nullopt;
    }
    case ExprKind::Binary: {
      if (e.args.size() != 2) return std::nullopt;
      auto a = eval_arg(e.args[0], lookup);
      if (!a) return std::nullopt;
      auto b = eval_arg(e.args[1], lookup);
      if (!b) return std::nullopt;
      return python_int_op(e.bin_op, *a, *b);
    }
    case ExprKind::Compare: {
      if (e.args.size() < 2 || e.cmp_ops.size() != e.args.size() - 1) return std::nullopt;
      auto left = eval_arg(e.args[0], lookup);
      if (!left) return std::nullopt;
      for (size_t k = 0; k < e.cmp_ops.size(); ++k) {
        auto right = eval_arg(e.args[k + 1], lookup);
        if (!right) return std::nullopt;
        if (!compare(e.cmp_ops[k], *left, *right)) return 0;  // the rest is not evaluated
        left = right;
      }
      return 1;
    }
    case ExprKind::Logical: {
      // `a and b` is a when a is false, else b; `a or b` is a when a is true.
      if (e.args.empty()) return std::nullopt;
      bool is_and = e.bool_op == BoolOp::And;
      std::optional<int64_t> v;
      for (auto& a : e.args) {
        v = eval_arg(a, lookup);
        if (!v) return std::nullopt;
        if (is_and ? *v == 0 : *v != 0) return v;
      }
      return v;
    }
    case ExprKind::IfExp: {
      if (e.args.size() != 3) return std::nullopt;
      auto c = eval_arg(e.args[0], lookup);
      if (!c) return std::nullopt;
      return eval_arg(*c != 0 ? e.args[1] : e.args[2], lookup);
    }
    case ExprKind::Call: return call(e, lookup);
    case ExprKind::FloatConst:
    case ExprKind::Subscript: return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace loopscope::analysis
