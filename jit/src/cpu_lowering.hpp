// Lowering a specialised nest (cpu_spec.hpp) to LLVM IR: the loops and the
// expressions with Python's semantics, the run-time checks that trap back to
// Python, the parallel regions handed to the thread pool (cpu_runtime.hpp),
// and the schedule transformations (loop interchange, unroll-and-jam) where
// they are legal. cpu_codegen.cpp compiles the module (ORC), caches the
// variant and runs it.
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <set>
#include <string>
#include <vector>

#include "cpu_spec.hpp"

namespace loopscope::jit {

struct LoweringOptions {
  bool allow_interchange = true;  // off when the code must keep Python's order (checks that trap)
  bool allow_jam = true;
};

// What lowering found out about the nest (the code itself is in the module).
struct LoweredNest {
  bool traps = false;                     // the code has run-time checks that trap to Python
  bool reads_fp_flags = false;            // the run must read the IEEE flags (NumPy's warnings)
  std::set<std::string> loaded_arrays;    // arrays whose elements the nest reads
  std::vector<std::string> interchanged;  // "outer/inner" of each interchanged nest
  std::vector<std::string> jammed;        // "outer/inner" of each unrolled-and-jammed nest
};

// Adds to `module` the function `name`, `int32_t name(int64_t* frame, void*
// run_state)`, that runs the nest of `spec` on the frame's values and
// returns cpu_runtime.hpp's status (rt::kOk, rt::kTrap, ...).
LoweredNest lower_nest(const cpu::Spec& spec, llvm::LLVMContext& ctx, llvm::Module& module, const std::string& name,
                       const LoweringOptions& options = {});

// Whether the code of `module`, once optimised, can still stop with a trap: a
// call to the run time's trap (or to a run-time helper that can trap) is left.
// LLVM removes checks it proves never fail (a variable read after it is
// always assigned, a deferred check whose flag is never set): a variant
// whose every check went needs no snapshot of the arrays it writes.
bool module_may_trap(const llvm::Module& module);

}  // namespace loopscope::jit
