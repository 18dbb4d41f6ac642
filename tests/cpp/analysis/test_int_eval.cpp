// The one evaluator of integer IR expressions (int_eval.hpp): Python's
// semantics, nullopt for what is not a known int64.
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <memory>
#include <string>

#include "../nest_builder.hpp"
#include "loopscope/analysis/int_eval.hpp"

using namespace loopscope::analysis;
using namespace irtest;

namespace {
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

ExprPtr make(ExprKind kind, std::vector<ExprPtr> args = {}) {
  auto e = std::make_shared<Expr>();
  e->kind = kind;
  e->args = std::move(args);
  return e;
}
// n = 10, m = -3, big = 2**62, t = True; anything else is unknown.
std::optional<int64_t> ev(const ExprPtr& e) {
  static const std::map<std::string, int64_t> names = {{"n", 10}, {"m", -3},    {"big", (int64_t)1 << 62},
                                                       {"t", 1},  {"lo", kMin}, {"hi", kMax}};
  return eval_int(*e, [](const std::string& name) -> std::optional<int64_t> {
    auto it = names.find(name);
    if (it == names.end()) return std::nullopt;
    return it->second;
  });
}
}  // namespace

TEST(IntEval, ConstantsAndNames) {
  EXPECT_EQ(ev(I(42)), 42);
  EXPECT_EQ(ev(Bool(true)), 1);  // True is 1
  EXPECT_EQ(ev(Bool(false)), 0);
  EXPECT_EQ(ev(N("n")), 10);
  EXPECT_EQ(ev(N("unknown")), std::nullopt);
  EXPECT_EQ(ev(F(2.0)), std::nullopt);  // a float is no int
  EXPECT_EQ(ev(make(ExprKind::Subscript, {I(0)})), std::nullopt);
}

TEST(IntEval, EachBinaryOperator) {
  EXPECT_EQ(ev(B(BinOp::Add, N("n"), N("m"))), 7);
  EXPECT_EQ(ev(B(BinOp::Sub, N("n"), N("m"))), 13);
  EXPECT_EQ(ev(B(BinOp::Mul, N("n"), N("m"))), -30);
  EXPECT_EQ(ev(B(BinOp::FloorDiv, N("n"), I(3))), 3);
  EXPECT_EQ(ev(B(BinOp::Mod, N("n"), I(3))), 1);
  EXPECT_EQ(ev(B(BinOp::Pow, I(2), I(10))), 1024);
  EXPECT_EQ(ev(B(BinOp::Div, I(4), I(2))), std::nullopt);   // 4 / 2 is the float 2.0
  EXPECT_EQ(ev(B(BinOp::Add, Bool(true), Bool(true))), 2);  // True + True == 2
}

TEST(IntEval, FloorDivisionAndModuloOnNegatives) {
  // Python: -7 // 2 == -4, 7 // -2 == -4, -7 % 2 == 1, 7 % -2 == -1, -3 // 10 == -1
  EXPECT_EQ(ev(B(BinOp::FloorDiv, I(-7), I(2))), -4);
  EXPECT_EQ(ev(B(BinOp::FloorDiv, I(7), I(-2))), -4);
  EXPECT_EQ(ev(B(BinOp::FloorDiv, I(-7), I(-2))), 3);
  EXPECT_EQ(ev(B(BinOp::Mod, I(-7), I(2))), 1);
  EXPECT_EQ(ev(B(BinOp::Mod, I(7), I(-2))), -1);
  EXPECT_EQ(ev(B(BinOp::FloorDiv, N("m"), N("n"))), -1);
  EXPECT_EQ(ev(B(BinOp::Mod, N("m"), N("n"))), 7);
  // Python raises ZeroDivisionError: no value.
  EXPECT_EQ(ev(B(BinOp::FloorDiv, N("n"), I(0))), std::nullopt);
  EXPECT_EQ(ev(B(BinOp::Mod, N("n"), I(0))), std::nullopt);
}

