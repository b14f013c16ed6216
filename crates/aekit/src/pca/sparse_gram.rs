//! The scatter matrix `Xc^T Xc` of data that are mostly zeros, skipping the products with zeros.
//!
//! Images with a blank background (MNIST is 81% zeros), one-hot tables and ReLU features are
//! like this. A dense product spends most of its multiplies on zeros; here the columns are taken
//! in groups of [`G`], and for each block of rows only the rows where the group has a non-zero
//! value take part: `S[g, :] += X[U, g]^T X[U, :]`, `U` those rows. The inner kernel keeps a
//! `G x 4` tile of SIMD accumulators and reads each row segment once for the `G` columns.
//!
//! The products are uncentred, summed in f32 within a block of rows and in f64 across blocks; the mean is subtracted as a rank-one correction at the end (what
//! scikit-learn's `covariance_eigh` does, in the input's precision). That loses digits when a
//! column's mean is large next to its spread, so [`scatter_matrix_sparse`] gives up (returns
//! `None`) when any column's second moment exceeds its variance [`MAX_MOMENT_RATIO`] times, and
//! the caller takes the dense, shifted path.

use faer::Mat;

/// Columns per group (rows of the accumulator tile).
const G: usize = 4;
/// Rows per block: a block's rows are re-read for every column group, so they should stay in
/// the L2 cache (256 rows of 784 f32 = 800 KB).
const R: usize = 512;
/// See the module documentation: at most ~1e-4 relative error on any variance.
const MAX_MOMENT_RATIO: f64 = 100.0;

/// The SIMD kernel the CPU has, if any.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Kernel {
    Avx512,
    Avx2,
}

impl Kernel {
    /// Every kernel this CPU can run, the widest first.
    fn supported() -> Vec<Kernel> {
        let mut all = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                all.push(Kernel::Avx512);
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                all.push(Kernel::Avx2);
            }
        }
        all
    }

    pub(super) fn detect() -> Option<Kernel> {
        Self::supported().first().copied()
    }

    /// Columns one pass of the kernel covers (4 registers).
    fn segment(self) -> usize {
        match self {
            Kernel::Avx512 => 64,
            Kernel::Avx2 => 32,
        }
    }
}

/// The fraction of zeros among the first rows (at most 4096): the caller's cheap test of whether
/// this path pays.
pub(super) fn zero_fraction(x: &[f32], n: usize, p: usize) -> f64 {
    let head = &x[..n.min(4096) * p];
    head.iter().filter(|&&v| v == 0.0).count() as f64 / head.len().max(1) as f64
}

/// The centred scatter matrix (both triangles) and the column means, or `None` when the CPU has
/// no kernel or the data fail the cancellation check (see the module documentation).
pub(super) fn scatter_matrix_sparse(x: &[f32], n: usize, p: usize) -> Option<(Mat<f64>, Vec<f64>)> {
    with_kernel(x, n, p, Kernel::detect()?)
}

/// [`scatter_matrix_sparse`] with a given kernel, which the CPU must support.
fn with_kernel(x: &[f32], n: usize, p: usize, kernel: Kernel) -> Option<(Mat<f64>, Vec<f64>)> {
    let order = densest_groups_first(x, n, p);
    let threads = rayon::current_num_threads().max(1).min(n.div_ceil(R));
    let per = n.div_ceil(threads);
    let parts: Vec<(Vec<f64>, Vec<f64>)> = {
        use rayon::prelude::*;
        (0..threads)
            .into_par_iter()
            .map(|t| {
                let start = (t * per).min(n);
                let end = ((t + 1) * per).min(n);
                uncentred_rows(x, p, &order, start, end, kernel)
            })
            .collect()
    };
    let width = order.len() * G;
    let mut lower = vec![0f64; width * width];
    let mut sums = vec![0f64; p];
    for (l, s) in parts {
        lower.iter_mut().zip(&l).for_each(|(a, b)| *a += b);
        sums.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
    }
    let mean: Vec<f64> = sums.iter().map(|s| s / n as f64).collect();
    // Position `i` of `lower` holds feature `order[i / G] * G + i % G` (past `p`: padding).
    let feature = |i: usize| Some(order[i / G] * G + i % G).filter(|&f| f < p);
    let nf = n as f64;
    let mut scatter = Mat::<f64>::zeros(p, p);
    for i in 0..width {
        let Some(fi) = feature(i) else { continue };
        let second = lower[i * width + i];
        let centred = second - nf * mean[fi] * mean[fi];
        if second > 0.0 && centred * MAX_MOMENT_RATIO < second {
            return None;
        }
        for j in 0..=i {
            let Some(fj) = feature(j) else { continue };
            let v = lower[i * width + j] - nf * mean[fi] * mean[fj];
            scatter[(fi, fj)] = v;
            scatter[(fj, fi)] = v;
        }
    }
    Some((scatter, mean))
}

