//! The VAE objective with a Bernoulli likelihood, fused: binary cross-entropy on the decoder's
//! logits summed over pixels, plus beta times the Gaussian KL, averaged over the batch, in one
//! pass forward and one pass backward.
//!
//! Per sample b, with logits l, data x in [0, 1], posterior (mu, logvar):
//!
//!   loss_b = Σ_p [max(l, 0) - l·x + ln(1 + e^-|l|)] + β · (-1/2) Σ_j (1 + logvar - mu² - e^logvar)
//!   loss   = (1/B) Σ_b loss_b
//!
//! and the gradients are ∂/∂l = (σ(l) - x)/B, ∂/∂mu = β·mu/B, ∂/∂logvar = β·(e^logvar - 1)/(2B).
//! The plain path builds the same value from about twenty Burn operations, each a pass over
//! memory with libm's scalar exp and log1p.

use rayon::prelude::*;

use super::math::{sigmoid, simd_dispatch, softplus_neg_abs_and_sigmoid};

#[inline(always)]
fn bce_value(l: f32, x: f32) -> f32 {
    let (sp, _) = softplus_neg_abs_and_sigmoid(l);
    l.max(0.0) - l * x + sp
}

/// Σ f(l, x) over a row.
#[inline(always)]
fn row_sum(l: &[f32], x: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    // Eight running sums: a single one would chain every addition and keep the loop scalar.
    const LANES: usize = 8;
    let mut acc = [0.0f32; LANES];
    let (lc, xc) = (l.chunks_exact(LANES), x.chunks_exact(LANES));
    let (lr, xr) = (lc.remainder(), xc.remainder());
    for (lb, xb) in lc.zip(xc) {
        for k in 0..LANES {
            acc[k] += f(lb[k], xb[k]);
        }
    }
    let tail: f32 = lr.iter().zip(xr).map(|(&l, &x)| f(l, x)).sum();
    acc.iter().sum::<f32>() + tail
}

#[inline(always)]
fn bce_row_body(l: &[f32], x: &[f32]) -> f32 {
    row_sum(l, x, bce_value)
}
simd_dispatch!(bce_row(l: &[f32], x: &[f32]) -> f32 => bce_row_body);

#[inline(always)]
fn bce_grad_body(l: &[f32], x: &[f32], scale: f32, out: &mut [f32]) {
    for i in 0..l.len() {
        let (_, sig) = softplus_neg_abs_and_sigmoid(l[i]);
        out[i] = (sig - x[i]) * scale;
    }
}
simd_dispatch!(bce_grad(l: &[f32], x: &[f32], scale: f32, out: &mut [f32]) => bce_grad_body);

fn kl_row(mu: &[f32], logvar: &[f32]) -> f32 {
    let mut acc = 0.0f32;
    for (m, lv) in mu.iter().zip(logvar) {
        acc += 1.0 + lv - m * m - lv.exp();
    }
    -0.5 * acc
}

/// The batch mean of the per-sample loss. Rows are summed in a fixed order whatever the thread
/// count, so the value is reproducible.
///
/// # Shapes
/// `logits`, `x`: `[B, P]` row-major; `mu`, `logvar`: `[B, L]`
pub(crate) fn forward(logits: &[f32], x: &[f32], mu: &[f32], logvar: &[f32], b: usize, beta: f32) -> f32 {
    let p = logits.len() / b;
    let l = mu.len() / b;
    let rows: Vec<f32> = logits
        .par_chunks(p)
        .zip(x.par_chunks(p))
        .zip(mu.par_chunks(l.max(1)).zip(logvar.par_chunks(l.max(1))))
        .map(|((lr, xr), (mr, vr))| bce_row(lr, xr) + beta * kl_row(mr, vr))
        .collect();
    rows.iter().sum::<f32>() / b as f32
}

