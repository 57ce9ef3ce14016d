//! vaecam's built-in architectures (METHOD.md) written as architecture files. Tensor
//! prefixes are `encoder.<layer>` / `decoder.<layer>`, the names vaecam's checkpoints use.

use super::schema::*;
use crate::arch::{Arch, Likelihood, VaeConfig};

/// Builds the layer lists of one stack, prefixing tensor names with the stack's name.
struct Stack {
    prefix: &'static str,
    layers: Vec<LayerSpec>,
}

/// A 4x4 conv with stride 2 and padding 1 (each halves the side): the building block of every
/// built-in encoder.
struct Down {
    in_channels: usize,
    out_channels: usize,
    bias: bool,
    init: InitSpec,
}

/// A 4x4 transposed conv with stride 2 and padding 1 (each doubles the side).
struct Up {
    in_channels: usize,
    out_channels: usize,
    bias: bool,
    init: InitSpec,
}

impl Stack {
    fn new(prefix: &'static str) -> Self {
        Stack {
            prefix,
            layers: Vec::new(),
        }
    }
    fn params(&self, name: &str) -> String {
        format!("{}.{name}", self.prefix)
    }
    fn down(&mut self, name: &str, c: Down) {
        let params = self.params(name);
        self.layers.push(LayerSpec::Conv2d(Conv2dSpec {
            name: name.into(),
            params,
            in_channels: c.in_channels,
            out_channels: c.out_channels,
            kernel: 4,
            stride: 2,
            padding: 1,
            bias: c.bias,
            init: c.init,
        }));
    }
    fn up(&mut self, name: &str, c: Up) {
        let params = self.params(name);
        self.layers
            .push(LayerSpec::ConvTranspose2d(ConvTranspose2dSpec {
                name: name.into(),
                params,
                in_channels: c.in_channels,
                out_channels: c.out_channels,
                kernel: 4,
                stride: 2,
                padding: 1,
                output_padding: 0,
                bias: c.bias,
                init: c.init,
            }));
    }
    fn linear(&mut self, name: &str, in_features: usize, out_features: usize) {
        let params = self.params(name);
        self.layers.push(LayerSpec::Linear(LinearSpec {
            name: name.into(),
            params,
            in_features,
            out_features,
            bias: true,
            init: InitSpec::Pytorch,
        }));
    }
    fn batch_norm(&mut self, name: &str, channels: usize) {
        let params = self.params(name);
        self.layers.push(LayerSpec::BatchNorm2d(BatchNorm2dSpec {
            name: name.into(),
            params,
            channels,
            eps: 1e-5,
            momentum: 0.1,
        }));
    }
    fn relu(&mut self, name: &str) {
        self.layers.push(LayerSpec::Relu { name: name.into() });
    }
    fn leaky(&mut self, name: &str, slope: f32) {
        self.layers.push(LayerSpec::LeakyRelu {
            name: name.into(),
            slope,
        });
    }
    fn flatten(&mut self) {
        self.layers.push(LayerSpec::Flatten {
            name: "flatten".into(),
        });
    }
    fn reshape(&mut self, shape: Vec<usize>) {
        self.layers.push(LayerSpec::Reshape {
            name: "reshape".into(),
            shape,
        });
    }
    fn split_head(&self, name: &str, in_features: usize) -> HeadSpec {
        HeadSpec::SplitLinear {
            name: name.into(),
            params: self.params(name),
            in_features,
            bias: true,
        }
    }
}

/// METHOD.md's dSprites and MNIST VAEs: ReLU conv stacks with biases, two linear layers.
fn relu_vae(
    image_c: usize,
    conv_channels: &[usize],
    side: usize,
    hidden: usize,
    z: usize,
) -> (EncoderSpec, Vec<LayerSpec>) {
    let mut enc = Stack::new("encoder");
    let mut prev = image_c;
    for (i, &ch) in conv_channels.iter().enumerate() {
        let k = i + 1;
        enc.down(
            &format!("conv{k}"),
            Down {
                in_channels: prev,
                out_channels: ch,
                bias: true,
                init: InitSpec::Pytorch,
            },
        );
        enc.relu(&format!("relu{k}"));
        prev = ch;
    }
    let flat = prev * side * side;
    let n = conv_channels.len();
    enc.flatten();
    enc.linear("fc1", flat, hidden);
    enc.relu(&format!("relu{}", n + 1));
    let head = enc.split_head("fc2", hidden);

    let mut dec = Stack::new("decoder");
    dec.linear("fc1", z, hidden);
    dec.relu("relu1");
    dec.linear("fc2", hidden, flat);
    dec.relu("relu2");
    dec.reshape(vec![prev, side, side]);
    let rev: Vec<usize> = conv_channels.iter().rev().copied().collect();
    for (i, &ch) in rev.iter().enumerate() {
        let last = i + 1 == rev.len();
        dec.up(
            &format!("deconv{}", i + 1),
            Up {
                in_channels: ch,
                out_channels: if last { image_c } else { rev[i + 1] },
                bias: true,
                init: InitSpec::Pytorch,
            },
        );
        if !last {
            dec.relu(&format!("relu{}", i + 3));
        }
    }
    (
        EncoderSpec {
            layers: enc.layers,
            head,
        },
        dec.layers,
    )
}

