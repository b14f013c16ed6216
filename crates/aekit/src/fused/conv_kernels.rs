//! Convolution and transposed convolution on contiguous NCHW f32 slices: the batch is cut into
//! chunks of images; per chunk, one im2col into a `[C·kh·kw, images·Ho·Wo]` buffer and one gemm,
//! so each gemm is large enough to run near the machine's peak. Chunks run in parallel on rayon,
//! each gemm on one thread.
//!
//! The weight gradient is a gemm over the chunk's pixels, `dW += dY·im2col(X)ᵀ`; each chunk
//! returns its own partial sum and the partials are added in chunk order. The chunk size depends
//! only on the shapes, so results do not depend on the thread count or on scheduling.
//!
//! Both operations use one geometry, [`Geom`]: a convolution's input image (`c × h × w`) and the
//! grid of `ho × wo` kernel positions over it. A convolution maps the image to the grid; a
//! transposed convolution maps the grid back to the image (its output), and its backward is the
//! forward of the convolution.

use std::borrow::Cow;
use std::cell::RefCell;
use std::mem::MaybeUninit;

use gemm::{gemm, Parallelism};
use rayon::prelude::*;

use super::lanes::{simd, Simd};
use super::transpose::{channels_last_to_planes, planes_to_channels_last};
pub(crate) use super::winograd::Order;
use super::{direct, nhwc, winograd};

thread_local! {
    /// Work buffers kept per thread between calls: fresh large allocations cost page faults and
    /// zeroing on every step.
    static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// A work buffer of `n` values from this thread's pool. Its contents are stale: every caller
/// overwrites all of it (im2col, a gemm without `read_dst`, a layout copy).
///
/// It takes the smallest pooled buffer already `n` long (no fill, no page faults), else the
/// longest one, grown. Taking the last one instead made the small padded planes and the large
/// column buffers trade places every call, and regrowing them was 10-15% of a photo model's
/// training time in `memset` and page clearing (perf, DnCNN on 48x48 crops).
pub(crate) fn scratch(n: usize) -> Vec<f32> {
    let mut v = POOL.with(|p| {
        let mut p = p.borrow_mut();
        let fit = (0..p.len()).filter(|&i| p[i].capacity() >= n).min_by_key(|&i| p[i].capacity());
        let pick = fit.or_else(|| (0..p.len()).max_by_key(|&i| p[i].capacity()));
        pick.map(|i| p.swap_remove(i))
    })
    .unwrap_or_default();
    // Only growth past the buffer's current length is filled: once per size, not per call.
    if v.len() < n {
        v.resize(n, 0.0);
    }
    v.truncate(n);
    v
}

/// Buffers larger than this (in values, 64 MiB) are freed rather than kept: one call on a large
/// image must not pin its memory for the rest of the process.
const POOL_MAX: usize = 16 << 20;

/// Returns buffers to this thread's pool.
pub(crate) fn recycle<const N: usize>(bufs: [Vec<f32>; N]) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        for b in bufs {
            if b.capacity() > 0 && b.capacity() <= POOL_MAX && p.len() < 8 {
                p.push(b);
            }
        }
    });
}

/// A kernel's window over an image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Geom {
    /// The image: channels, height, width.
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Zero rows before the first row and zero columns before the first column.
    pub pad: [usize; 2],
    /// The grid of kernel positions (the convolution's output size).
    pub ho: usize,
    pub wo: usize,
}

impl Geom {
    /// Rows of the im2col matrix.
    fn rows(&self) -> usize {
        self.c * self.kernel[0] * self.kernel[1]
    }
    /// Kernel positions per image.
    fn cols(&self) -> usize {
        self.ho * self.wo
    }
    pub(crate) fn image(&self) -> usize {
        self.c * self.h * self.w
    }
}

/// Images per chunk: an im2col buffer of ~512 KiB (L2-sized), and at least 8 chunks when the
/// batch allows, so that two or more threads stay busy.
pub(crate) fn chunk_len(batch: usize, g: &Geom) -> usize {
    let per_image = (g.rows() * g.cols()).max(1);
    (131_072 / per_image).clamp(1, batch.div_ceil(8).max(1))
}

/// A matrix operand: elements at `v[i·rs + j·cs]`.
#[derive(Clone, Copy)]
pub(crate) struct M<'a> {
    v: &'a [f32],
    rs: usize,
    cs: usize,
}

