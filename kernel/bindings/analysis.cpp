// _loopscope functions of the dependence analysis:
//
//   analysis_register(for_node, source="", filename="") -> int
//       Front end + static phase of an ast.For (cached: the same tree, with
//       the same positions, and key_extra give the same id). Declined nests
//       get an id too.
//   analysis_info(nest_id) -> dict
//       line, source, declined/decline, inputs, outputs, arrays, loops,
//       static summary (its "skeleton" holds the first pairs of references
//       left for run time, "skeleton_pairs" counts them all).
//   analysis_run(nest_id, env: dict, use_cache=True, max_edges=None) -> dict
//       The plan of the nest's pipeline (pipeline.hpp: the live values of
//       `env` bound, the dynamic phase cached by what it depends on); returns the plan as a dict (see plan_to_dict):
//       every edge, or the first max_edges of them ("edges_total" counts
//       them all, "edges_left_out" those not converted).
//   analysis_set_exact_test(enabled)
//       Turns the exact enumeration test on or off (tests use it to check
//       the other tests alone).
//   analysis_nest_from_source(source) -> dict
//       Front end only, for tests: the IR of the first statement of source.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <unordered_map>

#include "loopscope/analysis/analysis.hpp"
#include "loopscope/analysis/frontend.hpp"
#include "loopscope/analysis/registry.hpp"
#include "decline.hpp"
#include "pipeline.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace loopscope::analysis;

namespace {

py::object decline_to_py(const std::optional<Decline>& d) { return loopscope::bindings::decline_dict(d); }

std::string dirs_text(const std::vector<Direction>& d) {
  std::string s = "(";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::string(1, to_char(d[i]));
  return s + ")";
}

void walk(const Stmt* s, std::map<int, const Stmt*>& out) {
  out[s->id] = s;
  for (auto& c : s->body) walk(c.get(), out);
  for (auto& c : s->orelse) walk(c.get(), out);
}

// Python objects shared by the edges of one conversion: the strings (labels,
// names, references, directions, tests) and line numbers repeat from edge to
// edge, and str and int objects are immutable, so each is made once. Lists
// are made per edge (a caller may change one). The dictionary keys are
// interned once per process.
class EdgeConverter {
 public:
  explicit EdgeConverter(const std::map<int, const Stmt*>& stmts) : stmts_(stmts) {}

  py::object edge(const DependenceEdge& e) {
    static const char* const names[] = {"kind",     "src",       "dst",      "src_id",  "dst_id",
                                        "src_line", "dst_line",  "variable", "src_ref", "dst_ref",
                                        "loops",    "direction", "distance", "carrier", "test"};
    static std::vector<py::object>* keys = [] {
      auto* k = new std::vector<py::object>();  // kept for the life of the process
      for (const char* n : names) k->push_back(py::reinterpret_steal<py::object>(PyUnicode_InternFromString(n)));
      return k;
    }();
    py::list loops(e.loops.size());
    for (size_t k = 0; k < e.loops.size(); ++k) loops[k] = str(e.loops[k]);
    py::list dist(e.distance.size());
    for (size_t k = 0; k < e.distance.size(); ++k)
      dist[k] = e.distance[k] ? py::object(py::int_(*e.distance[k])) : py::object(py::none());
    const Stmt* s = stmt(e.src);
    const Stmt* t = stmt(e.dst);
    py::object values[] = {kind(e.kind),     label(e.src, s),
                           label(e.dst, t),  py::int_(e.src),
                           py::int_(e.dst),  line(s),
                           line(t),          str(e.variable),
                           str(e.src_ref),   str(e.dst_ref),
                           std::move(loops), str(dirs_text(e.direction)),
                           std::move(dist),  e.carrier >= 0 ? str(e.loops[e.carrier]) : py::object(py::none()),
                           str(e.test)};
    py::dict d;
    for (size_t k = 0; k < std::size(values); ++k)
      if (PyDict_SetItem(d.ptr(), (*keys)[k].ptr(), values[k].ptr()) != 0) throw py::error_already_set();
    return std::move(d);
  }

 private:
  const std::map<int, const Stmt*>& stmts_;
  std::unordered_map<std::string, py::object> strs_;
  std::map<int, py::object> labels_;
  std::map<const Stmt*, py::object> lines_;
  py::object kinds_[3];

