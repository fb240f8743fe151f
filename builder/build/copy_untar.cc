#include "builder/build/copy_untar.h"

namespace latchkey::build {

Status UnpackTar(int fd, int dest_fd, std::string_view display) {
  return image::UnpackArchive(fd, dest_fd, image::AddUnpackOptions(display));
}

}  // namespace latchkey::build
