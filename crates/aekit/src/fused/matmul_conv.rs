//! Convolution and transposed convolution as one matrix product between tensor reshapes, for
//! the GPU backends: `AEKIT_GPU_CONV=matmul` (off by default until it is timed on a GPU).
//!
//! Why: on an NVIDIA H200 under wgpu (Burn 0.22.1, `f32`), cubecl's per-kernel timing put 55% of
//! the photo denoiser's and 82% of the conv autoencoder's kernel time in Burn's direct
//! convolution kernel (BENCHMARKS.md, GPU): the forward convolution of a 48-channel layer ran at
//! 1.7 TFLOP/s, while the matrix products of the same step's gradients ran about 3x faster. And
//! Burn computes a transposed convolution's weight gradient as a convolution whose kernel is the
//! whole input image and whose batch is the output channels (one for an RGB or grey output
//! layer), which leaves the GPU almost idle (`conv_transpose2d_weight_grad_no_groups`).
//!
//! Here a convolution gathers its k·k shifted (strided) views of the padded input into columns
//! and multiplies them by the weight matrix (im2col as tensor operations); a transposed
//! convolution is the convolution of the zero-dilated input with the flipped, transposed kernel.
//! Every operation used (pad, strided slice, stack, reshape, flip, matmul) has a backward that is
//! again a copy or a matrix product, so both gradients become matrix products too.

use burn::prelude::*;
use burn::tensor::ops::PadMode;
use burn::tensor::Slice;

use super::conv::ConvSpec;

/// Whether the convolution wrappers use these on a device other than Flex: `AEKIT_GPU_CONV`
/// set to `matmul` (read once; a GPU device is refused for any value but `matmul` and `burn`, see
/// `device::wgpu`), and the fast paths not turned off (`AEKIT_FUSED=0`).
pub(crate) fn chosen() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| crate::device::gpu_conv_matmul().unwrap_or(false)) && super::enabled()
}

/// `conv2d(x, weight) + bias` for groups 1, dilation 1, and the stride, padding and output size
/// of `spec` (zero padding `spec.pad` before the first row and column, as much after as the
/// output needs).
///
/// # Shapes
/// `x` `[B, C, H, W]`, `weight` `[O, C, kh, kw]`, `bias` `[O]` → `[B, O, out_h, out_w]`
pub(crate) fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, spec: &ConvSpec) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let [o, _, kh, kw] = weight.dims();
    let ([sh, sw], [top, left], [ho, wo]) = (spec.stride, spec.pad, spec.out);
    // Rows and columns the last window reaches, padding included.
    let (need_h, need_w) = ((ho - 1) * sh + kh, (wo - 1) * sw + kw);
    let (bottom, right) = (need_h.saturating_sub(h + top), need_w.saturating_sub(w + left));
    let xp = if top + bottom + left + right > 0 { x.pad((left, right, top, bottom), PadMode::Constant(0.0)) } else { x };
    let taps: Vec<Tensor<4>> = (0..kh)
        .flat_map(|i| (0..kw).map(move |j| (i, j)))
        .map(|(i, j)| {
            xp.clone().slice([
                Slice::from(0..b),
                Slice::from(0..c),
                Slice::new(i as isize, Some((i + (ho - 1) * sh + 1) as isize), sh as isize),
                Slice::new(j as isize, Some((j + (wo - 1) * sw + 1) as isize), sw as isize),
            ])
        })
        .collect();
    // [B, C, kh·kw, ho, wo]: the tap index runs fastest after the channel, as the weight's
    // [O, C, kh, kw] flattens.
    let cols: Tensor<3> = Tensor::stack::<5>(taps, 2).reshape([b, c * kh * kw, ho * wo]);
    let y = weight.reshape([1, o, c * kh * kw]).matmul(cols).reshape([b, o, ho, wo]);
    match bias {
        Some(bias) => y + bias.reshape([1, o, 1, 1]),
        None => y,
    }
}

