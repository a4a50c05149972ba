//===- PartStructure.cpp - Index math of one attention part's loops -------===//

#include "PartStructure.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::st::attention_loops;
namespace lay = ::st::layout;

Value mlir::st::attention_loops::emitContains(IndexMath &m,
                                              const lay::Factor &f, Value i,
                                              Value j) {
  using P = arith::CmpIPredicate;
  Value causal = m.cmp(P::sle, j, i);
  Value dist = m.sub(i, j);
  switch (f.getKind()) {
  case lay::FactorKind::Band:
    if (f.isDenseCausal())
      return causal;
    return m.andi(causal, m.cmp(P::slt, dist, m.c(f.getPeriod())));
  case lay::FactorKind::Column: {
    Value ok = m.andi(causal, m.cmp(P::sge, dist, m.c(f.getMinDistance())));
    if (f.getPeriod() == 1)
      return ok;
    return m.andi(ok, m.cmp(P::eq, m.rem(dist, m.c(f.getPeriod())), m.c(0)));
  }
  case lay::FactorKind::Block: {
    Value l = m.c(f.getPeriod());
    return m.andi(causal, m.cmp(P::eq, m.div(i, l), m.div(j, l)));
  }
  case lay::FactorKind::Summary: {
    Value l = m.c(f.getPeriod());
    Value r = m.rem(j, l);
    Value ok = m.andi(causal, m.andi(m.cmp(P::sge, r, m.c(f.getLo())),
                                     m.cmp(P::slt, r, m.c(f.getHi()))));
    if (f.isEarlierOnly())
      ok = m.andi(ok, m.cmp(P::slt, m.div(j, l), m.div(i, l)));
    return ok;
  }
  }
  llvm_unreachable("unknown factor kind");
}

Value PartStructure::originalKey(Value j) {
  if (!compact)
    return j;
  int64_t w = factor.getHi() - factor.getLo();
  return m.add(m.add(m.mul(m.div(j, m.c(w)), m.c(factor.getPeriod())),
                     m.c(factor.getLo())),
               m.rem(j, m.c(w)));
}

Value PartStructure::compactPrefix(Value i) {
  int64_t l = factor.getPeriod(), w = factor.getHi() - factor.getLo();
  Value full = m.mul(m.div(i, m.c(l)), m.c(w));
  if (factor.isEarlierOnly())
    return full;
  // Summary columns of the own block up to and including i.
  Value own = m.add(m.sub(m.rem(i, m.c(l)), m.c(factor.getLo())), m.c(1));
  own = m.max(m.c(0), m.min(own, m.c(w)));
  return m.add(full, own);
}

std::pair<Value, Value> PartStructure::rowInterval(Value i) {
  Value one = m.c(1);
  if (compact)
    return {m.c(0), compactPrefix(i)};
  Value hi = m.add(i, one);
  switch (factor.getKind()) {
  case lay::FactorKind::Band:
    if (factor.isDenseCausal())
      return {m.c(0), hi};
    return {m.max(m.c(0), m.sub(hi, m.c(factor.getPeriod()))), hi};
  case lay::FactorKind::Column:
    return {m.c(0), m.max(m.c(0), m.sub(hi, m.c(factor.getMinDistance())))};
  case lay::FactorKind::Block: {
    Value l = m.c(factor.getPeriod());
    return {m.mul(m.div(i, l), l), hi};
  }
  case lay::FactorKind::Summary:
    if (factor.isEarlierOnly()) {
      Value l = m.c(factor.getPeriod());
      return {m.c(0), m.mul(m.div(i, l), l)};
    }
    return {m.c(0), hi};
  }
  llvm_unreachable("unknown factor kind");
}

std::pair<Value, Value> PartStructure::columnInterval(Value j) {
  Value end = length();
  auto clip = [&](Value lo) { return m.min(lo, end); };
  // First row of the block after the one holding original position `p`.
  auto nextBlock = [&](Value p) {
    Value l = m.c(factor.getPeriod());
    return m.mul(m.add(m.div(p, l), m.c(1)), l);
  };
  if (compact) {
    // Row i attends compact key j iff prefix(i) > j: from j's original
    // position on, or from the next block for earlier-blocks-only.
    Value p = originalKey(j);
    return {clip(factor.isEarlierOnly() ? nextBlock(p) : p), end};
  }
  switch (factor.getKind()) {
  case lay::FactorKind::Band:
    if (factor.isDenseCausal())
      return {clip(j), end};
    return {clip(j), m.min(m.add(j, m.c(factor.getPeriod())), end)};
  case lay::FactorKind::Column:
    return {clip(m.add(j, m.c(factor.getMinDistance()))), end};
  case lay::FactorKind::Block:
    return {clip(j), m.min(nextBlock(j), end)};
  case lay::FactorKind::Summary:
    return {clip(factor.isEarlierOnly() ? nextBlock(j) : j), end};
  }
  llvm_unreachable("unknown factor kind");
}

bool PartStructure::needsMask() const {
  if (!excluded.empty())
    return true;
  if (compact)
    return false;
  switch (factor.getKind()) {
  case lay::FactorKind::Column:
    return factor.getPeriod() != 1;
  case lay::FactorKind::Summary:
    return true;
  default:
    return false;
  }
}

Value PartStructure::emitAllowed(Value i, Value j) {
  Value jo = originalKey(j);
  Value ok = emitContains(m, factor, i, jo);
  for (const lay::Factor &e : excluded)
    ok = m.andi(ok, m.noti(emitContains(m, e, i, jo)));
  return ok;
}

void mlir::st::attention_loops::emitWorkCount(OpBuilder &b, Location loc,
                                              Operation *op, Value count) {
  constexpr StringLiteral kWorkCounter = "st_attention_work";
  auto module = op->getParentOfType<ModuleOp>();
  auto type = MemRefType::get({1}, b.getI64Type());
  if (!module.lookupSymbol(kWorkCounter)) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    memref::GlobalOp::create(
        b, loc, kWorkCounter, b.getStringAttr("public"), type,
        DenseElementsAttr::get(RankedTensorType::get({1}, b.getI64Type()),
                               b.getI64IntegerAttr(0).getValue()),
        /*constant=*/false, /*alignment=*/nullptr);
  }
  Value counter = memref::GetGlobalOp::create(b, loc, type, kWorkCounter);
  Value amount = arith::IndexCastOp::create(b, loc, b.getI64Type(), count);
  memref::AtomicRMWOp::create(b, loc, arith::AtomicRMWKind::addi, amount,
                              counter,
                              ValueRange{arith::ConstantIndexOp::create(
                                  b, loc, 0)});
}