impl<'a> M<'a> {
    pub(crate) fn new(v: &'a [f32], rs: usize, cs: usize) -> Self {
        M { v, rs, cs }
    }
}

fn fits(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> bool {
    rows == 0 || cols == 0 || (rows - 1) * rs + (cols - 1) * cs < len
}

/// The gemm's own threads for a kernel whose batch makes `chunks` chunks: all of rayon's when
/// there are fewer chunks than threads (restoring one photo is a batch of 1, and ran on one
/// core), none otherwise, so chunk- and gemm-level parallelism do not compete. The gemm splits
/// rows and columns, never the sum over k, so the result is the same bit for bit.
pub(crate) fn gemm_threads(chunks: usize) -> Parallelism {
    if chunks < rayon::current_num_threads() {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    }
}

/// `dst[m×n]` (row stride `dst_rs`) = `a[m×k]`·`b[k×n]`, on the calling thread.
fn matmul(m: usize, n: usize, k: usize, dst: &mut [f32], dst_rs: usize, a: M, b: M) {
    matmul_par(m, n, k, dst, dst_rs, a, b, Parallelism::None)
}

/// [`matmul`] with the gemm's threads given ([`gemm_threads`]).
#[allow(clippy::too_many_arguments)]
fn matmul_par(m: usize, n: usize, k: usize, dst: &mut [f32], dst_rs: usize, a: M, b: M, par: Parallelism) {
    gemm_into(m, n, k, dst, dst_rs, a, b, false, par)
}

/// `dst[m×n]` = `a·b`, or `dst + a·b` when `acc`, with the gemm's threads given.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_into(m: usize, n: usize, k: usize, dst: &mut [f32], dst_rs: usize, a: M, b: M, acc: bool, par: Parallelism) {
    // SAFETY: an initialised `[f32]` is a valid `[MaybeUninit<f32>]`; only f32s are written.
    let dst = unsafe { &mut *(dst as *mut [f32] as *mut [MaybeUninit<f32>]) };
    gemm_raw(m, n, k, dst, dst_rs, a, b, acc, par)
}

/// `dst[m×n]` = `a·b` into memory not yet written: it writes every value of the `m×n` block
/// (a fresh output needs no zeroing first).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_uninit(m: usize, n: usize, k: usize, dst: &mut [MaybeUninit<f32>], dst_rs: usize, a: M, b: M, par: Parallelism) {
    gemm_raw(m, n, k, dst, dst_rs, a, b, false, par)
}

/// [`gemm_into`] on `dst` as raw memory: with `acc` it must be initialised (it is read).
#[allow(clippy::too_many_arguments)]
fn gemm_raw(m: usize, n: usize, k: usize, dst: &mut [MaybeUninit<f32>], dst_rs: usize, a: M, b: M, acc: bool, par: Parallelism) {
    assert!(fits(dst.len(), m, n, dst_rs, 1) && fits(a.v.len(), m, k, a.rs, a.cs) && fits(b.v.len(), k, n, b.rs, b.cs));
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if acc {
            return;
        }
        for r in 0..m {
            dst[r * dst_rs..][..n].fill(MaybeUninit::new(0.0));
        }
        return;
    }
    // SAFETY: the assert above keeps every index the gemm touches inside the three slices, and
    // `dst` is borrowed mutably, so it does not alias `a` or `b`. Without `acc` the gemm reads
    // nothing of `dst` (`read_dst` false) and writes each value of the block.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr() as *mut f32,
            1,
            dst_rs as isize,
            acc,
            a.v.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.v.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            if acc { 1.0f32 } else { 0.0f32 },
            1.0f32,
            false,
            false,
            false,
            par,
        )
    }
}

/// Where each kernel tap of each position reads, in a zero-padded copy of one image plane; the
/// plane is padded to exactly the rows and columns the positions reach, so every read is inside
/// it and the gathers run without bounds tests or branches, over `ho·wo` values at a time.
pub(crate) struct Taps {
    /// Padded plane height and width.
    ph: usize,
    pw: usize,
    /// For tap `t = ki·kw + kj`, the padded index read by each position: `idx[t·ho·wo + p]`.
    idx: Vec<u32>,
}

