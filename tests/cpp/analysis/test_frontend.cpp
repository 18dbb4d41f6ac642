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
  expect_decline(
      "for i in range(n):\n    for j in range(n):\n        if A[j] > 0:\n            x = 1\n        elif A[j] < 0:\n"
      "            break\n        A[i] = j\n",
      "'break' on line 6", 6);
  expect_decline("for i in range(n):\n    A[i] = f(i)\n", "f(i)", 2);
  expect_decline("for i in range(n):\n    a.x = i\n", "attribute", 2);
  expect_decline("for x in items:\n    A[0] = x\n", "not over range", 1);
  expect_decline("for i in range(n):\n    a, b = 1, 2, 3\n", "2 targets and 3 values", 2);
  expect_decline("for i in range(n):\n    a, b = t\n", "not a tuple written out", 2);
  expect_decline("for i in range(n):\n    a, b = np.divmod(i, 3)\n", "not a tuple written out", 2);
  expect_decline("for i in range(n):\n    a, b, c = divmod(i, 3)\n", "divmod() gives two values", 2);
  expect_decline("for i in range(n):\n    t = divmod(i, 3)\n", "unpack it at once", 2);
  expect_decline("for i in range(n):\n    a, b = divmod(i, 3, 4)\n", "divmod() takes two numbers", 2);
  expect_decline("for i in range(n):\n    a = b, c = 1, 2\n", "write the tuple assignment on a line of its own", 2);
  expect_decline("for i in range(n):\n    a, *b = 1, 2, 3\n", "starred", 2);
  expect_decline("for i in range(n):\n    a, b = (1, 2), 3\n", "only numbers", 2);
  expect_decline("for i in range(n):\n    x, x = 1, 2\n", "assigns x twice", 2);
  expect_decline("for i in range(n):\n    i, b = 1, 2\n", "loop variable", 2);
  expect_decline("for i in range(n):\n    A[i:] = 0\n", "slice", 2);
  expect_decline("for i in range(n):\n    print(i)\n", "print", 2);
  expect_decline("for i in range(n):\n    i = 3\n", "loop variable", 2);
  expect_decline("for i in range(n):\n    A[i] = A\n", "both as an array", 2);
  expect_decline("for i in range(n):\n    A[i] = 'x'\n", "not a number", 2);
  expect_decline("for i in range(n, step=2):\n    A[i] = 1\n", "positional", 1);
  expect_decline("for i in range(n):\n    A[i] = 1\nelse:\n    pass\n", "outermost loop of the nest has an else", 1);
  expect_decline("for i in range(n):\n    A[i] = x.y\n", "attribute", 2);
  expect_decline("for i in range(n):\n    A[i] = i @ i\n", "operator", 2);
  expect_decline("for i in range(n):\n    A[i] = i in B\n", "comparison", 2);
  expect_decline("for i in range(n):\n    return i\n", "return", 2);
}

namespace {
std::string texts(const std::vector<const Stmt*>& st) {
  std::string out;
  for (auto* s : st) out += to_source(*s->target) + " = " + to_source(*s->value) + "; ";
  return out;
}
}  // namespace

TEST(FrontEnd, TupleAssignmentKeepsAsideOnlyWhatAnEarlierTargetOverwrites) {
  // zi's value reads zr, which the first target assigns: it is computed first.
  auto n = parse_ok("for k in range(m):\n    zr, zi = zr * zr - zi * zi + cr, 2 * zr * zi + ci\n");
  auto st = n->statements();
  EXPECT_EQ(texts(st), "$tuple1 = 2 * zr * zi + ci; zr = zr * zr - zi * zi + cr; zi = $tuple1; ");
  for (auto* s : st) {
    EXPECT_EQ(s->line, 2);
    EXPECT_EQ(s->source_text, "zr, zi = zr * zr - zi * zi + cr, 2 * zr * zi + ci");
  }
  EXPECT_EQ(n->outputs, (std::vector<std::string>{"k", "zr", "zi"}));
  EXPECT_EQ(n->inputs, (std::vector<std::string>{"ci", "cr", "m", "zi", "zr"}));
  // Nothing read by a later value is overwritten: plain assignments, so that
  // both stay reductions.
  n = parse_ok("for i in range(n):\n    s, c = s + x[i], c + 1\n");
  EXPECT_EQ(texts(n->statements()), "s = s + x[i]; c = c + 1; ");
  // An array element written before a later value reads any element (the
  // arrays may be views of one buffer).
  n = parse_ok("for i in range(n):\n    a[i], b[i] = b[i], a[i]\n");
  EXPECT_EQ(texts(n->statements()), "$tuple1 = a[i]; a[i] = b[i]; b[i] = $tuple1; ");
  n = parse_ok("for i in range(n):\n    a, b, c = b, c, a\n");
  EXPECT_EQ(texts(n->statements()), "$tuple1 = a; a = b; b = c; c = $tuple1; ");
  // The target's subscript is read when it is assigned, after k.
  n = parse_ok("for i in range(n):\n    k, a[k] = i, a[k] + 1\n");
  EXPECT_EQ(texts(n->statements()), "$tuple1 = a[k] + 1; k = i; a[k] = $tuple1; ");
  n = parse_ok("for i in range(n):\n    (p, q), r = (q, r), p\n    [u, v] = [v, u]\n");
  ASSERT_EQ(n->statements().size(), 7u);
  EXPECT_EQ(texts(n->statements()), "$tuple1 = p; p = q; q = r; r = $tuple1; $tuple2 = u; u = v; v = $tuple2; ");
  EXPECT_EQ(n->statements()[0]->source_text, "(p, q), r = (q, r), p");
  EXPECT_EQ(n->statements()[4]->source_text, "[u, v] = [v, u]");
  EXPECT_EQ(n->statements()[6]->label(), "S7");
  for (auto& o : n->outputs) EXPECT_FALSE(is_hidden_name(o));
}

