// while loops, break, continue and the else blocks of loops: what the front
// end builds, and the plans the analysis makes of them.
#include "common.hpp"

using namespace loopscope::analysis;

namespace {

// The nest's statements as text, in order, with their blocks in braces.
std::string shape(const std::vector<StmtPtr>& b) {
  std::string out;
  for (auto& s : b) {
    switch (s->kind) {
      case StmtKind::Assign: out += to_source(*s->target) + " = " + to_source(*s->value) + "; "; break;
      case StmtKind::AugAssign:
        out += to_source(*s->target) + " " + to_string(s->aug_op) + "= " + to_source(*s->value) + "; ";
        break;
      case StmtKind::If:
        out += std::string(s->is_while ? "while " : "if ") + to_source(*s->cond) + " {" + shape(s->body) + "}";
        if (!s->orelse.empty()) out += " else {" + shape(s->orelse) + "}";
        out += " ";
        break;
      case StmtKind::For: out += "for " + s->var + " {" + shape(s->body) + "} "; break;
      case StmtKind::Break: out += "break; "; break;
      case StmtKind::Continue: out += "continue; "; break;
    }
  }
  return out;
}

}  // namespace

TEST(ControlFlow, WhileIsALoopOfTheIfKind) {
  auto n = parse_ok(
      "for i in range(n):\n"
      "    k = 0\n"
      "    while k < m and A[i, k] > 0:\n"
      "        k += 1\n"
      "    B[i] = k\n");
  EXPECT_EQ(shape(n->root->body), "k = 0; while k < m and A[i, k] > 0 {k += 1; } B[i] = k; ");
  const Stmt& w = *n->root->body[1];
  EXPECT_TRUE(w.is_while);
  EXPECT_EQ(w.label(), "while@3");
  EXPECT_EQ(n->loops().size(), 1u);
  EXPECT_EQ(n->inputs, (std::vector<std::string>{"A", "B", "m", "n"}));
}

TEST(ControlFlow, WhatFollowsAJumpMovesIntoTheBranchThatGoesOn) {
  auto n = parse_ok(
      "for i in range(n):\n"
      "    if A[i] < 0:\n"
      "        continue\n"
      "    B[i] = A[i]\n"
      "    for j in range(m):\n"
      "        if A[j] == t:\n"
      "            B[i] = j\n"
      "            break\n"
      "        elif A[j] > t:\n"
      "            break\n"
      "        C[j] = 1\n"
      "        break\n"
      "        C[j] = 2\n");
  EXPECT_EQ(shape(n->root->body),
            "if A[i] < 0 {continue; } else {B[i] = A[i]; for j {if A[j] == t {B[i] = j; break; } else {if A[j] > t "
            "{break; } else {C[j] = 1; break; } } } } ");
  // Jumps name their loop.
  const Stmt& cont = *n->root->body[0]->body[0];
  EXPECT_EQ(cont.kind, StmtKind::Continue);
  EXPECT_EQ(cont.jump_target, n->root->id);
}

TEST(ControlFlow, ElseBlocksOfLoops) {
  // Without a break the else block simply follows the loop.
  auto n = parse_ok("for i in range(n):\n    for j in range(m):\n        A[j] = 1\n    else:\n        B[i] = 2\n");
  EXPECT_EQ(shape(n->root->body), "for j {A[j] = 1; } B[i] = 2; ");
  // With one, a hidden flag guards it.
  n = parse_ok(
      "for i in range(n):\n"
      "    while x < 3:\n"
      "        if A[i] > 0:\n"
      "            break\n"
      "        x += 1\n"
      "    else:\n"
      "        B[i] = 2\n");
  EXPECT_EQ(shape(n->root->body),
            "$else1 = True; while x < 3 {if A[i] > 0 {$else1 = False; break; } else {x += 1; } } if $else1 {B[i] = "
            "2; } ");
  for (auto& o : n->outputs) EXPECT_FALSE(is_hidden_name(o));
}

TEST(ControlFlow, BreakMakesItsLoopSequentialAndKeepsTheOthers) {
  BoundCase c(
      "for i in range(n):\n"
      "    idx[i] = -1\n"
      "    for j in range(m):\n"
      "        if A[i, j] == t:\n"
      "            idx[i] = j\n"
      "            break\n");
  c.b.arrays["A"] = view(c.buf.make(40), {4, 10});
  c.b.arrays["idx"] = view(c.buf.make(4), {4});
  c.b.scalars["n"] = int_scalar(4);
  c.b.scalars["m"] = int_scalar(10);
  c.b.scalars["t"] = int_scalar(3);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Parallel);
  const LoopPlan& j = loop(p, "j");
  EXPECT_EQ(j.verdict, LoopVerdict::Sequential);
  ASSERT_FALSE(j.reasons.empty());
  EXPECT_NE(j.reasons[0].find("'break' on line 6"), std::string::npos) << j.reasons[0];
}

TEST(ControlFlow, WhileScalarsArePrivateWhenAssignedBeforeTheWhile) {
  BoundCase c(
      "for i in range(n):\n"
      "    for j in range(m):\n"
      "        zr = 0.0\n"
      "        zi = 0.0\n"
      "        k = 0\n"
      "        while zr * zr + zi * zi < 4.0 and k < it:\n"
      "            zr, zi = zr * zr - zi * zi + X[j], 2.0 * zr * zi + Y[i]\n"
      "            k += 1\n"
      "        out[i, j] = k\n");
  c.b.arrays["out"] = view(c.buf.make(40), {4, 10});
  c.b.arrays["X"] = view(c.buf.make(10), {10});
  c.b.arrays["Y"] = view(c.buf.make(4), {4});
  c.b.scalars["n"] = int_scalar(4);
  c.b.scalars["m"] = int_scalar(10);
  c.b.scalars["it"] = int_scalar(50);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Parallel);
  EXPECT_EQ(loop(p, "j").verdict, LoopVerdict::Parallel);
}

TEST(ControlFlow, ScalarCarriedIntoTheWhileKeepsTheLoopSequential) {
  // k is not reset: each iteration of i continues from the k the last one left.
  BoundCase c(
      "for i in range(n):\n"
      "    while k < i:\n"
      "        out[k] = i\n"
      "        k += 1\n");
  c.b.arrays["out"] = view(c.buf.make(10), {10});
  c.b.scalars["n"] = int_scalar(10);
  c.b.scalars["k"] = int_scalar(0);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  EXPECT_EQ(loop(p, "i").verdict, LoopVerdict::Sequential);
}

TEST(ControlFlow, SubscriptReadingAWhileScalarIsUnknown) {
  // out[k] with k counted in the while: any element, in any iteration of i.
  BoundCase c(
      "for i in range(n):\n"
      "    k = 0\n"
      "    while k < A[i]:\n"
      "        out[k] += 1\n"
      "        k += 1\n");
  c.b.arrays["out"] = view(c.buf.make(10), {10});
  c.b.arrays["A"] = view(c.buf.make(10), {10});
  c.b.scalars["n"] = int_scalar(10);
  auto p = c.plan();
  ASSERT_FALSE(p.decline);
  EXPECT_NE(loop(p, "i").verdict, LoopVerdict::Parallel);
}