/// The conv models' decoder: Linear(z -> C*side*side), then transposed convs (k4 s2 p1) back
/// through `channels` in reverse, with LeakyReLU and BatchNorm between, to `out_c` channels.
fn mirrored_decoder(channels: &[usize], out_c: usize, side: usize, z: usize) -> Vec<LayerSpec> {
    let last_c = *channels.last().expect("validated non-empty");
    let mut dec = Stack::new("decoder");
    dec.linear("fc", z, last_c * side * side);
    dec.reshape(vec![last_c, side, side]);
    let rev: Vec<usize> = channels.iter().rev().copied().collect();
    for (i, &ch) in rev.iter().enumerate() {
        let k = i + 1;
        let last = i + 1 == rev.len();
        let out = if last { out_c } else { rev[i + 1] };
        dec.leaky(&format!("act{k}"), 0.2);
        dec.up(
            &format!("deconv{k}"),
            Up {
                in_channels: ch,
                out_channels: out,
                bias: last,
                init: InitSpec::KaimingNormal { slope: 0.2 },
            },
        );
        if !last {
            dec.batch_norm(&format!("bn{k}"), out);
        }
    }
    dec.layers
}

/// The architecture file of a built-in configuration (validated by the caller).
pub fn arch_file(config: &VaeConfig) -> Option<ArchFile> {
    let c = config.in_channels;
    let z = config.z_dim;
    let (encoder, decoder) = match &config.arch {
        Arch::Dsprites => relu_vae(c, &[32, 32, 64, 64], 4, 128, z),
        Arch::Mnist => relu_vae(c, &[64, 128], 7, 1024, z),
        Arch::Conv { channels } => {
            let mut enc = Stack::new("encoder");
            let mut prev = c;
            for (i, &ch) in channels.iter().enumerate() {
                let k = i + 1;
                enc.down(
                    &format!("conv{k}"),
                    Down {
                        in_channels: prev,
                        out_channels: ch,
                        bias: false,
                        init: InitSpec::KaimingNormal { slope: 0.2 },
                    },
                );
                enc.batch_norm(&format!("bn{k}"), ch);
                enc.leaky(&format!("act{k}"), 0.2);
                prev = ch;
            }
            let side = config.image_size >> channels.len();
            enc.flatten();
            let head = enc.split_head("fc", prev * side * side);
            (
                EncoderSpec {
                    layers: enc.layers,
                    head,
                },
                mirrored_decoder(channels, c, side, z),
            )
        }
        Arch::Resnet18 { width } => {
            let w = *width;
            let mut enc = Stack::new("encoder");
            enc.layers.push(LayerSpec::Conv2d(Conv2dSpec {
                name: "stem".into(),
                params: enc.params("stem"),
                in_channels: c,
                out_channels: w,
                kernel: 3,
                stride: 2,
                padding: 1,
                bias: false,
                init: InitSpec::KaimingNormal { slope: 0.0 },
            }));
            enc.batch_norm("stem_bn", w);
            enc.relu("stem_act");
            let stages = [w, 2 * w, 4 * w, 8 * w];
            let mut prev = w;
            for (i, &ch) in stages.iter().enumerate() {
                for b in 0..2 {
                    let stride = if i > 0 && b == 0 { 2 } else { 1 };
                    let name = format!("layer{}.{b}", i + 1);
                    enc.layers.push(LayerSpec::Residual(ResidualSpec {
                        params: enc.params(&name),
                        name,
                        in_channels: prev,
                        out_channels: ch,
                        stride,
                        projection: stride != 1 || prev != ch,
                        slope: 0.0,
                        names: ResidualNames::default(),
                    }));
                    prev = ch;
                }
            }
            let side = config.image_size / 16;
            enc.flatten();
            let head = enc.split_head("fc", prev * side * side);
            (
                EncoderSpec {
                    layers: enc.layers,
                    head,
                },
                mirrored_decoder(&stages, c, side, z),
            )
        }
        Arch::Imported { .. } => return None,
    };
    let name = match &config.arch {
        Arch::Dsprites => "dsprites".to_string(),
        Arch::Mnist => "mnist".to_string(),
        Arch::Conv { channels } => format!("conv {channels:?}"),
        Arch::Resnet18 { width } => format!("resnet18 (width {width})"),
        Arch::Imported { name } => name.clone(),
    };
    Some(ArchFile {
        format: FORMAT.into(),
        name,
        input: InputSpec {
            channels: c,
            size: config.image_size,
        },
        z_dim: z,
        encoder,
        decoder: DecoderSpec {
            output: match config.likelihood {
                Likelihood::Bernoulli => DecoderOutput::BernoulliLogits,
                Likelihood::Gaussian => DecoderOutput::GaussianLogits,
            },
            layers: decoder,
        },
    })
}
