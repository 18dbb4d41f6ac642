// Lowering a specialised nest to LLVM IR (cpu_lowering.hpp).
#include "cpu_lowering.hpp"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/MDBuilder.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "cpu_runtime.hpp"
#include "cpu_types.hpp"
#include "loopscope/debug_settings.hpp"
#include "loopscope/analysis/exactness.hpp"
#include "loopscope/analysis/mapping.hpp"

namespace loopscope::jit {
using namespace loopscope::analysis;
using namespace loopscope::jit::cpu;

namespace {
// The run-time traps every native variant shares, with their sentences
// (analysis/exactness.hpp): one policy for all devices.
using TrapReason = Trap;

struct Val {
  llvm::Value* v = nullptr;
  VT t;
  llvm::Value* npf = nullptr;  // i1, only when t.mixed()
};

struct VarStore {
  llvm::AllocaInst *value, *kind, *defined, *touched;
};

struct ArrayDesc {
  llvm::Value* data;
  std::vector<llvm::Value*> shape, stride;
};

class Codegen {
 public:
  Codegen(const Spec& s, llvm::LLVMContext& ctx, llvm::Module& m)
      : S(s),
        C(ctx),
        M(m),
        B(ctx),
        i1(B.getInt1Ty()),
        i8(B.getInt8Ty()),
        i32(B.getInt32Ty()),
        i64(B.getInt64Ty()),
        f32(B.getFloatTy()),
        f64(B.getDoubleTy()),
        ptr(B.getPtrTy()) {}

  bool traps = false;
  bool reads_fp_flags = false;          // the run must read the IEEE flags (NumPy's warnings)
  std::set<std::string> loaded_arrays;  // arrays whose elements the nest reads
  bool allow_interchange = true;
  bool allow_jam = true;
  std::vector<std::string> interchanged;  // "outer/inner" of each interchanged nest
  std::vector<std::string> jammed;        // "outer/inner" of each unrolled-and-jammed nest

  llvm::Function* build(const std::string& name) {
    if (S.disjoint && S.arrays.size() > 1) {
      llvm::MDBuilder md(C);
      llvm::MDNode* domain = md.createAnonymousAliasScopeDomain("loopscope.arrays");
      std::vector<llvm::Metadata*> scopes;
      for (auto& a : S.arrays) scopes.push_back(md.createAnonymousAliasScope(domain, a.name));
      for (size_t i = 0; i < S.arrays.size(); ++i) {
        std::vector<llvm::Metadata*> others;
        for (size_t j = 0; j < scopes.size(); ++j)
          if (j != i) others.push_back(scopes[j]);
        scope_md_.push_back(llvm::MDNode::get(C, {scopes[i]}));
        noalias_md_.push_back(llvm::MDNode::get(C, others));
      }
    }
    auto* fty = llvm::FunctionType::get(i32, {ptr, ptr}, false);
    auto* F = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, name, M);
    base_name_ = name;
    begin_function(F, F->getArg(0), F->getArg(1));
    for (size_t i = 0; i < S.vars.size(); ++i) load_var_from_frame(S.vars[i], false);
    stmt(*S.bound->nest->root);
    check_deferred();
    for (auto& v : S.vars) store_var_to_frame(v, true);
    B.CreateRet(B.getInt32(rt::kOk));
    return F;
  }

 private:
  const Spec& S;
  llvm::LLVMContext& C;
  llvm::Module& M;
  llvm::IRBuilder<> B;
  llvm::Type *i1, *i8, *i32, *i64, *f32, *f64, *ptr;
  std::string base_name_;
  int chunk_counter_ = 0;
  std::vector<llvm::MDNode*> scope_md_, noalias_md_;  // per array, when disjoint
  llvm::AllocaInst* countdown_ = nullptr;             // polls until the slow check
  // [Trap::Count x i8]: element r is nonzero once deferred check r failed.
  // One byte per reason (not one bit of an i32), so that a check in a hot
  // loop is an `or` into its own flag, which LLVM keeps in a register (and
  // vectorises as an or-reduction) instead of shifting each result into place.
  llvm::AllocaInst* deferred_ = nullptr;
  llvm::Value* numpy_warns_ = nullptr;  // i1: NumPy prints its warnings in this run

  void tag(llvm::Instruction* inst, const std::string& array) {
    if (scope_md_.empty()) return;
    int ai = S.array_index.at(array);
    inst->setMetadata(llvm::LLVMContext::MD_alias_scope, scope_md_[ai]);
    inst->setMetadata(llvm::LLVMContext::MD_noalias, noalias_md_[ai]);
  }

  // per-function state
  llvm::Function* F_ = nullptr;
  llvm::Value* frame_ = nullptr;
  llvm::Value* rt_ = nullptr;
  std::map<std::string, VarStore> vars_;
  std::vector<ArrayDesc> arrays_;
  std::set<std::string> active_loops_;

  // ---- helpers ------------------------------------------------------------
  llvm::Type* ty(Repr r) {
    switch (r) {
      case Repr::I64: return i64;
      case Repr::I32: return i32;
      case Repr::F64: return f64;
      case Repr::F32: return f32;
      case Repr::Bool: return i1;
      case Repr::C128: return llvm::StructType::get(C, {f64, f64});
      case Repr::C64: return llvm::StructType::get(C, {f32, f32});
    }
    return i64;
  }

  // -x on a float: the sign flipped, a NaN's too, as NumPy's negative does.
  // The fence keeps LLVM from folding the negation into the operation that
  // uses it (-a + b into b - a), which returns a NaN `a` with its own sign:
  // CPython's (-nan) + 1.0 is a negative NaN, the folded 1.0 - nan a
  // positive one. A loop-invariant negation (-k * x[i]) is hoisted and the
  // loop still vectorises; a negated element keeps its loop scalar.
  llvm::Value* negated(llvm::Value* x) { return B.CreateArithmeticFence(B.CreateFNeg(x), x->getType()); }

  // ---- complex numbers: a {re, im} pair of doubles (floats for complex64) --
  llvm::Value* cplx(llvm::Value* re, llvm::Value* im) {
    llvm::Type* t = llvm::StructType::get(C, {re->getType(), re->getType()});
    llvm::Value* v = llvm::UndefValue::get(t);
    v = B.CreateInsertValue(v, re, {0});
    return B.CreateInsertValue(v, im, {1});
  }
  llvm::Value* re_of(llvm::Value* z) { return B.CreateExtractValue(z, {0}); }
  llvm::Value* im_of(llvm::Value* z) { return B.CreateExtractValue(z, {1}); }
  // A value of representation r to the frame's slots: `p` (the value, the
  // real part of a complex) and `pim` (a complex's imaginary part).
  void put_slots(llvm::Value* v, Repr r, llvm::Value* p, llvm::Value* pim) {
    if (is_complex(r)) {
      Repr part = r == Repr::C128 ? Repr::F64 : Repr::F32;
      B.CreateStore(to_slot(re_of(v), part), p);
      B.CreateStore(to_slot(im_of(v), part), pim);
      return;
    }
    B.CreateStore(to_slot(v, r), p);
  }
  llvm::Value* get_slots(Repr r, llvm::Value* p, llvm::Value* pim) {
    if (is_complex(r)) {
      Repr part = r == Repr::C128 ? Repr::F64 : Repr::F32;
      return cplx(from_slot(B.CreateLoad(i64, p), part), from_slot(B.CreateLoad(i64, pim), part));
    }
    return from_slot(B.CreateLoad(i64, p), r);
  }
  llvm::Value* fn_ptr(void* f) { return B.CreateIntToPtr(B.getInt64(reinterpret_cast<uint64_t>(f)), ptr); }
  llvm::Value* slot_ptr(llvm::Value* base, llvm::Value* idx) { return B.CreateGEP(i64, base, idx); }
  llvm::Value* slot_ptr(llvm::Value* base, int idx) { return slot_ptr(base, B.getInt64(idx)); }
  llvm::Value* load_slot(int idx) { return B.CreateLoad(i64, slot_ptr(frame_, idx)); }

  llvm::Value* to_slot(llvm::Value* v, Repr r) {
    switch (r) {
      case Repr::I64: return v;
      case Repr::I32: return B.CreateSExt(v, i64);
      case Repr::F64: return B.CreateBitCast(v, i64);
      case Repr::F32: return B.CreateBitCast(B.CreateFPExt(v, f64), i64);
      case Repr::Bool: return B.CreateZExt(v, i64);
      case Repr::C128:
      case Repr::C64: break;  // two slots: put_slots
    }
    return v;
  }
  llvm::Value* from_slot(llvm::Value* v, Repr r) {
    switch (r) {
      case Repr::I64: return v;
      case Repr::I32: return B.CreateTrunc(v, i32);
      case Repr::F64: return B.CreateBitCast(v, f64);
      case Repr::F32: return B.CreateFPTrunc(B.CreateBitCast(v, f64), f32);
      case Repr::Bool: return B.CreateICmpNE(v, B.getInt64(0));
      case Repr::C128:
      case Repr::C64: break;  // two slots: get_slots
    }
    return v;
  }

  void begin_function(llvm::Function* F, llvm::Value* frame, llvm::Value* rt) {
    F_ = F;
    frame_ = frame;
    rt_ = rt;
    vars_.clear();
    arrays_.clear();
    auto* entry = llvm::BasicBlock::Create(C, "entry", F);
    B.SetInsertPoint(entry);
    for (auto& a : S.arrays) {
      ArrayDesc d;
      d.data = B.CreateIntToPtr(load_slot(a.slot), ptr);
      for (int k = 0; k < a.ndim; ++k) d.shape.push_back(load_slot(a.slot + 1 + k));
      for (int k = 0; k < a.ndim; ++k) {
        if (k == a.ndim - 1 && a.inner_contiguous)
          d.stride.push_back(B.getInt64(dtype_size(a.dtype)));
        else
          d.stride.push_back(load_slot(a.slot + 1 + a.ndim + k));
      }
      arrays_.push_back(d);
    }
    countdown_ = B.CreateAlloca(i64, nullptr, "poll.countdown");
    B.CreateStore(B.getInt64(1), countdown_);
    deferred_ = B.CreateAlloca(llvm::ArrayType::get(i8, kDeferred), nullptr, "deferred.traps");
    for (int r = 0; r < kDeferred; ++r) B.CreateStore(B.getInt8(0), deferred_flag(r));
    auto* wty = llvm::FunctionType::get(i32, {ptr}, false);
    numpy_warns_ = B.CreateICmpNE(B.CreateCall(wty, fn_ptr(reinterpret_cast<void*>(&rt::ls_rt_numpy_warns)), {rt_}),
                                  B.getInt32(0));
    for (auto& v : S.vars) {
      VarStore st;
      st.value = B.CreateAlloca(ty(v.type.r), nullptr, v.name);
      st.kind = B.CreateAlloca(i8, nullptr, v.name + ".kind");
      st.defined = B.CreateAlloca(i1, nullptr, v.name + ".def");
      st.touched = B.CreateAlloca(i1, nullptr, v.name + ".touched");
      vars_[v.name] = st;
    }
  }

  void load_var_from_frame(const VarInfo& v, bool reset_touched) {
    (void)reset_touched;
    VarStore& st = vars_.at(v.name);
    B.CreateStore(get_slots(v.type.r, slot_ptr(frame_, v.slot), slot_ptr(frame_, v.slot + 4)), st.value);
    B.CreateStore(B.CreateTrunc(load_slot(v.slot + 1), i8), st.kind);
    B.CreateStore(B.CreateICmpNE(load_slot(v.slot + 2), B.getInt64(0)), st.defined);
    B.CreateStore(B.getInt1(false), st.touched);
  }
  void store_var_to_frame(const VarInfo& v, bool with_touched) {
    VarStore& st = vars_.at(v.name);
    put_slots(B.CreateLoad(ty(v.type.r), st.value), v.type.r, slot_ptr(frame_, v.slot), slot_ptr(frame_, v.slot + 4));
    B.CreateStore(B.CreateSExt(B.CreateLoad(i8, st.kind), i64), slot_ptr(frame_, v.slot + 1));
    B.CreateStore(B.CreateZExt(B.CreateLoad(i1, st.defined), i64), slot_ptr(frame_, v.slot + 2));
    if (with_touched) B.CreateStore(B.CreateZExt(B.CreateLoad(i1, st.touched), i64), slot_ptr(frame_, v.slot + 3));
  }

  // Branch to a trap (fall back to Python) when `cond` holds.
  void trap_if(llvm::Value* cond, TrapReason reason) {
    traps = true;
    auto* trap = llvm::BasicBlock::Create(C, "trap", F_);
    auto* cont = llvm::BasicBlock::Create(C, "cont", F_);
    llvm::MDBuilder md(C);
    B.CreateCondBr(cond, trap, cont, md.createBranchWeights(1, 1u << 20));
    B.SetInsertPoint(trap);
    auto* tty = llvm::FunctionType::get(B.getVoidTy(), {ptr, i32}, false);
    B.CreateCall(tty, fn_ptr(reinterpret_cast<void*>(&rt::ls_rt_trap)), {rt_, B.getInt32(static_cast<int>(reason))});
    B.CreateRet(B.getInt32(rt::kTrap));
    B.SetInsertPoint(cont);
  }

  // A check whose failure the code may notice later: the operation goes on
  // with a harmless value (NaN, inf, a rounded float), the failure is
  // recorded in its flag, and the function stops at its next poll or before it
  // returns. Sound because a failed check restores every array and runs the
  // Python loop from the start, whatever ran natively in between; and it
  // keeps hot loops free of branches, so they can vectorise and keep
  // accumulators in registers. Checks that guard memory (subscripts),
  // hardware faults (integer division) or values used as integers
  // (overflow, float to int) stay immediate (trap_if).
  void trap_later(llvm::Value* cond, TrapReason reason) {
    static_assert(static_cast<int>(Trap::Count) <= 32, "deferred_bits() has one bit per reason");
    traps = true;
    llvm::Value* flag = deferred_flag(static_cast<int>(reason));
    B.CreateStore(B.CreateOr(B.CreateLoad(i8, flag), B.CreateZExt(cond, i8)), flag);
  }

  // One flag per reason, and one more for NumPy's warnings (kNumpyGated):
  // set whatever NumPy's error settings, and counted only when NumPy prints
  // its warnings in this run, so that the hot loop does not test them.
  static constexpr int kNumpyGated = static_cast<int>(Trap::Count);
  static constexpr int kDeferred = kNumpyGated + 1;
  llvm::Value* deferred_flag(int slot) {
    return B.CreateConstInBoundsGEP2_32(deferred_->getAllocatedType(), deferred_, 0, slot);
  }
  llvm::Value* numpy_gated() {
    return B.CreateAnd(B.CreateICmpNE(B.CreateLoad(i8, deferred_flag(kNumpyGated)), B.getInt8(0)), numpy_warns_);
  }
  // Bit r set when deferred check r failed (the flags of unused reasons fold to 0).
  llvm::Value* deferred_bits() {
    llvm::Value* d = B.CreateShl(B.CreateZExt(numpy_gated(), i32), static_cast<int>(Trap::NumpyWarning));
    for (int r = 0; r < kNumpyGated; ++r)
      d = B.CreateOr(d, B.CreateShl(B.CreateZExt(B.CreateLoad(i8, deferred_flag(r)), i32), r));
    return d;
  }
  // Whether any deferred check failed.
  llvm::Value* deferred_any() {
    llvm::Value* d = B.CreateZExt(numpy_gated(), i8);
    for (int r = 0; r < kNumpyGated; ++r) d = B.CreateOr(d, B.CreateLoad(i8, deferred_flag(r)));
    return B.CreateICmpNE(d, B.getInt8(0));
  }

  // Stops with the first deferred failure, if any.
  void check_deferred() {
    llvm::Value* d = deferred_bits();
    auto* trap = llvm::BasicBlock::Create(C, "deferred.trap", F_);
    auto* cont = llvm::BasicBlock::Create(C, "deferred.ok", F_);
    llvm::MDBuilder md(C);
    B.CreateCondBr(B.CreateICmpNE(d, B.getInt32(0)), trap, cont, md.createBranchWeights(1, 1u << 20));
    B.SetInsertPoint(trap);
    llvm::Value* reason = intrinsic(llvm::Intrinsic::cttz, {d, B.getInt1(true)});
    auto* tty = llvm::FunctionType::get(B.getVoidTy(), {ptr, i32}, false);
    B.CreateCall(tty, fn_ptr(reinterpret_cast<void*>(&rt::ls_rt_trap)), {rt_, reason});
    B.CreateRet(B.getInt32(rt::kTrap));
    B.SetInsertPoint(cont);
  }

  // Interrupt poll: two loads and a countdown inline; the run-time call
  // (which also lets Python check its signals) only every 32 polls or when
  // a flag is set.
  void poll() {
    constexpr int64_t kEvery = 32;
    llvm::Value* c = B.CreateSub(B.CreateLoad(i64, countdown_), B.getInt64(1));
    B.CreateStore(c, countdown_);
    llvm::Value* cancel = B.CreateLoad(i8, fn_ptr(static_cast<void*>(cancel_flag())), true);
    llvm::Value* abort = B.CreateLoad(i32, rt_, true);  // RunState::abort is its first member
    llvm::Value* slow =
        B.CreateOr(B.CreateOr(B.CreateICmpNE(cancel, B.getInt8(0)), B.CreateICmpNE(abort, B.getInt32(0))),
                   B.CreateICmpSLE(c, B.getInt64(0)));
    slow = B.CreateOr(slow, deferred_any());
    auto* call = llvm::BasicBlock::Create(C, "poll", F_);
    auto* stop = llvm::BasicBlock::Create(C, "stop", F_);
    auto* cont = llvm::BasicBlock::Create(C, "cont", F_);
    llvm::MDBuilder md(C);
    B.CreateCondBr(slow, call, cont, md.createBranchWeights(1, 1u << 10));
    B.SetInsertPoint(call);
    check_deferred();
    B.CreateStore(B.getInt64(kEvery), countdown_);
    auto* pty = llvm::FunctionType::get(i32, {ptr}, false);
    llvm::Value* st = B.CreateCall(pty, fn_ptr(reinterpret_cast<void*>(&rt::ls_rt_poll)), {rt_});
    B.CreateCondBr(B.CreateICmpNE(st, B.getInt32(0)), stop, cont);
    B.SetInsertPoint(stop);
    B.CreateRet(st);
    B.SetInsertPoint(cont);
  }

  llvm::Value* entry_alloca(llvm::Type* t) {
    llvm::IRBuilder<> eb(&F_->getEntryBlock(), F_->getEntryBlock().begin());
    return eb.CreateAlloca(t);
  }

