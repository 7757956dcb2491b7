#include "results/run_summary.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "core/files.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/strings.h"
#include "results/checked_read.h"
#include "results/run_file.h"

namespace fs = std::filesystem;

namespace aim::results {

namespace {

constexpr size_t kMaxSummaryBytes = 16u << 20;
const std::string kHead = "{\"format\": \"aimrun-run-summary\", \"version\": ";

std::string prefix(int version, const std::string& crc_hex) {
  return kHead + std::to_string(version) + ", \"crc32\": \"" + crc_hex + "\", \"body\": ";
}

int64_t mtime_ns(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec; }

// ---------------------------------------------------------------- writing

template <class Map, class F>
std::string object(const Map& m, F value) {
  std::string o = "{";
  for (const auto& [k, v] : m) o += (o.size() > 1 ? ", " : "") + json_string(k) + ": " + value(v);
  return o + "}";
}

template <class T, class F>
std::string array(const std::vector<T>& v, F value) {
  std::string o = "[";
  for (size_t i = 0; i < v.size(); ++i) o += (i ? ", " : "") + value(v[i]);
  return o + "]";
}

std::string int_text(int64_t v) { return std::to_string(v); }
std::string float_text(float v) { return json_double(double(v)); }

std::string config_text(const std::string& text) {
  auto v = typed_config_value(text);
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return json_double(*d);
  return json_string(std::get<std::string>(v));
}

std::string least_confident_text(const LeastConfident& l) {
  return "{\"index\": " + array(l.index, int_text) + ", \"label\": " + array(l.label, int_text) +
         ", \"pred\": " + array(l.pred, int_text) + ", \"confidence\": " + array(l.confidence, float_text) +
         ", \"margin\": " + array(l.margin, float_text) + ", \"agreement\": " + array(l.agreement, float_text) + "}";
}

std::string split_text(const SplitResult& s) {
  std::ostringstream o;
  o << "{\"split\": " << json_string(s.split) << ", \"n\": " << s.n << ", \"correct\": " << s.correct
    << ", \"accuracy\": " << json_double(s.accuracy) << ", \"loss\": " << json_double(s.loss)
    << ", \"worst_group_accuracy\": " << json_double(s.worst_group_accuracy)
    << ", \"scalars\": " << object(s.scalars, json_double) << ", \"group_names\": " << array(s.group_names, json_string)
    << ", \"group_correct\": " << array(s.group_correct, int_text)
    << ", \"group_count\": " << array(s.group_count, int_text)
    << ", \"group_means\": " << object(s.group_means, [](const auto& v) { return array(v, json_double); })
    << ", \"least_confident\": " << least_confident_text(least_confident(s, kLeastConfidentKept)) << "}";
  return o.str();
}

std::string body_text(const RunRecord& r, const FileStamp& stamp) {
  std::map<std::string, std::vector<double>> targets;
  for (const auto& m : r.mask_curves) targets[std::to_string(m.stage)] = m.target;
  std::map<std::string, int64_t> skipped;
  for (const auto& [split, files] : r.skipped_files)
    if (!files.empty()) skipped[split] = int64_t(files.size());
  std::ostringstream o;
  o << "{\"run_id\": " << json_string(r.run_id) << ", \"result\": {\"size\": " << stamp.size
    << ", \"mtime_ns\": " << stamp.mtime_ns << ", \"crc32\": \"" << hex32(stamp.crc32) << "\"}"
    << ", \"schema_version\": " << r.schema_version << ", \"status\": \"complete\""
    << ", \"text\": " << object(r.text, json_string) << ", \"numbers\": " << object(r.numbers, json_double)
    << ", \"config_yaml\": " << json_string(r.config_yaml) << ", \"config\": {";
  for (size_t i = 0; i < r.config.size(); ++i)
    o << (i ? ", " : "") << json_string(r.config[i].first) << ": " << config_text(r.config[i].second);
  o << "}, \"mask_targets\": " << object(targets, [](const auto& v) { return array(v, json_double); })
    << ", \"splits\": " << array(r.splits, split_text) << ", \"skipped\": " << object(skipped, int_text) << "}";
  return o.str();
}

// ---------------------------------------------------------------- reading

double number(const YAML::Node& n) { return parse_json_double(n.Scalar()); }

template <class T, class F>
std::vector<T> list(const YAML::Node& n, F value) {
  if (!n.IsSequence()) throw DataError("expected a list");
  std::vector<T> out;
  out.reserve(n.size());
  for (const auto& e : n) out.push_back(value(e));
  return out;
}

int64_t integer(const YAML::Node& n) { return n.as<int64_t>(); }
float single(const YAML::Node& n) { return float(number(n)); }
std::string text(const YAML::Node& n) {
  if (!n.IsScalar()) throw DataError("expected a string");
  return n.Scalar();
}

YAML::Node need(const YAML::Node& n, const char* key) {
  auto v = n[key];
  if (!v) throw DataError(std::string("no '") + key + "'");
  return v;
}

LeastConfident read_least_confident(const YAML::Node& n) {
  LeastConfident l;
  l.index = list<int64_t>(need(n, "index"), integer);
  l.label = list<int64_t>(need(n, "label"), integer);
  l.pred = list<int64_t>(need(n, "pred"), integer);
  l.confidence = list<float>(need(n, "confidence"), single);
  l.margin = list<float>(need(n, "margin"), single);
  l.agreement = list<float>(need(n, "agreement"), single);
  for (size_t size : {l.label.size(), l.pred.size(), l.confidence.size(), l.margin.size(), l.agreement.size()})
    if (size != l.index.size()) throw DataError("least_confident: lists of different lengths");
  return l;
}

SplitResult read_split(const YAML::Node& n) {
  SplitResult s;
  s.split = text(need(n, "split"));
  s.n = integer(need(n, "n"));
  s.correct = integer(need(n, "correct"));
  s.accuracy = number(need(n, "accuracy"));
  s.loss = number(need(n, "loss"));
  s.worst_group_accuracy = number(need(n, "worst_group_accuracy"));
  for (const auto& kv : need(n, "scalars")) s.scalars[kv.first.Scalar()] = number(kv.second);
  s.group_names = list<std::string>(need(n, "group_names"), text);
  s.group_correct = list<int64_t>(need(n, "group_correct"), integer);
  s.group_count = list<int64_t>(need(n, "group_count"), integer);
  for (const auto& kv : need(n, "group_means")) s.group_means[kv.first.Scalar()] = list<double>(kv.second, number);
  s.least_confident = read_least_confident(need(n, "least_confident"));
  if (s.n < 0 || s.correct < 0 || s.correct > s.n || s.group_correct.size() != s.group_names.size() ||
      s.group_count.size() != s.group_names.size())
    throw DataError("split " + s.split + ": counts that do not add up");
  return s;
}

RunRecord read_body(const YAML::Node& b, FileStamp& stamp) {
  RunRecord r;
  r.run_id = text(need(b, "run_id"));
  auto res = need(b, "result");
  stamp.size = integer(need(res, "size"));
  stamp.mtime_ns = integer(need(res, "mtime_ns"));
  stamp.crc32 = uint32_t(std::stoul(text(need(res, "crc32")), nullptr, 16));
  r.schema_version = integer(need(b, "schema_version"));
  if (text(need(b, "status")) != "complete") throw DataError("status is not complete");
  for (const auto& kv : need(b, "text")) r.text[kv.first.Scalar()] = text(kv.second);
  for (const auto& kv : need(b, "numbers")) r.numbers[kv.first.Scalar()] = number(kv.second);
  r.config_yaml = text(need(b, "config_yaml"));
  for (const auto& kv : need(b, "config")) r.config.emplace_back(kv.first.Scalar(), kv.second.Scalar());
  for (const auto& kv : need(b, "mask_targets")) {
    MaskCurve m;
    m.stage = std::stoll(kv.first.Scalar());
    m.target = list<double>(kv.second, number);
    r.mask_curves.push_back(std::move(m));
  }
  for (const auto& s : need(b, "splits")) r.splits.push_back(read_split(s));
  for (const auto& kv : need(b, "skipped"))
    r.skipped_files[kv.first.Scalar()].resize(size_t(integer(kv.second)));
  return r;
}

// The body of a summary file's text, its own checksum checked; throws DataError with why.
std::string checked_body(const std::string& text) {
  if (text.rfind(kHead, 0) != 0) throw DataError("not an aimrun run summary");
  const auto comma = text.find(',', kHead.size());
  const std::string version = text.substr(kHead.size(), comma == std::string::npos ? 0 : comma - kHead.size());
  if (version != std::to_string(kSummaryVersion))
    throw DataError("version " + version.substr(0, 16) + ", not the version " + std::to_string(kSummaryVersion) +
                    " this aimrun reads");
  const size_t crc_at = prefix(kSummaryVersion, "").size() - std::string("\", \"body\": ").size();
  const std::string crc_hex = text.substr(crc_at, 8);
  const std::string head = prefix(kSummaryVersion, crc_hex);
  if (text.size() < head.size() + 2 || text.compare(0, head.size(), head) != 0 ||
      crc_hex.find_first_not_of("0123456789abcdef") != std::string::npos || text.compare(text.size() - 2, 2, "}\n"))
    throw DataError("not a whole summary (truncated or damaged)");
  std::string body = text.substr(head.size(), text.size() - head.size() - 2);
  if (hex32(crc32_of(body)) != crc_hex)
    throw DataError("its checksum does not match its content (damaged or edited: crc32 " + hex32(crc32_of(body)) +
                    ", recorded " + crc_hex + ")");
  return body;
}

// Throws DataError when result.h5 is not the file the summary was written for; true when
// its bytes had to be checked (its mtime is not the one recorded).
bool check_bound(const std::string& result, const FileStamp& stamp) {
  struct stat st {};
  if (::stat(result.c_str(), &st) != 0) throw DataError("result.h5: " + std::string(std::strerror(errno)));
  if (int64_t(st.st_size) != stamp.size)
    throw DataError("written for a result.h5 of " + std::to_string(stamp.size) + " bytes; result.h5 has " +
                    std::to_string(st.st_size) + " (replaced or damaged)");
  if (mtime_ns(st) == stamp.mtime_ns) return false;  // untouched since the summary was written
  const uint32_t crc = crc32_of_file(result);  // copied, or changed: its bytes decide
  if (crc != stamp.crc32)
    throw DataError("written for another result.h5 (crc32 " + hex32(stamp.crc32) + ", result.h5 has " + hex32(crc) +
                    ": replaced or damaged)");
  return true;
}

// The head every body starts with (body_text): {"run_id": "<id>", "result": {"size": N,
// "mtime_ns": M, "crc32": "<8 hex>"}, ...: all a run's state needs, read without parsing
// the rest (the checksum has shown the body is as written). False where it is not there.
bool read_head(const std::string& body, std::string& run_id, FileStamp& stamp) {
  auto expect = [&](size_t& at, const std::string& text) {
    if (body.compare(at, text.size(), text) != 0) return false;
    at += text.size();
    return true;
  };
  auto integer = [&](size_t& at, int64_t& out) {
    const char* begin = body.c_str() + at;
    char* end = nullptr;
    errno = 0;
    out = std::strtoll(begin, &end, 10);
    if (end == begin || errno) return false;
    at += size_t(end - begin);
    return true;
  };
  size_t at = 0;
  if (!expect(at, "{\"run_id\": \"")) return false;
  const size_t quote = body.find('"', at);
  if (quote == std::string::npos) return false;
  run_id = body.substr(at, quote - at);
  at = quote;
  if (run_id.find('\\') != std::string::npos || !expect(at, "\", \"result\": {\"size\": ") ||
      !integer(at, stamp.size) || !expect(at, ", \"mtime_ns\": ") || !integer(at, stamp.mtime_ns) ||
      !expect(at, ", \"crc32\": \"") || body.size() < at + 9 || body[at + 8] != '"')
    return false;
  const std::string hex = body.substr(at, 8);
  if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) return false;
  stamp.crc32 = uint32_t(std::stoul(hex, nullptr, 16));
  return true;
}

// The non-finite counts (run_record.h) of a checked body, for a run's state without parsing
// the rest: found by their key's text, which only a key can hold (every quote inside a JSON
// string is escaped).
void read_nonfinite(const std::string& body, RunRecord& r) {
  for (const char* name : {kNonfiniteWeights, kNonfiniteLossEpochs}) {
    const std::string key = std::string("\"") + name + "\": ";
    const auto at = body.find(key);
    if (at != std::string::npos) r.numbers[name] = std::strtod(body.c_str() + at + key.size(), nullptr);
  }
}

}  // namespace

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error("cannot stat " + path + ": " + std::strerror(errno));
  FileStamp s;
  s.size = int64_t(st.st_size);
  s.mtime_ns = mtime_ns(st);
  s.crc32 = crc32_of_file(path);
  return s;
}

