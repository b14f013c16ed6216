//! Principal component analysis with scikit-learn's semantics and attribute names.
//!
//! [`PcaParams::fit`] returns a fitted [`Pca`]; nothing can transform with an unfitted model.
//! Conventions follow `sklearn.decomposition.PCA` (1.5+): `explained_variance` divides by
//! `n_samples - 1`, `explained_variance_ratio` is over the total variance, signs follow
//! `svd_flip(u_based_decision=False)` (the largest-magnitude entry of each component is
//! positive), whitening divides the projections by `sqrt(explained_variance)`.
//!
//! The data stay f32; the covariance is accumulated chunk by chunk in f64 from f32 products,
//! and the small dense problems (eigendecomposition, QR, SVD) run in f64 on faer.

use std::path::Path;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use solvers::{column_means, fit_exact, fit_randomized, fit_randomized_gram, gram_is_cheaper, scatter_matrix, svd_flip_rows, Fitted};

use crate::error::{Error, Result};

/// How many components to keep.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NComponents {
    /// Exactly this many.
    Count(usize),
    /// The fewest whose cumulative explained-variance ratio exceeds this fraction in (0, 1)
    /// (exact solver only, as in scikit-learn).
    VarianceFraction(f64),
    /// min(n_samples, n_features).
    All,
}

/// The decomposition used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Solver {
    /// Eigendecomposition of the covariance matrix (scikit-learn's `covariance_eigh`; same
    /// result as `full` up to rounding).
    Exact,
    /// Halko et al.'s randomized SVD (scikit-learn's `randomized`), seeded.
    Randomized,
}

/// PCA hyper-parameters; [`PcaParams::fit`] turns them into a fitted [`Pca`].
#[derive(Debug, Clone)]
pub struct PcaParams {
    pub n_components: NComponents,
    pub solver: Solver,
    pub whiten: bool,
    /// Seed of the randomized solver's test matrix.
    pub seed: u64,
    /// Extra random directions of the randomized solver (scikit-learn: 10).
    pub n_oversamples: usize,
    /// Power iterations of the randomized solver; `None` is scikit-learn's "auto" (7 when
    /// n_components < 0.1 min(n, p), else 4).
    pub n_iter: Option<usize>,
    /// Whether to skip the products with zeros when forming the covariance (see
    /// `sparse_gram`); `None` decides from the data: at least [`SPARSE_MIN_ZERO_FRACTION`] zeros
    /// and [`SPARSE_MIN_FEATURES`] features. Same result either way, up to rounding.
    pub skip_zeros: Option<bool>,
}

/// Below this fraction of zeros the dense product is faster (measured on MNIST thinned to
/// different densities: `cargo run --release --example pca_paths`).
pub const SPARSE_MIN_ZERO_FRACTION: f64 = 0.5;
/// Narrower data gain too little from skipping zeros to pay for the bookkeeping.
pub const SPARSE_MIN_FEATURES: usize = 64;

impl PcaParams {
    pub fn new(n_components: NComponents) -> Self {
        PcaParams { n_components, solver: Solver::Exact, whiten: false, seed: 0, n_oversamples: 10, n_iter: None, skip_zeros: None }
    }

    pub fn solver(mut self, solver: Solver) -> Self {
        self.solver = solver;
        self
    }

