// Static phase: affine forms with symbolic coefficients, references, and the
// pairs of references that no run-time value can make dependent.
#include <algorithm>
#include <functional>
#include <numeric>

#include "internal.hpp"
#include "loopscope/analysis/deptest.hpp"

namespace loopscope::analysis {
namespace {

ExprPtr int_const(int64_t v) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::IntConst;
  e->ival = v;
  return e;
}
bool is_int(const ExprPtr& e) { return !e || e->kind == ExprKind::IntConst; }
int64_t int_val(const ExprPtr& e) { return e ? e->ival : 0; }

ExprPtr binary(BinOp op, ExprPtr a, ExprPtr b) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::Binary;
  e->bin_op = op;
  e->args = {a ? a : int_const(0), b ? b : int_const(0)};
  return e;
}

ExprPtr sym_add(const ExprPtr& a, const ExprPtr& b, bool sub = false) {
  if (is_int(a) && is_int(b)) {
    __int128 v = (__int128)int_val(a) + (sub ? -(__int128)int_val(b) : (__int128)int_val(b));
    if (v > INT64_MAX / 4 || v < INT64_MIN / 4) return binary(sub ? BinOp::Sub : BinOp::Add, a, b);
    return v == 0 ? nullptr : int_const((int64_t)v);
  }
  if (!b || (is_int(b) && int_val(b) == 0)) return a;
  if (!a && !sub) return b;
  return binary(sub ? BinOp::Sub : BinOp::Add, a, b);
}
ExprPtr sym_mul(const ExprPtr& a, const ExprPtr& b) {
  if (!a || !b) return nullptr;
  if (is_int(a) && is_int(b)) {
    __int128 v = (__int128)int_val(a) * int_val(b);
    if (v > INT64_MAX / 4 || v < INT64_MIN / 4) return binary(BinOp::Mul, a, b);
    return v == 0 ? nullptr : int_const((int64_t)v);
  }
  if (is_int(a) && int_val(a) == 1) return b;
  if (is_int(b) && int_val(b) == 1) return a;
  return binary(BinOp::Mul, a, b);
}

bool mentions(const Expr& e, const std::set<std::string>& names) {
  if ((e.kind == ExprKind::Name) && names.count(e.name)) return true;
  for (auto& a : e.args)
    if (mentions(*a, names)) return true;
  return false;
}

struct Builder {
  StaticAnalysis& sa;
  std::map<std::string, int> loop_of_var;  // loop variables in scope -> index
  size_t nloops;
  std::set<std::string> finished_loop_vars;  // every loop variable of the nest
  // Forward substitution: a scalar assigned exactly once in the nest, by
  // `k = e` with e affine and free of other scalars of the nest, stands for e
  // in the statements that follow it in the same block (and inside them):
  // there it always holds the value e has in the current iteration.
  std::map<std::string, int> assign_count;
  std::map<std::string, ExprPtr> available;

  bool substitutable(const Expr& e) {
    if (e.kind == ExprKind::Subscript || e.kind == ExprKind::Call) return false;
    if (e.kind == ExprKind::Name && (sa.assigned_scalars.count(e.name))) return false;
    for (auto& a : e.args)
      if (!substitutable(*a)) return false;
    return true;
  }
  void block(const std::vector<StmtPtr>& body, std::vector<int>& loops, int parent) {
    auto saved = available;
    for (auto& c : body) stmt(c, loops, parent);
    available = saved;
  }

  void add_symbols(const Expr& e) {
    if (e.kind == ExprKind::Name) sa.symbols.insert(e.name);
    for (auto& a : e.args) add_symbols(*a);
  }

  SymAffine unknown(const std::string& why) {
    SymAffine a;
    a.affine = false;
    a.why = why;
    return a;
  }

