// Dynamic phase, the parallel plan: from the dependence edges of a bound
// instance, for every loop its verdict (parallel, reduction, sequential)
// and the reasons, its reductions (scalars and array elements), private
// and last-private scalars, the notes and the proofs (Planner).
// Separate because it reads the graph only: nothing here tests dependences.
#include "dynamic_internal.hpp"

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>

namespace loopscope::analysis::dynamic_detail {

namespace {

// ---- scalar analysis helpers ----------------------------------------------

bool reads(const Expr* e, const std::string& s) {
  if (!e) return false;
  if (e->kind == ExprKind::Name && e->name == s) return true;
  for (auto& a : e->args)
    if (reads(a.get(), s)) return true;
  return false;
}

bool stmt_reads(const Stmt& st, const std::string& s) {
  switch (st.kind) {
    case StmtKind::For: return reads(st.start.get(), s) || reads(st.stop.get(), s) || reads(st.step.get(), s);
    case StmtKind::If: return reads(st.cond.get(), s);
    case StmtKind::Break:
    case StmtKind::Continue: return false;
    default:
      if (st.kind == StmtKind::AugAssign && st.target->kind == ExprKind::Name && st.target->name == s) return true;
      if (reads(st.value.get(), s)) return true;
      if (st.target->kind == ExprKind::Subscript)
        for (auto& a : st.target->args)
          if (reads(a.get(), s)) return true;
      return false;
  }
}

struct RedForm {
  BinOp op = BinOp::Add;
  std::string fn;
  const Expr* operand = nullptr;  // the read of the accumulator (Assign form)
  bool operator==(const RedForm& o) const { return op == o.op && fn == o.fn; }
};

// `acc` is the accumulator as text ("s" or "A[i]"); `mentions` tells whether
// an expression mentions the accumulator.
std::optional<RedForm> reduction_form(const Stmt& st, const std::string& acc,
                                      const std::function<bool(const Expr*)>& mentions) {
  if (to_source(*st.target) != acc) return std::nullopt;
  if (st.kind == StmtKind::AugAssign) {
    if (st.aug_op != BinOp::Add && st.aug_op != BinOp::Sub && st.aug_op != BinOp::Mul) return std::nullopt;
    if (mentions(st.value.get())) return std::nullopt;
    return RedForm{st.aug_op, "", nullptr};
  }
  if (st.kind != StmtKind::Assign) return std::nullopt;
  const Expr& v = *st.value;
  if (v.kind == ExprKind::Binary && (v.bin_op == BinOp::Add || v.bin_op == BinOp::Sub || v.bin_op == BinOp::Mul)) {
    const Expr* l = v.args[0].get();
    const Expr* r = v.args[1].get();
    if (to_source(*l) == acc && !mentions(r)) return RedForm{v.bin_op, "", l};
    if (v.bin_op != BinOp::Sub && to_source(*r) == acc && !mentions(l)) return RedForm{v.bin_op, "", r};
    return std::nullopt;
  }
  if (v.kind == ExprKind::Call && (v.name == "min" || v.name == "max") && v.args.size() == 2) {
    const Expr* l = v.args[0].get();
    const Expr* r = v.args[1].get();
    if (to_source(*l) == acc && !mentions(r)) return RedForm{BinOp::Add, v.name, l};
    if (to_source(*r) == acc && !mentions(l)) return RedForm{BinOp::Add, v.name, r};
  }
  return std::nullopt;
}

void walk_stmts(const std::vector<StmtPtr>& body, const std::function<void(const Stmt&)>& f) {
  for (auto& s : body) {
    f(*s);
    walk_stmts(s->body, f);
    walk_stmts(s->orelse, f);
  }
}

// Whether an expression's value is certainly an integer (a Python int or
// bool, or a NumPy integer) in this bound instance; false when it may be a
// float. `int_names` hold integers for sure (loop variables, and an
// accumulator under test); other names assigned in the nest (`local`) are
// not known, and names read from outside have their bound kind.
bool certainly_integer(const Expr& e, const BoundNest& b, const std::set<std::string>& int_names,
                       const std::set<std::string>& local) {
  auto all_args = [&](size_t from) {
    for (size_t k = from; k < e.args.size(); ++k)
      if (!certainly_integer(*e.args[k], b, int_names, local)) return false;
    return true;
  };
  switch (e.kind) {
    case ExprKind::IntConst:
    case ExprKind::BoolConst:
    case ExprKind::Compare: return true;
    case ExprKind::FloatConst: return false;
    case ExprKind::Name: {
      if (int_names.count(e.name)) return true;
      if (local.count(e.name)) return false;
      auto it = b.scalars.find(e.name);
      return it != b.scalars.end() && it->second.kind != ScalarKind::Float && it->second.kind != ScalarKind::Complex;
    }
    case ExprKind::Subscript: {
      auto it = b.arrays.find(e.name);
      return it != b.arrays.end() && it->second.dtype != DType::Float64 && it->second.dtype != DType::Float32 &&
             it->second.dtype != DType::Float16;
    }
    case ExprKind::Binary:
      return (e.bin_op == BinOp::Add || e.bin_op == BinOp::Sub || e.bin_op == BinOp::Mul ||
              e.bin_op == BinOp::FloorDiv || e.bin_op == BinOp::Mod) &&
             all_args(0);
    case ExprKind::Unary:
    case ExprKind::Logical: return all_args(0);
    case ExprKind::IfExp: return all_args(1);
    case ExprKind::Call:
      if (e.name == "int" || e.name == "len") return true;
      return (e.name == "abs" || e.name == "min" || e.name == "max") && all_args(0);
  }
  return false;
}

std::string join_dirs(const std::vector<Direction>& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::string(1, to_char(d[i]));
  return s + ")";
}
std::string join_dist(const std::vector<std::optional<int64_t>>& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + (d[i] ? std::to_string(*d[i]) : std::string("?"));
  return s + ")";
}

}  // namespace

std::string Planner::find(const std::string& a) {
  auto it = cls.find(a);
  if (it == cls.end() || it->second == a) return a;
  return it->second = find(it->second);
}

// Is `s` definitely assigned after `body` runs, and is it read before being
// assigned (exposed_line)?
bool Planner::defs(const std::vector<StmtPtr>& body, const std::string& s, bool defined, int& exposed_line) {
  for (auto& st : body) {
    switch (st->kind) {
      case StmtKind::For: {
        if (!defined && stmt_reads(*st, s) && exposed_line < 0) exposed_line = st->line;
        bool inner = defs(st->body, s, defined || st->var == s, exposed_line);
        int idx = sa.loop_index.at(st.get());
        if (dy.loops[idx].min_trip >= 1) defined = inner || st->var == s || defined;
        break;
      }
      case StmtKind::If: {
        if (!defined && stmt_reads(*st, s) && exposed_line < 0) exposed_line = st->line;
        bool a = defs(st->body, s, defined, exposed_line);
        bool c = defs(st->orelse, s, defined, exposed_line);
        defined = a && c;
        break;
      }
      case StmtKind::Break:
      case StmtKind::Continue: break;  // the last statement of its block
      default:
        if (!defined && stmt_reads(*st, s) && exposed_line < 0) exposed_line = st->line;
        if (st->target->kind == ExprKind::Name && st->target->name == s) defined = true;
    }
  }
  return defined;
}

// The arrays the subscripts of a reference read ("idx" for x[idx[i]]), as
// "idx" or "idx and col"; empty for a reference without indirect subscripts.
static std::string indirect_names(const StaticAnalysis& sa, const RefInfo& r) {
  std::vector<std::string> names;
  for (auto& a : r.expr->args)
    for (auto& n : indirect_arrays(sa, *a))
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  std::string out;
  for (size_t k = 0; k < names.size(); ++k) out += (k == 0 ? "" : k + 1 == names.size() ? " and " : ", ") + names[k];
  return out;
}

std::string Planner::describe_edge(const FoundEdge& ie, const Stmt& L) {
  const DependenceEdge& e = ie.e;
  const Stmt* s = by_id[e.src];
  const Stmt* d = by_id[e.dst];
  std::ostringstream os;
  os << L.var << " carries " << (e.kind == DepKind::Flow ? "a " : "an ") << to_string(e.kind) << " dependence "
     << s->label() << " -> " << d->label() << " on " << e.variable << ": ";
  // An indirect subscript (the written one first): its element is unknown,
  // so any two iterations may meet there.
  const RefInfo& rs = sa.refs[ie.r_src];
  const RefInfo& rd = sa.refs[ie.r_dst];
  const RefInfo* ind = nullptr;
  for (const RefInfo* r : {&rs, &rd})
    if (!ind && r->write && !indirect_names(sa, *r).empty()) ind = r;
  for (const RefInfo* r : {&rs, &rd})
    if (!ind && !indirect_names(sa, *r).empty()) ind = r;
  if (ind) {
    os << ind->text << " is " << (ind->write ? "written" : "read")
       << " at a subscript the analysis cannot read (it depends on " << indirect_names(sa, *ind) << "), so " << L.var;
    if (e.kind == DepKind::Output && rs.text == rd.text)
      os << " may write the same element in two iterations";
    else if (rs.text == rd.text)
      os << " may "
         << (e.kind == DepKind::Flow ? "write an element in one iteration and read it"
                                     : "read an element in one iteration and overwrite it")
         << " in a later one";
    else if (e.kind == DepKind::Output)
      os << " may write an element as " << rs.text << " in one iteration and again as " << rd.text << " in a later one";
    else if (e.kind == DepKind::Flow)
      os << " may write an element as " << rs.text << " in one iteration and read it as " << rd.text
         << " in a later one";
    else
      os << " may read an element as " << rs.text << " in one iteration and overwrite it as " << rd.text
         << " in a later one";
    return os.str();
  }
  os << e.src_ref;
  const char* first = e.kind == DepKind::Anti ? " read" : " written";
  const char* second = e.kind == DepKind::Flow ? "read" : e.kind == DepKind::Anti ? "overwritten" : "written again";
  std::string where;
  if (e.carrier >= 0 && e.distance[e.carrier]) {
    int64_t step = dy.loops[sa.loop_index.at(&L)].step;
    int64_t delta = *e.distance[e.carrier] * step;
    where = L.var + (delta >= 0 ? "+" : "-") + std::to_string(delta >= 0 ? delta : -delta);
    os << first << " at iteration " << L.var << " is " << second;
    if (e.dst_ref != e.src_ref) os << " as " << e.dst_ref;
    os << " at " << where << " (distance " << join_dist(e.distance) << ")";
  } else {
    os << first << " at one iteration of " << L.var << " is " << second;
    if (e.dst_ref != e.src_ref) os << " as " << e.dst_ref;
    os << " at a later one (direction " << join_dirs(e.direction) << ")";
  }
  return os.str();
}

void Planner::run() {
  walk_stmts({sa.nest->root}, [&](const Stmt& s) { by_id[s.id] = &s; });
  for (auto& [k, r] : dy.array_relations)
    if (r != Relation::Disjoint) {
      std::string a = find(k.first), c = find(k.second);
      if (a != c) cls[a] = c;
    }
  for (auto& ie : dy.edges) plan.edges.push_back(ie.e);
  plan.proofs = sa.settled_text;  // proved when the cell was submitted
  plan.proofs.insert(plan.proofs.end(), dy.proofs.begin(), dy.proofs.end());
  bool any_float_reduction = false;
  // Whether the accumulator scalar `s` certainly holds an integer: its
  // value from outside (if any) is one, and every assignment to it in the
  // nest stores one.
  std::set<std::string> loop_vars, assigned_in_nest;
  walk_stmts({sa.nest->root}, [&](const Stmt& st) {
    if (st.kind == StmtKind::For) loop_vars.insert(st.var);
    if ((st.kind == StmtKind::Assign || st.kind == StmtKind::AugAssign) && st.target->kind == ExprKind::Name)
      assigned_in_nest.insert(st.target->name);
  });
  auto scalar_is_integer = [&](const std::string& s) {
    auto it = dy.bound.scalars.find(s);
    if (it != dy.bound.scalars.end() &&
        (it->second.kind == ScalarKind::Float || it->second.kind == ScalarKind::Complex))
      return false;
    std::set<std::string> ints = loop_vars;
    ints.insert(s);
    bool all = true;
    walk_stmts({sa.nest->root}, [&](const Stmt& st) {
      if ((st.kind == StmtKind::Assign || st.kind == StmtKind::AugAssign) && st.target->kind == ExprKind::Name &&
          st.target->name == s) {
        if (st.kind == StmtKind::AugAssign && st.aug_op != BinOp::Add && st.aug_op != BinOp::Sub &&
            st.aug_op != BinOp::Mul && st.aug_op != BinOp::FloorDiv && st.aug_op != BinOp::Mod)
          all = false;
        if (!certainly_integer(*st.value, dy.bound, ints, assigned_in_nest)) all = false;
      }
    });
    return all;
  };

  for (size_t li = 0; li < sa.loops.size(); ++li) {
    const Stmt& L = *sa.loops[li].stmt;
    LoopPlan lp;
    lp.loop = L.id;
    lp.var = L.var;
    lp.line = L.line;
    std::vector<std::string> reasons;
    std::vector<Reduction> reassociated_floats;  // into float accumulators, with +, - or *
    if (sa.loops[li].opaque)
      reasons.push_back(L.var + " runs in order: its bounds are known only while the loops around it run (" +
                        sa.loops[li].opaque_why +
                        "), so the analysis cannot tell which iterations touch the same "
                        "elements");

    // --- a break: how many iterations run depends on what the loop computes
    {
      const Stmt* brk = nullptr;
      walk_stmts(L.body, [&](const Stmt& st) {
        if (!brk && st.kind == StmtKind::Break && st.jump_target == L.id) brk = &st;
      });
      if (brk)
        reasons.push_back(L.var + " may stop early: the 'break' on line " + std::to_string(brk->line) +
                          " leaves the loop when a condition holds, so an iteration runs only when the ones "
                          "before it did not break, and the iterations run in order");
    }

    // --- scalars
    std::set<std::string> assigned, inner_vars;
    walk_stmts(L.body, [&](const Stmt& s) {
      if ((s.kind == StmtKind::Assign || s.kind == StmtKind::AugAssign) && s.target->kind == ExprKind::Name)
        assigned.insert(s.target->name);
      if (s.kind == StmtKind::For) inner_vars.insert(s.var);
    });
    for (auto& v : inner_vars) {
      int exposed = -1;
      defs(L.body, v, false, exposed);
      if (exposed >= 0)
        reasons.push_back(L.var + " carries a flow dependence on " + v + ": line " + std::to_string(exposed) +
                          " reads " + v + " after its loop, which may not have run in this iteration");
      else
        lp.privates.push_back(v);
    }
    for (auto& s : assigned) {
      // reduction?
      bool ok = true, any = false;
      std::optional<RedForm> form;
      std::vector<int> stmts;
      auto mentions = [&](const Expr* e) { return reads(e, s); };
      walk_stmts(L.body, [&](const Stmt& st) {
        if (!ok) return;
        if (st.kind == StmtKind::For || st.kind == StmtKind::If) {
          if (stmt_reads(st, s)) ok = false;
          return;
        }
        if (st.kind == StmtKind::Break || st.kind == StmtKind::Continue) return;
        bool touches = stmt_reads(st, s) || (st.target->kind == ExprKind::Name && st.target->name == s);
        if (!touches) return;
        auto f = reduction_form(st, s, mentions);
        if (!f || (form && !(*form == *f))) {
          ok = false;
          return;
        }
        form = f;
        any = true;
        stmts.push_back(st.id);
      });
      if (ok && any) {
        for (int id : stmts) lp.reductions.push_back(Reduction{s, form->op, form->fn, id});
        if (!scalar_is_integer(s)) {
          any_float_reduction = true;
          if (form->fn.empty()) reassociated_floats.push_back(lp.reductions.back());
        }
        continue;
      }
      int exposed = -1;
      defs(L.body, s, false, exposed);
      if (exposed >= 0) {
        reasons.push_back(L.var + " carries a flow dependence on the scalar " + s + ": line " +
                          std::to_string(exposed) + " reads " + s +
                          " before this iteration assigns it, so it sees the value from the previous iteration");
        DependenceEdge e;
        e.kind = DepKind::Flow;
        e.variable = s;
        e.src_ref = s;
        e.dst_ref = s;
        int w = 0, r = 0;
        walk_stmts(L.body, [&](const Stmt& st) {
          if ((st.kind == StmtKind::Assign || st.kind == StmtKind::AugAssign) && st.target->kind == ExprKind::Name &&
              st.target->name == s)
            w = st.id;
          if (!r && stmt_reads(st, s) && st.line == exposed) r = st.id;
        });
        e.src = w;
        e.dst = r ? r : w;
        for (int l : sa.loops[li].chain) {
          e.loops.push_back(sa.loops[l].stmt->var);
          e.direction.push_back(l == (int)li ? Direction::Lt : Direction::Eq);
          e.distance.push_back(l == (int)li ? std::optional<int64_t>(1) : std::optional<int64_t>(0));
        }
        e.carrier = (int)sa.loops[li].chain.size() - 1;
        e.test = "scalar";
        plan.edges.push_back(e);
      } else {
        // Every read of s follows an assignment in the same iteration, so s
        // is private. When only some iterations assign it (a temporary under
        // an `if`), its value after the loop is the one the last assigning
        // iteration left: the CPU combines its chunks in order keeping the
        // last chunk that assigned it, and the GPU's last iteration reports
        // it or stops the run (the loop then runs as Python). The temporaries
        // of tuple assignments are private too, but are not the user's.
        if (!is_hidden_name(s)) lp.privates.push_back(s);
      }
    }

    // --- arrays
    std::map<std::string, std::optional<std::vector<Reduction>>> class_ok;
    auto in_L = [&](const RefInfo& r) { return std::find(r.loops.begin(), r.loops.end(), (int)li) != r.loops.end(); };
    auto check_class = [&](const std::string& c) -> std::optional<std::vector<Reduction>> {
      // Every reference to memory of class c inside L must be the
      // accumulator of a reduction statement with an L-invariant subscript,
      // or, for an integer sum (an integer array, + or -, integer terms),
      // with any subscript that does not read the class (a histogram:
      // hist[idx[i]] += 1 adds the same terms to the same elements in any
      // order, modulo 2**64 or 2**32 as NumPy's integers do).
      std::set<std::string> members;
      for (auto& a : sa.nest->arrays)
        if (find(a) == c) members.insert(a);
      auto mentions_class = [&](const Expr* e) {
        std::function<bool(const Expr*)> m = [&](const Expr* x) -> bool {
          if (!x) return false;
          if (x->kind == ExprKind::Subscript && members.count(x->name)) return true;
          for (auto& a : x->args)
            if (m(a.get())) return true;
          return false;
        };
        return m(e);
      };
      std::set<std::string> varying = inner_vars;
      varying.insert(L.var);
      for (auto& s : assigned) varying.insert(s);
      std::optional<RedForm> form;
      std::vector<Reduction> out;
      for (auto& r : sa.refs) {
        if (!members.count(r.array) || !in_L(r) || !dy.refs[r.index].live) continue;
        const Stmt& st = *r.stmt;
        if (st.kind != StmtKind::Assign && st.kind != StmtKind::AugAssign) return std::nullopt;
        if (st.target->kind != ExprKind::Subscript || !members.count(st.target->name)) return std::nullopt;
        auto f = reduction_form(st, to_source(*st.target), mentions_class);
        if (!f || (form && !(*form == *f))) return std::nullopt;
        form = f;
        // The reference must be the target or the accumulator operand.
        if (r.expr != st.target.get() && r.expr != f->operand) return std::nullopt;
        // What the statement accumulates: its value, or the operand beside
        // the accumulator.
        const Expr* term = st.value.get();
        if (st.kind == StmtKind::Assign && f->operand)
          term = st.value->args[0].get() == f->operand ? st.value->args[1].get() : st.value->args[0].get();
        auto ab = dy.bound.arrays.find(st.target->name);
        if (ab == dy.bound.arrays.end()) return std::nullopt;
        bool int_array = ab->second.dtype == DType::Int64 || ab->second.dtype == DType::Int32;
        if (f->fn.empty()) {
          // A bool element or a float term is converted at every store (True
          // + -1 is 0, a float is truncated into an int array): the order of
          // the terms changes the result.
          if (ab->second.dtype == DType::Bool) return std::nullopt;
          if (int_array && !certainly_integer(*term, dy.bound, loop_vars, assigned_in_nest)) return std::nullopt;
        }
        bool integer_sum = int_array && f->fn.empty() && (f->op == BinOp::Add || f->op == BinOp::Sub);
        if (!integer_sum)
          for (auto& a : st.target->args)
            for (auto& v : varying)
              if (reads(a.get(), v)) return std::nullopt;
        bool seen = false;
        for (auto& x : out)
          if (x.stmt == st.id) seen = true;
        if (!seen) out.push_back(Reduction{st.target->name, f->op, f->fn, st.id});
      }
      return out;
    };
    std::vector<std::string> array_reasons;
    int extra = 0;
    for (auto& ie : dy.edges) {
      if (ie.carrier_loop != &L) continue;
      const RefInfo& rs = sa.refs[ie.r_src];
      std::string c = find(rs.array);
      if (!class_ok.count(c)) class_ok[c] = check_class(c);
      if (class_ok[c]) continue;
      if (array_reasons.size() < 3)
        array_reasons.push_back(describe_edge(ie, L));
      else
        ++extra;
    }
    for (auto& [c, reds] : class_ok)
      if (reds) {
        bool used = false;
        for (auto& ie : dy.edges)
          if (ie.carrier_loop == &L && find(sa.refs[ie.r_src].array) == c) used = true;
        if (!used) continue;
        for (auto& r : *reds) {
          lp.reductions.push_back(r);
          auto it = dy.bound.arrays.find(r.variable);
          if (it != dy.bound.arrays.end() && it->second.dtype == DType::Float16) {
            // rounded to float16 at every step: partial results differ in
            // more than the last bits, whatever the reassociation setting
            const Stmt* st = by_id[r.stmt];
            reasons.push_back(L.var + " accumulates into the float16 array " + r.variable + " (line " +
                              std::to_string(st ? st->line : 0) +
                              "), which NumPy rounds to float16 at every step, so it keeps Python's order");
            continue;
          }
          if (it != dy.bound.arrays.end() &&
              (it->second.dtype == DType::Float64 || it->second.dtype == DType::Float32)) {
            any_float_reduction = true;
            if (r.fn.empty()) reassociated_floats.push_back(r);
          }
        }
      }
    for (auto& r : array_reasons) reasons.push_back(r);
    if (extra) reasons.push_back("(and " + std::to_string(extra) + " more dependences carried by " + L.var + ")");

    if (reasons.empty() && !reassociated_floats.empty() && !float_reassociation()) {
      // Exactness: partial sums (or products) of floats combined in
      // another order round differently, so the loop keeps Python's order.
      // Min and max, and integer sums, give the same result in any order.
      const Reduction& r = reassociated_floats.front();
      const Stmt* st = by_id[r.stmt];
      std::string acc = st && st->target->kind == ExprKind::Subscript ? to_source(*st->target) : r.variable;
      reasons.push_back(L.var + " accumulates floating-point values into " + acc + " (line " +
                        std::to_string(st ? st->line : 0) + ") with " + (r.op == BinOp::Mul ? "*" : "+") +
                        ": run in parallel, the partial results would be combined in another order than "
                        "Python's and could differ in the last bits, so it keeps Python's order "
                        "(%loopscope reassociate on, or loopscope.set_reassociation(True), allows it)");
    }
    if (!reasons.empty()) {
      lp.verdict = LoopVerdict::Sequential;
      lp.reasons = reasons;
      lp.reductions.clear();
    } else if (!lp.reductions.empty()) {
      lp.verdict = LoopVerdict::Reduction;
      std::set<std::string> said;
      for (auto& rd : lp.reductions) {
        if (!said.insert(rd.variable).second) continue;
        const Stmt* st = by_id[rd.stmt];
        std::string op = rd.fn.empty() ? (rd.op == BinOp::Mul ? "*" : "+") : rd.fn;
        bool is_array = std::find(sa.nest->arrays.begin(), sa.nest->arrays.end(), rd.variable) != sa.nest->arrays.end();
        lp.reasons.push_back(L.var + " accumulates into " + (is_array ? to_source(*st->target) : rd.variable) +
                             " (line " + std::to_string(st->line) +
                             "): its iterations can run in parallel on partial results combined with " + op);
      }
    } else {
      lp.verdict = LoopVerdict::Parallel;
    }
    if (lp.verdict != LoopVerdict::Sequential) lp.last_private = lp.privates;
    plan.loops.push_back(lp);
  }
  if (any_float_reduction && float_reassociation())
    plan.notes.push_back(
        "a reduction on floating-point values run in parallel may differ from Python's result in the last bits, "
        "because the additions are done in a different order");
}

}  // namespace loopscope::analysis::dynamic_detail
