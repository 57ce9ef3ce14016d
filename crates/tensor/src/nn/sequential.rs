//! A stack of named layers whose intermediate activations can be tapped by name.

use super::{join, Module, StackedCotangent};
use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Layers applied in order, each with a name (`conv1`, `bn1`, `act1`, ...).
#[derive(Default)]
pub struct Sequential {
    layers: Vec<(String, Box<dyn Module>)>,
}

impl Sequential {
    /// An empty stack.
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends a layer under `name` (names must be unique; checked by [`Sequential::add`]).
    pub fn push(mut self, name: &str, layer: impl Module + 'static) -> Self {
        self.layers.push((name.to_string(), Box::new(layer)));
        self
    }
    /// Appends a layer, refusing a duplicate name.
    pub fn add(&mut self, name: &str, layer: Box<dyn Module>) -> Result<()> {
        if self.layers.iter().any(|(n, _)| n == name) {
            return Err(Error::InvalidArgument(format!(
                "duplicate layer name {name:?}"
            )));
        }
        self.layers.push((name.to_string(), layer));
        Ok(())
    }
    /// The layer names, in order.
    pub fn layer_names(&self) -> Vec<String> {
        self.layers.iter().map(|(n, _)| n.clone()).collect()
    }
    /// The layer called `name`.
    pub fn layer(&self, name: &str) -> Option<&dyn Module> {
        self.layers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.as_ref())
    }
    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }
    /// True when there is no layer.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
    /// Checks that every name in `names` is a layer; the error lists the valid names.
    pub fn check_names(&self, names: &[&str]) -> Result<()> {
        for n in names {
            if !self.layers.iter().any(|(l, _)| l == n) {
                return Err(Error::UnknownName(format!(
                    "no layer named {n:?}; valid layers: {}",
                    self.layer_names().join(", ")
                )));
            }
        }
        Ok(())
    }
    /// Runs the stack and also returns the outputs of the layers named in `taps`, in the order
    /// asked. The taps are tensors on the tape: gradients can be taken with respect to them.
    pub fn forward_tapped(&self, x: &Tensor, taps: &[&str]) -> Result<(Tensor, Vec<Tensor>)> {
        self.check_names(taps)?;
        let mut found: Vec<Option<Tensor>> = vec![None; taps.len()];
        let h = run_layers(
            &self.layers,
            x,
            |name| taps.contains(&name),
            |name, h| {
                for (slot, t) in found.iter_mut().zip(taps) {
                    if name == *t {
                        *slot = Some(h.clone());
                    }
                }
            },
        )?;
        Ok((
            h,
            found
                .into_iter()
                .map(|t| t.expect("checked above"))
                .collect(),
        ))
    }
}

impl Sequential {
    /// Runs the layers after `name` on `h` (the activation `name` produced): the encoder's
    /// tail, for computing many gradients from one tapped activation.
    pub fn forward_from(&self, name: &str, h: &Tensor) -> Result<Tensor> {
        self.check_names(&[name])?;
        let start = self
            .layers
            .iter()
            .position(|(n, _)| n == name)
            .expect("checked above")
            + 1;
        run_layers(&self.layers[start..], h, |_| false, |_, _| {})
    }

    /// Runs the stack and returns every layer's output, in order (the last is the stack's
    /// output): what [`Self::stacked_vjp_after`] needs from the forward pass. The outputs are
    /// tensors on the tape, as in [`Self::forward_tapped`].
    pub fn forward_recorded(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        let mut outs: Vec<Tensor> = Vec::with_capacity(self.layers.len());
        for (_, layer) in &self.layers {
            let h = layer.forward(outs.last().unwrap_or(x))?;
            outs.push(h);
        }
        Ok(outs)
    }

    fn index_of(&self, name: &str) -> Result<usize> {
        self.check_names(&[name])?;
        Ok(self
            .layers
            .iter()
            .position(|(n, _)| n == name)
            .expect("checked above"))
    }

    /// Why [`Self::stacked_vjp_after`] cannot run from `name` now (the first layer after it
    /// without a stacked rule, or a BatchNorm in training mode), or None when it can.
    pub fn stacked_vjp_refusal_after(&self, name: &str) -> Result<Option<String>> {
        let start = self.index_of(name)? + 1;
        Ok(self.layers[start..].iter().find_map(|(n, l)| {
            l.stacked_vjp_refusal()
                .map(|why| format!("layer {n:?}: {why}"))
        }))
    }

