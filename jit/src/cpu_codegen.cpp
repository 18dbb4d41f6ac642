// The CPU variant's machine code: the ORC LLJIT that compiles the IR of
// cpu_lowering.cpp (quick and optimised tiers), the variant cache and the
// background upgrades, and running a variant on a bound instance (snapshots,
// traps back to Python, the IEEE flags).
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/LICM.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "cpu_lowering.hpp"
#include "cpu_runtime.hpp"
#include "cpu_spec.hpp"
#include "cpu_types.hpp"
#include "loopscope/debug_settings.hpp"
#include "loopscope/analysis/exactness.hpp"
#include "loopscope/jit/cpu.hpp"

namespace loopscope::jit {
using namespace loopscope::analysis;
using namespace loopscope::jit::cpu;

// ---------------------------------------------------------------------------
class CpuVariant {
 public:
  std::string key;
  struct ArraySlot {
    std::string name;
    int slot, ndim;
    bool written;
  };
  struct VarSlot {
    std::string name;
    int slot;
    Repr repr;
    bool input;
    bool numpy;
    Small small;  // an input np.uint8 ... np.uint64, np.float16 (its kind before the nest assigns it)
  };
  std::vector<ArraySlot> arrays;
  std::vector<VarSlot> vars;
  std::vector<std::pair<std::string, int>> outputs;  // name, var slot
  std::set<int> float_slots;    // slots of variables kept as doubles, whatever kind they hold (int then float)
  std::set<int> complex_slots;  // slots of complex variables (imaginary part in slot + 4; int then complex)
  int frame_size = 0;
  bool needs_snapshot = false;
  bool reads_fp_flags = false;      // a NumPy float operation: the run reads the IEEE flags
  bool snapshot_for_flags = false;  // ... and a run that ends with them raised needs the saved arrays
  bool parallel = false;
  std::string parallel_description;
  std::string interchanged;  // "i/j" per interchanged nest (outer/inner as written)
  std::string jammed;        // "i/j" per unrolled-and-jammed nest
  CpuTier tier = CpuTier::Optimised;
  int32_t (*entry)(int64_t*, void*) = nullptr;
  std::string ir;
  // How long its latest run took (ms; negative: never run): a later call that
  // finds quick code whose optimised code is on its way gets that code first
  // when this run was long (optimised_if_worth_waiting).
  mutable std::atomic<double> last_run_ms{-1};
  // How long its compile took (ms): quick code's, to price the optimised one.
  double compile_ms = 0;
};

namespace {
// ---------------------------------------------------------------------------
// The JIT: one LLJIT for the process; every variant is a module with unique
// symbol names. libm functions (exp, log, pow, fmod) resolve from the process.
struct Jit {
  std::unique_ptr<llvm::orc::LLJIT> lljit;
  std::optional<llvm::orc::JITTargetMachineBuilder> jtmb;
  std::mutex m;  // LLJIT's code generation and symbol names
  uint64_t counter = 0;
  // The target machine the optimisation pipeline asks for cost models. A
  // TargetMachine caches subtargets without locking, so each thread that
  // compiles (the caller's, the background one) has its own.
  llvm::TargetMachine* opt_tm() {
    thread_local std::unordered_map<const Jit*, std::unique_ptr<llvm::TargetMachine>> tms;
    auto& tm = tms[this];
    if (!tm) {
      auto made = jtmb->createTargetMachine();
      if (!made) throw std::runtime_error("LLVM cannot create a target machine: " + llvm::toString(made.takeError()));
      tm = std::move(*made);
    }
    return tm.get();
  }
};

// Two JITs: tier 0 (quick machine code: fast instruction selection, no
// machine-level optimisation) and tier 1 (the host's full O3 back end).
Jit* make_jit(bool quick) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) throw std::runtime_error("LLVM cannot describe this CPU");
  const int cg = debug_settings().codegen_opt_level;
  jtmb->setCodeGenOptLevel(quick     ? llvm::CodeGenOptLevel::None
                           : cg <= 2 ? llvm::CodeGenOptLevel::Default
                                     : llvm::CodeGenOptLevel::Aggressive);
  jtmb->getOptions().AllowFPOpFusion = llvm::FPOpFusion::Strict;  // no FMA contraction
  auto* J = new Jit;
  J->jtmb = *jtmb;
  auto lj = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
  if (!lj) throw std::runtime_error("LLVM ORC LLJIT cannot start: " + llvm::toString(lj.takeError()));
  J->lljit = std::move(*lj);
  auto gen =
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(J->lljit->getDataLayout().getGlobalPrefix());
  if (!gen) throw std::runtime_error("LLVM cannot search this process for symbols");
  J->lljit->getMainJITDylib().addGenerator(std::move(*gen));
  return J;
}

// LLVM 19 vectorises the remainder of a vectorised loop only when the main
// loop's vector width is 16 or more, so a loop of doubles on AVX-512 (8 to a
// vector, unrolled 4 times: 32 elements a step) ran up to 31 iterations one by
// one: a third of gemm's `C[i, j] += ...` row of 220 at PolyBench MEDIUM.
// From a width of 8, the remainder gets a narrower vector loop as well, as
// LLVM 20 decides from the width times the unroll. Only a cost threshold:
// what is vectorised, and how, does not change (no reassociation).
void tune_vectoriser() {
  auto& options = llvm::cl::getRegisteredOptions();
  auto it = options.find("epilogue-vectorization-minimum-VF");
  if (it != options.end() && it->second->getNumOccurrences() == 0)
    (void)it->second->addOccurrence(0, it->second->ArgStr, "8");
}

