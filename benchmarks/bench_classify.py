"""Speed of the residue classifiers on this machine: a markdown table to benchmarks/results/.

For each net: parameters, GFLOP per residue (forward), inference residues/s (eval, no_grad,
channels_last_3d, fp32), training samples/s (forward + backward + SGD step), and the GFLOP/s
they reach, next to a plain fp32 matrix multiply (torch.mm 2048 x 2048) measured in the same run.

Usage::

    python benchmarks/bench_classify.py --threads 2   # writes benchmarks/results/classify.md
    python benchmarks/bench_classify.py --quick       # small nets only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from napari_densitybuild.nets import build_net, count_flops, count_params
from napari_densitybuild.nets.fold import fold_batchnorm

#: (label, net config, box edge, inference batch, train batch, timed inference / train batches)
CASES = [
    ("compact c=16, 3+3 blocks, 22^3 (0.5 A)", {"name": "compact"}, 22, 64, 32, 6, 6),
    ("poster ResNet-11 width 0.25 at 22^3 (0.5 A), 3 blocks, 1 stem pool",
     {"name": "resnet11", "width": 0.25, "repeats": 3, "input_size": 22, "stem_pools": 1},
     22, 64, 16, 3, 3),
    ("poster ResNet-11 width 0.25, 41^3", {"name": "resnet11", "width": 0.25}, 41, 16, 8, 3, 3),
    ("poster ResNet-11 width 1, 41^3 (the table)", {"name": "resnet11"}, 41, 4, 2, 2, 1),
]  # fmt: skip


def gpu_name() -> str:
    """The CUDA device's name."""
    return torch.cuda.get_device_name(DEVICE)


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (or platform)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


DEVICE = torch.device("cpu")  # set by --device


