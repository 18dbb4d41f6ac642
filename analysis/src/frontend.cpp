// Front end: walks Python `ast` objects (through pybind11, with the GIL held)
// and builds the loop-nest IR. Whatever the IR cannot express becomes a
// Decline carrying the line and a sentence a student can read.
#include "loopscope/analysis/frontend.hpp"

#include <pybind11/pybind11.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

namespace py = pybind11;

namespace loopscope::analysis {
namespace {

struct Declined {
  Decline d;
};

[[noreturn]] void decline(int line, std::string reason) {
  throw Declined{Decline{DeclineCode::UnsupportedSyntax, line, std::move(reason)}};
}

std::string type_name(const py::handle& node) { return py::str(py::type::handle_of(node).attr("__name__")); }

int line_of(const py::handle& node) {
  if (py::hasattr(node, "lineno")) {
    py::object l = node.attr("lineno");
    if (!l.is_none()) return l.cast<int>();
  }
  return 0;
}
int col_of(const py::handle& node) {
  if (py::hasattr(node, "col_offset")) {
    py::object l = node.attr("col_offset");
    if (!l.is_none()) return l.cast<int>();
  }
  return 0;
}

const std::set<std::string>& math_functions() {
  static const std::set<std::string> s = {
      "sqrt", "exp",   "log",  "log2",  "log10",    "log1p", "expm1", "sin",    "cos",   "tan",   "asin",    "acos",
      "atan", "atan2", "sinh", "cosh",  "tanh",     "asinh", "acosh", "atanh",  "floor", "ceil",  "trunc",   "fabs",
      "pow",  "erf",   "erfc", "hypot", "copysign", "fmod",  "gamma", "lgamma", "isnan", "isinf", "isfinite"};
  return s;
}
const std::map<std::string, std::string>& numpy_functions() {
  static const std::map<std::string, std::string> m = {
      {"sqrt", "np.sqrt"},       {"exp", "np.exp"},          {"log", "np.log"},       {"log2", "np.log2"},
      {"log10", "np.log10"},     {"log1p", "np.log1p"},      {"expm1", "np.expm1"},   {"sin", "np.sin"},
      {"cos", "np.cos"},         {"tan", "np.tan"},          {"arcsin", "np.arcsin"}, {"arccos", "np.arccos"},
      {"arctan", "np.arctan"},   {"arctan2", "np.arctan2"},  {"sinh", "np.sinh"},     {"cosh", "np.cosh"},
      {"tanh", "np.tanh"},       {"abs", "np.abs"},          {"absolute", "np.abs"},  {"fabs", "np.fabs"},
      {"floor", "np.floor"},     {"ceil", "np.ceil"},        {"trunc", "np.trunc"},   {"minimum", "np.minimum"},
      {"maximum", "np.maximum"}, {"power", "np.power"},      {"hypot", "np.hypot"},   {"float64", "np.float64"},
      {"float32", "np.float32"}, {"int64", "np.int64"},      {"int32", "np.int32"},   {"square", "np.square"},
      {"sign", "np.sign"},       {"clip", "np.clip"},        {"uint64", "np.uint64"}, {"isnan", "np.isnan"},
      {"isinf", "np.isinf"},     {"isfinite", "np.isfinite"}};
  return m;
}

class Converter {
 public:
  explicit Converter(py::module_ ast) : ast_(std::move(ast)) {}

  std::shared_ptr<LoopNest> convert(const py::handle& for_node) {
    auto nest = std::make_shared<LoopNest>();
    if (py::len(for_node.attr("orelse")) != 0)
      decline(line_of(for_node),
              "the outermost loop of the nest has an else block; put the nest in a function or move the else "
              "block's statements after the loop");
    nest->root = stmt(for_node, 0);
    nest->first_line = nest->root->line;
    finish(*nest);
    return nest;
  }

 private:
  py::module_ ast_;
  int next_id_ = 1, next_s_ = 1, next_l_ = 1;
  std::map<std::string, std::string> hidden_;  // LoopNest::hidden_names
  int next_hidden_ = 1;                        // numbers the temporaries of tuple assignments
  std::vector<std::string> loop_vars_;         // enclosing loop variables
  std::set<std::string> all_loop_vars_;
  std::set<std::string> arrays_, scalars_assigned_, plain_names_;
  std::vector<std::string> outputs_;
  std::map<std::string, int> array_line_, plain_line_;
  bool in_range_bounds_ = false;  // converting an argument of range(...)
  // The loops (for and while) around the statement being converted,
  // innermost last: what break and continue jump to.
  struct LoopCtx {
    int id = 0;
    std::string else_flag;  // the hidden flag of its else block ("" without one)
    bool broke = false;     // a break leaves it
  };
  std::vector<LoopCtx> jump_loops_;
  std::string pending_else_flag_;  // for the loop being converted
  bool last_loop_broke_ = false;   // whether a break left the loop just converted

  void enter_loop(int id) {
    jump_loops_.push_back(LoopCtx{id, pending_else_flag_, false});
    pending_else_flag_.clear();
  }
  void leave_loop() {
    last_loop_broke_ = jump_loops_.back().broke;
    jump_loops_.pop_back();
  }

  bool is(const py::handle& n, const char* t) { return py::isinstance(n, ast_.attr(t)); }

  void add_output(const std::string& name) {
    if (is_hidden_name(name)) return;  // a temporary of the engine's: no value after the nest
    if (std::find(outputs_.begin(), outputs_.end(), name) == outputs_.end()) outputs_.push_back(name);
  }

  std::vector<StmtPtr> block(const py::handle& list, int depth) {
    std::vector<StmtPtr> out;
    for (auto s : list) {
      if (is(s, "Pass")) continue;
      if ((is(s, "For") || is(s, "While")) && py::len(s.attr("orelse")) != 0) {
        for (auto& part : loop_with_else(s, depth)) out.push_back(part);
        continue;
      }
      if (is(s, "Break") && !jump_loops_.empty() && !jump_loops_.back().else_flag.empty()) {
        // The loop's else block must not run: its flag is cleared first.
        out.push_back(flag_assign(jump_loops_.back().else_flag, false, line_of(s)));
        jump_loops_.back().broke = true;
      }
      if (is(s, "Expr")) {
        py::object v = s.attr("value");
        if (is(v, "Constant") && py::isinstance<py::str>(v.attr("value"))) continue;  // a docstring-like string
      }
      if (is(s, "Assign") && py::len(s.attr("targets")) == 1 &&
          (is(s.attr("targets")[py::int_(0)], "Tuple") || is(s.attr("targets")[py::int_(0)], "List"))) {
        for (auto& part : tuple_assign(s)) out.push_back(part);
        continue;
      }
      if (is(s, "Assign") && py::len(s.attr("targets")) > 1) {
        for (auto& part : chain_assign(s)) out.push_back(part);
        continue;
      }
      out.push_back(stmt(s, depth));
    }
    return sink_jumps(std::move(out));
  }

