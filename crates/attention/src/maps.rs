//! Latent attention maps: per latent dimension (Eq. 1-2), aggregated (Eq. 3), and the two
//! other variants of METHOD.md ("code" and "normal-difference").

use crate::tap::TappedEncoder;
use vaecam_tensor::{grad, Error, Result, Tensor};

/// Which quantity is explained and how.
#[derive(Clone, Debug, PartialEq)]
pub enum Variant {
    /// The paper's Eq. 1-3: per-dimension maps M^i = ReLU(sum_k alpha_k^i A_k), aggregate = mean.
    Paper,
    /// The authors' released code: back-propagate sum_i mu_i, divide the gradient by its
    /// root-mean-square (+1e-5), alpha = GAP, map = |upsample(sum_k alpha_k A_k)| (no ReLU).
    Code,
    /// Paper Eq. 4, read as a latent anomaly score: s = sum_i (mu_i - m_i)^2 / (2 (v_i + s_i^2))
    /// with m, v the per-dimension mean of mu and of sigma^2 over normal training images.
    NormalDifference {
        /// Per-dimension mean of mu over normal images.
        mean_mu: Vec<f32>,
        /// Per-dimension mean of sigma^2 over normal images.
        mean_var: Vec<f32>,
    },
}

impl Variant {
    /// Parses `paper`, `code` (normal-difference needs statistics, see the variant).
    pub fn name(&self) -> &'static str {
        match self {
            Variant::Paper => "paper",
            Variant::Code => "code",
            Variant::NormalDifference { .. } => "normal-difference",
        }
    }
}

/// Over which values the `code` variant's gradient root-mean-square is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CodeNorm {
    /// Each image's gradient is divided by its own RMS (a map does not depend on the batch).
    #[default]
    Image,
    /// The whole batch's gradient is divided by one RMS, as in the authors' released code
    /// (`grads / (sqrt(mean(grads^2)) + 1e-5)` over the batch tensor).
    Batch,
}

/// How per-dimension gradients are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// [`Strategy::Stacked`] when it can run (the encoder's layers after the tap all have a
    /// stacked rule, no BatchNorm among them is in training mode, no `create_graph`, no
    /// `sample_seed`), otherwise [`Strategy::PerDim`]. The default.
    #[default]
    Auto,
    /// One forward pass, then ONE backward of the encoder's tail for all D dimensions at once
    /// (D x N cotangent rows through the same weights, big GEMMs instead of D small ones),
    /// reusing the forward's activations, without the tape. Needs evaluation mode for
    /// BatchNorm, no `create_graph` (alpha is a constant) and no `sample_seed`; refuses
    /// otherwise, naming the reason.
    Stacked,
    /// One forward pass, then D vector-Jacobian products from mu back to the tapped layer only.
    /// Works in training mode and with `create_graph` (the AD loss uses it).
    PerDim,
    /// One forward pass, then the encoder's tail re-run once on the tapped activation repeated
    /// D times and a single vector-Jacobian product for all D dimensions. Needs an encoder that
    /// implements `encode_from` and evaluation mode (BatchNorm statistics must not depend on
    /// the batch).
    Batched,
}

/// Options of [`latent_attention_maps`].
#[derive(Clone, Debug, PartialEq)]
pub struct MapOptions {
    /// The variant.
    pub variant: Variant,
    /// Compute the per-dimension maps (Paper variant; otherwise only the aggregate).
    pub per_dim: bool,
    /// Output size; None = the input image's size; Some((h, w)) resizes bilinearly; the maps
    /// at the layer's own resolution are returned too.
    pub size: Option<(usize, usize)>,
    /// Record the computation so that a loss on the maps can be differentiated (through alpha).
    pub create_graph: bool,
    /// Per-dimension strategy.
    pub strategy: Strategy,
    /// Explain a sampled z = mu + sigma * eps (eps from this seed) instead of z = mu.
    pub sample_seed: Option<u64>,
    /// Only these latent dimensions (Paper variant), in this order; None = all.
    pub dims: Option<Vec<usize>>,
    /// The `code` variant's gradient normalisation (default per image).
    pub code_norm: CodeNorm,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            variant: Variant::Paper,
            per_dim: true,
            size: None,
            create_graph: false,
            strategy: Strategy::Auto,
            sample_seed: None,
            dims: None,
            code_norm: CodeNorm::Image,
        }
    }
}

