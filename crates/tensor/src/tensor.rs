//! `Tensor`: an f32, contiguous, row-major array on a device, with the tape entry that made it.

use crate::autograd::{self, BackwardFn, Node};
use crate::backend::Storage;
use crate::device::Device;
use crate::error::{shape_err, Error, Result};
use crate::shape::Shape;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A unique identity of a tensor on the tape (clones share it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(usize);

impl TensorId {
    fn new() -> Self {
        TensorId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }
}

pub(crate) struct Inner {
    pub(crate) id: TensorId,
    pub(crate) storage: Arc<RwLock<Storage>>,
    pub(crate) shape: Shape,
    pub(crate) device: Device,
    pub(crate) node: Option<Node>,
    pub(crate) requires_grad: bool,
}

/// An f32 tensor. Cloning is cheap: clones share storage and identity.
///
/// Ops return `Result<Tensor>`; when grad mode is on and an input requires gradients, the op
/// records itself on the tape so that [`Tensor::backward`] and [`crate::grad`] can
/// differentiate through it, to any order.
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor{}", self.shape())?;
        if let Some(n) = &self.0.node {
            write!(f, " <{}>", n.op)?;
        }
        if self.numel() <= 16 {
            if let Ok(v) = self.to_vec() {
                write!(f, " {v:?}")?;
            }
        }
        Ok(())
    }
}

impl Tensor {
    pub(crate) fn make(
        storage: Storage,
        shape: Shape,
        node: Option<Node>,
        requires_grad: bool,
    ) -> Tensor {
        let device = storage.device();
        Tensor(Arc::new(Inner {
            id: TensorId::new(),
            storage: Arc::new(RwLock::new(storage)),
            shape,
            device,
            node,
            requires_grad,
        }))
    }

