// Work counting, private to costmodel/src: the Counter that walks one bound
// nest (count_work) and the helpers its files share. The Counter's members
// are defined in the file named by each section of the class:
//   work.cpp          the public entry points: OpCounts, WorkProfile, count_work, work_key
//   work_ops.cpp      operations of expressions and statements, float or int, recurrences
//   work_traffic.cpp  array references: traffic, footprints, strides, reuse, coalescing
//   work_loops.cpp    the walk: loop trips and samples, bound values, the mapping summary
//   work_json.cpp     to_json, work_profile_from_json
// See docs/costmodel.md, "Counting work".
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "loopscope/analysis/interval.hpp"
#include "loopscope/costmodel/work.hpp"

namespace loopscope::costmodel {

using namespace loopscope::analysis;

namespace work_detail {

// (analysis::dtype_size is defined in ir.cpp, outside loopscope_analysis_core,
// the part of the analysis the cost model links.)
inline int elem_size(DType t) {
  switch (t) {
    case DType::Complex128: return 16;
    case DType::Float64:
    case DType::Int64:
    case DType::UInt64:
    case DType::Complex64: return 8;
    case DType::Float32:
    case DType::Int32:
    case DType::UInt32: return 4;
    case DType::UInt16:
    case DType::Int16:
    case DType::Float16: return 2;
    case DType::Bool:
    case DType::UInt8:
    case DType::Int8: return 1;
  }
  return 8;
}

inline bool is_float(DType t) { return t == DType::Float64 || t == DType::Float32 || t == DType::Float16; }

// The same expression tree (kinds, names, constants, operators, arguments);
// work_traffic.cpp.
bool same_expr(const ExprPtr& a, const ExprPtr& b);

// An integer operation counted `w` times: `intop`, or `idiv` (and
// `idiv_const` when the divisor is a constant) for // and % (work_ops.cpp).
void count_int_op(BinOp op, const ExprPtr& divisor, double w, OpCounts& ops);

class Counter {
 public:
  // Defined in work_loops.cpp.
  Counter(const BoundNest& b, const ParallelPlan& plan, const NestMapping& mapping, double scale);

  // Walks the nest and summarises it (work_loops.cpp).
  WorkProfile run();

 private:
  const BoundNest& b_;
  const NestMapping& mapping_;
  double scale_;
  std::map<int, LoopVerdict> verdicts_;
  std::map<int, std::set<std::string>> carried_flow_;  // stmt id -> loops carrying a flow into it
  std::map<std::string, int64_t> ints_;                // integer scalars (scaled when in bounds)
  std::set<std::string> bound_names_;                  // scalars appearing in loop bounds
  std::map<std::string, int64_t> env_;                 // current loop-variable values
  // Integer scalars the nest assigns, as the walk last computed them at this
  // sample (`w = weights[i]`): only bounds read them (bound_value).
  std::map<std::string, int64_t> assigned_;
  // Float scalars the nest assigned, as the walk last computed them (eval_real).
  std::map<std::string, double> real_assigned_;
  std::map<std::string, analysis::IntInterval> range_;  // loop-variable ranges
  std::map<std::string, bool> local_float_;             // scalars assigned in the nest
  std::map<int, LoopTraffic> loops_;
  std::map<std::string, ArrayTraffic> arrays_;
  std::map<std::string, double> ref_footprint_read_, ref_footprint_write_;
  std::set<int> cpu_parallel_;  // loops split over CPU threads (mapping_.cpu)
  // The GPU mapping's launches that have a grid (mapping_.gpu), by root loop.
  std::set<int> gpu_launch_roots_;
  std::set<int> grid_loops_;
  std::map<int, std::string> grid_x_of_;  // launch root -> its grid's x variable
  std::map<int, int> grid_deepest_;       // launch root -> deepest grid loop
  // launch root -> its scalars assigned in some iterations only (their last
  // values are found across the blocks: analysis::assigned_in_every_iteration)
  std::map<int, int> grid_last_assigned_;
  std::string grid_x_var_;
  WorkProfile w_;
  std::string error_;

