//! What denoising and super-resolution share: training with a [`Task`], the evaluation against
//! classical baselines (`report.json`, `comparison.png`), and restoring images of any size with
//! tiles.

use std::path::Path;

use burn::prelude::*;

use super::codes::Trained;
use super::task::{Task, EVAL_SEED};
use crate::data::{Dataset, SampleShape, Split};
use crate::error::{Error, Result};
use crate::metrics::{psnr_image_db, ssim};
use crate::models::{Autoencoder, Model, ModelConfig};
use crate::train::{self, Observer, TrainConfig, TrainReport};
use crate::viz::grid::Grid;

const BATCH: usize = 500;
/// Held-out training images on which the blur baseline's sigma is chosen.
pub const HELD_OUT: usize = 1000;

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

/// Trains `model_cfg` for `task` and writes the run folder (its `report.json` is the training
/// report, with the restoration figures of the test set in `extra.restoration`).
#[allow(clippy::too_many_arguments)]
pub fn run(
    model_cfg: &ModelConfig,
    cfg: &TrainConfig,
    task: &Task,
    split: &Split,
    data: &serde_json::Value,
    device: &Device,
    out: &Path,
    observer: &mut dyn Observer,
) -> Result<(Model, TrainReport)> {
    let (model, report) = train::train_task(model_cfg, cfg, task, split, data, device, out, observer)?;
    finish(model, report, task, split, device, out)
}

/// Continues an interrupted restoration run.
pub fn resume(out: &Path, split: &Split, device: &Device, epochs: Option<usize>, lr: Option<f64>, observer: &mut dyn Observer) -> Result<(Model, TrainReport)> {
    let (model, _, report) = train::resume(out, split, device, epochs, lr, observer)?;
    let task = train::run::read_task(out)?;
    finish(model, report, &task, split, device, out)
}

fn finish(model: Model, mut report: TrainReport, task: &Task, split: &Split, device: &Device, out: &Path) -> Result<(Model, TrainReport)> {
    report.loss = format!("{}; task: {}", report.loss, task.describe());
    let (config, _, _) = train::run::read_config(out)?;
    let t = Trained { model, config };
    let r = evaluate(&t, task, &split.test, &split.train.head(HELD_OUT), device, 8, &out.join("eval"))?;
    report.extra = Some(serde_json::json!({ "restoration": r }));
    crate::io::write_json(&out.join("report.json"), &report)?;
    Ok((t.model, report))
}

