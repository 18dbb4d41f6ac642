// Hand-built loop nests for the CUDA generator tests.
#pragma once

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"
#include "loopscope/analysis/plan.hpp"

namespace cudatest {

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
inline ExprPtr At(const std::string& a, std::vector<ExprPtr> idx) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Subscript;
  e->name = a;
  e->args = std::move(idx);
  return e;
}
inline ExprPtr B(BinOp op, ExprPtr a, ExprPtr b) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Binary;
  e->bin_op = op;
  e->args = {a, b};
  return e;
}
inline ExprPtr Call(const std::string& fn, std::vector<ExprPtr> args) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Call;
  e->name = fn;
  e->args = std::move(args);
  return e;
}
inline ExprPtr Cmp(CmpOp op, ExprPtr a, ExprPtr b) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Compare;
  e->cmp_ops = {op};
  e->args = {a, b};
  return e;
}

inline StmtPtr Assign(int id, ExprPtr target, ExprPtr value, int line = 0) {
  auto s = std::make_shared<Stmt>();
  s->kind = StmtKind::Assign;
  s->id = id;
  s->line = line;
  s->target = target;
  s->value = value;
  return s;
}
inline StmtPtr Aug(int id, BinOp op, ExprPtr target, ExprPtr value, int line = 0) {
  auto s = std::make_shared<Stmt>();
  s->kind = StmtKind::AugAssign;
  s->id = id;
  s->line = line;
  s->aug_op = op;
  s->target = target;
  s->value = value;
  return s;
}
inline StmtPtr If(int id, ExprPtr cond, std::vector<StmtPtr> body, std::vector<StmtPtr> orelse = {}, int line = 0) {
  auto s = std::make_shared<Stmt>();
  s->kind = StmtKind::If;
  s->id = id;
  s->line = line;
  s->cond = cond;
  s->body = std::move(body);
  s->orelse = std::move(orelse);
  return s;
}
inline StmtPtr For(int id, const std::string& var, ExprPtr start, ExprPtr stop, std::vector<StmtPtr> body, int line = 0,
                   ExprPtr step = nullptr) {
  auto s = std::make_shared<Stmt>();
  s->kind = StmtKind::For;
  s->id = id;
  s->line = line;
  s->var = var;
  s->start = start;
  s->stop = stop;
  s->step = step;
  s->body = std::move(body);
  return s;
}

inline LoopPlan LP(int loop, const std::string& var, LoopVerdict v, std::vector<Reduction> reds = {}) {
  LoopPlan p;
  p.loop = loop;
  p.var = var;
  p.verdict = v;
  p.reductions = std::move(reds);
  if (v != LoopVerdict::Parallel) p.reasons.push_back("test");
  return p;
}

// A C-contiguous array over caller-owned storage.
template <class T>
ArrayBinding Arr(std::vector<T>& data, std::vector<int64_t> shape, DType dt) {
  ArrayBinding a;
  a.dtype = dt;
  a.data = data.data();
  a.shape = shape;
  a.strides.resize(shape.size());
  int64_t st = sizeof(T);
  for (size_t d = shape.size(); d-- > 0;) {
    a.strides[d] = st;
    st *= shape[d];
  }
  a.mem_lo = (uintptr_t)data.data();
  a.mem_hi = a.mem_lo + data.size() * sizeof(T);
  a.c_contiguous = true;
  return a;
}

inline ScalarBinding IntS(int64_t v) {
  ScalarBinding s;
  s.kind = ScalarKind::Int;
  s.ival = v;
  return s;
}
inline ScalarBinding FloatS(double v) {
  ScalarBinding s;
  s.kind = ScalarKind::Float;
  s.fval = v;
  return s;
}

inline void use_test_cache() {
  setenv("LOOPSCOPE_CACHE_DIR", LOOPSCOPE_BINARY_DIR "/test-cache", 1);
  setenv("LOOPSCOPE_SHARE_DIR", LOOPSCOPE_SOURCE_DIR "/share", 1);
}

}  // namespace cudatest
