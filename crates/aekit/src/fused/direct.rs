//! Direct convolution over channels-last images, for stride-1 layers with many input and few
//! output channels: the photo models' last layer (32-64 channels to 1-3; SRCNN's 32-to-1 5x5).
//!
//! Through im2col such a layer copies every input value kh·kw times into a matrix the gemm then
//! reads once for 1-3 output rows: nothing but memory traffic (SRCNN's last layer was most of
//! its im2col time, a fifth of its training). Here each output pixel is a dot product over the
//! taps and the channels, read in place from the zero-padded channels-last input (the layout of
//! the Winograd kernels); the gradients are the same loops' adjoints: dx scatters `dy · w` back
//! into the padded input gradient, dw gathers `dy · x` over the pixels.

use rayon::prelude::*;

use std::borrow::Cow;

use super::conv_kernels::{backward_chunks, recycle, relu_grad, row_sums, scratch, ConvGrads, Geom, Wanted};
use super::transpose::transpose;
use super::lanes::{load, simd, store, Simd};
use super::winograd::{accumulate_dx, pad_images, recycle_cow, Order, Out, Tiles};

/// Whether a layer runs here: stride 1, at most 4 output and at least 8 input channels. Off
/// with `AEKIT_WINOGRAD=0` (which selects im2col for every layer, for timing).
pub(crate) fn applies(g: &Geom, o: usize) -> bool {
    super::winograd::enabled() && g.stride == [1, 1] && (1..=4).contains(&o) && g.c >= 8 && g.ho > 0 && g.wo > 0
}

/// `[o, c, kh, kw]` → `[o, kh·kw, c]`: per output channel and tap, a run of channels.
fn channels_last_weight(w: &[f32], o: usize, c: usize, taps: usize) -> Vec<f32> {
    let mut wt = vec![0.0f32; o * taps * c];
    for (src, dst) in w.chunks_exact(c * taps).zip(wt.chunks_exact_mut(c * taps)).take(o) {
        transpose(c, taps, src, taps, None, dst, c);
    }
    wt
}

