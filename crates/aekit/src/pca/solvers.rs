//! The fitting algorithms behind [`super::PcaParams::fit`]: the exact eigendecomposition of the
//! covariance, and Halko et al.'s randomized SVD (on the data, or on the Gram matrix when that is
//! cheaper), with scikit-learn's sign convention.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, Mat, MatRef, Par};
use rand::SeedableRng;

use super::NComponents;
use crate::error::{Error, Result};

pub(super) struct Fitted {
    /// `[k, p]` row-major, unflipped.
    pub(super) components: Vec<f64>,
    pub(super) explained_variance: Vec<f64>,
    pub(super) total_variance: f64,
    pub(super) noise_variance: f64,
}

pub(super) fn column_means(x: &[f32], n: usize, p: usize) -> Vec<f64> {
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
pub(super) fn scatter_matrix(x: &[f32], n: usize, p: usize) -> (Mat<f64>, Vec<f64>) {
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

/// The exact solver: the eigendecomposition of the covariance, with scikit-learn's conventions.
///
/// Features whose row and column of the scatter matrix are exactly zero (constant features:
/// MNIST's 67 always-blank pixels) are left out of the eigendecomposition, which costs the cube
/// of the size: each adds an eigenvalue 0 with its unit vector, which is what the full problem
/// gives too.
pub(super) fn fit_exact(mut cov: Mat<f64>, n: usize, p: usize, nc: NComponents) -> Result<Fitted> {
    let denom = (n - 1) as f64;
    for j in 0..p {
        for i in 0..p {
            cov[(i, j)] /= denom;
        }
    }
    // The matrix is symmetric: a feature's column is its row (columns are contiguous).
    let active: Vec<usize> = (0..p).filter(|&j| cov.col(j).iter().any(|&v| v != 0.0)).collect();
    let m = active.len();
    let reduced = if m < p { Mat::from_fn(m, m, |i, j| cov[(active[i], active[j])]) } else { cov };
    let max_k = n.min(p);
    let wanted = match nc {
        NComponents::Count(k) => Some(k),
        NComponents::All => Some(max_k),
        NComponents::VarianceFraction(_) => None,
    };
    if m >= 64 && wanted.is_some_and(|k| 4 * k <= m) {
        return fit_exact_leading(reduced, &active, n, p, wanted.unwrap_or(0));
    }
    let eig = reduced
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| Error::Numerical(format!("eigendecomposition of the {m}x{m} covariance did not converge: {e:?}")))?;
    let vals = eig.S().column_vector();
    let vecs = eig.U();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| vals[b].partial_cmp(&vals[a]).unwrap_or(std::cmp::Ordering::Equal));
    // The covariance has rank at most n - 1; like scikit-learn, keep min(n, p) eigenvalues,
    // clipped at zero (rounding makes the smallest slightly negative). The left-out features'
    // eigenvalues are zeros at the end.
    let all: Vec<f64> = order.iter().map(|&i| vals[i].max(0.0)).chain(std::iter::repeat(0.0)).take(max_k).collect();
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
    let mut components = place(vecs, order.iter().take(k).copied(), active.as_slice(), p, k);
    // Components past the active ones: unit vectors of the left-out features, in feature order
    // (any order is as right; eigenvalue 0 has them all).
    let inactive = (0..p).filter(|i| active.binary_search(i).is_err());
    for (r, f) in (m..k).zip(inactive) {
        components[r * p + f] = 1.0;
    }
    let noise_variance = if k < max_k { all[k..].iter().sum::<f64>() / (max_k - k) as f64 } else { 0.0 };
    Ok(Fitted { components, explained_variance: all[..k].to_vec(), total_variance: total, noise_variance })
}

/// The leading `k` eigenpairs of the (reduced) covariance when they are few (`4k <= m`), with
/// the total variance (the trace, which is the sum of all eigenvalues).
///
/// First a block Krylov subspace (block Lanczos with full re-orthogonalisation, in f64) and a
/// Rayleigh-Ritz projection, accepted only if every residual `|C v - theta v|` is at most
/// [`KRYLOV_RESIDUAL`] times the largest eigenvalue: then the eigenvalues are off by at most as
/// much, and the vectors by at most that over the gap, which is what rounding the covariance to
/// f32 costs the fallback. The fallback: a full f32 eigendecomposition finds the leading
/// subspace, and one f64 subspace step with Rayleigh-Ritz refines it.
fn fit_exact_leading(cov: Mat<f64>, active: &[usize], n: usize, p: usize, k: usize) -> Result<Fitted> {
    let m = cov.nrows();
    let max_k = n.min(p);
    let (theta, vecs) = match leading_krylov(cov.as_ref(), k) {
        Some(found) => found,
        None => leading_by_f32(cov.as_ref(), k)?,
    };
    let explained_variance: Vec<f64> = theta.iter().map(|t| t.max(0.0)).collect();
    let components = place(vecs.as_ref(), 0..k, active, p, k);
    let total: f64 = (0..m).map(|i| cov[(i, i)]).sum();
    let noise_variance = noise_from_total(total, &explained_variance, max_k);
    Ok(Fitted { components, explained_variance, total_variance: total, noise_variance })
}