  llvm::Value* is_np(const Val& a) {
    if (a.t.mixed()) return a.npf;
    return B.getInt1(a.t.np);
  }
  // Whether `a op b` is a NumPy scalar: when either is, but a Python complex
  // with a float64 on its right (an np.float64 is a float subclass, which
  // Python's complex handles itself) is a NumPy scalar only when it is one.
  llvm::Value* pair_np(const Val& a, const Val& b) {
    if (a.t.r == Repr::C128 && b.t.r == Repr::F64) return is_np(a);
    return B.CreateOr(is_np(a), is_np(b));
  }
  llvm::Value* merge_np(const VT& t, const Val& a, const Val& b) {
    if (!t.mixed()) return nullptr;
    return B.CreateOr(is_np(a), is_np(b));
  }

  // round(x, ndigits) (CpuSpec types it): the helpers of
  // share/cuda/loopscope_math_shared.h, the generated CUDA's too, and for a
  // Python float CPython's decimal rounding (rt::ls_rt_round_float).
  Val round_digits(const Val& x, const Val& nd) {
    llvm::Value* n = conv(nd, Repr::I64);
    llvm::Value* code = entry_alloca(i32);
    B.CreateStore(B.getInt32(0), code);
    auto call = [&](void* fn, llvm::Type* rty, std::vector<llvm::Value*> args) {
      std::vector<llvm::Type*> tys;
      for (auto* v : args) tys.push_back(v->getType());
      tys.push_back(ptr);
      args.push_back(code);
      auto* call = B.CreateCall(llvm::FunctionType::get(rty, tys, false), fn_ptr(fn), args);
      call->setDoesNotThrow();
      return static_cast<llvm::Value*>(call);
    };
    const VT& t = x.t;
    Val res;
    auto python_float = [&]() {
      llvm::Value* r = call(reinterpret_cast<void*>(&rt::ls_rt_round_float), f64, {x.v, n});
      trap_if(B.CreateICmpNE(B.CreateLoad(i32, code), B.getInt32(0)), Trap::MathOverflow);
      return r;
    };
    auto numpy_float = [&]() {
      llvm::Value* r = call(reinterpret_cast<void*>(&rt::ls_rt_round_np_f64), f64, {x.v, n});
      llvm::Value* c = B.CreateLoad(i32, code);
      trap_if(B.CreateICmpEQ(c, B.getInt32(rt::kRoundBig)), Trap::Overflow);
      numpy_reports(B.CreateICmpEQ(c, B.getInt32(rt::kRoundNumpyWarns)));
      return r;
    };
    if (t.r == Repr::F64 && !t.np) return Val{python_float(), kPyFloat, nullptr};
    if (t.r == Repr::F64 && t.mixed()) {
      // a float or an np.float64 (s = 0.0, then s += a[i]): each its own way
      auto* npb = llvm::BasicBlock::Create(C, "round.np", F_);
      auto* pyb = llvm::BasicBlock::Create(C, "round.py", F_);
      auto* join = llvm::BasicBlock::Create(C, "round.join", F_);
      B.CreateCondBr(x.npf, npb, pyb);
      B.SetInsertPoint(npb);
      llvm::Value* rn = numpy_float();
      llvm::BasicBlock* npend = B.GetInsertBlock();
      B.CreateBr(join);
      B.SetInsertPoint(pyb);
      llvm::Value* rp = python_float();
      llvm::BasicBlock* pyend = B.GetInsertBlock();
      B.CreateBr(join);
      B.SetInsertPoint(join);
      auto* phi = B.CreatePHI(f64, 2);
      phi->addIncoming(rn, npend);
      phi->addIncoming(rp, pyend);
      return Val{phi, t, x.npf};
    }
    if (t.r == Repr::F64) return Val{numpy_float(), t, nullptr};
    if (t.r == Repr::F32)
      res = Val{call(reinterpret_cast<void*>(&rt::ls_rt_round_np_f32), f32, {x.v, n}), t, nullptr};
    else if (t.np) {
      int bits = t.r == Repr::I32 ? 32 : 64;
      llvm::Value* r =
          call(reinterpret_cast<void*>(&rt::ls_rt_round_np_int), i64, {conv(x, Repr::I64), n, B.getInt32(bits)});
      res = Val{bits == 32 ? B.CreateTrunc(r, i32) : r, t, nullptr};
    } else {
      res = Val{call(reinterpret_cast<void*>(&rt::ls_rt_round_py_int), i64, {conv(x, Repr::I64), n}), kPyInt, nullptr};
    }
    llvm::Value* c = B.CreateLoad(i32, code);
    trap_if(B.CreateICmpEQ(c, B.getInt32(rt::kRoundBig)), Trap::Overflow);
    if (t.np) numpy_reports(B.CreateICmpEQ(c, B.getInt32(rt::kRoundNumpyWarns)));
    return res;
  }

  llvm::Value* conv(const Val& a, Repr to) {
    Repr from = a.t.r;
    llvm::Value* v = a.v;
    if (from == to) return v;
    if (is_complex(to)) {
      // complex(x, 0.0), as Python and NumPy convert a real operand
      Repr part = to == Repr::C128 ? Repr::F64 : Repr::F32;
      if (is_complex(from))
        return cplx(conv(Val{re_of(v), VT{from == Repr::C128 ? Repr::F64 : Repr::F32}, nullptr}, part),
                    conv(Val{im_of(v), VT{from == Repr::C128 ? Repr::F64 : Repr::F32}, nullptr}, part));
      return cplx(conv(a, part), fconst(ty(part), 0.0));
    }
    if (is_complex(from)) throw Unsupported{DeclineCode::Internal, 0, "internal: complex to real conversion"};
    if (to == Repr::Bool) return truth(a);
    if (from == Repr::Bool) return is_float(to) ? B.CreateUIToFP(v, ty(to)) : B.CreateZExt(v, ty(to));
    if (is_int(from) && is_int(to)) return to == Repr::I64 ? B.CreateSExt(v, i64) : B.CreateTrunc(v, i32);
    if (is_int(from)) return is_u64(a.t) ? B.CreateUIToFP(v, ty(to)) : B.CreateSIToFP(v, ty(to));
    if (is_float(from) && is_float(to)) return to == Repr::F64 ? B.CreateFPExt(v, f64) : B.CreateFPTrunc(v, f32);
    throw Unsupported{DeclineCode::Internal, 0, "internal: float to int conversion"};
  }

  llvm::Value* truth(const Val& a) {
    switch (a.t.r) {
      case Repr::Bool: return a.v;
      case Repr::I64:
      case Repr::I32: return B.CreateICmpNE(a.v, llvm::ConstantInt::get(a.v->getType(), 0));
      case Repr::C128:
      case Repr::C64: {
        llvm::Value* re = re_of(a.v);
        llvm::Value* zero = llvm::ConstantFP::get(re->getType(), 0.0);
        return B.CreateOr(B.CreateFCmpUNE(re, zero), B.CreateFCmpUNE(im_of(a.v), zero));
      }
      default: return B.CreateFCmpUNE(a.v, llvm::ConstantFP::get(a.v->getType(), 0.0));
    }
  }

  llvm::Value* intrinsic(llvm::Intrinsic::ID id, std::vector<llvm::Value*> args) {
    llvm::Function* f = llvm::Intrinsic::getDeclaration(&M, id, {args[0]->getType()});
    return B.CreateCall(f, args);
  }
  llvm::Value* libm(const std::string& name, llvm::Value* x) {
    auto* fty = llvm::FunctionType::get(f64, {f64}, false);
    llvm::FunctionCallee fc = M.getOrInsertFunction(name, fty);
    return B.CreateCall(fc, {x});
  }
  llvm::Value* fconst(llvm::Type* t, double v) { return llvm::ConstantFP::get(t, v); }
  // The C library's pow() (float64) or powf() (float32), which CPython's
  // float ** and NumPy's scalar ** call. Marked no-builtin: LLVM would
  // otherwise rewrite pow(x, 2.0) as x * x, pow(x, 0.5) as sqrt(x) and fold
  // constants, and the C library's pow is not correctly rounded, so those
  // differ from it in the last bit for some x.
  llvm::Value* libm_pow(llvm::Value* x, llvm::Value* y) {
    llvm::Type* t = x->getType();
    auto* fty = llvm::FunctionType::get(t, {t, t}, false);
    llvm::FunctionCallee fc = M.getOrInsertFunction(t->isFloatTy() ? "powf" : "pow", fty);
    llvm::CallInst* call = B.CreateCall(fc, {x, y});
    call->addFnAttr(llvm::Attribute::NoBuiltin);
    return call;
  }

  // An int64 beyond +-2**53 meeting a float (Python is exact there).
  void check_big_int(const Val& a) {
    if (!(is_int(a.t.r) && a.t.r == Repr::I64 && a.t.py)) return;
    llvm::Value* lim = B.getInt64(int64_t(1) << 53);
    llvm::Value* big = B.CreateOr(B.CreateICmpSGT(a.v, lim), B.CreateICmpSLT(a.v, B.CreateNeg(lim)));
    trap_later(big, Trap::BigInt);
  }

  // ---- NumPy's RuntimeWarnings --------------------------------------------
  // NumPy prints a RuntimeWarning when a scalar operation raises one of the
  // IEEE flags divide-by-zero, overflow or invalid (an infinity from finite
  // operands, NaN from operands that are not NaN, a float64 too large for a
  // float32), and when an integer wraps or is divided by zero. Native code
  // cannot print it where Python prints it, so such a run stops and Python
  // runs the loop from the start. Floats: the hardware raises the same flags
  // for the same operations, at no cost in the loop; the run-time reads them
  // after the run (run_cpu_variant) when the variant has a NumPy float
  // operation. Integers: a deferred check per operation whose range is not
  // proven. Python floats never warn (they overflow to inf silently, or raise:
  // checked apart), so only results that may be NumPy values count.

  void note_numpy_float(const Val& r) {
    if (r.t.np) reads_fp_flags = true;
  }
  // A NumPy integer case NumPy warns about (when its warnings are on).
  void numpy_reports(llvm::Value* cond) {
    traps = true;
    llvm::Value* flag = deferred_flag(kNumpyGated);
    B.CreateStore(B.CreateOr(B.CreateLoad(i8, flag), B.CreateZExt(cond, i8)), flag);
  }

  // ---- float16 (np.float16) ------------------------------------------------
  // NumPy converts between float16 and float32/float64 in software
  // (npy_floatbits_to_halfbits, npy_doublebits_to_halfbits,
  // npy_halfbits_to_floatbits): round half to even, a NaN keeping the top
  // bits of its payload (made non-zero), "overflow encountered" where a finite
  // value becomes infinite. The same bit operations here, so that the bits
  // (NaN payloads, signed zeros, subnormals) are NumPy's on every CPU.
  llvm::Value* u32c(uint32_t v) { return B.getInt32(v); }
  llvm::Value* u64c(uint64_t v) { return B.getInt64(v); }
  // the 16 bits of the float16 nearest to float `f`; *overflow: a finite f
  // became infinite
  llvm::Value* float_to_half(llvm::Value* f, llvm::Value** overflow) {
    llvm::Value* u = B.CreateBitCast(f, i32);
    llvm::Value* sgn = B.CreateLShr(B.CreateAnd(u, u32c(0x80000000u)), 16);
    llvm::Value* fexp = B.CreateAnd(u, u32c(0x7f800000u));
    llvm::Value* fsig = B.CreateAnd(u, u32c(0x007fffffu));
    llvm::Value* infnan = B.CreateICmpEQ(fexp, u32c(0x7f800000u));
    // exponent overflow, infinity or NaN
    llvm::Value* nan = B.CreateAdd(u32c(0x7c00u), B.CreateLShr(fsig, 13));
    nan = B.CreateSelect(B.CreateICmpEQ(nan, u32c(0x7c00u)), u32c(0x7c01u), nan);
    llvm::Value* big = B.CreateSelect(B.CreateAnd(infnan, B.CreateICmpNE(fsig, u32c(0))), nan, u32c(0x7c00u));
    // a subnormal float16 or a signed zero
    llvm::Value* e = B.CreateLShr(fexp, 23);
    llvm::Value* s = B.CreateAdd(u32c(0x00800000u), fsig);
    s = B.CreateLShr(s, B.CreateAnd(B.CreateSub(u32c(113), e), u32c(31)));
    llvm::Value* up = B.CreateOr(B.CreateICmpNE(B.CreateAnd(s, u32c(0x3fffu)), u32c(0x1000u)),
                                 B.CreateICmpNE(B.CreateAnd(u, u32c(0x7ffu)), u32c(0)));
    s = B.CreateSelect(up, B.CreateAdd(s, u32c(0x1000u)), s);
    llvm::Value* sub = B.CreateSelect(B.CreateICmpULT(fexp, u32c(0x33000000u)), u32c(0), B.CreateLShr(s, 13));
    // the normal case
    llvm::Value* hexp = B.CreateLShr(B.CreateSub(fexp, u32c(0x38000000u)), 13);
    llvm::Value* nup = B.CreateICmpNE(B.CreateAnd(fsig, u32c(0x3fffu)), u32c(0x1000u));
    llvm::Value* ns = B.CreateSelect(nup, B.CreateAdd(fsig, u32c(0x1000u)), fsig);
    llvm::Value* normal = B.CreateAdd(B.CreateLShr(ns, 13), hexp);
    llvm::Value* r = B.CreateSelect(B.CreateICmpUGE(fexp, u32c(0x47800000u)), big,
                                    B.CreateSelect(B.CreateICmpULE(fexp, u32c(0x38000000u)), sub, normal));
    if (overflow) *overflow = B.CreateAnd(B.CreateICmpEQ(r, u32c(0x7c00u)), B.CreateNot(infnan));
    return B.CreateTrunc(B.CreateAdd(sgn, r), B.getInt16Ty());
  }
  llvm::Value* double_to_half(llvm::Value* d, llvm::Value** overflow) {
    llvm::Value* u = B.CreateBitCast(d, i64);
    llvm::Value* sgn = B.CreateLShr(B.CreateAnd(u, u64c(0x8000000000000000ull)), 48);
    llvm::Value* dexp = B.CreateAnd(u, u64c(0x7ff0000000000000ull));
    llvm::Value* dsig = B.CreateAnd(u, u64c(0x000fffffffffffffull));
    llvm::Value* infnan = B.CreateICmpEQ(dexp, u64c(0x7ff0000000000000ull));
    llvm::Value* nan = B.CreateAdd(u64c(0x7c00u), B.CreateLShr(dsig, 42));
    nan = B.CreateSelect(B.CreateICmpEQ(nan, u64c(0x7c00u)), u64c(0x7c01u), nan);
    llvm::Value* big = B.CreateSelect(B.CreateAnd(infnan, B.CreateICmpNE(dsig, u64c(0))), nan, u64c(0x7c00u));
    llvm::Value* e = B.CreateLShr(dexp, 52);
    llvm::Value* s = B.CreateAdd(u64c(0x0010000000000000ull), dsig);
    s = B.CreateShl(s, B.CreateAnd(B.CreateSub(e, u64c(998)), u64c(63)));
    llvm::Value* up = B.CreateICmpNE(B.CreateAnd(s, u64c(0x003fffffffffffffull)), u64c(0x0010000000000000ull));
    s = B.CreateSelect(up, B.CreateAdd(s, u64c(0x0010000000000000ull)), s);
    llvm::Value* sub = B.CreateSelect(B.CreateICmpULT(dexp, u64c(0x3e60000000000000ull)), u64c(0), B.CreateLShr(s, 53));
    llvm::Value* hexp = B.CreateLShr(B.CreateSub(dexp, u64c(0x3f00000000000000ull)), 42);
    llvm::Value* nup = B.CreateICmpNE(B.CreateAnd(dsig, u64c(0x000007ffffffffffull)), u64c(0x0000020000000000ull));
    llvm::Value* ns = B.CreateSelect(nup, B.CreateAdd(dsig, u64c(0x0000020000000000ull)), dsig);
    llvm::Value* normal = B.CreateAnd(B.CreateAdd(B.CreateLShr(ns, 42), hexp), u64c(0xffffu));
    llvm::Value* r = B.CreateSelect(B.CreateICmpUGE(dexp, u64c(0x40f0000000000000ull)), big,
                                    B.CreateSelect(B.CreateICmpULE(dexp, u64c(0x3f00000000000000ull)), sub, normal));
    if (overflow) *overflow = B.CreateAnd(B.CreateICmpEQ(r, u64c(0x7c00u)), B.CreateNot(infnan));
    return B.CreateTrunc(B.CreateAdd(sgn, r), B.getInt16Ty());
  }
  // the float32 holding float16 bits `h` exactly (a NaN's payload shifted up)
  llvm::Value* half_to_float(llvm::Value* h) {
    llvm::Value* x = B.CreateZExt(h, i32);
    llvm::Value* sgn = B.CreateShl(B.CreateAnd(x, u32c(0x8000u)), 16);
    llvm::Value* hexp = B.CreateAnd(x, u32c(0x7c00u));
    llvm::Value* hsig = B.CreateAnd(x, u32c(0x03ffu));
    llvm::Value* normal = B.CreateShl(B.CreateAdd(B.CreateAnd(x, u32c(0x7fffu)), u32c(0x1c000u)), 13);
    llvm::Value* infnan = B.CreateAdd(u32c(0x7f800000u), B.CreateShl(hsig, 13));
    // a subnormal (or zero): hsig * 2**-24, exact in float32
    llvm::Value* sub = B.CreateBitCast(B.CreateFMul(B.CreateUIToFP(hsig, f32), fconst(f32, 0x1p-24)), i32);
    llvm::Value* r = B.CreateSelect(B.CreateICmpEQ(hexp, u32c(0)), sub,
                                    B.CreateSelect(B.CreateICmpEQ(hexp, u32c(0x7c00u)), infnan, normal));
    return B.CreateBitCast(B.CreateOr(sgn, r), f32);
  }
  // an np.float16 held as a float32, as NumPy widens it to float64 (a NaN's
  // payload kept as it is, where fpext would make a signalling NaN quiet)
  llvm::Value* half_value_to_double(llvm::Value* f) {
    llvm::Value* u = B.CreateZExt(B.CreateBitCast(f, i32), i64);
    llvm::Value* nan =
        B.CreateOr(B.CreateShl(B.CreateAnd(u, u64c(0x80000000u)), 32),
                   B.CreateOr(u64c(0x7ff0000000000000ull), B.CreateShl(B.CreateAnd(u, u64c(0x7fffffu)), 29)));
    return B.CreateSelect(B.CreateFCmpUNO(f, f), B.CreateBitCast(nan, f64), B.CreateFPExt(f, f64));
  }
  // a float32 result rounded to float16 as NumPy's float16 arithmetic does,
  // with its overflow warning
  llvm::Value* round_half(llvm::Value* f) {
    llvm::Value* ovf = nullptr;
    llvm::Value* h = float_to_half(f, &ovf);
    numpy_reports(ovf);
    return half_to_float(h);
  }

