#include "builder/frontend/mount_flags.h"

#include <gtest/gtest.h>

namespace latchkey::frontend {
namespace {

// Parses one --mount value through both passes with `vars` for expansion.
Result<MountSpec> Mount(std::string_view value, const VarMap& vars = {}) {
  LK_ASSIGN_OR_RETURN(RunFlags flags, ParseRunFlags({"--mount=" + std::string(value)}));
  ShellLex lex;
  LK_ASSIGN_OR_RETURN(std::vector<MountSpec> mounts, ExpandMounts(flags, ShellExpander(lex, vars)));
  if (mounts.size() != 1) return InternalError("expected one mount");
  return mounts[0];
}

MountSpec MustMount(std::string_view value, const VarMap& vars = {}) {
  auto r = Mount(value, vars);
  EXPECT_TRUE(r.ok()) << value << ": " << r.status().ToString();
  return r.ok() ? *r : MountSpec{};
}

std::string MountError(std::string_view value, const VarMap& vars = {}) {
  auto r = Mount(value, vars);
  EXPECT_FALSE(r.ok()) << value;
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << value;
  return r.status().message();
}

std::string FlagsError(const std::vector<std::string>& words) {
  auto r = ParseRunFlags(words);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.status().message();
}

// ---- flags (bflag.go) ---------------------------------------------------------------------

TEST(ParseRunFlags, CollectsMountsNetworkSecurity) {
  auto r = ParseRunFlags({"--mount=type=secret,id=a", "--network=none",
                          "--mount=type=cache,target=/c", "--security=insecure"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->mount_values,
            (std::vector<std::string>{"type=secret,id=a", "type=cache,target=/c"}));
  EXPECT_EQ(r->network, "none");
  EXPECT_EQ(r->security, "insecure");
}

TEST(ParseRunFlags, NoFlags) {
  auto r = ParseRunFlags({});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->mount_values.empty());
  EXPECT_FALSE(r->network.has_value());
  EXPECT_FALSE(r->security.has_value());
}

TEST(ParseRunFlags, DoubleDashEndsFlags) {
  auto r = ParseRunFlags({"--network=host", "--", "--bogus", "plain"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->network, "host");
}

TEST(ParseRunFlags, UnknownFlagWithSuggestion) {
  EXPECT_EQ(FlagsError({"--mont=type=bind"}), "unknown flag: --mont (did you mean mount?)");
  EXPECT_EQ(FlagsError({"--netwrk=none"}), "unknown flag: --netwrk (did you mean network?)");
  EXPECT_EQ(FlagsError({"--securty=insecure"}), "unknown flag: --securty (did you mean security?)");
  EXPECT_EQ(FlagsError({"--platform=linux/amd64"}), "unknown flag: --platform");
}

TEST(ParseRunFlags, FlagNamesAreCaseSensitive) {
  EXPECT_EQ(FlagsError({"--MOUNT=type=bind"}), "unknown flag: --MOUNT");
  EXPECT_EQ(FlagsError({"--Mount=type=bind"}), "unknown flag: --Mount (did you mean mount?)");
}

TEST(ParseRunFlags, MissingValue) {
  EXPECT_EQ(FlagsError({"--mount"}), "missing a value on flag: --mount");
  EXPECT_EQ(FlagsError({"--network"}), "missing a value on flag: --network");
  EXPECT_EQ(FlagsError({"--security"}), "missing a value on flag: --security");
}

TEST(ParseRunFlags, MustStartWithDashes) {
  EXPECT_EQ(FlagsError({"-mount=type=bind"}), "arg should start with -- : -mount=type=bind");
  EXPECT_EQ(FlagsError({"mount"}), "arg should start with -- : mount");
}

TEST(ParseRunFlags, DuplicateFlag) {
  EXPECT_EQ(FlagsError({"--network=none", "--network=host"}),
            "duplicate flag specified: --network");
  EXPECT_EQ(FlagsError({"--security=sandbox", "--security=sandbox"}),
            "duplicate flag specified: --security");
  auto r = ParseRunFlags({"--mount=type=tmpfs,target=/a", "--mount=type=tmpfs,target=/b"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mount_values.size(), 2u);
}

TEST(ParseRunFlags, NetworkModes) {
  for (const char* mode : {"default", "none", "host"}) {
    auto r = ParseRunFlags({std::string("--network=") + mode});
    ASSERT_TRUE(r.ok()) << mode;
    EXPECT_EQ(r->network, mode);
  }
  EXPECT_EQ(FlagsError({"--network=bridge"}), "invalid network mode \"bridge\"");
  EXPECT_EQ(FlagsError({"--network=None"}), "invalid network mode \"None\"");
  EXPECT_EQ(FlagsError({"--network="}), "invalid network mode \"\"");
}

TEST(ParseRunFlags, SecurityModes) {
  for (const char* mode : {"sandbox", "insecure"}) {
    auto r = ParseRunFlags({std::string("--security=") + mode});
    ASSERT_TRUE(r.ok()) << mode;
    EXPECT_EQ(r->security, mode);
  }
  EXPECT_EQ(FlagsError({"--security=privileged"}), "security \"privileged\" is not valid");
}

TEST(ParseRunFlags, MountCsvErrors) {
  EXPECT_EQ(FlagsError({"--mount="}), "failed to parse csv mounts: EOF");
  EXPECT_EQ(FlagsError({"--mount=type=bind,target=/a\"b"}),
            "failed to parse csv mounts: parse error on line 1, column 20: bare \" in "
            "non-quoted-field");
  EXPECT_EQ(FlagsError({"--mount=\"type=bind"}),
            "failed to parse csv mounts: parse error on line 1, column 2: extraneous or "
            "missing \" in quoted-field");
}

TEST(ParseRunFlags, FromRejectsVariables) {
  const char* kMsg = "'from' doesn't support variable expansion, define alias stage instead";
  EXPECT_EQ(FlagsError({"--mount=type=bind,from=$STAGE"}), kMsg);
  EXPECT_EQ(FlagsError({"--mount=type=bind,from=${STAGE}"}), kMsg);
  EXPECT_EQ(FlagsError({"--mount=type=bind,FROM=a$b"}), kMsg);
  // A '$' as the last character is no variable.
  EXPECT_TRUE(ParseRunFlags({"--mount=type=bind,from=stage$"}).ok());
  // Other keys are expanded later, so pass 1 accepts them.
  EXPECT_TRUE(ParseRunFlags({"--mount=type=$T,id=${ID},target=$DIR/x"}).ok());
}

TEST(ParseRunFlags, PassOneDefersKeyValidation) {
  // BuildKit validates keys only when expanding; pass 1 accepts them.
  EXPECT_TRUE(ParseRunFlags({"--mount=typ=bind"}).ok());
  EXPECT_TRUE(ParseRunFlags({"--mount=required,type=secret"}).ok());
}

// ---- mount keys (commands_runmount.go) ----------------------------------------------------

TEST(MountFlags, DefaultIsReadOnlyBind) {
  MountSpec m = MustMount("target=/src");
  EXPECT_EQ(m.type, MountType::kBind);
  EXPECT_EQ(m.target, "/src");
  EXPECT_EQ(m.source, "");
  EXPECT_EQ(m.from, "");
  EXPECT_TRUE(m.readonly);
  EXPECT_FALSE(m.required);
}

TEST(MountFlags, TypeValueIsCaseInsensitive) {
  EXPECT_EQ(MustMount("type=SECRET,id=x").type, MountType::kSecret);
  EXPECT_EQ(MustMount("type=Cache,target=/c").type, MountType::kCache);
  EXPECT_EQ(MustMount("TYPE=tmpfs,TARGET=/t").type, MountType::kTmpfs);
}

TEST(MountFlags, ValuesKeepTheirCase) {
  MountSpec m = MustMount("type=secret,ID=MyToken,Target=/Run/X");
  EXPECT_EQ(m.id, "MyToken");
  EXPECT_EQ(m.target, "/Run/X");
}

TEST(MountFlags, UnsupportedType) {
  EXPECT_EQ(MountError("type=tmp"), "unsupported mount type \"tmp\" (did you mean tmpfs?)");
  EXPECT_EQ(MountError("type=secrt"), "unsupported mount type \"secrt\" (did you mean secret?)");
  EXPECT_EQ(MountError("type=volume"), "unsupported mount type \"volume\"");
  EXPECT_EQ(MountError("type="), "unsupported mount type \"\"");
}

TEST(MountFlags, UnexpectedKey) {
  EXPECT_EQ(MountError("typ=bind"), "unexpected key 'typ' in 'typ=bind' (did you mean type?)");
  EXPECT_EQ(MountError("type=secret,idd=x"), "unexpected key 'idd' in 'idd=x' (did you mean id?)");
  EXPECT_EQ(MountError("Targt=/x"), "unexpected key 'targt' in 'Targt=/x' (did you mean target?)");
  EXPECT_EQ(MountError("volume=x"), "unexpected key 'volume' in 'volume=x'");
}

TEST(MountFlags, FieldWithoutValue) {
  EXPECT_EQ(MountError("target"), "invalid field 'target' must be a key=value pair");
  EXPECT_EQ(MountError("type=secret,env"), "invalid field 'env' must be a key=value pair");
  EXPECT_EQ(MountError("type=secret,id=x,"), "invalid field '' must be a key=value pair");
}

TEST(MountFlags, BareReadonlyReadwrite) {
  EXPECT_TRUE(MustMount("type=cache,target=/c,ro").readonly);
  EXPECT_TRUE(MustMount("type=cache,target=/c,readonly").readonly);
  EXPECT_FALSE(MustMount("target=/c,rw").readonly);
  EXPECT_FALSE(MustMount("target=/c,readwrite").readonly);
  EXPECT_FALSE(MustMount("target=/c,RW").readonly);
}

TEST(MountFlags, BooleanValues) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    EXPECT_TRUE(MustMount(std::string("type=cache,target=/c,ro=") + t).readonly) << t;
    EXPECT_FALSE(MustMount(std::string("target=/c,rw=") + t).readonly) << t;
    EXPECT_TRUE(MustMount(std::string("type=secret,id=x,required=") + t).required) << t;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    EXPECT_FALSE(MustMount(std::string("target=/c,readonly=") + f).readonly) << f;
    EXPECT_TRUE(MustMount(std::string("target=/c,readwrite=") + f).readonly) << f;
    EXPECT_FALSE(MustMount(std::string("type=ssh,required=") + f).required) << f;
  }
  EXPECT_EQ(MountError("target=/c,ro=yes"), "invalid value for ro: yes");
  EXPECT_EQ(MountError("target=/c,readonly=tRUE"), "invalid value for readonly: tRUE");
  EXPECT_EQ(MountError("target=/c,rw=2"), "invalid value for rw: 2");
  EXPECT_EQ(MountError("target=/c,readwrite="), "invalid value for readwrite: ");
  EXPECT_EQ(MountError("type=secret,id=x,required=yes"), "invalid value for required: yes");
}

TEST(MountFlags, RequiredOnlyForSecretAndSsh) {
  EXPECT_TRUE(MustMount("type=secret,id=x,required").required);
  EXPECT_TRUE(MustMount("type=ssh,required").required);
  EXPECT_EQ(MountError("target=/x,required"), "unexpected key 'required' for mount type 'bind'");
  EXPECT_EQ(MountError("type=cache,target=/x,required=true"),
            "unexpected key 'required' for mount type 'cache'");
  // Order matters: the type must come first.
  EXPECT_EQ(MountError("required,type=secret,id=x"),
            "unexpected key 'required' for mount type 'bind'");
}

TEST(MountFlags, LastKeyWins) {
  MountSpec m = MustMount("type=bind,type=secret,id=a,id=b,target=/x,target=/y");
  EXPECT_EQ(m.type, MountType::kSecret);
  EXPECT_EQ(m.id, "b");
  EXPECT_EQ(m.target, "/y");
  EXPECT_FALSE(MustMount("target=/c,ro,rw").readonly);
  EXPECT_TRUE(MustMount("target=/c,rw,ro").readonly);
}

TEST(MountFlags, TargetAliases) {
  EXPECT_EQ(MustMount("dst=/a").target, "/a");
  EXPECT_EQ(MustMount("destination=/b").target, "/b");
  EXPECT_EQ(MustMount("target=/c").target, "/c");
}

TEST(MountFlags, SourceAliasesAndFrom) {
  MountSpec m = MustMount("src=pkg,from=builder,target=/p");
  EXPECT_EQ(m.source, "pkg");
  EXPECT_EQ(m.from, "builder");
  EXPECT_EQ(MustMount("source=lib,target=/l").source, "lib");
}

TEST(MountFlags, QuotedFieldKeepsCommas) {
  MountSpec m = MustMount("\"target=/a,b\",\"src=x\\\"\"y\"");
  EXPECT_EQ(m.target, "/a,b");
  // CSV turns "" into ", then the shell lexer needs it escaped (as in BuildKit).
  EXPECT_EQ(m.source, "x\"y");
  EXPECT_EQ(MountError("\"src=x\"\"y\""),
            "failed to process \"x\\\"y\": unexpected end of statement while looking for "
            "matching double-quote");
}

TEST(MountFlags, ModeUidGid) {
  MountSpec m = MustMount("type=cache,target=/c,mode=0700,uid=1000,gid=1001");
  EXPECT_EQ(m.mode, 0700u);
  EXPECT_EQ(m.uid, 1000u);
  EXPECT_EQ(m.gid, 1001u);
  EXPECT_TRUE(m.mode_set && m.uid_set && m.gid_set);
  EXPECT_EQ(MustMount("type=secret,id=x,mode=777").mode, 0777u);
  EXPECT_EQ(MustMount("type=secret,id=x,uid=4294967295").uid, 4294967295u);
}

TEST(MountFlags, BadModeUidGid) {
  EXPECT_EQ(MountError("type=secret,id=x,mode=0800"), "invalid value 0800 for mode");
  EXPECT_EQ(MountError("type=secret,id=x,mode=rw"), "invalid value rw for mode");
  EXPECT_EQ(MountError("type=secret,id=x,mode=0o600"), "invalid value 0o600 for mode");
  EXPECT_EQ(MountError("type=secret,id=x,mode=40000000000"), "invalid value 40000000000 for mode");
  EXPECT_EQ(MountError("type=secret,id=x,uid=-1"), "invalid value -1 for uid");
  EXPECT_EQ(MountError("type=secret,id=x,uid=4294967296"), "invalid value 4294967296 for uid");
  EXPECT_EQ(MountError("type=secret,id=x,gid=abc"), "invalid value abc for gid");
  EXPECT_EQ(MountError("type=secret,id=x,gid="), "invalid value  for gid");
}

TEST(MountFlags, FileInfoNotAllowedOnBindAndTmpfs) {
  EXPECT_EQ(MountError("target=/a,mode=0644"), "mode not allowed for \"bind\" type mounts");
  EXPECT_EQ(MountError("type=tmpfs,target=/a,uid=1"), "uid not allowed for \"tmpfs\" type mounts");
  EXPECT_EQ(MountError("type=bind,target=/a,gid=1"), "gid not allowed for \"bind\" type mounts");
  // mode is checked before uid and gid.
  EXPECT_EQ(MountError("target=/a,gid=1,uid=1,mode=1"),
            "mode not allowed for \"bind\" type mounts");
}

TEST(MountFlags, TmpfsSize) {
  EXPECT_EQ(MustMount("type=tmpfs,target=/t,size=64m").size_bytes, 64 * 1024 * 1024);
  EXPECT_EQ(MustMount("type=tmpfs,target=/t,size=1024").size_bytes, 1024);
  EXPECT_EQ(MustMount("type=tmpfs,target=/t,size=1k").size_bytes, 1024);
  EXPECT_EQ(MustMount("type=tmpfs,target=/t,size=2KiB").size_bytes, 2048);
  EXPECT_EQ(MustMount("type=tmpfs,target=/t,size=1GB").size_bytes, int64_t{1} << 30);
  EXPECT_EQ(MustMount("type=tmpfs,target=/t,size=1.5m").size_bytes, 1572864);
  EXPECT_EQ(MustMount("type=tmpfs,target=/t,size=10 b").size_bytes, 10);
  EXPECT_FALSE(MustMount("type=tmpfs,target=/t").size_bytes.has_value());
  EXPECT_FALSE(MustMount("type=tmpfs,target=/t").readonly);
}

TEST(MountFlags, TmpfsBadSize) {
  EXPECT_EQ(MountError("type=tmpfs,target=/t,size=lots"), "invalid value for size: lots");
  EXPECT_EQ(MountError("type=tmpfs,target=/t,size=10x"), "invalid value for size: 10x");
  EXPECT_EQ(MountError("type=tmpfs,target=/t,size=10kbb"), "invalid value for size: 10kbb");
  EXPECT_EQ(MountError("type=tmpfs,target=/t,size=-1"), "invalid value for size: -1");
  EXPECT_EQ(MountError("type=tmpfs,target=/t,size="), "invalid value for size: ");
}

TEST(MountFlags, SizeOnlyForTmpfs) {
  EXPECT_EQ(MountError("target=/t,size=1m"), "unexpected key 'size' for mount type 'bind'");
  EXPECT_EQ(MountError("type=cache,target=/t,size=1m"),
            "unexpected key 'size' for mount type 'cache'");
  EXPECT_EQ(MountError("size=1m,type=tmpfs,target=/t"),
            "unexpected key 'size' for mount type 'bind'");
}

TEST(MountFlags, CacheDefaults) {
  MountSpec m = MustMount("type=cache,target=/root/.cache");
  EXPECT_EQ(m.id, "/root/.cache");
  EXPECT_EQ(m.sharing, CacheSharing::kShared);
  EXPECT_EQ(m.mode, 0755u);
  EXPECT_EQ(m.uid, 0u);
  EXPECT_EQ(m.gid, 0u);
  EXPECT_FALSE(m.mode_set);
  EXPECT_FALSE(m.readonly);
  EXPECT_EQ(MustMount("type=cache,target=/c,id=go").id, "go");
}

TEST(MountFlags, CacheSharing) {
  EXPECT_EQ(MustMount("type=cache,target=/c,sharing=private").sharing, CacheSharing::kPrivate);
  EXPECT_EQ(MustMount("type=cache,target=/c,sharing=LOCKED").sharing, CacheSharing::kLocked);
  EXPECT_EQ(MustMount("type=cache,target=/c,sharing=shared").sharing, CacheSharing::kShared);
  EXPECT_EQ(MountError("type=cache,target=/c,sharing=lockd"),
            "unsupported sharing value \"lockd\" (did you mean locked?)");
  EXPECT_EQ(MountError("type=cache,target=/c,sharing=exclusive"),
            "unsupported sharing value \"exclusive\"");
  EXPECT_EQ(MountError("target=/c,sharing=locked"), "invalid cache sharing set for bind mount");
  EXPECT_EQ(MountError("type=tmpfs,target=/c,sharing=locked"),
            "invalid cache sharing set for tmpfs mount");
}

// ---- secrets (commands_runmount.go validateMount + convert_secrets.go) --------------------

TEST(MountFlags, SecretDefaults) {
  MountSpec m = MustMount("type=secret,id=npmrc");
  EXPECT_EQ(m.type, MountType::kSecret);
  EXPECT_EQ(m.id, "npmrc");
  EXPECT_EQ(m.target, "/run/secrets/npmrc");
  EXPECT_TRUE(m.target_defaulted);
  EXPECT_FALSE(m.required);
  EXPECT_EQ(m.mode, 0400u);
  EXPECT_EQ(m.uid, 0u);
  EXPECT_EQ(m.gid, 0u);
  EXPECT_FALSE(m.mode_set || m.uid_set || m.gid_set);
  EXPECT_TRUE(m.readonly);
  EXPECT_FALSE(m.env.has_value());
}

TEST(MountFlags, SecretTargetDefaultUsesBasenameOfId) {
  EXPECT_EQ(MustMount("type=secret,id=a/b").target, "/run/secrets/b");
  EXPECT_EQ(MustMount("type=secret,id=a/b").id, "a/b");
}

TEST(MountFlags, SecretIdFromSource) {
  MountSpec m = MustMount("type=secret,src=aws");
  EXPECT_EQ(m.id, "aws");
  EXPECT_EQ(m.target, "/run/secrets/aws");
  EXPECT_EQ(MustMount("type=secret,source=gcp,target=/etc/gcp.json").id, "gcp");
}

TEST(MountFlags, SecretIdFromTargetBasename) {
  MountSpec m = MustMount("type=secret,target=/root/.npmrc");
  EXPECT_EQ(m.id, ".npmrc");
  EXPECT_EQ(m.target, "/root/.npmrc");
  EXPECT_FALSE(m.target_defaulted);
  EXPECT_EQ(MustMount("type=secret,target=/etc/conf/").id, "conf");
}

TEST(MountFlags, SecretErrors) {
  EXPECT_EQ(MountError("type=secret"), "invalid secret mount. one of source, target required");
  EXPECT_EQ(MountError("type=secret,required"),
            "invalid secret mount. one of source, target required");
  EXPECT_EQ(MountError("type=secret,id=a,src=b"), "both source and id can't be set");
  EXPECT_EQ(MountError("type=secret,id=a,from=stage"), "secret mount should not have a from");
  EXPECT_EQ(MountError("type=secret,id=a,sharing=locked"),
            "secret mount should not define sharing");
  EXPECT_EQ(MountError("type=secret,id=a,size=1m"),
            "unexpected key 'size' for mount type 'secret'");
}

TEST(MountFlags, SecretEnvOnly) {
  MountSpec m = MustMount("type=secret,id=token,env=API_TOKEN");
  EXPECT_EQ(m.env, "API_TOKEN");
  EXPECT_EQ(m.target, "");
  EXPECT_FALSE(m.target_defaulted);
  EXPECT_EQ(m.id, "token");
}

TEST(MountFlags, SecretEnvAndTarget) {
  MountSpec m = MustMount("type=secret,id=token,env=API_TOKEN,target=/tok");
  EXPECT_EQ(m.env, "API_TOKEN");
  EXPECT_EQ(m.target, "/tok");
}

TEST(MountFlags, SecretEnvBeforeType) { EXPECT_EQ(MustMount("env=X,type=secret,id=x").env, "X"); }

TEST(MountFlags, SecretEnvErrors) {
  EXPECT_EQ(MountError("type=secret,id=x,env="),
            "secret mount env name must not be empty (write env=NAME, or drop env to mount the "
            "secret as a file)");
  EXPECT_EQ(MountError("type=secret,id=x,env=$EMPTY", {{"EMPTY", ""}}),
            "secret mount env name must not be empty (write env=NAME, or drop env to mount the "
            "secret as a file)");
  EXPECT_EQ(MountError("type=cache,target=/c,env=X"),
            "unexpected key 'env' for mount type 'cache'");
}

TEST(MountFlags, SecretModeUidGid) {
  MountSpec m = MustMount("type=secret,id=x,uid=33");
  EXPECT_EQ(m.uid, 33u);
  EXPECT_EQ(m.gid, 0u);
  EXPECT_EQ(m.mode, 0400u);
  EXPECT_TRUE(m.uid_set);
  EXPECT_FALSE(m.mode_set);
  EXPECT_EQ(MustMount("type=secret,id=x,mode=0440").mode, 0440u);
}

TEST(MountFlags, SecretReadonlyCanBeOverridden) {
  EXPECT_FALSE(MustMount("type=secret,id=x,rw").readonly);
}

// ---- ssh (convert_ssh.go) -----------------------------------------------------------------

TEST(MountFlags, SshDefaults) {
  MountSpec m = MustMount("type=ssh");
  EXPECT_EQ(m.type, MountType::kSsh);
  EXPECT_EQ(m.id, "default");
  EXPECT_EQ(m.target, "/run/buildkit/ssh_agent.0");
  EXPECT_TRUE(m.target_defaulted);
  EXPECT_EQ(m.mode, 0600u);
  EXPECT_FALSE(m.required);
  EXPECT_TRUE(m.readonly);
  MountSpec n = MustMount("type=ssh,id=github,target=/agent,mode=0666,required");
  EXPECT_EQ(n.id, "github");
  EXPECT_EQ(n.target, "/agent");
  EXPECT_EQ(n.mode, 0666u);
  EXPECT_TRUE(n.required);
}

TEST(MountFlags, SshTargetsNumberedPerRun) {
  auto flags = ParseRunFlags({"--mount=type=ssh", "--mount=type=secret,id=s",
                              "--mount=type=ssh,target=/a", "--mount=type=ssh,id=x"});
  ASSERT_TRUE(flags.ok());
  ShellLex lex;
  VarMap vars;
  auto mounts = ExpandMounts(*flags, ShellExpander(lex, vars));
  ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
  ASSERT_EQ(mounts->size(), 4u);
  EXPECT_EQ((*mounts)[0].target, "/run/buildkit/ssh_agent.0");
  EXPECT_EQ((*mounts)[2].target, "/a");
  EXPECT_EQ((*mounts)[3].target, "/run/buildkit/ssh_agent.2");
}

TEST(MountFlags, SshRejectsSource) {
  EXPECT_EQ(MountError("type=ssh,src=x"), "ssh does not support source");
}

// ---- expansion (second pass) --------------------------------------------------------------

TEST(MountFlags, ExpandsValues) {
  VarMap vars = {{"X", "token"}, {"DIR", "/opt"}, {"T", "secret"}};
  MountSpec m = MustMount("type=$T,id=${X},target=$DIR/x", vars);
  EXPECT_EQ(m.type, MountType::kSecret);
  EXPECT_EQ(m.id, "token");
  EXPECT_EQ(m.target, "/opt/x");
}

TEST(MountFlags, ExpansionOfUnknownVariableIsEmpty) {
  EXPECT_EQ(MustMount("type=secret,id=x,target=$HOME/.npmrc").target, "/.npmrc");
}

TEST(MountFlags, ExpansionRemovesShellQuotes) {
  EXPECT_EQ(MustMount("target='/a b'").target, "/a b");
  EXPECT_EQ(MustMount("type=cache,target=/c,id=${ID:-fallback}").id, "fallback");
}

TEST(MountFlags, ExpandedTypeIsValidated) {
  EXPECT_EQ(MountError("type=$T,target=/a", {{"T", "volume"}}),
            "unsupported mount type \"volume\"");
}

TEST(MountFlags, ExpansionErrorsPassThrough) {
  EXPECT_EQ(MountError("type=secret,id=${X:?need X}"),
            "failed to process \"${X:?need X}\": X: need X");
}

TEST(MountFlags, CustomExpanderSeesEveryValue) {
  auto flags = ParseRunFlags({"--mount=type=secret,id=a,target=/t"});
  ASSERT_TRUE(flags.ok());
  std::vector<std::string> seen;
  WordExpander record = [&seen](std::string_view w) -> Result<std::string> {
    seen.emplace_back(w);
    return std::string(w);
  };
  ASSERT_TRUE(ExpandMounts(*flags, record).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"secret", "a", "/t"}));
}

