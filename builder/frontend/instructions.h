// Typed Dockerfile instructions and stages built from the parse tree, as BuildKit's
// frontend/dockerfile/instructions package does: argument-count checks, builder flags per
// instruction, FROM ... AS name, heredoc sources, RUN flags (pass 1 of mount_flags.h).
// Nothing is expanded here; values are kept raw for the evaluator (config_eval.h).
//
// Errors are InvalidArgument "<file>:<line>: <cause>" with BuildKit's text, e.g.
//   unknown instruction: RUNN (did you mean RUN?)
//   ENV requires at least one argument
//   FROM requires either one or three arguments
//   unknown flag: --fro (did you mean from?)
//
// Thread-safety: pure functions over values.
#ifndef LATCHKEY_BUILDER_FRONTEND_INSTRUCTIONS_H_
#define LATCHKEY_BUILDER_FRONTEND_INSTRUCTIONS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/frontend/image_config.h"
#include "builder/frontend/mount_flags.h"
#include "builder/frontend/parser.h"
#include "latchkey/status.h"

namespace latchkey::frontend {

enum class InstructionKind {
  kAdd,
  kArg,
  kCmd,
  kCopy,
  kEntrypoint,
  kEnv,
  kExpose,
  kHealthcheck,
  kLabel,
  kMaintainer,
  kOnbuild,
  kRun,
  kShell,
  kStopSignal,
  kUser,
  kVolume,
  kWorkdir,
};

// "ADD", "ARG", ... as Docker spells them in messages and history.
const char* InstructionName(InstructionKind kind);

// ENV/LABEL pair, or ARG name with optional default (value unset when !has_value).
struct KeyValue {
  std::string key;
  std::string value;
  bool has_value = true;
  bool legacy = false;  // ENV/LABEL written as "k v" (no '=')
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

// A COPY/ADD source given inline as a heredoc (`COPY <<EOF /dst`).
struct SourceContent {
  std::string path;  // the heredoc name, used as the file name
  std::string data;  // the body, chomped when `<<-`
  bool expand = true;
  friend bool operator==(const SourceContent&, const SourceContent&) = default;
};

// A RUN heredoc (`RUN <<EOF ... EOF`): a file the command reads on stdin / runs.
struct InlineFile {
  std::string name;
  std::string data;  // chomped when `<<-`
  bool chomp = false;
  friend bool operator==(const InlineFile&, const InlineFile&) = default;
};

// HEALTHCHECK as written (durations in nanoseconds; 0 = inherit the default).
struct HealthcheckSpec {
  HealthConfig config;  // test: ["NONE"], ["CMD", ...] or ["CMD-SHELL", "<cmd>"]
  friend bool operator==(const HealthcheckSpec&, const HealthcheckSpec&) = default;
};

struct Instruction {
  InstructionKind kind = InstructionKind::kRun;
  int line = 0;                           // start line
  int end_line = 0;                       // last line
  std::string original;                   // the logical line as written
  std::vector<std::string> flags;         // raw builder flags
  std::vector<std::string> prev_comment;  // comment lines directly above (ARG descriptions)

  // CMD, ENTRYPOINT, RUN, SHELL: the command (shell form: one element, the whole line).
  std::vector<std::string> cmd;
  bool prepend_shell = false;  // shell form: run through the SHELL

  // ENV, LABEL, ARG.
  std::vector<KeyValue> kvs;

  // EXPOSE ports, VOLUME paths; USER, WORKDIR, STOPSIGNAL, MAINTAINER: one element.
  std::vector<std::string> words;

  // COPY / ADD.
  std::vector<std::string> sources;
  std::vector<SourceContent> source_contents;
  std::string dest;
  std::string from;  // COPY --from (raw; never contains '$')
  std::string chown;
  std::string chmod;
  bool link = false;
  std::vector<std::string> excludes;
  bool parents = false;        // COPY --parents
  std::string checksum;        // ADD --checksum
  bool keep_git_dir = false;   // ADD --keep-git-dir
  std::optional<bool> unpack;  // ADD --unpack

  // RUN.
  RunFlags run_flags;
  std::vector<std::string> mount_froms;  // `from=` of each --mount (raw, "" when absent)
  std::vector<InlineFile> files;

  // HEALTHCHECK.
  HealthcheckSpec health;

  // ONBUILD: the trigger expression ("RUN echo hi"), stored in the image config.
  std::string trigger;
};

struct Stage {
  std::string name;       // lower-cased `AS` name; "" when unnamed
  std::string orig_name;  // `AS` name as written
  std::string base_name;  // FROM image or stage (raw, may contain ARG references)
  std::string platform;   // FROM --platform (raw)
  int line = 0;
  int index = 0;
  std::vector<Instruction> commands;
};

struct Dockerfile {
  std::vector<Instruction> meta_args;  // ARG instructions before the first FROM
  std::vector<Stage> stages;
  char escape_token = '\\';
  std::vector<Directive> directives;
  std::vector<Warning> warnings;
};

// Builds typed instructions from a parse tree. `filename` labels errors.
Result<Dockerfile> ParseInstructions(const ParseResult& parsed,
                                     std::string_view filename = "Dockerfile");

// Parse + ParseInstructions.
Result<Dockerfile> ParseDockerfile(std::string_view text, std::string_view filename = "Dockerfile");

// Parses one instruction node (also used for ONBUILD triggers). FROM is not an instruction
// here; it is rejected with "FROM isn't allowed here".
Result<Instruction> ParseInstruction(const Node& node, std::string_view filename);

}  // namespace latchkey::frontend

#endif  // LATCHKEY_BUILDER_FRONTEND_INSTRUCTIONS_H_