  // ---- Python / NumPy float floor division and modulo ---------------------
  // The algorithm of CPython's float_floor_div/float_rem and NumPy's
  // npy_divmod (they are the same).
  std::pair<llvm::Value*, llvm::Value*> float_divmod(llvm::Value* a, llvm::Value* b) {
    llvm::Type* t = a->getType();
    llvm::Value* zero = fconst(t, 0.0);
    llvm::Value* mod = B.CreateFRem(a, b);
    llvm::Value* div = B.CreateFDiv(B.CreateFSub(a, mod), b);
    llvm::Value* mod_nz = B.CreateFCmpUNE(mod, zero);
    llvm::Value* sign_differs = B.CreateXor(B.CreateFCmpOLT(b, zero), B.CreateFCmpOLT(mod, zero));
    llvm::Value* adjust = B.CreateAnd(mod_nz, sign_differs);
    llvm::Value* mod_adj = B.CreateSelect(adjust, B.CreateFAdd(mod, b), mod);
    llvm::Value* div_adj = B.CreateSelect(adjust, B.CreateFSub(div, fconst(t, 1.0)), div);
    llvm::Value* mod_zero = intrinsic(llvm::Intrinsic::copysign, {zero, b});
    mod = B.CreateSelect(mod_nz, mod_adj, mod_zero);
    div = div_adj;
    llvm::Value* div_nz = B.CreateFCmpUNE(div, zero);
    llvm::Value* fl = intrinsic(llvm::Intrinsic::floor, {div});
    llvm::Value* fl_adj =
        B.CreateSelect(B.CreateFCmpOGT(B.CreateFSub(div, fl), fconst(t, 0.5)), B.CreateFAdd(fl, fconst(t, 1.0)), fl);
    llvm::Value* div_zero = intrinsic(llvm::Intrinsic::copysign, {zero, B.CreateFDiv(a, b)});
    llvm::Value* floordiv = B.CreateSelect(div_nz, fl_adj, div_zero);
    // NumPy with b == 0: floor_divide gives a / b, remainder gives fmod(a, b).
    llvm::Value* b_zero = B.CreateFCmpOEQ(b, zero);
    floordiv = B.CreateSelect(b_zero, B.CreateFDiv(a, b), floordiv);
    mod = B.CreateSelect(b_zero, B.CreateFRem(a, b), mod);
    return {floordiv, mod};
  }

  // ---- binary operations --------------------------------------------------
  // << >> & | ^ on integers (or & | ^ on booleans). Python: a negative shift
  // count raises ValueError, and a << that leaves int64 makes a big int: both
  // stop the run. NumPy (npy_lshift, npy_rshift): a count outside [0, width)
  // gives 0, or -1 for >> of a negative value.
  Val bitwise(BinOp op, const Val& a, const Val& b, const VT& t) {
    Val r;
    r.t = t;
    r.npf = merge_np(t, a, b);
    llvm::Value* x = conv(a, t.r);
    llvm::Value* y = conv(b, t.r);
    switch (op) {
      case BinOp::BitAnd: r.v = B.CreateAnd(x, y); return r;
      case BinOp::BitOr: r.v = B.CreateOr(x, y); return r;
      case BinOp::BitXor: r.v = B.CreateXor(x, y); return r;
      default: break;
    }
    llvm::Type* T = x->getType();
    unsigned width = T->getIntegerBitWidth();
    llvm::Value* zero = llvm::ConstantInt::get(T, 0);
    llvm::Value* inrange = B.CreateICmpULT(y, llvm::ConstantInt::get(T, width));
    if (t.py) {
      trap_if(B.CreateICmpSLT(y, zero), Trap::Domain);
      llvm::Value* ys = B.CreateSelect(inrange, y, llvm::ConstantInt::get(T, width - 1));
      if (op == BinOp::RShift) {
        r.v = B.CreateAShr(x, ys);
        return r;
      }
      llvm::Value* sh = B.CreateShl(x, ys);
      llvm::Value* lost = B.CreateOr(B.CreateNot(inrange), B.CreateICmpNE(B.CreateAShr(sh, ys), x));
      trap_if(B.CreateAnd(lost, B.CreateICmpNE(x, zero)), Trap::Overflow);
      r.v = B.CreateSelect(B.CreateICmpEQ(x, zero), zero, sh);
      return r;
    }
    llvm::Value* ys = B.CreateSelect(inrange, y, zero);
    if (op == BinOp::LShift)
      r.v = B.CreateSelect(inrange, B.CreateShl(x, ys), zero);
    else
      r.v = B.CreateSelect(inrange, B.CreateAShr(x, ys), B.CreateAShr(x, llvm::ConstantInt::get(T, width - 1)));
    return r;
  }

  // np.uint64 with np.uint64 (or np.uint8 ... np.uint32, non-negative in
  // their int64): NumPy's uint64 arithmetic on the bits, wrapping with its
  // warning ("overflow encountered in scalar add"; x // 0 and x % 0 are 0
  // with "divide by zero encountered"); shifts by 64 or more give 0.
  Val u64_binary(BinOp op, const Val& a, const Val& b, const VT& t) {
    llvm::Value* x = conv(a, Repr::I64);
    llvm::Value* y = conv(b, Repr::I64);
    auto wrapping = [&](llvm::Intrinsic::ID id) {
      llvm::Value* res = intrinsic(id, {x, y});
      numpy_reports(B.CreateExtractValue(res, 1));
      return B.CreateExtractValue(res, 0);
    };
    llvm::Value* zero = B.getInt64(0);
    llvm::Value* r = nullptr;
    switch (op) {
      case BinOp::Add: r = wrapping(llvm::Intrinsic::uadd_with_overflow); break;
      case BinOp::Sub: r = wrapping(llvm::Intrinsic::usub_with_overflow); break;
      case BinOp::Mul: r = wrapping(llvm::Intrinsic::umul_with_overflow); break;
      case BinOp::FloorDiv:
      case BinOp::Mod: {
        llvm::Value* yzero = B.CreateICmpEQ(y, zero);
        numpy_reports(yzero);
        llvm::Value* ys = B.CreateSelect(yzero, B.getInt64(1), y);
        r = B.CreateSelect(yzero, zero, op == BinOp::FloorDiv ? B.CreateUDiv(x, ys) : B.CreateURem(x, ys));
        break;
      }
      case BinOp::BitAnd: r = B.CreateAnd(x, y); break;
      case BinOp::BitOr: r = B.CreateOr(x, y); break;
      case BinOp::BitXor: r = B.CreateXor(x, y); break;
      case BinOp::LShift:
      case BinOp::RShift: {
        llvm::Value* inrange = B.CreateICmpULT(y, B.getInt64(64));
        llvm::Value* ys = B.CreateSelect(inrange, y, zero);
        r = B.CreateSelect(inrange, op == BinOp::LShift ? B.CreateShl(x, ys) : B.CreateLShr(x, ys), zero);
        break;
      }
      default: throw Unsupported{DeclineCode::Internal, 0, "internal: np.uint64 operation"};
    }
    return Val{r, t, nullptr};
  }

  Val binary(BinOp op, const Val& a, const Val& b, const Expr* site, int line) {
    VT t = binary_type(op, a.t, b.t, line);
    if (is_u64(t)) return u64_binary(op, a, b, t);
    if (is_f16(t)) {
      // two np.float16: the float32 operation (its flags are NumPy's:
      // divide by zero, invalid), rounded to float16
      Val a32 = a, b32 = b;
      a32.t = b32.t = VT{Repr::F32, false, true};
      Val w = binary(op, a32, b32, nullptr, line);
      return Val{round_half(w.v), t, nullptr};
    }
    if (t.small != Small::None) {
      // Two small integers (+, -, *, //, %): computed as np.int64 (exact:
      // only np.uint32 * np.uint32 can leave int64, and then its type too,
      // with its low bits kept), then wrapped to their common type as NumPy
      // does, with its warning where the result leaves the type.
      Val a64 = a, b64 = b;
      a64.t = b64.t = VT{Repr::I64, false, true};
      Val w = binary(op, a64, b64, nullptr, line);
      auto [lo, hi] = cpu::small_range(t.small);
      numpy_reports(B.CreateOr(B.CreateICmpSLT(w.v, B.getInt64(lo)), B.CreateICmpSGT(w.v, B.getInt64(hi))));
      int bits = t.small == Small::U8 || t.small == Small::I8 ? 8 : t.small == Small::U32 ? 32 : 16;
      llvm::Value* n = B.CreateTrunc(w.v, B.getIntNTy(bits));
      bool sign = t.small == Small::I8 || t.small == Small::I16;
      return Val{sign ? B.CreateSExt(n, i64) : B.CreateZExt(n, i64), t, nullptr};
    }
    if (is_complex(t.r)) return complex_binary(op, a, b, t, site);
    if (is_bitwise(op)) return bitwise(op, a, b, t);
    bool pysem = t.py;
    Val r;
    r.t = t;
    r.npf = merge_np(t, a, b);
    Repr R = t.r;
    if (op == BinOp::Div) {
      if (pysem) {
        check_big_int(a);
        check_big_int(b);
      }
      llvm::Value* x = conv(a, R);
      llvm::Value* y = conv(b, R);
      if (pysem) trap_later(B.CreateFCmpOEQ(y, fconst(y->getType(), 0.0)), Trap::ZeroDivision);
      r.v = B.CreateFDiv(x, y);
      note_numpy_float(r);
      return r;
    }
    if (is_int(R)) {
      llvm::Value* x = conv(a, R);
      llvm::Value* y = conv(b, R);
      llvm::Type* T = ty(R);
      bool check = site == nullptr || S.overflow_checks.count(site);
      // A Python int stops at once (its wrapped value must not be used); a
      // NumPy integer wraps as NumPy does, and the warning stops the run later.
      auto checked = [&](llvm::Intrinsic::ID id, llvm::Value* p, llvm::Value* q) -> llvm::Value* {
        llvm::Value* res = intrinsic(id, {p, q});
        if (pysem)
          trap_if(B.CreateExtractValue(res, 1), Trap::Overflow);
        else
          numpy_reports(B.CreateExtractValue(res, 1));
        return B.CreateExtractValue(res, 0);
      };
      switch (op) {
        case BinOp::Add: r.v = check ? checked(llvm::Intrinsic::sadd_with_overflow, x, y) : B.CreateAdd(x, y); return r;
        case BinOp::Sub: r.v = check ? checked(llvm::Intrinsic::ssub_with_overflow, x, y) : B.CreateSub(x, y); return r;
        case BinOp::Mul: r.v = check ? checked(llvm::Intrinsic::smul_with_overflow, x, y) : B.CreateMul(x, y); return r;
        case BinOp::FloorDiv:
        case BinOp::Mod: {
          llvm::Value* zero = llvm::ConstantInt::get(T, 0);
          llvm::Value* minus1 = llvm::ConstantInt::get(T, -1, true);
          llvm::Value* minv = llvm::ConstantInt::get(T, R == Repr::I64 ? INT64_MIN : INT32_MIN, true);
          llvm::Value* yzero = B.CreateICmpEQ(y, zero);
          llvm::Value* ovf = B.CreateAnd(B.CreateICmpEQ(x, minv), B.CreateICmpEQ(y, minus1));
          if (pysem) {
            trap_if(yzero, Trap::ZeroDivision);
            if (op == BinOp::FloorDiv) trap_if(ovf, Trap::Overflow);
          } else {
            // "divide by zero encountered", and MIN // -1 "overflow encountered"
            numpy_reports(op == BinOp::FloorDiv ? B.CreateOr(yzero, ovf) : yzero);
          }
          llvm::Value* bad = B.CreateOr(yzero, ovf);
          llvm::Value* ys = B.CreateSelect(bad, llvm::ConstantInt::get(T, 1), y);
          llvm::Value* q = B.CreateSDiv(x, ys);
          llvm::Value* m = B.CreateSRem(x, ys);
          llvm::Value* adj =
              B.CreateAnd(B.CreateICmpNE(m, zero), B.CreateXor(B.CreateICmpSLT(m, zero), B.CreateICmpSLT(ys, zero)));
          q = B.CreateSelect(adj, B.CreateSub(q, llvm::ConstantInt::get(T, 1)), q);
          m = B.CreateSelect(adj, B.CreateAdd(m, ys), m);
          // NumPy: x // 0 == 0, x % 0 == 0, MIN // -1 == MIN (wraps), MIN % -1 == 0.
          q = B.CreateSelect(yzero, zero, B.CreateSelect(ovf, minv, q));
          m = B.CreateSelect(bad, zero, m);
          r.v = op == BinOp::FloorDiv ? q : m;
          return r;
        }
        case BinOp::Pow: {
          check = check && pysem;  // NumPy's integer ** wraps without a warning
          int64_t e = site->args[1]->ival;
          llvm::Value* acc = llvm::ConstantInt::get(T, 1);
          llvm::Value* base = x;
          bool first = true;
          while (e > 0) {
            if (e & 1) {
              acc = first ? base
                          : (check ? checked(llvm::Intrinsic::smul_with_overflow, acc, base) : B.CreateMul(acc, base));
              first = false;
            }
            e >>= 1;
            if (e > 0)
              base = check ? checked(llvm::Intrinsic::smul_with_overflow, base, base) : B.CreateMul(base, base);
          }
          r.v = acc;
          return r;
        }
        default: break;
      }
    }
    // floating point
    if (pysem) {
      check_big_int(a);
      check_big_int(b);
    }
    llvm::Value* x = conv(a, R);
    llvm::Value* y = conv(b, R);
    llvm::Type* T = ty(R);
    switch (op) {
      case BinOp::Add:
        r.v = B.CreateFAdd(x, y);
        note_numpy_float(r);
        return r;
      case BinOp::Sub:
        r.v = B.CreateFSub(x, y);
        note_numpy_float(r);
        return r;
      case BinOp::Mul:
        r.v = B.CreateFMul(x, y);
        note_numpy_float(r);
        return r;
      case BinOp::FloorDiv:
      case BinOp::Mod: {
        if (pysem) trap_later(B.CreateFCmpOEQ(y, fconst(T, 0.0)), Trap::ZeroDivision);
        auto [q, m] = float_divmod(x, y);
        r.v = op == BinOp::FloorDiv ? q : m;
        note_numpy_float(r);
        return r;
      }
      case BinOp::Pow: {
        if (pysem) {
          llvm::Value* zero = fconst(T, 0.0);
          trap_later(B.CreateAnd(B.CreateFCmpOEQ(x, zero), B.CreateFCmpOLT(y, zero)), Trap::ZeroDivision);
          llvm::Value* yfinite = B.CreateFCmpOLT(intrinsic(llvm::Intrinsic::fabs, {y}), fconst(T, INFINITY));
          llvm::Value* yfrac = B.CreateFCmpUNE(intrinsic(llvm::Intrinsic::floor, {y}), y);
          trap_later(B.CreateAnd(B.CreateAnd(B.CreateFCmpOLT(x, zero), yfinite), yfrac), Trap::Domain);
        }
        llvm::Value* p = libm_pow(x, y);
        if (pysem) {
          llvm::Value* inf = fconst(T, INFINITY);
          llvm::Value* pinf = B.CreateFCmpOEQ(intrinsic(llvm::Intrinsic::fabs, {p}), inf);
          llvm::Value* xf = B.CreateFCmpOLT(intrinsic(llvm::Intrinsic::fabs, {x}), inf);
          llvm::Value* yf = B.CreateFCmpOLT(intrinsic(llvm::Intrinsic::fabs, {y}), inf);
          trap_later(B.CreateAnd(pinf, B.CreateAnd(xf, yf)), Trap::MathOverflow);
        }
        r.v = p;
        note_numpy_float(r);
        if (r.t.np) {
          // NumPy reports 0 ** -inf (inf) as a division by zero; the C
          // library's pow() raises no flag for it
          llvm::Value* zero = fconst(T, 0.0);
          llvm::Value* zero_neg = B.CreateAnd(B.CreateFCmpOEQ(x, zero), B.CreateFCmpOLT(y, zero));
          numpy_reports(r.t.mixed() ? B.CreateAnd(zero_neg, r.npf) : zero_neg);
        }
        return r;
      }
      default: break;
    }
    throw Unsupported{DeclineCode::Internal, line, "internal: unknown binary operation"};
  }