impl Taps {
    pub(crate) fn new(g: &Geom) -> Taps {
        let [kh, kw] = g.kernel;
        let ph = (g.ho.max(1) - 1) * g.stride[0] + kh;
        let pw = (g.wo.max(1) - 1) * g.stride[1] + kw;
        let mut idx = Vec::with_capacity(kh * kw * g.cols());
        for ki in 0..kh {
            for kj in 0..kw {
                for oh in 0..g.ho {
                    for ow in 0..g.wo {
                        idx.push(((oh * g.stride[0] + ki) * pw + ow * g.stride[1] + kj) as u32);
                    }
                }
            }
        }
        Taps { ph, pw, idx }
    }

    /// Rows and columns of the image that fall inside the padded plane.
    fn visible(&self, g: &Geom) -> (usize, usize) {
        (g.h.min(self.ph.saturating_sub(g.pad[0])), g.w.min(self.pw.saturating_sub(g.pad[1])))
    }
}

/// `dst.copy_from_slice(src)` for short rows: in fixed blocks of 16 and 4 values, which compile
/// to vector moves, where a copy of variable length is a `memcpy` call. im2col copies rows of a
/// few dozen values (28 for MNIST), and those calls were 16% of SRCNN's training time.
#[inline(always)]
pub(crate) fn copy_row(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len());
    let mut d = dst.chunks_exact_mut(16);
    let mut s = src.chunks_exact(16);
    for (d, s) in (&mut d).zip(&mut s) {
        <&mut [f32; 16]>::try_from(d).unwrap().copy_from_slice(<&[f32; 16]>::try_from(s).unwrap());
    }
    let (d, s) = (d.into_remainder(), s.remainder());
    let mut d4 = d.chunks_exact_mut(4);
    let mut s4 = s.chunks_exact(4);
    for (d, s) in (&mut d4).zip(&mut s4) {
        <&mut [f32; 4]>::try_from(d).unwrap().copy_from_slice(<&[f32; 4]>::try_from(s).unwrap());
    }
    for (d, s) in d4.into_remainder().iter_mut().zip(s4.remainder()) {
        *d = *s;
    }
}

/// Writes one image's windows into columns `off..off + ho·wo` of `cols` (row length `ld`).
pub(crate) fn im2col(t: &Taps, g: &Geom, img: &[f32], cols: &mut [f32], ld: usize, off: usize) {
    let n = g.cols();
    let taps = g.kernel[0] * g.kernel[1];
    let (vh, vw) = t.visible(g);
    let mut padded = scratch(t.ph * t.pw);
    padded.fill(0.0);
    for c in 0..g.c {
        let plane = &img[c * g.h * g.w..][..g.h * g.w];
        for r in 0..vh {
            padded[(r + g.pad[0]) * t.pw + g.pad[1]..][..vw].copy_from_slice(&plane[r * g.w..][..vw]);
        }
        for tap in 0..taps {
            let dst = &mut cols[(c * taps + tap) * ld + off..][..n];
            if g.stride == [1, 1] && g.wo > 0 {
                // Stride 1: each output row of a tap is one contiguous run of the padded plane,
                // copied whole instead of gathered value by value.
                let (ki, kj) = (tap / g.kernel[1], tap % g.kernel[1]);
                for (oh, row) in dst.chunks_exact_mut(g.wo).enumerate() {
                    copy_row(row, &padded[(oh + ki) * t.pw + kj..][..g.wo]);
                }
            } else {
                for (d, &i) in dst.iter_mut().zip(&t.idx[tap * n..][..n]) {
                    *d = padded[i as usize];
                }
            }
        }
    }
    recycle([padded]);
}

/// The adjoint of [`im2col`]: adds columns `off..off + ho·wo` of `cols` back into the image.
pub(crate) fn col2im(t: &Taps, g: &Geom, cols: &[f32], ld: usize, off: usize, img: &mut [f32]) {
    let n = g.cols();
    let taps = g.kernel[0] * g.kernel[1];
    let (vh, vw) = t.visible(g);
    let mut padded = scratch(t.ph * t.pw);
    for c in 0..g.c {
        padded.fill(0.0);
        for tap in 0..taps {
            let src = &cols[(c * taps + tap) * ld + off..][..n];
            if g.stride == [1, 1] && g.wo > 0 {
                let (ki, kj) = (tap / g.kernel[1], tap % g.kernel[1]);
                for (oh, row) in src.chunks_exact(g.wo).enumerate() {
                    padded[(oh + ki) * t.pw + kj..][..g.wo].iter_mut().zip(row).for_each(|(d, v)| *d += v);
                }
            } else {
                for (v, &i) in src.iter().zip(&t.idx[tap * n..][..n]) {
                    padded[i as usize] += v;
                }
            }
        }
        let plane = &mut img[c * g.h * g.w..][..g.h * g.w];
        for r in 0..vh {
            let src = &padded[(r + g.pad[0]) * t.pw + g.pad[1]..][..vw];
            plane[r * g.w..][..vw].iter_mut().zip(src).for_each(|(d, v)| *d += v);
        }
    }
    recycle([padded]);
}