    /// Stacked vector-Jacobian products from the stack's output back to the output of layer
    /// `name`, through the layers after it, from one forward pass's `outputs`
    /// ([`Self::forward_recorded`]) and cotangents `cot` of the stack's output. With
    /// `spatial_sum` the result is summed over the spatial positions of `name`'s `[N, C, H, W]`
    /// output (`[rows, C]`). Runs without recording on the tape.
    pub fn stacked_vjp_after(
        &self,
        name: &str,
        outputs: &[Tensor],
        cot: StackedCotangent,
        spatial_sum: bool,
    ) -> Result<StackedCotangent> {
        let tap = self.index_of(name)?;
        if outputs.len() != self.layers.len() {
            return Err(Error::InvalidArgument(format!(
                "stacked_vjp_after: {} recorded outputs for {} layers",
                outputs.len(),
                self.layers.len()
            )));
        }
        if let Some(why) = self.stacked_vjp_refusal_after(name)? {
            return Err(Error::InvalidArgument(format!(
                "no stacked backward from layer {name:?}: {why}"
            )));
        }
        if spatial_sum && outputs[tap].rank() != 4 {
            return Err(Error::InvalidArgument(format!(
                "layer {name:?} gives {}, not a [N, C, H, W] feature map to sum over",
                outputs[tap].shape()
            )));
        }
        crate::autograd::no_grad(|| {
            let mut cot = cot;
            for i in (tap + 1..self.layers.len()).rev() {
                let (input, output) = (&outputs[i - 1], &outputs[i]);
                let layer = &self.layers[i].1;
                cot = if spatial_sum && i == tap + 1 {
                    layer.stacked_vjp_spatial_sum(input, output, &cot)?
                } else {
                    layer.stacked_vjp(input, output, &cot)?
                };
            }
            if spatial_sum && tap + 1 == self.layers.len() {
                cot = super::stacked::sum_spatial(cot)?;
            }
            Ok(cot)
        })
    }

    /// The first layer after `name` whose output mixes the samples of a batch (see
    /// [`Module::mixes_batch`]), if any: [`Self::forward_from`] on stacked copies is only
    /// valid without one.
    pub fn batch_mixing_layer_after(&self, name: &str) -> Result<Option<String>> {
        self.check_names(&[name])?;
        let start = self
            .layers
            .iter()
            .position(|(n, _)| n == name)
            .expect("checked above")
            + 1;
        Ok(self.layers[start..]
            .iter()
            .find(|(_, l)| l.mixes_batch())
            .map(|(n, _)| n.clone()))
    }
}

/// Runs `layers` on `x`, handing each layer's output to `seen` with the layer's name. A
/// layer followed by a LeakyReLU runs the pair as one op where it can
/// ([`Module::forward_then_leaky`]) unless `wanted` asks for its own output; `seen` then gets
/// the activation's output only.
fn run_layers(
    layers: &[(String, Box<dyn Module>)],
    x: &Tensor,
    wanted: impl Fn(&str) -> bool,
    mut seen: impl FnMut(&str, &Tensor),
) -> Result<Tensor> {
    let mut h = x.clone();
    let mut i = 0;
    while i < layers.len() {
        let (name, layer) = &layers[i];
        if let Some((next_name, next)) = layers.get(i + 1) {
            if let (Some(slope), false) = (next.leaky_slope(), wanted(name)) {
                if let Some(z) = layer.forward_then_leaky(&h, slope)? {
                    seen(next_name, &z);
                    h = z;
                    i += 2;
                    continue;
                }
            }
        }
        h = layer.forward(&h)?;
        seen(name, &h);
        i += 1;
    }
    Ok(h)
}

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        run_layers(&self.layers, x, |_| false, |_, _| {})
    }
    fn named_parameters(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        for (n, l) in &self.layers {
            l.named_parameters(&join(prefix, n), out);
        }
    }
    fn named_buffers(&self, prefix: &str, out: &mut Vec<(String, Tensor)>) {
        for (n, l) in &self.layers {
            l.named_buffers(&join(prefix, n), out);
        }
    }
    fn set_training(&self, training: bool) {
        for (_, l) in &self.layers {
            l.set_training(training);
        }
    }
    fn mixes_batch(&self) -> bool {
        self.layers.iter().any(|(_, l)| l.mixes_batch())
    }
    fn describe(&self) -> String {
        let inner: Vec<String> = self
            .layers
            .iter()
            .map(|(n, l)| format!("  {n}: {}", l.describe()))
            .collect();
        format!("Sequential(\n{}\n)", inner.join("\n"))
    }
}
