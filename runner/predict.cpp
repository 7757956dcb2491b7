#include "runner/predict.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "aim/registry.h"
#include "aim/weights.h"
#include "core/error.h"
#include "core/files.h"
#include "core/h5.h"
#include "data/registry.h"
#ifdef AIM_WITH_OPENCV
#include "data/images/image_files.h"
#endif
#include "runner/device.h"
#include "runner/trained_run.h"
#include "runner/schema.h"

namespace fs = std::filesystem;

namespace aim {

namespace {

struct Inputs {
  torch::Tensor images;  // [N,3,H,W] float32, normalised
  std::vector<std::string> files;
};

// The folder's image files, prepared by the dataset's evaluation transform (the same
// geometry and normalisation evaluate uses, so a file gets the logits evaluation gives it).
Inputs read_folder(const std::string& dir, const Config& cfg) {
#ifndef AIM_WITH_OPENCV
  (void)cfg;
  throw Error(dir + ": reading image folders needs OpenCV; this aimrun was built without it (use --h5)");
#else
  if (!fs::is_directory(dir)) throw Error(dir + ": not a folder");
  std::vector<std::string> files;
  for (const auto& name : data::list_image_files(dir)) files.push_back((fs::path(dir) / name).string());
  if (files.empty()) throw Error(dir + ": no .jpg, .jpeg, .png or .bmp images");
  auto ds = data::dataset_of_files(cfg, files);
  std::vector<int64_t> all(files.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = int64_t(i);
  return {ds->get_batch(all, std::nullopt).images, files};
#endif
}

Inputs read_h5(const std::string& path) {
  auto file = h5::open_file(path);
  auto dims = h5::shape(file, "images");
  if (dims.size() != 4 || dims[1] != 3)
    throw DataError(h5::describe(file, "images") + ": expected a float32 N x 3 x H x W dataset");
  auto images = torch::empty({int64_t(dims[0]), 3, int64_t(dims[2]), int64_t(dims[3])});
  h5::read_raw(file, "images", h5::Dtype::f32, images.data_ptr(), dims);
  return {images, {}};
}

}  // namespace

int64_t predict(const PredictOptions& o) {
  std::shared_ptr<model::Model> model;
  std::vector<std::string> class_names;
  Config cfg;
  std::string source;
  if (!o.run_dir.empty()) {
    auto run = load_trained_run(o.run_dir, o.overrides);
    cfg = run.config;
    model = run.model;
    class_names = run.class_names;
    source = o.run_dir;
  } else {
    cfg = load_run_config(o.config, o.overrides);
    int64_t classes = o.num_classes;
    if (classes <= 0) {
      classes = model::classes_in_configured_weights(cfg);
      if (classes == 0) throw Error("--config needs model.weights or --num-classes");
    }
    model = model::make_model(cfg, classes);
    source = o.config;
  }
  const auto names = run_names(cfg);
  model->to(select_device(cfg, 0));
  const auto device = device_of(*model);
  model->eval();
  Inputs in = !o.images_h5.empty() ? read_h5(o.images_h5) : read_folder(o.images_dir, cfg);
  const int64_t n = in.images.size(0);

  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> logits, masks_by_stage, merged;
  std::vector<std::vector<torch::Tensor>> stage_masks(model->mask_stages().size());
  for (int64_t start = 0; start < n; start += o.batch_size) {
    auto out = model->forward(in.images.slice(0, start, std::min(n, start + o.batch_size)).to(device));
    logits.push_back(out.logits.cpu());
    for (size_t k = 0; k < out.masks.size(); ++k) stage_masks[k].push_back(out.masks[k].squeeze(1).to(torch::kUInt8).cpu());
    if (out.merged_mask.defined()) merged.push_back(out.merged_mask.squeeze(1).to(torch::kUInt8).cpu());
  }
  auto all_logits = torch::cat(logits).to(torch::kFloat).contiguous();
  auto pred = all_logits.argmax(1).contiguous();

  ensure_dir(fs::path(o.out).parent_path().empty() ? "." : fs::path(o.out).parent_path().string());
  const auto stages = model->mask_stages();
  auto fill = [&](H5::H5File& file) {
    h5::set_attr(file, "source", source);
    h5::set_attr(file, "method", names.method);
    h5::set_attr(file, "backbone", names.backbone);
    h5::write_raw(file, "logits", h5::Dtype::f32, all_logits.data_ptr(), h5::Dtype::f32,
                  {hsize_t(n), hsize_t(all_logits.size(1))});
    h5::write_raw(file, "pred", h5::Dtype::i64, pred.data_ptr(), h5::Dtype::i64, {hsize_t(n)});
    if (!class_names.empty()) h5::write_strings(file, "class_names", class_names);
    if (!in.files.empty()) h5::write_strings(file, "files", in.files);
    auto write_mask = [&](H5::Group& g, const std::string& name, const torch::Tensor& m) {
      auto c = m.contiguous();
      h5::write_raw(g, name, h5::Dtype::u8, c.data_ptr(), h5::Dtype::u8,
                    {hsize_t(c.size(0)), hsize_t(c.size(1)), hsize_t(c.size(2))});
    };
    if (!stages.empty()) {
      auto g = h5::ensure_group(file, "masks");
      for (size_t k = 0; k < stages.size(); ++k)
        write_mask(g, "stage_" + std::to_string(stages[k]), torch::cat(stage_masks[k]));
      write_mask(file, "merged_mask", torch::cat(merged));
    }
  };
  auto verify = [&](const std::string& tmp) {
    auto back = h5::open_file(tmp);
    if (h5::read<int64_t>(back, "pred").size() != size_t(n)) throw Error(tmp + ": reads back differently from what was written");
  };
  h5::write_whole_file(o.out, fill, verify);
  spdlog::info("predicted {} images with {} ({}), written to {}", n, names.method, source, o.out);
  return n;
}

}  // namespace aim
