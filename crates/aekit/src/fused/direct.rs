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

use super::conv_kernels::{backward_chunks, recycle, relu_grad, row_sums, scratch, ConvGrads, Geom, Wanted};
use super::transpose::transpose;
use super::lanes::{load, simd, store, Simd};
use super::winograd::{crop_images, pad_images, Out, Tiles};

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

/// Output row `oh` of image `b`, every channel: `y[b][oc][oh][..]`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn forward_row_lanes<const L: usize>(g: &Geom, ts: &Tiles, xp: &[f32], wt: &[f32], o: usize, b: usize, oh: usize, bias: &[f32], relu: bool, y: Out) {
    let (c, [kh, kw]) = (g.c, g.kernel);
    let (ph, pw) = ts.padded();
    let taps = kh * kw;
    for ow in 0..g.wo {
        for oc in 0..o {
            let mut acc = [0.0f32; L];
            for ki in 0..kh {
                let row = &xp[((b * ph + oh + ki) * pw + ow) * c..][..kw * c];
                let wrow = &wt[(oc * taps + ki * kw) * c..][..kw * c];
                for c0 in (0..kw * c).step_by(L) {
                    by_lanes!(L.min(kw * c - c0), L, |lanes| {
                        let (x, w) = (load::<L>(&row[c0..], lanes), load::<L>(&wrow[c0..], lanes));
                        for l in 0..L {
                            acc[l] += x[l] * w[l];
                        }
                    })
                }
            }
            let mut v = bias[oc] + acc.iter().sum::<f32>();
            if relu {
                v = v.max(0.0);
            }
            // SAFETY: (b, oc, oh, ow) is inside the output `[batch, o, ho, wo]`, and only the job
            // of row (b, oh) writes it.
            unsafe { y.0.add(((b * o + oc) * g.ho + oh) * g.wo + ow).write(v) };
        }
    }
}

/// One image row's share of the gradients: for each pixel of output row `oh` of chunk image `b`
/// and each output channel, `dxp[window] += d · w` and `dwt += d · x[window]` (`d` = dz).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_row_lanes<const L: usize>(g: &Geom, ts: &Tiles, xp: &[f32], wt: &[f32], o: usize, dz: &[f32], b: usize, oh: usize, dxp: &mut [f32], dwt: &mut [f32]) {
    let (c, [kh, kw]) = (g.c, g.kernel);
    let (ph, pw) = ts.padded();
    let (taps, n) = (kh * kw, g.ho * g.wo);
    for ow in 0..g.wo {
        for oc in 0..o {
            let d = dz[(b * o + oc) * n + oh * g.wo + ow];
            if d == 0.0 {
                continue;
            }
            for ki in 0..kh {
                let at = ((b * ph + oh + ki) * pw + ow) * c;
                let wrow = &wt[(oc * taps + ki * kw) * c..][..kw * c];
                for c0 in (0..kw * c).step_by(L) {
                    by_lanes!(L.min(kw * c - c0), L, |lanes| {
                        if !dxp.is_empty() {
                            let w = load::<L>(&wrow[c0..], lanes);
                            let dst = &mut dxp[at + c0..][..lanes];
                            dst.iter_mut().zip(&w).for_each(|(x, w)| *x += d * w);
                        }
                        if !dwt.is_empty() {
                            let x = load::<L>(&xp[at + c0..], lanes);
                            let mut acc = load::<L>(&dwt[(oc * taps + ki * kw) * c + c0..], lanes);
                            for l in 0..L {
                                acc[l] += d * x[l];
                            }
                            store(&mut dwt[(oc * taps + ki * kw) * c + c0..], &acc, lanes);
                        }
                    })
                }
            }
        }
    }
}

dispatch!(forward_row, forward_row_lanes, (g: &Geom, ts: &Tiles, xp: &[f32], wt: &[f32], o: usize, b: usize, oh: usize, bias: &[f32], relu: bool, y: Out));
dispatch!(backward_row, backward_row_lanes, (g: &Geom, ts: &Tiles, xp: &[f32], wt: &[f32], o: usize, dz: &[f32], b: usize, oh: usize, dxp: &mut [f32], dwt: &mut [f32]));

/// Same contract as `conv_kernels::conv2d` for a layer [`applies`] accepted.
pub(crate) fn conv2d(g: &Geom, batch: usize, x: &[f32], weight: &[f32], bias: &[f32], relu: bool) -> Vec<f32> {
    let o = bias.len();
    let ts = Tiles::unit(g);
    let xp = pad_images(g, &ts, x, 0, batch);
    let wt = channels_last_weight(weight, o, g.c, g.kernel[0] * g.kernel[1]);
    let len = batch * o * g.ho * g.wo;
    let mut y: Vec<f32> = Vec::with_capacity(len);
    let out = Out(y.as_mut_ptr());
    (0..batch * g.ho).into_par_iter().for_each(|r| forward_row(g, &ts, &xp, &wt, o, r / g.ho, r % g.ho, bias, relu, out));
    recycle([xp]);
    // SAFETY: the jobs cover every (image, row), and each wrote the row's pixels in every
    // output channel: all `len` values.
    unsafe { y.set_len(len) };
    y
}

/// Same contract as `conv_kernels::conv2d_backward` for a layer [`applies`] accepted.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_backward(g: &Geom, batch: usize, x: &[f32], weight: &[f32], o: usize, dy: &[f32], y: Option<&[f32]>, want: Wanted) -> ConvGrads {
    let (c, taps) = (g.c, g.kernel[0] * g.kernel[1]);
    let ts = Tiles::unit(g);
    let n = g.ho * g.wo;
    let wt = channels_last_weight(weight, o, c, taps);
    // Chunks of whole images, their number set by the batch alone (thread-count independent
    // sums, as in the other kernels).
    let bc = batch.div_ceil(16).max(1);
    let mut grads = backward_chunks(batch, bc, g.image(), want, o * taps * c, o, |ci, nb, dxc| {
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
        let xp = if want.w { pad_images(g, &ts, x, first, nb) } else { Vec::new() };
        let mut dxp = Vec::new();
        if dxc.is_some() {
            dxp = scratch(nb * ts.pixels() * c);
            dxp.fill(0.0);
        }
        let mut dwt = if want.w { vec![0.0f32; o * taps * c] } else { Vec::new() };
        for b in 0..nb {
            for oh in 0..g.ho {
                backward_row(g, &ts, &xp, &wt, o, dz, b, oh, &mut dxp, &mut dwt);
            }
        }
        if let Some(dxc) = dxc {
            crop_images(g, &ts, &dxp, dxc);
        }
        let mut db = vec![0.0f64; if want.b { o } else { 0 }];
        for img in dz.chunks_exact(o * n).filter(|_| want.b) {
            db.iter_mut().zip(row_sums(img, o)).for_each(|(d, s)| *d += s);
        }
        recycle([xp, dxp, masked]);
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
