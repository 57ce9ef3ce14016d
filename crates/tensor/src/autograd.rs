//! Reverse-mode automatic differentiation over the tape that ops record.
//!
//! Every op's backward rule is written with differentiable tensor ops. When the backward pass
//! runs with `create_graph`, those ops are recorded too, so a gradient is itself a tensor on
//! the tape and can be differentiated again (Grad-CAM's alpha is a gradient; the
//! attention-disentanglement loss differentiates through it).

use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorId};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};

/// A backward rule: `(grad_out, out, inputs, needs) -> one Option<gradient> per input`.
pub(crate) type BackwardFn =
    Box<dyn Fn(&Tensor, &Tensor, &[Tensor], &[bool]) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

/// How a tensor was made: the op, its inputs and its backward rule.
pub(crate) struct Node {
    pub(crate) op: &'static str,
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) backward: BackwardFn,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// True unless inside [`no_grad`] (or a backward pass without `create_graph`).
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Restores the previous grad mode when dropped.
pub struct GradModeGuard(bool);
impl Drop for GradModeGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.0));
    }
}

/// Sets grad mode for the guard's lifetime.
pub fn set_grad_enabled(on: bool) -> GradModeGuard {
    GradModeGuard(GRAD_ENABLED.with(|g| g.replace(on)))
}

/// Runs `f` without recording anything on the tape (evaluation, optimizer updates).
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    let _g = set_grad_enabled(false);
    f()
}

/// Gradients of a scalar with respect to the leaves, by tensor identity.
#[derive(Default, Debug)]
pub struct Gradients(HashMap<TensorId, Tensor>);

impl Gradients {
    /// The gradient of `t`, if it was reached.
    pub fn get(&self, t: &Tensor) -> Option<&Tensor> {
        self.0.get(&t.id())
    }
    /// Removes and returns the gradient of `t`.
    pub fn remove(&mut self, t: &Tensor) -> Option<Tensor> {
        self.0.remove(&t.id())
    }
    /// Sets the gradient of `t` (e.g. after clipping).
    pub fn insert(&mut self, t: &Tensor, g: Tensor) {
        self.0.insert(t.id(), g);
    }
    /// Number of gradients held.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when no gradient is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Tensors reachable from `outputs` through recorded ops, children before parents.
fn topo_order(outputs: &[Tensor]) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // Iterative DFS: graphs of deep nets would overflow the stack recursively.
    let mut stack: Vec<(Tensor, usize)> = Vec::new();
    for o in outputs {
        if seen.insert(o.id()) {
            stack.push((o.clone(), 0));
        }
        while let Some((t, child)) = stack.pop() {
            let next = t.0.node.as_ref().and_then(|n| n.inputs.get(child).cloned());
            match next {
                Some(c) => {
                    stack.push((t, child + 1));
                    if c.requires_grad() && seen.insert(c.id()) {
                        stack.push((c, 0));
                    }
                }
                None => order.push(t),
            }
        }
    }
    order
}

/// Gradients of `outputs` (weighted by `seeds`, ones when None) with respect to `inputs`,
/// which may be leaves or intermediate tensors on the tape (PyTorch's `torch.autograd.grad`).
///
/// With `create_graph` the backward pass is recorded, so the returned gradients can be
/// differentiated again. An input that the outputs do not depend on gets a zero gradient.
pub fn grad(
    outputs: &[Tensor],
    inputs: &[Tensor],
    seeds: Option<&[Tensor]>,
    create_graph: bool,
) -> Result<Vec<Tensor>> {
    let mut grads = run_backward(outputs, seeds, create_graph, Target::These(inputs))?;
    inputs
        .iter()
        .map(|t| match grads.remove(&t.id()) {
            Some(g) => Ok(g),
            None => t.zeros_like(),
        })
        .collect()
}

/// The gradient of scalar `loss` with respect to every leaf that requires gradients.
pub fn backward(loss: &Tensor) -> Result<Gradients> {
    scalar_backward("backward", loss, Target::Leaves)
}

