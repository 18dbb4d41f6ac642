// The shared pair loop of the dynamic phase (pairs found through the memory
// each array covers, pairs of the same shapes sharing one test) against the
// reference loop (every pair tested on its own): the same plans, edge for
// edge and proof for proof, on hand-bound instances with aliasing, views,
// wrap-around, triangular bounds and coupled subscripts, and on a long body.
#include "common.hpp"

using namespace loopscope::analysis;

namespace {

using Case = BoundCase;

std::string describe(const ParallelPlan& p) {
  std::ostringstream os;
  os << "decline:" << (p.decline ? p.decline->reason : "-") << "\n";
  for (auto& e : p.edges) {
    os << "edge " << e.src << "->" << e.dst << " " << to_string(e.kind) << " " << e.variable << " " << e.src_ref
       << " -> " << e.dst_ref << " (";
    for (size_t k = 0; k < e.direction.size(); ++k)
      os << e.loops[k] << ":" << to_char(e.direction[k]) << (e.distance[k] ? std::to_string(*e.distance[k]) : "?")
         << " ";
    os << ") carrier " << e.carrier << " test " << e.test << "\n";
  }
  for (auto& l : p.loops) {
    os << "loop " << l.var << " " << to_string(l.verdict) << "\n";
    for (auto& r : l.reasons) os << "  reason " << r << "\n";
    for (auto& r : l.reductions) os << "  reduction " << r.variable << " " << r.stmt << "\n";
    for (auto& r : l.privates) os << "  private " << r << "\n";
    for (auto& r : l.last_private) os << "  last " << r << "\n";
  }
  for (auto& s : p.proofs) os << "proof " << s << "\n";
  for (auto& s : p.notes) os << "note " << s << "\n";
  os << "in range " << p.subscripts_in_range << "\n";
  return os.str();
}

// Both loops on one instance; returns the plan's description.
std::string same_both_ways(Case& c) {
  set_reference_pairs(true);
  std::string ref = describe(analyze_dynamic(*c.sa, c.b));
  set_reference_pairs(false);
  std::string fast = describe(analyze_dynamic(*c.sa, c.b));
  EXPECT_EQ(ref, fast);
  return fast;
}

struct ExactOff {
  ExactOff() { set_exact_test_enabled(false); }
  ~ExactOff() { set_exact_test_enabled(true); }
};

}  // namespace

TEST(Pairs, ReferenceIsOffByDefault) { EXPECT_FALSE(reference_pairs()); }

TEST(Pairs, LongStencilBody) {
  std::string src = "for i in range(1, n - 1):\n    for j in range(1, n - 1):\n";
  for (int s = 0; s < 40; ++s)
    src += "        A" + std::to_string(s % 8) + "[i, j] = A" + std::to_string((s + 1) % 8) +
           "[i, j - 1] * 0.5 + B[i + 1, j] - B[i, j + 1] + c\n";
  Case c(src);
  for (int k = 0; k < 8; ++k) c.b.arrays["A" + std::to_string(k)] = view(c.buf.make(64), {8, 8});
  c.b.arrays["B"] = view(c.buf.make(64), {8, 8});
  c.b.scalars["n"] = int_scalar(8);
  std::string plan = same_both_ways(c);
  EXPECT_NE(plan.find("edge"), std::string::npos);
  {
    ExactOff off;
    same_both_ways(c);
  }
  // Two names for one array, and a view that overlaps another.
  c.b.arrays["A3"] = c.b.arrays["A5"];
  same_both_ways(c);
  double* base = c.buf.make(80);
  c.b.arrays["A1"] = view(base, {8, 8});
  c.b.arrays["A2"] = view(base + 9, {8, 8});
  c.b.arrays["B"] = view(base + 16, {8, 8});
  same_both_ways(c);
  ExactOff off;
  same_both_ways(c);
}

TEST(Pairs, AliasesViewsAndWrapAround) {
  Case c("for i in range(n):\n    A[i] = B[i] + A[i - 1] + B[-1 - i]\n    B[i] = A[i + 1] * 2.0\n");
  double* base = c.buf.make(40);
  c.b.scalars["n"] = int_scalar(10);
  c.b.arrays["A"] = view(base, {10});
  c.b.arrays["B"] = view(base + 20, {10});
  same_both_ways(c);
  c.b.arrays["B"] = view(base + 1, {10});  // overlapping, shifted
  same_both_ways(c);
  c.b.arrays["B"] = view(base + 9, {10}, {-1});  // reversed
  same_both_ways(c);
  c.b.arrays["B"] = c.b.arrays["A"];  // the same array
  same_both_ways(c);
  c.b.arrays["B"] = view(base, {10}, {0});  // a zero stride: every index the same element
  same_both_ways(c);
}

TEST(Pairs, TriangularCoupledAndNonAffine) {
  Case c(
      "for i in range(n):\n    for j in range(i + 1, n):\n        A[i, j] = A[j, i] + A[i, j - 1]\n"
      "        C[i * j % 5] = C[i + j] + A[i, i]\n        s = s + C[j]\n");
  c.b.arrays["A"] = view(c.buf.make(64), {8, 8});
  c.b.arrays["C"] = view(c.buf.make(16), {16});
  c.b.scalars["n"] = int_scalar(8);
  same_both_ways(c);
  ExactOff off;
  same_both_ways(c);
}

TEST(Pairs, SettledPairsAndDeadLoops) {
  Case c(
      "for i in range(n):\n    A[0] = A[1] + A[i]\n    for j in range(m):\n        A[j + 2] = A[0] + 1.0\n"
      "    A[1] = A[0] * 2.0\n");
  c.b.arrays["A"] = view(c.buf.make(32), {32});
  c.b.scalars["n"] = int_scalar(6);
  c.b.scalars["m"] = int_scalar(0);  // the inner loop never runs
  same_both_ways(c);
  c.b.scalars["m"] = int_scalar(5);
  same_both_ways(c);
}
