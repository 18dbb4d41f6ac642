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

// The NumPy element types bound natively. The small integers (UInt8 ...
// UInt64) are loaded as their NumPy scalar types (np.uint8, ...); the code
// generators decide which operations on them they keep exact. Complex128 and
// Complex64 hold pairs of float64 / float32 (real, imaginary). Float16 (IEEE
// half precision) elements are np.float16 scalars: the CPU variant computes
// with them as NumPy does (in float32, rounded to float16 at each operation).
enum class DType {
  Float64,
  Float32,
  Int64,
  Int32,
  Bool,
  UInt8,
  Int8,
  UInt16,
  Int16,
  UInt32,
  UInt64,
  Complex128,
  Complex64,
  Float16
};
const char* to_string(DType t);  // "float64", ...
int dtype_size(DType t);
// An integer dtype other than int64/int32 (uint8, int8, uint16, int16,
// uint32, uint64).
inline bool is_small_int(DType t) { return t >= DType::UInt8 && t <= DType::UInt64; }
inline bool is_complex(DType t) { return t == DType::Complex128 || t == DType::Complex64; }

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
  // A snapshot of a Python list or tuple that the nest only reads: its
  // elements are Python floats, ints or bools (not NumPy scalars), and it is
  // never written.
  bool python_elements = false;
};

// Complex: a Python complex or an np.complex128 (fval real, fimag imaginary).
enum class ScalarKind { Int, Float, Bool, Complex };

struct ScalarBinding {
  ScalarKind kind = ScalarKind::Int;
  int64_t ival = 0;    // Int and Bool
  double fval = 0.0;   // Float; Complex: the real part
  double fimag = 0.0;  // Complex: the imaginary part
  // A NumPy scalar (np.float32, np.int64, np.float64, ...; not a Python
  // number): its dtype. The interpreter's prices depend on it (the cost
  // model's Counter::py_value); the native code reads the value above.
  bool numpy = false;
  DType numpy_dtype = DType::Float64;
};

struct BoundNest {
  const LoopNest* nest = nullptr;
  std::map<std::string, ArrayBinding> arrays;    // every name in nest->arrays
  std::map<std::string, ScalarBinding> scalars;  // inputs that are scalars
};

}  // namespace loopscope::analysis
