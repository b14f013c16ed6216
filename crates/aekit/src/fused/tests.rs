//! Every fused operation against the plain Burn operations it replaces: values and gradients on
//! random inputs, odd shapes included (batch 1, sizes that are no multiple of 8, tensors large
//! enough to be split across threads).

use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
use burn::nn::PaddingConfig2d;
use burn::optim::{AdamConfig, Optimizer};
use burn::prelude::*;
use burn::tensor::activation::relu;
use burn::module::Param;
use burn::tensor::TensorData;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::FusedAdam;

pub(super) fn max_rel_err<const D: usize>(a: &Tensor<D>, b: &Tensor<D>) -> f32 {
    let a = a.clone().into_data().try_to_vec::<f32>().unwrap();
    let b = b.clone().into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(&b).map(|(x, y)| (x - y).abs() / scale).fold(0.0, f32::max)
}

/// Uniform values in [lo, hi) from the test's own seeded stream. `Tensor::random` draws from
/// the device's generator, which the tests running in parallel share: the data then depended on
/// the order the threads ran in, and now and then put a ReLU input so near zero that the two
/// paths' roundings fell on either side of the kink (a failure about once in 20 runs).
pub(super) fn random<const D: usize>(rng: &mut ChaCha8Rng, shape: [usize; D], lo: f32, hi: f32, device: &Device) -> Tensor<D> {
    let n = shape.iter().product();
    let v: Vec<f32> = (0..n).map(|_| rng.random_range(lo..hi)).collect();
    Tensor::from_data(TensorData::new(v, shape), device)
}

/// A parameter of `p`'s shape drawn by [`random`], uniform in ±1/sqrt(fan-in) (the weight's
/// values per output beyond the first axis; a bias gets `fan_in`).
pub(super) fn reseeded<const D: usize>(rng: &mut ChaCha8Rng, p: &Param<Tensor<D>>, fan_in: usize, device: &Device) -> Param<Tensor<D>> {
    let k = 1.0 / (fan_in as f32).sqrt();
    Param::from_tensor(random(rng, p.val().dims(), -k, k, device))
}

#[test]
fn fused_adam_takes_burns_steps() {
    let device = Device::flex();
    let mut rng = crate::rng::stream(7, 0);
    for (shape, wd) in [([1, 1], None), ([3, 5], Some(0.01)), ([37, 1000], None), ([129, 131], Some(1e-4))] {
        let fused = FusedAdam::new(1e-8, wd);
        let mut cfg = AdamConfig::new().with_epsilon(1e-8);
        if let Some(w) = wd {
            cfg = cfg.with_weight_decay(Some(burn::optim::decay::WeightDecayConfig::new(w)));
        }
        let plain = cfg.build();
        let mut p_f = random(&mut rng, shape, -1.0, 1.0, &device);
        let mut p_p = p_f.clone();
        let (mut s_f, mut s_p) = (None, None);
        for step in 0..5 {
            let g = random(&mut rng, shape, -1.0, 1.0, &device) * (step as f32 + 1.0);
            let (np, ns) = fused.step(1e-2, p_f, g.clone(), s_f);
            (p_f, s_f) = (np, ns);
            let (np, ns) = plain.step(1e-2, p_p, g, s_p);
            (p_p, s_p) = (np, ns);
            let err = max_rel_err(&p_f, &p_p);
            assert!(err < 1e-6, "shape {shape:?}, step {step}: parameters differ by {err}");
        }
        let (sf, sp) = (s_f.unwrap().momentum, s_p.unwrap().momentum);
        assert_eq!(sf.time, sp.time);
        assert!(max_rel_err(&sf.moment_1, &sp.moment_1) < 1e-6);
        assert!(max_rel_err(&sf.moment_2, &sp.moment_2) < 1e-6);
    }
}

/// The plain objective of `Variational::negative_elbo` for a Bernoulli likelihood.
fn plain_neg_elbo(logits: Tensor<2>, x: Tensor<2>, mu: Tensor<2>, logvar: Tensor<2>, beta: f64) -> Tensor<1> {
    let rec = crate::loss::bce_with_logits_values(logits, x).sum_dim(1).squeeze_dim::<1>(1);
    let kl = ((logvar.clone() + 1.0 - mu.square() - logvar.exp()) * -0.5).sum_dim(1).squeeze_dim::<1>(1);
    (rec + kl * beta).mean()
}