  // ---- break, continue and else blocks -----------------------------------
  // A jump is left only as the last statement of a block, so that every
  // statement the analysis sees as unconditional in an iteration runs in
  // every iteration that reaches it: what follows a jump in its block never
  // runs (dropped), and what follows an if that may jump moves into the
  // branch of the if that goes on. Where both branches of an if may go on
  // (one jumping only in some cases), the rest would have to be in both, and
  // the nest declines.

  static bool is_jump(const Stmt& s) { return s.kind == StmtKind::Break || s.kind == StmtKind::Continue; }
  // A break or continue of a loop around `s` (not of a loop inside it).
  static bool contains_jump(const Stmt& s) {
    if (is_jump(s)) return true;
    if (s.kind != StmtKind::If || s.is_while) return false;
    for (auto* b : {&s.body, &s.orelse})
      for (auto& c : *b)
        if (contains_jump(*c)) return true;
    return false;
  }
  static bool contains_jump(const std::vector<StmtPtr>& b) {
    for (auto& c : b)
      if (contains_jump(*c)) return true;
    return false;
  }
  // Whether running the block always ends in a jump (it never goes on).
  static bool always_jumps(const std::vector<StmtPtr>& b) {
    if (b.empty()) return false;
    const Stmt& last = *b.back();
    if (is_jump(last)) return true;
    return last.kind == StmtKind::If && !last.is_while && always_jumps(last.body) && always_jumps(last.orelse);
  }
  static const Stmt* first_jump(const std::vector<StmtPtr>& b) {
    for (auto& c : b) {
      if (is_jump(*c)) return c.get();
      if (c->kind == StmtKind::If && !c->is_while) {
        if (auto* j = first_jump(c->body)) return j;
        if (auto* j = first_jump(c->orelse)) return j;
      }
    }
    return nullptr;
  }

  std::vector<StmtPtr> sink_jumps(std::vector<StmtPtr> stmts) {
    for (size_t k = 0; k < stmts.size(); ++k) {
      StmtPtr keep = stmts[k];
      const Stmt& s = *keep;
      if (is_jump(s)) {
        stmts.resize(k + 1);  // what follows never runs
        return stmts;
      }
      if (k + 1 == stmts.size() || !contains_jump(s)) continue;
      std::vector<StmtPtr> rest(stmts.begin() + k + 1, stmts.end());
      stmts.resize(k);
      stmts.push_back(with_rest(s, std::move(rest)));
      return stmts;
    }
    return stmts;
  }

  // The if `s` (which holds a jump) with `rest` moved into its branch that
  // goes on.
  StmtPtr with_rest(const Stmt& s, std::vector<StmtPtr> rest) {
    bool then_jumps = always_jumps(s.body), else_jumps = always_jumps(s.orelse);
    if (then_jumps && else_jumps) return std::make_shared<Stmt>(s);  // the rest never runs
    if (!then_jumps && !else_jumps) {
      const Stmt* j = first_jump(s.body) ? first_jump(s.body) : first_jump(s.orelse);
      std::string what = j && j->kind == StmtKind::Continue ? "continue" : "break";
      decline(j ? j->line : s.line,
              "the '" + what + "' on line " + std::to_string(j ? j->line : s.line) +
                  " is in one case of an if whose other cases go on to the statements after it; write the "
                  "statements that follow in an else branch (if c: " +
                  what + " else: ...) or make the " + what + " end its own if");
    }
    auto copy = std::make_shared<Stmt>(s);
    std::vector<StmtPtr>& branch = then_jumps ? copy->orelse : copy->body;
    if (!contains_jump(branch)) {
      for (auto& r : rest) branch.push_back(std::move(r));
      branch = sink_jumps(std::move(branch));  // the rest may hold jumps of its own
    } else {
      // The branch ends with an if that may jump (sink_jumps left it last).
      StmtPtr last = branch.back();
      if (last->kind != StmtKind::If || last->is_while || !contains_jump(*last))
        decline(s.line, "a 'break' or 'continue' in this if is not in a form the loop nest supports");
      branch.back() = with_rest(*last, std::move(rest));
    }
    return copy;
  }

  StmtPtr flag_assign(const std::string& flag, bool value, int line) {
    auto s = std::make_shared<Stmt>();
    s->kind = StmtKind::Assign;
    s->line = line;
    auto t = std::make_shared<Expr>();
    t->kind = ExprKind::Name;
    t->name = flag;
    t->line = line;
    auto v = std::make_shared<Expr>();
    v->kind = ExprKind::BoolConst;
    v->ival = value ? 1 : 0;
    v->line = line;
    s->target = t;
    s->value = v;
    s->id = next_id_++;
    s->ordinal = next_s_++;
    s->source_text = value ? "(the loop's else block may run)" : "(the loop's else block does not run)";
    return s;
  }

  // `for ... else` / `while ... else`: the else block runs when the loop
  // ends without a break. Without a break in the loop it simply follows the
  // loop; otherwise a hidden flag, set before the loop and cleared before
  // each of its breaks, guards it.
  std::vector<StmtPtr> loop_with_else(const py::handle& n, int depth) {
    int line = line_of(n);
    std::string flag = "$else" + std::to_string(next_hidden_++);
    pending_else_flag_ = flag;
    StmtPtr loop = stmt(n, depth);
    pending_else_flag_.clear();
    bool broke = last_loop_broke_;
    std::vector<StmtPtr> orelse = block(n.attr("orelse"), depth);
    std::vector<StmtPtr> out;
    if (!broke) {
      out.push_back(loop);
      for (auto& e : orelse) out.push_back(e);
      return out;
    }
    auto guard = std::make_shared<Stmt>();
    guard->kind = StmtKind::If;
    guard->id = next_id_++;
    guard->line = line;
    auto c = std::make_shared<Expr>();
    c->kind = ExprKind::Name;
    c->name = flag;
    c->line = line;
    guard->cond = c;
    guard->body = std::move(orelse);
    return {flag_assign(flag, true, line), loop, guard};
  }

