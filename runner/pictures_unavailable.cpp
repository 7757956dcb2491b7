// Pictures need OpenCV (drawing and PNG); a build without it says so instead.
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "runner/pictures.h"

namespace aim {

void write_picture_grid(const std::string& path, model::Model&, const data::Dataset&, const std::vector<int64_t>&,
                        const std::vector<std::string>&, const PictureOptions&) {
  spdlog::warn("{} not written: this aimrun was built without OpenCV", path);
}

}  // namespace aim
