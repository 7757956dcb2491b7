#include "results/report.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/config.h"
#include "core/files.h"
#include "core/h5.h"
#include "core/isolate.h"
#include "core/strings.h"
#include "results/collection.h"
#include "results/run_file.h"

namespace fs = std::filesystem;

namespace aim::results {

namespace {

std::map<std::string, std::string> flat_yaml(const std::string& text) {
  std::map<std::string, std::string> out;
  FlatConfig flat;
  YAML::Node root = YAML::Load(text);
  if (root.IsMap()) flatten_into(flat, "", root, "");
  for (const auto& [k, v] : flat) {
    if (v.value.IsScalar()) out[k] = v.value.Scalar();
    else if (v.value.IsNull()) out[k] = "~";
    else {
      YAML::Emitter em;
      em << YAML::Flow << v.value;
      out[k] = em.c_str();
    }
  }
  return out;
}

struct Stat {
  std::vector<double> values;
  void add(double v) {
    if (std::isfinite(v)) values.push_back(v);
  }
  double mean() const {
    double s = 0;
    for (double v : values) s += v;
    return values.empty() ? NAN : s / double(values.size());
  }
  double std() const {  // sample standard deviation (ddof = 1), as pandas reports it
    if (values.size() < 2) return NAN;
    double m = mean(), s = 0;
    for (double v : values) s += (v - m) * (v - m);
    return std::sqrt(s / double(values.size() - 1));
  }
};

std::string fmt_reference(const ReferenceValue& v, const std::string& format) {
  char buf[64];
  if (format == "csv") std::snprintf(buf, sizeof buf, "%.4f", v.mean);
  else if (!v.std) std::snprintf(buf, sizeof buf, "%.1f", v.mean);
  else if (format == "latex") std::snprintf(buf, sizeof buf, "%.1f $\\pm$ %.1f", v.mean, *v.std);
  else std::snprintf(buf, sizeof buf, "%.1f ± %.1f", v.mean, *v.std);
  return buf;
}

const SplitResult* find_split(const RunRecord& r, const std::string& name) {
  for (const auto& s : r.splits)
    if (s.split == name) return &s;
  return nullptr;
}

int method_rank(const std::string& m) {
  static const std::vector<std::string> order = {"vanilla", "bottom_up", "aim"};
  auto it = std::find(order.begin(), order.end(), m);
  return it == order.end() ? int(order.size()) : int(it - order.begin());
}

std::string fmt_stat(const Stat& s, bool percent, const std::string& format) {
  if (s.values.empty()) return "-";
  double scale = percent ? 100.0 : 1.0;
  char buf[64];
  if (format == "csv") {
    std::snprintf(buf, sizeof buf, "%.4f", s.mean() * scale);
    return buf;
  }
  if (std::isnan(s.std())) std::snprintf(buf, sizeof buf, "%.1f", s.mean() * scale);
  else if (format == "latex") std::snprintf(buf, sizeof buf, "%.1f $\\pm$ %.1f", s.mean() * scale, s.std() * scale);
  else std::snprintf(buf, sizeof buf, "%.1f ± %.1f", s.mean() * scale, s.std() * scale);
  return buf;
}

// The samples whose masks the models were least sure about, over all runs: for a person to
// review (the paper's future work). Mask confidence = logit margin x agreement under
// augmentation (docs/evaluation.md).
void write_least_confident(const std::vector<const FoundRun*>& runs, int count, std::ostream& out) {
  struct Row {
    float confidence, margin, agreement;
    std::string run, method;
    int64_t index, label, pred;
  };
  std::vector<Row> rows;
  for (const auto* r : runs) {
    const SplitResult* s = find_split(r->record, "test");
    if (!s || !s->per_sample.count("mask_confidence")) continue;
    const auto& c = s->per_sample.at("mask_confidence");
    auto method = r->record.text.count("method") ? r->record.text.at("method") : "?";
    for (size_t i = 0; i < c.size(); ++i)
      rows.push_back({c[i], s->per_sample.at("mask_margin")[i], s->per_sample.at("mask_agreement")[i], r->record.run_id,
                      method, int64_t(i), s->label[i], s->pred[i]});
  }
  if (rows.empty() || count <= 0) return;
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.confidence < b.confidence; });
  rows.resize(std::min(rows.size(), size_t(count)));
  out << "\nLeast confident masks (test split; see <output_dir>/runs/<run>/pictures/test_least_confident.png):\n\n"
      << "| run | method | sample | label | pred | mask confidence | margin | agreement |\n"
      << "|-----|--------|--------|-------|------|-----------------|--------|-----------|\n";
  for (const auto& r : rows) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "| %s | %s | %lld | %lld | %lld | %.3f | %.3f | %.3f |\n", r.run.c_str(),
                  r.method.c_str(), (long long)r.index, (long long)r.label, (long long)r.pred, r.confidence, r.margin,
                  r.agreement);
    out << buf;
  }
}

