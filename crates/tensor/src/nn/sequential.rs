//! A stack of named layers whose intermediate activations can be tapped by name.

use super::{join, Module};
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
        let mut h = x.clone();
        for (name, layer) in &self.layers {
            h = layer.forward(&h)?;
            for (slot, t) in found.iter_mut().zip(taps) {
                if name == t {
                    *slot = Some(h.clone());
                }
            }
        }
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
        let mut h = h.clone();
        for (_, layer) in &self.layers[start..] {
            h = layer.forward(&h)?;
        }
        Ok(h)
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

impl Module for Sequential {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (_, layer) in &self.layers {
            h = layer.forward(&h)?;
        }
        Ok(h)
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
