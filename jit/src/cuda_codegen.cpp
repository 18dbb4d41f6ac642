// CUDA source generation: parallel regions of a bound nest become kernels,
// the sequential loops around them become host loops of launches.
//
// Exactness: the CPU variant's specialiser types every scalar and declines
// what native code cannot run exactly (with its own reason, so the user reads
// the same sentence for every device); expressions and statements are then
// translated with the CPU variant's rules, operation for operation (the same
// promotions, the same conversions, the same run-time traps, see
// analysis/exactness.hpp), into CUDA C that calls the helpers of
// share/cuda/loopscope_cuda.h.
#include "loopscope/jit/cuda_codegen.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "cpu_spec.hpp"
#include "cpu_types.hpp"
#include "loopscope/analysis/exactness.hpp"
#include "loopscope/analysis/int_eval.hpp"
#include "loopscope/analysis/int_math.hpp"
#include "loopscope/share_dir.hpp"

namespace loopscope::jit {

using analysis::ArrayBinding;
using analysis::BinOp;
using analysis::BoundNest;
using analysis::CmpOp;
using analysis::Decline;
using analysis::DType;
using analysis::eval_int;
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

std::string cuda_share_dir() { return loopscope::share_dir() + "/cuda"; }

const char* const kCudaSharedHeaderName = "loopscope_math_shared.h";

namespace {
std::string read_share_cuda(const char* name) {
  std::ifstream in(cuda_share_dir() + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

std::string cuda_helper_header() { return read_share_cuda(kCudaHelperHeaderName); }
std::string cuda_shared_header() { return read_share_cuda(kCudaSharedHeaderName); }

int64_t range_count(int64_t start, int64_t stop, int64_t step) { return analysis::range_trip_count(start, stop, step); }

// ------------------------------------------------------------ escaping ----
namespace {
// Decodes one UTF-8 code point at s[i] (advancing i); invalid bytes give
// U+FFFD.
uint32_t next_code_point(const std::string& s, size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k < len; ++k) {
    unsigned char d = static_cast<unsigned char>(s[i + k]);
    if ((d >> 6) != 2) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (d & 0x3F);
  }
  i += len;
  return cp;
}
}  // namespace

std::string cuda_escape(const std::string& text, CudaTextUse use) {
  std::string out;
  char buf[16];
  if (use == CudaTextUse::Identifier) {
    bool pending_sep = false;  // a '_' standing for punctuation, written only before more text
    for (size_t i = 0; i < text.size();) {
      uint32_t cp = next_code_point(text, i);
      if (cp < 0x80 && (std::isalnum(static_cast<int>(cp)) || cp == '_')) {
        if (pending_sep) out += '_';
        pending_sep = false;
        out += static_cast<char>(cp);
      } else if (cp < 0x80) {
        pending_sep = !out.empty();
      } else {
        if (pending_sep) out += '_';
        pending_sep = false;
        std::snprintf(buf, sizeof buf, "u%04X", static_cast<unsigned>(cp));
        out += buf;
      }
    }
    return out;
  }
  // A comment: one line of printable ASCII that cannot end the comment, open
  // another, splice the next line (a trailing backslash) or form a trigraph.
  auto put = [&](char c) {
    char prev = out.empty() ? '\0' : out.back();
    if ((prev == '*' && c == '/') || (prev == '/' && c == '*') || (prev == '?' && c == '?')) out += ' ';
    out += c;
  };
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = next_code_point(text, i);
    if (cp >= 0x20 && cp < 0x7F) {
      put(static_cast<char>(cp));
    } else if (cp < 0x80) {
      put(' ');  // tabs, newlines, carriage returns and other controls
    } else {
      std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
      for (const char* p = buf; *p; ++p) put(*p);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (!out.empty() && out.back() == '\\') out += " (continued)";
  return out;
}

namespace {

using cpu::kPyBool;
using cpu::kPyFloat;
using cpu::kPyInt;
using cpu::Repr;
using cpu::VT;

// A problem the generator reports as a decline. `shared`: the reason comes
// from the exactness policy shared with the CPU variant and is given as it is.
struct GenError {
  analysis::Decline decline;
  bool shared = false;
};

// A case the generator does not handle: code Internal for "internal: ..."
// reasons, else UnsupportedOperation unless a code is given.
[[noreturn]] void fail(analysis::DeclineCode code, int line, const std::string& why) {
  throw GenError{Decline{code, line, why}, false};
}
[[noreturn]] void fail(int line, const std::string& why) {
  fail(why.rfind("internal:", 0) == 0 ? analysis::DeclineCode::Internal : analysis::DeclineCode::UnsupportedOperation,
       line, why);
}

bool isf(Repr r) { return cpu::is_float(r); }
bool isi(Repr r) { return cpu::is_int(r); }

const char* ctype(Repr r) {
  switch (r) {
    case Repr::I64: return "ls_i64";
    case Repr::I32: return "int";
    case Repr::F64: return "double";
    case Repr::F32: return "float";
    case Repr::Bool: return "bool";
    case Repr::C128:
    case Repr::C64: break;  // complex numbers run on the CPU only (specialise)
  }
  return "?";
}

CudaRepr crepr(Repr r) {
  switch (r) {
    case Repr::I64: return CudaRepr::I64;
    case Repr::I32: return CudaRepr::I32;
    case Repr::F64: return CudaRepr::F64;
    case Repr::F32: return CudaRepr::F32;
    case Repr::Bool: return CudaRepr::Bool;
    case Repr::C128:
    case Repr::C64: break;  // complex numbers run on the CPU only (specialise)
  }
  return CudaRepr::F64;
}

using cpu::small_of;  // the NumPy type of a small integer element (its bits for uint64: ls_u64_add ...)

// The values a small integer element holds (UInt64: the non-negative int64s).
std::pair<int64_t, int64_t> small_store_range(DType t) {
  if (t == DType::UInt64) return {0, INT64_MAX};
  return cpu::small_range(small_of(t));
}

Repr dtype_repr(DType t) {
  switch (t) {
    case DType::Float64: return Repr::F64;
    case DType::Float32: return Repr::F32;
    case DType::Int64: return Repr::I64;
    case DType::Int32: return Repr::I32;
    case DType::Bool: return Repr::Bool;
    case DType::UInt8:
    case DType::Int8:
    case DType::UInt16:
    case DType::Int16:
    case DType::UInt32:
    case DType::UInt64: return Repr::I64;  // read as an int64 (array_ctype, small_of)
    case DType::Complex128: return Repr::C128;
    case DType::Complex64: return Repr::C64;
    case DType::Float16: return Repr::F32;  // held as a float (ls_h2f)
  }
  return Repr::F64;
}

// The C type of an array's elements.
std::string array_ctype(DType t) {
  switch (t) {
    case DType::UInt8: return "unsigned char";
    case DType::Int8: return "signed char";
    case DType::UInt16: return "unsigned short";
    case DType::Int16: return "short";
    case DType::UInt32: return "unsigned int";
    case DType::UInt64: return "unsigned long long";
    case DType::Float16: return "unsigned short";  // its bits (ls_h2f, ls_f2h)
    default: return ctype(dtype_repr(t));
  }
}

// Names of C++, CUDA and the C library that a user's name must not take.
const std::set<std::string>& cpp_reserved() {
  static const std::set<std::string> r = {
      // C++17 keywords and alternative tokens
      "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch", "char",
      "char16_t", "char32_t", "char8_t", "class", "compl", "concept", "const", "consteval", "constexpr", "constinit",
      "const_cast", "continue", "co_await", "co_return", "co_yield", "decltype", "default", "delete", "do", "double",
      "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false", "float", "for", "friend", "goto", "if",
      "inline", "int", "long", "mutable", "namespace", "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or",
      "or_eq", "private", "protected", "public", "register", "reinterpret_cast", "requires", "return", "short",
      "signed", "sizeof", "static", "static_assert", "static_cast", "struct", "switch", "template", "this",
      "thread_local", "throw", "true", "try", "typedef", "typeid", "typename", "union", "unsigned", "using", "virtual",
      "void", "volatile", "wchar_t", "while", "xor", "xor_eq", "final", "override", "main", "std", "NULL", "errno",
      "assert", "offsetof", "EOF",
      // CUDA built-ins and types
      "threadIdx", "blockIdx", "blockDim", "gridDim", "warpSize", "dim3", "uint3", "int2", "int3", "int4", "float2",
      "float3", "float4", "double2", "double3", "double4", "uint", "ushort", "ulong", "atomicAdd", "atomicCAS",
      "atomicOr", "atomicMin", "atomicMax", "printf", "malloc", "free", "memcpy", "memset", "clock", "clock64",
      "INFINITY", "NAN", "HUGE_VAL", "min", "max", "abs", "labs", "llabs", "llmin", "llmax", "signbit", "isnan",
      "isinf", "isfinite", "isnormal", "fpclassify",
      // math functions the generated code and the headers call
      "fabs", "fabsf", "sqrt", "sqrtf", "cbrt", "exp", "expf", "exp2", "exp10", "expm1", "log", "logf", "log2", "log10",
      "log1p", "sin", "sinf", "cos", "cosf", "tan", "tanf", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh",
      "asinh", "acosh", "atanh", "erf", "erfc", "tgamma", "lgamma", "pow", "powf", "floor", "floorf", "ceil", "ceilf",
      "trunc", "truncf", "round", "roundf", "rint", "rintf", "nearbyint", "fmod", "fmodf", "remainder", "copysign",
      "copysignf", "hypot", "fmin", "fmax", "fma", "frexp", "ldexp", "modf", "nan", "scalbn", "ilogb", "logb",
      "nextafter"};
  return r;
}

std::string float_literal(double v) {
  if (!std::isfinite(v)) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    char b[48];
    std::snprintf(b, sizeof b, "ls_f64_bits(0x%016llxULL)", static_cast<unsigned long long>(bits));
    return b;
  }
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
  if (s[0] == '-') s = "(" + s + ")";
  return s;
}

std::string int_literal(int64_t v) {
  if (v == INT64_MIN) return "LS_I64_MIN";
  std::string s = std::to_string(v) + "LL";
  return v < 0 ? "(" + s + ")" : s;
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

bool is_scalar_assign(const Stmt& s) {
  return (s.kind == StmtKind::Assign || s.kind == StmtKind::AugAssign) && s.target && s.target->kind == ExprKind::Name;
}

// A value of the generated code: its C expression, its static type, and
// (when the type is "Python or NumPy scalar") a C bool telling which.
struct V {
  std::string c;
  VT t;
  std::string npf;
};

// ------------------------------------------------------------ generator ----
// A scalar of the kernel being generated.
struct KVar {
  enum Role { Sequential, Private, Reduction };
  Role role = Sequential;
  VT t;
  bool input = false;  // has a value before the nest
  bool loop = false;   // the variable of a loop inside the kernel
  int result = -1;     // index into CudaProgram::results
};

struct KernelBuild {
  CudaKernel k;
  std::set<std::string> arrays;         // arrays referenced
  std::set<std::string> scalar_inputs;  // scalars read from the enclosing scope / host
  std::map<std::string, KVar> vars;     // scalars and loop variables the kernel assigns
  std::set<std::string> grid_vars;
  bool sequential = false;
  bool needs_last = false;    // LastValue results: the host passes the last iteration's grid point
  bool needs_launch = false;  // LastAssigned results: the host numbers the launches
};

// One reduction handled by a grid kernel.
struct RedInfo {
  std::string fn;  // "+", "min", "max"
  bool acc_first = true;
  VT value;  // type of the terms (min/max) or of the updated sum (+)
};

class Generator {
 public:
  Generator(const BoundNest& b, const ParallelPlan& p, const CudaOptions& o) : bound_(b), plan_(p), opts_(o) {}

  CudaProgram run() {
    CudaProgram prog;
    int line = bound_.nest && bound_.nest->root ? bound_.nest->root->line : 0;
    try {
      if (!bound_.nest || !bound_.nest->root)
        fail(analysis::DeclineCode::Internal, 0, "there is no loop nest to translate");
      if (plan_.decline) throw GenError{*plan_.decline, true};
      specialise();
      prepare();
      build_schedule();
      finish();
      prog = std::move(prog_);
    } catch (const GenError& e) {
      prog = CudaProgram{};
      prog.decline = e.decline;
      if (!e.shared) prog.decline->reason = "no GPU version: " + e.decline.reason;
    } catch (const cpu::Unsupported& u) {
      // The exactness policy shared with the CPU variant: the same reason.
      prog = CudaProgram{};
      prog.decline = u.decline();
    } catch (const std::exception& e) {
      prog = CudaProgram{};
      prog.decline = Decline{analysis::DeclineCode::Internal, line,
                             "no GPU version: the GPU code generator met a case it does not handle "
                             "(an internal error), so the loop runs as Python",
                             e.what()};
    }
    return prog;
  }

 private:
  const BoundNest& bound_;
  const ParallelPlan& plan_;
  const CudaOptions& opts_;
  cpu::Spec spec_;
  CudaProgram prog_;
  std::map<int, const LoopPlan*> loop_plan_;
  std::map<std::string, std::string> ident_;  // Python name -> C identifier
  std::set<std::string> loop_vars_;           // every loop variable of the nest
  std::set<std::string> assigned_;            // scalars assigned in the nest (not loop variables)
  std::map<std::string, std::string> place_;  // name -> "host" or the kernel that assigns it
  std::vector<std::string> src_lines_;
  std::set<std::string> written_arrays_, read_arrays_;
  std::set<std::string> aliased_;        // arrays overlapping another array's memory
  std::vector<std::string> host_vars_;   // enclosing host loop variables (stack)
  KernelBuild* kb_ = nullptr;            // kernel being emitted
  std::map<std::string, RedInfo> reds_;  // reductions of the kernel being emitted
  std::set<std::string> active_loops_;   // loop variables whose loop encloses the point
  // Scalars certainly assigned (in this iteration, for a grid kernel) at the
  // point being emitted: their reads need no run-time check.
  std::set<std::string> defined_;
  std::ostringstream body_;  // kernel body being emitted
  int indent_ = 1;
  bool dry_ = false;        // typing only: record nothing
  bool uses_libm_ = false;  // transcendental functions (CUDA's last bits differ)

  // -------------------------------------------------------- preparation --
  void specialise() {
    CpuOptions o;
    o.parallel = true;
    o.numpy_scalars = opts_.numpy_scalars;
    spec_ = cpu::specialise(bound_, plan_, o);  // throws cpu::Unsupported: the CPU variant's reason
    decline_complex();
    // Small integer elements (VT::small) are read and stored as the CPU
    // variant does; a user's variable that holds one (written back as
    // np.uint8 ...) stays on the CPU.
    for (auto& v : spec_.vars)
      if (v.type.small != cpu::Small::None && !analysis::is_hidden_name(v.name))
        fail(analysis::DeclineCode::Typing, bound_.nest->first_line,
             analysis::quoted_name(bound_.nest, v.name) + " holds an " + cpu::describe(v.type) +
                 ", which the GPU variant does not write back yet (the CPU variant does)");
    // The kernel's parameters and results take the type a scalar has before
    // the loop; one that changes from int to float stays on the CPU.
    for (auto& v : spec_.vars)
      if (v.int_or_small)
        fail(analysis::DeclineCode::Typing, bound_.nest->first_line,
             analysis::quoted_name(bound_.nest, v.name) + " holds an int and then an " + cpu::small_name(v.small_kind) +
                 ", which the GPU variant does not write back yet (the CPU variant does)");
    for (auto& v : spec_.vars)
      if (v.int_then_float)
        fail(analysis::DeclineCode::Typing, bound_.nest->first_line,
             analysis::quoted_name(bound_.nest, v.name) +
                 " holds an int and then a float, which the GPU variant does not follow yet (the CPU "
                 "variant does)");
  }

  // Complex numbers (a complex variable or array, the literal 2j, complex(),
  // z.real, z.imag, z.conjugate()) run on the CPU only.
  void decline_complex() {
    auto fail_complex = [&](int line, const std::string& what) {
      fail(analysis::DeclineCode::UnsupportedOperation, line,
           what + " is a complex number; complex numbers run on the CPU only (the GPU variant has no complex type)");
    };
    for (auto& a : spec_.arrays)
      if (analysis::is_complex(a.dtype)) fail_complex(bound_.nest->first_line, "an element of '" + a.name + "'");
    for (auto& v : spec_.vars)
      if (cpu::is_complex(v.type.r)) fail_complex(bound_.nest->first_line, analysis::quoted_name(bound_.nest, v.name));
    std::function<void(const Expr&)> walk = [&](const Expr& e) {
      if (e.kind == ExprKind::Call && (e.name == "complex.literal" || e.name == "complex" || e.name == ".real" ||
                                       e.name == ".imag" || e.name == ".conjugate"))
        fail_complex(e.line, e.name == "complex.literal"
                                 ? "an imaginary literal"
                                 : "the value of " + e.name.substr(e.name[0] == '.' ? 1 : 0) + "()");
      for (auto& a : e.args)
        if (a) walk(*a);
    };
    std::function<void(const Stmt&)> walk_stmt = [&](const Stmt& s) {
      for (const analysis::ExprPtr* x : {&s.target, &s.value, &s.cond, &s.start, &s.stop, &s.step})
        if (*x) walk(**x);
      for (auto& b : s.body) walk_stmt(*b);
      for (auto& b : s.orelse) walk_stmt(*b);
    };
    walk_stmt(*bound_.nest->root);
  }

  const LoopPlan& lplan(const Stmt& loop) {
    auto it = loop_plan_.find(loop.id);
    if (it == loop_plan_.end())
      fail(analysis::DeclineCode::Internal, loop.line, "the plan has no entry for the loop over " + loop.var);
    return *it->second;
  }

  const cpu::VarInfo* var_info(const std::string& name) const {
    auto it = spec_.var_index.find(name);
    return it == spec_.var_index.end() ? nullptr : &spec_.vars[it->second];
  }

  VT var_type(const std::string& name, int line) const {
    const cpu::VarInfo* v = var_info(name);
    if (!v)
      fail(analysis::DeclineCode::UnsupportedValue, line,
           "the name " + name + " is not a number the GPU version can read");
    return v->type;
  }

  const std::string& id(const std::string& py) {
    auto it = ident_.find(py);
    if (it == ident_.end()) fail(0, "internal: no C name for " + py);
    return it->second;
  }

  void name_all() {
    std::set<std::string> names;
    for (auto& v : spec_.vars) names.insert(v.name);
    for (auto& [a, _] : bound_.arrays) names.insert(a);
    std::set<std::string> used;
    for (auto& n : names) {
      std::string base = cuda_escape(n, CudaTextUse::Identifier);
      if (base.empty() || std::isdigit(static_cast<unsigned char>(base[0]))) base = "v_" + base;
      if (cpp_reserved().count(base) || base.rfind("ls_", 0) == 0 || base.rfind("LS_", 0) == 0 ||
          base.rfind("_", 0) == 0 || base.rfind("loopscope", 0) == 0 || base.rfind("py_", 0) == 0)
        base = "py_" + base;
      std::string cand = base;
      for (int k = 2; used.count(cand); ++k) cand = base + "_" + std::to_string(k);
      used.insert(cand);
      ident_[n] = cand;
    }
  }

  void prepare() {
    for (auto& lp : plan_.loops) loop_plan_[lp.loop] = &lp;
    std::istringstream ss(bound_.nest->source);
    for (std::string l; std::getline(ss, l);) src_lines_.push_back(l);
    name_all();
    const Stmt& root = *bound_.nest->root;
    walk_tree(root, [&](const Stmt& s) {
      if (s.kind == StmtKind::For) loop_vars_.insert(s.var);
      if (is_scalar_assign(s)) assigned_.insert(s.target->name);
    });
    for (auto& [name, a] : bound_.arrays) {
      int sz = analysis::dtype_size(a.dtype);
      for (auto st : a.strides)
        if (st % sz != 0)
          fail(analysis::DeclineCode::UnsupportedValue, 0,
               "array " + name + " has strides that are not a multiple of its item size");
    }
    walk_tree(root, [&](const Stmt& s) {
      if ((s.kind == StmtKind::Assign || s.kind == StmtKind::AugAssign) && s.target &&
          s.target->kind == ExprKind::Subscript)
        written_arrays_.insert(s.target->name);
      stmt_exprs(s, [&](const Expr& e) {
        if (e.kind == ExprKind::Subscript) read_arrays_.insert(e.name);
      });
    });
    // Arrays that share memory keep sharing it on the device (one buffer per
    // region); their pointers then must not be declared __restrict__.
    for (auto& [x, ax] : bound_.arrays)
      for (auto& [y, ay] : bound_.arrays)
        if (x != y && ax.mem_lo < ay.mem_hi && ay.mem_lo < ax.mem_hi) aliased_.insert(x);
  }

  const ArrayBinding& array(const std::string& name, int line) {
    auto it = bound_.arrays.find(name);
    if (it == bound_.arrays.end())
      fail(analysis::DeclineCode::UnsupportedValue, line, name + " is not a NumPy array of a supported type");
    return it->second;
  }

  int64_t step_of(const Stmt& loop) {
    auto it = spec_.steps.find(loop.id);
    if (it == spec_.steps.end())
      fail(loop.line, "the step of the loop over " + loop.var +
                          " changes from one iteration of the loops around it to the next, which the generated CUDA "
                          "does not support");
    return it->second;
  }

  // The statements of `loop` that update reduction variable `var`.
  std::vector<const Stmt*> reduction_stmts(const Stmt& loop, const std::string& var) {
    std::vector<const Stmt*> out;
    walk_stmts(loop.body, [&](const Stmt& s) {
      if (is_scalar_assign(s) && s.target->name == var) out.push_back(&s);
    });
    return out;
  }

  // Whether the GPU combines the reductions of `loop` across threads exactly
  // (or, for floating-point sums, up to the order of the additions); fills
  // `out` with how.
  bool supported_reduction_loop(const Stmt& loop, std::map<std::string, RedInfo>* out = nullptr) {
    const LoopPlan& lp = lplan(loop);
    if (lp.verdict != LoopVerdict::Reduction || lp.reductions.empty()) return false;
    std::map<std::string, RedInfo> infos;
    for (auto& r : lp.reductions) {
      if (bound_.arrays.count(r.variable)) return false;  // array reductions stay sequential
      auto sc = bound_.scalars.find(r.variable);
      const cpu::VarInfo* vi = var_info(r.variable);
      if (sc == bound_.scalars.end() || !vi || !vi->input) return false;  // no value before the loop
      std::string fn = r.fn.empty() ? (r.op == BinOp::Add ? "+" : "") : r.fn;
      if (fn != "+" && fn != "min" && fn != "max") return false;
      Repr R = vi->type.r;
      if (R == Repr::Bool) return false;
      RedInfo info;
      info.fn = fn;
      bool first = true;
      for (const Stmt* s : reduction_stmts(loop, r.variable)) {
        VT t;
        bool acc_first = true;
        if (fn == "+") {
          // s += e, s = s + e, s = e + s: the type of the updated sum.
          if (s->kind == StmtKind::AugAssign) {
            if (s->aug_op != BinOp::Add) return false;
            t = cpu::binary_type(BinOp::Add, vi->type, type_of(*s->value), s->line);
          } else if (s->value->kind == ExprKind::Binary && s->value->bin_op == BinOp::Add) {
            t = cpu::binary_type(BinOp::Add, type_of(*s->value->args[0]), type_of(*s->value->args[1]), s->line);
          } else {
            return false;
          }
          if (t.r != R) return false;
          // An np.int64 sum warns where Python's running sum overflows,
          // which the threads' partial sums do not tell.
          if (cpu::is_int(R) && (t.np || vi->type.np)) return false;
        } else {
          const Expr& v = *s->value;
          if (s->kind != StmtKind::Assign || v.kind != ExprKind::Call || v.name != fn || v.args.size() != 2)
            return false;
          auto is_acc = [&](const Expr& a) { return a.kind == ExprKind::Name && a.name == r.variable; };
          if (is_acc(*v.args[0]) && !contains_name(v.args[1].get(), r.variable))
            acc_first = true;
          else if (is_acc(*v.args[1]) && !contains_name(v.args[0].get(), r.variable))
            acc_first = false;
          else
            return false;
          t = type_of(*v.args[acc_first ? 1 : 0]);
          if (t.r != R) return false;
          // min(x, s) takes x on a tie: exact only when ties cannot be told
          // apart (integers of one Python type).
          if (!acc_first && (isf(R) || vi->type.mixed() || t != vi->type)) return false;
        }
        if (t.mixed()) return false;  // the Python type would depend on which term came last
        if (!first && (t != info.value || acc_first != info.acc_first)) return false;
        info.value = t;
        info.acc_first = acc_first;
        first = false;
      }
      if (first) return false;
      infos[r.variable] = info;
    }
    if (out) *out = infos;
    return true;
  }

  // ------------------------------------------------------ host schedule --
  // Which loops the host runs, where launches start and which loops form
  // their grids is analysis::map_gpu's decision (the cost model prices the
  // same mapping, read from the program); the generator only supplies the
  // one typed part of it, whether it combines a loop's reductions on the
  // grid, and emits the result.
  void build_schedule() {
    prog_.mapping = analysis::map_gpu(bound_, plan_, [&](const Stmt& loop) { return supported_reduction_loop(loop); });
    emit_schedule(prog_.mapping.schedule, prog_.schedule);
  }

  void emit_schedule(const std::vector<analysis::GpuScheduleNode>& nodes, std::vector<CudaHostNode>& out) {
    for (auto& n : nodes) {
      if (n.kind == analysis::GpuScheduleNode::Launch) {
        out.push_back(CudaHostNode{CudaHostNode::Launch, nullptr, {}, build_kernel(n.launch)});
        continue;
      }
      CudaHostNode h;
      h.kind = CudaHostNode::Loop;
      h.loop = n.loop;
      claim(n.loop->var, "host", n.loop->line);
      prog_.host_side_loops.push_back(n.loop);
      host_vars_.push_back(n.loop->var);
      emit_schedule(n.body, h.body);
      host_vars_.pop_back();
      out.push_back(std::move(h));
    }
  }

  // A scalar's value after the nest comes from one place: the host (loop
  // variables of host and grid loops) or one kernel.
  void claim(const std::string& name, const std::string& where, int line) {
    auto [it, fresh] = place_.emplace(name, where);
    if (!fresh && it->second != where)
      fail(analysis::DeclineCode::Dependence, line,
           "the scalar " + name + " is assigned in two parts of the nest that run as separate GPU launches");
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
      if (is_root(root.line - 1))
        line_offset_ = 1;  // the whole parsed text
      else if (is_root(0))
        line_offset_ = root.line;
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
    body_ << "// line " << line << ": " << cuda_escape(text, CudaTextUse::Comment) << "\n";
  }

  void pad() {
    for (int i = 0; i < indent_; ++i) body_ << "  ";
  }
  void line(const std::string& text) {
    pad();
    body_ << text << "\n";
  }

  int add_result(const std::string& name, CudaResultKind kind, const KVar& v, const std::string& op, int loop,
                 const RedInfo* red) {
    CudaResult r;
    r.name = name;
    r.kind = kind;
    r.repr = crepr(v.t.r);
    r.is_float = isf(v.t.r);
    r.is_bool = v.t.r == Repr::Bool;
    r.op = op;
    r.loop = loop;
    r.slot = prog_.result_slots;
    // A last value also keeps a lock, the launch and the grid position of the
    // iteration it comes from, and the latest announced (LS_LAST_WORDS in
    // share/cuda/loopscope_cuda.h).
    prog_.result_slots += kind == CudaResultKind::LastAssigned ? 9 : 4;
    r.kernel = (int)prog_.kernels.size();
    r.slot_type = v.t.r == Repr::F64   ? CudaSlotType::F64
                  : v.t.r == Repr::F32 ? (op == "+" ? CudaSlotType::F32 : CudaSlotType::F64)
                                       : CudaSlotType::I64;
    if (v.input) {
      const cpu::VarInfo* vi = var_info(name);
      r.init_kind = cpu::kind_code(vi->type.r, vi->input_numpy);
    }
    if (red) {
      r.acc_first = red->acc_first;
      r.value_kind = red->value.mixed() ? -1 : cpu::kind_code(red->value.r, red->value.np);
    }
    prog_.results.push_back(r);
    return (int)prog_.results.size() - 1;
  }

  static std::string slot_ctype(CudaSlotType t) {
    return t == CudaSlotType::F64 ? "double" : t == CudaSlotType::F32 ? "float" : "ls_i64";
  }

  int build_kernel(const analysis::GpuLaunchPlan& launch) {
    const Stmt& root = *launch.root;
    const bool sequential = launch.sequential();
    KernelBuild kb;
    kb_ = &kb;
    kb.sequential = sequential;
    kb.k.loop = root.id;
    kb.k.name = "loopscope_" + std::string(sequential ? "seq_L" : "L") + std::to_string(root.id);
    const std::string kname = kb.k.name;
    body_.str("");
    body_.clear();
    indent_ = 1;
    reds_.clear();
    active_loops_.clear();
    defined_.clear();

    // Grid loops: the mapping's (analysis::map_gpu).
    const std::vector<const Stmt*>& grid = launch.grid;
    for (auto* g : grid) {
      std::map<std::string, RedInfo> infos;
      if (lplan(*g).verdict == LoopVerdict::Reduction && supported_reduction_loop(*g, &infos))
        for (auto& [v, info] : infos) {
          auto it = reds_.find(v);
          if (it != reds_.end() &&
              (it->second.fn != info.fn || it->second.value != info.value || it->second.acc_first != info.acc_first))
            fail(analysis::DeclineCode::Dependence, g->line,
                 "the reduction into " + v + " is combined differently by two loops");
          reds_[v] = info;
        }
    }
    for (auto* g : grid) {
      kb.k.grid_loops.push_back(g->id);
      kb.k.grid_stmts.push_back(g);
      kb.grid_vars.insert(g->var);
      claim(g->var, "host", g->line);
      prog_.host_side_loops.push_back(g);
    }

    // The scalars and loop variables this kernel assigns.
    walk_tree(root, [&](const Stmt& s) {
      std::string name;
      bool loop = false;
      if (s.kind == StmtKind::For && !kb.grid_vars.count(s.var)) {
        name = s.var;
        loop = true;
      } else if (is_scalar_assign(s)) {
        name = s.target->name;
      } else {
        return;
      }
      if (kb.vars.count(name)) {
        kb.vars[name].loop = kb.vars[name].loop || loop;
        return;
      }
      KVar v;
      v.t = var_type(name, s.line);
      const cpu::VarInfo* vi = var_info(name);
      v.input = vi && vi->input;
      v.loop = loop;
      // A tuple assignment's temporary lives in one iteration of its block in
      // every kernel: a local, never a result.
      v.role = analysis::is_hidden_name(name) ? KVar::Private
               : sequential                   ? KVar::Sequential
               : reds_.count(name)            ? KVar::Reduction
                                              : KVar::Private;
      kb.vars[name] = v;
      claim(name, kname, s.line);
    });
    for (auto& [name, info] : reds_)
      if (!kb.vars.count(name)) fail(root.line, "internal: the reduction variable " + name + " is not assigned");
    // A name read here must be this kernel's own, a host loop variable, or a
    // value fixed before the nest: anything else would need a value handed
    // over from another launch.
    walk_tree(root, [&](const Stmt& s) {
      stmt_exprs(s, [&](const Expr& e) {
        if (e.kind != ExprKind::Name) return;
        if (kb.vars.count(e.name) || kb.grid_vars.count(e.name)) return;
        if (std::find(host_vars_.begin(), host_vars_.end(), e.name) != host_vars_.end()) return;
        if (assigned_.count(e.name) || loop_vars_.count(e.name))
          fail(analysis::DeclineCode::Dependence, s.line,
               "the scalar " + e.name + " is assigned in one part of the nest and read in another");
      });
    });

    // Results.
    for (auto& [name, v] : kb.vars) {
      if (analysis::is_hidden_name(name)) continue;  // no value after the nest
      if (v.role == KVar::Reduction) {
        const RedInfo& info = reds_.at(name);
        v.result = add_result(name, CudaResultKind::Reduction, v, info.fn, root.id, &info);
      } else if (v.role == KVar::Private) {
        // The value after the loop is the one the last iteration (in Python's
        // order) that assigned it leaves. Assigned by every iteration: the
        // thread that runs the last one reports it. Else each thread notes its
        // own last assigning iteration and the threads keep the latest
        // (ls_keep_last).
        v.result = add_result(name,
                              analysis::assigned_in_every_iteration(*grid.back(), name) ? CudaResultKind::LastValue
                                                                                        : CudaResultKind::LastAssigned,
                              v, "", grid.back()->id, nullptr);
      } else {
        v.result = add_result(name, CudaResultKind::Sequential, v, "", root.id, nullptr);
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
      // A loop over a hidden index (`for x in a`, lowered by the rewriter)
      // is named by what follows "$index_of_": no '$' reaches the source.
      auto shown = [](const std::string& var) {
        if (!analysis::is_hidden_name(var)) return var;
        return var.rfind("$index_of_", 0) == 0 ? var.substr(10) : var.substr(1);
      };
      mapping << "Thread mapping: ";
      for (size_t a = 0; a < order.size(); ++a)
        mapping << (a ? ", " : "") << shown(grid[order[a]]->var) << " -> " << "xyz"[a];
      mapping << " (" << shown(grid[contiguous]->var)
              << " walks contiguous memory, so it is on x: neighbouring threads touch neighbouring elements)";
    } else {
      mapping << "Runs on a single GPU thread: every loop here carries a dependence or cannot be split";
    }
    kb.k.grid_axis = axis;
    kb.k.mapping = mapping.str();

    // Body.
    for (size_t g = 0; g < grid.size(); ++g) {
      const Stmt& L = *grid[g];
      const char ax = "xyz"[axis[g]];
      const std::string& v = id(L.var);
      std::string step = int_literal(step_of(L));
      line_comment(L.line);
      std::string start = range_bound(L.start.get(), 0);
      std::string stop = range_bound(L.stop.get(), -1);
      line("const ls_i64 ls_start_" + v + " = " + start + ", ls_count_" + v + " = ls_range_count(ls_start_" + v + ", " +
           stop + ", " + step + ");");
      line(std::string("for (ls_i64 ls_it_") + v + " = blockIdx." + ax + " * (ls_i64)blockDim." + ax + " + threadIdx." +
           ax + "; ls_it_" + v + " < ls_count_" + v + "; ls_it_" + v + " += (ls_i64)gridDim." + ax + " * blockDim." +
           ax + ") {");
      ++indent_;
      // start + k * step lies within the range: no overflow.
      line("const ls_i64 " + v + " = ls_start_" + v + " + ls_it_" + v + (step == "1LL" ? "" : " * " + step) + ";");
      active_loops_.insert(L.var);
    }
    if (grid.empty()) {
      emit_stmt(root);
    } else {
      // Each iteration starts with no private assigned.
      for (auto& [name, v] : kb.vars)
        if (v.role == KVar::Private) line("ls_set_" + id(name) + " = false;");
      defined_.clear();
      // A continue of the innermost grid loop ends this iteration's body: in
      // a do-while(0) it goes on to the code after it (the last values).
      bool grid_continue = false;
      walk_stmts(grid.back()->body, [&](const Stmt& x) {
        if (x.kind == StmtKind::Continue && x.jump_target == grid.back()->id) grid_continue = true;
      });
      if (grid_continue) {
        line("do {");
        ++indent_;
      }
      for (auto& s : grid.back()->body) emit_stmt(*s);
      if (grid_continue) {
        --indent_;
        line("} while (0);");
      }
      auto result_kind = [&](const KVar& v) {
        return v.role == KVar::Private && v.result >= 0 ? prog_.results[v.result].kind : CudaResultKind::Reduction;
      };
      std::string last;
      for (size_t g = 0; g < grid.size(); ++g) {
        const std::string& v = id(grid[g]->var);
        last += std::string(g ? " && " : "") + v + " == ls_last_" + v;
      }
      for (auto& [name, v] : kb.vars) {
        if (result_kind(v) != CudaResultKind::LastValue) continue;
        if (!kb.needs_last) line("if (" + last + ") {  // the last iteration leaves its values in Python's variables");
        kb.needs_last = true;
        const std::string& c = id(name);
        line("  if (ls_set_" + c + ") { *ls_out_" + c + " = " + c + "; ls_meta_" + c + "[0] = 1; ls_meta_" + c +
             "[1] = " + kind_expr(name, v) + "; }");
      }
      if (kb.needs_last) line("}");
      // Scalars assigned in some iterations only: where this thread last
      // assigned each (the iteration numbers of the grid loops).
      for (auto& [name, v] : kb.vars) {
        if (result_kind(v) != CudaResultKind::LastAssigned) continue;
        const std::string& c = id(name);
        std::string note;
        for (size_t g = 0; g < grid.size(); ++g)
          note += " ls_at_" + c + "[" + std::to_string(g) + "] = ls_it_" + id(grid[g]->var) + ";";
        line("if (ls_set_" + c + ") {" + note + " }");
      }
      for (size_t g = grid.size(); g-- > 0;) {
        --indent_;
        line("}");
      }
      if (!reds_.empty()) {
        line("// Combine the partial results: first across the 32 threads of a warp with");
        line("// shuffles, then lane 0 of each warp combines the warp's result atomically.");
      }
      for (auto& [name, info] : reds_) emit_combine(name, kb.vars.at(name), info);
      bool any_last = false;
      for (auto& [name, v] : kb.vars) {
        if (result_kind(v) != CudaResultKind::LastAssigned) continue;
        if (!any_last) {
          line("// Values after the loop of the scalars assigned in some iterations only: Python");
          line("// keeps those of the last iteration that assigned them. The block finds its");
          line("// latest, then keeps it unless a later iteration's is there (ls_keep_last).");
        }
        any_last = true;
        const std::string& c = id(name);
        const std::string T = slot_ctype(prog_.results[v.result].slot_type);
        std::string value = ctype(v.t.r) == T ? c : "(" + T + ")" + c;
        line("ls_keep_last(" + value + ", (ls_i64)" + kind_expr(name, v) + ", ls_at_" + c + ", ls_launch, ls_out_" + c +
             ", ls_meta_" + c + ");");
      }
      kb.needs_launch = any_last;
      kb.k.uses_warp_shuffles = !reds_.empty() || any_last;
    }
    if (sequential) {
      for (auto& [name, v] : kb.vars) {
        if (v.result < 0) continue;
        const std::string& c = id(name);
        line("*ls_out_" + c + " = " + c + ";");
        line("if (ls_set_" + c + ") { ls_meta_" + c + "[0] = 1; ls_meta_" + c + "[1] = " + kind_expr(name, v) + "; }");
      }
    }

    // Declarations of locals.
    std::ostringstream decls;
    for (auto& [name, v] : kb.vars) {
      const std::string& c = id(name);
      std::string T = ctype(v.t.r);
      if (v.role == KVar::Reduction) {
        const RedInfo& info = reds_.at(name);
        decls << "  " << T << " " << c << " = " << identity(info.fn, v.t.r) << ";  // this thread's partial "
              << (info.fn == "+" ? "sum" : info.fn) << "\n";
        decls << "  bool ls_set_" << c << " = false;  // whether this thread combined a term\n";
        if (info.fn != "+" && isf(v.t.r)) decls << "  ls_i64 ls_zs_" << c << " = 0;  // signs of the zeros met\n";
        continue;
      }
      if (v.role == KVar::Sequential) {
        // Continues from the value left before the nest or by earlier launches.
        const CudaResult& r = prog_.results[v.result];
        std::string load = "*ls_out_" + c;
        if (v.t.r == Repr::Bool)
          load = "(" + load + " != 0)";
        else if (slot_ctype(r.slot_type) != T)
          load = "(" + T + ")" + load;
        decls << "  " << T << " " << c << " = " << load << ";\n";
        if (v.t.mixed()) decls << "  bool ls_np_" << c << " = ls_meta_" << c << "[1] >= 3;\n";
        if (!v.input) decls << "  bool ls_def_" << c << " = ls_meta_" << c << "[0] != 0;\n";
        decls << "  bool ls_set_" << c << " = false;\n";
        continue;
      }
      decls << "  " << T << " " << c << " = 0;\n";
      if (v.t.mixed()) decls << "  bool ls_np_" << c << " = false;\n";
      decls << "  bool ls_set_" << c << " = false;  // assigned in this iteration\n";
      if (v.role == KVar::Private && v.result >= 0 && prog_.results[v.result].kind == CudaResultKind::LastAssigned) {
        decls << "  ls_i64 ls_at_" << c << "[3] = {-1, 0, 0};  // where this thread last assigned it (-1: nowhere)\n";
      }
    }

    // Parameters.
    std::ostringstream sig;
    auto add_param = [&](CudaParam p, const std::string& decl) {
      kb.k.params.push_back(p);
      sig << (kb.k.params.size() > 1 ? ",\n    " : "") << decl;
    };
    for (auto& a : kb.arrays) {
      auto& ab = bound_.arrays.at(a);
      const std::string& c = id(a);
      bool w = kernel_writes(root, a);
      add_param({CudaParamKind::ArrayData, c, a, 0}, std::string(w ? "" : "const ") + array_ctype(ab.dtype) +
                                                         (aliased_.count(a) ? "* " : "* __restrict__ ") + c);
      for (size_t d = 0; d < ab.shape.size(); ++d)
        add_param({CudaParamKind::ArrayExtent, "ls_n" + std::to_string(d) + "_" + c, a, (int)d},
                  "ls_i64 ls_n" + std::to_string(d) + "_" + c);
      for (size_t d = 0; d < ab.shape.size(); ++d)
        if (!unit_stride(ab, d))
          add_param({CudaParamKind::ArrayStride, "ls_s" + std::to_string(d) + "_" + c, a, (int)d},
                    "ls_i64 ls_s" + std::to_string(d) + "_" + c);
    }
    for (auto& s : kb.scalar_inputs) {
      const std::string& c = id(s);
      CudaParamKind kind = CudaParamKind::IntScalar;
      std::string T = "ls_i64";
      auto it = bound_.scalars.find(s);
      bool host_var = std::find(host_vars_.begin(), host_vars_.end(), s) != host_vars_.end();
      if (!host_var && it != bound_.scalars.end()) {
        if (it->second.kind == ScalarKind::Float)
          kind = CudaParamKind::FloatScalar, T = "double";
        else if (it->second.kind == ScalarKind::Bool)
          kind = CudaParamKind::BoolScalar, T = "bool";
      }
      add_param({kind, c, s, 0}, T + " " + c);
    }
    if (kb.needs_last)
      for (size_t g = 0; g < grid.size(); ++g)
        add_param({CudaParamKind::GridLast, "ls_last_" + id(grid[g]->var), grid[g]->var, (int)g},
                  "ls_i64 ls_last_" + id(grid[g]->var));
    if (kb.needs_launch) add_param({CudaParamKind::LaunchNumber, "ls_launch", "", 0}, "ls_i64 ls_launch");
    for (auto& [name, v] : kb.vars) {
      if (v.result < 0) continue;
      const CudaResult& r = prog_.results[v.result];
      const std::string& c = id(name);
      add_param({CudaParamKind::Result, "ls_out_" + c, name, r.slot}, slot_ctype(r.slot_type) + "* ls_out_" + c);
      add_param({CudaParamKind::ResultMeta, "ls_meta_" + c, name, r.slot + 1}, "ls_i64* ls_meta_" + c);
    }
    add_param({CudaParamKind::ErrorFlag, "ls_err", "", 0}, "ls_i64* ls_err");

    std::ostringstream k;
    k << "// " << cuda_escape(kb.k.mapping, CudaTextUse::Comment) << ".\n";
    if (!reds_.empty())
      k << "// Reductions: each thread folds its own iterations into a partial result; warps\n"
           "// combine them with shuffles and combine them into the result with one atomic per\n"
           "// warp. Floating-point sums are added in a different order than Python's loop: the\n"
           "// last bits can differ.\n";
    k << "extern \"C\" __global__ void " << kname << "(\n    " << sig.str() << ") {\n";
    k << decls.str();
    k << body_.str();
    k << "}\n";
    prog_.source += "\n" + k.str();

    // Emulator entry: unpacks the 8-byte argument slots.
    std::ostringstream e;
    e << "extern \"C\" int ls_emu_" << kname << "(const unsigned* grid, const unsigned* block, void** a) {\n"
      << "  return ls_emu::launch(grid, block, " << (kb.k.uses_warp_shuffles ? "true" : "false") << ", [&] {\n    "
      << kname << "(";
    for (size_t i = 0; i < kb.k.params.size(); ++i) {
      auto& p = kb.k.params[i];
      std::string t;
      switch (p.kind) {
        case CudaParamKind::ArrayData: t = array_ctype(bound_.arrays.at(p.array).dtype) + "*"; break;
        case CudaParamKind::ArrayExtent:
        case CudaParamKind::ArrayStride:
        case CudaParamKind::IntScalar:
        case CudaParamKind::GridLast:
        case CudaParamKind::LaunchNumber: t = "ls_i64"; break;
        case CudaParamKind::FloatScalar: t = "double"; break;
        case CudaParamKind::BoolScalar: t = "bool"; break;
        case CudaParamKind::Result: {
          for (auto& r : prog_.results)
            if (r.kernel == (int)prog_.kernels.size() && r.name == p.array) t = slot_ctype(r.slot_type) + "*";
          break;
        }
        case CudaParamKind::ResultMeta:
        case CudaParamKind::ErrorFlag: t = "ls_i64*"; break;
      }
      e << (i ? ", " : "") << "*(" << t << "*)a[" << i << "]";
    }
    e << ");\n  });\n}\n";
    prog_.emulator_entry += e.str();

    prog_.kernels.push_back(kb.k);
    kb_ = nullptr;
    active_loops_.clear();
    return (int)prog_.kernels.size() - 1;
  }

  // The Python type code a scalar has after an assignment in this kernel.
  std::string kind_expr(const std::string& name, const KVar& v) {
    if (!v.t.mixed()) return std::to_string(cpu::kind_code(v.t.r, v.t.np));
    return "(ls_np_" + id(name) + " ? " + std::to_string(cpu::kind_code(v.t.r, true)) + " : " +
           std::to_string(cpu::kind_code(v.t.r, false)) + ")";
  }

  static std::string identity(const std::string& fn, Repr r) {
    if (fn == "+") return isf(r) ? (r == Repr::F32 ? "-0.0f" : "-0.0") : "0";
    bool mn = fn == "min";
    if (isf(r))
      return std::string(mn ? "" : "-") +
             (r == Repr::F32 ? "ls_f32_bits(0x7f800000u)" : "ls_f64_bits(0x7ff0000000000000ULL)");
    if (r == Repr::I32) return mn ? "2147483647" : "(-2147483647 - 1)";
    return mn ? "LS_I64_MAX" : "LS_I64_MIN";
  }

  void emit_combine(const std::string& name, const KVar& v, const RedInfo& info) {
    const std::string& c = id(name);
    Repr R = v.t.r;
    line("ls_set_" + c + " = ls_warp_any((ls_i64)ls_set_" + c + ") != 0;");
    if (info.fn == "+") {
      if (R == Repr::F64) {
        line(c + " = ls_warp_sum_f64(" + c + ");");
        line("if (ls_lane() == 0 && ls_set_" + c + ") { ls_atomic_add_f64(ls_out_" + c + ", " + c + "); ls_meta_" + c +
             "[0] = 1; }");
      } else if (R == Repr::F32) {
        line(c + " = ls_warp_sum_f32(" + c + ");");
        line("if (ls_lane() == 0 && ls_set_" + c + ") { ls_atomic_add_f32(ls_out_" + c + ", " + c + "); ls_meta_" + c +
             "[0] = 1; }");
      } else {
        // Python ints stop the run at any overflow; NumPy's wrap (exact modulo 2**64, or 2**32 once truncated).
        bool py = v.t.py || info.value.py;
        line("const ls_i64 ls_w_" + c + " = " +
             (py ? "ls_warp_sum_i64_chk((ls_i64)" + c + ", ls_err)" : "ls_warp_sum_i64((ls_i64)" + c + ")") + ";");
        line("if (ls_lane() == 0 && ls_set_" + c + ") { " +
             (py ? "ls_atomic_add_i64_chk(ls_out_" + c + ", ls_w_" + c + ", ls_err)"
                 : "ls_atomic_add_i64(ls_out_" + c + ", ls_w_" + c + ")") +
             "; ls_meta_" + c + "[0] = 1; }");
      }
      return;
    }
    if (isf(R)) {
      line("const double ls_w_" + c + " = ls_warp_" + info.fn + "_f64((double)" + c + ");");
      line("ls_zs_" + c + " = ls_warp_any(ls_zs_" + c + ");");
      line("if (ls_lane() == 0 && ls_set_" + c + ") { ls_atomic_" + info.fn + "_f64(ls_out_" + c + ", ls_w_" + c +
           "); ls_meta_" + c + "[0] = 1; ls_atomic_or(ls_meta_" + c + " + 2, ls_zs_" + c + "); }");
    } else {
      line("const ls_i64 ls_w_" + c + " = ls_warp_" + info.fn + "_i64((ls_i64)" + c + ");");
      line("if (ls_lane() == 0 && ls_set_" + c + ") { ls_atomic_" + info.fn + "_i64(ls_out_" + c + ", ls_w_" + c +
           "); ls_meta_" + c + "[0] = 1; }");
    }
  }

  bool unit_stride(const ArrayBinding& ab, size_t d) { return ab.strides[d] == analysis::dtype_size(ab.dtype); }

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

  // -------------------------------------------------------- statements ---
  std::string range_bound(const Expr* e, int64_t dflt) {
    if (!e) {
      if (dflt == -1) fail(analysis::DeclineCode::Internal, 0, "range() has no stop");
      return int_literal(dflt);
    }
    return conv(expr(*e), Repr::I64);
  }

  void emit_stmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Assign:
      case StmtKind::AugAssign: {
        line_comment(s.line);
        if (s.target->kind == ExprKind::Name) {
          const std::string& name = s.target->name;
          auto rit = reds_.find(name);
          if (rit != reds_.end() && rit->second.fn != "+") {
            emit_minmax_update(s, rit->second);
            return;
          }
          V v = expr(*s.value);
          if (s.kind == StmtKind::AugAssign) v = binary(s.aug_op, load_var(name, s.line), v, s.target.get(), s.line);
          store_var(name, v);
        } else if (s.target->kind == ExprKind::Subscript) {
          V v = expr(*s.value);
          const ArrayBinding& ab = array(s.target->name, s.line);
          Repr ar = dtype_repr(ab.dtype);
          std::string ref = subscript(*s.target);
          if (s.kind == StmtKind::AugAssign) {
            // The element is located once, read, combined and stored.
            line("{");
            line("  " + array_ctype(ab.dtype) + "* ls_p = &" + ref + ";");
            cpu::Small sm = small_of(ab.dtype);
            V old = sm == cpu::Small::None ? V{"(*ls_p)", VT{ar, false, true}, ""}
                                           : V{"((ls_i64)(*ls_p))", VT{Repr::I64, false, true, sm}, ""};
            if (ab.dtype == DType::Float16) old = V{"ls_h2f(*ls_p)", VT{Repr::F32, false, true, cpu::Small::F16}, ""};
            V nv = binary(s.aug_op, old, v, s.target.get(), s.line);
            line("  *ls_p = " + store_value(nv, ab.dtype) + ";");
            line("}");
          } else {
            line(ref + " = " + store_value(v, ab.dtype) + ";");
          }
        } else {
          fail(s.line, "only names and array elements can be assigned");
        }
        return;
      }
      case StmtKind::If: {
        line_comment(s.line);
        if (s.is_while) {
          // A while loop in the thread: it stops once an error is recorded
          // (and, in the emulator, on an interrupt), as for loops do.
          line("while (LS_CONTINUE(ls_err) && (" + cond(*s.cond) + ")) {");
          const std::set<std::string> before = defined_;
          ++indent_;
          for (auto& b : s.body) emit_stmt(*b);
          --indent_;
          defined_ = before;  // the body may not run at all
          line("}");
          return;
        }
        line("if (" + cond(*s.cond) + ") {");
        const std::set<std::string> before = defined_;
        ++indent_;
        for (auto& b : s.body) emit_stmt(*b);
        --indent_;
        std::set<std::string> then = defined_;
        defined_ = before;
        if (!s.orelse.empty()) {
          line("} else {");
          ++indent_;
          for (auto& b : s.orelse) emit_stmt(*b);
          --indent_;
        }
        line("}");
        // Assigned after the if: assigned on both paths.
        std::set<std::string> both;
        for (auto& n : then)
          if (defined_.count(n)) both.insert(n);
        defined_ = both;
        return;
      }
      case StmtKind::For: {
        line_comment(s.line);
        const std::string& v = id(s.var);
        std::string step = int_literal(step_of(s));
        line("{");
        ++indent_;
        std::string start = range_bound(s.start.get(), 0);
        std::string stop = range_bound(s.stop.get(), -1);
        line("const ls_i64 ls_start_" + v + " = " + start + ";");
        line("const ls_i64 ls_count_" + v + " = ls_range_count(ls_start_" + v + ", " + stop + ", " + step + ");");
        line("for (ls_i64 ls_k_" + v + " = 0; ls_k_" + v + " < ls_count_" + v + " && LS_CONTINUE(ls_err); ++ls_k_" + v +
             ") {");
        ++indent_;
        // Python assigns the variable at each iteration; after the loop it
        // keeps the last value (and stays unassigned when the loop never ran).
        const std::set<std::string> before = defined_;
        store_var(s.var, V{"ls_start_" + v + " + ls_k_" + v + (step == "1LL" ? "" : " * " + step), kPyInt, ""});
        bool was_active = active_loops_.count(s.var) > 0;
        active_loops_.insert(s.var);
        for (auto& b : s.body) emit_stmt(*b);
        if (!was_active) active_loops_.erase(s.var);
        defined_ = before;  // the body may not run at all
        --indent_;
        line("}");
        --indent_;
        line("}");
        return;
      }
      case StmtKind::Break:
      case StmtKind::Continue:
        // The innermost C++ loop around it is the Python loop it belongs to
        // (a for or while of the thread, or the grid loop's do-while below).
        line_comment(s.line);
        line(s.kind == StmtKind::Break ? "break;" : "continue;");
        return;
    }
  }

  // s = min(s, x) / max(s, x) (or min(x, s)) inside a grid kernel: the
  // thread's partial keeps Python's rule (x replaces s only when strictly
  // better, or, for min(x, s), unless s is strictly better).
  void emit_minmax_update(const Stmt& s, const RedInfo& info) {
    const std::string& name = s.target->name;
    const std::string& c = id(name);
    const Expr& term = *s.value->args[info.acc_first ? 1 : 0];
    V v = expr(term);
    Repr R = kb_->vars.at(name).t.r;
    line("{");
    line("  const " + std::string(ctype(R)) + " ls_v = " + conv(v, R) + ";");
    const char* op = info.fn == "min" ? " < " : " > ";
    if (isf(R)) line("  ls_zs_" + c + " |= ls_zero_signs((double)ls_v);");
    if (info.acc_first)
      line(std::string("  if (ls_v") + op + c + ") " + c + " = ls_v;");
    else
      line(std::string("  if (!(") + c + op + "ls_v)) " + c + " = ls_v;");
    line("  ls_set_" + c + " = true;");
    line("}");
  }

  // ---------------------------------------------------------- variables ---
  V load_var(const std::string& name, int line) {
    VT t = var_type(name, line);
    const std::string& c = id(name);
    if (!kb_) return V{c, t, t.mixed() ? "false" : ""};  // typing before any kernel is built
    auto it = kb_->vars.find(name);
    if (kb_->grid_vars.count(name)) return V{c, kPyInt, ""};
    if (it == kb_->vars.end()) {
      // A value fixed before the nest, or a host loop variable.
      if (!dry_) kb_->scalar_inputs.insert(name);
      bool host_var = std::find(host_vars_.begin(), host_vars_.end(), name) != host_vars_.end();
      return V{c, host_var ? kPyInt : t, ""};
    }
    const KVar& kv = it->second;
    // A reduction's partial has the type of the terms combined (checked
    // when the loop was chosen for the grid): no run-time type flag.
    V v{c, t, t.mixed() ? (kv.role == KVar::Reduction ? "false" : "ls_np_" + c) : ""};
    if (kv.role == KVar::Reduction || active_loops_.count(name) || defined_.count(name)) return v;
    // Reading a variable before it has a value: Python raises.
    std::string defined = kv.role == KVar::Private ? "ls_set_" + c : kv.input ? "" : "ls_def_" + c;
    if (!defined.empty()) v.c = "(ls_need(" + defined + ", ls_err, LS_ERR_UNBOUND), " + c + ")";
    return v;
  }

  void store_var(const std::string& name, const V& val) {
    if (dry_) return;
    const KVar& kv = kb_->vars.at(name);
    const std::string& c = id(name);
    std::string text = c + " = " + conv(val, kv.t.r) + ";";
    // The type flag is computed first: both it and the value read the old values.
    if (kv.t.mixed() && kv.role != KVar::Reduction)
      text = "{ const bool ls_np = " + is_np(val) + "; " + text + " ls_np_" + c + " = ls_np; }";
    text += " ls_set_" + c + " = true;";
    if (kv.role == KVar::Sequential && !kv.input) text += " ls_def_" + c + " = true;";
    line(text);
    defined_.insert(name);
  }

  // NumPy's conversion of a value stored into an element of type `dt`.
  std::string store_value(const V& val, DType dt) {
    switch (dt) {
      case DType::Float64: return cpu::is_f16(val.t) ? "ls_hf2d(" + val.c + ")" : conv(val, Repr::F64);
      case DType::Float32:
        // NumPy converts Python and NumPy ints through a C double first.
        if (isi(val.t.r)) return "(float)" + conv(val, Repr::F64);
        return to_float32(val);
      case DType::Int64: return conv(val, Repr::I64);
      case DType::Int32:
        if (val.t.r == Repr::I64 && val.t.py) return "ls_to_i32(" + val.c + ", ls_err)";
        return conv(val, Repr::I32);
      case DType::Bool: return truth(val);
      case DType::UInt8:
      case DType::Int8:
      case DType::UInt16:
      case DType::Int16:
      case DType::UInt32:
      case DType::UInt64: {
        // As the CPU variant (Codegen::store_element): NumPy integers wrap,
        // a Python int or a float out of the type's range stops the run.
        auto [lo, hi] = small_store_range(dt);
        std::string v;
        if (isf(val.t.r))
          v = "ls_float_in(" + conv(val, Repr::F64) + ", " + std::to_string(lo) + ".0, " + std::to_string(hi) +
              ".0, ls_err)";
        else if (val.t.py && isi(val.t.r))
          v = "ls_int_in(" + conv(val, Repr::I64) + ", " + int_literal(lo) + ", " + int_literal(hi) + ", ls_err)";
        else
          v = conv(val, Repr::I64);
        return "((" + array_ctype(dt) + ")(ls_u64)" + v + ")";
      }
      case DType::Complex128:
      case DType::Complex64: break;  // complex numbers run on the CPU only (decline_complex)
      case DType::Float16:
        // NumPy's casts (ls_f2h, ls_d2h): exact for an np.float16, one
        // rounding of a float32 or a float64 with "overflow encountered in cast"
        if (cpu::is_f16(val.t)) return "ls_f2h(" + val.c + ", false, ls_err)";
        if (val.t.r == Repr::F32) return "ls_f2h(" + val.c + ", true, ls_err)";
        return "ls_d2h(" + conv(val, Repr::F64) + ", true, ls_err)";
    }
    return conv(val, Repr::F64);
  }

  // ------------------------------------- NumPy's RuntimeWarnings ---
  // The CPU variant's checks (numpy_reports in jit/src/cpu_codegen.cpp),
  // through the helpers of share/cuda/loopscope_cuda.h.

  // The C flag "the result is a NumPy value"; "" when it never is.
  static std::string numpy_result(const VT& t, const std::string& npf) {
    if (t.mixed()) return npf;
    return t.np ? "true" : "";
  }
  // -x of an int whose range is not proven: a Python int stops the run, a
  // NumPy integer wraps with a warning ("scalar negative").
  std::string checked_neg(const V& x) {
    if (x.t.py) return "ls_cneg(" + x.c + ", ls_err)";
    return std::string(x.t.r == Repr::I32 ? "ls_npneg32(" : "ls_npneg(") + x.c + ", ls_err)";
  }
  // A float64 becoming a float32: "overflow encountered in cast".
  std::string to_float32(const V& a) {
    if (a.t.r != Repr::F64) return conv(a, Repr::F32);
    return "ls_np_to_f32(" + a.c + ", ls_err)";
  }

  // ------------------------------------------------------- conversions ---
  static std::string is_np(const V& a) {
    if (a.t.mixed()) return a.npf;
    return a.t.np ? "true" : "false";
  }
  static std::string merge_np(const VT& t, const V& a, const V& b) {
    if (!t.mixed()) return "";
    return "(" + is_np(a) + " || " + is_np(b) + ")";
  }

  std::string conv(const V& a, Repr to) {
    Repr from = a.t.r;
    if (from == to) return a.c;
    if (to == Repr::Bool) return truth(a);
    if (from == Repr::Bool) return "((" + std::string(ctype(to)) + ")" + a.c + ")";
    if (isi(from) && isi(to)) return to == Repr::I64 ? "((ls_i64)" + a.c + ")" : "((int)(unsigned)(ls_u64)" + a.c + ")";
    if (isi(from) && cpu::is_u64(a.t)) return "((" + std::string(ctype(to)) + ")(ls_u64)" + a.c + ")";
    if (isi(from)) return "((" + std::string(ctype(to)) + ")" + a.c + ")";
    if (isf(from) && isf(to)) return "((" + std::string(ctype(to)) + ")" + a.c + ")";
    fail(0, "internal: float to int conversion");
  }

  static std::string truth(const V& a) {
    switch (a.t.r) {
      case Repr::Bool: return a.c;
      case Repr::I64:
      case Repr::I32: return "(" + a.c + " != 0)";
      default: return "(" + a.c + " != 0.0)";
    }
  }

  // An int64 beyond +-2**53 meeting a float (Python is exact there).
  static V bigchk(const V& a) {
    if (!(a.t.r == Repr::I64 && a.t.py)) return a;
    V r = a;
    r.c = "ls_bigint(" + a.c + ", ls_err)";
    return r;
  }

  // -------------------------------------------------------- expressions --
  VT type_of(const Expr& e) {
    bool saved = dry_;
    dry_ = true;
    VT t = expr(e).t;
    dry_ = saved;
    return t;
  }

  std::string cond(const Expr& e) {
    if (e.kind == ExprKind::Logical) {
      std::string out;
      for (auto& a : e.args)
        out += (out.empty() ? "" : e.bool_op == analysis::BoolOp::And ? " && " : " || ") + cond(*a);
      return "(" + out + ")";
    }
    if (e.kind == ExprKind::Unary && e.un_op == UnOp::Not) return "(!" + cond(*e.args.at(0)) + ")";
    return truth(expr(e));
  }

  V expr(const Expr& e) {
    switch (e.kind) {
      case ExprKind::IntConst: return V{int_literal(e.ival), kPyInt, ""};
      case ExprKind::FloatConst: return V{float_literal(e.fval), kPyFloat, ""};
      case ExprKind::BoolConst: return V{e.ival ? "true" : "false", kPyBool, ""};
      case ExprKind::Name: return load_var(e.name, e.line);
      case ExprKind::Subscript: {
        DType dt = array(e.name, e.line).dtype;
        if (dt == DType::Float16)
          return V{"ls_h2f(" + subscript(e) + ")", VT{Repr::F32, false, true, cpu::Small::F16}, ""};
        if (cpu::Small sm = small_of(dt); sm != cpu::Small::None)
          return V{"((ls_i64)" + subscript(e) + ")", VT{Repr::I64, false, true, sm}, ""};
        Repr r = dtype_repr(dt);
        // An item of a Python list or tuple (a snapshot) is a Python float, int or bool.
        if (array(e.name, e.line).python_elements) return V{subscript(e), VT{r, true, false}, ""};
        return V{subscript(e), VT{r, false, true}, ""};
      }
      case ExprKind::Binary: {
        V a = expr(*e.args.at(0));
        V b = expr(*e.args.at(1));
        return binary(e.bin_op, a, b, &e, e.line);
      }
      case ExprKind::Unary: {
        V a = expr(*e.args.at(0));
        if (e.un_op == UnOp::Not) return V{"(!" + truth(a) + ")", kPyBool, ""};
        if (e.un_op == UnOp::Invert) {
          // -x - 1; np.uint8 ... flip their own bits; np.bool_: not; ~True: -2
          if (a.t.r == Repr::Bool && a.t.np) return V{"(!" + a.c + ")", a.t, ""};
          if (a.t.r == Repr::Bool) a = V{"((ls_i64)" + a.c + ")", kPyInt, ""};
          if (a.t.small == cpu::Small::U8 || a.t.small == cpu::Small::U16 || a.t.small == cpu::Small::U32)
            return V{"(" + a.c + " ^ " + int_literal(cpu::small_range(a.t.small).second) + ")", a.t, a.npf};
          return V{"(~" + a.c + ")", a.t, a.npf};
        }
        if (a.t.r == Repr::Bool) a = V{"((ls_i64)" + a.c + ")", kPyInt, ""};
        if (e.un_op == UnOp::Pos) return a;
        if (cpu::is_u64(a.t)) return V{"ls_u64_neg(" + a.c + ", ls_err)", a.t, ""};
        if (isf(a.t.r)) return V{"(-" + a.c + ")", a.t, a.npf};
        if (spec_.overflow_checks.count(&e)) return V{checked_neg(a), a.t, a.npf};
        return V{(a.t.r == Repr::I32 ? "ls_wneg32(" : "ls_wneg(") + a.c + ")", a.t, a.npf};
      }
      case ExprKind::Compare: {
        std::vector<V> ops;
        for (auto& a : e.args) ops.push_back(expr(*a));
        std::string res;
        VT t{Repr::Bool, false, false};
        for (size_t i = 0; i + 1 < ops.size(); ++i) {
          res += (res.empty() ? "" : " && ") + compare_pair(e.cmp_ops.at(i), ops[i], ops[i + 1], e.line);
          VT r = cpu::compare_result(ops[i].t, ops[i + 1].t);
          t.py |= r.py;
          t.np |= r.np;
        }
        V out{"(" + res + ")", t, ""};
        if (t.mixed()) {
          std::string n;
          for (size_t i = 0; i + 1 < ops.size(); ++i)
            n += (n.empty() ? "" : " || ") + is_np(ops[i]) + " || " + is_np(ops[i + 1]);
          out.npf = "(" + n + ")";
        }
        return out;
      }
      case ExprKind::Logical: {
        // Python returns the operand that decides: `a and b` is a when a is
        // false, else b. Operands have no side effects but traps (which only
        // hand the loop to Python), so the one that decides is read twice.
        std::vector<V> ops;
        for (auto& a : e.args) ops.push_back(expr(*a));
        V acc = ops.back();
        bool is_and = e.bool_op == analysis::BoolOp::And;
        for (size_t i = ops.size() - 1; i-- > 0;) {
          const V& a = ops[i];
          VT t{acc.t.r, acc.t.py || a.t.py, acc.t.np || a.t.np};
          if (a.t.r != acc.t.r) fail(e.line, "internal: the operands of a logical operator have different types");
          std::string test = truth(a);
          std::string c =
              is_and ? "(" + test + " ? " + acc.c + " : " + a.c + ")" : "(" + test + " ? " + a.c + " : " + acc.c + ")";
          std::string n;
          if (t.mixed())
            n = is_and ? "(" + test + " ? " + is_np(acc) + " : " + is_np(a) + ")"
                       : "(" + test + " ? " + is_np(a) + " : " + is_np(acc) + ")";
          acc = V{c, t, n};
        }
        return acc;
      }
      case ExprKind::IfExp: {
        std::string c = cond(*e.args.at(0));
        V a = expr(*e.args.at(1));
        V b = expr(*e.args.at(2));
        if (a.t.r != b.t.r) fail(e.line, "internal: the branches of a conditional expression have different types");
        VT t{a.t.r, a.t.py || b.t.py, a.t.np || b.t.np};
        V out{"(" + c + " ? " + a.c + " : " + b.c + ")", t, ""};
        if (t.mixed()) out.npf = "(" + c + " ? " + is_np(a) + " : " + is_np(b) + ")";
        return out;
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
    const std::string& c = id(e.name);
    // How each index becomes an offset is the CPU variant's decision (the
    // specialiser's intervals): an index proved in range needs no check, and
    // the checks are most of NVRTC's work on a large body.
    auto modes = spec_.index_modes.find(&e);
    std::string off;
    for (size_t d = 0; d < e.args.size(); ++d) {
      V ix = expr(*e.args[d]);
      if (!isi(ix.t.r) && ix.t.r != Repr::Bool)
        fail(analysis::DeclineCode::Typing, e.line, "an array index must be an integer");
      const std::string extent = "ls_n" + std::to_string(d) + "_" + c;
      cpu::IndexMode mode =
          modes != spec_.index_modes.end() && d < modes->second.size() ? modes->second[d] : cpu::IndexMode::CheckedWrap;
      std::string term;
      switch (mode) {
        case cpu::IndexMode::Direct: term = "(" + conv(ix, Repr::I64) + ")"; break;
        case cpu::IndexMode::AddExtent: term = "(" + conv(ix, Repr::I64) + " + " + extent + ")"; break;
        default: term = "ls_ix(" + conv(ix, Repr::I64) + ", " + extent + ", ls_err)"; break;
      }
      if (!unit_stride(ab, d)) term += " * ls_s" + std::to_string(d) + "_" + c;
      off += (off.empty() ? "" : " + ") + term;
    }
    return c + "[" + off + "]";
  }

  std::string compare_pair(CmpOp op, const V& a0, const V& b0, int line) {
    VT d = cpu::compare_domain(a0.t, b0.t, line);
    if (cpu::is_u64(d))  // unsigned values (np.uint8 ... np.uint32 are non-negative in their int64)
      return "((ls_u64)" + conv(a0, Repr::I64) + " " + analysis::to_string(op) + " (ls_u64)" + conv(b0, Repr::I64) +
             ")";
    V a = a0, b = b0;
    if (isf(d.r) && d.py) {
      a = bigchk(a);
      b = bigchk(b);
    }
    return "(" + conv(a, d.r) + " " + analysis::to_string(op) + " " + conv(b, d.r) + ")";
  }

  V binary(BinOp op, const V& a0, const V& b0, const Expr* site, int line) {
    VT t = cpu::binary_type(op, a0.t, b0.t, line);
    if (cpu::is_u64(t)) {
      // np.uint64 with np.uint64 (or np.uint8 ... np.uint32): ls_u64_add ...
      std::string x = conv(a0, Repr::I64), y = conv(b0, Repr::I64);
      switch (op) {
        case BinOp::Add: return V{"ls_u64_add(" + x + ", " + y + ", ls_err)", t, ""};
        case BinOp::Sub: return V{"ls_u64_sub(" + x + ", " + y + ", ls_err)", t, ""};
        case BinOp::Mul: return V{"ls_u64_mul(" + x + ", " + y + ", ls_err)", t, ""};
        case BinOp::FloorDiv: return V{"ls_u64_floordiv(" + x + ", " + y + ", ls_err)", t, ""};
        case BinOp::Mod: return V{"ls_u64_mod(" + x + ", " + y + ", ls_err)", t, ""};
        case BinOp::BitAnd: return V{"(" + x + " & " + y + ")", t, ""};
        case BinOp::BitOr: return V{"(" + x + " | " + y + ")", t, ""};
        case BinOp::BitXor: return V{"(" + x + " ^ " + y + ")", t, ""};
        case BinOp::LShift: return V{"ls_u64_shl(" + x + ", " + y + ")", t, ""};
        case BinOp::RShift: return V{"ls_u64_shr(" + x + ", " + y + ")", t, ""};
        default: fail(line, "internal: np.uint64 operation");
      }
    }
    if (t.small != cpu::Small::None && analysis::is_bitwise(op)) {
      // & | ^ >> of two small integers (both held as int64): the result is
      // in their common type already (<< is declined by binary_type).
      std::string x = conv(a0, Repr::I64), y = conv(b0, Repr::I64);
      const char* c = op == BinOp::BitAnd ? " & " : op == BinOp::BitOr ? " | " : " ^ ";
      return V{op == BinOp::RShift ? "ls_shr_np(" + x + ", " + y + ")" : "(" + x + c + y + ")", t, ""};
    }
    if (cpu::is_f16(t)) {
      // two np.float16: the float32 operation (with NumPy's warnings),
      // rounded to float16 (ls_hround)
      V a32 = a0, b32 = b0;
      a32.t = b32.t = VT{Repr::F32, false, true};
      V w = binary(op, a32, b32, nullptr, line);
      return V{"ls_hround(" + w.c + ", ls_err)", t, ""};
    }
    if (t.small != cpu::Small::None)
      fail(analysis::DeclineCode::Typing, line,
           "arithmetic between two small integers wraps at their NumPy type, which the GPU variant does not "
           "model yet (the CPU variant does)");
    bool pysem = t.py;
    V r;
    r.t = t;
    r.npf = merge_np(t, a0, b0);
    Repr R = t.r;
    V a = a0, b = b0;
    if (analysis::is_bitwise(op)) {
      // << >> & | ^ (ls_shl_py ...: Python's and NumPy's shift rules)
      std::string x = conv(a, R), y = conv(b, R);
      const char* c = op == BinOp::BitAnd ? " & " : op == BinOp::BitOr ? " | " : " ^ ";
      if (op == BinOp::BitAnd || op == BinOp::BitOr || op == BinOp::BitXor)
        r.c = R == Repr::Bool ? "((bool)(" + x + c + y + "))" : "(" + x + c + y + ")";
      else if (pysem)
        r.c = std::string(op == BinOp::LShift ? "ls_shl_py(" : "ls_shr_py(") + x + ", " + y + ", ls_err)";
      else
        r.c = std::string(op == BinOp::LShift ? "ls_shl_np" : "ls_shr_np") + (R == Repr::I32 ? "32(" : "(") + x + ", " +
              y + ")";
      return r;
    }
    if (op == BinOp::Div) {
      if (pysem) {
        a = bigchk(a);
        b = bigchk(b);
      }
      std::string x = conv(a, R), y = conv(b, R);
      std::string np = numpy_result(t, r.npf);
      if (np.empty())
        r.c = "ls_fdiv_py(" + x + ", " + y + ", ls_err)";
      else
        r.c =
            "ls_npf_div(" + x + ", " + (pysem ? "ls_fdiv_py_divisor(" + y + ", ls_err)" : y) + ", " + np + ", ls_err)";
      return r;
    }
    if (isi(R)) {
      std::string x = conv(a, R), y = conv(b, R);
      bool check = site == nullptr || spec_.overflow_checks.count(site);
      bool w32 = R == Repr::I32;
      // checked: a Python int stops the run, a NumPy integer wraps with a warning
      auto arith = [&](const char* name) {
        std::string n = name;
        if (!check) return (w32 ? "ls_w" + n + "32(" : "ls_w" + n + "(") + x + ", " + y + ")";
        if (pysem) return "ls_c" + n + "(" + x + ", " + y + ", ls_err)";
        return (w32 ? "ls_np" + n + "32(" : "ls_np" + n + "(") + x + ", " + y + ", ls_err)";
      };
      switch (op) {
        case BinOp::Add: r.c = arith("add"); return r;
        case BinOp::Sub: r.c = arith("sub"); return r;
        case BinOp::Mul: r.c = arith("mul"); return r;
        case BinOp::FloorDiv:
          r.c = pysem ? "ls_floordiv_py(" + x + ", " + y + ", ls_err)"
                      : (w32 ? "ls_floordiv_npw32(" : "ls_floordiv_npw(") + x + ", " + y + ", ls_err)";
          return r;
        case BinOp::Mod:
          r.c = pysem ? "ls_mod_py(" + x + ", " + y + ", ls_err)"
                      : (w32 ? "ls_mod_npw32(" : "ls_mod_npw(") + x + ", " + y + ", ls_err)";
          return r;
        case BinOp::Pow: {
          if (!site || site->args.size() != 2 || site->args[1]->kind != ExprKind::IntConst || site->args[1]->ival < 0)
            fail(line, "an integer power needs a constant exponent between 0 and 64 in native code");
          int64_t e = site->args[1]->ival;
          // Square and multiply, as the CPU variant does (each product checked
          // for Python ints).
          // (NumPy's integer ** wraps without a warning)
          auto mul = [&](const std::string& p, const std::string& q) {
            return check && pysem ? "ls_cmul(" + p + ", " + q + ", ls_err)"
                                  : (w32 ? "ls_wmul32(" : "ls_wmul(") + p + ", " + q + ")";
          };
          std::string acc = w32 ? "1" : "1LL", base = x;
          bool first = true;
          while (e > 0) {
            if (e & 1) {
              acc = first ? base : mul(acc, base);
              first = false;
            }
            e >>= 1;
            if (e > 0) base = mul(base, base);
          }
          // x ** 0 is 1, but x is still evaluated (its traps too).
          r.c = first ? "((void)" + x + ", " + acc + ")" : acc;
          return r;
        }
        default: break;
      }
      fail(line, "internal: unknown integer operation");
    }
    // floating point
    if (pysem) {
      a = bigchk(a);
      b = bigchk(b);
    }
    std::string x = conv(a, R), y = conv(b, R);
    bool f32 = R == Repr::F32;
    // NumPy results go through the checked helpers (ls_npf_*); `np` is the
    // flag "the result is a NumPy value", "" when it never is.
    std::string np = numpy_result(t, r.npf);
    auto checked = [&](const std::string& name, const std::string& p, const std::string& q) {
      return "ls_npf_" + name + "(" + p + ", " + q + ", " + np + ", ls_err)";
    };
    switch (op) {
      case BinOp::Add: r.c = np.empty() ? "(" + x + " + " + y + ")" : checked("add", x, y); return r;
      case BinOp::Sub: r.c = np.empty() ? "(" + x + " - " + y + ")" : checked("sub", x, y); return r;
      case BinOp::Mul: r.c = np.empty() ? "(" + x + " * " + y + ")" : checked("mul", x, y); return r;
      case BinOp::FloorDiv:
      case BinOp::Mod: {
        std::string dy = pysem ? "ls_fdiv_py_divisor(" + y + ", ls_err)" : y;
        if (!np.empty()) {
          r.c = checked(op == BinOp::FloorDiv ? "floordiv" : "mod", x, dy);
        } else {
          std::string fn =
              op == BinOp::FloorDiv ? (f32 ? "ls_ffloordivf(" : "ls_ffloordiv(") : (f32 ? "ls_fmodf(" : "ls_fmod(");
          r.c = fn + x + ", " + dy + ")";
        }
        return r;
      }
      case BinOp::Pow: {
        // Always the C library's pow()/powf(), as CPython and NumPy's scalar
        // code call it (the emulator compiles with -fno-builtin-pow, so
        // pow(x, 2.0) is not turned into x * x).
        if (np.empty())
          r.c = "ls_pow_py(" + x + ", " + y + ", ls_err)";
        else if (pysem)
          r.c = "ls_npw(ls_pow_py(" + x + ", " + y + ", ls_err), " + x + ", " + y + ", " + np + ", ls_err)";
        else
          r.c = checked("pow", x, y);
        uses_libm_ = true;
        return r;
      }
      default: break;
    }
    fail(line, "internal: unknown binary operation");
  }

  V call(const Expr& e) {
    std::vector<V> a;
    for (auto& x : e.args) a.push_back(expr(*x));
    const std::string& f = e.name;
    auto need = [&](size_t n) {
      if (a.size() != n) fail(e.line, f + "() takes " + std::to_string(n) + " argument(s) here");
    };
    if (cpu::is_float_class_test(f)) {
      need(1);
      const VT t = f[0] == 'n' ? VT{Repr::Bool, false, true} : kPyBool;
      const std::string test = f[0] == 'n' ? f.substr(3) : f;
      if (!isf(a[0].t.r)) return V{test == "isfinite" ? "true" : "false", t, ""};
      return V{"(" + test + "(" + conv(a[0], Repr::F64) + ") != 0)", t, ""};
    }
    if ((f == "int" || f == "round") && a.size() == 1 && cpu::is_u64(a[0].t))
      return V{"ls_u64_int(" + a[0].c + ", ls_err)", kPyInt, ""};
    if (f == "sqrt" || f == "exp" || f == "log" || f == "sin" || f == "cos" || f == "tan" || f == "fabs" ||
        f == "atan" || f == "tanh" || f == "log10" || f == "log2" || f == "expm1" || f == "log1p" || f == "erf" ||
        f == "erfc" || f == "sinh" || f == "cosh") {
      need(1);
      std::string x = conv(bigchk(a[0]), Repr::F64);
      std::string r;
      if (f == "sqrt")
        r = "ls_math_sqrt(" + x + ", ls_err)";
      else if (f == "fabs")
        r = "fabs(" + x + ")";
      else if (f == "log" || f == "log10" || f == "log2")
        r = "ls_math_log(" + f + "(" + x + "), " + x + ", ls_err)";
      else if (f == "log1p")
        r = "ls_math_log1p(" + x + ", ls_err)";
      else if (f == "sin" || f == "cos" || f == "tan")
        r = "ls_math_trig(" + f + "(" + x + "), " + x + ", ls_err)";
      else if (f == "exp" || f == "expm1" || f == "sinh" || f == "cosh")
        r = "ls_math_grows(" + f + "(" + x + "), " + x + ", ls_err)";
      else
        r = f + "(" + x + ")";  // atan, tanh, erf, erfc
      if (f != "sqrt" && f != "fabs") uses_libm_ = true;
      return V{r, kPyFloat, ""};
    }
    if (f == "fmod" || f == "copysign" || f == "hypot") {
      need(2);  // exact in CUDA as in C (0 ulp); hypot is CPython's own algorithm
      std::string x = conv(bigchk(a[0]), Repr::F64), y = conv(bigchk(a[1]), Repr::F64);
      if (f == "copysign") return V{"copysign(" + x + ", " + y + ")", kPyFloat, ""};
      if (f == "hypot") return V{"ls_math_hypot(" + x + ", " + y + ")", kPyFloat, ""};
      uses_libm_ = true;
      return V{"ls_math_fmod(" + x + ", " + y + ", ls_err)", kPyFloat, ""};
    }
    if (f == "floor" || f == "ceil" || f == "trunc") {
      need(1);
      // Python's int and bool are exact; NumPy's integers have no
      // __floor__/__ceil__, so Python goes through float.
      bool via_float = isi(a[0].t.r) && a[0].t.np;
      if (!via_float && (isi(a[0].t.r) || a[0].t.r == Repr::Bool)) return V{conv(a[0], Repr::I64), kPyInt, ""};
      return V{"ls_f2i(" + f + "(" + conv(a[0], Repr::F64) + "), ls_err)", kPyInt, ""};
    }
    if (f == "float") {
      need(1);
      if (cpu::is_f16(a[0].t)) return V{"ls_hf2d(" + a[0].c + ")", kPyFloat, ""};
      return V{conv(bigchk(a[0]), Repr::F64), kPyFloat, ""};
    }
    if (f == "int") {
      need(1);
      if (!isf(a[0].t.r)) return V{conv(a[0], Repr::I64), kPyInt, ""};
      return V{"ls_f2i(trunc(" + conv(a[0], Repr::F64) + "), ls_err)", kPyInt, ""};
    }
    if (f == "np.uint64") {
      need(1);
      return V{conv(a[0], Repr::I64), VT{Repr::I64, false, true, cpu::Small::U64}, ""};
    }
    if (f == "round" && a.size() == 2) {
      // round(x, ndigits): share/cuda/loopscope_math_shared.h, as on the CPU
      const VT t = a[0].t;
      const std::string n = conv(a[1], Repr::I64);
      if (isf(t.r) && t.py)
        fail(e.line, std::string("round(x, ndigits) of a ") +
                         (t.np ? "value that may be a Python float" : "Python float") +
                         " does not run on the GPU: Python rounds it through a correctly rounded decimal string "
                         "(dtoa, then strtod), which device code has no exact version of; the CPU runs it natively");
      if (isf(t.r)) return V{"ls_round_np(" + conv(a[0], t.r) + ", " + n + ", ls_err)", t, ""};
      if (isi(t.r) && t.np)
        return V{std::string(t.r == Repr::I32 ? "ls_round_np_i32(" : "ls_round_np_i64(") + conv(a[0], t.r) + ", " + n +
                     ", ls_err)",
                 t, ""};
      return V{"ls_round_py_int(" + conv(a[0], Repr::I64) + ", " + n + ", ls_err)", kPyInt, ""};
    }
    if (f == "round") {
      need(1);  // half to even, then int()
      if (!isf(a[0].t.r)) return V{conv(a[0], Repr::I64), kPyInt, ""};
      return V{"ls_f2i(rint(" + conv(a[0], Repr::F64) + "), ls_err)", kPyInt, ""};
    }
    if (f == "abs") {
      need(1);
      V x = a[0];
      if (x.t.r == Repr::Bool) x = V{"((ls_i64)" + x.c + ")", kPyInt, ""};
      if (isf(x.t.r)) return V{std::string(x.t.r == Repr::F32 ? "fabsf(" : "fabs(") + x.c + ")", x.t, x.npf};
      std::string neg = spec_.overflow_checks.count(&e) ? checked_neg(x)
                        : x.t.r == Repr::I32            ? "ls_wneg32(" + x.c + ")"
                                                        : "ls_wneg(" + x.c + ")";
      return V{"(" + x.c + " < 0 ? " + neg + " : " + x.c + ")", x.t, x.npf};
    }
    if (f == "min" || f == "max") {
      // Python: the first of the extreme values (min keeps res unless x < res).
      if (a.size() < 2) fail(e.line, f + "() needs two values here");
      V res = a[0];
      for (size_t i = 1; i < a.size(); ++i) {
        std::string better = compare_pair(f == "min" ? CmpOp::Lt : CmpOp::Gt, a[i], res, e.line);
        if (a[i].t.r != res.t.r) fail(e.line, "internal: " + f + "() of values of different types");
        VT t{res.t.r, res.t.py || a[i].t.py, res.t.np || a[i].t.np};
        std::string n = t.mixed() ? "(" + better + " ? " + is_np(a[i]) + " : " + is_np(res) + ")" : "";
        res = V{"(" + better + " ? " + a[i].c + " : " + res.c + ")", t, n};
      }
      return res;
    }
    if (f == "np.sqrt") {
      need(1);
      Repr r = a[0].t.r == Repr::F32 ? Repr::F32 : Repr::F64;
      return V{"ls_np_sqrt(" + conv(a[0], r) + ", ls_err)", VT{r, false, true}, ""};  // sqrt(-1.0) warns
    }
    if (f == "np.abs" || f == "np.fabs") {
      need(1);
      Repr r = a[0].t.r == Repr::Bool ? Repr::I64 : a[0].t.r;
      if (f == "np.fabs" && isi(r)) r = Repr::F64;
      std::string x = conv(a[0], r);
      if (isf(r)) return V{std::string(r == Repr::F32 ? "fabsf(" : "fabs(") + x + ")", VT{r, false, true}, ""};
      return V{"(" + x + " < 0 ? " + (r == Repr::I32 ? "ls_wneg32(" : "ls_wneg(") + x + ") : " + x + ")",
               VT{r, false, true}, ""};
    }
    if (f == "np.clip") {
      need(3);
      VT t = cpu::clip_type(a[0].t, a[1].t, a[2].t, e.line);
      std::string x = conv(a[0], t.r), lo = conv(a[1], t.r), hi = conv(a[2], t.r);
      std::string r = t.r == Repr::F64   ? "ls_np_clip(" + x + ", " + lo + ", " + hi + ", ls_err)"
                      : t.r == Repr::F32 ? "ls_np_clipf(" + x + ", " + lo + ", " + hi + ", ls_err)"
                      : t.r == Repr::I32 ? "ls_np_clip32(" + x + ", " + lo + ", " + hi + ")"
                                         : "ls_np_clipl(" + x + ", " + lo + ", " + hi + ")";
      return V{r, t, ""};
    }
    if (f == "np.minimum" || f == "np.maximum") {
      need(2);
      VT t = cpu::binary_type(BinOp::Add, a[0].t, a[1].t, e.line);
      std::string x = conv(a[0], t.r), y = conv(a[1], t.r);
      bool mn = f == "np.minimum";
      std::string r;
      if (isi(t.r))
        r = "(" + x + (mn ? " <= " : " >= ") + y + " ? " + x + " : " + y + ")";
      else if (t.r == Repr::F32)
        r = std::string(mn ? "ls_np_fminf(" : "ls_np_fmaxf(") + x + ", " + y + ")";
      else
        r = std::string(mn ? "ls_np_fmin(" : "ls_np_fmax(") + x + ", " + y + ")";
      return V{r, VT{t.r, false, true}, ""};
    }
    if (f == "np.float64") {
      need(1);
      return V{conv(a[0], Repr::F64), VT{Repr::F64, false, true}, ""};
    }
    if (f == "np.float32") {
      need(1);
      return V{to_float32(a[0]), VT{Repr::F32, false, true}, ""};
    }
    if (f == "np.int64") {
      need(1);
      return V{conv(a[0], Repr::I64), VT{Repr::I64, false, true}, ""};
    }
    fail(e.line, "the function " + f + "() has no GPU version");
  }

  // ------------------------------------------------------------ finish --
  void finish() {
    std::ostringstream head;
    head << "// CUDA generated by Loopscope for the loop nest at line " << bound_.nest->first_line << ".\n"
         << "// Python semantics kept: // and % round like Python, negative indices wrap, Python\n"
         << "// ints never wrap, and every case where Python raises (an index out of range, a\n"
         << "// division by zero, an int beyond 64 bits, ...) stops the run so that Python raises it.\n"
         << "// Compile without fast math and with -fmad=false: results match CPython bit for bit\n"
         << "// (floating-point sums run in parallel only after %loopscope reassociate on, and then\n"
         << "// in another order; on a GPU, math functions such as exp, log and pow are CUDA's,\n"
         << "// whose last bit may differ).\n"
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
    if (uses_libm_)
      prog_.notes.push_back(
          "On a GPU, math functions (exp, log, sin, pow, ...) are CUDA's own, whose last bit can differ from the C "
          "library's that Python uses; the emulator runs the C library's.");
  }
};

}  // namespace

CudaProgram generate_cuda(const BoundNest& bound, const ParallelPlan& plan, const CudaOptions& options) {
  Generator g(bound, plan, options);
  return g.run();
}

// ------------------------------------------------------------ host eval ----
// analysis::eval_int with the host's names: its loop variables, then the
// integer and bool scalar inputs.
std::optional<int64_t> eval_host_int(const Expr& e, const BoundNest& bound, const std::map<std::string, int64_t>& env) {
  return eval_int(e, [&](const std::string& name) -> std::optional<int64_t> {
    auto it = env.find(name);
    if (it != env.end()) return it->second;
    auto s = bound.scalars.find(name);
    if (s != bound.scalars.end() && s->second.kind != ScalarKind::Float) return s->second.ival;
    return std::nullopt;
  });
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
    out.decline = Decline{analysis::DeclineCode::UnsupportedOperation, bound.nest->root->line,
                          "a loop inside an 'if' leaves its variable depending on data"};
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
      if (saved)
        env[s.var] = *saved;
      else
        env.erase(s.var);
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
    out.decline = Decline{analysis::DeclineCode::UnsupportedOperation, bound.nest->root->line,
                          "the loop bounds depend on values only known while the loop runs"};
  return out;
}

// ----------------------------------------------- finals of host-side loops --
LoopFinals schedule_loop_finals(const CudaProgram& program, const BoundNest& bound) {
  LoopFinals out;
  std::set<std::string> wanted;
  for (auto* L : program.host_side_loops) wanted.insert(L->var);
  if (wanted.empty()) return out;
  int64_t budget = 1 << 20;
  bool failed = false;
  std::map<std::string, int64_t> env;
  auto done = [&] { return out.values.size() >= wanted.size(); };
  // Walks backwards: the first value met for a variable is the last one
  // Python assigns. `grid` holds a launch's remaining grid loops.
  std::function<void(const std::vector<const Stmt*>&, size_t)> rev_grid;
  std::function<void(const std::vector<CudaHostNode>&)> rev_nodes;
  auto rev_loop = [&](const Stmt& s, const std::function<void()>& inner) {
    auto a = s.start ? eval_host_int(*s.start, bound, env) : std::optional<int64_t>(0);
    auto b = s.stop ? eval_host_int(*s.stop, bound, env) : std::nullopt;
    auto c = s.step ? eval_host_int(*s.step, bound, env) : std::optional<int64_t>(1);
    if (!a || !b || !c || *c == 0) {
      failed = true;
      return;
    }
    int64_t n = range_count(*a, *b, *c);
    for (int64_t k = n - 1; k >= 0 && !failed && !done(); --k) {
      if (--budget < 0) {
        failed = true;
        return;
      }
      int64_t v = *a + k * *c;
      auto saved = env.find(s.var) != env.end() ? std::optional<int64_t>(env[s.var]) : std::nullopt;
      env[s.var] = v;
      if (!out.values.count(s.var)) out.values[s.var] = v;
      if (inner) inner();
      if (saved)
        env[s.var] = *saved;
      else
        env.erase(s.var);
      if (!inner) break;
    }
  };
  rev_grid = [&](const std::vector<const Stmt*>& grid, size_t g) {
    if (g >= grid.size() || failed) return;
    std::function<void()> inner;
    if (g + 1 < grid.size()) inner = [&, g] { rev_grid(grid, g + 1); };
    rev_loop(*grid[g], inner);
  };
  rev_nodes = [&](const std::vector<CudaHostNode>& nodes) {
    for (auto it = nodes.rbegin(); it != nodes.rend() && !failed && !done(); ++it) {
      if (it->kind == CudaHostNode::Loop) {
        const std::vector<CudaHostNode>& body = it->body;
        rev_loop(*it->loop, [&] { rev_nodes(body); });
      } else {
        rev_grid(program.kernels[it->kernel].grid_stmts, 0);
      }
    }
  };
  rev_nodes(program.schedule);
  if (failed)
    out.decline = Decline{analysis::DeclineCode::UnsupportedOperation,
                          bound.nest && bound.nest->root ? bound.nest->root->line : 0,
                          "the loop bounds depend on values only known while the loop runs"};
  return out;
}

std::optional<std::vector<int64_t>> last_grid_point(const CudaProgram& program, int k, const BoundNest& bound,
                                                    const std::map<std::string, int64_t>& env, bool* ok) {
  *ok = true;
  const auto& grid = program.kernels.at(k).grid_stmts;
  std::map<std::string, int64_t> e = env;
  std::vector<int64_t> point(grid.size());
  int64_t budget = 1 << 20;
  // Backwards from the end: the last outer value whose inner ranges are not empty.
  std::function<bool(size_t)> find = [&](size_t g) -> bool {
    if (g == grid.size()) return true;
    const Stmt& L = *grid[g];
    auto a = L.start ? eval_host_int(*L.start, bound, e) : std::optional<int64_t>(0);
    auto b = L.stop ? eval_host_int(*L.stop, bound, e) : std::nullopt;
    auto c = L.step ? eval_host_int(*L.step, bound, e) : std::optional<int64_t>(1);
    if (!a || !b || !c || *c == 0) {
      *ok = false;
      return false;
    }
    int64_t n = range_count(*a, *b, *c);
    for (int64_t i = n - 1; i >= 0; --i) {
      if (--budget < 0) {
        *ok = false;
        return false;
      }
      point[g] = *a + i * *c;
      e[L.var] = point[g];
      bool found = find(g + 1);
      if (!*ok) return false;
      if (found) return true;
    }
    e.erase(L.var);
    return false;
  };
  if (!find(0)) return std::nullopt;
  return point;
}

}  // namespace loopscope::jit