  // Where we are while walking.
  bool in_parallel_ = false;  // inside a loop split over CPU threads
  bool in_numpy_ = false;     // inside a loop a slice was lowered to (WorkProfile::ops_numpy)
  // Regions of the CPU's parallel loops (entries, weighted like the walk's
  // samples) run on the pool, their iterations, and those run on the calling
  // thread because they are short (analysis::parallel_region_pays).
  double forked_regions_ = 0, forked_iterations_ = 0, inline_regions_ = 0;
  // analysis::region_work of the parallel loop `s` entered at this sample,
  // with `trip` iterations from `first` by `step` (work_loops.cpp).
  double region_work_here(const Stmt& s, int64_t first, double trip, int64_t step);
  bool in_gpu_kernel_ = false;           // inside a grid launch
  const Stmt* innermost_ = nullptr;      // innermost enclosing loop
  double inner_trip_ = 1;                // its trip at this sample
  bool innermost_is_leaf_ = false;       // it contains no loop
  bool inner_vec_ok_ = false;            // innermost leaf loop vectorisable (decided per loop)
  std::vector<const Stmt*> loop_stack_;  // enclosing loops, outermost first
  std::vector<double> trip_stack_;       // their trips at this sample
  // Scalars assigned (`=`) by the nest -> the loops around their latest
  // assignment in the walk: how many, and the innermost of them (null: none).
  std::map<std::string, std::pair<size_t, const Stmt*>> scalar_set_in_;
  std::set<std::string> charged_groups_;               // reference groups charged in the current loop body
  std::vector<const Expr*> leaf_reads_, leaf_writes_;  // array references of the current leaf loop
  // Cache assumed to keep the lines of one column walk (a typical L2 share).
  static constexpr double kReuseCacheBytes = 1 << 20;
  // Samples of a loop variable that inner bounds depend on.
  static constexpr int64_t kSamples = 25;
  // Samples of nested sampled loops multiply (a condition that reads k, i
  // and j samples all three): inner ones take fewer, so that the body is
  // counted at most about this many times (at least 2 samples a loop:
  // its ends). Each count of the body costs microseconds.
  static constexpr int64_t kSampledBodies = 400;
  // Values of the sampled loop's variable at which reweigh_samples evaluates
  // the trips of the loops inside (every value below it).
  static constexpr int64_t kDensePoints = 16384;
  // The samples of `s`'s body (range indices `pos` of its `n`, trapezoid
  // `weights`), moved where the trips of its inner loops are far from linear
  // in the variable (`for j in range(i * i, n, i)`: n/i): at equal shares of
  // those trips, each weighing the trips of the iterations nearest to it
  // over its own.
  void reweigh_samples(const Stmt& s, int64_t first, int64_t step, int64_t n, std::vector<int64_t>& pos,
                       std::vector<double>& weights);
  int64_t sampled_bodies_ = 1;  // product of the sample counts of the enclosing sampled loops

  double scaled(double v) const { return scale_ == 1.0 ? v : std::max(1.0, std::round(v * scale_)); }
  // No input has a size (see WorkProfile::size_axis): the sweep scales the
  // constant bound of each loop (its stop, or its start when it counts down).
  bool constant_size_ = false;
  int64_t largest_constant_bound_ = 0;

  int64_t shape_dim(const std::string& arr, size_t d) const {
    auto it = b_.arrays.find(arr);
    if (it == b_.arrays.end() || d >= it->second.shape.size()) return -1;
    return (int64_t)scaled((double)it->second.shape[d]);
  }

