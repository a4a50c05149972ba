//===- Layout.cpp - Sparse attention pattern math (no IR) -----------------===//
//
// Closed forms for the factor index sets described in Layout.h. Every count is
// exact; the unit tests compare each one against brute-force enumeration of
// the paper's definitions.
//
//===----------------------------------------------------------------------===//

#include "st/Layout/Layout.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <numeric>
#include <sstream>
#include <utility>

using namespace st::layout;

namespace {

int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t floorMod(int64_t a, int64_t b) { return a - floorDiv(a, b) * b; }

int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

/// A set of residues modulo `modulus` as sorted disjoint ranges [a, b).
struct Residues {
  int64_t modulus;
  std::vector<std::pair<int64_t, int64_t>> ranges;

  static Residues window(int64_t modulus, int64_t start, int64_t width) {
    Residues r{modulus, {}};
    if (width <= 0)
      return r;
    if (width >= modulus) {
      r.ranges.push_back({0, modulus});
      return r;
    }
    start = floorMod(start, modulus);
    if (start + width <= modulus) {
      r.ranges.push_back({start, start + width});
    } else {
      r.ranges.push_back({0, start + width - modulus});
      r.ranges.push_back({start, modulus});
    }
    return r;
  }

  Residues intersect(const Residues &other) const {
    assert(modulus == other.modulus && "intersecting different moduli");
    Residues r{modulus, {}};
    for (auto [a0, b0] : ranges)
      for (auto [a1, b1] : other.ranges) {
        int64_t a = std::max(a0, a1), b = std::min(b0, b1);
        if (a < b)
          r.ranges.push_back({a, b});
      }
    std::sort(r.ranges.begin(), r.ranges.end());
    return r;
  }

  bool contains(int64_t j) const {
    int64_t x = floorMod(j, modulus);
    for (auto [a, b] : ranges)
      if (a <= x && x < b)
        return true;
    return false;
  }

  /// |{0 <= j < x : j mod modulus in ranges}| for x >= 0.
  int64_t prefixCount(int64_t x) const {
    int64_t q = x / modulus, r = x % modulus, total = 0;
    for (auto [a, b] : ranges)
      total += q * (b - a) + std::clamp<int64_t>(r - a, 0, b - a);
    return total;
  }

  /// |{lo <= j <= hi : j mod modulus in ranges}| for 0 <= lo.
  int64_t countIn(int64_t lo, int64_t hi) const {
    if (hi < lo)
      return 0;
    return prefixCount(hi + 1) - prefixCount(lo);
  }
};

/// Sum over 0 <= i < n of floor(i / s).
int64_t sumFloorDiv(int64_t n, int64_t s) {
  if (n <= 0)
    return 0;
  int64_t q = n / s, r = n % s;
  return s * q * (q - 1) / 2 + q * r;
}

/// Sum of the integers in [a, b).
int64_t sumRange(int64_t a, int64_t b) {
  if (b <= a)
    return 0;
  return (a + b - 1) * (b - a) / 2;
}

int64_t gcd64(int64_t a, int64_t b) { return std::gcd(a, b); }

} // namespace

//===----------------------------------------------------------------------===//
// RowSet
//===----------------------------------------------------------------------===//

bool RowSet::contains(int64_t j) const {
  if (j < lo || j > hi)
    return false;
  if (modulus == 0)
    return true;
  return Residues::window(modulus, start, width).contains(j);
}

int64_t RowSet::count() const {
  if (hi < lo)
    return 0;
  if (modulus == 0)
    return hi - lo + 1;
  return Residues::window(modulus, start, width).countIn(lo, hi);
}

