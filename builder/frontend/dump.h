// Dump: the parse tree in the format of BuildKit's parser test "result" files (Node.Dump):
// one line per instruction, e.g.
//   (from "ubuntu")
//   (run ["--mount=type=secret,id=x"] "cat /run/secrets/x")
//   (env "name" "\"value value1\"" "=")
//   (onbuild (run "echo" "test"))
//   (healthcheck ["--interval=5s"] "CMD" "/check.sh --quiet")
// Strings are quoted as Go's strconv.Quote does (base::GoQuote, base/go_text.h).
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_FRONTEND_DUMP_H_
#define LATCHKEY_BUILDER_FRONTEND_DUMP_H_

#include <string>

#include "builder/frontend/parser.h"

namespace latchkey::frontend {

// One instruction without the surrounding parentheses: `run "echo hi"`.
std::string DumpNode(const Node& node);

// The whole file: "(" + DumpNode + ")\n" for every instruction.
std::string Dump(const ParseResult& result);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_DUMP_H_
