#!/usr/bin/env python3
"""Export a torchvision model's state_dict to HDF5 for aimrun's `model.weights`.

Every state_dict entry becomes one dataset at the file root, named exactly as its key
(`layer1.0.conv1.weight`, `bn1.running_var`, `bn1.num_batches_tracked`, ...), in its own
dtype (float32 stays float32, int64 stays int64). The file is written under a temporary
name and renamed, so a reader never sees half a file.

    export_torchvision_weights.py resnet50 resnet50.h5 --pretrained
    export_torchvision_weights.py convnext_tiny w.h5 --seed 3 --perturb \
        --inputs 128 128 2 --logits-out ref.h5

--inputs H W N with --logits-out FILE also writes N seeded random images ([N,3,H,W]
float32, `images`) and the model's eval-mode outputs on them (`logits`) to FILE: the
reference of aimrun's parity test. --perturb replaces the freshly initialised parameters
and BatchNorm statistics by random values, because a fresh model would hide errors:
its BatchNorms are identities and ConvNeXt's layer scale (1e-6) mutes every block.
"""
import argparse
import os

import h5py
import torch
import torchvision


def write_atomic(path, datasets):
    tmp = f"{path}.tmp{os.getpid()}"
    with h5py.File(tmp, "w") as f:
        for name, value in datasets.items():
            f.create_dataset(name, data=value.detach().cpu().numpy())
    os.replace(tmp, path)


def perturb(model):
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                t.random_(1, 1000)  # num_batches_tracked: shows that int64 values arrive
            elif name.endswith("running_var"):
                t.uniform_(0.5, 2.0)
            elif name.endswith("layer_scale") or (name.endswith("weight") and t.dim() == 1):
                t.uniform_(0.5, 1.5)  # norm scales and layer scales
            elif name.endswith("bias") or name.endswith("running_mean"):
                t.normal_(0.0, 0.1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a torchvision.models builder: resnet18, resnet50, convnext_tiny, ...")
    p.add_argument("out", help="HDF5 file to write")
    p.add_argument("--pretrained", action="store_true", help="torchvision's default pretrained weights (downloads)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random initialisation and inputs")
    p.add_argument("--num-classes", type=int, default=None, help="classes of the head (not with --pretrained)")
    p.add_argument("--perturb", action="store_true", help="randomise norms, biases and layer scales (for tests)")
    p.add_argument("--inputs", type=int, nargs=3, metavar=("H", "W", "N"), help="random images for --logits-out")
    p.add_argument("--logits-out", help="file for `images` and the model's `logits` on them")
    args = p.parse_args()
    if (args.inputs is None) != (args.logits_out is None):
        p.error("--inputs and --logits-out go together")
    if args.pretrained and args.num_classes is not None:
        p.error("--num-classes cannot change a pretrained head")

    torch.manual_seed(args.seed)
    kwargs = {} if args.num_classes is None else {"num_classes": args.num_classes}
    model = getattr(torchvision.models, args.model)(weights="DEFAULT" if args.pretrained else None, **kwargs)
    if args.perturb:
        perturb(model)
    model.eval()
    write_atomic(args.out, model.state_dict())

    if args.inputs:
        h, w, n = args.inputs
        images = torch.randn(n, 3, h, w)
        with torch.no_grad():
            logits = model(images)
        write_atomic(args.logits_out, {"images": images, "logits": logits})


if __name__ == "__main__":
    main()