int64_t st::layout::countIntersection(const std::vector<RowSet> &sets) {
  if (sets.empty())
    return 0;
  int64_t lo = 0, hi = kUnbounded;
  // Residue constraints grouped by modulus; equal moduli intersect exactly.
  std::map<int64_t, Residues> groups;
  for (const RowSet &s : sets) {
    lo = std::max(lo, s.lo);
    hi = std::min(hi, s.hi);
    if (s.modulus == 0)
      continue;
    Residues w = Residues::window(s.modulus, s.start, s.width);
    auto it = groups.find(s.modulus);
    if (it == groups.end())
      groups.emplace(s.modulus, w);
    else
      it->second = it->second.intersect(w);
  }
  if (hi < lo)
    return 0;
  if (groups.empty())
    return hi - lo + 1;
  if (groups.size() == 1)
    return groups.begin()->second.countIn(lo, hi);
  // Different moduli: enumerate the members of the largest modulus (the
  // sparsest progression) and test the others. Unions that mix strides are
  // rare; the named patterns never get here.
  const Residues &lead = groups.rbegin()->second;
  int64_t total = 0;
  for (int64_t base = floorDiv(lo, lead.modulus) * lead.modulus; base <= hi;
       base += lead.modulus) {
    for (auto [a, b] : lead.ranges) {
      for (int64_t j = std::max(lo, base + a); j < base + b && j <= hi; ++j) {
        bool all = true;
        for (auto &[m, res] : groups)
          if (m != lead.modulus && !res.contains(j)) {
            all = false;
            break;
          }
        total += all;
      }
    }
  }
  return total;
}

//===----------------------------------------------------------------------===//
// Factor
//===----------------------------------------------------------------------===//

Factor Factor::band(int64_t width) {
  assert(width >= 1 && "band width must be positive");
  return Factor(FactorKind::Band, std::min(width, kUnbounded), 0, 0, false);
}

Factor Factor::column(int64_t stride, int64_t minDistance) {
  assert(stride >= 1 && minDistance >= 0 && "invalid column factor");
  return Factor(FactorKind::Column, stride, minDistance, 0, false);
}

Factor Factor::block(int64_t size) {
  assert(size >= 1 && "block size must be positive");
  return Factor(FactorKind::Block, size, 0, 0, false);
}

Factor Factor::summary(int64_t stride, int64_t lo, int64_t hi,
                       bool earlierOnly) {
  assert(stride >= 1 && 0 <= lo && lo < hi && hi <= stride &&
         "invalid summary factor");
  return Factor(FactorKind::Summary, stride, lo, hi, earlierOnly);
}

bool Factor::operator==(const Factor &other) const {
  return kind == other.kind && period == other.period && lo == other.lo &&
         hi == other.hi && earlierOnly == other.earlierOnly;
}

RowSet Factor::row(int64_t i) const {
  RowSet r;
  switch (kind) {
  case FactorKind::Band:
    r.lo = period >= kUnbounded ? 0 : std::max<int64_t>(0, i - period + 1);
    r.hi = i;
    break;
  case FactorKind::Column:
    r.lo = 0;
    r.hi = i - lo;
    if (period > 1) {
      r.modulus = period;
      r.start = i % period;
      r.width = 1;
    }
    break;
  case FactorKind::Block:
    r.lo = (i / period) * period;
    r.hi = i;
    break;
  case FactorKind::Summary:
    r.lo = 0;
    r.hi = earlierOnly ? (i / period) * period - 1 : i;
    r.modulus = period;
    r.start = lo;
    r.width = hi - lo;
    break;
  }
  return r;
}

bool Factor::contains(int64_t i, int64_t j) const {
  if (j < 0 || j > i)
    return false;
  return row(i).contains(j);
}

int64_t Factor::rowCount(int64_t i) const { return row(i).count(); }

int64_t Factor::nonzeros(int64_t n) const {
  if (n <= 0)
    return 0;
  switch (kind) {
  case FactorKind::Band: {
    int64_t w = period;
    if (w >= n)
      return n * (n + 1) / 2;
    return w * (w + 1) / 2 + (n - w) * w;
  }
  case FactorKind::Column: {
    // Row i holds distances t * s for ceil(d0 / s) <= t <= floor(i / s);
    // shifting i by t0 * s turns the sum into sum(floor(i'/s) + 1).
    int64_t t0 = ceilDiv(lo, period);
    int64_t shifted = n - t0 * period;
    if (shifted <= 0)
      return 0;
    return sumFloorDiv(shifted, period) + shifted;
  }
  case FactorKind::Block: {
    int64_t q = n / period, r = n % period;
    return q * (period * (period + 1) / 2) + r * (r + 1) / 2;
  }
  case FactorKind::Summary: {
    // Count by column: column j is attended by the rows after it (all rows
    // i >= j, or only rows of later blocks).
    int64_t w = hi - lo;
    if (earlierOnly) {
      int64_t blocks = (n - 1) / period; // blocks b with (b + 1) * l < n
      return w * (blocks * n - period * blocks * (blocks + 1) / 2);
    }
    Residues res = Residues::window(period, lo, w);
    int64_t count = res.prefixCount(n);
    int64_t q = n / period;
    int64_t sumJ = w * period * (q * (q - 1) / 2) + q * sumRange(lo, hi);
    int64_t tailHi = std::min(hi, n - q * period);
    if (tailHi > lo)
      sumJ += (tailHi - lo) * q * period + sumRange(lo, tailHi);
    return n * count - sumJ;
  }
  }
  return 0;
}