/// `[nb, c, n]` (a chunk of NCHW images) → `[c, nb·n]`.
fn to_channel_major(src: &[f32], c: usize, n: usize, dst: &mut [f32]) {
    let nb = src.len() / (c * n).max(1);
    for b in 0..nb {
        for ch in 0..c {
            dst[ch * nb * n + b * n..][..n].copy_from_slice(&src[(b * c + ch) * n..][..n]);
        }
    }
}

/// `[c, nb·n]` → `[nb, c, n]`, adding `bias[ch]` to channel `ch` when given, then the ReLU when
/// `relu`.
fn from_channel_major(src: &[f32], c: usize, n: usize, dst: &mut [f32], bias: Option<&[f32]>, relu: bool) {
    // SAFETY: an initialised `[f32]` is a valid `[MaybeUninit<f32>]`, and only f32s are written.
    let dst = unsafe { &mut *(dst as *mut [f32] as *mut [MaybeUninit<f32>]) };
    from_channel_major_uninit(src, c, n, dst, bias, relu)
}

/// [`from_channel_major`] into memory not yet written: it writes every element of `dst`.
fn from_channel_major_uninit(src: &[f32], c: usize, n: usize, dst: &mut [MaybeUninit<f32>], bias: Option<&[f32]>, relu: bool) {
    let nb = dst.len() / (c * n).max(1);
    for b in 0..nb {
        for ch in 0..c {
            let d = &mut dst[(b * c + ch) * n..][..n];
            let s = &src[ch * nb * n + b * n..][..n];
            let add = bias.map_or(0.0, |bias| bias[ch]);
            if relu {
                d.iter_mut().zip(s).for_each(|(d, s)| {
                    d.write((s + add).max(0.0));
                });
            } else {
                d.iter_mut().zip(s).for_each(|(d, s)| {
                    d.write(s + add);
                });
            }
        }
    }
}

/// `dy` where the ReLU's output `y` is positive, 0 elsewhere: the gradient before the ReLU.
/// A bit mask (`dy & -(y > 0)`), not a branch: the branch `if y > 0 { dy } else { 0 }` compiled
/// to scalar code, 9% of SRCNN's training step on its 64-channel first layer.
#[inline(always)]
fn relu_grad_lanes<const L: usize>(dy: &[f32], y: &[f32], dst: &mut [f32]) {
    for ((d, g), y) in dst.iter_mut().zip(dy).zip(y) {
        let keep = ((*y > 0.0) as u32).wrapping_neg();
        *d = f32::from_bits(g.to_bits() & keep);
    }
}

dispatch!(relu_grad_any, relu_grad_lanes, (dy: &[f32], y: &[f32], dst: &mut [f32]));

pub(crate) fn relu_grad(dy: &[f32], y: &[f32], dst: &mut [f32]) {
    relu_grad_any(dy, y, dst)
}

/// Sums of the rows of a `[c, len]` matrix, in f64 (eight f32 lanes within a row).
pub(crate) fn row_sums(src: &[f32], c: usize) -> Vec<f64> {
    let len = src.len() / c.max(1);
    (0..c)
        .map(|ch| {
            let row = &src[ch * len..][..len];
            let mut lanes = [0.0f32; 8];
            let mut chunks = row.chunks_exact(8);
            for v in &mut chunks {
                lanes.iter_mut().zip(v).for_each(|(l, v)| *l += v);
            }
            let tail: f32 = chunks.remainder().iter().sum();
            lanes.iter().map(|&v| v as f64).sum::<f64>() + tail as f64
        })
        .collect()
}