Jit& jit(bool quick = false) {
  static std::once_flag once;
  static Jit* js[2];
  std::call_once(once, [] {
    tune_vectoriser();
    js[0] = make_jit(false);
    js[1] = make_jit(true);
  });
  return *js[quick ? 1 : 0];
}

// ---------------------------------------------------------------------------
struct Cache {
  std::mutex m;
  std::unordered_map<std::string, std::shared_ptr<const CpuVariant>> map;
  size_t hits = 0, misses = 0, upgrades = 0;
  size_t specialisations_reused = 0;
  uint64_t generation = 0;           // bumped by clear_cpu_cache
  std::set<std::string> pending;     // keys whose optimised code is queued or being built
  std::condition_variable upgraded;  // a key left `pending` (built, failed or dropped)
  // Specialisations already made: memo_key -> what a cache lookup needs.
  struct Specialised {
    std::string key;  // Spec::key
    std::string parallel_description;
    std::set<int> parallel_loops;
    std::map<std::string, int> hidden_kinds;  // CpuCheck::hidden_kinds
  };
  std::unordered_map<std::string, Specialised> specialised;
  // Variants compiled per nest, and in all: the JIT's code is never freed,
  // and a loop whose step changes at every run (the sieve's range(i * i, n +
  // 1, i), run for each i) would compile without end until the process runs
  // out of memory maps and dies. Past these limits, new variants decline.
  std::unordered_map<const LoopNest*, size_t> variants_per_nest;
  size_t compiled = 0;  // never reset: clear_cpu_cache forgets variants, their code stays
};
constexpr size_t kMaxVariantsPerNest = 32;
constexpr size_t kMaxVariants = 20000;  // about two memory maps each; the limit is 65530
Cache& cache() {
  static Cache c;
  return c;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Errors LLVM reports through its context while compiling on this thread.
// Without a handler LLVM prints them and exits the process.
thread_local std::string t_llvm_errors;
void llvm_diagnostic(const llvm::DiagnosticInfo* d, void*) {
  if (d->getSeverity() != llvm::DS_Error) return;
  std::string msg;
  llvm::raw_string_ostream os(msg);
  llvm::DiagnosticPrinterRawOStream printer(os);
  d->print(printer);
  if (!t_llvm_errors.empty()) t_llvm_errors += "; ";
  t_llvm_errors += os.str();
}

std::shared_ptr<const CpuVariant> compile_spec(const Spec& spec, bool quick) {
  auto ctx = std::make_unique<llvm::LLVMContext>();
  ctx->setDiagnosticHandlerCallBack(&llvm_diagnostic, nullptr);
  t_llvm_errors.clear();
  auto mod = std::make_unique<llvm::Module>("loopscope", *ctx);
  Jit& J = jit(quick);
  std::string name;
  {
    std::lock_guard<std::mutex> lk(J.m);
    name = "ls_nest_" + std::to_string(J.counter++);
  }
  mod->setDataLayout(J.lljit->getDataLayout());
  mod->setTargetTriple(J.lljit->getTargetTriple().str());
  auto tb0 = std::chrono::steady_clock::now();
  LoweredNest cg = lower_nest(spec, *ctx, *mod, name);
  if (cg.traps && !cg.interchanged.empty()) {
    // run-time checks: keep Python's iteration order (which check fails first)
    mod = std::make_unique<llvm::Module>("loopscope", *ctx);
    mod->setDataLayout(J.lljit->getDataLayout());
    mod->setTargetTriple(J.lljit->getTargetTriple().str());
    LoweringOptions in_order;
    in_order.allow_interchange = false;
    cg = lower_nest(spec, *ctx, *mod, name, in_order);
  }
  auto tb1 = std::chrono::steady_clock::now();
  std::string err;
  llvm::raw_string_ostream es(err);
  if (llvm::verifyModule(*mod, &es)) throw std::runtime_error("generated LLVM IR is invalid: " + es.str());
  // O3 with the host's cost model; no fast-math flags are ever emitted, and
  // the target machine forbids FP contraction.
  if (quick) {
    // Quick tier: registers instead of stack slots, common subexpressions,
    // loop-invariant code hoisted (the run-time frame loads and the
    // subscripts' stride products); no unrolling, no vectorisation.
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(J.opt_tm());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cam, mam);
    llvm::FunctionPassManager fpm;
    fpm.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
    fpm.addPass(llvm::EarlyCSEPass());
    fpm.addPass(llvm::SimplifyCFGPass());
    llvm::LoopPassManager lpm;
    lpm.addPass(llvm::LICMPass(llvm::LICMOptions()));
    fpm.addPass(llvm::createFunctionToLoopPassAdaptor(std::move(lpm), /*UseMemorySSA=*/true));
    llvm::ModulePassManager mpm;
    mpm.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(fpm)));
    mpm.run(*mod, mam);
  } else {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    pto.LoopUnrolling = debug_settings().llvm_unroll;
    llvm::PassBuilder pb(J.opt_tm(), pto);
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cam, mam);
    const int level = debug_settings().opt_level;
    auto mpm = pb.buildPerModuleDefaultPipeline(level <= 1   ? llvm::OptimizationLevel::O1
                                                : level == 2 ? llvm::OptimizationLevel::O2
                                                             : llvm::OptimizationLevel::O3);
    mpm.run(*mod, mam);
  }
  auto tb2 = std::chrono::steady_clock::now();
  const bool may_trap = cg.traps && module_may_trap(*mod);  // the checks LLVM did not prove away
  auto v = std::make_shared<CpuVariant>();
  if (spec.options.keep_ir) {
    llvm::raw_string_ostream os(v->ir);
    mod->print(os, nullptr);
  }
  auto tb3 = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lk(J.m);
    if (auto e = J.lljit->addIRModule(llvm::orc::ThreadSafeModule(std::move(mod), std::move(ctx))))
      throw std::runtime_error("LLVM JIT rejected the module: " + llvm::toString(std::move(e)));
    auto sym = J.lljit->lookup(name);
    if (!sym) throw std::runtime_error("LLVM JIT lookup failed: " + llvm::toString(sym.takeError()));
    if (!t_llvm_errors.empty()) throw std::runtime_error("the LLVM back end failed: " + t_llvm_errors);
    v->entry = sym->toPtr<int32_t (*)(int64_t*, void*)>();
  }
  if (debug_settings().level >= 2) {
    auto t4 = std::chrono::steady_clock::now();
    auto d = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    std::fprintf(stderr, "cpu compile (%s): irgen %.2f ms, opt %.2f ms, print %.2f ms, codegen %.2f ms\n",
                 quick ? "quick" : "optimised", d(tb0, tb1), d(tb1, tb2), d(tb2, tb3), d(tb3, t4));
  }
  v->key = spec.key;
  v->tier = quick ? CpuTier::Quick : CpuTier::Optimised;
  v->compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tb0).count();
  for (auto& a : spec.arrays) v->arrays.push_back({a.name, a.slot, a.ndim, a.written});
  for (auto& x : spec.vars) {
    v->vars.push_back({x.name, x.slot, x.type.r, x.input, x.input_numpy, x.input_numpy ? x.type.small : Small::None});
    if (x.int_then_float) v->float_slots.insert(x.slot);
    if (is_complex(x.type.r)) v->complex_slots.insert(x.slot);
  }
  for (auto& o : spec.bound->nest->outputs) {
    auto it = spec.var_index.find(o);
    if (it != spec.var_index.end()) v->outputs.push_back({o, spec.vars[it->second].slot});
  }
  v->frame_size = spec.frame_size;
  // A run may stop (a trap), or end with IEEE flags that NumPy would report:
  // Python then runs the loop from the original arrays, saved before the run.
  // For the flags, only while NumPy prints its warnings, and only when the
  // nest reads an array it writes (or one sharing memory with it): otherwise
  // Python computes the same elements again from the same inputs.
  bool written_read = false;
  for (auto& a : spec.arrays) written_read = written_read || (a.written && cg.loaded_arrays.count(a.name));
  bool rerun_rewrites_all = spec.disjoint && !written_read;
  v->reads_fp_flags = cg.reads_fp_flags;
  v->needs_snapshot = may_trap;
  v->snapshot_for_flags = cg.reads_fp_flags && !rerun_rewrites_all;
  for (auto& x : cg.interchanged) v->interchanged += (v->interchanged.empty() ? "" : ", ") + x;
  for (auto& x : cg.jammed) v->jammed += (v->jammed.empty() ? "" : ", ") + x;
  v->parallel = !spec.parallel_loops.empty();
  v->parallel_description = spec.parallel_description;
  return v;
}

