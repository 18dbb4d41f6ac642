// CUDA source generation: parallel regions of a bound nest become kernels,
// the sequential loops around them become host loops of launches.
#include "loopscope/jit/cuda_codegen.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace loopscope::jit {

using analysis::ArrayBinding;
using analysis::BinOp;
using analysis::BoundNest;
using analysis::CmpOp;
using analysis::Decline;
using analysis::DType;
using analysis::Expr;
using analysis::ExprKind;
using analysis::LoopPlan;
using analysis::LoopVerdict;
using analysis::ParallelPlan;
using analysis::ScalarKind;
using analysis::Stmt;
using analysis::StmtKind;
using analysis::UnOp;

const char* const kCudaHelperHeaderName = "loopscope_cuda.h";

std::string cuda_share_dir() {
  if (const char* env = std::getenv("LOOPSCOPE_SHARE_DIR")) return std::string(env) + "/cuda";
#ifdef LOOPSCOPE_SHARE_DIR
  return std::string(LOOPSCOPE_SHARE_DIR) + "/cuda";
#else
  return "share/cuda";
#endif
}

std::string cuda_helper_header() {
  std::ifstream in(cuda_share_dir() + "/" + kCudaHelperHeaderName);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t range_count(int64_t start, int64_t stop, int64_t step) {
  if (step > 0) return start < stop ? (stop - start + step - 1) / step : 0;
  if (step < 0) return start > stop ? (start - stop - step - 1) / (-step) : 0;
  return 0;
}

namespace {

// ---------------------------------------------------------------- types ----
// Element kinds in promotion order. `np` tells a NumPy scalar (an array
// element, or a value computed from one) from a Python number: they differ
// on division by zero and in how they promote.
enum class K { Bool, I32, I64, F32, F64 };

struct Ty {
  K k = K::I64;
  bool np = false;
};

bool is_float(K k) { return k == K::F32 || k == K::F64; }

const char* ctype(K k) {
  switch (k) {
    case K::Bool: return "bool";
    case K::I32: return "int";
    case K::I64: return "ls_i64";
    case K::F32: return "float";
    case K::F64: return "double";
  }
  return "?";
}

K kind_of(DType t) {
  switch (t) {
    case DType::Float64: return K::F64;
    case DType::Float32: return K::F32;
    case DType::Int64: return K::I64;
    case DType::Int32: return K::I32;
    case DType::Bool: return K::Bool;
  }
  return K::F64;
}

// NumPy 1.x promotion of two scalar kinds (Python int counts as int64,
// Python float as float64, Python bool as bool).
K np_promote(K a, K b) {
  if (a == b) return a;
  if (a > b) std::swap(a, b);
  if (a == K::Bool) return b;
  if (b == K::F64) return K::F64;
  if (b == K::F32) return a == K::Bool ? K::F32 : K::F64;  // int32/int64 with float32
  return K::I64;                                            // int32 with int64
}

// Type of `a op b` for + - * (and the operands' common type for comparisons).
Ty arith(Ty a, Ty b) {
  if (!a.np && !b.np) {
    bool f = is_float(a.k) || is_float(b.k);
    return {f ? K::F64 : K::I64, false};
  }
  return {np_promote(a.k, b.k), true};
}

struct GenError {
  int line;
  std::string reason;
};

[[noreturn]] void fail(int line, const std::string& why) { throw GenError{line, why}; }

const std::set<std::string>& cpp_reserved() {
  static const std::set<std::string> r = {
      "auto", "bool", "break", "case", "char", "class", "const", "continue", "default",
      "delete", "do", "double", "else", "enum", "extern", "float", "for", "goto", "if",
      "inline", "int", "long", "new", "operator", "private", "protected", "public",
      "register", "return", "short", "signed", "sizeof", "static", "struct", "switch",
      "template", "this", "throw", "try", "typedef", "union", "unsigned", "void",
      "volatile", "while", "namespace", "using", "friend", "virtual", "true", "false",
      "nullptr", "threadIdx", "blockIdx", "blockDim", "gridDim", "warpSize", "dim3",
      "uint3", "main", "fabs", "sqrt", "exp", "log", "sin", "cos", "tan", "pow", "floor",
      "ceil", "fmod", "min", "max", "abs", "round", "signed", "assert", "errno"};
  return r;
}

// The C++ spelling of a Python name: unchanged unless it collides with C++ or
// with the generator's own names (which all start with ls_ / LS_).
std::string cname(const std::string& n) {
  if (cpp_reserved().count(n) || n.rfind("ls_", 0) == 0 || n.rfind("LS_", 0) == 0 ||
      n.rfind("__", 0) == 0 || n.rfind("loopscope", 0) == 0)
    return "py_" + n;
  return n;
}

std::string float_literal(double v) {
  if (!std::isfinite(v)) fail(0, "an infinite or NaN literal has no CUDA spelling here");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  std::string s = buf;
  // Shortest spelling that reads back to the same double.
  for (int p = 1; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*g", p, v);
    if (std::strtod(buf, nullptr) == v) {
      s = buf;
      break;
    }
  }
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// ---------------------------------------------------------- nest walks -----
void walk_exprs(const Expr* e, const std::function<void(const Expr&)>& f) {
  if (!e) return;
  f(*e);
  for (auto& a : e->args) walk_exprs(a.get(), f);
}

void walk_stmts(const std::vector<analysis::StmtPtr>& body, const std::function<void(const Stmt&)>& f) {
  for (auto& s : body) {
    f(*s);
    walk_stmts(s->body, f);
    walk_stmts(s->orelse, f);
  }
}

void stmt_exprs(const Stmt& s, const std::function<void(const Expr&)>& f) {
  walk_exprs(s.target.get(), f);
  walk_exprs(s.value.get(), f);
  walk_exprs(s.cond.get(), f);
  walk_exprs(s.start.get(), f);
  walk_exprs(s.stop.get(), f);
  walk_exprs(s.step.get(), f);
}

// Every statement of a subtree rooted at `root`, the root included.
void walk_tree(const Stmt& root, const std::function<void(const Stmt&)>& f) {
  f(root);
  walk_stmts(root.body, f);
  walk_stmts(root.orelse, f);
}

bool contains_name(const Expr* e, const std::string& n) {
  bool found = false;
  walk_exprs(e, [&](const Expr& x) {
    if (x.kind == ExprKind::Name && x.name == n) found = true;
  });
  return found;
}

// ------------------------------------------------------------ generator ----
struct KernelBuild {
  CudaKernel k;
  std::set<std::string> arrays;          // arrays referenced
  std::set<std::string> scalar_inputs;   // scalars read from the enclosing scope / host
  std::map<std::string, int> results;    // output scalar -> index into program results
  std::string reduction_loop_note;
};

class Generator {
 public:
  Generator(const BoundNest& b, const ParallelPlan& p) : bound_(b), plan_(p) {}

  CudaProgram run() {
    CudaProgram prog;
    try {
      if (!bound_.nest || !bound_.nest->root) fail(0, "there is no loop nest to translate");
      if (plan_.decline) fail(plan_.decline->line, plan_.decline->reason);
      prepare();
      build_host(*bound_.nest->root, prog_.schedule);
      finish();
      prog = std::move(prog_);
    } catch (const GenError& e) {
      prog = CudaProgram{};
      prog.decline = Decline{e.line, "no GPU version: " + e.reason};
    }
    return prog;
  }

 private:
  const BoundNest& bound_;
  const ParallelPlan& plan_;
  CudaProgram prog_;
  std::map<int, const LoopPlan*> loop_plan_;
  std::map<std::string, Ty> var_ty_;          // scalars and loop variables
  std::set<std::string> loop_vars_;
  std::set<std::string> assigned_;            // scalars assigned in the nest
  std::vector<std::string> src_lines_;
  std::set<std::string> written_arrays_, read_arrays_;
  std::set<std::string> aliased_;             // arrays overlapping another array's memory
  std::vector<std::string> host_vars_;        // enclosing host loop variables (stack)
  KernelBuild* kb_ = nullptr;                 // kernel being emitted
  std::ostringstream body_;                   // kernel body being emitted
  int indent_ = 1;
  bool in_condition_ = false;
  std::set<std::string> track_set_;           // sequential-kernel scalars with an "assigned" flag

  // -------------------------------------------------------- preparation --
  const LoopPlan& lplan(const Stmt& loop) {
    auto it = loop_plan_.find(loop.id);
    if (it == loop_plan_.end()) fail(loop.line, "the plan has no entry for the loop over " + loop.var);
    return *it->second;
  }

  void prepare() {
    for (auto& lp : plan_.loops) loop_plan_[lp.loop] = &lp;
    std::istringstream ss(bound_.nest->source);
    for (std::string l; std::getline(ss, l);) src_lines_.push_back(l);
    for (auto& [name, s] : bound_.scalars) {
      Ty t;
      t.k = s.kind == ScalarKind::Float ? K::F64 : K::I64;  // bools behave as ints
      var_ty_[name] = t;
    }
    const Stmt& root = *bound_.nest->root;
    walk_tree(root, [&](const Stmt& s) {
      if (s.kind == StmtKind::For) {
        loop_vars_.insert(s.var);
        var_ty_[s.var] = Ty{K::I64, false};
      }
      if ((s.kind == StmtKind::Assign || s.kind == StmtKind::AugAssign) && s.target) {
        if (s.target->kind == ExprKind::Name) assigned_.insert(s.target->name);
      }
    });
    for (auto& v : loop_vars_)
      if (assigned_.count(v)) fail(0, "the loop variable " + v + " is assigned inside the loop");
    // Arrays: layout checks and aliasing.
    for (auto& [name, a] : bound_.arrays) {
      int sz = analysis::dtype_size(a.dtype);
      for (auto st : a.strides)
        if (st % sz != 0) fail(0, "array " + name + " has strides that are not a multiple of its item size");
    }
    walk_tree(root, [&](const Stmt& s) {
      if ((s.kind == StmtKind::Assign || s.kind == StmtKind::AugAssign) && s.target &&
          s.target->kind == ExprKind::Subscript)
        written_arrays_.insert(s.target->name);
      stmt_exprs(s, [&](const Expr& e) {
        if (e.kind == ExprKind::Subscript) read_arrays_.insert(e.name);
      });
    });
    for (auto& w : written_arrays_) {
      auto& aw = array(w, 0);
      if (!aw.writeable) fail(0, "array " + w + " is read-only");
    }
    // Arrays that share memory keep sharing it on the device (one buffer per
    // region); their pointers then must not be declared __restrict__.
    for (auto& [x, ax] : bound_.arrays)
      for (auto& [y, ay] : bound_.arrays)
        if (x != y && ax.mem_lo < ay.mem_hi && ay.mem_lo < ax.mem_hi) aliased_.insert(x);
    // Types of assigned scalars: a small fixpoint over the assignments.
    for (int round = 0; round < 4; ++round) {
      bool changed = false;
      walk_tree(root, [&](const Stmt& s) {
        if ((s.kind != StmtKind::Assign && s.kind != StmtKind::AugAssign) || !s.target ||
            s.target->kind != ExprKind::Name)
          return;
        Ty t;
        try {
          std::ostringstream sink;
          if (s.kind == StmtKind::Assign) {
            t = type_of(*s.value);
          } else {
            Expr bin;
            bin.kind = ExprKind::Binary;
            bin.bin_op = s.aug_op;
            bin.line = s.line;
            bin.args = {s.target, s.value};
            t = type_of(bin);
          }
        } catch (const GenError&) {
          return;  // reported when the statement is emitted
        }
        auto it = var_ty_.find(s.target->name);
        if (it == var_ty_.end()) {
          var_ty_[s.target->name] = t;
          changed = true;
          return;
        }
        Ty old = it->second;
        if (old.k == t.k && old.np == t.np) return;
        Ty j = old;
        if (old.k == t.k) {
          j.np = old.np && t.np;
        } else if (!is_float(old.k) && !is_float(t.k)) {
          j.k = K::I64;
          j.np = old.np && t.np;
        } else if (!is_float(old.k) && t.k == K::F64) {
          j = Ty{K::F64, old.np && t.np};
        } else if (old.k == K::F64 && !is_float(t.k)) {
          j = Ty{K::F64, old.np && t.np};
        } else {
          fail(s.line, "the scalar " + s.target->name +
                           " holds values of different float precisions (float32 and float64)");
        }
        if (j.k != old.k || j.np != old.np) {
          it->second = j;
          changed = true;
        }
      });
      if (!changed) break;
    }
  }

  const ArrayBinding& array(const std::string& name, int line) {
    auto it = bound_.arrays.find(name);
    if (it == bound_.arrays.end()) fail(line, name + " is not a NumPy array of a supported type");
    return it->second;
  }

  // ------------------------------------------------------------ typing ---
  Ty type_of(const Expr& e) {
    std::ostringstream sink;
    return expr(e, &sink, /*dry=*/true).second;
  }

  // ------------------------------------------------------ host schedule --
  bool supported_reduction_loop(const Stmt& loop) {
    const LoopPlan& lp = lplan(loop);
    if (lp.verdict != LoopVerdict::Reduction || lp.reductions.empty()) return false;
    for (auto& r : lp.reductions) {
      if (bound_.arrays.count(r.variable)) return false;  // array reductions stay sequential
      if (!bound_.scalars.count(r.variable)) return false;
      if (r.fn.empty() && r.op != BinOp::Add) return false;
      if (!r.fn.empty() && r.fn != "min" && r.fn != "max") return false;
    }
    return true;
  }

  bool gridable(const Stmt& loop) {
    return lplan(loop).verdict == LoopVerdict::Parallel || supported_reduction_loop(loop);
  }

  bool has_gridable_descendant(const Stmt& loop) {
    bool any = false;
    walk_stmts(loop.body, [&](const Stmt& s) {
      if (s.kind == StmtKind::For && gridable(s)) any = true;
    });
    return any;
  }

  void build_host(const Stmt& loop, std::vector<CudaHostNode>& out) {
    if (gridable(loop)) {
      out.push_back(CudaHostNode{CudaHostNode::Launch, nullptr, {}, build_kernel(loop, false)});
      return;
    }
    bool only_loops = std::all_of(loop.body.begin(), loop.body.end(),
                                  [](const analysis::StmtPtr& s) { return s->kind == StmtKind::For; });
    bool bounds_on_host = host_evaluable(loop);
    if (only_loops && bounds_on_host && has_gridable_descendant(loop)) {
      CudaHostNode n;
      n.kind = CudaHostNode::Loop;
      n.loop = &loop;
      host_vars_.push_back(loop.var);
      for (auto& s : loop.body) build_host(*s, n.body);
      host_vars_.pop_back();
      out.push_back(std::move(n));
      return;
    }
    out.push_back(CudaHostNode{CudaHostNode::Launch, nullptr, {}, build_kernel(loop, true)});
  }

  bool host_evaluable(const Stmt& loop) {
    bool ok = true;
    for (const Expr* e : {loop.start.get(), loop.stop.get(), loop.step.get()}) {
      walk_exprs(e, [&](const Expr& x) {
        if (x.kind == ExprKind::Subscript || x.kind == ExprKind::FloatConst) ok = false;
        if (x.kind == ExprKind::Name) {
          bool host_var = std::find(host_vars_.begin(), host_vars_.end(), x.name) != host_vars_.end();
          if (!host_var && (!bound_.scalars.count(x.name) || assigned_.count(x.name))) ok = false;
          if (bound_.scalars.count(x.name) && bound_.scalars.at(x.name).kind == ScalarKind::Float) ok = false;
        }
      });
    }
    return ok;
  }

  // ------------------------------------------------------------ kernels --
  // The nest's source may hold just the nest (its first line is the root
  // `for`) or the whole parsed text; find which by looking for the root.
  int line_offset() {
    if (line_offset_ != INT32_MIN) return line_offset_;
    const Stmt& root = *bound_.nest->root;
    auto is_root = [&](int idx) {
      if (idx < 0 || idx >= (int)src_lines_.size()) return false;
      std::string t = src_lines_[idx];
      auto b = t.find_first_not_of(" \t");
      return b != std::string::npos && t.compare(b, 4 + root.var.size(), "for " + root.var) == 0;
    };
    line_offset_ = bound_.nest->first_line;  // nest-relative text
    if (!is_root(root.line - line_offset_)) {
      if (is_root(root.line - 1)) line_offset_ = 1;  // the whole parsed text
      else if (is_root(0)) line_offset_ = root.line;
    }
    return line_offset_;
  }
  int line_offset_ = INT32_MIN;

  void line_comment(int line) {
    int idx = line - line_offset();
    if (line <= 0 || idx < 0 || idx >= (int)src_lines_.size()) return;
    std::string text = src_lines_[idx];
    auto b = text.find_first_not_of(" \t");
    text = b == std::string::npos ? "" : text.substr(b);
    pad();
    body_ << "// line " << line << ": " << text << "\n";
  }

  void pad() {
    for (int i = 0; i < indent_; ++i) body_ << "  ";
  }

  int add_result(const std::string& name, CudaResultKind kind, bool isf, const std::string& op,
                 int loop, bool needs_set_flag) {
    CudaResult r;
    r.name = name;
    r.is_bool = var_ty_.count(name) && var_ty_.at(name).k == K::Bool;
    r.kind = kind;
    r.is_float = isf;
    r.op = op;
    r.loop = loop;
    r.slot = prog_.result_slots++;
    if (needs_set_flag) r.set_slot = prog_.result_slots++;
    r.init_from_input = bound_.scalars.count(name) > 0;
    r.kernel = (int)prog_.kernels.size();
    prog_.results.push_back(r);
    return (int)prog_.results.size() - 1;
  }

  int build_kernel(const Stmt& root, bool sequential) {
    KernelBuild kb;
    kb_ = &kb;
    track_set_.clear();
    kb.k.loop = root.id;
    kb.k.name = "loopscope_" + std::string(sequential ? "seq_L" : "L") + std::to_string(root.id);
    body_.str("");
    body_.clear();
    indent_ = 1;

    // Scalars assigned in this kernel.
    std::set<std::string> local_assigned;
    walk_tree(root, [&](const Stmt& s) {
      if ((s.kind == StmtKind::Assign || s.kind == StmtKind::AugAssign) && s.target &&
          s.target->kind == ExprKind::Name)
        local_assigned.insert(s.target->name);
    });
    // A scalar assigned elsewhere in the nest but read here would need a
    // value handed from another launch.
    walk_tree(root, [&](const Stmt& s) {
      stmt_exprs(s, [&](const Expr& e) {
        if (e.kind == ExprKind::Name && assigned_.count(e.name) && !local_assigned.count(e.name) &&
            !loop_vars_.count(e.name))
          fail(s.line, "the scalar " + e.name + " is assigned in one part of the nest and read in another");
      });
    });

    std::vector<const Stmt*> grid;
    std::vector<std::string> reduction_vars;
    std::map<std::string, std::string> reduction_fn;
    if (!sequential) {
      const Stmt* cur = &root;
      grid.push_back(cur);
      while (grid.size() < 3 && cur->body.size() == 1 && cur->body[0]->kind == StmtKind::For &&
             gridable(*cur->body[0])) {
        const Stmt* next = cur->body[0].get();
        // Inner grid loops are parallel or reduce the same kind of scalars.
        bool ok = lplan(*next).verdict == LoopVerdict::Parallel || supported_reduction_loop(*next);
        if (!ok) break;
        cur = next;
        grid.push_back(cur);
      }
      for (auto* g : grid) {
        auto& lp = lplan(*g);
        if (lp.verdict != LoopVerdict::Reduction) continue;
        for (auto& r : lp.reductions) {
          if (std::find(reduction_vars.begin(), reduction_vars.end(), r.variable) == reduction_vars.end()) {
            reduction_vars.push_back(r.variable);
            reduction_fn[r.variable] = r.fn.empty() ? "+" : r.fn;
          }
        }
      }
    }
    for (auto* g : grid) {
      kb.k.grid_loops.push_back(g->id);
      kb.k.grid_stmts.push_back(g);
    }

    // Loop variables declared at function scope must not be read after
    // their loop ends (C leaves them one step past Python's value).
    check_loop_var_reads(root);

    // Declarations of locals: every scalar assigned here, and every loop
    // variable of an in-kernel loop.
    std::ostringstream decls;
    std::set<std::string> declared;
    std::set<std::string> grid_vars;
    for (auto* g : grid) grid_vars.insert(g->var);
    for (auto& name : local_assigned) {
      Ty t = var_ty_.at(name);
      bool red = std::find(reduction_vars.begin(), reduction_vars.end(), name) != reduction_vars.end();
      decls << "  " << ctype(t.k) << " " << cname(name);
      if (red) {
        std::string fn = reduction_fn[name];
        if (fn == "+")
          decls << " = " << (is_float(t.k) ? "-0.0" : "0") << ";  // this thread's partial sum\n";
        else if (is_float(t.k))
          decls << " = " << (fn == "min" ? "" : "-") << "__longlong_as_double(0x7ff0000000000000LL);  // partial " << fn << "\n";
        else
          decls << " = " << (fn == "min" ? "9223372036854775807LL" : "(-9223372036854775807LL - 1)") << ";  // partial " << fn << "\n";
        // Whether this thread ran the reduction statement at all: if no
        // thread did, Python's variable keeps its value (and its type).
        decls << "  ls_i64 ls_set_" << name << " = 0;\n";
        track_set_.insert(name);
      } else if (sequential) {
        // A sequential kernel continues from the value left by earlier
        // launches (the host seeds the slot with the value before the nest).
        decls << " = *ls_out_" << name << ";\n";
        if (!bound_.scalars.count(name)) {
          decls << "  ls_i64 ls_set_" << name << " = LS_IS_SET(ls_out_" << name << ");\n";
          track_set_.insert(name);
        }
      } else {
        decls << " = 0;\n";
        if (!track_always_assigned(root, grid, name)) {
          decls << "  ls_i64 ls_set_" << name << " = 0;\n";
          track_set_.insert(name);
        }
      }
      declared.insert(name);
    }
    walk_tree(root, [&](const Stmt& s) {
      if (s.kind == StmtKind::For && !grid_vars.count(s.var) && !declared.count(s.var)) {
        decls << "  ls_i64 " << cname(s.var) << " = 0;\n";
        declared.insert(s.var);
      }
    });

    // Results.
    std::vector<std::pair<std::string, int>> red_results, last_results, seq_results;
    if (sequential) {
      for (auto& name : local_assigned) {
        bool isf = is_float(var_ty_.at(name).k);
        seq_results.push_back({name, add_result(name, CudaResultKind::Sequential, isf, "", root.id, true)});
      }
    } else {
      for (auto& name : local_assigned) {
        bool isf = is_float(var_ty_.at(name).k);
        if (std::find(reduction_vars.begin(), reduction_vars.end(), name) != reduction_vars.end()) {
          if (!bound_.scalars.count(name))
            fail(root.line, "the reduction variable " + name + " has no value before the loop");
          red_results.push_back({name, add_result(name, CudaResultKind::Reduction, isf, reduction_fn[name], root.id, true)});
        } else {
          // Privates: their value after the loop is the one the last
          // iteration leaves. The thread running it reports it; if that
          // iteration did not assign the variable, the run stops and Python
          // runs the loop (the value would come from an earlier iteration).
          bool direct = true;
          bool indep = true;
          for (size_t a = 0; a < grid.size(); ++a)
            for (size_t b = a + 1; b < grid.size(); ++b)
              for (const Expr* e : {grid[b]->start.get(), grid[b]->stop.get(), grid[b]->step.get()})
                if (contains_name(e, grid[a]->var)) indep = false;
          if (!direct || !indep)
            fail(root.line, "the value that " + name +
                                " keeps after the loop depends on which iteration assigned it last");
          last_results.push_back({name, add_result(name, CudaResultKind::LastValue, isf, "", grid.back()->id, true)});
        }
      }
    }

    // Thread mapping.
    std::vector<int> axis(grid.size(), 0);
    std::ostringstream mapping;
    if (!grid.empty()) {
      int contiguous = choose_contiguous(root, grid);
      std::vector<int> order;  // grid indices in x, y, z order
      order.push_back(contiguous);
      for (int i = (int)grid.size() - 1; i >= 0; --i)
        if (i != contiguous) order.push_back(i);
      for (size_t a = 0; a < order.size(); ++a) axis[order[a]] = (int)a;
      static const unsigned shapes[3][3] = {{256, 1, 1}, {32, 8, 1}, {32, 4, 2}};
      for (int d = 0; d < 3; ++d) kb.k.block[d] = shapes[grid.size() - 1][d];
      mapping << "Thread mapping: ";
      for (size_t a = 0; a < order.size(); ++a) {
        const char* ax = "xyz" + a;
        mapping << (a ? ", " : "") << grid[order[a]]->var << " -> " << std::string(1, *ax);
      }
      mapping << " (" << grid[contiguous]->var
              << " walks contiguous memory, so it is on x: neighbouring threads touch neighbouring elements)";
    } else {
      mapping << "Runs on a single GPU thread: every loop here carries a dependence or cannot be split";
    }
    kb.k.grid_axis = axis;
    kb.k.mapping = mapping.str();

    // Body.
    std::vector<std::string> closers;
    for (size_t g = 0; g < grid.size(); ++g) {
      const Stmt& L = *grid[g];
      const char ax = "xyz"[axis[g]];
      auto cstep = L.step ? const_int(L.step.get()) : std::optional<int64_t>(1);
      if (cstep && *cstep == 0) fail(L.line, "range() with a zero step raises ValueError");
      std::string v = cname(L.var);
      line_comment(L.line);
      auto [start, st] = expr_int(L.start.get(), 0, L.line);
      auto [stop, sp] = expr_int(L.stop.get(), -1, L.line);
      auto [step, ss] = expr_int(L.step.get(), 1, L.line);
      (void)st; (void)sp; (void)ss;
      if (cstep) {
        step = std::to_string(*cstep);
      } else {
        // A step computed at run time: zero is Python's ValueError.
        pad();
        body_ << "const ls_i64 ls_step_" << L.var << " = " << step << ";\n";
        pad();
        body_ << "if (ls_step_" << L.var << " == 0) ls_fail(ls_err, LS_ERR_VALUE);  // the range is then empty\n";
        step = "ls_step_" + L.var;
      }
      pad();
      body_ << "const ls_i64 ls_start_" << L.var << " = " << start << ", ls_count_" << L.var
            << " = ls_range_count(ls_start_" << L.var << ", " << stop << ", " << step << ");\n";
      pad();
      body_ << "for (ls_i64 ls_it_" << L.var << " = blockIdx." << ax << " * (ls_i64)blockDim." << ax
            << " + threadIdx." << ax << "; ls_it_" << L.var << " < ls_count_" << L.var << "; ls_it_"
            << L.var << " += (ls_i64)gridDim." << ax << " * blockDim." << ax << ") {\n";
      ++indent_;
      pad();
      if (step == "1")
        body_ << "const ls_i64 " << v << " = ls_start_" << L.var << " + ls_it_" << L.var << ";\n";
      else
        body_ << "const ls_i64 " << v << " = ls_start_" << L.var << " + ls_it_" << L.var << " * (" << step << ");\n";
    }
    const Stmt& inner = grid.empty() ? root : *grid.back();
    if (grid.empty()) {
      emit_stmt(root);
    } else {
      for (auto& s : inner.body) emit_stmt(*s);
      if (!last_results.empty()) {
        pad();
        body_ << "if (";
        for (size_t g = 0; g < grid.size(); ++g)
          body_ << (g ? " && " : "") << "ls_it_" << grid[g]->var << " == ls_count_" << grid[g]->var << " - 1";
        body_ << ") {  // the last iteration leaves its values in Python's variables\n";
        for (auto& [name, idx] : last_results) {
          pad();
          if (track_set_.count(name)) {
            body_ << "  if (ls_set_" << name << ") { *ls_out_" << name << " = " << cname(name) << "; LS_MARK_SET(ls_out_" << name
                  << "); } else ls_fail(ls_err, LS_ERR_LAST);\n";
          } else {
            body_ << "  *ls_out_" << name << " = " << cname(name) << ";\n";
            pad();
            body_ << "  LS_MARK_SET(ls_out_" << name << ");\n";
          }
        }
        pad();
        body_ << "}\n";
      }
      for (size_t g = grid.size(); g-- > 0;) {
        --indent_;
        pad();
        body_ << "}\n";
      }
      if (!red_results.empty()) {
        pad();
        body_ << "// Combine the partial results: first across the 32 threads of a warp with\n";
        pad();
        body_ << "// shuffles, then lane 0 of each warp adds the warp's result atomically.\n";
      }
      for (auto& [name, idx] : red_results) {
        const std::string& fn = prog_.results[idx].op;
        bool isf = prog_.results[idx].is_float;
        std::string op = fn == "+" ? "add" : fn;
        std::string suffix = std::string("_") + (isf ? "f64" : "i64");
        pad();
        body_ << cname(name) << " = ls_warp_" << (fn == "+" ? "sum" : fn) << suffix << "(" << cname(name) << ");\n";
        pad();
        body_ << "ls_set_" << name << " = ls_warp_any(ls_set_" << name << ");\n";
        pad();
        body_ << "if (ls_lane() == 0 && ls_set_" << name << ") {\n";
        pad();
        body_ << "  ls_atomic_" << op << suffix << "(ls_out_" << name << ", " << cname(name) << ");\n";
        pad();
        body_ << "  LS_MARK_SET(ls_out_" << name << ");\n";
        pad();
        body_ << "}\n";
      }
      kb.k.uses_warp_shuffles = !red_results.empty();
    }
    if (sequential) {
      for (auto& [name, idx] : seq_results) {
        pad();
        body_ << "*ls_out_" << name << " = " << cname(name) << ";\n";
        if (track_set_.count(name)) {
          pad();
          body_ << "if (ls_set_" << name << ") LS_MARK_SET(ls_out_" << name << ");\n";
        } else {
          pad();
          body_ << "LS_MARK_SET(ls_out_" << name << ");\n";
        }
      }
    }
    (void)closers;

    // Parameters.
    std::ostringstream sig;
    auto add_param = [&](CudaParam p, const std::string& decl) {
      kb.k.params.push_back(p);
      sig << (kb.k.params.size() > 1 ? ",\n    " : "") << decl;
    };
    for (auto& a : kb.arrays) {
      auto& ab = bound_.arrays.at(a);
      bool w = kernel_writes(root, a);
      add_param({CudaParamKind::ArrayData, cname(a), a, 0},
                std::string(w ? "" : "const ") + ctype(kind_of(ab.dtype)) +
                    (aliased_.count(a) ? "* " : "* __restrict__ ") + cname(a));
      for (size_t d = 0; d < ab.shape.size(); ++d)
        add_param({CudaParamKind::ArrayExtent, "ls_n" + std::to_string(d) + "_" + a, a, (int)d},
                   "ls_i64 ls_n" + std::to_string(d) + "_" + a);
      for (size_t d = 0; d < ab.shape.size(); ++d)
        if (!unit_stride(ab, d))
          add_param({CudaParamKind::ArrayStride, "ls_s" + std::to_string(d) + "_" + a, a, (int)d},
                     "ls_i64 ls_s" + std::to_string(d) + "_" + a);
    }
    for (auto& s : kb.scalar_inputs) {
      bool isf = bound_.scalars.count(s) && bound_.scalars.at(s).kind == ScalarKind::Float;
      std::string pname = local_assigned.count(s) ? "ls_in_" + s : cname(s);
      add_param({isf ? CudaParamKind::FloatScalar : CudaParamKind::IntScalar, pname, "", 0},
                std::string(isf ? "double " : "ls_i64 ") + pname);
      kb.k.params.back().array = s;  // Python name of the value
    }
    for (auto& r : prog_.results) {
      if (r.kernel != (int)prog_.kernels.size()) continue;
      add_param({CudaParamKind::Result, "ls_out_" + r.name, r.name, r.slot},
                std::string(r.is_float ? "double" : "ls_i64") + "* ls_out_" + r.name);
    }
    add_param({CudaParamKind::ErrorFlag, "ls_err", "", 0}, "ls_i64* ls_err");

    std::ostringstream k;
    k << "// " << kb.k.mapping << ".\n";
    if (!red_results.empty())
      k << "// Reductions: each thread folds its own iterations into a partial result; warps\n"
           "// combine them with shuffles and add them with one atomic per warp. Floating-point\n"
           "// sums are added in a different order than Python's loop: the last bits can differ.\n";
    k << "extern \"C\" __global__ void " << kb.k.name << "(\n    " << sig.str() << ") {\n";
    k << decls.str();
    k << body_.str();
    k << "}\n";
    prog_.source += "\n" + k.str();

    // Emulator entry: unpacks the 8-byte argument slots.
    std::ostringstream e;
    e << "extern \"C\" int ls_emu_" << kb.k.name << "(const unsigned* grid, const unsigned* block, void** a) {\n"
      << "  return ls_emu::launch(grid, block, " << (kb.k.uses_warp_shuffles ? "true" : "false")
      << ", [&] {\n    " << kb.k.name << "(";
    for (size_t i = 0; i < kb.k.params.size(); ++i) {
      auto& p = kb.k.params[i];
      std::string t;
      switch (p.kind) {
        case CudaParamKind::ArrayData: t = std::string(ctype(kind_of(bound_.arrays.at(p.array).dtype))) + "*"; break;
        case CudaParamKind::ArrayExtent:
        case CudaParamKind::ArrayStride:
        case CudaParamKind::IntScalar: t = "ls_i64"; break;
        case CudaParamKind::FloatScalar: t = "double"; break;
        case CudaParamKind::Result: {
          bool isf = false;
          for (auto& r : prog_.results)
            if (r.kernel == (int)prog_.kernels.size() && r.name == p.array) isf = r.is_float;
          t = isf ? "double*" : "ls_i64*";
          break;
        }
        case CudaParamKind::ErrorFlag: t = "ls_i64*"; break;
      }
      e << (i ? ", " : "") << "*(" << t << "*)a[" << i << "]";
    }
    e << ");\n  });\n}\n";
    prog_.emulator_entry += e.str();

    for (auto& a : kb.arrays) {
      (void)a;
    }
    prog_.kernels.push_back(kb.k);
    kb_ = nullptr;
    return (int)prog_.kernels.size() - 1;
  }

  static bool track_always_assigned(const Stmt& root, const std::vector<const Stmt*>& grid, const std::string& name) {
    const Stmt& inner = grid.empty() ? root : *grid.back();
    if (grid.empty()) return false;
    for (auto& s : inner.body)
      if (s->kind == StmtKind::Assign && s->target->kind == ExprKind::Name && s->target->name == name) return true;
    return false;
  }

  bool unit_stride(const ArrayBinding& ab, size_t d) {
    return ab.strides[d] == analysis::dtype_size(ab.dtype);
  }

  bool kernel_writes(const Stmt& root, const std::string& a) {
    bool w = false;
    walk_tree(root, [&](const Stmt& s) {
      if ((s.kind == StmtKind::Assign || s.kind == StmtKind::AugAssign) && s.target &&
          s.target->kind == ExprKind::Subscript && s.target->name == a)
        w = true;
    });
    return w;
  }

  int choose_contiguous(const Stmt& root, const std::vector<const Stmt*>& grid) {
    std::vector<int> score(grid.size(), 0);
    walk_tree(root, [&](const Stmt& s) {
      stmt_exprs(s, [&](const Expr& e) {
        if (e.kind != ExprKind::Subscript) return;
        auto it = bound_.arrays.find(e.name);
        if (it == bound_.arrays.end() || it->second.strides.size() != e.args.size() || e.args.empty()) return;
        size_t best = 0;
        for (size_t d = 1; d < e.args.size(); ++d)
          if (std::llabs(it->second.strides[d]) < std::llabs(it->second.strides[best])) best = d;
        for (size_t g = 0; g < grid.size(); ++g)
          if (contains_name(e.args[best].get(), grid[g]->var)) score[g] += 1;
      });
    });
    int pick = (int)grid.size() - 1;
    for (int g = (int)grid.size() - 1; g >= 0; --g)
      if (score[g] > score[pick]) pick = g;
    return pick;
  }

  void check_loop_var_reads(const Stmt& root) {
    // For each in-kernel loop, its variable may be read only inside it.
    std::function<void(const std::vector<analysis::StmtPtr>&, std::set<std::string>&)> visit;
    std::set<std::string> live;  // loop vars whose loop encloses the current point
    std::function<void(const Stmt&)> one = [&](const Stmt& s) {
      auto check = [&](const Expr* e) {
        walk_exprs(e, [&](const Expr& x) {
          if (x.kind == ExprKind::Name && loop_vars_.count(x.name) && !live.count(x.name) &&
              std::find(host_vars_.begin(), host_vars_.end(), x.name) == host_vars_.end())
            fail(s.line, "the loop variable " + x.name + " is read outside its loop");
        });
      };
      check(s.target.get());
      check(s.value.get());
      check(s.cond.get());
      check(s.start.get());
      check(s.stop.get());
      check(s.step.get());
      if (s.kind == StmtKind::For) {
        bool had = live.count(s.var) > 0;
        if (had) fail(s.line, "two nested loops use the same variable " + s.var);
        live.insert(s.var);
        for (auto& c : s.body) one(*c);
        live.erase(s.var);
      } else {
        for (auto& c : s.body) one(*c);
        for (auto& c : s.orelse) one(*c);
      }
    };
    one(root);
  }

  // -------------------------------------------------------- statements ---
  void emit_stmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Assign:
      case StmtKind::AugAssign: {
        line_comment(s.line);
        std::string value;
        Ty vt;
        if (s.kind == StmtKind::Assign) {
          auto r = expr(*s.value);
          value = r.first;
          vt = r.second;
        } else {
          Expr bin;
          bin.kind = ExprKind::Binary;
          bin.bin_op = s.aug_op;
          bin.line = s.line;
          bin.args = {s.target, s.value};
          auto r = expr(bin);
          value = r.first;
          vt = r.second;
        }
        if (s.target->kind == ExprKind::Name) {
          Ty t = var_ty_.at(s.target->name);
          pad();
          body_ << cname(s.target->name) << " = " << convert(value, vt, t.k, s.line) << ";";
          if (track_set_.count(s.target->name)) body_ << " ls_set_" << s.target->name << " = 1;";
          body_ << "\n";
        } else if (s.target->kind == ExprKind::Subscript) {
          auto ref = subscript(*s.target);
          K ak = kind_of(array(s.target->name, s.line).dtype);
          pad();
          body_ << ref << " = " << convert(value, vt, ak, s.line) << ";\n";
        } else {
          fail(s.line, "only names and array elements can be assigned");
        }
        break;
      }
      case StmtKind::If: {
        line_comment(s.line);
        auto [c, ct] = cond(*s.cond);
        (void)ct;
        pad();
        body_ << "if (" << c << ") {\n";
        ++indent_;
        for (auto& b : s.body) emit_stmt(*b);
        --indent_;
        if (!s.orelse.empty()) {
          pad();
          body_ << "} else {\n";
          ++indent_;
          for (auto& b : s.orelse) emit_stmt(*b);
          --indent_;
        }
        pad();
        body_ << "}\n";
        break;
      }
      case StmtKind::For: {
        line_comment(s.line);
        auto [start, a] = expr_int(s.start.get(), 0, s.line);
        auto [stop, b] = expr_int(s.stop.get(), -1, s.line);
        auto [step, c] = expr_int(s.step.get(), 1, s.line);
        (void)a; (void)b; (void)c;
        std::string v = cname(s.var);
        auto cs = s.step ? const_int(s.step.get()) : std::optional<int64_t>(1);
        bool const_step = cs.has_value();
        int64_t sv = cs ? *cs : 1;
        if (const_step) step = std::to_string(sv);
        if (const_step && sv == 0) fail(s.line, "range() with a zero step raises ValueError");
        pad();
        body_ << "{\n";
        ++indent_;
        pad();
        body_ << "const ls_i64 ls_stop_" << s.var << " = " << stop;
        if (!const_step) body_ << ", ls_step_" << s.var << " = " << step;
        body_ << ";\n";
        if (!const_step) {
          pad();
          body_ << "if (ls_step_" << s.var << " == 0) ls_fail(ls_err, LS_ERR_VALUE);\n";
        }
        pad();
        std::string cmp = const_step ? (sv > 0 ? v + " < ls_stop_" + s.var : v + " > ls_stop_" + s.var)
                                     : "(ls_step_" + s.var + " > 0 ? " + v + " < ls_stop_" + s.var + " : " + v +
                                           " > ls_stop_" + s.var + ")";
        std::string inc = const_step ? (sv == 1 ? "++" + v : v + " += " + std::to_string(sv))
                                     : v + " += ls_step_" + s.var;
        body_ << "for (" << v << " = " << start << "; " << cmp << " && LS_CONTINUE(ls_err); " << inc << ") {\n";
        ++indent_;
        for (auto& b : s.body) emit_stmt(*b);
        --indent_;
        pad();
        body_ << "}\n";
        --indent_;
        pad();
        body_ << "}\n";
        break;
      }
    }
  }

  // Conversion on assignment: into an array element (NumPy casting) or a
  // scalar variable of the declared type.
  std::string convert(const std::string& v, Ty from, K to, int line) {
    if (from.k == to) return v;
    if (is_float(from.k) && !is_float(to) && to != K::Bool) {
      return "(" + std::string(ctype(to)) + ")ls_trunc_int(" + v + ", ls_err)";
    }
    (void)line;
    return "(" + std::string(ctype(to)) + ")(" + v + ")";
  }

  // -------------------------------------------------------- expressions --
  using R = std::pair<std::string, Ty>;

  std::pair<std::string, Ty> expr_int(const Expr* e, int64_t dflt, int line) {
    if (!e) {
      if (dflt == -1) fail(line, "range() has no stop");
      return {std::to_string(dflt), Ty{K::I64, false}};
    }
    auto r = expr(*e);
    if (is_float(r.second.k)) fail(line, "range() needs integers, not floats");
    return r;
  }

  R cond(const Expr& e) {
    bool saved = in_condition_;
    in_condition_ = true;
    auto r = expr(e);
    in_condition_ = saved;
    return {truth(r), Ty{K::Bool, false}};
  }

  static std::string truth(const R& r) {
    if (r.second.k == K::Bool) return r.first;
    return "(" + r.first + " != 0)";
  }

  std::string cast(const R& r, K to) {
    if (r.second.k == to) return r.first;
    return "(" + std::string(ctype(to)) + ")" + r.first;
  }

  R expr(const Expr& e, std::ostringstream* = nullptr, bool dry = false) {
    bool saved_dry = dry_;
    if (dry) dry_ = true;
    R r = expr_impl(e);
    dry_ = saved_dry;
    return r;
  }
  bool dry_ = false;

  R expr_impl(const Expr& e) {
    switch (e.kind) {
      case ExprKind::IntConst: {
        std::string s = std::to_string(e.ival);
        if (e.ival > 2147483647LL || e.ival < -2147483647LL) s += "LL";
        return {s, Ty{K::I64, false}};
      }
      case ExprKind::FloatConst: return {float_literal(e.fval), Ty{K::F64, false}};
      case ExprKind::BoolConst: return {e.ival ? "true" : "false", Ty{K::Bool, false}};
      case ExprKind::Name: {
        auto it = var_ty_.find(e.name);
        if (it == var_ty_.end()) {
          if (bound_.arrays.count(e.name)) fail(e.line, "the whole array " + e.name + " is used as a value");
          fail(e.line, "the name " + e.name + " is not a number the GPU version can read");
        }
        if (kb_ && !dry_ && !loop_vars_.count(e.name) && !assigned_.count(e.name))
          kb_->scalar_inputs.insert(e.name);
        if (kb_ && !dry_ && loop_vars_.count(e.name) &&
            std::find(host_vars_.begin(), host_vars_.end(), e.name) != host_vars_.end())
          kb_->scalar_inputs.insert(e.name);
        return {cname(e.name), it->second};
      }
      case ExprKind::Subscript: {
        K k = kind_of(array(e.name, e.line).dtype);
        return {subscript(e), Ty{k, true}};
      }
      case ExprKind::Unary: {
        R a = expr(*e.args.at(0));
        switch (e.un_op) {
          case UnOp::Not: return {"(!" + truth(a) + ")", Ty{K::Bool, a.second.np}};
          case UnOp::Neg:
          case UnOp::Pos: {
            Ty t = a.second;
            if (t.k == K::Bool) {
              if (t.np) fail(e.line, "arithmetic on NumPy booleans is not supported on the GPU");
              t.k = K::I64;
            }
            std::string v = cast(a, t.k);
            return {e.un_op == UnOp::Neg ? "(-" + v + ")" : v, t};
          }
        }
        break;
      }
      case ExprKind::Binary: return binary(e);
      case ExprKind::Compare: {
        std::string out;
        bool np = false;
        for (size_t i = 0; i < e.cmp_ops.size(); ++i) {
          R a = expr(*e.args.at(i));
          R b = expr(*e.args.at(i + 1));
          np = np || a.second.np || b.second.np;
          if (!out.empty()) out += " && ";
          out += "(" + a.first + " " + analysis::to_string(e.cmp_ops[i]) + " " + b.first + ")";
        }
        if (e.cmp_ops.size() > 1) out = "(" + out + ")";
        return {out, Ty{K::Bool, np}};
      }
      case ExprKind::Logical: {
        std::vector<R> parts;
        bool all_bool = true;
        for (auto& a : e.args) {
          parts.push_back(expr(*a));
          if (parts.back().second.k != K::Bool) all_bool = false;
        }
        if (!all_bool && !in_condition_)
          fail(e.line, "'and'/'or' on non-boolean values returns one of the operands; not supported on the GPU");
        std::string op = e.bool_op == analysis::BoolOp::And ? " && " : " || ";
        std::string out;
        for (auto& p : parts) out += (out.empty() ? "" : op) + truth(p);
        return {"(" + out + ")", Ty{K::Bool, false}};
      }
      case ExprKind::IfExp: {
        auto c = cond(*e.args.at(0));
        R a = expr(*e.args.at(1));
        R b = expr(*e.args.at(2));
        if (is_float(a.second.k) != is_float(b.second.k) || (a.second.k != b.second.k && is_float(a.second.k)))
          fail(e.line, "the two branches of a conditional expression have different types");
        Ty t = a.second.k == b.second.k ? a.second : Ty{K::I64, a.second.np && b.second.np};
        return {"(" + c.first + " ? " + cast(a, t.k) + " : " + cast(b, t.k) + ")", t};
      }
      case ExprKind::Call: return call(e);
    }
    fail(e.line, "this expression is not supported on the GPU");
  }

  std::string subscript(const Expr& e) {
    const ArrayBinding& ab = array(e.name, e.line);
    if (e.args.size() != ab.shape.size())
      fail(e.line, e.name + " has " + std::to_string(ab.shape.size()) + " dimensions but is indexed with " +
                       std::to_string(e.args.size()) + " subscripts");
    if (kb_ && !dry_) kb_->arrays.insert(e.name);
    std::string off;
    for (size_t d = 0; d < e.args.size(); ++d) {
      R ix = expr(*e.args[d]);
      if (is_float(ix.second.k)) fail(e.line, "an array index must be an integer");
      std::string term = "ls_ix(" + ix.first + ", ls_n" + std::to_string(d) + "_" + e.name + ", ls_err)";
      if (!unit_stride(ab, d)) term += " * ls_s" + std::to_string(d) + "_" + e.name;
      off += (off.empty() ? "" : " + ") + term;
    }
    return cname(e.name) + "[" + off + "]";
  }

  R binary(const Expr& e) {
    R a = expr(*e.args.at(0));
    R b = expr(*e.args.at(1));
    Ty ta = a.second, tb = b.second;
    if ((ta.np && ta.k == K::Bool) || (tb.np && tb.k == K::Bool))
      fail(e.line, "arithmetic on NumPy booleans is not supported on the GPU");
    bool py = !ta.np && !tb.np;
    auto lit_fix = [](R& r) {
      // An integer literal on its own side would be a 32-bit int in C.
      if (r.second.k != K::F64 && !r.first.empty() && (std::isdigit((unsigned char)r.first[0])))
        r.first = "(ls_i64)" + r.first;
    };
    switch (e.bin_op) {
      case BinOp::Add:
      case BinOp::Sub:
      case BinOp::Mul: {
        Ty t = arith(ta, tb);
        if (!is_float(t.k)) lit_fix(a);
        return {"(" + cast(a, t.k) + " " + std::string(analysis::to_string(e.bin_op)) + " " + cast(b, t.k) + ")", t};
      }
      case BinOp::Div: {
        Ty t;
        if (py) {
          t = Ty{K::F64, false};
        } else {
          K k = np_promote(ta.k, tb.k);
          t = Ty{k == K::F32 ? K::F32 : K::F64, true};
        }
        std::string x = cast(a, t.k), y = cast(b, t.k);
        if (py && !is_const_nonzero(*e.args[1]))
          return {"ls_fdiv_py(" + x + ", " + y + ", ls_err)", t};  // Python numbers: zero raises
        return {"(" + x + " / " + y + ")", t};
      }
      case BinOp::FloorDiv:
      case BinOp::Mod: {
        Ty t = arith(ta, tb);
        bool fdiv = e.bin_op == BinOp::FloorDiv;
        if (!is_float(t.k)) {
          std::string x = cast(a, K::I64), y = cast(b, K::I64);
          std::string fn = py ? (fdiv ? "ls_floordiv_py" : "ls_mod_py") : (fdiv ? "ls_floordiv_np" : "ls_mod_np");
          std::string call = fn + "(" + x + ", " + y + (fn.find("_py") != std::string::npos ? ", ls_err)" : ")");
          if (t.k != K::I64) call = "(" + std::string(ctype(t.k)) + ")" + call;
          return {call, t};
        }
        std::string x = cast(a, t.k), y = cast(b, t.k);
        if (py)
          return {std::string(fdiv ? "ls_ffloor_div_pyz(" : "ls_fmod_pyz(") + cast(a, K::F64) + ", " + cast(b, K::F64) +
                      ", ls_err)",
                  Ty{K::F64, t.np}};
        if (t.k == K::F32) return {std::string(fdiv ? "ls_ffloor_divf_np(" : "ls_fmodf_np(") + x + ", " + y + ")", t};
        return {std::string(fdiv ? "ls_ffloor_div_np(" : "ls_fmod_np(") + x + ", " + y + ")", t};
      }
      case BinOp::Pow: {
        Ty t = arith(ta, tb);
        if (!is_float(t.k)) {
          if (!tb.np && !(e.args[1]->kind == ExprKind::IntConst && e.args[1]->ival >= 0))
            fail(e.line, "an integer power with a Python exponent that may be negative gives a float in Python");
          if (e.args[1]->kind == ExprKind::IntConst && e.args[1]->ival == 2) {
            lit_fix(a);
            std::string x = cast(a, t.k);
            return {"(" + x + " * " + x + ")", t};
          }
          std::string call = "ls_ipow(" + cast(a, K::I64) + ", " + cast(b, K::I64) + ", ls_err)";
          if (t.k != K::I64) call = "(" + std::string(ctype(t.k)) + ")" + call;
          return {call, t};
        }
        std::string x = cast(a, t.k);
        // x ** 2: the correctly rounded square is x * x.
        if (e.args[1]->kind == ExprKind::IntConst && e.args[1]->ival == 2) return {"(" + x + " * " + x + ")", t};
        if (e.args[1]->kind == ExprKind::FloatConst && e.args[1]->fval == 2.0) return {"(" + x + " * " + x + ")", t};
        if (py) return {"ls_pow_py(" + cast(a, K::F64) + ", " + cast(b, K::F64) + ", ls_err)", t};
        if (t.k == K::F32) return {"powf(" + x + ", " + cast(b, t.k) + ")", t};
        return {"pow(" + x + ", " + cast(b, t.k) + ")", t};
      }
    }
    fail(e.line, "this operator is not supported on the GPU");
  }

  static std::optional<int64_t> const_int(const Expr* e) {
    if (!e) return std::nullopt;
    if (e->kind == ExprKind::IntConst) return e->ival;
    if (e->kind == ExprKind::Unary && e->un_op != UnOp::Not) {
      auto v = const_int(e->args.at(0).get());
      if (!v) return std::nullopt;
      return e->un_op == UnOp::Neg ? -*v : *v;
    }
    return std::nullopt;
  }

  static bool is_const_nonzero(const Expr& e) {
    return (e.kind == ExprKind::IntConst && e.ival != 0) || (e.kind == ExprKind::FloatConst && e.fval != 0.0);
  }

  R call(const Expr& e) {
    const std::string& fn = e.name;
    bool np_fn = fn.rfind("np.", 0) == 0;
    std::string base = np_fn ? fn.substr(3) : fn;
    std::vector<R> args;
    for (auto& a : e.args) args.push_back(expr(*a));
    auto need = [&](size_t n) {
      if (args.size() != n) fail(e.line, fn + "() takes " + std::to_string(n) + " argument(s) here");
    };
    static const std::map<std::string, std::string> np_names = {
        {"arcsin", "asin"}, {"arccos", "acos"}, {"arctan", "atan"}, {"arctan2", "atan2"}, {"power", "pow"}};
    if (np_fn && np_names.count(base)) base = np_names.at(base);
    static const std::set<std::string> unary_math = {"sqrt", "exp", "log", "sin", "cos", "tan", "asin", "acos",
                                                     "atan", "sinh", "cosh", "tanh", "log10", "log2", "asinh",
                                                     "acosh", "atanh", "expm1", "log1p", "erf", "erfc",
                                                     "gamma", "lgamma"};
    if (!np_fn && unary_math.count(base)) {
      // math.f: converts its argument to a Python float and raises on domain
      // and range errors; those cases run in Python.
      need(1);
      std::string x = cast(args[0], K::F64);
      std::string cfn = base == "gamma" ? "tgamma" : base;
      return {"ls_checked(" + cfn + "(" + x + "), " + x + ", ls_err)", Ty{K::F64, false}};
    }
    if (np_fn && unary_math.count(base)) {
      // NumPy ufuncs: no exceptions (nan or inf with a warning); float32 in,
      // float32 out. Only sqrt is correctly rounded everywhere in float32.
      need(1);
      K k = args[0].second.k == K::F32 ? K::F32 : K::F64;
      if (k == K::F32 && base != "sqrt")
        fail(e.line, fn + "() of a float32 value may round differently on the GPU than in NumPy");
      return {(k == K::F32 ? base + "f(" : base + "(") + cast(args[0], k) + ")", Ty{k, true}};
    }
    if (base == "fabs" || (np_fn && base == "abs" && is_float(args[0].second.k))) {
      need(1);
      K k = args[0].second.k == K::F32 && np_fn ? K::F32 : K::F64;
      return {std::string(k == K::F32 ? "fabsf(" : "fabs(") + cast(args[0], k) + ")", Ty{k, np_fn}};
    }
    if (base == "atan2" || base == "hypot" || base == "pow" || base == "fmod" || base == "copysign") {
      need(2);
      std::string x = cast(args[0], K::F64), y = cast(args[1], K::F64);
      if (np_fn) {
        if (args[0].second.k == K::F32 || args[1].second.k == K::F32)
          fail(e.line, fn + "() of a float32 value may round differently on the GPU than in NumPy");
        if (base == "pow" && !is_float(args[0].second.k) && !is_float(args[1].second.k))
          return {"ls_ipow(" + cast(args[0], K::I64) + ", " + cast(args[1], K::I64) + ", ls_err)", Ty{K::I64, true}};
        return {base + "(" + x + ", " + y + ")", Ty{K::F64, true}};
      }
      if (base == "pow") return {"ls_pow_py(" + x + ", " + y + ", ls_err)", Ty{K::F64, false}};
      return {"ls_checked2(" + base + "(" + x + ", " + y + "), " + x + ", " + y + ", ls_err)", Ty{K::F64, false}};
    }
    if (base == "abs") {
      need(1);
      Ty t = args[0].second;
      if (t.k == K::Bool) t.k = K::I64;
      if (is_float(t.k)) return {std::string(t.k == K::F32 ? "fabsf(" : "fabs(") + args[0].first + ")", t};
      std::string x = cast(args[0], t.k);
      return {"(" + x + " < 0 ? -" + x + " : " + x + ")", t};
    }
    if (base == "square") {
      need(1);
      Ty t = args[0].second;
      if (t.k == K::Bool) fail(e.line, "np.square() of a boolean is not supported on the GPU");
      t.np = true;
      std::string x = cast(args[0], t.k);
      return {"(" + x + " * " + x + ")", t};
    }
    if (base == "min" || base == "max" || base == "minimum" || base == "maximum") {
      bool npf = base == "minimum" || base == "maximum";
      bool is_min = base == "min" || base == "minimum";
      if (args.size() < 2 || (npf && args.size() != 2)) fail(e.line, fn + "() needs two values here");
      R acc = args[0];
      for (size_t i = 1; i < args.size(); ++i) {
        Ty ta = acc.second, tb = args[i].second;
        Ty t;
        if (npf) {
          t = Ty{np_promote(ta.k, tb.k), true};
        } else if (ta.k == tb.k) {
          t = Ty{ta.k, ta.np && tb.np};
        } else if (!is_float(ta.k) && !is_float(tb.k)) {
          t = Ty{K::I64, ta.np && tb.np};
        } else {
          fail(e.line, fn + "() of an integer and a float returns either type in Python");
        }
        if (npf && is_float(t.k))
          acc = {std::string(is_min ? "ls_np_fmin(" : "ls_np_fmax(") + cast(acc, K::F64) + ", " + cast(args[i], K::F64) + ")", t};
        else
          acc = {std::string(is_min ? "LS_MIN2(" : "LS_MAX2(") + cast(acc, t.k) + ", " + cast(args[i], t.k) + ")", t};
        if (npf && t.k == K::F32) acc.first = "(float)" + acc.first;
      }
      return acc;
    }
    if (base == "float" || base == "float64") {
      need(1);
      return {cast(args[0], K::F64), Ty{K::F64, np_fn}};
    }
    if (base == "float32") {
      need(1);
      return {cast(args[0], K::F32), Ty{K::F32, true}};
    }
    if (base == "int" || base == "int64" || base == "int32") {
      need(1);
      K k = base == "int32" ? K::I32 : K::I64;
      std::string v = is_float(args[0].second.k) ? "ls_trunc_int(" + cast(args[0], K::F64) + ", ls_err)" : cast(args[0], K::I64);
      if (k == K::I32) v = "(int)" + v;
      return {v, Ty{k, np_fn}};
    }
    if (base == "round") {
      if (args.size() != 1) fail(e.line, "round() with digits is not supported on the GPU");
      if (!is_float(args[0].second.k)) return {cast(args[0], K::I64), Ty{K::I64, false}};
      // Python rounds halves to even, like rint in the default rounding mode.
      return {"ls_trunc_int(rint(" + cast(args[0], K::F64) + "), ls_err)", Ty{K::I64, false}};
    }
    if (base == "floor" || base == "ceil" || base == "trunc") {
      need(1);
      if (np_fn) {
        K k = args[0].second.k == K::F32 ? K::F32 : K::F64;
        if (!is_float(args[0].second.k)) k = K::F64;
        return {(k == K::F32 ? base + "f(" : base + "(") + cast(args[0], k) + ")", Ty{k, true}};
      }
      // math.floor and friends return a Python int.
      if (!is_float(args[0].second.k)) return {cast(args[0], K::I64), Ty{K::I64, false}};
      return {"ls_trunc_int(" + base + "(" + cast(args[0], K::F64) + "), ls_err)", Ty{K::I64, false}};
    }
    if (base == "sign" && np_fn) {
      need(1);
      Ty t = args[0].second;
      t.np = true;
      if (is_float(t.k)) {
        std::string x = cast(args[0], K::F64);
        return {"(" + std::string(ctype(t.k)) + ")((" + x + ") > 0 ? 1.0 : (" + x + ") < 0 ? -1.0 : (" + x + ") == 0 ? 0.0 : (" + x + "))", t};
      }
      std::string x = cast(args[0], K::I64);
      return {"(" + std::string(ctype(t.k)) + ")((" + x + ") > 0 ? 1 : (" + x + ") < 0 ? -1 : 0)", t};
    }
    fail(e.line, "the function " + fn + "() has no GPU version");
  }

  // ------------------------------------------------------------ finish --
  void finish() {
    std::ostringstream head;
    head << "// CUDA generated by Loopscope for the loop nest at line " << bound_.nest->first_line << ".\n"
         << "// Python semantics kept: // and % round like Python, negative indices wrap,\n"
         << "// out-of-range indices and division by zero stop the run so Python raises them.\n"
         << "// Compile without fast math and with -fmad=false: results match CPython bit for bit\n"
         << "// (reductions excepted: the order of their additions changes).\n"
         << "#include \"" << kCudaHelperHeaderName << "\"\n";
    prog_.source = head.str() + prog_.source;
    // Arrays moved to and from the device.
    for (auto& k : prog_.kernels)
      for (auto& p : k.params)
        if (p.kind == CudaParamKind::ArrayData) {
          if (std::find(prog_.arrays_read.begin(), prog_.arrays_read.end(), p.array) == prog_.arrays_read.end() &&
              read_arrays_.count(p.array))
            prog_.arrays_read.push_back(p.array);
          if (std::find(prog_.arrays_written.begin(), prog_.arrays_written.end(), p.array) ==
                  prog_.arrays_written.end() &&
              written_arrays_.count(p.array))
            prog_.arrays_written.push_back(p.array);
        }
    bool any_red = false;
    for (auto& r : prog_.results)
      if (r.kind == CudaResultKind::Reduction && r.is_float && r.op == "+") any_red = true;
    if (any_red)
      prog_.notes.push_back(
          "Floating-point reductions add their terms in a different order on the GPU (warp shuffles, then "
          "atomic adds), so their results may differ from Python's in the last bits.");
  }
};

}  // namespace