  SymAffine affine(const ExprPtr& e) {
    SymAffine r;
    r.affine = true;
    r.coef.assign(nloops, nullptr);
    switch (e->kind) {
      case ExprKind::IntConst:
      case ExprKind::BoolConst: r.constant = e->ival ? int_const(e->ival) : nullptr; return r;
      case ExprKind::Name: {
        auto it = loop_of_var.find(e->name);
        if (it != loop_of_var.end()) {
          if (opaque_vars.count(e->name)) return unknown(e->name + " runs over bounds known only while the loop runs");
          r.coef[it->second] = int_const(1);
          return r;
        }
        if (sa.assigned_scalars.count(e->name)) {
          auto av = available.find(e->name);
          if (av != available.end()) return affine(av->second);  // forward substitution
          return unknown(e->name + " is assigned inside the nest");
        }
        for (auto& l : sa.loops)
          if (l.stmt && l.stmt->var == e->name)
            return unknown(e->name + " is the variable of a loop that has finished");
        if (finished_loop_vars.count(e->name)) return unknown(e->name + " is the variable of a loop that has finished");
        sa.symbols.insert(e->name);
        r.constant = e;
        return r;
      }
      case ExprKind::Unary:
        if (e->un_op == UnOp::Not) return unknown("'not' in an index");
        if (e->un_op == UnOp::Invert) return unknown(to_source(*e) + " is not affine in the loop variables");
        {
          SymAffine a = affine(e->args[0]);
          if (!a.affine || e->un_op == UnOp::Pos) return a;
          for (auto& c : a.coef) c = c ? sym_mul(int_const(-1), c) : nullptr;
          a.constant = a.constant ? sym_mul(int_const(-1), a.constant) : nullptr;
          return a;
        }
      case ExprKind::Binary: {
        SymAffine a = affine(e->args[0]);
        SymAffine b = affine(e->args[1]);
        if (!a.affine) return a;
        if (!b.affine) return b;
        bool a_const = std::all_of(a.coef.begin(), a.coef.end(), [](auto& c) { return !c; });
        bool b_const = std::all_of(b.coef.begin(), b.coef.end(), [](auto& c) { return !c; });
        switch (e->bin_op) {
          case BinOp::Add:
          case BinOp::Sub: {
            bool sub = e->bin_op == BinOp::Sub;
            for (size_t k = 0; k < nloops; ++k) r.coef[k] = sym_add(a.coef[k], b.coef[k], sub);
            r.constant = sym_add(a.constant, b.constant, sub);
            return r;
          }
          case BinOp::Mul:
            if (a_const) std::swap(a, b), std::swap(a_const, b_const);
            if (!b_const) return unknown("the product " + to_source(*e) + " of loop variables is not affine");
            for (size_t k = 0; k < nloops; ++k) r.coef[k] = sym_mul(a.coef[k], b.constant);
            r.constant = sym_mul(a.constant, b.constant);
            return r;
          default:
            if (a_const && b_const) {  // a symbolic constant such as n // 2
              add_symbols(*e);
              r.constant = e;
              return r;
            }
            return unknown(to_source(*e) + " is not affine in the loop variables");
        }
      }
      case ExprKind::Subscript:
        return unknown(to_source(*e) + " reads an element of " + e->name + ", known only while the loop runs");
      default: return unknown(to_source(*e) + " is not an affine expression");
    }
  }

  // The variables of the opaque loops in scope (LoopInfo::opaque).
  std::set<std::string> opaque_vars;

  // Reads the bounds of loop `s` into `li`: affine forms, or clipped by
  // min/max, or opaque (LoopInfo says what each means).
  void read_bounds(const Stmt& s, LoopInfo& li) {
    li.start = affine(s.start);
    li.stop = affine(s.stop);
    li.step = affine(s.step);
    std::string why;
    for (const ExprPtr* bound : {&s.start, &s.stop}) {
      auto read = arrays_read(**bound);
      if (why.empty() && !read.empty())
        why = to_source(**bound) + " reads the array " + read.front() + ", so how many times loop " + s.var +
              " runs depends on array contents";
    }
    // min/max clip the iterations on the side where the loop stops (min of
    // a positive step's stop, max of a negative step's stop) or starts.
    int sign = 0;
    if (li.step.affine && is_int(li.step.constant) &&
        std::all_of(li.step.coef.begin(), li.step.coef.end(), [](auto& c) { return !c; }))
      sign = int_val(li.step.constant) > 0 ? 1 : int_val(li.step.constant) < 0 ? -1 : 0;
    auto clip = [&](const ExprPtr& bound, SymAffine& form, std::vector<SymAffine>& also, const char* fn) {
      if (form.affine || !why.empty()) return;
      if (sign != 0 && bound->kind == ExprKind::Call && bound->name == fn && bound->args.size() >= 2) {
        std::vector<SymAffine> alts;
        for (auto& a : bound->args) {
          SymAffine f = affine(a);
          if (f.affine) alts.push_back(std::move(f));
        }
        // The alternative that moves with the outer loops describes the
        // tightest superset for the dependence tests (ii <= i < ii + tile).
        auto moves = [](const SymAffine& f) {
          return std::any_of(f.coef.begin(), f.coef.end(), [](auto& c) { return !!c; });
        };
        auto pick = std::find_if(alts.begin(), alts.end(), moves);
        if (pick == alts.end()) pick = alts.begin();
        if (pick != alts.end()) {
          form = *pick;
          alts.erase(pick);
          also = std::move(alts);
          return;
        }
      }
      why = form.why;
    };
    bool step_fixed =
        li.step.affine && std::all_of(li.step.coef.begin(), li.step.coef.end(), [](auto& c) { return !c; });
    if (why.empty() && !step_fixed)
      why = "its step " + to_source(*s.step) + " changes from one iteration of the loops around it to the next";
    clip(s.start, li.start, li.start_also, sign > 0 ? "max" : "min");
    clip(s.stop, li.stop, li.stop_also, sign > 0 ? "min" : "max");
    if (why.empty()) return;
    // Opaque: the affine forms are placeholders nobody reads.
    li.opaque = true;
    li.opaque_why = why;
    li.start = li.stop = SymAffine{true, std::vector<ExprPtr>(nloops), nullptr, ""};
    li.start_also.clear();
    li.stop_also.clear();
  }