    pub fn whiten(mut self, whiten: bool) -> Self {
        self.whiten = whiten;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn skip_zeros(mut self, skip_zeros: Option<bool>) -> Self {
        self.skip_zeros = skip_zeros;
        self
    }

    /// The scatter matrix and the column means, by the path that suits the data.
    fn scatter(&self, x: &[f32], n: usize, p: usize) -> (faer::Mat<f64>, Vec<f64>) {
        let sparse = self.skip_zeros.unwrap_or_else(|| {
            p >= SPARSE_MIN_FEATURES && sparse_gram::zero_fraction(x, n, p) >= SPARSE_MIN_ZERO_FRACTION
        });
        if sparse {
            if let Some(found) = sparse_gram::scatter_matrix_sparse(x, n, p) {
                return found;
            }
        }
        scatter_matrix(x, n, p)
    }

    /// Fits on `x`, `[n_samples, n_features]` row-major.
    pub fn fit(&self, x: &[f32], n_features: usize) -> Result<Pca> {
        if n_features == 0 || x.len() % n_features != 0 {
            return Err(Error::Shape(format!("{} values are not rows of {n_features} features", x.len())));
        }
        let n = x.len() / n_features;
        let p = n_features;
        if n < 2 {
            return Err(Error::arg("data", format!("PCA needs at least 2 samples, got {n}")));
        }
        if let Some(i) = crate::linalg::first_non_finite(x) {
            return Err(Error::arg("data", format!("value {} at sample {}, feature {} is not finite", x[i], i / p, i % p)));
        }
        let max_k = n.min(p);
        match self.n_components {
            NComponents::Count(k) if k == 0 || k > max_k => {
                return Err(Error::arg(
                    "n_components",
                    format!("{k}: expected 1 to min(n_samples, n_features) = {max_k}"),
                ))
            }
            NComponents::VarianceFraction(f) if !(f > 0.0 && f < 1.0) => {
                return Err(Error::arg("n_components", format!("variance fraction {f} is not in (0, 1)")))
            }
            NComponents::VarianceFraction(_) if self.solver == Solver::Randomized => {
                return Err(Error::arg(
                    "n_components",
                    "a variance fraction needs the full spectrum: use the exact solver",
                ))
            }
            _ => {}
        }
        let (fitted, mean) = match self.solver {
            Solver::Exact => {
                let (scatter, mean) = self.scatter(x, n, p);
                (fit_exact(scatter, n, p, self.n_components)?, mean)
            }
            Solver::Randomized => {
                let k = match self.n_components {
                    NComponents::Count(k) => k,
                    _ => max_k,
                };
                let n_iter = self.n_iter.unwrap_or(if (k as f64) < 0.1 * max_k as f64 { 7 } else { 4 });
                let l = (k + self.n_oversamples).min(max_k);
                if gram_is_cheaper(p, l, n_iter) {
                    let (scatter, mean) = self.scatter(x, n, p);
                    (fit_randomized_gram(scatter, n, k, l, n_iter, self.seed)?, mean)
                } else {
                    let mean = column_means(x, n, p);
                    (fit_randomized(x, n, p, &mean, k, l, n_iter, self.seed)?, mean)
                }
            }
        };
        let Fitted { mut components, explained_variance, total_variance, noise_variance } = fitted;
        let k = explained_variance.len();
        svd_flip_rows(&mut components, k, p);
        let explained_variance_ratio =
            explained_variance.iter().map(|v| if total_variance > 0.0 { v / total_variance } else { 0.0 }).collect();
        let singular_values = explained_variance.iter().map(|v| (v * (n - 1) as f64).sqrt()).collect();
        Ok(Pca {
            components: components.iter().map(|&v| v as f32).collect(),
            explained_variance,
            explained_variance_ratio,
            singular_values,
            mean: mean.iter().map(|&v| v as f32).collect(),
            noise_variance,
            n_samples: n,
            n_features: p,
            whiten: self.whiten,
            solver: self.solver,
        })
    }
}

/// A fitted PCA.
///
/// # Shapes
/// `components`: `[n_components, n_features]`; `mean`: `[n_features]`; the variance vectors:
/// `[n_components]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    components: Vec<f32>,
    explained_variance: Vec<f64>,
    explained_variance_ratio: Vec<f64>,
    singular_values: Vec<f64>,
    mean: Vec<f32>,
    noise_variance: f64,
    n_samples: usize,
    n_features: usize,
    whiten: bool,
    solver: Solver,
}


