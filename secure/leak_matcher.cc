#include "secure/leak_matcher.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

namespace latchkey {

Result<LeakMatcher> LeakMatcher::Build(const std::vector<std::span<const uint8_t>>& patterns,
                                       size_t dense_budget_bytes) {
  LeakMatcher m;
  size_t total = 0;
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (patterns[i].empty()) {
      return InvalidArgumentError("leak matcher: pattern " + std::to_string(i) + " is empty");
    }
    total += patterns[i].size();
    m.max_length_ = std::max(m.max_length_, patterns[i].size());
  }
  if (total >= (size_t{1} << 31) || patterns.size() >= (size_t{1} << 31)) {
    return InvalidArgumentError("leak matcher: " + std::to_string(total) +
                                " pattern bytes are more than the 2^31 supported");
  }
  for (const auto& p : patterns) m.pattern_length_.push_back(static_cast<uint32_t>(p.size()));
  const size_t cap = total + 1;

  // 1. A trie with sorted first-child/next-sibling lists (node 0 is the root; 0 also means
  //    "none" in child and sibling links, since the root is nobody's child).
  LK_ASSIGN_OR_RETURN(auto t_child, LeakSecureArray<uint32_t>::Allocate(cap));
  LK_ASSIGN_OR_RETURN(auto t_sibling, LeakSecureArray<uint32_t>::Allocate(cap));
  LK_ASSIGN_OR_RETURN(auto t_byte, LeakSecureArray<uint8_t>::Allocate(cap));
  LK_ASSIGN_OR_RETURN(auto t_own, LeakSecureArray<uint32_t>::Allocate(cap));
  LK_ASSIGN_OR_RETURN(m.next_same_, LeakSecureArray<uint32_t>::Allocate(patterns.size()));
  uint32_t* child = t_child.mutable_data();
  uint32_t* sibling = t_sibling.mutable_data();
  uint8_t* byte = t_byte.mutable_data();
  uint32_t* own = t_own.mutable_data();
  uint32_t* next_same = m.next_same_.mutable_data();
  uint32_t nodes = 1;
  for (size_t i = 0; i < patterns.size(); ++i) {
    uint32_t n = 0;
    for (uint8_t b : patterns[i]) {
      uint32_t* link = &child[n];  // the link to rewrite when inserting before *link
      while (*link != 0 && byte[*link] < b) link = &sibling[*link];
      if (*link == 0 || byte[*link] != b) {
        uint32_t fresh = nodes++;
        byte[fresh] = b;
        sibling[fresh] = *link;
        *link = fresh;
      }
      n = *link;
    }
    next_same[i] = own[n];
    own[n] = static_cast<uint32_t>(i + 1);
  }
  m.states_ = nodes;

  // 2. Renumber breadth-first so that each node's children are consecutive.
  LK_ASSIGN_OR_RETURN(auto order, LeakSecureArray<uint32_t>::Allocate(nodes));
  LK_ASSIGN_OR_RETURN(m.first_child_, LeakSecureArray<uint32_t>::Allocate(nodes));
  LK_ASSIGN_OR_RETURN(m.child_count_, LeakSecureArray<uint16_t>::Allocate(nodes));
  LK_ASSIGN_OR_RETURN(m.edge_byte_, LeakSecureArray<uint8_t>::Allocate(nodes));
  LK_ASSIGN_OR_RETURN(m.own_, LeakSecureArray<uint32_t>::Allocate(nodes));
  uint32_t* ord = order.mutable_data();
  uint32_t* first_child = m.first_child_.mutable_data();
  uint16_t* child_count = m.child_count_.mutable_data();
  uint8_t* edge = m.edge_byte_.mutable_data();
  uint32_t* node_own = m.own_.mutable_data();
  ord[0] = 0;
  uint32_t tail = 1;
  for (uint32_t n = 0; n < nodes; ++n) {
    const uint32_t old = ord[n];
    node_own[n] = own[old];
    first_child[n] = tail;
    uint16_t count = 0;
    for (uint32_t c = child[old]; c != 0; c = sibling[c]) {
      edge[tail] = byte[c];
      ord[tail++] = c;
      ++count;
    }
    child_count[n] = count;
  }
  // The temporary trie is wiped as soon as it goes out of scope below.
  t_child = {};
  t_sibling = {};
  t_byte = {};
  t_own = {};
  order = {};