  // ---- values of bounds and conditions (work_loops.cpp) -------------------
  // Integer value of an expression at this sample (analysis::eval_int):
  // loop variables, then integer scalars, scaled when they size a loop.
  std::optional<int64_t> eval(const ExprPtr& e);
  // A loop bound's value at this sample: eval, or else with the elements of
  // integer arrays it reads (`indptr[i]`) and the scalars the nest assigned
  // (assigned_), as the loop would compute it at this sample.
  std::optional<int64_t> bound_value(const ExprPtr& e);
  // The value of an expression as a double at this sample, for counting
  // only (not Python's exact arithmetic): bound_value where it has one, else
  // float arithmetic on constants, loop variables, the scalars the nest is
  // given and those it assigned, through int(), float(), round(), sqrt(),
  // abs(), min(), max() and `**`.
  std::optional<double> eval_real(const ExprPtr& e);
  // A `range` bound: bound_value, else eval_real (`range(2, int(k ** 0.5) + 1)`).
  std::optional<int64_t> loop_bound(const ExprPtr& e);
  // A `while x < limit:` loop (`cond`: any comparison of a name with what the body
  // does not change) whose body steps `x` once per pass by a value it does
  // not change (`x += d`, `x -= d`, `x *= c`, `x //= c`, `x >>= c`, `x <<= c`,
  // or `x = x + d` ...): its number of passes from the values at this
  // sample, and the name's value at the start of each pass (the first
  // kSamples of them).
  struct CountedWhile {
    std::string var;
    double passes = 0;
    bool integral = false;  // `x` and its step are integers
    std::vector<double> values;
  };
  std::optional<CountedWhile> counted_while(const Stmt& s, const Expr* cond);
  // `e` with each subscript of an integer array whose indices are known at
  // this sample replaced by the element's value.
  ExprPtr with_elements(const ExprPtr& e);
  static void names_in(const ExprPtr& e, std::set<std::string>& out);
  // Names that loop bounds or branch conditions inside `body` depend on.
  static void control_names(const std::vector<StmtPtr>& body, std::set<std::string>& out);
  void collect_bound_names(const Stmt* s);

  // ---- index expressions (work_traffic.cpp) --------------------------------
  // Interval of an affine-ish index expression over the loop ranges
  // (analysis/interval.hpp; unknown where it has none).
  analysis::IntInterval interval(const ExprPtr& e);
  // Coefficient of loop variable `var` in an index expression: 0 when the
  // expression does not mention it, NaN when it is not affine in it.
  double coeff(const ExprPtr& e, const std::string& var);

