// The mapping rules (see mapping.hpp): the CPU's parallel loops, and one
// walk over the nest that decides the GPU's host loops, launches and grids.
#include "loopscope/analysis/mapping.hpp"

#include <algorithm>
#include <functional>
#include <map>

namespace loopscope::analysis {

namespace {

constexpr size_t kMaxGridLoops = 3;  // CUDA grids have three axes

bool is_scalar_assign(const Stmt& s) {
  return (s.kind == StmtKind::Assign || s.kind == StmtKind::AugAssign) && s.target && s.target->kind == ExprKind::Name;
}

void walk(const Stmt& s, const std::function<void(const Stmt&)>& f) {
  f(s);
  for (auto& c : s.body) walk(*c, f);
  for (auto& c : s.orelse) walk(*c, f);
}

// Names whose values change inside the nest: the host cannot know them
// before a launch unless they are the loop variables it runs itself.
std::set<std::string> names_set_in(const Stmt& root) {
  std::set<std::string> out;
  walk(root, [&](const Stmt& s) {
    if (s.kind == StmtKind::For) out.insert(s.var);
    if (is_scalar_assign(s)) out.insert(s.target->name);
  });
  return out;
}

bool host_computable_except(const Expr* e, const BoundNest& bound, const std::set<std::string>& host_known,
                            const std::set<std::string>& set_in_nest) {
  if (!e) return true;
  auto sub = [&](const ExprPtr& a) { return host_computable_except(a.get(), bound, host_known, set_in_nest); };
  switch (e->kind) {
    case ExprKind::IntConst:
    case ExprKind::BoolConst: return true;
    case ExprKind::Name: {
      if (host_known.count(e->name)) return true;
      if (set_in_nest.count(e->name)) return false;
      auto s = bound.scalars.find(e->name);
      return s != bound.scalars.end() && s->second.kind != ScalarKind::Float && s->second.kind != ScalarKind::Complex;
    }
    case ExprKind::Unary: return e->un_op != UnOp::Not && sub(e->args.at(0));
    case ExprKind::Binary: return e->bin_op != BinOp::Div && sub(e->args.at(0)) && sub(e->args.at(1));
    case ExprKind::Call:
      if (e->name != "min" && e->name != "max" && e->name != "int" && e->name != "abs") return false;
      for (auto& a : e->args)
        if (!sub(a)) return false;
      return true;
    default: return false;
  }
}

class Mapper {
 public:
  Mapper(const BoundNest& bound, const ParallelPlan& plan, const ReductionRule& reduces)
      : bound_(bound), reduces_(reduces) {
    for (auto& lp : plan.loops) verdicts_[lp.loop] = lp.verdict;
    if (bound.nest && bound.nest->root) set_in_nest_ = names_set_in(*bound.nest->root);
  }

  GpuMapping run() {
    GpuMapping m;
    if (bound_.nest && bound_.nest->root) place(*bound_.nest->root, m.schedule);
    return m;
  }

 private:
  const BoundNest& bound_;
  const ReductionRule& reduces_;
  std::map<int, LoopVerdict> verdicts_;
  std::set<std::string> set_in_nest_;
  std::set<std::string> host_loops_;  // variables of the enclosing host loops

  bool bounds_on_host(const Stmt& loop, const std::set<std::string>& grid_vars) const {
    std::set<std::string> known = host_loops_;
    known.insert(grid_vars.begin(), grid_vars.end());
    for (const ExprPtr* e : {&loop.start, &loop.stop, &loop.step})
      if (!host_computable_except(e->get(), bound_, known, set_in_nest_)) return false;
    return true;
  }

  bool splits(const Stmt& loop) const {
    auto v = verdicts_.find(loop.id);
    if (v == verdicts_.end()) return false;
    return v->second == LoopVerdict::Parallel || (v->second == LoopVerdict::Reduction && reduces_ && reduces_(loop));
  }

  bool starts_launch(const Stmt& loop) const { return splits(loop) && bounds_on_host(loop, {}); }

  static bool only_loops(const Stmt& loop) {
    for (auto& s : loop.body)
      if (s->kind != StmtKind::For) return false;
    return true;
  }

  bool host_loop_ok(const Stmt& loop) {
    if (!only_loops(loop) || !bounds_on_host(loop, {})) return false;
    bool inserted = host_loops_.insert(loop.var).second;
    bool any = false;
    for (auto& s : loop.body)
      if (starts_launch(*s) || host_loop_ok(*s)) any = true;
    if (inserted) host_loops_.erase(loop.var);
    return any;
  }