// ---- ResolveTarget and cache key ----------------------------------------------------------

TEST(ResolveTarget, RelativeBindCacheTmpfsJoinWorkdir) {
  EXPECT_EQ(ResolveTarget(MustMount("target=src"), "/app"), "/app/src");
  EXPECT_EQ(ResolveTarget(MustMount("type=cache,target=./c"), "/w"), "/w/c");
  EXPECT_EQ(ResolveTarget(MustMount("type=tmpfs,target=../t"), "/w/x"), "/w/t");
  EXPECT_EQ(ResolveTarget(MustMount("target=/abs/"), "/app"), "/abs");
  EXPECT_EQ(ResolveTarget(MustMount("target=rel"), ""), "/rel");
  EXPECT_EQ(ResolveTarget(MustMount("target=rel"), "app"), "/app/rel");
}

TEST(ResolveTarget, SecretAndSshAreAbsoluteFromRoot) {
  EXPECT_EQ(ResolveTarget(MustMount("type=secret,id=x,target=tok"), "/app"), "/tok");
  EXPECT_EQ(ResolveTarget(MustMount("type=secret,id=x"), "/app"), "/run/secrets/x");
  EXPECT_EQ(ResolveTarget(MustMount("type=ssh,target=agent.sock"), "/app"), "/agent.sock");
  EXPECT_EQ(ResolveTarget(MustMount("type=secret,id=x,env=X"), "/app"), "");
}

