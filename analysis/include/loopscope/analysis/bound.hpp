// The bound instance: a LoopNest together with the run-time facts that the
// dynamic phase, the cost model and the code generators need: array shapes,
// strides, element types and memory, and the values of scalars read by the
// nest. Built by the Python bindings from live objects just before a nest runs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loopscope/analysis/ir.hpp"

namespace loopscope::analysis {

enum class DType { Float64, Float32, Int64, Int32, Bool };
const char* to_string(DType t);  // "float64", ...
int dtype_size(DType t);

struct ArrayBinding {
  DType dtype = DType::Float64;
  void* data = nullptr;  // address of element [0, 0, ...]
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // in bytes, may be negative (views)
  bool writeable = true;
  // Memory identity: the lowest and one-past-highest byte address that the
  // array can touch. Two arrays alias when these ranges overlap.
  uintptr_t mem_lo = 0, mem_hi = 0;
  bool c_contiguous = false;
};

enum class ScalarKind { Int, Float, Bool };

struct ScalarBinding {
  ScalarKind kind = ScalarKind::Int;
  int64_t ival = 0;   // Int and Bool
  double fval = 0.0;  // Float
};

struct BoundNest {
  const LoopNest* nest = nullptr;
  std::map<std::string, ArrayBinding> arrays;    // every name in nest->arrays
  std::map<std::string, ScalarBinding> scalars;  // inputs that are scalars
};

}  // namespace loopscope::analysis
