#include "builder/frontend/shell_lex.h"

#include <gtest/gtest.h>
#include "base/go_text.h"

namespace latchkey::frontend {
namespace {

using Words = std::vector<std::string>;
using Names = std::set<std::string>;

// The variables BuildKit's envVarTest table runs with.
VarMap TableVars() {
  return VarMapFromEnvList(
      {"PWD=/home", "SHELL=bash", "KOREAN=\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", "NULL="});
}

struct WordCase {
  const char* input;
  const char* expected;  // nullptr: must fail
};

// Paraphrased from BuildKit's shell/envVarTest table (Unix rows).
const WordCase kWordCases[] = {
    {"hello", "hello"},
    {"he'll'o", "hello"},
    {"he'llo", nullptr},
    {"he\\'llo", "he'llo"},
    {"he\\\\'llo", nullptr},
    {"abc\\tdef", "abctdef"},
    {"\"abc\\tdef\"", "abc\\tdef"},
    {"\"abc\\\\tdef\"", "abc\\tdef"},
    {"'abc\\tdef'", "abc\\tdef"},
    {"hello\\", "hello"},
    {"hello\\\\", "hello\\"},
    {"\"hello", nullptr},
    {"\"hello\\\"", nullptr},
    {"\"hel'lo\"", "hel'lo"},
    {"'hello", nullptr},
    {"'hello\\'", "hello\\"},
    {"'hello\\there'", "hello\\there"},
    {"'hello\\\\there'", "hello\\\\there"},
    {"\"''\"", "''"},
    {"$.", "$."},
    {"he$1x", "hex"},
    {"he$.x", "he$.x"},
    {"he$pwd.", "he."},
    {"he$PWD", "he/home"},
    {"he\\$PWD", "he$PWD"},
    {"he\\\\$PWD", "he\\/home"},
    {"\"he\\$PWD\"", "he$PWD"},
    {"\"he\\\\$PWD\"", "he\\/home"},
    {"\\${}", "${}"},
    {"\\${}aaa", "${}aaa"},
    {"he\\${}", "he${}"},
    {"he\\${}xx", "he${}xx"},
    {"${}", nullptr},
    {"${}xx", nullptr},
    {"he${}", nullptr},
    {"he${}xx", nullptr},
    {"he${hi}", "he"},
    {"he${hi}xx", "hexx"},
    {"he${PWD}", "he/home"},
    {"he${.}", nullptr},
    {"he${XXX:-000}xx", "he000xx"},
    {"he${PWD:-000}xx", "he/homexx"},
    {"he${XXX:-$PWD}xx", "he/homexx"},
    {"he${XXX:-${PWD:-yyy}}xx", "he/homexx"},
    {"he${XXX:-${YYY:-yyy}}xx", "heyyyxx"},
    {"he${XXX:YYY}", nullptr},
    {"he${XXX?}", nullptr},
    {"he${XXX:?}", nullptr},
    {"he${PWD?}", "he/home"},
    {"he${PWD:?}", "he/home"},
    {"he${NULL?}", "he"},
    {"he${NULL:?}", nullptr},
    {"he${XXX:+${PWD}}xx", "hexx"},
    {"he${PWD:+${XXX}}xx", "hexx"},
    {"he${PWD:+${SHELL}}xx", "hebashxx"},
    {"he${XXX:+000}xx", "hexx"},
    {"he${PWD:+000}xx", "he000xx"},
    {"'he${XX}'", "he${XX}"},
    {"\"he${PWD}\"", "he/home"},
    {"\"he'$PWD'\"", "he'/home'"},
    {"\"$PWD\"", "/home"},
    {"'$PWD'", "$PWD"},
    {"'\\$PWD'", "\\$PWD"},
    {"'\"hello\"'", "\"hello\""},
    {"'he\\$PWD'", "he\\$PWD"},
    {"he${PWD", nullptr},
    {"he${PWD:=000}xx", nullptr},
    {"he${PWD:+${PWD}:}xx", "he/home:xx"},
    {"he${XXX:-\\$PWD:}xx", "he$PWD:xx"},
    {"he${XXX:-\\${PWD}z}xx", "he${PWDz}xx"},
    {"\xec\x95\x88\xeb\x85\x95", "\xec\x95\x88\xeb\x85\x95"},
    {"\xec\x95\x88'\xeb\x85\x95'", "\xec\x95\x88\xeb\x85\x95"},
    {"\xec\x95\x88'\xeb\x85\x95", nullptr},
    {"$KOREAN", "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"},
    {"\xec\x95\x88$KOREAN", "\xec\x95\x88\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"},
    {"${{aaa}", nullptr},
    {"${aaa}}", "}"},
    {"${aaa}}}", "}}"},
    {"${aaa:-bbb}}", "bbb}"},
    {"${aaa:-}", ""},
    {"${aaa:-'}'}", "}"},
    {"${aaa:-\"x y\"}", "x y"},
    {"$", "$"},
    {"a$", "a$"},
    {"$/x", "$/x"},
    {"\"$\"", "$"},
};

TEST(ShellLex, EnvVarTable) {
  ShellLex lex;
  VarMap vars = TableVars();
  for (const WordCase& c : kWordCases) {
    auto r = lex.ProcessWord(c.input, vars);
    if (c.expected == nullptr) {
      EXPECT_FALSE(r.ok()) << "input: " << c.input << " gave: " << (r.ok() ? *r : "");
    } else {
      ASSERT_TRUE(r.ok()) << "input: " << c.input << ": " << r.status().message();
      EXPECT_EQ(*r, c.expected) << "input: " << c.input;
    }
  }
}

std::string ErrorOf(std::string_view word, const VarMap& vars = {}, char escape = '\\') {
  auto r = ShellLex(escape).ProcessWord(word, vars);
  EXPECT_FALSE(r.ok()) << word;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return r.status().message();
}

TEST(ShellLex, ErrorMessages) {
  EXPECT_EQ(ErrorOf("${}"), "failed to process \"${}\": syntax error: bad substitution");
  EXPECT_EQ(ErrorOf("${:x}"), "failed to process \"${:x}\": syntax error: bad substitution");
  EXPECT_EQ(ErrorOf("${{x}"), "failed to process \"${{x}\": syntax error: bad substitution");
  EXPECT_EQ(ErrorOf("a${"), "failed to process \"a${\": syntax error: missing '}'");
  EXPECT_EQ(ErrorOf("${a"), "failed to process \"${a\": syntax error: missing '}'");
  EXPECT_EQ(ErrorOf("${a:-b"), "failed to process \"${a:-b\": syntax error: missing '}'");
  EXPECT_EQ(ErrorOf("${a:"), "failed to process \"${a:\": syntax error: missing '}'");
  EXPECT_EQ(ErrorOf("${a:x}"),
            "failed to process \"${a:x}\": unsupported modifier (:x) in substitution");
  EXPECT_EQ(ErrorOf("${a=b}"),
            "failed to process \"${a=b}\": unsupported modifier (=) in substitution");
  EXPECT_EQ(ErrorOf("${a:=b}"),
            "failed to process \"${a:=b}\": unsupported modifier (:=) in substitution");
  EXPECT_EQ(ErrorOf("${a b}"),
            "failed to process \"${a b}\": unsupported modifier ( ) in substitution");
  EXPECT_EQ(ErrorOf("'abc"),
            "failed to process \"'abc\": unexpected end of statement while looking for "
            "matching single-quote");
  EXPECT_EQ(ErrorOf("\"abc"),
            "failed to process \"\\\"abc\": unexpected end of statement while looking for "
            "matching double-quote");
  EXPECT_EQ(ErrorOf("${a/b"), "failed to process \"${a/b\": syntax error: missing '/' in ${}");
  EXPECT_EQ(ErrorOf("${a/b/c"), "failed to process \"${a/b/c\": syntax error: missing '}'");
  EXPECT_EQ(ErrorOf("${a:-'x}"), "failed to process \"${a:-'x}\": syntax error: missing '}'");
}

TEST(ShellLex, RequiredVariableMessages) {
  VarMap set = {{"VAR", "plain"}, {"ARG", "x"}};
  VarMap empty = {{"VAR", ""}, {"ARG", "x"}};
  VarMap unset = {{"ARG", "x"}};
  ShellLex lex;
  EXPECT_EQ(*lex.ProcessWord("${VAR:?message here$ARG}", set), "plain");
  EXPECT_EQ(ErrorOf("${VAR:?message here$ARG}", empty),
            "failed to process \"${VAR:?message here$ARG}\": VAR: message herex");
  EXPECT_EQ(ErrorOf("${VAR:?message here$ARG}", unset),
            "failed to process \"${VAR:?message here$ARG}\": VAR: message herex");
  EXPECT_EQ(*lex.ProcessWord("${VAR?message}", set), "plain");
  EXPECT_EQ(*lex.ProcessWord("${VAR?message}", empty), "");
  EXPECT_EQ(ErrorOf("${VAR?}", unset),
            "failed to process \"${VAR?}\": VAR: is not allowed to be unset");
  EXPECT_EQ(ErrorOf("${VAR:?}", unset),
            "failed to process \"${VAR:?}\": VAR: is not allowed to be unset");
  EXPECT_EQ(ErrorOf("${VAR:?}", empty),
            "failed to process \"${VAR:?}\": VAR: is not allowed to be empty");
}

TEST(ShellLex, BacktickEscapeToken) {
  ShellLex lex('`');
  VarMap vars = {{"X", "v"}};
  EXPECT_EQ(*lex.ProcessWord("a`$X", vars), "a$X");
  EXPECT_EQ(*lex.ProcessWord("C:\\dir\\$X", vars), "C:\\dir\\v");  // backslash is literal
  EXPECT_EQ(*lex.ProcessWord("\"a`\"b\"", vars), "a\"b");
  // With '`' as the escape token a backslash does not escape the quote, which then opens an
  // unterminated string.
  EXPECT_FALSE(lex.ProcessWord("\"a\\\"b\"", vars).ok());
}

TEST(ShellLex, PatternRemoval) {
  ShellLex lex;
  struct Case {
    const char* input;
    VarMap vars;
    const char* expected;
  } cases[] = {
      {"${FOO#()[]{\\}^$.\\*\\?|\\\\}", {{"FOO", "()[]{}^$.*?|\\x"}}, "x"},
      {"${FOO%%\\**}", {{"FOO", "xx**"}}, "xx"},
      {"${FOO#*x*y}", {{"FOO", "xxyy"}}, "y"},
      {"${FOO#*}", {{"FOO", "xxyy"}}, "xxyy"},
      {"${FOO#$BAR}", {{"FOO", "xxyy"}, {"BAR", "x"}}, "xyy"},
      {"${FOO#$BAR}", {{"FOO", "xxyy"}, {"BAR", ""}}, "xxyy"},
      {"${FOO#}", {{"FOO", "xxyy"}}, "xxyy"},
      {"${FOO##*x}", {{"FOO", "xxyy"}}, "yy"},
      {"${FOO##}", {{"FOO", "xxyy"}}, "xxyy"},
      {"${FOO#?\\?}", {{"FOO", "???y"}}, "?y"},
      {"${ABC:-.}${FOO%x}${ABC:-.}", {{"FOO", "xxyy"}}, ".xxyy."},
      {"${FOO%%\\**\\*}", {{"FOO", "a***yy*"}}, "a"},
      {"${FOO%}", {{"FOO", "xxyy"}}, "xxyy"},
      {"${FOO%%$BAR}", {{"FOO", "xxyy"}, {"BAR", ""}}, "xxyy"},
      {"${FOO%y*}", {{"FOO", "xxyy"}}, "xxy"},
      {"${FOO%%y*}", {{"FOO", "xxyy"}}, "xx"},
      {"${FOO%.*}", {{"FOO", "file.tar.gz"}}, "file.tar"},
      {"${FOO%%.*}", {{"FOO", "file.tar.gz"}}, "file"},
      {"${FOO##*/}", {{"FOO", "/usr/local/bin"}}, "bin"},
      {"${FOO#*/}", {{"FOO", "/usr/local/bin"}}, "usr/local/bin"},
      {"${FOO%[x]}", {{"FOO", "a[x]"}}, "a"},  // brackets are literal, as in BuildKit
      {"${FOO#a*}", {{"FOO", "ab\ncd"}}, "b\ncd"},
      {"${FOO##a*}", {{"FOO", "ab\ncd"}}, "\ncd"},  // '*' does not cross a newline
      {"${NOPE#x}", {}, ""},
  };
  for (const Case& c : cases) {
    auto r = lex.ProcessWord(c.input, c.vars);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.expected) << c.input;
  }
}

TEST(ShellLex, Replacement) {
  ShellLex lex;
  struct Case {
    const char* input;
    VarMap vars;
    const char* expected;
  } cases[] = {
      {"${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
       {{"FOO", "/foo*/*/*.txt"}, {"NEEDLE", "\\*/"}},
       "/foo.*/*.txt - /foo..*.txt"},
      {"${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
       {{"FOO", "/tmp/tmp/bar.txt"}, {"NEEDLE", "/tmp"}},
       "/tmp/bar.txt - /bar.txt"},
      {"${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
       {{"FOO", "/a/foo/b/c.txt"}, {"NEEDLE", "/?/"}, {"REPLACEMENT", "/"}},
       "/foo/b/c.txt - /foo/c.txt"},
      {"${FOO/$NEEDLE/$REPLACEMENT}",
       {{"FOO", "http://google.de"}, {"NEEDLE", "http://"}, {"REPLACEMENT", "https://"}},
       "https://google.de"},
      {"${FOO//\\//\\/}", {{"FOO", "/tmp/foo.txt"}}, "\\/tmp\\/foo.txt"},
      {"${FOO/$BAR/ww}", {{"FOO", "xxyy"}, {"BAR", ""}}, "wwxxyy"},
      {"${FOO///}", {{"FOO", "xxyy"}}, "xxyy"},
      {"${FOO///}", {}, ""},
      {"${FOO/o*/0}", {{"FOO", "foo bar"}}, "f0"},  // greedy
      {"${FOO//o/0}", {{"FOO", "foo boo"}}, "f00 b00"},
      {"${FOO//?/.}", {{"FOO", "\xc3\xa9t\xc3\xa9"}}, "..."},  // '?' is one code point
      {"${FOO//x*/-}", {{"FOO", "axb\nxc"}}, "a-\n-"},
      {"${FOO///-}", {{"FOO", "ab"}}, "-a-b-"},  // empty pattern matches everywhere
      // "//" applies Go regexp template rules to the replacement: "$$" is "$", "$name" is "".
      {"${FOO//b/$REP}", {{"FOO", "abc"}, {"REP", "$$"}}, "a$c"},
      {"${FOO//b/$REP}", {{"FOO", "abc"}, {"REP", "<$1x${y}$>"}}, "a<$>c"},
      {"${FOO/b/$REP}", {{"FOO", "abc"}, {"REP", "$$"}}, "a$$c"},  // "/" inserts it as is
  };
  for (const Case& c : cases) {
    auto r = lex.ProcessWord(c.input, c.vars);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(*r, c.expected) << c.input;
  }
}

TEST(ShellLex, ReplacementErrors) {
  VarMap vars = {{"FOO", "xxyy"}};
  EXPECT_EQ(ErrorOf("${FOO//ww}", vars),
            "failed to process \"${FOO//ww}\": syntax error: missing '/' in ${}");
  EXPECT_EQ(ErrorOf("${FOO//}", vars),
            "failed to process \"${FOO//}\": syntax error: missing '/' in ${}");
  EXPECT_EQ(ErrorOf("${FOO#\\x}", vars),
            "failed to process \"${FOO#\\\\x}\": invalid pattern (\\x) in substitution: "
            "invalid escape '\\x'");
  VarMap trailing = {{"FOO", "xxyy"}, {"P", "a\\"}};
  EXPECT_EQ(ErrorOf("${FOO#$P}", trailing),
            "failed to process \"${FOO#$P}\": invalid pattern (a\\) in substitution: "
            "invalid escape '\\' at end of pattern");
  EXPECT_EQ(ErrorOf("${FOO%$P}", trailing),
            "failed to process \"${FOO%$P}\": invalid pattern (a\\) in substitution: "
            "invalid escape '\\a'");
}

TEST(ShellLex, ManyStarsOnLongValueStillMatchExactly) {
  // A naive backtracking matcher needs exponential time here; the memoised one is polynomial.
  std::string value(1000, 'a');
  VarMap vars = {{"V", value + "b"}, {"W", value}};
  ShellLex lex;
  EXPECT_EQ(*lex.ProcessWord("${V##*a*a*a*a*a*a*b}", vars), "");
  EXPECT_EQ(*lex.ProcessWord("${W##*a*a*a*a*a*a*b}", vars), value);  // no match: unchanged
  EXPECT_EQ(*lex.ProcessWord("${W%%a*a*a*a*a*a*b}", vars), value);
  EXPECT_EQ(lex.ProcessWord("${W//a*a*a*a*a*a*b/x}", vars)->size(), value.size());
}

TEST(ShellLex, VariableNames) {
  ShellLex lex;
  VarMap vars = {{"a_1", "A"}, {"1", "one"}, {"12", "twelve"}, {"@", "at"}, {"$", "pid"}};
  EXPECT_EQ(*lex.ProcessWord("$a_1-", vars), "A-");
  EXPECT_EQ(*lex.ProcessWord("$12x", vars), "twelvex");  // a leading digit takes all digits
  EXPECT_EQ(*lex.ProcessWord("$@x", vars), "atx");       // a special parameter is one char
  EXPECT_EQ(*lex.ProcessWord("$$", vars), "pid");
  EXPECT_EQ(*lex.ProcessWord("${1}", vars), "one");
  EXPECT_EQ(*lex.ProcessWord("$a_1$a_1", vars), "AA");
}

TEST(ShellLex, VarMapFromEnvList) {
  VarMap vars = VarMapFromEnvList({"A=1", "B", "C=x=y", "A=2", "D="});
  EXPECT_EQ(vars, (VarMap{{"A", "2"}, {"B", ""}, {"C", "x=y"}, {"D", ""}}));
}

struct WordsCase {
  const char* input;
  Words expected;  // {"error"} for a failure
};

// Paraphrased from BuildKit's shell/wordsTest table.
TEST(ShellLex, ProcessWordsTable) {
  VarMap vars = {
      {"hi", "hi"}, {"space", "abc  def"}, {"leading", "  ab c"}, {"trailing", "ab c   "}};
  const WordsCase cases[] = {
      {"hello", {"hello"}},
      {"hello${missing}bye", {"hellobye"}},
      {"hello${hi}bye", {"hellohibye"}},
      {"hello${space}bye", {"helloabc", "defbye"}},
      {"hello\"${space}\"bye", {"helloabc  defbye"}},
      {"hello \"${space}\"bye", {"hello", "abc  defbye"}},
      {"hello${leading}def", {"hello", "ab", "cdef"}},
      {"hello\"${leading}\" def", {"hello  ab c", "def"}},
      {"hello\"${leading}\"", {"hello  ab c"}},
      {"hello${leading}", {"hello", "ab", "c"}},
      {"hello${trailing}", {"helloab", "c"}},
      {"hello${trailing}d", {"helloab", "c", "d"}},
      {"hello\"${trailing}\"d", {"helloab c   d"}},
      {"hel\"lo${trailing}\"", {"helloab c   "}},
      {"hello\" there  \"", {"hello there  "}},
      {"hello there     ", {"hello", "there"}},
      {"hello\\ there", {"hello there"}},
      {"hello\" there", {"error"}},
      {"hello\\\" there", {"hello\"", "there"}},
      {"hello\"\\\\there\"", {"hello\\there"}},
      {"hello\"\\there\"", {"hello\\there"}},
      {"hello'\\\\there'", {"hello\\\\there"}},
      {"hello'\\there'", {"hello\\there"}},
      {"hello'$there'", {"hello$there"}},
      {"\"\" a", {"a"}},  // an empty quoted string is no word
      {"  a\tb\n c  ", {"a", "b", "c"}},
  };
  ShellLex lex;
  for (const WordsCase& c : cases) {
    auto r = lex.ProcessWords(c.input, vars);
    Words got = r.ok() ? *r : Words{"error"};
    EXPECT_EQ(got, c.expected) << "input: " << c.input;
  }
}

TEST(ShellLex, MatchesAndUnmatched) {
  ShellLex lex;
  struct Case {
    const char* input;
    VarMap vars;
    const char* expected;
    Names matched;
    Names unmatched;
  } cases[] = {
      {"x", {{"DUMMY", "dummy"}}, "x", {}, {}},
      {"x ${UNUSED}", {{"DUMMY", "dummy"}}, "x ", {}, {"UNUSED"}},
      {"x ${FOO}", {{"FOO", "y"}}, "x y", {"FOO"}, {}},
      {"${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}",
       {{"FOO", "xxx"}, {"BAR", ""}},
       "xxx  ccc",
       {"FOO", "BAR"},
       {"BAZ"}},
      {"${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}",
       {{"FOO", "xxx"}, {"BAR", ""}},
       "xxx bbb ccc",
       {"FOO", "BAR"},
       {"BAZ"}},
      {"${FOO:-}", {}, "", {}, {"FOO"}},
      {"${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}",
       {{"FOO", "xxx"}, {"BAR", ""}},
       "aaa bbb ",
       {"FOO", "BAR"},
       {"BAZ"}},
      {"${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}",
       {{"FOO", "xxx"}, {"BAR", ""}},
       "aaa  ",
       {"FOO", "BAR"},
       {"BAZ"}},
      {"${FOO?aaa}", {{"FOO", "xxx"}, {"BAR", ""}}, "xxx", {"FOO"}, {}},
      {"${BAR?bbb}", {{"FOO", "xxx"}, {"BAR", ""}}, "", {"BAR"}, {}},
      {"${FOO#$BAR}", {{"FOO", "xxyy"}, {"BAR", "x"}}, "xyy", {"FOO", "BAR"}, {}},
      {"'$NOPE' \\$NOPE", {}, "$NOPE $NOPE", {}, {}},
      {"something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tgz",
       {{"VERSION", "v1.2.3"},
        {"TARGETOS", "linux"},
        {"TARGETARCH", "arm"},
        {"TARGETVARIANT", "v7"}},
       "something-v1.2.3.linux-arm-v7.tgz",
       {"VERSION", "TARGETOS", "TARGETARCH", "TARGETVARIANT"},
       {}},
  };
  for (const Case& c : cases) {
    auto r = lex.ProcessWordWithMatches(c.input, c.vars);
    ASSERT_TRUE(r.ok()) << c.input << ": " << r.status().message();
    EXPECT_EQ(r->result, c.expected) << c.input;
    EXPECT_EQ(r->matched, c.matched) << c.input;
    EXPECT_EQ(r->unmatched, c.unmatched) << c.input;
  }
}

TEST(ShellLex, RequiredWithMessageFails) {
  auto r = ShellLex().ProcessWordWithMatches("${BAZ?ccc}", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "failed to process \"${BAZ?ccc}\": BAZ: ccc");
}

TEST(ShellLex, SkipUnsetEnvKeepsReferences) {
  ShellLexOptions opts;
  opts.skip_unset_env = true;
  ShellLex lex(opts);
  VarMap vars = {{"SET", "v"}};
  EXPECT_EQ(*lex.ProcessWord("$SET $UNSET", vars), "v $UNSET");
  EXPECT_EQ(*lex.ProcessWord("${SET} ${UNSET}", vars), "v ${UNSET}");
  EXPECT_EQ(*lex.ProcessWord("${UNSET:-d} ${SET:-d}", vars), "${UNSET:-d} v");
  EXPECT_EQ(*lex.ProcessWord("${UNSET/a/b}", vars), "${UNSET/a/b}");
}

TEST(ShellLex, RawQuotesAndEscapes) {
  ShellLexOptions opts;
  opts.raw_quotes = true;
  opts.raw_escapes = true;
  ShellLex lex(opts);
  VarMap vars = {{"X", "v"}};
  EXPECT_EQ(*lex.ProcessWord("'a $X' \"b $X\" \\$X", vars), "'a $X' \"b v\" \\$X");
}

TEST(ShellLex, SkipProcessQuotes) {
  ShellLexOptions opts;
  opts.skip_process_quotes = true;
  ShellLex lex(opts);
  VarMap vars = {{"X", "v"}};
  EXPECT_EQ(*lex.ProcessWord("'$X' \"$X\"", vars), "'v' \"v\"");
  EXPECT_EQ(*lex.ProcessWord("it's", vars), "it's");
}

TEST(ShellLex, InvalidUtf8BecomesReplacementChar) {
  EXPECT_EQ(*ShellLex().ProcessWord("a\xff"
                                    "b",
                                    {}),
            "a\xef\xbf\xbd"
            "b");
}

// Hostile words (issue 11): nesting is bounded before the stack runs out, and a result is
// bounded before memory runs out.
TEST(ShellLexLimits, NestingDeeperThan64LevelsFails) {
  std::string ok;
  for (int i = 0; i < 63; ++i) ok += "${a:-";
  ok += "z" + std::string(63, '}');
  Result<std::string> r = ShellLex().ProcessWord(ok, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, "z");

  std::string deep;
  for (int i = 0; i < 5000; ++i) deep += "${a:-";
  deep += "z" + std::string(5000, '}');
  Result<std::string> d = ShellLex().ProcessWord(deep, {});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "failed to process \"" + deep.substr(0, 256) +
                                      "\"...: variable expansion nested more than 64 levels deep");
  // Unclosed, and inside double quotes: the same bound.
  std::string unclosed;
  for (int i = 0; i < 100; ++i) unclosed += "\"${a:-";
  EXPECT_EQ(ShellLex().ProcessWord(unclosed, {}).status().message(),
            "failed to process " + base::GoQuote(unclosed.substr(0, 256)) +
                "...: variable expansion nested more than 64 levels deep");
}

