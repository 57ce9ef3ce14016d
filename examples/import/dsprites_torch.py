#!/usr/bin/env python3
"""A dSprites VAE trained in plain PyTorch, to be explained by vaecam.

The module is laid out as ../shared/METHOD.md's dSprites VAE (issue 11, item 5): encoder
`enc.c1..enc.c4` (Conv2d k4 s2 p1: 1->32->32->64->64), `enc.f1` (Linear 1024->128), `enc.f2`
(Linear 128->2z, split [mu | logvar]), ReLU after every layer but `enc.f2`; decoder `dec.f1`
(z->128), `dec.f2` (128->1024), reshape to 64x4x4, `dec.d1..dec.d4` (ConvTranspose2d k4 s2 p1:
64->64->32->32->1), ReLU between, Bernoulli logits out.

It renders dSprites (METHOD.md section 5), trains a few hundred steps, saves the state_dict
with `safetensors.torch.save_file`, writes the architecture file describing the module, a few
test images as PNG, and PyTorch's own mu, logvar, alpha and per-dimension maps (the paper's
Eq. 1-2 at the layer `relu2`, the ReLU after `enc.c2`) for them in reference.json.

    python3 dsprites_torch.py --out OUT [--z 10] [--steps 300] [--images 4] [--width 1]

`--width 0.25` divides every channel and hidden size by 4 (the small fixture of vaecam's
tests); the default is the architecture of METHOD.md, described by dsprites_torch.arch.json.
"""
import argparse
import json
import math
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file


# ---------------------------------------------------------------- dSprites renderer
def shape_mask(shape, scale, angle, px, py):
    """64x64 binary frame: pixel centres inside the shape (METHOD.md section 5)."""
    s = 0.5 + 0.1 * scale  # linspace(0.5, 1, 6)
    theta = 2 * math.pi * angle / 39.0  # linspace(0, 2 pi, 40)
    cx, cy = 16 + 32 * px / 31.0, 16 + 32 * py / 31.0
    c, r = np.meshgrid(np.arange(64) + 0.5, np.arange(64) + 0.5)
    dx, dy = c - cx, -(r - cy)  # y up
    # rotate the point by -theta into the shape's frame (shape rotated counter-clockwise)
    u = math.cos(theta) * dx + math.sin(theta) * dy
    v = -math.sin(theta) * dx + math.cos(theta) * dy
    if shape == 0:
        inside = (np.abs(u) <= 9.6 * s) & (np.abs(v) <= 9.6 * s)
    elif shape == 1:
        inside = (u / (12.77 * s)) ** 2 + (v / (7.21 * s)) ** 2 <= 1
    else:
        t = np.linspace(0, 2 * math.pi, 400, endpoint=False)
        hx = 0.5972 * s * 16 * np.sin(t) ** 3
        hy = 0.6622 * s * (13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t)) + 1.454 * s
        inside = np.zeros_like(u, dtype=bool)
        j = len(t) - 1
        for i in range(len(t)):  # even-odd rule
            cond = (hy[i] > v) != (hy[j] > v)
            xint = (hx[j] - hx[i]) * (v - hy[i]) / (hy[j] - hy[i] + 1e-12) + hx[i]
            inside ^= cond & (u < xint)
            j = i
    return inside.astype(np.float32)


def random_frames(rng, n):
    out = np.empty((n, 1, 64, 64), np.float32)
    for k in range(n):
        out[k, 0] = shape_mask(rng.integers(3), rng.integers(6), rng.integers(40), rng.integers(32), rng.integers(32))
    return out