// ---------------------------------------------------------------------------
// Background upgrades: one low-priority thread compiles Optimised code for
// variants that were compiled Quick and swaps it into the cache. A job owns
// copies of everything the code generator reads (the bound instance, the
// plan, and a reference that keeps the nest's IR alive).
struct UpgradeJob {
  analysis::BoundNest bound;
  ParallelPlan plan;
  CpuOptions options;
  uint64_t generation = 0;
  std::string key;
  bool install = false;  // no Quick entry to replace: add the variant (compile_cpu_in_background)
};

struct Upgrader {
  std::mutex m;
  std::condition_variable wake, idle;
  std::deque<std::unique_ptr<UpgradeJob>> queue;
  bool busy = false, stopping = false, started = false;
};

Upgrader& upgrader() {
  // Never destroyed: the worker may outlive static destruction order.
  static Upgrader* u = new Upgrader;
  return *u;
}

void run_upgrade(UpgradeJob& job) {
  Spec spec;
  std::shared_ptr<const CpuVariant> v;
  try {
    spec = specialise(job.bound, job.plan, job.options);
    v = compile_spec(spec, false);
  } catch (const std::exception& e) {
    v = nullptr;  // the Quick variant stays in use
    if (debug_settings().level >= 1) std::fprintf(stderr, "loopscope: background compile failed: %s\n", e.what());
  } catch (...) {
    v = nullptr;
  }
  Cache& c = cache();
  std::lock_guard<std::mutex> lk(c.m);
  if (c.generation != job.generation) return;
  c.pending.erase(job.key);
  c.upgraded.notify_all();
  if (!v) return;
  auto it = c.map.find(spec.key);
  if (it == c.map.end()) {
    if (job.install) c.map.emplace(spec.key, std::move(v));
    return;
  }
  if (it->second->tier != CpuTier::Quick) return;
  it->second = std::move(v);
  ++c.upgrades;
}

void upgrade_worker() {
  // Below the interpreter's and the parallel loops' priority: on a machine
  // with few cores the compile takes what they leave.
  setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
  Upgrader& u = upgrader();
  std::unique_lock<std::mutex> lk(u.m);
  for (;;) {
    u.wake.wait(lk, [&] { return u.stopping || !u.queue.empty(); });
    if (u.stopping) break;
    auto job = std::move(u.queue.front());
    u.queue.pop_front();
    u.busy = true;
    lk.unlock();
    run_upgrade(*job);
    job.reset();
    lk.lock();
    u.busy = false;
    if (u.queue.empty()) u.idle.notify_all();
  }
  u.busy = false;
  u.idle.notify_all();
}

