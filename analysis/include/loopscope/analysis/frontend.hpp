// Front end: Python `ast` objects to the loop-nest IR.
//
// The caller holds the GIL and passes an `ast.For` node (for example from
// ast.parse of a cell). Everything the IR cannot express yields a Decline
// with a readable reason and the line concerned; nothing here throws for user
// code. Include <pybind11/pybind11.h> before calling.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "loopscope/analysis/ir.hpp"

namespace pybind11 {
class handle;
}

namespace loopscope::analysis {

struct FrontEndResult {
  std::shared_ptr<const LoopNest> nest;  // set when accepted
  std::optional<Decline> decline;        // set when declined
};

// `for_node` must be an ast.For. `source` is the text the node was parsed
// from (used to fill LoopNest::source; may be empty). Line numbers in the IR
// are the node's own `lineno` values.
FrontEndResult nest_from_ast(const pybind11::handle& for_node, const std::string& source);

// Convenience: ast.parse(source) and convert the first top-level statement,
// which must be a `for` loop (used by tests and benchmarks).
FrontEndResult nest_from_source(const std::string& source);

}  // namespace loopscope::analysis