#[test]
fn fused_bernoulli_elbo_matches_plain_values_and_gradients() {
    let device = Device::flex().autodiff();
    let mut rng = crate::rng::stream(11, 0);
    for (b, p, l, beta) in [(1, 7, 3, 1.0), (5, 37, 11, 1.0), (128, 784, 20, 1.0), (3, 1001, 2, 0.25)] {
        // Logits wide enough to reach both saturated ends of the sigmoid.
        let logits = random(&mut rng, [b, p], -30.0, 30.0, &device);
        let x = random(&mut rng, [b, p], 0.0, 1.0, &device);
        let mu = random(&mut rng, [b, l], -2.0, 2.0, &device);
        let logvar = random(&mut rng, [b, l], -3.0, 1.0, &device);
        let run = |fused: bool| {
            let (lg, m, lv) = (logits.clone().require_grad(), mu.clone().require_grad(), logvar.clone().require_grad());
            let loss = if fused {
                super::bernoulli_neg_elbo(&lg, &x, &m, &lv, beta).expect("Flex, f32")
            } else {
                plain_neg_elbo(lg.clone(), x.clone(), m.clone(), lv.clone(), beta)
            };
            // A non-unit upstream gradient checks the chain rule, as the sum reduction does.
            let grads = (loss.clone() * 3.0).backward();
            let value = loss.into_scalar::<f32>();
            (value, lg.grad(&grads).unwrap(), m.grad(&grads).unwrap(), lv.grad(&grads).unwrap())
        };
        let (vf, gl_f, gm_f, gv_f) = run(true);
        let (vp, gl_p, gm_p, gv_p) = run(false);
        assert!(((vf - vp) / vp).abs() < 1e-5, "({b}, {p}, {l}): value {vf} vs {vp}");
        for (name, f, q) in [("logits", gl_f, gl_p), ("mu", gm_f, gm_p), ("logvar", gv_f, gv_p)] {
            let err = max_rel_err(&f, &q);
            assert!(err < 1e-4, "({b}, {p}, {l}): gradient of {name} differs by {err}");
        }
    }
}

#[test]
fn tensors_off_flex_or_not_f32_take_the_plain_path() {
    let device = Device::flex();
    let t = Tensor::<2>::zeros([2, 3], &device);
    assert!(super::bernoulli_neg_elbo(&t, &t, &t, &t, 1.0).is_some());
    let t64 = t.clone().cast(burn::tensor::DType::F64);
    assert!(super::bernoulli_neg_elbo(&t64, &t64, &t64, &t64, 1.0).is_none());
}

#[test]
fn fused_bce_matches_plain_value_and_gradient() {
    logits_loss_matches_plain(13, 25.0, |l, x| super::bce_logits_mean(l, x), |l, x| crate::loss::bce_with_logits_values(l, x).mean());
}

#[test]
fn fused_sigmoid_mse_matches_plain_value_and_gradient() {
    logits_loss_matches_plain(31, 12.0, |l, x| super::sigmoid_mse_mean(l, x), |l, x| crate::loss::mse(burn::tensor::activation::sigmoid(l), x));
}

/// A fused per-value loss on logits in (−range, range) against its plain Burn formula: value
/// within 1e-5 and gradient within 1e-4, relative, for three shapes.
fn logits_loss_matches_plain(
    seed: u64,
    range: f32,
    fused: impl Fn(&Tensor<2>, &Tensor<2>) -> Option<Tensor<1>>,
    plain: impl Fn(Tensor<2>, Tensor<2>) -> Tensor<1>,
) {
    let device = Device::flex().autodiff();
    let mut rng = crate::rng::stream(seed, 0);
    for (b, p) in [(1, 5), (7, 33), (128, 784)] {
        let logits = random(&mut rng, [b, p], -range, range, &device);
        let x = random(&mut rng, [b, p], 0.0, 1.0, &device);
        let run = |use_fused: bool| {
            let lg = logits.clone().require_grad();
            let loss = if use_fused { fused(&lg, &x).expect("Flex, f32") } else { plain(lg.clone(), x.clone()) };
            let grads = (loss.clone() * 2.0).backward();
            (loss.into_scalar::<f32>(), lg.grad(&grads).unwrap())
        };
        let ((vf, gf), (vp, gp)) = (run(true), run(false));
        assert!(((vf - vp) / vp).abs() < 1e-5, "({b}, {p}): value {vf} vs {vp}");
        let err = max_rel_err(&gf, &gp);
        assert!(err < 1e-4, "({b}, {p}): gradient differs by {err}");
    }
}

