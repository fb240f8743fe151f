#include "builder/frontend/parser.h"

#include <gtest/gtest.h>

namespace latchkey::frontend {
namespace {

std::string ErrorOf(const std::string& text) {
  Result<ParseResult> r = Parse(text, "Dockerfile");
  if (r.ok()) {
    Status s = CheckInstructionNames(*r, "Dockerfile");
    return s.ok() ? "OK" : s.message();
  }
  return r.status().message();
}

TEST(ParserErrors, EmptyFile) { EXPECT_EQ(ErrorOf(""), "Dockerfile:1: file with no instructions"); }

TEST(ParserErrors, OnlyComments) {
  EXPECT_EQ(ErrorOf("# just a comment\n\n# another\n"), "Dockerfile:3: file with no instructions");
}

TEST(ParserErrors, EnvWithoutValue) {
  EXPECT_EQ(ErrorOf("FROM busybox\n\nENV PATH\n"), "Dockerfile:3: ENV must have two arguments");
}

TEST(ParserErrors, LabelWithoutValue) {
  EXPECT_EQ(ErrorOf("FROM busybox\nLABEL x\n"), "Dockerfile:2: LABEL must have two arguments");
}

TEST(ParserErrors, NestedJsonArray) {
  EXPECT_EQ(ErrorOf("FROM a\nCMD [ \"echo\", [ \"nested json\" ] ]\n"),
            "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only");
}

TEST(ParserErrors, NumbersInJsonArray) {
  EXPECT_EQ(ErrorOf("FROM a\nRUN [\"a\", 1]\n"),
            "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only");
}

TEST(ParserErrors, UnknownInstructionWithSuggestion) {
  EXPECT_EQ(ErrorOf("FROM a\nRUNN echo\n"),
            "Dockerfile:2: unknown instruction: RUNN (did you mean RUN?)");
  EXPECT_EQ(ErrorOf("FROM a\ncopyy a b\n"),
            "Dockerfile:2: unknown instruction: copyy (did you mean copy?)");
}

TEST(ParserErrors, UnknownInstructionWithoutSuggestion) {
  EXPECT_EQ(ErrorOf("FROM a\nFROBNICATE x\n"), "Dockerfile:2: unknown instruction: FROBNICATE");
}

TEST(ParserErrors, UnknownOnbuildTrigger) {
  EXPECT_EQ(ErrorOf("FROM a\nONBUILD RUNX y\n"),
            "Dockerfile:2: unknown instruction: RUNX (did you mean RUN?)");
}

TEST(ParserErrors, KvSyntaxError) {
  EXPECT_EQ(ErrorOf("FROM a\nENV a=b c\n"),
            "Dockerfile:2: Syntax error - can't find = in \"c\". Must be of the form: name=value");
}

TEST(ParserErrors, DuplicateDirective) {
  EXPECT_EQ(ErrorOf("# escape=`\n# escape=\\\nFROM a\n"),
            "Dockerfile:2: only one escape parser directive can be used");
}

TEST(ParserErrors, BadEscapeToken) {
  EXPECT_EQ(ErrorOf("# escape=x\nFROM a\n"),
            "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
}

TEST(ParserErrors, UnterminatedHeredoc) {
  EXPECT_EQ(ErrorOf("FROM a\nRUN <<EOF\necho\n"), "Dockerfile:2: unterminated heredoc");
}

TEST(ParserErrors, ErrorNamesTheFile) {
  Result<ParseResult> r = Parse("FROM a\nENV X\n", "sub/Containerfile");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "sub/Containerfile:2: ENV must have two arguments");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(Parser, LineNumbersIncludeContinuationsAndHeredocs) {
  Result<ParseResult> r =
      Parse("# comment\n\nFROM a\nRUN a \\\n  b \\\n\n  c\nCOPY <<EOF /x\nbody\nEOF\nUSER me\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->children.size(), 4u);
  EXPECT_EQ(r->children[0].start_line, 3);
  EXPECT_EQ(r->children[0].end_line, 3);
  EXPECT_EQ(r->children[1].start_line, 4);
  EXPECT_EQ(r->children[1].end_line, 7);
  EXPECT_EQ(r->children[2].start_line, 8);
  EXPECT_EQ(r->children[2].end_line, 10);
  EXPECT_EQ(r->children[3].start_line, 11);
  ASSERT_EQ(r->warnings.size(), 1u);
}

TEST(Parser, DirectivesAreRecorded) {
  Result<ParseResult> r =
      Parse("# syntax=docker/dockerfile:1.7\n#check = skip=all \n# escape=`\nFROM a\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->directives.size(), 3u);
  EXPECT_EQ(r->directives[0].name, "syntax");
  EXPECT_EQ(r->directives[0].value, "docker/dockerfile:1.7");
  EXPECT_EQ(r->directives[1].name, "check");
  EXPECT_EQ(r->directives[1].value, "skip=all");
  EXPECT_EQ(r->escape_token, '`');
}

TEST(Parser, DirectiveAfterBlankLineIsAComment) {
  Result<ParseResult> r = Parse("\n# escape=`\nFROM a\nRUN x \\\n y\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->escape_token, '\\');
  ASSERT_EQ(r->children.size(), 2u);
  EXPECT_EQ(r->children[1].args[0], "x  y");
}

TEST(Parser, HeredocDetails) {
  Result<ParseResult> r =
      Parse("FROM a\nRUN <<-EOT 3<<'Q' cat\n\tx $y\n\tEOT\nraw $z\nQ\nCOPY <<eo\"f\" /d\nc\neof\n");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& docs = r->children[1].heredocs;
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].name, "EOT");
  EXPECT_TRUE(docs[0].chomp);
  EXPECT_TRUE(docs[0].expand);
  EXPECT_EQ(docs[0].content, "\tx $y\n");
  EXPECT_EQ(docs[1].name, "Q");
  EXPECT_FALSE(docs[1].expand);
  EXPECT_EQ(docs[1].file_descriptor, 3u);
  EXPECT_EQ(docs[1].content, "raw $z\n");
  const auto& copy = r->children[2].heredocs;
  ASSERT_EQ(copy.size(), 1u);
  EXPECT_EQ(copy[0].name, "eof");
  EXPECT_FALSE(copy[0].expand);
}

TEST(Parser, HeredocWordForms) {
  auto name = [](const char* w) -> std::string {
    auto h = ParseHeredoc(w);
    if (!h.ok()) return "ERR";
    return h->has_value() ? (*h)->name : "none";
  };
  EXPECT_EQ(name("<<EOF"), "EOF");
  EXPECT_EQ(name("<<'EOF'"), "EOF");
  EXPECT_EQ(name("<<-\"EOF\""), "EOF");
  EXPECT_EQ(name("<< EOF"), "EOF");
  EXPECT_EQ(name("<<EOF sh"), "none");
  EXPECT_EQ(name("<<"), "none");
  EXPECT_EQ(name("<<<EOF"), "none");
  EXPECT_EQ(name("<EOF"), "none");
  EXPECT_EQ(name("<<'EOF"), "ERR");
  EXPECT_EQ(name("<<eo\\'f"), "eo'f");
  EXPECT_EQ(name("<<$EOF"), "$EOF");
}

TEST(Parser, JsonHeredocIsNotAHeredoc) {
  Result<ParseResult> r = Parse("FROM a\nRUN [\"<<EOF\"]\nUSER x\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->children[1].heredocs.empty());
  EXPECT_EQ(r->children.size(), 3u);
}

TEST(Parser, InstructionWordsAreCaseInsensitive) {
  Result<ParseResult> r = Parse("fRoM a\nRuN b\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->children[1].value, "run");
  EXPECT_EQ(r->children[1].original_cmd, "RuN");
}

TEST(Parser, CrLfLineEndings) {
  Result<ParseResult> r = Parse("FROM a\r\nRUN x \\\r\n  y\r\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->children.size(), 2u);
  EXPECT_EQ(r->children[1].args[0], "x   y");
}

TEST(Parser, DeepOnbuildNestingIsBounded) {
  std::string line = "FROM a\n";
  for (int i = 0; i < 100; ++i) line += "ONBUILD ";
  line += "RUN x\n";
  Result<ParseResult> r = Parse(line);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Dockerfile:2: ONBUILD nested more than 64 levels deep");
}

}  // namespace
}  // namespace latchkey::frontend
