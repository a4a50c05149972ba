//===- Views.cpp - How a GPU kernel walks one attention part --------------===//

#include "Views.h"

#include "llvm/Support/ErrorHandling.h"

#include <algorithm>

using namespace st::gpu_attention;
namespace lay = st::layout;

std::string View::str() const {
  switch (kind) {
  case ViewKind::Identity:
    return "identity";
  case ViewKind::Residue:
    return "residue(" + std::to_string(stride) + ")";
  case ViewKind::Compact:
    return "compact(" + std::to_string(stride) + ", " + std::to_string(lo) +
           ", " + std::to_string(width) + ")";
  }
  return "?";
}

int64_t View::positionOffset(int64_t r) const {
  switch (kind) {
  case ViewKind::Identity:
    return r;
  case ViewKind::Residue:
    return r * stride;
  case ViewKind::Compact:
    return r / width * stride + r % width;
  }
  llvm_unreachable("unknown view");
}

std::vector<GpuPart> st::gpu_attention::gpuParts(const lay::Pattern &pattern) {
  std::vector<GpuPart> result;
  for (const lay::Pattern::Part &p : pattern.disjointParts()) {
    const lay::Factor &f = p.factor;
    GpuPart g{f, p.excluded, f, false, View(), View()};
    switch (f.getKind()) {
    case lay::FactorKind::Band:
    case lay::FactorKind::Block:
      break;
    case lay::FactorKind::Column: {
      int64_t l = f.getPeriod();
      if (l == 1)
        break;
      int64_t d = f.getMinDistance();
      g.viewFactor = lay::Factor::column(1, (std::max<int64_t>(d, 0) + l - 1) / l);
      g.queryView = g.keyView = View{ViewKind::Residue, l, 0, 0};
      break;
    }
    case lay::FactorKind::Summary:
      g.compact = true;
      g.keyView = View{ViewKind::Compact, f.getPeriod(), f.getLo(),
                       f.getHi() - f.getLo()};
      break;
    }
    result.push_back(std::move(g));
  }
  return result;
}

std::vector<std::vector<GpuPart>>
st::gpu_attention::groupParts(const std::vector<GpuPart> &parts,
                              bool byKeyView) {
  std::vector<std::vector<GpuPart>> groups;
  for (const GpuPart &p : parts) {
    const View &v = byKeyView ? p.keyView : p.queryView;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto &g) {
      return (byKeyView ? g.front().keyView : g.front().queryView) == v;
    });
    if (it == groups.end())
      groups.push_back({p});
    else
      it->push_back(p);
  }
  // Covering groups first, keeping the order within each class.
  std::vector<std::vector<GpuPart>> ordered;
  for (bool covering : {true, false})
    for (const auto &g : groups) {
      const View &v = byKeyView ? g.front().keyView : g.front().queryView;
      if (v.coversAll() == covering)
        ordered.push_back(g);
    }
  return ordered;
}

std::optional<std::pair<GpuPart, GpuPart>>
st::gpu_attention::wholeSummaryKeyParts(
    const std::vector<std::vector<GpuPart>> &bwd) {
  if (bwd.size() != 2 || bwd[0].size() != 1 || bwd[1].size() != 1)
    return std::nullopt;
  const GpuPart &block = bwd[0][0], &summary = bwd[1][0];
  const lay::Factor &s = summary.factor;
  if (block.factor.getKind() != lay::FactorKind::Block ||
      !block.excluded.empty() || s.getKind() != lay::FactorKind::Summary ||
      !s.isEarlierOnly() || !summary.excluded.empty() ||
      block.factor.getPeriod() != s.getPeriod())
    return std::nullopt;
  lay::Factor whole = lay::Factor::summary(s.getPeriod(), s.getLo(), s.getHi(),
                                           /*earlierOnly=*/false);
  GpuPart keys = summary, rest = block;
  keys.factor = keys.viewFactor = whole;
  rest.excluded.push_back(whole);
  return std::make_pair(keys, rest);
}
