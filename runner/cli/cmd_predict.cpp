// aimrun predict: a trained run (or imported weights) on new images.
#include "core/files.h"
#include "runner/cli/command_list.h"
#include "runner/cli/commands.h"
#include "runner/predict.h"

namespace aim::cli {

void add_predict_command(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  auto* cmd = app.add_subcommand(
      "predict", command_help("predict"));
  auto* run = cmd->add_option("--run", o->run_dir, "a run folder (<output_dir>/runs/<run-id>) with checkpoint.pt");
  auto* config = cmd->add_option("--config", o->config, "a config whose model.weights names an imported weights file");
  run->excludes(config);
  cmd->add_option("overrides", o->overrides, "key=value overrides of the run's or the given config");
  cmd->add_option("--num-classes", o->num_classes, "with --config: classes of the head (default: from the weights file)");
  auto* folder = cmd->add_option("--images", o->images_dir,
                                 "a folder of .jpg/.jpeg/.png/.bmp images, prepared like the dataset's evaluation "
                                 "prepares its images (dataset.resize, dataset.image_size; builtin: dataset.canvas)");
  auto* h5 = cmd->add_option("--h5", o->images_h5, "an HDF5 file with float32 NCHW 'images'")->check(CLI::ExistingFile);
  folder->excludes(h5);
  // --size (a square resize) is gone: it gave other logits than evaluation.
  auto size = std::make_shared<std::vector<int64_t>>();
  cmd->add_option("--size", *size, "removed: images are prepared by the dataset's evaluation transform")
      ->expected(2)
      ->group("");
  cmd->add_option("--batch-size", o->batch_size, "images per forward pass")->check(CLI::PositiveNumber);
  cmd->add_option("--out", o->out, "output HDF5 file")->required();
  cmd->callback([o, size] {
    if (o->run_dir.empty() && o->config.empty()) throw CLI::RequiredError("--run or --config");
    if (o->images_dir.empty() && o->images_h5.empty()) throw CLI::RequiredError("--images or --h5");
    if (!size->empty())
      throw CLI::ValidationError("--size", "removed: predict prepares images with the dataset's evaluation transform; "
                                           "set its size with dataset.image_size=N dataset.resize=N (builtin: dataset.canvas=N)");
    check_output_file("--out", o->out);
    predict(*o);
  });
}

}  // namespace aim::cli
