//! Restoring images of any size with a run: fully convolutional models on seamless tiles,
//! others on blended tiles of their training size; `aekit denoise` and `aekit upscale`.

use std::path::Path;

use burn::prelude::*;

use crate::error::{Error, Result};
use crate::models::{Autoencoder, ImageRestorer, Model};
use crate::train::objective::{Objective, SrInput};
use crate::train::run::Run;
use crate::viz::grid::Grid;

const BATCH: usize = 500;

/// The model's restorations of inputs `[N, P_in]` → `[N, P]`, in batches.
pub(crate) fn restore_flat(model: &Model, inputs: &[f32], p_in: usize, device: &Device) -> Vec<f32> {
    let mut out = Vec::with_capacity(inputs.len());
    for rows in inputs.chunks(BATCH * p_in) {
        let x = Tensor::<2>::from_data(TensorData::new(rows.to_vec(), [rows.len() / p_in, p_in]), device);
        out.extend(model.reconstruct(x).into_data().try_into_vec_as::<f32>().unwrap_or_default());
    }
    out
}

/// How fully convolutional models are run on a whole image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreOptions {
    /// Largest tile side in input pixels.
    pub tile: usize,
    /// Average the restorations of the 8 flips and rotations of the input (the "self-ensemble"
    /// of Lim et al. 2017, EDSR+): 8x the arithmetic for a gain measured in NOTES.md.
    pub self_ensemble: bool,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions { tile: 256, self_ensemble: false }
    }
}

/// `net` on `x`, or the mean of its restorations of the 8 dihedral transforms of `x` mapped
/// back. Every transform keeps sides that are multiples of the model's `size_multiple`
/// (flips and a transpose of a padded tile), and a tile's origin stays on the pooling grid of
/// the whole image flipped the same way, so tiling stays seamless.
///
/// # Shapes
/// `x`: `[1, C, h, w]` → `[1, C, h·s, w·s]`
fn run_restorer(net: &dyn ImageRestorer, x: Tensor<4>, self_ensemble: bool) -> Tensor<4> {
    if !self_ensemble {
        return net.restore_image(x);
    }
    // The four flips as one batch, then the same for the transpose.
    let flips = |t: Tensor<4>| Tensor::cat(vec![t.clone(), t.clone().flip([3]), t.clone().flip([2]), t.flip([2, 3])], 0);
    let unflip = |y: Tensor<4>| {
        let p = y.chunk(4, 0);
        p[0].clone() + p[1].clone().flip([3]) + p[2].clone().flip([2]) + p[3].clone().flip([2, 3])
    };
    let straight = unflip(net.restore_image(flips(x.clone())));
    let transposed = unflip(net.restore_image(flips(x.swap_dims(2, 3)))).swap_dims(2, 3);
    (straight + transposed) / 8.0
}

