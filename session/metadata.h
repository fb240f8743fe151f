// The gRPC metadata keys that name a session on the Session call: BuildKit's HTTP headers
// (session/session.go, session/manager.go: X-Docker-Expose-Session-Uuid, -Name, -Sharedkey,
// -Grpc-Method), lower-cased as gRPC sends every metadata key. The same keys on latchkey's
// latchkey.v1.Control/Session as on BuildKit's moby.buildkit.v1.Control/Session and the Docker
// Engine's POST /session.
#ifndef LATCHKEY_SESSION_METADATA_H_
#define LATCHKEY_SESSION_METADATA_H_

namespace latchkey::session {

// The session id; required, unique among a daemon's open sessions.
inline constexpr char kSessionIdKey[] = "x-docker-expose-session-uuid";
// A display name (BuildKit: the context directory's base name).
inline constexpr char kSessionNameKey[] = "x-docker-expose-session-name";
// BuildKit's shared key (a hash naming the client's context); recorded, not interpreted.
inline constexpr char kSessionSharedKeyKey[] = "x-docker-expose-session-sharedkey";
// One value per method the client serves on the tunnel, "/<service>/<method>".
inline constexpr char kSessionMethodKey[] = "x-docker-expose-session-grpc-method";

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_METADATA_H_