/// Runs `forward` on `x` with and without the fused kernels (the module's own `forward` is the
/// plain path) and compares the output and the gradients of the input, weight and bias, under
/// a random upstream gradient.
fn check_conv<M>(
    rng: &mut ChaCha8Rng,
    case: &str,
    module: &M,
    x: Tensor<4>,
    fused: impl Fn(&M, Tensor<4>) -> Tensor<4>,
    plain: impl Fn(&M, Tensor<4>) -> Tensor<4>,
    params: impl Fn(&M) -> (Tensor<4>, Tensor<1>),
) {
    let (y0f, y0p) = (fused(module, x.clone()), plain(module, x.clone()));
    let shape = y0p.dims();
    // Outputs that the two paths' roundings put on either side of zero (a ReLU's kink, or an
    // output of exactly zero either way) have a gradient that is right either way: 1 on one path,
    // 0 on the other. The upstream gradient is zeroed there, and at most 1 in 10,000 outputs
    // may be such (Winograd's 8x8 transforms round ~1e-5 of the output's scale).
    let (a, b) = (y0f.into_data().try_to_vec::<f32>().unwrap(), y0p.into_data().try_to_vec::<f32>().unwrap());
    let kink: Vec<f32> = a.iter().zip(&b).map(|(f, p)| if (*f > 0.0) != (*p > 0.0) { 0.0 } else { 1.0 }).collect();
    let flips = kink.iter().filter(|k| **k == 0.0).count();
    assert!(flips * 10_000 <= kink.len(), "{case}: {flips} of {} outputs change sign between the paths", kink.len());
    let r = random(rng, shape, -1.0, 1.0, &x.device()) * Tensor::<1>::from_data(kink.as_slice(), &x.device()).reshape(shape);
    let run = |f: &dyn Fn(&M, Tensor<4>) -> Tensor<4>| {
        let x = x.clone().require_grad();
        let y = f(module, x.clone());
        let grads = (y.clone() * r.clone()).sum().backward();
        let (w, b) = params(module);
        (y, x.grad(&grads).unwrap(), w.grad(&grads).unwrap(), b.grad(&grads).unwrap())
    };
    let (yf, dxf, dwf, dbf) = run(&fused);
    let (yp, dxp, dwp, dbp) = run(&plain);
    assert_eq!(yf.dims(), yp.dims(), "{case}: output shape");
    let errs = [
        ("output", max_rel_err(&yf, &yp)),
        ("input gradient", max_rel_err(&dxf, &dxp)),
        ("weight gradient", max_rel_err(&dwf, &dwp)),
        ("bias gradient", max_rel_err(&dbf.unsqueeze::<4>(), &dbp.unsqueeze::<4>())),
    ];
    for (what, err) in errs {
        assert!(err < 1e-4, "{case}: {what} differs by {err}");
    }
}