/// The model's restorations of inputs `[N, P_in]` → `[N, P]`, in batches.
fn restore_flat(model: &Model, inputs: &[f32], p_in: usize, device: &Device) -> Vec<f32> {
    let mut out = Vec::with_capacity(inputs.len());
    for rows in inputs.chunks(BATCH * p_in) {
        let x = Tensor::<2>::from_data(TensorData::new(rows.to_vec(), [rows.len() / p_in, p_in]), device);
        out.extend(model.reconstruct(x).into_data().try_into_vec_as::<f32>().unwrap_or_default());
    }
    out
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
/// (clean | degraded | baseline | restored, `n_show` test images) into `out`.
pub fn evaluate(t: &Trained, task: &Task, test: &Dataset, held_out: &Dataset, device: &Device, n_show: usize, out: &Path) -> Result<RestoreReport> {
    if !task.is_restoration() {
        return Err(Error::arg("run", "this run was trained for reconstruction, not denoise or superres"));
    }
    t.config.check_data(test.shape())?;
    task.check(&t.config, test.shape())?;
    let shape = test.shape();
    let mut rng = crate::rng::stream(EVAL_SEED, 0);
    let (inputs, baselines, degraded_shown, degraded_what) = match task {
        Task::Denoise(d) => {
            let noisy = d.degrade(test.data(), shape, &mut rng);
            let b = d.baselines(&noisy, shape, held_out);
            (noisy.clone(), b, noisy, "the noisy image".to_string())
        }
        Task::Superres(s) => {
            let low = s.low_res(test.data(), shape);
            let b = s.baselines(&low, shape);
            let shown = b[0].1.clone();
            (s.prepare(&low, shape), b, shown, "the low-resolution image, nearest-upscaled (the nearest baseline)".to_string())
        }
        Task::Reconstruct => unreachable!("checked above"),
    };
    let p_in = task.input_shape(shape).len();
    let restored = restore_flat(&t.model, &inputs, p_in, device);
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

/// Restores one image of any size `[C, h, w]` → `[C, h·s, w·s]` with the run's model. Fully
/// convolutional models run on tiles of at most `tile` input pixels a side whose borders
/// (`overlap` pixels, at least the model's receptive radius) are cropped away, with tile origins
/// on multiples of the model's pooling factor, so the output has no seams and equals the
/// untiled output. Other models run on tiles of their training size, overlapping by half a tile
/// and blended with a tent-shaped weight.
pub fn restore_image(t: &Trained, task: &Task, img: &[f32], c: usize, h: usize, w: usize, tile: usize, device: &Device) -> Result<Vec<f32>> {
    let want = t.config.input_shape().dims()[0];
    if c != want {
        return Err(Error::Shape(format!("the model takes {want}-channel images, the image has {c} channels")));
    }
    match &t.model {
        Model::Restore(net) => {
            let m = net.size_multiple();
            let s = net.upscale();
            let halo = net.receptive_radius().div_ceil(m) * m;
            let core = (tile.max(m) / m * m).max(m);
            let mut out = vec![0.0f32; c * h * s * w * s];
            let (ow, plane_out) = (w * s, h * s * w * s);
            let mut y0 = 0;
            while y0 < h {
                let y1 = (y0 + core).min(h);
                let mut x0 = 0;
                while x0 < w {
                    let x1 = (x0 + core).min(w);
                    // The tile with its halo, padded (edge replicated) to a multiple of m.
                    let (ty0, tx0) = (y0.saturating_sub(halo), x0.saturating_sub(halo));
                    let (ty1, tx1) = ((y1 + halo).min(h), (x1 + halo).min(w));
                    let (th, tw) = ((ty1 - ty0).div_ceil(m) * m, (tx1 - tx0).div_ceil(m) * m);
                    let mut buf = Vec::with_capacity(c * th * tw);
                    for ch in 0..c {
                        for y in 0..th {
                            let sy = (ty0 + y).min(h - 1);
                            for x in 0..tw {
                                buf.push(img[ch * h * w + sy * w + (tx0 + x).min(w - 1)]);
                            }
                        }
                    }
                    let x = Tensor::<4>::from_data(TensorData::new(buf, [1, c, th, tw]), device);
                    let y: Vec<f32> = net.restore_image(x).into_data().try_into_vec_as::<f32>().unwrap_or_default();
                    let (yh, yw) = (th * s, tw * s);
                    for ch in 0..c {
                        for oy in y0 * s..y1 * s {
                            for ox in x0 * s..x1 * s {
                                out[ch * plane_out + oy * ow + ox] = y[ch * yh * yw + (oy - ty0 * s) * yw + ox - tx0 * s];
                            }
                        }
                    }
                    x0 = x1;
                }
                y0 = y1;
            }
            Ok(out)
        }
        model => {
            let shape = t.config.input_shape();
            let d = task.input_shape(shape).dims();
            let (th, tw) = (d[1], d[2]);
            if task.input_shape(shape) != shape {
                return Err(Error::Shape("this model is not fully convolutional and upsamples: it only takes images of its training size".into()));
            }
            if h < th || w < tw {
                return Err(Error::Shape(format!("the {} model takes images of at least {th}x{tw} (its training size); the image is {h}x{w}", t.config.name())));
            }
            blended_tiles(model, img, c, h, w, th, tw, device)
        }
    }
}

/// Tiles of the training size, origins every half tile (plus the last one flush with the
/// border), blended with a tent weight that is largest at a tile's centre.
#[allow(clippy::too_many_arguments)]
fn blended_tiles(model: &Model, img: &[f32], c: usize, h: usize, w: usize, th: usize, tw: usize, device: &Device) -> Result<Vec<f32>> {
    let origins = |n: usize, t: usize| -> Vec<usize> {
        let step = (t / 2).max(1);
        let mut v: Vec<usize> = (0..=n - t).step_by(step).collect();
        if *v.last().expect("n >= t") != n - t {
            v.push(n - t);
        }
        v
    };
    let weight = |i: usize, t: usize| -> f32 {
        let centre = (t as f32 - 1.0) / 2.0;
        1.0 - (i as f32 - centre).abs() / (centre + 1.0)
    };
    let mut tiles = Vec::new();
    let mut coords = Vec::new();
    for &y0 in &origins(h, th) {
        for &x0 in &origins(w, tw) {
            for ch in 0..c {
                for y in 0..th {
                    let r = ch * h * w + (y0 + y) * w + x0;
                    tiles.extend_from_slice(&img[r..r + tw]);
                }
            }
            coords.push((y0, x0));
        }
    }
    let p = c * th * tw;
    let restored = restore_flat(model, &tiles, p, device);
    let mut acc = vec![0.0f32; c * h * w];
    let mut wsum = vec![0.0f32; c * h * w];
    for (k, &(y0, x0)) in coords.iter().enumerate() {
        let r = &restored[k * p..(k + 1) * p];
        for ch in 0..c {
            for y in 0..th {
                for x in 0..tw {
                    let wt = weight(y, th) * weight(x, tw);
                    let o = ch * h * w + (y0 + y) * w + x0 + x;
                    acc[o] += wt * r[ch * th * tw + y * tw + x];
                    wsum[o] += wt;
                }
            }
        }
    }
    Ok(acc.iter().zip(&wsum).map(|(a, s)| a / s).collect())
}

/// The epoch figure of restoration runs: 8 test images, degraded, restored.
pub fn epoch_grid(model: &Model, task: &Task, ds: &Dataset, device: &Device, title: &str, path: &Path) -> Result<()> {
    let shape = ds.shape();
    if !matches!(shape, SampleShape::Image { .. }) {
        return Ok(());
    }
    let idx: Vec<usize> = (0..8.min(ds.len())).collect();
    let (x, _) = task.batch(ds, &idx, &mut crate::rng::stream(EVAL_SEED, 0), device);
    let input: Vec<f32> = x.clone().into_data().try_into_vec_as::<f32>().unwrap_or_default();
    let rec: Vec<f32> = model.reconstruct(x).into_data().try_into_vec_as::<f32>().unwrap_or_default();
    let shown = task.display(&input, shape);
    let mut g = Grid::new(shape, 2)?.title(title);
    g.row(Some("clean".into()), idx.iter().map(|&i| ds.sample(i)));
    g.row(Some("degraded".into()), shown.chunks_exact(shape.len()));
    g.row(Some("restored".into()), rec.chunks_exact(shape.len()));
    g.save_png(path)
}

/// What `aekit denoise` / `aekit upscale` is asked to do with a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    Denoise,
    /// Upscale; `Some(s)` checks that the run was trained for factor `s`.
    Upscale(Option<usize>),
}

/// Restores every image of `input` (a PNG/JPEG/BMP file or a folder of them) with the run and
/// writes `OUT/NAME.png` for each, all checked before anything is written. Returns the written
/// files.
pub fn restore_files(t: &Trained, task: &Task, apply: Apply, input: &Path, out: &Path, tile: usize, device: &Device) -> Result<Vec<std::path::PathBuf>> {
    match (apply, task) {
        (Apply::Denoise, Task::Denoise(_)) => {}
        (Apply::Upscale(want), Task::Superres(s)) => {
            if let Some(w) = want.filter(|&w| w != s.scale) {
                return Err(Error::arg("scale", format!("{w}: the run was trained to upscale by {}", s.scale)));
            }
        }
        (Apply::Denoise, _) => return Err(Error::arg("run", format!("the run was trained for {}, not denoise", task.name()))),
        (Apply::Upscale(_), _) => return Err(Error::arg("run", format!("the run was trained for {}, not superres", task.name()))),
    }
    let files: Vec<std::path::PathBuf> = if input.is_dir() {
        let rd = std::fs::read_dir(input).map_err(|source| Error::Read { path: input.to_path_buf(), source })?;
        let mut v: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file() && crate::data::folder::is_image(p)).collect();
        v.sort();
        if v.is_empty() {
            return Err(Error::input(input, "no PNG, JPEG or BMP images in this folder"));
        }
        v
    } else {
        vec![input.to_path_buf()]
    };
    let want = t.config.input_shape().dims()[0];
    let mut images = Vec::new();
    for p in &files {
        let img = crate::data::folder::open_image(p)?;
        let c = if img.color().has_color() { 3 } else { 1 };
        if c != want {
            let kind = |c| if c == 1 { "grey (1-channel)" } else { "colour (3-channel)" };
            return Err(Error::input(p, format!("a {} image; the model takes {} images", kind(c), kind(want))));
        }
        let mut buf = Vec::new();
        crate::data::folder::push_planar(&img, c, &mut buf);
        images.push((buf, c, img.height() as usize, img.width() as usize));
    }
    // Everything is computed before the first file is written, so a failure writes nothing.
    let s = match &t.model {
        Model::Restore(n) => n.upscale(),
        _ => 1,
    };
    let mut results = Vec::new();
    for (p, (img, c, h, w)) in files.iter().zip(images) {
        let (img, h, w) = match task {
            Task::Superres(sr) if sr.input == super::superres::SrInput::Upscaled => {
                (crate::data::degrade::upscale_bicubic(&img, c, h, w, sr.scale), h * sr.scale, w * sr.scale)
            }
            _ => (img, h, w),
        };
        let y = restore_image(t, task, &img, c, h, w, tile, device).map_err(|e| Error::input(p, e.to_string()))?;
        let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
        results.push((out.join(format!("{stem}.png")), y, c, h * s, w * s));
    }
    crate::io::create_dir(out)?;
    let mut written = Vec::new();
    for (dest, y, c, h, w) in results {
        save_png(&dest, &y, c, h, w)?;
        written.push(dest);
    }
    Ok(written)
}

/// Writes `[C, H, W]` in [0, 1] as an 8-bit grey or RGB PNG.
fn save_png(path: &Path, img: &[f32], c: usize, h: usize, w: usize) -> Result<()> {
    let to8 = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    let mut bytes = Vec::new();
    let enc = image::codecs::png::PngEncoder::new(&mut bytes);
    let res = if c == 1 {
        let raw: Vec<u8> = img.iter().map(|&v| to8(v)).collect();
        image::ImageEncoder::write_image(enc, &raw, w as u32, h as u32, image::ExtendedColorType::L8)
    } else {
        let raw = Grid::single(img, c, h, w);
        image::ImageEncoder::write_image(enc, &raw, w as u32, h as u32, image::ExtendedColorType::Rgb8)
    };
    res.map_err(|e| Error::Write { path: path.to_path_buf(), source: std::io::Error::other(e.to_string()) })?;
    crate::io::write_bytes(path, &bytes)
}
