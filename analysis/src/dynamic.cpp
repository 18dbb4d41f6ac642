// Dynamic phase: binds the static forms to the values of one BoundNest,
// runs the dependence tests, builds the dependence graph and the parallel
// plan. This file holds the entry points (analyze_dynamic,
// analyze_dynamic_cached with its plan cache, check_subscripts), the
// switches that change the analysis, and the order of the passes
// (analyze_dynamic_impl). The passes live in:
//   dynamic_bind.cpp   bounds, loop and reference instances, subscript ranges
//   dynamic_exact.cpp  one pair: deptest.cpp's tests, Fourier-Motzkin, the
//                      exact enumeration (evaluate_pair)
//   dynamic_edges.cpp  the pairs tested, sharing, dependence edges, proofs
//   dynamic_plan.cpp   the parallel plan (Planner)
// with their shared declarations in dynamic_internal.hpp.
#include "dynamic_internal.hpp"

#include <atomic>
#include <mutex>

namespace loopscope::analysis {

static std::atomic<bool> g_exact_enabled{true};
void set_exact_test_enabled(bool on) { g_exact_enabled = on; }
bool exact_test_enabled() { return g_exact_enabled; }

static std::atomic<bool> g_reference_pairs{false};
void set_reference_pairs(bool on) { g_reference_pairs = on; }
bool reference_pairs() { return g_reference_pairs; }

PlanIdentity PlanIdentity::fresh() {
  static std::atomic<uint64_t> next{1};
  PlanIdentity id;
  id.value_ = next.fetch_add(1);
  return id;
}

static std::atomic<bool> g_float_reassociation{false};
void set_float_reassociation(bool allowed) { g_float_reassociation = allowed; }
bool float_reassociation() { return g_float_reassociation; }

namespace {

std::string cache_key(const StaticAnalysis& sa, const BoundNest& b) {
  std::string k(1, g_exact_enabled ? 'X' : 'x');
  // Which index arrays hold distinct values: a matter of their contents.
  for (auto& name : dynamic_detail::distinct_index_arrays(sa, b)) k += "D" + name + ";";
  k.push_back(g_reference_pairs ? 'R' : 'r');
  k.push_back(g_float_reassociation ? 'F' : 'f');
  auto put = [&](int64_t v) { k.append(reinterpret_cast<const char*>(&v), sizeof v); };
  // Every integer value counts (symbols of affine forms, and names inside
  // non-affine subscripts that are bounded by intervals or enumerated).
  for (auto& [name, s] : b.scalars) {
    k.push_back('s');
    k += name;
    k.push_back(s.kind == ScalarKind::Float ? 'f' : s.kind == ScalarKind::Complex ? 'c' : 'i');
    put(s.kind == ScalarKind::Float || s.kind == ScalarKind::Complex ? 0 : s.ival);
  }
  std::vector<const ArrayBinding*> arrs;
  for (auto& name : sa.nest->arrays) {
    auto it = b.arrays.find(name);
    if (it == b.arrays.end()) {
      k += "?";
      arrs.push_back(nullptr);
      continue;
    }
    const ArrayBinding& a = it->second;
    arrs.push_back(&a);
    k.push_back('a');
    k.push_back((char)a.dtype);
    put((int64_t)a.shape.size());
    for (auto x : a.shape) put(x);
    for (auto x : a.strides) put(x);
  }
  for (size_t i = 0; i < arrs.size(); ++i)
    for (size_t j = i + 1; j < arrs.size(); ++j) {
      if (!arrs[i] || !arrs[j]) continue;
      const ArrayBinding& a = *arrs[i];
      const ArrayBinding& c = *arrs[j];
      if (a.mem_lo < c.mem_hi && c.mem_lo < a.mem_hi) {
        k.push_back('o');
        put((int64_t)((intptr_t)c.data - (intptr_t)a.data));
      } else {
        k.push_back('d');
      }
    }
  return k;
}

}  // namespace

static ParallelPlan analyze_dynamic_impl(const StaticAnalysis& sa, const BoundNest& bound);

// A failure inside the analysis is a bug, but it must not stop the user's
// program: the nest then runs as plain Python.
ParallelPlan analyze_dynamic(const StaticAnalysis& sa, const BoundNest& bound) {
  try {
    return analyze_dynamic_impl(sa, bound);
  } catch (const std::exception& e) {
    ParallelPlan plan;
    plan.decline = Decline{
        DeclineCode::Internal, sa.nest->first_line,
        std::string("internal error in the dependence analysis (") + e.what() + "); the loop runs as plain Python",
        e.what()};
    for (auto* l : sa.nest->loops()) {
      LoopPlan lp;
      lp.loop = l->id;
      lp.var = l->var;
      lp.line = l->line;
      lp.reasons = {plan.decline->reason};
      plan.loops.push_back(lp);
    }
    return plan;
  }
}

static ParallelPlan analyze_dynamic_impl(const StaticAnalysis& sa, const BoundNest& bound) {
  ParallelPlan plan;
  if (sa.decline) {
    plan.decline = sa.decline;
    return plan;
  }
  dynamic_detail::DynamicPhase dy(sa, bound);
  dy.distinct_indexes = dynamic_detail::distinct_index_arrays(sa, bound);
  dy.bind_scalars();
  for (auto& name : sa.nest->arrays)
    if (!bound.arrays.count(name))
      dy.fail(DeclineCode::UnsupportedValue, sa.nest->first_line, name + " is not a NumPy array");
  if (!dy.decline) dy.bind_loops();
  if (!dy.decline) dy.bind_refs();
  if (!dy.decline) {
    dy.bind_relations();
    dy.dependences();
  }
  if (dy.decline) {
    plan.decline = dy.decline;
    for (auto* l : sa.nest->loops()) {
      LoopPlan lp;
      lp.loop = l->id;
      lp.var = l->var;
      lp.line = l->line;
      lp.verdict = LoopVerdict::Sequential;
      lp.reasons = {dy.decline->reason};
      plan.loops.push_back(lp);
    }
    return plan;
  }
  dynamic_detail::Planner pl{dy, sa, {}, {}, {}};
  pl.run();
  plan = std::move(pl.plan);
  plan.write_extents = dy.write_extents;
  plan.subscripts_in_range = true;
  // The first reference that may be out of range, preferring one whose
  // range is not only a matter of indirect subscripts.
  for (bool indirect : {false, true})
    for (auto& r : sa.refs) {
      const dynamic_detail::RefInstance& d = dy.refs[r.index];
      if (plan.subscript_problem || !d.live || d.in_range || d.indirect_only != indirect) continue;
      plan.subscripts_in_range = false;
      plan.subscript_problem = Decline{DeclineCode::SubscriptRange, r.stmt->line, d.problem};
      plan.subscripts_only_indirect = indirect;
    }
  return plan;
}

std::shared_ptr<const ParallelPlan> analyze_dynamic_cached(const StaticAnalysis& sa, const BoundNest& bound,
                                                           bool* hit) {
  std::string key = cache_key(sa, bound);
  {
    std::lock_guard<std::mutex> g(sa.cache_mutex);
    auto it = sa.cache.find(key);
    if (it != sa.cache.end()) {
      if (hit) *hit = true;
      return it->second;
    }
  }
  ParallelPlan fresh = analyze_dynamic(sa, bound);
  fresh.identity = PlanIdentity::fresh();
  auto plan = std::make_shared<const ParallelPlan>(std::move(fresh));
  std::lock_guard<std::mutex> g(sa.cache_mutex);
  if (sa.cache.size() > 256) sa.cache.clear();
  sa.cache[key] = plan;
  if (hit) *hit = false;
  return plan;
}

std::optional<Decline> check_subscripts(const StaticAnalysis& sa, const BoundNest& bound) {
  auto plan = analyze_dynamic_cached(sa, bound);
  if (plan->decline) return plan->decline;
  if (plan->subscripts_only_indirect) return std::nullopt;
  return plan->subscript_problem;
}

}  // namespace loopscope::analysis