#[test]
fn fused_conv2d_matches_plain_values_and_gradients() {
    let device = Device::flex().autodiff();
    let mut rng = crate::rng::stream(17, 0);
    // (batch, in, out, height, width, kernel, stride, padding)
    let cases = [
        (1, 1, 3, 5, 7, [3, 3], [1, 1], PaddingConfig2d::Explicit(1, 1, 1, 1)),
        (5, 3, 10, 9, 11, [3, 3], [2, 2], PaddingConfig2d::Explicit(1, 1, 1, 1)),
        (7, 2, 5, 8, 6, [3, 2], [2, 1], PaddingConfig2d::Valid),
        (3, 4, 6, 7, 7, [5, 5], [1, 1], PaddingConfig2d::Same),
        (4, 3, 7, 10, 9, [3, 3], [2, 2], PaddingConfig2d::Same),
        (2, 5, 9, 6, 8, [3, 3], [1, 2], PaddingConfig2d::Explicit(0, 1, 2, 1)),
        // Large enough for many chunks across both threads (the conv autoencoder's second layer).
        (130, 32, 64, 14, 14, [3, 3], [2, 2], PaddingConfig2d::Explicit(1, 1, 1, 1)),
        // Winograd layers (stride 1, 3x3 or 5x5, 16+ channels): the photo models' and SRCNN's,
        // outputs that are no multiple of the tile, smaller than one tile, and more than 16
        // images (several backward chunks).
        (4, 48, 48, 21, 19, [3, 3], [1, 1], PaddingConfig2d::Same),
        (3, 64, 32, 13, 17, [5, 5], [1, 1], PaddingConfig2d::Same),
        // SRCNN's middle layer (F(4, 5), tiles covering the output exactly).
        (2, 64, 32, 28, 28, [5, 5], [1, 1], PaddingConfig2d::Same),
        (2, 16, 24, 9, 10, [3, 3], [1, 1], PaddingConfig2d::Valid),
        (1, 32, 16, 3, 2, [3, 3], [1, 1], PaddingConfig2d::Explicit(1, 1, 1, 1)),
        (35, 16, 16, 6, 7, [5, 5], [1, 1], PaddingConfig2d::Explicit(2, 1, 0, 2)),
        // Direct channels-last layers (stride 1, 8+ input and 1-4 output channels): SRCNN's
        // last layer, the photo denoiser's, a non-square kernel, more than 16 images.
        (4, 32, 1, 13, 11, [5, 5], [1, 1], PaddingConfig2d::Same),
        (3, 48, 3, 10, 9, [3, 3], [1, 1], PaddingConfig2d::Explicit(1, 1, 1, 1)),
        (2, 9, 2, 6, 8, [3, 5], [1, 1], PaddingConfig2d::Valid),
        (18, 20, 4, 5, 4, [3, 3], [1, 1], PaddingConfig2d::Explicit(0, 2, 1, 1)),
        // Channels-last im2col (8+ input channels, neither Winograd nor direct): uneven
        // padding, a stride larger than the kernel's reach of 1, windows past both edges.
        (6, 9, 5, 9, 7, [3, 2], [2, 1], PaddingConfig2d::Explicit(1, 0, 2, 1)),
        (3, 12, 7, 10, 9, [4, 4], [3, 3], PaddingConfig2d::Valid),
        (2, 8, 6, 5, 5, [5, 5], [2, 2], PaddingConfig2d::Explicit(3, 3, 3, 3)),
    ];
    for (b, ci, co, h, w, k, s, pad) in cases {
        let case = format!("conv2d {b}x{ci}x{h}x{w} -> {co}, kernel {k:?}, stride {s:?}, {pad:?}");
        let mut conv = Conv2dConfig::new([ci, co], k).with_stride(s).with_padding(pad).init(&device);
        let fan_in = ci * k[0] * k[1];
        conv.weight = reseeded(&mut rng, &conv.weight, fan_in, &device);
        conv.bias = conv.bias.as_ref().map(|b| reseeded(&mut rng, b, fan_in, &device));
        let x = random(&mut rng, [b, ci, h, w], -1.0, 1.0, &device);
        let params = |m: &burn::nn::conv::Conv2d| (m.weight.val(), m.bias.as_ref().unwrap().val());
        check_conv(&mut rng, &case, &conv, x.clone(), |m, x| super::conv2d(m, x), |m, x| m.forward(x), params);
        let case = format!("{case}, ReLU");
        check_conv(&mut rng, &case, &conv, x, |m, x| super::conv2d_relu(m, x), |m, x| relu(m.forward(x)), params);
    }
}

