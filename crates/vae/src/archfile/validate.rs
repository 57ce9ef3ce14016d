//! Checks an architecture file before anything is built: every layer's input shape follows
//! from the one before, so a wrong channel count or feature size is reported at the layer
//! that receives it, with both numbers.

use super::schema::*;
use std::collections::HashSet;

/// The activation shape after a layer (batch dimension left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activation {
    /// A feature map `[C, H, W]`.
    Map(usize, usize, usize),
    /// A vector of features `[F]`.
    Flat(usize),
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Activation::Map(c, h, w) => write!(f, "[{c}, {h}, {w}]"),
            Activation::Flat(n) => write!(f, "[{n}]"),
        }
    }
}

fn conv_out(side: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = side + 2 * padding;
    (padded >= kernel && stride > 0).then(|| (padded - kernel) / stride + 1)
}

fn positive(what: &str, v: usize) -> Result<(), String> {
    if v == 0 {
        Err(format!("{what} must be at least 1"))
    } else {
        Ok(())
    }
}

fn channels_in(input: &Activation, want: usize) -> Result<(usize, usize), String> {
    match input {
        Activation::Map(c, h, w) if *c == want => Ok((*h, *w)),
        Activation::Map(c, _, _) => Err(format!(
            "expects {want} input channels, but its input {input} has {c}"
        )),
        Activation::Flat(_) => Err(format!(
            "needs a feature map [C, H, W], but its input is a vector {input} (missing a reshape?)"
        )),
    }
}

/// The output shape of one layer for `input`, or what is wrong (without the layer's name).
pub fn infer(layer: &LayerSpec, input: &Activation) -> Result<Activation, String> {
    use Activation::*;
    match layer {
        LayerSpec::Conv2d(s) => {
            positive("in_channels", s.in_channels)?;
            positive("out_channels", s.out_channels)?;
            positive("kernel", s.kernel)?;
            positive("stride", s.stride)?;
            let (h, w) = channels_in(input, s.in_channels)?;
            match (
                conv_out(h, s.kernel, s.stride, s.padding),
                conv_out(w, s.kernel, s.stride, s.padding),
            ) {
                (Some(oh), Some(ow)) => Ok(Map(s.out_channels, oh, ow)),
                _ => Err(format!(
                    "kernel {} with padding {} does not fit its {h}x{w} input",
                    s.kernel, s.padding
                )),
            }
        }
        LayerSpec::ConvTranspose2d(s) => {
            positive("in_channels", s.in_channels)?;
            positive("out_channels", s.out_channels)?;
            positive("kernel", s.kernel)?;
            positive("stride", s.stride)?;
            if s.output_padding >= s.stride {
                return Err(format!(
                    "output_padding {} must be smaller than the stride {}",
                    s.output_padding, s.stride
                ));
            }
            let (h, w) = channels_in(input, s.in_channels)?;
            let side = |x: usize| {
                ((x - 1) * s.stride + s.kernel + s.output_padding).checked_sub(2 * s.padding)
            };
            match (side(h), side(w)) {
                (Some(oh), Some(ow)) if oh > 0 && ow > 0 => Ok(Map(s.out_channels, oh, ow)),
                _ => Err(format!(
                    "padding {} is too large for its {h}x{w} input",
                    s.padding
                )),
            }
        }
        LayerSpec::Linear(s) => {
            positive("in_features", s.in_features)?;
            positive("out_features", s.out_features)?;
            match input {
                Flat(n) if *n == s.in_features => Ok(Flat(s.out_features)),
                Flat(n) => Err(format!(
                    "expects {} input features, but its input has {n}",
                    s.in_features
                )),
                Map(..) => Err(format!(
                    "needs a vector, but its input is a feature map {input} (missing a flatten?)"
                )),
            }
        }
        LayerSpec::BatchNorm2d(s) => {
            positive("channels", s.channels)?;
            if !(s.eps > 0.0 && s.eps.is_finite()) {
                return Err(format!("eps must be positive, got {}", s.eps));
            }
            if !(0.0..=1.0).contains(&s.momentum) {
                return Err(format!("momentum must be in [0, 1], got {}", s.momentum));
            }
            let (h, w) = channels_in(input, s.channels)?;
            Ok(Map(s.channels, h, w))
        }
        LayerSpec::Residual(s) => {
            positive("in_channels", s.in_channels)?;
            positive("out_channels", s.out_channels)?;
            positive("stride", s.stride)?;
            let (h, w) = channels_in(input, s.in_channels)?;
            if !s.projection && (s.stride != 1 || s.in_channels != s.out_channels) {
                return Err(format!(
                    "changes the shape ({} -> {} channels, stride {}) so it needs \"projection\": true",
                    s.in_channels, s.out_channels, s.stride
                ));
            }
            let out = |x: usize| conv_out(x, 3, s.stride, 1).expect("3x3 padded fits");
            Ok(Map(s.out_channels, out(h), out(w)))
        }
        LayerSpec::LeakyRelu { slope, .. } if !slope.is_finite() => {
            Err(format!("slope must be finite, got {slope}"))
        }
        LayerSpec::Relu { .. }
        | LayerSpec::LeakyRelu { .. }
        | LayerSpec::Sigmoid { .. }
        | LayerSpec::Tanh { .. } => Ok(input.clone()),
        LayerSpec::Flatten { .. } => match input {
            Map(c, h, w) => Ok(Flat(c * h * w)),
            Flat(_) => Ok(input.clone()),
        },
        LayerSpec::Reshape { shape, .. } => {
            let n = match input {
                Map(c, h, w) => c * h * w,
                Flat(n) => *n,
            };
            let m: usize = shape.iter().product();
            match shape.as_slice() {
                _ if m != n => Err(format!(
                    "shape {shape:?} holds {m} values, but its input {input} has {n}"
                )),
                [f] => Ok(Flat(*f)),
                [c, h, w] => Ok(Map(*c, *h, *w)),
                _ => Err(format!(
                    "shape {shape:?} must be [features] or [channels, height, width]"
                )),
            }
        }
        LayerSpec::AvgPool2d { kernel, stride, .. } => {
            let stride = stride.unwrap_or(*kernel);
            positive("kernel", *kernel)?;
            positive("stride", stride)?;
            let Map(c, h, w) = input else {
                return Err(format!("needs a feature map, but its input is {input}"));
            };
            match (
                conv_out(*h, *kernel, stride, 0),
                conv_out(*w, *kernel, stride, 0),
            ) {
                (Some(oh), Some(ow)) => Ok(Map(*c, oh, ow)),
                _ => Err(format!("window {kernel} is larger than its {h}x{w} input")),
            }
        }
        LayerSpec::GlobalAvgPool { .. } => match input {
            Map(c, _, _) => Ok(Map(*c, 1, 1)),
            Flat(_) => Err(format!("needs a feature map, but its input is {input}")),
        },
        LayerSpec::Upsample { scale, .. } => {
            positive("scale", *scale)?;
            match input {
                Map(c, h, w) => Ok(Map(*c, h * scale, w * scale)),
                Flat(_) => Err(format!("needs a feature map, but its input is {input}")),
            }
        }
    }
}

