// LeakMatcher: an Aho-Corasick automaton that finds many byte patterns in one pass over a stream.
// It is the search behind SecretMatcher (secret_matcher.h), which the redactor and the builder's
// leak guard share.
//
// Build() turns the patterns into a trie with failure links. When the transition table fits in
// `dense_budget_bytes`, it is expanded to a full DFA over byte classes (each byte that occurs in
// some pattern is its own class, every other byte shares class 0), so Feed() costs one table
// load per input byte; otherwise Feed() walks the sparse trie (children sorted by byte, a direct
// 256-entry row for the root) and its failure links. A dense walk over a long input (>= 1 KiB)
// runs its two halves interleaved in one loop, which hides the latency of the table loads (the
// second half starts one longest-pattern length early so its state is exact where it takes
// over). Either way the automaton's state is a
// single integer, so a caller can split the input anywhere (read chunks, tar blocks) and still
// find matches that straddle the split.
//
// Every table -- they spell out the patterns, which are secrets -- is a LeakSecureArray (a
// SecretBuffer: sodium_malloc'd, wiped on destruction) and is sealed read-only once built. The
// pattern bytes themselves are only borrowed during Build().
//
// Thread-safety: a built matcher is immutable; Feed() may run on any number of threads at once
// (the caller owns the State).
#ifndef LATCHKEY_SECURE_LEAK_MATCHER_H_
#define LATCHKEY_SECURE_LEAK_MATCHER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "latchkey/status.h"
#include "secure/leak_secure_array.h"

namespace latchkey {

class LeakMatcher {
 public:
  // The automaton's position in a stream. Start every independent stream at kStart.
  using State = uint32_t;
  static constexpr State kStart = 0;
  // Default cap on the dense DFA table (states x byte classes x 4 bytes).
  static constexpr size_t kDefaultDenseBudget = size_t{32} << 20;

  LeakMatcher() = default;
  LeakMatcher(LeakMatcher&&) = default;
  LeakMatcher& operator=(LeakMatcher&&) = default;

  // Builds the automaton. Pattern i is reported as index i; patterns may repeat (each is
  // reported). The bytes are read only during the call. INVALID_ARGUMENT for an empty pattern
  // or more than 2^31 pattern bytes in total; RESOURCE_EXHAUSTED when secure memory runs out.
  static Result<LeakMatcher> Build(const std::vector<std::span<const uint8_t>>& patterns,
                                   size_t dense_budget_bytes = kDefaultDenseBudget);

  // Runs `data` through the automaton from `state` and returns the state after it. For every
  // occurrence of a pattern that ends inside `data`, calls on_match(pattern index, end) where
  // `end` is the offset in `data` just past the occurrence (an occurrence that began in an
  // earlier Feed has end < pattern_length). Occurrences are reported in order of `end`.
  template <typename OnMatch>
  State Feed(State state, std::span<const uint8_t> data, OnMatch&& on_match) const;

  size_t pattern_count() const { return pattern_length_.size(); }
  size_t pattern_length(size_t i) const { return pattern_length_[i]; }
  // The longest pattern; 0 when there are none.
  size_t max_pattern_length() const { return max_length_; }
  // Trie nodes, the root included.
  size_t state_count() const { return states_; }
  // True when Feed uses the full DFA table.
  bool dense() const { return dense_; }
  // Byte classes of the dense table (0 in sparse mode).
  size_t class_count() const { return dense_ ? classes_k_ : 0; }

 private:
  // Inputs at least this long (and 4 patterns long) are walked as two interleaved halves.
  static constexpr size_t kSplitMinimum = 1024;

  template <typename OnMatch>
  void Emit(uint32_t node, size_t end, OnMatch& on_match) const;
  template <typename OnMatch>
  State FeedDense(State state, const uint8_t* p, size_t n, OnMatch& on_match) const;
  template <typename OnMatch>
  State FeedDenseSplit(State state, const uint8_t* p, size_t n, OnMatch& on_match) const;
  uint32_t Child(uint32_t node, uint8_t byte) const;