// What a child process found in a .h5 file: "done", "collection", or "<state>\n<why>".
std::string classify_h5(const std::string& path, bool run_folder) {
  if (!run_folder && is_collection(path)) {
    runs_in_collection(path);  // every run read, as the caller will
    return "collection";
  }
  try {
    read_run_file(path);
    return "done";
  } catch (const std::exception& e) {
    // Foreign: an HDF5 file of somebody else's; one that does not even open is damaged.
    bool foreign = false;
    try {
      auto file = h5::open_file(path);
      foreign = !run_folder && !h5::has_attr(file, "schema_version");
    } catch (...) {
    }
    return std::string(foreign ? "foreign" : "unreadable") + "\n" + e.what();
  }
}

}  // namespace

std::vector<FoundRun> read_h5_checked(const std::string& path, bool run_folder) {
  auto checked = run_isolated([&] { return classify_h5(path, run_folder); });
  if (!checked.ok) return {{path, "unreadable", checked.output, {}}};
  if (checked.output == "collection") {
    try {
      return runs_in_collection(path);
    } catch (const std::exception& e) {
      return {{path, "unreadable", e.what(), {}}};
    }
  }
  FoundRun f;
  f.path = path;
  if (checked.output == "done") {
    try {  // the same reading the child survived
      f.record = read_run_file(path);
      f.state = "done";
    } catch (const std::exception& e) {
      f.state = "unreadable";
      f.detail = e.what();
    }
  } else {
    auto nl = checked.output.find('\n');
    f.state = checked.output.substr(0, nl);
    f.detail = nl == std::string::npos ? "" : checked.output.substr(nl + 1);
  }
  return {f};
}

std::vector<FoundRun> find_runs(const std::string& dir) {
  std::vector<FoundRun> out;
  if (fs::is_regular_file(dir)) return read_h5_checked(dir, false);
  if (!fs::is_directory(dir)) {
    out.push_back({dir, "unreadable", fs::exists(dir) ? "neither a folder nor a collection (aimrun collect)" : "no such folder", {}});
    return out;
  }
  std::set<std::string> seen_dirs, seen_files;
  std::vector<fs::path> run_dirs, h5_files;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink |
                                                           fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    const auto& p = it->path();
    std::error_code ec;
    if (it->is_directory(ec)) {
      if (fs::exists(p / "config.yaml") || fs::exists(p / "result.h5")) {
        auto canon = fs::canonical(p, ec).string();
        if (seen_dirs.insert(canon).second) run_dirs.push_back(p);
      }
    } else if (p.extension() == ".h5" && p.filename() != "result.h5" && p.filename().string()[0] != '.') {
      auto canon = fs::canonical(p, ec).string();
      if (seen_files.insert(canon).second) h5_files.push_back(p);
    }
  }
  std::sort(run_dirs.begin(), run_dirs.end());
  std::sort(h5_files.begin(), h5_files.end());
  for (const auto& d : run_dirs) {
    out.push_back(inspect_run_folder(d.string()));
  }
  for (const auto& p : h5_files)
    for (auto& f : read_h5_checked(p.string(), false)) out.push_back(std::move(f));
  // The same run reached twice (a run folder and a collection holding it) counts once.
  std::map<std::string, std::string> first_path;
  for (auto& f : out) {
    if (f.state != "done") continue;
    auto [it, inserted] = first_path.emplace(f.record.run_id, f.path);
    if (!inserted) {
      f.state = "duplicate";
      f.detail = "the same run as " + it->second;
    }
  }
  return out;
}