    /// Wraps the result of an op; records `backward` on the tape when grad mode is on and an
    /// input requires gradients. `backward(grad_out, out, inputs, needs)` returns one gradient
    /// per input (None where not needed or not differentiable).
    pub(crate) fn from_op(
        storage: Storage,
        shape: Shape,
        op: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&Tensor, &Tensor, &[Tensor], &[bool]) -> Result<Vec<Option<Tensor>>>
            + Send
            + Sync
            + 'static,
    ) -> Tensor {
        let node = Tensor::tape_node(op, inputs, backward);
        let track = node.is_some();
        Tensor::make(storage, shape, node, track)
    }

    /// The tape node of an op of `inputs`, or `None` when nothing is recorded (grad mode off,
    /// or no input requires gradients).
    fn tape_node(
        op: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&Tensor, &Tensor, &[Tensor], &[bool]) -> Result<Vec<Option<Tensor>>>
            + Send
            + Sync
            + 'static,
    ) -> Option<Node> {
        let track = autograd::is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
        track.then(|| Node {
            op,
            inputs: inputs.iter().map(|&t| t.clone()).collect(),
            backward: Box::new(backward) as BackwardFn,
        })
    }

    /// A new tensor over `src`'s storage under `shape`, with its own tape node.
    fn sharing_storage(src: &Tensor, shape: Shape, node: Option<Node>) -> Tensor {
        let requires_grad = node.is_some();
        Tensor(Arc::new(Inner {
            id: TensorId::new(),
            storage: src.0.storage.clone(),
            shape,
            device: src.0.device.clone(),
            node,
            requires_grad,
        }))
    }

    /// Like `from_op` but sharing `src`'s storage under a new shape (reshape is free).
    pub(crate) fn view_op(
        src: &Tensor,
        shape: Shape,
        op: &'static str,
        backward: impl Fn(&Tensor, &Tensor, &[Tensor], &[bool]) -> Result<Vec<Option<Tensor>>>
            + Send
            + Sync
            + 'static,
    ) -> Tensor {
        let node = Tensor::tape_node(op, &[src], backward);
        Tensor::sharing_storage(src, shape, node)
    }

    /// Records `value` (computed without the tape, e.g. under `no_grad`) as the output of one
    /// op of `inputs`, sharing its storage: for composite ops whose backward rule is written
    /// by hand (a closed form cheaper than the tape of their parts).
    pub(crate) fn recorded_as(
        value: &Tensor,
        op: &'static str,
        inputs: &[&Tensor],
        backward: impl Fn(&Tensor, &Tensor, &[Tensor], &[bool]) -> Result<Vec<Option<Tensor>>>
            + Send
            + Sync
            + 'static,
    ) -> Tensor {
        let node = Tensor::tape_node(op, inputs, backward);
        Tensor::sharing_storage(value, value.0.shape.clone(), node)
    }

    /// A tensor from host data; `data.len()` must equal the shape's element count.
    pub fn from_vec(data: Vec<f32>, shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return shape_err(
                "from_vec",
                format!("{} values for shape {shape}", data.len()),
            );
        }
        let storage = match device {
            Device::Cpu => Storage::Cpu(data),
            Device::Gpu(_) => Storage::from_slice(&data, device)?,
        };
        Ok(Tensor::make(storage, shape, None, false))
    }
    /// A tensor from a host slice.
    pub fn from_slice(data: &[f32], shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return shape_err(
                "from_slice",
                format!("{} values for shape {shape}", data.len()),
            );
        }
        Ok(Tensor::make(
            Storage::from_slice(data, device)?,
            shape,
            None,
            false,
        ))
    }
    /// A scalar (shape `[]`).
    pub fn scalar(v: f32, device: &Device) -> Result<Tensor> {
        Tensor::full(v, Shape::from(Vec::new()), device)
    }
    /// All zeros.
    pub fn zeros(shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        Ok(Tensor::make(
            Storage::zeros(shape.numel(), device)?,
            shape,
            None,
            false,
        ))
    }
    /// All ones.
    pub fn ones(shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        Tensor::full(1.0, shape, device)
    }
    /// Every element `v`.
    pub fn full(v: f32, shape: impl Into<Shape>, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        Ok(Tensor::make(
            Storage::full(shape.numel(), v, device)?,
            shape,
            None,
            false,
        ))
    }
    /// Standard normal samples from a counter-based generator (same seed, same values on every device).
    pub fn randn(shape: impl Into<Shape>, seed: u64, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        Ok(Tensor::make(
            Storage::random(shape.numel(), seed, true, device)?,
            shape,
            None,
            false,
        ))
    }
    /// Uniform samples in [0, 1) from a counter-based generator.
    pub fn rand(shape: impl Into<Shape>, seed: u64, device: &Device) -> Result<Tensor> {
        let shape = shape.into();
        Ok(Tensor::make(
            Storage::random(shape.numel(), seed, false, device)?,
            shape,
            None,
            false,
        ))
    }
    /// Zeros with this tensor's shape and device.
    pub fn zeros_like(&self) -> Result<Tensor> {
        Tensor::zeros(self.shape().clone(), self.device())
    }
    /// Ones with this tensor's shape and device.
    pub fn ones_like(&self) -> Result<Tensor> {
        Tensor::ones(self.shape().clone(), self.device())
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.0.shape
    }
    /// The dimension sizes.
    pub fn dims(&self) -> &[usize] {
        self.0.shape.dims()
    }
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.0.shape.numel()
    }
    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.shape.rank()
    }
    /// The device holding the data.
    pub fn device(&self) -> &Device {
        &self.0.device
    }
    /// This tensor's identity on the tape.
    pub fn id(&self) -> TensorId {
        self.0.id
    }
    /// True when gradients flow to or through this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }
    /// True for a tensor not produced by a recorded op (a parameter, an input).
    pub fn is_leaf(&self) -> bool {
        self.0.node.is_none()
    }
    /// The op that produced this tensor on the tape, if any.
    pub fn op_name(&self) -> Option<&'static str> {
        self.0.node.as_ref().map(|n| n.op)
    }

    /// A leaf sharing this tensor's storage that requires gradients (a trainable parameter).
    pub fn requires_grad_(&self) -> Tensor {
        Tensor(Arc::new(Inner {
            id: TensorId::new(),
            storage: self.0.storage.clone(),
            shape: self.0.shape.clone(),
            device: self.0.device.clone(),
            node: None,
            requires_grad: true,
        }))
    }
    /// A leaf sharing storage, cut off from the tape: no gradient flows through it.
    pub fn detach(&self) -> Tensor {
        Tensor(Arc::new(Inner {
            id: TensorId::new(),
            storage: self.0.storage.clone(),
            shape: self.0.shape.clone(),
            device: self.0.device.clone(),
            node: None,
            requires_grad: false,
        }))
    }

    /// Read access to the storage.
    pub fn storage(&self) -> RwLockReadGuard<'_, Storage> {
        self.0.storage.read().unwrap_or_else(|e| e.into_inner())
    }
    /// Write access to the storage, for in-place updates of parameters and buffers.
    pub(crate) fn storage_mut(&self) -> RwLockWriteGuard<'_, Storage> {
        self.0.storage.write().unwrap_or_else(|e| e.into_inner())
    }
    /// Copies the data to the host.
    pub fn to_vec(&self) -> Result<Vec<f32>> {
        self.storage().to_vec()
    }
    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f32> {
        if self.numel() != 1 {
            return shape_err(
                "item",
                format!("tensor of shape {} is not a single value", self.shape()),
            );
        }
        Ok(self.to_vec()?[0])
    }
    /// Overwrites this tensor's values in place with `src`'s (same shape; not recorded on the
    /// tape). Used for parameter loading and running statistics.
    pub fn assign(&self, src: &Tensor) -> Result<()> {
        if src.shape() != self.shape() {
            return shape_err(
                "assign",
                format!("cannot assign {} to {}", src.shape(), self.shape()),
            );
        }
        if Arc::ptr_eq(&self.0.storage, &src.0.storage) {
            return Ok(());
        }
        let s = src.storage();
        self.storage_mut().copy_from(&s)
    }
    /// Copies the tensor to `device` (a detached leaf).
    pub fn to_device(&self, device: &Device) -> Result<Tensor> {
        if device == self.device() {
            return Ok(self.detach());
        }
        Tensor::from_vec(self.to_vec()?, self.shape().clone(), device)
    }
    pub(crate) fn same_device(&self, op: &'static str, other: &Tensor) -> Result<()> {
        if self.device() != other.device() {
            return Err(Error::DeviceMismatch {
                op,
                lhs: self.device().name(),
                rhs: other.device().name(),
            });
        }
        Ok(())
    }
    /// The gradient of this scalar with respect to every leaf that requires gradients.
    pub fn backward(&self) -> Result<autograd::Gradients> {
        autograd::backward(self)
    }
}