  // ---- complex arithmetic -------------------------------------------------
  // CPython 3.11's _Py_c_sum, _Py_c_diff, _Py_c_prod and NumPy's scalar
  // complex arithmetic: a real operand becomes complex(x, 0.0) first, and
  // the product is (ac - bd, ad + bc) even then (so inf * 1 may give nan
  // parts, as in Python). No FMA: the target forbids contraction.
  llvm::Value* cprod(llvm::Value* x, llvm::Value* y) {
    llvm::Value *a = re_of(x), *b = im_of(x), *c = re_of(y), *d = im_of(y);
    return cplx(B.CreateFSub(B.CreateFMul(a, c), B.CreateFMul(b, d)),
                B.CreateFAdd(B.CreateFMul(a, d), B.CreateFMul(b, c)));
  }
  // x / y. CPython 3.11's _Py_c_quot (numpy = false): Smith's method, by
  // the larger part of y in absolute value, NaN parts where neither is (a
  // NaN in y); NumPy 1.24's CDOUBLE_divide/CFLOAT_divide loop (numpy =
  // true): Smith's method through a reciprocal, its first branch when
  // |re y| >= |im y| and the second otherwise, a zero y giving x's parts
  // divided by |re y|. Every way is computed, but the ways not taken on
  // harmless operands (0 / 1), so that they raise no IEEE flag (NumPy's
  // warnings read the flags).
  llvm::Value* cquot(llvm::Value* x, llvm::Value* y, bool numpy) {
    llvm::Value *a = re_of(x), *b = im_of(x), *c = re_of(y), *d = im_of(y);
    llvm::Type* T = a->getType();
    llvm::Value *zero = fconst(T, 0.0), *one = fconst(T, 1.0);
    llvm::Value* ac = intrinsic(llvm::Intrinsic::fabs, {c});
    llvm::Value* ad = intrinsic(llvm::Intrinsic::fabs, {d});
    llvm::Value* first = B.CreateFCmpOGE(ac, ad);
    llvm::Value* y_zero = B.CreateAnd(B.CreateFCmpOEQ(ac, zero), B.CreateFCmpOEQ(ad, zero));
    auto pick = [&](llvm::Value* taken, llvm::Value* v, llvm::Value* harmless) {
      return B.CreateSelect(taken, v, harmless);
    };
    if (numpy) {
      llvm::Value* use0 = y_zero;
      llvm::Value* use1 = B.CreateAnd(first, B.CreateNot(y_zero));
      llvm::Value* use2 = B.CreateNot(first);  // its `else`: a NaN part too
      // y == 0
      llvm::Value *a0 = pick(use0, a, zero), *b0 = pick(use0, b, zero), *ac0 = pick(use0, ac, one);
      llvm::Value* r0 = cplx(B.CreateFDiv(a0, ac0), B.CreateFDiv(b0, ac0));
      // |re y| >= |im y|
      llvm::Value *a1 = pick(use1, a, zero), *b1 = pick(use1, b, zero);
      llvm::Value *c1 = pick(use1, c, one), *d1 = pick(use1, d, zero);
      llvm::Value* rat1 = B.CreateFDiv(d1, c1);
      llvm::Value* scl1 = B.CreateFDiv(one, B.CreateFAdd(c1, B.CreateFMul(d1, rat1)));
      llvm::Value* r1 = cplx(B.CreateFMul(B.CreateFAdd(a1, B.CreateFMul(b1, rat1)), scl1),
                             B.CreateFMul(B.CreateFSub(b1, B.CreateFMul(a1, rat1)), scl1));
      // otherwise
      llvm::Value *a2 = pick(use2, a, zero), *b2 = pick(use2, b, zero);
      llvm::Value *c2 = pick(use2, c, zero), *d2 = pick(use2, d, one);
      llvm::Value* rat2 = B.CreateFDiv(c2, d2);
      llvm::Value* scl2 = B.CreateFDiv(one, B.CreateFAdd(d2, B.CreateFMul(c2, rat2)));
      llvm::Value* r2 = cplx(B.CreateFMul(B.CreateFAdd(B.CreateFMul(a2, rat2), b2), scl2),
                             B.CreateFMul(B.CreateFSub(B.CreateFMul(b2, rat2), a2), scl2));
      return B.CreateSelect(use0, r0, B.CreateSelect(use1, r1, r2));
    }
    llvm::Value* use1 = B.CreateAnd(first, B.CreateNot(y_zero));  // (a zero y traps)
    llvm::Value* use2 = B.CreateAnd(B.CreateNot(first), B.CreateFCmpOGE(ad, ac));
    llvm::Value *a1 = pick(use1, a, zero), *b1 = pick(use1, b, zero);
    llvm::Value *c1 = pick(use1, c, one), *d1 = pick(use1, d, zero);
    llvm::Value* ratio1 = B.CreateFDiv(d1, c1);
    llvm::Value* denom1 = B.CreateFAdd(c1, B.CreateFMul(d1, ratio1));
    llvm::Value* r1 = cplx(B.CreateFDiv(B.CreateFAdd(a1, B.CreateFMul(b1, ratio1)), denom1),
                           B.CreateFDiv(B.CreateFSub(b1, B.CreateFMul(a1, ratio1)), denom1));
    llvm::Value *a2 = pick(use2, a, zero), *b2 = pick(use2, b, zero);
    llvm::Value *c2 = pick(use2, c, zero), *d2 = pick(use2, d, one);
    llvm::Value* ratio2 = B.CreateFDiv(c2, d2);
    llvm::Value* denom2 = B.CreateFAdd(B.CreateFMul(c2, ratio2), d2);
    llvm::Value* r2 = cplx(B.CreateFDiv(B.CreateFAdd(B.CreateFMul(a2, ratio2), b2), denom2),
                           B.CreateFDiv(B.CreateFSub(B.CreateFMul(b2, ratio2), a2), denom2));
    llvm::Value* q = fconst(T, std::nan(""));
    return B.CreateSelect(use1, r1, B.CreateSelect(use2, r2, cplx(q, q)));
  }

  Val complex_binary(BinOp op, const Val& a, const Val& b, const VT& t, const Expr* site) {
    if (t.py) {
      check_big_int(a);
      check_big_int(b);
    }
    Val r;
    r.t = t;
    r.npf = merge_np(t, a, b);
    if (t.mixed()) r.npf = pair_np(a, b);
    llvm::Value* x = conv(a, t.r);
    llvm::Value* y = conv(b, t.r);
    switch (op) {
      case BinOp::Add: r.v = cplx(B.CreateFAdd(re_of(x), re_of(y)), B.CreateFAdd(im_of(x), im_of(y))); break;
      case BinOp::Sub: r.v = cplx(B.CreateFSub(re_of(x), re_of(y)), B.CreateFSub(im_of(x), im_of(y))); break;
      case BinOp::Mul: r.v = cprod(x, y); break;
      case BinOp::Div: {
        // CPython's _Py_c_quot for a Python complex (a zero divisor raises
        // ZeroDivisionError), NumPy's division loop for its scalars; a value
        // of either kind computes both and keeps its own.
        llvm::Value* py = t.py ? cquot(x, y, false) : nullptr;
        llvm::Value* np = t.np ? cquot(x, y, true) : nullptr;
        if (t.py) {
          llvm::Value* zero = fconst(re_of(y)->getType(), 0.0);
          llvm::Value* by_zero = B.CreateAnd(B.CreateFCmpOEQ(re_of(y), zero), B.CreateFCmpOEQ(im_of(y), zero));
          if (t.mixed()) by_zero = B.CreateAnd(by_zero, B.CreateNot(r.npf));
          trap_later(by_zero, Trap::ZeroDivision);
        }
        r.v = t.mixed() ? B.CreateSelect(r.npf, np, py) : t.py ? py : np;
        break;
      }
      case BinOp::Pow: {
        // CPython's c_powu: r = 1, p = x; for each bit of n from the lowest:
        // r = r * p when set, then p = p * p. An infinite part in the result
        // raises OverflowError ("complex exponentiation").
        int64_t n = site->args[1]->ival;
        llvm::Value* acc = cplx(fconst(f64, 1.0), fconst(f64, 0.0));
        llvm::Value* p = x;
        for (int64_t mask = 1; mask > 0 && n >= mask; mask <<= 1) {
          if (n & mask) acc = cprod(acc, p);
          p = cprod(p, p);
        }
        llvm::Value* inf = fconst(f64, INFINITY);
        llvm::Value* ovf = B.CreateOr(B.CreateFCmpOEQ(intrinsic(llvm::Intrinsic::fabs, {re_of(acc)}), inf),
                                      B.CreateFCmpOEQ(intrinsic(llvm::Intrinsic::fabs, {im_of(acc)}), inf));
        trap_later(ovf, Trap::MathOverflow);
        r.v = acc;
        return r;
      }
      default: throw Unsupported{DeclineCode::Internal, 0, "internal: complex operation"};
    }
    note_numpy_float(r);
    return r;
  }

  // ---- expressions --------------------------------------------------------
  Val load_var(const std::string& name, int line) {
    (void)line;
    const VarInfo& vi = S.vars[S.var_index.at(name)];
    VarStore& st = vars_.at(name);
    if (!vi.input && !active_loops_.count(name)) trap_if(B.CreateNot(B.CreateLoad(i1, st.defined)), Trap::Unbound);
    Val v;
    v.t = vi.type;
    v.v = B.CreateLoad(ty(vi.type.r), st.value);
    if (vi.type.mixed()) v.npf = kind_numpy(B.CreateLoad(i8, st.kind));
    return v;
  }
  // Whether a kind code (kind_code) is a NumPy scalar's: 3 and above, but 13
  // (a Python complex).
  llvm::Value* kind_numpy(llvm::Value* kind) {
    return B.CreateAnd(B.CreateICmpUGE(kind, B.getInt8(3)), B.CreateICmpNE(kind, B.getInt8(13)));
  }

  void store_var(const std::string& name, const Val& val) {
    const VarInfo& vi = S.vars[S.var_index.at(name)];
    VarStore& st = vars_.at(name);
    B.CreateStore(conv(val, vi.type.r), st.value);
    llvm::Value* kind;
    if (val.t.mixed())
      kind = B.CreateSelect(val.npf, B.getInt8(kind_code(val.t.r, true)), B.getInt8(kind_code(val.t.r, false)));
    else
      kind = B.getInt8(kind_code(val.t));
    B.CreateStore(kind, st.kind);
    B.CreateStore(B.getInt1(true), st.defined);
    B.CreateStore(B.getInt1(true), st.touched);
  }

  llvm::Value* element_ptr(const Expr& e) {
    int ai = S.array_index.at(e.name);
    const ArrayDesc& d = arrays_[ai];
    const auto& modes = S.index_modes.at(&e);
    llvm::Value* off = B.getInt64(0);
    for (size_t k = 0; k < e.args.size(); ++k) {
      Val ix = expr(*e.args[k]);
      llvm::Value* i = conv(ix, Repr::I64);
      llvm::Value* n = d.shape[k];
      switch (modes[k]) {
        case IndexMode::Direct: break;
        case IndexMode::AddExtent: i = B.CreateAdd(i, n); break;
        case IndexMode::Wrap: i = B.CreateSelect(B.CreateICmpSLT(i, B.getInt64(0)), B.CreateAdd(i, n), i); break;
        case IndexMode::CheckedWrap: {
          llvm::Value* bad = B.CreateOr(B.CreateICmpSGE(i, n), B.CreateICmpSLT(i, B.CreateNeg(n)));
          trap_if(bad, Trap::Index);
          i = B.CreateSelect(B.CreateICmpSLT(i, B.getInt64(0)), B.CreateAdd(i, n), i);
          break;
        }
      }
      off = B.CreateAdd(off, B.CreateMul(i, d.stride[k]));
    }
    return B.CreateGEP(i8, d.data, off);
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
      case DType::UInt64: return Repr::I64;
      case DType::Complex128: return Repr::C128;
      case DType::Complex64: return Repr::C64;
      case DType::Float16: return Repr::F32;
    }
    return Repr::F64;
  }

  static bool small_signed(DType t) { return t == DType::Int8 || t == DType::Int16; }
  // The valid range of a small integer dtype.
  static std::pair<int64_t, int64_t> small_range(DType t) {
    switch (t) {
      case DType::UInt8: return {0, UINT8_MAX};
      case DType::Int8: return {INT8_MIN, INT8_MAX};
      case DType::UInt16: return {0, UINT16_MAX};
      case DType::Int16: return {INT16_MIN, INT16_MAX};
      case DType::UInt32: return {0, UINT32_MAX};
      default: return {0, INT64_MAX};  // UInt64: the non-negative int64 values
    }
  }

  Val load_element(const Expr& e, llvm::Value* p) {
    const ArrayInfo& a = S.arrays[S.array_index.at(e.name)];
    Repr r = dtype_repr(a.dtype);
    Val v;
    if (a.dtype == DType::Float16) {
      llvm::LoadInst* ld = B.CreateAlignedLoad(B.getInt16Ty(), p, llvm::Align(1));
      tag(ld, e.name);
      loaded_arrays.insert(e.name);
      return Val{half_to_float(ld), VT{Repr::F32, false, true, Small::F16}, nullptr};
    }
    if (Small s = small_of(a.dtype); s != Small::None) {
      llvm::Type* et = B.getIntNTy(8 * dtype_size(a.dtype));
      llvm::LoadInst* ld = B.CreateAlignedLoad(et, p, llvm::Align(1));
      tag(ld, e.name);
      loaded_arrays.insert(e.name);
      v.t = VT{Repr::I64, false, true, s};
      v.v = small_signed(a.dtype) ? B.CreateSExt(ld, i64) : B.CreateZExt(ld, i64);
      return v;
    }
    v.t = a.python_elements ? VT{r, true, false} : VT{r, false, true};  // an item of a Python list
    if (is_complex(r)) {
      llvm::Type* part = r == Repr::C128 ? f64 : f32;
      llvm::LoadInst* lr = B.CreateAlignedLoad(part, p, llvm::Align(1));
      llvm::LoadInst* li = B.CreateAlignedLoad(part, B.CreateConstGEP1_64(part, p, 1), llvm::Align(1));
      tag(lr, e.name);
      tag(li, e.name);
      loaded_arrays.insert(e.name);
      v.v = cplx(lr, li);
      return v;
    }
    llvm::LoadInst* ld = B.CreateAlignedLoad(r == Repr::Bool ? i8 : ty(r), p, llvm::Align(1));
    tag(ld, e.name);
    loaded_arrays.insert(e.name);
    v.v = r == Repr::Bool ? B.CreateICmpNE(ld, B.getInt8(0)) : static_cast<llvm::Value*>(ld);
    return v;
  }

  void store_element(const Expr& e, llvm::Value* p, const Val& val) {
    const ArrayInfo& a = S.arrays[S.array_index.at(e.name)];
    llvm::Value* out = nullptr;
    switch (a.dtype) {
      case DType::Complex128:
      case DType::Complex64: {
        // NumPy casts each part (complex128 to complex64: "overflow
        // encountered in cast" where a part becomes infinite).
        Repr r = a.dtype == DType::Complex128 ? Repr::C128 : Repr::C64;
        llvm::Type* part = r == Repr::C128 ? f64 : f32;
        if (r == Repr::C64 && is_int(val.t.r)) {
          // exact as a double (|i| <= 2**53), so that the one rounding to a
          // complex64's float is NumPy's
          llvm::Value* v64 = conv(val, Repr::I64);
          llvm::Value* lim = B.getInt64(int64_t(1) << 53);
          trap_later(B.CreateOr(B.CreateICmpSGT(v64, lim), B.CreateICmpSLT(v64, B.CreateNeg(lim))), Trap::BigInt);
        }
        if (r == Repr::C64 && (val.t.r == Repr::C128 || val.t.r == Repr::F64)) reads_fp_flags = true;
        llvm::Value* z = is_int(val.t.r) && r == Repr::C64
                             ? cplx(B.CreateFPTrunc(conv(val, Repr::F64), f32), fconst(f32, 0.0))
                             : conv(val, r);
        tag(B.CreateAlignedStore(re_of(z), p, llvm::Align(1)), e.name);
        tag(B.CreateAlignedStore(im_of(z), B.CreateConstGEP1_64(part, p, 1), llvm::Align(1)), e.name);
        return;
      }
      case DType::Float64: out = is_f16(val.t) ? half_value_to_double(val.v) : conv(val, Repr::F64); break;
      case DType::Float16: {
        // NumPy's casts: exact for an np.float16, one rounding of a float32
        // or a float64 (an int within 2**24, the specialiser checked, is
        // exact as a float64), "overflow encountered in cast" where a finite
        // value becomes infinite
        llvm::Value* ovf = nullptr;
        if (val.t.r == Repr::F32)
          out = float_to_half(val.v, &ovf);
        else
          out = double_to_half(conv(val, Repr::F64), &ovf);
        if (!is_f16(val.t)) numpy_reports(ovf);
        break;
      }
      case DType::Float32:
        // NumPy converts Python and NumPy ints through a C double first.
        if (val.t.r == Repr::F64) reads_fp_flags = true;  // "overflow encountered in cast"
        out = is_int(val.t.r) ? B.CreateFPTrunc(conv(val, Repr::F64), f32) : conv(val, Repr::F32);
        break;
      case DType::Int64: out = conv(val, Repr::I64); break;
      case DType::Int32: {
        if (val.t.r == Repr::I64 && val.t.py) {
          llvm::Value* bad =
              B.CreateOr(B.CreateICmpSGT(val.v, B.getInt64(INT32_MAX)), B.CreateICmpSLT(val.v, B.getInt64(INT32_MIN)));
          trap_if(bad, Trap::Int32);
        }
        out = conv(val, Repr::I32);
        break;
      }
      case DType::Bool: out = B.CreateZExt(truth(val), i8); break;
      case DType::UInt8:
      case DType::Int8:
      case DType::UInt16:
      case DType::Int16:
      case DType::UInt32:
      case DType::UInt64: {
        // NumPy 1.24: a NumPy integer (or bool) is cast as C casts, wrapping
        // silently; a Python int out of range warns (DeprecationWarning) and
        // a float is converted in ways that differ between Python floats and
        // np.float64 once out of range, so both stop the run there. In range,
        // a float is truncated towards zero.
        auto [lo, hi] = small_range(a.dtype);
        llvm::Value* wide = nullptr;
        if (is_float(val.t.r)) {
          llvm::Value* d = conv(val, Repr::F64);
          llvm::Value* ok = B.CreateAnd(B.CreateFCmpOGT(d, fconst(f64, static_cast<double>(lo) - 1.0)),
                                        B.CreateFCmpOLT(d, fconst(f64, static_cast<double>(hi) + 1.0)));
          trap_if(B.CreateNot(ok), Trap::Int32);
          wide = B.CreateFPToSI(d, i64);
        } else {
          wide = conv(val, Repr::I64);
          if (val.t.py && is_int(val.t.r)) {
            llvm::Value* bad = B.CreateOr(B.CreateICmpSGT(wide, B.getInt64(hi)), B.CreateICmpSLT(wide, B.getInt64(lo)));
            trap_if(bad, Trap::Int32);
          }
        }
        out = B.CreateTrunc(wide, B.getIntNTy(8 * dtype_size(a.dtype)));
        break;
      }
    }
    tag(B.CreateAlignedStore(out, p, llvm::Align(1)), e.name);
  }

