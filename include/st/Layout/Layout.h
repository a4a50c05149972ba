//===- Layout.h - Sparse attention pattern math (no IR) ---------*- C++ -*-===//
//
// The pure C++ model of the Sparse Transformer's factorized attention
// patterns (Child et al. 2019). Every answer the compiler needs about a
// pattern -- membership, per-row counts, total nonzeros, tile classes, the
// decomposition into factors -- comes from here, in closed form; the `st`
// dialect's layout attributes are a thin facade over these classes.
//
// Vocabulary:
//  - A *Factor* is one structured index set over query row i and key column j
//    with 0 <= j <= i (causality always holds). Four kinds exist; each row of
//    each kind is an interval of columns, optionally thinned by one residue
//    window modulo a period (see RowSet).
//  - A *Pattern* is what one attention head attends to: the union of factors.
//  - A *Layout* assigns a pattern to every head: head h gets pattern
//    `cycle[h mod cycle.size()]`. Head-independent layouts have a cycle of 1.
//
// Index sets (paper notation, l = stride, c = summary width):
//  - Band(w):            0 <= i - j < w (w = kUnbounded: dense causal)
//  - Column(l, d0):      (i - j) mod l == 0 and i - j >= d0
//  - Block(l):           floor(j / l) == floor(i / l), j <= i
//  - Summary(l, lo, hi): j mod l in [lo, hi), j <= i; with `earlierOnly`,
//                        additionally floor(j / l) < floor(i / l)
// Named patterns:
//  - dense causal = Band(kUnbounded)
//  - local<W>     = Band(W) (the previous W positions including i)
//  - strided<l>   = Band(l) U Column(l, 0). We use the released code's band of
//    l positions; the paper's band of l + 1 gives the same union because
//    j = i - l is in the column factor.
//  - fixed<l, c>  = Block(l) U Summary(l, l - c, l); with distinct summaries
//    per head, head h uses Summary(l, l - (h' + 1) c, l - h' c) where
//    h' = h mod (l / c).
//
//===----------------------------------------------------------------------===//

#ifndef ST_LAYOUT_LAYOUT_H
#define ST_LAYOUT_LAYOUT_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace st {
namespace layout {

/// A width that exceeds every sequence length: Band(kUnbounded) is dense
/// causal attention.
constexpr int64_t kUnbounded = INT64_C(1) << 62;

/// Columns of one row of a factor: j in [lo, hi] (inclusive; empty when
/// hi < lo) and, when `modulus` > 0, (j mod modulus) in the circular window
/// of `width` residues starting at `start`.
struct RowSet {
  int64_t lo = 0;
  int64_t hi = -1;
  int64_t modulus = 0;
  int64_t start = 0;
  int64_t width = 0;

  bool contains(int64_t j) const;
  int64_t count() const;
};

/// Number of j in [lo, hi] that satisfy every row set's residue window and
/// lie in every row set's interval, i.e. |intersection of `sets`|.
int64_t countIntersection(const std::vector<RowSet> &sets);

enum class FactorKind : uint8_t { Band, Column, Block, Summary };

/// How a (block_q x block_k) tile of the attention matrix relates to a set.
enum class TileClass : uint8_t { Empty, Full, Partial };

/// A rectangle [q0, q1) x [k0, k1) of the attention matrix.
struct Tile {
  int64_t q0, q1, k0, k1;
};

/// One structured factor; see the file comment for the index sets.
class Factor {
public:
  static Factor band(int64_t width);
  static Factor denseCausal() { return band(kUnbounded); }
  static Factor column(int64_t stride, int64_t minDistance = 0);
  static Factor block(int64_t size);
  static Factor summary(int64_t stride, int64_t lo, int64_t hi,
                        bool earlierOnly = false);

  FactorKind getKind() const { return kind; }
  /// Band: width; Column: stride; Block: block size; Summary: stride.
  int64_t getPeriod() const { return period; }
  /// Column: minimum distance i - j.
  int64_t getMinDistance() const { return lo; }
  /// Summary: the window [lo, hi) of columns inside every block.
  int64_t getLo() const { return lo; }
  int64_t getHi() const { return hi; }
  bool isEarlierOnly() const { return earlierOnly; }
  bool isDenseCausal() const {
    return kind == FactorKind::Band && period >= kUnbounded;
  }

