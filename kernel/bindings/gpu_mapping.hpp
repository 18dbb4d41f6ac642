// The GPU mapping of a registered nest as the CUDA generator emits it, for
// the cost model's bindings: the cost model prices the very launches and
// grids that the GPU variant runs (analysis/mapping.hpp).
#pragma once

#include <pybind11/pybind11.h>

#include <optional>

#include "loopscope/analysis/mapping.hpp"

namespace loopscope::bindings {

// The mapping of nest `nest_id` bound to `env`, from the trip's CUDA program
// when a trip on them is open (generated once per trip), or nullopt when the
// nest has no GPU variant (the binding, the analysis or the generator
// declined it). Hold the GIL.
std::optional<analysis::GpuMapping> cuda_mapping(int nest_id, pybind11::dict env);

}  // namespace loopscope::bindings
