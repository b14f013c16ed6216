//! What denoising and super-resolution share: the evaluation against classical baselines
//! (`report.json`, `comparison.png`), and restoring images of any size with tiles
//! ([`tiles`]).

pub mod baselines;
pub mod builtin;
pub mod tiles;

use std::path::Path;

use burn::prelude::*;

pub use tiles::{restore_files, restore_image, Apply, RestoreOptions};
use crate::data::{Dataset, Split};
use crate::error::{Error, Result};
use crate::metrics::{psnr_image_db, ssim};
use crate::train::objective::{Objective, EVAL_SEED};
use crate::train::run::Run;
use crate::train::TrainReport;
use crate::viz::grid::Grid;
/// Held-out training images on which the blur baseline's sigma is chosen.
pub const HELD_OUT: usize = 1000;

/// What a restoration task on photos trains when the user names no model: the model, and
/// the settings that go with it (chosen on validation photos; see NOTES.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotoDefaults {
    pub model: &'static str,
    /// Small batches: a photo crop holds thousands of pixels, and more, smaller steps train
    /// further in the same time.
    pub batch_size: usize,
    /// Super-resolution degrades by antialiased bicubic downscaling, the field's convention
    /// (and PIL's and MATLAB's default), not block means.
    pub downscale: crate::data::degrade::Downscale,
    /// Cosine annealing of the learning rate (validation photo: denoising 29.58 dB against
    /// 29.63 with a constant rate, within noise; x2 super-resolution 30.74 dB, bicubic 29.08;
    /// NOTES.md).
    pub lr_schedule: crate::train::LrSchedule,
    /// Pixels of training crops per epoch: 20 Mi for denoising (the contract run on 2,000
    /// crops of 64x64: 6 crops of 48 per crop and epoch, 6,000 steps), the general 8 Mi
    /// ([`crate::data::patches::EPOCH_PIXELS`]) for super-resolution. Chosen on two validation
    /// photos (coffee, motorcycle) once the convolution kernels had made a step ~2.5x cheaper:
    /// 2, 4, 6 and 8 crops gave 29.45, 29.78, 30.05 and 30.01 dB (NL-means 29.08) in 143, 243,
    /// 347 and 456 s (NOTES.md, "Photos: a longer denoising epoch, again").
    pub epoch_pixels: usize,
    /// Probability of a random tone change per training crop
    /// ([`crate::data::patches::Tone`]): 0.5 for denoising, 0 for super-resolution (no
    /// clipping to undo there; its targets were met without it). See NOTES.md, "Photos:
    /// saturated channels".
    pub tone: f32,
}

/// The denoiser's epoch: 20 Mi pixels of crops (see [`PhotoDefaults::epoch_pixels`]).
pub const DENOISE_EPOCH_PIXELS: usize = 20 << 20;

/// The denoiser's probability of a tone change per crop (see [`PhotoDefaults::tone`]).
pub const DENOISE_TONE: f32 = 0.5;

/// The photo defaults of task `task` (`denoise` or `superres`; `None` for the others).
pub fn photo_defaults(task: &str) -> Option<PhotoDefaults> {
    let model = match task {
        "denoise" => "dncnn",
        "superres" => "vdsr",
        _ => return None,
    };
    let denoise = task == "denoise";
    let epoch_pixels = if denoise { DENOISE_EPOCH_PIXELS } else { crate::data::patches::EPOCH_PIXELS };
    let tone = if denoise { DENOISE_TONE } else { 0.0 };
    Some(PhotoDefaults { model, batch_size: 16, downscale: crate::data::degrade::Downscale::Bicubic, lr_schedule: crate::train::LrSchedule::Cosine, epoch_pixels, tone })
}

/// The models made for photos: naming one with `--model` keeps the photo defaults' settings
/// (batch 16, cosine, bicubic), because the generic ones (batch 128, constant rate) train them
/// ~8x fewer steps: a unet trained so started *worse* than its noisy input for 800 steps
/// (NOTES.md).
pub const PHOTO_MODELS: &[&str] = &["dncnn", "vdsr", "unet"];

/// The photo defaults for `task` with the model the user named: those of [`photo_defaults`]
/// when `model` is one of [`PHOTO_MODELS`] (its own name kept), `None` otherwise.
pub fn photo_defaults_for(task: &str, model: &str) -> Option<PhotoDefaults> {
    let name = PHOTO_MODELS.iter().find(|m| **m == model)?;
    photo_defaults(task).map(|p| PhotoDefaults { model: name, ..p })
}

/// One method's mean figures over the evaluated images.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MethodScore {
    pub name: String,
    pub psnr: f64,
    pub ssim: f64,
}

/// `report.json` of `aekit eval` for restoration runs.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RestoreReport {
    pub task: String,
    pub n: usize,
    /// Mean over images of each image's PSNR, in dB for pixel range [0, 1] (10 log10(1 / MSE)).
    pub psnr_degraded: f64,
    pub psnr_baseline: f64,
    pub psnr_model: f64,
    /// Mean over images of SSIM (definition in `ssim_definition`).
    pub ssim_degraded: f64,
    pub ssim_baseline: f64,
    pub ssim_model: f64,
    /// The best classical baseline by PSNR (the one in `psnr_baseline`).
    pub baseline: String,
    /// Every baseline computed.
    pub baselines: Vec<MethodScore>,
    /// What "degraded" is compared at: super-resolution's low-resolution input is scored after
    /// nearest upscaling.
    pub degraded: String,
    pub psnr_definition: String,
    pub ssim_definition: String,
}