  Val expr(const Expr& e) {
    switch (e.kind) {
      case ExprKind::IntConst: return Val{B.getInt64(e.ival), kPyInt, nullptr};
      case ExprKind::FloatConst: return Val{fconst(f64, e.fval), kPyFloat, nullptr};
      case ExprKind::BoolConst: return Val{B.getInt1(e.ival != 0), kPyBool, nullptr};
      case ExprKind::Name: return load_var(e.name, e.line);
      case ExprKind::Subscript:
        if (auto v = forwarded(e)) return *v;
        return load_element(e, element_ptr(e));
      case ExprKind::Binary: {
        Val a = expr(*e.args[0]);
        Val b = expr(*e.args[1]);
        return binary(e.bin_op, a, b, &e, e.line);
      }
      case ExprKind::Unary: {
        Val a = expr(*e.args[0]);
        if (e.un_op == UnOp::Not) return Val{B.CreateNot(truth(a)), kPyBool, nullptr};
        if (e.un_op == UnOp::Invert) {
          // -x - 1; np.uint8 ... flip their own bits; np.bool_: not; ~True: -2
          if (a.t.r == Repr::Bool && a.t.np) return Val{B.CreateNot(a.v), a.t, nullptr};
          if (a.t.r == Repr::Bool) a = Val{B.CreateZExt(a.v, i64), kPyInt, nullptr};
          if (a.t.small == Small::U8 || a.t.small == Small::U16 || a.t.small == Small::U32)
            return Val{B.CreateXor(a.v, B.getInt64(cpu::small_range(a.t.small).second)), a.t, a.npf};
          return Val{B.CreateNot(a.v), a.t, a.npf};
        }
        if (a.t.r == Repr::Bool) a = Val{B.CreateZExt(a.v, i64), kPyInt, nullptr};
        if (e.un_op == UnOp::Pos) return a;
        if (is_u64(a.t)) {
          // 0 - x modulo 2**64: "overflow encountered in scalar negative" unless x is 0
          numpy_reports(B.CreateICmpNE(a.v, B.getInt64(0)));
          return Val{B.CreateNeg(a.v), a.t, nullptr};
        }
        if (is_float(a.t.r)) return Val{negated(a.v), a.t, a.npf};
        if (is_complex(a.t.r)) {
          Val r{cplx(negated(re_of(a.v)), negated(im_of(a.v))), a.t, a.npf};
          return r;
        }
        if (S.overflow_checks.count(&e)) {
          llvm::Value* res =
              intrinsic(llvm::Intrinsic::ssub_with_overflow, {llvm::ConstantInt::get(a.v->getType(), 0), a.v});
          if (a.t.py)
            trap_if(B.CreateExtractValue(res, 1), Trap::Overflow);
          else
            numpy_reports(B.CreateExtractValue(res, 1));  // "scalar negative"
          return Val{B.CreateExtractValue(res, 0), a.t, a.npf};
        }
        return Val{B.CreateNeg(a.v), a.t, a.npf};
      }
      case ExprKind::Compare: return compare(e);
      case ExprKind::Logical: return logical(e);
      case ExprKind::IfExp: return ifexp(e);
      case ExprKind::Call: return call(e);
    }
    throw Unsupported{DeclineCode::Internal, e.line, "internal: unknown expression"};
  }

  llvm::Value* compare_pair(CmpOp op, const Val& a, const Val& b, int line) {
    VT d = compare_domain(a.t, b.t, line);
    if ((is_float(d.r) || is_complex(d.r)) && d.py) {
      check_big_int(a);
      check_big_int(b);
    }
    llvm::Value* x = conv(a, d.r);
    llvm::Value* y = conv(b, d.r);
    if (is_complex(d.r)) {
      // (the specialiser declines the orderings)
      llvm::Value* eq = B.CreateAnd(B.CreateFCmpOEQ(re_of(x), re_of(y)), B.CreateFCmpOEQ(im_of(x), im_of(y)));
      return op == CmpOp::Ne ? B.CreateNot(eq) : eq;
    }
    if (is_u64(d)) {
      switch (op) {
        case CmpOp::Lt: return B.CreateICmpULT(x, y);
        case CmpOp::Le: return B.CreateICmpULE(x, y);
        case CmpOp::Gt: return B.CreateICmpUGT(x, y);
        case CmpOp::Ge: return B.CreateICmpUGE(x, y);
        case CmpOp::Eq: return B.CreateICmpEQ(x, y);
        case CmpOp::Ne: return B.CreateICmpNE(x, y);
      }
    }
    if (is_int(d.r)) {
      switch (op) {
        case CmpOp::Lt: return B.CreateICmpSLT(x, y);
        case CmpOp::Le: return B.CreateICmpSLE(x, y);
        case CmpOp::Gt: return B.CreateICmpSGT(x, y);
        case CmpOp::Ge: return B.CreateICmpSGE(x, y);
        case CmpOp::Eq: return B.CreateICmpEQ(x, y);
        case CmpOp::Ne: return B.CreateICmpNE(x, y);
      }
    }
    switch (op) {
      case CmpOp::Lt: return B.CreateFCmpOLT(x, y);
      case CmpOp::Le: return B.CreateFCmpOLE(x, y);
      case CmpOp::Gt: return B.CreateFCmpOGT(x, y);
      case CmpOp::Ge: return B.CreateFCmpOGE(x, y);
      case CmpOp::Eq: return B.CreateFCmpOEQ(x, y);
      case CmpOp::Ne: return B.CreateFCmpUNE(x, y);
    }
    return nullptr;
  }

  Val compare(const Expr& e) {
    // a < b < c: each operand evaluated once; a false link short-circuits.
    // Operands have no side effects, so evaluating all of them is safe
    // except for traps; those only make Python decide, which is exact.
    std::vector<Val> ops;
    for (auto& a : e.args) ops.push_back(expr(*a));
    llvm::Value* res = nullptr;
    VT t{Repr::Bool, false, false};
    llvm::Value* npf = nullptr;
    for (size_t i = 0; i + 1 < ops.size(); ++i) {
      llvm::Value* c = compare_pair(e.cmp_ops[i], ops[i], ops[i + 1], e.line);
      res = res ? B.CreateAnd(res, c) : c;
      VT r = compare_result(ops[i].t, ops[i + 1].t);
      t.py |= r.py;
      t.np |= r.np;
    }
    if (t.mixed()) {
      // which result a chain yields depends on where it stops; take the
      // NumPy-ness of the first pair when it is false, else of the last.
      npf = B.getInt1(false);
      for (size_t i = 0; i + 1 < ops.size(); ++i) npf = B.CreateOr(npf, pair_np(ops[i], ops[i + 1]));
    }
    return Val{res, t, npf};
  }

  Val logical(const Expr& e) {
    // Python returns the first operand that decides (`a or b` is a if a is
    // true); evaluate with short circuit through blocks and phis.
    auto* done = llvm::BasicBlock::Create(C, "logic.done", F_);
    std::vector<std::pair<llvm::BasicBlock*, Val>> incoming;
    VT t;
    bool first = true;
    for (size_t i = 0; i < e.args.size(); ++i) {
      Val v = expr(*e.args[i]);
      if (first)
        t = v.t;
      else
        t = VT{t.r, t.py || v.t.py, t.np || v.t.np};
      first = false;
      incoming.push_back({B.GetInsertBlock(), v});
      if (i + 1 < e.args.size()) {
        auto* next = llvm::BasicBlock::Create(C, "logic.next", F_);
        llvm::Value* c = truth(v);
        if (e.bool_op == BoolOp::And)
          B.CreateCondBr(c, next, done);
        else
          B.CreateCondBr(c, done, next);
        B.SetInsertPoint(next);
      } else {
        B.CreateBr(done);
      }
    }
    B.SetInsertPoint(done);
    auto* phi = B.CreatePHI(ty(t.r), incoming.size());
    llvm::PHINode* nphi = t.mixed() ? B.CreatePHI(i1, incoming.size()) : nullptr;
    for (auto& [bb, v] : incoming) {
      phi->addIncoming(v.v, bb);
      if (nphi) nphi->addIncoming(v.t.mixed() ? v.npf : B.getInt1(v.t.np), bb);
    }
    // values must be computed in their own blocks: conv is not needed since
    // all operands share one representation (checked in specialisation).
    return Val{phi, t, nphi};
  }

  Val ifexp(const Expr& e) {
    Val c = expr(*e.args[0]);
    llvm::Value* cond = truth(c);
    auto* tb = llvm::BasicBlock::Create(C, "ifx.then", F_);
    auto* eb = llvm::BasicBlock::Create(C, "ifx.else", F_);
    auto* done = llvm::BasicBlock::Create(C, "ifx.done", F_);
    B.CreateCondBr(cond, tb, eb);
    B.SetInsertPoint(tb);
    Val a = expr(*e.args[1]);
    llvm::Value* anp = is_np(a);
    auto* ta = B.GetInsertBlock();
    B.CreateBr(done);
    B.SetInsertPoint(eb);
    Val b = expr(*e.args[2]);
    llvm::Value* bnp = is_np(b);
    auto* tbb = B.GetInsertBlock();
    B.CreateBr(done);
    B.SetInsertPoint(done);
    VT t{a.t.r, a.t.py || b.t.py, a.t.np || b.t.np};
    auto* phi = B.CreatePHI(ty(t.r), 2);
    phi->addIncoming(a.v, ta);
    phi->addIncoming(b.v, tbb);
    llvm::PHINode* nphi = nullptr;
    if (t.mixed()) {
      nphi = B.CreatePHI(i1, 2);
      nphi->addIncoming(anp, ta);
      nphi->addIncoming(bnp, tbb);
    }
    return Val{phi, t, nphi};
  }

  // libm's hypot(), as CPython's abs() of a complex and NumPy's npy_hypot call it.
  llvm::Value* libm_hypot(llvm::Value* x, llvm::Value* y) {
    llvm::Type* t = x->getType();
    auto* fty = llvm::FunctionType::get(t, {t, t}, false);
    llvm::FunctionCallee fc = M.getOrInsertFunction(t->isFloatTy() ? "hypotf" : "hypot", fty);
    llvm::CallInst* call = B.CreateCall(fc, {x, y});
    call->addFnAttr(llvm::Attribute::NoBuiltin);
    return call;
  }

  std::optional<Val> complex_call(const Expr& e, const std::vector<Val>& a) {
    const std::string& f = e.name;
    if (f == "complex.literal")
      return Val{cplx(fconst(f64, e.args[0]->fval), fconst(f64, e.args[1]->fval)), kPyComplex, nullptr};
    if (f == "complex") {
      // complex(re, im) of real numbers: (float(re), float(im)) exactly
      for (auto& x : a) check_big_int(x);
      llvm::Value* re = conv(a[0], Repr::F64);
      llvm::Value* im = a.size() > 1 ? conv(a[1], Repr::F64) : fconst(f64, 0.0);
      return Val{cplx(re, im), kPyComplex, nullptr};
    }
    if (a.empty() || !is_complex(a[0].t.r)) return std::nullopt;
    const VT& t = a[0].t;
    VT part{t.r == Repr::C64 ? Repr::F32 : Repr::F64, t.py, t.np};
    if (f == ".real") return Val{re_of(a[0].v), part, a[0].npf};
    if (f == ".imag") return Val{im_of(a[0].v), part, a[0].npf};
    if (f == ".conjugate") return Val{cplx(re_of(a[0].v), negated(im_of(a[0].v))), t, a[0].npf};
    if (f == "abs") {
      llvm::Value* re = re_of(a[0].v);
      llvm::Value* im = im_of(a[0].v);
      llvm::Value* h = libm_hypot(re, im);
      Val r{h, part, a[0].npf};
      if (t.py) {
        // CPython's _Py_c_abs: an infinite part gives inf, else a NaN part
        // its own NaN; an infinite result from finite parts raises
        // OverflowError ("absolute value too large").
        llvm::Value* inf = fconst(f64, INFINITY);
        llvm::Value* any_inf = B.CreateOr(B.CreateFCmpOEQ(intrinsic(llvm::Intrinsic::fabs, {re}), inf),
                                          B.CreateFCmpOEQ(intrinsic(llvm::Intrinsic::fabs, {im}), inf));
        llvm::Value* any_nan = B.CreateOr(B.CreateFCmpUNO(re, re), B.CreateFCmpUNO(im, im));
        llvm::Value* py = B.CreateSelect(any_inf, inf, B.CreateSelect(any_nan, fconst(f64, std::nan("")), h));
        llvm::Value* ovf = B.CreateAnd(B.CreateNot(B.CreateOr(any_inf, any_nan)),
                                       B.CreateFCmpOEQ(intrinsic(llvm::Intrinsic::fabs, {h}), inf));
        if (t.mixed()) {
          trap_later(B.CreateAnd(ovf, B.CreateNot(a[0].npf)), Trap::MathOverflow);
          r.v = B.CreateSelect(a[0].npf, h, py);
        } else {
          trap_later(ovf, Trap::MathOverflow);
          r.v = py;
        }
      }
      note_numpy_float(r);  // NumPy: "overflow encountered in absolute"
      return r;
    }
    throw Unsupported{DeclineCode::Internal, e.line, "internal: " + f + "() of a complex number"};
  }

