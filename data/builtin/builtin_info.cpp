// The built-in dataset's keys and layout (data/dataset_info.h), checked against the
// Fashion-MNIST label files alone; its factory is builtin_dataset.cpp.
#include "data/builtin/builtin_info.h"

#include "core/error.h"
#include "data/dataset_info.h"
#include "data/dataset_keys.h"

namespace aim::data {

namespace builtin {

FashionPlacesOptions options_from(const Config& cfg) {
  FashionPlacesOptions o;
  o.source_dir = cfg.get_string("dataset.source");
  o.canvas = cfg.get_int("dataset.canvas");
  o.classes = cfg.get_string("dataset.classes");
  o.correlation = cfg.get_float("dataset.correlation");
  auto scale = cfg.get_float_list("dataset.scale");
  if (scale.size() != 2 || !(scale[0] > 0 && scale[0] <= scale[1] && scale[1] < 1))
    cfg.fail("dataset.scale", "expected [min, max] with 0 < min <= max < 1 (the garment must not fill the canvas)");
  o.scale_min = scale[0];
  o.scale_max = scale[1];
  auto size = [&](const char* key) { return cfg.is_null(key) ? int64_t{-1} : cfg.get_int(key); };
  o.train_size = size("dataset.train_size");
  o.val_size = cfg.get_int("dataset.val_size");
  o.test_size = size("dataset.test_size");
  o.seed = uint64_t(cfg.get_int("dataset.seed"));
  o.task = cfg.get_string("dataset.task");
  o.pretrain_size = cfg.get_int("dataset.pretrain_size");
  o.pretrain_val_size = cfg.get_int("dataset.pretrain_val_size");
  o.pretrain_places = cfg.get_string("dataset.pretrain_places");
  o.ood_size = cfg.get_int("dataset.ood_size");
  return o;
}

// The pretraining task's splits, checked against the garments the fine-tuning task leaves.
DatasetLayout pretrain_layout(const Config& cfg) {
  if (cfg.get_int("dataset.ood_size") > 0)
    cfg.fail("dataset.ood_size", "the ood split belongs to the fine-tuning task (dataset.task: finetune)");
  const auto o = options_from(cfg);
  std::vector<int64_t> left;
  try {
    left = pretrain_garments_per_class(o);
  } catch (const DataError& e) {
    cfg.fail("dataset.source", e.what());
  } catch (const ConfigError& e) {
    cfg.fail("dataset.pretrain_size", e.what());
  }
  for (size_t c = 0; c < left.size(); ++c) {
    const auto need = [&](int64_t total) { return total / 10 + (int64_t(c) < total % 10 ? 1 : 0); };
    if (need(o.pretrain_size) + need(o.pretrain_val_size) > left[c])
      cfg.fail("dataset.pretrain_size",
               "class " + std::to_string(c) + " has " + std::to_string(left[c]) +
                   " Fashion-MNIST train garments that the fine-tuning task (dataset.classes, train_size, val_size, "
                   "seed) leaves out; dataset.pretrain_size " +
                   cfg.text("dataset.pretrain_size") + " and pretrain_val_size " +
                   cfg.text("dataset.pretrain_val_size") + " need " +
                   std::to_string(need(o.pretrain_size) + need(o.pretrain_val_size)));
  }
  return {{{"train", o.pretrain_size}, {"val", o.pretrain_val_size}}, {"val"}};
}

// The split sizes generate_fashion_places() will make, from the label files alone.
DatasetLayout layout(const Config& cfg) {
  FashionPlacesPools pools;
  try {
    pools = fashion_places_pools(cfg.get_string("dataset.source"), cfg.get_string("dataset.classes"));
  } catch (const DataError& e) {
    cfg.fail("dataset.source", e.what());
  }
  const int64_t val = cfg.get_int("dataset.val_size");
  if (val >= pools.train)
    cfg.fail("dataset.val_size", std::to_string(val) + " samples asked for, but Fashion-MNIST train holds " +
                                     std::to_string(pools.train) +
                                     " of these classes (val and train are drawn from them)");
  int64_t train = pools.train - val, test = pools.test;
  if (!cfg.is_null("dataset.train_size")) {
    if (cfg.get_int("dataset.train_size") > train)
      cfg.fail("dataset.train_size", "at most " + std::to_string(train) + " samples remain after dataset.val_size (" +
                                         std::to_string(val) + "), asked for " + cfg.text("dataset.train_size"));
    train = cfg.get_int("dataset.train_size");
  }
  if (cfg.get_string("dataset.task") == "pretrain") return pretrain_layout(cfg);
  if (cfg.get_string("dataset.pretrain_places") != "reserved")
    cfg.fail("dataset.pretrain_places", "applies to the pretraining task only (dataset.task: pretrain)");
  if (!cfg.is_null("dataset.test_size")) {
    if (cfg.get_int("dataset.test_size") > test)
      cfg.fail("dataset.test_size", "at most " + std::to_string(test) + " test samples are available, asked for " +
                                        cfg.text("dataset.test_size"));
    test = cfg.get_int("dataset.test_size");
  }
  DatasetLayout out{{{"train", train}, {"val", val}, {"test", test}}, {"val", "test"}};
  const int64_t ood = cfg.get_int("dataset.ood_size");
  if (ood > pools.test)
    cfg.fail("dataset.ood_size", "at most " + std::to_string(pools.test) + " test garments are available, asked for " +
                                     cfg.text("dataset.ood_size"));
  if (ood > 0) {
    out.split_sizes["ood"] = ood;
    out.eval_splits.push_back("ood");
  }
  return out;
}

void add_keys(Schema& s) {
  s.add(train_size_key());
  s.add(val_size_key());
  s.add(seed_key());
  s.add(correlation_key());
  s.add(KeySpec("dataset.source", ValueType::String, "/usr/share/datasets/fashion-mnist",
                "builtin: folder with the Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)")
            .not_identity()
            .existing_path());
  s.add(KeySpec("dataset.canvas", ValueType::Int, "64", "builtin: image side in pixels").range(16.0, 1024.0));
  s.add(KeySpec(
            "dataset.classes", ValueType::String, "binary",
            "builtin: 'binary' (tops vs footwear, 2 places, 4 groups like Waterbirds) or 'all' (10 classes, 10 places)")
            .one_of({"binary", "all"}));
  s.add(KeySpec("dataset.scale", ValueType::FloatList, "[0.4, 0.65]",
                "builtin: range of the garment's side as a fraction of the canvas side (the garment must not fill the "
                "canvas)")
            .length(2)
            .above(0.0)
            .below(1.0)
            .ascending());
  s.add(KeySpec("dataset.test_size", ValueType::Int, "~", "builtin: test samples (~: all of Fashion-MNIST test)")
            .range(1.0, std::nullopt));
  // In the identity only when not at their defaults, so the runs made before they existed keep their ids.
  s.add(KeySpec("dataset.task", ValueType::String, "finetune",
                "builtin: finetune (the benchmark: dataset.classes on their places, splits train/val/test and "
                "optionally ood) or pretrain (all 10 classes on 6 other place families drawn independently of the "
                "class, garments the fine-tuning task of the same dataset.classes/train_size/val_size/seed leaves "
                "out; splits train/val; docs/datasets-builtin.md)")
            .one_of({"finetune", "pretrain"})
            .only_when("dataset.task", {"!finetune"}));
  s.add(KeySpec("dataset.pretrain_size", ValueType::Int, "10000",
                "builtin, dataset.task pretrain: training samples (balanced over the 10 classes)")
            .range(10.0, std::nullopt)
            .only_when("dataset.task", {"pretrain"}));
  s.add(KeySpec("dataset.pretrain_val_size", ValueType::Int, "1000",
                "builtin, dataset.task pretrain: validation samples (balanced over the 10 classes)")
            .range(1.0, std::nullopt)
            .only_when("dataset.task", {"pretrain"}));
  s.add(KeySpec("dataset.pretrain_places", ValueType::String, "reserved",
                "builtin, dataset.task pretrain: the place families drawn: reserved (the 6 families 10-15), unused "
                "(every family that neither the fine-tuning task of dataset.classes nor the ood split uses: 14 with "
                "classes binary, the same 6 with all) or varied (unused, each background's colour channels in one "
                "of their 6 orders at random)")
            .one_of({"reserved", "unused", "varied"})
            .only_when("dataset.pretrain_places", {"!reserved"}));
  s.add(KeySpec("dataset.ood_size", ValueType::Int, "0",
                "builtin: samples of the ood split (the first test garments, on 2 place families neither task uses, "
                "balanced over (class, place)); evaluated like test; 0: no ood split")
            .range(0.0, std::nullopt)
            .only_when("dataset.ood_size", {"!0"}));
}

}  // namespace builtin

DatasetInfo builtin_dataset_info() {
  return {"builtin", "Fashion-MNIST garments on procedural backgrounds (a miniature Waterbirds)", builtin::add_keys,
          builtin::layout};
}

}  // namespace aim::data
