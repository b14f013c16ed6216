//! Optimisation settings, saved in `config.json` beside the model's.

use burn::optim::AdamConfig;
use burn::prelude::*;

use crate::error::{Error, Result};
pub use crate::loss::Reduction;

/// Optimisation settings; saved in `config.json` beside the model's.
#[derive(Config, Debug)]
pub struct TrainConfig {
    #[config(default = 10)]
    pub epochs: usize,
    #[config(default = 128)]
    pub batch_size: usize,
    /// Adam learning rate.
    #[config(default = 1e-3)]
    pub lr: f64,
    /// Adam's L2 weight decay (0 = none).
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// Adam's epsilon; 1e-8 as in PyTorch and Keras (Burn's default is 1e-5).
    #[config(default = 1e-8)]
    pub adam_epsilon: f64,
    /// Seeds the weights, the shuffling and the validation split.
    #[config(default = 0)]
    pub seed: u64,
    #[config(default = true)]
    pub shuffle: bool,
    /// Hold out this fraction of the training set for validation; 0 validates on the test set.
    #[config(default = 0.0)]
    pub val_fraction: f64,
    /// Stop when the validation loss has not improved for this many epochs.
    #[config(default = "None")]
    pub patience: Option<usize>,
    /// How a batch's per-sample losses make the objective the optimizer steps on. Reports
    /// always give per-value or per-sample means, whatever this says.
    #[config(default = "Reduction::Mean")]
    pub reduction: Reduction,
    /// How the learning rate changes over training.
    #[config(default = "LrSchedule::Constant")]
    pub lr_schedule: LrSchedule,
    /// Use aekit's fused CPU kernels (`crate::fused`: Adam, the VAE objective) where they apply;
    /// `false` runs Burn's plain operations only, for comparison.
    #[config(default = true)]
    pub fused: bool,
}

/// The learning rate over training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// `lr` throughout.
    Constant,
    /// Cosine annealing without restarts (Loshchilov & Hutter 2017): from `lr` at the first
    /// step to 0 after the last step of the last epoch, per step. Resuming with more epochs
    /// stretches the remaining curve.
    Cosine,
}

impl LrSchedule {
    /// The learning rate at step `step` of `total` (0-based).
    pub fn at(self, lr: f64, step: usize, total: usize) -> f64 {
        match self {
            LrSchedule::Constant => lr,
            LrSchedule::Cosine => lr * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / total.max(1) as f64).cos()),
        }
    }
}

impl TrainConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.batch_size == 0 || self.epochs == 0 {
            return Err(Error::arg("training", format!("batch size {} and epochs {} must be positive", self.batch_size, self.epochs)));
        }
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(Error::arg("lr", format!("{}: expected a positive learning rate", self.lr)));
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return Err(Error::arg("val fraction", format!("{}: expected 0 (use the test set) or a fraction in (0, 1)", self.val_fraction)));
        }
        if self.patience == Some(0) {
            return Err(Error::arg("patience", "0: expected at least 1 epoch"));
        }
        Ok(())
    }

    pub(crate) fn optimizer(&self) -> burn::optim::ModuleOptimizer {
        if self.fused {
            let wd = (self.weight_decay > 0.0).then_some(self.weight_decay as f32);
            return crate::fused::FusedAdam::new(self.adam_epsilon as f32, wd).into();
        }
        let mut adam = AdamConfig::new().with_epsilon(self.adam_epsilon as f32);
        if self.weight_decay > 0.0 {
            adam = adam.with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(self.weight_decay as f32)));
        }
        adam.init()
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_anneals_from_lr_to_zero() {
        let c = LrSchedule::Cosine;
        assert_eq!(c.at(1e-3, 0, 100), 1e-3);
        assert!((c.at(1e-3, 50, 100) - 5e-4).abs() < 1e-12);
        assert!(c.at(1e-3, 100, 100).abs() < 1e-12);
        assert!(c.at(1e-3, 30, 100) > c.at(1e-3, 31, 100));
        assert_eq!(LrSchedule::Constant.at(1e-3, 99, 100), 1e-3);
    }
}