/// `conv_transpose2d(x, weight) + bias` for groups 1, dilation 1, and the stride, padding and
/// output size of `spec`: the convolution (stride 1) of `x` with `stride - 1` zeros between its
/// rows and columns and `kernel - 1 - padding` zeros around it, by the kernel flipped in both
/// directions with its two channel axes swapped.
///
/// # Shapes
/// `x` `[B, C, H, W]`, `weight` `[C, O, kh, kw]`, `bias` `[O]` → `[B, O, out_h, out_w]`
pub(crate) fn conv_transpose2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, spec: &ConvSpec) -> Tensor<4> {
    let [kh, kw] = spec.kernel;
    let [ph, pw] = spec.pad;
    // A padding of a transposed convolution beyond kernel - 1 crops the output: take the
    // convolution's own padding as 0 then and crop after.
    let (top, left) = ((kh - 1).saturating_sub(ph), (kw - 1).saturating_sub(pw));
    let (crop_h, crop_w) = (ph.saturating_sub(kh - 1), pw.saturating_sub(kw - 1));
    let xd = dilate(x, spec.stride);
    let flipped = weight.swap_dims(0, 1).flip([2, 3]);
    let [oh, ow] = spec.out;
    let inner = ConvSpec { kernel: spec.kernel, stride: [1, 1], pad: [top, left], out: [oh + crop_h, ow + crop_w], relu: false };
    let y = conv2d(xd, flipped, bias, &inner);
    if crop_h + crop_w == 0 {
        return y;
    }
    let [b, o, ..] = y.dims();
    y.slice([0..b, 0..o, crop_h..crop_h + oh, crop_w..crop_w + ow])
}

/// `x` with `s - 1` zero rows (columns) after each row (column) but the last.
///
/// # Shapes
/// `[B, C, H, W]` → `[B, C, (H - 1)·sh + 1, (W - 1)·sw + 1]`
fn dilate(x: Tensor<4>, [sh, sw]: [usize; 2]) -> Tensor<4> {
    spread(spread(x, 2, sh), 3, sw)
}

/// `x` with `s - 1` zeros after each entry but the last along axis `dim` (2 or 3): each entry
/// and its zeros side by side on a new axis, then merged.
fn spread(x: Tensor<4>, dim: usize, s: usize) -> Tensor<4> {
    if s <= 1 {
        return x;
    }
    let dims = x.dims();
    let mut zeros = [dims[0], dims[1], dims[2], dims[3], 0];
    zeros.copy_within(dim + 1..4, dim + 2);
    zeros[dim + 1] = s - 1;
    let mut merged = dims;
    merged[dim] *= s;
    let z = Tensor::<5>::zeros(zeros, &x.device());
    Tensor::cat(vec![x.unsqueeze_dim::<5>(dim + 1), z], dim + 1).reshape(merged).slice_dim(dim, 0..(dims[dim] - 1) * s + 1)
}

#[cfg(test)]
mod tests {
    //! Against Burn's own modules on the CPU (Flex, whose convolutions are Burn's and not
    //! aekit's kernels when called through the module's `forward`): values and the gradients of
    //! the input, the weight and the bias.
    use super::*;
    use crate::fused::conv::ConvModule;
    use crate::fused::tests::{max_rel_err, random, reseeded};
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::nn::PaddingConfig2d;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn close<const D: usize>(a: Tensor<D>, b: Tensor<D>, what: &str) {
        assert_eq!(a.dims(), b.dims(), "{what}: shapes");
        let err = max_rel_err(&a, &b);
        assert!(err < 1e-5, "{what}: max relative error {err}");
    }

