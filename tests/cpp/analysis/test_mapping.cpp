// The GPU mapping rule (analysis/mapping.hpp): host loops, launches and grids.
#include "../nest_builder.hpp"
#include "common.hpp"
#include "loopscope/analysis/mapping.hpp"

using namespace loopscope::analysis;

namespace {

struct Case : BoundCase {
  using BoundCase::BoundCase;
  ParallelPlan p;
  GpuMapping map(const ReductionRule& reduces = nullptr) {
    p = plan();
    return reduces ? map_gpu(b, p, reduces) : map_gpu_by_verdicts(b, p);
  }
};

std::vector<std::string> grid_vars(const GpuLaunchPlan& l) {
  std::vector<std::string> out;
  for (auto* g : l.grid) out.push_back(g->var);
  return out;
}

}  // namespace

TEST(Mapping, PerfectlyNestedParallelLoopsFormOneGridOfAtMostThree) {
  Case c(
      "for i in range(n):\n    for j in range(n):\n        for k in range(n):\n"
      "            for l in range(n):\n                A[i, j, k, l] = 1.0\n");
  c.b.arrays["A"] = view(c.buf.make(16), {2, 2, 2, 2});
  c.b.scalars["n"] = int_scalar(2);
  GpuMapping m = c.map();
  auto launches = m.launches();
  ASSERT_EQ(launches.size(), 1u);
  EXPECT_EQ(grid_vars(*launches[0]), (std::vector<std::string>{"i", "j", "k"}));
  EXPECT_EQ(m.grid_loop_ids().size(), 3u);
}

TEST(Mapping, ASequentialLoopOfLoopsRunsOnTheHost) {
  Case c("for t in range(T):\n    for i in range(1, n):\n        A[i] = A[i] * 0.5 + A[0]\n");
  c.b.arrays["A"] = view(c.buf.make(8), {8});
  c.b.scalars["T"] = int_scalar(3);
  c.b.scalars["n"] = int_scalar(8);
  GpuMapping m = c.map();
  ASSERT_EQ(m.schedule.size(), 1u);
  EXPECT_EQ(m.schedule[0].kind, GpuScheduleNode::HostLoop);
  EXPECT_EQ(m.schedule[0].loop->var, "t");
  auto launches = m.launches();
  ASSERT_EQ(launches.size(), 1u);
  EXPECT_EQ(grid_vars(*launches[0]), (std::vector<std::string>{"i"}));
}

TEST(Mapping, AStatementBesideTheLoopsMakesOneSingleThreadLaunch) {
  Case c("for t in range(T):\n    A[0] = A[0] + 1.0\n    for i in range(1, n):\n        A[i] = A[i] * 0.5\n");
  c.b.arrays["A"] = view(c.buf.make(8), {8});
  c.b.scalars["T"] = int_scalar(3);
  c.b.scalars["n"] = int_scalar(8);
  GpuMapping m = c.map();
  auto launches = m.launches();
  ASSERT_EQ(launches.size(), 1u);
  EXPECT_TRUE(launches[0]->sequential());
  EXPECT_EQ(launches[0]->root->var, "t");
  EXPECT_TRUE(m.grid_loop_ids().empty());
}

TEST(Mapping, GridBoundsMayUseOuterGridVariablesButNotValuesSetInTheNest) {
  Case tri("for i in range(n):\n    for j in range(i):\n        A[i, j] = 1.0\n");
  tri.b.arrays["A"] = view(tri.buf.make(16), {4, 4});
  tri.b.scalars["n"] = int_scalar(4);
  EXPECT_EQ(grid_vars(*tri.map().launches().at(0)), (std::vector<std::string>{"i", "j"}));

  Case set_in("for i in range(n):\n    m = i + 1\n    for j in range(m):\n        A[i, j] = 1.0\n");
  set_in.b.arrays["A"] = view(set_in.buf.make(25), {5, 5});
  set_in.b.scalars["n"] = int_scalar(4);
  EXPECT_EQ(grid_vars(*set_in.map().launches().at(0)), (std::vector<std::string>{"i"}));
}

TEST(Mapping, ReductionsJoinTheGridOnlyWhenTheGeneratorCombinesThem) {
  Case c("for i in range(n):\n    s += A[i]\n");
  c.b.arrays["A"] = view(c.buf.make(8), {8});
  c.b.scalars["n"] = int_scalar(8);
  lsa::ScalarBinding s;
  s.kind = lsa::ScalarKind::Float;
  c.b.scalars["s"] = s;
  set_float_reassociation(true);
  GpuMapping by_verdicts = c.map();
  GpuMapping refused = c.map([](const Stmt&) { return false; });
  set_float_reassociation(false);
  ASSERT_EQ(c.p.loops.at(0).verdict, LoopVerdict::Reduction);
  EXPECT_EQ(grid_vars(*by_verdicts.launches().at(0)), (std::vector<std::string>{"i"}));
  EXPECT_TRUE(refused.launches().at(0)->sequential());
  EXPECT_NE(by_verdicts.signature(), refused.signature());
}

TEST(Mapping, HostComputableBounds) {
  Case c("for i in range(n):\n    x = 2\n    A[i] = x\n");
  c.b.arrays["A"] = view(c.buf.make(8), {8});
  c.b.scalars["n"] = int_scalar(8);
  EXPECT_TRUE(host_computable(irtest::N("n").get(), c.b, {}));
  EXPECT_FALSE(host_computable(irtest::N("x").get(), c.b, {}));  // assigned in the nest
  EXPECT_FALSE(host_computable(irtest::N("i").get(), c.b, {}));  // a loop variable the host does not run
  EXPECT_TRUE(host_computable(irtest::N("i").get(), c.b, {"i"}));
}
