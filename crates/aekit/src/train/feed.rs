//! Keeping an accelerator busy: the training set uploaded once and batched on the device, and
//! the loss read back every few steps instead of after each one.
//!
//! On the CPU backend (Flex) both are no-ops: a batch built on the host *is* on the device, and
//! reading a scalar costs nothing, so the CPU path stays exactly what it was. On a GPU each
//! host-to-device copy of a batch and each `into_scalar` is a round trip that stalls the queue
//! (Burn's fusion can only batch the kernels queued between two reads).

use burn::prelude::*;
use burn::tensor::Int;

use crate::data::Dataset;
use crate::error::{Error, Result};

/// Data sets larger than this stay on the host and are copied batch by batch: device memory is
/// for the model, its activations and the optimiser state first.
const RESIDENT_MAX_BYTES: usize = 2 << 30;

/// Loss values read back per this many steps on an accelerator.
const SYNC_EVERY: usize = 50;

/// A training set held on the device, and the epoch's order uploaded once per epoch.
pub(crate) struct Resident {
    all: Tensor<2>,
    order: Option<Tensor<1, Int>>,
}

impl Resident {
    /// The training set on `device`, when batches would otherwise be copied in every step and
    /// the set fits (see [`RESIDENT_MAX_BYTES`]); `None` on the CPU backend.
    pub(crate) fn upload(ds: &Dataset, device: &Device) -> Option<Self> {
        if crate::fused::on_flex(device) || ds.data().len() * 4 > RESIDENT_MAX_BYTES {
            return None;
        }
        let all = Tensor::from_data(TensorData::new(ds.data().to_vec(), [ds.len(), ds.sample_len()]), device);
        Some(Resident { all, order: None })
    }

    /// Uploads the epoch's sample order (one copy per epoch).
    pub(crate) fn set_order(&mut self, order: &[usize]) {
        let device = self.all.device();
        let idx: Vec<i64> = order.iter().map(|&i| i as i64).collect();
        self.order = Some(Tensor::from_data(TensorData::new(idx, [order.len()]), &device));
    }

    /// The `len` samples at positions `start..start + len` of the epoch's order, gathered on
    /// the device.
    ///
    /// # Shapes
    /// → `[len, P]`
    pub(crate) fn batch(&self, start: usize, len: usize) -> Tensor<2> {
        let order = self.order.as_ref().expect("set_order before batch");
        self.all.clone().select(0, order.clone().slice([start..start + len]))
    }
}

/// The running training loss, read back from the device every [`SYNC_EVERY`] steps (every
/// step on the CPU, where it is free and the figures stay as they always were).
pub(crate) struct LossMeter {
    every: usize,
    pending: Option<Tensor<1>>,
    pending_n: usize,
    first_pending: usize,
    pub(crate) sum: f64,
    pub(crate) seen: usize,
}

impl LossMeter {
    pub(crate) fn new(device: &Device) -> Self {
        let every = if crate::fused::on_flex(device) { 1 } else { SYNC_EVERY };
        LossMeter { every, pending: None, pending_n: 0, first_pending: 0, sum: 0.0, seen: 0 }
    }

    /// Adds batch `b`'s mean loss over `n` samples. Returns true when the running figures were
    /// brought up to date (the observer's progress is due). A non-finite loss is an error
    /// naming the epoch and the batch (or batches, when they were read back together).
    pub(crate) fn add(&mut self, loss: Tensor<1>, n: usize, epoch: usize, b: usize, last: bool) -> Result<bool> {
        if self.every == 1 {
            let value = loss.into_scalar::<f32>() as f64;
            self.check(value, epoch, b, b)?;
            self.sum += value * n as f64;
            self.seen += n;
            return Ok(true);
        }
        let weighted = loss.detach() * n as f32;
        if self.pending.is_none() {
            self.first_pending = b;
        }
        self.pending = Some(match self.pending.take() {
            Some(p) => p + weighted,
            None => weighted,
        });
        self.pending_n += n;
        if !last && (b + 1) % self.every != 0 {
            return Ok(false);
        }
        let total = self.pending.take().expect("a pending loss").into_scalar::<f32>() as f64;
        self.check(total, epoch, self.first_pending, b)?;
        self.sum += total;
        self.seen += std::mem::take(&mut self.pending_n);
        Ok(true)
    }

    fn check(&self, value: f64, epoch: usize, first: usize, last: usize) -> Result<()> {
        if value.is_finite() {
            return Ok(());
        }
        let batches = if first == last { format!("batch {}", last + 1) } else { format!("one of batches {}-{}", first + 1, last + 1) };
        Err(Error::Numerical(format!(
            "the training loss became {value} at epoch {epoch}, {batches}; the last good checkpoint ({}) is kept. Try a smaller learning rate.",
            match epoch {
                1 => "none yet".to_string(),
                e => format!("epoch {}", e - 1),
            }
        )))
    }

    /// The mean loss per sample so far.
    pub(crate) fn mean(&self) -> f64 {
        self.sum / self.seen as f64
    }
}
