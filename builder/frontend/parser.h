// The Dockerfile parser: turns Dockerfile text into a syntax tree exactly as BuildKit's
// frontend/dockerfile/parser does (directives, comments, line continuations with the escape
// character, exec/JSON form with shell-form fallback, heredocs, builder flags, ONBUILD, ENV and
// LABEL key/value triples). It does not expand variables and does not interpret instructions;
// instructions.h does that.
//
// Errors are InvalidArgument with the message "<file>:<line>: <cause>", where <cause> is
// BuildKit's text, e.g. "Dockerfile:3: ENV must have two arguments".
//
// Thread-safety: pure function over its input; the returned tree is a plain value.
#ifndef LATCHKEY_BUILDER_FRONTEND_PARSER_H_
#define LATCHKEY_BUILDER_FRONTEND_PARSER_H_

#include <string>
#include <string_view>
#include <vector>

#include "builder/frontend/heredoc.h"
#include "latchkey/status.h"

namespace latchkey::frontend {

// One instruction (or, inside ONBUILD, the nested instruction).
struct Node {
  std::string value;               // instruction word, lower-cased ("run")
  std::string original_cmd;        // instruction word as written ("Run")
  std::string original;            // the logical line: continuations joined, comment lines dropped
  std::vector<std::string> flags;  // leading "--name[=value]" words, quotes removed
  // The arguments as BuildKit's parse tree holds them ("Next" values):
  //   shell form: one string, the rest of the line; JSON form: one string per element;
  //   ENV/LABEL: key, value, separator triples ("=" for k=v, "" for the legacy "k v" form);
  //   ARG: one word per name[=value]; FROM/EXPOSE/(non-JSON) COPY/ADD/VOLUME: split on blanks;
  //   HEALTHCHECK: the type ("CMD", "NONE") then the command (shell or JSON);
  //   unknown instruction: one empty string.
  std::vector<std::string> args;
  // ONBUILD only: the trigger instruction (exactly one element when present).
  std::vector<Node> nested;
  bool json = false;  // the command used the JSON (exec) form
  std::vector<Heredoc> heredocs;
  int start_line = 0;  // 1-based, first line of the instruction
  int end_line = 0;    // last line, including continuation and heredoc body lines
  std::vector<std::string> prev_comment;  // comment lines directly above the instruction

  friend bool operator==(const Node&, const Node&) = default;
};

struct Directive {
  std::string name;   // lower-cased: "syntax", "escape" or "check"
  std::string value;  // trimmed
  int line = 0;
};

struct Warning {
  std::string message;
  int line = 0;
};

struct ParseResult {
  std::vector<Node> children;  // the instructions in order (never empty)
  char escape_token = '\\';    // '\\' or '`'
  std::vector<Directive> directives;
  std::vector<Warning> warnings;  // e.g. empty continuation lines
};

// Parses `text`. `filename` only labels error messages. Fails with:
//   file with no instructions                  (empty file or only comments / blank lines)
//   <KEY> must have two arguments              (ENV PATH, LABEL x)
//   when using JSON array syntax, arrays must be comprised of strings only
//   Syntax error - can't find = in "<word>". Must be of the form: name=value
//   only one <name> parser directive can be used
//   invalid escape token '<v>' does not match ` or <backslash>
//   unterminated heredoc
//   ONBUILD nested more than 64 levels deep
// Unknown instruction words are NOT an error here (BuildKit's parser keeps them); see
// CheckInstructionNames / instructions.h.
Result<ParseResult> Parse(std::string_view text, std::string_view filename = "Dockerfile");

// Every instruction word BuildKit knows, lower-case, in BuildKit's order.
const std::vector<std::string>& KnownInstructions();

// Fails with "<file>:<line>: unknown instruction: <WORD>" (+ " (did you mean <x>?)") for the
// first node, or ONBUILD trigger, whose instruction word is not a Dockerfile instruction.
Status CheckInstructionNames(const ParseResult& result, std::string_view filename = "Dockerfile");

// "<file>:<line>: <message>" as InvalidArgument.
Status LineError(std::string_view filename, int line, std::string_view message);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_PARSER_H_
