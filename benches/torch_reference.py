"""Runs benches/engine.rs's shapes in PyTorch CPU and prints vaecam/PyTorch side by side.

Usage: cargo bench --bench engine   (writes target/bench/engine-cpu.json)
       python3 benches/torch_reference.py [--threads 2]
Without the vaecam JSON it prints PyTorch's figures alone. Needs torch; exits quietly without it.
"""
import argparse
import json
import os
import statistics
import sys
import time

# PyTorch's OpenMP threads spin after each op by default; in a CPU-quota sandbox that spinning
# is throttled and every op then costs a multiple of the scheduler period (measured here:
# 32 ms for a 10 ms matmul). An explicit thread count and no spin give its real speed.
os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count()))
os.environ.setdefault("KMP_BLOCKTIME", "0")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print("torch is not installed: nothing to compare (pip install torch)")
    sys.exit(0)


def sync():
    if torch.cuda.is_available() and torch.get_default_device().type == "cuda":
        torch.cuda.synchronize()


def timeit(fn, budget=1.0):
    inner = fn

    def fn():
        inner(); sync()
    fn(); fn()
    t0 = time.perf_counter(); fn(); once = max(time.perf_counter() - t0, 1e-6)
    reps = int(min(max(budget / once, 3), 200))
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def conv_flops(n, cin, cout, oh, ow, k):
    return 2.0 * n * cout * oh * ow * cin * k * k


def rows(budget):
    out = []
    a = torch.randn(1024, 1024); b = torch.randn(1024, 1024)
    s = timeit(lambda: a @ b, budget)
    out.append(("matmul 1024x1024x1024", s, 2 * 1024 ** 3 / s / 1e9, "GFLOP/s"))
    n = 64
    for cin, cout, hw in [(1, 32, 64), (32, 32, 32), (32, 64, 16), (64, 64, 8)]:
        x = torch.randn(n, cin, hw, hw); w = torch.randn(cout, cin, 4, 4)
        o = hw // 2
        dy = torch.randn(n, cout, o, o)
        fl = conv_flops(n, cin, cout, o, o, 4)
        tag = f"{cin}->{cout} @{hw}x{hw}"
        s = timeit(lambda: F.conv2d(x, w, None, 2, 1), budget)
        out.append((f"conv2d fwd {tag}", s, fl / s / 1e9, "GFLOP/s"))
        s = timeit(lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, 2, 1), budget)
        out.append((f"conv2d bwd-data {tag}", s, fl / s / 1e9, "GFLOP/s"))
        s = timeit(lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, 2, 1), budget)
        out.append((f"conv2d bwd-weight {tag}", s, fl / s / 1e9, "GFLOP/s"))
    for cin, cout, hw in [(64, 64, 4), (64, 32, 8), (32, 32, 16), (32, 1, 32)]:
        x = torch.randn(n, cin, hw, hw); w = torch.randn(cin, cout, 4, 4)
        fl = conv_flops(n, cin, cout, hw, hw, 4)
        s = timeit(lambda: F.conv_transpose2d(x, w, None, 2, 1), budget)
        out.append((f"conv_transpose2d {cin}->{cout} @{hw}->{2 * hw}", s, fl / s / 1e9, "GFLOP/s"))
    z = 10
    enc = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 32, 4, 2, 1), nn.ReLU(),
                        nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Conv2d(64, 64, 4, 2, 1), nn.ReLU(),
                        nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(), nn.Linear(128, 2 * z))
    dec = nn.Sequential(nn.Linear(z, 128), nn.ReLU(), nn.Linear(128, 1024), nn.ReLU(), nn.Unflatten(1, (64, 4, 4)),
                        nn.ConvTranspose2d(64, 64, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
                        nn.ConvTranspose2d(32, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, 2, 1))
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-4)
    x = (torch.rand(n, 1, 64, 64) > 0.5).float()

    def step():
        h = enc(x); mu, logvar = h[:, :z], h[:, z:]
        zz = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = dec(zz)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
        kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp()) / n
        opt.zero_grad(); (rec + kl).backward(); opt.step()

    s = timeit(step, max(budget, 2.0))
    out.append(("dSprites VAE train step, batch 64", s, n / s, "images/s"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (compares with engine-gpu.json)")
    ap.add_argument("--vaecam", default=None, help="vaecam's JSON (default target/bench/engine-cpu.json or -gpu.json)")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: this torch has no CUDA device"); sys.exit(1)
    torch.set_default_device(args.device)
    if args.vaecam is None:
        tag = "cpu" if args.device == "cpu" else "gpu"
        args.vaecam = os.path.join(os.path.dirname(__file__), "..", "target", "bench", f"engine-{tag}.json")
    torch.set_num_threads(args.threads)
    ours = {}
    if os.path.exists(args.vaecam):
        ours = {r["name"]: r for r in json.load(open(args.vaecam))["rows"]}
    where = f"CPU ({args.threads} threads)" if args.device == "cpu" else torch.cuda.get_device_name()
    print(f"\n## PyTorch {torch.__version__} {where} vs vaecam\n")
    print("| op | PyTorch | vaecam | vaecam / PyTorch |")
    print("|---|---:|---:|---:|")
    for name, s, v, unit in rows(args.seconds):
        o = ours.get(name)
        mine = f"{o['value']:.1f}" if o else "-"
        ratio = f"{o['value'] / v:.2f}x" if o else "-"
        print(f"| {name} | {v:.1f} {unit} | {mine} | {ratio} |")


if __name__ == "__main__":
    main()