CudaProgram generate_cuda(const BoundNest& bound, const ParallelPlan& plan) {
  Generator g(bound, plan);
  return g.run();
}

// ------------------------------------------------------------ host eval ----
std::optional<int64_t> eval_host_int(const Expr& e, const BoundNest& bound, const std::map<std::string, int64_t>& env) {
  switch (e.kind) {
    case ExprKind::IntConst:
    case ExprKind::BoolConst: return e.ival;
    case ExprKind::Name: {
      auto it = env.find(e.name);
      if (it != env.end()) return it->second;
      auto s = bound.scalars.find(e.name);
      if (s != bound.scalars.end() && s->second.kind != ScalarKind::Float) return s->second.ival;
      return std::nullopt;
    }
    case ExprKind::Unary: {
      auto a = eval_host_int(*e.args.at(0), bound, env);
      if (!a) return std::nullopt;
      if (e.un_op == UnOp::Neg) return -*a;
      if (e.un_op == UnOp::Pos) return *a;
      return std::nullopt;
    }
    case ExprKind::Binary: {
      auto a = eval_host_int(*e.args.at(0), bound, env);
      auto b = eval_host_int(*e.args.at(1), bound, env);
      if (!a || !b) return std::nullopt;
      int64_t r = 0;
      switch (e.bin_op) {
        case BinOp::Add:
          if (__builtin_add_overflow(*a, *b, &r)) return std::nullopt;
          return r;
        case BinOp::Sub:
          if (__builtin_sub_overflow(*a, *b, &r)) return std::nullopt;
          return r;
        case BinOp::Mul:
          if (__builtin_mul_overflow(*a, *b, &r)) return std::nullopt;
          return r;
        case BinOp::FloorDiv: {
          if (*b == 0 || (*b == -1 && *a == INT64_MIN)) return std::nullopt;
          int64_t q = *a / *b;
          if ((*a % *b != 0) && ((*a < 0) != (*b < 0))) q -= 1;
          return q;
        }
        case BinOp::Mod: {
          if (*b == 0 || *b == -1) return *b == -1 ? std::optional<int64_t>(0) : std::nullopt;
          int64_t m = *a % *b;
          if (m != 0 && ((m < 0) != (*b < 0))) m += *b;
          return m;
        }
        case BinOp::Pow: {
          if (*b < 0 || *b > 62) return std::nullopt;
          int64_t p = 1;
          for (int64_t i = 0; i < *b; ++i)
            if (__builtin_mul_overflow(p, *a, &p)) return std::nullopt;
          return p;
        }
        default: return std::nullopt;
      }
    }
    case ExprKind::Call: {
      std::string base = e.name.substr(e.name.rfind('.') == std::string::npos ? 0 : e.name.rfind('.') + 1);
      if ((base == "min" || base == "max") && e.args.size() >= 2) {
        std::optional<int64_t> acc;
        for (auto& a : e.args) {
          auto v = eval_host_int(*a, bound, env);
          if (!v) return std::nullopt;
          if (!acc || (base == "min" ? *v < *acc : *v > *acc)) acc = v;
        }
        return acc;
      }
      if ((base == "int" || base == "abs") && e.args.size() == 1) {
        auto v = eval_host_int(*e.args[0], bound, env);
        if (!v) return std::nullopt;
        return base == "abs" ? (*v < 0 ? -*v : *v) : *v;
      }
      if (base == "len" && e.args.size() == 1 && e.args[0]->kind == ExprKind::Name) {
        auto it = bound.arrays.find(e.args[0]->name);
        if (it != bound.arrays.end() && !it->second.shape.empty()) return it->second.shape[0];
      }
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

// ---------------------------------------------------- loop variable finals --
LoopFinals loop_variable_finals(const BoundNest& bound) {
  LoopFinals out;
  if (!bound.nest || !bound.nest->root) return out;
  std::set<std::string> wanted;
  bool under_if = false;
  std::function<void(const Stmt&, bool)> collect = [&](const Stmt& s, bool cond) {
    if (s.kind == StmtKind::For) {
      wanted.insert(s.var);
      if (cond) under_if = true;
    }
    for (auto& c : s.body) collect(*c, cond || s.kind == StmtKind::If);
    for (auto& c : s.orelse) collect(*c, true);
  };
  collect(*bound.nest->root, false);
  if (under_if) {
    out.decline = Decline{bound.nest->root->line, "a loop inside an 'if' leaves its variable depending on data"};
    return out;
  }
  // Walk the nest backwards in execution order; the first assignment met is
  // the last one Python makes.
  int64_t budget = 1 << 20;
  bool failed = false;
  std::map<std::string, int64_t> env;
  std::function<void(const std::vector<analysis::StmtPtr>&)> rev;
  auto rev_loop = [&](const Stmt& s) {
    auto a = s.start ? eval_host_int(*s.start, bound, env) : std::optional<int64_t>(0);
    auto b = s.stop ? eval_host_int(*s.stop, bound, env) : std::nullopt;
    auto c = s.step ? eval_host_int(*s.step, bound, env) : std::optional<int64_t>(1);
    if (!a || !b || !c || *c == 0) {
      failed = true;
      return;
    }
    int64_t n = range_count(*a, *b, *c);
    bool has_inner = false;
    walk_stmts(s.body, [&](const Stmt& x) {
      if (x.kind == StmtKind::For) has_inner = true;
    });
    for (int64_t k = n - 1; k >= 0 && !failed; --k) {
      if (--budget < 0) {
        failed = true;
        return;
      }
      int64_t v = *a + k * *c;
      auto saved = env.find(s.var) != env.end() ? std::optional<int64_t>(env[s.var]) : std::nullopt;
      env[s.var] = v;
      if (has_inner) rev(s.body);
      if (!out.values.count(s.var)) out.values[s.var] = v;
      if (saved) env[s.var] = *saved; else env.erase(s.var);
      bool done = true;
      for (auto& w : wanted)
        if (!out.values.count(w)) done = false;
      if (done || !has_inner) break;
    }
  };
  rev = [&](const std::vector<analysis::StmtPtr>& body) {
    for (auto it = body.rbegin(); it != body.rend() && !failed; ++it)
      if ((*it)->kind == StmtKind::For) rev_loop(**it);
  };
  rev_loop(*bound.nest->root);
  if (failed)
    out.decline = Decline{bound.nest->root->line,
                          "the loop bounds depend on values only known while the loop runs"};
  return out;
}

}  // namespace loopscope::jit