  size_t states_ = 0;
  size_t max_length_ = 0;
  bool dense_ = false;
  uint32_t classes_k_ = 0;
  std::vector<uint32_t> pattern_length_;  // lengths are not secret
  // Outputs, both modes. own_[n]: 1 + the first pattern ending exactly at node n, 0 for none;
  // next_same_[p]: 1 + the next pattern with the same bytes as p, 0 for none; dict_[n]: the
  // nearest proper-suffix node with an own output, 0 for none (the root never has one).
  LeakSecureArray<uint32_t> own_, next_same_, dict_;
  // Dense mode: table_[node * K + class] = next node * K, bit-inverted (negative) when the next
  // node has an output; State is node * K.
  LeakSecureArray<uint16_t> classes_;
  LeakSecureArray<int32_t> table_;
  // Sparse mode: State is the node. Nodes are numbered breadth-first, so the children of n are
  // first_child_[n] .. first_child_[n] + child_count_[n] - 1, sorted by edge_byte_ (the byte on
  // the edge into a node).
  LeakSecureArray<uint32_t> root_row_, first_child_, fail_;
  LeakSecureArray<uint16_t> child_count_;
  LeakSecureArray<uint8_t> edge_byte_, has_output_;
};

template <typename OnMatch>
void LeakMatcher::Emit(uint32_t node, size_t end, OnMatch& on_match) const {
  const uint32_t* own = own_.data();
  const uint32_t* dict = dict_.data();
  const uint32_t* next_same = next_same_.data();
  for (uint32_t n = own[node] != 0 ? node : dict[node]; n != 0; n = dict[n]) {
    for (uint32_t p = own[n]; p != 0; p = next_same[p - 1]) on_match(size_t{p - 1}, end);
  }
}

inline uint32_t LeakMatcher::Child(uint32_t node, uint8_t byte) const {
  uint32_t first = first_child_.data()[node];
  uint32_t last = first + child_count_.data()[node];
  const uint8_t* edge = edge_byte_.data();
  for (uint32_t c = first; c < last; ++c) {
    if (edge[c] == byte) return c;
    if (edge[c] > byte) break;
  }
  return 0;
}

template <typename OnMatch>
LeakMatcher::State LeakMatcher::FeedDense(State state, const uint8_t* p, size_t n,
                                          OnMatch& on_match) const {
  const int32_t* table = table_.data();
  const uint16_t* cls = classes_.data();
  int32_t s = static_cast<int32_t>(state);
  for (size_t i = 0; i < n; ++i) {
    int32_t next = table[s + cls[p[i]]];
    if (next >= 0) {
      s = next;
      continue;
    }
    s = ~next;
    Emit(static_cast<uint32_t>(s) / classes_k_, i + 1, on_match);
  }
  return static_cast<State>(s);
}

// One DFA step is a chain of dependent loads, so a long input is cut in two halves walked in
// the same loop: A = [0, h) from `state`, B = [h - L, n) from the start state (L = the longest
// pattern). After L bytes B's state is exact (a state never remembers more than L bytes), so B
// reports the matches ending after h and A those ending at or before h; B's matches found
// while A still runs are held back so that the caller still sees them in order of end.
template <typename OnMatch>
LeakMatcher::State LeakMatcher::FeedDenseSplit(State state, const uint8_t* p, size_t n,
                                               OnMatch& on_match) const {
  const int32_t* table = table_.data();
  const uint16_t* cls = classes_.data();
  const size_t h = n / 2;
  const size_t b0 = h - max_length_;
  const uint8_t* pb = p + b0;
  int32_t sa = static_cast<int32_t>(state);
  int32_t sb = 0;
  std::vector<std::pair<size_t, uint32_t>> held;  // (end, node) of B's early matches
  size_t i = 0;
  for (; i < h; ++i) {
    int32_t na = table[sa + cls[p[i]]];
    int32_t nb = table[sb + cls[pb[i]]];
    sa = na;
    sb = nb;
    if ((na | nb) >= 0) continue;
    if (na < 0) {
      sa = ~na;
      Emit(static_cast<uint32_t>(sa) / classes_k_, i + 1, on_match);
    }
    if (nb < 0) {
      sb = ~nb;
      if (b0 + i + 1 > h) held.emplace_back(b0 + i + 1, static_cast<uint32_t>(sb) / classes_k_);
    }
  }
  for (const auto& [end, node] : held) Emit(node, end, on_match);
  for (; b0 + i < n; ++i) {
    int32_t nb = table[sb + cls[pb[i]]];
    if (nb >= 0) {
      sb = nb;
      continue;
    }
    sb = ~nb;
    if (b0 + i + 1 > h) Emit(static_cast<uint32_t>(sb) / classes_k_, b0 + i + 1, on_match);
  }
  return static_cast<State>(sb);
}

template <typename OnMatch>
LeakMatcher::State LeakMatcher::Feed(State state, std::span<const uint8_t> data,
                                     OnMatch&& on_match) const {
  if (states_ == 0) return state;
  const uint8_t* p = data.data();
  const size_t n = data.size();
  if (dense_) {
    if (n >= kSplitMinimum && n >= 4 * max_length_) return FeedDenseSplit(state, p, n, on_match);
    return FeedDense(state, p, n, on_match);
  }
  const uint32_t* root = root_row_.data();
  const uint32_t* fail = fail_.data();
  const uint8_t* has_output = has_output_.data();
  uint32_t s = state;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t b = p[i];
    for (;;) {
      if (s == 0) {
        s = root[b];
        break;
      }
      uint32_t c = Child(s, b);
      if (c != 0) {
        s = c;
        break;
      }
      s = fail[s];
    }
    if (has_output[s]) Emit(s, i + 1, on_match);
  }
  return s;
}

}  // namespace latchkey

#endif  // LATCHKEY_SECURE_LEAK_MATCHER_H_
