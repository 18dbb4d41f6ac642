// Small helpers of the IR, the bound instance and the plan.
#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>
#include <string>

#include "loopscope/analysis/analysis.hpp"
#include "loopscope/analysis/bound.hpp"
#include "loopscope/analysis/ir.hpp"
#include "loopscope/analysis/plan.hpp"

namespace loopscope::analysis {

const char* to_string(BinOp op) {
  switch (op) {
    case BinOp::Add: return "+";
    case BinOp::Sub: return "-";
    case BinOp::Mul: return "*";
    case BinOp::Div: return "/";
    case BinOp::FloorDiv: return "//";
    case BinOp::Mod: return "%";
    case BinOp::Pow: return "**";
    case BinOp::LShift: return "<<";
    case BinOp::RShift: return ">>";
    case BinOp::BitAnd: return "&";
    case BinOp::BitOr: return "|";
    case BinOp::BitXor: return "^";
  }
  return "?";
}
const char* to_string(UnOp op) {
  switch (op) {
    case UnOp::Neg: return "-";
    case UnOp::Pos: return "+";
    case UnOp::Not: return "not ";
    case UnOp::Invert: return "~";
  }
  return "?";
}
const char* to_string(CmpOp op) {
  switch (op) {
    case CmpOp::Lt: return "<";
    case CmpOp::Le: return "<=";
    case CmpOp::Gt: return ">";
    case CmpOp::Ge: return ">=";
    case CmpOp::Eq: return "==";
    case CmpOp::Ne: return "!=";
  }
  return "?";
}
const char* to_string(BoolOp op) { return op == BoolOp::And ? "and" : "or"; }

std::string quoted_name(const LoopNest* nest, const std::string& name) {
  if (!is_hidden_name(name)) return "'" + name + "'";
  if (nest) {
    auto it = nest->hidden_names.find(name);
    if (it != nest->hidden_names.end()) return it->second;
  }
  return "a value the loop computes";
}

std::vector<std::string> arrays_read(const Expr& index) {
  std::vector<std::string> out;
  std::function<void(const Expr&)> walk = [&](const Expr& e) {
    if (e.kind == ExprKind::Subscript && std::find(out.begin(), out.end(), e.name) == out.end()) out.push_back(e.name);
    for (auto& a : e.args)
      if (a) walk(*a);
  };
  walk(index);
  return out;
}

const char* to_string(DType t) {
  switch (t) {
    case DType::Float64: return "float64";
    case DType::Float32: return "float32";
    case DType::Int64: return "int64";
    case DType::Int32: return "int32";
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int8: return "int8";
    case DType::UInt16: return "uint16";
    case DType::Int16: return "int16";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
    case DType::Complex128: return "complex128";
    case DType::Complex64: return "complex64";
    case DType::Float16: return "float16";
  }
  return "?";
}
int dtype_size(DType t) {
  switch (t) {
    case DType::Float64: return 8;
    case DType::Float32: return 4;
    case DType::Int64: return 8;
    case DType::Int32: return 4;
    case DType::Bool:
    case DType::UInt8:
    case DType::Int8: return 1;
    case DType::UInt16:
    case DType::Int16: return 2;
    case DType::UInt32: return 4;
    case DType::UInt64: return 8;
    case DType::Complex128: return 16;
    case DType::Complex64: return 8;
    case DType::Float16: return 2;
  }
  return 0;
}

const char* to_string(DepKind k) {
  switch (k) {
    case DepKind::Flow: return "flow";
    case DepKind::Anti: return "anti";
    case DepKind::Output: return "output";
  }
  return "?";
}
char to_char(Direction d) {
  switch (d) {
    case Direction::Lt: return '<';
    case Direction::Eq: return '=';
    case Direction::Gt: return '>';
    case Direction::Star: return '*';
  }
  return '?';
}
const char* to_string(LoopVerdict v) {
  switch (v) {
    case LoopVerdict::Parallel: return "parallel";
    case LoopVerdict::Sequential: return "sequential";
    case LoopVerdict::Reduction: return "reduction";
  }
  return "?";
}

std::string Stmt::label() const {
  if (kind == StmtKind::For) return "L" + std::to_string(ordinal);
  if (kind == StmtKind::If) return (is_while ? "while@" : "if@") + std::to_string(line);
  if (kind == StmtKind::Break) return "break@" + std::to_string(line);
  if (kind == StmtKind::Continue) return "continue@" + std::to_string(line);
  return "S" + std::to_string(ordinal);
}

static void walk(const StmtPtr& s, const std::function<void(const Stmt*)>& f) {
  if (!s) return;
  f(s.get());
  for (auto& c : s->body) walk(c, f);
  for (auto& c : s->orelse) walk(c, f);
}

std::vector<const Stmt*> LoopNest::loops() const {
  std::vector<const Stmt*> out;
  walk(root, [&](const Stmt* s) {
    if (s->kind == StmtKind::For) out.push_back(s);
  });
  return out;
}
std::vector<const Stmt*> LoopNest::statements() const {
  std::vector<const Stmt*> out;
  walk(root, [&](const Stmt* s) {
    if (s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign) out.push_back(s);
  });
  return out;
}

static int precedence(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Logical: return e.bool_op == BoolOp::Or ? 1 : 2;
    case ExprKind::IfExp: return 0;
    case ExprKind::Compare: return 4;
    case ExprKind::Binary:
      switch (e.bin_op) {
        case BinOp::BitOr: return 5;
        case BinOp::BitXor: return 6;
        case BinOp::BitAnd: return 7;
        case BinOp::LShift:
        case BinOp::RShift: return 8;
        case BinOp::Add:
        case BinOp::Sub: return 9;
        case BinOp::Pow: return 12;
        default: return 10;
      }
    case ExprKind::Unary: return e.un_op == UnOp::Not ? 3 : 11;
    default: return 20;
  }
}

