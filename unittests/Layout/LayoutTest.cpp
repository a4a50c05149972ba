//===- LayoutTest.cpp - Property tests of the attention-pattern math ------===//
//
// Checks every closed-form answer of st::layout (membership, row counts,
// nonzeros, tile classes, disjoint parts, per-head assignment) against a
// brute-force reference written directly from the index-set definitions in
// Layout.h and the paper (Child et al. 2019): plain loops over (i, j), no
// closed forms. Random cases use fixed-seed generators so that a failure
// reproduces, and every failure prints the parameters that produced it.
//
//===----------------------------------------------------------------------===//

#include "st/Layout/Layout.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace st::layout;

namespace {

//===----------------------------------------------------------------------===//
// Brute-force reference
//===----------------------------------------------------------------------===//

/// Membership of (i, j), for 0 <= j and 0 <= i. Every predicate below is a
/// literal transcription of a definition; none of them counts anything.
using Pred = std::function<bool(int64_t, int64_t)>;

Pred refBand(int64_t w) {
  return [w](int64_t i, int64_t j) { return 0 <= i - j && i - j < w; };
}

Pred refColumn(int64_t l, int64_t d0) {
  return [l, d0](int64_t i, int64_t j) {
    return j <= i && (i - j) % l == 0 && i - j >= d0;
  };
}

Pred refBlock(int64_t l) {
  return [l](int64_t i, int64_t j) { return j <= i && j / l == i / l; };
}

Pred refSummary(int64_t l, int64_t lo, int64_t hi, bool earlierOnly) {
  return [=](int64_t i, int64_t j) {
    if (j > i || j % l < lo || j % l >= hi)
      return false;
    return !earlierOnly || j / l < i / l;
  };
}

Pred refDenseCausal() {
  return [](int64_t i, int64_t j) { return j <= i; };
}

/// local<W>: i - W < j <= i.
Pred refLocal(int64_t w) {
  return [w](int64_t i, int64_t j) { return i - w < j && j <= i; };
}

/// strided<l> exactly as the paper writes it: A(1)_i = [max(0, i - l), i]
/// (l + 1 positions) union A(2)_i = {j <= i : (i - j) mod l == 0}.
Pred refStridedPaper(int64_t l) {
  return [l](int64_t i, int64_t j) {
    if (j > i)
      return false;
    bool inBand = std::max<int64_t>(0, i - l) <= j;
    bool inColumn = (i - j) % l == 0;
    return inBand || inColumn;
  };
}

/// fixed<l, c> for head h: own block, or one of the c columns
/// [l - (h' + 1) c, l - h' c) of any block, h' = h mod (l / c). The shared
/// form is head 0: columns [l - c, l).
Pred refFixed(int64_t l, int64_t c, int64_t head = 0) {
  int64_t hp = head % (l / c);
  int64_t lo = l - (hp + 1) * c, hi = l - hp * c;
  return [=](int64_t i, int64_t j) {
    if (j > i)
      return false;
    bool ownBlock = j / l == i / l;
    bool summary = lo <= j % l && j % l < hi;
    return ownBlock || summary;
  };
}

Pred refUnion(std::vector<Pred> members) {
  return [members](int64_t i, int64_t j) {
    for (const Pred &p : members)
      if (p(i, j))
        return true;
    return false;
  };
}

/// |{j : (i, j) in set}| by a loop over every candidate column.
int64_t bruteRowCount(const Pred &p, int64_t i) {
  int64_t count = 0;
  for (int64_t j = 0; j <= i; ++j)
    count += p(i, j);
  return count;
}

/// The n x n membership matrix of a reference set, evaluated once per case so
/// that the many per-tile loops below do not re-run the predicate.
class Matrix {
public:
  Matrix(const Pred &p, int64_t n) : n(n), bits(n * n) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        bits[i * n + j] = p(i, j);
  }
  int64_t size() const { return n; }
  bool at(int64_t i, int64_t j) const { return bits[i * n + j]; }

  int64_t rowCount(int64_t i) const {
    int64_t count = 0;
    for (int64_t j = 0; j < n; ++j)
      count += at(i, j);
    return count;
  }

  /// Class of the tile clipped to the matrix, by visiting every cell.
  TileClass classify(Tile t) const {
    int64_t in = 0, area = 0;
    for (int64_t i = t.q0; i < std::min(t.q1, n); ++i)
      for (int64_t j = t.k0; j < std::min(t.k1, n); ++j) {
        ++area;
        in += at(i, j);
      }
    if (in == 0)
      return TileClass::Empty;
    return in == area ? TileClass::Full : TileClass::Partial;
  }

