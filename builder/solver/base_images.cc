// BuildRun, FROM and --from sources: base images from oci-layout build contexts or the image
// store, and the read-only overlay views of stages and images that COPY --from and RUN
// --mount=from= read (build_run.h).

#include <memory>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "builder/image/digest.h"
#include "builder/image/layer_extract.h"
#include "builder/solver/build_run.h"

namespace latchkey::build {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<frontend::ImageConfig> RunResolver::Resolve(const std::string& ref,
                                                   const std::string& platform) {
  LK_ASSIGN_OR_RETURN(ResolvedImage * img, run_.ResolveImage(ref, platform));
  return img->image.config;
}

Result<ResolvedImage*> BuildRun::LoadFromLayout(const NamedContext& nc, const std::string& key) {
  LK_ASSIGN_OR_RETURN(auto index, image::ReadIndex(nc.path));
  const image::IndexEntry* pick = nullptr;
  for (const auto& e : index) {
    bool match = nc.tag.empty() ? (index.size() == 1 || e.ref_name == "latest")
                                : (e.ref_name == nc.tag || e.digest == nc.tag);
    if (match) {
      pick = &e;
      break;
    }
  }
  if (pick == nullptr) {
    return NotFoundError("build context \"" + nc.name + "\": no image " +
                         (nc.tag.empty() ? std::string("(the layout holds several; add :TAG)")
                                         : "\"" + nc.tag + "\"") +
                         " in the OCI layout " + nc.path);
  }
  // Copy the image's blobs into our store (verifying each digest), then load it from there.
  auto import_blob = [&](const std::string& digest) -> Status {
    if (!image::IsValidDigest(digest)) {
      return InvalidArgumentError("build context \"" + nc.name + "\": bad digest " + digest);
    }
    if (store_.blobs().Has(digest)) return Status::OK();
    std::string path = nc.path + "/blobs/sha256/" + std::string(image::DigestHex(digest));
    LK_ASSIGN_OR_RETURN(image::BlobInfo info, store_.blobs().PutFile(path));
    if (info.digest != digest) {
      return DataLossError("build context \"" + nc.name + "\": blob " + path + " has digest " +
                           info.digest + ", not " + digest);
    }
    return Status::OK();
  };
  LK_RETURN_IF_ERROR(import_blob(pick->digest));
  LK_ASSIGN_OR_RETURN(std::string manifest, store_.blobs().ReadBytes(pick->digest));
  nlohmann::json m = nlohmann::json::parse(manifest, nullptr, false);
  if (!m.is_object() || !m.contains("config") || !m.contains("layers")) {
    return InvalidArgumentError("build context \"" + nc.name + "\": " + pick->digest +
                                " is not an image manifest");
  }
  LK_RETURN_IF_ERROR(import_blob(m["config"].value("digest", "")));
  for (const auto& l : m["layers"]) LK_RETURN_IF_ERROR(import_blob(l.value("digest", "")));
  LK_ASSIGN_OR_RETURN(image::Image img, image::LoadImage(store_.blobs(), pick->digest));
  auto r = std::make_unique<ResolvedImage>();
  r->image = std::move(img);
  ResolvedImage* out = r.get();
  images_[key] = std::move(r);
  return out;
}

Result<ResolvedImage*> BuildRun::ResolveImage(const std::string& ref, const std::string& platform) {
  auto it = images_.find(ref);
  if (it != images_.end()) return it->second.get();
  for (const auto& nc : req_.named_contexts) {
    if (nc.name != Lower(ref)) continue;
    if (nc.kind == NamedContext::Kind::kDirectory) {
      return InvalidArgumentError("build context \"" + nc.name +
                                  "\" is a directory and cannot be used as a base image; "
                                  "pass an oci-layout:// context");
    }
    return LoadFromLayout(nc, ref);
  }
  auto r = std::make_unique<ResolvedImage>();
  LK_ASSIGN_OR_RETURN(
      r->image,
      StoreOrPull(ref, platform.empty() ? req_.frontend.target_platform : platform, &r->material));
  materials_.push_back(r->material);
  ResolvedImage* out = r.get();
  images_[ref] = std::move(r);
  return out;
}

std::string BuildRun::StageDisplay(int stage) const {
  const frontend::EvaluatedStage* es = eval_.Stage(stage);
  return "stage \"" + (es && !es->name.empty() ? es->name : std::to_string(stage)) + "\"";
}

// A read-only view of a stage's or image's filesystem (mounted once per build), or a named
// directory context, as a COPY source / bind mount source. `stage` >= 0 picks a stage.
Result<std::string> BuildRun::SourceView(int stage, const std::string& name, CopySourceRoot* root) {
  auto mount_view = [&](const std::vector<std::string>& lowers,
                        std::unique_ptr<OverlayMount>& view) -> Result<std::string> {
    if (!view) {
      std::string target = tmp_ + "/view-" + std::to_string(++views_);
      LK_RETURN_IF_ERROR(image::MakeDirs(target, 0755));
      LK_ASSIGN_OR_RETURN(OverlayMount m, OverlayMount::ReadOnly(lowers, empty_dir_, target));
      view = std::make_unique<OverlayMount>(std::move(m));
    }
    return view->path();
  };
  if (stage >= 0) {
    auto it = stages_.find(stage);
    if (it == stages_.end()) return InternalError("stage " + std::to_string(stage) + " not built");
    if (root) {
      root->is_context = false;
      root->ignore = nullptr;
      root->display = StageDisplay(stage);
    }
    if (!it->second.view) LK_RETURN_IF_ERROR(Unpack(step_vertex_, it->second.layers));
    return mount_view(LowerDirs(it->second.layers), it->second.view);
  }
  for (const auto& nc : req_.named_contexts) {
    if (nc.name == Lower(name) && nc.kind == NamedContext::Kind::kDirectory) {
      if (root) {
        root->is_context = true;
        root->ignore = nullptr;
        root->display = "build context \"" + nc.name + "\"";
      }
      return nc.path;
    }
  }
  LK_ASSIGN_OR_RETURN(ResolvedImage * img, ResolveImage(name));
  if (img->dirs.empty()) {
    for (const auto& l : img->image.layers) {
      LK_ASSIGN_OR_RETURN(std::string dir, image::ExtractLayer(store_.blobs(), l.digest, l.diff_id,
                                                               req_.state_dir, CheckCancelled));
      img->dirs.push_back(dir);
    }
  }
  if (root) {
    root->is_context = false;
    root->ignore = nullptr;
    root->display = "image \"" + name + "\"";
  }
  std::vector<std::string> lowers(img->dirs.rbegin(), img->dirs.rend());
  if (lowers.empty()) lowers.push_back(empty_dir_);
  return mount_view(lowers, img->view);
}

}  // namespace latchkey::build
