#include "results/run_file.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>

#include "core/error.h"
#include "core/files.h"
#include "core/h5.h"
#include "core/h5_content.h"
#include "core/strings.h"
#include "results/result_checks.h"

namespace aim::results {

namespace {

void set_config_attr(H5::Group& g, const std::string& key, const std::string& text) {
  std::visit([&](const auto& v) { h5::set_attr(g, key, v); }, typed_config_value(text));
}

std::vector<double> group_accuracy(const SplitResult& s) {
  std::vector<double> out;
  for (size_t g = 0; g < s.group_count.size(); ++g)
    out.push_back(s.group_count[g] ? double(s.group_correct[g]) / double(s.group_count[g]) : NAN);
  return out;
}

void write_root(H5::H5File& file, const RunRecord& r) {
  h5::set_attr(file, "schema_version", kSchemaVersion);
  h5::set_attr(file, "status", "complete");
  h5::set_attr(file, "run_id", r.run_id);
  h5::set_attr(file, "config_yaml", r.config_yaml);
  for (const auto& [k, v] : r.text) h5::set_attr(file, k, v);
  for (const auto& [k, v] : r.numbers) h5::set_attr(file, k, v);
  auto config = h5::ensure_group(file, "config");
  for (const auto& [k, v] : r.config) set_config_attr(config, k, v);
  config.close();
  for (const auto& [split, files] : r.skipped_files) {
    if (files.empty()) continue;
    auto g = h5::ensure_group(file, "data/" + split);
    h5::write_strings(g, "skipped_files", files);
    h5::set_attr(g, "skipped", int64_t(files.size()));
    g.close();
  }
}

// The session ledger as a table: one row per event, columns of equal length.
void write_sessions(H5::H5File& file, const RunRecord& r) {
  if (r.sessions.empty()) return;
  auto g = h5::ensure_group(file, "sessions");
  auto strings = [&](const char* name, auto get) {
    std::vector<std::string> v;
    for (const auto& row : r.sessions) v.push_back(get(row));
    h5::write_strings(g, name, v);
  };
  auto numbers = [&](const char* name, auto get) {
    std::vector<decltype(get(r.sessions[0]))> v;
    for (const auto& row : r.sessions) v.push_back(get(row));
    h5::write(g, name, v);
  };
  strings("event", [](const SessionRow& x) { return x.event; });
  strings("hosts", [](const SessionRow& x) { return x.hosts; });
  strings("slurm", [](const SessionRow& x) { return x.slurm; });
  strings("by", [](const SessionRow& x) { return x.by; });
  strings("cause", [](const SessionRow& x) { return x.cause; });
  numbers("time", [](const SessionRow& x) { return x.time; });
  numbers("exit_code", [](const SessionRow& x) { return x.exit_code; });
  numbers("checkpoint_epoch", [](const SessionRow& x) { return x.checkpoint_epoch; });
  numbers("checkpoint_step", [](const SessionRow& x) { return x.checkpoint_step; });
  numbers("lost_seconds", [](const SessionRow& x) { return x.lost_seconds; });
  g.close();
}

void write_curves(H5::H5File& file, const RunRecord& r) {
  auto curves = h5::ensure_group(file, "curves");
  h5::write(curves, "epoch", r.curves.epoch);
  for (const auto& [name, values] : r.curves.series) h5::write(curves, name, values);
  for (const auto& [split, c] : r.eval_curves) {
    auto g = h5::ensure_group(curves, "eval/" + split);
    h5::write(g, "epoch", c.epoch);
    h5::write(g, "accuracy", c.accuracy);
    h5::write(g, "worst_group_accuracy", c.worst_group_accuracy);
    h5::write(g, "loss", c.loss);
    g.close();
  }
  for (const auto& m : r.mask_curves) {
    auto g = h5::ensure_group(curves, "masks/stage_" + std::to_string(m.stage));
    h5::write(g, "active_mean", m.active_mean);
    h5::write(g, "active_std", m.active_std);
    h5::write(g, "target", m.target);
    h5::write(g, "histogram", m.histogram, {hsize_t(m.active_mean.size()), hsize_t(m.bins)});
    h5::set_attr(g, "bins", m.bins);
    g.close();
  }
  curves.close();
}

void write_kept_maps(H5::Group& g, const KeptMaps& k) {
  auto maps = h5::ensure_group(g, "maps");
  const hsize_t n = k.index.size(), hh = hsize_t(k.height), ww = hsize_t(k.width);
  h5::write(maps, "index", k.index);
  h5::write_raw(maps, "images", h5::Dtype::u8, k.images.data(), h5::Dtype::u8, {n, 3, hh, ww});
  if (!k.regions.empty()) h5::write_raw(maps, "region", h5::Dtype::u8, k.regions.data(), h5::Dtype::u8, {n, hh, ww});
  for (const auto& [name, m] : k.maps)
    h5::write_raw(maps, name, h5::Dtype::f16, m.half.data(), h5::Dtype::f16, {n, hsize_t(m.h), hsize_t(m.w)});
  maps.close();
}

void write_split(H5::H5File& file, const SplitResult& s) {
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
    for (const auto& [name, means] : s.group_means) h5::write(groups, name, means);
    groups.close();
  }
  if (!s.kept.empty()) write_kept_maps(g, s.kept);
  auto samples = h5::ensure_group(g, "samples");
  h5::write(samples, "label", s.label);
  h5::write(samples, "pred", s.pred);
  h5::write(samples, "group", s.group);
  for (const auto& [k, v] : s.per_sample) h5::write(samples, k, v);
  samples.close();
  g.close();
}

// Reads back what was written: a file that only looks complete is never renamed into place.
void verify_run_file(const std::string& tmp, const RunRecord& r) {
  RunRecord back = read_run_file(tmp);
  if (back.run_id != r.run_id || back.splits.size() != r.splits.size())
    throw Error(tmp + ": reads back differently from what was written");
}

}  // namespace

