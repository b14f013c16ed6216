//! Column standardization of tabular runs (`standardize.json`).

use crate::data::{Dataset, SampleShape};
use crate::error::{Error, Result};

/// Column statistics fitted on the training rows: z = (x - mean) / scale, with scale the
/// standard deviation (ddof 0), or 1 for a constant column (scikit-learn's `StandardScaler`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    pub columns: Vec<String>,
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Fits on the rows of a tabular dataset.
    pub fn fit(ds: &Dataset) -> Result<Self> {
        let SampleShape::Tabular { features } = ds.shape() else {
            return Err(Error::Shape(format!("standardization is for tables, the data has {}", ds.shape())));
        };
        let n = ds.len().max(1) as f64;
        let mut mean = vec![0.0f64; features];
        for row in ds.data().chunks_exact(features) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n);
        let mut var = vec![0.0f64; features];
        for row in ds.data().chunks_exact(features) {
            for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += (v as f64 - m).powi(2);
            }
        }
        let scale = var.iter().map(|s| (s / n).sqrt()).map(|s| if s > 0.0 { s } else { 1.0 }).collect();
        let columns = ds.feature_names.clone().unwrap_or_else(|| (0..features).map(|j| format!("x{j}")).collect());
        Ok(Standardizer { columns, mean, scale })
    }

    /// Standardizes one row in place.
    pub fn apply(&self, row: &mut [f32]) {
        for ((v, m), s) in row.iter_mut().zip(&self.mean).zip(&self.scale) {
            *v = ((*v as f64 - m) / s) as f32;
        }
    }

    /// A standardized copy of a dataset.
    pub fn apply_dataset(&self, ds: &Dataset) -> Result<Dataset> {
        let mut data = ds.data().to_vec();
        for row in data.chunks_exact_mut(ds.sample_len()) {
            self.apply(row);
        }
        let mut out = Dataset::new(data, ds.shape(), ds.labels().map(|l| l.to_vec()))?;
        out.feature_names = ds.feature_names.clone();
        out.class_names = ds.class_names.clone();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardizer_matches_population_statistics() {
        let mut ds = Dataset::new(vec![1.0, 5.0, 3.0, 5.0, 5.0, 5.0], SampleShape::Tabular { features: 2 }, None).unwrap();
        ds.feature_names = Some(vec!["a".into(), "b".into()]);
        let s = Standardizer::fit(&ds).unwrap();
        assert_eq!(s.mean, vec![3.0, 5.0]);
        assert!((s.scale[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.scale[1], 1.0, "a constant column keeps scale 1");
        let z = s.apply_dataset(&ds).unwrap();
        assert!((z.data()[0] as f64 + 2.0 / (8.0f64 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(z.data()[1], 0.0);
    }
}
