// A registered nest's mapping as the code generators emit it, for the cost
// model's bindings: the cost model prices the very parallel loops, launches
// and grids that the variants run (analysis/mapping.hpp).
#pragma once

#include <pybind11/pybind11.h>

#include <optional>

#include "loopscope/analysis/mapping.hpp"

namespace loopscope::bindings {

// The GPU mapping of nest `nest_id` bound to `env`, from the trip's CUDA
// program when a trip on them is open (generated once per trip), or nullopt
// when the nest has no GPU variant (the binding, the analysis or the
// generator declined it). Defined in cuda.cpp. Hold the GIL.
std::optional<analysis::GpuMapping> cuda_mapping(int nest_id, pybind11::dict env);

// The loops the parallel CPU variant splits over threads for `env`
// (jit::check_cpu, memoised), or nullopt when the CPU variant declines.
// Defined in cpu.cpp. Hold the GIL.
std::optional<analysis::CpuMapping> cpu_mapping(int nest_id, pybind11::dict env);

}  // namespace loopscope::bindings
