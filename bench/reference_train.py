#!/usr/bin/env python3
"""The plain PyTorch training loop a user would otherwise write, for the same model, batch,
optimiser and data as `aimrun train` with the synthetic dataset, to compare images/s.

Models mirror aimrun's exactly: small_cnn (aim/backbones/small_cnn.cpp), torchvision's
resnet18/resnet50, and the methods vanilla and aim (aim/methods/aim.cpp, aim/masking.cpp)
with the same module shapes, losses and Gumbel masks. Data: a pool of noise images on the
host, copied per batch, like aimrun's synthetic dataset.

  reference_train.py --model resnet18 --method aim --size 64 --batch 128 --steps 60 --threads 2
Prints one line: images/s (all ranks together) over the steps after --warmup.
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn_relu(cin, cout, stride=1, k=3):
    return [nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SmallCnn(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        c = [width, 2 * width, 4 * width, 8 * width]
        self.channels = c
        stages = [nn.Sequential(*conv_bn_relu(3, c[0], 2), *conv_bn_relu(c[0], c[0]))]
        for i in range(1, 4):
            stages.append(nn.Sequential(*conv_bn_relu(c[i - 1], c[i], 2), *conv_bn_relu(c[i], c[i])))
        self.stages = nn.ModuleList(stages)

    def forward_stages(self, x):
        out = []
        for s in self.stages:
            x = s(x)
            out.append(x)
        return out


class TorchvisionResNet(nn.Module):
    def __init__(self, name):
        super().__init__()
        import torchvision
        m = getattr(torchvision.models, name)()
        self.stem = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool)
        self.layers = nn.ModuleList([m.layer1, m.layer2, m.layer3, m.layer4])
        self.channels = [l[-1].conv3.out_channels if hasattr(l[-1], "conv3") else l[-1].conv2.out_channels
                         for l in self.layers]

    def forward_stages(self, x):
        x = self.stem(x)
        out = []
        for l in self.layers:
            x = l(x)
            out.append(x)
        return out


class Vanilla(nn.Module):
    def __init__(self, backbone, classes):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(backbone.channels[-1], classes)

    def loss(self, x, y, tau):
        return F.cross_entropy(self.head(self.backbone.forward_stages(x)[-1].mean((2, 3))), y)

    forward = loss  # DistributedDataParallel hooks forward()


class MaskEstimator(nn.Module):
    def __init__(self, cin, hidden, blocks=1, keep_bias=2.0):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn_relu(cin, hidden))
        self.blocks = nn.ModuleList([nn.Sequential(nn.Conv2d(hidden, hidden, 3, 1, 1, bias=False), nn.BatchNorm2d(hidden),
                                                   nn.ReLU(inplace=True), nn.Conv2d(hidden, hidden, 3, 1, 1, bias=False),
                                                   nn.BatchNorm2d(hidden)) for _ in range(blocks)])
        self.context = nn.Conv2d(hidden, hidden, 1)
        self.logits = nn.Conv2d(hidden, 2, 1)
        with torch.no_grad():
            self.logits.bias.copy_(torch.tensor([keep_bias, 0.0]))

    def forward(self, x):
        h = self.stem(x)
        for b in self.blocks:
            h = F.relu(h + b(h))
        h = F.relu(h + self.context(h.mean((2, 3), keepdim=True)))
        return self.logits(h)


def hard_gumbel_keep(logits, temperature=1.0):
    u = torch.rand_like(logits).clamp(1e-10, 1 - 1e-7)
    soft = torch.softmax((logits - torch.log(-torch.log(u))) / temperature, 1)
    hard = torch.zeros_like(soft).scatter_(1, soft.argmax(1, keepdim=True), 1.0)
    return (hard - soft.detach() + soft)[:, :1]


class Aim(nn.Module):
    def __init__(self, backbone, classes, stages=2, lam=6.0):
        super().__init__()
        self.backbone, self.lam, self.first = backbone, lam, 4 - stages
        c = backbone.channels
        width = min(max(c[-1] // 2, 32), 256)
        hidden = max(16, width // 2)
        ls = list(range(3, self.first - 1, -1))
        self.lateral = nn.ModuleList([nn.Conv2d(c[l], width, 1) for l in ls])
        self.masks = nn.ModuleList([MaskEstimator(width, hidden) for _ in ls])
        self.transforms = nn.ModuleList([nn.Sequential(*conv_bn_relu(width, width)) for _ in ls])
        self.classifiers = nn.ModuleList([nn.Linear(width, classes) for _ in ls])

    def loss(self, x, y, tau):
        xs = self.backbone.forward_stages(x)
        context, sparse, masks, loss = None, None, [], 0.0
        for k, l in enumerate(range(3, self.first - 1, -1)):
            s = self.lateral[k](xs[l])
            if context is not None:
                s = s + F.interpolate(context, size=s.shape[2:], mode="nearest")
            m = hard_gumbel_keep(self.masks[k](s))
            o = self.transforms[k](s) * m
            if sparse is not None:
                o = o + F.interpolate(sparse, size=o.shape[2:], mode="nearest")
            loss = loss + F.cross_entropy(self.classifiers[k](o.mean((2, 3))), y)
            masks.append(m)
            context, sparse = s, o
        area = sum((m.mean((1, 2, 3)).mean() - tau) ** 2 for m in masks)
        return loss + self.lam * area

    forward = loss


def peak_resident_mib():
    """This process's peak resident memory (VmHWM, since exec), as aimrun records it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def train(rank, a, port):
    """One rank's loop; with --ranks N > 1, DistributedDataParallel over gloo, as a user of
    torch.distributed on CPUs would write it (each rank with its own batch of a.batch)."""
    threads = a.threads // a.ranks if a.threads else 0
    if threads:
        torch.set_num_threads(max(1, threads))
    torch.manual_seed(rank)
    if a.ranks > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=a.ranks)
    torch.backends.cudnn.benchmark = True
    dev = torch.device(a.device)
    backbone = SmallCnn(a.width) if a.model == "small_cnn" else TorchvisionResNet(a.model)
    model = (Vanilla if a.method == "vanilla" else Aim)(backbone, a.classes).to(dev)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
                          lr=0.05, momentum=0.9)
    if a.ranks > 1:
        model = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=25)
    pool = torch.randn(64, 3, a.size, a.size)
    labels = torch.arange(a.batch) % a.classes
    pin = dev.type == "cuda"
    model.train()
    t0 = None
    profiler = None
    for step in range(a.warmup + a.steps):
        if step == a.warmup:
            if a.trace and rank == 0:
                profiler = torch.autograd.profiler.profile()
                profiler.__enter__()
            if pin:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        idx = torch.randint(0, 64, (a.batch,))
        x = pool.index_select(0, idx)
        y = labels
        if pin:
            x, y = x.pin_memory(), y.pin_memory()
        x, y = x.to(dev, non_blocking=pin), y.to(dev, non_blocking=pin)
        if a.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            loss = model(x, y, 0.25)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if pin:
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    if profiler is not None:
        profiler.__exit__(None, None, None)
        profiler.export_chrome_trace(a.trace)
    if rank == 0:
        print(f"python {a.model} {a.method} {a.size}px batch {a.batch} x {a.ranks} ranks {a.precision}: "
              f"{a.ranks * a.steps * a.batch / dt:.1f} images/s, peak memory {peak_resident_mib():.0f} MiB", flush=True)
    if a.ranks > 1:
        torch.distributed.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="small_cnn", choices=["small_cnn", "resnet18", "resnet50"])
    p.add_argument("--method", default="vanilla", choices=["vanilla", "aim"])
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--batch", type=int, default=128, help="per rank")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="in total, divided between the ranks")
    p.add_argument("--ranks", type=int, default=1, help="processes (DistributedDataParallel over gloo)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--trace", metavar="FILE", help="rank 0's timed steps as a Chrome trace (the autograd profiler; "
                   "compare with build/bench/step_bench --trace using bench/compare_traces.py)")
    a = p.parse_args()
    if a.ranks == 1:
        train(0, a, 0)
    else:
        import random
        import torch.multiprocessing as mp
        mp.spawn(train, args=(a, random.randint(20000, 60000)), nprocs=a.ranks)


if __name__ == "__main__":
    main()