/// Gradients of [`forward`] times the incoming gradient `g` (a scalar).
///
/// # Shapes
/// returns `[B, P]` for the logits, `[B, L]` for mu and for logvar
pub(crate) fn backward(
    logits: &[f32],
    x: &[f32],
    mu: &[f32],
    logvar: &[f32],
    b: usize,
    beta: f32,
    g: f32,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let scale = g / b as f32;
    let p = logits.len() / b;
    let mut dl = vec![0.0f32; logits.len()];
    dl.par_chunks_mut(p).zip(logits.par_chunks(p).zip(x.par_chunks(p))).for_each(|(o, (l, x))| bce_grad(l, x, scale, o));
    let k = beta * scale;
    let dmu = mu.iter().map(|m| m * k).collect();
    let dlogvar = logvar.iter().map(|lv| (lv.exp() - 1.0) * (0.5 * k)).collect();
    (dl, dmu, dlogvar)
}

/// The mean binary cross-entropy per value (the dense autoencoder's loss).
///
/// # Shapes
/// `logits`, `x`: `[B, P]` row-major
pub(crate) fn bce_mean_forward(logits: &[f32], x: &[f32], b: usize) -> f32 {
    mean_per_value(logits, x, b, bce_row)
}

/// The gradient of [`bce_mean_forward`] with respect to the logits, times `g`.
pub(crate) fn bce_mean_backward(logits: &[f32], x: &[f32], b: usize, g: f32) -> Vec<f32> {
    grad_per_value(logits, x, b, g, bce_grad)
}

/// The mean over all values of a per-value loss, from the per-row sums `row` (rows in parallel,
/// added in row order, so the value does not depend on the thread count).
fn mean_per_value(logits: &[f32], x: &[f32], b: usize, row: fn(&[f32], &[f32]) -> f32) -> f32 {
    let p = (logits.len() / b.max(1)).max(1);
    let rows: Vec<f32> = logits.par_chunks(p).zip(x.par_chunks(p)).map(|(l, x)| row(l, x)).collect();
    rows.iter().sum::<f32>() / logits.len() as f32
}

/// The gradient of [`mean_per_value`] times `g`, from the per-row gradient `grad` (which takes
/// the scale `g / values`).
fn grad_per_value(logits: &[f32], x: &[f32], b: usize, g: f32, grad: fn(&[f32], &[f32], f32, &mut [f32])) -> Vec<f32> {
    let p = (logits.len() / b.max(1)).max(1);
    let scale = g / logits.len() as f32;
    let mut dl = vec![0.0f32; logits.len()];
    dl.par_chunks_mut(p).zip(logits.par_chunks(p).zip(x.par_chunks(p))).for_each(|(o, (l, x))| grad(l, x, scale, o));
    dl
}

#[inline(always)]
fn sq_err_row_body(l: &[f32], x: &[f32]) -> f32 {
    row_sum(l, x, |l, x| {
        let d = sigmoid(l) - x;
        d * d
    })
}
simd_dispatch!(sq_err_row(l: &[f32], x: &[f32]) -> f32 => sq_err_row_body);

#[inline(always)]
fn sq_err_grad_body(l: &[f32], x: &[f32], scale: f32, out: &mut [f32]) {
    for i in 0..l.len() {
        let s = sigmoid(l[i]);
        out[i] = 2.0 * (s - x[i]) * s * (1.0 - s) * scale;
    }
}
simd_dispatch!(sq_err_grad(l: &[f32], x: &[f32], scale: f32, out: &mut [f32]) => sq_err_grad_body);

/// The mean squared error of the sigmoid of the logits against `x`, per value (the conv and
/// dense autoencoders' MSE with a sigmoid output): the plain path is six Burn operations, each
/// a pass over memory, with libm's scalar exp.
///
/// # Shapes
/// `logits`, `x`: `[B, P]` row-major
pub(crate) fn sigmoid_mse_mean_forward(logits: &[f32], x: &[f32], b: usize) -> f32 {
    mean_per_value(logits, x, b, sq_err_row)
}

/// The gradient of [`sigmoid_mse_mean_forward`] with respect to the logits, times `g`.
pub(crate) fn sigmoid_mse_mean_backward(logits: &[f32], x: &[f32], b: usize, g: f32) -> Vec<f32> {
    grad_per_value(logits, x, b, g, sq_err_grad)
}
