// Process-wide registry of loop nests seen by the rewriter: nest id -> the
// IR, the static analysis or the front end's decline. Thread-safe. Entries
// are never removed, so pointers stay valid for the life of the process.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "loopscope/analysis/analysis.hpp"
#include "loopscope/analysis/ir.hpp"

namespace loopscope::analysis {

struct NestEntry {
  int id = 0;
  std::string key;     // identity of the source (the same key gives the same id)
  std::string source;  // the nest's text
  int line = 0;        // line of the root `for`
  std::string filename;
  std::shared_ptr<const LoopNest> nest;            // null when declined
  std::shared_ptr<const StaticAnalysis> analysis;  // null when declined
  std::optional<Decline> decline;
};

// Returns the id of an entry with this key if one exists, else -1.
int find_nest_by_key(const std::string& key);
// Stores the entry (its id is assigned) and returns the id. If an entry with
// the same key already exists its id is returned instead.
int add_nest(NestEntry entry);
// nullptr for an unknown id.
const NestEntry* find_nest(int id);

}  // namespace loopscope::analysis
