//! Matrix transposition for the layout changes around the Winograd kernels: planar images
//! (NCHW, what Burn hands over) to channels-last tiles (what the transforms vectorise over) and
//! back. Value by value these were scalar stores strided by the channel count, 12% of the photo
//! denoiser's training time; in 8x8 blocks of AVX registers they are 8 loads, 24 shuffles and
//! 8 stores per 64 values.

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// `dst[j·dst_rs + i] = src[i·src_rs + j]` for `i < rows`, `j < cols`; where `keep` is given
/// (laid out as `src`), values whose `keep` entry is not positive are written as 0 (the ReLU's
/// gradient mask).
///
/// # Panics
/// When a slice is shorter than the rows, columns and strides need.
pub(crate) fn transpose(rows: usize, cols: usize, src: &[f32], src_rs: usize, keep: Option<&[f32]>, dst: &mut [f32], dst_rs: usize) {
    // SAFETY: an initialised `[f32]` is a valid `[MaybeUninit<f32>]`, and only f32s are written.
    let dst = unsafe { &mut *(dst as *mut [f32] as *mut [MaybeUninit<f32>]) };
    transpose_uninit(rows, cols, src, src_rs, keep, dst, dst_rs)
}

/// [`transpose`] into memory not yet written (a fresh output): it writes every value of the
/// transposed block, and nothing else.
pub(crate) fn transpose_uninit(rows: usize, cols: usize, src: &[f32], src_rs: usize, keep: Option<&[f32]>, dst: &mut [MaybeUninit<f32>], dst_rs: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let need_src = (rows - 1) * src_rs + cols;
    let need_dst = (cols - 1) * dst_rs + rows;
    assert!(src.len() >= need_src && keep.is_none_or(|k| k.len() >= need_src), "transpose: source of {} values, {rows}x{cols} at row stride {src_rs} needs {need_src}", src.len());
    assert!(dst.len() >= need_dst, "transpose: destination of {} values, {cols}x{rows} at row stride {dst_rs} needs {need_dst}", dst.len());
    #[cfg(target_arch = "x86_64")]
    if crate::fused::lanes::simd() >= crate::fused::lanes::Simd::Avx2 {
        // SAFETY: the CPU has AVX (AVX2 implies it), and the asserts above bound every index the kernel reads
        // and writes.
        unsafe { avx::transpose(rows, cols, src, src_rs, keep, dst, dst_rs) };
        return;
    }
    scalar(0, rows, 0, cols, src, src_rs, keep, dst, dst_rs);
}

/// A batch of NCHW images (`c` planes of `h` x `w`) as `[h + 2p, w + 2p, c]` channels-last
/// images with a border of `p` zero pixels (`winograd::Order::ChannelsLast(p)`).
pub(crate) fn planes_to_channels_last(src: &[f32], c: usize, h: usize, w: usize, p: usize) -> Vec<f32> {
    let (n, img) = (c * h * w, c * (h + 2 * p) * (w + 2 * p));
    let len = src.len() / n.max(1) * img;
    let mut dst: Vec<f32> = Vec::with_capacity(len);
    dst.spare_capacity_mut()[..len].par_chunks_mut(img.max(1)).zip(src.par_chunks(n.max(1))).for_each(|(d, s)| {
        if p == 0 {
            transpose_uninit(c, h * w, s, h * w, None, d, c);
            return;
        }
        super::winograd::zero_border(d, c, h, w, p);
        let row = (w + 2 * p) * c;
        for r in 0..h {
            transpose_uninit(c, w, &s[r * w..], h * w, None, &mut d[(p + r) * row + p * c..], c);
        }
    });
    // SAFETY: `zero_border` wrote each image's border and the transposes its h x w pixels.
    unsafe { dst.set_len(len) };
    dst
}

/// The inverse of [`planes_to_channels_last`]: the border is dropped.
pub(crate) fn channels_last_to_planes(src: &[f32], c: usize, h: usize, w: usize, p: usize) -> Vec<f32> {
    let (n, img) = (c * h * w, c * (h + 2 * p) * (w + 2 * p));
    let len = src.len() / img.max(1) * n;
    let mut dst: Vec<f32> = Vec::with_capacity(len);
    dst.spare_capacity_mut()[..len].par_chunks_mut(n.max(1)).zip(src.par_chunks(img.max(1))).for_each(|(d, s)| {
        let row = (w + 2 * p) * c;
        to_planes(c, h, w, &s[p * row + p * c..], row, d, w, h * w);
    });
    // SAFETY: `to_planes` wrote every value of each image's c planes.
    unsafe { dst.set_len(len) };
    dst
}

/// Channels-last pixel rows to planes: `dst[ch·plane + r·dst_rs + x] = src[r·src_rs + x·c + ch]`
/// for `rows` x `cols` pixels of `c` channels; every value of that block of `dst` is written.
/// Eight channels at a time down the whole image: eight sequential write streams (all C
/// channels of an image row at once were C streams a plane apart, more than the hardware
/// prefetchers follow), and one transpose per band where both sides' rows are contiguous.
#[allow(clippy::too_many_arguments)]
pub(crate) fn to_planes(c: usize, rows: usize, cols: usize, src: &[f32], src_rs: usize, dst: &mut [MaybeUninit<f32>], dst_rs: usize, plane: usize) {
    let whole = src_rs == cols * c && dst_rs == cols;
    for c0 in (0..c).step_by(8) {
        let cw = 8.min(c - c0);
        if whole {
            transpose_uninit(rows * cols, cw, &src[c0..], c, None, &mut dst[c0 * plane..], plane);
        } else {
            for r in 0..rows {
                transpose_uninit(cols, cw, &src[r * src_rs + c0..], c, None, &mut dst[c0 * plane + r * dst_rs..], plane);
            }
        }
    }
}

