// Lexical path operations on '/'-separated paths, with Go's path package semantics (the
// Dockerfile frontend must match BuildKit byte for byte). Nothing here touches the file system:
// symlinks are not resolved; for that see OpenInRoot.
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BASE_PATH_H_
#define LATCHKEY_BASE_PATH_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace latchkey::base {

// Go's path.Clean: collapses repeated '/', drops "." elements, resolves ".." against the
// preceding element (a ".." at the root of an absolute path is dropped; leading ".." of a
// relative path is kept), and removes a trailing '/'. The empty path is ".".
// CleanPath("a//b/../c/") == "a/c", CleanPath("/../x") == "/x", CleanPath("../x") == "../x".
std::string CleanPath(std::string_view path);

// Go's path.Join: the non-empty elements joined with '/', then cleaned; "" when all are empty.
// JoinPath({"/", "a", "../b"}) == "/b". An absolute later element does NOT reset the result
// (JoinPath({"a", "/b"}) == "a/b"); use ResolvePath for that.
std::string JoinPath(std::initializer_list<std::string_view> elems);

// `path` resolved lexically against the directory `base`: CleanPath(path) when it is absolute,
// else CleanPath(base + "/" + path).
std::string ResolvePath(std::string_view base, std::string_view path);

// `path` as an absolute path confined to "/": CleanPath("/" + path), so no ".." can climb above
// the root. RootedPath("../../etc/x") == "/etc/x", RootedPath("") == "/".
std::string RootedPath(std::string_view path);

// The elements of RootedPath(path), without the root: RootedComponents("a/../b//c") ==
// {"b", "c"}; {} for the root itself.
std::vector<std::string> RootedComponents(std::string_view path);

// Everything before the last '/': DirName("a/b") == "a", DirName("/a") == "/", DirName("a") ==
// ".". Not cleaned (DirName("a/b/") == "a/b").
std::string DirName(std::string_view path);

// Go's path.Base: the last element after removing trailing slashes; "." for "", "/" for "/".
std::string BaseName(std::string_view path);

}  // namespace latchkey::base

#endif  // LATCHKEY_BASE_PATH_H_
