//===- StAttrs.cpp - Attention layout attributes --------------------------===//
//
// Each attribute verifies its parameters and maps itself onto the pattern
// library; all pattern math lives in st/Layout.
//
//===----------------------------------------------------------------------===//

#include "st/Dialect/StDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::st;
namespace lay = ::st::layout;

#include "st/Dialect/StInterfaces.cpp.inc"

/// `[` (attr (`,` attr)*)? `]`: an empty list parses, so the verifier can
/// say what is wrong with it.
static ParseResult parseLayoutList(AsmParser &parser,
                                   SmallVector<Attribute> &members) {
  return parser.parseCommaSeparatedList(
      AsmParser::Delimiter::Square, [&]() -> ParseResult {
        Attribute attr;
        if (parser.parseAttribute(attr))
          return failure();
        members.push_back(attr);
        return success();
      });
}

static void printLayoutList(AsmPrinter &printer, ArrayRef<Attribute> members) {
  printer << '[';
  llvm::interleaveComma(members, printer);
  printer << ']';
}

#define GET_ATTRDEF_CLASSES
#include "st/Dialect/StAttrs.cpp.inc"

void StDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "st/Dialect/StAttrs.cpp.inc"
      >();
}

LogicalResult mlir::st::detail::verifyLayoutForLength(
    const lay::Layout &layout, Attribute attr, int64_t n,
    llvm::function_ref<InFlightDiagnostic()> emitError) {
  if (n < 1)
    return emitError() << "sequence length must be positive, got " << n;
  for (int64_t h = 0; h < layout.getCycleLength(); ++h) {
    for (const lay::Factor &f : layout.forHead(h).getFactors()) {
      if (f.getKind() == lay::FactorKind::Band || f.getPeriod() <= n)
        continue;
      return emitError() << "layout " << attr << " has stride "
                         << f.getPeriod() << " larger than the sequence length "
                         << n;
    }
  }
  return success();
}

namespace {

LogicalResult checkPositive(function_ref<InFlightDiagnostic()> emitError,
                            StringRef what, int64_t value) {
  if (value >= 1)
    return success();
  return emitError() << what << " must be positive, got " << value;
}

/// Members of a union or per-head list: at least one, each a layout.
LogicalResult verifyMembers(function_ref<InFlightDiagnostic()> emitError,
                            StringRef what, ArrayRef<Attribute> members) {
  if (members.empty())
    return emitError() << what << " needs at least one member layout";
  for (Attribute m : members)
    if (!isa<LayoutAttrInterface>(m))
      return emitError() << what << " member " << m
                         << " is not an attention layout";
  return success();
}

std::vector<lay::Layout> memberLayouts(ArrayRef<Attribute> members) {
  std::vector<lay::Layout> layouts;
  for (Attribute m : members)
    layouts.push_back(cast<LayoutAttrInterface>(m).getLayout());
  return layouts;
}

lay::Layout single(lay::Factor f) { return lay::Layout({lay::Pattern({f})}); }

} // namespace

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

lay::Layout DenseCausalAttr::getLayout() const { return lay::Layout::denseCausal(); }
SmallVector<Attribute> DenseCausalAttr::getFactorAttrs(int64_t) const {
  return {*this};
}

LogicalResult LocalAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t window) {
  return checkPositive(emitError, "local window", window);
}
lay::Layout LocalAttr::getLayout() const { return lay::Layout::local(getWindow()); }
SmallVector<Attribute> LocalAttr::getFactorAttrs(int64_t) const {
  return {BandAttr::get(getContext(), getWindow())};
}

LogicalResult StridedAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t stride) {
  return checkPositive(emitError, "stride", stride);
}
lay::Layout StridedAttr::getLayout() const {
  return lay::Layout::strided(getStride());
}
SmallVector<Attribute> StridedAttr::getFactorAttrs(int64_t) const {
  return {BandAttr::get(getContext(), getStride()),
          ColumnAttr::get(getContext(), getStride(), /*from=*/0)};
}

LogicalResult FixedAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t stride, int64_t summary, bool) {
  if (failed(checkPositive(emitError, "stride", stride)) ||
      failed(checkPositive(emitError, "summary", summary)))
    return failure();
  if (summary > stride)
    return emitError() << "summary " << summary << " exceeds the stride "
                       << stride;
  return success();
}
lay::Layout FixedAttr::getLayout() const {
  return lay::Layout::fixed(getStride(), getSummary(), getPerHead());
}
SmallVector<Attribute> FixedAttr::getFactorAttrs(int64_t head) const {
  int64_t offset =
      getPerHead() ? (head % (getStride() / getSummary())) * getSummary() : 0;
  return {BlockAttr::get(getContext(), getStride()),
          SummaryAttr::get(getContext(), getStride(), getSummary(), offset,
                           /*earlier_blocks=*/false)};
}