/// The groups of `G` adjacent features, densest first (rows where the group has a non-zero,
/// among the first rows, at most 4096).
///
/// Row `i` of the lower triangle costs (its non-zeros) x (i + 1): putting the dense groups first
/// and the nearly blank ones last more than halves the total on MNIST. Adjacent features stay
/// together because they tend to be non-zero in the same rows (neighbouring pixels), which keeps
/// the groups sparse.
fn densest_groups_first(x: &[f32], n: usize, p: usize) -> Vec<usize> {
    let groups = p.div_ceil(G);
    let mut count = vec![0u32; groups];
    for row in x[..n.min(4096) * p].chunks_exact(p) {
        for (c, v) in count.iter_mut().zip(row.chunks(G)) {
            *c += v.iter().any(|&v| v != 0.0) as u32;
        }
    }
    let mut order: Vec<usize> = (0..groups).collect();
    order.sort_by_key(|&g| std::cmp::Reverse(count[g]));
    order
}

/// `X[start..end]^T X[start..end]` with the features grouped in `order` (lower triangle,
/// row-major, `G * order.len()` wide, f64) and the column sums (in feature order).
fn uncentred_rows(x: &[f32], p: usize, order: &[usize], start: usize, end: usize, kernel: Kernel) -> (Vec<f64>, Vec<f64>) {
    let seg = kernel.segment();
    let groups = order.len();
    let width = groups * G;
    // Gathered rows and accumulator rows are padded so that a kernel pass (`round_up(w, seg)`
    // values) never runs past a row.
    let ps = width.div_ceil(seg) * seg;
    let mut acc = vec![0f64; width * ps];
    let mut sums = vec![0f64; p];
    let mut sums32 = vec![0f32; p];
    let mut padded_row = vec![[0f32; G]; groups];
    let mut gathered = vec![[0f32; G]; R * ps / G];
    let mut rows = vec![0u32; R];
    let mut vals = vec![[0f32; G]; R];
    let mut b0 = start;
    while b0 < end {
        let r = R.min(end - b0);
        let block = &x[b0 * p..(b0 + r) * p];
        for k in 0..r {
            let row = &block[k * p..(k + 1) * p];
            sums32.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
            for (dst, src) in padded_row.iter_mut().zip(row.chunks_exact(G)) {
                *dst = [src[0], src[1], src[2], src[3]];
            }
            let tail = row.chunks_exact(G).remainder();
            if !tail.is_empty() {
                padded_row[groups - 1][..tail.len()].copy_from_slice(tail);
            }
            let dst = &mut gathered[k * ps / G..k * ps / G + groups];
            for (d, &g) in dst.iter_mut().zip(order) {
                *d = padded_row[g];
            }
        }
        let flat = gathered.as_flattened();
        for slot in 0..groups {
            // The rows where this group has a non-zero, branch-free: every row's entry is
            // written, and kept (the count moves on) only when it has one.
            let mut c = 0;
            for k in 0..r {
                let v = gathered[k * ps / G + slot];
                rows[c] = k as u32;
                vals[c] = v;
                c += ((v[0] != 0.0) | (v[1] != 0.0) | (v[2] != 0.0) | (v[3] != 0.0)) as usize;
            }
            if c == 0 {
                continue;
            }
            let out = &mut acc[slot * G * ps..(slot + 1) * G * ps];
            // SAFETY: `detect` found the CPU features; every row index is below `r`, and each
            // pass reads `round_up((slot + 1) G, seg) <= ps` values of a gathered row and
            // writes as many of `out`'s `G` rows of `ps` values.
            unsafe {
                group_product(kernel, &flat[..r * ps], ps, &rows[..c], &vals[..c], (slot + 1) * G, out, ps);
            }
        }
        sums.iter_mut().zip(&sums32).for_each(|(s, &v)| *s += v as f64);
        sums32.iter_mut().for_each(|v| *v = 0.0);
        b0 += r;
    }
    let mut lower = vec![0f64; width * width];
    for i in 0..width {
        lower[i * width..i * width + i + 1].copy_from_slice(&acc[i * ps..i * ps + i + 1]);
    }
    (lower, sums)
}

/// `out[g, 0..width] += sum over k of vals[k][g] * src[rows[k], 0..width]`, for the `G` rows of
/// `out`, in passes of 4 registers.
///
/// # Safety
/// The CPU has `kernel`'s features; `src` holds every `rows[k] * stride + round_up(width, seg)`
/// value; `out` holds `G * ps` values with `ps >= round_up(width, seg)`.
#[allow(clippy::too_many_arguments)]
unsafe fn group_product(
    kernel: Kernel,
    src: &[f32],
    stride: usize,
    rows: &[u32],
    vals: &[[f32; G]],
    width: usize,
    out: &mut [f64],
    ps: usize,
) {
    #[cfg(target_arch = "x86_64")]
    match kernel {
        Kernel::Avx512 => group_512(src.as_ptr(), stride, rows, vals, width, out.as_mut_ptr(), ps),
        Kernel::Avx2 => group_256(src.as_ptr(), stride, rows, vals, width, out.as_mut_ptr(), ps),
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (kernel, src, stride, rows, vals, width, out, ps);
        unreachable!("no kernel is detected off x86_64");
    }
}

