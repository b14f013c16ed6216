//! Reconstruction losses. Every loss here is a mean over all values (pixels) and samples of the
//! batch; reports name that reduction.

use burn::prelude::*;
use burn::tensor::activation::{relu, softplus};

/// The reconstruction loss a model trains with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Mean squared error per value: mean((y - x)^2).
    Mse,
    /// Binary cross-entropy per value on logits l (Bernoulli likelihood, x in [0, 1]):
    /// mean(max(l, 0) - l x + log(1 + exp(-|l|))), the stable form of
    /// -[x log sigmoid(l) + (1 - x) log(1 - sigmoid(l))] (PyTorch's BCEWithLogitsLoss).
    Bce,
}

impl Loss {
    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Bce => "bce",
        }
    }
}

/// How the optimizer's objective combines a batch's per-sample losses.
///
/// With Adam the two differ only through epsilon (and weight decay): summing scales the
/// gradients by the batch size, so epsilon weighs `batch_size` times less. PyTorch's VAE example
/// sums (`reduction='sum'`); `vae-mnist` does the same so it takes the very same steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reduction {
    #[default]
    Mean,
    Sum,
}

/// Mean squared error per value.
///
/// # Shapes
/// `y`, `x`: `[B, P]` → `[1]`
pub fn mse(y: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    (y - x).square().mean()
}

/// Mean squared error per value of the sigmoid of the logits.
///
/// # Shapes
/// `logits`, `x`: `[B, P]` → `[1]`
pub fn mse_of_sigmoid(logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    // One pass, value and gradient, on the CPU backend (crate::fused).
    if let Some(loss) = crate::fused::sigmoid_mse_mean(&logits, &x) {
        return loss;
    }
    mse(burn::tensor::activation::sigmoid(logits), x)
}

/// Binary cross-entropy of every value, from logits, unreduced:
/// max(l, 0) - l x + log(1 + exp(-|l|)).
///
/// # Shapes
/// `logits`, `x`: `[B, P]` → `[B, P]`
pub fn bce_with_logits_values(logits: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    relu(logits.clone()) - logits.clone() * x + softplus(-logits.abs(), 1.0)
}

/// Binary cross-entropy per value, from logits.
///
/// # Shapes
/// `logits`, `x`: `[B, P]` → `[1]`
pub fn bce_with_logits(logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    // One pass, value and gradient, on the CPU backend (crate::fused).
    if let Some(loss) = crate::fused::bce_logits_mean(&logits, &x) {
        return loss;
    }
    bce_with_logits_values(logits, x).mean()
}
