// One embedded Python interpreter for the whole test program (the front end
// walks Python ast objects).
#include "common.hpp"

namespace {
class PythonEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { guard_ = std::make_unique<pybind11::scoped_interpreter>(); }
  void TearDown() override { guard_.reset(); }

 private:
  std::unique_ptr<pybind11::scoped_interpreter> guard_;
};
[[maybe_unused]] ::testing::Environment* const g_env = ::testing::AddGlobalTestEnvironment(new PythonEnvironment);
}  // namespace
