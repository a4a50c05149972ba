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
} // namespace

CoreMatrixStrides kMajorStrides(int64_t cols) {
  return {kCoreMatrixBytes, cols * kEltBytes * 8};
}

CoreMatrixStrides mnMajorStrides(int64_t cols) {
  return {cols * kEltBytes * 8, kCoreMatrixBytes};
}

Value matrixDescriptor(OpBuilder &b, Location loc, Value addr,
                       CoreMatrixStrides strides) {
  // Bits 0-13: address >> 4; 16-29: leading byte offset >> 4; 32-45:
  // stride byte offset >> 4; 49-51 base offset and 62-63 swizzle: 0.
  uint64_t fixed = (uint64_t(strides.leading >> 4) & 0x3FFF) << 16 |
                   (uint64_t(strides.stride >> 4) & 0x3FFF) << 32;
  auto i64 = b.getI64Type();
  Value shifted = arith::ShRUIOp::create(
      b, loc, addr, arith::ConstantIntOp::create(b, loc, i64, 4));
  Value low = arith::AndIOp::create(
      b, loc, shifted, arith::ConstantIntOp::create(b, loc, i64, 0x3FFF));
  return arith::OrIOp::create(
      b, loc, low, arith::ConstantIntOp::create(b, loc, i64, int64_t(fixed)));
}

SmallVector<Value> warpgroupMma(OpBuilder &b, Location loc, ValueRange acc,
                                ArrayRef<std::array<Value, 4>> a,
                                ValueRange desc, bool bf16, bool transB) {
  assert(a.size() == desc.size() && "one descriptor per k16 step");
  int64_t regs = acc.size(), n = 2 * regs;
  // Operands: the accumulators as outputs $0..$(regs - 1) tied to inputs
  // $regs..$(2 regs - 1); then the A registers, the descriptors and the
  // scale-d flag (1: accumulate).
  int64_t aFirst = 2 * regs;
  int64_t descFirst = aFirst + 4 * int64_t(a.size());
  int64_t scaleIdx = descFirst + int64_t(desc.size());
  SmallVector<std::string> dRegs;
  for (int64_t i = 0; i < regs; ++i)
    dRegs.push_back("$" + std::to_string(i));
  std::string dList = "{" + llvm::join(dRegs, ", ") + "}";
  std::string type = bf16 ? "bf16" : "f16";
  auto reg = [](int64_t i) { return "$" + std::to_string(i); };
  std::string text = "{\n.reg .pred p;\nsetp.ne.b32 p, " + reg(scaleIdx) +
                     ", 0;\nwgmma.fence.sync.aligned;\n";
  for (size_t s = 0; s < a.size(); ++s) {
    int64_t a0 = aFirst + 4 * int64_t(s);
    text += "wgmma.mma_async.sync.aligned.m64n" + std::to_string(n) +
            "k16.f32." + type + "." + type + " " + dList + ", {" + reg(a0) +
            ", " + reg(a0 + 1) + ", " + reg(a0 + 2) + ", " + reg(a0 + 3) +
            "}, " + reg(descFirst + int64_t(s)) + ", p, 1, 1, " +
            (transB ? "1" : "0") + ";\n";
  }
  text += "wgmma.commit_group.sync.aligned;\n"
          "wgmma.wait_group.sync.aligned 0;\n}\n";

  SmallVector<std::string> cons;
  for (int64_t i = 0; i < regs; ++i)
    cons.push_back("=f");
  for (int64_t i = 0; i < regs; ++i)
    cons.push_back(std::to_string(i));
  for (size_t i = 0; i < 4 * a.size(); ++i)
    cons.push_back("r");
  for (size_t i = 0; i < desc.size(); ++i)
    cons.push_back("l");
  cons.push_back("r");

  SmallVector<Value> operands(acc.begin(), acc.end());
  for (const auto &step : a)
    operands.append(step.begin(), step.end());
  operands.append(desc.begin(), desc.end());
  operands.push_back(arith::ConstantIntOp::create(b, loc, b.getI32Type(), 1));

  auto f32 = b.getF32Type();
  SmallVector<Type> fields(regs, f32);
  auto structType = LLVM::LLVMStructType::getLiteral(b.getContext(), fields);
  auto asmOp = LLVM::InlineAsmOp::create(
      b, loc, structType, operands, text, llvm::join(cons, ","),
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
      ArrayAttr());
  SmallVector<Value> out;
  for (int64_t i = 0; i < regs; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, loc, asmOp.getResult(0),
                                               ArrayRef<int64_t>{i}));
  return out;
}

void fenceProxyAsyncShared(OpBuilder &b, Location loc) {
  LLVM::InlineAsmOp::create(
      b, loc, TypeRange(), ValueRange(), "fence.proxy.async.shared::cta;", "",
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None,
      LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT),
      ArrayAttr());
}

} // namespace gpu_attention
} // namespace st