  const Stmt* stmt(int id) const {
    auto it = stmts_.find(id);
    return it == stmts_.end() ? nullptr : it->second;
  }
  py::object str(const std::string& v) {
    auto it = strs_.find(v);
    if (it == strs_.end()) it = strs_.emplace(v, py::str(v)).first;
    return it->second;
  }
  py::object label(int id, const Stmt* s) {
    auto it = labels_.find(id);
    if (it == labels_.end()) it = labels_.emplace(id, py::str(s ? s->label() : std::string("?"))).first;
    return it->second;
  }
  py::object line(const Stmt* s) {
    auto it = lines_.find(s);
    if (it == lines_.end()) it = lines_.emplace(s, py::int_(s ? s->line : 0)).first;
    return it->second;
  }
  py::object kind(DepKind k) {
    py::object& o = kinds_[(int)k];
    if (!o) o = py::str(to_string(k));
    return o;
  }
};

// Pauses Python's cyclic garbage collector while many containers are made
// that cannot form cycles (the edges' dicts and lists): otherwise each few
// hundred of them start a collection that walks the ones made before.
class GcPause {
 public:
#if PY_VERSION_HEX >= 0x030A0000
  GcPause() : was_(PyGC_Disable()) {}
  ~GcPause() {
    if (was_) PyGC_Enable();
  }

 private:
  int was_;
#endif
};

// The plan as Python dicts. `max_edges` >= 0 converts only the first
// max_edges edges (for a display that cannot show more); "edges_total" is
// the number of edges of the plan and "edges_left_out" how many of them are
// not in "edges".
py::dict plan_to_dict(const LoopNest* nest, const ParallelPlan& plan, long max_edges = -1) {
  std::map<int, const Stmt*> stmts;
  if (nest) walk(nest->root.get(), stmts);
  auto label = [&](int id) {
    auto it = stmts.find(id);
    return it == stmts.end() ? std::string("?") : it->second->label();
  };
  py::dict r;
  r["decline"] = decline_to_py(plan.decline);
  py::list loops;
  for (auto& lp : plan.loops) {
    py::dict l;
    l["id"] = lp.loop;
    l["label"] = label(lp.loop);
    l["var"] = lp.var;
    l["line"] = lp.line;
    auto it = stmts.find(lp.loop);
    l["depth"] = it == stmts.end() ? 0 : it->second->depth;
    l["verdict"] = to_string(lp.verdict);
    l["reasons"] = lp.reasons;
    py::list reds;
    for (auto& rd : lp.reductions) {
      py::dict d;
      d["variable"] = rd.variable;
      d["op"] = rd.fn.empty() ? std::string(to_string(rd.op)) : rd.fn;
      d["stmt"] = label(rd.stmt);
      d["stmt_id"] = rd.stmt;
      auto s = stmts.find(rd.stmt);
      d["line"] = s == stmts.end() ? 0 : s->second->line;
      reds.append(d);
    }
    l["reductions"] = reds;
    l["privates"] = lp.privates;
    l["last_private"] = lp.last_private;
    loops.append(l);
  }
  r["loops"] = loops;
  size_t shown = plan.edges.size();
  if (max_edges >= 0 && (size_t)max_edges < shown) shown = (size_t)max_edges;
  py::list edges(shown);
  {
    GcPause pause;
    EdgeConverter conv(stmts);
    for (size_t k = 0; k < shown; ++k) edges[k] = conv.edge(plan.edges[k]);
  }
  r["edges"] = edges;
  r["subscripts_in_range"] = plan.subscripts_in_range;
  r["subscript_problem"] = decline_to_py(plan.subscript_problem);
  r["subscripts_only_indirect"] = plan.subscripts_only_indirect;
  r["notes"] = plan.notes;
  r["proofs"] = plan.proofs;
  r["edges_total"] = plan.edges.size();
  r["edges_left_out"] = plan.edges.size() - shown;
  return r;
}

py::list string_list(const std::vector<std::string>& v) {
  py::list l;
  for (auto& s : v) l.append(s);
  return l;
}

py::dict nest_to_dict(const LoopNest& n) {
  py::dict r;
  r["line"] = n.first_line;
  r["inputs"] = string_list(n.inputs);
  r["outputs"] = string_list(n.outputs);
  r["arrays"] = string_list(n.arrays);
  py::list loops;
  for (auto* l : n.loops()) {
    py::dict d;
    d["id"] = l->id;
    d["label"] = l->label();
    d["var"] = l->var;
    d["line"] = l->line;
    d["depth"] = l->depth;
    d["range"] = "range(" + to_source(*l->start) + ", " + to_source(*l->stop) + ", " + to_source(*l->step) + ")";
    loops.append(d);
  }
  r["loops"] = loops;
  py::list stmts;
  for (auto* s : n.statements()) {
    py::dict d;
    d["id"] = s->id;
    d["label"] = s->label();
    d["line"] = s->line;
    // A part of a tuple assignment shows the user's whole statement.
    d["text"] = !s->source_text.empty()
                    ? s->source_text
                    : to_source(*s->target) +
                          (s->kind == StmtKind::AugAssign ? std::string(" ") + to_string(s->aug_op) + "= " : " = ") +
                          to_source(*s->value);
    stmts.append(d);
  }
  r["statements"] = stmts;
  return r;
}

// What ast.dump(node, include_attributes=True) tells (the node's class, its
// fields and positions, the repr of every other value), written in C++: the
// same trees give the same key, different ones different keys. Python's
// ast.dump is most of what registering a nest costs.
class AstKey {
 public:
  std::string of(py::handle node) {
    std::string out;
    add(node.ptr(), out);
    return out;
  }