// Lets a compile under way finish and starts no other. It must run before
// exit() destroys LLVM's static objects: some are function-local statics
// created (and so destroyed) after this handler was registered, so the
// embedding application calls stop_cpu_compiles() first (the Python module
// does from Python's atexit, which runs before any C exit handler); this C
// handler only covers programs that do not.
void stop_upgrades_at_exit() {
  Upgrader& u = upgrader();
  std::unique_lock<std::mutex> lk(u.m);
  u.stopping = true;
  u.queue.clear();
  u.wake.notify_all();
  u.idle.wait(lk, [&] { return !u.busy; });
}

// Called with the cache's lock held.
void upgrade_later(const BoundNest& bound, const ParallelPlan& plan, const CpuOptions& options, uint64_t generation,
                   const std::string& key, bool install = false) {
  auto job = std::make_unique<UpgradeJob>();
  job->key = key;
  job->install = install;
  job->bound = bound;
  job->plan = plan;
  job->options = options;
  job->options.tier = CpuTier::Optimised;
  job->options.prefer_quick = nullptr;
  job->generation = generation;
  Upgrader& u = upgrader();
  std::lock_guard<std::mutex> lk(u.m);
  if (u.stopping) return;
  if (!u.started) {
    u.started = true;
    std::atexit(stop_upgrades_at_exit);
    std::thread(upgrade_worker).detach();
  }
  u.queue.push_back(std::move(job));
  u.wake.notify_one();
}

void drop_queued_upgrades() {
  Upgrader& u = upgrader();
  std::lock_guard<std::mutex> lk(u.m);
  u.queue.clear();
  if (!u.busy) u.idle.notify_all();
}

ValueKind kind_of(int code) {
  switch (code) {
    case 0: return ValueKind::PyInt;
    case 1: return ValueKind::PyFloat;
    case 2: return ValueKind::PyBool;
    case 3: return ValueKind::NpFloat64;
    case 4: return ValueKind::NpFloat32;
    case 5: return ValueKind::NpInt64;
    case 6: return ValueKind::NpInt32;
    case 8: return ValueKind::NpUInt8;
    case 9: return ValueKind::NpInt8;
    case 10: return ValueKind::NpUInt16;
    case 11: return ValueKind::NpInt16;
    case 12: return ValueKind::NpUInt32;
    case 13: return ValueKind::PyComplex;
    case 14: return ValueKind::NpComplex128;
    case 15: return ValueKind::NpComplex64;
    case 16: return ValueKind::NpUInt64;
    case 17: return ValueKind::NpFloat16;
    default: return ValueKind::NpBool;
  }
}
}  // namespace

const char* to_string(ValueKind k) {
  switch (k) {
    case ValueKind::PyInt: return "int";
    case ValueKind::PyFloat: return "float";
    case ValueKind::PyBool: return "bool";
    case ValueKind::NpFloat64: return "float64";
    case ValueKind::NpFloat32: return "float32";
    case ValueKind::NpInt64: return "int64";
    case ValueKind::NpInt32: return "int32";
    case ValueKind::NpBool: return "bool_";
    case ValueKind::NpUInt8: return "uint8";
    case ValueKind::NpInt8: return "int8";
    case ValueKind::NpUInt16: return "uint16";
    case ValueKind::NpInt16: return "int16";
    case ValueKind::NpUInt32: return "uint32";
    case ValueKind::PyComplex: return "complex";
    case ValueKind::NpComplex128: return "complex128";
    case ValueKind::NpComplex64: return "complex64";
    case ValueKind::NpUInt64: return "uint64";
    case ValueKind::NpFloat16: return "float16";
  }
  return "?";
}

namespace {
// Everything the specialisation of (bound, plan, options) reads, for plans
// that have an identity (from the plan cache, never changed): the plan by
// identity, the nest by address and the bound facts the specialiser reads
// (scalar kinds and integer values, array dtypes, shapes, strides,
// writeability and which arrays overlap) by value. Empty: not memoisable.
std::string memo_key(const BoundNest& bound, const ParallelPlan& plan, const CpuOptions& options) {
  if (plan.identity.value() == 0 || !bound.nest) return "";
  std::string k;
  k.reserve(256);
  auto put = [&](int64_t v) { k.append(reinterpret_cast<const char*>(&v), sizeof v); };
  put(static_cast<int64_t>(plan.identity.value()));
  put(static_cast<int64_t>(reinterpret_cast<uintptr_t>(bound.nest)));
  k.push_back(options.parallel ? 'P' : 'p');
  k.push_back(options.keep_ir ? 'I' : 'i');
  for (auto& n : options.numpy_scalars) k += n + '\x1f';
  for (auto& n : options.complex64_scalars) k += n + '\x1e';
  for (auto& n : options.float32_scalars) k += n + '\x1d';
  for (auto& n : options.uint64_scalars) k += n + '\x1c';
  for (auto& n : options.float16_scalars) k += n + '\x1b';
  for (auto& [n, t] : options.small_int_scalars) k += n + static_cast<char>('a' + static_cast<int>(t)) + '\x1a';
  put(static_cast<int64_t>(options.ufunc_loops ? options.ufunc_loops->size() : 0));
  k.push_back('|');
  for (auto& [name, s] : bound.scalars) {
    k += name;
    k.push_back(static_cast<char>('0' + static_cast<int>(s.kind)));
    put(s.kind == ScalarKind::Float ? 0 : s.ival);
  }
  std::vector<const ArrayBinding*> arrays;
  for (auto& [name, a] : bound.arrays) {
    arrays.push_back(&a);
    k += name;
    k.push_back(static_cast<char>('0' + static_cast<int>(a.dtype)));
    k.push_back(a.writeable ? 'w' : 'r');
    k.push_back(a.python_elements ? 'L' : 'n');
    put(static_cast<int64_t>(a.shape.size()));
    for (auto x : a.shape) put(x);
    for (auto x : a.strides) put(x);
  }
  for (size_t i = 0; i < arrays.size(); ++i)
    for (size_t j = i + 1; j < arrays.size(); ++j)
      k.push_back(arrays[i]->mem_lo < arrays[j]->mem_hi && arrays[j]->mem_lo < arrays[i]->mem_hi ? 'o' : 'd');
  return k;
}
}  // namespace

