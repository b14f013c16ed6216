//! Convolutions and transposed convolutions of any stride through im2col on channels-last
//! activations: the layers the Winograd and direct kernels leave (the conv autoencoders'
//! stride-2 layers, the photo models' first layers).
//!
//! Why: the NCHW im2col of `conv_kernels` gathers a stride-2 window value by value through an
//! index table, and its adjoint (col2im, in the transposed convolution's forward and every input
//! gradient) scatters the same way; with the transposes around the gemm that was a third of the
//! conv autoencoder's step (`perf`: im2col 10%, col2im 12%). Here a row of the im2col matrix is
//! one output pixel, `[kh·kw·c]`: per kernel row, kw adjacent channels-last input pixels, one
//! contiguous run of kw·c values, copied (or added back) whole. The gemm then writes the output
//! channels-last, `[pixels, o]`, which the next such layer reads as it is: no transposes
//! between layers. ([`Order::ChannelsLast`] with no border; a Winograd layer's bordered output is
//! read in place too.)
//!
//! Inputs with fewer than 8 channels (an image's 1-3) would copy runs of 1-3 values; those keep
//! the per-plane im2col of `conv_kernels` (`[kh·kw·c, pixels]`, stride-1 rows copied whole),
//! and the gemm reads that matrix transposed: the output is channels-last all the same.
//!
//! Sums and chunks are those of `conv_kernels` (chunks set by the shapes alone, per-chunk weight
//! gradients added in chunk order), so results do not depend on the thread count.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::conv_kernels::{
    backward_chunks, chunk_len, col2im, copy_row, gemm_into, gemm_threads, gemm_uninit, im2col, recycle, relu_grad, reorder, scratch, zeroed, ConvGrads, Geom, Order, Taps,
    Wanted, M,
};
use super::lanes::{simd, Simd};
use super::transpose::transpose;

/// Channels-last with no border.
const ROWS: Order = Order::ChannelsLast(0);

/// How an im2col matrix lies.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Cols {
    /// `[pixels, kh·kw·c]`, columns tap-major (`(tap, channel)`), from channels-last images.
    Pixels,
    /// `[c·kh·kw, pixels]`, rows channel-major (`(channel, tap)`, Burn's weight order), from NCHW
    /// planes.
    Taps,
}

impl Cols {
    /// The layout for images of `c` channels: runs of fewer than 8 values are not worth copying
    /// as runs.
    fn of(c: usize) -> Cols {
        if c >= 8 {
            Cols::Pixels
        } else {
            Cols::Taps
        }
    }

    /// The order of the images it is made from (and, in a transposed convolution, written to).
    fn order(self) -> Order {
        match self {
            Cols::Pixels => ROWS,
            Cols::Taps => Order::Planes,
        }
    }

    /// `v` as the `[ld, k]` matrix (`ld` pixels, `k` = kh·kw·c).
    fn mat(self, v: &[f32], ld: usize, k: usize) -> M<'_> {
        match self {
            Cols::Pixels => M::new(v, k, 1),
            Cols::Taps => M::new(v, 1, ld),
        }
    }
}

/// Whether a convolution's input is read channels-last (with any border) as it is.
pub(crate) fn reads_channels_last(g: &Geom) -> bool {
    Cols::of(g.c) == Cols::Pixels
}

/// `v` in `to`, borrowed where it already is (one channel: NCHW and borderless channels-last are
/// the same values).
fn as_order(v: &[f32], from: Order, to: Order, c: usize, h: usize, w: usize) -> Cow<'_, [f32]> {
    let same = from == to || (c == 1 && matches!((from, to), (Order::Planes, ROWS) | (ROWS, Order::Planes)));
    if same {
        Cow::Borrowed(v)
    } else {
        reorder(v, from, to, c, h, w)
    }
}