/// One kernel per instruction set: 4 row-segment registers times `G` broadcast values into
/// `G x 4` accumulators, so each loaded segment feeds `G` multiply-adds.
macro_rules! group_kernel {
    ($name:ident, $feat:literal, $vt:ident, $lanes:expr, $zero:ident, $load:ident, $set1:ident, $fma:ident, $flush:ident) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feat)]
        unsafe fn $name(xp: *const f32, stride: usize, rows: &[u32], vals: &[[f32; G]], width: usize, op: *mut f64, ps: usize) {
            use std::arch::x86_64::*;
            const L: usize = $lanes;
            let mut j0 = 0;
            while j0 < width {
                let mut acc: [[$vt; 4]; G] = [[$zero(); 4]; G];
                for (&r, v) in rows.iter().zip(vals) {
                    let xr = xp.add(r as usize * stride + j0);
                    let x0 = $load(xr);
                    let x1 = $load(xr.add(L));
                    let x2 = $load(xr.add(2 * L));
                    let x3 = $load(xr.add(3 * L));
                    for g in 0..G {
                        let b = $set1(v[g]);
                        acc[g][0] = $fma(b, x0, acc[g][0]);
                        acc[g][1] = $fma(b, x1, acc[g][1]);
                        acc[g][2] = $fma(b, x2, acc[g][2]);
                        acc[g][3] = $fma(b, x3, acc[g][3]);
                    }
                }
                for g in 0..G {
                    for q in 0..4 {
                        $flush(op.add(g * ps + j0 + q * L), acc[g][q]);
                    }
                }
                j0 += 4 * L;
            }
        }
    };
}
group_kernel!(group_512, "avx512f", __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_fmadd_ps, flush_512);
group_kernel!(group_256, "avx2,fma", __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_fmadd_ps, flush_256);

/// `out[0..16] += acc` in f64.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn flush_512(out: *mut f64, acc: std::arch::x86_64::__m512) {
    use std::arch::x86_64::*;
    let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(acc));
    let hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(acc))));
    _mm512_storeu_pd(out, _mm512_add_pd(_mm512_loadu_pd(out), lo));
    _mm512_storeu_pd(out.add(8), _mm512_add_pd(_mm512_loadu_pd(out.add(8)), hi));
}

/// `out[0..8] += acc` in f64.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn flush_256(out: *mut f64, acc: std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(acc));
    let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(acc));
    _mm256_storeu_pd(out, _mm256_add_pd(_mm256_loadu_pd(out), lo));
    _mm256_storeu_pd(out.add(4), _mm256_add_pd(_mm256_loadu_pd(out.add(4)), hi));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sparse data with a nonzero mean, odd sizes (p not a multiple of G or of a segment; n not
    /// a multiple of a block), against the dense shifted path, with every kernel the CPU has
    /// (AVX-512 and AVX2 on an AVX-512 machine).
    #[test]
    fn matches_the_dense_path() {
        for kernel in Kernel::supported() {
            for &(n, p) in &[(1000usize, 37usize), (3001, 130), (600, 3)] {
                check_against_dense(kernel, n, p);
            }
        }
    }

    fn check_against_dense(kernel: Kernel, n: usize, p: usize) {
        {
            let mut state = 7u64;
            let x: Vec<f32> = (0..n * p)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let u = (state >> 40) as f32 / (1u64 << 24) as f32;
                    if u < 0.7 { 0.0 } else { u * 3.0 - 1.0 }
                })
                .collect();
            let (dense, mean_d) = super::super::solvers::scatter_matrix(&x, n, p);
            let (sparse, mean_s) = with_kernel(&x, n, p, kernel).expect("no cancellation in these data");
            for i in 0..p {
                assert!((mean_d[i] - mean_s[i]).abs() < 1e-6, "mean {i}: {} vs {}", mean_d[i], mean_s[i]);
                for j in 0..p {
                    let (a, b) = (dense[(i, j)], sparse[(i, j)]);
                    assert!((a - b).abs() <= 1e-4 * (dense[(i, i)] * dense[(j, j)]).sqrt(), "{kernel:?} n={n} p={p} ({i},{j}): {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn a_large_mean_beside_a_small_spread_falls_back() {
        let Some(_) = Kernel::detect() else { return };
        let (n, p) = (500, 8);
        let x: Vec<f32> = (0..n * p).map(|i| if i % p == 0 { 1000.0 + (i % 3) as f32 * 0.01 } else { 0.0 }).collect();
        assert!(scatter_matrix_sparse(&x, n, p).is_none());
    }
}
