// _loopscope functions of the cost model (loopscope::costmodel).
//
//   cost_host_profile(recalibrate=False) -> dict
//   cost_save_host_profile(profile: dict) -> bool
//   cost_cache_path() -> str
//   cost_gpu_profiles() -> list[str]
//   cost_gpu_profile(name) -> dict
//   cost_occupancy(gpu, block_size, registers_per_thread, shared_bytes=0) -> dict
//   cost_price(work: dict, host: dict, gpu: str, facts: dict = {}) -> dict
//   cost_set_host(profile: dict)
//   cost_choose_nest(nest_id, env, gpu, facts={}) -> str
//   cost_estimate_nest(nest_id, env: dict, host: dict, gpu: str, facts: dict = {},
//                      sweep=True) -> dict      (when the analysis bindings exist)
//   cost_estimate_nest_profiles(nest_id, env, host=None, gpus=None, facts={},
//                               sweep=True) -> {profile name: estimate}
//       The same estimate on several GPU profiles (all of them by default)
//       from one binding, one plan and one count of the work.
//   cost_set_work_cache(enabled) -> bool, cost_work_cache_stats() -> dict
//       The count cache (below) on or off (emptied either way; returns the
//       previous setting), and how often it counted or reused a count.
//
// Every estimate is the structured JSON of costmodel::to_json(CostEstimate).
//
// The work of a nest does not depend on the hardware: it is counted once per
// bound instance (nest, plan and costmodel::work_key of the values) and kept,
// and each estimate only prices that count on its GPU profile, with its
// facts. The numbers are those of costmodel::estimate (tests compare them).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11_json/pybind11_json.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "loopscope/costmodel/hardware.hpp"
#include "loopscope/costmodel/model.hpp"
#include "loopscope/costmodel/work.hpp"
#include "registry.hpp"

#if __has_include("pipeline.hpp") && __has_include("loopscope/analysis/registry.hpp")
#include "loopscope/analysis/analysis.hpp"
#include "loopscope/analysis/registry.hpp"
#include "decline.hpp"
#include "pipeline.hpp"
#define LOOPSCOPE_COST_HAS_NESTS 1
#endif

namespace py = pybind11;
namespace cm = loopscope::costmodel;