#[test]
fn fused_conv_transpose2d_matches_plain_values_and_gradients() {
    let device = Device::flex().autodiff();
    let mut rng = crate::rng::stream(19, 0);
    // (batch, in, out, height, width, kernel, stride, padding, output padding)
    let cases = [
        (1, 3, 2, 4, 5, [3, 3], [2, 2], [1, 1], [1, 1]),
        (6, 5, 3, 7, 9, [3, 2], [2, 3], [1, 0], [1, 2]),
        (3, 4, 6, 5, 5, [3, 3], [1, 1], [0, 0], [0, 0]),
        (2, 7, 5, 3, 6, [4, 4], [2, 2], [1, 1], [0, 0]),
        (130, 64, 32, 7, 7, [3, 3], [2, 2], [1, 1], [1, 1]),
        // Channels-last (8+ output channels), odd shapes; and a one-channel grid (NCHW and
        // channels-last are the same values).
        (5, 10, 9, 4, 6, [3, 3], [2, 2], [1, 1], [1, 1]),
        (3, 6, 12, 5, 3, [4, 3], [3, 2], [1, 0], [2, 1]),
        (4, 1, 8, 6, 5, [3, 3], [2, 2], [0, 1], [1, 0]),
    ];
    for (b, ci, co, h, w, k, s, p, op) in cases {
        let case = format!("conv_transpose2d {b}x{ci}x{h}x{w} -> {co}, kernel {k:?}, stride {s:?}, padding {p:?}/{op:?}");
        let mut conv = ConvTranspose2dConfig::new([ci, co], k).with_stride(s).with_padding(p).with_padding_out(op).init(&device);
        let fan_in = co * k[0] * k[1];
        conv.weight = reseeded(&mut rng, &conv.weight, fan_in, &device);
        conv.bias = conv.bias.as_ref().map(|b| reseeded(&mut rng, b, fan_in, &device));
        let x = random(&mut rng, [b, ci, h, w], -1.0, 1.0, &device);
        let params = |m: &burn::nn::conv::ConvTranspose2d| (m.weight.val(), m.bias.as_ref().unwrap().val());
        check_conv(&mut rng, &case, &conv, x.clone(), |m, x| super::conv_transpose2d(m, x), |m, x| m.forward(x), params);
        let case = format!("{case}, ReLU");
        check_conv(&mut rng, &case, &conv, x, |m, x| super::conv_transpose2d_relu(m, x), |m, x| relu(m.forward(x)), params);
    }
}