/// The gradient of scalar `loss` with respect to `leaves` only, each one that `loss` reaches
/// (unreached ones are left out, as in [`backward`]). A loss that runs through a second
/// model (FactorVAE's discriminator in the VAE's loss) then skips that model's weight
/// gradients, which its own optimizer would never read.
pub fn backward_for(loss: &Tensor, leaves: &[Tensor]) -> Result<Gradients> {
    scalar_backward("backward_for", loss, Target::These(leaves))
}

fn scalar_backward(name: &str, loss: &Tensor, target: Target) -> Result<Gradients> {
    if loss.numel() != 1 {
        return Err(Error::Autograd(format!(
            "{name}() needs a single-value loss, got shape {}; use grad() with seeds",
            loss.shape()
        )));
    }
    let grads = run_backward(std::slice::from_ref(loss), None, false, target)?;
    Ok(Gradients(grads))
}

enum Target<'a> {
    These(&'a [Tensor]),
    Leaves,
}

fn run_backward(
    outputs: &[Tensor],
    seeds: Option<&[Tensor]>,
    create_graph: bool,
    target: Target,
) -> Result<HashMap<TensorId, Tensor>> {
    if let Some(s) = seeds {
        if s.len() != outputs.len() {
            return Err(Error::Autograd(format!(
                "{} seeds for {} outputs",
                s.len(),
                outputs.len()
            )));
        }
        for (o, s) in outputs.iter().zip(s) {
            if o.shape() != s.shape() {
                return Err(Error::Autograd(format!(
                    "seed of shape {} for an output of shape {}",
                    s.shape(),
                    o.shape()
                )));
            }
        }
    }
    let _mode = set_grad_enabled(create_graph);
    let order = topo_order(outputs);
    let wanted: HashSet<TensorId> = match target {
        Target::These(ts) => ts.iter().map(|t| t.id()).collect(),
        Target::Leaves => order
            .iter()
            .filter(|t| t.is_leaf() && t.requires_grad())
            .map(|t| t.id())
            .collect(),
    };
    // A tensor needs a gradient if it is wanted or leads to a wanted tensor; everything
    // else is skipped (Grad-CAM's dz/dA never touches the layers below A).
    let mut needed: HashSet<TensorId> = HashSet::new();
    for t in &order {
        let leads =
            t.0.node
                .as_ref()
                .is_some_and(|n| n.inputs.iter().any(|c| needed.contains(&c.id())));
        if leads || wanted.contains(&t.id()) {
            needed.insert(t.id());
        }
    }
    let mut grads: HashMap<TensorId, Tensor> = HashMap::new();
    for (i, o) in outputs.iter().enumerate() {
        let seed = match seeds {
            Some(s) => s[i].clone(),
            None => o.ones_like()?,
        };
        accumulate(&mut grads, o.id(), seed)?;
    }
    for t in order.iter().rev() {
        let Some(node) = &t.0.node else { continue };
        if !needed.contains(&t.id()) {
            continue;
        }
        let g = if wanted.contains(&t.id()) {
            grads.get(&t.id()).cloned()
        } else {
            grads.remove(&t.id())
        };
        let Some(g) = g else { continue };
        let needs: Vec<bool> = node
            .inputs
            .iter()
            .map(|c| c.requires_grad() && needed.contains(&c.id()))
            .collect();
        if !needs.iter().any(|&b| b) {
            continue;
        }
        let gs = (node.backward)(&g, t, &node.inputs, &needs)?;
        for ((c, gc), need) in node.inputs.iter().zip(gs).zip(&needs) {
            if let (Some(gc), true) = (gc, need) {
                if gc.shape() != c.shape() {
                    return Err(Error::Autograd(format!(
                        "backward of {} gave a gradient of shape {} for an input of shape {}",
                        node.op,
                        gc.shape(),
                        c.shape()
                    )));
                }
                accumulate(&mut grads, c.id(), gc)?;
            }
        }
    }
    grads.retain(|id, _| wanted.contains(id));
    Ok(grads)
}

fn accumulate(grads: &mut HashMap<TensorId, Tensor>, id: TensorId, g: Tensor) -> Result<()> {
    let g = match grads.remove(&id) {
        Some(prev) => prev.add(&g)?,
        None => g,
    };
    grads.insert(id, g);
    Ok(())
}