TileClass Factor::classify(Tile t, int64_t n) const {
  int64_t q0 = t.q0, q1 = std::min(t.q1, n), k0 = t.k0, k1 = std::min(t.k1, n);
  if (q0 >= q1 || k0 >= k1)
    return TileClass::Empty;
  int64_t dmin = q0 - (k1 - 1), dmax = (q1 - 1) - k0;
  if (dmax < 0)
    return TileClass::Empty;
  switch (kind) {
  case FactorKind::Band: {
    if (std::max<int64_t>(0, dmin) > period - 1)
      return TileClass::Empty;
    return (dmin >= 0 && dmax <= period - 1) ? TileClass::Full
                                             : TileClass::Partial;
  }
  case FactorKind::Column: {
    // Every distance in [dmin, dmax] is realised by some pair of the tile.
    int64_t from = std::max({int64_t(0), dmin, lo});
    if (from > dmax || ceilDiv(from, period) * period > dmax)
      return TileClass::Empty;
    bool full = dmin >= lo && dmin >= 0 &&
                (period == 1 || (dmin == dmax && dmin % period == 0));
    return full ? TileClass::Full : TileClass::Partial;
  }
  case FactorKind::Block: {
    int64_t qb0 = q0 / period, qb1 = (q1 - 1) / period;
    int64_t kb0 = k0 / period, kb1 = (k1 - 1) / period;
    if (dmin >= 0 && std::min(q0, k0) / period ==
                         std::max(q1 - 1, k1 - 1) / period)
      return TileClass::Full;
    int64_t b0 = std::max(qb0, kb0), b1 = std::min(qb1, kb1);
    for (int64_t b = b0; b <= b1; ++b) {
      if (b > b0 + 1 && b < b1)
        return TileClass::Partial; // an interior block is wholly inside both
      int64_t iMax = std::min(q1 - 1, b * period + period - 1);
      int64_t jMin = std::max(k0, b * period);
      if (jMin <= iMax)
        return TileClass::Partial;
    }
    return TileClass::Empty;
  }
  case FactorKind::Summary: {
    Residues res = Residues::window(period, lo, hi - lo);
    int64_t lastRow = q1 - 1;
    int64_t lim = earlierOnly ? (lastRow / period) * period - 1 : lastRow;
    if (res.countIn(k0, std::min(k1 - 1, lim)) == 0)
      return TileClass::Empty;
    bool full = dmin >= 0 && res.countIn(k0, k1 - 1) == k1 - k0 &&
                (!earlierOnly || (k1 - 1) / period < q0 / period);
    return full ? TileClass::Full : TileClass::Partial;
  }
  }
  return TileClass::Partial;
}

std::string Factor::str() const {
  std::ostringstream os;
  switch (kind) {
  case FactorKind::Band:
    if (isDenseCausal())
      os << "dense_causal";
    else
      os << "band(" << period << ")";
    break;
  case FactorKind::Column:
    os << "column(" << period;
    if (lo)
      os << ", from " << lo;
    os << ")";
    break;
  case FactorKind::Block:
    os << "block(" << period << ")";
    break;
  case FactorKind::Summary:
    os << "summary(" << period << ", [" << lo << ", " << hi << ")"
       << (earlierOnly ? ", earlier" : "") << ")";
    break;
  }
  return os.str();
}

//===----------------------------------------------------------------------===//
// Pattern
//===----------------------------------------------------------------------===//

Pattern::Pattern(std::vector<Factor> fs) {
  for (const Factor &f : fs)
    if (std::find(factors.begin(), factors.end(), f) == factors.end())
      factors.push_back(f);
}

