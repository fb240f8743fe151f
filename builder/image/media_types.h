// OCI media types and annotation keys used by the image writer and the local store.
#ifndef LATCHKEY_BUILDER_IMAGE_MEDIA_TYPES_H_
#define LATCHKEY_BUILDER_IMAGE_MEDIA_TYPES_H_

namespace latchkey::image {

inline constexpr const char* kMediaTypeImageIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kMediaTypeManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kMediaTypeConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kMediaTypeLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kMediaTypeLayerTar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kMediaTypeLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kMediaTypeDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kMediaTypeDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kMediaTypeDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kAnnotationRefName = "org.opencontainers.image.ref.name";
// The full image name BuildKit and containerd write into index.json
// ("docker.io/library/app:dev"); `docker load` and containerd read it.
inline constexpr const char* kAnnotationImageName = "io.containerd.image.name";
inline constexpr const char* kOciLayoutFile = "{\"imageLayoutVersion\":\"1.0.0\"}";

// OCI whiteout names inside layer tars.
inline constexpr const char* kWhiteoutPrefix = ".wh.";
inline constexpr const char* kWhiteoutOpaque = ".wh..wh..opq";

}  // namespace latchkey::image

#endif  // LATCHKEY_BUILDER_IMAGE_MEDIA_TYPES_H_