  // ---- tuple assignment ------------------------------------------------
  // `a, b = e0, e1` (also `(a, b) = ...`, `[a, b] = [...]`, nested to the
  // same shape): Python evaluates every value, left to right, then assigns
  // the targets left to right (the subscripts of a target are evaluated when
  // it is assigned). Values have no effects (an exception stops the native
  // run, which Python then runs from the start), so only what a value reads
  // matters: a value that reads what an earlier target writes is computed
  // first into a hidden temporary (is_hidden_name); the others are assigned
  // directly, which keeps `s, c = s + x[i], c + 1` two reductions.

  // Pairs targets with values, depth first, or declines.
  void pair_up(const py::handle& tgt, const py::handle& val, int line, std::vector<py::handle>& targets,
               std::vector<py::handle>& values) {
    if (!is(tgt, "Tuple") && !is(tgt, "List")) {
      if (is(tgt, "Starred")) decline(line, "a starred target (" + range_text(tgt) + ") is not supported");
      if (is(val, "Tuple") || is(val, "List"))
        decline(line, range_text(tgt) + " would be assigned the " + std::string(is(val, "List") ? "list " : "tuple ") +
                          range_text(val) + ", and a loop nest holds only numbers");
      targets.push_back(tgt);
      values.push_back(val);
      return;
    }
    if (!is(val, "Tuple") && !is(val, "List"))
      decline(line, "the tuple assignment unpacks " + range_text(val) +
                        ", which is not a tuple written out (such as a, b = b, a)");
    py::list ts = tgt.attr("elts"), vs = val.attr("elts");
    for (auto t : ts)
      if (is(t, "Starred")) decline(line, "a starred target (" + range_text(t) + ") is not supported");
    for (auto v : vs)
      if (is(v, "Starred")) decline(line, "unpacking " + range_text(v) + " into the tuple is not supported");
    if (ts.size() != vs.size())
      decline(line, "the tuple assignment has " + std::to_string(ts.size()) + " targets and " +
                        std::to_string(vs.size()) + " values");
    for (size_t k = 0; k < ts.size(); ++k) pair_up(ts[k], vs[k], line, targets, values);
  }

  // Whether `e` reads the scalar `name` (also as `name.shape[k]`, `len(name)`).
  static bool reads_name(const Expr& e, const std::string& name) {
    if (e.kind == ExprKind::Name && (e.name == name || e.name.rfind(name + ".", 0) == 0 ||
                                     e.name.rfind(name + "[", 0) == 0 || e.name == "len(" + name + ")"))
      return true;
    for (auto& a : e.args)
      if (a && reads_name(*a, name)) return true;
    return false;
  }
  static bool reads_element(const Expr& e) {
    if (e.kind == ExprKind::Subscript) return true;
    for (auto& a : e.args)
      if (a && reads_element(*a)) return true;
    return false;
  }

  // Whether `n` is a call of the built-in divmod (the rewriter checks, at
  // run time, that the name is Python's own).
  bool is_divmod(const py::handle& n) {
    return is(n, "Call") && is(n.attr("func"), "Name") && n.attr("func").attr("id").cast<std::string>() == "divmod";
  }

  Stmt* make_assign(ExprPtr t, ExprPtr v, int line, const std::string& text, std::vector<StmtPtr>& out) {
    auto s = std::make_shared<Stmt>();
    s->kind = StmtKind::Assign;
    s->line = line;
    s->target = std::move(t);
    s->value = std::move(v);
    s->id = next_id_++;
    s->ordinal = next_s_++;
    s->source_text = text;
    out.push_back(s);
    return s.get();
  }

  ExprPtr hidden_name(const std::string& stem, const std::string& what, int line, int col) {
    auto tmp = std::make_shared<Expr>();
    tmp->kind = ExprKind::Name;
    tmp->name = "$" + stem + std::to_string(next_hidden_++);
    hidden_[tmp->name] = what;
    tmp->line = line;
    tmp->col = col;
    return tmp;
  }

  // An operand that can be read twice with the same value and no work: a
  // constant (also -k) or a plain name.
  bool read_freely(const py::handle& n) {
    py::object c = py::reinterpret_borrow<py::object>(n);
    if (is(c, "UnaryOp") && type_name(c.attr("op")) == "USub") c = c.attr("operand");
    return is(c, "Constant") || is(n, "Name");
  }

  // ---- chained assignment ----------------------------------------------
  // `a[i] = b[i] = e`, `s = t = 0.0`: Python evaluates e once, then assigns
  // the same object to each target, left to right (an array target converts
  // it to its own dtype; the subscripts of a target are evaluated when it is
  // assigned, after the targets on its left). Lowered to a hidden temporary
  // `$chain = e` and one assignment per target; a constant or a plain name
  // that no target assigns is assigned directly.
  std::vector<StmtPtr> chain_assign(const py::handle& n) {
    int line = line_of(n);
    py::list tl = n.attr("targets");
    py::object val = n.attr("value");
    std::string text;
    for (auto t : tl) text += range_text(t) + " = ";
    text += range_text(val);
    for (auto t : tl)
      if (is(t, "Tuple") || is(t, "List") || is(t, "Starred"))
        decline(line, "the chained assignment " + text + " unpacks into " + range_text(t) +
                          ", which is not supported; write the tuple assignment on a line of its own");
    if (is(val, "Tuple") || is(val, "List"))
      decline(line, "the chained assignment " + text + " assigns the " +
                        std::string(is(val, "List") ? "list " : "tuple ") + range_text(val) +
                        ", and a loop nest holds only numbers");
    ExprPtr value = expr(val);
    std::vector<ExprPtr> targets;
    for (auto t : tl) targets.push_back(target(t, line));
    bool direct = is(val, "Constant") || (is(val, "UnaryOp") && is(val.attr("operand"), "Constant"));
    if (is(val, "Name")) {
      direct = true;
      for (auto& t : targets)
        if (t->kind == ExprKind::Name && reads_name(*value, t->name)) direct = false;
    }
    std::vector<StmtPtr> out;
    ExprPtr source = value;
    if (!direct) {
      source = hidden_name(
          "chain", "the value " + range_text(val) + " of the chained assignment on line " + std::to_string(line), line,
          value->col);
      make_assign(source, value, line, text, out);
    }
    for (auto& t : targets) make_assign(t, source, line, text, out);
    return out;
  }