/// The rows `r0..r1` and columns `c0..c1` of [`transpose`], value by value.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn scalar(r0: usize, r1: usize, c0: usize, c1: usize, src: &[f32], src_rs: usize, keep: Option<&[f32]>, dst: &mut [MaybeUninit<f32>], dst_rs: usize) {
    for i in r0..r1 {
        for j in c0..c1 {
            let at = i * src_rs + j;
            dst[j * dst_rs + i].write(match keep {
                Some(k) if k[at] <= 0.0 => 0.0,
                _ => src[at],
            });
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use std::arch::x86_64::*;
    use std::mem::MaybeUninit;

    /// [`super::transpose`] in 8x8 blocks; the edges that do not fill a block value by value.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn transpose(rows: usize, cols: usize, src: &[f32], src_rs: usize, keep: Option<&[f32]>, dst: &mut [MaybeUninit<f32>], dst_rs: usize) {
        let (rb, cb) = (rows / 8 * 8, cols / 8 * 8);
        let (s, d) = (src.as_ptr(), dst.as_mut_ptr() as *mut f32);
        let k = keep.map(|k| k.as_ptr());
        for i in (0..rb).step_by(8) {
            for j in (0..cb).step_by(8) {
                // SAFETY: rows i..i+8 < rows and columns j..j+8 < cols, inside the bounds the
                // caller checked.
                unsafe {
                    let mut r: [__m256; 8] = std::array::from_fn(|q| _mm256_loadu_ps(s.add((i + q) * src_rs + j)));
                    if let Some(k) = k {
                        let zero = _mm256_setzero_ps();
                        for (q, v) in r.iter_mut().enumerate() {
                            let m = _mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_loadu_ps(k.add((i + q) * src_rs + j)), zero);
                            *v = _mm256_and_ps(*v, m);
                        }
                    }
                    let t = block8(r);
                    for (q, v) in t.iter().enumerate() {
                        _mm256_storeu_ps(d.add((j + q) * dst_rs + i), *v);
                    }
                }
            }
        }
        super::scalar(0, rb, cb, cols, src, src_rs, keep, dst, dst_rs);
        super::scalar(rb, rows, 0, cols, src, src_rs, keep, dst, dst_rs);
    }

    /// The transpose of the 8x8 block whose rows are `r` (the usual unpack / shuffle / permute
    /// sequence).
    #[inline(always)]
    unsafe fn block8(r: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape class: whole blocks, ragged edges on either side, thin, strided rows, masked.
    #[test]
    fn transpose_matches_the_definition() {
        for (rows, cols, src_rs, dst_rs) in [(8, 8, 8, 8), (16, 24, 30, 17), (13, 9, 9, 13), (3, 21, 21, 5), (21, 3, 4, 40), (1, 1, 1, 1)] {
            let src: Vec<f32> = (0..rows * src_rs).map(|v| v as f32 - 40.0).collect();
            let keep: Vec<f32> = (0..rows * src_rs).map(|v| ((v * 7) % 5) as f32 - 2.0).collect();
            for mask in [None, Some(&keep[..])] {
                let mut dst = vec![f32::NAN; cols * dst_rs];
                transpose(rows, cols, &src, src_rs, mask, &mut dst, dst_rs);
                for i in 0..rows {
                    for j in 0..cols {
                        let want = if mask.is_some() && keep[i * src_rs + j] <= 0.0 { 0.0 } else { src[i * src_rs + j] };
                        assert_eq!(dst[j * dst_rs + i], want, "{rows}x{cols} ({src_rs}, {dst_rs}), mask {}: ({i}, {j})", mask.is_some());
                    }
                }
                // Nothing outside the transposed block is written.
                assert_eq!(dst.iter().filter(|v| !v.is_nan()).count(), rows * cols, "{rows}x{cols}: values written");
            }
        }
    }

    /// Contiguous rows on both sides (one transpose per band), padded source rows, a cropped
    /// destination, and channel counts that are not a multiple of the band (8).
    #[test]
    fn to_planes_matches_the_definition() {
        for (c, rows, cols, src_rs, dst_rs) in [(8, 4, 5, 40, 5), (19, 6, 7, 19 * 9, 7), (3, 5, 4, 12, 6), (48, 3, 3, 48 * 3, 3), (1, 2, 9, 11, 9)] {
            let plane = rows * dst_rs + 3;
            let src: Vec<f32> = (0..rows * src_rs).map(|v| v as f32 * 0.5 - 7.0).collect();
            let mut dst = vec![MaybeUninit::new(f32::NAN); c * plane];
            to_planes(c, rows, cols, &src, src_rs, &mut dst, dst_rs, plane);
            // SAFETY: every value was initialised (as NaN) above.
            let dst: Vec<f32> = dst.into_iter().map(|v| unsafe { v.assume_init() }).collect();
            for ch in 0..c {
                for r in 0..rows {
                    for x in 0..cols {
                        assert_eq!(dst[ch * plane + r * dst_rs + x], src[r * src_rs + x * c + ch], "c {c}, {rows}x{cols} ({src_rs}, {dst_rs}): ({ch}, {r}, {x})");
                    }
                }
            }
            assert_eq!(dst.iter().filter(|v| !v.is_nan()).count(), c * rows * cols, "c {c}, {rows}x{cols}: values written");
        }
    }
}