  Val call(const Expr& e) {
    std::vector<Val> a;
    for (auto& x : e.args) a.push_back(expr(*x));
    const std::string& f = e.name;
    if (auto r = complex_call(e, a)) return *r;
    llvm::Value* inf = fconst(f64, INFINITY);
    if (is_float_class_test(f)) {
      // Quiet comparisons (no invalid-operation flag for a NaN).
      const VT t = f[0] == 'n' ? VT{Repr::Bool, false, true} : kPyBool;
      const std::string test = f[0] == 'n' ? f.substr(3) : f;
      if (!is_float(a[0].t.r)) return Val{B.getInt1(test == "isfinite"), t, nullptr};
      llvm::Value* x = conv(a[0], Repr::F64);  // exact for a float32
      if (test == "isnan") return Val{B.CreateFCmpUNO(x, x), t, nullptr};
      llvm::Value* mag = intrinsic(llvm::Intrinsic::fabs, {x});
      return Val{test == "isinf" ? B.CreateFCmpOEQ(mag, inf) : B.CreateFCmpONE(mag, inf), t, nullptr};
    }
    if (f == "sqrt" || f == "exp" || f == "log" || f == "sin" || f == "cos" || f == "tan" || f == "fabs" ||
        f == "atan" || f == "tanh" || f == "log10" || f == "log2" || f == "expm1" || f == "log1p" || f == "erf" ||
        f == "erfc" || f == "sinh" || f == "cosh") {
      check_big_int(a[0]);
      llvm::Value* x = conv(a[0], Repr::F64);
      llvm::Value* r = nullptr;
      llvm::Value* zero = fconst(f64, 0.0);
      if (f == "sqrt") {
        trap_later(B.CreateFCmpOLT(x, zero), Trap::Domain);
        r = intrinsic(llvm::Intrinsic::sqrt, {x});
      } else if (f == "fabs") {
        r = intrinsic(llvm::Intrinsic::fabs, {x});
      } else if (f == "log" || f == "log10" || f == "log2") {
        trap_later(B.CreateFCmpOLE(x, zero), Trap::Domain);
        r = libm(f, x);
      } else if (f == "log1p") {
        trap_later(B.CreateFCmpOLE(x, fconst(f64, -1.0)), Trap::Domain);
        r = libm(f, x);
      } else if (f == "sin" || f == "cos" || f == "tan") {
        trap_later(B.CreateFCmpOEQ(intrinsic(llvm::Intrinsic::fabs, {x}), inf), Trap::Domain);
        r = libm(f, x);
      } else {
        r = libm(f, x);  // exp, expm1, atan, tanh, erf, erfc, sinh, cosh
        if (f == "exp" || f == "expm1" || f == "sinh" || f == "cosh") {
          // an infinite result from a finite argument (sinh(-800) is -inf)
          llvm::Value* ovf = B.CreateAnd(B.CreateFCmpOEQ(intrinsic(llvm::Intrinsic::fabs, {r}), inf),
                                         B.CreateFCmpOLT(intrinsic(llvm::Intrinsic::fabs, {x}), inf));
          trap_later(ovf, Trap::MathOverflow);
        }
      }
      return Val{r, kPyFloat, nullptr};
    }
    if (f == "fmod" || f == "copysign" || f == "hypot") {
      // Both exact in C. math.fmod: a NaN from operands that are not NaN
      // (x infinite or y zero) is ValueError; fmod(x, +-inf) is x for a
      // finite x, as in C. LLVM's frem is C's fmod.
      check_big_int(a[0]);
      check_big_int(a[1]);
      llvm::Value* x = conv(a[0], Repr::F64);
      llvm::Value* y = conv(a[1], Repr::F64);
      if (f == "copysign") return Val{intrinsic(llvm::Intrinsic::copysign, {x, y}), kPyFloat, nullptr};
      if (f == "hypot") {
        // CPython's vector_norm, not libm's hypot (never an error: inf on overflow)
        auto* fty = llvm::FunctionType::get(f64, {f64, f64}, false);
        auto* call = B.CreateCall(fty, fn_ptr(reinterpret_cast<void*>(&rt::ls_rt_hypot)), {x, y});
        call->setDoesNotAccessMemory();
        call->setDoesNotThrow();
        return Val{call, kPyFloat, nullptr};
      }
      llvm::Value* r = B.CreateFRem(x, y);
      trap_later(B.CreateAnd(B.CreateFCmpUNO(r, r), B.CreateFCmpORD(x, y)), Trap::Domain);
      return Val{r, kPyFloat, nullptr};
    }
    if (f == "floor" || f == "ceil" || f == "trunc") {
      // Python's int and bool are exact (int.__floor__); NumPy's integers
      // have no __floor__/__ceil__, so Python converts them to float first
      // (np.int64(2**53 + 1) floors to 2**53). The specialiser declines
      // math.trunc() of them (TypeError) and values of either kind.
      bool via_float = is_int(a[0].t.r) && a[0].t.np;
      if (!via_float && (is_int(a[0].t.r) || a[0].t.r == Repr::Bool))
        return Val{conv(a[0], Repr::I64), kPyInt, nullptr};
      llvm::Value* x = conv(a[0], Repr::F64);
      auto id = f == "floor" ? llvm::Intrinsic::floor : f == "ceil" ? llvm::Intrinsic::ceil : llvm::Intrinsic::trunc;
      llvm::Value* r = intrinsic(id, {x});
      return Val{float_to_int(r), kPyInt, nullptr};
    }
    if (f == "float" && is_f16(a[0].t)) return Val{half_value_to_double(a[0].v), kPyFloat, nullptr};
    if (f == "float") {
      check_big_int(a[0]);
      return Val{conv(a[0], Repr::F64), kPyFloat, nullptr};
    }
    if (f == "round" && a.size() == 2) return round_digits(a[0], a[1]);
    if (f == "int" || (f == "round" && is_u64(a[0].t))) {
      if (is_u64(a[0].t)) {
        // a Python int: one of 2**63 or more is a big int, left to Python
        trap_if(B.CreateICmpSLT(a[0].v, B.getInt64(0)), Trap::Overflow);
        return Val{a[0].v, kPyInt, nullptr};
      }
      if (!is_float(a[0].t.r)) return Val{conv(a[0], Repr::I64), kPyInt, nullptr};
      llvm::Value* x = conv(a[0], Repr::F64);
      return Val{float_to_int(intrinsic(llvm::Intrinsic::trunc, {x})), kPyInt, nullptr};
    }
    if (f == "round") {
      // half to even, then int() (NaN: ValueError, infinity: OverflowError)
      if (!is_float(a[0].t.r)) return Val{conv(a[0], Repr::I64), kPyInt, nullptr};
      llvm::Value* x = conv(a[0], Repr::F64);
      return Val{float_to_int(intrinsic(llvm::Intrinsic::rint, {x})), kPyInt, nullptr};
    }
    if (f == "abs") {
      Val x = a[0];
      if (x.t.r == Repr::Bool) x = Val{B.CreateZExt(x.v, i64), kPyInt, nullptr};
      if (is_float(x.t.r)) return Val{intrinsic(llvm::Intrinsic::fabs, {x.v}), x.t, x.npf};
      llvm::Value* neg;
      if (S.overflow_checks.count(&e)) {
        llvm::Value* res =
            intrinsic(llvm::Intrinsic::ssub_with_overflow, {llvm::ConstantInt::get(x.v->getType(), 0), x.v});
        if (x.t.py)
          trap_if(B.CreateExtractValue(res, 1), Trap::Overflow);
        else
          numpy_reports(B.CreateExtractValue(res, 1));  // "scalar absolute"
        neg = B.CreateExtractValue(res, 0);
      } else {
        neg = B.CreateNeg(x.v);
      }
      llvm::Value* isneg = B.CreateICmpSLT(x.v, llvm::ConstantInt::get(x.v->getType(), 0));
      return Val{B.CreateSelect(isneg, neg, x.v), x.t, x.npf};
    }
    if (f == "min" || f == "max") {
      // Python: the first of the extreme values (min keeps res unless x < res).
      Val res = a[0];
      for (size_t i = 1; i < a.size(); ++i) {
        llvm::Value* better = compare_pair(f == "min" ? CmpOp::Lt : CmpOp::Gt, a[i], res, e.line);
        VT t{res.t.r, res.t.py || a[i].t.py, res.t.np || a[i].t.np};
        llvm::Value* npf = t.mixed() ? B.CreateSelect(better, is_np(a[i]), is_np(res)) : nullptr;
        res = Val{B.CreateSelect(better, a[i].v, res.v), t, npf};
      }
      return res;
    }
    if (f == "np.sqrt") {
      Repr r = a[0].t.r == Repr::F32 ? Repr::F32 : Repr::F64;
      Val res{intrinsic(llvm::Intrinsic::sqrt, {conv(a[0], r)}), VT{r, false, true}, nullptr};
      note_numpy_float(res);  // np.sqrt(-1.0): "invalid value encountered in sqrt"
      return res;
    }
    if (f == "np.abs" || f == "np.fabs") {
      Repr r = a[0].t.r == Repr::Bool ? Repr::I64 : a[0].t.r;
      if (f == "np.fabs" && is_int(r)) r = Repr::F64;
      llvm::Value* x = conv(a[0], r);
      if (is_float(r)) return Val{intrinsic(llvm::Intrinsic::fabs, {x}), VT{r, false, true}, nullptr};
      llvm::Value* isneg = B.CreateICmpSLT(x, llvm::ConstantInt::get(x->getType(), 0));
      return Val{B.CreateSelect(isneg, B.CreateNeg(x), x), VT{r, false, true}, nullptr};
    }
    if (f == "np.clip") {
      // np.minimum(np.maximum(x, lo), hi) (NumPy's clip loop); a NaN bound
      // makes NumPy warn (DeprecationWarning) and ignore it: Python runs.
      VT t = cpu::clip_type(a[0].t, a[1].t, a[2].t, e.line);
      llvm::Value* x = conv(a[0], t.r);
      llvm::Value* lo = conv(a[1], t.r);
      llvm::Value* hi = conv(a[2], t.r);
      llvm::Value *m, *res;
      if (is_int(t.r)) {
        m = B.CreateSelect(B.CreateICmpSGE(x, lo), x, lo);
        res = B.CreateSelect(B.CreateICmpSLE(m, hi), m, hi);
      } else {
        trap_later(B.CreateOr(B.CreateFCmpUNO(lo, lo), B.CreateFCmpUNO(hi, hi)), Trap::NumpyWarning);
        // A NaN x is the result; it is not compared (a vectorised ordered
        // comparison with NaN would raise the invalid flag NumPy does not).
        llvm::Value* isnan = B.CreateFCmpUNO(x, x);
        llvm::Value* xs = B.CreateSelect(isnan, llvm::ConstantFP::get(x->getType(), 0.0), x);
        m = B.CreateSelect(B.CreateFCmpOGT(xs, lo), xs, lo);
        res = B.CreateSelect(isnan, x, B.CreateSelect(B.CreateFCmpOLT(m, hi), m, hi));
      }
      return Val{res, t, nullptr};
    }
    if (f == "np.minimum" || f == "np.maximum") {
      VT t = binary_type(BinOp::Add, a[0].t, a[1].t, e.line);
      llvm::Value* x = conv(a[0], t.r);
      llvm::Value* y = conv(a[1], t.r);
      llvm::Value* pick_x;
      if (is_int(t.r)) {
        pick_x = f == "np.minimum" ? B.CreateICmpSLE(x, y) : B.CreateICmpSGE(x, y);
      } else {
        // NumPy's scalar loop: (x < y || isnan(x)) ? x : y, so ties
        // (0.0 and -0.0) give y.
        llvm::Value* c = f == "np.minimum" ? B.CreateFCmpOLT(x, y) : B.CreateFCmpOGT(x, y);
        pick_x = B.CreateOr(c, B.CreateFCmpUNO(x, x));
      }
      return Val{B.CreateSelect(pick_x, x, y), VT{t.r, false, true}, nullptr};
    }
    if (f == "np.float64") return Val{conv(a[0], Repr::F64), VT{Repr::F64, false, true}, nullptr};
    if (f == "np.float32") {
      if (a[0].t.r == Repr::F64) reads_fp_flags = true;  // "overflow encountered in cast"
      return Val{conv(a[0], Repr::F32), VT{Repr::F32, false, true}, nullptr};
    }
    if (f == "np.int64") return Val{conv(a[0], Repr::I64), VT{Repr::I64, false, true}, nullptr};
    if (f == "np.uint64") return Val{conv(a[0], Repr::I64), VT{Repr::I64, false, true, Small::U64}, nullptr};
    if (f.rfind("np.", 0) == 0 && !a.empty() && is_float(a[0].t.r)) {
      // NumPy's own inner loop on one element (the specialiser checked that
      // the caller supplied it for this float type): NumPy's result, and its
      // IEEE flags for its warnings.
      Repr r = a[0].t.r;
      if (const auto* loop = S.options.ufunc_loop(f + (r == Repr::F64 ? ":d" : ":f"), a.size())) {
        llvm::Type* t = r == Repr::F64 ? f64 : f32;
        std::vector<llvm::Type*> params{ptr, ptr};
        std::vector<llvm::Value*> args{fn_ptr(loop->fn), fn_ptr(loop->data)};
        for (auto& x : a) {
          params.push_back(t);
          args.push_back(conv(x, r));
        }
        void* helper = r == Repr::F64 ? (a.size() == 1 ? reinterpret_cast<void*>(&rt::ls_rt_ufunc_d1)
                                                       : reinterpret_cast<void*>(&rt::ls_rt_ufunc_d2))
                                      : (a.size() == 1 ? reinterpret_cast<void*>(&rt::ls_rt_ufunc_f1)
                                                       : reinterpret_cast<void*>(&rt::ls_rt_ufunc_f2));
        auto* fty = llvm::FunctionType::get(t, params, false);
        Val res{B.CreateCall(fty, fn_ptr(helper), args), VT{r, false, true}, nullptr};
        note_numpy_float(res);
        return res;
      }
    }
    throw Unsupported{DeclineCode::UnsupportedOperation, e.line, f + "() is not supported in native code"};
  }

  llvm::Value* float_to_int(llvm::Value* x) {
    // x is integral (or NaN/inf); Python raises for NaN/inf, and is exact
    // beyond int64 where native code cannot be.
    llvm::Value* ok = B.CreateAnd(B.CreateFCmpOGE(x, fconst(f64, -9223372036854775808.0)),
                                  B.CreateFCmpOLT(x, fconst(f64, 9223372036854775808.0)));
    trap_if(B.CreateNot(ok), Trap::FloatToInt);
    return B.CreateFPToSI(x, i64);
  }

  // ---- statements ---------------------------------------------------------
  void block(const std::vector<StmtPtr>& body) {
    forward_ = nullptr;
    for (auto& s : body) stmt(*s);
    forward_ = nullptr;
  }

  // Store-to-load forwarding within straight-line code: after `X[s] = v`, a
  // read of `X[s]` (the same subscript, made of names and constants) before
  // any other store, any control flow and any assignment to a name of `s`
  // is the value stored, as the element would read back (float64 and int64
  // elements: the same bits). The nest then need not read X for it: deriche's
  // `y1[i, j] = ...; ym1 = y1[i, j]` does not count as reading y1
  // (loaded_arrays), so a NumPy warning can rerun Python without a copy of y1.
  const Expr* forward_ = nullptr;  // the target of the last store, while it may be forwarded
  Val forward_val_;
  void note_store(const Expr& target, const Val& stored) {
    forward_ = nullptr;
    const ArrayInfo& a = S.arrays[S.array_index.at(target.name)];
    if (a.dtype != DType::Float64 && a.dtype != DType::Int64) return;
    for (auto& x : target.args)
      if (!plain_expr(*x, false)) return;
    Repr r = dtype_repr(a.dtype);
    forward_ = &target;
    forward_val_ = Val{conv(stored, r), VT{r, false, true}, nullptr};
  }
  std::optional<Val> forwarded(const Expr& e) {
    if (!forward_ || !same_expr(e, *forward_)) return std::nullopt;
    return forward_val_;
  }

  static bool has_loop(const std::vector<StmtPtr>& body) {
    for (auto& s : body) {
      if (s->kind == StmtKind::For || s->is_while) return true;
      if (s->kind == StmtKind::If && (has_loop(s->body) || has_loop(s->orelse))) return true;
    }
    return false;
  }