  // `q, r = divmod(x, y)`: for Python's numbers divmod(x, y) is
  // (x // y, x % y) (CPython's int and float divmod are what // and % use,
  // and NumPy's floor_divide and remainder its divmod); x and y are
  // evaluated once, before the targets are assigned.
  std::vector<StmtPtr> divmod_assign(const py::handle& n) {
    int line = line_of(n);
    py::object tgt = n.attr("targets")[py::int_(0)];
    py::object val = n.attr("value");
    py::list args = val.attr("args");
    std::string text = range_text(n);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (py::len(val.attr("keywords")) != 0 || args.size() != 2 || is(args[0], "Starred") || is(args[1], "Starred"))
      decline(line, "divmod() takes two numbers, as in q, r = divmod(x, y) (" + range_text(val) + ")");
    py::list ts = tgt.attr("elts");
    if (ts.size() != 2)
      decline(line,
              "divmod() gives two values, and " + range_text(tgt) + " has " + std::to_string(ts.size()) + " targets");
    for (auto t : ts)
      if (is(t, "Tuple") || is(t, "List") || is(t, "Starred"))
        decline(line, "the target " + range_text(t) + " of " + text + " is not supported");
    std::vector<StmtPtr> out;
    ExprPtr ops[2];
    for (int k = 0; k < 2; ++k) {
      ops[k] = expr(args[k]);
      if (!read_freely(args[k])) {
        ExprPtr tmp =
            hidden_name("divmod", "the value " + range_text(args[k]) + " of divmod() on line " + std::to_string(line),
                        line, ops[k]->col);
        make_assign(tmp, ops[k], line, text, out);
        ops[k] = tmp;
      }
    }
    std::vector<ExprPtr> values, targets;
    for (BinOp op : {BinOp::FloorDiv, BinOp::Mod}) {
      auto e = std::make_shared<Expr>();
      e->kind = ExprKind::Binary;
      e->bin_op = op;
      e->line = line;
      e->col = col_of(val);
      e->args = {ops[0], ops[1]};
      values.push_back(e);
    }
    for (auto t : ts) targets.push_back(target(t, line));
    if (targets[0]->kind == ExprKind::Name && targets[1]->kind == ExprKind::Name &&
        targets[0]->name == targets[1]->name)
      decline(line, "the tuple assignment assigns " + targets[0]->name +
                        " twice, and which value it keeps depends on how CPython compiles it");
    // x % y reads what the first target writes: computed before it.
    ExprPtr second = values[1];
    bool early =
        targets[0]->kind == ExprKind::Subscript ? reads_element(*values[1]) : reads_name(*values[1], targets[0]->name);
    if (early) {
      second = hidden_name("divmod", "the remainder of " + range_text(val) + " on line " + std::to_string(line), line,
                           values[1]->col);
      make_assign(second, values[1], line, text, out);
    }
    make_assign(targets[0], values[0], line, text, out);
    make_assign(targets[1], second, line, text, out);
    return out;
  }

  std::vector<StmtPtr> tuple_assign(const py::handle& n) {
    int line = line_of(n);
    py::object tgt = n.attr("targets")[py::int_(0)];
    py::object val = n.attr("value");
    if (is_divmod(val)) return divmod_assign(n);
    std::vector<py::handle> tnodes, vnodes;
    pair_up(tgt, val, line, tnodes, vnodes);
    // `x, x = 1, 2`: CPython 3.11 stores the two values in the reverse order
    // (it removes the swap between them), so x keeps 1 there, not 2.
    std::set<std::string> names;
    for (auto& t : tnodes)
      if (is(t, "Name") && !names.insert(t.attr("id").cast<std::string>()).second)
        decline(line, "the tuple assignment assigns " + t.attr("id").cast<std::string>() +
                          " twice, and which value it keeps depends on how CPython compiles it");
    // The statement as the user wrote it (unparse puts a tuple in parentheses).
    auto top = [&](const py::handle& x) {
      if (!is(x, "Tuple")) return range_text(x);
      py::list elts = x.attr("elts");
      std::string t;
      for (size_t k = 0; k < elts.size(); ++k) t += (k ? ", " : "") + range_text(elts[k]);
      return elts.size() == 1 ? t + "," : t;
    };
    std::string text = top(tgt) + " = " + top(val);
    // The values first (their names are read before any target is assigned),
    // then the targets in order.
    std::vector<ExprPtr> values, targets;
    for (auto& v : vnodes) values.push_back(expr(v));
    for (auto& t : tnodes) targets.push_back(target(t, line));
    std::vector<StmtPtr> out;
    std::vector<ExprPtr> source(values.size());
    for (size_t j = 0; j < values.size(); ++j) {
      bool early = false;  // reads what targets[0..j) write
      for (size_t k = 0; k < j && !early; ++k)
        early = targets[k]->kind == ExprKind::Subscript ? reads_element(*values[j])  // any array: views alias
                                                        : reads_name(*values[j], targets[k]->name);
      if (!early) {
        source[j] = values[j];
        continue;
      }
      auto tmp = std::make_shared<Expr>();
      tmp->kind = ExprKind::Name;
      tmp->name = "$tuple" + std::to_string(next_hidden_++);
      hidden_[tmp->name] =
          "the value " + range_text(vnodes[j]) + " of the tuple assignment on line " + std::to_string(line);
      tmp->line = line;
      tmp->col = values[j]->col;
      make_assign(tmp, values[j], line, text, out);
      source[j] = tmp;
    }
    for (size_t k = 0; k < targets.size(); ++k) make_assign(targets[k], source[k], line, text, out);
    return out;
  }