  GpuLaunchPlan grid_from(const Stmt& root) const {
    GpuLaunchPlan launch;
    launch.root = &root;
    launch.grid.push_back(&root);
    std::set<std::string> grid_vars{root.var};
    const Stmt* cur = &root;
    while (launch.grid.size() < kMaxGridLoops && cur->body.size() == 1 && cur->body[0]->kind == StmtKind::For) {
      const Stmt* next = cur->body[0].get();
      if (!splits(*next) || !bounds_on_host(*next, grid_vars)) break;
      launch.grid.push_back(next);
      grid_vars.insert(next->var);
      cur = next;
    }
    return launch;
  }

  void place(const Stmt& loop, std::vector<GpuScheduleNode>& out) {
    GpuScheduleNode n;
    if (starts_launch(loop)) {
      n.launch = grid_from(loop);
    } else if (host_loop_ok(loop)) {
      n.kind = GpuScheduleNode::HostLoop;
      n.loop = &loop;
      bool inserted = host_loops_.insert(loop.var).second;
      for (auto& s : loop.body) place(*s, n.body);
      if (inserted) host_loops_.erase(loop.var);
    } else {
      n.launch.root = &loop;  // one thread
    }
    out.push_back(std::move(n));
  }
};

void collect_launches(const std::vector<GpuScheduleNode>& nodes, std::vector<const GpuLaunchPlan*>& out) {
  for (auto& n : nodes) {
    if (n.kind == GpuScheduleNode::Launch)
      out.push_back(&n.launch);
    else
      collect_launches(n.body, out);
  }
}

void write_signature(const std::vector<GpuScheduleNode>& nodes, std::string& out) {
  for (auto& n : nodes) {
    if (n.kind == GpuScheduleNode::HostLoop) {
      out += "H" + std::to_string(n.loop->id) + "{";
      write_signature(n.body, out);
      out += "}";
    } else {
      out += "L" + std::to_string(n.launch.root->id) + "[";
      for (auto* g : n.launch.grid) out += std::to_string(g->id) + ",";
      out += "]";
    }
    out += ";";
  }
}

}  // namespace

std::vector<const GpuLaunchPlan*> GpuMapping::launches() const {
  std::vector<const GpuLaunchPlan*> out;
  collect_launches(schedule, out);
  return out;
}

bool assigned_in_every_iteration(const Stmt& loop, const std::string& name) {
  std::function<bool(const Stmt&)> continues = [&](const Stmt& s) {
    if (s.kind == StmtKind::Continue && s.jump_target == loop.id) return true;
    for (auto& b : s.body)
      if (continues(*b)) return true;
    for (auto& b : s.orelse)
      if (continues(*b)) return true;
    return false;
  };
  for (auto& s : loop.body) {
    if ((s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign) && s->target &&
        s->target->kind == ExprKind::Name && s->target->name == name)
      return true;
    if (continues(*s)) return false;
  }
  return false;
}

std::vector<int> GpuMapping::grid_loop_ids() const {
  std::vector<int> ids;
  for (auto* l : launches())
    for (auto* g : l->grid) ids.push_back(g->id);
  return ids;
}

std::string GpuMapping::signature() const {
  std::string s;
  write_signature(schedule, s);
  return s;
}

bool host_computable(const Expr* e, const BoundNest& bound, const std::set<std::string>& host_known) {
  std::set<std::string> set_in;
  if (bound.nest && bound.nest->root) set_in = names_set_in(*bound.nest->root);
  return host_computable_except(e, bound, host_known, set_in);
}

GpuMapping map_gpu(const BoundNest& bound, const ParallelPlan& plan, const ReductionRule& reduces_on_grid) {
  return Mapper(bound, plan, reduces_on_grid).run();
}

namespace {

const LoopPlan* plan_of(const ParallelPlan& plan, int loop) {
  for (auto& lp : plan.loops)
    if (lp.loop == loop) return &lp;
  return nullptr;
}

void choose_cpu(const Stmt& s, bool inside, const ParallelPlan& plan, const ReductionRule& combines, CpuMapping& out) {
  if (s.kind == StmtKind::For && !inside) {
    const LoopPlan* lp = plan_of(plan, s.id);
    if (lp &&
        (lp->verdict == LoopVerdict::Parallel || (lp->verdict == LoopVerdict::Reduction && combines && combines(s)))) {
      out.parallel_loops.push_back(s.id);
      inside = true;
    }
  }
  for (auto& c : s.body) choose_cpu(*c, inside, plan, combines, out);
  for (auto& c : s.orelse) choose_cpu(*c, inside, plan, combines, out);
}

}  // namespace

CpuMapping map_cpu(const BoundNest& bound, const ParallelPlan& plan, const ReductionRule& combines) {
  CpuMapping m;
  if (bound.nest && bound.nest->root) choose_cpu(*bound.nest->root, false, plan, combines, m);
  return m;
}

CpuMapping map_cpu_by_verdicts(const BoundNest& bound, const ParallelPlan& plan) {
  return map_cpu(bound, plan, [&](const Stmt& loop) {
    const LoopPlan* lp = plan_of(plan, loop.id);
    if (!lp || lp->reductions.empty()) return false;
    for (auto& r : lp->reductions) {
      if (bound.arrays.count(r.variable)) return false;
      auto s = bound.scalars.find(r.variable);
      bool int_input = s != bound.scalars.end() && s->second.kind == ScalarKind::Int;
      if (r.fn.empty() ? (r.op != BinOp::Add && r.op != BinOp::Mul && r.op != BinOp::Sub)
                       : (!int_input || (r.fn != "min" && r.fn != "max")))
        return false;
    }
    return true;
  });
}

std::string NestMapping::signature() const {
  std::string s = "cpu:";
  for (int id : cpu.parallel_loops) s += std::to_string(id) + ",";
  return s + " gpu:" + gpu.signature();
}

NestMapping map_by_verdicts(const BoundNest& bound, const ParallelPlan& plan) {
  return NestMapping{map_cpu_by_verdicts(bound, plan), map_gpu_by_verdicts(bound, plan)};
}

GpuMapping map_gpu_by_verdicts(const BoundNest& bound, const ParallelPlan& plan) {
  // The generator's rule less its typing: scalar sums, minima and maxima
  // combine across threads; array reductions and products stay sequential.
  std::map<int, const LoopPlan*> plans;
  for (auto& lp : plan.loops) plans[lp.loop] = &lp;
  return map_gpu(bound, plan, [&](const Stmt& loop) {
    auto it = plans.find(loop.id);
    if (it == plans.end() || it->second->reductions.empty()) return false;
    for (auto& r : it->second->reductions) {
      if (bound.arrays.count(r.variable) || !bound.scalars.count(r.variable)) return false;
      if (r.fn.empty() ? r.op != BinOp::Add : (r.fn != "min" && r.fn != "max")) return false;
    }
    return true;
  });
}

double expr_ops(const Expr& e) {
  double n = 0;
  for (auto& a : e.args)
    if (a) n += expr_ops(*a);
  switch (e.kind) {
    case ExprKind::IntConst:
    case ExprKind::FloatConst:
    case ExprKind::BoolConst:
    case ExprKind::Name: return n;
    case ExprKind::Binary:
      return n +
             (e.bin_op == BinOp::Div || e.bin_op == BinOp::FloorDiv || e.bin_op == BinOp::Mod || e.bin_op == BinOp::Pow
                  ? 4
                  : 1);
    case ExprKind::Compare: return n + (double)e.cmp_ops.size();
    case ExprKind::Logical: return n + (double)std::max<size_t>(1, e.args.size()) - 1;
    case ExprKind::Call: return n + 8;
    case ExprKind::Subscript:
    case ExprKind::Unary:
    case ExprKind::IfExp: return n + 1;
  }
  return n + 1;
}

double statement_ops(const Stmt& s) {
  switch (s.kind) {
    case StmtKind::Assign:
    case StmtKind::AugAssign: {
      double n = 1 + (s.value ? expr_ops(*s.value) : 0) + (s.target ? expr_ops(*s.target) : 0);
      if (s.kind == StmtKind::AugAssign) n += s.target && s.target->kind == ExprKind::Subscript ? 2 : 1;
      return n;
    }
    case StmtKind::If: return s.cond ? expr_ops(*s.cond) : 0;
    default: return 0;
  }
}

bool region_bound_supported(const Expr& e, const std::set<std::string>& changing) {
  auto all = [&] {
    for (auto& a : e.args)
      if (!a || !region_bound_supported(*a, changing)) return false;
    return true;
  };
  switch (e.kind) {
    case ExprKind::IntConst: return true;
    case ExprKind::Name: return !changing.count(e.name);
    case ExprKind::Unary: return e.un_op == UnOp::Neg && e.args.size() == 1 && all();
    case ExprKind::Binary:
      if (e.args.size() != 2) return false;
      if (e.bin_op == BinOp::FloorDiv) return e.args[1]->kind == ExprKind::IntConst && e.args[1]->ival > 0 && all();
      return (e.bin_op == BinOp::Add || e.bin_op == BinOp::Sub || e.bin_op == BinOp::Mul) && all();
    case ExprKind::Call: return (e.name == "min" || e.name == "max") && e.args.size() >= 2 && all();
    default: return false;
  }
}

}  // namespace loopscope::analysis
