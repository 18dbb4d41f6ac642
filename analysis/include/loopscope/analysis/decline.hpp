#pragma once
// The one decline of the engine: why a nest (or a run of it) stays in Python.
// Every module returns this value, whatever stage declined: the front end, the
// static and dynamic phases, the binding of values, the CPU and CUDA code
// generators and their run times. A decline has
//   - a code: a small category that means something to a user and a test;
//   - a line of the cell (0 when no statement is to blame);
//   - a reason: one sentence a student can read, shown in the report;
//   - a detail: for developers (compiler text, the rule that fired); may be
//     empty, never shown to the user unless they ask for it.
// (After LLVM Polly's ScopDetectionDiagnostic: one type, one code per kind.)

#include <optional>
#include <string>
#include <utility>

namespace loopscope::analysis {

enum class DeclineCode {
  UnsupportedSyntax,     // a statement or expression the front end or the static phase does not model
  UnsupportedValue,      // a bound value of a kind the engine does not take (a list, float16, a big int)
  UnsupportedOperation,  // the code generator cannot express the operation (a function, a power, a loop shape)
  Typing,                // one variable or expression would need two machine types
  Dependence,            // values flow between parts of the nest that cannot run separately
  SubscriptRange,        // a subscript may be out of range: Python raises, and the loop runs there
  Exactness,             // native code could differ from Python (overflow, NumPy scalars, reassociation)
  Trap,                  // the native run stopped where Python raises or differs; Python runs the loop
  NoDevice,              // no GPU, driver or NVRTC to run the variant
  Interrupted,           // the user interrupted the native run (Ctrl-C)
  Internal,              // an engine bug or a compiler failure; detail says what
};

// Stable snake_case names ("unsupported_syntax", ...), as Python sees them.
inline const char* to_string(DeclineCode code) {
  switch (code) {
    case DeclineCode::UnsupportedSyntax: return "unsupported_syntax";
    case DeclineCode::UnsupportedValue: return "unsupported_value";
    case DeclineCode::UnsupportedOperation: return "unsupported_operation";
    case DeclineCode::Typing: return "typing";
    case DeclineCode::Dependence: return "dependence";
    case DeclineCode::SubscriptRange: return "subscript_range";
    case DeclineCode::Exactness: return "exactness";
    case DeclineCode::Trap: return "trap";
    case DeclineCode::NoDevice: return "no_device";
    case DeclineCode::Interrupted: return "interrupted";
    case DeclineCode::Internal: return "internal";
  }
  return "internal";
}

// The code named `name` by to_string, or nullopt.
inline std::optional<DeclineCode> decline_code_from_string(const std::string& name) {
  for (int k = 0; k <= static_cast<int>(DeclineCode::Internal); ++k) {
    auto code = static_cast<DeclineCode>(k);
    if (name == to_string(code)) return code;
  }
  return std::nullopt;
}

struct Decline {
  DeclineCode code = DeclineCode::Internal;
  int line = 0;
  std::string reason;  // one sentence a student can read
  std::string detail;  // for developers: LLVM or NVRTC text, the rule that fired; may be empty

  Decline() = default;
  Decline(DeclineCode c, int l, std::string r, std::string d = {})
      : code(c), line(l), reason(std::move(r)), detail(std::move(d)) {}
};

}  // namespace loopscope::analysis