  StmtPtr stmt(const py::handle& n, int depth) {
    int line = line_of(n);
    if (is(n, "For")) return for_stmt(n, depth);
    if (is(n, "While")) {
      auto s = std::make_shared<Stmt>();
      s->kind = StmtKind::If;
      s->is_while = true;
      s->id = next_id_++;
      s->line = line;
      s->cond = expr(n.attr("test"));
      enter_loop(s->id);
      s->body = block(n.attr("body"), depth);
      leave_loop();
      return s;
    }
    if (is(n, "Break") || is(n, "Continue")) {
      auto s = std::make_shared<Stmt>();
      s->kind = is(n, "Break") ? StmtKind::Break : StmtKind::Continue;
      s->id = next_id_++;
      s->line = line;
      if (jump_loops_.empty()) decline(line, "'break' or 'continue' outside a loop");
      s->jump_target = jump_loops_.back().id;
      if (s->kind == StmtKind::Break) jump_loops_.back().broke = true;
      return s;
    }
    if (is(n, "If")) {
      auto s = std::make_shared<Stmt>();
      s->kind = StmtKind::If;
      s->id = next_id_++;
      s->line = line;
      s->cond = expr(n.attr("test"));
      s->body = block(n.attr("body"), depth);
      s->orelse = block(n.attr("orelse"), depth);
      return s;
    }
    if (is(n, "Assign")) {
      py::list targets = n.attr("targets");
      if (targets.size() != 1) decline(line, "chained assignment (a = b = ...) inside a loop nest is not supported");
      auto s = std::make_shared<Stmt>();
      s->kind = StmtKind::Assign;
      s->line = line;
      s->value = expr(n.attr("value"));
      s->target = target(targets[0], line);
      s->id = next_id_++;
      s->ordinal = next_s_++;
      return s;
    }
    if (is(n, "AugAssign")) {
      auto s = std::make_shared<Stmt>();
      s->kind = StmtKind::AugAssign;
      s->line = line;
      s->aug_op = binop(n.attr("op"), line);
      s->value = expr(n.attr("value"));
      s->target = target(n.attr("target"), line);
      s->id = next_id_++;
      s->ordinal = next_s_++;
      return s;
    }
    std::string t = type_name(n);
    if (t == "Return") decline(line, "'return' inside the loop is not supported");
    if (t == "AnnAssign") decline(line, "annotated assignments inside the loop are not supported");
    if (t == "Expr") {
      py::object v = n.attr("value");
      if (is(v, "Call")) {
        std::string text = "a call";
        try {
          text = py::str(ast_.attr("unparse")(v)).cast<std::string>();
        } catch (...) {}
        std::string advice = unknown_call(v, text);
        // A call made for its effect: say so, unless the advice says more.
        if (advice.find("is not a known math function") != std::string::npos)
          advice = "the call " + text + " is a statement with effects the analysis cannot see";
        decline(line, advice);
      }
      decline(line, "an expression statement inside the loop is not supported");
    }
    if (t == "With" || t == "Try" || t == "Raise" || t == "Assert" || t == "Delete" || t == "Global" ||
        t == "Nonlocal" || t == "FunctionDef" || t == "ClassDef" || t == "Import" || t == "ImportFrom" || t == "Match")
      decline(line, "a '" + t + "' statement inside the loop is not supported");
    decline(line, "a '" + t + "' statement inside the loop is not supported");
  }

  // k for a subscript that is an integer constant k or -k; nothing otherwise.
  std::optional<int64_t> constant_index(const py::handle& sl) {
    bool negative = false;
    py::object c = py::reinterpret_borrow<py::object>(sl);
    if (is(c, "UnaryOp") && type_name(c.attr("op")) == "USub") {
      negative = true;
      c = c.attr("operand");
    }
    if (!is(c, "Constant")) return std::nullopt;
    py::object v = c.attr("value");
    if (!py::isinstance<py::int_>(v) || py::isinstance<py::bool_>(v)) return std::nullopt;
    int64_t k = 0;
    try {
      k = v.cast<int64_t>();
    } catch (const py::cast_error&) {
      return std::nullopt;
    }
    if (k > (int64_t{1} << 40)) return std::nullopt;
    return negative ? -k : k;
  }

  std::string range_text(const py::handle& n) {
    try {
      return py::str(ast_.attr("unparse")(n)).cast<std::string>();
    } catch (...) {
      return "the iterable";
    }
  }

  StmtPtr for_stmt(const py::handle& n, int depth) {
    int line = line_of(n);
    auto s = std::make_shared<Stmt>();
    s->kind = StmtKind::For;
    s->id = next_id_++;
    s->ordinal = next_l_++;
    s->line = line;
    s->depth = depth;
    py::object tgt = n.attr("target");
    if (!is(tgt, "Name")) decline(line, "the loop variable must be a single name (tuple unpacking is not supported)");
    s->var = tgt.attr("id").cast<std::string>();
    py::object it = n.attr("iter");
    bool is_range =
        is(it, "Call") && is(it.attr("func"), "Name") && it.attr("func").attr("id").cast<std::string>() == "range";
    if (!is_range) decline(line, "the loop iterates over " + range_text(it) + ", not over range(...)");
    py::list args = it.attr("args");
    if (py::len(it.attr("keywords")) != 0 || args.size() < 1 || args.size() > 3)
      decline(line, "range() must have one to three positional arguments");
    for (auto a : args)
      if (is(a, "Starred")) decline(line, "range(*args) is not supported");
    auto one = std::make_shared<Expr>();
    one->kind = ExprKind::IntConst;
    one->ival = 1;
    one->line = line;
    auto zero = std::make_shared<Expr>(*one);
    zero->ival = 0;
    if (args.size() == 1) {
      s->start = zero;
      s->stop = bound_expr(args[0]);
      s->step = one;
    } else {
      s->start = bound_expr(args[0]);
      s->stop = bound_expr(args[1]);
      s->step = args.size() == 3 ? bound_expr(args[2]) : ExprPtr(one);
    }
    if (std::find(loop_vars_.begin(), loop_vars_.end(), s->var) != loop_vars_.end())
      decline(line, "the loop variable " + s->var + " is already the variable of an enclosing loop");
    if (scalars_assigned_.count(s->var))
      decline(line, "the loop variable " + s->var + " is also assigned as a scalar in the nest");
    all_loop_vars_.insert(s->var);
    add_output(s->var);
    loop_vars_.push_back(s->var);
    enter_loop(s->id);
    s->body = block(n.attr("body"), depth + 1);
    leave_loop();
    loop_vars_.pop_back();
    return s;
  }

  // An argument of range(...): there, `name[k]` with a constant k reads an
  // element of a tuple or list known before the loop (`ashape = a.shape`),
  // never an array element (bounds that read arrays are declined anyway).
  ExprPtr bound_expr(const py::handle& a) {
    in_range_bounds_ = true;
    try {
      ExprPtr e = expr(a);
      in_range_bounds_ = false;
      return e;
    } catch (...) {
      in_range_bounds_ = false;
      throw;
    }
  }

  ExprPtr target(const py::handle& t, int line) {
    if (is(t, "Name")) {
      std::string name = t.attr("id").cast<std::string>();
      if (all_loop_vars_.count(name)) decline(line, "the loop variable " + name + " is assigned inside the loop");
      scalars_assigned_.insert(name);
      add_output(name);
      auto e = std::make_shared<Expr>();
      e->kind = ExprKind::Name;
      e->name = name;
      e->line = line_of(t);
      e->col = col_of(t);
      return e;
    }
    if (is(t, "Subscript")) return subscript(t);
    if (is(t, "Attribute")) decline(line, "assigning to an attribute (" + range_text(t) + ") is not supported");
    if (is(t, "Starred")) decline(line, "a starred target (" + range_text(t) + ") is not supported");
    decline(line, "the assignment target " + range_text(t) + " is not supported");
  }

