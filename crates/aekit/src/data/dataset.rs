//! The one in-memory dataset type: images `[N, C, H, W]` or tabular rows `[N, F]`, f32, with
//! optional integer labels.

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::error::{Error, Result};

/// The shape of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SampleShape {
    /// An image with `channels` planes of `height` x `width` pixels, values in [0, 1].
    Image { channels: usize, height: usize, width: usize },
    /// A row of `features` numbers.
    Tabular { features: usize },
}

impl SampleShape {
    /// Numbers per sample.
    pub fn len(&self) -> usize {
        match *self {
            SampleShape::Image { channels, height, width } => channels * height * width,
            SampleShape::Tabular { features } => features,
        }
    }

    /// Whether a sample holds no numbers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[C, H, W]` or `[F]`.
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            SampleShape::Image { channels, height, width } => vec![channels, height, width],
            SampleShape::Tabular { features } => vec![features],
        }
    }
}

impl std::fmt::Display for SampleShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            SampleShape::Image { channels, height, width } => {
                write!(f, "{channels}x{height}x{width} image")
            }
            SampleShape::Tabular { features } => write!(f, "{features} features"),
        }
    }
}

/// Samples stored contiguously, row-major.
///
/// # Shapes
/// `data`: `[len, shape.len()]`; `labels`: `[len]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    data: Vec<f32>,
    shape: SampleShape,
    labels: Option<Vec<u32>>,
    /// Class names by label index, when the source has them (image sub-folders).
    pub class_names: Option<Vec<String>>,
    /// Column names of tabular data.
    pub feature_names: Option<Vec<String>>,
}

impl Dataset {
    /// Builds a dataset, checking that the buffer and labels agree with the shape.
    pub fn new(data: Vec<f32>, shape: SampleShape, labels: Option<Vec<u32>>) -> Result<Self> {
        let per = shape.len();
        if per == 0 || data.len() % per != 0 {
            return Err(Error::Shape(format!(
                "{} values do not divide into samples of {shape} ({per} values)",
                data.len()
            )));
        }
        let n = data.len() / per;
        if let Some(l) = &labels {
            if l.len() != n {
                return Err(Error::Shape(format!("{} labels for {n} samples", l.len())));
            }
        }
        Ok(Dataset { data, shape, labels, class_names: None, feature_names: None })
    }

    /// The same samples with labels attached.
    pub fn with_labels(mut self, labels: Vec<u32>) -> Result<Self> {
        if labels.len() != self.len() {
            return Err(Error::Shape(format!("{} labels for {} samples", labels.len(), self.len())));
        }
        self.labels = Some(labels);
        Ok(self)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.data.len() / self.shape.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The shape of one sample.
    pub fn shape(&self) -> SampleShape {
        self.shape
    }

    /// Numbers per sample.
    pub fn sample_len(&self) -> usize {
        self.shape.len()
    }

    /// All samples, `[N, sample_len]` row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Sample `i`.
    pub fn sample(&self, i: usize) -> &[f32] {
        let p = self.shape.len();
        &self.data[i * p..(i + 1) * p]
    }

    /// Labels, if the source had them.
    pub fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }

    /// The samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let p = self.shape.len();
        let mut data = Vec::with_capacity(indices.len() * p);
        for &i in indices {
            data.extend_from_slice(self.sample(i));
        }
        let labels = self.labels.as_ref().map(|l| indices.iter().map(|&i| l[i]).collect());
        Dataset {
            data,
            shape: self.shape,
            labels,
            class_names: self.class_names.clone(),
            feature_names: self.feature_names.clone(),
        }
    }

    /// The first `n` samples (all of them if there are fewer).
    pub fn head(&self, n: usize) -> Dataset {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.select(&idx)
    }

    /// Stochastically binarized copy: each value v in [0, 1] becomes 1 with probability v, drawn
    /// from a seeded stream (the binarized MNIST of Burda et al. and others).
    pub fn binarized(&self, seed: u64) -> Dataset {
        use rand::Rng;
        let mut rng = crate::rng::stream(seed, 0);
        let data = self.data.iter().map(|&v| if rng.random::<f32>() < v { 1.0 } else { 0.0 }).collect();
        Dataset { data, ..self.clone() }
    }

    /// Splits off a seeded random fraction as a test set.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<Split> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(Error::arg("test fraction", format!("{test_fraction} is not in (0, 1)")));
        }
        let n = self.len();
        let n_test = ((n as f64) * test_fraction).round() as usize;
        if n_test == 0 || n_test == n {
            return Err(Error::arg(
                "test fraction",
                format!("{test_fraction} of {n} samples leaves an empty train or test set"),
            ));
        }
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        let (test, train) = idx.split_at(n_test);
        let (mut train, mut test) = (train.to_vec(), test.to_vec());
        train.sort_unstable();
        test.sort_unstable();
        Ok(Split { train: self.select(&train), test: self.select(&test), val: None, patches: None })
    }
}

/// A training set and a test set of the same sample shape, and optionally a validation set
/// given apart (a folder's `val/`).
#[derive(Debug, Clone)]
pub struct Split {
    pub train: Dataset,
    pub test: Dataset,
    /// When present, training validates (and stops early) on it instead of on a held-out part
    /// of the training set or on the test set.
    pub val: Option<Dataset>,
    /// When present, training draws fresh crops from these images every epoch instead of
    /// iterating over `train`, which then holds a fixed sample of crops (for checks and
    /// baselines).
    pub patches: Option<super::Patches>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binarization_is_seeded_and_keeps_the_mean() {
        let split = crate::data::builtin::embedded_mnist().unwrap();
        let b = split.train.binarized(5);
        assert!(b.data().iter().all(|&v| v == 0.0 || v == 1.0));
        let mean = |d: &Dataset| d.data().iter().map(|&v| v as f64).sum::<f64>() / d.data().len() as f64;
        assert!((mean(&b) - mean(&split.train)).abs() < 2e-3, "{} vs {}", mean(&b), mean(&split.train));
        assert_eq!(b, split.train.binarized(5));
        assert_ne!(b, split.train.binarized(6));
        assert_eq!(b.labels(), split.train.labels());
    }
}
