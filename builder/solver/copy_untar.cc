#include "builder/solver/copy_untar.h"

#include "builder/solver/build_run.h"

namespace latchkey::build {

Status UnpackTar(int fd, int dest_fd, std::string_view display) {
  image::UnpackOptions options = image::AddUnpackOptions(display);
  options.cancel = CheckCancelled;  // Ctrl-C stops an ADD between entries
  return image::UnpackArchive(fd, dest_fd, options);
}

}  // namespace latchkey::build