  void index_list(const py::handle& slice, std::vector<py::handle>& out) {
    if (is(slice, "Tuple")) {
      for (auto e : slice.attr("elts")) out.push_back(e);
    } else {
      out.push_back(slice);
    }
  }

  ExprPtr subscript(const py::handle& n) {
    int line = line_of(n);
    // Flatten A[i][j] and A[i, j] into one reference with two indices.
    std::vector<py::handle> chain;
    py::handle cur = n;
    while (is(cur, "Subscript")) {
      chain.push_back(cur);
      cur = cur.attr("value");
    }
    if (!is(cur, "Name")) decline(line, "only subscripts of a plain array name are supported (" + range_text(n) + ")");
    std::string name = cur.attr("id").cast<std::string>();
    std::vector<py::handle> idx;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      // keep the slice objects alive through the node
      index_list(it->attr("slice"), idx);
    }
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::Subscript;
    e->name = name;
    e->line = line;
    e->col = col_of(n);
    for (auto& i : idx) {
      if (is(i, "Slice")) decline(line, "slices such as " + range_text(n) + " are not supported inside a loop nest");
      // An index may read array elements (`x[idx[i]]`, `h[int(v[i] * 10)]`):
      // an indirect subscript, whose value the analysis treats as unknown.
      e->args.push_back(expr(i));
    }
    if (all_loop_vars_.count(name) || std::find(loop_vars_.begin(), loop_vars_.end(), name) != loop_vars_.end())
      decline(line, name + " is a loop variable and cannot be subscripted");
    arrays_.insert(name);
    array_line_.emplace(name, line);
    return e;
  }

  BinOp binop(const py::handle& op, int line) {
    std::string t = type_name(op);
    if (t == "Add") return BinOp::Add;
    if (t == "Sub") return BinOp::Sub;
    if (t == "Mult") return BinOp::Mul;
    if (t == "Div") return BinOp::Div;
    if (t == "FloorDiv") return BinOp::FloorDiv;
    if (t == "Mod") return BinOp::Mod;
    if (t == "Pow") return BinOp::Pow;
    if (t == "LShift") return BinOp::LShift;
    if (t == "RShift") return BinOp::RShift;
    if (t == "BitAnd") return BinOp::BitAnd;
    if (t == "BitOr") return BinOp::BitOr;
    if (t == "BitXor") return BinOp::BitXor;
    decline(line, "the operator " + t + " is not supported (only + - * / // % ** << >> & | ^)");
  }

  ExprPtr expr(const py::handle& n) {
    int line = line_of(n);
    auto e = std::make_shared<Expr>();
    e->line = line;
    e->col = col_of(n);
    if (is(n, "Constant")) {
      py::object v = n.attr("value");
      if (py::isinstance<py::bool_>(v)) {
        e->kind = ExprKind::BoolConst;
        e->ival = v.cast<bool>() ? 1 : 0;
      } else if (py::isinstance<py::int_>(v)) {
        e->kind = ExprKind::IntConst;
        py::int_ iv = v;
        if (py::int_(iv.attr("bit_length")()).cast<int64_t>() > 62)
          decline(line, "the integer constant " + py::str(v).cast<std::string>() + " is too large");
        e->ival = iv.cast<int64_t>();
      } else if (py::isinstance<py::float_>(v)) {
        e->kind = ExprKind::FloatConst;
        e->fval = v.cast<double>();
      } else if (PyComplex_CheckExact(v.ptr())) {
        // An imaginary literal (2.5j is complex(0.0, 2.5)): the call
        // "complex.literal" of its two parts, as constants.
        e->kind = ExprKind::Call;
        e->name = "complex.literal";
        for (double part : {PyComplex_RealAsDouble(v.ptr()), PyComplex_ImagAsDouble(v.ptr())}) {
          auto c = std::make_shared<Expr>();
          c->kind = ExprKind::FloatConst;
          c->line = line;
          c->col = e->col;
          c->fval = part;
          e->args.push_back(c);
        }
      } else {
        decline(line, "the constant " + py::repr(v).cast<std::string>() + " is not a number");
      }
      return e;
    }
    if (is(n, "Name")) {
      e->kind = ExprKind::Name;
      e->name = n.attr("id").cast<std::string>();
      if (e->name == "True" || e->name == "False" || e->name == "None")
        decline(line, "the name " + e->name + " is not supported here");
      plain_names_.insert(e->name);
      plain_line_.emplace(e->name, line);
      return e;
    }
    if (is(n, "Subscript")) {
      // X.shape[k] is a value known before the loop: a symbol named by its text.
      py::object v = n.attr("value");
      py::object sl = n.attr("slice");
      if (is(v, "Attribute") && is(v.attr("value"), "Name") && v.attr("attr").cast<std::string>() == "shape" &&
          is(sl, "Constant") && py::isinstance<py::int_>(sl.attr("value")) &&
          !py::isinstance<py::bool_>(sl.attr("value"))) {
        e->kind = ExprKind::Name;
        e->name = v.attr("value").attr("id").cast<std::string>() + ".shape[" +
                  std::to_string(sl.attr("value").cast<int64_t>()) + "]";
        return e;
      }
      // name[k] in a range() argument: the k-th item of a tuple or list, a
      // symbol named by its text and read before the loop (rewrite.py).
      if (in_range_bounds_ && is(v, "Name")) {
        if (auto k = constant_index(sl)) {
          e->kind = ExprKind::Name;
          e->name = v.attr("id").cast<std::string>() + "[" + std::to_string(*k) + "]";
          return e;
        }
      }
      return subscript(n);
    }
    if (is(n, "Call") && is(n.attr("func"), "Name") && n.attr("func").attr("id").cast<std::string>() == "len" &&
        py::len(n.attr("args")) == 1 && py::len(n.attr("keywords")) == 0 && is(n.attr("args")[py::int_(0)], "Name")) {
      e->kind = ExprKind::Name;
      e->name = "len(" + n.attr("args")[py::int_(0)].attr("id").cast<std::string>() + ")";
      return e;
    }
    if (is(n, "BinOp")) {
      e->kind = ExprKind::Binary;
      e->bin_op = binop(n.attr("op"), line);
      e->args = {expr(n.attr("left")), expr(n.attr("right"))};
      return e;
    }
    if (is(n, "UnaryOp")) {
      std::string t = type_name(n.attr("op"));
      e->kind = ExprKind::Unary;
      if (t == "USub")
        e->un_op = UnOp::Neg;
      else if (t == "UAdd")
        e->un_op = UnOp::Pos;
      else if (t == "Not")
        e->un_op = UnOp::Not;
      else
        e->un_op = UnOp::Invert;
      e->args = {expr(n.attr("operand"))};
      return e;
    }
    if (is(n, "Compare")) {
      e->kind = ExprKind::Compare;
      e->args.push_back(expr(n.attr("left")));
      for (auto op : n.attr("ops")) {
        std::string t = type_name(op);
        if (t == "Lt")
          e->cmp_ops.push_back(CmpOp::Lt);
        else if (t == "LtE")
          e->cmp_ops.push_back(CmpOp::Le);
        else if (t == "Gt")
          e->cmp_ops.push_back(CmpOp::Gt);
        else if (t == "GtE")
          e->cmp_ops.push_back(CmpOp::Ge);
        else if (t == "Eq")
          e->cmp_ops.push_back(CmpOp::Eq);
        else if (t == "NotEq")
          e->cmp_ops.push_back(CmpOp::Ne);
        else
          decline(line, "the comparison '" + t + "' is not supported (only < <= > >= == !=)");
      }
      for (auto c : n.attr("comparators")) e->args.push_back(expr(c));
      return e;
    }
    if (is(n, "BoolOp")) {
      e->kind = ExprKind::Logical;
      e->bool_op = type_name(n.attr("op")) == "And" ? BoolOp::And : BoolOp::Or;
      for (auto v : n.attr("values")) e->args.push_back(expr(v));
      return e;
    }
    if (is(n, "IfExp")) {
      e->kind = ExprKind::IfExp;
      e->args = {expr(n.attr("test")), expr(n.attr("body")), expr(n.attr("orelse"))};
      return e;
    }
    if (is(n, "Call")) return call(n, e);
    if (is(n, "Attribute")) {
      // Constants of math and NumPy.
      py::object base = n.attr("value");
      std::string attr = n.attr("attr").cast<std::string>();
      // z.real, z.imag: the call ".real" / ".imag" of z.
      bool module = is(base, "Name") &&
                    (base.attr("id").cast<std::string>() == "math" || base.attr("id").cast<std::string>() == "np" ||
                     base.attr("id").cast<std::string>() == "numpy");
      if ((attr == "real" || attr == "imag") && !module) {
        e->kind = ExprKind::Call;
        e->name = "." + attr;
        e->args = {expr(base)};
        return e;
      }
      if (is(base, "Name")) {
        std::string mod = base.attr("id").cast<std::string>();
        // A.size and A.ndim are values known before the loop (a nest cannot
        // resize an array): symbols named by their text, like A.shape[k].
        if ((attr == "size" || attr == "ndim") && mod != "math" && mod != "np" && mod != "numpy") {
          e->kind = ExprKind::Name;
          e->name = mod + "." + attr;
          return e;
        }
        if (mod == "math" || mod == "np" || mod == "numpy") {
          double v = 0;
          bool known = true;
          if (attr == "pi")
            v = 3.141592653589793;
          else if (attr == "e")
            v = 2.718281828459045;
          else if (attr == "tau")
            v = 6.283185307179586;
          else if (attr == "inf")
            v = HUGE_VAL;
          else if (attr == "nan")
            v = std::numeric_limits<double>::quiet_NaN();  // Python's own NaN: 0x7ff8000000000000
          else
            known = false;
          if (known) {
            e->kind = ExprKind::FloatConst;
            e->fval = v;
            return e;
          }
        }
      }
      decline(line, "the attribute " + range_text(n) + " is read inside the loop; compute it before the loop");
    }
    decline(line, "the expression " + range_text(n) + " is not supported inside a loop nest");
  }

