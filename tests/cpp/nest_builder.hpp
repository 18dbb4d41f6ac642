// Small helpers to build IR expressions, loop nests, bound instances and
// plans by hand for the C++ tests (cost model, integer evaluation).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/plan.hpp"

namespace irtest {

using namespace loopscope::analysis;

inline ExprPtr I(int64_t v) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::IntConst;
  e->ival = v;
  return e;
}
inline ExprPtr F(double v) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::FloatConst;
  e->fval = v;
  return e;
}
inline ExprPtr N(const std::string& n) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Name;
  e->name = n;
  return e;
}
inline ExprPtr B(BinOp op, ExprPtr a, ExprPtr b) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Binary;
  e->bin_op = op;
  e->args = {a, b};
  return e;
}
inline ExprPtr Bool(bool v) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::BoolConst;
  e->ival = v ? 1 : 0;
  return e;
}
inline ExprPtr U(UnOp op, ExprPtr a) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Unary;
  e->un_op = op;
  e->args = {std::move(a)};
  return e;
}
inline ExprPtr Cmp(std::vector<CmpOp> ops, std::vector<ExprPtr> args) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Compare;
  e->cmp_ops = std::move(ops);
  e->args = std::move(args);
  return e;
}
inline ExprPtr L(BoolOp op, std::vector<ExprPtr> args) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Logical;
  e->bool_op = op;
  e->args = std::move(args);
  return e;
}
inline ExprPtr If(ExprPtr c, ExprPtr a, ExprPtr b) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::IfExp;
  e->args = {std::move(c), std::move(a), std::move(b)};
  return e;
}
inline ExprPtr Add(ExprPtr a, ExprPtr b) { return B(BinOp::Add, a, b); }
inline ExprPtr Sub(ExprPtr a, ExprPtr b) { return B(BinOp::Sub, a, b); }
inline ExprPtr Mul(ExprPtr a, ExprPtr b) { return B(BinOp::Mul, a, b); }
inline ExprPtr Div(ExprPtr a, ExprPtr b) { return B(BinOp::Div, a, b); }
inline ExprPtr Sub1(const std::string& a, std::vector<ExprPtr> idx) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Subscript;
  e->name = a;
  e->args = std::move(idx);
  return e;
}
inline ExprPtr Call(const std::string& f, std::vector<ExprPtr> args) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Call;
  e->name = f;
  e->args = std::move(args);
  return e;
}

struct Builder {
  int next_id = 1;
  StmtPtr assign(ExprPtr target, ExprPtr value) {
    auto s = std::make_shared<Stmt>();
    s->kind = StmtKind::Assign;
    s->id = next_id++;
    s->target = target;
    s->value = value;
    return s;
  }
  StmtPtr aug(ExprPtr target, BinOp op, ExprPtr value) {
    auto s = std::make_shared<Stmt>();
    s->kind = StmtKind::AugAssign;
    s->id = next_id++;
    s->target = target;
    s->value = value;
    s->aug_op = op;
    return s;
  }
  // Loops get their id before their body is built by the caller; pass it in.
  std::shared_ptr<Stmt> loop(const std::string& var, ExprPtr start, ExprPtr stop, int depth) {
    auto s = std::make_shared<Stmt>();
    s->kind = StmtKind::For;
    s->id = next_id++;
    s->var = var;
    s->start = start;
    s->stop = stop;
    s->step = I(1);
    s->depth = depth;
    return s;
  }
};

inline ArrayBinding array(DType t, std::vector<int64_t> shape) {
  ArrayBinding a;
  a.dtype = t;
  a.shape = shape;
  int64_t es = (t == DType::Float32 || t == DType::Int32) ? 4 : 8;
  a.strides.resize(shape.size());
  int64_t s = es;
  for (size_t d = shape.size(); d-- > 0;) {
    a.strides[d] = s;
    s *= shape[d];
  }
  a.c_contiguous = true;
  return a;
}

inline ScalarBinding int_scalar(int64_t v) {
  ScalarBinding s;
  s.kind = ScalarKind::Int;
  s.ival = v;
  return s;
}
inline ScalarBinding float_scalar(double v) {
  ScalarBinding s;
  s.kind = ScalarKind::Float;
  s.fval = v;
  return s;
}

inline LoopPlan loop_plan(const Stmt& s, LoopVerdict v) {
  LoopPlan p;
  p.loop = s.id;
  p.var = s.var;
  p.verdict = v;
  if (v == LoopVerdict::Sequential) p.reasons.push_back("A[i] depends on A[i-1]");
  return p;
}

}  // namespace irtest
