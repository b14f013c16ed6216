//! Small dense linear-algebra helpers on faer.

use faer::Mat;

use crate::error::{Error, Result};

/// Principal angles (degrees, ascending) between the spans of two sets of `k` vectors of length
/// `p`, each given row-major as `[k, p]`: the arc-cosines of the singular values of `Qa^T Qb`,
/// with `Qa`, `Qb` orthonormal bases from QR (Björck & Golub 1973).
pub fn principal_angles_deg(a: &[f32], b: &[f32], p: usize) -> Result<Vec<f64>> {
    if p == 0 || a.len() % p != 0 || b.len() % p != 0 || a.len() != b.len() {
        return Err(Error::Shape(format!("principal angles of {} and {} values in dimension {p}", a.len(), b.len())));
    }
    let k = a.len() / p;
    let basis = |v: &[f32]| Mat::<f64>::from_fn(p, k, |i, j| v[j * p + i] as f64).qr().compute_thin_Q();
    let (qa, qb) = (basis(a), basis(b));
    let m = qa.transpose() * &qb;
    let s = m.singular_values().map_err(|e| Error::Numerical(format!("SVD for principal angles: {e:?}")))?;
    let mut angles: Vec<f64> = s.iter().map(|c| c.clamp(-1.0, 1.0).acos().to_degrees()).collect();
    angles.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
    Ok(angles)
}

/// The index of the first NaN or infinity (PCA's fit, the Python package's inputs). Chunks are
/// tested in parallel with a branch-free reduction (vectorised), and only a chunk that has one
/// is searched.
pub fn first_non_finite(x: &[f32]) -> Option<usize> {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 16;
    x.par_chunks(CHUNK)
        .position_first(|c| c.iter().fold(false, |bad, v| bad | !v.is_finite()))
        .map(|at| at * CHUNK + x[at * CHUNK..].iter().position(|v| !v.is_finite()).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angles_of_known_subspaces() {
        // span{e1, e2} vs span{e1, (e2 + e3)/sqrt(2)}: angles 0 and 45 degrees.
        let a = [1., 0., 0., 0., 1., 0.];
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let b = [2., 0., 0., 0., h, h];
        let ang = principal_angles_deg(&a, &b, 3).unwrap();
        assert!(ang[0].abs() < 1e-4 && (ang[1] - 45.0).abs() < 1e-4, "{ang:?}");
        // The same subspace under another basis: both angles 0.
        let c = [1., 1., 0., 1., -1., 0.];
        let ang = principal_angles_deg(&a, &c, 3).unwrap();
        assert!(ang.iter().all(|x| x.abs() < 1e-3), "{ang:?}");
    }
}