/// The weight `[a, c, kh, kw]` (`a` output channels of a convolution, input channels of a
/// transposed one) as the `[a, k]` matrix whose columns follow `cols`: for `Pixels`,
/// `[a, kh·kw, c]`.
fn weight_k(w: &[f32], a: usize, c: usize, taps: usize, cols: Cols) -> Cow<'_, [f32]> {
    match cols {
        Cols::Taps => Cow::Borrowed(w),
        Cols::Pixels => {
            let mut wt = vec![0.0f32; a * taps * c];
            for (src, dst) in w.chunks_exact(c * taps).zip(wt.chunks_exact_mut(c * taps)) {
                transpose(c, taps, src, taps, None, dst, c);
            }
            Cow::Owned(wt)
        }
    }
}

/// The adjoint of [`weight_k`]'s reordering: a weight gradient in `cols`' column order back to
/// `[a, c, kh, kw]`.
fn weight_back(dwk: Vec<f32>, c: usize, taps: usize, cols: Cols) -> Vec<f32> {
    match cols {
        Cols::Taps => dwk,
        Cols::Pixels => {
            let mut dw = vec![0.0f32; dwk.len()];
            for (src, dst) in dwk.chunks_exact(c * taps).zip(dw.chunks_exact_mut(c * taps)) {
                transpose(taps, c, src, c, None, dst, taps);
            }
            dw
        }
    }
}

/// For output column `ow`: the first input column of the window (may be negative) and the
/// window columns `lo..hi` that fall inside the image.
#[inline(always)]
fn window_cols(g: &Geom, ow: usize) -> (isize, usize, usize) {
    let kw = g.kernel[1] as isize;
    let w0 = (ow * g.stride[1]) as isize - g.pad[1] as isize;
    let lo = (-w0).clamp(0, kw) as usize;
    let hi = (g.w as isize - w0).clamp(0, kw) as usize;
    (w0, lo, hi)
}

/// One channels-last image's windows as rows of `cols` (`[ho·wo, kh·kw·c]`): row `oh·wo + ow`
/// holds, per tap (ki, kj), the `c` channels of input pixel (oh·sh + ki − ph, ow·sw + kj − pw),
/// zeros outside the image. `img` is one whole image in `order` (any border).
#[inline(always)]
fn im2col_rows_lanes<const L: usize>(g: &Geom, img: &[f32], order: Order, cols: &mut [f32]) {
    let (c, [kh, kw]) = (g.c, g.kernel);
    let (origin, row) = order.origin_and_row(c, g.w);
    let k = kh * kw * c;
    for oh in 0..g.ho {
        for ow in 0..g.wo {
            let (w0, lo, hi) = window_cols(g, ow);
            let dst = &mut cols[(oh * g.wo + ow) * k..][..k];
            for (ki, d) in dst.chunks_exact_mut(kw * c).enumerate() {
                let ih = (oh * g.stride[0] + ki) as isize - g.pad[0] as isize;
                if ih < 0 || ih >= g.h as isize || lo >= hi {
                    d.fill(0.0);
                    continue;
                }
                if lo > 0 {
                    d[..lo * c].fill(0.0);
                }
                if hi < kw {
                    d[hi * c..].fill(0.0);
                }
                let at = origin + ih as usize * row + (w0 + lo as isize) as usize * c;
                copy_row(&mut d[lo * c..hi * c], &img[at..][..(hi - lo) * c]);
            }
        }
    }
}

/// `dst += src`, in fixed blocks of 16 (vector adds; see `copy_row`).
#[inline(always)]
fn add_row(dst: &mut [f32], src: &[f32]) {
    assert_eq!(dst.len(), src.len());
    let mut d = dst.chunks_exact_mut(16);
    let mut s = src.chunks_exact(16);
    for (d, s) in (&mut d).zip(&mut s) {
        let (d, s) = (<&mut [f32; 16]>::try_from(d).unwrap(), <&[f32; 16]>::try_from(s).unwrap());
        for i in 0..16 {
            d[i] += s[i];
        }
    }
    for (d, s) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *d += s;
    }
}