  // The conditions of the ifs around the statement being walked, as g >= 0.
  std::vector<SymAffine> guards;

  // a - b + k as an affine form (not affine when either side is not).
  SymAffine difference(const ExprPtr& a, const ExprPtr& b, int64_t k) {
    SymAffine x = affine(a), y = affine(b);
    if (!x.affine) return x;
    if (!y.affine) return y;
    SymAffine r;
    r.affine = true;
    r.coef.assign(nloops, nullptr);
    for (size_t i = 0; i < nloops; ++i) r.coef[i] = sym_add(x.coef[i], y.coef[i], true);
    r.constant = sym_add(sym_add(x.constant, y.constant, true), k ? int_const(k) : nullptr);
    return r;
  }

  // The affine facts g >= 0 that hold when `cond` is `truth`: comparisons of
  // affine sides, through `and` (true), `or` (false) and `not`. Anything else
  // gives no fact, which is always sound.
  void conditions(const Expr& cond, bool truth, std::vector<SymAffine>& out) {
    if (cond.kind == ExprKind::Unary && cond.un_op == UnOp::Not) {
      conditions(*cond.args[0], !truth, out);
      return;
    }
    if (cond.kind == ExprKind::Logical) {
      if ((cond.bool_op == BoolOp::And) == truth)
        for (auto& a : cond.args) conditions(*a, truth, out);
      return;
    }
    if (cond.kind != ExprKind::Compare) return;
    if (!truth && cond.cmp_ops.size() != 1) return;  // not (a < b < c) is a disjunction
    for (size_t k = 0; k < cond.cmp_ops.size(); ++k) {
      const ExprPtr& a = cond.args[k];
      const ExprPtr& b = cond.args[k + 1];
      CmpOp op = cond.cmp_ops[k];
      if (!truth) {
        static const CmpOp negated[] = {CmpOp::Ge, CmpOp::Gt, CmpOp::Le, CmpOp::Lt, CmpOp::Ne, CmpOp::Eq};
        op = negated[(int)op];
      }
      std::vector<SymAffine> facts;
      switch (op) {
        case CmpOp::Lt: facts = {difference(b, a, -1)}; break;  // b - a - 1 >= 0
        case CmpOp::Le: facts = {difference(b, a, 0)}; break;
        case CmpOp::Gt: facts = {difference(a, b, -1)}; break;
        case CmpOp::Ge: facts = {difference(a, b, 0)}; break;
        case CmpOp::Eq: facts = {difference(a, b, 0), difference(b, a, 0)}; break;
        case CmpOp::Ne: break;
      }
      for (auto& f : facts)
        if (f.affine) out.push_back(std::move(f));
    }
  }

  void collect_refs(const ExprPtr& e, const Stmt* s, bool write, const std::vector<int>& loops) {
    if (!e) return;
    if (e->kind == ExprKind::Subscript) {
      for (auto& a : e->args) collect_refs(a, s, false, loops);
      RefInfo r;
      r.index = (int)sa.refs.size();
      r.expr = e.get();
      r.stmt = s;
      r.write = write;
      r.array = e->name;
      r.loops = loops;
      for (auto& a : e->args) r.subs.push_back(affine(a));
      r.guards = guards;
      r.text = to_source(*e);
      sa.refs.push_back(std::move(r));
      return;
    }
    for (auto& a : e->args) collect_refs(a, s, false, loops);
  }