  void stmt(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Assign:
      case StmtKind::AugAssign: {
        if (s.target->kind == ExprKind::Name) {
          Val v = expr(*s.value);
          if (s.kind == StmtKind::AugAssign)
            v = binary(s.aug_op, load_var(s.target->name, s.line), v, s.target.get(), s.line);
          store_var(s.target->name, v);
          if (forward_ && mentions(*forward_, s.target->name)) forward_ = nullptr;
        } else {
          Val v = expr(*s.value);
          llvm::Value* p = element_ptr(*s.target);
          if (s.kind == StmtKind::AugAssign) {
            auto f = forwarded(*s.target);
            v = binary(s.aug_op, f ? *f : load_element(*s.target, p), v, s.target.get(), s.line);
          }
          store_element(*s.target, p, v);
          note_store(*s.target, v);
        }
        return;
      }
      case StmtKind::If: {
        forward_ = nullptr;
        if (s.is_while) return while_loop(s);
        llvm::Value* c = truth(expr(*s.cond));
        auto* tb = llvm::BasicBlock::Create(C, "if.then", F_);
        auto* eb = llvm::BasicBlock::Create(C, "if.else", F_);
        auto* done = llvm::BasicBlock::Create(C, "if.done", F_);
        B.CreateCondBr(c, tb, eb);
        B.SetInsertPoint(tb);
        block(s.body);
        B.CreateBr(done);
        B.SetInsertPoint(eb);
        block(s.orelse);
        B.CreateBr(done);
        B.SetInsertPoint(done);
        forward_ = nullptr;
        return;
      }
      case StmtKind::For:
        forward_ = nullptr;
        loop(s);
        forward_ = nullptr;
        return;
      case StmtKind::Break:
      case StmtKind::Continue: {
        forward_ = nullptr;
        auto it = jumps_.find(s.jump_target);
        if (it == jumps_.end())
          throw Unsupported{DeclineCode::Internal, s.line, "internal: the loop this jump leaves is not open"};
        B.CreateBr(s.kind == StmtKind::Break ? it->second.first : it->second.second);
        // Nothing follows a jump in its block (the front end's rule); the
        // code that closes the enclosing ifs goes into a block no path reaches.
        B.SetInsertPoint(llvm::BasicBlock::Create(C, "after.jump", F_));
        return;
      }
    }
  }

  // Where break and continue of an open loop go (its exit, and the block that
  // starts its next iteration), by Stmt::id.
  std::map<int, std::pair<llvm::BasicBlock*, llvm::BasicBlock*>> jumps_;

  // `while cond: body`: the condition before every pass, an interrupt poll in
  // every pass (the number of passes is unknown).
  void while_loop(const Stmt& s) {
    auto* head = llvm::BasicBlock::Create(C, "while.head", F_);
    auto* body = llvm::BasicBlock::Create(C, "while.body", F_);
    auto* exit = llvm::BasicBlock::Create(C, "while.exit", F_);
    B.CreateBr(head);
    B.SetInsertPoint(head);
    B.CreateCondBr(truth(expr(*s.cond)), body, exit);
    B.SetInsertPoint(body);
    bool saved_quiet = quiet_;
    quiet_ = false;
    poll();
    jumps_[s.id] = {exit, head};
    block(s.body);
    jumps_.erase(s.id);
    quiet_ = saved_quiet;
    B.CreateBr(head);
    B.SetInsertPoint(exit);
  }

  // Whether a statement list holds a while loop, a break or a continue
  // (which loop interchange and unroll-and-jam do not reorder).
  static bool has_control(const std::vector<StmtPtr>& body) {
    for (auto& s : body) {
      if (s->is_while || s->kind == StmtKind::Break || s->kind == StmtKind::Continue) return true;
      if (has_control(s->body) || has_control(s->orelse)) return true;
    }
    return false;
  }

  llvm::Value* range_bound(const Expr& e) {
    Val v = expr(e);
    return conv(v, Repr::I64);
  }

  void loop(const Stmt& s) {
    if (!S.steps.count(s.id)) return variable_step_loop(s);
    int64_t step = S.steps.at(s.id);
    llvm::Value* start = range_bound(*s.start);
    llvm::Value* stop = range_bound(*s.stop);
    llvm::Value* n = trip_count(start, stop, step);
    if (S.parallel_loops.count(s.id)) return parallel_loop(s, start, n, step);
    serial_loop(s, start, B.getInt64(0), n, step);
  }

  // ---- loop interchange -----------------------------------------------------
  // A perfect two-deep rectangular nest `for o: for i: body` whose inner loop
  // walks arrays across their contiguous dimension with o runs as
  // `for i: for o: body`. Only where each memory element sees the same
  // operations in the same order (so results stay bit-identical): o is a
  // parallel loop, no dependence edge is reversed, no scalar is assigned in
  // the body, every statement either writes an element indexed by both loops
  // or accumulates into an element indexed by o only. Variants with
  // run-time checks are rebuilt without interchange (compile_spec), since the
  // first failing iteration would change.
  static bool mentions(const Expr& e, const std::string& v) {
    if (e.kind == ExprKind::Name && e.name == v) return true;
    for (auto& a : e.args)
      if (a && mentions(*a, v)) return true;
    return false;
  }
  static bool plain_expr(const Expr& e, bool allow_subscript) {
    switch (e.kind) {
      case ExprKind::IntConst:
      case ExprKind::FloatConst:
      case ExprKind::BoolConst:
      case ExprKind::Name: return true;
      case ExprKind::Subscript:
        if (!allow_subscript) return false;
        for (auto& a : e.args)
          if (!plain_expr(*a, false)) return false;
        return true;
      case ExprKind::Binary:
      case ExprKind::Unary:
        for (auto& a : e.args)
          if (!plain_expr(*a, allow_subscript)) return false;
        return true;
      default: return false;
    }
  }
  static bool same_expr(const Expr& a, const Expr& b) {
    if (a.kind != b.kind || a.name != b.name || a.ival != b.ival || a.args.size() != b.args.size()) return false;
    if (a.kind == ExprKind::FloatConst && std::memcmp(&a.fval, &b.fval, sizeof(double)) != 0) return false;
    if ((a.kind == ExprKind::Binary && a.bin_op != b.bin_op) || (a.kind == ExprKind::Unary && a.un_op != b.un_op))
      return false;
    for (size_t k = 0; k < a.args.size(); ++k)
      if (!same_expr(*a.args[k], *b.args[k])) return false;
    return true;
  }
  void subscripts(const Expr& e, std::vector<const Expr*>& out) {
    if (e.kind == ExprKind::Subscript) out.push_back(&e);
    for (auto& a : e.args)
      if (a) subscripts(*a, out);
  }

  // A switch for experiments: the variable set to 0 turns a transformation off.
  // `o` and its inner loop `in` both have constant steps, and the plan has `o`
  // parallel (no dependence carried by o): the common ground of the loop
  // transformations below.
  bool reorderable_pair(const Stmt& o, const Stmt& in) const {
    if (in.body.empty() || in.var == o.var) return false;
    if (!S.steps.count(o.id) || !S.steps.count(in.id)) return false;
    for (auto& lp : S.plan->loops)
      if (lp.loop == o.id) return lp.verdict == LoopVerdict::Parallel;
    return false;
  }

  bool interchange_ok(const Stmt& o) {
    if (!debug_settings().interchange || !allow_interchange) return false;
    if (o.body.size() != 1 || o.body[0]->kind != StmtKind::For) return false;
    const Stmt& in = *o.body[0];
    if (!reorderable_pair(o, in)) return false;
    // rectangular, loop-invariant inner bounds
    for (const ExprPtr& b : {in.start, in.stop}) {
      if (!b || !plain_expr(*b, false) || mentions(*b, o.var) || mentions(*b, in.var)) return false;
    }
    if (in.step && (!plain_expr(*in.step, false) || mentions(*in.step, o.var) || mentions(*in.step, in.var)))
      return false;
    int good = 0;
    for (auto& st : in.body) {
      if (st->kind != StmtKind::Assign && st->kind != StmtKind::AugAssign) return false;
      const Expr& t = *st->target;
      if (t.kind != ExprKind::Subscript) return false;  // no scalar assigned
      if (!plain_expr(t, true) || !plain_expr(*st->value, true)) return false;
      if (!mentions(t, o.var)) return false;
      if (!mentions(t, in.var)) {
        // accumulation into an element of o only: X[o] += f / X[o] = X[o] + f
        bool acc = st->kind == StmtKind::AugAssign &&
                   (st->aug_op == BinOp::Add || st->aug_op == BinOp::Sub || st->aug_op == BinOp::Mul);
        if (st->kind == StmtKind::Assign && st->value->kind == ExprKind::Binary &&
            (st->value->bin_op == BinOp::Add || st->value->bin_op == BinOp::Sub || st->value->bin_op == BinOp::Mul) &&
            same_expr(*st->value->args[0], t))
          acc = true;
        if (!acc) return false;
      }
      std::vector<const Expr*> refs;
      subscripts(t, refs);
      subscripts(*st->value, refs);
      for (const Expr* r : refs) {
        if (r->args.empty()) return false;
        const Expr& last = *r->args.back();
        bool inner_elsewhere = false;
        for (size_t k = 0; k + 1 < r->args.size(); ++k) {
          if (mentions(*r->args[k], o.var)) return false;  // would become strided in o
          if (mentions(*r->args[k], in.var)) inner_elsewhere = true;
        }
        const ArrayInfo& a = S.arrays[S.array_index.at(r->name)];
        if (inner_elsewhere && mentions(last, o.var) && a.inner_contiguous) ++good;
      }
    }
    if (good == 0) return false;
    // dependences: none may be reversed by the interchange
    for (auto& e : S.plan->edges) {
      int po = -1, pi = -1;
      for (size_t k = 0; k < e.loops.size(); ++k) {
        if (e.loops[k] == o.var) po = static_cast<int>(k);
        if (e.loops[k] == in.var) pi = static_cast<int>(k);
      }
      if (po < 0 && pi < 0) continue;
      if (po < 0 || pi < 0 || static_cast<size_t>(std::max(po, pi)) >= e.direction.size()) return false;
      Direction d_o = e.direction[po], d_i = e.direction[pi];
      if (d_o == Direction::Eq) continue;
      if (d_o == Direction::Star && d_i == Direction::Eq) continue;
      if (d_o == Direction::Lt && (d_i == Direction::Lt || d_i == Direction::Eq)) continue;
      return false;
    }
    return true;
  }

  // for o in [klo, khi): for i: body  ==>  for i: for o in [klo, khi): body
  void interchanged_loop(const Stmt& o, llvm::Value* start, llvm::Value* klo, llvm::Value* khi, int64_t step) {
    const Stmt& in = *o.body[0];
    interchanged.push_back(o.var + "/" + in.var);
    int64_t istep = S.steps.at(in.id);
    llvm::Value* istart = range_bound(*in.start);
    llvm::Value* istop = range_bound(*in.stop);
    llvm::Value* ni = trip_count(istart, istop, istep);
    // skip everything when o has no iterations (Python evaluates no inner bound then)
    auto* run = llvm::BasicBlock::Create(C, "ix.run", F_);
    auto* done = llvm::BasicBlock::Create(C, "ix.done", F_);
    B.CreateCondBr(B.CreateICmpSLT(klo, khi), run, done);
    B.SetInsertPoint(run);
    serial_loop_with(in, istart, B.getInt64(0), ni, B.getInt64(istep), false,
                     [&] { serial_loop_with(o, start, klo, khi, B.getInt64(step), true, [&] { block(in.body); }); });
    // Python leaves o at its last value even when the inner loop had no trips
    llvm::Value* last = B.CreateAdd(start, B.CreateMul(B.CreateSub(khi, B.getInt64(1)), B.getInt64(step)));
    store_var(o.var, Val{last, kPyInt, nullptr});
    B.CreateBr(done);
    B.SetInsertPoint(done);
  }

  // ---- unroll-and-jam ---------------------------------------------------------
  // A nest `for o: [pre...]; for i: body` whose inner loop accumulates into an
  // element indexed by the outer loop only (`x[o] += A[o, i] * y[i]`, gemm's
  // `C[i, j] += ...` over k, nbody's forces): Python's order of additions
  // makes each element one chain of dependent additions, so the loop runs at
  // the adder's latency. When o is parallel (no dependence carried by o),
  // kJam consecutive iterations of o advance through the inner loop together,
  // each keeping its own order of operations: kJam independent chains in
  // flight (and isomorphic code the SLP vectoriser can pack), results
  // bit-identical. Conditions: rectangular inner bounds that read no scalar
  // the body assigns; statements are assignments; array targets are indexed
  // by o; scalars assigned in the body are private to an iteration (assigned
  // before any read in the body, unread by `pre`); `pre` writes only array
  // elements indexed by o and does not read the inner variable. Run-time
  // checks need no special care: a failing check restores every array and
  // the Python loop runs from the start, whatever order the native code ran
  // in (as for parallel loops).
  static constexpr int64_t kJam = 4;

  static void names_read(const Expr& e, std::set<std::string>& out) {
    if (e.kind == ExprKind::Name) out.insert(e.name);
    for (auto& a : e.args)
      if (a) names_read(*a, out);
  }

  bool jam_ok(const Stmt& o) {
    if (!debug_settings().unroll_and_jam || !allow_jam) return false;
    if (o.body.empty() || o.body.back()->kind != StmtKind::For) return false;
    const Stmt& in = *o.body.back();
    if (!reorderable_pair(o, in)) return false;
    // scalars the body assigns
    std::set<std::string> assigned;
    for (auto& st : in.body) {
      if (st->kind != StmtKind::Assign && st->kind != StmtKind::AugAssign) return false;
      if (st->target->kind == ExprKind::Name) assigned.insert(st->target->name);
    }
    if (assigned.count(o.var) || assigned.count(in.var)) return false;
    for (const ExprPtr& b : {in.start, in.stop, in.step}) {
      if (!b) continue;
      if (!plain_expr(*b, false) || mentions(*b, o.var) || mentions(*b, in.var)) return false;
      for (auto& n : assigned)
        if (mentions(*b, n)) return false;
    }
    bool chain = false;
    std::set<std::string> defined;  // privates assigned so far, in statement order
    for (auto& st : in.body) {
      const Expr& t = *st->target;
      std::set<std::string> reads;
      names_read(*st->value, reads);
      if (t.kind == ExprKind::Subscript) {
        for (auto& a : t.args) names_read(*a, reads);
      } else if (st->kind == StmtKind::AugAssign) {
        reads.insert(t.name);
      }
      for (auto& n : reads)
        if (assigned.count(n) && !defined.count(n)) return false;  // carried from an earlier iteration
      if (t.kind == ExprKind::Name) {
        defined.insert(t.name);
      } else {
        if (t.kind != ExprKind::Subscript || !mentions(t, o.var)) return false;
        if (!mentions(t, in.var)) chain = true;
      }
    }
    // The chains run side by side only when LLVM keeps each in a register
    // across the inner loop, that is when it knows that no other access of
    // the body touches a chain's element: the arrays are disjoint (alias
    // scopes), and the body reads or writes a chain's array only at that
    // element. Otherwise (lu's `A[i, j] -= A[i, k] * A[k, j]`, one array)
    // each chain goes through memory at every step, slower than one chain.
    if (!S.disjoint || S.arrays.size() < 2) return false;
    std::vector<const Expr*> accesses;
    for (auto& st : in.body) {
      subscripts(*st->target, accesses);
      subscripts(*st->value, accesses);
    }
    for (auto& st : in.body) {
      const Expr& t = *st->target;
      if (t.kind != ExprKind::Subscript || mentions(t, in.var)) continue;
      for (const Expr* x : accesses)
        if (x->name == t.name && !same_expr(*x, t)) return false;
    }
    for (size_t k = 0; k + 1 < o.body.size(); ++k) {
      const Stmt& st = *o.body[k];
      if (st.kind != StmtKind::Assign && st.kind != StmtKind::AugAssign) return false;
      const Expr& t = *st.target;
      if (t.kind != ExprKind::Subscript || !mentions(t, o.var) || mentions(t, in.var)) return false;
      std::set<std::string> reads;
      names_read(*st.value, reads);
      for (auto& a : t.args) names_read(*a, reads);
      if (reads.count(in.var)) return false;
      for (auto& n : assigned)
        if (reads.count(n)) return false;
    }
    return chain;
  }

  // for o in [klo, khi): pre; for i: body  ==>
  //   for each group of kJam o's: pre(o), ..., pre(o+kJam-1);
  //                               for i: body(o), ..., body(o+kJam-1)
  //   then the remaining o's as written
  void jammed_loop(const Stmt& o, llvm::Value* start, llvm::Value* klo, llvm::Value* khi, int64_t step) {
    const Stmt& in = *o.body.back();
    const std::vector<StmtPtr> pre(o.body.begin(), o.body.end() - 1);
    jammed.push_back(o.var + "/" + in.var);
    llvm::Value* span = B.CreateSub(khi, klo);
    llvm::Value* groups =
        B.CreateSelect(B.CreateICmpSGT(span, B.getInt64(0)), B.CreateSDiv(span, B.getInt64(kJam)), B.getInt64(0));
    llvm::Value* kmid = B.CreateAdd(klo, B.CreateMul(groups, B.getInt64(kJam)));
    auto* before = B.GetInsertBlock();
    auto* head = llvm::BasicBlock::Create(C, "jam." + o.var, F_);
    auto* body = llvm::BasicBlock::Create(C, "jam." + o.var + ".body", F_);
    auto* exit = llvm::BasicBlock::Create(C, "jam." + o.var + ".exit", F_);
    B.CreateBr(head);
    B.SetInsertPoint(head);
    auto* k = B.CreatePHI(i64, 2, "kj." + o.var);
    k->addIncoming(klo, before);
    B.CreateCondBr(B.CreateICmpSLT(k, kmid), body, exit);
    B.SetInsertPoint(body);
    if (!quiet_) poll();
    active_loops_.insert(o.var);
    std::vector<llvm::Value*> ov;
    for (int64_t u = 0; u < kJam; ++u)
      ov.push_back(B.CreateAdd(start, B.CreateMul(B.CreateAdd(k, B.getInt64(u)), B.getInt64(step), "", false, true), "",
                               false, true));
    for (int64_t u = 0; u < kJam; ++u) {
      store_var(o.var, Val{ov[u], kPyInt, nullptr});
      block(pre);
    }
    // the inner range reads nothing the nest assigns: the same for every o
    int64_t istep = S.steps.at(in.id);
    llvm::Value* istart = range_bound(*in.start);
    llvm::Value* istop = range_bound(*in.stop);
    llvm::Value* ni = trip_count(istart, istop, istep);
    serial_loop_with(in, istart, B.getInt64(0), ni, B.getInt64(istep), !has_loop(in.body), [&] {
      for (int64_t u = 0; u < kJam; ++u) {
        store_var(o.var, Val{ov[u], kPyInt, nullptr});
        block(in.body);
      }
    });
    store_var(o.var, Val{ov[kJam - 1], kPyInt, nullptr});
    active_loops_.erase(o.var);
    k->addIncoming(B.CreateAdd(k, B.getInt64(kJam)), B.GetInsertBlock());
    B.CreateBr(head);
    B.SetInsertPoint(exit);
    serial_loop_with(o, start, kmid, khi, B.getInt64(step), false, [&] { block(o.body); });
  }

  // (stop - start + step - 1) / step, computed without overflow
  llvm::Value* trip_count(llvm::Value* start, llvm::Value* stop, int64_t step) {
    llvm::Value* n;
    if (step > 0) {
      llvm::Value* runs = B.CreateICmpSGT(stop, start);
      llvm::Value* diff = B.CreateSub(B.CreateSub(stop, start), B.getInt64(1));
      n = B.CreateSelect(runs, B.CreateAdd(B.CreateUDiv(diff, B.getInt64(step)), B.getInt64(1)), B.getInt64(0));
    } else {
      llvm::Value* runs = B.CreateICmpSGT(start, stop);
      llvm::Value* diff = B.CreateSub(B.CreateSub(start, stop), B.getInt64(1));
      n = B.CreateSelect(runs, B.CreateAdd(B.CreateUDiv(diff, B.getInt64(-step)), B.getInt64(1)), B.getInt64(0));
    }
    return n;
  }

  // Iterations k in [klo, khi) of `for var in range(start, ..., step)`.
  void serial_loop(const Stmt& s, llvm::Value* start, llvm::Value* klo, llvm::Value* khi, int64_t step) {
    bool plain = !has_control(s.body);
    if (plain && interchange_ok(s)) return interchanged_loop(s, start, klo, khi, step);
    if (plain && jam_ok(s)) return jammed_loop(s, start, klo, khi, step);
    serial_loop_with(s, start, klo, khi, B.getInt64(step), !has_loop(s.body), [&] { block(s.body); });
  }

  // A loop whose step is known only when it starts (`range(i * i, n, i)`;
  // the analysis makes it an opaque loop, so it always runs in order): its
  // trip count for the step's sign, and Python's ValueError for a zero step.
  void variable_step_loop(const Stmt& s) {
    llvm::Value* start = range_bound(*s.start);
    llvm::Value* stop = range_bound(*s.stop);
    llvm::Value* step = range_bound(*s.step);
    trap_if(B.CreateOr(B.CreateICmpEQ(step, B.getInt64(0)), B.CreateICmpEQ(step, B.getInt64(INT64_MIN))),
            TrapReason::Domain);
    llvm::Value* up = B.CreateICmpSGT(step, B.getInt64(0));
    llvm::Value* span = B.CreateSelect(up, B.CreateSub(stop, start), B.CreateSub(start, stop));
    llvm::Value* size = B.CreateSelect(up, step, B.CreateNeg(step));
    llvm::Value* runs = B.CreateICmpSGT(span, B.getInt64(0));
    llvm::Value* n = B.CreateSelect(
        runs, B.CreateAdd(B.CreateUDiv(B.CreateSub(span, B.getInt64(1)), size), B.getInt64(1)), B.getInt64(0));
    serial_loop_with(s, start, B.getInt64(0), n, step, !has_loop(s.body), [&] { block(s.body); });
  }

  // The loop over `s.var` with the given body generator (`innermost`: the
  // body contains no loop).
  void serial_loop_with(const Stmt& s, llvm::Value* start, llvm::Value* klo, llvm::Value* khi, llvm::Value* step,
                        bool innermost, const std::function<void()>& body_gen) {
    // A loop inside another loop of this function whose whole execution is
    // proven short (at most 65536 innermost iterations) needs no poll of its
    // own: the enclosing loop polls at every iteration.
    bool quiet = quiet_ || (!active_loops_.empty() && subtree_work(s) <= 65536);
    bool saved_quiet = quiet_;
    quiet_ = quiet;
    active_loops_.insert(s.var);
    auto* pre = B.GetInsertBlock();
    auto* head = llvm::BasicBlock::Create(C, "loop." + s.var, F_);
    auto* exit = llvm::BasicBlock::Create(C, "loop." + s.var + ".exit", F_);
    B.CreateBr(head);
    B.SetInsertPoint(head);
    if (!innermost || quiet) {
      auto* k = B.CreatePHI(i64, 2, "k." + s.var);
      k->addIncoming(klo, pre);
      auto* body = llvm::BasicBlock::Create(C, "body." + s.var, F_);
      B.CreateCondBr(B.CreateICmpSLT(k, khi), body, exit);
      B.SetInsertPoint(body);
      if (!quiet) poll();
      llvm::Value* v = B.CreateAdd(start, B.CreateMul(k, step, "", false, true), "", false, true);
      store_var(s.var, Val{v, kPyInt, nullptr});
      auto* next = llvm::BasicBlock::Create(C, "next." + s.var, F_);
      jumps_[s.id] = {exit, next};
      body_gen();
      jumps_.erase(s.id);
      B.CreateBr(next);
      B.SetInsertPoint(next);
      k->addIncoming(B.CreateAdd(k, B.getInt64(1)), B.GetInsertBlock());
      B.CreateBr(head);
    } else {
      // Strip-mined: blocks of 2048 iterations with one interrupt poll each;
      // the inner loop stays simple enough to vectorise.
      constexpr int64_t kBlock = 2048;
      auto* kb = B.CreatePHI(i64, 2, "kb." + s.var);
      kb->addIncoming(klo, pre);
      auto* bbody = llvm::BasicBlock::Create(C, "blk." + s.var, F_);
      B.CreateCondBr(B.CreateICmpSLT(kb, khi), bbody, exit);
      B.SetInsertPoint(bbody);
      poll();
      llvm::Value* kend0 = B.CreateAdd(kb, B.getInt64(kBlock));
      llvm::Value* kend = B.CreateSelect(B.CreateICmpSLT(kend0, khi), kend0, khi);
      auto* ipre = B.GetInsertBlock();
      auto* ihead = llvm::BasicBlock::Create(C, "iloop." + s.var, F_);
      auto* iexit = llvm::BasicBlock::Create(C, "iloop." + s.var + ".exit", F_);
      B.CreateBr(ihead);
      B.SetInsertPoint(ihead);
      auto* k = B.CreatePHI(i64, 2, "k." + s.var);
      k->addIncoming(kb, ipre);
      llvm::Value* v = B.CreateAdd(start, B.CreateMul(k, step, "", false, true), "", false, true);
      store_var(s.var, Val{v, kPyInt, nullptr});
      auto* next = llvm::BasicBlock::Create(C, "next." + s.var, F_);
      jumps_[s.id] = {exit, next};
      body_gen();
      jumps_.erase(s.id);
      B.CreateBr(next);
      B.SetInsertPoint(next);
      llvm::Value* k1 = B.CreateAdd(k, B.getInt64(1), "", true, true);
      k->addIncoming(k1, B.GetInsertBlock());
      B.CreateCondBr(B.CreateICmpSLT(k1, kend), ihead, iexit);
      B.SetInsertPoint(iexit);
      kb->addIncoming(kend, iexit);
      B.CreateBr(head);
    }
    B.SetInsertPoint(exit);
    active_loops_.erase(s.var);
    quiet_ = saved_quiet;
  }

  bool quiet_ = false;
  // Bound on the iterations of a loop and everything inside it (INT64_MAX
  // when unknown); uses the trip counts proven in specialisation.
  int64_t subtree_work(const Stmt& s) {
    auto it = S.max_trips.find(s.id);
    if (it == S.max_trips.end()) return INT64_MAX;
    __int128 inner = 1;
    std::function<void(const std::vector<StmtPtr>&)> walk = [&](const std::vector<StmtPtr>& b) {
      for (auto& x : b) {
        if (x->is_while) inner = INT64_MAX;  // passes not known
        if (x->kind == StmtKind::For) inner += subtree_work(*x);
        if (x->kind == StmtKind::If) {
          walk(x->body);
          walk(x->orelse);
        }
      }
    };
    walk(s.body);
    __int128 w = static_cast<__int128>(it->second) * inner;
    return w > INT64_MAX ? INT64_MAX : static_cast<int64_t>(w);
  }

  // Names assigned anywhere inside a statement list (loop variables too).
  void assigned_names(const std::vector<StmtPtr>& body, std::vector<std::string>& out) {
    for (auto& s : body) {
      if ((s->kind == StmtKind::Assign || s->kind == StmtKind::AugAssign) && s->target->kind == ExprKind::Name) {
        if (std::find(out.begin(), out.end(), s->target->name) == out.end()) out.push_back(s->target->name);
      }
      if (s->kind == StmtKind::For) {
        if (std::find(out.begin(), out.end(), s->var) == out.end()) out.push_back(s->var);
        assigned_names(s->body, out);
      }
      if (s->kind == StmtKind::If) {
        assigned_names(s->body, out);
        assigned_names(s->orelse, out);
      }
    }
  }

  const Reduction* reduction_of(const Stmt& s, const std::string& name) {
    for (auto& lp : S.plan->loops)
      if (lp.loop == s.id)
        for (auto& r : lp.reductions)
          if (r.variable == name) return &r;
    return nullptr;
  }

  Val identity(const Reduction& r, const VT& t) {
    llvm::Value* v;
    if (!r.fn.empty()) {
      bool mn = r.fn == "min";
      v = t.r == Repr::I32 ? B.getInt32(mn ? INT32_MAX : INT32_MIN) : B.getInt64(mn ? INT64_MAX : INT64_MIN);
    } else if (r.op == BinOp::Add) {
      v = is_float(t.r) ? fconst(ty(t.r), -0.0) : llvm::ConstantInt::get(ty(t.r), 0);
    } else if (r.op == BinOp::Sub) {
      // s -= e: each chunk accumulates -0.0 - e1 - e2 ..., combined with +
      // (-0.0 - e is -e exactly, so s + (-0.0 - e) is s - e, signed zeros too)
      v = is_float(t.r) ? fconst(ty(t.r), -0.0) : llvm::ConstantInt::get(ty(t.r), 0);
    } else {
      v = is_float(t.r) ? fconst(ty(t.r), 1.0) : llvm::ConstantInt::get(ty(t.r), 1);
    }
    return Val{v, t, t.mixed() ? B.getInt1(false) : nullptr};
  }

  // analysis::region_work of a region of the parallel loop `s` at its entry,
  // as an f64 (1e30 where a bound reads a scalar that is not an integer or
  // not yet defined): the run time runs a region that does not pay for the
  // fork/join on the calling thread (ls_rt_parallel).
  struct RegionWorkEval {
    Codegen& g;
    std::map<std::string, llvm::Value*> env;  // loop variables at their middle iteration
    llvm::Value* known;                       // i1: every name the bounds read had an integer value
    using Num = llvm::Value*;
    Num constant(double v) { return g.fconst(g.f64, v); }
    Num add(Num a, Num b) { return g.B.CreateFAdd(a, b); }
    Num mul(Num a, Num b) { return g.B.CreateFMul(a, b); }
    Num max(Num a, Num b) { return g.B.CreateSelect(g.B.CreateFCmpOGT(a, b), a, b); }
    Num unknown() { return constant(1e30); }
    llvm::Value* name(const std::string& n) {
      if (auto it = env.find(n); it != env.end()) return it->second;
      auto vi = g.S.var_index.find(n);
      auto st = g.vars_.find(n);
      if (vi == g.S.var_index.end() || st == g.vars_.end()) return nullptr;
      const VarInfo& v = g.S.vars[vi->second];
      if (!is_int(v.type.r) && v.type.r != Repr::Bool) return nullptr;
      llvm::Value* x = g.B.CreateLoad(g.ty(v.type.r), st->second.value);
      if (!v.input) known = g.B.CreateAnd(known, g.B.CreateLoad(g.i1, st->second.defined));
      if (v.type.r == Repr::Bool) return g.B.CreateZExtOrTrunc(x, g.i64);
      return v.type.r == Repr::I64 ? x : g.B.CreateSExtOrTrunc(x, g.i64);
    }
    // An integer bound region_bound_supported accepts (wrapping arithmetic:
    // only an estimate).
    llvm::Value* value(const Expr& e) {
      auto& B = g.B;
      std::vector<llvm::Value*> a;
      for (auto& x : e.args) a.push_back(value(*x));
      switch (e.kind) {
        case ExprKind::IntConst: return B.getInt64(e.ival);
        case ExprKind::Name:
          if (llvm::Value* v = name(e.name)) return v;
          known = B.getInt1(false);
          return B.getInt64(0);
        case ExprKind::Unary: return B.CreateNeg(a[0]);
        case ExprKind::Binary:
          if (e.bin_op == BinOp::Add) return B.CreateAdd(a[0], a[1]);
          if (e.bin_op == BinOp::Sub) return B.CreateSub(a[0], a[1]);
          if (e.bin_op == BinOp::Mul) return B.CreateMul(a[0], a[1]);
          {  // floor division by a positive constant
            llvm::Value* q = B.CreateSDiv(a[0], a[1]);
            llvm::Value* neg = B.CreateICmpSLT(B.CreateSRem(a[0], a[1]), B.getInt64(0));
            return B.CreateSub(q, B.CreateZExt(neg, g.i64));
          }
        default: {  // min(), max()
          llvm::Value* r = a[0];
          for (size_t k = 1; k < a.size(); ++k)
            r = B.CreateSelect(e.name == "min" ? B.CreateICmpSLT(a[k], r) : B.CreateICmpSGT(a[k], r), a[k], r);
          return r;
        }
      }
    }
    void bind(const std::string& var, llvm::Value* start, llvm::Value* trip, int64_t step) {
      env[var] = g.B.CreateAdd(start, g.B.CreateMul(g.B.CreateSDiv(trip, g.B.getInt64(2)), g.B.getInt64(step)));
    }
    Num enter(const Stmt& s) {
      int64_t step = !s.step ? 1 : s.step->kind == ExprKind::IntConst ? s.step->ival : -s.step->args[0]->ival;
      llvm::Value* start = s.start ? value(*s.start) : g.B.getInt64(0);
      llvm::Value* trip = g.trip_count(start, value(*s.stop), step);
      bind(s.var, start, trip, step);
      return g.B.CreateSIToFP(trip, g.f64);
    }
    void leave(const Stmt& s) { env.erase(s.var); }
  };
  llvm::Value* region_work_value(const Stmt& s, llvm::Value* start, llvm::Value* n, int64_t step) {
    RegionWorkEval ev{*this, {}, B.getInt1(true)};
    ev.bind(s.var, start, n, step);
    llvm::Value* w = analysis::region_work(s, B.CreateSIToFP(n, f64), ev);
    return B.CreateSelect(ev.known, w, ev.unknown());
  }

  void parallel_loop(const Stmt& s, llvm::Value* start, llvm::Value* n, int64_t step) {
    int64_t per_thread = 8;  // chunks per thread
    // 1. the chunk function
    std::vector<std::string> assigned{s.var};
    assigned_names(s.body, assigned);
    std::string cname = base_name_ + ".chunk" + std::to_string(chunk_counter_++);
    auto* cty = llvm::FunctionType::get(i32, {ptr, ptr, i64, i64, ptr}, false);
    auto* CF = llvm::Function::Create(cty, llvm::Function::InternalLinkage, cname, M);
    {
      // save the parent's state
      auto saved_ip = B.saveIP();
      auto* saved_F = F_;
      auto* saved_frame = frame_;
      auto* saved_rt = rt_;
      auto saved_vars = vars_;
      auto saved_arrays = arrays_;
      auto saved_active = active_loops_;
      auto* saved_countdown = countdown_;
      auto* saved_deferred = deferred_;
      auto* saved_numpy_warns = numpy_warns_;  // an i1 of the parent: the chunk loads its own
      bool saved_quiet_fn = quiet_;
      quiet_ = false;
      active_loops_.clear();
      begin_function(CF, CF->getArg(0), CF->getArg(1));
      // The parent has just polled: a chunk's first call of the run time
      // (a clock read, each region) comes after a full countdown (poll()).
      B.CreateStore(B.getInt64(32), countdown_);
      for (auto& v : S.vars) load_var_from_frame(v, true);
      // Integer array reductions: the chunk accumulates into its thread's
      // zeroed copy of the array (C-contiguous), added to it after the loop.
      const std::vector<std::string>& privates = private_arrays(s);
      for (size_t k = 0; k < privates.size(); ++k) {
        int ai = S.array_index.at(privates[k]);
        const ArrayInfo& a = S.arrays[ai];
        ArrayDesc& d = arrays_[ai];
        auto* pty = llvm::FunctionType::get(ptr, {ptr, i64}, false);
        d.data = B.CreateCall(pty, fn_ptr(reinterpret_cast<void*>(&rt::ls_rt_private)), {rt_, B.getInt64(k)});
        llvm::Value* stride = B.getInt64(dtype_size(a.dtype));
        for (int dim = a.ndim - 1; dim >= 0; --dim) {
          d.stride[dim] = stride;
          stride = B.CreateMul(stride, d.shape[dim]);
        }
      }
      for (auto& name : assigned) {
        const Reduction* r = reduction_of(s, name);
        if (r) {
          const VarInfo& vi = S.vars[S.var_index.at(name)];
          Val id = identity(*r, vi.type);
          B.CreateStore(id.v, vars_.at(name).value);
        }
      }
      llvm::Value* cstart = from_slot(load_slot(S.parallel_start_slot.at(s.id)), Repr::I64);
      size_t before = interchanged.size();
      serial_loop(s, cstart, CF->getArg(2), CF->getArg(3), step);
      per_thread = interchanged.size() > before ? 1 : 8;
      llvm::Value* out = CF->getArg(4);
      for (size_t j = 0; j < assigned.size(); ++j) {
        const VarInfo& vi = S.vars[S.var_index.at(assigned[j])];
        VarStore& st = vars_.at(vi.name);
        put_slots(B.CreateLoad(ty(vi.type.r), st.value), vi.type.r, slot_ptr(out, 4 * j), slot_ptr(out, 4 * j + 3));
        B.CreateStore(B.CreateSExt(B.CreateLoad(i8, st.kind), i64), slot_ptr(out, 4 * j + 1));
        B.CreateStore(B.CreateZExt(B.CreateLoad(i1, st.touched), i64), slot_ptr(out, 4 * j + 2));
      }
      check_deferred();
      B.CreateRet(B.getInt32(rt::kOk));
      F_ = saved_F;
      frame_ = saved_frame;
      rt_ = saved_rt;
      vars_ = saved_vars;
      arrays_ = saved_arrays;
      active_loops_ = saved_active;
      countdown_ = saved_countdown;
      deferred_ = saved_deferred;
      numpy_warns_ = saved_numpy_warns;
      quiet_ = saved_quiet_fn;
      B.restoreIP(saved_ip);
    }
    // 2. in the parent: publish scalars, run the chunks, combine in order
    for (auto& v : S.vars) store_var_to_frame(v, false);
    B.CreateStore(start, slot_ptr(frame_, S.parallel_start_slot.at(s.id)));
    const std::vector<std::string>& privates = private_arrays(s);
    auto private_call = [&](void* fn, size_t k) {
      // fn(rt, k, the array's frame slots, ndim, element size); stops the
      // run with its status when that is not kOk
      const ArrayInfo& a = S.arrays[S.array_index.at(privates[k])];
      auto* fty = llvm::FunctionType::get(i32, {ptr, i64, ptr, i64, i64}, false);
      llvm::Value* status = B.CreateCall(
          fty, fn_ptr(fn),
          {rt_, B.getInt64(k), slot_ptr(frame_, a.slot), B.getInt64(a.ndim), B.getInt64(dtype_size(a.dtype))});
      auto* bad = llvm::BasicBlock::Create(C, "private.fail", F_);
      auto* good = llvm::BasicBlock::Create(C, "private.ok", F_);
      B.CreateCondBr(B.CreateICmpNE(status, B.getInt32(0)), bad, good);
      B.SetInsertPoint(bad);
      B.CreateRet(status);
      B.SetInsertPoint(good);
    };
    if (!privates.empty()) traps = true;  // a combine that overflows stops the run: keep the arrays
    for (size_t k = 0; k < privates.size(); ++k) private_call(reinterpret_cast<void*>(&rt::ls_rt_private_begin), k);
    llvm::Value* outp = entry_alloca(ptr);
    llvm::Value* nch = entry_alloca(i64);
    // A float sum or product (reassociated) depends on the chunks: a short
    // region run on this thread keeps them.
    bool same_chunks = false;
    for (auto& name : assigned)
      if (reduction_of(s, name) && !is_int(S.vars[S.var_index.at(name)].type.r)) same_chunks = true;
    auto* pty = llvm::FunctionType::get(i32, {ptr, ptr, ptr, i64, i64, ptr, ptr, i64, f64, i32}, false);
    llvm::Value* st =
        B.CreateCall(pty, fn_ptr(reinterpret_cast<void*>(&rt::ls_rt_parallel)),
                     {rt_, CF, frame_, n, B.getInt64(4 * assigned.size()), outp, nch, B.getInt64(per_thread),
                      region_work_value(s, start, n, step), B.getInt32(same_chunks ? 1 : 0)});
    auto* fail = llvm::BasicBlock::Create(C, "par.fail", F_);
    auto* ok = llvm::BasicBlock::Create(C, "par.ok", F_);
    B.CreateCondBr(B.CreateICmpNE(st, B.getInt32(0)), fail, ok);
    B.SetInsertPoint(fail);
    B.CreateRet(st);
    B.SetInsertPoint(ok);
    llvm::Value* out = B.CreateLoad(ptr, outp);
    llvm::Value* nchunks = B.CreateLoad(i64, nch);
    auto* pre = B.GetInsertBlock();
    auto* head = llvm::BasicBlock::Create(C, "comb", F_);
    auto* body = llvm::BasicBlock::Create(C, "comb.body", F_);
    auto* exit = llvm::BasicBlock::Create(C, "comb.exit", F_);
    B.CreateBr(head);
    B.SetInsertPoint(head);
    auto* c = B.CreatePHI(i64, 2);
    c->addIncoming(B.getInt64(0), pre);
    B.CreateCondBr(B.CreateICmpSLT(c, nchunks), body, exit);
    B.SetInsertPoint(body);
    llvm::Value* cbase = slot_ptr(out, B.CreateMul(c, B.getInt64(4 * assigned.size())));
    for (size_t j = 0; j < assigned.size(); ++j) {
      const VarInfo& vi = S.vars[S.var_index.at(assigned[j])];
      VarStore& vs = vars_.at(vi.name);
      llvm::Value* touched = B.CreateICmpNE(B.CreateLoad(i64, slot_ptr(cbase, 4 * j + 2)), B.getInt64(0));
      auto* yes = llvm::BasicBlock::Create(C, "comb.take", F_);
      auto* next = llvm::BasicBlock::Create(C, "comb.next", F_);
      B.CreateCondBr(touched, yes, next);
      B.SetInsertPoint(yes);
      llvm::Value* val = get_slots(vi.type.r, slot_ptr(cbase, 4 * j), slot_ptr(cbase, 4 * j + 3));
      llvm::Value* kind = B.CreateTrunc(B.CreateLoad(i64, slot_ptr(cbase, 4 * j + 1)), i8);
      const Reduction* r = reduction_of(s, vi.name);
      if (r) {
        Val part{val, vi.type, vi.type.mixed() ? kind_numpy(kind) : nullptr};
        Val cur = load_var(vi.name, s.line);
        Val res;
        if (!r->fn.empty()) {
          llvm::Value* better = r->fn == "min" ? B.CreateICmpSLT(part.v, cur.v) : B.CreateICmpSGT(part.v, cur.v);
          res = Val{B.CreateSelect(better, part.v, cur.v), vi.type,
                    vi.type.mixed() ? B.CreateSelect(better, part.npf, cur.npf) : nullptr};
        } else {
          res = binary(r->op == BinOp::Sub ? BinOp::Add : r->op, cur, part, nullptr, s.line);
        }
        store_var(vi.name, res);
      } else {
        B.CreateStore(val, vs.value);
        B.CreateStore(kind, vs.kind);
        B.CreateStore(B.getInt1(true), vs.defined);
        B.CreateStore(B.getInt1(true), vs.touched);
      }
      B.CreateBr(next);
      B.SetInsertPoint(next);
    }
    c->addIncoming(B.CreateAdd(c, B.getInt64(1)), B.GetInsertBlock());
    B.CreateBr(head);
    B.SetInsertPoint(exit);
    for (size_t k = 0; k < privates.size(); ++k) private_call(reinterpret_cast<void*>(&rt::ls_rt_private_combine), k);
  }

  const std::vector<std::string>& private_arrays(const Stmt& s) const {
    static const std::vector<std::string> none;
    auto it = S.private_arrays.find(s.id);
    return it == S.private_arrays.end() ? none : it->second;
  }
};

}  // namespace

