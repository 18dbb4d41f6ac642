// _loopscope.analysis_set_reference_pairs(enabled): the dynamic phase's
// reference pair loop (every pair of references tested on its own, in
// order) instead of the shared one. For tests, which check that both give
// the same dependence graph and plan (tests/python/test_big_bodies.py).
#include <pybind11/pybind11.h>

#include "loopscope/analysis/analysis.hpp"
#include "registry.hpp"

namespace py = pybind11;

namespace {

void bind_reference(py::module_& m) {
  m.def("analysis_set_reference_pairs", &loopscope::analysis::set_reference_pairs, py::arg("enabled"),
        "Test every pair of references on its own, in order (the reference the shared pair loop is checked "
        "against); off by default.");
  m.def("analysis_reference_pairs", &loopscope::analysis::reference_pairs, "Whether the reference pair loop is on.");
}

loopscope::bindings::Registrar registrar("analysis_reference", &bind_reference);

}  // namespace