  // What a student can do about a call the analysis does not know, by what
  // the call is: `text` is the call as written.
  std::string unknown_call(const py::handle& n, const std::string& text) {
    py::object f = n.attr("func");
    std::string fn, owner;
    if (is(f, "Name")) fn = f.attr("id").cast<std::string>();
    if (is(f, "Attribute")) {
      fn = f.attr("attr").cast<std::string>();
      if (is(f.attr("value"), "Name")) owner = f.attr("value").attr("id").cast<std::string>();
    }
    bool numpy = owner == "np" || owner == "numpy";
    static const std::set<std::string> allocators = {"zeros",     "ones",    "empty",      "full",      "copy",
                                                     "array",     "asarray", "zeros_like", "ones_like", "empty_like",
                                                     "full_like", "arange",  "linspace"};
    static const std::set<std::string> reductions = {"sum",  "mean", "median", "max", "min",    "std",   "var",
                                                     "prod", "dot",  "any",    "all", "argmax", "argmin"};
    static const std::set<std::string> list_methods = {"append", "extend", "insert", "pop", "remove"};
    if ((numpy && allocators.count(fn)) || (!numpy && !owner.empty() && fn == "copy"))
      return "the call " + text +
             " makes a new array inside the nest, which native code does not do: make it once before the loop "
             "and fill it element by element";
    if (numpy && reductions.count(fn))
      return "the call " + text +
             " works on a whole array or slice, which native code does not do: write the loop over its elements "
             "instead";
    if (!owner.empty() && list_methods.count(fn))
      return "the call " + text +
             " changes a Python list, which native code does not have: fill a NumPy array made before the loop "
             "instead";
    if (fn == "print")
      return "the call " + text + " prints, which native code does not do: print after the loop to compile it";
    if (fn == "len" && owner.empty())
      return "the length " + text +
             " is not one native code reads here (len(a) of an array or list, and len(m[i]) of a row of a 2-D "
             "array or list of rows in a statement of the nest, compile): assign it to a name first, as in n = " +
             text + ", and use n";
    if (fn == "divmod" && owner.empty())
      return "the call " + text +
             " makes a tuple, which native code does not hold: unpack it at once, as in q, r = divmod(x, y)";
    return "the call " + text +
           " is not a known math function, so the analysis cannot see what it does (math and NumPy functions of "
           "numbers, and your own plain functions, compile)";
  }

