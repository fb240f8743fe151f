#include "builder/frontend/dump.h"

#include "base/go_text.h"
#include "builder/frontend/shell_lex.h"

namespace latchkey::frontend {

std::string DumpNode(const Node& node) {
  std::string out = node.value;
  if (!node.flags.empty()) {
    out += " [";
    for (size_t i = 0; i < node.flags.size(); ++i) {
      if (i > 0) out += ' ';
      out += base::GoQuote(node.flags[i]);
    }
    out += ']';
  }
  for (const Node& nested : node.nested) out += " (" + DumpNode(nested) + ")";
  for (const std::string& arg : node.args) {
    out += ' ';
    out += base::GoQuote(arg);
  }
  return out;
}

std::string Dump(const ParseResult& result) {
  std::string out;
  for (const Node& n : result.children) {
    out += '(';
    out += DumpNode(n);
    out += ")\n";
  }
  return out;
}

}  // namespace latchkey::frontend
