//! Where a conv model's training step goes, through the fused kernels: each layer of aekit's
//! default `--model conv` (MNIST, batch 128) timed alone, forward and forward + backward; with
//! `dncnn`, the photo denoiser's whole stack (3 -> 48, six 48 -> 48, 48 -> 3, 3x3, ReLU, global
//! residual; batch 16 of 48x48 RGB crops); with `srcnn`, SRCNN 9-5-5 (64 and 32 channels; batch
//! 128 of 28x28). A profiling aid for the convolution kernels (issue
//! 18), not a benchmark: the side-by-side figures against PyTorch come from `bench/conv_ae` and
//! `bench/conv_speed`.
//!
//!   cargo build --release --examples && target/release/examples/conv_layers [REPS] [dncnn|srcnn]
//!
//! Prints one line per layer (or one for the stack): median milliseconds over REPS (default 15)
//! after two warm-ups.

use std::time::Instant;

use aekit::fused;
use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
use burn::nn::PaddingConfig2d;
use burn::prelude::*;
use burn::tensor::Distribution;

// The allocator of the `aekit` binary: glibc's unmaps large freed buffers, and the TLB shootdowns
// that follow dominated this example's profile where the program shows none.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<F: FnMut()>(reps: usize, mut f: F) -> f64 {
    f();
    f();
    median(
        (0..reps)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() {
    let reps: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(15);
    let device = Device::flex().autodiff();
    device.seed(0);
    if std::env::args().nth(2).as_deref() == Some("dncnn") {
        let same = |ci, co| Conv2dConfig::new([ci, co], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
        let body: Vec<_> = std::iter::once(same(3, 48)).chain((0..6).map(|_| same(48, 48))).collect();
        let head = same(48, 3);
        let x = Tensor::<4>::random([16, 3, 48, 48], Distribution::Uniform(0.0, 1.0), &device);
        let step = || {
            let h = body.iter().fold(x.clone(), |h, c| fused::conv2d_relu(c, h));
            let y = x.clone() + fused::conv2d(&head, h);
            drop(y.powi_scalar(2).mean().backward());
        };
        println!("dncnn d8 w48, batch 16 of 48x48: forward+backward {:7.3} ms", time(reps, step));
        return;
    }
    if std::env::args().nth(2).as_deref() == Some("srcnn") {
        let layer = |ci, co, k: usize| Conv2dConfig::new([ci, co], [k, k]).with_padding(PaddingConfig2d::Explicit(k / 2, k / 2, k / 2, k / 2)).init(&device);
        let (l1, l2, l3) = (layer(1, 64, 9), layer(64, 32, 5), layer(32, 1, 5));
        let x = Tensor::<4>::random([128, 1, 28, 28], Distribution::Uniform(0.0, 1.0), &device);
        let step = || {
            let h = fused::conv2d_relu(&l2, fused::conv2d_relu(&l1, x.clone()));
            let y = fused::conv2d(&l3, h);
            drop((y - x.clone()).powi_scalar(2).mean().backward());
        };
        println!("srcnn 9-5-5 64/32, batch 128 of 28x28: forward+backward {:7.3} ms", time(reps, step));
        return;
    }
    let b = 128;
    let conv = |ci, co| Conv2dConfig::new([ci, co], [3, 3]).with_stride([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
    let deconv = |ci, co| {
        ConvTranspose2dConfig::new([ci, co], [3, 3]).with_stride([2, 2]).with_padding([1, 1]).with_padding_out([1, 1]).init(&device)
    };
    let (c1, c2, d1, d2) = (conv(1, 32), conv(32, 64), deconv(64, 32), deconv(32, 1));
    let input = |c, s| Tensor::<4>::random([b, c, s, s], Distribution::Uniform(0.0, 1.0), &device);
    let (x1, x2, x3, x4) = (input(1, 28), input(32, 14), input(64, 7), input(32, 14));
    let sync = |t: Tensor<4>| {
        let _ = t.slice([0..1, 0..1, 0..1, 0..1]).into_scalar::<f32>();
    };
    type Layer<'a> = (&'a str, Box<dyn Fn(Tensor<4>) -> Tensor<4> + 'a>, &'a Tensor<4>, bool);
    let layers: Vec<Layer> = vec![
        ("conv 1->32 s2 (28->14), relu", Box::new(|x| fused::conv2d_relu(&c1, x)), &x1, false),
        ("conv 32->64 s2 (14->7), relu", Box::new(|x| fused::conv2d_relu(&c2, x)), &x2, true),
        ("deconv 64->32 s2 (7->14), relu", Box::new(|x| fused::conv_transpose2d_relu(&d1, x)), &x3, true),
        ("deconv 32->1 s2 (14->28)", Box::new(|x| fused::conv_transpose2d(&d2, x)), &x4, true),
    ];
    for (name, f, x, want_dx) in &layers {
        let fwd = time(reps, || sync(f((*x).clone())));
        let both = time(reps, || {
            let xi = if *want_dx { (*x).clone().require_grad() } else { (*x).clone() };
            let grads = f(xi).sum().backward();
            drop(grads);
        });
        println!("{name:34} forward {fwd:7.3} ms   forward+backward {both:7.3} ms");
    }
}
