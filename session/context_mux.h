// ContextMux: the client's latchkey.v1.ContextSync when a build has --build-context
// directories besides its main context: each request's `context` field ("" the main context,
// else a --build-context name) picks the ContextService that answers it (docs/daemon.md,
// "Context transfer").
//
// Thread-safety: Add before the session opens; the handlers run concurrently on gRPC's threads
// and only read the map.
#ifndef LATCHKEY_SESSION_CONTEXT_MUX_H_
#define LATCHKEY_SESSION_CONTEXT_MUX_H_

#include <map>
#include <string>

#include "api/latchkey/v1/control.grpc.pb.h"
#include "session/context_service.h"

namespace latchkey::session {

class ContextMux final : public latchkey::v1::ContextSync::Service {
 public:
  // Serves `service` (not owned; must outlive this) as context `name` ("" = the main one).
  void Add(const std::string& name, ContextService* service) { contexts_[name] = service; }

  // The named context's answers; NOT_FOUND "context \"<name>\" is not served by this session"
  // for a name not added.
  grpc::Status Manifest(grpc::ServerContext* context, const latchkey::v1::ManifestRequest* request,
                        grpc::ServerWriter<latchkey::v1::ContextEntry>* writer) override;
  grpc::Status ReadFiles(grpc::ServerContext* context,
                         const latchkey::v1::ReadFilesRequest* request,
                         grpc::ServerWriter<latchkey::v1::FileChunk>* writer) override;

 private:
  ContextService* Find(const std::string& name) const;

  std::map<std::string, ContextService*> contexts_;
};

}  // namespace latchkey::session

#endif  // LATCHKEY_SESSION_CONTEXT_MUX_H_
