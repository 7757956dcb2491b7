#pragma once
// Image files outside a dataset's own layout (aimrun predict --images): one listing of the
// file types every image reader accepts, and a split of such files prepared with a
// dataset's evaluation transform, so that a file gets the logits evaluation would give it.
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/images/image_list_dataset.h"

namespace aim::data {

// Whether `name` has the extension of an image file: .jpg .jpeg .png .bmp, any case.
bool is_image_file(const std::string& name);
// Sorted names (not paths) of the image files directly in `dir` (is_image_file). Throws
// aim::DataError when the folder cannot be listed.
std::vector<std::string> list_image_files(const std::string& dir);
// The path of the image file <dir>/<stem><extension> for an image extension in upper or
// lower case (.JPEG, .jpeg, .JPG, .jpg, .PNG, .png, .BMP, .bmp: the first that exists), or
// "" when there is none.
std::string find_image_file(const std::string& dir, const std::string& stem);

// The files as an unlabelled split ("files") of `dataset`, read with the evaluation
// geometry and normalisation of `options` (no augmentation, cache or skipping: a file that
// cannot be decoded is an error naming it).
std::shared_ptr<const Dataset> image_files_dataset(const std::vector<std::string>& paths, ImageListOptions options,
                                                   const std::string& dataset);

}  // namespace aim::data