LeastConfident least_confident(const SplitResult& s, size_t count) {
  auto c = s.per_sample.find(kMaskConfidence);
  if (c == s.per_sample.end()) {  // a summary's: already the least confident, in order
    LeastConfident l = s.least_confident;
    const size_t k = std::min(count, l.index.size());
    for (auto* v : {&l.index, &l.label, &l.pred}) v->resize(k);
    for (auto* v : {&l.confidence, &l.margin, &l.agreement}) v->resize(k);
    return l;
  }
  const auto& conf = c->second;
  const auto& margin = s.per_sample.at(kMaskMargin);
  const auto& agreement = s.per_sample.at(kMaskAgreement);
  std::vector<size_t> order(conf.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return conf[a] < conf[b]; });
  order.resize(std::min(order.size(), count));
  LeastConfident l;
  for (size_t i : order) {
    l.index.push_back(int64_t(i));
    l.label.push_back(s.label.at(i));
    l.pred.push_back(s.pred.at(i));
    l.confidence.push_back(conf[i]);
    l.margin.push_back(margin.at(i));
    l.agreement.push_back(agreement.at(i));
  }
  return l;
}

std::string summary_text(const RunRecord& r, const FileStamp& result) {
  const std::string body = body_text(r, result);
  return prefix(kSummaryVersion, hex32(crc32_of(body))) + body + "}\n";
}

