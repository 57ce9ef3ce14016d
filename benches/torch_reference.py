"""Runs benches/engine.rs's shapes in PyTorch CPU and prints vaecam/PyTorch side by side.

Usage: cargo bench --bench engine   (writes target/bench/engine-cpu.json)
       python3 benches/torch_reference.py [--threads 2] [--rows matmul,maps]
or both in one command: scripts/bench_cpu.sh. --rows (or VAECAM_BENCH_ROWS) keeps the rows whose
name contains one of the comma-separated words, like the vaecam bench. Without the vaecam JSON
it prints PyTorch's figures alone. Needs torch; exits quietly without it.
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
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models as model_rows  # noqa: E402  (the model rows; needs torch imported first)


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


def wanted(name):
    words = [w.strip() for w in os.environ.get("VAECAM_BENCH_ROWS", "").split(",") if w.strip()]
    return not words or any(w in name for w in words)


def rows(budget):
    out = []
    if wanted("matmul 1024x1024x1024"):
        a = torch.randn(1024, 1024); b = torch.randn(1024, 1024)
        s = timeit(lambda: a @ b, budget)
        out.append(("matmul 1024x1024x1024", s, 2 * 1024 ** 3 / s / 1e9, "GFLOP/s"))
    out += conv_rows(budget)
    out += model_rows.rows(budget, timeit, wanted)
    return out


def conv_rows(budget):
    out = []
    n = 64

    def row(name, f, fl):
        # Each row is timed only when its full name is wanted (as on the vaecam side).
        if wanted(name):
            s = timeit(f, budget)
            out.append((name, s, fl / s / 1e9, "GFLOP/s"))

    for cin, cout, hw in [(1, 32, 64), (32, 32, 32), (32, 64, 16), (64, 64, 8)]:
        x = torch.randn(n, cin, hw, hw); w = torch.randn(cout, cin, 4, 4)
        o = hw // 2
        dy = torch.randn(n, cout, o, o)
        fl = conv_flops(n, cin, cout, o, o, 4)
        tag = f"{cin}->{cout} @{hw}x{hw}"
        row(f"conv2d fwd {tag}", lambda: F.conv2d(x, w, None, 2, 1), fl)
        row(f"conv2d bwd-data {tag}", lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, 2, 1), fl)
        row(f"conv2d bwd-weight {tag}", lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, 2, 1), fl)
    for cin, cout, hw in [(64, 64, 4), (64, 32, 8), (32, 32, 16), (32, 1, 32)]:
        x = torch.randn(n, cin, hw, hw); w = torch.randn(cin, cout, 4, 4)
        fl = conv_flops(n, cin, cout, hw, hw, 4)
        row(f"conv_transpose2d {cin}->{cout} @{hw}->{2 * hw}",
            lambda: F.conv_transpose2d(x, w, None, 2, 1), fl)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (compares with engine-gpu.json)")
    ap.add_argument("--rows", default=None, help="comma-separated words; rows whose name contains one")
    ap.add_argument("--vaecam", default=None, help="vaecam's JSON (default target/bench/engine-cpu.json or -gpu.json)")
    ap.add_argument("--rows-only", action="store_true",
                    help="print the table's rows without its header (scripts/bench_cpu.sh --interleave)")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: this torch has no CUDA device"); sys.exit(1)
    torch.set_default_device(args.device)
    if args.vaecam is None:
        tag = "cpu" if args.device == "cpu" else "gpu"
        args.vaecam = os.path.join(os.path.dirname(__file__), "..", "target", "bench", f"engine-{tag}.json")
    torch.set_num_threads(args.threads)
    if args.rows is not None:
        os.environ["VAECAM_BENCH_ROWS"] = args.rows
    ours = {}
    if os.path.exists(args.vaecam):
        ours = {r["name"]: r for r in json.load(open(args.vaecam))["rows"]}
    where = (f"CPU ({args.threads} threads, {torch.backends.cpu.get_cpu_capability()} kernels)"
             if args.device == "cpu" else torch.cuda.get_device_name())
    if not args.rows_only:
        print(f"\n## PyTorch {torch.__version__} {where} vs vaecam\n")
        if ours:
            print(f"(vaecam: {json.load(open(args.vaecam)).get('device', '?')})\n")
        print("| op | PyTorch | vaecam | vaecam / PyTorch |")
        print("|---|---:|---:|---:|")
    for name, s, v, unit in rows(args.seconds):
        # vaecam may time one workload several ways: "NAME (how)" rows sit beside NAME.
        mine = [(k, o) for k, o in ours.items() if k == name or k.startswith(name + " (")]
        if not mine:
            print(f"| {name} | {v:.1f} {unit} | - | - |", flush=True)
        for k, o in mine:
            print(f"| {k} | {v:.1f} {unit} | {o['value']:.1f} | {o['value'] / v:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
