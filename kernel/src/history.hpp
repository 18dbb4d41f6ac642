// Input history for history_request, shaped as the Jupyter protocol says:
// entries are [session, line, input], or [session, line, [input, output]]
// when output is requested; session and line are integers.
#pragma once

#include <memory>

#include "xeus/xhistory_manager.hpp"

namespace loopscope::kernel {

std::unique_ptr<xeus::xhistory_manager> make_history_manager();

}  // namespace loopscope::kernel