/// The adjoint of [`im2col_rows`]: adds the rows of `cols` back into the image `img` (in
/// `order`; its border, if any, is not touched).
#[inline(always)]
fn col2im_rows_lanes<const L: usize>(g: &Geom, cols: &[f32], img: &mut [f32], order: Order) {
    let (c, [kh, kw]) = (g.c, g.kernel);
    let (origin, row) = order.origin_and_row(c, g.w);
    let k = kh * kw * c;
    for oh in 0..g.ho {
        for ow in 0..g.wo {
            let (w0, lo, hi) = window_cols(g, ow);
            if lo >= hi {
                continue;
            }
            let src = &cols[(oh * g.wo + ow) * k..][..k];
            for (ki, s) in src.chunks_exact(kw * c).enumerate() {
                let ih = (oh * g.stride[0] + ki) as isize - g.pad[0] as isize;
                if ih < 0 || ih >= g.h as isize {
                    continue;
                }
                let at = origin + ih as usize * row + (w0 + lo as isize) as usize * c;
                add_row(&mut img[at..][..(hi - lo) * c], &s[lo * c..hi * c]);
            }
        }
    }
}

/// Image `img` (pixels `off..off + ho·wo` of the chunk's `ld`) into `cols`.
fn gather(cols: Cols, t: &Taps, g: &Geom, img: &[f32], order: Order, buf: &mut [f32], ld: usize, off: usize) {
    match cols {
        Cols::Pixels => {
            let k = g.kernel[0] * g.kernel[1] * g.c;
            im2col_rows(g, img, order, &mut buf[off * k..][..g.ho * g.wo * k]);
        }
        Cols::Taps => im2col(t, g, img, buf, ld, off),
    }
}

/// The adjoint of [`gather`]: adds its part of `buf` back into `img`.
fn scatter(cols: Cols, t: &Taps, g: &Geom, buf: &[f32], ld: usize, off: usize, img: &mut [f32], order: Order) {
    match cols {
        Cols::Pixels => {
            let k = g.kernel[0] * g.kernel[1] * g.c;
            col2im_rows(g, &buf[off * k..][..g.ho * g.wo * k], img, order);
        }
        Cols::Taps => col2im(t, g, buf, ld, off, img),
    }
}

/// Column sums of a `[rows, c]` matrix, in f64 (f32 within blocks of 64 rows).
fn col_sums(m: &[f32], c: usize) -> Vec<f64> {
    let mut total = vec![0.0f64; c];
    let mut acc = vec![0.0f32; c];
    for block in m.chunks(c * 64) {
        acc.fill(0.0);
        for row in block.chunks_exact(c) {
            acc.iter_mut().zip(row).for_each(|(a, v)| *a += v);
        }
        total.iter_mut().zip(&acc).for_each(|(t, a)| *t += *a as f64);
    }
    total
}

/// `dy` masked by the ReLU's output `y` when there was one (into `buf`), else `dy` itself.
fn masked<'a>(dy: &'a [f32], y: Option<&[f32]>, buf: &'a mut Vec<f32>) -> &'a [f32] {
    match y {
        Some(y) => {
            *buf = scratch(dy.len());
            relu_grad(dy, y, buf);
            &buf[..]
        }
        None => dy,
    }
}

/// What every kernel here sets up: the im2col matrix's shape and layout, the weight in its
/// column order, and the chunks of images.
struct Plan<'a> {
    /// Kernel positions per image, taps, and im2col columns (taps x channels).
    n: usize,
    taps: usize,
    k: usize,
    cols: Cols,
    t: Taps,
    /// The weight as `[a, k]` in `cols`' column order.
    wk: Cow<'a, [f32]>,
    /// Images per chunk, and the gemm's threads.
    bc: usize,
    par: gemm::Parallelism,
}

