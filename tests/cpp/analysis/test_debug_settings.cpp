// LOOPSCOPE_DEBUG: levels and the code generator's switches in one setting.
#include <gtest/gtest.h>

#include "loopscope/debug_settings.hpp"

using loopscope::parse_debug_settings;

TEST(DebugSettings, DefaultsWhenUnset) {
  auto s = parse_debug_settings("");
  EXPECT_EQ(s.level, 0);
  EXPECT_TRUE(s.interchange && s.unroll_and_jam && s.llvm_unroll);
  EXPECT_EQ(s.opt_level, 3);
  EXPECT_EQ(s.codegen_opt_level, 3);
  EXPECT_EQ(s.tier, "");
  EXPECT_TRUE(s.unknown.empty());
}

TEST(DebugSettings, LevelsByNumberAndName) {
  EXPECT_EQ(parse_debug_settings("1").level, 1);
  EXPECT_EQ(parse_debug_settings("errors").level, 1);
  EXPECT_EQ(parse_debug_settings("info").level, 1);
  EXPECT_EQ(parse_debug_settings("timing").level, 2);
  EXPECT_EQ(parse_debug_settings("3").level, 3);
  EXPECT_EQ(parse_debug_settings("off").level, 0);
}

TEST(DebugSettings, SwitchesInAnyOrder) {
  auto s = parse_debug_settings(" no-jam, opt=2 ,timing,no-interchange,no-unroll,codegen-opt=2,tier=quick,bogus");
  EXPECT_EQ(s.level, 2);
  EXPECT_FALSE(s.interchange);
  EXPECT_FALSE(s.unroll_and_jam);
  EXPECT_FALSE(s.llvm_unroll);
  EXPECT_EQ(s.opt_level, 2);
  EXPECT_EQ(s.codegen_opt_level, 2);
  EXPECT_EQ(s.tier, "quick");
  ASSERT_EQ(s.unknown.size(), 1u);
  EXPECT_EQ(s.unknown[0], "bogus");
}