  void stmt(const StmtPtr& s, std::vector<int>& loops, int parent) {
    switch (s->kind) {
      case StmtKind::For: {
        LoopInfo li;
        li.stmt = s.get();
        li.parent = parent;
        int idx = sa.loop_index.at(s.get());
        loops.push_back(idx);
        li.chain = loops;
        read_bounds(*s, li);
        for (auto* part : {&s->start, &s->stop, &s->step})
          if (part && *part) collect_refs(*part, s.get(), false, std::vector<int>(loops.begin(), loops.end() - 1));
        sa.loops[idx] = li;
        loop_of_var[s->var] = idx;
        if (li.opaque) opaque_vars.insert(s->var);
        block(s->body, loops, idx);
        loop_of_var.erase(s->var);
        opaque_vars.erase(s->var);
        loops.pop_back();
        break;
      }
      case StmtKind::If: {
        collect_refs(s->cond, s.get(), false, loops);
        auto outside = guards;
        conditions(*s->cond, true, guards);
        block(s->body, loops, parent);
        guards = outside;
        conditions(*s->cond, false, guards);
        block(s->orelse, loops, parent);
        guards = outside;
        break;
      }
      case StmtKind::Break:
      case StmtKind::Continue: break;  // no reference
      case StmtKind::Assign:
      case StmtKind::AugAssign:
        if (s->kind == StmtKind::AugAssign && s->target->kind == ExprKind::Subscript)
          collect_refs(s->target, s.get(), false, loops);
        collect_refs(s->value, s.get(), false, loops);
        if (s->target->kind == ExprKind::Subscript) collect_refs(s->target, s.get(), true, loops);
        if (s->kind == StmtKind::Assign && s->target->kind == ExprKind::Name && assign_count[s->target->name] == 1 &&
            substitutable(*s->value) && affine(s->value).affine)
          available[s->target->name] = s->value;
        break;
    }
  }
};

void collect_assigned(const StmtPtr& s, std::set<std::string>& out) {
  if ((s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign) && s->target->kind == ExprKind::Name)
    out.insert(s->target->name);
  for (auto& c : s->body) collect_assigned(c, out);
  for (auto& c : s->orelse) collect_assigned(c, out);
}

}  // namespace

const LoopNest& nest_of(const StaticAnalysis& sa) { return *sa.nest; }

std::vector<std::string> indirect_arrays(const StaticAnalysis& sa, const Expr& index) {
  std::vector<std::string> out = arrays_read(index);
  std::function<void(const Expr&)> walk = [&](const Expr& e) {
    if (e.kind == ExprKind::Name) {
      auto it = sa.scalars_from_arrays.find(e.name);
      if (it != sa.scalars_from_arrays.end())
        for (auto& a : it->second)
          if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
    }
    for (auto& a : e.args)
      if (a) walk(*a);
  };
  walk(index);
  return out;
}
std::optional<Decline> static_decline(const StaticAnalysis& sa) { return sa.decline; }

static std::shared_ptr<StaticAnalysis> analyze_static_impl(std::shared_ptr<const LoopNest> nest);

std::shared_ptr<const StaticAnalysis> analyze_static(std::shared_ptr<const LoopNest> nest) {
  try {
    return analyze_static_impl(nest);
  } catch (const std::exception& e) {
    auto sa = std::make_shared<StaticAnalysis>();
    sa->nest = nest;
    sa->decline =
        Decline{DeclineCode::Internal, nest->first_line,
                std::string("internal error in the static analysis (") + e.what() + "); the loop runs as plain Python",
                e.what()};
    return sa;
  }
}