TEST(IntEval, OverflowIsNotKnown) {
  EXPECT_EQ(ev(B(BinOp::Add, N("hi"), I(1))), std::nullopt);
  EXPECT_EQ(ev(B(BinOp::Sub, N("lo"), I(1))), std::nullopt);
  EXPECT_EQ(ev(B(BinOp::Mul, N("big"), I(2))), std::nullopt);
  EXPECT_EQ(ev(B(BinOp::Mul, N("big"), I(-2))), kMin);  // -2**63 is an int64
  EXPECT_EQ(ev(B(BinOp::FloorDiv, N("lo"), I(-1))), std::nullopt);
  EXPECT_EQ(ev(B(BinOp::Mod, N("lo"), I(-1))), 0);
  EXPECT_EQ(ev(U(UnOp::Neg, N("lo"))), std::nullopt);
  EXPECT_EQ(ev(Call("abs", {N("lo")})), std::nullopt);
  // An intermediate value that overflows makes the whole unknown, even where
  // Python's result would fit: (2**62 * 4) // 8.
  EXPECT_EQ(ev(B(BinOp::FloorDiv, B(BinOp::Mul, N("big"), I(4)), I(8))), std::nullopt);
  // 2**62 + 2**62 is 2**63: no int64; values beyond 2**52 that fit are exact.
  EXPECT_EQ(ev(B(BinOp::Add, N("big"), N("big"))), std::nullopt);
  EXPECT_EQ(ev(B(BinOp::Sub, N("big"), I(1))), ((int64_t)1 << 62) - 1);
}

TEST(IntEval, Power) {
  EXPECT_EQ(ev(B(BinOp::Pow, I(10), I(6))), 1000000);
  EXPECT_EQ(ev(B(BinOp::Pow, I(-2), I(3))), -8);
  EXPECT_EQ(ev(B(BinOp::Pow, I(0), I(0))), 1);
  EXPECT_EQ(ev(B(BinOp::Pow, I(0), I(5))), 0);
  EXPECT_EQ(ev(B(BinOp::Pow, I(1), N("hi"))), 1);
  EXPECT_EQ(ev(B(BinOp::Pow, I(-1), N("hi"))), -1);
  EXPECT_EQ(ev(B(BinOp::Pow, I(-1), I(4))), 1);
  EXPECT_EQ(ev(B(BinOp::Pow, I(2), I(62))), (int64_t)1 << 62);
  EXPECT_EQ(ev(B(BinOp::Pow, I(2), I(63))), std::nullopt);     // overflows int64
  EXPECT_EQ(ev(B(BinOp::Pow, I(-2), I(63))), kMin);            // -2**63 fits
  EXPECT_EQ(ev(B(BinOp::Pow, I(2), I(-1))), std::nullopt);     // 2 ** -1 is the float 0.5
  EXPECT_EQ(ev(B(BinOp::Pow, N("n"), N("x"))), std::nullopt);  // unknown exponent
}

TEST(IntEval, UnaryOperatorsAndNot) {
  EXPECT_EQ(ev(U(UnOp::Neg, N("n"))), -10);
  EXPECT_EQ(ev(U(UnOp::Pos, N("m"))), -3);
  EXPECT_EQ(ev(U(UnOp::Neg, Bool(true))), -1);  // -True == -1
  EXPECT_EQ(ev(U(UnOp::Not, I(0))), 1);         // not 0 is True
  EXPECT_EQ(ev(U(UnOp::Not, N("n"))), 0);
  EXPECT_EQ(ev(U(UnOp::Not, N("m"))), 0);
  EXPECT_EQ(ev(U(UnOp::Not, U(UnOp::Not, N("n")))), 1);
  EXPECT_EQ(ev(U(UnOp::Not, N("x"))), std::nullopt);
}

TEST(IntEval, Comparisons) {
  EXPECT_EQ(ev(Cmp({CmpOp::Lt}, {N("m"), N("n")})), 1);
  EXPECT_EQ(ev(Cmp({CmpOp::Le}, {N("n"), N("n")})), 1);
  EXPECT_EQ(ev(Cmp({CmpOp::Gt}, {N("m"), N("n")})), 0);
  EXPECT_EQ(ev(Cmp({CmpOp::Ge}, {I(3), I(4)})), 0);
  EXPECT_EQ(ev(Cmp({CmpOp::Eq}, {Bool(true), I(1)})), 1);  // True == 1
  EXPECT_EQ(ev(Cmp({CmpOp::Ne}, {I(3), I(4)})), 1);
  // Chained: m < 0 < n; 0 < m < n is false at the first link.
  EXPECT_EQ(ev(Cmp({CmpOp::Lt, CmpOp::Lt}, {N("m"), I(0), N("n")})), 1);
  EXPECT_EQ(ev(Cmp({CmpOp::Lt, CmpOp::Lt}, {I(0), N("m"), N("n")})), 0);
  EXPECT_EQ(ev(Cmp({CmpOp::Lt, CmpOp::Gt}, {I(0), N("n"), I(20)})), 0);
  // Python stops at the first false link: what follows is never evaluated.
  EXPECT_EQ(ev(Cmp({CmpOp::Gt, CmpOp::Lt}, {I(0), N("n"), N("x")})), 0);
  EXPECT_EQ(ev(Cmp({CmpOp::Lt, CmpOp::Lt}, {I(0), N("n"), N("x")})), std::nullopt);
  EXPECT_EQ(ev(Cmp({CmpOp::Lt}, {N("x"), N("n")})), std::nullopt);
}

