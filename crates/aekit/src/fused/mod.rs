//! Fast paths for the CPU (Flex) backend: Burn backend extensions with hand-written kernels and,
//! where training needs it, a hand-written backward.
//!
//! Each fused operation computes what a chain of plain Burn operations computes; the tests in
//! `tests.rs` compare the two, values and gradients, on random inputs of odd shapes. The plain
//! path stays: [`set_enabled`]`(false)` (the program's `--no-fused`) turns every fast path off,
//! and tensors on other backends (wgpu, CUDA) always take it.

// `lanes` first: its `dispatch!` macro is visible only to the modules declared after it.
#[macro_use]
pub(crate) mod lanes;
pub mod adam;
mod bernoulli;
mod conv;
mod conv_kernels;
mod math;
mod ftz;
mod matmul_conv;
mod direct;
mod nhwc;
mod transpose;
mod winograd;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Dispatch, DispatchDevice, Flex};
use burn::prelude::*;
use burn::tensor::DType;

pub use adam::FusedAdam;
pub use conv::{conv2d, conv2d_relu, conv_transpose2d, conv_transpose2d_relu};
pub use ftz::{flush_denormals, flushing, FlushDenormals};

static DISABLED: AtomicBool = AtomicBool::new(false);

/// Turns the fast paths on (the default) or off for the whole process.
pub fn set_enabled(on: bool) {
    DISABLED.store(!on, Ordering::Relaxed);
}

/// Whether the fast paths are on. `AEKIT_FUSED=0` in the environment turns them off for the
/// whole process whatever the configuration says, so that any command (the demo, the test
/// suite) can be timed both ways with one binary.
pub fn enabled() -> bool {
    static ENV_OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let env_off = *ENV_OFF.get_or_init(|| std::env::var("AEKIT_FUSED").is_ok_and(|v| v.trim() == "0"));
    !env_off && !DISABLED.load(Ordering::Relaxed)
}

/// Whether `device` (autodiff or not) is the Flex CPU backend.
pub(crate) fn on_flex(device: &Device) -> bool {
    matches!(device.clone().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// Whether a fused operation may run on tensors of `device`.
pub(crate) fn active(device: &Device) -> bool {
    enabled() && on_flex(device)
}

type FlexTensor = FloatTensor<Flex>;

/// A contiguous f32 view of a Flex tensor (copying only if it is a strided view).
fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.layout().contiguous_offsets().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("fused kernels take contiguous f32 tensors")
}

fn values_mut(t: &mut FlexTensor) -> &mut [f32] {
    let (start, end) = t.layout().contiguous_offsets().expect("contiguous");
    &mut t.storage_mut::<f32>()[start..end]
}

fn tensor(v: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(v, shape))
}

fn shape(t: &FlexTensor) -> Vec<usize> {
    t.layout().shape().to_vec()
}

