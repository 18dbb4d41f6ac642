// The individual dependence tests on hand-written problems.
#include <gtest/gtest.h>

#include "loopscope/analysis/deptest.hpp"

using namespace loopscope::analysis;

namespace {

// One loop 0..U, source subscript a*t + c1, sink b*u + c2.
DependenceProblem one_loop(int64_t a, int64_t c1, int64_t b, int64_t c2, int64_t U) {
  DependenceProblem p;
  p.ncommon = 1;
  p.src_upper = {U};
  p.dst_upper = {U};
  LinearCondition c;
  c.a = {a};
  c.b = {b};
  c.c_lo = c.c_hi = c2 - c1;
  p.conditions.push_back(c);
  return p;
}

}  // namespace

TEST(ZIV, ConstantsDecide) {
  LinearCondition c;
  c.a = {0};
  c.b = {0};
  c.c_lo = c.c_hi = 0;
  EXPECT_TRUE(ziv_test(c));
  c.c_lo = c.c_hi = 2;
  EXPECT_FALSE(ziv_test(c));
  auto r = test_dependence(one_loop(0, 3, 0, 5, 10));
  EXPECT_TRUE(r.independent);
  EXPECT_EQ(r.test, "ZIV");
}

TEST(StrongSIV, DistanceAndDirection) {
  // A[i] written, A[i-1] read: a t = u - 1  => u = t + 1
  auto r = test_dependence(one_loop(1, 0, 1, -1, 9));
  ASSERT_FALSE(r.independent);
  ASSERT_EQ(r.vectors.size(), 1u);
  EXPECT_EQ(r.vectors[0].dir[0], Direction::Lt);
  ASSERT_TRUE(r.vectors[0].distance[0].has_value());
  EXPECT_EQ(*r.vectors[0].distance[0], 1);
  EXPECT_EQ(r.test, "strong SIV");
  int loop = -1;
  bool indep = false;
  LinearCondition c = one_loop(2, 0, 2, 4, 9).conditions[0];
  auto d = strong_siv(c, 1, 9, &loop, &indep);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, -2);  // 2t = 2u + 4  => u - t = -2
}

TEST(StrongSIV, DistanceBeyondBoundsIsIndependent) {
  auto r = test_dependence(one_loop(1, 0, 1, 20, 9));  // A[i] vs A[i+20], 10 iterations
  EXPECT_TRUE(r.independent);
}

TEST(GCD, EvenAndOdd) {
  auto r = test_dependence(one_loop(2, 0, 2, 1, 100));  // A[2i] vs A[2i+1]
  EXPECT_TRUE(r.independent);
  EXPECT_EQ(r.test, "GCD");
  LinearCondition c;
  c.a = {4, 6};
  c.b = {};
  c.c_lo = c.c_hi = 3;
  EXPECT_FALSE(gcd_test(c, 0, {}));
  c.c_lo = c.c_hi = 2;
  EXPECT_TRUE(gcd_test(c, 0, {}));
  // Ranges: some multiple of 4 in [5, 7]? no. In [5, 8]? yes.
  LinearCondition r2;
  r2.a = {4};
  r2.b = {4};
  r2.c_lo = 5;
  r2.c_hi = 7;
  EXPECT_FALSE(gcd_test(r2, 0, {}));
  r2.c_hi = 8;
  EXPECT_TRUE(gcd_test(r2, 0, {}));
}

TEST(WeakZeroSIV, OnlyOneIteration) {
  // A[i] written, A[3] read; with 10 iterations, iteration 3 writes what every
  // iteration reads: both directions.
  auto r = test_dependence(one_loop(1, 0, 0, 3, 9));
  ASSERT_FALSE(r.independent);
  EXPECT_EQ(r.vectors.size(), 3u);
  // With only 3 iterations (0..2) A[3] is never written.
  EXPECT_TRUE(test_dependence(one_loop(1, 0, 0, 3, 2)).independent);
}

TEST(WeakCrossingSIV, Reversal) {
  // A[i] vs A[9 - i] over 0..9: i + i' = 9, t != u, both directions.
  auto r = test_dependence(one_loop(1, 0, -1, 9, 9));
  ASSERT_FALSE(r.independent);
  bool lt = false, gt = false, eq = false;
  for (auto& v : r.vectors) {
    lt |= v.dir[0] == Direction::Lt;
    gt |= v.dir[0] == Direction::Gt;
    eq |= v.dir[0] == Direction::Eq;
  }
  EXPECT_TRUE(lt && gt);
  EXPECT_FALSE(eq);  // 2t = 9 has no integer solution
}

TEST(Banerjee, DirectionVectorsTwoLoops) {
  // A[i][j] written, A[i][j-1] read: only (=,<).
  DependenceProblem p;
  p.ncommon = 2;
  p.src_upper = {9, 9};
  p.dst_upper = {9, 9};
  LinearCondition d0;
  d0.a = {1, 0};
  d0.b = {1, 0};
  LinearCondition d1;
  d1.a = {0, 1};
  d1.b = {0, 1};
  d1.c_lo = d1.c_hi = -1;
  p.conditions = {d0, d1};
  auto r = test_dependence(p);
  ASSERT_FALSE(r.independent);
  ASSERT_EQ(r.vectors.size(), 1u);
  EXPECT_EQ(r.vectors[0].dir[0], Direction::Eq);
  EXPECT_EQ(r.vectors[0].dir[1], Direction::Lt);
  EXPECT_EQ(r.vectors[0].distance[1].value_or(-99), 1);
}

TEST(Banerjee, BoundsRuleOutLinearizedOverlap) {
  // A[10 i + j] (j < 10) vs A[10 i + j + 100] with i < 5: never equal.
  DependenceProblem p;
  p.ncommon = 2;
  p.src_upper = {4, 9};
  p.dst_upper = {4, 9};
  LinearCondition c;
  c.a = {10, 1};
  c.b = {10, 1};
  c.c_lo = c.c_hi = 100;
  p.conditions = {c};
  EXPECT_TRUE(test_dependence(p).independent);
  std::vector<Direction> star = {Direction::Star, Direction::Star};
  EXPECT_FALSE(banerjee_test(c, p, star));
  c.c_lo = c.c_hi = 15;
  EXPECT_TRUE(banerjee_test(c, p, star));
}

TEST(Banerjee, EmptyLoopHasNoDependence) {
  EXPECT_TRUE(test_dependence(one_loop(1, 0, 1, -1, -1)).independent);
  // one iteration: nothing can be carried
  auto r = test_dependence(one_loop(1, 0, 1, -1, 0));
  EXPECT_TRUE(r.independent);
}