impl<'a> Plan<'a> {
    /// For `g` and a weight of `a` rows (output channels of a convolution, input channels of a
    /// transposed one).
    fn new(g: &Geom, batch: usize, weight: &'a [f32], a: usize) -> Plan<'a> {
        let (n, taps) = (g.ho * g.wo, g.kernel[0] * g.kernel[1]);
        let cols = Cols::of(g.c);
        let bc = chunk_len(batch, g);
        Plan { n, taps, k: taps * g.c, cols, t: Taps::new(g), wk: weight_k(weight, a, g.c, taps, cols), bc, par: gemm_threads(batch.div_ceil(bc)) }
    }

    /// A convolution's input `x` (in `order`) as the im2col reads it: channels-last with any
    /// border for `Pixels`, NCHW for `Taps`; and the order that is.
    fn input<'x>(&self, g: &Geom, x: &'x [f32], order: Order) -> (Cow<'x, [f32]>, Order) {
        let to = if self.cols == Cols::Pixels && matches!(order, Order::ChannelsLast(_)) { order } else { self.cols.order() };
        (as_order(x, order, to, g.c, g.h, g.w), to)
    }
}

/// Convolution, the contract of `conv_kernels::conv2d_ordered` for a layer no other fast kernel
/// takes: `x` `[batch, g.c, g.h, g.w]` in `x_order` → `[batch, o, g.ho, g.wo]` channels-last
/// without a border, ReLU applied when `relu`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d(g: &Geom, batch: usize, x: &[f32], x_order: Order, weight: &[f32], bias: &[f32], relu: bool) -> Vec<f32> {
    let o = bias.len();
    let pl = Plan::new(g, batch, weight, o);
    let Plan { n, k, cols: cl, ref t, ref wk, bc, par, .. } = pl;
    let (x, xo) = pl.input(g, x, x_order);
    let x_img = xo.image_len(g.c, g.h, g.w);
    let len = batch * n * o;
    let mut y: Vec<f32> = Vec::with_capacity(len);
    y.spare_capacity_mut()[..len].par_chunks_mut((bc * n * o).max(1)).enumerate().for_each(|(ci, yc)| {
        let ld = yc.len() / o.max(1);
        let nb = ld / n.max(1);
        let mut cols = scratch(k * ld);
        for b in 0..nb {
            gather(cl, t, g, &x[(ci * bc + b) * x_img..][..x_img], xo, &mut cols, ld, b * n);
        }
        gemm_uninit(ld, o, k, yc, o, cl.mat(&cols, ld, k), M::new(wk, 1, k), par);
        // SAFETY: the gemm wrote every value of the chunk.
        let yc = unsafe { &mut *(yc as *mut [MaybeUninit<f32>] as *mut [f32]) };
        bias_relu_in_place(yc, bias, relu);
        recycle([cols]);
    });
    // SAFETY: the chunks cover 0..len and the gemm wrote each of their values.
    unsafe { y.set_len(len) };
    y
}

/// Rows of `v` (`[.., c]`) plus `bias`, then the ReLU when `relu`, in place; in blocks of L
/// channels (vector code).
#[inline(always)]
fn bias_relu_in_place_lanes<const L: usize>(v: &mut [f32], bias: &[f32], relu: bool) {
    let c = bias.len().max(1);
    let whole = c / L * L;
    for px in v.chunks_exact_mut(c) {
        for j in (0..whole).step_by(L) {
            let b = <&[f32; L]>::try_from(&bias[j..j + L]).unwrap();
            let d = <&mut [f32; L]>::try_from(&mut px[j..j + L]).unwrap();
            if relu {
                (0..L).for_each(|l| d[l] = (d[l] + b[l]).max(0.0));
            } else {
                (0..L).for_each(|l| d[l] += b[l]);
            }
        }
        for (d, b) in px[whole..].iter_mut().zip(&bias[whole..]) {
            *d = if relu { (*d + b).max(0.0) } else { *d + b };
        }
    }
}

dispatch!(bias_relu_in_place, bias_relu_in_place_lanes, (v: &mut [f32], bias: &[f32], relu: bool));
dispatch!(im2col_rows, im2col_rows_lanes, (g: &Geom, img: &[f32], order: Order, cols: &mut [f32]));
dispatch!(col2im_rows, col2im_rows_lanes, (g: &Geom, cols: &[f32], img: &mut [f32], order: Order));

