// Our ResNets and ConvNeXt against torchvision's: the same weights (exported by
// scripts/export_torchvision_weights.py) must give the same logits, and weight files that do
// not fit must be rejected with every offending key named.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <iostream>

#include "aim/registry.h"
#include "core/error.h"
#include "core/h5.h"
#include "runner/schema.h"
#include "test_util.h"

namespace aim::test {
namespace {

const std::string kPython = "/usr/bin/python3";

// Runs the export script; `extra` adds options (e.g. --inputs). One thread, as our side uses.
void export_weights(const std::string& model, const std::string& out, const std::string& extra = "") {
  auto r = run_command("OMP_NUM_THREADS=1 " + kPython + " " + std::string(AIM_SOURCE_DIR) +
                       "/scripts/export_torchvision_weights.py " + model + " " + out + " " + extra);
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

torch::Tensor read_tensor(const std::string& path, const std::string& name) {
  auto file = h5::open_file(path);
  std::vector<hsize_t> dims;
  auto data = h5::read<float>(file, name, &dims);
  std::vector<int64_t> sizes(dims.begin(), dims.end());
  return torch::from_blob(data.data(), sizes, torch::kFloat).clone();
}

std::shared_ptr<model::Model> build_model(const TempDir& dir, const std::string& backbone, int64_t num_classes,
                                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> overrides = {"method.name=vanilla", "model.backbone=" + backbone};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  auto cfg = load_run_config(dir.write("config.yaml", "seed: 0\n"), overrides);
  return model::make_model(cfg, num_classes);
}

struct ParityCase {
  std::string model;
  int height, width;
};
// Readable test names in ctest's listing instead of the struct's bytes.
void PrintTo(const ParityCase& c, std::ostream* os) { *os << c.model << " " << c.height << "x" << c.width; }

class ParityLogits : public ::testing::TestWithParam<ParityCase> {};

TEST_P(ParityLogits, MatchTorchvision) {
  const auto& c = GetParam();
  TempDir dir;
  const auto weights = dir.file("weights.h5"), ref = dir.file("reference.h5");
  // --perturb: a fresh torchvision model has identity BatchNorms and a 1e-6 ConvNeXt layer
  // scale, which would let a wrong block or an unloaded buffer pass.
  ASSERT_NO_FATAL_FAILURE(export_weights(c.model, weights,
                                         "--seed 7 --perturb --inputs " + std::to_string(c.height) + " " +
                                             std::to_string(c.width) + " 2 --logits-out " + ref));
  auto model = build_model(dir, c.model, 1000, {"model.weights=" + weights});
  model->eval();
  auto images = read_tensor(ref, "images"), theirs = read_tensor(ref, "logits");
  torch::NoGradGuard no_grad;
  auto ours = model->forward(images).logits;
  ASSERT_EQ(ours.sizes(), theirs.sizes());

  // Float32 through 18-50 layers in a different operation order (our mean vs their
  // AdaptiveAvgPool, oneDNN vs native kernels): 1e-4 relative to the largest logit.
  const double scale = std::max(1.0, theirs.abs().max().item<double>());
  const double diff = (ours - theirs).abs().max().item<double>();
  std::cout << c.model << " " << c.height << "x" << c.width << ": max |ours - theirs| = " << diff
            << ", max |theirs| = " << scale << ", relative " << diff / scale << "\n";
  EXPECT_LE(diff, 1e-4 * scale);
}

INSTANTIATE_TEST_SUITE_P(Torchvision, ParityLogits,
                         ::testing::Values(ParityCase{"resnet18", 224, 224}, ParityCase{"resnet18", 96, 160},
                                           ParityCase{"resnet50", 224, 224}, ParityCase{"resnet50", 96, 160},
                                           ParityCase{"convnext_tiny", 224, 224},
                                           ParityCase{"convnext_tiny", 96, 160}),
                         [](const auto& info) {
                           return info.param.model + "_" + std::to_string(info.param.height) + "x" +
                                  std::to_string(info.param.width);
                         });

// Weight files that do not fit, made by editing a correct resnet18 export.
class ParityImport : public ::testing::Test {
 protected:
  void SetUp() override {
    weights_ = dir_.file("resnet18.h5");
    ASSERT_NO_FATAL_FAILURE(export_weights("resnet18", weights_, "--seed 1 --perturb"));
  }
  std::string load_error(int64_t num_classes = 1000, bool allow_new_head = false) {
    return test::error_of<Error>([&] {
      build_model(dir_, "resnet18", num_classes,
           {"model.weights=" + weights_, std::string("model.allow_new_head=") + (allow_new_head ? "true" : "false")});
    });
  }
  TempDir dir_;
  std::string weights_;
};

TEST_F(ParityImport, LoadsEveryTensorIncludingInt64Buffers) {
  auto model = build_model(dir_, "resnet18", 1000, {"model.weights=" + weights_});
  auto params = model->named_parameters();
  auto buffers = model->named_buffers();
  EXPECT_TRUE(torch::equal(params["backbone.layer3.1.conv2.weight"], read_tensor(weights_, "layer3.1.conv2.weight")));
  EXPECT_TRUE(torch::equal(params["head.weight"], read_tensor(weights_, "fc.weight")));
  EXPECT_TRUE(torch::equal(buffers["backbone.bn1.running_var"], read_tensor(weights_, "bn1.running_var")));
  auto file = h5::open_file(weights_);
  std::vector<hsize_t> dims;
  auto tracked = h5::read<int64_t>(file, "layer2.0.downsample.1.num_batches_tracked", &dims);
  EXPECT_TRUE(dims.empty());
  auto ours = buffers["backbone.layer2.0.downsample.1.num_batches_tracked"];
  EXPECT_EQ(ours.scalar_type(), torch::kLong);
  EXPECT_EQ(ours.item<int64_t>(), tracked.at(0));
  EXPECT_NE(tracked.at(0), 0);  // --perturb set it, so equality means it was copied
}

TEST_F(ParityImport, MissingKeysAreNamed) {
  {
    auto file = h5::open_file(weights_, true);
    file.unlink("layer1.0.bn1.running_var");
    file.unlink("layer4.1.conv2.weight");
  }
  auto msg = load_error();
  EXPECT_NE(msg.find(weights_), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.weights"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer1.0.bn1.running_var"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer4.1.conv2.weight"), std::string::npos) << msg;
}

TEST_F(ParityImport, UnexpectedKeysAreNamed) {
  {
    auto file = h5::open_file(weights_, true);
    std::vector<float> v = {1, 2, 3};
    h5::write(file, "layer5.0.conv1.weight", v);
    h5::write(file, "extra", v);
  }
  auto msg = load_error();
  EXPECT_NE(msg.find(weights_), std::string::npos) << msg;
  EXPECT_NE(msg.find("unexpected"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer5.0.conv1.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("extra"), std::string::npos) << msg;
}

TEST_F(ParityImport, ShapeMismatchNamesBothShapes) {
  {
    auto file = h5::open_file(weights_, true);
    std::vector<float> v(128 * 64, 0.5f);
    h5::write(file, "layer2.0.conv1.weight", v, {128, 64, 1, 1});
  }
  auto msg = load_error();
  EXPECT_NE(msg.find(weights_), std::string::npos) << msg;
  EXPECT_NE(msg.find("layer2.0.conv1.weight (file [128, 64, 1, 1], model [128, 64, 3, 3])"), std::string::npos) << msg;
}

TEST_F(ParityImport, HeadOfAnotherShapeNeedsAllowNewHead) {
  auto msg = load_error(10, false);
  EXPECT_NE(msg.find("fc.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("allow_new_head"), std::string::npos) << msg;

  auto model = build_model(dir_, "resnet18", 10, {"model.weights=" + weights_, "model.allow_new_head=true"});
  auto params = model->named_parameters();
  EXPECT_TRUE(torch::equal(params["backbone.conv1.weight"], read_tensor(weights_, "conv1.weight")));
  EXPECT_EQ(params["head.weight"].sizes(), torch::IntArrayRef({10, 512}));
  EXPECT_EQ(params["head.bias"].sizes(), torch::IntArrayRef({10}));
  model->eval();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model->forward(torch::randn({2, 3, 64, 64})).logits.sizes(), torch::IntArrayRef({2, 10}));
}

// Each backbone's four stages have the channels and strides it declares.
TEST(ParityStages, ChannelsAndStrides) {
  for (const std::string name : {"resnet18", "resnet50", "convnext_tiny"}) {
    TempDir dir;
    auto model = build_model(dir, name, 10);
    auto backbone = model->backbone();
    backbone->eval();
    torch::NoGradGuard no_grad;
    auto stages = backbone->forward_stages(torch::randn({1, 3, 64, 64}));
    ASSERT_EQ(stages.size(), 4u) << name;
    for (int i = 0; i < 4; ++i) {
      const int64_t side = 64 / backbone->stage_strides()[i];
      EXPECT_EQ(stages[i].sizes(), torch::IntArrayRef({1, backbone->stage_channels()[i], side, side}))
          << name << " stage " << i;
    }
  }
}

// ConvNeXt's stochastic depth draws in training only: eval stays deterministic.
TEST(ParityStages, ConvNextDropPathOnlyInTraining) {
  TempDir dir;
  auto model = build_model(dir, "convnext_tiny", 10, {"model.drop_path=0.5"});
  auto x = torch::randn({4, 3, 64, 64});
  torch::NoGradGuard no_grad;
  model->eval();
  EXPECT_TRUE(torch::equal(model->forward(x).logits, model->forward(x).logits));
  model->train();
  EXPECT_FALSE(torch::equal(model->forward(x).logits, model->forward(x).logits));
}

}  // namespace
}  // namespace aim::test
