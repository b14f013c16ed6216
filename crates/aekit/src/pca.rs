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
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand::SeedableRng;

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
}

impl PcaParams {
    pub fn new(n_components: NComponents) -> Self {
        PcaParams { n_components, solver: Solver::Exact, whiten: false, seed: 0, n_oversamples: 10, n_iter: None }
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
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
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
                let (scatter, mean) = scatter_matrix(x, n, p);
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
                    let (scatter, mean) = scatter_matrix(x, n, p);
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

struct Fitted {
    /// `[k, p]` row-major, unflipped.
    components: Vec<f64>,
    explained_variance: Vec<f64>,
    total_variance: f64,
    noise_variance: f64,
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
        let f32b = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let f64b = |v: &[f64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let bufs = [
            ("components", safetensors::Dtype::F32, vec![k, p], f32b(&self.components)),
            ("mean", safetensors::Dtype::F32, vec![p], f32b(&self.mean)),
            ("explained_variance", safetensors::Dtype::F64, vec![k], f64b(&self.explained_variance)),
            ("explained_variance_ratio", safetensors::Dtype::F64, vec![k], f64b(&self.explained_variance_ratio)),
            ("singular_values", safetensors::Dtype::F64, vec![k], f64b(&self.singular_values)),
        ];
        let views = bufs
            .iter()
            .map(|(name, dt, shape, b)| {
                safetensors::tensor::TensorView::new(*dt, shape.clone(), b)
                    .map(|v| (name.to_string(), v))
                    .map_err(|e| Error::Numerical(format!("safetensors: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let bytes = safetensors::serialize(views, &None).map_err(|e| Error::Numerical(format!("safetensors: {e}")))?;
        crate::io::write_bytes(&dir.join("pca.safetensors"), &bytes)?;
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
        let st_path = dir.join("pca.safetensors");
        let bytes = std::fs::read(&st_path).map_err(|source| Error::Read { path: st_path.clone(), source })?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| Error::input(&st_path, format!("not a safetensors file: {e}")))?;
        let (k, p) = (meta.n_components, meta.n_features);
        let get = |name: &str, dt: safetensors::Dtype, shape: Vec<usize>| -> Result<Vec<u8>> {
            let t = st.tensor(name).map_err(|e| Error::input(&st_path, format!("tensor {name:?}: {e}")))?;
            if t.dtype() != dt || t.shape() != shape.as_slice() {
                return Err(Error::input(
                    &st_path,
                    format!(
                        "tensor {name:?} is {:?} {:?}, expected {dt:?} {shape:?} as pca.json declares",
                        t.dtype(),
                        t.shape()
                    ),
                ));
            }
            Ok(t.data().to_vec())
        };
        let f32v = |b: Vec<u8>| b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let f64v = |b: Vec<u8>| b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect();
        use safetensors::Dtype::{F32, F64};
        Ok(Pca {
            components: f32v(get("components", F32, vec![k, p])?),
            mean: f32v(get("mean", F32, vec![p])?),
            explained_variance: f64v(get("explained_variance", F64, vec![k])?),
            explained_variance_ratio: f64v(get("explained_variance_ratio", F64, vec![k])?),
            singular_values: f64v(get("singular_values", F64, vec![k])?),
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

fn column_means(x: &[f32], n: usize, p: usize) -> Vec<f64> {
    let mut s = vec![0f64; p];
    for row in x.chunks_exact(p) {
        s.iter_mut().zip(row).for_each(|(a, &b)| *a += b as f64);
    }
    s.iter_mut().for_each(|v| *v /= n as f64);
    s
}

/// Rows per chunk when accumulating the covariance: large enough for an efficient product,
/// small enough that the shifted copy stays small (16384 x 784 f32 = 51 MB).
const CHUNK: usize = 16384;

/// The scatter matrix `Xc^T Xc` (f64) and the column means, in one pass over the f32 data.
///
/// Each chunk is shifted by the mean of the first chunk (a cheap estimate of the mean) before its
/// f32 product is accumulated in f64; the exact mean is then applied as a rank-one correction,
/// `Xc^T Xc = Xs^T Xs - n d d^T` with `d = mean - shift`. Shifting first keeps the correction
/// small, so there is no cancellation even for data far from zero. Only the lower triangle is
/// computed (half the work of a full product), then mirrored.
fn scatter_matrix(x: &[f32], n: usize, p: usize) -> (Mat<f64>, Vec<f64>) {
    let shift: Vec<f32> = column_means(&x[..CHUNK.min(n) * p], CHUNK.min(n), p).iter().map(|&m| m as f32).collect();
    let mut sums = vec![0f64; p];
    let mut acc = Mat::<f64>::zeros(p, p);
    let mut part = Mat::<f32>::zeros(p, p);
    let mut buf = vec![0f32; CHUNK.min(n) * p];
    for start in (0..n).step_by(CHUNK) {
        let r = CHUNK.min(n - start);
        let chunk = &mut buf[..r * p];
        for (dst, src) in chunk.chunks_exact_mut(p).zip(x[start * p..(start + r) * p].chunks_exact(p)) {
            for i in 0..p {
                dst[i] = src[i] - shift[i];
                sums[i] += dst[i] as f64;
            }
        }
        let c = MatRef::from_row_major_slice(chunk, r, p);
        triangular::matmul(
            part.as_mut(),
            BlockStructure::TriangularLower,
            Accum::Replace,
            c.transpose(),
            BlockStructure::Rectangular,
            c,
            BlockStructure::Rectangular,
            1.0f32,
            Par::rayon(0),
        );
        for j in 0..p {
            for i in j..p {
                acc[(i, j)] += part[(i, j)] as f64;
            }
        }
    }
    let d: Vec<f64> = sums.iter().map(|s| s / n as f64).collect();
    for j in 0..p {
        for i in j..p {
            acc[(i, j)] -= n as f64 * d[i] * d[j];
            acc[(j, i)] = acc[(i, j)];
        }
    }
    let mean = shift.iter().zip(&d).map(|(&s, &d)| s as f64 + d).collect();
    (acc, mean)
}

fn fit_exact(mut cov: Mat<f64>, n: usize, p: usize, nc: NComponents) -> Result<Fitted> {
    let denom = (n - 1) as f64;
    for j in 0..p {
        for i in 0..p {
            cov[(i, j)] /= denom;
        }
    }
    let eig = cov
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| Error::Numerical(format!("eigendecomposition of the {p}x{p} covariance did not converge: {e:?}")))?;
    let vals = eig.S().column_vector();
    let vecs = eig.U();
    let mut order: Vec<usize> = (0..p).collect();
    order.sort_by(|&a, &b| vals[b].partial_cmp(&vals[a]).unwrap_or(std::cmp::Ordering::Equal));
    // The covariance has rank at most n - 1; like scikit-learn, keep min(n, p) eigenvalues,
    // clipped at zero (rounding makes the smallest slightly negative).
    let max_k = n.min(p);
    let all: Vec<f64> = order.iter().take(max_k).map(|&i| vals[i].max(0.0)).collect();
    let total: f64 = all.iter().sum();
    let k = match nc {
        NComponents::Count(k) => k,
        NComponents::All => max_k,
        NComponents::VarianceFraction(f) => {
            // scikit-learn: searchsorted(cumsum(ratio), f, side="right") + 1
            let mut cum = 0.0;
            let below = all.iter().take_while(|v| {
                cum += *v / total;
                cum <= f
            });
            (below.count() + 1).min(max_k)
        }
    };
    let mut components = vec![0f64; k * p];
    for (r, &col) in order.iter().take(k).enumerate() {
        for i in 0..p {
            components[r * p + i] = vecs[(i, col)];
        }
    }
    let noise_variance = if k < max_k { all[k..].iter().sum::<f64>() / (max_k - k) as f64 } else { 0.0 };
    Ok(Fitted { components, explained_variance: all[..k].to_vec(), total_variance: total, noise_variance })
}

/// `Xc · B` for a thin `B` `[p, l]`: the product runs on the f32 data, the centring is a rank-one
/// correction, so no centred copy of X is made.
fn xc_times(x: &[f32], n: usize, p: usize, mean: &[f64], b: MatRef<'_, f64>) -> Mat<f64> {
    let l = b.ncols();
    let b32 = Mat::<f32>::from_fn(p, l, |i, j| b[(i, j)] as f32);
    let mut y = Mat::<f32>::zeros(n, l);
    matmul(y.as_mut(), Accum::Replace, MatRef::from_row_major_slice(x, n, p), b32.as_ref(), 1.0f32, Par::rayon(0));
    let shift: Vec<f64> = (0..l).map(|j| (0..p).map(|i| mean[i] * b[(i, j)]).sum()).collect();
    Mat::from_fn(n, l, |i, j| y[(i, j)] as f64 - shift[j])
}

/// `Xc^T · Q` for a thin `Q` `[n, l]`.
fn xct_times(x: &[f32], n: usize, p: usize, mean: &[f64], q: MatRef<'_, f64>) -> Mat<f64> {
    let l = q.ncols();
    let q32 = Mat::<f32>::from_fn(n, l, |i, j| q[(i, j)] as f32);
    let mut w = Mat::<f32>::zeros(p, l);
    matmul(w.as_mut(), Accum::Replace, MatRef::from_row_major_slice(x, n, p).transpose(), q32.as_ref(), 1.0f32, Par::rayon(0));
    let colsum: Vec<f64> = (0..l).map(|j| (0..n).map(|i| q[(i, j)]).sum()).collect();
    Mat::from_fn(p, l, |i, j| w[(i, j)] as f64 - mean[i] * colsum[j])
}

fn orth(m: Mat<f64>) -> Mat<f64> {
    m.qr().compute_thin_Q()
}

/// Whether the randomized solver should work on the scatter matrix `S = Xc^T Xc` instead of the
/// data. Both run the same subspace iteration (each power iteration applies `Xc^T Xc` once); on
/// the data each costs `4 n p l` flops, on `S` it costs `2 p^2 l` after a one-time `n p^2` to form
/// `S`. With n >> p and moderate p (MNIST: p = 784, l = 60) the scatter matrix wins by 2.5x; for
/// wide data (large images) the data path avoids a p x p matrix.
fn gram_is_cheaper(p: usize, l: usize, n_iter: usize) -> bool {
    const MAX_GRAM_FEATURES: usize = 4096; // a 4096^2 f64 scatter matrix is 128 MB
    p <= MAX_GRAM_FEATURES && p < 4 * (n_iter + 1) * l
}

/// Randomized subspace iteration on the scatter matrix, then Rayleigh-Ritz: the eigenvectors of
/// `Q^T S Q` rotate the basis `Q` onto the leading components.
fn fit_randomized_gram(scatter: Mat<f64>, n: usize, k: usize, l: usize, n_iter: usize, seed: u64) -> Result<Fitted> {
    let p = scatter.nrows();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let omega = Mat::<f64>::from_fn(p, l, |_, _| crate::rng::standard_normal(&mut rng));
    let mut q = orth(&scatter * &omega);
    for _ in 0..n_iter {
        q = orth(&scatter * &q);
    }
    let t = q.transpose() * (&scatter * &q);
    let eig = t
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| Error::Numerical(format!("eigendecomposition of the {l}x{l} projection failed: {e:?}")))?;
    let vals = eig.S().column_vector();
    let mut order: Vec<usize> = (0..l).collect();
    order.sort_by(|&a, &b| vals[b].partial_cmp(&vals[a]).unwrap_or(std::cmp::Ordering::Equal));
    let rotated = &q * eig.U();
    let denom = (n - 1) as f64;
    let explained_variance: Vec<f64> = order.iter().take(k).map(|&j| vals[j].max(0.0) / denom).collect();
    let mut components = vec![0f64; k * p];
    for (r, &j) in order.iter().take(k).enumerate() {
        for i in 0..p {
            components[r * p + i] = rotated[(i, j)];
        }
    }
    let total = (0..p).map(|i| scatter[(i, i)]).sum::<f64>() / denom;
    let max_k = n.min(p);
    let kept: f64 = explained_variance.iter().sum();
    let noise_variance = if k < max_k { ((total - kept) / (max_k - k) as f64).max(0.0) } else { 0.0 };
    Ok(Fitted { components, explained_variance, total_variance: total, noise_variance })
}

/// Halko et al.'s randomized SVD on the data, as scikit-learn runs it (QR re-orthonormalisation
/// at every step).
#[allow(clippy::too_many_arguments)]
fn fit_randomized(
    x: &[f32],
    n: usize,
    p: usize,
    mean: &[f64],
    k: usize,
    l: usize,
    n_iter: usize,
    seed: u64,
) -> Result<Fitted> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let omega = Mat::<f64>::from_fn(p, l, |_, _| crate::rng::standard_normal(&mut rng));
    let mut q = orth(xc_times(x, n, p, mean, omega.as_ref()));
    for _ in 0..n_iter {
        let w = orth(xct_times(x, n, p, mean, q.as_ref()));
        q = orth(xc_times(x, n, p, mean, w.as_ref()));
    }
    // B = Q^T Xc = W^T with W = Xc^T Q; the right singular vectors of B are the left ones of W.
    let w = xct_times(x, n, p, mean, q.as_ref());
    let svd = w.thin_svd().map_err(|e| Error::Numerical(format!("SVD of the {p}x{l} sketch failed: {e:?}")))?;
    let (u, s) = (svd.U(), svd.S().column_vector());
    let denom = (n - 1) as f64;
    let explained_variance: Vec<f64> = (0..k).map(|j| s[j] * s[j] / denom).collect();
    let mut components = vec![0f64; k * p];
    for r in 0..k {
        for i in 0..p {
            components[r * p + i] = u[(i, r)];
        }
    }
    // Total variance from the data, as scikit-learn does for truncated solvers.
    let mut total = 0f64;
    for row in x.chunks_exact(p) {
        total += row.iter().zip(mean).map(|(&v, &m)| (v as f64 - m).powi(2)).sum::<f64>();
    }
    total /= denom;
    let max_k = n.min(p);
    let kept: f64 = explained_variance.iter().sum();
    let noise_variance = if k < max_k { ((total - kept) / (max_k - k) as f64).max(0.0) } else { 0.0 };
    Ok(Fitted { components, explained_variance, total_variance: total, noise_variance })
}


/// scikit-learn's `svd_flip(u_based_decision=False)`: the largest-magnitude entry of every
/// component is made positive, so signs are deterministic across solvers and runs.
fn svd_flip_rows(components: &mut [f64], k: usize, p: usize) {
    for r in 0..k {
        let row = &mut components[r * p..(r + 1) * p];
        let (mut best, mut idx) = (-1.0f64, 0);
        for (i, v) in row.iter().enumerate() {
            if v.abs() > best {
                best = v.abs();
                idx = i;
            }
        }
        if row[idx] < 0.0 {
            row.iter_mut().for_each(|v| *v = -*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    fn assert_all_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(close(*g, *w, tol), "{what}[{i}]: {g} vs scikit-learn {w}");
        }
    }

    // scikit-learn's docstring example.
    // >>> X = np.array([[-1,-1],[-2,-1],[-3,-2],[1,1],[2,1],[3,2]])
    // >>> p = PCA(n_components=2, svd_solver="full").fit(X)
    const X: [f32; 12] = [-1., -1., -2., -1., -3., -2., 1., 1., 2., 1., 3., 2.];

    #[test]
    fn docstring_example_matches_scikit_learn() {
        for solver in [Solver::Exact, Solver::Randomized] {
            let p = PcaParams::new(NComponents::Count(2)).solver(solver).fit(&X, 2).unwrap();
            assert_all_close(p.explained_variance_ratio(), &[0.9924428900898052, 0.007557109910194766], 1e-5, "ratio");
            assert_all_close(p.singular_values(), &[6.300612319734663, 0.5498039617971033], 1e-5, "singular values");
            assert_all_close(p.explained_variance(), &[7.939543120718442, 0.06045687928155813], 1e-5, "variance");
            let comps: Vec<f64> = p.components().iter().map(|&v| v as f64).collect();
            // >>> p.components_
            assert_all_close(&comps, &[0.838492237904874, 0.5449135408239331, -0.5449135408239331, 0.838492237904874], 1e-5, "components");
            // >>> p.transform(X)[:3]
            let z: Vec<f64> = p.transform(&X).unwrap().iter().map(|&v| v as f64).collect();
            assert_all_close(
                &z[..6],
                &[-1.383405778728807, -0.293578697080941, -2.221898016633681, 0.2513348437429921, -3.605303795362488, -0.04224385333794878],
                1e-5,
                "transform",
            );
        }
    }

    #[test]
    fn whitening_matches_scikit_learn_and_inverts() {
        let p = PcaParams::new(NComponents::Count(2)).whiten(true).fit(&X, 2).unwrap();
        // >>> PCA(n_components=2, whiten=True).fit(X).transform(X)[:3]
        let z = p.transform(&X).unwrap();
        let zf: Vec<f64> = z.iter().map(|&v| v as f64).collect();
        assert_all_close(
            &zf[..6],
            &[-0.49096646559487356, -1.1939927120078853, -0.7885447877348688, 1.022185787615361, -1.2795112533297424, -0.1718069243925236],
            1e-5,
            "whitened transform",
        );
        let back = p.inverse_transform(&z).unwrap();
        for (a, b) in back.iter().zip(X) {
            assert!((a - b).abs() < 1e-5, "inverse_transform {a} vs {b}");
        }
    }

    /// >>> A = (np.arange(40).reshape(8, 5).astype(np.float64) ** 1.5) % 7
    fn matrix_a() -> Vec<f32> {
        (0..40).map(|i| ((i as f64).powf(1.5) % 7.0) as f32).collect()
    }

    #[test]
    fn signs_follow_svd_flip_on_a_5_feature_matrix() {
        let a = matrix_a();
        // >>> PCA(n_components=3, svd_solver="full").fit(A).components_
        let want = [
            0.4752314737999786, 0.7278534280532721, -0.15385143562704284, -0.46971804948219276, -0.008895129405642688,
            0.08652711542162284, -0.0785544438580022, 0.913008101155953, -0.3292397463685955, -0.2106173171458533,
            0.4119489037681424, -0.025899312153169943, 0.2507541597170107, 0.2788006432018894, 0.8300722131531971,
        ];
        for solver in [Solver::Exact, Solver::Randomized] {
            let p = PcaParams::new(NComponents::Count(3)).solver(solver).seed(7).fit(&a, 5).unwrap();
            let comps: Vec<f64> = p.components().iter().map(|&v| v as f64).collect();
            assert_all_close(&comps, &want, 1e-4, "components");
            assert_all_close(p.explained_variance(), &[10.231584016367904, 7.319246219124191, 4.834941180314906], 1e-5, "variance");
            assert_all_close(p.explained_variance_ratio(), &[0.4009856457784228, 0.28684831860752813, 0.18948600806950058], 1e-5, "ratio");
            let z: Vec<f64> = p.transform(&a).unwrap()[..3].iter().map(|&v| v as f64).collect();
            assert_all_close(&z, &[-4.0712730415017555, -0.4976410037579324, -3.546548419442524], 1e-4, "transform");
        }
    }

    #[test]
    fn randomized_on_the_data_matches_the_exact_solver() {
        // The path wide data take (gram_is_cheaper is false for them).
        let a = matrix_a();
        let mean = column_means(&a, 8, 5);
        let exact = PcaParams::new(NComponents::Count(3)).fit(&a, 5).unwrap();
        let r = fit_randomized(&a, 8, 5, &mean, 3, 5, 4, 11).unwrap();
        assert_all_close(&r.explained_variance, exact.explained_variance(), 1e-6, "variance");
        let mut comps = r.components.clone();
        svd_flip_rows(&mut comps, 3, 5);
        let want: Vec<f64> = exact.components().iter().map(|&v| v as f64).collect();
        assert_all_close(&comps, &want, 1e-5, "components");
    }

    #[test]
    fn variance_fraction_picks_scikit_learns_count() {
        // >>> PCA(n_components=0.9, svd_solver="full").fit(A).n_components_   -> 4
        let p = PcaParams::new(NComponents::VarianceFraction(0.9)).fit(&matrix_a(), 5).unwrap();
        assert_eq!(p.n_components(), 4);
        let err = PcaParams::new(NComponents::VarianceFraction(0.9)).solver(Solver::Randomized).fit(&matrix_a(), 5);
        assert!(matches!(err, Err(Error::InvalidArgument { .. })));
    }

    #[test]
    fn randomized_is_reproducible_with_a_seed() {
        let a = matrix_a();
        let fit = |seed| PcaParams::new(NComponents::Count(2)).solver(Solver::Randomized).seed(seed).fit(&a, 5).unwrap();
        assert_eq!(fit(3), fit(3));
    }

    #[test]
    fn save_load_round_trip_and_mismatch_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = PcaParams::new(NComponents::Count(3)).whiten(true).fit(&matrix_a(), 5).unwrap();
        p.save(dir.path()).unwrap();
        let q = Pca::load(dir.path()).unwrap();
        assert_eq!(p, q);
        // Metadata that disagrees with the tensors is a clear input error, not a panic.
        let meta = std::fs::read_to_string(dir.path().join("pca.json")).unwrap();
        std::fs::write(dir.path().join("pca.json"), meta.replace("\"n_components\": 3", "\"n_components\": 4")).unwrap();
        let err = Pca::load(dir.path()).unwrap_err();
        assert!(err.is_bad_input() && err.to_string().contains("expected F32 [4, 5]"), "{err}");
    }

    #[test]
    fn bad_arguments_are_errors() {
        let a = matrix_a();
        assert!(PcaParams::new(NComponents::Count(6)).fit(&a, 5).unwrap_err().is_bad_input());
        assert!(PcaParams::new(NComponents::Count(1)).fit(&a[..5], 5).unwrap_err().is_bad_input());
        let mut nan = a.clone();
        nan[7] = f32::NAN;
        let e = PcaParams::new(NComponents::Count(1)).fit(&nan, 5).unwrap_err();
        assert!(e.to_string().contains("sample 1, feature 2"), "{e}");
        let p = PcaParams::new(NComponents::Count(2)).fit(&a, 5).unwrap();
        assert!(p.transform(&a[..7]).unwrap_err().is_bad_input());
    }
}