  // 3. Failure and output links, breadth-first (a node's failure target is shallower).
  LK_ASSIGN_OR_RETURN(m.root_row_, LeakSecureArray<uint32_t>::Allocate(256));
  LK_ASSIGN_OR_RETURN(m.fail_, LeakSecureArray<uint32_t>::Allocate(nodes));
  LK_ASSIGN_OR_RETURN(m.dict_, LeakSecureArray<uint32_t>::Allocate(nodes));
  LK_ASSIGN_OR_RETURN(m.has_output_, LeakSecureArray<uint8_t>::Allocate(nodes));
  uint32_t* root = m.root_row_.mutable_data();
  uint32_t* fail = m.fail_.mutable_data();
  uint32_t* dict = m.dict_.mutable_data();
  uint8_t* has_output = m.has_output_.mutable_data();
  for (uint32_t c = first_child[0]; c < first_child[0] + child_count[0]; ++c) root[edge[c]] = c;
  for (uint32_t n = 0; n < nodes; ++n) {
    for (uint32_t c = first_child[n]; c < first_child[n] + child_count[n]; ++c) {
      uint32_t target = 0;
      if (n != 0) {
        for (uint32_t f = fail[n];; f = fail[f]) {
          target = f == 0 ? root[edge[c]] : m.Child(f, edge[c]);
          if (target != 0 || f == 0) break;
        }
      }
      fail[c] = target;
      dict[c] = node_own[target] != 0 ? target : dict[target];
    }
    has_output[n] = node_own[n] != 0 || dict[n] != 0;
  }

  // 4. The dense DFA over byte classes, when it fits.
  LK_ASSIGN_OR_RETURN(m.classes_, LeakSecureArray<uint16_t>::Allocate(256));
  uint16_t* cls = m.classes_.mutable_data();
  bool present[256] = {};
  for (uint32_t n = 1; n < nodes; ++n) present[edge[n]] = true;
  uint32_t distinct = 0;
  for (bool p : present) distinct += p ? 1 : 0;
  const uint32_t k = distinct + (distinct < 256 ? 1 : 0);
  uint16_t next_class = distinct < 256 ? 1 : 0;
  for (int b = 0; b < 256; ++b) cls[b] = present[b] ? next_class++ : 0;
  sodium_memzero(present, sizeof present);
  const size_t entries = size_t{nodes} * k;
  if (entries * sizeof(int32_t) <= dense_budget_bytes &&
      entries < size_t{std::numeric_limits<int32_t>::max()}) {
    LK_ASSIGN_OR_RETURN(m.table_, LeakSecureArray<int32_t>::Allocate(entries));
    int32_t* table = m.table_.mutable_data();
    auto encode = [&](uint32_t target) {
      int32_t v = static_cast<int32_t>(target * k);
      return has_output[target] ? ~v : v;
    };
    // Row n starts as its failure node's row (already final: fail[n] < n), then the node's own
    // children override it. The root's row is all zeros (stay at the root) plus its children.
    for (uint32_t n = 0; n < nodes; ++n) {
      int32_t* row = table + size_t{n} * k;
      if (n != 0) std::memcpy(row, table + size_t{fail[n]} * k, k * sizeof(int32_t));
      for (uint32_t c = first_child[n]; c < first_child[n] + child_count[n]; ++c) {
        row[cls[edge[c]]] = encode(c);
      }
    }
    m.dense_ = true;
    m.classes_k_ = k;
    m.table_.Seal();
    m.classes_.Seal();
    // The sparse tables are not used in dense mode.
    m.root_row_ = {};
    m.first_child_ = {};
    m.fail_ = {};
    m.child_count_ = {};
    m.edge_byte_ = {};
    m.has_output_ = {};
  } else {
    m.classes_ = {};
    m.root_row_.Seal();
    m.first_child_.Seal();
    m.fail_.Seal();
    m.child_count_.Seal();
    m.edge_byte_.Seal();
    m.has_output_.Seal();
  }
  m.own_.Seal();
  m.dict_.Seal();
  m.next_same_.Seal();
  return m;
}

}  // namespace latchkey