/// Adds the chunks' partial sums in chunk order.
fn add_parts<'a, T: Copy + Into<f64> + Sync + 'a>(
    parts: impl Iterator<Item = &'a [T]>,
    len: usize,
) -> Vec<f32> {
    // In parallel over stretches of the values (each value's sum keeps the parts' order, so
    // the result does not depend on the thread count).
    let parts: Vec<&[T]> = parts.collect();
    let mut out = vec![0.0f32; len];
    out.par_chunks_mut(4096).enumerate().for_each(|(i, dst)| {
        let at = i * 4096;
        let mut total = [0.0f64; 4096];
        let total = &mut total[..dst.len()];
        for p in &parts {
            for (t, &v) in total.iter_mut().zip(&p[at..at + dst.len()]) {
                *t += v.into();
            }
        }
        for (d, t) in dst.iter_mut().zip(total.iter()) {
            *d = *t as f32;
        }
    });
    out
}

/// What a backward pass computes: the gradients of the input, the weight and the bias.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wanted {
    pub x: bool,
    pub w: bool,
    pub b: bool,
}

/// Gradients returned by a backward pass; `None` where not wanted.
pub(crate) struct ConvGrads {
    pub x: Option<Vec<f32>>,
    pub w: Option<Vec<f32>>,
    pub b: Option<Vec<f32>>,
}