ConfigValue typed_config_value(const std::string& text) {
  size_t pos = 0;
  try {
    long long v = std::stoll(text, &pos);
    if (pos == text.size()) return int64_t(v);
  } catch (...) {
  }
  try {
    double v = std::stod(text, &pos);
    if (pos == text.size()) return v;
  } catch (...) {
  }
  return text;
}

void write_run_file(const std::string& path, const RunRecord& r) {
  h5::write_whole_file(
      path,
      [&](H5::H5File& file) {
        write_root(file, r);
        write_sessions(file, r);
        write_curves(file, r);
        for (const auto& s : r.splits) write_split(file, s);
        auto root = file.openGroup("/");
        h5::record_content_crc32(root);  // last: it covers everything written before it
        root.close();
      },
      [&](const std::string& tmp) { verify_run_file(tmp, r); });
}

RunRecord read_run_file(const std::string& path) {
  try {
    auto file = h5::open_file(path);
    return read_run_group(file.openGroup("/"), path);
  } catch (const H5::Exception& e) {
    throw DataError(path + ": unreadable result file (truncated or corrupt?): " + h5::detail(e));
  } catch (const DataError&) {
    throw;
  } catch (const Error& e) {  // cannot open: missing, truncated, not HDF5
    throw DataError(e.what());
  }
}

namespace {

// Every check below compares what a damaged file declares with what the schema
// (docs/hdf5-schema.md) says it must be, before anything is read into memory.
void expect_length(const H5::Group& g, const std::string& name, size_t actual, size_t expected) {
  if (actual != expected)
    throw DataError(h5::describe(g, name) + ": " + std::to_string(actual) + " values, expected " +
                    std::to_string(expected));
}

void check_yaml(const std::string& text, const std::string& where) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) throw DataError(where + " is not a YAML map");
  } catch (const YAML::Exception& e) {
    throw DataError(where + " is not valid YAML: " + e.what());
  }
}