fn params_of(layer: &LayerSpec) -> Option<&str> {
    match layer {
        LayerSpec::Conv2d(s) => Some(&s.params),
        LayerSpec::ConvTranspose2d(s) => Some(&s.params),
        LayerSpec::Linear(s) => Some(&s.params),
        LayerSpec::BatchNorm2d(s) => Some(&s.params),
        LayerSpec::Residual(s) => Some(&s.params),
        _ => None,
    }
}

/// Checks names, tensor prefixes and shapes of the whole file; the error names the section
/// and the layer.
pub fn validate(file: &ArchFile) -> Result<(), String> {
    if file.format != FORMAT {
        return Err(format!(
            "format {:?} is not supported (this version reads {FORMAT:?})",
            file.format
        ));
    }
    let InputSpec { channels, size } = file.input;
    if channels == 0 || size == 0 || file.z_dim == 0 {
        return Err(format!(
            "input channels ({channels}), size ({size}) and z_dim ({}) must all be at least 1",
            file.z_dim
        ));
    }
    let mut prefixes: HashSet<String> = HashSet::new();
    let mut check_prefix = |section: &str, layer: &str, p: &str| -> Result<(), String> {
        if p.is_empty() {
            return Err(format!("{section} layer '{layer}': \"params\" is empty"));
        }
        if !prefixes.insert(p.to_string()) {
            return Err(format!(
                "{section} layer '{layer}': tensor prefix \"{p}\" is used by another layer"
            ));
        }
        Ok(())
    };
    let walk = |section: &str,
                layers: &[LayerSpec],
                start: Activation,
                check_prefix: &mut dyn FnMut(&str, &str, &str) -> Result<(), String>|
     -> Result<Activation, String> {
        let mut names = HashSet::new();
        let mut a = start;
        for l in layers {
            let name = l.name();
            if name.is_empty() {
                return Err(format!("{section}: a {} layer has an empty name", l.kind()));
            }
            if !names.insert(name.to_string()) {
                return Err(format!("{section}: two layers are named '{name}'"));
            }
            if let Some(p) = params_of(l) {
                check_prefix(section, name, p)?;
            }
            a = infer(l, &a)
                .map_err(|e| format!("{section} layer '{name}' ({}): {e}", l.kind()))?;
        }
        Ok(a)
    };
    let features = walk(
        "encoder",
        &file.encoder.layers,
        Activation::Map(channels, size, size),
        &mut check_prefix,
    )?;
    let head = &file.encoder.head;
    let head_name = head.name();
    if file.encoder.layers.iter().any(|l| l.name() == head_name) {
        return Err(format!(
            "encoder: the head and a layer are both named '{head_name}'"
        ));
    }
    let in_features = match head {
        HeadSpec::SplitLinear {
            params,
            in_features,
            ..
        } => {
            check_prefix("encoder", head_name, params)?;
            *in_features
        }
        HeadSpec::TwoLinear {
            mu_params,
            logvar_params,
            in_features,
            ..
        } => {
            check_prefix("encoder", head_name, mu_params)?;
            check_prefix("encoder", head_name, logvar_params)?;
            *in_features
        }
    };
    if features != Activation::Flat(in_features) {
        return Err(format!(
            "encoder head '{head_name}': expects {in_features} input features, but the last layer gives {features}"
        ));
    }
    let image = walk(
        "decoder",
        &file.decoder.layers,
        Activation::Flat(file.z_dim),
        &mut check_prefix,
    )?;
    if image != Activation::Map(channels, size, size) {
        return Err(format!(
            "decoder: outputs {image}, but the input images are [{channels}, {size}, {size}]"
        ));
    }
    if file.decoder.output == DecoderOutput::GaussianMean
        && !matches!(file.decoder.layers.last(), Some(LayerSpec::Sigmoid { .. }))
    {
        return Err(
            "decoder: output \"gaussian_mean\" needs a final sigmoid layer (vaecam works on the logits before it); use \"gaussian_logits\" when the decoder outputs logits"
                .into(),
        );
    }
    Ok(())
}