/// Gradients of [`conv2d`] given `dy` (and, after a ReLU, `y`) in `dy_order`; the input gradient
/// comes in `x_order`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_backward(
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
) -> ConvGrads {
    let pl = Plan::new(g, batch, weight, o);
    let Plan { n, taps, k, cols: cl, ref t, ref wk, bc, par } = pl;
    let dy = as_order(dy, dy_order, ROWS, o, g.ho, g.wo);
    let y = y.map(|y| as_order(y, dy_order, ROWS, o, g.ho, g.wo));
    let (x, xo) = pl.input(g, x, x_order);
    let x_img = xo.image_len(g.c, g.h, g.w);
    let mut grads = backward_chunks(batch, bc, x_img, want, o * k, o, |ci, nb, dxc| {
        let ld = nb * n;
        let range = ci * bc * n * o..(ci * bc + nb) * n * o;
        let mut buf = Vec::new();
        let dz = masked(&dy[range.clone()], y.as_ref().map(|y| &y[range]), &mut buf);
        let mut dw = Vec::new();
        let mut cols = Vec::new();
        if want.w {
            cols = scratch(k * ld);
            for b in 0..nb {
                gather(cl, t, g, &x[(ci * bc + b) * x_img..][..x_img], xo, &mut cols, ld, b * n);
            }
            dw = vec![0.0f32; o * k];
            gemm_into(o, k, ld, &mut dw, k, M::new(dz, 1, o), cl.mat(&cols, ld, k), false, par);
        }
        if let Some(dxc) = dxc {
            let dxc = zeroed(dxc);
            let mut dcols = scratch(k * ld);
            match cl {
                Cols::Pixels => gemm_into(ld, k, o, &mut dcols, k, M::new(dz, o, 1), M::new(wk, k, 1), false, par),
                Cols::Taps => gemm_into(k, ld, o, &mut dcols, ld, M::new(wk, 1, k), M::new(dz, 1, o), false, par),
            }
            for b in 0..nb {
                scatter(cl, t, g, &dcols, ld, b * n, &mut dxc[b * x_img..][..x_img], xo);
            }
            recycle([dcols]);
        }
        let db = if want.b { col_sums(dz, o) } else { Vec::new() };
        recycle([cols, buf]);
        (dw, db)
    });
    grads.w = grads.w.map(|dw| weight_back(dw, g.c, taps, cl));
    if xo != x_order {
        grads.x = grads.x.map(|dx| as_order(&dx, xo, x_order, g.c, g.h, g.w).into_owned());
    }
    grads
}

/// The grid `x` (`[batch, ci, g.ho, g.wo]` in `order`) as `[pixels, ci]` rows, and the order
/// that is.
fn grid_rows<'a>(x: &'a [f32], order: Order, ci: usize, g: &Geom) -> (Cow<'a, [f32]>, Order) {
    let to = if ci == 1 && order == Order::Planes { Order::Planes } else { ROWS };
    (as_order(x, order, to, ci, g.ho, g.wo), to)
}