/// Components `[k, p]` row-major: column `col` of `vecs` (rows: the `active` features) for each
/// of `cols`, zeros at the other features.
fn place(vecs: MatRef<'_, f64>, cols: impl Iterator<Item = usize>, active: &[usize], p: usize, k: usize) -> Vec<f64> {
    let mut components = vec![0f64; k * p];
    for (r, col) in cols.enumerate() {
        for (i, &f) in active.iter().enumerate() {
            components[r * p + f] = vecs[(i, col)];
        }
    }
    components
}

/// The mean of the `max_k - kept.len()` eigenvalues not kept, from the total variance (the
/// truncated solvers do not compute them).
fn noise_from_total(total: f64, kept: &[f64], max_k: usize) -> f64 {
    let k = kept.len();
    if k < max_k { ((total - kept.iter().sum::<f64>()) / (max_k - k) as f64).max(0.0) } else { 0.0 }
}

/// See [`fit_exact_leading`]: f32's unit roundoff.
const KRYLOV_RESIDUAL: f64 = 6e-8;
/// Columns per Krylov block.
const KRYLOV_BLOCK: usize = 8;

/// Rayleigh-Ritz on `basis` (orthonormal columns): the leading `k` Ritz values, descending, and
/// their vectors.
fn ritz(c: MatRef<'_, f64>, basis: MatRef<'_, f64>, k: usize) -> Option<(Vec<f64>, Mat<f64>)> {
    let t = basis.transpose() * (c * basis);
    let eig = t.self_adjoint_eigen(faer::Side::Lower).ok()?;
    let vals = eig.S().column_vector();
    let mut rank: Vec<usize> = (0..t.nrows()).collect();
    rank.sort_by(|&a, &b| vals[b].partial_cmp(&vals[a]).unwrap_or(std::cmp::Ordering::Equal));
    let rotated = basis * eig.U();
    let theta = rank.iter().take(k).map(|&j| vals[j]).collect();
    let vecs = Mat::from_fn(basis.nrows(), k, |i, r| rotated[(i, rank[r])]);
    Some((theta, vecs))
}

/// Block Krylov from a fixed pseudo-random block (same data, same answer): blocks of
/// [`KRYLOV_BLOCK`] columns, `4k` columns in all (at least 16 blocks). Thin blocks and a deep subspace converge
/// fastest for the cost: on MNIST (k = 50) the residuals come out near 1e-13 of the largest
/// eigenvalue, where blocks of 16 reach only 6e-8 and 2k columns 4e-3 (`pca_paths`, tried).
fn leading_krylov(c: MatRef<'_, f64>, k: usize) -> Option<(Vec<f64>, Mat<f64>)> {
    let m = c.nrows();
    let b = KRYLOV_BLOCK;
    // At least 16 blocks: the depth, not the width, is what converges.
    let total = (4 * k).max(16 * b).div_ceil(b) * b;
    if total + b > m {
        return None;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed);
    let start = Mat::<f64>::from_fn(m, b, |_, _| crate::rng::standard_normal(&mut rng));
    let mut basis = Mat::<f64>::zeros(m, total);
    basis.as_mut().subcols_mut(0, b).copy_from(orth(start).as_ref());
    let mut filled = b;
    while filled < total {
        let mut next = c * basis.as_ref().subcols(filled - b, b);
        // Twice against the whole basis so far (classical Gram-Schmidt, repeated).
        for _ in 0..2 {
            let done = basis.as_ref().subcols(0, filled);
            let proj = done.transpose() * &next;
            next -= done * &proj;
        }
        basis.as_mut().subcols_mut(filled, b).copy_from(orth(next).as_ref());
        filled += b;
    }
    let (theta, vecs) = ritz(c, basis.as_ref(), k)?;
    let residual = c * &vecs - Mat::from_fn(m, k, |i, r| vecs[(i, r)] * theta[r]);
    let worst = (0..k).map(|r| residual.col(r).norm_l2()).fold(0.0, f64::max);
    (worst <= KRYLOV_RESIDUAL * theta[0].abs()).then_some((theta, vecs))
}