/// `dx` zeroed, for kernels that add into the input gradient.
pub(crate) fn zeroed(dx: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    dx.fill(MaybeUninit::new(0.0));
    // SAFETY: every value was just written, and `[MaybeUninit<f32>]` has `[f32]`'s layout.
    unsafe { &mut *(dx as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

/// Runs `work(chunk index, images in chunk, input-gradient chunk)` over the batch's chunks (the
/// input-gradient buffer is allocated and cut only when wanted) and gathers the per-chunk
/// partial weight and bias gradients. The input-gradient chunk is not initialised: `work` must
/// write every value of it (kernels that add into it start with [`zeroed`]). A zeroed
/// allocation of the whole gradient was a memset on the calling thread, ~5% of a photo
/// denoiser's step; the Winograd and direct kernels write each value once, so they skip it.
pub(crate) fn backward_chunks<F>(
    batch: usize,
    bc: usize,
    x_image: usize,
    want: Wanted,
    w_len: usize,
    b_len: usize,
    work: F,
) -> ConvGrads
where
    F: Fn(usize, usize, Option<&mut [MaybeUninit<f32>]>) -> (Vec<f32>, Vec<f64>) + Sync,
{
    let chunks = batch.div_ceil(bc);
    let size = |ci: usize| bc.min(batch - ci * bc);
    let (dx, parts): (Option<Vec<f32>>, Vec<(Vec<f32>, Vec<f64>)>) = if want.x {
        let len = batch * x_image;
        let mut dx: Vec<f32> = Vec::with_capacity(len);
        let parts = dx.spare_capacity_mut()[..len]
            .par_chunks_mut((bc * x_image).max(1))
            .enumerate()
            .map(|(ci, dxc)| work(ci, size(ci), Some(dxc)))
            .collect();
        // SAFETY: the chunks cover `..len`, and `work` writes every value of its chunk.
        unsafe { dx.set_len(len) };
        (Some(dx), parts)
    } else {
        (
            None,
            (0..chunks)
                .into_par_iter()
                .map(|ci| work(ci, size(ci), None))
                .collect(),
        )
    };
    let w = want
        .w
        .then(|| add_parts(parts.iter().map(|p| p.0.as_slice()), w_len));
    let b = want
        .b
        .then(|| add_parts(parts.iter().map(|p| p.1.as_slice()), b_len));
    ConvGrads { x: dx, w, b }
}

/// Convolution: `x` `[batch, g.c, g.h, g.w]`, `weight` `[o, g.c, kh, kw]`, `bias` `[o]` →
/// `[batch, o, g.ho, g.wo]`, followed by a ReLU when `relu`.
/// `x` is in `x_order`; the output comes channels-last where `channels_last` is asked and the
/// kernel can (see [`Order`]), and the order it came in is returned.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_ordered(g: &Geom, batch: usize, x: &[f32], x_order: Order, weight: &[f32], bias: &[f32], relu: bool, channels_last: bool) -> (Vec<f32>, Order) {
    match winograd::plan(g, bias.len()) {
        Some(tf) => winograd::conv2d_ordered(tf, g, batch, x, x_order, weight, bias, relu, channels_last),
        None if direct::applies(g, bias.len()) => (direct::conv2d(g, batch, x, x_order, weight, bias, relu), Order::Planes),
        None if channels_last => (nhwc::conv2d(g, batch, x, x_order, weight, bias, relu), Order::ChannelsLast(0)),
        None => {
            let x = reorder(x, x_order, Order::Planes, g.c, g.h, g.w);
            (conv2d_im2col(g, batch, &x, weight, bias, relu), Order::Planes)
        }
    }
}

/// Whether the layer's kernels read a channels-last input as it is (Winograd, the direct
/// kernel, and with `channels_last` the channels-last im2col for 8+ input channels); the NCHW
/// im2col path takes NCHW.
pub(crate) fn takes_channels_last(g: &Geom, o: usize, channels_last: bool) -> bool {
    winograd::plan(g, o).is_some() || direct::applies(g, o) || (channels_last && nhwc::reads_channels_last(g))
}


/// `v` (images of `c` channels of `h` x `w` pixels) from `from` to `to`, borrowed when they
/// agree.
pub(crate) fn reorder(v: &[f32], from: Order, to: Order, c: usize, h: usize, w: usize) -> Cow<'_, [f32]> {
    match (from, to) {
        _ if from == to => Cow::Borrowed(v),
        (Order::Planes, Order::ChannelsLast(p)) => Cow::Owned(planes_to_channels_last(v, c, h, w, p)),
        (Order::ChannelsLast(p), Order::Planes) => Cow::Owned(channels_last_to_planes(v, c, h, w, p)),
        (Order::ChannelsLast(p), Order::ChannelsLast(q)) => {
            Cow::Owned(planes_to_channels_last(&channels_last_to_planes(v, c, h, w, p), c, h, w, q))
        }
        (Order::Planes, Order::Planes) => unreachable!("equal orders are borrowed"),
    }
}

/// [`conv2d`] through im2col and one gemm per chunk of images, for every geometry.
pub(crate) fn conv2d_im2col(g: &Geom, batch: usize, x: &[f32], weight: &[f32], bias: &[f32], relu: bool) -> Vec<f32> {
    let (k, n, o) = (g.rows(), g.cols(), bias.len());
    let bc = chunk_len(batch, g);
    let taps = Taps::new(g);
    let len = batch * o * n;
    // Not zeroed first: every value is written below (zeroing a fresh output was a `memset` of
    // the whole activation per layer and step).
    let mut y: Vec<f32> = Vec::with_capacity(len);
    let par = gemm_threads(batch.div_ceil(bc.max(1)));
    y.spare_capacity_mut()[..len].par_chunks_mut((bc * o * n).max(1)).enumerate().for_each(|(ci, yc)| {
        let nb = yc.len() / (o * n);
        let ld = nb * n;
        let mut cols = scratch(k * ld);
        for b in 0..nb {
            im2col(&taps, g, &x[(ci * bc + b) * g.image()..][..g.image()], &mut cols, ld, b * n);
        }
        let mut out = scratch(o * ld);
        matmul_par(o, ld, k, &mut out, ld, M::new(weight, k, 1), M::new(&cols, ld, 1), par);
        from_channel_major_uninit(&out, o, n, yc, Some(bias), relu);
        recycle([cols, out]);
    });
    // SAFETY: the chunks cover 0..len and from_channel_major_uninit wrote each of their values.
    unsafe { y.set_len(len) };
    y
}

/// Gradients of [`conv2d_ordered`] given `dy` `[batch, o, g.ho, g.wo]`; `y` is the forward output
/// when the ReLU was applied. `x` is in `x_order` (the input gradient comes in the same order),
/// `dy` and `y` in `dy_order`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_backward_ordered(
    g: &Geom,
    batch: usize,
    x: &[f32],
    x_order: Order,
    weight: &[f32],
    o: usize,
    dy: &[f32],
    y: Option<&[f32]>,
    dy_order: Order,
    want: Wanted,
    channels_last: bool,
) -> ConvGrads {
    if let Some(tf) = winograd::plan(g, o) {
        return winograd::conv2d_backward_ordered(tf, g, batch, x, x_order, weight, o, dy, y, dy_order, want);
    }
    if channels_last && !direct::applies(g, o) {
        return nhwc::conv2d_backward(g, batch, x, x_order, weight, o, dy, y, dy_order, want);
    }
    let dy = reorder(dy, dy_order, Order::Planes, o, g.ho, g.wo);
    let y = y.map(|y| reorder(y, dy_order, Order::Planes, o, g.ho, g.wo));
    if direct::applies(g, o) {
        return direct::conv2d_backward(g, batch, x, x_order, weight, o, &dy, y.as_deref(), want);
    }
    let xs = reorder(x, x_order, Order::Planes, g.c, g.h, g.w);
    let mut grads = conv2d_backward_im2col(g, batch, &xs, weight, o, &dy, y.as_deref(), want);
    if x_order != Order::Planes {
        grads.x = grads.x.map(|dx| reorder(&dx, Order::Planes, x_order, g.c, g.h, g.w).into_owned());
    }
    grads
}

