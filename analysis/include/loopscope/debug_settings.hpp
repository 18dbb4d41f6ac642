// LOOPSCOPE_DEBUG: the one setting for developers, read once per process by
// the C++ engine (here) and by the Python package (loopscope/_errors.py,
// same syntax). Users never need it.
//
//   LOOPSCOPE_DEBUG=<level>[,<switch>...]      for example  LOOPSCOPE_DEBUG=2,no-jam,opt=2
//
// Levels (a number, its name, or a logging level name such as "info"; the
// items come in any order):
//   0 "off"     nothing (the default);
//   1 "errors"  the details of internal errors (the `loopscope` logger on
//               stderr) and why a background compile failed;
//   2 "timing"  also each CPU compile's phases (IR generation,
//               optimisation, machine code).
// Switches of the CPU code generator, for experiments and bisecting:
//   no-interchange   no loop interchange;
//   no-jam           no unroll-and-jam;
//   no-unroll        no LLVM loop unrolling;
//   opt=1|2|3        the LLVM optimisation pipeline (default 3);
//   codegen-opt=2|3  the optimised tier's machine-code level (default 3);
//   tier=auto|quick|optimised  the compile tier at start-up (cpu_set_tier
//                    changes it later).
// An item that is none of these is ignored (and listed in `unknown`).
// Header-only: the code generator and the bindings read it.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

namespace loopscope {

struct DebugSettings {
  int level = 0;
  bool interchange = true;
  bool unroll_and_jam = true;
  bool llvm_unroll = true;
  int opt_level = 3;
  int codegen_opt_level = 3;
  std::string tier;  // "" (auto), "quick", "optimised" or "auto"
  std::vector<std::string> unknown;
};

inline DebugSettings parse_debug_settings(const std::string& text) {
  DebugSettings s;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    pos = end + 1;
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty()) continue;
    auto value_of = [&](const char* key) -> const char* {
      size_t n = std::char_traits<char>::length(key);
      return item.compare(0, n, key) == 0 ? item.c_str() + n : nullptr;
    };
    if (item == "off" || item == "no" || item == "false")
      s.level = 0;
    else if (item == "errors" || item == "on" || item == "yes" || item == "true")
      s.level = 1;
    else if (item == "debug" || item == "info" || item == "warning" || item == "error" || item == "critical")
      s.level = 1;  // a logging level name: the Python side sets its logger to it
    else if (item == "timing")
      s.level = 2;
    else if (item.find_first_not_of("0123456789") == std::string::npos)
      s.level = std::atoi(item.c_str());
    else if (item == "no-interchange")
      s.interchange = false;
    else if (item == "no-jam")
      s.unroll_and_jam = false;
    else if (item == "no-unroll")
      s.llvm_unroll = false;
    else if (const char* v = value_of("opt="))
      s.opt_level = std::atoi(v);
    else if (const char* v = value_of("codegen-opt="))
      s.codegen_opt_level = std::atoi(v);
    else if (const char* v = value_of("tier="))
      s.tier = v;
    else
      s.unknown.push_back(item);
  }
  return s;
}

inline const DebugSettings& debug_settings() {
  static const DebugSettings s = [] {
    const char* e = std::getenv("LOOPSCOPE_DEBUG");
    return parse_debug_settings(e ? e : "");
  }();
  return s;
}

}  // namespace loopscope