/// A full f32 eigendecomposition for the leading subspace (`k/2`, at least 8, extra
/// directions), then in f64 one subspace step `C V`, re-orthonormalised, and Rayleigh-Ritz.
fn leading_by_f32(c: MatRef<'_, f64>, k: usize) -> Result<(Vec<f64>, Mat<f64>)> {
    let m = c.nrows();
    let l = (k + (k / 2).max(8)).min(m);
    let c32 = Mat::<f32>::from_fn(m, m, |i, j| c[(i, j)] as f32);
    let eig = c32
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|e| Error::Numerical(format!("eigendecomposition of the {m}x{m} covariance did not converge: {e:?}")))?;
    let vals = eig.S().column_vector();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| vals[b].partial_cmp(&vals[a]).unwrap_or(std::cmp::Ordering::Equal));
    let v = Mat::<f64>::from_fn(m, l, |i, j| eig.U()[(i, order[j])] as f64);
    let q = orth(c * &v);
    ritz(c, q.as_ref(), k).ok_or_else(|| Error::Numerical(format!("eigendecomposition of the {l}x{l} projection failed")))
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
pub(super) fn gram_is_cheaper(p: usize, l: usize, n_iter: usize) -> bool {
    const MAX_GRAM_FEATURES: usize = 4096; // a 4096^2 f64 scatter matrix is 128 MB
    p <= MAX_GRAM_FEATURES && p < 4 * (n_iter + 1) * l
}

/// Randomized subspace iteration on the scatter matrix, then Rayleigh-Ritz: the eigenvectors of
/// `Q^T S Q` rotate the basis `Q` onto the leading components.
pub(super) fn fit_randomized_gram(scatter: Mat<f64>, n: usize, k: usize, l: usize, n_iter: usize, seed: u64) -> Result<Fitted> {
    let p = scatter.nrows();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let omega = Mat::<f64>::from_fn(p, l, |_, _| crate::rng::standard_normal(&mut rng));
    let mut q = orth(&scatter * &omega);
    for _ in 0..n_iter {
        q = orth(&scatter * &q);
    }
    let (theta, vecs) = ritz(scatter.as_ref(), q.as_ref(), k)
        .ok_or_else(|| Error::Numerical(format!("eigendecomposition of the {l}x{l} projection failed")))?;
    let denom = (n - 1) as f64;
    let explained_variance: Vec<f64> = theta.iter().map(|t| t.max(0.0) / denom).collect();
    let mut components = vec![0f64; k * p];
    for r in 0..k {
        for i in 0..p {
            components[r * p + i] = vecs[(i, r)];
        }
    }
    let total = (0..p).map(|i| scatter[(i, i)]).sum::<f64>() / denom;
    let max_k = n.min(p);
    let noise_variance = noise_from_total(total, &explained_variance, max_k);
    Ok(Fitted { components, explained_variance, total_variance: total, noise_variance })
}

/// Halko et al.'s randomized SVD on the data, as scikit-learn runs it (QR re-orthonormalisation
/// at every step).
#[allow(clippy::too_many_arguments)]
pub(super) fn fit_randomized(
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
    let noise_variance = noise_from_total(total, &explained_variance, max_k);
    Ok(Fitted { components, explained_variance, total_variance: total, noise_variance })
}


/// scikit-learn's `svd_flip(u_based_decision=False)`: the largest-magnitude entry of every
/// component is made positive, so signs are deterministic across solvers and runs.
pub(super) fn svd_flip_rows(components: &mut [f64], k: usize, p: usize) {
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

    /// Both leading-eigenpair methods against the full f64 eigendecomposition, on a covariance
    /// with a spectrum decaying like 1/j^2 (200 features, 12 leading pairs). (On a flat
    /// spectrum the Krylov subspace does not converge and the fit takes the fallback.)
    #[test]
    fn krylov_and_f32_fallback_match_the_full_eigendecomposition() {
        let (n, m, k) = (1000, 200, 12);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let x = Mat::<f64>::from_fn(n, m, |_, j| crate::rng::standard_normal(&mut rng) / (1.0 + j as f64));
        let c = x.transpose() * &x;
        let full = c.self_adjoint_eigen(faer::Side::Lower).unwrap();
        let vals = full.S().column_vector();
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| vals[b].partial_cmp(&vals[a]).unwrap());
        let methods: [(&str, Option<(Vec<f64>, Mat<f64>)>); 2] =
            [("krylov", leading_krylov(c.as_ref(), k)), ("f32 + refine", leading_by_f32(c.as_ref(), k).ok())];
        for (name, found) in methods {
            let (theta, vecs) = found.unwrap_or_else(|| panic!("{name} found no eigenpairs"));
            for r in 0..k {
                let want = vals[order[r]];
                assert!((theta[r] - want).abs() <= 1e-9 * vals[order[0]], "{name} eigenvalue {r}: {} vs {want}", theta[r]);
                let dot: f64 = (0..m).map(|i| vecs[(i, r)] * full.U()[(i, order[r])]).sum();
                assert!(dot.abs() > 1.0 - 1e-6, "{name} vector {r}: |cos| = {}", dot.abs());
            }
        }
    }
}