/// The maps of a batch.
pub struct AttentionMaps {
    /// Per-dimension maps `[N, D, H, W]` (Paper variant with `per_dim`).
    pub per_dim: Option<Tensor>,
    /// The aggregate map `[N, 1, H, W]`.
    pub aggregate: Tensor,
    /// Per-dimension maps at the tapped layer's resolution `[N, D, h, w]`.
    pub per_dim_raw: Option<Tensor>,
    /// The aggregate at the tapped layer's resolution `[N, 1, h, w]`.
    pub aggregate_raw: Tensor,
    /// The channel weights alpha: `[N, D, K]` per dimension, or `[N, 1, K]`.
    pub alpha: Tensor,
    /// Posterior mean `[N, D]`.
    pub mu: Tensor,
    /// Posterior log-variance `[N, D]`.
    pub logvar: Tensor,
    /// The tapped activation A `[N, K, h, w]`.
    pub activation: Tensor,
}

fn one_hot_columns(n: usize, d: usize, i: usize, like: &Tensor) -> Result<Tensor> {
    let mut v = vec![0f32; n * d];
    for r in 0..n {
        v[r * d + i] = 1.0;
    }
    Tensor::from_vec(v, [n, d], like.device())
}

/// alpha = GAP(g) as `[N, K, 1, 1]` and map = sum_k alpha_k A_k as `[N, 1, h, w]`.
fn weigh(g: &Tensor, a: &Tensor) -> Result<(Tensor, Tensor)> {
    let alpha = g.global_avg_pool()?;
    let map = a.mul(&alpha)?.sum(&[1], true)?;
    Ok((alpha, map))
}

/// Latent attention maps of a batch `x` at encoder layer `layer`.
///
/// One forward pass records the layer's activation A; gradients of the explained quantity with
/// respect to A come from vector-Jacobian products that stop at A (nothing below it is touched).
pub fn latent_attention_maps(
    enc: &dyn TappedEncoder,
    x: &Tensor,
    layer: &str,
    opts: &MapOptions,
) -> Result<AttentionMaps> {
    let names = enc.layer_names();
    if !names.iter().any(|n| n == layer) {
        return Err(Error::UnknownName(format!(
            "no encoder layer named {layer:?}; valid layers: {}",
            names.join(", ")
        )));
    }
    if x.rank() != 4 {
        return Err(Error::Shape {
            op: "latent_attention_maps",
            msg: format!("input {} is not NCHW", x.shape()),
        });
    }
    let (in_h, in_w) = (x.dims()[2], x.dims()[3]);
    let (oh, ow) = opts.size.unwrap_or((in_h, in_w));
    let d = enc.z_dim();
    let cg = opts.create_graph;
    let dims: Vec<usize> = match &opts.dims {
        Some(v) => {
            if let Some(bad) = v.iter().find(|&&i| i >= d) {
                return Err(Error::InvalidArgument(format!(
                    "latent dimension {bad} does not exist (z has {d})"
                )));
            }
            v.clone()
        }
        None => (0..d).collect(),
    };
    let stacked = opts.variant == Variant::Paper && use_stacked(enc, layer, opts)?;
    let (mu, logvar, a, sums) = if stacked {
        let r = enc.encode_with_gradient_sums(x, layer, &dims)?;
        (r.mu, r.logvar, r.activation, Some(r.sums))
    } else {
        let (mu, logvar, mut acts) = enc.encode_tapped(x, &[layer])?;
        (mu, logvar, acts.remove(0), None)
    };
    if a.rank() != 4 {
        return Err(Error::Shape {
            op: "latent_attention_maps",
            msg: format!(
                "layer {layer:?} gives {}, not a [N, C, h, w] feature map",
                a.shape()
            ),
        });
    }
    if !a.requires_grad() {
        return Err(Error::Autograd(format!("layer {layer:?}'s activation is not on the tape: the encoder's parameters must require gradients")));
    }
    let n = mu.dims()[0];
    if mu.dims()[1] != d {
        return Err(Error::Shape {
            op: "latent_attention_maps",
            msg: format!("mu {} for an encoder of {d} latent dimensions", mu.shape()),
        });
    }
    let z = match opts.sample_seed {
        Some(seed) => mu.add(&logvar.mul_scalar(0.5)?.exp()?.mul(&Tensor::randn(
            mu.shape().clone(),
            seed,
            x.device(),
        )?)?)?,
        None => mu.clone(),
    };
    let (per_dim_raw, aggregate_raw, alpha) = match &opts.variant {
        Variant::Paper => {
            let (maps, alphas) = if let Some(sums) = &sums {
                let hw = (a.dims()[2] * a.dims()[3]) as f32;
                weigh_blocks(&sums.mul_scalar(1.0 / hw)?, &a, dims.len())?
            } else if opts.strategy == Strategy::Batched && opts.sample_seed.is_none() {
                batched_paper_maps(enc, layer, &a, n, d, &dims, cg)?
            } else {
                maps_from_activation(&a, &z, Some(&dims), cg)?
            };
            let agg = maps.mean(&[1], true)?;
            (Some(maps), agg, alphas)
        }
        Variant::Code => {
            let s = z.sum_all()?;
            let g = grad(&[s], std::slice::from_ref(&a), None, cg)?.remove(0);
            let axes: &[usize] = match opts.code_norm {
                CodeNorm::Image => &[1, 2, 3],
                CodeNorm::Batch => &[0, 1, 2, 3],
            };
            let rms = g.square()?.mean(axes, true)?.sqrt()?.add_scalar(1e-5)?;
            let (alpha, map) = weigh(&g.div(&rms)?, &a)?;
            (None, map, alpha.reshape(vec![n, 1, a.dims()[1]])?)
        }
        Variant::NormalDifference { mean_mu, mean_var } => {
            if mean_mu.len() != d || mean_var.len() != d {
                return Err(Error::InvalidArgument(format!(
                    "normal-difference statistics have {} / {} values for {d} latent dimensions",
                    mean_mu.len(),
                    mean_var.len()
                )));
            }
            let m = Tensor::from_slice(mean_mu, [1, d], x.device())?;
            let v = Tensor::from_slice(mean_var, [1, d], x.device())?;
            let s = mu
                .sub(&m)?
                .square()?
                .div(&logvar.exp()?.add(&v)?.mul_scalar(2.0)?)?
                .sum_all()?;
            let g = grad(&[s], std::slice::from_ref(&a), None, cg)?.remove(0);
            let (alpha, map) = weigh(&g, &a)?;
            (None, map.relu()?, alpha.reshape(vec![n, 1, a.dims()[1]])?)
        }
    };
    let up = |t: &Tensor| t.upsample_bilinear(oh, ow);
    let mut aggregate = up(&aggregate_raw)?;
    if opts.variant == Variant::Code {
        aggregate = aggregate.abs()?;
    }
    let per_dim = match (&per_dim_raw, opts.per_dim) {
        (Some(p), true) => Some(up(p)?),
        _ => None,
    };
    Ok(AttentionMaps {
        per_dim,
        aggregate,
        per_dim_raw: per_dim_raw.filter(|_| opts.per_dim),
        aggregate_raw,
        alpha,
        mu,
        logvar,
        activation: a,
    })
}