std::string checked_run_id(const H5::Group& file, const std::string& path) {
  std::string id = h5::attr_string(file, "run_id");
  bool ok = !id.empty() && id.size() <= 128 && id[0] != '.';
  for (char c : id) ok = ok && (std::isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.');
  if (!ok) throw DataError(path + ": run_id '" + id + "' is not a run id");
  return id;
}

// /config's attributes as text: what typed_config_value makes of the text is what the file has.
void read_config(const H5::Group& g, RunRecord& r) {
  for (unsigned i = 0; i < unsigned(g.getNumAttrs()); ++i) {
    auto attr = g.openAttribute(i);
    const std::string name = attr.getName();
    const auto type = attr.getTypeClass();
    attr.close();
    if (type == H5T_STRING) r.config.emplace_back(name, h5::attr_string(g, name));
    else if (type == H5T_INTEGER) r.config.emplace_back(name, std::to_string(h5::attr_int(g, name)));
    else r.config.emplace_back(name, format_double(h5::attr_double(g, name)));
  }
}

// Root attributes: the fixed ones, then every other one as metadata, each read by name.
// Returns the file's schema_version.
int64_t read_root(const H5::Group& file, const std::string& path, RunRecord& r) {
  if (!h5::has_attr(file, "schema_version"))
    throw DataError(path + ": not an aimrun result file (no schema_version attribute)");
  int64_t version = h5::attr_int(file, "schema_version");
  if (version < 1 || version > kSchemaVersion)
    throw DataError(path + ": schema_version " + std::to_string(version) + " is newer than this aimrun (" +
                    std::to_string(kSchemaVersion) + ")");
  if (h5::attr_string(file, "status") != "complete") throw DataError(path + ": run is not complete");
  r.run_id = checked_run_id(file, path);
  r.config_yaml = h5::attr_string(file, "config_yaml");
  check_yaml(r.config_yaml, path + ": config_yaml");
  std::vector<std::string> names;
  for (unsigned i = 0; i < unsigned(file.getNumAttrs()); ++i) names.push_back(file.openAttribute(i).getName());
  for (const auto& name : names) {
    if (name == "config_yaml" || name == "run_id" || name == "status" || name == "schema_version" ||
        name == h5::kContentDigestAttr)
      continue;
    if (file.openAttribute(name).getTypeClass() == H5T_STRING) r.text[name] = h5::attr_string(file, name);
    else r.numbers[name] = h5::attr_double(file, name);
  }
  if (r.text.count("identity_yaml")) check_yaml(r.text.at("identity_yaml"), path + ": identity_yaml");
  if (h5::exists(file, "config")) read_config(file.openGroup("config"), r);
  r.schema_version = version;
  return version;
}

// A version-1 file as version 2 (docs/hdf5-schema.md, "Version history"): its `gradcam` was
// Grad-CAM at the last backbone stage, v2's `gradcam_backbone`; for vanilla and bottom-up
// that is also v2's `gradcam`, for AIM it is not (v2's reads the merged sparse map).
void upgrade_from_v1(RunRecord& r) {
  const bool aim = r.text.count("method") && r.text.at("method") == "aim";
  auto rename = [aim](auto& by_name, const std::string& from, const std::string& to) {
    auto it = by_name.find(from);
    if (it == by_name.end()) return;
    by_name[to] = it->second;
    if (aim) by_name.erase(from);
  };
  for (auto& s : r.splits) {
    rename(s.scalars, "epg_gradcam", "epg_gradcam_backbone");
    rename(s.per_sample, "epg_gradcam", "epg_gradcam_backbone");
    rename(s.kept.maps, "gradcam", "gradcam_backbone");
  }
  if (!r.text.count("explain")) {
    auto eval = YAML::Load(r.config_yaml)["eval"];
    r.text["explain"] = eval && eval["explain"] ? eval["explain"].Scalar() : "predicted";
  }
  if (!r.text.count("select")) r.text["select"] = "last";
  if (!r.numbers.count("selected_epoch") && !r.curves.epoch.empty()) r.numbers["selected_epoch"] = double(r.curves.epoch.back());
}

std::vector<std::string> child_names(const H5::Group& g) {
  std::vector<std::string> out;
  for (hsize_t i = 0; i < g.getNumObjs(); ++i) out.push_back(g.getObjnameByIdx(i));
  return out;
}

void read_sessions(const H5::Group& file, RunRecord& r) {
  if (!h5::exists(file, "sessions")) return;
  auto g = file.openGroup("sessions");
  auto event = h5::read_strings(g, "event");
  const size_t n = event.size();
  auto strings = [&](const char* name) {
    auto v = h5::read_strings(g, name);
    expect_length(g, name, v.size(), n);
    return v;
  };
  auto hosts = strings("hosts"), slurm = strings("slurm"), by = strings("by"), cause = strings("cause");
  auto time = h5::read<double>(g, "time"), lost = h5::read<double>(g, "lost_seconds");
  auto code = h5::read<int64_t>(g, "exit_code"), epoch = h5::read<int64_t>(g, "checkpoint_epoch"),
       step = h5::read<int64_t>(g, "checkpoint_step");
  for (const auto& [name, size] : std::vector<std::pair<const char*, size_t>>{
           {"time", time.size()}, {"lost_seconds", lost.size()}, {"exit_code", code.size()},
           {"checkpoint_epoch", epoch.size()}, {"checkpoint_step", step.size()}})
    expect_length(g, name, size, n);
  for (size_t i = 0; i < n; ++i)
    r.sessions.push_back({event[i], time[i], hosts[i], slurm[i], by[i], cause[i], code[i], epoch[i], step[i], lost[i]});
}

void read_curves(const H5::Group& file, RunRecord& r) {
  auto curves = file.openGroup("curves");
  r.curves.epoch = h5::read<int64_t>(curves, "epoch");
  const size_t epochs = r.curves.epoch.size();
  for (const auto& name : child_names(curves)) {
    if (name == "epoch" || curves.childObjType(name) != H5O_TYPE_DATASET) continue;
    r.curves.series[name] = h5::read<double>(curves, name);
    expect_length(curves, name, r.curves.series[name].size(), epochs);
  }
  if (h5::exists(curves, "eval")) {
    auto ev = curves.openGroup("eval");
    for (const auto& split : child_names(ev)) {
      auto g = ev.openGroup(split);
      EvalCurve c;
      c.epoch = h5::read<int64_t>(g, "epoch");
      c.accuracy = h5::read<double>(g, "accuracy");
      c.worst_group_accuracy = h5::read<double>(g, "worst_group_accuracy");
      c.loss = h5::read<double>(g, "loss");
      expect_length(g, "accuracy", c.accuracy.size(), c.epoch.size());
      expect_length(g, "worst_group_accuracy", c.worst_group_accuracy.size(), c.epoch.size());
      expect_length(g, "loss", c.loss.size(), c.epoch.size());
      r.eval_curves[split] = c;
    }
  }
  if (h5::exists(curves, "masks")) {
    auto masks = curves.openGroup("masks");
    for (const auto& name : child_names(masks)) {
      auto g = masks.openGroup(name);
      MaskCurve m;
      if (name.rfind("stage_", 0) != 0 || name.size() > 12 ||
          name.find_first_not_of("0123456789", 6) != std::string::npos || name.size() == 6)
        throw DataError(h5::describe(masks, name) + ": not a stage_<l> group");
      m.stage = std::stoll(name.substr(6));
      m.active_mean = h5::read<double>(g, "active_mean");
      m.active_std = h5::read<double>(g, "active_std");
      m.target = h5::read<double>(g, "target");
      m.bins = h5::attr_int(g, "bins");
      m.histogram = h5::read<double>(g, "histogram");
      expect_length(g, "active_std", m.active_std.size(), m.active_mean.size());
      expect_length(g, "target", m.target.size(), m.active_mean.size());
      if (m.bins < 0 || m.bins > 100000) throw DataError(h5::describe(g) + ": bins is " + std::to_string(m.bins));
      expect_length(g, "histogram", m.histogram.size(), m.active_mean.size() * size_t(m.bins));
      r.mask_curves.push_back(m);
    }
  }
}

void read_maps(const H5::Group& g, SplitResult& s) {
  auto maps = g.openGroup("maps");
  auto& k = s.kept;
  k.index = h5::read<int64_t>(maps, "index");
  const hsize_t n = k.index.size();
  auto dims = h5::shape(maps, "images");
  if (dims.size() != 4 || dims[0] != n || dims[1] != 3)
    throw DataError(h5::describe(maps, "images") + ": expected " + std::to_string(n) + " x 3 x H x W");
  k.images = h5::read<uint8_t>(maps, "images");
  k.height = int64_t(dims[2]);
  k.width = int64_t(dims[3]);
  if (h5::exists(maps, "region")) {
    if (h5::shape(maps, "region") != std::vector<hsize_t>{n, dims[2], dims[3]})
      throw DataError(h5::describe(maps, "region") + ": expected K x H x W like the images");
    k.regions = h5::read<uint8_t>(maps, "region");
  }
  for (const auto& name : child_names(maps)) {
    if (name == "index" || name == "images" || name == "region") continue;
    auto shape = h5::shape(maps, name);
    if (shape.size() != 3 || shape[0] != n) throw DataError(h5::describe(maps, name) + ": expected K x h x w");
    results::KeptMaps::Map m;
    m.h = int64_t(shape[1]);
    m.w = int64_t(shape[2]);
    m.half.resize(shape[0] * shape[1] * shape[2]);
    h5::read_raw(maps, name, h5::Dtype::f16, m.half.data(), shape);
    k.maps[name] = std::move(m);
  }
}

void read_samples(const H5::Group& g, SplitResult& s) {
  auto samples = g.openGroup("samples");
  const size_t n = size_t(s.n);
  using Column = std::pair<const char*, std::vector<int64_t>*>;
  for (auto [name, values] : {Column{"label", &s.label}, Column{"pred", &s.pred}, Column{"group", &s.group}}) {
    if (h5::shape(samples, name) != std::vector<hsize_t>{hsize_t(n)})
      throw DataError(h5::describe(samples, name) + ": expected " + std::to_string(n) + " values (n)");
    *values = h5::read<int64_t>(samples, name);
  }
  for (const auto& name : child_names(samples)) {
    if (name == "label" || name == "pred" || name == "group") continue;
    if (samples.childObjType(name) != H5O_TYPE_DATASET) continue;
    if (h5::shape(samples, name) != std::vector<hsize_t>{hsize_t(n)})
      throw DataError(h5::describe(samples, name) + ": expected " + std::to_string(n) + " values (n)");
    s.per_sample[name] = h5::read<float>(samples, name);
  }
}

SplitResult read_split(const H5::Group& eval, const std::string& split) {
  SplitResult s;
  s.split = split;
  auto g = eval.openGroup(split);
  s.n = h5::attr_int(g, "n");
  s.correct = h5::attr_int(g, "correct");
  s.accuracy = h5::attr_double(g, "accuracy");
  s.loss = h5::attr_double(g, "loss");
  s.worst_group_accuracy = h5::attr_double(g, "worst_group_accuracy");
  if (s.n < 0 || s.correct < 0 || s.correct > s.n)
    throw DataError(h5::describe(g) + ": n " + std::to_string(s.n) + ", correct " + std::to_string(s.correct));
  std::vector<std::string> names;
  for (unsigned a = 0; a < unsigned(g.getNumAttrs()); ++a) names.push_back(g.openAttribute(a).getName());
  for (const auto& name : names) {
    if (name == "n" || name == "correct" || name == "accuracy" || name == "loss" || name == "worst_group_accuracy")
      continue;
    s.scalars[name] = h5::attr_double(g, name);
  }
  if (h5::exists(g, "groups")) {
    auto groups = g.openGroup("groups");
    s.group_names = h5::read_strings(groups, "name");
    s.group_correct = h5::read<int64_t>(groups, "correct");
    s.group_count = h5::read<int64_t>(groups, "count");
    expect_length(groups, "correct", s.group_correct.size(), s.group_names.size());
    expect_length(groups, "count", s.group_count.size(), s.group_names.size());
    for (const auto& name : child_names(groups)) {  // per-group EPG (files before it have none)
      if (name.rfind("epg_", 0) != 0 || groups.childObjType(name) != H5O_TYPE_DATASET) continue;
      s.group_means[name] = h5::read<double>(groups, name);
      expect_length(groups, name, s.group_means[name].size(), s.group_names.size());
    }
  }
  if (h5::exists(g, "maps")) read_maps(g, s);
  read_samples(g, s);
  return s;
}

}  // namespace

RunRecord read_run_group(const H5::Group& file, const std::string& path) {
  RunRecord r;
  try {
    const int64_t version = read_root(file, path, r);
    read_sessions(file, r);
    read_curves(file, r);
    auto eval = file.openGroup("eval");
    for (const auto& split : child_names(eval)) r.splits.push_back(read_split(eval, split));
    // A file with its content check needs no other; one written before it has its derived
    // scalars checked against their parts instead (docs/hdf5-schema.md, "The content check").
    if (!check_result_content(file, path))
      for (const auto& s : r.splits) check_derived_scalars(s, path);
    if (version == 1) upgrade_from_v1(r);
  } catch (const H5::Exception& e) {
    throw DataError(path + ": unreadable result (truncated or corrupt?): " + h5::detail(e));
  } catch (const DataError&) {
    throw;
  } catch (const Error& e) {
    throw DataError(e.what());
  } catch (const std::exception& e) {  // std::bad_alloc, std::out_of_range, ...
    throw DataError(path + ": unreadable result: " + e.what());
  }
  return r;
}

}  // namespace aim::results
