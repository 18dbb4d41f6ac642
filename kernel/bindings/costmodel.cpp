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
//
// Every estimate is the structured JSON of costmodel::to_json(CostEstimate).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11_json/pybind11_json.hpp>

#include <map>
#include <optional>
#include <stdexcept>

#include "loopscope/costmodel/hardware.hpp"
#include "loopscope/costmodel/model.hpp"
#include "loopscope/costmodel/work.hpp"
#include "registry.hpp"

#if __has_include("values.hpp") && __has_include("loopscope/analysis/registry.hpp")
#include "loopscope/analysis/analysis.hpp"
#include "loopscope/analysis/registry.hpp"
#include "values.hpp"
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
  f.gpu_available = j.value("gpu_available", f.gpu_available);
  f.gpu_codegen_ok = j.value("gpu_codegen_ok", f.gpu_codegen_ok);
  f.gpu_decline = j.value("gpu_decline", f.gpu_decline);
  f.gpu_registers_per_thread = j.value("gpu_registers_per_thread", f.gpu_registers_per_thread);
  f.gpu_shared_bytes_per_block = j.value("gpu_shared_bytes_per_block", f.gpu_shared_bytes_per_block);
  f.gpu_block_size = j.value("gpu_block_size", f.gpu_block_size);
  f.cpu_compile_s = j.value("cpu_compile_s", f.cpu_compile_s);
  f.gpu_compile_s = j.value("gpu_compile_s", f.gpu_compile_s);
  f.cpu_compiled = j.value("cpu_compiled", f.cpu_compiled);
  f.gpu_compiled = j.value("gpu_compiled", f.gpu_compiled);
  f.expected_runs = j.value("expected_runs", f.expected_runs);
  f.threads = j.value("threads", f.threads);
  f.cores_free = j.value("cores_free", f.cores_free);
  return f;
}

cm::HostProfile host_from(const nlohmann::json& j) {
  if (!j.is_null()) return cm::host_profile_from_json(j);
  if (!session_host()) session_host() = cm::host_profile(false);
  return *session_host();
}



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
      py::arg("recalibrate") = false,
      "The host CPU profile: detected and calibrated once, then read from the cache.");
  m.def(
      "cost_save_host_profile",
      [](const nlohmann::json& j) { return cm::save_host_profile(cm::host_profile_from_json(j)); },
      py::arg("profile"), "Writes a host profile (a dict) to the calibration cache.");
  m.def("cost_cache_path", &cm::host_cache_path, "Path of the host calibration cache.");
  m.def("cost_gpu_profiles", []() { return cm::list_gpu_profiles(); },
        "Names of the GPU profiles in share/hardware.");
  m.def(
      "cost_gpu_profile", [](const std::string& name) { return nlohmann::json(cm::to_json(gpu_or_throw(name))); },
      py::arg("name"), "One GPU profile as a dict.");
  m.def(
      "cost_occupancy",
      [](const std::string& gpu, int block, int regs, int shared) {
        cm::GpuProfile g = gpu_or_throw(gpu);
        cm::Occupancy o = cm::gpu_occupancy(g, block, regs, shared);
        return nlohmann::json{{"blocks_per_sm", o.blocks_per_sm}, {"occupancy", o.occupancy},
                              {"limited_by", o.limited_by},
                              {"active_warps_per_sm", o.active_warps_per_sm},
                              {"limit_threads", o.limit_threads}, {"limit_blocks", o.limit_blocks},
                              {"limit_registers", o.limit_registers}};
      },
      py::arg("gpu"), py::arg("block_size"), py::arg("registers_per_thread"),
      py::arg("shared_bytes") = 0, "Occupancy of one kernel configuration on a GPU profile.");
  m.def(
      "cost_price",
      [](const nlohmann::json& work, const nlohmann::json& host, const std::string& gpu,
         const nlohmann::json& facts) {
        cm::WorkProfile w = cm::work_profile_from_json(work);
        cm::CostEstimate e = cm::price(w, host_from(host), gpu_or_throw(gpu), facts_from(facts));
        return nlohmann::json(cm::to_json(e));
      },
      py::arg("work"), py::arg("host") = py::none(), py::arg("gpu") = "h100_sxm",
      py::arg("facts") = py::dict(), "Prices a work profile (dict) on the host and a GPU profile.");
  m.def(
      "cost_set_host", [](const nlohmann::json& j) { session_host() = cm::host_profile_from_json(j); },
      py::arg("profile"), "Sets the host profile used when a call passes none.");
