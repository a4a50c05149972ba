//===- Wgmma.cpp - Hopper warpgroup MMA for the attention kernels ---------===//
//
// See Wgmma.h for the shared-memory layout and the form of the products.
//
//===----------------------------------------------------------------------===//

#include "Wgmma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace st {
namespace gpu_attention {

namespace {
constexpr int64_t kCoreMatrixBytes = 128; // 8 rows x 16 bytes
constexpr int64_t kEltBytes = 2;          // bf16, f16

uint64_t bits(int64_t leading, int64_t stride, uint64_t swizzle) {
  // Bits 16-29: leading byte offset >> 4; 32-45: stride byte offset >> 4;
  // 49-51: base offset (0: atoms are aligned); 62-63: swizzle mode (1: 128
  // bytes, 0: none).
  return (uint64_t(leading >> 4) & 0x3FFF) << 16 |
         (uint64_t(stride >> 4) & 0x3FFF) << 32 | swizzle << 62;
}
} // namespace

// AT&T dialect, as NVPTX expects.
LLVM::InlineAsmOp sideEffectAsm(OpBuilder &b, Location loc, Type result,
                                ValueRange operands, StringRef text,
                                StringRef constraints) {
  return LLVM::InlineAsmOp::create(
      b, loc, result, operands, text, constraints,
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
      ArrayAttr());
}

uint64_t TileLayout::kMajorBits() const {
  if (swizzle128())
    return bits(16, 8 * 128, 1);
  return bits(kCoreMatrixBytes, cols * kEltBytes * 8, 0);
}

int64_t TileLayout::kMajorStep(int64_t s) const {
  if (swizzle128()) // 4 steps of 32 bytes per 64-element atom
    return (s / 4) * rows * 128 + (s % 4) * 32;
  return s * 2 * kCoreMatrixBytes;
}

uint64_t TileLayout::mnMajorBits() const {
  if (swizzle128())
    return bits(rows * 128, 8 * 128, 1);
  return bits(cols * kEltBytes * 8, kCoreMatrixBytes, 0);
}

int64_t TileLayout::mnMajorStep(int64_t s) const {
  if (swizzle128()) // 16 rows of 128 bytes
    return s * 16 * 128;
  return s * 2 * cols * kEltBytes * 8;
}

Value matrixDescriptor(OpBuilder &b, Location loc, Value addr,
                       uint64_t fixed) {
  // Bits 0-13: address >> 4.
  auto i64 = b.getI64Type();
  Value shifted = arith::ShRUIOp::create(
      b, loc, addr, arith::ConstantIntOp::create(b, loc, i64, 4));
  Value low = arith::AndIOp::create(
      b, loc, shifted, arith::ConstantIntOp::create(b, loc, i64, 0x3FFF));
  return arith::OrIOp::create(
      b, loc, low, arith::ConstantIntOp::create(b, loc, i64, int64_t(fixed)));
}

namespace {
/// One inline block: `products` in order (one commit group each when
/// `groupEach`, else one for all), then wgmma.wait_group `pending`;
/// `inFlight` accumulators pass through tied, and a named barrier's
/// arrival may sit before the wait (Wgmma.h, WarpgroupStep).
SmallVector<SmallVector<Value>> emitWarpgroupBlock(
    OpBuilder &b, Location loc, ArrayRef<WarpgroupProduct> products,
    ArrayRef<ValueRange> inFlight, int64_t pending, bool groupEach, bool bf16,
    Value arriveAt = Value(), int32_t arriveThreads = 0) {
  // Operands: every product's accumulators, then the in-flight ones, as
  // outputs $0..$(R - 1); tied to inputs those of the products that are
  // not fresh and all in-flight ones; then per product its A registers
  // (or A descriptors) and its B descriptors; last the scale-d flag (1; p
  // = accumulate, z = overwrite).
  int64_t total = 0, carried = 0;
  for (const WarpgroupProduct &p : products) {
    assert((p.a.empty() ? p.aDesc.size() : p.a.size()) == p.desc.size() &&
           "one A and one B operand per k16 step");
    total += p.acc.size();
  }
  for (ValueRange acc : inFlight)
    carried += acc.size();
  assert(total + carried > 1 && "an inline block returns a struct");
  auto reg = [](int64_t i) { return "$" + std::to_string(i); };
  std::string type = bf16 ? "bf16" : "f16";
  SmallVector<std::string> cons;
  SmallVector<Value> operands;
  for (int64_t i = 0; i < total + carried; ++i)
    cons.push_back("=f");
  int64_t tied = 0;
  for (const WarpgroupProduct &p : products) {
    for (size_t i = 0; i < p.acc.size(); ++i, ++tied)
      if (!p.fresh) {
        operands.push_back(p.acc[i]);
        cons.push_back(std::to_string(tied));
      }
  }
  for (ValueRange acc : inFlight)
    for (Value v : acc) {
      operands.push_back(v);
      cons.push_back(std::to_string(tied++));
    }
  std::string body;
  int64_t firstAcc = 0, next = int64_t(cons.size());
  for (const WarpgroupProduct &p : products) {
    int64_t regs = p.acc.size();
    SmallVector<std::string> dRegs;
    for (int64_t i = 0; i < regs; ++i)
      dRegs.push_back(reg(firstAcc + i));
    std::string dList = "{" + llvm::join(dRegs, ", ") + "}";
    bool aRegs = !p.a.empty();
    int64_t steps = int64_t(p.desc.size());
    int64_t aFirst = next, descFirst = next + (aRegs ? 4 : 1) * steps;
    next = descFirst + steps;
    for (int64_t s = 0; s < steps; ++s) {
      // A: {four registers}, or a descriptor then imm-trans-a = 0
      // (K-major) among the trailing immediates.
      std::string a;
      if (aRegs) {
        int64_t a0 = aFirst + 4 * s;
        a = "{" + reg(a0) + ", " + reg(a0 + 1) + ", " + reg(a0 + 2) + ", " +
            reg(a0 + 3) + "}";
      } else {
        a = reg(aFirst + s);
      }
      body += "wgmma.mma_async.sync.aligned.m64n" + std::to_string(2 * regs) +
              "k16.f32." + type + "." + type + " " + dList + ", " + a + ", " +
              reg(descFirst + s) + (p.fresh && s == 0 ? ", z" : ", p") +
              ", 1, 1, " + (aRegs ? "" : "0, ") + (p.transB ? "1" : "0") +
              ";\n";
    }
    if (groupEach)
      body += "wgmma.commit_group.sync.aligned;\n";
    if (aRegs) {
      for (const auto &step : p.a)
        operands.append(step.begin(), step.end());
      cons.append(4 * steps, "r");
    } else {
      operands.append(p.aDesc.begin(), p.aDesc.end());
      cons.append(steps, "l");
    }
    operands.append(p.desc.begin(), p.desc.end());
    cons.append(steps, "l");
    firstAcc += regs;
  }
  std::string text = "{\n";
  if (!products.empty()) {
    if (!groupEach)
      body += "wgmma.commit_group.sync.aligned;\n";
    text += ".reg .pred p, z;\nsetp.ne.b32 p, " + reg(next) +
            ", 0;\nsetp.eq.b32 z, " + reg(next) +
            ", 0;\nwgmma.fence.sync.aligned;\n" + body;
    cons.push_back("r");
    operands.push_back(arith::ConstantIntOp::create(b, loc, b.getI32Type(), 1));
  }
  if (arriveAt) {
    text += "bar.arrive " + reg(int64_t(cons.size())) + ", " +
            std::to_string(arriveThreads) + ";\n";
    cons.push_back("r");
    operands.push_back(arriveAt);
  }
  text += "wgmma.wait_group.sync.aligned " + std::to_string(pending) + ";\n}\n";

  auto f32 = b.getF32Type();
  SmallVector<Type> fields(total + carried, f32);
  auto structType = LLVM::LLVMStructType::getLiteral(b.getContext(), fields);
  auto asmOp = sideEffectAsm(b, loc, structType, operands, text,
                             llvm::join(cons, ","));
  SmallVector<SmallVector<Value>> out;
  int64_t field = 0;
  auto take = [&](size_t count) {
    SmallVector<Value> acc;
    for (size_t i = 0; i < count; ++i, ++field)
      acc.push_back(LLVM::ExtractValueOp::create(
          b, loc, asmOp.getResult(0), ArrayRef<int64_t>{field}));
    out.push_back(std::move(acc));
  };
  for (const WarpgroupProduct &p : products)
    take(p.acc.size());
  for (ValueRange acc : inFlight)
    take(acc.size());
  return out;
}
} // namespace

SmallVector<SmallVector<Value>>
warpgroupMmas(OpBuilder &b, Location loc, ArrayRef<WarpgroupProduct> products,
              bool bf16) {
  return emitWarpgroupBlock(b, loc, products, {}, /*pending=*/0,
                            /*groupEach=*/false, bf16);
}

SmallVector<SmallVector<Value>> warpgroupStep(OpBuilder &b, Location loc,
                                              const WarpgroupStep &step,
                                              bool bf16) {
  return emitWarpgroupBlock(b, loc, step.products, step.inFlight, step.pending,
                            /*groupEach=*/true, bf16, step.arriveAt,
                            step.arriveThreads);
}

void fenceProxyAsyncShared(OpBuilder &b, Location loc) {
  sideEffectAsm(b, loc, Type(), ValueRange(),
                "fence.proxy.async.shared::cta;", "");
}

void mbarrierInit(OpBuilder &b, Location loc, Value bar, int32_t count) {
  Value n = arith::ConstantIntOp::create(b, loc, b.getI32Type(), count);
  sideEffectAsm(b, loc, Type(), {bar, n},
                "mbarrier.init.shared::cta.b64 [$0], $1;", "r,r");
}

void mbarrierArrive(OpBuilder &b, Location loc, Value bar) {
  sideEffectAsm(b, loc, Type(), {bar},
                "mbarrier.arrive.shared::cta.b64 _, [$0];", "r");
}

void mbarrierArriveCopies(OpBuilder &b, Location loc, Value bar) {
  sideEffectAsm(b, loc, Type(), {bar},
                "cp.async.mbarrier.arrive.noinc.shared::cta.b64 [$0];", "r");
}

void mbarrierWait(OpBuilder &b, Location loc, Value bar, Value parity) {
  // ${:uid} makes the label unique for every copy of the asm that LLVM
  // emits.
  sideEffectAsm(b, loc, Type(), {bar, parity},
                "{\n.reg .pred done;\nwait_${:uid}:\n"
                "mbarrier.try_wait.parity.shared::cta.b64 done, [$0], $1;\n"
                "@!done bra wait_${:uid};\n}",
                "r,r");
}

void namedBarrierSync(OpBuilder &b, Location loc, int32_t id, int32_t threads) {
  sideEffectAsm(b, loc, Type(), ValueRange(),
                "bar.sync " + std::to_string(id) + ", " +
                    std::to_string(threads) + ";",
                "");
}

void namedBarrierSync(OpBuilder &b, Location loc, Value id, int32_t threads) {
  sideEffectAsm(b, loc, Type(), {id},
                "bar.sync $0, " + std::to_string(threads) + ";", "r");
}

void namedBarrierArrive(OpBuilder &b, Location loc, int32_t id,
                        int32_t threads) {
  sideEffectAsm(b, loc, Type(), ValueRange(),
                "bar.arrive " + std::to_string(id) + ", " +
                    std::to_string(threads) + ";",
                "");
}

Value namedBarrierAny(OpBuilder &b, Location loc, Value pred, int32_t id,
                      int32_t threads) {
  Type i32 = b.getI32Type();
  Value word = arith::ExtUIOp::create(b, loc, i32, pred);
  std::string text = "{\n.reg .pred p, q;\nsetp.ne.u32 p, $1, 0;\n"
                     "bar.red.or.pred q, " +
                     std::to_string(id) + ", " + std::to_string(threads) +
                     ", p;\nselp.u32 $0, 1, 0, q;\n}";
  Value any = sideEffectAsm(b, loc, i32, {word}, text, "=r,r").getRes();
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, any,
                               arith::ConstantIntOp::create(b, loc, i32, 0));
}

} // namespace gpu_attention
} // namespace st