/// Operations on plain (non-autodiff) Flex tensors.
#[backend_extension(Flex)]
pub trait FlexKernels: burn::backend::Backend {
    /// One Adam step in place; returns (parameter, first moment, second moment).
    fn fused_adam(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        lr: f32,
        beta_1: f32,
        beta_2: f32,
        factor: f32,
        eps_scaled: f32,
        weight_decay: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

impl FlexKernels for Flex {
    fn fused_adam(
        param: FlexTensor,
        grad: FlexTensor,
        m: FlexTensor,
        v: FlexTensor,
        lr: f32,
        beta_1: f32,
        beta_2: f32,
        factor: f32,
        eps_scaled: f32,
        weight_decay: f32,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (mut p, g, mut m, mut v) = (contiguous(param), contiguous(grad), contiguous(m), contiguous(v));
        let step = adam::Step { lr, beta_1, beta_2, factor, eps_scaled, weight_decay };
        // Three distinct buffers are borrowed mutably at once: take them out one by one.
        let pv: *mut [f32] = values_mut(&mut p);
        let mv: *mut [f32] = values_mut(&mut m);
        let vv = values_mut(&mut v);
        // SAFETY: p, m and v own distinct buffers (each is unique after `storage_mut`'s
        // copy-on-write), and no other reference to them lives during the update.
        unsafe { adam::update(step, &mut *pv, values(&g), &mut *mv, vv) };
        (p, m, v)
    }
}

/// One fused Adam step on tensors of the Flex backend.
pub(crate) fn adam_step<const D: usize>(
    p: Tensor<D>,
    g: Tensor<D>,
    m: Tensor<D>,
    v: Tensor<D>,
    s: adam::Step,
) -> (Tensor<D>, Tensor<D>, Tensor<D>) {
    let (p, m, v) = <Dispatch as FlexKernels>::fused_adam(
        p.into_dispatch(),
        g.into_dispatch(),
        m.into_dispatch(),
        v.into_dispatch(),
        s.lr,
        s.beta_1,
        s.beta_2,
        s.factor,
        s.eps_scaled,
        s.weight_decay,
    );
    (Tensor::from_dispatch(p), Tensor::from_dispatch(m), Tensor::from_dispatch(v))
}

/// Differentiable fused operations.
#[backend_extension(Flex, Autodiff)]
pub trait FlexLossKernels: burn::backend::Backend {
    /// The batch mean of the Bernoulli negative ELBO; see `bernoulli.rs`.
    fn bernoulli_neg_elbo(
        logits: FloatTensor<Self>,
        x: FloatTensor<Self>,
        mu: FloatTensor<Self>,
        logvar: FloatTensor<Self>,
        beta: f32,
    ) -> FloatTensor<Self>;

    /// Binary cross-entropy on logits, mean over all values; see `bernoulli.rs`.
    fn bce_logits_mean(logits: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Squared error of the logits' sigmoid, mean over all values; see `bernoulli.rs`.
    fn sigmoid_mse_mean(logits: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// A per-value loss on logits, averaged over every value (one fused pass each way).
#[derive(Clone, Copy, Debug)]
enum LogitsLoss {
    /// Binary cross-entropy.
    Bce,
    /// Squared error of the sigmoid.
    SigmoidMse,
}

impl LogitsLoss {
    fn forward(self, logits: &FlexTensor, x: &FlexTensor) -> FlexTensor {
        let (l, xs, b) = (values(logits), values(x), shape(logits)[0]);
        let v = match self {
            LogitsLoss::Bce => bernoulli::bce_mean_forward(l, xs, b),
            LogitsLoss::SigmoidMse => bernoulli::sigmoid_mse_mean_forward(l, xs, b),
        };
        tensor(vec![v], vec![1])
    }

    /// The gradient with respect to the logits, times `g`.
    fn backward(self, logits: &FlexTensor, x: &FlexTensor, g: f32) -> Vec<f32> {
        let (l, xs, b) = (values(logits), values(x), shape(logits)[0]);
        match self {
            LogitsLoss::Bce => bernoulli::bce_mean_backward(l, xs, b, g),
            LogitsLoss::SigmoidMse => bernoulli::sigmoid_mse_mean_backward(l, xs, b, g),
        }
    }

    /// On Flex, with or without autodiff (the loss as a graph node with [`LogitsLossBackward`]).
    fn tracked<C: CheckpointStrategy>(self, logits: FloatTensor<Autodiff<Flex, C>>, x: FloatTensor<Autodiff<Flex, C>>) -> FloatTensor<Autodiff<Flex, C>> {
        let parents = [logits.node(), x.node()];
        let (l, xs) = (contiguous(logits.into_primitive()), contiguous(x.into_primitive()));
        let out = self.forward(&l, &xs);
        match LogitsLossBackward(self).prepare::<C>(parents).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((l, xs), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

fn neg_elbo_forward(logits: &FlexTensor, x: &FlexTensor, mu: &FlexTensor, logvar: &FlexTensor, beta: f32) -> FlexTensor {
    let b = shape(logits)[0];
    let v = bernoulli::forward(values(logits), values(x), values(mu), values(logvar), b, beta);
    tensor(vec![v], vec![1])
}


impl FlexLossKernels for Flex {
    fn bernoulli_neg_elbo(logits: FlexTensor, x: FlexTensor, mu: FlexTensor, logvar: FlexTensor, beta: f32) -> FlexTensor {
        neg_elbo_forward(&contiguous(logits), &contiguous(x), &contiguous(mu), &contiguous(logvar), beta)
    }

    fn bce_logits_mean(logits: FlexTensor, x: FlexTensor) -> FlexTensor {
        LogitsLoss::Bce.forward(&contiguous(logits), &contiguous(x))
    }

    fn sigmoid_mse_mean(logits: FlexTensor, x: FlexTensor) -> FlexTensor {
        LogitsLoss::SigmoidMse.forward(&contiguous(logits), &contiguous(x))
    }
}

#[derive(Debug)]
struct LogitsLossBackward(LogitsLoss);

impl Backward<Flex, 2> for LogitsLossBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_l, node_x] = ops.parents;
        let g = contiguous(grads.consume::<Flex>(&ops.node));
        let g = values(&g)[0];
        let (logits, x) = ops.state;
        if let Some(node) = node_l {
            grads.register::<Flex>(node.id, tensor(self.0.backward(&logits, &x, g), shape(&logits)));
        }
        // The data is a constant of the objective; a gradient for it is never needed here.
        debug_assert!(node_x.is_none(), "the fused {:?} loss does not differentiate the data", self.0);
    }
}

#[derive(Debug)]
struct NegElboBackward;

impl Backward<Flex, 4> for NegElboBackward {
    type State = (FlexTensor, FlexTensor, FlexTensor, FlexTensor, f32);

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_l, node_x, node_mu, node_lv] = ops.parents;
        let g = contiguous(grads.consume::<Flex>(&ops.node));
        let g = values(&g)[0];
        let (logits, x, mu, logvar, beta) = ops.state;
        let b = shape(&logits)[0];
        let (dl, dmu, dlv) = bernoulli::backward(values(&logits), values(&x), values(&mu), values(&logvar), b, beta, g);
        if let Some(node) = node_l {
            grads.register::<Flex>(node.id, tensor(dl, shape(&logits)));
        }
        if let Some(node) = node_mu {
            grads.register::<Flex>(node.id, tensor(dmu, shape(&mu)));
        }
        if let Some(node) = node_lv {
            grads.register::<Flex>(node.id, tensor(dlv, shape(&logvar)));
        }
        // The data is a constant of the objective; a gradient for it is never needed here.
        debug_assert!(node_x.is_none(), "the fused VAE objective does not differentiate the data");
    }
}

impl<C: CheckpointStrategy> FlexLossKernels for Autodiff<Flex, C> {
    fn bernoulli_neg_elbo(
        logits: FloatTensor<Self>,
        x: FloatTensor<Self>,
        mu: FloatTensor<Self>,
        logvar: FloatTensor<Self>,
        beta: f32,
    ) -> FloatTensor<Self> {
        let parents = [logits.node(), x.node(), mu.node(), logvar.node()];
        let (l, xs, m, lv) = (
            contiguous(logits.into_primitive()),
            contiguous(x.into_primitive()),
            contiguous(mu.into_primitive()),
            contiguous(logvar.into_primitive()),
        );
        let out = neg_elbo_forward(&l, &xs, &m, &lv, beta);
        match NegElboBackward.prepare::<C>(parents).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((l, xs, m, lv, beta), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn bce_logits_mean(logits: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self> {
        LogitsLoss::Bce.tracked::<C>(logits, x)
    }

    fn sigmoid_mse_mean(logits: FloatTensor<Self>, x: FloatTensor<Self>) -> FloatTensor<Self> {
        LogitsLoss::SigmoidMse.tracked::<C>(logits, x)
    }
}

/// The fused Bernoulli negative ELBO (batch mean, KL weighted by `beta`) when the tensors are
/// f32 on Flex and the fast paths are on; `None` otherwise, for the caller's plain path.
///
/// # Shapes
/// `logits`, `x`: `[B, P]`; `mu`, `logvar`: `[B, L]` → `[1]`
pub(crate) fn bernoulli_neg_elbo(
    logits: &Tensor<2>,
    x: &Tensor<2>,
    mu: &Tensor<2>,
    logvar: &Tensor<2>,
    beta: f64,
) -> Option<Tensor<1>> {
    if !active(&logits.device()) || logits.dtype() != DType::F32 || x.dtype() != DType::F32 {
        return None;
    }
    Some(Tensor::from_dispatch(<Dispatch as FlexLossKernels>::bernoulli_neg_elbo(
        logits.clone().into_dispatch(),
        x.clone().into_dispatch(),
        mu.clone().into_dispatch(),
        logvar.clone().into_dispatch(),
        beta as f32,
    )))
}

/// The fused mean binary cross-entropy on logits, or `None` for the caller's plain path (see
/// [`bernoulli_neg_elbo`]).
///
/// # Shapes
/// `logits`, `x`: `[B, P]` → `[1]`
pub(crate) fn bce_logits_mean(logits: &Tensor<2>, x: &Tensor<2>) -> Option<Tensor<1>> {
    if !active(&logits.device()) || logits.dtype() != DType::F32 || x.dtype() != DType::F32 {
        return None;
    }
    Some(Tensor::from_dispatch(<Dispatch as FlexLossKernels>::bce_logits_mean(
        logits.clone().into_dispatch(),
        x.clone().into_dispatch(),
    )))
}

/// The fused mean squared error of the logits' sigmoid against `x`, or `None` for the caller's
/// plain path (see [`bernoulli_neg_elbo`]). The data `x` must not require a gradient.
///
/// # Shapes
/// `logits`, `x`: `[B, P]` → `[1]`
pub(crate) fn sigmoid_mse_mean(logits: &Tensor<2>, x: &Tensor<2>) -> Option<Tensor<1>> {
    if !active(&logits.device()) || logits.dtype() != DType::F32 || x.dtype() != DType::F32 || x.is_require_grad() {
        return None;
    }
    Some(Tensor::from_dispatch(<Dispatch as FlexLossKernels>::sigmoid_mse_mean(
        logits.clone().into_dispatch(),
        x.clone().into_dispatch(),
    )))
}