void write_run_summary(const RunPaths& paths, const RunRecord& r) {
  write_file_atomic(paths.summary(), summary_text(r, stamp_of(paths.result())));
}

void rebuild_run_summary(const RunPaths& paths) {
  auto found = read_h5_checked(paths.result(), true).front();
  if (found.state != "done") throw DataError(paths.result() + ": " + found.detail);
  write_run_summary(paths, found.record);
}

void restamp_run_summary(const RunPaths& paths, const SummaryRead& read) {
  write_run_summary(paths, read.record);
}

SummaryRead read_run_summary(const RunPaths& paths, bool record) {
  SummaryRead out;
  std::error_code ec;
  const auto size = fs::file_size(paths.summary(), ec);
  if (ec) {
    out.missing = ec == std::errc::no_such_file_or_directory;
    out.why = paths.summary() + ": " + (out.missing ? std::string("missing") : ec.message());
    return out;
  }
  try {
    if (size > kMaxSummaryBytes) throw DataError(std::to_string(size) + " bytes, more than a summary holds");
    const std::string body = checked_body(read_text(paths.summary()));
    FileStamp stamp;
    if (record || !read_head(body, out.record.run_id, stamp)) out.record = read_body(YAML::Load(body), stamp);
    else
      read_nonfinite(body, out.record);  // sweep status flags such a run
    // A folder named by a run id holds that run: another run's summary there is not its
    // summary (result.h5 may well be this run's). A folder of another name (`train
    // --run-dir`) holds the run its summary and result.h5, bound together, say.
    const std::string folder = fs::weakly_canonical(paths.dir).filename().string();
    if (is_run_id(folder) && out.record.run_id != folder)
      throw DataError("run_id " + out.record.run_id + " is not the folder's run id " + folder);
    try {
      out.restamp = check_bound(paths.result(), stamp);
    } catch (const DataError&) {
      out.result_mismatch = true;
      throw;
    }
    out.ok = true;
  } catch (const std::exception& e) {  // DataError, YAML::Exception, std::invalid_argument, ...
    out.record = RunRecord{};
    out.why = paths.summary() + ": " + e.what();
  }
  return out;
}

}  // namespace aim::results