FoundRun inspect_run_folder(const std::string& dir) {
  const fs::path d(dir);
  FoundRun unreadable;
  if (fs::exists(d / "result.h5")) {
    auto found = read_h5_checked((d / "result.h5").string(), true);
    if (found.size() == 1 && found[0].state == "done") return found[0];
    unreadable = found.empty() ? FoundRun{(d / "result.h5").string(), "unreadable", "?", {}} : found[0];
    unreadable.state = "unreadable";
  }
  FoundRun f;
  f.path = dir;
  if (is_locked_by_other((d / ".lock").string())) {
    f.state = "running";
  } else if (!unreadable.state.empty()) {
    return unreadable;
  } else if (fs::exists(d / "FAILED")) {
    f.state = "failed";
    try {
      auto t = trim(read_text((d / "FAILED").string()));
      f.detail = t.substr(0, t.find('\n'));
    } catch (...) {
    }
  } else {
    f.state = "pending";
    f.detail = fs::exists(d / "checkpoint.pt") ? "incomplete (has a checkpoint)" : "not started";
  }
  return f;
}

bool write_report(const std::vector<FoundRun>& runs, const ReportOptions& options, std::ostream& out,
                  std::ostream& problems) {
  // Identity keys that vary between the complete runs (the seed aside) define the groups.
  std::vector<const FoundRun*> done;
  std::vector<std::map<std::string, std::string>> configs;
  std::vector<std::string> unusable;  // complete runs whose identity cannot be read
  for (const auto& r : runs) {
    if (r.state != "done") continue;
    auto it = r.record.text.find("identity_yaml");
    try {
      configs.push_back(flat_yaml(it != r.record.text.end() ? it->second : r.record.config_yaml));
      done.push_back(&r);
    } catch (const std::exception& e) {
      unusable.push_back("unreadable: " + r.path + " (identity_yaml: " + e.what() + ")");
    }
  }
  const std::vector<std::string> fixed = {"dataset.name", "method.name", "model.backbone"};
  std::set<std::string> all_keys;
  for (const auto& c : configs)
    for (const auto& [k, v] : c) all_keys.insert(k);
  std::vector<std::string> varying;
  for (const auto& k : all_keys) {
    if (k == "seed" || std::find(fixed.begin(), fixed.end(), k) != fixed.end()) continue;
    // A key varies when the runs that have it disagree (a masking setting absent from a
    // vanilla run's identity does not make it vary).
    std::set<std::string> values;
    for (const auto& c : configs)
      if (c.count(k)) values.insert(c.at(k));
    if (values.size() > 1) varying.push_back(k);
  }
  std::vector<std::string> group_keys = fixed;
  group_keys.insert(group_keys.end(), varying.begin(), varying.end());

  struct Group {
    std::vector<std::string> key;
    std::map<std::string, Stat> stats;
    std::map<std::string, std::string> common;  // config values all its runs share
    int n = 0;
  };
  std::map<std::vector<std::string>, Group> groups;
  std::vector<std::string> metric_names;
  auto add_metric = [&](Group& g, const std::string& name, double v) {
    if (std::find(metric_names.begin(), metric_names.end(), name) == metric_names.end()) metric_names.push_back(name);
    g.stats[name].add(v);
  };
  for (size_t i = 0; i < done.size(); ++i) {
    std::vector<std::string> key;
    for (const auto& k : group_keys) key.push_back(configs[i].count(k) ? configs[i].at(k) : "");
    auto& g = groups[key];
    g.key = key;
    if (g.n++ == 0) {
      g.common = configs[i];
    } else {
      for (auto it = g.common.begin(); it != g.common.end();)
        it = configs[i].count(it->first) && configs[i].at(it->first) == it->second ? std::next(it) : g.common.erase(it);
    }
    const auto& rec = done[i]->record;
    for (const std::string split : {"test", "val"}) {
      const SplitResult* s = find_split(rec, split);
      if (!s) continue;
      add_metric(g, split + " acc", s->accuracy);
      if (!s->group_names.empty()) add_metric(g, split + " worst-group", s->worst_group_accuracy);
    }
    const SplitResult* main = find_split(rec, "test");
    if (!main && !rec.splits.empty()) main = &rec.splits.front();
    // EPG of each attribution method (the merged mask, not each stage's) and the mask area.
    if (main)
      for (const auto& [k, v] : main->scalars) {
        if (k == "mask_area") add_metric(g, "mask area", v);
        else if (starts_with(k, "epg_") && !starts_with(k, "epg_mask_stage")) add_metric(g, "EPG " + k.substr(4), v);
      }
  }
  // Metrics in a fixed, readable order.
  auto metric_rank = [](const std::string& m) {
    static const std::vector<std::string> order = {"test acc", "test worst-group", "val acc", "val worst-group"};
    auto it = std::find(order.begin(), order.end(), m);
    if (it != order.end()) return int(it - order.begin());
    return starts_with(m, "EPG ") ? 10 : 20;
  };
  std::stable_sort(metric_names.begin(), metric_names.end(),
                   [&](const std::string& a, const std::string& b) { return metric_rank(a) < metric_rank(b); });
  std::vector<Group> rows;
  for (auto& [k, g] : groups) rows.push_back(g);
  std::sort(rows.begin(), rows.end(), [](const Group& a, const Group& b) {
    if (a.key[0] != b.key[0]) return a.key[0] < b.key[0];
    if (a.key[2] != b.key[2]) return a.key[2] < b.key[2];
    for (size_t i = 3; i < a.key.size(); ++i)
      if (a.key[i] != b.key[i]) return a.key[i] < b.key[i];
    return method_rank(a.key[1]) < method_rank(b.key[1]);
  });

  std::vector<std::string> header;
  for (const auto& k : group_keys)
    header.push_back(k == "dataset.name" ? "dataset" : k == "method.name" ? "method" : k == "model.backbone" ? "backbone" : k);
  header.push_back("n");
  for (const auto& m : metric_names) header.push_back(m);
  // Reference numbers (e.g. the paper's) beside ours: the value and our mean minus it.
  const Reference* ref = options.compare ? &*options.compare : nullptr;
  if (ref)
    for (const auto& [name, column] : ref->metrics) {
      header.push_back("paper " + name);
      header.push_back("Δ " + name);
    }
  if (ref && options.format == "latex")
    for (auto& h : header)
      if (starts_with(h, "Δ ")) h = "$\\Delta$ " + h.substr(std::string("Δ ").size());
  std::vector<std::vector<std::string>> cells;
  std::set<const ReferenceRow*> matched;
  for (const auto& g : rows) {
    std::vector<std::string> row = g.key;
    row.push_back(std::to_string(g.n));
    for (const auto& m : metric_names) {
      auto it = g.stats.find(m);
      row.push_back(it == g.stats.end() ? "-" : fmt_stat(it->second, m != "n", options.format));
    }
    if (ref) {
      const ReferenceRow* match = nullptr;
      for (const auto& r : ref->rows)
        if (row_matches(r, g.common)) {
          match = &r;
          break;
        }
      if (match) matched.insert(match);
      for (const auto& [name, column] : ref->metrics) {
        auto v = match ? match->values.find(name) : std::map<std::string, ReferenceValue>::const_iterator();
        if (!match || v == match->values.end()) {
          row.push_back("-");
          row.push_back("-");
          continue;
        }
        row.push_back(fmt_reference(v->second, options.format));
        auto ours = g.stats.find(column);
        if (ours == g.stats.end() || ours->second.values.empty()) {
          row.push_back("-");
        } else {
          char buf[32];
          std::snprintf(buf, sizeof buf, options.format == "csv" ? "%.4f" : "%+.1f",
                        ours->second.mean() * 100.0 - v->second.mean);
          row.push_back(buf);
        }
      }
    }
    cells.push_back(row);
  }

  if (options.format == "csv") {
    out << join(header, ",") << "\n";
    for (const auto& r : cells) out << join(r, ",") << "\n";
  } else if (options.format == "latex") {
    out << "\\begin{tabular}{" << std::string(header.size(), 'l') << "}\n\\toprule\n";
    auto esc = [](std::string s) {
      std::string o;
      for (char c : s) o += (c == '_' || c == '%' || c == '&') ? std::string("\\") + c : std::string(1, c);
      return o;
    };
    std::vector<std::string> h;
    for (const auto& x : header) h.push_back(esc(x));
    out << join(h, " & ") << " \\\\\n\\midrule\n";
    for (const auto& r : cells) {
      std::vector<std::string> e;
      for (const auto& x : r) e.push_back(x.find("$") == std::string::npos ? esc(x) : x);
      out << join(e, " & ") << " \\\\\n";
    }
    out << "\\bottomrule\n\\end{tabular}\n";
  } else {
    std::vector<size_t> width(header.size());
    auto len = [](const std::string& s) {  // display width: count UTF-8 code points
      size_t n = 0;
      for (unsigned char c : s) n += (c & 0xC0) != 0x80;
      return n;
    };
    for (size_t i = 0; i < header.size(); ++i) width[i] = len(header[i]);
    for (const auto& r : cells)
      for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], len(r[i]));
    auto line = [&](const std::vector<std::string>& r) {
      out << "|";
      for (size_t i = 0; i < r.size(); ++i) out << " " << r[i] << std::string(width[i] - len(r[i]), ' ') << " |";
      out << "\n";
    };
    line(header);
    out << "|";
    for (size_t i = 0; i < header.size(); ++i) out << std::string(width[i] + 2, '-') << "|";
    out << "\n";
    for (const auto& r : cells) line(r);
    if (!cells.empty())
      out << "\nIn %, mean ± std over seeds (sample std; n = runs per row). EPG: Energy Pointing Game of each "
             "attribution method on the test split; mask area: active fraction of the merged mask.\n";
    if (ref) {
      out << "\npaper: " << (ref->source.empty() ? options.compare_path : ref->source)
          << " (Δ: our mean minus the paper's, in points).\n";
      // Unmatched paper rows of the datasets in this report are worth knowing (a missing
      // setting); the rows of other datasets are only counted.
      std::set<std::string> datasets;
      for (const auto& g : rows) datasets.insert(g.key[0]);
      std::vector<std::string> missing;
      int other = 0;
      for (const auto& r : ref->rows) {
        if (matched.count(&r)) continue;
        auto d = r.match.find("dataset.name");
        if (d == r.match.end() || datasets.count(d->second)) missing.push_back(r.name);
        else other++;
      }
      if (!missing.empty()) out << "Paper rows with no runs here: " << join(missing, "; ") << ".\n";
      if (other) out << other << " paper rows concern datasets not in this report.\n";
    }
    write_least_confident(done, options.least_confident, out);
  }

  bool complete = true;
  for (const auto& r : runs) {
    if (r.state == "done") continue;
    complete = complete && (r.state == "foreign" || r.state == "duplicate");
    problems << r.state << ": " << r.path << (r.detail.empty() ? "" : " (" + r.detail + ")") << "\n";
  }
  for (const auto& u : unusable) problems << u << "\n";
  complete = complete && unusable.empty();
  if (done.empty()) {
    problems << "no complete runs found\n";
    complete = false;
  }
  return complete;
}

}  // namespace aim::results
