#include "results/run_file.h"

#include <cmath>

#include "core/error.h"
#include "core/files.h"
#include "core/h5.h"
#include "core/strings.h"

namespace aim::results {

namespace {

// Config values become typed attributes (pandas gets numbers, not strings).
void set_config_attr(H5::Group& g, const std::string& key, const std::string& text) {
  size_t pos = 0;
  try {
    long long v = std::stoll(text, &pos);
    if (pos == text.size()) return h5::set_attr(g, key, int64_t(v));
  } catch (...) {
  }
  try {
    double v = std::stod(text, &pos);
    if (pos == text.size()) return h5::set_attr(g, key, v);
  } catch (...) {
  }
  h5::set_attr(g, key, text);
}

std::vector<double> group_accuracy(const SplitResult& s) {
  std::vector<double> out;
  for (size_t g = 0; g < s.group_count.size(); ++g)
    out.push_back(s.group_count[g] ? double(s.group_correct[g]) / double(s.group_count[g]) : NAN);
  return out;
}

}  // namespace

void write_run_file(const std::string& path, const RunRecord& r) {
  std::string tmp = temp_path_for(path);
  try {
    auto file = h5::create_file(tmp);
    h5::set_attr(file, "schema_version", kSchemaVersion);
    h5::set_attr(file, "status", "complete");
    h5::set_attr(file, "run_id", r.run_id);
    h5::set_attr(file, "config_yaml", r.config_yaml);
    for (const auto& [k, v] : r.text) h5::set_attr(file, k, v);
    for (const auto& [k, v] : r.numbers) h5::set_attr(file, k, v);

    auto config = h5::ensure_group(file, "config");
    for (const auto& [k, v] : r.config) set_config_attr(config, k, v);

    auto curves = h5::ensure_group(file, "curves");
    h5::write(curves, "epoch", r.curves.epoch);
    for (const auto& [name, values] : r.curves.series) h5::write(curves, name, values);
    for (const auto& [split, c] : r.eval_curves) {
      auto g = h5::ensure_group(curves, "eval/" + split);
      h5::write(g, "epoch", c.epoch);
      h5::write(g, "accuracy", c.accuracy);
      h5::write(g, "worst_group_accuracy", c.worst_group_accuracy);
      h5::write(g, "loss", c.loss);
    }
    for (const auto& m : r.mask_curves) {
      auto g = h5::ensure_group(curves, "masks/stage_" + std::to_string(m.stage));
      h5::write(g, "active_mean", m.active_mean);
      h5::write(g, "active_std", m.active_std);
      h5::write(g, "target", m.target);
      h5::write(g, "histogram", m.histogram, {hsize_t(m.active_mean.size()), hsize_t(m.bins)});
      h5::set_attr(g, "bins", m.bins);
    }

    for (const auto& [split, files] : r.skipped_files) {
      if (files.empty()) continue;
      auto g = h5::ensure_group(file, "data/" + split);
      h5::write_strings(g, "skipped_files", files);
      h5::set_attr(g, "skipped", int64_t(files.size()));
    }

    for (const auto& s : r.splits) {
      auto g = h5::ensure_group(file, "eval/" + s.split);
      h5::set_attr(g, "n", s.n);
      h5::set_attr(g, "correct", s.correct);
      h5::set_attr(g, "accuracy", s.accuracy);
      h5::set_attr(g, "loss", s.loss);
      h5::set_attr(g, "worst_group_accuracy", s.worst_group_accuracy);
      for (const auto& [k, v] : s.scalars) h5::set_attr(g, k, v);
      if (!s.group_names.empty()) {
        auto groups = h5::ensure_group(g, "groups");
        h5::write_strings(groups, "name", s.group_names);
        h5::write(groups, "correct", s.group_correct);
        h5::write(groups, "count", s.group_count);
        h5::write(groups, "accuracy", group_accuracy(s));
      }
      if (!s.kept.empty()) {
        const auto& k = s.kept;
        auto maps = h5::ensure_group(g, "maps");
        const hsize_t n = k.index.size(), hh = hsize_t(k.height), ww = hsize_t(k.width);
        h5::write(maps, "index", k.index);
        h5::write_raw(maps, "images", h5::Dtype::u8, k.images.data(), h5::Dtype::u8, {n, 3, hh, ww});
        if (!k.regions.empty()) h5::write_raw(maps, "region", h5::Dtype::u8, k.regions.data(), h5::Dtype::u8, {n, hh, ww});
        for (const auto& [name, m] : k.maps)
          h5::write_raw(maps, name, h5::Dtype::f16, m.half.data(), h5::Dtype::f16, {n, hsize_t(m.h), hsize_t(m.w)});
      }
      auto samples = h5::ensure_group(g, "samples");
      h5::write(samples, "label", s.label);
      h5::write(samples, "pred", s.pred);
      h5::write(samples, "group", s.group);
      for (const auto& [k, v] : s.per_sample) h5::write(samples, k, v);
    }
  } catch (const H5::Exception& e) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write result file: " + e.getDetailMsg());
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  commit_file(tmp, path);
}

RunRecord read_run_file(const std::string& path) {
  try {
    auto file = h5::open_file(path);
    return read_run_group(file.openGroup("/"), path);
  } catch (const H5::Exception& e) {
    throw DataError(path + ": unreadable result file (truncated or corrupt?): " + e.getDetailMsg());
  } catch (const DataError&) {
    throw;
  } catch (const Error& e) {  // cannot open: missing, truncated, not HDF5
    throw DataError(e.what());
  }
}

RunRecord read_run_group(const H5::Group& file, const std::string& path) {
  RunRecord r;
  try {
    if (!h5::has_attr(file, "schema_version"))
      throw DataError(path + ": not an aimrun result file (no schema_version attribute)");
    int64_t version = h5::attr_int(file, "schema_version");
    if (version < 1 || version > kSchemaVersion)
      throw DataError(path + ": schema_version " + std::to_string(version) + " is newer than this aimrun (" +
                      std::to_string(kSchemaVersion) + ")");
    if (h5::attr_string(file, "status") != "complete") throw DataError(path + ": run is not complete");
    r.run_id = h5::attr_string(file, "run_id");
    r.config_yaml = h5::attr_string(file, "config_yaml");
    // Root attributes other than the fixed ones are metadata.
    for (unsigned i = 0; i < unsigned(file.getNumAttrs()); ++i) {
      auto attr = file.openAttribute(i);
      std::string name = attr.getName();
      if (name == "config_yaml" || name == "run_id" || name == "status" || name == "schema_version") continue;
      if (attr.getTypeClass() == H5T_STRING) r.text[name] = h5::attr_string(file, name);
      else r.numbers[name] = h5::attr_double(file, name);
    }
    auto curves = file.openGroup("curves");
    r.curves.epoch = h5::read<int64_t>(curves, "epoch");
    for (hsize_t i = 0; i < curves.getNumObjs(); ++i) {
      std::string name = curves.getObjnameByIdx(i);
      if (name == "epoch" || curves.childObjType(name) != H5O_TYPE_DATASET) continue;
      r.curves.series[name] = h5::read<double>(curves, name);
    }
    if (h5::exists(curves, "eval")) {
      auto ev = curves.openGroup("eval");
      for (hsize_t i = 0; i < ev.getNumObjs(); ++i) {
        std::string split = ev.getObjnameByIdx(i);
        auto g = ev.openGroup(split);
        EvalCurve c;
        c.epoch = h5::read<int64_t>(g, "epoch");
        c.accuracy = h5::read<double>(g, "accuracy");
        c.worst_group_accuracy = h5::read<double>(g, "worst_group_accuracy");
        c.loss = h5::read<double>(g, "loss");
        r.eval_curves[split] = c;
      }
    }
    if (h5::exists(curves, "masks")) {
      auto masks = curves.openGroup("masks");
      for (hsize_t i = 0; i < masks.getNumObjs(); ++i) {
        std::string name = masks.getObjnameByIdx(i);
        auto g = masks.openGroup(name);
        MaskCurve m;
        m.stage = std::stoll(name.substr(name.find('_') + 1));
        m.active_mean = h5::read<double>(g, "active_mean");
        m.active_std = h5::read<double>(g, "active_std");
        m.target = h5::read<double>(g, "target");
        m.histogram = h5::read<double>(g, "histogram");
        m.bins = h5::attr_int(g, "bins");
        r.mask_curves.push_back(m);
      }
    }
    auto eval = file.openGroup("eval");
    for (hsize_t i = 0; i < eval.getNumObjs(); ++i) {
      SplitResult s;
      s.split = eval.getObjnameByIdx(i);
      auto g = eval.openGroup(s.split);
      s.n = h5::attr_int(g, "n");
      s.correct = h5::attr_int(g, "correct");
      s.accuracy = h5::attr_double(g, "accuracy");
      s.loss = h5::attr_double(g, "loss");
      s.worst_group_accuracy = h5::attr_double(g, "worst_group_accuracy");
      for (unsigned a = 0; a < unsigned(g.getNumAttrs()); ++a) {
        std::string name = g.openAttribute(a).getName();
        if (name == "n" || name == "correct" || name == "accuracy" || name == "loss" || name == "worst_group_accuracy")
          continue;
        s.scalars[name] = h5::attr_double(g, name);
      }
      if (h5::exists(g, "groups")) {
        auto groups = g.openGroup("groups");
        s.group_names = h5::read_strings(groups, "name");
        s.group_correct = h5::read<int64_t>(groups, "correct");
        s.group_count = h5::read<int64_t>(groups, "count");
      }
      if (h5::exists(g, "maps")) {
        auto maps = g.openGroup("maps");
        auto& k = s.kept;
        k.index = h5::read<int64_t>(maps, "index");
        std::vector<hsize_t> dims;
        k.images = h5::read<uint8_t>(maps, "images", &dims);
        if (dims.size() == 4) {
          k.height = int64_t(dims[2]);
          k.width = int64_t(dims[3]);
        }
        if (h5::exists(maps, "region")) k.regions = h5::read<uint8_t>(maps, "region");
        for (hsize_t i = 0; i < maps.getNumObjs(); ++i) {
          std::string name = maps.getObjnameByIdx(i);
          if (name == "index" || name == "images" || name == "region") continue;
          auto shape = h5::shape(maps, name);
          if (shape.size() != 3) throw DataError(h5::describe(maps, name) + ": expected K x h x w");
          results::KeptMaps::Map m;
          m.h = int64_t(shape[1]);
          m.w = int64_t(shape[2]);
          m.half.resize(shape[0] * shape[1] * shape[2]);
          h5::read_raw(maps, name, h5::Dtype::f16, m.half.data(), shape);
          k.maps[name] = std::move(m);
        }
      }
      auto samples = g.openGroup("samples");
      s.label = h5::read<int64_t>(samples, "label");
      s.pred = h5::read<int64_t>(samples, "pred");
      s.group = h5::read<int64_t>(samples, "group");
      for (hsize_t k = 0; k < samples.getNumObjs(); ++k) {
        std::string name = samples.getObjnameByIdx(k);
        if (name == "label" || name == "pred" || name == "group") continue;
        if (samples.childObjType(name) != H5O_TYPE_DATASET) continue;
        s.per_sample[name] = h5::read<float>(samples, name);
      }
      r.splits.push_back(std::move(s));
    }
  } catch (const H5::Exception& e) {
    throw DataError(path + ": unreadable result (truncated or corrupt?): " + e.getDetailMsg());
  } catch (const DataError&) {
    throw;
  } catch (const Error& e) {
    throw DataError(e.what());
  }
  return r;
}

}  // namespace aim::results
