// Loop-nest IR: the value that crosses from the front end into the analysis,
// the cost model and the code generators.
//
// A LoopNest is a tree of statements whose root is a `for v in range(...)`
// loop. Expressions are small trees. Every node carries the 1-based source
// line it came from (relative to the parsed source) so that explanations and
// generated code can point back at the user's code.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loopscope/analysis/decline.hpp"

namespace loopscope::analysis {

enum class BinOp { Add, Sub, Mul, Div, FloorDiv, Mod, Pow, LShift, RShift, BitAnd, BitOr, BitXor };
enum class UnOp { Neg, Pos, Not, Invert };
enum class CmpOp { Lt, Le, Gt, Ge, Eq, Ne };
enum class BoolOp { And, Or };

const char* to_string(BinOp op);  // "+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^"
const char* to_string(UnOp op);   // "-", "+", "not ", "~"
// << >> & | ^: integer (and boolean) operations only.
inline bool is_bitwise(BinOp op) { return op >= BinOp::LShift; }
const char* to_string(CmpOp op);   // "<", "<=", ...
const char* to_string(BoolOp op);  // "and", "or"

enum class ExprKind {
  IntConst,    // ival
  FloatConst,  // fval
  BoolConst,   // ival (0/1)
  Name,        // name: a loop variable, a scalar assigned in the nest, or a
               // value read from the enclosing scope (symbolic at static time)
  Subscript,   // name = array, args = one index expression per dimension
               // (A[i, j] and A[i][j] both become two indices)
  Binary,      // bin_op, args = {lhs, rhs}
  Unary,       // un_op, args = {operand}
  Compare,     // cmp_ops.size() == args.size() - 1 (chained: a < b <= c)
  Logical,     // bool_op, args = operands (2 or more)
  IfExp,       // args = {cond, then, else}
  Call,        // name = canonical function ("sqrt", "exp", "abs", "min",
               // "max", "float", "int", ...), args = arguments.
               // math.X becomes "X" (Python semantics: math.sqrt(-1) raises
               // ValueError); a NumPy ufunc np.X becomes "np.X" (NumPy
               // semantics: nan/inf, no exception), e.g. "np.sqrt",
               // "np.minimum"; builtins are "abs", "min", "max", "float",
               // "int", "round"; NumPy casts are "np.float64", "np.int64", ...
};

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  ExprKind kind = ExprKind::IntConst;
  int line = 0;
  int col = 0;
  int64_t ival = 0;
  double fval = 0.0;
  std::string name;
  BinOp bin_op = BinOp::Add;
  UnOp un_op = UnOp::Neg;
  BoolOp bool_op = BoolOp::And;
  std::vector<CmpOp> cmp_ops;
  std::vector<ExprPtr> args;
};

// The arrays an index expression reads, in order of first appearance:
// nothing for an ordinary subscript, `idx` for `x[idx[i]]` (an indirect
// subscript, whose value is known only while the loop runs).
std::vector<std::string> arrays_read(const Expr& index);

enum class StmtKind {
  Assign,     // target (Name or Subscript) = value
  AugAssign,  // target op= value (aug_op)
  If,         // cond; body; orelse (elif chains nest an If in orelse);
              // with is_while, `while cond: body` (below)
  For,        // for var in range(start, stop, step): body
  Break,      // break: leaves the loop `jump_target` (a For or a while)
  Continue,   // continue: the next iteration of the loop `jump_target`
};

struct Stmt;
using StmtPtr = std::shared_ptr<const Stmt>;

struct Stmt {
  StmtKind kind = StmtKind::Assign;
  int id = 0;    // unique within the nest; assignments are numbered S1, S2, ...
                 // in source order (label()), loops L1, L2, ... likewise
  int line = 0;  // 1-based line in the parsed source
  // Assign / AugAssign
  ExprPtr target;
  ExprPtr value;
  BinOp aug_op = BinOp::Add;
  // If
  ExprPtr cond;
  std::vector<StmtPtr> body;    // If: then-branch, For: loop body
  std::vector<StmtPtr> orelse;  // If: else-branch
  // If: a `while cond: body` loop (never an orelse: the front end turns
  // `while ... else` into statements after it). The analysis reads it as an
  // if whose body runs any number of times in an iteration of the loops
  // around it: its references are those of one pass (a subscript that reads
  // a scalar the body assigns is not affine, so it constrains nothing), and
  // what it assigns is assigned in some iterations only. Code generators
  // and the cost model run it as a loop.
  bool is_while = false;
  // Break / Continue: the Stmt::id of the loop they leave or continue. The
  // front end leaves a jump only as the last statement of its block: what
  // followed the if that holds it is moved into that if's other branch, so
  // the analysis sees it as conditional.
  int jump_target = 0;
  // For
  std::string var;
  ExprPtr start, stop, step;  // range(stop) gives start = 0, step = 1
  int depth = 0;              // For: 0 for the outermost loop of the nest
  int ordinal = 0;            // the N of label(): statements S1, S2, ... and
                              // loops L1, L2, ... counted separately in
                              // source order (0 for If)
  // Assign: the user's statement when this assignment is one part of it, else
  // empty. A tuple assignment (`a[i], a[j] = a[j], a[i]`) becomes several
  // assignments on its line, some through hidden temporaries (below).
  std::string source_text;

  std::string label() const;  // "S3" for statements, "L2" for loops
};

// A temporary the front end makes for one value of a tuple assignment (its
// name starts with '$', which no Python name holds). It is assigned just
// before its one read, in the same block, so it is private to every loop;
// it is never an input or output of the nest and never named to the user.
inline bool is_hidden_name(const std::string& name) { return !name.empty() && name[0] == '$'; }

struct LoopNest;
// A name as a sentence shows it: 'x', or for a hidden name its phrase from
// LoopNest::hidden_names (the user never sees '$' names).
std::string quoted_name(const LoopNest* nest, const std::string& name);

// One loop nest as extracted from a Python function or cell.
struct LoopNest {
  StmtPtr root;                                 // always a For
  std::string source;                           // the nest's source text (dedented)
  int first_line = 0;                           // line of the root `for` in the parsed source
  std::vector<std::string> arrays;              // names used with subscripts
  std::vector<std::string> inputs;              // names read from the enclosing scope
                                                // (arrays and scalars), sorted
  std::vector<std::string> outputs;             // scalars and loop variables assigned in
                                                // the nest, in first-assignment order
  std::vector<const Stmt*> loops() const;       // pre-order
  std::vector<const Stmt*> statements() const;  // Assign/AugAssign, pre-order

  // How a sentence names a hidden temporary the front end made: "the value
  // s of the tuple assignment on line 5" (see quoted_name).
  std::map<std::string, std::string> hidden_names;
};

}  // namespace loopscope::analysis
