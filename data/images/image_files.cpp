#include "data/images/image_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.h"

namespace fs = std::filesystem;

namespace aim::data {

std::vector<std::string> list_image_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    for (auto& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp") out.push_back(e.path().filename().string());
  }
  if (ec) throw DataError(dir + ": cannot list folder: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::shared_ptr<const Dataset> image_files_dataset(const std::vector<std::string>& paths, ImageListOptions options,
                                                   const std::string& dataset) {
  options.augment = false;
  options.skip_corrupt = false;
  options.packed_cache = false;
  std::vector<Sample> samples;
  for (const auto& p : paths) {
    Sample s;
    s.path = p;
    samples.push_back(std::move(s));
  }
  SplitInfo info;
  info.dataset = dataset;
  info.split = "files";
  return std::make_shared<ImageListDataset>(std::move(info), std::move(samples), options);
}

}  // namespace aim::data
