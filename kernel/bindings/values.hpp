// Binding live Python values to a loop nest: builds the BoundNest that the
// dynamic analysis, the cost model and the code generators work on.
// Reusable by every bindings/*.cpp (hold the GIL while calling).
#pragma once

#include <pybind11/pybind11.h>

#include <cstdint>
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
// Inside a trip on this nest and this very `env` (below), the values are read
// only once: later calls copy the trip's binding.
std::optional<analysis::Decline> bind_values(const analysis::LoopNest& nest, pybind11::dict env,
                                             analysis::BoundNest& out);

// A trip is one execution of one nest. Python opens it once it has the
// values the nest reads (trip_begin) and closes it when that execution is
// over (trip_end, in a `finally`); in between, every engine entry point it
// calls with the same nest id and the same env dict (the analysis for the
// report, the cost model's facts and decision, the CPU or GPU run) shares
// one binding and one generated CUDA program. The env must not change during
// the trip; the trip keeps it, and so the arrays, alive. Trips nest (a
// stack per thread) and are per thread, like the GIL-holding calls that use
// them.
void trip_begin(int nest_id, pybind11::dict env);
void trip_end();

// The serial number of the innermost open trip whose nest and env these
// are, or 0 outside any: code that derives something from the binding keeps
// it for the trip under this number (cuda.cpp keeps its generated program).
std::uint64_t trip_serial(const analysis::LoopNest& nest, pybind11::handle env);

// How many times values were really read (bind_values outside a trip, or
// the first time inside one) and CUDA really generated, since the module was
// loaded: the tests check that one execution reads its values once.
struct EngineCounters {
  long binds = 0;
  long cuda_generations = 0;
};
EngineCounters& engine_counters();

}  // namespace loopscope::bindings