  bool contains(int64_t i, int64_t j) const;
  /// The columns of row i, as an interval plus residue window.
  RowSet row(int64_t i) const;
  /// |{j : (i, j) in factor}|, O(1).
  int64_t rowCount(int64_t i) const;
  /// |{(i, j) in factor : 0 <= j <= i < n}|, O(1).
  int64_t nonzeros(int64_t n) const;
  /// Class of the tile, clipped to an n x n matrix; O(1).
  TileClass classify(Tile tile, int64_t n) const;

  /// Human-readable form, e.g. "band(128)".
  std::string str() const;

  bool operator==(const Factor &other) const;
  bool operator!=(const Factor &other) const { return !(*this == other); }

private:
  Factor(FactorKind kind, int64_t period, int64_t lo, int64_t hi,
         bool earlierOnly)
      : kind(kind), period(period), lo(lo), hi(hi), earlierOnly(earlierOnly) {}

  FactorKind kind;
  int64_t period;
  int64_t lo;
  int64_t hi;
  bool earlierOnly;
};

/// What one head attends to: the union of its factors.
class Pattern {
public:
  Pattern() = default;
  explicit Pattern(std::vector<Factor> factors);

  const std::vector<Factor> &getFactors() const { return factors; }
  bool isEmpty() const { return factors.empty(); }

  bool contains(int64_t i, int64_t j) const;
  /// |union of the factors' rows| by inclusion-exclusion over the factors.
  int64_t rowCount(int64_t i) const;
  /// Total nonzeros of an n x n causal matrix. O(1) for one factor and for
  /// the named patterns (strided, fixed); O(n) row sums otherwise.
  int64_t nonzeros(int64_t n) const;
  /// Class of the tile: O(1) unless two or more factors are partial in it,
  /// where the tile's rows are counted exactly.
  TileClass classify(Tile tile, int64_t n) const;

  /// The union of this pattern and `other` (duplicate factors dropped).
  Pattern unite(const Pattern &other) const;

  /// Parts whose union is the pattern and which share no (i, j): part k is
  /// factor k minus every earlier factor. Parts that a cheaper structural
  /// rule makes disjoint say so in `exclusionFree`; others must be masked
  /// against `excluded` when evaluated.
  struct Part {
    Factor factor;
    /// Factors whose positions this part must skip (earlier parts that
    /// may overlap it).
    std::vector<Factor> excluded;
  };
  std::vector<Part> disjointParts() const;
  bool partContains(const Part &part, int64_t i, int64_t j) const;

  std::string str() const;
  bool operator==(const Pattern &other) const {
    return factors == other.factors;
  }

private:
  std::vector<Factor> factors;
};

/// Per-layout statistics for one sequence length and head count.
struct TileCounts {
  int64_t empty = 0;
  int64_t full = 0;
  int64_t partial = 0;
  int64_t total() const { return empty + full + partial; }
};

/// Assignment of patterns to heads: head h gets `cycle[h mod cycle.size()]`.
class Layout {
public:
  Layout() = default;
  explicit Layout(std::vector<Pattern> cycle);

  static Layout denseCausal();
  static Layout local(int64_t window);
  static Layout strided(int64_t stride);
  /// `distinctSummaries`: head h uses summary sub-block h mod (stride/summary)
  /// counted from the end of each block (the paper's multi-head variant).
  static Layout fixed(int64_t stride, int64_t summary,
                      bool distinctSummaries = false);
  /// Head h attends to the union of every member's pattern for head h.
  static Layout unite(const std::vector<Layout> &members);
  /// Head h gets member (h mod k)'s pattern for head h.
  static Layout perHead(const std::vector<Layout> &members);

  /// Number of distinct head positions before the assignment repeats.
  int64_t getCycleLength() const { return cycle.size(); }
  const Pattern &forHead(int64_t head) const;
  bool isHeadIndependent() const { return cycle.size() == 1; }

  /// Sums over heads 0..numHeads-1 for length n.
  int64_t nonzeros(int64_t n, int64_t numHeads) const;
  TileCounts countTiles(int64_t n, int64_t numHeads, int64_t blockQ,
                        int64_t blockK) const;
  /// Fraction of the n(n+1)/2 causal positions that are attended, averaged
  /// over heads.
  double density(int64_t n, int64_t numHeads) const;

  std::string str() const;

private:
  std::vector<Pattern> cycle;
};

/// Per-head tile counts of a pattern over an n x n matrix. Cost is one O(1)
/// classification per tile of the causal lower triangle.
TileCounts countTiles(const Pattern &pattern, int64_t n, int64_t blockQ,
                      int64_t blockK);

} // namespace layout
} // namespace st

#endif // ST_LAYOUT_LAYOUT_H