// CpuCheck::hidden_kinds of a specialisation.
static std::map<std::string, int> hidden_kinds(const Spec& spec) {
  std::map<std::string, int> out;
  for (const VarInfo& v : spec.vars)
    if (v.assigned && analysis::is_hidden_name(v.name))
      out[v.name] = v.typed && !v.type.mixed() && !v.int_then_float && !v.int_then_complex && !v.int_or_small
                        ? kind_code(v.type)
                        : -1;
  return out;
}

CpuCheck check_cpu(const BoundNest& bound, const ParallelPlan& plan, const CpuOptions& options) {
  CpuCheck out;
  const std::string memo = memo_key(bound, plan, options);
  if (!memo.empty()) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lk(c.m);
    auto m = c.specialised.find(memo);
    if (m != c.specialised.end()) {  // specialised before: no decline
      out.parallel_loops = m->second.parallel_description;
      out.parallel_loop_ids.assign(m->second.parallel_loops.begin(), m->second.parallel_loops.end());
      out.hidden_kinds = m->second.hidden_kinds;
      out.compiled = c.map.count(m->second.key) > 0;
      return out;
    }
  }
  try {
    Spec spec = specialise(bound, plan, options);
    out.parallel_loops = spec.parallel_description;
    out.parallel_loop_ids.assign(spec.parallel_loops.begin(), spec.parallel_loops.end());
    out.hidden_kinds = hidden_kinds(spec);
    Cache& c = cache();
    std::lock_guard<std::mutex> lk(c.m);
    out.compiled = c.map.count(spec.key) > 0;
  } catch (const Unsupported& u) {
    out.decline = u.decline();
  }
  return out;
}

bool cpu_variant_cached(const BoundNest& bound, const ParallelPlan& plan, const CpuOptions& options) {
  const std::string memo = memo_key(bound, plan, options);
  if (memo.empty()) return false;
  Cache& c = cache();
  std::lock_guard<std::mutex> lk(c.m);
  auto m = c.specialised.find(memo);
  return m != c.specialised.end() && c.map.count(m->second.key) > 0;
}

bool compile_cpu_in_background(const BoundNest& bound, const ParallelPlan& plan, const CpuOptions& options) {
  if (!options.nest_owner || options.nest_owner.get() != bound.nest || options.keep_ir) return false;
  const std::string memo = memo_key(bound, plan, options);
  Spec spec;
  try {
    spec = specialise(bound, plan, options);
  } catch (const Unsupported&) {
    return false;
  }
  Cache& c = cache();
  std::lock_guard<std::mutex> lk(c.m);
  if (!memo.empty()) {
    if (c.specialised.size() > 4096) c.specialised.clear();
    c.specialised[memo] =
        Cache::Specialised{spec.key, spec.parallel_description, spec.parallel_loops, hidden_kinds(spec)};
  }
  if (c.map.count(spec.key) || c.pending.count(spec.key)) return false;
  size_t& per_nest = c.variants_per_nest[bound.nest];
  if (per_nest >= kMaxVariantsPerNest || c.compiled >= kMaxVariants) return false;
  ++per_nest;
  ++c.compiled;
  ++c.misses;
  c.pending.insert(spec.key);
  upgrade_later(bound, plan, options, c.generation, spec.key, /*install=*/true);
  return true;
}

// A call that finds quick code whose optimised code is on its way gets the
// optimised code first when the quick code's latest run was long: optimised
// code runs 1.3 to 52 times faster (median about 8 on PolyBench; the cost
// model's quick price, docs/costmodel.md), so compiling it now
// (when its job is still queued: the background thread runs at low priority
// and a busy machine starves it) or waiting for it (while the background
// thread builds it, up to half that run) saves more than it costs. A short
// run is not worth it, and the wait is bounded (the caller holds the
// interpreter). Compiling the job here costs the optimised compile, about
// kOptimisedOverQuickCompile times the quick one (ORC at O3 against the fast
// instruction selector: 70 ms against 13 ms for a PolyBench 2mm nest): only
// when this one run saves more (four fifths of it, the saving of code 5
// times faster: the low end of what O3 gains, so that a compile is not
// paid for a saving that does not come); otherwise the call waits as for a job under way (a
// compile of 100 ms or more on a busy machine made PolyBench's second call
// slower than its first at MEDIUM).
constexpr double kWaitMinRunMs = 5.0;
constexpr double kWaitShareOfRun = 0.5;
constexpr double kWaitMaxMs = 1000.0;
constexpr double kQuickRunSaving = 0.8;
constexpr double kOptimisedOverQuickCompile = 5.0;