impl Pca {
    pub fn n_components(&self) -> usize {
        self.explained_variance.len()
    }
    pub fn n_features(&self) -> usize {
        self.n_features
    }
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }
    pub fn components(&self) -> &[f32] {
        &self.components
    }
    pub fn explained_variance(&self) -> &[f64] {
        &self.explained_variance
    }
    pub fn explained_variance_ratio(&self) -> &[f64] {
        &self.explained_variance_ratio
    }
    pub fn singular_values(&self) -> &[f64] {
        &self.singular_values
    }
    pub fn mean(&self) -> &[f32] {
        &self.mean
    }
    pub fn noise_variance(&self) -> f64 {
        self.noise_variance
    }
    pub fn whiten(&self) -> bool {
        self.whiten
    }
    pub fn solver(&self) -> Solver {
        self.solver
    }

    /// The same model keeping only its first `k` components (what a fit with `k` components
    /// gives, since components are ordered by variance).
    pub fn truncated(&self, k: usize) -> Result<Pca> {
        if k == 0 || k > self.n_components() {
            return Err(Error::arg("n_components", format!("{k}: expected 1 to {}", self.n_components())));
        }
        let mut t = self.clone();
        t.components.truncate(k * self.n_features);
        t.explained_variance.truncate(k);
        t.explained_variance_ratio.truncate(k);
        t.singular_values.truncate(k);
        Ok(t)
    }

    fn check_features(&self, x: &[f32], width: usize, what: &str) -> Result<usize> {
        if x.len() % width != 0 {
            return Err(Error::Shape(format!(
                "{what}: {} values are not rows of {width} (the PCA was fitted on {} features with {} components)",
                x.len(),
                self.n_features,
                self.n_components()
            )));
        }
        Ok(x.len() / width)
    }

    /// Projects `x` `[m, n_features]` onto the components: `[m, n_components]`.
    pub fn transform(&self, x: &[f32]) -> Result<Vec<f32>> {
        let (p, k) = (self.n_features, self.n_components());
        let m = self.check_features(x, p, "transform")?;
        let mut z = vec![0f32; m * k];
        {
            let xr = MatRef::from_row_major_slice(x, m, p);
            let vt = MatRef::from_row_major_slice(&self.components, k, p);
            let mut zm = MatMut::from_row_major_slice_mut(&mut z, m, k);
            matmul(zm.as_mut(), Accum::Replace, xr, vt.transpose(), 1.0f32, Par::rayon(0));
        }
        let offset: Vec<f32> = (0..k)
            .map(|j| (0..p).map(|i| self.mean[i] as f64 * self.components[j * p + i] as f64).sum::<f64>() as f32)
            .collect();
        let scale: Vec<f32> = self
            .explained_variance
            .iter()
            .map(|&v| if self.whiten { 1.0 / (v.sqrt().max(f64::MIN_POSITIVE)) as f32 } else { 1.0 })
            .collect();
        for row in z.chunks_exact_mut(k) {
            for j in 0..k {
                row[j] = (row[j] - offset[j]) * scale[j];
            }
        }
        Ok(z)
    }

    /// Maps projections `z` `[m, n_components]` back to `[m, n_features]`, undoing whitening.
    pub fn inverse_transform(&self, z: &[f32]) -> Result<Vec<f32>> {
        let (p, k) = (self.n_features, self.n_components());
        let m = self.check_features(z, k, "inverse_transform")?;
        let mut zs = z.to_vec();
        if self.whiten {
            let s: Vec<f32> = self.explained_variance.iter().map(|v| v.sqrt() as f32).collect();
            for row in zs.chunks_exact_mut(k) {
                row.iter_mut().zip(&s).for_each(|(a, b)| *a *= b);
            }
        }
        let mut x = Vec::with_capacity(m * p);
        for _ in 0..m {
            x.extend_from_slice(&self.mean);
        }
        {
            let zr = MatRef::from_row_major_slice(&zs, m, k);
            let vt = MatRef::from_row_major_slice(&self.components, k, p);
            let mut xm = MatMut::from_row_major_slice_mut(&mut x, m, p);
            matmul(xm.as_mut(), Accum::Add, zr, vt, 1.0f32, Par::rayon(0));
        }
        Ok(x)
    }

    /// Saves as `DIR/pca.safetensors` (tensors) and `DIR/pca.json` (metadata), each atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::io::create_dir(dir)?;
        let (k, p) = (self.n_components(), self.n_features);
        use crate::io::tensors::Values::{F32, F64};
        let tensors = [
            ("components".to_string(), vec![k, p], F32(self.components.clone())),
            ("mean".to_string(), vec![p], F32(self.mean.clone())),
            ("explained_variance".to_string(), vec![k], F64(self.explained_variance.clone())),
            ("explained_variance_ratio".to_string(), vec![k], F64(self.explained_variance_ratio.clone())),
            ("singular_values".to_string(), vec![k], F64(self.singular_values.clone())),
        ];
        crate::io::tensors::write(&dir.join("pca.safetensors"), &tensors, None)?;
        crate::io::write_json(
            &dir.join("pca.json"),
            &PcaMeta {
                format: "aekit-pca".into(),
                version: 1,
                n_components: k,
                n_features: p,
                n_samples: self.n_samples,
                whiten: self.whiten,
                solver: self.solver,
                noise_variance: self.noise_variance,
            },
        )
    }

    /// Loads what [`Pca::save`] wrote, checking that metadata and tensors agree.
    pub fn load(dir: &Path) -> Result<Pca> {
        let meta_path = dir.join("pca.json");
        let text = std::fs::read_to_string(&meta_path).map_err(|source| Error::Read { path: meta_path.clone(), source })?;
        let meta: PcaMeta = serde_json::from_str(&text)
            .map_err(|e| Error::input(&meta_path, format!("not aekit PCA metadata: {e}")))?;
        let mut st = crate::io::tensors::read(&dir.join("pca.safetensors"))?;
        let (k, p) = (meta.n_components, meta.n_features);
        let why = " as pca.json declares";
        Ok(Pca {
            components: st.take_f32("components", &[k, p], why)?,
            mean: st.take_f32("mean", &[p], why)?,
            explained_variance: st.take_f64("explained_variance", &[k], why)?,
            explained_variance_ratio: st.take_f64("explained_variance_ratio", &[k], why)?,
            singular_values: st.take_f64("singular_values", &[k], why)?,
            noise_variance: meta.noise_variance,
            n_samples: meta.n_samples,
            n_features: p,
            whiten: meta.whiten,
            solver: meta.solver,
        })
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct PcaMeta {
    format: String,
    version: u32,
    n_components: usize,
    n_features: usize,
    n_samples: usize,
    whiten: bool,
    solver: Solver,
    noise_variance: f64,
}

mod solvers;
mod sparse_gram;
#[cfg(test)]
mod tests;
