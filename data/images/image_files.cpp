#include "data/images/image_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/error.h"

namespace fs = std::filesystem;

namespace aim::data {

namespace {

const char* const kImageExtensions[] = {".jpeg", ".jpg", ".png", ".bmp"};

std::string in_case(std::string s, int (*to)(int)) {
  for (auto& c : s) c = char(to(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

bool is_image_file(const std::string& name) {
  const std::string ext = in_case(fs::path(name).extension().string(), std::tolower);
  for (const char* e : kImageExtensions)
    if (ext == e) return true;
  return false;
}

std::vector<std::string> list_image_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && is_image_file(e.path().filename().string())) out.push_back(e.path().filename().string());
  if (ec) throw DataError(dir + ": cannot list folder: " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

std::string find_image_file(const std::string& dir, const std::string& stem) {
  for (const char* e : kImageExtensions)
    for (const std::string& ext : {in_case(e, std::toupper), std::string(e)})
      if (fs::exists(dir + "/" + stem + ext)) return dir + "/" + stem + ext;
  return "";
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