LogicalResult UnionAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                ArrayRef<Attribute> members) {
  return verifyMembers(emitError, "union", members);
}
lay::Layout UnionAttr::getLayout() const {
  return lay::Layout::unite(memberLayouts(getMembers()));
}
SmallVector<Attribute> UnionAttr::getFactorAttrs(int64_t head) const {
  SmallVector<Attribute> factors;
  for (Attribute m : getMembers())
    for (Attribute f : cast<LayoutAttrInterface>(m).getFactorAttrs(head))
      if (!llvm::is_contained(factors, f))
        factors.push_back(f);
  return factors;
}

LogicalResult PerHeadAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  ArrayRef<Attribute> members) {
  return verifyMembers(emitError, "per_head", members);
}
lay::Layout PerHeadAttr::getLayout() const {
  return lay::Layout::perHead(memberLayouts(getMembers()));
}
SmallVector<Attribute> PerHeadAttr::getFactorAttrs(int64_t head) const {
  auto member = cast<LayoutAttrInterface>(
      getMembers()[head % getMembers().size()]);
  return member.getFactorAttrs(head);
}

//===----------------------------------------------------------------------===//
// Factors
//===----------------------------------------------------------------------===//

LogicalResult BandAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t width) {
  return checkPositive(emitError, "band width", width);
}
lay::Layout BandAttr::getLayout() const { return single(lay::Factor::band(getWidth())); }
SmallVector<Attribute> BandAttr::getFactorAttrs(int64_t) const { return {*this}; }

LogicalResult ColumnAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 int64_t stride, int64_t from) {
  if (from < 0)
    return emitError() << "column distance must be non-negative, got " << from;
  return checkPositive(emitError, "stride", stride);
}
lay::Layout ColumnAttr::getLayout() const {
  return single(lay::Factor::column(getStride(), getFrom()));
}
SmallVector<Attribute> ColumnAttr::getFactorAttrs(int64_t) const { return {*this}; }

LogicalResult BlockAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t size) {
  return checkPositive(emitError, "block size", size);
}
lay::Layout BlockAttr::getLayout() const { return single(lay::Factor::block(getSize())); }
SmallVector<Attribute> BlockAttr::getFactorAttrs(int64_t) const { return {*this}; }

LogicalResult SummaryAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t stride, int64_t width,
                                  int64_t offset, bool) {
  if (failed(checkPositive(emitError, "stride", stride)) ||
      failed(checkPositive(emitError, "summary width", width)))
    return failure();
  if (offset < 0)
    return emitError() << "summary offset must be non-negative, got " << offset;
  if (offset + width > stride)
    return emitError() << "summary columns [" << stride - offset - width
                       << ", " << stride - offset
                       << ") do not fit in the stride " << stride;
  return success();
}
lay::Layout SummaryAttr::getLayout() const {
  int64_t hi = getStride() - getOffset();
  return single(lay::Factor::summary(getStride(), hi - getWidth(), hi,
                                     getEarlierBlocks()));
}
SmallVector<Attribute> SummaryAttr::getFactorAttrs(int64_t) const { return {*this}; }

//===----------------------------------------------------------------------===//
// Initialisers
//===----------------------------------------------------------------------===//

LogicalResult
NormalInitAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                       llvm::APFloat stdValue) {
  double std = stdValue.convertToDouble();
  if (!(std >= 0.0) || std::isinf(std))
    return emitError() << "normal initialiser needs a finite std >= 0, got "
                       << std;
  return success();
}

/// `<` `std` `=` float `>`
Attribute NormalInitAttr::parse(AsmParser &parser, Type) {
  double std = 0.0;
  if (parser.parseLess() || parser.parseKeyword("std") || parser.parseEqual() ||
      parser.parseFloat(std) || parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                    parser.getContext(), llvm::APFloat(std));
}

void NormalInitAttr::print(AsmPrinter &printer) const {
  printer << "<std = " << getStd().convertToDouble() << ">";
}

//===----------------------------------------------------------------------===//
// Factor <-> attribute
//===----------------------------------------------------------------------===//

Attribute mlir::st::getFactorAttr(MLIRContext *ctx, const lay::Factor &f) {
  switch (f.getKind()) {
  case lay::FactorKind::Band:
    if (f.isDenseCausal())
      return DenseCausalAttr::get(ctx);
    return BandAttr::get(ctx, f.getPeriod());
  case lay::FactorKind::Column:
    return ColumnAttr::get(ctx, f.getPeriod(), f.getMinDistance());
  case lay::FactorKind::Block:
    return BlockAttr::get(ctx, f.getPeriod());
  case lay::FactorKind::Summary:
    return SummaryAttr::get(ctx, f.getPeriod(), f.getHi() - f.getLo(),
                            f.getPeriod() - f.getHi(), f.isEarlierOnly());
  }
  llvm_unreachable("unknown factor kind");
}

std::optional<lay::Factor> mlir::st::getFactor(Attribute attr) {
  auto layout = dyn_cast<LayoutAttrInterface>(attr);
  if (!layout)
    return std::nullopt;
  lay::Layout l = layout.getLayout();
  if (!l.isHeadIndependent() || l.forHead(0).getFactors().size() != 1)
    return std::nullopt;
  return l.forHead(0).getFactors()[0];
}