    /// Runs `ours` and Burn's `forward` on the same input and weights, then compares the
    /// outputs and the gradients of a fixed random projection of them.
    fn check<M: ConvModule>(m: M, x_shape: [usize; 4], rng: &mut ChaCha8Rng, what: &str) {
        let device = Device::flex().autodiff();
        let x = random(rng, x_shape, -1.0, 1.0, &device).require_grad();
        let spec = m.spec(&x, false).expect("a valid geometry");
        let ours = if M::TRANSPOSED { conv_transpose2d(x.clone(), m.weight(), m.bias(), &spec) } else { conv2d(x.clone(), m.weight(), m.bias(), &spec) };
        let theirs = m.plain(x.clone());
        close(ours.clone(), theirs.clone(), &format!("{what}: output"));
        let proj = random(rng, theirs.dims(), -1.0, 1.0, &device);
        let g_ours = (ours * proj.clone()).sum().backward();
        let g_theirs = (theirs * proj).sum().backward();
        close(x.grad(&g_ours).unwrap(), x.grad(&g_theirs).unwrap(), &format!("{what}: input gradient"));
        close(m.weight().grad(&g_ours).unwrap(), m.weight().grad(&g_theirs).unwrap(), &format!("{what}: weight gradient"));
        if let Some(b) = m.bias() {
            close(b.grad(&g_ours).unwrap(), b.clone().grad(&g_theirs).unwrap(), &format!("{what}: bias gradient"));
        }
    }

    #[test]
    fn conv2d_matches_burn() {
        let device = Device::flex().autodiff();
        // (in, out, kernel, stride, padding, bias, input [B, C, H, W]): the models' layers (the
        // photo models' 3x3 stride 1, SRCNN's 9 and 5, the conv autoencoder's stride 2) and
        // uneven ones (same padding on an odd size, no padding, no bias).
        let cases = [
            (3, 8, 3, 1, PaddingConfig2d::Explicit(1, 1, 1, 1), true, [2, 3, 9, 7]),
            (1, 6, 3, 2, PaddingConfig2d::Explicit(1, 1, 1, 1), true, [3, 1, 28, 28]),
            (4, 5, 9, 1, PaddingConfig2d::Same, true, [1, 4, 13, 11]),
            (5, 3, 5, 1, PaddingConfig2d::Valid, false, [2, 5, 9, 10]),
            (2, 4, 3, 2, PaddingConfig2d::Same, true, [2, 2, 7, 9]),
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (i, (c, o, k, s, pad, bias, shape)) in cases.into_iter().enumerate() {
            let mut m = Conv2dConfig::new([c, o], [k, k]).with_stride([s, s]).with_padding(pad).with_bias(bias).init(&device);
            m.weight = reseeded(&mut rng, &m.weight, c * k * k, &device);
            m.bias = m.bias.as_ref().map(|b| reseeded(&mut rng, b, c * k * k, &device));
            check(m, shape, &mut rng, &format!("conv2d case {i}"));
        }
    }

    #[test]
    fn conv_transpose2d_matches_burn() {
        let device = Device::flex().autodiff();
        // (in, out, kernel, stride, padding, output padding, bias, input): the conv
        // autoencoder's decoder layers (3x3, stride 2, padding 1, output padding 1), and others.
        let cases = [
            (8, 4, 3, 2, 1, 1, true, [2, 8, 7, 7]),
            (4, 1, 3, 2, 1, 1, true, [3, 4, 14, 14]),
            (3, 5, 4, 2, 1, 0, false, [2, 3, 5, 6]),
            (2, 3, 3, 1, 0, 0, true, [1, 2, 6, 5]),
            (2, 2, 3, 3, 2, 1, true, [2, 2, 4, 4]),
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for (i, (c, o, k, s, p, op, bias, shape)) in cases.into_iter().enumerate() {
            let mut m = ConvTranspose2dConfig::new([c, o], [k, k])
                .with_stride([s, s])
                .with_padding([p, p])
                .with_padding_out([op, op])
                .with_bias(bias)
                .init(&device);
            m.weight = reseeded(&mut rng, &m.weight, c * k * k, &device);
            m.bias = m.bias.as_ref().map(|b| reseeded(&mut rng, b, c * k * k, &device));
            check(m, shape, &mut rng, &format!("conv_transpose2d case {i}"));
        }
    }
}