TEST(FrontEnd, ChainedAssignmentEvaluatesOnceAndAssignsLeftToRight) {
  // A constant is assigned to each target; another value is kept aside once.
  auto n = parse_ok("for i in range(n):\n    u[i] = u_new[i] = 0.0\n");
  EXPECT_EQ(texts(n->statements()), "u[i] = 0.0; u_new[i] = 0.0; ");
  EXPECT_EQ(n->statements()[0]->source_text, "u[i] = u_new[i] = 0.0");
  n = parse_ok("for i in range(n):\n    x = a[i, j] = b[i] * 2\n");
  EXPECT_EQ(texts(n->statements()), "$chain1 = b[i] * 2; x = $chain1; a[i, j] = $chain1; ");
  // The subscript of a[k] reads the k just assigned, as in Python.
  n = parse_ok("for i in range(n):\n    k = a[k] = 3\n");
  EXPECT_EQ(texts(n->statements()), "k = 3; a[k] = 3; ");
  n = parse_ok("for i in range(n):\n    x = y = x + y\n");
  EXPECT_EQ(texts(n->statements()), "$chain1 = x + y; x = $chain1; y = $chain1; ");
  for (auto& o : n->outputs) EXPECT_FALSE(is_hidden_name(o));
}

TEST(FrontEnd, DivmodUnpackedIsFloorDivisionAndModulo) {
  auto n = parse_ok("for k in range(m):\n    row, col = divmod(k, ncols)\n");
  EXPECT_EQ(texts(n->statements()), "row = k // ncols; col = k % ncols; ");
  EXPECT_EQ(n->statements()[1]->source_text, "row, col = divmod(k, ncols)");
  // Operands are evaluated once; a remainder reading the first target is
  // computed before it.
  n = parse_ok("for i in range(n):\n    x, y = divmod(x + i, y)\n");
  EXPECT_EQ(texts(n->statements()), "$divmod1 = x + i; x = $divmod1 // y; y = $divmod1 % y; ");
  n = parse_ok("for i in range(n):\n    y, x = divmod(x, y)\n");
  EXPECT_EQ(texts(n->statements()), "$divmod1 = x % y; y = x // y; x = $divmod1; ");
  for (auto& o : n->outputs) EXPECT_FALSE(is_hidden_name(o));
}

TEST(FrontEnd, StaticPhaseReadsBoundsThatAreNotAffine) {
  // Opaque: j runs in order, and A[j] is not affine.
  auto n = parse_ok("for i in range(n):\n    for j in range(i * i):\n        A[j] = 1\n");
  auto s = summarize(*analyze_static(n));
  EXPECT_FALSE(static_decline(*analyze_static(n)));
  ASSERT_EQ(s.references.size(), 1u);
  EXPECT_NE(s.references[0].find("j runs over bounds known only while the loop runs"), std::string::npos)
      << s.references[0];
  // Clipped by min: i stays affine.
  n = parse_ok("for ii in range(0, n, 4):\n    for i in range(ii, min(ii + 4, n)):\n        A[i] = 1\n");
  s = summarize(*analyze_static(n));
  EXPECT_FALSE(static_decline(*analyze_static(n)));
  ASSERT_EQ(s.references.size(), 1u);
  EXPECT_EQ(s.references[0].find("not affine"), std::string::npos) << s.references[0];
  // A step that changes: opaque too.
  n = parse_ok("for i in range(1, n):\n    for j in range(0, n, i):\n        A[j] = 1\n");
  s = summarize(*analyze_static(n));
  EXPECT_FALSE(static_decline(*analyze_static(n)));
  EXPECT_NE(s.references[0].find("j runs over bounds known only while the loop runs"), std::string::npos)
      << s.references[0];
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