// The queued upgrade job for `key`, taken off the queue (null when it is not
// queued: under way, done or dropped). Called with the cache's lock held.
std::unique_ptr<UpgradeJob> take_queued_upgrade(const std::string& key) {
  Upgrader& u = upgrader();
  std::lock_guard<std::mutex> lk(u.m);
  for (auto it = u.queue.begin(); it != u.queue.end(); ++it)
    if ((*it)->key == key) {
      auto job = std::move(*it);
      u.queue.erase(it);
      if (u.queue.empty() && !u.busy) u.idle.notify_all();
      return job;
    }
  return nullptr;
}

// With c.m held by `lk`: the variant to run for `key`, `found` or the
// optimised code that replaced it in the meantime.
std::shared_ptr<const CpuVariant> optimised_if_worth_waiting(Cache& c, std::unique_lock<std::mutex>& lk,
                                                             const std::string& key,
                                                             std::shared_ptr<const CpuVariant> found) {
  if (found->tier != CpuTier::Quick || !c.pending.count(key)) return found;
  const double last = found->last_run_ms.load(std::memory_order_relaxed);
  if (last < kWaitMinRunMs) return found;
  std::unique_ptr<UpgradeJob> job;
  if (last * kQuickRunSaving >= kOptimisedOverQuickCompile * found->compile_ms) job = take_queued_upgrade(key);
  if (job) {
    lk.unlock();
    run_upgrade(*job);  // installs the code under the cache's lock
    lk.lock();
  } else {
    const std::chrono::duration<double, std::milli> budget(std::min(kWaitMaxMs, kWaitShareOfRun * last));
    c.upgraded.wait_for(lk, budget, [&] { return !c.pending.count(key); });
  }
  auto it = c.map.find(key);
  return it != c.map.end() ? it->second : found;
}

CpuCompileResult compile_cpu(const BoundNest& bound, const ParallelPlan& plan, const CpuOptions& options) {
  CpuCompileResult res;
  auto t0 = std::chrono::steady_clock::now();
  Cache& c = cache();
  // A later run of a specialised instance skips the specialisation (about
  // 1 ms at 200 statements) when its variant is still cached.
  const std::string memo = memo_key(bound, plan, options);
  if (!memo.empty()) {
    std::unique_lock<std::mutex> lk(c.m);
    auto m = c.specialised.find(memo);
    if (m != c.specialised.end()) {
      auto it = c.map.find(m->second.key);
      if (it != c.map.end()) {
        ++c.hits;
        ++c.specialisations_reused;
        const std::string key = m->second.key;  // the wait below may let the memo go
        const std::string parallel = m->second.parallel_description;
        res.variant = optimised_if_worth_waiting(c, lk, key, it->second);
        res.cache_hit = true;
        res.tier = res.variant->tier;
        res.upgrade_pending = c.pending.count(key) > 0;
        res.parallel_loops = parallel;
        res.analyse_ms = ms_since(t0);
        return res;
      }
    }
  }
  Spec spec;
  try {
    spec = specialise(bound, plan, options);
  } catch (const Unsupported& u) {
    res.decline = u.decline();
    res.analyse_ms = ms_since(t0);
    return res;
  }
  res.analyse_ms = ms_since(t0);
  res.parallel_loops = spec.parallel_description;
  uint64_t generation;
  {
    std::unique_lock<std::mutex> lk(c.m);
    if (!memo.empty()) {
      if (c.specialised.size() > 4096) c.specialised.clear();
      c.specialised[memo] =
          Cache::Specialised{spec.key, spec.parallel_description, spec.parallel_loops, hidden_kinds(spec)};
    }
    auto it = c.map.find(spec.key);
    if (it != c.map.end()) {
      ++c.hits;
      res.variant = optimised_if_worth_waiting(c, lk, spec.key, it->second);
      res.cache_hit = true;
      res.tier = res.variant->tier;
      res.upgrade_pending = c.pending.count(spec.key) > 0;
      return res;
    }
    size_t& per_nest = c.variants_per_nest[bound.nest];
    if (per_nest >= kMaxVariantsPerNest || c.compiled >= kMaxVariants) {
      res.decline = Decline{DeclineCode::UnsupportedValue, bound.nest && bound.nest->root ? bound.nest->root->line : 0,
                            per_nest >= kMaxVariantsPerNest
                                ? "this loop was already compiled for " + std::to_string(per_nest) +
                                      " different sets of values (a step or bound that changes from one run to the "
                                      "next, such as range(i * i, n, i)), so it runs as plain Python rather than be "
                                      "compiled again for each"
                                : "the CPU compiler has built " + std::to_string(c.compiled) +
                                      " versions of loops in this process, its limit, so new ones run as plain "
                                      "Python (restarting the kernel frees them)"};
      return res;
    }
    ++per_nest;
    ++c.compiled;
    ++c.misses;
    generation = c.generation;
  }
  // Which tier: the IR text for a report is always the optimised code; Auto
  // takes Quick only when the nest outlives this call (the background compile
  // reads it) and the caller's cost model prefers it.
  bool quick = options.tier == CpuTier::Quick;
  if (options.tier == CpuTier::Auto && !options.keep_ir && options.nest_owner && options.nest_owner.get() == bound.nest)
    quick = options.prefer_quick ? options.prefer_quick() : true;
  auto t1 = std::chrono::steady_clock::now();
  try {
    res.variant = compile_spec(spec, quick);
  } catch (const Unsupported& u) {
    res.decline = u.decline();
    return res;
  } catch (const std::exception& e) {
    // An engine bug, not the user's: the sentence says so plainly (as
    // loopscope/_errors.py:internal does); the LLVM text is for developers.
    if (debug_settings().level >= 1) std::fprintf(stderr, "loopscope: the CPU compiler failed: %s\n", e.what());
    res.decline = Decline{DeclineCode::Internal, bound.nest && bound.nest->root ? bound.nest->root->line : 0,
                          "Loopscope's CPU compiler hit an internal problem, so this runs as plain Python "
                          "(LOOPSCOPE_DEBUG=1 shows the details)",
                          e.what()};
    return res;
  }
  res.compile_ms = ms_since(t1);
  res.tier = res.variant->tier;
  std::lock_guard<std::mutex> lk(c.m);
  c.map.emplace(spec.key, res.variant);
  if (quick && options.tier == CpuTier::Auto && c.generation == generation) {
    c.pending.insert(spec.key);
    upgrade_later(bound, plan, options, generation, spec.key);
    res.upgrade_pending = true;
  }
  return res;
}