static std::string paren(const Expr& e, int ctx) {
  std::string s = to_source(e);
  return precedence(e) < ctx ? "(" + s + ")" : s;
}

std::string to_source(const Expr& e) {
  std::ostringstream os;
  switch (e.kind) {
    case ExprKind::IntConst: os << e.ival; break;
    case ExprKind::FloatConst: {
      std::string t;
      for (int prec = 15; prec <= 17; ++prec) {  // the shortest text that reads back the same
        std::ostringstream f;
        f.precision(prec);
        f << e.fval;
        t = f.str();
        if (std::stod(t) == e.fval) break;
      }
      if (t.find_first_of(".eni") == std::string::npos) t += ".0";
      os << t;
      break;
    }
    case ExprKind::BoolConst: os << (e.ival ? "True" : "False"); break;
    case ExprKind::Name: os << e.name; break;
    case ExprKind::Subscript: {
      os << e.name << "[";
      for (size_t i = 0; i < e.args.size(); ++i) os << (i ? ", " : "") << to_source(*e.args[i]);
      os << "]";
      break;
    }
    case ExprKind::Binary: {
      int p = precedence(e);
      bool right_assoc = e.bin_op == BinOp::Pow;
      os << paren(*e.args[0], right_assoc ? p + 1 : p) << " " << to_string(e.bin_op) << " "
         << paren(*e.args[1], right_assoc ? p : p + 1);
      break;
    }
    case ExprKind::Unary: os << to_string(e.un_op) << paren(*e.args[0], precedence(e)); break;
    case ExprKind::Compare: {
      os << paren(*e.args[0], 5);
      for (size_t i = 0; i < e.cmp_ops.size(); ++i)
        os << " " << to_string(e.cmp_ops[i]) << " " << paren(*e.args[i + 1], 5);
      break;
    }
    case ExprKind::Logical: {
      int p = precedence(e);
      for (size_t i = 0; i < e.args.size(); ++i)
        os << (i ? std::string(" ") + to_string(e.bool_op) + " " : "") << paren(*e.args[i], p + 1);
      break;
    }
    case ExprKind::IfExp:
      os << paren(*e.args[1], 1) << " if " << paren(*e.args[0], 1) << " else " << paren(*e.args[2], 0);
      break;
    case ExprKind::Call: {
      // the complex literal 2.5j, z.real, z.imag, z.conjugate() (frontend.cpp)
      if (e.name == "complex.literal" && e.args.size() == 2) {
        if (e.args[0]->fval == 0.0 && !std::signbit(e.args[0]->fval)) {
          os << to_source(*e.args[1]) << "j";
          break;
        }
        os << "complex(" << to_source(*e.args[0]) << ", " << to_source(*e.args[1]) << ")";
        break;
      }
      if (!e.name.empty() && e.name[0] == '.' && e.args.size() == 1) {
        os << paren(*e.args[0], precedence(e)) << e.name << (e.name == ".conjugate" ? "()" : "");
        break;
      }
      os << e.name << "(";
      for (size_t i = 0; i < e.args.size(); ++i) os << (i ? ", " : "") << to_source(*e.args[i]);
      os << ")";
      break;
    }
  }
  return os.str();
}

}  // namespace loopscope::analysis
