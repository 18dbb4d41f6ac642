// Helpers of the analysis tests: an embedded interpreter for the front end
// and hand-made bound instances.
#pragma once

#include <gtest/gtest.h>
#include <pybind11/embed.h>

#include <memory>
#include <string>
#include <vector>

#include "loopscope/analysis/analysis.hpp"
#include "loopscope/analysis/frontend.hpp"

namespace lsa = loopscope::analysis;

inline std::shared_ptr<const lsa::LoopNest> parse_ok(const std::string& src) {
  auto r = lsa::nest_from_source(src);
  EXPECT_FALSE(r.decline.has_value()) << (r.decline ? r.decline->reason : "");
  return r.nest;
}

// Arrays backed by vectors; views share a buffer.
struct Buffers {
  std::vector<std::unique_ptr<std::vector<double>>> store;
  double* make(size_t n) {
    store.push_back(std::make_unique<std::vector<double>>(n, 0.0));
    return store.back()->data();
  }
};

inline lsa::ArrayBinding view(double* data, std::vector<int64_t> shape, std::vector<int64_t> strides_elems = {}) {
  lsa::ArrayBinding a;
  a.dtype = lsa::DType::Float64;
  a.data = data;
  a.shape = shape;
  if (strides_elems.empty()) {
    strides_elems.assign(shape.size(), 1);
    for (int d = (int)shape.size() - 2; d >= 0; --d) strides_elems[d] = strides_elems[d + 1] * shape[d + 1];
  }
  intptr_t lo = 0, hi = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t s = strides_elems[d] * 8;
    a.strides.push_back(s);
    if (s < 0)
      lo += s * (shape[d] - 1);
    else
      hi += s * (shape[d] - 1);
  }
  a.mem_lo = reinterpret_cast<uintptr_t>(data) + lo;
  a.mem_hi = reinterpret_cast<uintptr_t>(data) + hi + 8;
  return a;
}

inline lsa::ScalarBinding int_scalar(int64_t v) {
  lsa::ScalarBinding s;
  s.kind = lsa::ScalarKind::Int;
  s.ival = v;
  return s;
}

inline const lsa::LoopPlan& loop(const lsa::ParallelPlan& p, const std::string& var, int nth = 0) {
  for (auto& l : p.loops)
    if (l.var == var && nth-- == 0) return l;
  static lsa::LoopPlan none;
  ADD_FAILURE() << "no loop " << var;
  return none;
}

// A nest parsed from source with its static analysis, and an instance to
// bind by hand (arrays from `buf`); plan() runs the dynamic phase on it.
struct BoundCase {
  std::shared_ptr<const lsa::LoopNest> nest;
  std::shared_ptr<const lsa::StaticAnalysis> sa;
  lsa::BoundNest b;
  Buffers buf;
  explicit BoundCase(const std::string& src) : nest(parse_ok(src)), sa(lsa::analyze_static(nest)) {
    b.nest = nest.get();
  }
  lsa::ParallelPlan plan() { return lsa::analyze_dynamic(*sa, b); }
};
