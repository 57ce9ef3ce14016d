"""The model-level rows of benches/torch_reference.py, in PyTorch, under the names the vaecam
bench gives them (benches/common/model_rows.rs): the dSprites VAE, FactorVAE and AD-FactorVAE
training steps, the 128 px texture VAE training step, and per-dimension attention maps of 90
test images with the plain `torch.autograd.grad` loop over latent dimensions.

Imported by torch_reference.py (which sets the thread count first).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

MAPS = "per-dim maps, 90 images 128px z64 @act2"
MAP_IMAGES = 90
MAP_BATCH = 16


def dsprites_vae(z=10):
    """METHOD.md's dSprites VAE (vaecam's VaeConfig::dsprites); relu2 is index 3."""
    enc = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 32, 4, 2, 1), nn.ReLU(),
                        nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Conv2d(64, 64, 4, 2, 1), nn.ReLU(),
                        nn.Flatten(), nn.Linear(1024, 128), nn.ReLU(), nn.Linear(128, 2 * z))
    dec = nn.Sequential(nn.Linear(z, 128), nn.ReLU(), nn.Linear(128, 1024), nn.ReLU(), nn.Unflatten(1, (64, 4, 4)),
                        nn.ConvTranspose2d(64, 64, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
                        nn.ConvTranspose2d(32, 32, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, 2, 1))
    return enc, dec


def texture_vae(channels=(32, 64, 128, 256), c=3, size=128, z=64):
    """vaecam's conv model (VaeConfig::conv): k4 s2 p1 convs without bias, BatchNorm,
    LeakyReLU(0.2), a split head; the mirrored decoder. act2 is encoder index 5."""
    enc, prev = [], c
    for ch in channels:
        enc += [nn.Conv2d(prev, ch, 4, 2, 1, bias=False), nn.BatchNorm2d(ch), nn.LeakyReLU(0.2)]
        prev = ch
    side = size >> len(channels)
    enc += [nn.Flatten(), nn.Linear(prev * side * side, 2 * z)]
    rev = list(reversed(channels))
    dec = [nn.Linear(z, prev * side * side), nn.Unflatten(1, (prev, side, side))]
    for i, ch in enumerate(rev):
        last = i + 1 == len(rev)
        out = c if last else rev[i + 1]
        dec += [nn.LeakyReLU(0.2), nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=last)]
        if not last:
            dec.append(nn.BatchNorm2d(out))
    return nn.Sequential(*enc), nn.Sequential(*dec)


def discriminator(z=10, hidden=1000):
    layers, prev = [], z
    for _ in range(5):
        layers += [nn.Linear(prev, hidden), nn.LeakyReLU(0.2)]
        prev = hidden
    return nn.Sequential(*layers, nn.Linear(prev, 2))


def binary_images(n):
    return (torch.rand(n, 1, 64, 64) > 0.5).float()


def vae_step_fn(enc, dec, x, z, likelihood, extra=None):
    """One VAE step: forward, reconstruction + KL (+ extra(h_tap, mu, zz)), backward, Adam."""
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-4)
    n = x.shape[0]

    def step():
        h = enc(x); mu, logvar = h[:, :z], h[:, z:]
        zz = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = dec(zz)
        if likelihood == "bernoulli":
            rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
        else:
            rec = 0.5 * F.mse_loss(torch.sigmoid(logits), x, reduction="sum") / n
        kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp()) / n
        opt.zero_grad(); (rec + kl).backward(); opt.step()
    return step


def per_dim_maps(a, mu, dims, create_graph):
    """Paper maps: alpha = GAP of d mu_i / dA, M_i = ReLU(sum_k alpha_k A_k), one autograd.grad
    per dimension. Returns [N, len(dims), h, w]."""
    maps = []
    for i in dims:
        g, = torch.autograd.grad(mu[:, i].sum(), a, retain_graph=True, create_graph=create_graph)
        alpha = g.mean(dim=(2, 3), keepdim=True)
        maps.append(F.relu((alpha * a).sum(1)))
    return torch.stack(maps, 1)


def soft_iou_loss(maps, pairs):
    total = 0
    for i, j in pairs:
        a, b = maps[:, i], maps[:, j]
        inter = torch.minimum(a, b).sum((1, 2))
        total = total + (inter / (torch.maximum(a, b).sum((1, 2)) + 1e-8)).mean()
    return total / len(pairs)


def factor_step_fn(n, ad, gamma=40.0, lam=10.0, z=10):
    """vaecam's FactorVAE train_step: VAE half with gamma * TC (and the AD loss at relu2 on all
    45 pairs through alpha when `ad`), then the discriminator on the second half."""
    enc, dec = dsprites_vae(z)
    disc = discriminator(z)
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-4)
    dopt = torch.optim.Adam(disc.parameters(), lr=1e-4, betas=(0.5, 0.9))
    x = binary_images(n)
    x2 = x.clone()
    pairs = [(i, j) for i in range(z) for j in range(i + 1, z)]

    def step():
        h = x
        a = None
        for k, layer in enumerate(enc):
            h = layer(h)
            if k == 3:
                a = h  # relu2
        mu, logvar = h[:, :z], h[:, z:]
        zz = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = dec(zz)
        rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / n
        kl = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp()) / n
        dz = disc(zz)
        tc = (dz[:, 0] - dz[:, 1]).mean()
        loss = rec + kl + gamma * tc
        if ad:
            loss = loss + lam * soft_iou_loss(per_dim_maps(a, mu, range(z), True), pairs)
        opt.zero_grad(); loss.backward(); opt.step()
        with torch.no_grad():
            h2 = enc(x2); mu2, lv2 = h2[:, :z], h2[:, z:]
            z2 = mu2 + torch.exp(0.5 * lv2) * torch.randn_like(mu2)
            z_perm = torch.stack([z2[torch.randperm(n), j] for j in range(z)], 1)
        lj, lp = disc(zz.detach()), disc(z_perm)
        d_loss = 0.5 * (F.softplus(lj[:, 1] - lj[:, 0]).mean() + F.softplus(lp[:, 0] - lp[:, 1]).mean())
        dopt.zero_grad(); d_loss.backward(); dopt.step()
    return step


def map_all_fn(z=64):
    """Per-dimension maps of 90 test images at act2 (encoder index 5), upsampled to 128 px, in
    batches of 16, evaluation mode."""
    enc, _ = texture_vae(z=z)
    with torch.no_grad():
        for _ in range(2):
            enc.train(); enc(torch.rand(8, 3, 128, 128))
    enc.eval()
    x = torch.rand(MAP_IMAGES, 3, 128, 128)

    def run(images=MAP_IMAGES):
        for start in range(0, images, MAP_BATCH):
            h = x[start:start + MAP_BATCH]
            for k, layer in enumerate(enc):
                h = layer(h)
                if k == 5:
                    a = h
            mu = h[:, :z]
            m = per_dim_maps(a, mu, range(z), False)
            F.interpolate(m, size=(128, 128), mode="bilinear", align_corners=False)
    return run


def rows(budget, timeit, wanted):
    out = []
    n = 64
    if wanted("dSprites VAE train step, batch 64"):
        enc, dec = dsprites_vae()
        s = timeit(vae_step_fn(enc, dec, binary_images(n), 10, "bernoulli"), max(budget, 2.0))
        out.append(("dSprites VAE train step, batch 64", s, n / s, "images/s"))
    for name, ad in [("dSprites FactorVAE train step, batch 64", False),
                     ("dSprites AD-FactorVAE train step, batch 64 (45 pairs, through alpha)", True)]:
        if wanted(name):
            s = timeit(factor_step_fn(n, ad), max(budget, 2.0))
            out.append((name, s, n / s, "images/s"))
    name = "texture VAE train step 128px z64, batch 32"
    if wanted(name):
        enc, dec = texture_vae()
        s = timeit(vae_step_fn(enc, dec, torch.rand(32, 3, 128, 128), 64, "gaussian"), max(budget, 2.0))
        out.append((name, s, 32 / s, "images/s"))
    if wanted(MAPS):
        run = map_all_fn()
        import time
        run(MAP_BATCH)  # warm-up on one batch, as the vaecam bench does
        t = time.perf_counter(); run(); s = time.perf_counter() - t
        out.append((MAPS, s, MAP_IMAGES / s, "images/s"))
    return out
