// Specialisation of a bound nest for the CPU code generator: static types of
// every scalar, which loops run in parallel, loop steps, and for every
// subscript and integer operation whether a run-time check is needed (decided
// from intervals of the loop variables and the actual array shapes). The
// specialisation also yields the variant-cache key. Private to the jit module.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "cpu_types.hpp"
#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/plan.hpp"
#include "loopscope/jit/cpu.hpp"

namespace loopscope::jit::cpu {

// How one subscript index is turned into an offset.
enum class IndexMode : uint8_t {
  Direct,       // proven in [0, n)
  AddExtent,    // proven in [-n, 0): wraps like Python
  Wrap,         // proven in [-n, n): wrap when negative
  CheckedWrap,  // not proven: checked at run time (a failing check falls back)
};

struct ArrayInfo {
  std::string name;
  analysis::DType dtype = analysis::DType::Float64;
  int ndim = 0;
  bool inner_contiguous = false;  // last stride == element size
  bool written = false;
  bool python_elements = false;  // ArrayBinding::python_elements: reads are Python scalars
  int slot = 0;                  // frame: data, shape[ndim], strides[ndim]
};

struct VarInfo {
  std::string name;
  VT type;
  bool typed = false;
  bool input = false;        // has a value from the enclosing scope
  bool input_numpy = false;  // ... and that value is a NumPy scalar
  bool assigned = false;     // assigned in the nest (including loop variables)
  bool loop_var = false;
  // Holds a Python int before the loop and floats once assigned (`acc = 0`,
  // then `acc += x[i]`): native code keeps it as a float from the start,
  // which gives Python's results where it is read (Specialiser::
  // check_int_then_float_reads); left unassigned, it keeps its int.
  bool int_then_float = false;
  // Holds the int 0 before the nest makes it a complex (`z = 0`, then
  // `z = z * z + c`): native code keeps it as the complex 0j from the start,
  // which gives Python's results where it is read (Specialiser::
  // check_int_then_complex_reads); its kind is tracked at run time.
  bool int_then_complex = false;
  // Holds a Python int in some assignments and a small NumPy integer in
  // others (`m = 255`, then `m = img[i, j]`, an np.uint8): held as the int64
  // of its value with its kind tracked at run time, typed as a Python int,
  // and read only where both kinds give the same result (Specialiser::
  // check_int_or_small_reads). `small_kind` is the small type.
  bool int_or_small = false;
  Small small_kind = Small::None;
  int slot = 0;  // frame: value, kind, defined, touched, imaginary part (complex)
};

struct Spec {
  const analysis::BoundNest* bound = nullptr;
  const analysis::ParallelPlan* plan = nullptr;
  CpuOptions options;
  std::vector<ArrayInfo> arrays;
  std::map<std::string, int> array_index;
  std::vector<VarInfo> vars;
  std::map<std::string, int> var_index;
  std::map<int, int64_t> steps;  // For stmt id -> step
  std::set<int> parallel_loops;  // For stmt ids run on the pool
  // Integer array reductions of a parallel loop (For id -> arrays, in the
  // order of S.arrays): each thread accumulates into a zeroed copy of the
  // array, and the copies are added into it after the loop.
  std::map<int, std::vector<std::string>> private_arrays;
  std::map<int, int64_t> max_trips;        // For id -> proven bound on its trip count
  std::map<int, int> parallel_start_slot;  // For stmt id -> frame slot
  std::map<const analysis::Expr*, std::vector<IndexMode>> index_modes;
  std::set<const analysis::Expr*> overflow_checks;  // int ops that need one
  int frame_size = 0;
  // No written array shares memory with any other array: every element
  // access may carry alias-scope metadata (lets LLVM keep values in
  // registers and vectorise without run-time overlap checks).
  bool disjoint = false;
  std::string key;
  std::string parallel_description;
};

// Throws Unsupported for a nest the CPU variant cannot run exactly.
Spec specialise(const analysis::BoundNest& bound, const analysis::ParallelPlan& plan, const CpuOptions& options);

}  // namespace loopscope::jit::cpu