#ifdef LOOPSCOPE_COST_HAS_NESTS
  m.def(
      "cost_choose_nest",
      [](int nest_id, py::dict env, const std::string& gpu, const nlohmann::json& facts) -> std::string {
        namespace an = loopscope::analysis;
        const an::NestEntry* entry = an::find_nest(nest_id);
        if (!entry || !entry->nest || !entry->analysis) return "python";
        an::BoundNest bound;
        if (loopscope::bindings::bind_values(*entry->nest, env, bound)) return "python";
        cm::GpuProfile g = gpu_or_throw(gpu);
        cm::HostProfile h = host_from(nullptr);
        cm::VariantFacts f = facts_from(facts);
        py::gil_scoped_release nogil;
        auto plan = an::analyze_dynamic_cached(*entry->analysis, bound);
        if (plan->decline) return "python";
        if (an::check_subscripts(*entry->analysis, bound)) return "python";
        return cm::to_string(cm::estimate(bound, *plan, h, g, f, false).choice);
      },
      py::arg("nest_id"), py::arg("env"), py::arg("gpu") = "h100_sxm", py::arg("facts") = py::dict(),
      "Only the decision for one registered nest: \"python\", \"cpu-serial\", \"cpu\" or \"gpu\".");
  m.def(
      "cost_estimate_nest",
      [](int nest_id, py::dict env, const nlohmann::json& host, const std::string& gpu,
         const nlohmann::json& facts, bool sweep) -> py::object {
        namespace an = loopscope::analysis;
        const an::NestEntry* entry = an::find_nest(nest_id);
        if (!entry) throw py::value_error("unknown nest id " + std::to_string(nest_id));
        if (!entry->nest || !entry->analysis) {
          std::string why = entry->decline ? entry->decline->reason : "the nest was declined";
          return py::cast(nlohmann::json{{"choice", "python"}, {"reason", "runs in Python: " + why},
                                         {"declined", true}});
        }
        an::BoundNest bound;
        auto decline = loopscope::bindings::bind_values(*entry->nest, env, bound);
        if (decline) {
          return py::cast(nlohmann::json{{"choice", "python"},
                                         {"reason", "runs in Python: " + decline->reason},
                                         {"declined", true}});
        }
        cm::GpuProfile g = gpu_or_throw(gpu);
        cm::HostProfile h = host_from(host);
        cm::VariantFacts f = facts_from(facts);
        nlohmann::json out;
        {
          py::gil_scoped_release nogil;
          auto plan = an::analyze_dynamic_cached(*entry->analysis, bound);
          an::ParallelPlan p = *plan;
          if (!p.decline) {
            if (auto d = an::check_subscripts(*entry->analysis, bound)) p.decline = d;
          }
          out = cm::to_json(cm::estimate(bound, p, h, g, f, sweep));
        }
        out["nest_id"] = nest_id;
        out["line"] = entry->line;
        return py::cast(out);
      },
      py::arg("nest_id"), py::arg("env"), py::arg("host") = py::none(),
      py::arg("gpu") = "h100_sxm", py::arg("facts") = py::dict(), py::arg("sweep") = true,
      "Counts, prices and decides one registered nest for the live values in `env`.");
#endif
}

loopscope::bindings::Registrar reg("costmodel", &bind);

}  // namespace