bool Pattern::contains(int64_t i, int64_t j) const {
  for (const Factor &f : factors)
    if (f.contains(i, j))
      return true;
  return false;
}

Pattern Pattern::unite(const Pattern &other) const {
  std::vector<Factor> all = factors;
  all.insert(all.end(), other.factors.begin(), other.factors.end());
  return Pattern(std::move(all));
}

namespace {

/// True when `a` contains every position of `b`.
bool covers(const Factor &a, const Factor &b) {
  if (a.isDenseCausal())
    return true;
  if (a.getKind() == FactorKind::Band) {
    int64_t w = a.getPeriod();
    switch (b.getKind()) {
    case FactorKind::Band:
      return w >= b.getPeriod();
    case FactorKind::Block:
      return w >= b.getPeriod(); // distances inside a block are < size
    default:
      return false;
    }
  }
  if (a.getKind() == FactorKind::Column && b.getKind() == FactorKind::Column)
    return b.getPeriod() % a.getPeriod() == 0 &&
           a.getMinDistance() <= b.getMinDistance();
  if (a.getKind() == FactorKind::Summary && b.getKind() == FactorKind::Summary)
    return a.getPeriod() == b.getPeriod() && a.getLo() <= b.getLo() &&
           b.getHi() <= a.getHi() && (!a.isEarlierOnly() || b.isEarlierOnly());
  return a == b;
}

/// Order in which parts are emitted: contiguous factors (bands, blocks)
/// first, so that strided columns and fixed summaries can be made disjoint
/// from them structurally.
int partRank(const Factor &f) {
  switch (f.getKind()) {
  case FactorKind::Band:
    return 0;
  case FactorKind::Block:
    return 1;
  case FactorKind::Column:
    return 2;
  case FactorKind::Summary:
    return 3;
  }
  return 4;
}

/// Rewrites `later` so it shares no position with `earlier`, when a
/// structural rule allows it. Returns false when the two may still overlap.
bool makeDisjoint(const Factor &earlier, Factor &later) {
  // A column thinned to distances >= the band width misses the band.
  if (earlier.getKind() == FactorKind::Band &&
      later.getKind() == FactorKind::Column) {
    later = Factor::column(later.getPeriod(),
                           std::max(later.getMinDistance(),
                                    earlier.getPeriod()));
    return true;
  }
  // Summaries of earlier blocks miss the own block of the same stride.
  if (earlier.getKind() == FactorKind::Block &&
      later.getKind() == FactorKind::Summary &&
      earlier.getPeriod() == later.getPeriod()) {
    later = Factor::summary(later.getPeriod(), later.getLo(), later.getHi(),
                            /*earlierOnly=*/true);
    return true;
  }
  // Disjoint residue windows of the same stride never meet.
  if (earlier.getKind() == FactorKind::Summary &&
      later.getKind() == FactorKind::Summary &&
      earlier.getPeriod() == later.getPeriod() &&
      (earlier.getHi() <= later.getLo() || later.getHi() <= earlier.getLo()))
    return true;
  // A column that starts beyond a band... (handled above); a band of the
  // same width as an earlier block's stride still overlaps it: no rule.
  return false;
}

} // namespace

std::vector<Pattern::Part> Pattern::disjointParts() const {
  // Drop factors covered by another; keep the first of equal ones.
  std::vector<Factor> kept;
  for (size_t a = 0; a < factors.size(); ++a) {
    bool redundant = false;
    for (size_t b = 0; b < factors.size() && !redundant; ++b)
      if (a != b && covers(factors[b], factors[a]) &&
          !(covers(factors[a], factors[b]) && a < b))
        redundant = true;
    if (!redundant)
      kept.push_back(factors[a]);
  }
  // Stable order by rank (a counting sort: std::stable_sort's temporary
  // buffer is deprecated in libstdc++ 12 under clang 22).
  std::vector<Factor> ordered;
  for (int rank = 0; rank <= 3; ++rank)
    for (const Factor &f : kept)
      if (partRank(f) == rank)
        ordered.push_back(f);
  std::vector<Part> parts;
  for (size_t k = 0; k < ordered.size(); ++k) {
    Part part{ordered[k], {}};
    for (size_t e = 0; e < k; ++e)
      if (!makeDisjoint(ordered[e], part.factor))
        part.excluded.push_back(ordered[e]);
    parts.push_back(std::move(part));
  }
  return parts;
}