/// [`conv2d_backward_ordered`] through im2col, for every geometry (NCHW).
#[allow(clippy::too_many_arguments)]
fn conv2d_backward_im2col(
    g: &Geom,
    batch: usize,
    x: &[f32],
    weight: &[f32],
    o: usize,
    dy: &[f32],
    y: Option<&[f32]>,
    want: Wanted,
) -> ConvGrads {
    let (k, n) = (g.rows(), g.cols());
    let bc = chunk_len(batch, g);
    let taps = Taps::new(g);
    backward_chunks(batch, bc, g.image(), want, o * k, o, |ci, nb, dxc| {
        let ld = nb * n;
        let range = ci * bc * o * n..(ci * bc + nb) * o * n;
        let mut dz = Vec::new();
        let dyc = match y {
            Some(y) => {
                dz = scratch(nb * o * n);
                relu_grad(&dy[range.clone()], &y[range], &mut dz);
                &dz[..]
            }
            None => &dy[range],
        };
        let mut dyt = scratch(o * ld);
        to_channel_major(dyc, o, n, &mut dyt);
        let mut dw = Vec::new();
        let mut cols = Vec::new();
        if want.w {
            cols = scratch(k * ld);
            for b in 0..nb {
                im2col(&taps, g, &x[(ci * bc + b) * g.image()..][..g.image()], &mut cols, ld, b * n);
            }
            dw = vec![0.0f32; o * k];
            matmul(o, k, ld, &mut dw, k, M::new(&dyt, ld, 1), M::new(&cols, 1, ld));
        }
        if let Some(dxc) = dxc {
            let dxc = zeroed(dxc);
            let mut dcols = scratch(k * ld);
            matmul(k, ld, o, &mut dcols, ld, M::new(weight, 1, k), M::new(&dyt, ld, 1));
            for b in 0..nb {
                col2im(&taps, g, &dcols, ld, b * n, &mut dxc[b * g.image()..][..g.image()]);
            }
            recycle([dcols]);
        }
        let db = if want.b { row_sums(&dyt, o) } else { Vec::new() };
        recycle([dyt, cols, dz]);
        (dw, db)
    })
}

/// [`conv_transpose2d`] with `x` in `x_order`: through the channels-last kernels when
/// `channels_last` (the output in the order returned), else NCHW.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_transpose2d_ordered(g: &Geom, batch: usize, x: &[f32], x_order: Order, weight: &[f32], bias: &[f32], relu: bool, channels_last: bool) -> (Vec<f32>, Order) {
    if channels_last {
        return nhwc::conv_transpose2d(g, batch, x, x_order, weight, bias, relu);
    }
    let ci = weight.len() / g.rows().max(1);
    let x = reorder(x, x_order, Order::Planes, ci, g.ho, g.wo);
    (conv_transpose2d(g, batch, &x, weight, bias, relu), Order::Planes)
}

/// Gradients of [`conv_transpose2d_ordered`]: `dy` and `y` in `dy_order`, the input gradient in
/// `x_order`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_transpose2d_backward_ordered(
    g: &Geom,
    batch: usize,
    x: &[f32],
    x_order: Order,
    weight: &[f32],
    dy: &[f32],
    y: Option<&[f32]>,
    dy_order: Order,
    want: Wanted,
    channels_last: bool,
) -> ConvGrads {
    if channels_last {
        return nhwc::conv_transpose2d_backward(g, batch, x, x_order, weight, dy, y, dy_order, want);
    }
    let ci = weight.len() / g.rows().max(1);
    let xs = reorder(x, x_order, Order::Planes, ci, g.ho, g.wo);
    let dy = reorder(dy, dy_order, Order::Planes, g.c, g.h, g.w);
    let y = y.map(|y| reorder(y, dy_order, Order::Planes, g.c, g.h, g.w));
    let mut grads = conv_transpose2d_backward(g, batch, &xs, weight, &dy, y.as_deref(), want);
    if x_order != Order::Planes {
        grads.x = grads.x.map(|dx| reorder(&dx, Order::Planes, x_order, ci, g.ho, g.wo).into_owned());
    }
    grads
}