namespace {

// Profiles read once per process (under the GIL).
std::map<std::string, cm::GpuProfile>& gpu_cache() {
  static std::map<std::string, cm::GpuProfile> c;
  return c;
}

cm::GpuProfile gpu_or_throw(const std::string& name) {
  auto it = gpu_cache().find(name);
  if (it != gpu_cache().end()) return it->second;
  std::string err;
  auto g = cm::load_gpu_profile(name, &err);
  if (!g) throw py::value_error(err);
  gpu_cache()[name] = *g;
  return *g;
}

// The host profile the Python layer completed (interpreter and engine
// figures); used when a call passes no host.
std::optional<cm::HostProfile>& session_host() {
  static std::optional<cm::HostProfile> h;
  return h;
}

cm::VariantFacts facts_from(const nlohmann::json& j) {
  cm::VariantFacts f;
  if (!j.is_object()) return f;
  f.cpu_available = j.value("cpu_available", f.cpu_available);
  f.cpu_decline = j.value("cpu_decline", f.cpu_decline);
  f.cpu_decline_code = j.value("cpu_decline_code", f.cpu_decline_code);
  f.cpu_runs_parallel = j.value("cpu_runs_parallel", f.cpu_runs_parallel);
  f.cpu_needs_snapshot = j.value("cpu_needs_snapshot", f.cpu_needs_snapshot);
  f.gpu_available = j.value("gpu_available", f.gpu_available);
  f.gpu_codegen_ok = j.value("gpu_codegen_ok", f.gpu_codegen_ok);
  f.gpu_decline = j.value("gpu_decline", f.gpu_decline);
  f.gpu_decline_code = j.value("gpu_decline_code", f.gpu_decline_code);
  f.gpu_registers_per_thread = j.value("gpu_registers_per_thread", f.gpu_registers_per_thread);
  f.gpu_shared_bytes_per_block = j.value("gpu_shared_bytes_per_block", f.gpu_shared_bytes_per_block);
  f.gpu_block_size = j.value("gpu_block_size", f.gpu_block_size);
  f.cpu_compile_s = j.value("cpu_compile_s", f.cpu_compile_s);
  f.gpu_compile_s = j.value("gpu_compile_s", f.gpu_compile_s);
  f.cpu_compiled = j.value("cpu_compiled", f.cpu_compiled);
  f.cpu_serial_compiled = j.value("cpu_serial_compiled", f.cpu_serial_compiled);
  f.python_measured_s = j.value("python_measured_s", f.python_measured_s);
  f.gpu_compiled = j.value("gpu_compiled", f.gpu_compiled);
  f.expected_runs = j.value("expected_runs", f.expected_runs);
  f.draw_ns = j.value("draw_ns", f.draw_ns);
  f.draw_setup_us = j.value("draw_setup_us", f.draw_setup_us);
  f.threads = j.value("threads", f.threads);
  f.cores_free = j.value("cores_free", f.cores_free);
  f.workers_awake = j.value("workers_awake", f.workers_awake);
  return f;
}

cm::HostProfile host_from(const nlohmann::json& j) {
  if (!j.is_null()) return cm::host_profile_from_json(j);
  if (!session_host()) session_host() = cm::host_profile(false);
  return *session_host();
}

#ifdef LOOPSCOPE_COST_HAS_NESTS
namespace an = loopscope::analysis;
using loopscope::bindings::NestPipeline;
using loopscope::bindings::PipelineHandle;

// The estimate of a nest declined before anything is counted: Python, and
// the decline (decline.hpp's shape).
nlohmann::json declined_estimate(const an::Decline& d) {
  return nlohmann::json{{"choice", "python"},
                        {"reason", "runs in Python: " + d.reason},
                        {"declined", true},
                        {"decline", loopscope::bindings::decline_json(d)}};
}

// The nest's pipeline up to the mapping the cost model counts (bind, plan,
// the generators' mappings: pipeline.hpp), or the estimate of a nest that
// runs in Python before anything is counted.
struct Prepared {
  PipelineHandle pipe;
  std::optional<nlohmann::json> declined;
};

Prepared prepare(int nest_id, py::dict env) {
  Prepared p{loopscope::bindings::pipeline_for(nest_id, env), std::nullopt};
  const an::NestEntry* entry = p.pipe->entry();
  if (!entry) throw py::value_error("unknown nest id " + std::to_string(nest_id));
  if (!p.pipe->analysed()) {
    p.declined = declined_estimate(entry->decline
                                       ? *entry->decline
                                       : an::Decline{an::DeclineCode::Internal, entry->line, "the nest was declined"});
    return p;
  }
  if (auto decline = p.pipe->bind_decline())
    p.declined = declined_estimate(*decline);
  else
    p.pipe->counted_mapping();
  return p;
}

// The facts with the share of each array's pages not yet in memory, read
// at this call (a function that allocates its output writes fresh pages at
// each call; the count is kept, this is not): VariantFacts::fresh_fraction.
cm::VariantFacts with_fresh_pages(const an::BoundNest& b, cm::VariantFacts f) {
  for (auto& [name, a] : b.arrays) {
    if (a.python_elements || a.mem_hi <= a.mem_lo) continue;
    const double resident = cm::resident_fraction(reinterpret_cast<const void*>(a.mem_lo), a.mem_hi - a.mem_lo);
    if (resident < 1) f.fresh_fraction[name] = 1 - resident;
  }
  return f;
}

// The estimates of a prepared nest on each of `gpus`, from one count (run
// without the GIL).
std::vector<nlohmann::json> estimates(const Prepared& p, const std::vector<cm::GpuProfile>& gpus,
                                      const cm::HostProfile& h, const cm::VariantFacts& given, bool sweep) {
  NestPipeline& pipe = *p.pipe;
  const cm::VariantFacts f = with_fresh_pages(pipe.binding(), given);
  const std::shared_ptr<const an::ParallelPlan>& plan = pipe.plan();
  // A subscript not proved in range does not stop native code: it checks
  // such subscripts as it runs, and a failing check restores the written
  // arrays and lets Python run the loop, which raises (auto then remembers
  // that these values stopped the native run: _cost.note_stopped).
  std::optional<an::Decline> decline = plan->decline;
  const an::NestMapping& mapping = pipe.counted_mapping();
  bool keep;
  {
    loopscope::bindings::WorkCountCache& c = loopscope::bindings::work_count_cache();
    std::lock_guard<std::mutex> g(c.mutex);
    keep = c.enabled;
    if (!keep) {
      c.counts += (long)gpus.size();
      if (sweep) c.sweeps += (long)gpus.size();
    }
  }
  std::vector<nlohmann::json> out;
  auto add = [&](const cm::CostEstimate& e) {
    nlohmann::json j = cm::to_json(e);
    j["nest_id"] = pipe.nest_id();
    j["line"] = pipe.entry()->line;
    out.push_back(std::move(j));
  };
  if (!keep) {
    // Without the cache: every estimate counts the nest again, as
    // costmodel::estimate does on its own (the reference for tests).
    an::ParallelPlan pl = *plan;
    pl.decline = decline;
    for (auto& g : gpus) add(cm::estimate(pipe.binding(), pl, h, g, f, sweep, &mapping));
    return out;
  }
  auto work = pipe.work(sweep);
  for (auto& g : gpus) add(cm::price_nest(*work, decline, h, g, f, sweep));
  return out;
}
#endif

void bind(py::module_& m) {
  m.def(
      "cost_host_profile",
      [](bool recalibrate) {
        cm::HostProfile h;
        {
          py::gil_scoped_release nogil;
          h = cm::host_profile(recalibrate);
        }
        return nlohmann::json(cm::to_json(h));
      },
      py::arg("recalibrate") = false, "The host CPU profile: detected and calibrated once, then read from the cache.");
  m.def(
      "cost_save_host_profile",
      [](const nlohmann::json& j) { return cm::save_host_profile(cm::host_profile_from_json(j)); }, py::arg("profile"),
      "Writes a host profile (a dict) to the calibration cache.");
  m.def("cost_cache_path", &cm::host_cache_path, "Path of the host calibration cache.");
  m.def("cost_gpu_profiles", []() { return cm::list_gpu_profiles(); }, "Names of the GPU profiles in share/hardware.");
  m.def(
      "cost_gpu_profile", [](const std::string& name) { return nlohmann::json(cm::to_json(gpu_or_throw(name))); },
      py::arg("name"), "One GPU profile as a dict.");
  m.def(
      "cost_occupancy",
      [](const std::string& gpu, int block, int regs, int shared) {
        cm::GpuProfile g = gpu_or_throw(gpu);
        cm::Occupancy o = cm::gpu_occupancy(g, block, regs, shared);
        return nlohmann::json{{"blocks_per_sm", o.blocks_per_sm},    {"occupancy", o.occupancy},
                              {"limited_by", o.limited_by},          {"active_warps_per_sm", o.active_warps_per_sm},
                              {"limit_threads", o.limit_threads},    {"limit_blocks", o.limit_blocks},
                              {"limit_registers", o.limit_registers}};
      },
      py::arg("gpu"), py::arg("block_size"), py::arg("registers_per_thread"), py::arg("shared_bytes") = 0,
      "Occupancy of one kernel configuration on a GPU profile.");
  m.def(
      "cost_price",
      [](const nlohmann::json& work, const nlohmann::json& host, const std::string& gpu, const nlohmann::json& facts) {
        cm::WorkProfile w = cm::work_profile_from_json(work);
        cm::CostEstimate e = cm::price(w, host_from(host), gpu_or_throw(gpu), facts_from(facts));
        return nlohmann::json(cm::to_json(e));
      },
      py::arg("work"), py::arg("host") = py::none(), py::arg("gpu") = "h100_sxm", py::arg("facts") = py::dict(),
      "Prices a work profile (dict) on the host and a GPU profile.");
  m.def(
      "cost_set_host", [](const nlohmann::json& j) { session_host() = cm::host_profile_from_json(j); },
      py::arg("profile"), "Sets the host profile used when a call passes none.");
#ifdef LOOPSCOPE_COST_HAS_NESTS
  m.def(
      "cost_choose_nest",
      [](int nest_id, py::dict env, const std::string& gpu, const nlohmann::json& facts) -> std::string {
        auto pipe = loopscope::bindings::pipeline_for(nest_id, env);
        if (!pipe->entry() || !pipe->analysed() || pipe->bind_decline()) return "python";
        pipe->counted_mapping();
        cm::GpuProfile g = gpu_or_throw(gpu);
        cm::HostProfile h = host_from(nullptr);
        cm::VariantFacts f = with_fresh_pages(pipe->binding(), facts_from(facts));
        if (pipe->plan()->decline) return "python";  // subscripts not proved in range are checked as native code runs
        py::gil_scoped_release nogil;
        auto work = pipe->work(false);
        return cm::to_string(cm::price_nest(*work, std::nullopt, h, g, f, false).choice);
      },
      py::arg("nest_id"), py::arg("env"), py::arg("gpu") = "h100_sxm", py::arg("facts") = py::dict(),
      "Only the decision for one registered nest: \"python\", \"cpu-serial\", \"cpu\" or \"gpu\".");
  m.def(
      "cost_estimate_nest",
      [](int nest_id, py::dict env, const nlohmann::json& host, const std::string& gpu, const nlohmann::json& facts,
         bool sweep) -> py::object {
        Prepared p = prepare(nest_id, env);
        if (p.declined) return py::cast(*p.declined);
        std::vector<cm::GpuProfile> gpus{gpu_or_throw(gpu)};
        cm::HostProfile h = host_from(host);
        cm::VariantFacts f = facts_from(facts);
        std::vector<nlohmann::json> out;
        {
          py::gil_scoped_release nogil;
          out = estimates(p, gpus, h, f, sweep);
        }
        return py::cast(out.front());
      },
      py::arg("nest_id"), py::arg("env"), py::arg("host") = py::none(), py::arg("gpu") = "h100_sxm",
      py::arg("facts") = py::dict(), py::arg("sweep") = true,
      "Counts, prices and decides one registered nest for the live values in `env`.");
  m.def(
      "cost_estimate_nest_profiles",
      [](int nest_id, py::dict env, const nlohmann::json& host, std::optional<std::vector<std::string>> names,
         const nlohmann::json& facts, bool sweep) -> py::dict {
        std::vector<std::string> list = names ? *names : cm::list_gpu_profiles();
        Prepared p = prepare(nest_id, env);
        py::dict r;
        if (p.declined) {
          for (auto& n : list) r[py::str(n)] = py::cast(*p.declined);
          return r;
        }
        std::vector<cm::GpuProfile> gpus;
        for (auto& n : list) gpus.push_back(gpu_or_throw(n));
        cm::HostProfile h = host_from(host);
        cm::VariantFacts f = facts_from(facts);
        std::vector<nlohmann::json> out;
        {
          py::gil_scoped_release nogil;
          out = estimates(p, gpus, h, f, sweep);
        }
        for (size_t k = 0; k < list.size(); ++k) r[py::str(list[k])] = py::cast(out[k]);
        return r;
      },
      py::arg("nest_id"), py::arg("env"), py::arg("host") = py::none(), py::arg("gpus") = py::none(),
      py::arg("facts") = py::dict(), py::arg("sweep") = true,
      "The estimates of one registered nest on several GPU profiles (all by default), from one count of its work.");
  m.def(
      "cost_set_work_cache",
      [](bool enabled) {
        loopscope::bindings::WorkCountCache& c = loopscope::bindings::work_count_cache();
        std::lock_guard<std::mutex> g(c.mutex);
        bool was = c.enabled;
        c.enabled = enabled;
        c.entries.clear();
        return was;
      },
      py::arg("enabled"),
      "Keeps (True, the default) or recounts (False) the work of a bound nest for each estimate; "
      "empties the cache either way. Returns the previous setting.");
  m.def(
      "cost_work_cache_stats",
      []() {
        loopscope::bindings::WorkCountCache& c = loopscope::bindings::work_count_cache();
        std::lock_guard<std::mutex> g(c.mutex);
        return nlohmann::json{{"enabled", c.enabled},
                              {"entries", c.entries.size()},
                              {"counts", c.counts},
                              {"sweeps", c.sweeps},
                              {"reuses", c.reuses}};
      },
      "How many bound nests the cost model counted (counts; sweeps: of which with the size sweep, "
      "added or not) and how many estimates reused a count (reuses).");
#endif
}

loopscope::bindings::Registrar reg("costmodel", &bind);

}  // namespace