/// Output row `oh` of image `b`, every channel: `y[b][oc][oh][..]`. Per output pixel and
/// channel, one vector accumulator runs over the kh windows of kw·c contiguous channels-last
/// values; its lanes are stored whole and summed in a second loop. (Summing them in the first
/// loop, or keeping the O channels' accumulators side by side, made the compiler give up on
/// whole-vector code: 128-bit operations and stack spills, 10% of the photo denoiser's step.)
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn forward_row_o<const L: usize, const O: usize>(g: &Geom, ts: &Tiles, xp: &[f32], wt: &[f32], b: usize, oh: usize, bias: &[f32], relu: bool, y: Out) {
    let (c, [kh, kw]) = (g.c, g.kernel);
    let (ph, pw) = ts.padded();
    let (seg, stride) = (kw * c, kh * kw * c);
    let whole = seg / L * L;
    let mut part = scratch(g.wo * O * L);
    for (ow, lanes_out) in part.chunks_exact_mut(O * L).enumerate() {
        for (oc, out) in lanes_out.chunks_exact_mut(L).enumerate() {
            let mut acc = [0.0f32; L];
            for ki in 0..kh {
                let row = &xp[((b * ph + oh + ki) * pw + ow) * c..][..seg];
                let w = &wt[oc * stride + ki * seg..][..seg];
                for j in (0..whole).step_by(L) {
                    let (x, w) = (load::<L>(&row[j..], L), load::<L>(&w[j..], L));
                    for l in 0..L {
                        acc[l] += x[l] * w[l];
                    }
                }
                if whole < seg {
                    let (x, w) = (load::<L>(&row[whole..], seg - whole), load::<L>(&w[whole..], seg - whole));
                    for l in 0..L {
                        acc[l] += x[l] * w[l];
                    }
                }
            }
            store(out, &acc, L);
        }
    }
    for (ow, lanes_out) in part.chunks_exact(O * L).enumerate() {
        for (oc, acc) in lanes_out.chunks_exact(L).enumerate() {
            let mut v = bias[oc] + acc.iter().sum::<f32>();
            if relu {
                v = v.max(0.0);
            }
            // SAFETY: (b, oc, oh, ow) is inside the output `[batch, O, ho, wo]`, and only the
            // job of row (b, oh) writes it.
            unsafe { y.0.add(((b * O + oc) * g.ho + oh) * g.wo + ow).write(v) };
        }
    }
    recycle([part]);
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn forward_row_lanes<const L: usize>(g: &Geom, ts: &Tiles, xp: &[f32], wt: &[f32], o: usize, b: usize, oh: usize, bias: &[f32], relu: bool, y: Out) {
    match o {
        1 => forward_row_o::<L, 1>(g, ts, xp, wt, b, oh, bias, relu, y),
        2 => forward_row_o::<L, 2>(g, ts, xp, wt, b, oh, bias, relu, y),
        3 => forward_row_o::<L, 3>(g, ts, xp, wt, b, oh, bias, relu, y),
        _ => forward_row_o::<L, 4>(g, ts, xp, wt, b, oh, bias, relu, y),
    }
}

/// Image `b`'s share of the gradients, the forward's adjoints: for each output pixel with
/// Image `b`'s gradients, in gather form: each input-gradient pixel sums its taps
/// (`dx[r][s] = Σ_oc Σ_(ki,kj) dz[oc][r − ki][s − kj] · w[oc][ki][kj]`, from a zero-bordered copy
/// of dz, so no tap is tested) and is added into `dxp` once; each weight-gradient run of
/// L values sums over the pixels in registers (four runs at a time, sharing the loads of dz)
/// and is added into `dwt` once. The scatter form (every pixel adding its window into dx and
/// into dw) loaded and stored both per pixel and tap: 8% of an SRCNN step for its 32-to-1
/// last layer. An empty `dxp` or `dwt` is not wanted.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_image_o<const L: usize, const O: usize>(g: &Geom, ts: &Tiles, xp: &[f32], wt: &[f32], dz: &[f32], b: usize, dxp: &mut [f32], dwt: &mut [f32]) {
    let (c, [kh, kw]) = (g.c, g.kernel);
    let (ph, pw) = ts.padded();
    let (seg, stride, n) = (kw * c, kh * kw * c, g.ho * g.wo);
    if !dxp.is_empty() {
        // dz of this image inside a border of kh − 1 rows and kw − 1 columns of zeros.
        let (zh, zw) = (g.ho + 2 * (kh - 1), g.wo + 2 * (kw - 1));
        let mut dzp = scratch(O * zh * zw);
        dzp.fill(0.0);
        for oc in 0..O {
            for oh in 0..g.ho {
                let src = &dz[(b * O + oc) * n + oh * g.wo..][..g.wo];
                dzp[(oc * zh + oh + kh - 1) * zw + kw - 1..][..g.wo].copy_from_slice(src);
            }
        }
        for r in 0..ph {
            for q in 0..pw {
                let at = ((b * ph + r) * pw + q) * c;
                for j in (0..c).step_by(L) {
                    by_lanes!(L.min(c - j), L, |lanes| {
                        let mut acc = [0.0f32; L];
                        for oc in 0..O {
                            for ki in 0..kh {
                                // dzp row r − ki + kh − 1, columns q − kj + kw − 1 for kj = 0..kw.
                                let zrow = &dzp[(oc * zh + r + kh - 1 - ki) * zw + q..][..kw];
                                for kj in 0..kw {
                                    let d = zrow[kw - 1 - kj];
                                    let w = load::<L>(&wt[oc * stride + ki * seg + kj * c + j..], lanes);
                                    for l in 0..L {
                                        acc[l] += d * w[l];
                                    }
                                }
                            }
                        }
                        let mut dx = load::<L>(&dxp[at + j..], lanes);
                        for l in 0..L {
                            dx[l] += acc[l];
                        }
                        store(&mut dxp[at + j..], &dx, lanes);
                    });
                }
            }
        }
        recycle([dzp]);
    }
    if !dwt.is_empty() {
        // dwt[oc][ki][jj..] += Σ_(oh, ow) dz[oc][oh][ow] · x[oh + ki][ow][jj..]: along a kernel row the
        // kw taps' channels are one run of kw·c values of the padded input row.
        const RUNS: usize = 4;
        for oc in 0..O {
            let dzo = &dz[(b * O + oc) * n..][..n];
            for ki in 0..kh {
                let mut j0 = 0;
                while j0 < seg {
                    let mut acc = [[0.0f32; L]; RUNS];
                    let runs = RUNS.min((seg - j0).div_ceil(L));
                    let whole = j0 + RUNS * L <= seg;
                    for oh in 0..g.ho {
                        for ow in 0..g.wo {
                            let d = dzo[oh * g.wo + ow];
                            let at = ((b * ph + oh + ki) * pw + ow) * c + j0;
                            if whole {
                                for (u, a) in acc.iter_mut().enumerate() {
                                    let x = load::<L>(&xp[at + u * L..], L);
                                    for l in 0..L {
                                        a[l] += d * x[l];
                                    }
                                }
                            } else {
                                for (u, a) in acc.iter_mut().enumerate().take(runs) {
                                    let lanes = L.min(seg - j0 - u * L);
                                    let x = load::<L>(&xp[at + u * L..], lanes);
                                    for l in 0..L {
                                        a[l] += d * x[l];
                                    }
                                }
                            }
                        }
                    }
                    for (u, a) in acc.iter().enumerate().take(runs) {
                        let lanes = L.min(seg - j0 - u * L);
                        let k = oc * stride + ki * seg + j0 + u * L;
                        let mut w = load::<L>(&dwt[k..], lanes);
                        for l in 0..L {
                            w[l] += a[l];
                        }
                        store(&mut dwt[k..], &w, lanes);
                    }
                    j0 += runs * L;
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_image_lanes<const L: usize>(g: &Geom, ts: &Tiles, xp: &[f32], wt: &[f32], o: usize, dz: &[f32], b: usize, dxp: &mut [f32], dwt: &mut [f32]) {
    match o {
        1 => backward_image_o::<L, 1>(g, ts, xp, wt, dz, b, dxp, dwt),
        2 => backward_image_o::<L, 2>(g, ts, xp, wt, dz, b, dxp, dwt),
        3 => backward_image_o::<L, 3>(g, ts, xp, wt, dz, b, dxp, dwt),
        _ => backward_image_o::<L, 4>(g, ts, xp, wt, dz, b, dxp, dwt),
    }
}

dispatch!(forward_row, forward_row_lanes, (g: &Geom, ts: &Tiles, xp: &[f32], wt: &[f32], o: usize, b: usize, oh: usize, bias: &[f32], relu: bool, y: Out));
dispatch!(backward_image, backward_image_lanes, (g: &Geom, ts: &Tiles, xp: &[f32], wt: &[f32], o: usize, dz: &[f32], b: usize, dxp: &mut [f32], dwt: &mut [f32]));

/// Same contract as `conv_kernels::conv2d_ordered` for a layer [`applies`] accepted.
/// `x` is in `x_order`; the output is NCHW.
pub(crate) fn conv2d(g: &Geom, batch: usize, x: &[f32], x_order: Order, weight: &[f32], bias: &[f32], relu: bool) -> Vec<f32> {
    let o = bias.len();
    let ts = Tiles::unit(g);
    let xp = pad_images(g, &ts, x, 0, batch, x_order);
    let wt = channels_last_weight(weight, o, g.c, g.kernel[0] * g.kernel[1]);
    let len = batch * o * g.ho * g.wo;
    let mut y: Vec<f32> = Vec::with_capacity(len);
    let out = Out(y.as_mut_ptr());
    (0..batch * g.ho).into_par_iter().for_each(|r| forward_row(g, &ts, &xp, &wt, o, r / g.ho, r % g.ho, bias, relu, out));
    recycle_cow(xp);
    // SAFETY: the jobs cover every (image, row), and each wrote the row's pixels in every
    // output channel: all `len` values.
    unsafe { y.set_len(len) };
    y
}

/// Same contract as `conv_kernels::conv2d_backward_ordered` for a layer [`applies`] accepted; `x` and
/// the input gradient are in `x_order`, `dy` and `y` NCHW.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_backward(g: &Geom, batch: usize, x: &[f32], x_order: Order, weight: &[f32], o: usize, dy: &[f32], y: Option<&[f32]>, want: Wanted) -> ConvGrads {
    let (c, taps) = (g.c, g.kernel[0] * g.kernel[1]);
    let ts = Tiles::unit(g);
    let n = g.ho * g.wo;
    let wt = channels_last_weight(weight, o, c, taps);
    // Chunks of whole images, their number set by the batch alone (thread-count independent
    // sums, as in the other kernels).
    let bc = batch.div_ceil(16).max(1);
    let mut grads = backward_chunks(batch, bc, x_order.image_len(c, g.h, g.w), want, o * taps * c, o, |ci, nb, dxc| {
        let first = ci * bc;
        let range = first * o * n..(first + nb) * o * n;
        let mut masked = Vec::new();
        let dz = match y {
            Some(y) => {
                masked = scratch(nb * o * n);
                relu_grad(&dy[range.clone()], &y[range], &mut masked);
                &masked[..]
            }
            None => &dy[range],
        };
        let xp = if want.w { pad_images(g, &ts, x, first, nb, x_order) } else { Cow::Borrowed(&[][..]) };
        let dwt = accumulate_dx(g, &ts, x_order, nb, dxc, |dxp| {
            // An empty input gradient tells the kernel it is not wanted.
            let dxp = dxp.unwrap_or_default();
            let mut dwt = if want.w { vec![0.0f32; o * taps * c] } else { Vec::new() };
            for b in 0..nb {
                backward_image(g, &ts, &xp, &wt, o, dz, b, &mut *dxp, &mut dwt);
            }
            dwt
        });
        let mut db = vec![0.0f64; if want.b { o } else { 0 }];
        for img in dz.chunks_exact(o * n).filter(|_| want.b) {
            db.iter_mut().zip(row_sums(img, o)).for_each(|(d, s)| *d += s);
        }
        recycle([masked]);
        recycle_cow(xp);
        (dwt, db)
    });
    // [o, taps, c] → [o, c, kh, kw]
    grads.w = grads.w.map(|dwt| {
        let mut dw = vec![0.0f32; o * c * taps];
        for (src, dst) in dwt.chunks_exact(c * taps).zip(dw.chunks_exact_mut(c * taps)) {
            transpose(taps, c, src, c, None, dst, taps);
        }
        dw
    });
    grads
}
