#include "history.hpp"

#include <fnmatch.h>

#include <set>
#include <string>
#include <vector>

namespace loopscope::kernel {
namespace {

struct Entry {
  int session;
  int line;
  std::string input;
  std::string output;
};

class HistoryManager final : public xeus::xhistory_manager {
 private:
  void configure_impl() override {}

  void store_inputs_impl(int session, int /*line_num*/, const std::string& input, const std::string& output) override {
    // xeus 2.4 passes the same line number for every input; inputs are stored
    // once per execution that counts, so number them as the execution count.
    const int line = static_cast<int>(m_entries.size()) + 1;
    m_entries.push_back({session, line, input, output});
  }

  static nl::json entry_json(const Entry& e, bool output) {
    if (output) return nl::json::array({e.session, e.line, nl::json::array({e.input, e.output})});
    return nl::json::array({e.session, e.line, e.input});
  }

  static nl::json reply(nl::json history) { return nl::json{{"status", "ok"}, {"history", std::move(history)}}; }

  nl::json get_tail_impl(int n, bool /*raw*/, bool output) const override {
    nl::json history = nl::json::array();
    size_t count = n < 0 ? m_entries.size() : std::min<size_t>(n, m_entries.size());
    for (size_t i = m_entries.size() - count; i < m_entries.size(); ++i)
      history.push_back(entry_json(m_entries[i], output));
    return reply(std::move(history));
  }

  nl::json get_range_impl(int session, int start, int stop, bool /*raw*/, bool output) const override {
    // Session 0 is the current session; lines are execution counts.
    nl::json history = nl::json::array();
    for (const Entry& e : m_entries) {
      if (session > 0 && e.session != session) continue;
      if (e.line < start) continue;
      if (stop > 0 && e.line >= stop) continue;
      history.push_back(entry_json(e, output));
    }
    return reply(std::move(history));
  }

  nl::json search_impl(const std::string& pattern, bool /*raw*/, bool output, int n, bool unique) const override {
    std::vector<const Entry*> hits;
    std::set<std::string> seen;
    for (auto it = m_entries.rbegin(); it != m_entries.rend(); ++it) {
      if (fnmatch(pattern.c_str(), it->input.c_str(), 0) != 0) continue;
      if (unique && !seen.insert(it->input).second) continue;
      hits.push_back(&*it);
      if (n > 0 && static_cast<int>(hits.size()) >= n) break;
    }
    nl::json history = nl::json::array();
    for (auto it = hits.rbegin(); it != hits.rend(); ++it) history.push_back(entry_json(**it, output));
    return reply(std::move(history));
  }

  std::vector<Entry> m_entries;
};

}  // namespace

std::unique_ptr<xeus::xhistory_manager> make_history_manager() { return std::make_unique<HistoryManager>(); }

}  // namespace loopscope::kernel
