// Runs across two nodes of a real Slurm cluster (scripts/slurm-local.sh start --nodes 2,
// which scripts/test.sh starts; n2 has its own /tmp, so everything here lives outside /tmp):
// a two-node sweep element gives the numbers of `mpirun -np 2` on one node, records both
// nodes, survives preemption bit-identically; ranks land where Slurm says (local ranks per
// node); a node lost mid-run ends the job within a minute and the run resumes from its
// checkpoint. Without a two-node cluster every test here reports itself as not run.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "core/files.h"
#include "core/strings.h"
#include "results/run_file.h"
#include "run_compare.h"
#include "runner/sweep/sweep_spec.h"
#include "test_util.h"

using namespace aim;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
using test::seconds_since;  // tests/test_util.h

// A folder outside /tmp (the build folder's test-work/), removed afterwards.
class SharedDir {
 public:
  SharedDir() {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::path(AIM_TEST_WORK_DIR) / (std::string(info->name()) + "-" + std::to_string(getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~SharedDir() {
    if (!std::getenv("AIM_KEEP_TEST_DIRS")) fs::remove_all(path_);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return file(name);
  }

 private:
  fs::path path_;
};

int nodes_up(const std::string& partition) {
  auto r = test::run_command("sinfo -h -N -p " + partition + " -o '%N %T'");
  if (r.exit_code != 0) return 0;
  int up = 0;
  for (const auto& line : split(r.output, '\n'))
    up += line.find("idle") != std::string::npos || line.find("mixed") != std::string::npos ||
          line.find("allocated") != std::string::npos;
  return up;
}

class TwoNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(AIM_TEST_WORK_DIR).rfind("/tmp", 0) == 0)
      GTEST_SKIP() << "not run: the build folder is under /tmp, which the second node does not share";
    if (nodes_up("multi") < 2)
      GTEST_SKIP() << "not run: no two-node cluster (partition 'multi' of scripts/slurm-local.sh start --nodes 2)";
  }
};

std::string profile(const SharedDir& dir, int tasks_per_node) {
  return dir.write("two-nodes.yaml", "nodes: 2\ntasks_per_node: " + std::to_string(tasks_per_node) +
                                         "\ncpus_per_task: 1\ngpus_per_node: 0\ntime: \"00:30:00\"\n"
                                         "throttle: 2\nsignal: USR2@60\npartition: multi\n");
}

std::string spec_text(const std::string& out, const std::string& name, int epochs) {
  return test::small_run_config(out, epochs, /*log_every=*/1) + "threads: 1\nsweep:\n  name: " + name +
         "\n  grid:\n    seed: [5]\n";
}

std::string submit(const std::string& spec, const std::string& profile_path) {
  auto r = test::run_command(test::aimrun() + " sweep submit " + spec + " --profile " + profile_path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return trim(r.output.substr(r.output.rfind('\n', r.output.size() - 2) + 1));
}

// A one-run sweep `name` of `epochs` epochs submitted with `nodes: 2`; waits for its first
// checkpoint when asked.
struct Submitted {
  std::string spec, profile, run_dir, job;
};
Submitted submit_two_node_run(const SharedDir& dir, const std::string& name, int epochs, int tasks_per_node,
                              bool wait_for_checkpoint) {
  Submitted s;
  s.spec = dir.write("s.yaml", spec_text(dir.file("out"), name, epochs));
  auto sweep = load_sweep(s.spec, {}, 2 * tasks_per_node);
  s.run_dir = sweep.run_dir(sweep.runs[0].run_id);
  s.profile = profile(dir, tasks_per_node);
  s.job = submit(s.spec, s.profile);
  std::cout << "[ two nodes ] job " << s.job << ", run " << s.run_dir << std::endl;
  if (wait_for_checkpoint) {
    EXPECT_TRUE(test::wait_until([&] { return fs::exists(s.run_dir + "/checkpoint.pt"); }, 300))
        << "the run never checkpointed";
  }
  return s;
}

// The same run, uninterrupted, with mpirun -np 2 on this node.
void expect_same_as_one_node(const std::string& run_dir, const SharedDir& dir) {
  auto twin = test::run_command(test::mpirun(2) + " " + test::aimrun() + " train " + run_dir + "/config.yaml --run-dir " +
                                dir.file("twin"));
  ASSERT_EQ(twin.exit_code, 0) << twin.output;
  test::expect_same_results(dir.file("twin/result.h5"), run_dir + "/result.h5");
}

}  // namespace

