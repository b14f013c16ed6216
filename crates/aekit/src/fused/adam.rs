//! Adam in one pass over each parameter, in place, on both cores.
//!
//! Burn's Adam makes about a dozen allocating passes per parameter on one thread (4.5 ms of a
//! 22 ms `vae-mnist` step in `../shared/notes/burn-flex-performance.md`). This one reads the
//! gradient once and updates parameter and moments where they lie. It performs Burn's
//! arithmetic in Burn's order (burn-optim 0.22.1 `adam.rs`), so both give the same numbers, and
//! it keeps Burn's state type, so checkpoints written by either load in the other.

use burn::optim::{AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, Optimizer};
use burn::prelude::*;
use rayon::prelude::*;

use super::math::simd_dispatch;

/// Adam's hyper-parameters, as `AdamConfig` has them (no AMSGrad).
#[derive(Clone, Copy, Debug)]
pub struct FusedAdam {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    /// L2 penalty added to the gradient (Burn's `WeightDecay`).
    pub weight_decay: Option<f32>,
}

impl FusedAdam {
    pub fn new(epsilon: f32, weight_decay: Option<f32>) -> Self {
        FusedAdam { beta_1: 0.9, beta_2: 0.999, epsilon, weight_decay }
    }

    /// Burn's Adam with the same settings, for tensors the fused step does not take.
    fn plain(&self) -> burn::optim::Adam {
        let mut c = AdamConfig::new().with_beta_1(self.beta_1).with_beta_2(self.beta_2).with_epsilon(self.epsilon);
        if let Some(wd) = self.weight_decay {
            c = c.with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(wd)));
        }
        c.build()
    }
}

/// One step's scalars.
#[derive(Clone, Copy)]
pub(crate) struct Step {
    pub lr: f32,
    pub beta_1: f32,
    pub beta_2: f32,
    /// m̂ / (√v + ε√(1-β₂ᵗ)) · `factor` is the update, with `factor` = √(1-β₂ᵗ) / (1-β₁ᵗ).
    pub factor: f32,
    pub eps_scaled: f32,
    pub weight_decay: f32,
}

#[inline(always)]
fn update_body(s: Step, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    let (b1, b2, c1, c2) = (s.beta_1, s.beta_2, 1.0 - s.beta_1, 1.0 - s.beta_2);
    for i in 0..p.len() {
        // Burn: grad = tensor * penalty + grad
        let gi = if s.weight_decay != 0.0 { p[i] * s.weight_decay + g[i] } else { g[i] };
        let mi = m[i] * b1 + gi * c1;
        let vi = v[i] * b2 + (gi * gi) * c2;
        m[i] = mi;
        v[i] = vi;
        p[i] -= ((mi * s.factor) / (vi.sqrt() + s.eps_scaled)) * s.lr;
    }
}

simd_dispatch!(update_chunk(s: Step, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) => update_body);

/// Updates `p`, `m` and `v` in place from `g`, in chunks spread over rayon's threads.
pub(crate) fn update(s: Step, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
    const CHUNK: usize = 1 << 14;
    if p.len() <= CHUNK {
        return update_chunk(s, p, g, m, v);
    }
    p.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK))
        .zip(v.par_chunks_mut(CHUNK))
        .for_each(|(((p, g), m), v)| update_chunk(s, p, g, m, v));
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        if !super::active(&tensor.device()) {
            return self.plain().step(lr, tensor, grad, state);
        }
        let (m, v, time) = match state {
            Some(s) => (s.momentum.moment_1, s.momentum.moment_2, s.momentum.time + 1),
            None => (tensor.zeros_like(), tensor.zeros_like(), 1),
        };
        let t = time as i32;
        let bc2_sqrt = (1.0 - self.beta_2.powi(t)).sqrt();
        let step = Step {
            lr: lr as f32,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            factor: bc2_sqrt / (1.0 - self.beta_1.powi(t)),
            eps_scaled: self.epsilon * bc2_sqrt,
            weight_decay: self.weight_decay.unwrap_or(0.0),
        };
        let (p, m, v) = super::adam_step(tensor, grad, m, v, step);
        (p, Some(AdamState::new(AdaptiveMomentumState::new(time, m, v))))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}