/// Per-dimension maps (Eq. 1-2) from an activation `a` `[N, K, h, w]` that is already on the
/// tape and a latent quantity `target` `[N, D]` computed from it (mu, or a sampled z): one
/// vector-Jacobian product per dimension, from `target` back to `a` only, with no forward pass
/// of its own. This is how a training loss reuses the trainer's forward pass.
///
/// Returns the maps `[N, nd, h, w]` at `a`'s resolution (after the ReLU) and alpha
/// `[N, nd, K]`, for `dims` in that order (None = all D). With `create_graph` the result can
/// be differentiated through alpha (second order); without it alpha is a constant and
/// gradients reach the parameters only through `a`.
pub fn maps_from_activation(
    a: &Tensor,
    target: &Tensor,
    dims: Option<&[usize]>,
    create_graph: bool,
) -> Result<(Tensor, Tensor)> {
    if a.rank() != 4 || target.rank() != 2 || a.dims()[0] != target.dims()[0] {
        return Err(Error::Shape {
            op: "maps_from_activation",
            msg: format!(
                "activation {} and target {} are not [N, K, h, w] and [N, D]",
                a.shape(),
                target.shape()
            ),
        });
    }
    if !a.requires_grad() {
        return Err(Error::Autograd(
            "the activation is not on the tape (tapped under no_grad, or detached?)".into(),
        ));
    }
    let (n, d) = (target.dims()[0], target.dims()[1]);
    let all: Vec<usize> = (0..d).collect();
    let dims = dims.unwrap_or(&all);
    if let Some(bad) = dims.iter().find(|&&i| i >= d) {
        return Err(Error::InvalidArgument(format!(
            "latent dimension {bad} does not exist (z has {d})"
        )));
    }
    let mut maps = Vec::with_capacity(dims.len());
    let mut alphas = Vec::with_capacity(dims.len());
    for &i in dims {
        let seed = one_hot_columns(n, d, i, target)?;
        let g = grad(
            std::slice::from_ref(target),
            std::slice::from_ref(a),
            Some(&[seed]),
            create_graph,
        )?
        .remove(0);
        let (alpha, map) = weigh(&g, a)?;
        maps.push(map.relu()?);
        alphas.push(alpha.reshape(vec![n, 1, a.dims()[1]])?);
    }
    Ok((Tensor::concat(&maps, 1)?, Tensor::concat(&alphas, 1)?))
}

