// Front end: accepted and declined loop shapes.
#include "common.hpp"

using namespace loopscope::analysis;

TEST(FrontEnd, AcceptsTriangularImperfectNestWithConditionals) {
  auto n = parse_ok(
      "for i in range(n - 1, 0, -1):\n"
      "    s = 0.0\n"
      "    for j in range(i + 1, n):\n"
      "        if A[i, j] > 0 and not j == 3:\n"
      "            s += math.sqrt(A[i][j]) ** 2\n"
      "        elif j < 2:\n"
      "            s = max(s, -A[j, i] // 2 % 3)\n"
      "        else:\n"
      "            B[j] = np.exp(s) if s < 1 else abs(s)\n"
      "    B[i] = s\n");
  ASSERT_TRUE(n);
  auto loops = n->loops();
  ASSERT_EQ(loops.size(), 2u);
  EXPECT_EQ(loops[0]->var, "i");
  EXPECT_EQ(loops[0]->line, 1);
  EXPECT_EQ(loops[1]->var, "j");
  EXPECT_EQ(loops[1]->depth, 1);
  EXPECT_EQ(to_source(*loops[0]->step), "-1");
  EXPECT_EQ(n->arrays, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(n->inputs, (std::vector<std::string>{"A", "B", "n"}));
  EXPECT_EQ(n->outputs, (std::vector<std::string>{"i", "s", "j"}));
  auto st = n->statements();
  ASSERT_EQ(st.size(), 5u);
  EXPECT_EQ(st[0]->label(), "S1");
  EXPECT_EQ(st[1]->kind, StmtKind::AugAssign);
  EXPECT_EQ(st[1]->line, 5);
}

TEST(FrontEnd, RangeForms) {
  auto n = parse_ok("for i in range(10):\n    A[i] = 1\n");
  EXPECT_EQ(to_source(*n->root->start), "0");
  EXPECT_EQ(to_source(*n->root->stop), "10");
  EXPECT_EQ(to_source(*n->root->step), "1");
  n = parse_ok("for i in range(a, b):\n    A[i] = 1\n");
  EXPECT_EQ(to_source(*n->root->start), "a");
  n = parse_ok("for i in range(0, A.shape[0], 2):\n    A[i] = len(A)\n");
  EXPECT_EQ(to_source(*n->root->stop), "A.shape[0]");
  EXPECT_EQ(n->inputs, (std::vector<std::string>{"A", "A.shape[0]", "len(A)"}));
}

TEST(FrontEnd, ScalarReadBeforeAssignmentIsAnInput) {
  auto n = parse_ok("for i in range(n):\n    x = x + A[i]\n    t = 2\n    A[i] = t\n");
  EXPECT_EQ(n->inputs, (std::vector<std::string>{"A", "n", "x"}));
}

namespace {
void expect_decline(const std::string& src, const std::string& needle, int line) {
  auto r = nest_from_source(src);
  ASSERT_TRUE(r.decline.has_value()) << src;
  EXPECT_NE(r.decline->reason.find(needle), std::string::npos) << r.decline->reason;
  EXPECT_EQ(r.decline->line, line) << r.decline->reason;
  EXPECT_FALSE(r.nest);
}
}  // namespace

TEST(FrontEnd, Declines) {
  expect_decline("for i in range(n):\n    while x:\n        x -= 1\n", "while", 2);
  expect_decline("for i in range(n):\n    if A[i]:\n        break\n", "break", 3);
  expect_decline("for i in range(n):\n    continue\n", "continue", 2);
  expect_decline("for i in range(n):\n    A[i] = f(i)\n", "f(i)", 2);
  expect_decline("for i in range(n):\n    a.x = i\n", "attribute", 2);
  expect_decline("for x in items:\n    A[0] = x\n", "not over range", 1);
  expect_decline("for i in range(n):\n    a, b = b, a\n", "tuple", 2);
  expect_decline("for i in range(n):\n    A[i:] = 0\n", "slice", 2);
  expect_decline("for i in range(n):\n    print(i)\n", "print", 2);
  expect_decline("for i in range(n):\n    i = 3\n", "loop variable", 2);
  expect_decline("for i in range(n):\n    A[i] = A\n", "both as an array", 2);
  expect_decline("for i in range(n):\n    A[i] = 'x'\n", "not a number", 2);
  expect_decline("for i in range(n, step=2):\n    A[i] = 1\n", "positional", 1);
  expect_decline("for i in range(n):\n    A[i] = 1\nelse:\n    pass\n", "else", 1);
  expect_decline("for i in range(n):\n    A[i] = x.y\n", "attribute", 2);
  expect_decline("for i in range(n):\n    A[i] = 1 << i\n", "operator", 2);
  expect_decline("for i in range(n):\n    A[i] = i in B\n", "comparison", 2);
  expect_decline("for i in range(n):\n    return i\n", "return", 2);
}

TEST(FrontEnd, StaticPhaseDeclinesNonAffineBounds) {
  auto n = parse_ok("for i in range(n):\n    for j in range(i * i):\n        A[j] = 1\n");
  auto sa = analyze_static(n);
  auto d = static_decline(*sa);
  ASSERT_TRUE(d.has_value());
  EXPECT_NE(d->reason.find("not affine"), std::string::npos);
  EXPECT_EQ(d->line, 2);
}

TEST(FrontEnd, StaticSummaryListsReferencesAndRunTimeQuestions) {
  auto n = parse_ok("for i in range(n):\n    A[i + k] = A[3] + A[5] + A[i * i]\n");
  auto s = summarize(*analyze_static(n));
  ASSERT_EQ(s.references.size(), 4u);
  EXPECT_NE(s.references[2].find("not affine"), std::string::npos);
  EXPECT_FALSE(s.for_run_time.empty());
  EXPECT_NE(s.for_run_time[0].find("k"), std::string::npos);
  EXPECT_NE(s.for_run_time[0].find("n"), std::string::npos);
}
