// The one Python shape of a decline, for every binding that returns one:
//   {"code": str, "line": int, "reason": str, "detail": str}
// code: analysis::to_string(DeclineCode) ("unsupported_value", ...); reason:
// the sentence for the user; detail: for developers, possibly "". Python reads
// it with loopscope._records.Decline.from_engine.
#pragma once

#include <pybind11/pybind11.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "loopscope/analysis/decline.hpp"

namespace loopscope::bindings {

inline pybind11::dict decline_dict(const analysis::Decline& d) {
  pybind11::dict r;
  r["code"] = analysis::to_string(d.code);
  r["line"] = d.line;
  r["reason"] = d.reason;
  r["detail"] = d.detail;
  return r;
}

// The same shape inside a JSON result (the cost model's estimates).
inline nlohmann::json decline_json(const analysis::Decline& d) {
  return {{"code", analysis::to_string(d.code)}, {"line", d.line}, {"reason", d.reason}, {"detail", d.detail}};
}

// None when there is no decline.
inline pybind11::object decline_dict(const std::optional<analysis::Decline>& d) {
  if (!d) return pybind11::none();
  return decline_dict(*d);
}

}  // namespace loopscope::bindings
