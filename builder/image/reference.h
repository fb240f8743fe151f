// Image references parsed and normalised exactly as Docker does (github.com/distribution/
// reference: ParseNormalizedNamed, FamiliarString, TagNameOnly), for the local store, the CLI and
// (later) the registry client.
//
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [ domain "/" ] path-component [ "/" path-component ]*
//   domain    := host [ ":" port ]   host: DNS-style labels (any case) or "[" IPv6 "]"
//   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//   digest    := algorithm ":" hex (sha256: 64 lowercase hex digits)
//
// Normalisation: a first component with no "." or ":" that is not "localhost" (and is
// lowercase) is not a domain, so the domain is "docker.io"; a docker.io name with one component
// gets "library/"; "index.docker.io" is "docker.io". Familiar form reverses this:
// "docker.io/library/debian:bookworm" is "debian:bookworm".
//
// Thread-safety: pure functions.
#ifndef LATCHKEY_BUILDER_IMAGE_REFERENCE_H_
#define LATCHKEY_BUILDER_IMAGE_REFERENCE_H_

#include <string>
#include <string_view>

#include "latchkey/status.h"

namespace latchkey::image {

struct Reference {
  std::string domain;  // "docker.io", "registry.example.com:5000"; "" only in odd cases
  std::string path;    // "library/debian", "team/app"
  std::string tag;     // "" when none was given
  std::string digest;  // "sha256:..." or ""

  // "docker.io/library/debian"
  std::string Name() const;
  // "debian" (docker.io and the library/ prefix of official images dropped)
  std::string FamiliarName() const;
  // "docker.io/library/debian:bookworm[@sha256:...]"
  std::string String() const;
  // "debian:bookworm[@sha256:...]"
  std::string FamiliarString() const;

  friend bool operator==(const Reference&, const Reference&) = default;
};

// Docker's ParseNormalizedNamed. INVALID_ARGUMENT with Docker's texts:
//   "invalid reference format"
//   "invalid reference format: repository name must be lowercase"
//   "repository name must not be more than 255 characters"
//   "invalid repository name (<s>), cannot specify 64-byte hexadecimal strings"
//   "unsupported digest algorithm", "invalid checksum digest length",
//   "invalid checksum digest format"
Result<Reference> ParseNormalizedReference(std::string_view s);

// Docker's TagNameOnly: `ref` with tag "latest" when it has neither tag nor digest.
Reference WithDefaultTag(Reference ref);

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_REFERENCE_H_