bool Pattern::partContains(const Part &part, int64_t i, int64_t j) const {
  if (!part.factor.contains(i, j))
    return false;
  for (const Factor &e : part.excluded)
    if (e.contains(i, j))
      return false;
  return true;
}

namespace {

/// |part's row i restricted to columns [k0, k1]| by inclusion-exclusion over
/// its exclusions.
int64_t partRowCount(const Pattern::Part &part, int64_t i, int64_t k0,
                     int64_t k1) {
  RowSet clip{k0, k1, 0, 0, 0};
  std::vector<RowSet> excl;
  for (const Factor &e : part.excluded)
    excl.push_back(e.row(i));
  int64_t m = excl.size(), total = 0;
  assert(m < 20 && "too many overlapping factors");
  for (int64_t mask = 0; mask < (int64_t(1) << m); ++mask) {
    std::vector<RowSet> sets{part.factor.row(i), clip};
    int bits = 0;
    for (int64_t b = 0; b < m; ++b)
      if (mask & (int64_t(1) << b)) {
        sets.push_back(excl[b]);
        ++bits;
      }
    int64_t c = countIntersection(sets);
    total += (bits % 2) ? -c : c;
  }
  return total;
}

int64_t unionRowCount(const std::vector<Pattern::Part> &parts, int64_t i,
                      int64_t k0, int64_t k1) {
  int64_t total = 0;
  for (const Pattern::Part &p : parts)
    total += partRowCount(p, i, k0, k1);
  return total;
}

} // namespace

int64_t Pattern::rowCount(int64_t i) const {
  return unionRowCount(disjointParts(), i, 0, i);
}

int64_t Pattern::nonzeros(int64_t n) const {
  std::vector<Part> parts = disjointParts();
  bool closed = true;
  for (const Part &p : parts)
    closed &= p.excluded.empty();
  int64_t total = 0;
  if (closed) {
    for (const Part &p : parts)
      total += p.factor.nonzeros(n);
    return total;
  }
  for (int64_t i = 0; i < n; ++i)
    total += unionRowCount(parts, i, 0, i);
  return total;
}

TileClass Pattern::classify(Tile t, int64_t n) const {
  int nonEmpty = 0;
  for (const Factor &f : factors) {
    TileClass c = f.classify(t, n);
    if (c == TileClass::Full)
      return TileClass::Full;
    nonEmpty += c == TileClass::Partial;
  }
  if (nonEmpty == 0)
    return TileClass::Empty;
  if (nonEmpty == 1)
    return TileClass::Partial;
  // Several partial factors may fill the tile together: count it.
  int64_t q1 = std::min(t.q1, n), k1 = std::min(t.k1, n);
  std::vector<Part> parts = disjointParts();
  int64_t count = 0;
  for (int64_t i = t.q0; i < q1; ++i)
    count += unionRowCount(parts, i, t.k0, k1 - 1);
  return count == (q1 - t.q0) * (k1 - t.k0) ? TileClass::Full
                                            : TileClass::Partial;
}

std::string Pattern::str() const {
  std::string s;
  for (size_t k = 0; k < factors.size(); ++k)
    s += (k ? " | " : "") + factors[k].str();
  return s.empty() ? "empty" : s;
}

TileCounts st::layout::countTiles(const Pattern &pattern, int64_t n,
                                  int64_t blockQ, int64_t blockK) {
  TileCounts counts;
  if (n <= 0)
    return counts;
  int64_t nq = ceilDiv(n, blockQ), nk = ceilDiv(n, blockK);
  for (int64_t qt = 0; qt < nq; ++qt) {
    int64_t q0 = qt * blockQ, q1 = std::min(n, q0 + blockQ);
    // Key tiles starting after the tile's last row are above the diagonal.
    int64_t lastK = (q1 - 1) / blockK;
    counts.empty += nk - 1 - lastK;
    for (int64_t kt = 0; kt <= lastK; ++kt) {
      Tile t{q0, q1, kt * blockK, (kt + 1) * blockK};
      switch (pattern.classify(t, n)) {
      case TileClass::Empty:
        ++counts.empty;
        break;
      case TileClass::Full:
        ++counts.full;
        break;
      case TileClass::Partial:
        ++counts.partial;
        break;
      }
    }
  }
  return counts;
}