  ExprPtr call(const py::handle& n, std::shared_ptr<Expr> e) {
    int line = e->line;
    e->kind = ExprKind::Call;
    std::string text = range_text(n);
    if (py::len(n.attr("keywords")) != 0) decline(line, "keyword arguments in " + text + " are not supported");
    py::object f = n.attr("func");
    std::string canonical;
    if (is(f, "Name")) {
      std::string name = f.attr("id").cast<std::string>();
      static const std::set<std::string> builtins = {"abs", "min", "max", "float", "int", "round", "complex"};
      if (builtins.count(name)) canonical = name;
    } else if (is(f, "Attribute") && f.attr("attr").cast<std::string>() == "conjugate" &&
               py::len(n.attr("args")) == 0 &&
               !(is(f.attr("value"), "Name") && (f.attr("value").attr("id").cast<std::string>() == "np" ||
                                                 f.attr("value").attr("id").cast<std::string>() == "numpy"))) {
      // z.conjugate(): the call ".conjugate" of z.
      e->name = ".conjugate";
      e->args = {expr(f.attr("value"))};
      return e;
    } else if (is(f, "Attribute") && is(f.attr("value"), "Name")) {
      std::string mod = f.attr("value").attr("id").cast<std::string>();
      std::string attr = f.attr("attr").cast<std::string>();
      if (mod == "math" && math_functions().count(attr)) canonical = attr;
      if ((mod == "np" || mod == "numpy") && numpy_functions().count(attr)) canonical = numpy_functions().at(attr);
    }
    if (is(f, "Name") && f.attr("id").cast<std::string>() == "pow") {
      // The built-in pow(x, y) is x ** y (the same binary operation).
      if (py::len(n.attr("args")) != 2)
        decline(line, text + ": only pow(x, y) with two arguments is supported (write (x ** y) % m for three)");
      for (auto a : n.attr("args"))
        if (is(a, "Starred")) decline(line, "star arguments in " + text + " are not supported");
      e->kind = ExprKind::Binary;
      e->bin_op = BinOp::Pow;
      e->args = {expr(n.attr("args")[py::int_(0)]), expr(n.attr("args")[py::int_(1)])};
      return e;
    }
    if (canonical.empty()) decline(line, unknown_call(n, text));
    e->name = canonical;
    for (auto a : n.attr("args")) {
      if (is(a, "Starred")) decline(line, "star arguments in " + text + " are not supported");
      e->args.push_back(expr(a));
    }
    if ((canonical == "min" || canonical == "max") && e->args.size() < 2)
      decline(line, canonical + "() over an iterable is not supported; use " + canonical + "(a, b)");
    if (e->args.empty()) decline(line, "the call " + text + " has no arguments");
    return e;
  }

  // Upward-exposed reads: names whose value comes from before the nest.
  void exposed_expr(const ExprPtr& e, const std::set<std::string>& defined, std::set<std::string>& in) {
    if (!e) return;
    if (e->kind == ExprKind::Name && !defined.count(e->name)) in.insert(e->name);
    for (auto& a : e->args) exposed_expr(a, defined, in);
  }
  void exposed_block(const std::vector<StmtPtr>& b, std::set<std::string>& defined, std::set<std::string>& in) {
    for (auto& s : b) exposed_stmt(*s, defined, in);
  }
  void exposed_stmt(const Stmt& s, std::set<std::string>& defined, std::set<std::string>& in) {
    switch (s.kind) {
      case StmtKind::For: {
        exposed_expr(s.start, defined, in);
        exposed_expr(s.stop, defined, in);
        exposed_expr(s.step, defined, in);
        std::set<std::string> d = defined;
        d.insert(s.var);
        exposed_block(s.body, d, in);
        break;  // the body may run zero times
      }
      case StmtKind::If: {
        exposed_expr(s.cond, defined, in);
        std::set<std::string> a = defined, b = defined;
        exposed_block(s.body, a, in);
        exposed_block(s.orelse, b, in);
        std::set<std::string> both;
        for (auto& x : a)
          if (b.count(x)) both.insert(x);
        defined = both;
        break;
      }
      case StmtKind::Break:
      case StmtKind::Continue: break;
      case StmtKind::Assign:
      case StmtKind::AugAssign:
        if (s.kind == StmtKind::AugAssign) exposed_expr(s.target, defined, in);
        exposed_expr(s.value, defined, in);
        if (s.target->kind == ExprKind::Subscript) {
          for (auto& a : s.target->args) exposed_expr(a, defined, in);
        } else {
          defined.insert(s.target->name);
        }
        break;
    }
  }

  void finish(LoopNest& nest) {
    for (auto& a : arrays_) {
      if (plain_names_.count(a))
        decline(plain_line_[a], a + " is used both as an array (" + a + "[...]) and as a plain value");
      if (scalars_assigned_.count(a))
        decline(array_line_[a], a + " is used both as an array and as a scalar that the loop assigns");
    }
    nest.arrays.assign(arrays_.begin(), arrays_.end());
    std::set<std::string> defined, in;
    exposed_stmt(*nest.root, defined, in);
    for (auto& a : arrays_) in.insert(a);
    nest.inputs.assign(in.begin(), in.end());
    nest.outputs = outputs_;
    nest.hidden_names = hidden_;
  }
};

}  // namespace

FrontEndResult nest_from_ast(const py::handle& for_node, const std::string& source) {
  FrontEndResult r;
  try {
    py::module_ ast = py::module_::import("ast");
    if (!py::isinstance(for_node, ast.attr("For"))) {
      r.decline = Decline{DeclineCode::UnsupportedSyntax, line_of(for_node), "this statement is not a for loop"};
      return r;
    }
    Converter c(ast);
    auto nest = c.convert(for_node);
    nest->source = source;
    r.nest = nest;
  } catch (const Declined& d) {
    r.decline = d.d;
  } catch (const py::error_already_set& e) {
    r.decline =
        Decline{DeclineCode::Internal, line_of(for_node), std::string("the loop could not be read: ") + e.what()};
  } catch (const std::exception& e) {
    r.decline =
        Decline{DeclineCode::Internal, line_of(for_node), std::string("the loop could not be read: ") + e.what()};
  }
  return r;
}

FrontEndResult nest_from_source(const std::string& source) {
  FrontEndResult r;
  try {
    py::module_ ast = py::module_::import("ast");
    py::object tree = ast.attr("parse")(source);
    py::list body = tree.attr("body");
    if (body.size() == 0) {
      r.decline = Decline{DeclineCode::UnsupportedSyntax, 0, "there is no statement"};
      return r;
    }
    return nest_from_ast(body[0], source);
  } catch (const py::error_already_set& e) {
    r.decline = Decline{DeclineCode::UnsupportedSyntax, 0, std::string("the source could not be parsed: ") + e.what()};
  }
  return r;
}

}  // namespace loopscope::analysis