  // ---- operations (work_ops.cpp) -------------------------------------------
  void collect_locals(const Stmt* s);
  bool expr_is_float(const ExprPtr& e);
  // The value the interpreter holds for an expression, for the Python
  // variant's prices: a Python number, or a NumPy scalar (an array element,
  // or what arithmetic on one gives): float64/complex128 ("wide"), int64, or
  // another dtype ("narrow": float32, int32, uint8, bool, ...).
  struct PyValue {
    enum Kind { Python, Wide, Int64, Narrow } kind = Python;
    DType dtype = DType::Float64;  // of a Narrow value
  };
  std::map<std::string, PyValue> local_py_;  // scalars assigned in the nest
  PyValue py_value(const ExprPtr& e);
  // An operation on `a` and `b` (`as_float`: a float result, or a float
  // operand): the kind of its result, and `slow` when NumPy takes its slow
  // path (a narrow scalar with another type, int64 with a float).
  static PyValue py_combine(const PyValue& a, const PyValue& b, bool as_float, bool& slow);
  // Counts the interpreter's extra prices of a binary operation or comparison.
  void count_py_op(const ExprPtr& l, const ExprPtr& r, bool is_float, double w, OpCounts& ops);
  void count_expr(const ExprPtr& e, double w, OpCounts& ops, bool& has_call);
  void count_recurrence(const Stmt& s, double w);
  // Branches and while loops (work_ops.cpp): names a body assigns, an `if`
  // that leaves the loop (break), one the compiler makes a select, the
  // recurrence of a statement in a while loop's body.
  static void assigned_names(const std::vector<StmtPtr>& body, std::set<std::string>& out);
  static bool leaves_loop(const Stmt& s);
  bool if_convertible(const Stmt& s);
  // Whether an accumulation into `target` is a short chain started again in
  // each iteration of an enclosing loop (kOverlappedChain, work_ops.cpp).
  bool short_restarted_chain(const Expr& target);
  // The share of iterations in which an `if`'s condition holds, from the
  // arrays' values at points spread over the loops' ranges (eval_sampled);
  // nullopt when it reads what the nest computes (work_loops.cpp).
  std::optional<double> taken_fraction(const Stmt& s);
  // Sets the loop variables to points spread over their ranges and calls
  // at_point at each until it returns false (then: false); 64 points unless asked.
  bool at_sampled_points(uint64_t salt, const std::function<bool()>& at_point, int points = 64);
  // Whether `e` reads an array the nest writes at another element (what
  // the samples read before the run is not what other iterations see then:
  // a sieve's flags).
  bool written_elsewhere(const ExprPtr& e);
  std::map<const Expr*, bool> written_elsewhere_;  // its answers (the nest's expressions live as long)
  // A `for` loop left by `if <condition>: break`: the share of its range
  // that runs, stepped at sampled points of the loops around; nullopt when
  // the condition reads what the nest computes or writes (work_loops.cpp).
  std::optional<double> break_fraction(const Stmt& s);
  std::map<int, std::optional<double>> break_fractions_;  // per loop, found once per count
  bool reads_written_array(const ExprPtr& e);             // an element of an array the nest stores into
  // The remainders of a / b at the sampled points: the share whose value
  // is at least the divisor (a full fmod call; the others come back at
  // once), and the mean binary exponent of the quotients beyond the first
  // bit (kTypicalQuotientBits, every call full, where they read what the
  // nest computes).
  struct Remainder {
    double full = 1, bits = 0;
  };
  Remainder sampled_remainder(const ExprPtr& a, const ExprPtr& b);
  // OpCounts of one float //, % or fmod() of `a` by `b`, `w` times.
  void count_remainder(const ExprPtr& a, const ExprPtr& b, double w, OpCounts& ops);
  std::optional<double> eval_sampled(const ExprPtr& e);
  const std::set<std::string>& nest_assigned();  // names the nest assigns (computed once)
  std::set<std::string> nest_assigned_;
  bool nest_assigned_done_ = false;
  // The accumulator is set in the body of the innermost loop itself, and its
  // chain from each start is short (short_restarted_chain).
  bool restarted_each_iteration(const Expr& target);
  // An if whose branches only set such names (selects_iteration_values).
  bool selects_iteration_values(const Stmt& s);
  // Whether an expression reads array elements, directly or through names
  // the nest assigns from them (computed once per count).
  bool reads_data(const ExprPtr& e);
  bool expr_reads_data(const ExprPtr& e) const;
  std::set<std::string> data_names_;
  bool data_names_done_ = false;
  // Names assigned by the bodies of the enclosing while loops, with the
  // number of `for` loops around each (a `for` inside a while is not a chain).
  std::vector<std::pair<size_t, std::set<std::string>>> while_names_;
  void count_while_recurrence(const Stmt& s, double w);
  std::map<int, std::set<std::string>> carried_names_;  // leaf loop id -> its carried scalars
  const std::set<std::string>& carried_names(const Stmt& loop);
  void count_carried_scalars(const Stmt& s, double w);
  void count_self_chain(const Stmt& s, double w);
  void count_block(const std::vector<StmtPtr>& body, double w);
  void count_stmt(const Stmt& s, double w);
  void add_ops(const OpCounts& o, bool vec_leaf);

  // ---- memory traffic of one array reference (work_traffic.cpp) -----------
  void count_ref(const Expr& ref, double w, bool is_write);

  // ---- loops and the mapping (work_loops.cpp) ------------------------------
  void count_loop(const Stmt& s, double w);
  void plan_mapping();

  // ---- operations held back (work_ops.cpp) ---------------------------------
  // Statements of a leaf loop are held back until the loop is walked, because
  // whether it vectorises is known only then.
  bool collecting_ = false;
  std::vector<OpCounts> pending_;
  void emit(const OpCounts& o) {
    if (collecting_)
      pending_.push_back(o);
    else
      add_ops(o, false);
  }
};

}  // namespace work_detail
}  // namespace loopscope::costmodel