/// Transposed convolution: `x` `[batch, ci, g.ho, g.wo]` (the grid), `weight` `[ci, g.c, kh, kw]`,
/// `bias` `[g.c]` → `[batch, g.c, g.h, g.w]` (the image), followed by a ReLU when `relu`.
fn conv_transpose2d(g: &Geom, batch: usize, x: &[f32], weight: &[f32], bias: &[f32], relu: bool) -> Vec<f32> {
    let (k, n) = (g.rows(), g.cols());
    let ci = weight.len() / k.max(1);
    let bc = chunk_len(batch, g);
    let taps = Taps::new(g);
    let mut y = vec![0.0f32; batch * g.image()];
    let par = gemm_threads(batch.div_ceil(bc.max(1)));
    y.par_chunks_mut((bc * g.image()).max(1)).enumerate().for_each(|(chunk, yc)| {
        let nb = yc.len() / g.image();
        let ld = nb * n;
        let mut xt = scratch(ci * ld);
        to_channel_major(&x[chunk * bc * ci * n..][..nb * ci * n], ci, n, &mut xt);
        let mut cols = scratch(k * ld);
        matmul_par(k, ld, ci, &mut cols, ld, M::new(weight, 1, k), M::new(&xt, ld, 1), par);
        let plane = (g.h * g.w).max(1);
        for b in 0..nb {
            let img = &mut yc[b * g.image()..][..g.image()];
            col2im(&taps, g, &cols, ld, b * n, img);
            for (c, p) in img.chunks_exact_mut(plane).enumerate() {
                if relu {
                    p.iter_mut().for_each(|v| *v = (*v + bias[c]).max(0.0));
                } else {
                    p.iter_mut().for_each(|v| *v += bias[c]);
                }
            }
        }
        recycle([xt, cols]);
    });
    y
}

/// Gradients of [`conv_transpose2d`] given `dy` `[batch, g.c, g.h, g.w]`; `y` is the forward
/// output when the ReLU was applied.
fn conv_transpose2d_backward(
    g: &Geom,
    batch: usize,
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    y: Option<&[f32]>,
    want: Wanted,
) -> ConvGrads {
    let (k, n) = (g.rows(), g.cols());
    let ci = weight.len() / k.max(1);
    let bc = chunk_len(batch, g);
    let taps = Taps::new(g);
    backward_chunks(batch, bc, ci * n, want, ci * k, g.c, |chunk, nb, dxc| {
        let ld = nb * n;
        let range = chunk * bc * g.image()..(chunk * bc + nb) * g.image();
        let mut dz = Vec::new();
        let dyc = match y {
            Some(y) => {
                dz = scratch(nb * g.image());
                relu_grad(&dy[range.clone()], &y[range], &mut dz);
                &dz[..]
            }
            None => &dy[range],
        };
        let mut cols = scratch(k * ld);
        for b in 0..nb {
            im2col(&taps, g, &dyc[b * g.image()..][..g.image()], &mut cols, ld, b * n);
        }
        if let Some(dxc) = dxc {
            let dxc = zeroed(dxc);
            let mut dxt = scratch(ci * ld);
            matmul(ci, ld, k, &mut dxt, ld, M::new(weight, k, 1), M::new(&cols, ld, 1));
            from_channel_major(&dxt, ci, n, dxc, None, false);
            recycle([dxt]);
        }
        let mut dw = Vec::new();
        if want.w {
            let mut xt = scratch(ci * ld);
            to_channel_major(&x[chunk * bc * ci * n..][..nb * ci * n], ci, n, &mut xt);
            dw = vec![0.0f32; ci * k];
            matmul(ci, k, ld, &mut dw, k, M::new(&xt, ld, 1), M::new(&cols, 1, ld));
            recycle([xt]);
        }
        // Channel sums over the chunk's planes, which come in [image, channel] order.
        let db = if want.b {
            let mut sums = vec![0.0f64; g.c];
            let plane = (g.h * g.w).max(1);
            for (i, p) in dyc.chunks_exact(plane).enumerate() {
                sums[i % g.c] += row_sums(p, 1)[0];
            }
            sums
        } else {
            Vec::new()
        };
        recycle([cols, dz]);
        (dw, db)
    })
}