/// Adds the restoration figures of the test set to a training report (`extra.restoration`)
/// and writes them to `RUN/eval`.
pub(crate) fn finish(run: &Run, report: &mut TrainReport, split: &Split, device: &Device) -> Result<()> {
    let objective = &run.request.objective;
    report.loss = format!("{}; task: {}", report.loss, objective.describe());
    let r = evaluate(run, &split.test, &split.train.head(HELD_OUT), device, &run.dir.join("eval"))?;
    report.extra = Some(serde_json::json!({ "restoration": r }));
    Ok(())
}

fn score(name: String, restored: &[f32], clean: &Dataset) -> MethodScore {
    let shape = clean.shape();
    let d = shape.dims();
    let p = shape.len();
    let n = clean.len().max(1) as f64;
    let (mut psnr, mut s) = (0.0, 0.0);
    for (r, c) in restored.chunks_exact(p).zip(clean.data().chunks_exact(p)) {
        psnr += psnr_image_db(r, c);
        s += ssim(r, c, d[0], d[1], d[2]);
    }
    MethodScore { name, psnr: psnr / n, ssim: s / n }
}

/// Evaluates a restoration run on `test` (degraded with a fixed seed): the degraded input, the
/// classical baselines and the model, by mean PSNR and SSIM. `held_out` (clean training images)
/// is where the blur baseline chooses its sigma. Writes `report.json` and `comparison.png`
/// (clean | degraded | baseline | restored, 8 test images) into `out`.
pub fn evaluate(t: &Run, test: &Dataset, held_out: &Dataset, device: &Device, out: &Path) -> Result<RestoreReport> {
    let task = &t.request.objective;
    let n_show = 8;
    if !task.is_restoration() {
        return Err(Error::arg("run", "this run was trained for reconstruction, not denoise or superres"));
    }
    t.config().check_data(test.shape())?;
    task.check(t.config(), test.shape())?;
    let shape = test.shape();
    let mut rng = crate::rng::stream(EVAL_SEED, 0);
    let (inputs, baselines, degraded_shown, degraded_what) = match task {
        Objective::Denoise(d) => {
            let noisy = d.degrade(test.data(), shape, &mut rng);
            let b = baselines::denoise(d, &noisy, shape, held_out);
            (noisy.clone(), b, noisy, "the noisy image".to_string())
        }
        Objective::Superres(s) => {
            let low = s.low_res(test.data(), shape);
            let b = baselines::superres(s, &low, shape);
            let shown = b[0].1.clone();
            (s.prepare(&low, shape), b, shown, "the low-resolution image, nearest-upscaled (the nearest baseline)".to_string())
        }
        Objective::Reconstruct => unreachable!("checked above"),
    };
    let p_in = task.input_shape(shape).len();
    let restored = tiles::restore_flat(&t.model, &inputs, p_in, device);
    let deg = score("degraded".into(), &degraded_shown, test);
    let model = score("model".into(), &restored, test);
    let scores: Vec<MethodScore> = baselines.iter().map(|(n, r)| score(n.clone(), r, test)).collect();
    let best = scores.iter().enumerate().max_by(|a, b| a.1.psnr.total_cmp(&b.1.psnr)).map(|(i, _)| i).unwrap_or(0);

    crate::io::create_dir(out)?;
    let n = n_show.min(test.len());
    let p = shape.len();
    let mut g = Grid::new(shape, 2)?.title(format!("{}: clean, degraded, best baseline, model", task.name()));
    let rows: [(&str, &[f32]); 4] = [("clean", test.data()), ("degraded", &degraded_shown), (short(&scores[best].name), &baselines[best].1), ("restored", &restored)];
    for (label, data) in rows {
        g.row(Some(label.to_string()), data.chunks_exact(p).take(n));
    }
    g.save_png(&out.join("comparison.png"))?;

    let report = RestoreReport {
        task: task.describe(),
        n: test.len(),
        psnr_degraded: deg.psnr,
        psnr_baseline: scores[best].psnr,
        psnr_model: model.psnr,
        ssim_degraded: deg.ssim,
        ssim_baseline: scores[best].ssim,
        ssim_model: model.ssim,
        baseline: scores[best].name.clone(),
        baselines: scores,
        degraded: degraded_what,
        psnr_definition: "mean over images of 10 log10(1 / MSE), pixels in [0, 1] (an exact match counts as 100 dB)".into(),
        ssim_definition: "Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, data range 1, mean over valid window positions (= scikit-image with gaussian_weights=True, use_sample_covariance=False)".into(),
    };
    crate::io::write_json(&out.join("report.json"), &report)?;
    Ok(report)
}

fn short(name: &str) -> &str {
    match name.split([',', '(']).next().unwrap_or(name).trim() {
        n if n.starts_with("3x3 median") => "median 3x3",
        n if n.starts_with("bicubic") => "bicubic",
        n if n.starts_with("Gaussian") => "blur",
        n => n,
    }
}