def write_png(path, gray01):
    """8-bit grayscale PNG without any imaging library."""
    h, w = gray01.shape
    raw = b"".join(b"\x00" + bytes((gray01[r] * 255).round().astype(np.uint8)) for r in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------- the model
class Encoder(nn.Module):
    def __init__(self, z, c=(32, 32, 64, 64), hidden=128):
        super().__init__()
        self.c1 = nn.Conv2d(1, c[0], 4, 2, 1)
        self.c2 = nn.Conv2d(c[0], c[1], 4, 2, 1)
        self.c3 = nn.Conv2d(c[1], c[2], 4, 2, 1)
        self.c4 = nn.Conv2d(c[2], c[3], 4, 2, 1)
        self.f1 = nn.Linear(c[3] * 16, hidden)
        self.f2 = nn.Linear(hidden, 2 * z)

    def forward(self, x, tap=None):
        h = F.relu(self.c1(x))
        h = F.relu(self.c2(h))
        if tap is not None:
            tap.append(h)  # "relu2"
        h = F.relu(self.c3(h))
        h = F.relu(self.c4(h))
        h = F.relu(self.f1(h.flatten(1)))
        mu, logvar = self.f2(h).chunk(2, dim=1)
        return mu, logvar


class Decoder(nn.Module):
    def __init__(self, z, c=(32, 32, 64, 64), hidden=128):
        super().__init__()
        self.c = c
        self.f1 = nn.Linear(z, hidden)
        self.f2 = nn.Linear(hidden, c[3] * 16)
        self.d1 = nn.ConvTranspose2d(c[3], c[2], 4, 2, 1)
        self.d2 = nn.ConvTranspose2d(c[2], c[1], 4, 2, 1)
        self.d3 = nn.ConvTranspose2d(c[1], c[0], 4, 2, 1)
        self.d4 = nn.ConvTranspose2d(c[0], 1, 4, 2, 1)

    def forward(self, z):
        h = F.relu(self.f2(F.relu(self.f1(z))))
        h = h.view(-1, self.c[3], 4, 4)
        h = F.relu(self.d1(h))
        h = F.relu(self.d2(h))
        h = F.relu(self.d3(h))
        return self.d4(h)  # Bernoulli logits


class VAE(nn.Module):
    def __init__(self, z, width=1.0):
        super().__init__()
        c = tuple(max(1, int(round(k * width))) for k in (32, 32, 64, 64))
        hidden = max(1, int(round(128 * width)))
        self.z, self.channels, self.hidden = z, c, hidden
        self.enc = Encoder(z, c, hidden)
        self.dec = Decoder(z, c, hidden)

    def forward(self, x):
        mu, logvar = self.enc(x)
        zs = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.dec(zs), mu, logvar


def arch_file(model, name):
    """The vaecam architecture file that describes `model` (docs/architecture-files.md)."""
    c, hid, z = model.channels, model.hidden, model.z
    conv = lambda n, p, i, o: {"type": "conv2d", "name": n, "params": p, "in_channels": i,
                               "out_channels": o, "kernel": 4, "stride": 2, "padding": 1}
    deconv = lambda n, p, i, o: {"type": "conv_transpose2d", "name": n, "params": p, "in_channels": i,
                                 "out_channels": o, "kernel": 4, "stride": 2, "padding": 1}
    lin = lambda n, p, i, o: {"type": "linear", "name": n, "params": p, "in_features": i, "out_features": o}
    relu = lambda n: {"type": "relu", "name": n}
    return {
        "format": "vaecam-arch/1",
        "name": name,
        "input": {"channels": 1, "size": 64},
        "z_dim": z,
        "encoder": {
            "layers": [
                conv("conv1", "enc.c1", 1, c[0]), relu("relu1"),
                conv("conv2", "enc.c2", c[0], c[1]), relu("relu2"),
                conv("conv3", "enc.c3", c[1], c[2]), relu("relu3"),
                conv("conv4", "enc.c4", c[2], c[3]), relu("relu4"),
                {"type": "flatten", "name": "flatten"},
                lin("fc1", "enc.f1", c[3] * 16, hid), relu("relu5"),
            ],
            "head": {"type": "split_linear", "name": "fc2", "params": "enc.f2", "in_features": hid},
        },
        "decoder": {
            "output": "bernoulli_logits",
            "layers": [
                lin("fc1", "dec.f1", z, hid), relu("relu1"),
                lin("fc2", "dec.f2", hid, c[3] * 16), relu("relu2"),
                {"type": "reshape", "name": "reshape", "shape": [c[3], 4, 4]},
                deconv("deconv1", "dec.d1", c[3], c[2]), relu("relu3"),
                deconv("deconv2", "dec.d2", c[2], c[1]), relu("relu4"),
                deconv("deconv3", "dec.d3", c[1], c[0]), relu("relu5"),
                deconv("deconv4", "dec.d4", c[0], 1),
            ],
        },
    }


def attention(model, x):
    """PyTorch's own Eq. 1-2 at relu2: alpha [N, D, K] and maps [N, D, h, w]."""
    tap = []
    mu, logvar = model.enc(x, tap)
    a = tap[0]
    alphas, maps = [], []
    for i in range(mu.shape[1]):
        g, = torch.autograd.grad(mu[:, i].sum(), a, retain_graph=True)
        alpha = g.mean(dim=(2, 3))
        alphas.append(alpha)
        maps.append(F.relu((alpha[:, :, None, None] * a).sum(1)))
    return mu, logvar, torch.stack(alphas, 1), torch.stack(maps, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--z", type=int, default=10)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--images", type=int, default=4)
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--name", default="dsprites_torch")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    rng = np.random.default_rng(a.seed)
    model = VAE(a.z, a.width)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(a.steps):
        x = torch.from_numpy(random_frames(rng, a.batch))
        logits, mu, logvar = model(x)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / a.batch
        kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum() / a.batch
        loss = rec + kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == a.steps - 1:
            print(f"step {step}: recon {rec.item():.1f} kl {kl.item():.2f}", flush=True)
    model.eval()
    os.makedirs(os.path.join(a.out, "images"), exist_ok=True)
    save_file(model.state_dict(), os.path.join(a.out, "weights.safetensors"))
    with open(os.path.join(a.out, "arch.json"), "w") as f:
        json.dump(arch_file(model, a.name), f, indent=2)
    x = torch.from_numpy(random_frames(rng, a.images))
    mu, logvar, alpha, maps = attention(model, x)
    names = []
    for i in range(a.images):
        n = f"{i:03d}.png"
        write_png(os.path.join(a.out, "images", n), x[i, 0].numpy())
        names.append(n)
    ref = {"images": names, "layer": "relu2",
           "mu": mu.tolist(), "logvar": logvar.tolist(),
           "alpha": alpha.tolist(), "maps": maps.detach().tolist()}
    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump(ref, f)
    for i, n in enumerate(names):
        np.save(os.path.join(a.out, n[:-4] + ".torch_maps.npy"), maps[i].detach().numpy())
        np.save(os.path.join(a.out, n[:-4] + ".torch_alpha.npy"), alpha[i].numpy())
    print(f"wrote {a.out}: weights.safetensors, arch.json, images/, reference.json")


if __name__ == "__main__":
    main()