 private:
  py::object ast_type_ = py::module_::import("ast").attr("AST");
  std::unordered_map<PyTypeObject*, std::vector<py::object>> names_;  // _fields + _attributes of a node class

  const std::vector<py::object>& names(PyObject* o) {
    auto it = names_.find(Py_TYPE(o));
    if (it != names_.end()) return it->second;
    std::vector<py::object> v;
    py::handle type(reinterpret_cast<PyObject*>(Py_TYPE(o)));
    for (const char* group : {"_fields", "_attributes"})
      if (py::hasattr(type, group))
        for (auto n : type.attr(group)) v.push_back(py::reinterpret_borrow<py::object>(n));
    return names_.emplace(Py_TYPE(o), std::move(v)).first->second;
  }

  void add(PyObject* o, std::string& out) {
    if (PyList_Check(o)) {
      out += '[';
      for (Py_ssize_t k = 0; k < PyList_GET_SIZE(o); ++k) {
        add(PyList_GET_ITEM(o, k), out);
        out += ',';
      }
      out += ']';
      return;
    }
    int is_node = PyObject_IsInstance(o, ast_type_.ptr());
    if (is_node < 0) throw py::error_already_set();
    if (!is_node) {
      py::str r = py::repr(o);
      Py_ssize_t n = 0;
      const char* text = PyUnicode_AsUTF8AndSize(r.ptr(), &n);
      if (!text) throw py::error_already_set();
      out.append(text, (size_t)n);
      return;
    }
    out += Py_TYPE(o)->tp_name;
    out += '(';
    for (const py::object& name : names(o)) {
      PyObject* v = PyObject_GetAttr(o, name.ptr());
      if (!v) {
        PyErr_Clear();
        out += '~';  // not set
      } else {
        py::object value = py::reinterpret_steal<py::object>(v);
        add(value.ptr(), out);
      }
      out += ',';
    }
    out += ')';
  }
};

int register_nest(py::handle node, const std::string& source, const std::string& filename,
                  const std::string& key_extra) {
  // key_extra tells apart nodes that are the same once other spellings are
  // made canonical (`m.sqrt` and `math.sqrt`), which assume different names.
  static AstKey* keys = new AstKey();  // kept for the life of the process
  std::string key = keys->of(node) + "\n" + key_extra;
  int id = find_nest_by_key(key);
  if (id >= 0) return id;
  NestEntry e;
  e.key = key;
  e.source = source;
  e.filename = filename;
  py::object l = node.attr("lineno");
  e.line = l.is_none() ? 0 : l.cast<int>();
  FrontEndResult fr = nest_from_ast(node, source);
  if (fr.decline) {
    e.decline = fr.decline;
  } else {
    e.nest = fr.nest;
    e.analysis = analyze_static(fr.nest);
    if (auto d = static_decline(*e.analysis)) e.decline = d;
  }
  return add_nest(std::move(e));
}

py::dict info(int id) {
  const NestEntry* e = find_nest(id);
  if (!e) throw py::key_error("unknown nest id " + std::to_string(id));
  py::dict r;
  r["id"] = e->id;
  r["line"] = e->line;
  r["source"] = e->source;
  r["filename"] = e->filename;
  r["declined"] = e->decline.has_value();
  r["decline"] = decline_to_py(e->decline);
  if (e->nest) {
    py::dict n = nest_to_dict(*e->nest);
    for (auto item : n) r[item.first] = item.second;
  }
  if (e->analysis) {
    StaticSummary s = summarize(*e->analysis);
    py::dict st;
    st["references"] = string_list(s.references);
    st["settled"] = string_list(s.settled);
    st["for_run_time"] = string_list(s.for_run_time);
    st["skeleton"] = string_list(s.skeleton);
    st["skeleton_pairs"] = s.skeleton_pairs;
    r["static"] = st;
  }
  return r;
}

// The plan of the nest's pipeline (pipeline.hpp: bind, plan), or with
// use_cache=false a fresh analysis of its binding.
py::dict run(int id, py::dict env, bool use_cache, long max_edges) {
  auto pipe = loopscope::bindings::pipeline_for(id, env);
  const NestEntry* e = pipe->entry();
  if (!e) throw py::key_error("unknown nest id " + std::to_string(id));
  if (!pipe->analysed()) {
    py::dict r;
    r["decline"] = decline_to_py(e->decline);
    r["loops"] = py::list();
    r["edges"] = py::list();
    r["subscripts_in_range"] = false;
    r["subscript_problem"] = py::none();
    r["subscripts_only_indirect"] = false;
    r["notes"] = py::list();
    r["edges_total"] = 0;
    r["edges_left_out"] = 0;
    r["cache_hit"] = false;
    return r;
  }
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  auto d = pipe->bind_decline();
  auto t1 = clock::now();
  std::shared_ptr<const ParallelPlan> plan;
  bool hit = false;
  if (!d) {
    if (use_cache)
      plan = pipe->plan(&hit);
    else
      plan = std::make_shared<const ParallelPlan>(analyze_dynamic(*e->analysis, pipe->binding()));
  }
  auto t2 = clock::now();
  py::dict r;
  if (d) {
    ParallelPlan p;
    p.decline = d;
    for (auto* l : e->nest->loops()) {
      LoopPlan lp;
      lp.loop = l->id;
      lp.var = l->var;
      lp.line = l->line;
      lp.reasons = {d->reason};
      p.loops.push_back(lp);
    }
    r = plan_to_dict(e->nest.get(), p, max_edges);
  } else {
    r = plan_to_dict(e->nest.get(), *plan, max_edges);
  }
  r["cache_hit"] = hit;
  py::dict t;
  t["bind"] = std::chrono::duration<double, std::micro>(t1 - t0).count();
  t["analysis"] = std::chrono::duration<double, std::micro>(t2 - t1).count();
  r["timing_us"] = t;
  return r;
}

py::dict from_source(const std::string& source) {
  FrontEndResult fr = nest_from_source(source);
  py::dict r;
  r["declined"] = fr.decline.has_value();
  r["decline"] = decline_to_py(fr.decline);
  if (fr.nest) {
    py::dict n = nest_to_dict(*fr.nest);
    for (auto item : n) r[item.first] = item.second;
  }
  return r;
}

void bind(py::module_& m) {
  m.def("analysis_register", &register_nest, py::arg("node"), py::arg("source") = "", py::arg("filename") = "",
        py::arg("key_extra") = "",
        "Front end and static phase of an ast.For node; returns the nest id (cached by the node's fields and positions "
        "and key_extra).");
  m.def("analysis_info", &info, py::arg("nest_id"), "What the static phase knows about a registered nest.");
  m.def(
      "analysis_run",
      [](int id, py::dict env, bool use_cache, std::optional<long> max_edges) {
        return run(id, env, use_cache, max_edges ? std::max(0L, *max_edges) : -1L);
      },
      py::arg("nest_id"), py::arg("env"), py::arg("use_cache") = true, py::arg("max_edges") = py::none(),
      "Bind live values and run the dynamic phase; returns the dependence graph and parallel plan "
      "(with max_edges, only the first max_edges edges; edges_total counts them all).");
  m.def("analysis_set_exact_test", &set_exact_test_enabled, py::arg("enabled"),
        "Turn the exact (enumeration) dependence test on or off (on by default; for tests).");
  m.def("analysis_set_float_reassociation", &set_float_reassociation, py::arg("allowed"),
        "Whether loops adding or multiplying into a floating-point accumulator may run in parallel "
        "(the last bits may then differ from Python's); off by default.");
  m.def("analysis_float_reassociation", &float_reassociation,
        "Whether floating-point sums and products may run in parallel.");
  m.def("analysis_nest_from_source", &from_source, py::arg("source"),
        "Front end only: the IR summary of the first statement of `source` (a for loop), or its decline.");
}

loopscope::bindings::Registrar reg("analysis", &bind);

}  // namespace