def _sync() -> None:
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def _autocast():
    """bf16 autocast on CUDA (as training and ``Classifier`` run there); nothing on the CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=DEVICE.type == "cuda")


def matmul_gflops(n: int = 2048, repeats: int = 10, dtype: torch.dtype = torch.float32) -> float:
    """Achieved GFLOP/s of an n x n matrix multiply on ``DEVICE``."""
    a = torch.randn(n, n, device=DEVICE, dtype=dtype)
    b = torch.randn(n, n, device=DEVICE, dtype=dtype)
    torch.mm(a, b)
    _sync()
    t = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    _sync()
    return 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9


def _timed(fn, batches: int) -> float:
    """Best seconds per call over ``batches`` calls after one warm-up call.

    The best (not the mean) is reported because other workers share the cores.
    """
    fn()  # warm-up (and oneDNN primitive creation)
    _sync()
    best = float("inf")
    for _ in range(batches):
        t = time.perf_counter()
        fn()
        _sync()
        best = min(best, time.perf_counter() - t)
    return best


def bench(config: dict, size: int, infer_bs: int, train_bs: int, n_inf: int, n_tr: int) -> dict:
    """Measure one net; returns params, GFLOP/residue, inference and training rates."""
    torch.manual_seed(0)
    net = build_net(config)
    flops = count_flops(net, size)
    net = net.to(DEVICE)
    x = torch.randn(infer_bs, 1, size, size, size, device=DEVICE)
    net.eval()
    with torch.inference_mode(), _autocast():
        t_plain = _timed(lambda: net(x), n_inf)
    cl = torch.channels_last_3d
    net = net.to(memory_format=cl)
    x = x.contiguous(memory_format=cl)
    with torch.inference_mode(), _autocast():
        t_inf = _timed(lambda: net(x), n_inf)
    folded = fold_batchnorm(net)  # what Classifier runs
    with torch.inference_mode(), _autocast():
        t_fold = _timed(lambda: folded(x), n_inf)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    xt = torch.randn(train_bs, 1, size, size, size, device=DEVICE).contiguous(memory_format=cl)
    y = torch.randint(0, 20, (train_bs,), device=DEVICE)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with _autocast():
            loss = nn.functional.cross_entropy(net(xt).float(), y)
        loss.backward()
        opt.step()

    t_tr = _timed(step, n_tr)
    infer = infer_bs / t_inf
    train = train_bs / t_tr
    return {
        "params": count_params(net),
        "gflop": flops / 1e9,
        "infer": infer,
        "infer_plain": infer_bs / t_plain,
        "infer_folded": infer_bs / t_fold,
        "train": train,
        "infer_gflops": infer * flops / 1e9,
        "train_gflops": train * 3 * flops / 1e9,  # backward ~ 2x forward
        "infer_bs": infer_bs,
        "train_bs": train_bs,
    }


def shipped_case() -> tuple | None:
    """A :data:`CASES` row for the net of the shipped weights (None when none ship)."""
    from napari_densitybuild.weights_io import read_config, shipped_weights_path

    path = shipped_weights_path()
    if path is None:
        return None
    config = read_config(path)
    net, size = config["net"], config["box"]["size"]
    label = f"the shipped net: {net['name']} blocks {net.get('blocks')}, {size}^3"
    return label, net, size, *CASES[0][3:]


def shipped_rates(n: int = 512) -> dict:
    """Residues/s of the shipped weights through ``Classifier.predict`` (normalisation and
    batching included), classification alone and with the pose head."""
    from napari_densitybuild.classify import Classifier

    clf = Classifier.from_path(device=str(DEVICE))
    size = clf.spec.size
    boxes = np.random.default_rng(0).normal(size=(n, size, size, size)).astype(np.float32)
    out = {"batch": clf.batch_size, "config": clf.config["net"]}
    for key, poses in (("classify", False), ("pose", True)):
        out[key] = n / _timed(lambda p=poses: clf.predict(boxes, poses=p), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the markdown table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="skip the full-width poster net")
    p.add_argument("--device", default="cpu", help="cpu or cuda (bf16 autocast on CUDA)")
    p.add_argument("--scale", type=int, default=1, help="batch sizes x this (GPUs want more)")
    p.add_argument("--out", help="default results/classify.md (_cuda.md on CUDA); '-': print only")
    args = p.parse_args(argv)
    global DEVICE
    DEVICE = torch.device(args.device)
    name = "classify.md" if DEVICE.type == "cpu" else f"classify_{DEVICE.type}.md"
    args.out = args.out or str(Path(__file__).parent / "results" / name)
    torch.set_num_threads(args.threads)
    if DEVICE.type == "cuda":
        torch.backends.cudnn.benchmark = True
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    mm = matmul_gflops() if DEVICE.type == "cpu" else matmul_gflops(8192, 20)
    mm_bf16 = matmul_gflops(8192, 20, torch.bfloat16) if DEVICE.type == "cuda" else None
    rows = []
    cases = [CASES[0], *filter(None, [shipped_case()]), *CASES[1:]]
    for label, config, size, ibs, tbs, ni, nt in cases:
        if args.quick and config == {"name": "resnet11"}:
            continue
        r = bench(config, size, ibs * args.scale, tbs * args.scale, ni, nt)
        rows.append((label, r))
        print(f"{label}: {r['infer']:.1f} res/s, {r['train']:.2f} train/s", flush=True)
    shipped = shipped_rates(512 * args.scale)
    print(f"shipped weights: {shipped['classify']:.1f} res/s, {shipped['pose']:.1f} with poses")
    mm_after = matmul_gflops() if DEVICE.type == "cpu" else matmul_gflops(8192, 20)
    load_after = os.getloadavg()
    lines = [
        f"# Residue classifier speed on {'CPU' if DEVICE.type == 'cpu' else gpu_name()}",
        "",
        f"Command: `python benchmarks/bench_classify.py --threads {args.threads}`"
        f"{' --quick' if args.quick else ''}"
        f"{f' --device {args.device} --scale {args.scale}' if DEVICE.type != 'cpu' else ''}  ",
        f"Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, Python {platform.python_version()}"
        f"{f', {gpu_name()}' if DEVICE.type == 'cuda' else ''}  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M')}; load average (1, 5, 15 min) before "
        f"{', '.join(f'{v:.2f}' for v in load_before)}, after "
        f"{', '.join(f'{v:.2f}' for v in load_after)} (other workers share the cores)  ",
        f"Plain fp32 matmul (torch.mm {2048 if DEVICE.type == 'cpu' else 8192}^2): {mm:.0f} "
        f"GFLOP/s at start, {mm_after:.0f} at end"
        + (f"; bf16: {mm_bf16:.0f} GFLOP/s" if mm_bf16 else ""),
        "",
        *(
            [
                "On CUDA every net runs under bf16 autocast (as training and `Classifier` do), so",
                "its GFLOP/s compare with the bf16 matmul.",
                "",
            ]
            if DEVICE.type == "cuda"
            else []
        ),
        "FLOPs = 2 x multiply-adds of conv and linear layers (count_flops); training GFLOP/s",
        "assumes backward = 2 x forward. fp32, channels_last_3d (one inference column in the",
        "default contiguous layout, one with batch norm folded into the convolutions as",
        "`Classifier` runs it); inference under inference_mode. Each rate is the best of a few",
        "timed batches after a warm-up batch (the cores are shared).",
        "",
        "| net | params | GFLOP/residue | infer residues/s (batch) | infer GFLOP/s "
        "| infer contiguous /s | infer BN folded /s | train samples/s (batch) | train GFLOP/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in rows:
        lines.append(
            f"| {label} | {r['params'] / 1e6:.2f} M | {r['gflop']:.2f} | {r['infer']:.1f} "
            f"({r['infer_bs']}) | {r['infer_gflops']:.0f} | {r['infer_plain']:.1f} "
            f"| {r['infer_folded']:.1f} | {r['train']:.2f} ({r['train_bs']}) "
            f"| {r['train_gflops']:.0f} |"
        )
    lines += [
        "",
        f"Shipped weights (`{json.dumps(shipped['config'])}`) through `Classifier.predict` "
        f"({512 * args.scale} boxes, batch {shipped['batch']}, per-box normalisation included): "
        f"**{shipped['classify']:.1f} residues/s** classification only, "
        f"{shipped['pose']:.1f} residues/s with the pose head. `build` and `classify` score "
        "each residue's box and 4 jittered copies (default test-time augmentation), so a "
        "build classifies about a fifth as many residues per second.",
    ]
    lines += ["", f"Total benchmark time {time.perf_counter() - t0:.0f} s.", ""]
    if args.out != "-":  # '-': print only, as the other benchmarks take it
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