/// [`maps_from_activation`] with the batched strategy: the encoder's layers after `layer` re-run
/// once on `a` repeated for every dimension in `dims`, then one vector-Jacobian product. More
/// work than one product per dimension (an extra forward of the tail) but fewer, larger ops.
/// The encoder must not depend on the batch (no BatchNorm in training mode).
pub fn maps_from_activation_batched(
    enc: &dyn TappedEncoder,
    layer: &str,
    a: &Tensor,
    dims: Option<&[usize]>,
    create_graph: bool,
) -> Result<(Tensor, Tensor)> {
    if a.rank() != 4 {
        return Err(Error::Shape {
            op: "maps_from_activation_batched",
            msg: format!("activation {} is not [N, K, h, w]", a.shape()),
        });
    }
    let d = enc.z_dim();
    let all: Vec<usize> = (0..d).collect();
    let dims = dims.unwrap_or(&all);
    if let Some(bad) = dims.iter().find(|&&i| i >= d) {
        return Err(Error::InvalidArgument(format!(
            "latent dimension {bad} does not exist (z has {d})"
        )));
    }
    batched_paper_maps(enc, layer, a, a.dims()[0], d, dims, create_graph)
}

/// All D per-dimension maps from one re-run of the encoder's tail on A repeated D times and a
/// single vector-Jacobian product with block one-hot seeds.
fn batched_paper_maps(
    enc: &dyn TappedEncoder,
    layer: &str,
    a: &Tensor,
    n: usize,
    d: usize,
    dims: &[usize],
    create_graph: bool,
) -> Result<(Tensor, Tensor)> {
    if let Some(bn) = enc.batch_mixing_layer_after(layer)? {
        return Err(Error::InvalidArgument(format!(
            "the batched strategy needs evaluation mode: layer {bn:?} after {layer:?} mixes the \
             samples of a batch (BatchNorm in training mode); call set_training(false) or use \
             Strategy::PerDim"
        )));
    }
    // Without create_graph the tail runs on a detached copy (its gradient is a constant), but
    // the maps are weighed from the live activation so a loss on them still reaches the
    // parameters through A.
    let base = if create_graph {
        a.clone()
    } else {
        a.detach().requires_grad_()
    };
    let nd = dims.len();
    let idx: Vec<u32> = (0..nd).flat_map(|_| 0..n as u32).collect();
    let rep = base.index_select(0, &idx)?; // [nd*N, K, h, w], block b = copy for dims[b]
    let (mu_rep, _) = enc.encode_from(layer, &rep)?;
    let mut seed = vec![0f32; nd * n * d];
    for (b, &i) in dims.iter().enumerate() {
        for r in 0..n {
            seed[(b * n + r) * d + i] = 1.0;
        }
    }
    let seed = Tensor::from_vec(seed, [nd * n, d], a.device())?;
    let g = grad(
        &[mu_rep],
        std::slice::from_ref(&rep),
        Some(&[seed]),
        create_graph,
    )?
    .remove(0);
    weigh_blocks(&g.global_avg_pool()?, a, nd)
}

/// Maps and alpha from block-major channel weights `alpha_rows` (`[nd * N, K]` or
/// `[nd * N, K, 1, 1]`, row `b * N + n`) and the live activation A `[N, K, h, w]`:
/// alpha -> `[N, nd, K]`, map[n, b] = ReLU(sum_k alpha[n, b, k] A[n, k]) as one batched product
/// with A instead of nd weighted copies, so a loss on the maps reaches the parameters through A.
fn weigh_blocks(alpha_rows: &Tensor, a: &Tensor, nd: usize) -> Result<(Tensor, Tensor)> {
    let (n, k, h, w) = (a.dims()[0], a.dims()[1], a.dims()[2], a.dims()[3]);
    let alphas = alpha_rows.reshape(vec![nd, n, k])?.permute(&[1, 0, 2])?;
    let maps = alphas
        .matmul(&a.reshape(vec![n, k, h * w])?)?
        .reshape(vec![n, nd, h, w])?
        .relu()?;
    Ok((maps, alphas))
}

/// Whether the Paper variant's per-dimension gradients take the stacked path: always for
/// [`Strategy::Stacked`] (refusing, with the reason, what it cannot do), when possible for
/// [`Strategy::Auto`], never for the others.
fn use_stacked(enc: &dyn TappedEncoder, layer: &str, opts: &MapOptions) -> Result<bool> {
    let blocker = if opts.create_graph {
        Some("create_graph needs the tape (the stacked backward gives alpha as a constant)".into())
    } else if opts.sample_seed.is_some() {
        Some(
            "a sampled z (sample_seed) depends on logvar too; the stacked backward seeds mu".into(),
        )
    } else {
        enc.stacked_refusal(layer)?
    };
    match (opts.strategy, blocker) {
        (Strategy::Stacked, Some(why)) => Err(Error::InvalidArgument(format!(
            "Strategy::Stacked from layer {layer:?} cannot run: {why}; use Strategy::Auto to \
             fall back to Strategy::PerDim"
        ))),
        (Strategy::Stacked, None) => Ok(true),
        (Strategy::Auto, blocker) => Ok(blocker.is_none()),
        _ => Ok(false),
    }
}
