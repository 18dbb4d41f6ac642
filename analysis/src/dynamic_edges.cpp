// Dynamic phase, the dependence graph: which pairs of references are tested
// (every pair in order, or the same pairs found through the memory each
// array covers, with pairs of the same signatures sharing one outcome), and
// the edges (FoundEdge: kind, direction and distance vectors, carrier) or
// the proofs of independence that the outcomes give.
// Separate from the tests of one pair (dynamic_exact.cpp) because this is
// the bookkeeping around them: pair order, sharing, merging of edges.
#include "dynamic_internal.hpp"

#include <algorithm>
#include <cstring>

#include "loopscope/analysis/deptest.hpp"

namespace loopscope::analysis::dynamic_detail {

// Edges of one pair; `index` (when given) finds the edge to merge with in
// constant time instead of scanning every edge found so far.
void DynamicPhase::add_edges(const RefInfo& r1, const RefInfo& r2, const std::vector<DirectionVector>& vecs,
                             const std::string& test, EdgeIndex* index) {
  int nc = common_loops(r1, r2);
  for (auto& v : vecs) {
    int first = -1;
    for (int k = 0; k < nc; ++k)
      if (v.dir[k] != Direction::Eq) {
        first = k;
        break;
      }
    const RefInfo* src = &r1;
    const RefInfo* dst = &r2;
    std::vector<Direction> dir = v.dir;
    std::vector<std::optional<int64_t>> dist = v.distance;
    if (first < 0) {
      if (r1.index == r2.index) continue;  // the same access
    } else if (v.dir[first] == Direction::Gt) {
      if (r1.index == r2.index) continue;  // mirror of a '<' vector
      std::swap(src, dst);
      for (auto& d : dir) d = d == Direction::Lt ? Direction::Gt : d == Direction::Gt ? Direction::Lt : d;
      for (auto& d : dist)
        if (d) d = -*d;
    }
    if (!src->write && !dst->write) continue;
    FoundEdge ie;
    ie.r_src = src->index;
    ie.r_dst = dst->index;
    DependenceEdge& e = ie.e;
    e.src = src->stmt->id;
    e.dst = dst->stmt->id;
    e.kind = src->write && dst->write ? DepKind::Output : src->write ? DepKind::Flow : DepKind::Anti;
    e.carrier = first;
    // Merge with an edge of the same endpoints and carrier.
    FoundEdge* same = nullptr;
    if (index) {
      auto [it, fresh] = index->emplace(EdgeKey{ie.r_src, ie.r_dst, e.carrier, (int)e.kind}, edges.size());
      if (!fresh) same = &edges[it->second];
    } else {
      for (auto& o : edges)
        if (o.r_src == ie.r_src && o.r_dst == ie.r_dst && o.e.carrier == e.carrier && o.e.kind == e.kind) {
          same = &o;
          break;
        }
    }
    if (same) {
      for (size_t k = 0; k < dir.size(); ++k) {
        if (same->e.direction[k] != dir[k]) same->e.direction[k] = Direction::Star;
        if (same->e.distance[k] != dist[k]) same->e.distance[k] = std::nullopt;
      }
      continue;
    }
    e.variable = src->array == dst->array ? src->array : src->array + "/" + dst->array;
    e.src_ref = src->text;
    e.dst_ref = dst->text;
    for (int k = 0; k < nc; ++k) e.loops.push_back(sa.loops[r1.loops[k]].stmt->var);
    e.direction = dir;
    e.distance = dist;
    e.test = test;
    ie.carrier_loop = first >= 0 ? sa.loops[r1.loops[first]].stmt : nullptr;
    edges.push_back(std::move(ie));
  }
}

void DynamicPhase::prove(const RefInfo& r1, const RefInfo& r2, const std::string& test) {
  std::string text = r1.text == r2.text ? r1.text + " in different iterations" : r1.text + " and " + r2.text;
  proofs.push_back(text + ": never the same element (" + (test.empty() ? std::string("dependence tests") : test) + ")");
}

void DynamicPhase::apply(const RefInfo& r1, const RefInfo& r2, const PairOutcome& o, EdgeIndex* index) {
  if (o.vectors.empty())
    prove(r1, r2, o.test);
  else
    add_edges(r1, r2, o.vectors, o.test, index);
}

// ---- sharing work between pairs ------------------------------------------
// A reference's signature: everything evaluate_pair() reads about it for a
// given relation of the two arrays. For arrays that are the same memory:
// the array's shape, the enclosing loops, the subscripts in counters and
// the subscript expressions themselves (the exact test evaluates them).
// For overlapping views: the same with the array's name instead of its
// shape, since byte addresses depend on the binding.
namespace {

void put_i64(std::string& s, int64_t v) { s.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_str(std::string& s, const std::string& t) {
  put_i64(s, (int64_t)t.size());
  s += t;
}
void put_expr(std::string& s, const Expr* e) {
  if (!e) {
    s.push_back('0');
    return;
  }
  s.push_back('e');
  put_i64(s, (int64_t)e->kind);
  put_i64(s, e->ival);
  int64_t bits;
  std::memcpy(&bits, &e->fval, sizeof bits);
  put_i64(s, bits);
  put_str(s, e->name);
  put_i64(s, (int64_t)e->bin_op);
  put_i64(s, (int64_t)e->un_op);
  put_i64(s, (int64_t)e->bool_op);
  put_i64(s, (int64_t)e->cmp_ops.size());
  for (auto c : e->cmp_ops) put_i64(s, (int64_t)c);
  put_i64(s, (int64_t)e->args.size());
  for (auto& a : e->args) put_expr(s, a.get());
}

}  // namespace

void DynamicPhase::signatures() {
  std::unordered_map<std::string, int> ids;
  auto intern = [&](std::string&& k) { return ids.emplace(std::move(k), (int)ids.size()).first->second; };
  sig_same.assign(sa.refs.size(), -1);
  sig_overlap.assign(sa.refs.size(), -1);
  for (auto& r : sa.refs) {
    const RefInstance& d = refs[r.index];
    if (!d.live) continue;
    std::string body;
    put_i64(body, (int64_t)r.loops.size());
    for (int l : r.loops) put_i64(body, l);
    put_i64(body, (int64_t)d.t.size());
    for (auto& t : d.t) {
      body.push_back(t ? 't' : '-');
      if (!t) continue;
      for (auto c : t->c) put_i64(body, c);
      put_i64(body, t->k);
    }
    put_i64(body, (int64_t)r.expr->args.size());
    for (auto& a : r.expr->args) put_expr(body, a.get());
    std::string same = "S";
    auto it = bound.arrays.find(r.array);
    if (it != bound.arrays.end()) {
      put_i64(same, (int64_t)it->second.shape.size());
      for (auto x : it->second.shape) put_i64(same, x);
    } else {
      put_str(same, r.array);
    }
    std::string over = "O";
    put_str(over, r.array);
    sig_same[r.index] = intern(same + body);
    sig_overlap[r.index] = intern(over + body);
  }
}

int DynamicPhase::signature(const RefInfo& r, Relation re) const {
  return re == Relation::Same ? sig_same[r.index] : sig_overlap[r.index];
}

void DynamicPhase::dependences() {
  exact_on = exact_test_enabled();
  if (reference_pairs())
    dependences_every_pair();
  else
    dependences_shared();
}

// The reference: every pair of references in order, each tested on its own.
void DynamicPhase::dependences_every_pair() {
  share = false;
  for (size_t i = 0; i < sa.refs.size(); ++i) {
    for (size_t j = i; j < sa.refs.size(); ++j) {
      const RefInfo& r1 = sa.refs[i];
      const RefInfo& r2 = sa.refs[j];
      if (!r1.write && !r2.write) continue;
      if (!refs[i].live || !refs[j].live) continue;
      auto it = array_relations.find({r1.array, r2.array});
      if (it == array_relations.end() || it->second == Relation::Disjoint) continue;
      if (it->second == Relation::Same && sa.settled.count({(int)i, (int)j})) continue;
      apply(r1, r2, evaluate_pair(r1, r2, it->second));
    }
  }
}

// The same pairs in the same order, with the same results, found through
// the memory each array covers: for a reference, only the references of
// arrays that may share its memory (by the relations, so two names of one
// buffer do meet), and only writes when it is a read. Pairs whose two
// signatures were seen before reuse that outcome.
void DynamicPhase::dependences_shared() {
  share = true;
  const auto& names = sa.nest->arrays;
  size_t na = names.size();
  std::unordered_map<std::string, int> aidx;
  for (size_t a = 0; a < na; ++a) aidx.emplace(names[a], (int)a);
  for (auto& r : sa.refs)
    if (!aidx.count(r.array)) return dependences_every_pair();  // not expected: arrays lists every name
  std::vector<std::vector<int>> all_of(na), writes_of(na);
  for (auto& r : sa.refs) {
    int a = aidx[r.array];
    all_of[a].push_back(r.index);
    if (r.write) writes_of[a].push_back(r.index);
  }
  std::vector<int> relm(na * na, -1);
  std::vector<std::vector<int>> related(na);
  for (size_t x = 0; x < na; ++x)
    for (size_t y = 0; y < na; ++y) {
      auto it = array_relations.find({names[x], names[y]});
      if (it == array_relations.end() || it->second == Relation::Disjoint) continue;
      relm[x * na + y] = (int)it->second;
      related[x].push_back((int)y);
    }
  signatures();
  std::unordered_map<uint64_t, PairOutcome> memo;
  EdgeIndex index;
  std::vector<int> cand;
  for (size_t i = 0; i < sa.refs.size(); ++i) {
    const RefInfo& r1 = sa.refs[i];
    if (!refs[i].live) continue;
    int x = aidx[r1.array];
    cand.clear();
    for (int y : related[x]) {
      const auto& list = r1.write ? all_of[y] : writes_of[y];
      cand.insert(cand.end(), std::lower_bound(list.begin(), list.end(), (int)i), list.end());
    }
    std::sort(cand.begin(), cand.end());
    for (int j : cand) {
      const RefInfo& r2 = sa.refs[j];
      if (!refs[j].live) continue;
      auto re = (Relation)relm[x * na + aidx[r2.array]];
      if (re == Relation::Same && sa.settled.count({(int)i, j})) continue;
      uint64_t key =
          ((uint64_t)re << 62) | ((uint64_t)(uint32_t)signature(r1, re) << 31) | (uint64_t)(uint32_t)signature(r2, re);
      auto it = memo.find(key);
      if (it == memo.end()) it = memo.emplace(key, evaluate_pair(r1, r2, re)).first;
      apply(r1, r2, it->second, &index);
    }
  }
}

}  // namespace loopscope::analysis::dynamic_detail