LoweredNest lower_nest(const Spec& spec, llvm::LLVMContext& ctx, llvm::Module& module, const std::string& name,
                       const LoweringOptions& options) {
  Codegen cg(spec, ctx, module);
  cg.allow_interchange = options.allow_interchange;
  cg.allow_jam = options.allow_jam;
  cg.build(name);
  LoweredNest out;
  out.traps = cg.traps;
  out.reads_fp_flags = cg.reads_fp_flags;
  out.loaded_arrays = cg.loaded_arrays;
  out.interchanged = cg.interchanged;
  out.jammed = cg.jammed;
  return out;
}

bool module_may_trap(const llvm::Module& module) {
  const uint64_t trapping[] = {reinterpret_cast<uint64_t>(&rt::ls_rt_trap),
                               reinterpret_cast<uint64_t>(&rt::ls_rt_private_begin),
                               reinterpret_cast<uint64_t>(&rt::ls_rt_private_combine)};
  for (const llvm::Function& f : module)
    for (const llvm::BasicBlock& bb : f)
      for (const llvm::Instruction& inst : bb) {
        const auto* call = llvm::dyn_cast<llvm::CallBase>(&inst);
        if (!call) continue;
        const llvm::Value* callee = call->getCalledOperand();
        if (llvm::isa<llvm::Function>(callee)) continue;  // an intrinsic or a chunk of this module (scanned too)
        const auto* ce = llvm::dyn_cast<llvm::ConstantExpr>(callee);
        const auto* addr = ce && ce->getOpcode() == llvm::Instruction::IntToPtr
                               ? llvm::dyn_cast<llvm::ConstantInt>(ce->getOperand(0))
                               : nullptr;
        if (!addr) return true;  // not a run-time function by its address: assume it can
        for (uint64_t a : trapping)
          if (addr->getZExtValue() == a) return true;
      }
  return false;
}

}  // namespace loopscope::jit
