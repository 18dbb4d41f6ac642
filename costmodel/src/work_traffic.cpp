// Work counting: the memory traffic of array references. Index expressions
// over the loop ranges (interval, coeff), and for each reference (count_ref)
// its array's reads and writes, its footprint, the bytes a CPU brings along
// the innermost loop (strides, column walks kept in cache, group reuse of
// neighbouring references), its GPU accesses and coalescing along the grid's
// x loop, and whether it keeps a leaf loop from vectorising.
#include "work_internal.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace loopscope::costmodel::work_detail {

// The same expression tree (kinds, names, constants, operators, arguments).
bool same_expr(const ExprPtr& a, const ExprPtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  if (a->kind != b->kind || a->name != b->name || a->ival != b->ival || a->fval != b->fval || a->bin_op != b->bin_op ||
      a->un_op != b->un_op || a->bool_op != b->bool_op || a->cmp_ops != b->cmp_ops || a->args.size() != b->args.size())
    return false;
  for (size_t k = 0; k < a->args.size(); ++k)
    if (!same_expr(a->args[k], b->args[k])) return false;
  return true;
}

// Interval of an affine-ish index expression over the loop ranges, with
// analysis/interval.hpp's arithmetic (exact, or unknown: the footprint then
// takes the whole axis).
analysis::IntInterval Counter::interval(const ExprPtr& e) {
  if (!e) return {};
  if (e->kind == ExprKind::Name) {
    auto r = range_.find(e->name);
    if (r != range_.end()) return r->second;
  }
  if (e->kind == ExprKind::Binary && (e->bin_op == BinOp::Add || e->bin_op == BinOp::Sub || e->bin_op == BinOp::Mul)) {
    auto a = interval(e->args[0]), c = interval(e->args[1]);
    if (e->bin_op == BinOp::Add) return analysis::add(a, c);
    if (e->bin_op == BinOp::Sub) return analysis::sub(a, c);
    return analysis::mul(a, c);
  }
  if (e->kind == ExprKind::Unary && e->un_op == UnOp::Neg) return analysis::neg(interval(e->args[0]));
  auto v = eval(e);
  if (v) return analysis::IntInterval::of(*v);
  return {};
}

// Coefficient of loop variable `var` in an index expression: 0 when the
// expression does not mention it, NaN when it is not affine in it.
double Counter::coeff(const ExprPtr& e, const std::string& var) {
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
    double ext = iv.known ? (double)(iv.hi - iv.lo + 1) : (double)dim;
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

}  // namespace loopscope::costmodel::work_detail
