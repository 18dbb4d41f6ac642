// Where the engine's data lives: share/hardware (the GPU profiles the cost
// model prices) and share/cuda (the helper headers every generated CUDA
// source includes). The one place that decides it, read by the cost model
// and the CUDA generator.
//
// In order: the folder set_share_dir() was given, then the
// LOOPSCOPE_SHARE_DIR environment variable, then the build's own: the source
// tree's share/ for a build from the tree, the package's copy beside the
// engine for the wheel (loopscope/share next to the _loopscope module).
#pragma once

#include <string>

namespace loopscope {

std::string share_dir();
void set_share_dir(const std::string& dir);

}  // namespace loopscope
