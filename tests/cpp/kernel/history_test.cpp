#include <gtest/gtest.h>

#include "history.hpp"

namespace {

using loopscope::kernel::make_history_manager;

std::unique_ptr<xeus::xhistory_manager> filled() {
  auto h = make_history_manager();
  h->configure();
  h->store_inputs(0, 1, "a = 1");
  h->store_inputs(0, 1, "b = a + 1");
  h->store_inputs(0, 1, "print(b)");
  h->store_inputs(0, 1, "a = 1");
  return h;
}

TEST(History, TailNumbersLinesAsExecutionCounts) {
  auto h = filled();
  nl::json r = h->get_tail(2, true, false);
  EXPECT_EQ(r["status"], "ok");
  ASSERT_EQ(r["history"].size(), 2u);
  EXPECT_EQ(r["history"][0], nl::json::array({0, 3, "print(b)"}));
  EXPECT_EQ(r["history"][1], nl::json::array({0, 4, "a = 1"}));
}

TEST(History, OutputEntriesPairInputAndOutput) {
  auto h = filled();
  nl::json r = h->get_tail(1, true, true);
  ASSERT_EQ(r["history"].size(), 1u);
  EXPECT_EQ(r["history"][0][2], nl::json::array({"a = 1", ""}));
}

TEST(History, RangeIsHalfOpen) {
  auto h = filled();
  nl::json r = h->get_range(0, 2, 4, true, false);
  ASSERT_EQ(r["history"].size(), 2u);
  EXPECT_EQ(r["history"][0][1], 2);
  EXPECT_EQ(r["history"][1][1], 3);
}

TEST(History, SearchGlobUniqueAndLimit) {
  auto h = filled();
  nl::json all = h->search("a*", true, false, 0, false);
  EXPECT_EQ(all["history"].size(), 2u);
  nl::json unique = h->search("a*", true, false, 0, true);
  ASSERT_EQ(unique["history"].size(), 1u);
  EXPECT_EQ(unique["history"][0][1], 4);  // the most recent one is kept
  nl::json none = h->search("zzz*", true, false, 10, false);
  EXPECT_TRUE(none["history"].empty());
}

TEST(History, TailOfEmptyHistory) {
  auto h = make_history_manager();
  EXPECT_TRUE(h->get_tail(10, true, false)["history"].empty());
}

}  // namespace
