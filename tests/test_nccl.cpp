// The NCCL communicator on a real GPU (one rank): collectives on CUDA tensors, ordering with
// the default stream, the CPU path, and gradient buckets on the GPU. Needs CUDA and a CUDA
// libtorch, so it is built with NCCL but run by scripts/gpu-check.sh, not by CTest (the CI
// machine has no GPU).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "runner/comm/gradient_sync.h"
#include "runner/comm/nccl_communicator.h"

using namespace aim::comm;

class Nccl : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(torch::cuda::is_available()) << "no CUDA device"; }
};

TEST_F(Nccl, CollectivesOnCudaTensors) {
  auto comm = make_nccl_communicator(make_local_communicator(), 0);
  EXPECT_EQ(comm->backend(), "nccl");
  EXPECT_EQ(comm->world_size(), 1);
  auto t = torch::arange(1000, torch::dtype(torch::kFloat).device(torch::kCUDA));
  // Produced by a kernel on the default stream just before: the reduction must see it.
  t.mul_(2);
  comm->allreduce_sum(t);
  EXPECT_TRUE(torch::equal(t.cpu(), torch::arange(1000, torch::kFloat) * 2));
  auto u = torch::ones({1 << 20}, torch::dtype(torch::kFloat).device(torch::kCUDA));
  auto work = comm->allreduce_sum_async(u);
  work->wait();
  EXPECT_EQ(u.sum().item<float>(), float(1 << 20));
  for (auto dtype : {torch::kDouble, torch::kHalf, torch::kBFloat16, torch::kLong}) {
    auto v = torch::full({17}, 3, torch::dtype(dtype).device(torch::kCUDA));
    comm->allreduce_sum(v);
    EXPECT_EQ(v.to(torch::kDouble).sum().item<double>(), 51.0);
  }
  auto b = torch::full({5}, 7.0, torch::dtype(torch::kFloat).device(torch::kCUDA));
  comm->broadcast(b, 0);
  EXPECT_EQ(b.sum().item<float>(), 35.0f);
  // CPU tensors take the CPU communicator.
  auto c = torch::ones({3}, torch::kLong);
  comm->allreduce_sum(c);
  EXPECT_EQ(c.sum().item<int64_t>(), 3);
  comm->barrier();
}

TEST_F(Nccl, GradientBucketsOnTheGpu) {
  auto comm = make_nccl_communicator(make_local_communicator(), 0);
  torch::manual_seed(0);
  auto net = torch::nn::Sequential(torch::nn::Linear(64, 256), torch::nn::ReLU(), torch::nn::Linear(256, 10));
  net->to(torch::kCUDA);
  auto x = torch::randn({32, 64}, torch::kCUDA);
  // Reference gradients without the communicator.
  net->forward(x).pow(2).sum().backward();
  std::vector<torch::Tensor> expected;
  for (auto& p : net->parameters()) expected.push_back(p.grad().clone());
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
  GradientSync sync(net->parameters(), *comm, 0.05, 0.01);  // small buckets: several of them
  EXPECT_GT(sync.num_buckets(), 1u);
  for (int step = 0; step < 2; ++step) {
    sync.begin_step();
    net->forward(x).pow(2).sum().backward();
    sync.finish_step();
    auto params = net->parameters();
    for (size_t k = 0; k < params.size(); ++k)
      EXPECT_TRUE(torch::allclose(params[k].grad(), expected[k], 1e-5, 1e-6)) << "param " << k << " step " << step;
  }
}

// Gradient accumulation through the buckets on the GPU (train.accumulate_steps): 4
// micro-batches of 8, each loss / 4, only the last backward launching the allreduces, give
// the gradients of one batch of 32.
TEST_F(Nccl, AccumulatedMicroBatchesMatchOneBatch) {
  auto comm = make_nccl_communicator(make_local_communicator(), 0);
  torch::manual_seed(0);
  auto net = torch::nn::Sequential(torch::nn::Linear(64, 256), torch::nn::ReLU(), torch::nn::Linear(256, 10));
  net->to(torch::kCUDA);
  auto x = torch::randn({32, 64}, torch::kCUDA);
  net->forward(x).pow(2).mean().backward();
  std::vector<torch::Tensor> expected;
  for (auto& p : net->parameters()) expected.push_back(p.grad().clone());
  for (auto& p : net->parameters()) p.mutable_grad() = torch::Tensor();
  GradientSync sync(net->parameters(), *comm, 0.05, 0.01);
  EXPECT_GT(sync.num_buckets(), 1u);
  for (int step = 0; step < 2; ++step) {
    sync.begin_step();
    for (int micro = 0; micro < 4; ++micro) {
      sync.accumulate_only(micro < 3);
      (net->forward(x.narrow(0, 8 * micro, 8)).pow(2).mean() / 4.0).backward();
    }
    sync.finish_step();
    auto params = net->parameters();
    for (size_t k = 0; k < params.size(); ++k)
      EXPECT_TRUE(torch::allclose(params[k].grad(), expected[k], 1e-4, 1e-6)) << "param " << k << " step " << step;
  }
}