/// Winograd layers whose tiles cover the output exactly hand it on channels-last in a zero
/// border of their padding (a narrowed, permuted view, `winograd::Order`). A stack that passes
/// such outputs to every kind of consumer — Winograd layers with the same padding (read in
/// place) and others (read through a copy), the direct kernel, an im2col layer, a transposed
/// convolution, a slice of it and plain Burn operations, one tensor feeding seven of them so that their
/// gradients in all orders are summed — against the modules' own forward: values and every
/// gradient.
#[test]
fn channels_last_handoffs_match_plain() {
    use burn::nn::conv::{Conv2d, ConvTranspose2d};
    let device = Device::flex().autodiff();
    let mut rng = crate::rng::stream(23, 0);
    let mut conv_k = |ci: usize, co: usize, s: usize, k: usize, p: usize| {
        let p = PaddingConfig2d::Explicit(p, p, p, p);
        let mut m = Conv2dConfig::new([ci, co], [k, k]).with_stride([s, s]).with_padding(p).init(&device);
        m.weight = reseeded(&mut rng, &m.weight, ci * k * k, &device);
        m.bias = m.bias.as_ref().map(|b| reseeded(&mut rng, b, ci * k * k, &device));
        m
    };
    let w5 = conv_k(24, 16, 1, 5, 2); // Winograd F(4, 5), padding 2: reads the 1-pixel border through a copy
    // Winograd without padding: its tiles' padded size matches the 1-pixel border, its padding not.
    let wv = conv_k(24, 16, 1, 3, 0);
    // 5x5, padding 2, on a centred 6x6 slice of the 8x8 output: the slice's strides are those of
    // a 2-pixel border, but the pixels around it are real, not padding. F(2, 5): its tiles cover
    // 6x6 exactly, F(4, 5)'s would not.
    let w5s = conv_k(24, 16, 1, 5, 2);
    let mut conv = |ci: usize, co: usize, s: usize| conv_k(ci, co, s, 3, 1);
    let w1 = conv(16, 24, 1); // Winograd, 8x8: two whole tiles a side, channels-last out
    let w2 = conv(24, 24, 1); // Winograd, channels-last in and out
    let head = conv(24, 3, 1); // the direct kernel, channels-last in
    let down = conv(24, 8, 2); // im2col (stride 2), channels-last in
    let w3 = conv(24, 16, 1); // Winograd after plain Burn operations on channels-last tensors
    let mut up: ConvTranspose2d = ConvTranspose2dConfig::new([24, 4], [3, 3]).with_stride([2, 2]).with_padding([1, 1]).with_padding_out([1, 1]).init(&device);
    up.weight = reseeded(&mut rng, &up.weight, 36, &device);
    up.bias = up.bias.as_ref().map(|b| reseeded(&mut rng, b, 36, &device));
    let x = random(&mut rng, [18, 16, 8, 8], -1.0, 1.0, &device);
    let net = |fused: bool, x: Tensor<4>| -> Vec<Tensor<4>> {
        let c = |m: &Conv2d, x: Tensor<4>, r: bool| match (fused, r) {
            (true, true) => super::conv2d_relu(m, x),
            (true, false) => super::conv2d(m, x),
            (false, true) => relu(m.forward(x)),
            (false, false) => m.forward(x),
        };
        let h1 = c(&w1, x, true);
        let h2 = c(&w2, h1.clone(), true);
        let u = if fused { super::conv_transpose2d(&up, h2.clone()) } else { up.forward(h2.clone()) };
        vec![c(&head, h2.clone(), false), c(&down, h2.clone(), true), u, c(&w5, h2.clone(), true), c(&wv, h2.clone(), false), c(&w5s, h2.clone().slice([0..18, 0..24, 1..7, 1..7]), false), c(&w3, h2 * 0.5 + h1, false)]
    };
    let shapes: Vec<[usize; 4]> = net(false, x.clone()).iter().map(|y| y.dims()).collect();
    let r: Vec<Tensor<4>> = shapes.iter().map(|s| random(&mut rng, *s, -1.0, 1.0, &device)).collect();
    let run = |fused: bool| {
        let x = x.clone().require_grad();
        let ys = net(fused, x.clone());
        let loss = ys.iter().zip(&r).map(|(y, r)| (y.clone() * r.clone()).sum()).reduce(|a, b| a + b).unwrap();
        let grads = loss.backward();
        let mut out: Vec<(String, Tensor<4>)> = ys.into_iter().enumerate().map(|(i, y)| (format!("output {i}"), y)).collect();
        out.push(("input gradient".into(), x.grad(&grads).unwrap()));
        for (name, m) in [("w1", &w1), ("w2", &w2), ("head", &head), ("down", &down), ("w3", &w3), ("w5", &w5), ("wv", &wv), ("w5s", &w5s)] {
            out.push((format!("{name} weight gradient"), m.weight.val().grad(&grads).unwrap()));
            out.push((format!("{name} bias gradient"), m.bias.as_ref().unwrap().val().grad(&grads).unwrap().unsqueeze()));
        }
        out.push(("up weight gradient".into(), up.weight.val().grad(&grads).unwrap()));
        out
    };
    for ((what, f), (_, p)) in run(true).iter().zip(run(false)) {
        assert_eq!(f.dims(), p.dims(), "{what}: shape");
        let err = max_rel_err(f, &p);
        assert!(err < 1e-4, "{what} differs by {err}");
    }
}