/// Transposed convolution, the contract of `conv_kernels::conv_transpose2d` with `x` in
/// `x_order`: the output `[batch, g.c, g.h, g.w]` comes channels-last without a border (NCHW
/// for fewer than 8 output channels), in the order returned.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_transpose2d(g: &Geom, batch: usize, x: &[f32], x_order: Order, weight: &[f32], bias: &[f32], relu: bool) -> (Vec<f32>, Order) {
    let ci = weight.len() / (g.kernel[0] * g.kernel[1] * g.c).max(1);
    let pl = Plan::new(g, batch, weight, ci);
    let Plan { n, k, cols: cl, ref t, ref wk, bc, par, .. } = pl;
    let (x, _) = grid_rows(x, x_order, ci, g);
    let (img, plane) = (g.image(), (g.h * g.w).max(1));
    let len = batch * img;
    let mut y: Vec<f32> = Vec::with_capacity(len);
    y.spare_capacity_mut()[..len].par_chunks_mut((bc * img).max(1)).enumerate().for_each(|(chunk, yc)| {
        let yc = zeroed(yc);
        let nb = yc.len() / img.max(1);
        let ld = nb * n;
        let xc = &x[chunk * bc * n * ci..][..ld * ci];
        let mut cols = scratch(k * ld);
        match cl {
            Cols::Pixels => gemm_into(ld, k, ci, &mut cols, k, M::new(xc, ci, 1), M::new(wk, k, 1), false, par),
            Cols::Taps => gemm_into(k, ld, ci, &mut cols, ld, M::new(wk, 1, k), M::new(xc, 1, ci), false, par),
        }
        for b in 0..nb {
            scatter(cl, t, g, &cols, ld, b * n, &mut yc[b * img..][..img], cl.order());
        }
        match cl {
            Cols::Pixels => bias_relu_in_place(yc, bias, relu),
            Cols::Taps => yc.chunks_exact_mut(plane).enumerate().for_each(|(i, p)| {
                let b = bias[i % g.c];
                p.iter_mut().for_each(|v| *v = if relu { (*v + b).max(0.0) } else { *v + b });
            }),
        }
        recycle([cols]);
    });
    // SAFETY: each chunk was zeroed whole before the adds.
    unsafe { y.set_len(len) };
    (y, cl.order())
}

/// Gradients of [`conv_transpose2d`] given `dy` (and, after a ReLU, `y`) in `dy_order`; the
/// input gradient comes in `x_order`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_transpose2d_backward(
    g: &Geom,
    batch: usize,
    x: &[f32],
    x_order: Order,
    weight: &[f32],
    dy: &[f32],
    y: Option<&[f32]>,
    dy_order: Order,
    want: Wanted,
) -> ConvGrads {
    let ci = weight.len() / (g.kernel[0] * g.kernel[1] * g.c).max(1);
    let pl = Plan::new(g, batch, weight, ci);
    let Plan { n, taps, k, cols: cl, ref t, ref wk, bc, par } = pl;
    let out = cl.order();
    let dy = as_order(dy, dy_order, out, g.c, g.h, g.w);
    let y = y.map(|y| as_order(y, dy_order, out, g.c, g.h, g.w));
    let (x, xo) = grid_rows(x, x_order, ci, g);
    let (img, plane) = (g.image(), (g.h * g.w).max(1));
    let mut grads = backward_chunks(batch, bc, ci * n, want, ci * k, g.c, |chunk, nb, dxc| {
        let ld = nb * n;
        let range = chunk * bc * img..(chunk * bc + nb) * img;
        let mut buf = Vec::new();
        let dz = masked(&dy[range.clone()], y.as_ref().map(|y| &y[range]), &mut buf);
        let mut cols = scratch(k * ld);
        for b in 0..nb {
            gather(cl, t, g, &dz[b * img..][..img], out, &mut cols, ld, b * n);
        }
        if let Some(dxc) = dxc {
            gemm_uninit(ld, ci, k, dxc, ci, cl.mat(&cols, ld, k), M::new(wk, 1, k), par);
        }
        let mut dw = Vec::new();
        if want.w {
            let xc = &x[chunk * bc * n * ci..][..ld * ci];
            dw = vec![0.0f32; ci * k];
            gemm_into(ci, k, ld, &mut dw, k, M::new(xc, 1, ci), cl.mat(&cols, ld, k), false, par);
        }
        let db = match (want.b, cl) {
            (false, _) => Vec::new(),
            (true, Cols::Pixels) => col_sums(dz, g.c),
            (true, Cols::Taps) => {
                let mut sums = vec![0.0f64; g.c];
                for (i, p) in dz.chunks_exact(plane).enumerate() {
                    sums[i % g.c] += super::conv_kernels::row_sums(p, 1)[0];
                }
                sums
            }
        };
        recycle([cols, buf]);
        (dw, db)
    });
    grads.w = grads.w.map(|dw| weight_back(dw, g.c, taps, cl));
    if xo != x_order {
        grads.x = grads.x.map(|dx| as_order(&dx, xo, x_order, ci, g.ho, g.wo).into_owned());
    }
    grads
}
