// The one evaluator of integer IR expressions, with Python's semantics: the
// dynamic phase (loop bounds, subscripts), the cost model (bounds and
// conditions at sample points) and the CUDA generator's host side (launch
// bounds) call it, each with its own name lookup.
//
// The value of an expression is the int Python would compute (True and False
// are 1 and 0), or nullopt, "not a known integer", when:
//  - the lookup has no integer for a name it reads (a float, an array, a
//    value not bound), or the expression is not an integer one (a float
//    constant, a subscript, `/`, a negative power, a call it does not know);
//  - Python raises (x // 0, x % 0);
//  - the result, or any value computed on the way, does not fit in int64
//    (Python's ints never wrap: there is no int64 answer).
// Operators: + - * // % ** (floor division and modulo round towards minus
// infinity), unary - + not, chained comparisons (a < b <= c, evaluated left
// to right and stopping at the first false one, as Python does), `and` /
// `or` (the value of the operand Python stops at), `x if c else y` (only the
// branch taken is evaluated), and the calls abs(x), min(a, b, ...),
// max(a, b, ...), int(x) and np.abs(x) (on an int64 the same value as abs).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "loopscope/analysis/ir.hpp"

namespace loopscope::analysis {

// The integer value of a name (a loop variable, a scalar input, "A.shape[0]",
// "len(A)"), or nullopt when the caller has none.
using NameLookup = std::function<std::optional<int64_t>(const std::string&)>;

std::optional<int64_t> eval_int(const Expr& e, const NameLookup& lookup);

}  // namespace loopscope::analysis