TEST(IntEval, LogicalOperatorsGiveTheOperandPythonStopsAt) {
  EXPECT_EQ(ev(L(BoolOp::And, {N("n"), N("m")})), -3);  // 10 and -3 == -3
  EXPECT_EQ(ev(L(BoolOp::And, {I(0), N("x")})), 0);     // 0 and x: x is not evaluated
  EXPECT_EQ(ev(L(BoolOp::Or, {I(0), N("m")})), -3);     // 0 or -3 == -3
  EXPECT_EQ(ev(L(BoolOp::Or, {N("n"), N("x")})), 10);   // 10 or x: x is not evaluated
  EXPECT_EQ(ev(L(BoolOp::Or, {I(0), I(0), I(0)})), 0);
  EXPECT_EQ(ev(L(BoolOp::And, {I(1), I(2), I(3)})), 3);
  EXPECT_EQ(ev(L(BoolOp::And, {N("n"), N("x")})), std::nullopt);
  EXPECT_EQ(ev(L(BoolOp::Or, {N("x"), N("n")})), std::nullopt);
}

TEST(IntEval, ConditionalExpressionEvaluatesTheBranchTaken) {
  EXPECT_EQ(ev(If(Cmp({CmpOp::Gt}, {N("n"), I(0)}), N("n"), N("x"))), 10);
  EXPECT_EQ(ev(If(I(0), N("x"), N("m"))), -3);
  EXPECT_EQ(ev(If(I(1), N("x"), N("m"))), std::nullopt);
  EXPECT_EQ(ev(If(N("x"), I(1), I(1))), std::nullopt);
}

TEST(IntEval, Calls) {
  EXPECT_EQ(ev(Call("abs", {N("m")})), 3);
  EXPECT_EQ(ev(Call("abs", {N("n")})), 10);
  EXPECT_EQ(ev(Call("np.abs", {N("m")})), 3);
  EXPECT_EQ(ev(Call("int", {N("m")})), -3);
  EXPECT_EQ(ev(Call("int", {Bool(true)})), 1);
  EXPECT_EQ(ev(Call("int", {F(2.5)})), std::nullopt);  // from a float: not an integer expression
  EXPECT_EQ(ev(Call("min", {N("n"), N("m"), I(4)})), -3);
  EXPECT_EQ(ev(Call("max", {N("n"), N("m"), I(4)})), 10);
  EXPECT_EQ(ev(Call("max", {N("n"), N("x")})), std::nullopt);
  // min(n) iterates over an int: Python raises.
  EXPECT_EQ(ev(Call("min", {N("n")})), std::nullopt);
  EXPECT_EQ(ev(Call("abs", {N("n"), N("m")})), std::nullopt);
  EXPECT_EQ(ev(Call("sqrt", {I(4)})), std::nullopt);
  EXPECT_EQ(ev(Call("round", {I(4)})), std::nullopt);
  EXPECT_EQ(ev(Call("float", {I(4)})), std::nullopt);
}

TEST(IntEval, NestedExpressions) {
  // (n - 1) // 2 + max(m, 0) * -(2 ** 3) % 7
  auto e = B(BinOp::Add, B(BinOp::FloorDiv, B(BinOp::Sub, N("n"), I(1)), I(2)),
             B(BinOp::Mod, B(BinOp::Mul, Call("max", {N("m"), I(0)}), U(UnOp::Neg, B(BinOp::Pow, I(2), I(3)))), I(7)));
  EXPECT_EQ(ev(e), 4);
  // n if t else 0, with t = True
  EXPECT_EQ(ev(If(N("t"), N("n"), I(0))), 10);
}