/// The conv autoencoder's shape of stack through the channels-last im2col kernels: a 1-channel
/// image down two stride-2 layers and up two transposed ones, each handing the next a
/// channels-last tensor (the last returns NCHW, one channel), against the modules' own forward:
/// values and every gradient.
#[test]
fn channels_last_im2col_stack_matches_plain() {
    use burn::nn::conv::{Conv2d, ConvTranspose2d};
    let device = Device::flex().autodiff();
    let mut rng = crate::rng::stream(29, 0);
    let mut down = |ci: usize, co: usize| -> Conv2d {
        let p = PaddingConfig2d::Explicit(1, 1, 1, 1);
        let mut m = Conv2dConfig::new([ci, co], [3, 3]).with_stride([2, 2]).with_padding(p).init(&device);
        m.weight = reseeded(&mut rng, &m.weight, ci * 9, &device);
        m.bias = m.bias.as_ref().map(|b| reseeded(&mut rng, b, ci * 9, &device));
        m
    };
    let (c1, c2) = (down(1, 16), down(16, 24));
    let mut up = |ci: usize, co: usize| -> ConvTranspose2d {
        let mut m = ConvTranspose2dConfig::new([ci, co], [3, 3]).with_stride([2, 2]).with_padding([1, 1]).with_padding_out([1, 1]).init(&device);
        m.weight = reseeded(&mut rng, &m.weight, co * 9, &device);
        m.bias = m.bias.as_ref().map(|b| reseeded(&mut rng, b, co * 9, &device));
        m
    };
    let (d1, d2) = (up(24, 16), up(16, 1));
    let x = random(&mut rng, [9, 1, 12, 12], 0.0, 1.0, &device);
    let r = random(&mut rng, [9, 1, 12, 12], -1.0, 1.0, &device);
    let run = |fused: bool| {
        let x = x.clone().require_grad();
        let y = if fused {
            let h = super::conv2d_relu(&c2, super::conv2d_relu(&c1, x.clone()));
            super::conv_transpose2d(&d2, super::conv_transpose2d_relu(&d1, h))
        } else {
            d2.forward(relu(d1.forward(relu(c2.forward(relu(c1.forward(x.clone())))))))
        };
        let grads = (y.clone() * r.clone()).sum().backward();
        let mut out = vec![("output".to_string(), y), ("input gradient".into(), x.grad(&grads).unwrap())];
        for (name, w) in [("c1", c1.weight.val()), ("c2", c2.weight.val()), ("d1", d1.weight.val()), ("d2", d2.weight.val())] {
            out.push((format!("{name} weight gradient"), w.grad(&grads).unwrap()));
        }
        for (name, b) in [("c1", &c1.bias), ("c2", &c2.bias), ("d1", &d1.bias), ("d2", &d2.bias)] {
            out.push((format!("{name} bias gradient"), b.as_ref().unwrap().val().grad(&grads).unwrap().unsqueeze()));
        }
        out
    };
    for ((what, f), (_, p)) in run(true).iter().zip(run(false)) {
        assert_eq!(f.dims(), p.dims(), "{what}: shape");
        let err = max_rel_err(f, &p);
        assert!(err < 1e-4, "{what} differs by {err}");
    }
}

/// Set in the child processes of [`narrower_vector_units_pass_the_fused_tests`] to the unit
/// they were asked to run.
const SIMD_CHILD: &str = "AEKIT_TEST_SIMD_CHILD";

/// The AVX2 and baseline builds of the kernels (what a CPU without AVX-512 runs; the baseline is
/// also the NEON build's code) pass the same fused tests: this binary runs every `fused::` test
/// again in child processes with `AEKIT_SIMD` lowered, since the unit is chosen once per process.
#[test]
fn narrower_vector_units_pass_the_fused_tests() {
    if std::env::var_os(SIMD_CHILD).is_some() {
        return; // in a child: the others are what it runs
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    for unit in ["avx2", "base"] {
        let out = std::process::Command::new(&exe)
            .args(["fused::", "--test-threads=2"])
            .env("AEKIT_SIMD", unit)
            .env(SIMD_CHILD, unit)
            .output()
            .expect("runs the test binary again");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "AEKIT_SIMD={unit}: the fused tests failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let passed = stdout
            .lines()
            .find_map(|l| l.strip_prefix("test result: ok. "))
            .and_then(|r| r.split(' ').next()?.parse::<usize>().ok())
            .unwrap_or(0);
        assert!(passed >= 20, "AEKIT_SIMD={unit}: {passed} fused tests passed, expected every one (20 or more):\n{stdout}");
        assert!(stdout.contains("fused::tests::simd_is_the_one_asked_for ... ok"), "AEKIT_SIMD={unit}: the unit check did not run:\n{stdout}");
    }
}

/// The unit the kernels use: in a child of the test above the one it asked for (or a narrower
/// one, on a CPU without it); otherwise the widest the CPU has, unless `AEKIT_SIMD` lowers it.
#[test]
fn simd_is_the_one_asked_for() {
    use super::lanes::{detected, simd, Simd};
    match std::env::var(SIMD_CHILD).as_deref() {
        Ok("avx2") => assert_eq!(simd(), detected().min(Simd::Avx2)),
        Ok("base") => assert_eq!(simd(), Simd::Base),
        Ok(other) => panic!("{SIMD_CHILD}={other}: not a unit this test asks for"),
        Err(_) if std::env::var_os("AEKIT_SIMD").is_none() => assert_eq!(simd(), detected()),
        Err(_) => assert!(simd() <= detected()),
    }
}