/// Restores one image of any size `[C, h, w]` → `[C, h·s, w·s]` with the run's model. Fully
/// convolutional models run on tiles of at most `opts.tile` input pixels a side whose borders
/// (`overlap` pixels, at least the model's receptive radius) are cropped away, with tile origins
/// on multiples of the model's pooling factor, so the output has no seams and equals the
/// untiled output. Other models run on tiles of their training size, overlapping by half a tile
/// and blended with a tent-shaped weight.
/// `dims` is `[C, h, w]`.
pub fn restore_image(t: &Run, img: &[f32], dims: [usize; 3], opts: RestoreOptions, device: &Device) -> Result<Vec<f32>> {
    let tile = opts.tile;
    let [c, h, w] = dims;
    let task = &t.request.objective;
    let want = t.config().input_shape().dims()[0];
    if c != want {
        return Err(Error::Shape(format!("the model takes {want}-channel images, the image has {c} channels")));
    }
    match t.model.image_restorer() {
        Some(net) => {
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
                    let y: Vec<f32> = run_restorer(net, x, opts.self_ensemble).into_data().try_into_vec_as::<f32>().unwrap_or_default();
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
        None => {
            let model = &t.model;
            let shape = t.config().input_shape();
            let d = task.input_shape(shape).dims();
            let (th, tw) = (d[1], d[2]);
            if task.input_shape(shape) != shape {
                return Err(Error::Shape("this model is not fully convolutional and upsamples: it only takes images of its training size".into()));
            }
            if h < th || w < tw {
                return Err(Error::Shape(format!("the {} model takes images of at least {th}x{tw} (its training size); the image is {h}x{w}", t.config().name())));
            }
            if opts.self_ensemble {
                return Err(not_fully_convolutional(t));
            }
            blended_tiles(model, img, [c, h, w], [th, tw], device)
        }
    }
}

fn not_fully_convolutional(t: &Run) -> Error {
    Error::arg("self-ensemble", format!("the {} model is not fully convolutional; the self-ensemble needs a model that runs on any size", t.config().name()))
}

/// Tiles of the training size, origins every half tile (plus the last one flush with the
/// border), blended with a tent weight that is largest at a tile's centre.
fn blended_tiles(model: &Model, img: &[f32], [c, h, w]: [usize; 3], [th, tw]: [usize; 2], device: &Device) -> Result<Vec<f32>> {
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

/// What `aekit denoise` / `aekit upscale` is asked to do with a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    Denoise,
    /// Upscale; `Some(s)` checks that the run was trained for factor `s`.
    Upscale(Option<usize>),
}

/// Restores one degraded image `[C, h, w]` as the run's task saw its inputs (a super-resolution
/// model that takes the bicubic upscaling gets it first): the restored image and its height and
/// width.
pub fn restore_degraded(t: &Run, img: &[f32], [c, h, w]: [usize; 3], opts: RestoreOptions, device: &Device) -> Result<(Vec<f32>, usize, usize)> {
    let s = t.config().upscale();
    match &t.request.objective {
        Objective::Superres(sr) if sr.input == SrInput::Upscaled => {
            let up = crate::data::degrade::upscale_bicubic(img, c, h, w, sr.scale);
            let (h, w) = (h * sr.scale, w * sr.scale);
            Ok((restore_image(t, &up, [c, h, w], opts, device)?, h, w))
        }
        _ => Ok((restore_image(t, img, [c, h, w], opts, device)?, h * s, w * s)),
    }
}

/// Restores every image of `input` (a PNG/JPEG/BMP file or a folder of them) with the run and
/// writes `OUT/NAME.png` for each, all checked before anything is written. Returns the written
/// files.
pub fn restore_files(t: &Run, apply: Apply, input: &Path, out: &Path, opts: RestoreOptions, device: &Device) -> Result<Vec<std::path::PathBuf>> {
    let task = &t.request.objective;
    match (apply, task) {
        (Apply::Denoise, Objective::Denoise(_)) => {}
        (Apply::Upscale(want), Objective::Superres(s)) => {
            if let Some(w) = want.filter(|&w| w != s.scale) {
                return Err(Error::arg("scale", format!("{w}: the run was trained to upscale by {}", s.scale)));
            }
        }
        (Apply::Denoise, _) => return Err(Error::arg("run", format!("the run was trained for {}, not denoise", task.name()))),
        (Apply::Upscale(_), _) => return Err(Error::arg("run", format!("the run was trained for {}, not superres", task.name()))),
    }
    // A property of the model, so refused before any image is read.
    if opts.self_ensemble && t.model.image_restorer().is_none() {
        return Err(not_fully_convolutional(t));
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
    let want = t.config().input_shape().dims()[0];
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
    let mut results = Vec::new();
    for (p, (img, c, h, w)) in files.iter().zip(images) {
        let (y, oh, ow) = restore_degraded(t, &img, [c, h, w], opts, device).map_err(|e| Error::input(p, e.to_string()))?;
        let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "image".into());
        results.push((out.join(format!("{stem}.png")), y, c, oh, ow));
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
pub(crate) fn save_png(path: &Path, img: &[f32], c: usize, h: usize, w: usize) -> Result<()> {
    let bytes = png_bytes(img, c, h, w).map_err(|e| Error::Write { path: path.to_path_buf(), source: std::io::Error::other(e) })?;
    crate::io::write_bytes(path, &bytes)
}

/// Encodes `[C, H, W]` in [0, 1] as an 8-bit grey or RGB PNG in memory.
pub fn png_bytes(img: &[f32], c: usize, h: usize, w: usize) -> std::result::Result<Vec<u8>, String> {
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
    res.map_err(|e| e.to_string())?;
    Ok(bytes)
}