TEST(ShellLexLimits, ResultLargerThan4MiBFails) {
  VarMap vars{{"w", std::string(1 << 20, 'y')}};
  Result<std::string> four = ShellLex().ProcessWord("$w$w$w$w", vars);
  ASSERT_TRUE(four.ok()) << four.status().message();
  EXPECT_EQ(four->size(), size_t{4} << 20);
  const std::string kTooLarge = "the result of variable expansion exceeds 4 MiB";
  EXPECT_EQ(ShellLex().ProcessWord("$w$w$w$w.", vars).status().message(),
            "failed to process \"$w$w$w$w.\": " + kTooLarge);
  EXPECT_EQ(ShellLex().ProcessWord("\"$w$w$w$w$w\"", vars).status().message(),
            "failed to process \"\\\"$w$w$w$w$w\\\"\": " + kTooLarge);
  EXPECT_EQ(ShellLex().ProcessWord("${a:-$w$w$w$w$w}", vars).status().message(),
            "failed to process \"${a:-$w$w$w$w$w}\": " + kTooLarge);
  // A replacement multiplies: 1 MiB matches of "?" each replaced by 8 bytes.
  EXPECT_EQ(ShellLex().ProcessWord("${w//?/abcdefgh}", vars).status().message(),
            "failed to process \"${w//?/abcdefgh}\": " + kTooLarge);
}

}  // namespace
}  // namespace latchkey::frontend
