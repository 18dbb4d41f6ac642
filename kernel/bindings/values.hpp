// Binding live Python values to a loop nest: builds the BoundNest that the
// dynamic analysis, the cost model and the code generators work on.
// Reusable by every bindings/*.cpp (hold the GIL while calling).
#pragma once

#include <pybind11/pybind11.h>

#include <optional>

#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"

namespace loopscope::bindings {

// For every name in nest.inputs: arrays (names in nest.arrays) must be NumPy
// arrays of float64/float32/int64/int32/bool in native byte order; other
// inputs must be Python int/float/bool or NumPy integer/float64/bool scalars.
// Fills `out` (out.nest = &nest). Returns a Decline (a sentence a student can
// read) when a value is missing or of an unsupported kind; never throws for
// user values. The array data pointers stay valid only while `env` keeps the
// arrays alive.
//
// This reads the values every time: the engine's entry points read them
// through their trip's pipeline (pipeline.hpp, pass 1), once per trip.
std::optional<analysis::Decline> read_values(const analysis::LoopNest& nest, pybind11::dict env,
                                             analysis::BoundNest& out);

}  // namespace loopscope::bindings