// nodes: 2, tasks_per_node: 1 through `sweep submit`; preempted (USR2) after its first
// checkpoint, requeued, resumed; every number equals mpirun -np 2 on one node.
TEST_F(TwoNodes, SweepElementAcrossTwoNodesPreemptedResumesAsOneNode) {
  SharedDir dir;
  const auto run = submit_two_node_run(dir, "two", 4, 1, true);
  if (HasFailure()) return;
  const std::string &run_dir = run.run_dir, &job = run.job;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto signal = test::run_command("scancel --signal=USR2 " + job + "_0");
  ASSERT_EQ(signal.exit_code, 0) << signal.output;
  ASSERT_TRUE(test::wait_until([&] { return fs::exists(run_dir + "/result.h5"); }, 400))
      << read_text(run_dir + "/train.log");
  ASSERT_TRUE(test::wait_until([&] { return test::run_command("squeue -h -j " + job).output.empty(); }, 60));
  auto log = read_text(dir.file("out/two/slurm/" + job + "_0.out"));
  EXPECT_NE(log.find("requeueing " + job + "_0"), std::string::npos) << log;
  EXPECT_NE(log.find("resuming from"), std::string::npos) << log;
  auto r = results::read_run_file(run_dir + "/result.h5");
  EXPECT_EQ(r.numbers.at("world_size"), 2);
  EXPECT_EQ(r.text.at("hosts"), "n1,n2");
  EXPECT_EQ(r.text.at("placement"), "n1:0/1 n2:0/1");
  int starts = 0;
  for (const auto& s : r.sessions)
    if (s.event == "start") {
      ++starts;
      EXPECT_EQ(s.hosts, "n1,n2") << "the session ledger names both nodes";
    }
  EXPECT_GE(starts, 2) << "one session before the preemption, one after";
  expect_same_as_one_node(run_dir, dir);
}

// nodes: 2, tasks_per_node: 2: ranks 0,1 on n1 and 2,3 on n2, local ranks 0,1 on each.
TEST_F(TwoNodes, TwoTasksPerNodeGiveLocalRanksZeroAndOneOnEachNode) {
  SharedDir dir;
  const std::string run_dir = submit_two_node_run(dir, "place", 1, 2, false).run_dir;
  ASSERT_TRUE(test::wait_until([&] { return fs::exists(run_dir + "/result.h5"); }, 400))
      << read_text(run_dir + "/train.log");
  auto r = results::read_run_file(run_dir + "/result.h5");
  EXPECT_EQ(r.numbers.at("world_size"), 4);
  EXPECT_EQ(r.text.at("placement"), "n1:0/2 n1:1/2 n2:0/2 n2:1/2");
  EXPECT_EQ(r.numbers.at("threads_per_rank"), 1);
}

namespace {

// Every process of node n2 (its slurmd, the job's step daemon, the rank there): those in n2's
// mount namespace. SIGKILL, as a node that loses power.
void kill_node_n2() {
  auto r = test::run_command(
      "ns=$(readlink /proc/$(cat /run/slurmd-n2.pid)/ns/mnt) && [ \"$ns\" != \"$(readlink /proc/self/ns/mnt)\" ] && "
      "for p in /proc/[0-9]*; do [ \"$(readlink $p/ns/mnt 2>/dev/null)\" = \"$ns\" ] && kill -9 ${p#/proc/}; done; true");
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

struct RestartNodes {
  ~RestartNodes() { test::run_command(std::string(AIM_SOURCE_DIR) + "/scripts/slurm-local.sh start --nodes 2"); }
};

}  // namespace

// A node lost mid-run: the job ends within a minute (the rank on n1 does not wait in a
// collective for one that is gone); with the node back, the run resumes from its last
// checkpoint and ends with the numbers of an uninterrupted one-node run: nothing lost.
TEST_F(TwoNodes, NodeLostMidRunEndsTheJobAndTheRunResumes) {
  SharedDir dir;
  RestartNodes restart;
  const auto run = submit_two_node_run(dir, "lost", 4, 1, true);
  if (HasFailure()) return;
  const std::string &run_dir = run.run_dir, &job = run.job;
  kill_node_n2();
  const auto t0 = Clock::now();
  // The element leaves RUNNING: failed, or requeued by Slurm for the lost node.
  auto running = [&] { return test::run_command("squeue -h -t R -j " + job).output.find(job) != std::string::npos; };
  ASSERT_TRUE(test::wait_until([&] { return !running(); }, 120))
      << "the job still runs 2 minutes after the node was lost";
  const double ended_s = seconds_since(t0);
  std::cout << "[ node lost ] the job left RUNNING " << ended_s << " s after n2 was killed" << std::endl;
  EXPECT_LT(ended_s, 60.0);
  EXPECT_FALSE(fs::exists(run_dir + "/result.h5"));
  test::run_command(std::string(AIM_SOURCE_DIR) + "/scripts/slurm-local.sh start --nodes 2");
  // Slurm requeues a job whose node failed; if it did not, submitting again picks the run up.
  if (test::run_command("squeue -h -j " + job).output.empty()) submit(run.spec, run.profile);
  ASSERT_TRUE(test::wait_until([&] { return fs::exists(run_dir + "/result.h5"); }, 400))
      << read_text(run_dir + "/train.log");
  EXPECT_NE(read_text(run_dir + "/train.log").find("resuming from"), std::string::npos);
  expect_same_as_one_node(run_dir, dir);
}
