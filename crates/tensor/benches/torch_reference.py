"""PyTorch CPU reference figures for the shapes of benches/cpu_kernels.rs.

Run: python3 crates/tensor/benches/torch_reference.py [threads]  (needs `pip install torch`)
Threads default to 2; compare with RAYON_NUM_THREADS set to the same number.
"""
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)


def bench(fn, reps=15):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def row(op, shape, flops, secs):
    print(f"{op:<22} {shape:<28} {secs * 1e3:9.3f} ms {flops / secs / 1e9:8.1f} GFLOP/s")


n = 1024
a, b = torch.randn(n, n), torch.randn(n, n)
for name, fa, fb in [("NN", a, b), ("TN", a.t(), b), ("NT", a, b.t()), ("TT", a.t(), b.t())]:
    row("matmul", f"1024x1024x1024 {name}", 2 * n**3, bench(lambda: fa @ fb))

# (c_in, c_out, input size) of the conv; batch 64, k4 s2 p1.
ENCODER = [(1, 32, 64), (32, 32, 32), (32, 64, 16), (64, 64, 8)]
# conv_transpose (c_in_t, c_out_t, in size): the backward-data of conv (c_out_t -> c_in_t) at 2*in.
DECODER = [(64, 64, 4), (64, 32, 8), (32, 32, 16), (32, 1, 32)]
N = 64
conv_bw = torch.ops.aten.convolution_backward
with torch.no_grad():
    for ci, co, h in ENCODER:
        x = torch.randn(N, ci, h, h)
        w = torch.randn(co, ci, 4, 4)
        y = torch.nn.functional.conv2d(x, w, stride=2, padding=1)
        dy = torch.randn_like(y)
        oh = y.shape[2]
        fl = 2 * N * co * oh * oh * ci * 16
        shape = f"{ci}->{co} {h}x{h} b{N}"
        row("conv fwd", shape, fl, bench(lambda: torch.nn.functional.conv2d(x, w, stride=2, padding=1)))
        args = (dy, x, w, None, [2, 2], [1, 1], [1, 1], False, [0, 0], 1)
        row("conv bwd-data", shape, fl, bench(lambda: conv_bw(*args, [True, False, False])))
        row("conv bwd-weight", shape, fl, bench(lambda: conv_bw(*args, [False, True, False])))
    # Other shapes the engine will meet: 3x3 stride-1 and batch 1.
    for nb, ci, co, h, k, st, p in [(16, 64, 64, 32, 3, 1, 1), (1, 32, 32, 32, 4, 2, 1)]:
        x = torch.randn(nb, ci, h, h)
        w = torch.randn(co, ci, k, k)
        y = torch.nn.functional.conv2d(x, w, stride=st, padding=p)
        dy = torch.randn_like(y)
        oh = y.shape[2]
        fl = 2 * nb * co * oh * oh * ci * k * k
        shape = f"{ci}->{co} {h}x{h} k{k}s{st} b{nb}"
        row("conv fwd", shape, fl, bench(lambda: torch.nn.functional.conv2d(x, w, stride=st, padding=p)))
        args = (dy, x, w, None, [st, st], [p, p], [1, 1], False, [0, 0], 1)
        row("conv bwd-data", shape, fl, bench(lambda: conv_bw(*args, [True, False, False])))
        row("conv bwd-weight", shape, fl, bench(lambda: conv_bw(*args, [False, True, False])))
    for ci, co, h in DECODER:
        x = torch.randn(N, ci, h, h)
        w = torch.randn(ci, co, 4, 4)
        fl = 2 * N * ci * h * h * co * 16
        shape = f"{ci}->{co} {h}->{2 * h} b{N}"
        row("conv_transpose fwd", shape, fl, bench(lambda: torch.nn.functional.conv_transpose2d(x, w, stride=2, padding=1)))