TEST(MountSpecCacheKey, NamesFieldsCanonically) {
  MountSpec m = MustMount("type=secret,id=npmrc,required,uid=1");
  EXPECT_EQ(MountSpecCacheKey(m),
            "type=secret;id=\"npmrc\";target=\"/run/secrets/npmrc\";source=\"\";from=\"\";"
            "readonly=true;required=true;sharing=shared;mode=256;uid=1;gid=0;size=none;env=none");
}

TEST(MountSpecCacheKey, DiffersWhenAnyKeyedFieldDiffers) {
  const std::string base = MountSpecCacheKey(MustMount("type=secret,id=a"));
  for (const char* other :
       {"type=secret,id=b", "type=secret,id=a,target=/x", "type=secret,id=a,required",
        "type=secret,id=a,mode=0444", "type=secret,id=a,uid=1", "type=secret,id=a,gid=1",
        "type=secret,id=a,env=A", "type=secret,id=a,rw"}) {
    EXPECT_NE(MountSpecCacheKey(MustMount(other)), base) << other;
  }
  EXPECT_EQ(MountSpecCacheKey(MustMount("type=secret,src=a")), base);
}

TEST(MountTypeName, Names) {
  EXPECT_STREQ(MountTypeName(MountType::kBind), "bind");
  EXPECT_STREQ(MountTypeName(MountType::kCache), "cache");
  EXPECT_STREQ(MountTypeName(MountType::kTmpfs), "tmpfs");
  EXPECT_STREQ(MountTypeName(MountType::kSecret), "secret");
  EXPECT_STREQ(MountTypeName(MountType::kSsh), "ssh");
  EXPECT_STREQ(CacheSharingName(CacheSharing::kPrivate), "private");
}

}  // namespace
}  // namespace latchkey::frontend
