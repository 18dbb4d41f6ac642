// Work counting: a WorkProfile as JSON and back (to_json,
// work_profile_from_json): the estimate's "work" object, and the profiles
// given as dicts to the cost_price binding (_cost.price).
#include "work_internal.hpp"

#include <string>
#include <vector>

namespace loopscope::costmodel {

namespace {

const char* to_string_verdict(LoopVerdict v) {
  switch (v) {
    case LoopVerdict::Parallel: return "parallel";
    case LoopVerdict::Reduction: return "reduction";
    default: return "sequential";
  }
}

nlohmann::json ops_json(const OpCounts& o) {
  return {{"add", o.add},
          {"mul", o.mul},
          {"div", o.div},
          {"sqrt", o.sqrt},
          {"exp", o.exp},
          {"pow", o.pow},
          {"intop", o.intop},
          {"idiv", o.idiv},
          {"idiv_const", o.idiv_const},
          {"fmod", o.fmod},
          {"fmod_bits", o.fmod_bits},
          {"compare", o.compare},
          {"call", o.call},
          {"load", o.load},
          {"store", o.store},
          {"assign", o.assign},
          {"index_dims", o.index_dims},
          {"branch_miss", o.branch_miss},
          {"py_float", o.py_float},
          {"py_mixed", o.py_mixed},
          {"np_call", o.np_call},
          {"flops", o.flops()}};
}

OpCounts ops_from_json(const nlohmann::json& j) {
  OpCounts o;
  auto g = [&](const char* k) { return j.contains(k) ? j.at(k).get<double>() : 0.0; };
  o.add = g("add");
  o.mul = g("mul");
  o.div = g("div");
  o.sqrt = g("sqrt");
  o.exp = g("exp");
  o.pow = g("pow");
  o.intop = g("intop");
  o.idiv = g("idiv");
  o.idiv_const = g("idiv_const");
  o.fmod = g("fmod");
  o.fmod_bits = g("fmod_bits");
  o.compare = g("compare");
  o.call = g("call");
  o.load = g("load");
  o.store = g("store");
  o.assign = g("assign");
  o.index_dims = g("index_dims");
  o.branch_miss = g("branch_miss");
  o.py_float = g("py_float");
  o.py_mixed = g("py_mixed");
  o.np_call = g("np_call");
  return o;
}

}  // namespace

nlohmann::json to_json(const WorkProfile& w) {
  nlohmann::json j;
  j["ok"] = w.ok();
  j["reason"] = w.uncounted ? w.uncounted->reason : std::string();
  j["size_label"] = w.size_label;
  j["size_axis"] = w.size_axis;
  j["size_value"] = w.size_value;
  j["fp32"] = w.fp32;
  j["ops"] = ops_json(w.ops);
  j["ops_parallel"] = ops_json(w.ops_parallel);
  j["ops_gpu_kernel"] = ops_json(w.ops_gpu_kernel);
  j["ops_vector"] = ops_json(w.ops_vector);
  j["ops_numpy"] = ops_json(w.ops_numpy);
  j["numpy_slices"] = w.numpy_slices;
  j["chain_ops"] = w.chain_ops;
  j["ops_recurrence"] = ops_json(w.ops_recurrence);
  j["inputs"] = w.inputs;
  j["reference_dims"] = w.reference_dims;
  j["innermost_iterations"] = w.innermost_iterations;
  j["statements"] = w.statements;
  j["loops"] = nlohmann::json::array();
  for (auto& l : w.loops)
    j["loops"].push_back({{"loop", l.loop},
                          {"var", l.var},
                          {"depth", l.depth},
                          {"verdict", to_string_verdict(l.verdict)},
                          {"entries", l.entries},
                          {"iterations", l.iterations},
                          {"mean_trip", l.mean_trip},
                          {"triangular", l.triangular}});
  j["arrays"] = nlohmann::json::array();
  for (auto& a : w.arrays)
    j["arrays"].push_back({{"name", a.name},
                           {"elem_bytes", a.elem_bytes},
                           {"nbytes", a.nbytes},
                           {"read", a.read},
                           {"written", a.written},
                           {"fully_written", a.fully_written},
                           {"reads", a.reads},
                           {"writes", a.writes},
                           {"footprint_bytes", a.footprint_bytes},
                           {"cpu_traffic_bytes", a.cpu_traffic_bytes},
                           {"gpu_coalescing", a.gpu_coalescing},
                           {"gpu_accesses", a.gpu_accesses}});
  j["cpu_parallel_loop"] = w.cpu_parallel_loop;
  j["snapshot_bytes"] = w.snapshot_bytes;
  j["list_items"] = w.list_items;
  j["draws"] = w.draws;
  j["cpu_parallel_loops"] = w.cpu_parallel_loops;
  j["cpu_regions"] = w.cpu_regions;
  j["cpu_inline_regions"] = w.cpu_inline_regions;
  j["cpu_parallel_iterations"] = w.cpu_parallel_iterations;
  j["parallel_fraction"] = w.parallel_fraction;
  j["gpu_grid_loops"] = w.gpu_grid_loops;
  j["gpu_launches"] = w.gpu_launches;
  j["gpu_threads"] = w.gpu_threads;
  j["gpu_grid_reduction"] = w.gpu_grid_reduction;
  j["gpu_last_assigned"] = w.gpu_last_assigned;
  j["gpu_single_thread_loops"] = w.gpu_single_thread_loops;
  j["bytes_read"] = w.bytes_read();
  j["bytes_written"] = w.bytes_written();
  return j;
}

WorkProfile work_profile_from_json(const nlohmann::json& j) {
  WorkProfile w;
  auto num = [&](const nlohmann::json& o, const char* k, double d = 0.0) {
    return o.contains(k) ? o.at(k).get<double>() : d;
  };
  if (!j.value("ok", true))
    w.uncounted = analysis::Decline{analysis::DeclineCode::UnsupportedOperation, 0, j.value("reason", std::string())};
  w.size_label = j.value("size_label", std::string("n"));
  w.size_axis = j.value("size_axis", std::string());
  w.size_value = num(j, "size_value");
  w.fp32 = j.value("fp32", false);
  if (j.contains("ops")) w.ops = ops_from_json(j["ops"]);
  if (j.contains("ops_parallel")) w.ops_parallel = ops_from_json(j["ops_parallel"]);
  // Profiles written by hand (tests, older caches) may give only the CPU's
  // parallel part: the kernels then hold that same work.
  w.ops_gpu_kernel = j.contains("ops_gpu_kernel") ? ops_from_json(j["ops_gpu_kernel"]) : w.ops_parallel;
  if (j.contains("ops_vector")) w.ops_vector = ops_from_json(j["ops_vector"]);
  if (j.contains("ops_numpy")) w.ops_numpy = ops_from_json(j["ops_numpy"]);
  w.numpy_slices = j.value("numpy_slices", 0.0);
  w.chain_ops = num(j, "chain_ops");
  if (j.contains("ops_recurrence")) w.ops_recurrence = ops_from_json(j["ops_recurrence"]);
  w.inputs = j.value("inputs", 0);
  w.reference_dims = j.value("reference_dims", 0);
  w.innermost_iterations = num(j, "innermost_iterations");
  w.statements = num(j, "statements");
  if (j.contains("loops"))
    for (auto& l : j["loops"]) {
      LoopTraffic t;
      t.loop = l.value("loop", 0);
      t.var = l.value("var", std::string());
      t.depth = l.value("depth", 0);
      std::string v = l.value("verdict", std::string("sequential"));
      t.verdict = v == "parallel"    ? LoopVerdict::Parallel
                  : v == "reduction" ? LoopVerdict::Reduction
                                     : LoopVerdict::Sequential;
      t.entries = num(l, "entries");
      t.iterations = num(l, "iterations");
      t.mean_trip = t.entries > 0 ? t.iterations / t.entries : 0;
      t.triangular = l.value("triangular", false);
      w.loops.push_back(t);
    }
  if (j.contains("arrays"))
    for (auto& a : j["arrays"]) {
      ArrayTraffic t;
      t.name = a.value("name", std::string());
      t.elem_bytes = a.value("elem_bytes", 8);
      t.nbytes = num(a, "nbytes");
      t.read = a.value("read", false);
      t.written = a.value("written", false);
      t.fully_written = a.value("fully_written", false);
      t.reads = num(a, "reads");
      t.writes = num(a, "writes");
      t.footprint_bytes = num(a, "footprint_bytes", t.nbytes);
      t.cpu_traffic_bytes = num(a, "cpu_traffic_bytes", (t.reads + t.writes) * t.elem_bytes);
      t.gpu_coalescing = num(a, "gpu_coalescing", 1.0);
      t.gpu_accesses = num(a, "gpu_accesses", t.reads + t.writes);
      w.arrays.push_back(t);
    }
  w.cpu_parallel_loop = j.value("cpu_parallel_loop", -1);
  w.snapshot_bytes = j.value("snapshot_bytes", 0.0);
  w.list_items = j.value("list_items", 0.0);
  w.draws = j.value("draws", 0.0);
  if (j.contains("cpu_parallel_loops")) w.cpu_parallel_loops = j["cpu_parallel_loops"].get<std::vector<int>>();
  w.cpu_regions = num(j, "cpu_regions");
  w.cpu_inline_regions = num(j, "cpu_inline_regions");
  w.cpu_parallel_iterations = num(j, "cpu_parallel_iterations");
  w.parallel_fraction = num(j, "parallel_fraction");
  if (j.contains("gpu_grid_loops")) w.gpu_grid_loops = j["gpu_grid_loops"].get<std::vector<int>>();
  w.gpu_launches = num(j, "gpu_launches");
  w.gpu_threads = num(j, "gpu_threads");
  w.gpu_grid_reduction = num(j, "gpu_grid_reduction");
  w.gpu_last_assigned = num(j, "gpu_last_assigned");
  w.gpu_single_thread_loops = (int)num(j, "gpu_single_thread_loops");
  return w;
}

}  // namespace loopscope::costmodel