  /// Tile counts over the grid of blockQ x blockK tiles covering the matrix,
  /// upper-triangle tiles included.
  TileCounts countTiles(int64_t blockQ, int64_t blockK) const {
    TileCounts counts;
    for (int64_t q0 = 0; q0 < n; q0 += blockQ)
      for (int64_t k0 = 0; k0 < n; k0 += blockK) {
        switch (classify({q0, q0 + blockQ, k0, k0 + blockK})) {
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
    return counts;
  }

private:
  int64_t n;
  std::vector<uint8_t> bits;
};

const char *name(TileClass c) {
  switch (c) {
  case TileClass::Empty:
    return "Empty";
  case TileClass::Full:
    return "Full";
  case TileClass::Partial:
    return "Partial";
  }
  return "?";
}

std::string str(Tile t) {
  std::ostringstream os;
  os << "[" << t.q0 << "," << t.q1 << ")x[" << t.k0 << "," << t.k1 << ")";
  return os.str();
}

std::string str(const TileCounts &c) {
  std::ostringstream os;
  os << "{empty " << c.empty << ", full " << c.full << ", partial " << c.partial
     << "}";
  return os.str();
}

bool operator==(const TileCounts &a, const TileCounts &b) {
  return a.empty == b.empty && a.full == b.full && a.partial == b.partial;
}

//===----------------------------------------------------------------------===//
// Random cases
//===----------------------------------------------------------------------===//

/// Portable draws (std::uniform_int_distribution differs between standard
/// libraries; these do not), so a printed seed reproduces everywhere.
class Rng {
public:
  explicit Rng(uint64_t seed) : gen(seed) {}
  /// Uniform in [lo, hi].
  int64_t uniform(int64_t lo, int64_t hi) {
    return lo +
           static_cast<int64_t>(gen() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(int percent) { return uniform(0, 99) < percent; }
  template <typename T> const T &pick(const std::vector<T> &v) {
    return v[uniform(0, v.size() - 1)];
  }

private:
  std::mt19937_64 gen;
};

/// Strides that matter: 1, small primes, non-powers of two next to powers of
/// two, and values larger than most test lengths (n < stride).
const std::vector<int64_t> kStrides = {1,   2,   3,   4,   5,   7,  8,   12,
                                       13,  16,  17,  31,  32,  64, 100, 127,
                                       128, 129, 256, 300, 333, 512};

/// Tile sizes as the brief asks: 1 and odd ones plus the usual 16..128.
const std::vector<int64_t> kTileSizes = {1, 2, 3, 5, 16, 17, 32, 64, 100, 128};

int64_t randomStride(Rng &rng, int64_t maxStride) {
  if (rng.chance(60)) {
    int64_t s = rng.pick(kStrides);
    if (s <= maxStride)
      return s;
  }
  return rng.uniform(1, maxStride);
}

/// Lengths: small ones (including n = 1) often, otherwise up to maxN.
int64_t randomLength(Rng &rng, int64_t maxN) {
  if (rng.chance(15))
    return rng.uniform(1, std::min<int64_t>(8, maxN));
  return rng.uniform(1, maxN);
}

struct FactorCase {
  Factor factor;
  Pred ref;
  std::string desc;
};

/// A random factor whose strides are `stride` when that is positive (so a
/// pattern's factors can share one), or random up to `maxStride`.
FactorCase randomFactor(Rng &rng, int64_t stride, int64_t maxStride) {
  int64_t l = stride > 0 ? stride : randomStride(rng, maxStride);
  std::ostringstream os;
  switch (rng.uniform(0, 3)) {
  case 0: {
    int64_t w = rng.chance(10) ? kUnbounded : rng.uniform(1, 2 * maxStride);
    if (rng.chance(30))
      w = l + rng.uniform(0, 1); // The released-code and paper bands.
    os << "band(" << w << ")";
    return {Factor::band(w), refBand(w), os.str()};
  }
  case 1: {
    // Minimum distances: 0, multiples of l, and arbitrary ones.
    int64_t d0 = rng.chance(40)   ? 0
                 : rng.chance(50) ? l * rng.uniform(1, 3)
                                  : rng.uniform(1, 3 * l + 2);
    os << "column(" << l << ", " << d0 << ")";
    return {Factor::column(l, d0), refColumn(l, d0), os.str()};
  }
  case 2:
    os << "block(" << l << ")";
    return {Factor::block(l), refBlock(l), os.str()};
  default: {
    int64_t lo = rng.uniform(0, l - 1);
    int64_t hi = rng.uniform(lo + 1, l);
    bool earlierOnly = rng.chance(50);
    os << "summary(" << l << ", " << lo << ", " << hi
       << (earlierOnly ? ", earlierOnly" : "") << ")";
    return {Factor::summary(l, lo, hi, earlierOnly),
            refSummary(l, lo, hi, earlierOnly), os.str()};
  }
  }
}

struct PatternCase {
  Pattern pattern;
  Pred ref;
  std::string desc;
};

/// A union of 1-4 random factors; half of the time they share one stride (as
/// the named patterns do), otherwise strides are mixed.
PatternCase randomUnion(Rng &rng, int64_t maxStride) {
  int64_t numFactors = rng.uniform(1, 4);
  int64_t shared = rng.chance(50) ? randomStride(rng, maxStride) : 0;
  std::vector<Factor> factors;
  std::vector<Pred> refs;
  std::string desc = "union{";
  for (int64_t k = 0; k < numFactors; ++k) {
    FactorCase f = randomFactor(rng, shared, maxStride);
    factors.push_back(f.factor);
    refs.push_back(f.ref);
    desc += (k ? ", " : "") + f.desc;
  }
  return {Pattern(factors), refUnion(refs), desc + "}"};
}

/// A named pattern from the Layout factories, with its paper definition.
PatternCase randomNamed(Rng &rng, int64_t maxStride) {
  std::ostringstream os;
  switch (rng.uniform(0, 4)) {
  case 0:
    return {Layout::denseCausal().forHead(0), refDenseCausal(), "dense"};
  case 1: {
    int64_t w = rng.uniform(1, 2 * maxStride);
    os << "local(" << w << ")";
    return {Layout::local(w).forHead(0), refLocal(w), os.str()};
  }
  case 2: {
    int64_t l = randomStride(rng, maxStride);
    os << "strided(" << l << ")";
    return {Layout::strided(l).forHead(0), refStridedPaper(l), os.str()};
  }
  case 3: {
    int64_t l = randomStride(rng, maxStride);
    int64_t c = rng.uniform(1, l);
    os << "fixed(" << l << ", " << c << ")";
    return {Layout::fixed(l, c).forHead(0), refFixed(l, c), os.str()};
  }
  default: {
    int64_t l = randomStride(rng, maxStride);
    int64_t c = rng.uniform(1, l);
    int64_t h = rng.uniform(0, 9);
    os << "fixed(" << l << ", " << c << ", distinct).forHead(" << h << ")";
    return {Layout::fixed(l, c, true).forHead(h), refFixed(l, c, h), os.str()};
  }
  }
}

PatternCase randomPattern(Rng &rng, int64_t maxStride) {
  return rng.chance(70) ? randomUnion(rng, maxStride)
                        : randomNamed(rng, maxStride);
}

//===----------------------------------------------------------------------===//
// Shared checks (Factor and Pattern answer the same questions)
//===----------------------------------------------------------------------===//

/// contains and rowCount on the whole matrix, and nonzeros(m) against the
/// cumulative brute-force row counts. nonzeros of a multi-factor union is an
/// O(m) row sum, so asking it for every m <= n would make each case O(n^2)
/// library work; every m is checked up to 48, and beyond that m = 1, 2, 3,
/// n - 1, n and every (n / 8)-th length.
template <typename SetT>
::testing::AssertionResult countsMatch(const SetT &set, const Matrix &ref) {
  int64_t n = ref.size();
  int64_t step = std::max<int64_t>(1, n / 8);
  auto checkLength = [&](int64_t m) {
    return n <= 48 || m <= 3 || m >= n - 1 || m % step == 0;
  };
  int64_t cumulative = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j)
      if (set.contains(i, j) != ref.at(i, j))
        return ::testing::AssertionFailure()
               << "contains(" << i << ", " << j << ") = " << !ref.at(i, j);
    int64_t expected = ref.rowCount(i);
    if (set.rowCount(i) != expected)
      return ::testing::AssertionFailure()
             << "rowCount(" << i << ") = " << set.rowCount(i) << ", expected "
             << expected;
    cumulative += expected;
    if (checkLength(i + 1) && set.nonzeros(i + 1) != cumulative)
      return ::testing::AssertionFailure()
             << "nonzeros(" << i + 1 << ") = " << set.nonzeros(i + 1)
             << ", expected " << cumulative;
  }
  return ::testing::AssertionSuccess();
}

/// classify() on the aligned blockQ x blockK grid and on random unaligned
/// tiles (which may stick out of the matrix and straddle the diagonal).
template <typename SetT>
::testing::AssertionResult tilesMatch(const SetT &set, const Matrix &ref,
                                      int64_t blockQ, int64_t blockK,
                                      Rng &rng) {
  int64_t n = ref.size();
  auto check = [&](Tile t) -> ::testing::AssertionResult {
    TileClass expected = ref.classify(t), actual = set.classify(t, n);
    if (expected != actual)
      return ::testing::AssertionFailure()
             << "classify(" << str(t) << ", n = " << n << ") = " << name(actual)
             << ", expected " << name(expected);
    return ::testing::AssertionSuccess();
  };
  for (int64_t q0 = 0; q0 < n; q0 += blockQ)
    for (int64_t k0 = 0; k0 < n; k0 += blockK)
      if (auto r = check({q0, q0 + blockQ, k0, k0 + blockK}); !r)
        return r;
  for (int k = 0; k < 20; ++k) {
    int64_t q0 = rng.uniform(0, n - 1), k0 = rng.uniform(0, n - 1);
    Tile t{q0, q0 + rng.uniform(1, blockQ + 3), k0,
           k0 + rng.uniform(1, blockK + 3)};
    if (auto r = check(t); !r)
      return r;
  }
  return ::testing::AssertionSuccess();
}

/// Stops a randomized loop after a few failing cases, so that one bug does
/// not print thousands of near-identical traces.
bool tooManyFailures() {
  return ::testing::Test::HasFailure() && ::testing::UnitTest::GetInstance()
                                                  ->current_test_info()
                                                  ->result()
                                                  ->total_part_count() >= 5;
}

std::string caseTrace(const std::string &desc, int64_t n) {
  return desc + ", n = " + std::to_string(n);
}

//===----------------------------------------------------------------------===//
// Factors
//===----------------------------------------------------------------------===//

// Full-matrix comparison is O(n^2), so lengths stay <= 300 (strides up to
// 400 still exceed many lengths); 1500 cases keep this test near a second.
TEST(LayoutFactor, MembershipRowCountsAndNonzerosMatchDefinition) {
  Rng rng(0x5eed0001);
  for (int caseIdx = 0; caseIdx < 1500 && !tooManyFailures(); ++caseIdx) {
    int64_t n = randomLength(rng, 300);
    FactorCase f = randomFactor(rng, 0, 400);
    SCOPED_TRACE(caseTrace(f.desc, n));
    Matrix ref(f.ref, n);
    EXPECT_TRUE(countsMatch(f.factor, ref));
  }
}

TEST(LayoutFactor, RowSetDescribesExactlyTheRow) {
  Rng rng(0x5eed0002);
  for (int caseIdx = 0; caseIdx < 1500 && !tooManyFailures(); ++caseIdx) {
    int64_t n = randomLength(rng, 300);
    FactorCase f = randomFactor(rng, 0, 400);
    SCOPED_TRACE(caseTrace(f.desc, n));
    for (int k = 0; k < 8; ++k) {
      int64_t i = rng.uniform(0, n - 1);
      RowSet row = f.factor.row(i);
      int64_t count = 0;
      for (int64_t j = 0; j < n + 5; ++j) {
        bool expected = f.ref(i, j);
        count += expected;
        ASSERT_EQ(row.contains(j), expected) << "row " << i << ", j = " << j;
      }
      ASSERT_EQ(row.count(), count) << "row " << i;
    }
  }
}

TEST(LayoutFactor, ClassifyMatchesCellByCellTiles) {
  Rng rng(0x5eed0003);
  for (int caseIdx = 0; caseIdx < 1000 && !tooManyFailures(); ++caseIdx) {
    int64_t n = randomLength(rng, 300);
    FactorCase f = randomFactor(rng, 0, 400);
    Matrix ref(f.ref, n);
    for (int k = 0; k < 3; ++k) {
      int64_t blockQ = rng.pick(kTileSizes), blockK = rng.pick(kTileSizes);
      SCOPED_TRACE(caseTrace(f.desc, n) + ", tiles " + std::to_string(blockQ) +
                   "x" + std::to_string(blockK));
      EXPECT_TRUE(tilesMatch(f.factor, ref, blockQ, blockK, rng));
    }
  }
}

// Row sets are clipped to the causal range, so countIntersection is checked
// on its own with arbitrary intervals and circular residue windows.
TEST(LayoutRowSet, CountIntersectionMatchesEnumeration) {
  Rng rng(0x5eed0004);
  for (int caseIdx = 0; caseIdx < 3000 && !tooManyFailures(); ++caseIdx) {
    std::vector<RowSet> sets(rng.uniform(1, 3));
    std::ostringstream desc;
    for (RowSet &s : sets) {
      s.lo = rng.uniform(0, 200);
      s.hi = s.lo + rng.uniform(-3, 300);
      if (rng.chance(75)) {
        s.modulus = rng.uniform(1, 40);
        s.start = rng.uniform(0, s.modulus - 1);
        s.width = rng.uniform(0, s.modulus);
      }
      desc << "{[" << s.lo << ", " << s.hi << "] mod " << s.modulus << " start "
           << s.start << " width " << s.width << "} ";
    }
    SCOPED_TRACE(desc.str());
    auto inSet = [](const RowSet &s, int64_t j) {
      if (j < s.lo || j > s.hi)
        return false;
      if (s.modulus == 0)
        return true;
      // Residues start, start + 1, ..., start + width - 1 (mod modulus).
      for (int64_t r = 0; r < s.width; ++r)
        if (j % s.modulus == (s.start + r) % s.modulus)
          return true;
      return false;
    };
    int64_t expected = 0;
    for (int64_t j = 0; j <= 600; ++j) {
      bool all = true;
      for (const RowSet &s : sets)
        all = all && inSet(s, j);
      expected += all;
    }
    for (const RowSet &s : sets) {
      int64_t own = 0;
      for (int64_t j = 0; j <= 600; ++j) {
        ASSERT_EQ(s.contains(j), inSet(s, j)) << "j = " << j;
        own += inSet(s, j);
      }
      ASSERT_EQ(s.count(), own);
    }
    EXPECT_EQ(countIntersection(sets), expected);
  }
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

TEST(LayoutPattern, UnionMembershipRowCountsAndNonzerosMatchDefinition) {
  Rng rng(0x5eed0011);
  for (int caseIdx = 0; caseIdx < 1000 && !tooManyFailures(); ++caseIdx) {
    int64_t n = randomLength(rng, 300);
    PatternCase p = randomPattern(rng, 400);
    SCOPED_TRACE(caseTrace(p.desc, n));
    Matrix ref(p.ref, n);
    EXPECT_TRUE(countsMatch(p.pattern, ref));
  }
}

TEST(LayoutPattern, ClassifyMatchesCellByCellTiles) {
  Rng rng(0x5eed0012);
  for (int caseIdx = 0; caseIdx < 1000 && !tooManyFailures(); ++caseIdx) {
    int64_t n = randomLength(rng, 300);
    PatternCase p = randomPattern(rng, 400);
    Matrix ref(p.ref, n);
    for (int k = 0; k < 3; ++k) {
      int64_t blockQ = rng.pick(kTileSizes), blockK = rng.pick(kTileSizes);
      SCOPED_TRACE(caseTrace(p.desc, n) + ", tiles " + std::to_string(blockQ) +
                   "x" + std::to_string(blockK));
      EXPECT_TRUE(tilesMatch(p.pattern, ref, blockQ, blockK, rng));
    }
  }
}

TEST(LayoutPattern, CountTilesMatchesCellByCellGrid) {
  Rng rng(0x5eed0013);
  for (int caseIdx = 0; caseIdx < 800 && !tooManyFailures(); ++caseIdx) {
    int64_t n = randomLength(rng, 300);
    PatternCase p = randomPattern(rng, 400);
    Matrix ref(p.ref, n);
    for (int k = 0; k < 3; ++k) {
      int64_t blockQ = rng.pick(kTileSizes), blockK = rng.pick(kTileSizes);
      SCOPED_TRACE(caseTrace(p.desc, n) + ", tiles " + std::to_string(blockQ) +
                   "x" + std::to_string(blockK));
      TileCounts expected = ref.countTiles(blockQ, blockK);
      TileCounts actual = countTiles(p.pattern, n, blockQ, blockK);
      EXPECT_TRUE(actual == expected)
          << "countTiles = " << str(actual) << ", expected " << str(expected);
      // Every tile of the grid is counted, the upper triangle included.
      EXPECT_EQ(actual.total(),
                ((n + blockQ - 1) / blockQ) * ((n + blockK - 1) / blockK));
    }
  }
}

TEST(LayoutPattern, UniteIsSetUnion) {
  Rng rng(0x5eed0014);
  for (int caseIdx = 0; caseIdx < 500 && !tooManyFailures(); ++caseIdx) {
    int64_t n = randomLength(rng, 200);
    PatternCase a = randomPattern(rng, 250), b = randomPattern(rng, 250);
    SCOPED_TRACE(caseTrace(a.desc + " U " + b.desc, n));
    Matrix ref(refUnion({a.ref, b.ref}), n);
    EXPECT_TRUE(countsMatch(a.pattern.unite(b.pattern), ref));
    // Uniting with itself changes nothing.
    EXPECT_TRUE(countsMatch(b.pattern.unite(b.pattern), Matrix(b.ref, n)));
  }
}

TEST(LayoutPattern, DisjointPartsPartitionThePattern) {
  Rng rng(0x5eed0015);
  for (int caseIdx = 0; caseIdx < 1000 && !tooManyFailures(); ++caseIdx) {
    int64_t n = randomLength(rng, 200);
    PatternCase p = randomPattern(rng, 250);
    SCOPED_TRACE(caseTrace(p.desc, n));
    std::vector<Pattern::Part> parts = p.pattern.disjointParts();
    bool failed = false;
    for (int64_t i = 0; i < n && !failed; ++i)
      for (int64_t j = 0; j < n && !failed; ++j) {
        int64_t owners = 0;
        for (const Pattern::Part &part : parts) {
          if (!p.pattern.partContains(part, i, j))
            continue;
          ++owners;
          // A part only ever holds positions of its own factor.
          if (!part.factor.contains(i, j)) {
            ADD_FAILURE() << "part " << part.factor.str() << " holds (" << i
                          << ", " << j << ") outside its factor";
            failed = true;
          }
        }
        int64_t expected = p.ref(i, j) ? 1 : 0;
        if (owners != expected) {
          ADD_FAILURE() << "(" << i << ", " << j << ") is in " << owners
                        << " parts, expected " << expected;
          failed = true;
        }
      }
  }
}

TEST(LayoutPattern, EmptyPatternHasNoPositions) {
  Pattern empty;
  EXPECT_TRUE(empty.isEmpty());
  EXPECT_FALSE(empty.contains(5, 3));
  EXPECT_EQ(empty.rowCount(5), 0);
  EXPECT_EQ(empty.nonzeros(100), 0);
  EXPECT_EQ(empty.classify({0, 16, 0, 16}, 100), TileClass::Empty);
}

//===----------------------------------------------------------------------===//
// Named patterns
//===----------------------------------------------------------------------===//

// The header's claim: strided<l> built with the released code's band of l
// positions equals the paper's band of l + 1 positions once the column factor
// is added, because j = i - l is on the column. Checked for every l <= 70 on a
// matrix three strides long, plus the non-trivial part of the claim: the two
// bands alone do differ.
TEST(LayoutNamed, StridedBandOfLAndLPlusOneGiveSameUnion) {
  for (int64_t l = 1; l <= 70; ++l) {
    SCOPED_TRACE("l = " + std::to_string(l));
    int64_t n = 3 * l + 5;
    Matrix paper(refStridedPaper(l), n);
    Pattern released({Factor::band(l), Factor::column(l)});
    Pattern paperBands({Factor::band(l + 1), Factor::column(l)});
    EXPECT_TRUE(countsMatch(released, paper));
    EXPECT_TRUE(countsMatch(paperBands, paper));
    EXPECT_TRUE(countsMatch(Layout::strided(l).forHead(0), paper));
    EXPECT_NE(Factor::band(l).nonzeros(n), Factor::band(l + 1).nonzeros(n));
  }
}

TEST(LayoutNamed, NamedPatternsMatchPaperDefinitions) {
  Rng rng(0x5eed0021);
  for (int caseIdx = 0; caseIdx < 1000 && !tooManyFailures(); ++caseIdx) {
    int64_t n = randomLength(rng, 300);
    PatternCase p = randomNamed(rng, 400);
    SCOPED_TRACE(caseTrace(p.desc, n));
    EXPECT_TRUE(countsMatch(p.pattern, Matrix(p.ref, n)));
  }
}

// Head h of the distinct-summary form takes sub-block h mod (l / c) counted
// from the end of the block; l / c heads differ pairwise and then repeat.
// Includes c that does not divide l and c == l (one sub-block: dense).
TEST(LayoutNamed, FixedDistinctSummariesCycleOverHeads) {
  const std::vector<std::pair<int64_t, int64_t>> params = {
      {8, 2}, {8, 8}, {12, 3}, {16, 4}, {10, 3}, {7, 2}, {32, 8}, {128, 32}};
  for (auto [l, c] : params) {
    int64_t distinct = l / c;
    int64_t n = std::min<int64_t>(4 * l + 3, 300);
    SCOPED_TRACE("fixed(" + std::to_string(l) + ", " + std::to_string(c) +
                 ", distinct), n = " + std::to_string(n));
    Layout shared = Layout::fixed(l, c);
    Layout perHead = Layout::fixed(l, c, true);
    EXPECT_TRUE(shared.isHeadIndependent());
    EXPECT_EQ(perHead.getCycleLength(), distinct);
    std::vector<Matrix> heads;
    for (int64_t h = 0; h < distinct; ++h)
      heads.emplace_back(refFixed(l, c, h), n);
    for (int64_t h = 0; h < 3 * distinct + 1; ++h) {
      SCOPED_TRACE("head " + std::to_string(h));
      EXPECT_TRUE(countsMatch(perHead.forHead(h), heads[h % distinct]));
      EXPECT_TRUE(countsMatch(shared.forHead(h), heads[0]));
    }
    // Sub-blocks are disjoint column windows, so distinct heads differ at the
    // first row of the second block; this keeps the reference honest.
    for (int64_t a = 0; a < distinct; ++a)
      for (int64_t b = a + 1; b < distinct; ++b) {
        bool differ = false;
        for (int64_t i = 0; i < n && !differ; ++i)
          for (int64_t j = 0; j <= i && !differ; ++j)
            differ = heads[a].at(i, j) != heads[b].at(i, j);
        EXPECT_TRUE(differ) << "heads " << a << " and " << b;
      }
  }
}

//===----------------------------------------------------------------------===//
// Layouts (per-head assignment)
//===----------------------------------------------------------------------===//

/// A layout with its reference: the set each head attends to.
struct LayoutCase {
  Layout layout;
  std::function<Pred(int64_t)> ref;
  std::string desc;
};

LayoutCase randomBaseLayout(Rng &rng, int64_t maxStride) {
  std::ostringstream os;
  switch (rng.uniform(0, 4)) {
  case 0:
    return {Layout::denseCausal(), [](int64_t) { return refDenseCausal(); },
            "dense"};
  case 1: {
    int64_t w = rng.uniform(1, maxStride);
    os << "local(" << w << ")";
    return {Layout::local(w), [w](int64_t) { return refLocal(w); }, os.str()};
  }
  case 2: {
    int64_t l = randomStride(rng, maxStride);
    os << "strided(" << l << ")";
    return {Layout::strided(l), [l](int64_t) { return refStridedPaper(l); },
            os.str()};
  }
  case 3: {
    int64_t l = randomStride(rng, maxStride);
    int64_t c = rng.uniform(1, l);
    os << "fixed(" << l << ", " << c << ")";
    return {Layout::fixed(l, c), [l, c](int64_t) { return refFixed(l, c); },
            os.str()};
  }
  default: {
    // Small l / c so that cycles of lengths 1-6 all occur.
    int64_t c = rng.uniform(1, 6);
    int64_t l = c * rng.uniform(1, 6) + rng.uniform(0, c - 1);
    os << "fixed(" << l << ", " << c << ", distinct)";
    return {Layout::fixed(l, c, true),
            [l, c](int64_t h) { return refFixed(l, c, h); }, os.str()};
  }
  }
}

/// Base layouts combined by unite / perHead up to `depth` levels deep.
LayoutCase randomLayout(Rng &rng, int64_t maxStride, int depth) {
  if (depth == 0 || rng.chance(30))
    return randomBaseLayout(rng, maxStride);
  int64_t k = rng.uniform(1, 3);
  std::vector<LayoutCase> members;
  for (int64_t m = 0; m < k; ++m) {
    // Repeated members make cycles such as (A, B, A) that look periodic
    // with a period that does not divide their length.
    if (m > 0 && rng.chance(25))
      members.push_back(members[rng.uniform(0, m - 1)]);
    else
      members.push_back(randomLayout(rng, maxStride, depth - 1));
  }
  std::vector<Layout> layouts;
  std::string desc;
  for (const LayoutCase &m : members) {
    layouts.push_back(m.layout);
    desc += (desc.empty() ? "" : ", ") + m.desc;
  }
  if (rng.chance(50)) {
    auto ref = [members](int64_t h) {
      std::vector<Pred> preds;
      for (const LayoutCase &m : members)
        preds.push_back(m.ref(h));
      return refUnion(preds);
    };
    return {Layout::unite(layouts), ref, "unite(" + desc + ")"};
  }
  auto ref = [members](int64_t h) {
    return members[h % members.size()].ref(h);
  };
  return {Layout::perHead(layouts), ref, "perHead(" + desc + ")"};
}

// Member cycles of different lengths (1 for named patterns, l / c for
// distinct summaries, k times that for perHead) combine into longer cycles;
// 30 heads cover at least two periods of most draws, and forHead must match
// the definition for every one of them whatever the library's cycle is.
// Lengths stay <= 48 because nested unions carry many factors.
TEST(LayoutHeads, UniteAndPerHeadMatchDefinitionForEveryHead) {
  Rng rng(0x5eed0031);
  for (int caseIdx = 0; caseIdx < 200 && !tooManyFailures(); ++caseIdx) {
    int64_t n = randomLength(rng, 48);
    LayoutCase lc = randomLayout(rng, 40, 2);
    SCOPED_TRACE(caseTrace(lc.desc, n));
    int64_t cycle = lc.layout.getCycleLength();
    ASSERT_GE(cycle, 1);
    EXPECT_EQ(lc.layout.isHeadIndependent(), cycle == 1);
    int64_t expectedNonzeros = 0;
    TileCounts expectedTiles;
    int64_t blockQ = rng.pick(kTileSizes), blockK = rng.pick(kTileSizes);
    const int64_t numHeads = 30;
    for (int64_t h = 0; h < numHeads; ++h) {
      SCOPED_TRACE("head " + std::to_string(h));
      Matrix ref(lc.ref(h), n);
      const Pattern &pattern = lc.layout.forHead(h);
      ASSERT_TRUE(countsMatch(pattern, ref));
      // The reported cycle really is a period of the assignment (membership
      // only: union row counts are inclusion-exclusion over many factors and
      // dominate this test's time).
      const Pattern &later = lc.layout.forHead(h + cycle);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j)
          ASSERT_EQ(later.contains(i, j), ref.at(i, j))
              << "head " << h + cycle << " at (" << i << ", " << j << ")";
      for (int64_t i = 0; i < n; ++i)
        expectedNonzeros += ref.rowCount(i);
      TileCounts t = ref.countTiles(blockQ, blockK);
      expectedTiles.empty += t.empty;
      expectedTiles.full += t.full;
      expectedTiles.partial += t.partial;
    }
    EXPECT_EQ(lc.layout.nonzeros(n, numHeads), expectedNonzeros);
    double causal = static_cast<double>(n) * (n + 1) / 2;
    // Both sides are one division of exactly representable integers.
    EXPECT_DOUBLE_EQ(lc.layout.density(n, numHeads),
                     expectedNonzeros / (causal * numHeads));
    TileCounts actual = lc.layout.countTiles(n, numHeads, blockQ, blockK);
    EXPECT_TRUE(actual == expectedTiles)
        << "tiles " << blockQ << "x" << blockK << ": " << str(actual)
        << ", expected " << str(expectedTiles);
  }
}

// Hand-picked cycles of coprime lengths 2 and 3: unite has cycle 6, and
// perHead of (cycle 2, cycle 3) gives head h member h mod 2 at head h.
TEST(LayoutHeads, CoprimeMemberCyclesCombine) {
  Layout two = Layout::fixed(8, 4, true);   // l / c = 2
  Layout three = Layout::fixed(9, 3, true); // l / c = 3
  ASSERT_EQ(two.getCycleLength(), 2);
  ASSERT_EQ(three.getCycleLength(), 3);
  Layout united = Layout::unite({two, three});
  Layout perHead = Layout::perHead({two, three});
  Layout perHead3 = Layout::perHead({Layout::local(5), two, three});
  EXPECT_EQ(united.getCycleLength(), 6);
  const int64_t n = 60;
  for (int64_t h = 0; h < 24; ++h) {
    SCOPED_TRACE("head " + std::to_string(h));
    Matrix unionRef(refUnion({refFixed(8, 4, h), refFixed(9, 3, h)}), n);
    EXPECT_TRUE(countsMatch(united.forHead(h), unionRef));
    Matrix pickRef(h % 2 == 0 ? refFixed(8, 4, h) : refFixed(9, 3, h), n);
    EXPECT_TRUE(countsMatch(perHead.forHead(h), pickRef));
    Pred pick3 = h % 3 == 0   ? refLocal(5)
                 : h % 3 == 1 ? refFixed(8, 4, h)
                              : refFixed(9, 3, h);
    EXPECT_TRUE(countsMatch(perHead3.forHead(h), Matrix(pick3, n)));
  }
}

// perHead(A, B, A) has cycle (A, B, A): its first two heads repeat at head 2,
// but 2 does not divide 3, so head 3 is A again, not B.
TEST(LayoutHeads, PerHeadWithRepeatedMembersKeepsFullCycle) {
  Layout a = Layout::local(3), b = Layout::strided(4);
  Layout aba = Layout::perHead({a, b, a});
  Layout abab = Layout::perHead({a, b, a, b});
  EXPECT_EQ(aba.getCycleLength(), 3);
  // (A, B, A, B) genuinely repeats after two heads.
  EXPECT_EQ(abab.getCycleLength(), 2);
  const int64_t n = 40;
  Matrix refA(refLocal(3), n), refB(refStridedPaper(4), n);
  for (int64_t h = 0; h < 12; ++h) {
    SCOPED_TRACE("head " + std::to_string(h));
    EXPECT_TRUE(countsMatch(aba.forHead(h), h % 3 == 1 ? refB : refA));
    EXPECT_TRUE(countsMatch(abab.forHead(h), h % 2 == 1 ? refB : refA));
  }
  // Nonzeros of 4 heads: A, B, A, A.
  int64_t nzA = 0, nzB = 0;
  for (int64_t i = 0; i < n; ++i) {
    nzA += refA.rowCount(i);
    nzB += refB.rowCount(i);
  }
  EXPECT_EQ(aba.nonzeros(n, 4), 3 * nzA + nzB);
  EXPECT_EQ(abab.nonzeros(n, 4), 2 * nzA + 2 * nzB);
}

//===----------------------------------------------------------------------===//
// Long sequences
//===----------------------------------------------------------------------===//

// Lengths up to 4096 with strides up to 5000 (so n < stride still occurs).
// Full O(n^2) enumeration is affordable only for a few cases, so most cases
// compare sampled rows with the brute-force row count and check that
// nonzeros(n) is the sum of the library's own row counts (O(n)) and that
// nonzeros(n) - nonzeros(n - 1) is the brute-force count of row n - 1.
TEST(LayoutLong, RowCountsAndNonzerosMatchAtLengthsUpTo4096) {
  Rng rng(0x5eed0041);
  for (int caseIdx = 0; caseIdx < 200 && !tooManyFailures(); ++caseIdx) {
    int64_t n =
        rng.chance(30)
            ? rng.pick(std::vector<int64_t>{1024, 2047, 2048, 3000, 4095, 4096})
            : rng.uniform(1, 4096);
    PatternCase p = randomPattern(rng, 5000);
    SCOPED_TRACE(caseTrace(p.desc, n));
    std::vector<int64_t> rows = {0, n - 1, n / 2};
    for (int k = 0; k < 12; ++k)
      rows.push_back(rng.uniform(0, n - 1));
    for (int64_t i : rows) {
      int64_t expected = bruteRowCount(p.ref, i);
      ASSERT_EQ(p.pattern.rowCount(i), expected) << "row " << i;
      for (int m = 0; m < 4; ++m) {
        int64_t j = rng.uniform(0, n - 1);
        ASSERT_EQ(p.pattern.contains(i, j), p.ref(i, j))
            << "(" << i << ", " << j << ")";
      }
    }
    int64_t libraryRowSum = 0;
    for (int64_t i = 0; i < n; ++i)
      libraryRowSum += p.pattern.rowCount(i);
    int64_t nonzeros = p.pattern.nonzeros(n);
    EXPECT_EQ(nonzeros, libraryRowSum);
    int64_t previous = n > 1 ? p.pattern.nonzeros(n - 1) : 0;
    EXPECT_EQ(nonzeros - previous, bruteRowCount(p.ref, n - 1));
    // Every tenth case: the whole O(n^2) brute-force sum.
    if (caseIdx % 10 == 0) {
      int64_t expected = 0;
      for (int64_t i = 0; i < n; ++i)
        expected += bruteRowCount(p.ref, i);
      EXPECT_EQ(nonzeros, expected);
    }
  }
}

TEST(LayoutLong, FactorRowCountsAndNonzerosMatchAtLengthsUpTo4096) {
  Rng rng(0x5eed0042);
  for (int caseIdx = 0; caseIdx < 300 && !tooManyFailures(); ++caseIdx) {
    int64_t n = rng.uniform(1, 4096);
    FactorCase f = randomFactor(rng, 0, 5000);
    SCOPED_TRACE(caseTrace(f.desc, n));
    for (int k = 0; k < 12; ++k) {
      int64_t i = k == 0 ? n - 1 : rng.uniform(0, n - 1);
      int64_t expected = bruteRowCount(f.ref, i);
      ASSERT_EQ(f.factor.rowCount(i), expected) << "row " << i;
      ASSERT_EQ(f.factor.row(i).count(), expected) << "row " << i;
    }
    int64_t expected = 0;
    if (caseIdx % 5 == 0) {
      for (int64_t i = 0; i < n; ++i)
        expected += bruteRowCount(f.ref, i);
    } else {
      for (int64_t i = 0; i < n; ++i)
        expected += f.factor.rowCount(i);
    }
    EXPECT_EQ(f.factor.nonzeros(n), expected);
  }
}

// The closed form: fixed(128, 32) at n = 16384 has 128 blocks, each
// with its own lower triangle (128 * 129 / 2 each) plus 32 summary columns
// from every earlier block in every row.
TEST(LayoutLong, FixedNonzerosMatchClosedFormAt16384) {
  const int64_t ownBlocks = 128 * (128 * 129 / 2);
  const int64_t summaries = 128 * 32 * (127 * 128 / 2);
  ASSERT_EQ(ownBlocks, 1056768);
  ASSERT_EQ(summaries, 33292288);
  Layout fixed = Layout::fixed(128, 32);
  EXPECT_EQ(fixed.nonzeros(16384, 1), 34349056);
  EXPECT_EQ(fixed.nonzeros(16384, 1), ownBlocks + summaries);
  EXPECT_EQ(fixed.nonzeros(16384, 8), 8 * INT64_C(34349056));
  // Distinct summaries move the window, not its size.
  EXPECT_EQ(Layout::fixed(128, 32, true).nonzeros(16384, 4),
            4 * INT64_C(34349056));
}

/// Row counts written from the definitions, one row at a time:
/// strided<l>: the band (i - l, i] holds min(i + 1, l) columns and the column
/// adds j = i - k l for k >= 1, j >= 0 (floor(i / l) of them, none in the
/// band). fixed<l, c>: the own block holds (i mod l) + 1 columns, and each of
/// the floor(i / l) earlier blocks adds its c summary columns; summary columns
/// of the own block with j <= i are already in it.
int64_t stridedRow(int64_t l, int64_t i) { return std::min(i + 1, l) + i / l; }
int64_t fixedRow(int64_t l, int64_t c, int64_t i) {
  return i % l + 1 + (i / l) * c;
}

TEST(LayoutLong, PerRowClosedFormsMatchBruteForce) {
  // Guards the closed forms the next test relies on; n = 1500 makes the
  // O(n^2) enumeration cheap while covering several blocks of every stride.
  const int64_t n = 1500;
  for (int64_t l : {1, 7, 64, 100, 1024}) {
    Pred strided = refStridedPaper(l);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(stridedRow(l, i), bruteRowCount(strided, i))
          << "strided(" << l << ") row " << i;
  }
  for (auto [l, c] : std::vector<std::pair<int64_t, int64_t>>{
           {128, 32}, {16, 1}, {100, 30}, {7, 7}}) {
    Pred fixed = refFixed(l, c);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(fixedRow(l, c, i), bruteRowCount(fixed, i))
          << "fixed(" << l << ", " << c << ") row " << i;
  }
}

// n = 2^20 is far beyond any O(n^2) enumeration (5.5e11 positions), so the
// library must use its closed forms. The reference is the O(n) sum of the
// per-row counts above. The 5 s bound is ~1000x what O(1) needs and still
// orders of magnitude below a quadratic scan, so slow CI cannot flake it.
TEST(LayoutLong, NonzerosAtOneMillionAreExactAndFast) {
  const int64_t n = INT64_C(1) << 20;
  int64_t stridedExpected = 0, fixedExpected = 0;
  for (int64_t i = 0; i < n; ++i) {
    stridedExpected += stridedRow(1024, i);
    fixedExpected += fixedRow(128, 32, i);
  }
  auto start = std::chrono::steady_clock::now();
  int64_t stridedActual = Layout::strided(1024).nonzeros(n, 1);
  int64_t fixedActual = Layout::fixed(128, 32).nonzeros(n, 1);
  int64_t fixedDistinct = Layout::fixed(128, 32, true).nonzeros(n, 4);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_EQ(stridedActual, stridedExpected);
  EXPECT_EQ(fixedActual, fixedExpected);
  EXPECT_EQ(fixedDistinct, 4 * fixedExpected);
  EXPECT_LT(seconds, 5.0);
  double causal = static_cast<double>(n) * (n + 1) / 2;
  EXPECT_DOUBLE_EQ(Layout::strided(1024).density(n, 1),
                   stridedExpected / causal);
  EXPECT_DOUBLE_EQ(Layout::fixed(128, 32).density(n, 1),
                   fixedExpected / causal);
}

} // namespace
