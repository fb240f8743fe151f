#include "session/context_mux.h"

namespace latchkey::session {
namespace {

grpc::Status NotServed(const std::string& name) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND,
                      "context \"" + name + "\" is not served by this session");
}

}  // namespace

ContextService* ContextMux::Find(const std::string& name) const {
  auto it = contexts_.find(name);
  return it == contexts_.end() ? nullptr : it->second;
}

grpc::Status ContextMux::Manifest(grpc::ServerContext* context,
                                  const latchkey::v1::ManifestRequest* request,
                                  grpc::ServerWriter<latchkey::v1::ContextEntry>* writer) {
  ContextService* s = Find(request->context());
  if (s == nullptr) return NotServed(request->context());
  return s->Manifest(context, request, writer);
}

grpc::Status ContextMux::ReadFiles(grpc::ServerContext* context,
                                   const latchkey::v1::ReadFilesRequest* request,
                                   grpc::ServerWriter<latchkey::v1::FileChunk>* writer) {
  ContextService* s = Find(request->context());
  if (s == nullptr) return NotServed(request->context());
  return s->ReadFiles(context, request, writer);
}

}  // namespace latchkey::session