static std::shared_ptr<StaticAnalysis> analyze_static_impl(std::shared_ptr<const LoopNest> nest) {
  auto sa = std::make_shared<StaticAnalysis>();
  sa->nest = nest;
  auto loops = nest->loops();
  for (size_t i = 0; i < loops.size(); ++i) sa->loop_index[loops[i]] = (int)i;
  sa->loops.resize(loops.size());
  collect_assigned(nest->root, sa->assigned_scalars);
  {
    std::set<std::string> other;  // assigned otherwise at least once
    for (auto* st : nest->statements()) {
      if (st->target->kind != ExprKind::Name) continue;
      const std::string& k = st->target->name;
      auto read = st->kind == StmtKind::Assign ? arrays_read(*st->value) : std::vector<std::string>{};
      if (read.empty()) {
        other.insert(k);
        continue;
      }
      auto& names = sa->scalars_from_arrays[k];
      for (auto& a : read)
        if (std::find(names.begin(), names.end(), a) == names.end()) names.push_back(a);
    }
    for (auto& k : other) sa->scalars_from_arrays.erase(k);
  }
  Builder b{*sa, {}, loops.size(), {}, {}, {}, {}, {}};
  for (auto* l : loops) b.finished_loop_vars.insert(l->var);
  for (auto* st : nest->statements())
    if (st->target->kind == ExprKind::Name) ++b.assign_count[st->target->name];
  std::vector<int> chain;
  b.stmt(nest->root, chain, -1);

  {
    std::set<std::string> written;
    for (auto& r : sa->refs)
      if (r.write) written.insert(r.array);
    for (auto& r : sa->refs)
      if (written.count(r.array))
        for (auto& a : r.expr->args)
          if (a->kind == ExprKind::Subscript && a->args.size() == 1 && !written.count(a->name))
            sa->inspected_indexes.insert(a->name);
  }

  // Pairs settled for every value: same array, a dimension whose concrete
  // coefficients admit no integer solution (GCD), or constants that differ
  // (ZIV).
  auto concrete = [](const SymAffine& a) {
    if (!a.affine || !is_int(a.constant)) return false;
    for (auto& c : a.coef)
      if (!is_int(c)) return false;
    return true;
  };
  for (size_t i = 0; i < sa->refs.size(); ++i) {
    for (size_t j = i; j < sa->refs.size(); ++j) {
      auto& r1 = sa->refs[i];
      auto& r2 = sa->refs[j];
      if (!r1.write && !r2.write) continue;
      if (r1.array != r2.array || r1.subs.size() != r2.subs.size()) continue;
      for (size_t d = 0; d < r1.subs.size(); ++d) {
        if (!concrete(r1.subs[d]) || !concrete(r2.subs[d])) continue;
        // Only when no negative value can wrap: a constant subscript >= 0 on
        // both sides with no loop variable (ZIV) is settled.
        bool ziv1 = std::all_of(r1.subs[d].coef.begin(), r1.subs[d].coef.end(), [](auto& c) { return !c; });
        bool ziv2 = std::all_of(r2.subs[d].coef.begin(), r2.subs[d].coef.end(), [](auto& c) { return !c; });
        int64_t c1 = int_val(r1.subs[d].constant), c2 = int_val(r2.subs[d].constant);
        if (ziv1 && ziv2 && c1 >= 0 && c2 >= 0 && c1 != c2) {
          sa->settled.insert({(int)i, (int)j});
          sa->settled_text.push_back(r1.text + " and " + r2.text +
                                     " never touch the same element (ZIV: constant subscripts " + std::to_string(c1) +
                                     " and " + std::to_string(c2) + ")");
          break;
        }
      }
    }
  }
  return sa;
}

StaticSummary summarize(const StaticAnalysis& sa, size_t skeleton_max) {
  StaticSummary s;
  for (auto& r : sa.refs) {
    std::string t = r.stmt->label() + (r.write ? " writes " : " reads ") + r.text + ": ";
    bool all = true, indirect = false;
    std::string why;
    for (size_t k = 0; k < r.subs.size(); ++k) {
      if (r.subs[k].affine) continue;
      bool reads = !arrays_read(*r.expr->args[k]).empty();
      if (all || (reads && !indirect)) why = r.subs[k].why;
      all = false;
      indirect |= reads;
    }
    t += all ? "affine" : (indirect ? "indirect (" : "not affine (") + why + ")";
    s.references.push_back(t);
  }
  s.settled = sa.settled_text;
  if (!sa.symbols.empty()) {
    std::string t = "values of ";
    bool first = true;
    for (auto& n : sa.symbols) t += (first ? "" : ", ") + n, first = false;
    s.for_run_time.push_back(t + " (loop bounds and subscripts)");
  }
  s.for_run_time.push_back("array shapes, strides and which arrays share memory");
  // The open pairs (i <= j, at least one write, not settled) are counted
  // without visiting them: every pair with a write, less the settled ones
  // (each of which has a write).
  size_t n = sa.refs.size(), reads = 0;
  for (auto& r : sa.refs)
    if (!r.write) ++reads;
  s.skeleton_pairs = n * (n + 1) / 2 - reads * (reads + 1) / 2 - sa.settled.size();
  const size_t shown = std::min(skeleton_max, s.skeleton_pairs);
  for (size_t i = 0; i < n && s.skeleton.size() < shown; ++i)
    for (size_t j = i; j < n && s.skeleton.size() < shown; ++j)
      if ((sa.refs[i].write || sa.refs[j].write) && !sa.settled.count({(int)i, (int)j})) {
        auto& a = sa.refs[i];
        auto& b = sa.refs[j];
        std::string note = a.array == b.array ? "" : " (only if " + a.array + " and " + b.array + " share memory)";
        s.skeleton.push_back(a.stmt->label() + (a.write ? " writes " : " reads ") + a.text + " / " + b.stmt->label() +
                             (b.write ? " writes " : " reads ") + b.text + note);
      }
  s.for_run_time.push_back(std::to_string(s.skeleton_pairs) + " pairs of references to test with the bound values");
  return s;
}

}  // namespace loopscope::analysis
