// A command-line window onto results/statistics.h and the report, for the Python tests
// that check them against scipy (tests/python/test_statistics.py). One request per line on
// stdin, one answer line per request on stdout (numbers with 17 significant digits):
//   beta A B X              -> I_X(A, B)
//   p T DF                  -> two-sided p-value of T
//   ppf Q DF                -> Q-quantile of Student-t
//   one A1 A2 ...           -> defined mean lo hi t df p n_a n_b paired
//   paired A... | B...      -> the same for the paired t-test
//   welch A... | B...       -> the same for Welch's t-test
//   cs ALPHA SCALE MARGIN MIN_N D1 D2 ...
//                           -> per n = 2..N: n lo hi (results/sequential.h), then
//                              "decision STATE N"
//   bf T N SCALE            -> the mixture Bayes factor BF_N(T)
//   run DIR METHOD SEED CORRELATION ACC WORST_GROUP EPG [EXPLAIN SELECT EPOCH]
//                           -> writes DIR/runs/<id>/result.h5 with these test-split values
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "results/run_file.h"
#include "results/sequential.h"
#include "results/statistics.h"

using namespace aim::results;

namespace {

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string test_line(const TTest& t) {
  std::ostringstream o;
  o << int(t.defined) << " " << num(t.mean) << " " << num(t.lo) << " " << num(t.hi) << " " << num(t.t) << " "
    << num(t.df) << " " << num(t.p) << " " << t.n_a << " " << t.n_b << " " << int(t.paired);
  return o.str();
}

void write_run(std::istringstream& in) {
  std::string dir, method, seed, correlation, explain, select;
  double acc = 0, wg = 0, epg = 0, epoch = 0;
  in >> dir >> method >> seed >> correlation >> acc >> wg >> epg >> explain >> select >> epoch;
  RunRecord r;
  r.run_id = method + "-c" + correlation + "-s" + seed;
  r.config_yaml = "dataset:\n  name: builtin\n  correlation: " + correlation + "\nmethod:\n  name: " + method +
                  "\nmodel:\n  backbone: small_cnn\nseed: " + seed + "\n";
  r.text["identity_yaml"] = r.config_yaml;
  r.config = {{"dataset.name", "builtin"}, {"dataset.correlation", correlation}, {"method.name", method},
              {"model.backbone", "small_cnn"}, {"seed", seed}};
  r.text["method"] = method;
  if (!explain.empty()) r.text["explain"] = explain;
  if (!select.empty()) r.text["select"] = select, r.numbers["selected_epoch"] = epoch;
  r.numbers["world_size"] = 1;
  r.curves.epoch = {1};
  r.curves.series["train_loss"] = {0.5};
  SplitResult s;
  s.split = "test";
  s.n = 4;
  s.label = {0, 1, 1, 0};
  s.pred = {0, 1, 1, 0};
  s.group = {0, 1, 2, 3};
  s.group_names = {"a@x", "a@y", "b@x", "b@y"};
  s.group_correct = {1, 1, 1, 1};
  s.group_count = {1, 1, 1, 1};
  s.accuracy = acc;
  s.worst_group_accuracy = wg;
  s.scalars["epg_gradcam"] = epg;
  r.splits.push_back(s);
  auto run = dir + "/runs/" + r.run_id;
  std::filesystem::create_directories(run);
  write_run_file(run + "/result.h5", r);
  std::cout << run << "\n";
}

std::vector<double> values(std::istringstream& in, bool stop_at_bar) {
  std::vector<double> out;
  std::string w;
  while (in >> w && !(stop_at_bar && w == "|")) out.push_back(std::stod(w));
  return out;
}

}  // namespace

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string op;
    in >> op;
    double a = 0, b = 0, x = 0;
    if (op == "beta") {
      in >> a >> b >> x;
      std::cout << num(incomplete_beta(a, b, x)) << "\n";
    } else if (op == "p") {
      in >> a >> b;
      std::cout << num(t_two_sided_p(a, b)) << "\n";
    } else if (op == "ppf") {
      in >> a >> b;
      std::cout << num(t_quantile(a, b)) << "\n";
    } else if (op == "one") {
      std::cout << test_line(one_sample(values(in, false))) << "\n";
    } else if (op == "paired" || op == "welch") {
      auto va = values(in, true), vb = values(in, false);
      std::cout << test_line(op == "paired" ? paired_t(va, vb) : welch_t(va, vb)) << "\n";
    } else if (op == "cs") {
      SequentialOptions o;
      in >> o.alpha >> o.prior_scale >> o.margin >> o.min_n;
      auto d = values(in, false);
      for (size_t n = 2; n <= d.size(); ++n) {
        auto cs = t_confidence_sequence(d, n, o.alpha, o.prior_scale);
        std::cout << n << " " << num(cs.lo) << " " << num(cs.hi) << "\n";
      }
      auto dec = sequential_decision(d, o);
      std::cout << "decision " << to_string(dec.state) << " " << dec.n << "\n";
    } else if (op == "bf") {
      size_t n = 0;
      in >> a >> n >> b;
      std::cout << num(t_mixture_bayes_factor(a, n, b)) << "\n";
    } else if (op == "run") {
      write_run(in);
    } else {
      std::cerr << "stats_probe: unknown request " << op << "\n";
      return 2;
    }
    std::cout.flush();
  }
  return 0;
}