//===----------------------------------------------------------------------===//
// Layout
//===----------------------------------------------------------------------===//

namespace {

/// Shortest prefix of `cycle` that repeats to form it.
std::vector<Pattern> compress(std::vector<Pattern> cycle) {
  size_t len = cycle.size();
  for (size_t p = 1; p < len; ++p) {
    if (len % p)
      continue;
    bool periodic = true;
    for (size_t h = p; h < len && periodic; ++h)
      periodic = cycle[h] == cycle[h % p];
    if (periodic) {
      cycle.resize(p);
      break;
    }
  }
  return cycle;
}

int64_t lcm64(int64_t a, int64_t b) { return a / gcd64(a, b) * b; }

} // namespace

Layout::Layout(std::vector<Pattern> c) : cycle(compress(std::move(c))) {}

Layout Layout::denseCausal() { return Layout({Pattern({Factor::denseCausal()})}); }

Layout Layout::local(int64_t window) {
  return Layout({Pattern({Factor::band(window)})});
}

Layout Layout::strided(int64_t stride) {
  return Layout({Pattern({Factor::band(stride), Factor::column(stride)})});
}

Layout Layout::fixed(int64_t stride, int64_t summary, bool distinct) {
  if (!distinct)
    return Layout({Pattern({Factor::block(stride),
                            Factor::summary(stride, stride - summary, stride)})});
  std::vector<Pattern> cycle;
  int64_t subBlocks = stride / summary;
  for (int64_t h = 0; h < subBlocks; ++h)
    cycle.push_back(Pattern({Factor::block(stride),
                             Factor::summary(stride, stride - (h + 1) * summary,
                                             stride - h * summary)}));
  return Layout(std::move(cycle));
}

Layout Layout::unite(const std::vector<Layout> &members) {
  int64_t len = 1;
  for (const Layout &m : members)
    len = lcm64(len, m.getCycleLength());
  std::vector<Pattern> cycle;
  for (int64_t h = 0; h < len; ++h) {
    Pattern p;
    for (const Layout &m : members)
      p = p.unite(m.forHead(h));
    cycle.push_back(std::move(p));
  }
  return Layout(std::move(cycle));
}

Layout Layout::perHead(const std::vector<Layout> &members) {
  int64_t len = members.size();
  for (const Layout &m : members)
    len = lcm64(len, m.getCycleLength());
  std::vector<Pattern> cycle;
  for (int64_t h = 0; h < len; ++h)
    cycle.push_back(members[h % members.size()].forHead(h));
  return Layout(std::move(cycle));
}

const Pattern &Layout::forHead(int64_t head) const {
  assert(!cycle.empty() && "layout without patterns");
  return cycle[head % cycle.size()];
}

int64_t Layout::nonzeros(int64_t n, int64_t numHeads) const {
  int64_t total = 0;
  int64_t len = cycle.size();
  for (int64_t k = 0; k < len && k < numHeads; ++k) {
    int64_t heads = (numHeads - k + len - 1) / len; // heads h = k (mod len)
    total += heads * cycle[k].nonzeros(n);
  }
  return total;
}

TileCounts Layout::countTiles(int64_t n, int64_t numHeads, int64_t blockQ,
                              int64_t blockK) const {
  TileCounts total;
  int64_t len = cycle.size();
  for (int64_t k = 0; k < len && k < numHeads; ++k) {
    int64_t heads = (numHeads - k + len - 1) / len;
    TileCounts c = st::layout::countTiles(cycle[k], n, blockQ, blockK);
    total.empty += heads * c.empty;
    total.full += heads * c.full;
    total.partial += heads * c.partial;
  }
  return total;
}

double Layout::density(int64_t n, int64_t numHeads) const {
  if (n <= 0 || numHeads <= 0)
    return 0.0;
  double causal = double(n) * double(n + 1) / 2.0;
  return double(nonzeros(n, numHeads)) / (causal * double(numHeads));
}

std::string Layout::str() const {
  if (cycle.size() == 1)
    return cycle[0].str();
  std::string s = "per-head[";
  for (size_t k = 0; k < cycle.size(); ++k)
    s += (k ? "; " : "") + cycle[k].str();
  return s + "]";
}