CpuRunResult run_cpu(const CpuVariant& v, const BoundNest& bound,
                     const std::map<std::string, ByteExtent>* write_extents) {
  auto t0 = std::chrono::steady_clock::now();
  CpuRunResult res;
  std::vector<int64_t> frame(static_cast<size_t>(v.frame_size), 0);
  for (auto& a : v.arrays) {
    const ArrayBinding& ab = bound.arrays.at(a.name);
    frame[a.slot] = static_cast<int64_t>(reinterpret_cast<uintptr_t>(ab.data));
    for (int k = 0; k < a.ndim; ++k) {
      frame[a.slot + 1 + k] = ab.shape[k];
      frame[a.slot + 1 + a.ndim + k] = ab.strides[k];
    }
  }
  for (auto& x : v.vars) {
    frame[x.slot + 1] = -1;
    if (!x.input) continue;
    const ScalarBinding& sb = bound.scalars.at(x.name);
    int64_t bits = 0;
    switch (x.repr) {
      case Repr::F64:
      case Repr::F32: {  // a float32 is held as the double of the same value
        double d = sb.kind == ScalarKind::Float ? sb.fval : static_cast<double>(sb.ival);
        std::memcpy(&bits, &d, 8);
        break;
      }
      case Repr::C128:
      case Repr::C64: {
        // A complex (or an int that the nest makes a complex: 0 only).
        double re = sb.kind == ScalarKind::Complex ? sb.fval : static_cast<double>(sb.ival);
        double im = sb.kind == ScalarKind::Complex ? sb.fimag : 0.0;
        std::memcpy(&bits, &re, 8);
        int64_t ibits;
        std::memcpy(&ibits, &im, 8);
        frame[x.slot + 4] = ibits;
        break;
      }
      default: bits = sb.ival; break;
    }
    frame[x.slot] = bits;
    frame[x.slot + 1] = sb.kind == ScalarKind::Int && is_complex(x.repr) ? kind_code(Repr::I64, false)
                        : x.small != Small::None                         ? kind_code(VT{x.repr, false, true, x.small})
                                                                         : kind_code(x.repr, x.numpy);
    frame[x.slot + 2] = 1;
  }
  // Arrays written by a variant that may stop half-way are saved first, so
  // that a fallback to Python starts from the original data: the bytes the
  // nest can write (write_extents), or the whole array. The copies go
  // to a buffer kept between runs (a fresh large allocation costs a page
  // fault per 4 KiB at every run), and large ones are made on the pool.
  struct Saved {
    uintptr_t addr;
    size_t offset, size;
  };
  std::vector<Saved> snapshot;
  thread_local std::vector<char> arena;
  constexpr size_t kKeepArena = size_t(256) << 20;  // larger buffers are not kept
  const int threads = v.parallel ? cpu_thread_count() : 1;
  const bool numpy_warns = numpy_warnings();
  if (v.needs_snapshot || (v.snapshot_for_flags && numpy_warns)) {
    size_t need = 0;
    for (auto& a : v.arrays) {
      if (!a.written) continue;
      // The buffer of the values appended to a list (kernel/python/loopscope/_appends.py) is made
      // for this run and dropped when it stops: nothing in it is restored.
      if (a.name.rfind("$appended_to_", 0) == 0) continue;
      const ArrayBinding& ab = bound.arrays.at(a.name);
      uintptr_t lo = ab.mem_lo, hi = ab.mem_hi;
      if (write_extents) {
        auto e = write_extents->find(a.name);
        if (e == write_extents->end()) continue;  // no write can happen
        const uintptr_t data = reinterpret_cast<uintptr_t>(ab.data);
        lo = std::max(lo, data + static_cast<uintptr_t>(e->second.lo));
        hi = std::min(hi, data + static_cast<uintptr_t>(e->second.hi));
      }
      if (hi <= lo) continue;
      snapshot.push_back({lo, need, static_cast<size_t>(hi - lo)});
      need += snapshot.back().size;
    }
    if (arena.size() < need) arena.resize(need);
    res.snapshot_bytes = need;
    std::vector<rt::CopyJob> jobs;
    for (auto& sv : snapshot)
      jobs.push_back({arena.data() + sv.offset, reinterpret_cast<const void*>(sv.addr), sv.size});
    rt::parallel_copy(jobs, std::max(threads, cpu_thread_count()));
    // Reading a page no one has touched maps the shared zero page; the loop's
    // first write then copies it and flushes every core's TLB, which with a
    // thread pool in a virtual machine costs far more than the loop's own
    // write faults. So each saved page is written once here, on this thread:
    // a compare-and-swap of its first saved byte with its own value, which
    // changes nothing (not even a byte another thread writes meanwhile) and
    // makes the page private and writable (a compiler may turn an atomic
    // `or` of 0 into a load, never a compare-and-swap). For pages already
    // there (the usual case) it is a store to a line the copy just read,
    // where madvise(MADV_POPULATE_WRITE) cost about 150 ns a page (a 1.28 MB
    // array: 48 us, twice the copy).
    for (auto& sv : snapshot) {
      constexpr uintptr_t kPage = 4096;
      for (uintptr_t a = sv.addr; a < sv.addr + sv.size; a = (a & ~(kPage - 1)) + kPage) {
        auto* p = reinterpret_cast<unsigned char*>(a);
        unsigned char v = __atomic_load_n(p, __ATOMIC_RELAXED);
        __atomic_compare_exchange_n(p, &v, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
      }
    }
  }
  struct ReleaseArena {
    ~ReleaseArena() {
      if (arena.size() > kKeepArena) std::vector<char>().swap(arena);
    }
  } release_arena;
  rt::RunState st;
  st.threads = threads;
  st.numpy_warns = numpy_warns;
  st.last_poll = std::chrono::steady_clock::now();
  rt::set_owner_thread(true);
  auto tr0 = std::chrono::steady_clock::now();
  rt::FpFlagsScope fp_flags(&st);  // clears the flags; the chunks on the pool add theirs
  int32_t status = v.entry(frame.data(), &st);
  if (status == rt::kOk && v.reads_fp_flags && numpy_warns && fp_flags.raised()) {
    st.trap_reason.store(static_cast<int>(Trap::NumpyWarning));
    status = rt::kTrap;
  }
  rt::set_owner_thread(false);
  if (debug_settings().level >= 2)
    std::fprintf(stderr, "cpu run: snapshot %.2f ms, native code %.2f ms\n", ms_since(t0) - ms_since(tr0),
                 ms_since(tr0));
  if (status == rt::kTrap) {
    // in reverse: where arrays overlap, the first saved copy holds the original
    for (auto it = snapshot.rbegin(); it != snapshot.rend(); ++it)
      std::memcpy(reinterpret_cast<void*>(it->addr), arena.data() + it->offset, it->size);
    res.status = RunStatus::Fallback;
    res.decline = trap_decline(st.trap_reason.load());
  } else if (status == rt::kCancel) {
    res.status = RunStatus::Cancelled;
    res.decline = Decline{DeclineCode::Interrupted, 0, "interrupted"};
  } else {
    for (auto& [name, slot] : v.outputs) {
      ScalarOutput o;
      o.name = name;
      o.assigned = frame[slot + 3] != 0;
      if (o.assigned) {
        o.kind = kind_of(static_cast<int>(frame[slot + 1]));
        int64_t bits = frame[slot];
        if (o.kind == ValueKind::PyFloat || o.kind == ValueKind::NpFloat64 || o.kind == ValueKind::NpFloat32 ||
            o.kind == ValueKind::NpFloat16) {
          std::memcpy(&o.fval, &bits, 8);
        } else if (o.kind == ValueKind::PyComplex || o.kind == ValueKind::NpComplex128 ||
                   o.kind == ValueKind::NpComplex64) {
          std::memcpy(&o.fval, &bits, 8);
          std::memcpy(&o.fimag, &frame[slot + 4], 8);
        } else if (o.kind == ValueKind::PyInt && (v.float_slots.count(slot) || v.complex_slots.count(slot))) {
          double d;  // an int-then-float variable last assigned an int (exact: |value| <= 2**53)
          std::memcpy(&d, &bits, 8);
          o.ival = static_cast<int64_t>(d);
        } else {
          o.ival = bits;
        }
      }
      res.outputs.push_back(o);
    }
  }
  res.run_ms = ms_since(t0);
  v.last_run_ms.store(res.run_ms, std::memory_order_relaxed);
  res.regions_parallel = st.regions_parallel;
  res.regions_inline = st.regions_inline;
  return res;
}

std::string cpu_variant_ir(const CpuVariant& v) { return v.ir; }
bool cpu_variant_needs_snapshot(const CpuVariant& v) { return v.needs_snapshot || v.snapshot_for_flags; }
std::string cpu_variant_interchanged(const CpuVariant& v) { return v.interchanged; }
std::string cpu_variant_unroll_jammed(const CpuVariant& v) { return v.jammed; }

CpuCacheStats cpu_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lk(c.m);
  return {c.map.size(), c.hits, c.misses, c.upgrades, c.specialisations_reused};
}
void clear_cpu_cache() {
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lk(c.m);
    c.map.clear();
    c.specialised.clear();
    c.variants_per_nest.clear();
    c.hits = c.misses = c.upgrades = c.specialisations_reused = 0;
    c.pending.clear();
    ++c.generation;
    c.upgraded.notify_all();
  }
  drop_queued_upgrades();
}

void stop_cpu_compiles() { stop_upgrades_at_exit(); }

void wait_cpu_compiles() {
  Upgrader& u = upgrader();
  std::unique_lock<std::mutex> lk(u.m);
  u.idle.wait(lk, [&] { return u.queue.empty() && !u.busy; });
}

bool cpu_compiling_in_background() {
  Upgrader& u = upgrader();
  std::lock_guard<std::mutex> lk(u.m);
  return u.busy || !u.queue.empty();
}

CpuTier cpu_variant_tier(const CpuVariant& v) { return v.tier; }

const char* to_string(CpuTier t) {
  switch (t) {
    case CpuTier::Auto: return "auto";
    case CpuTier::Quick: return "quick";
    case CpuTier::Optimised: return "optimised";
  }
  return "?";
}

}  // namespace loopscope::jit
