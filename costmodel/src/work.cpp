// Work counting over the loop-nest IR: the public entry points of work.hpp
// (OpCounts and WorkProfile arithmetic, count_work, work_key). The Counter
// that does the counting is declared in work_internal.hpp, which names the
// file of each of its parts. See docs/costmodel.md, "Counting work".
#include "work_internal.hpp"

#include <cstdint>
#include <cstring>
#include <set>
#include <string>

namespace loopscope::costmodel {

OpCounts& OpCounts::operator+=(const OpCounts& o) {
  add += o.add;
  mul += o.mul;
  div += o.div;
  sqrt += o.sqrt;
  exp += o.exp;
  pow += o.pow;
  intop += o.intop;
  idiv += o.idiv;
  idiv_const += o.idiv_const;
  fmod += o.fmod;
  fmod_bits += o.fmod_bits;
  compare += o.compare;
  call += o.call;
  load += o.load;
  store += o.store;
  assign += o.assign;
  index_dims += o.index_dims;
  branch_miss += o.branch_miss;
  py_float += o.py_float;
  py_mixed += o.py_mixed;
  np_call += o.np_call;
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
  r.idiv *= f;
  r.idiv_const *= f;
  r.fmod *= f;
  r.fmod_bits *= f;
  r.compare *= f;
  r.call *= f;
  r.load *= f;
  r.store *= f;
  r.assign *= f;
  r.index_dims *= f;
  r.branch_miss *= f;
  r.py_float *= f;
  r.py_mixed *= f;
  r.np_call *= f;
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

WorkProfile count_work(const BoundNest& bound, const ParallelPlan& plan, double size_scale,
                       const NestMapping* mapping) {
  if (mapping) return work_detail::Counter(bound, plan, *mapping, size_scale).run();
  const NestMapping by_verdicts = map_by_verdicts(bound, plan);
  return work_detail::Counter(bound, plan, by_verdicts, size_scale).run();
}

namespace {
void names_of(const ExprPtr& e, std::set<std::string>& out) {
  if (!e) return;
  if (e->kind == ExprKind::Name) out.insert(e->name);
  for (auto& a : e->args) names_of(a, out);
}

// The operands of // and % (and fmod()): the count samples their quotients
// (Counter::sampled_remainder).
void remainder_names(const ExprPtr& e, std::set<std::string>& out) {
  if (!e) return;
  if ((e->kind == ExprKind::Binary && (e->bin_op == BinOp::FloorDiv || e->bin_op == BinOp::Mod)) ||
      (e->kind == ExprKind::Call && e->name == "fmod"))
    names_of(e, out);
  for (auto& a : e->args) remainder_names(a, out);
}

// Names whose float values the count reads (Counter::eval_real,
// Counter::eval_sampled): in loop bounds, while conditions and what a while
// loop's body assigns, the conditions of ifs and the operands of remainders.
// (The count also samples array elements; those are the arrays' values at
// the first count for a key.)
void counted_names(const Stmt* s, bool in_while, std::set<std::string>& out) {
  if (!s) return;
  if (s->kind == StmtKind::For) {
    names_of(s->start, out);
    names_of(s->stop, out);
    names_of(s->step, out);
  }
  if (s->kind == StmtKind::If) names_of(s->cond, out);
  if (s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign) {
    remainder_names(s->value, out);
    if (s->kind == StmtKind::AugAssign && (s->aug_op == BinOp::FloorDiv || s->aug_op == BinOp::Mod)) {
      names_of(s->target, out);
      names_of(s->value, out);
    }
  }
  if (in_while && (s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign)) names_of(s->value, out);
  for (auto& c : s->body) counted_names(c.get(), in_while || s->is_while, out);
  for (auto& c : s->orelse) counted_names(c.get(), in_while, out);
}
}  // namespace

bool numpy_loop_var(const std::string& var) { return var.rfind("$slice", 0) == 0 || var.rfind("$reduce", 0) == 0; }

std::string work_key(const BoundNest& b) {
  std::string k;
  auto put = [&](int64_t v) { k.append(reinterpret_cast<const char*>(&v), sizeof v); };
  auto name = [&](const std::string& n) {
    put((int64_t)n.size());
    k += n;
  };
  put((int64_t)(intptr_t)b.nest);
  std::set<std::string> read;
  if (b.nest) counted_names(b.nest->root.get(), false, read);
  put((int64_t)b.scalars.size());
  for (auto& [n, s] : b.scalars) {
    name(n);
    k.push_back(s.kind == ScalarKind::Int ? 'i' : s.kind == ScalarKind::Bool ? 'b' : 'f');
    k.push_back(s.numpy ? (char)('A' + (int)s.numpy_dtype) : '-');  // the interpreter's prices (py_value)
    // A float's value where the count reads it: a bound or a while loop's
    // limit or step computed from it (Counter::eval_real); elsewhere not.
    if (s.kind == ScalarKind::Float && read.count(n)) {
      int64_t bits;
      std::memcpy(&bits, &s.fval, sizeof bits);
      put(bits);
    } else {
      put(s.kind == ScalarKind::Float ? 0 : s.ival);
    }
  }
  put((int64_t)b.arrays.size());
  for (auto& [n, a] : b.arrays) {
    name(n);
    k.push_back((char)a.dtype);
    k.push_back(a.python_elements ? 'L' : '-');  // a list's snapshot (WorkProfile::list_items)
    put((int64_t)a.shape.size());
    for (auto x : a.shape) put(x);
    put((int64_t)a.strides.size());
    for (auto x : a.strides) put(x);
  }
  return k;
}

}  // namespace loopscope::costmodel
