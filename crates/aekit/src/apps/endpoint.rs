//! A trained run as a request/response endpoint, with no transport: what `aekit serve` calls
//! (and what any other front end can call). An [`Endpoint`] is opened once; each call checks its
//! inputs and names the offending request field in its error ([`Error::InvalidArgument`] with
//! `name` the field), so a front end turns every failure into a precise 4xx.
//!
//! Values are in the run's data layer's units: images as planar `[C, H, W]` floats in [0, 1]
//! flattened (MNIST: 784 values), table rows in the columns' own units (an anomaly detector
//! standardizes them as `aekit anomaly score` does), series windows as `size` consecutive rows
//! flattened row by row. Row routes ([`Route::is_batched`]) take any number of samples at once,
//! and [`RowsOut::split_off`] cuts a batched answer back into the callers' parts, so a server
//! can run the samples of several requests in one forward pass.

use std::io::Cursor;
use std::path::Path;

use burn::prelude::*;

use super::anomaly::{Detector, ScoreKind, STATE_FILE};
use super::restore::tiles;
use crate::data::{Dataset, SampleShape};
use crate::error::{Error, Result};
use crate::models::{activate, Autoencoder};
use crate::train::objective::Objective;
use crate::train::run::Run;

/// What an endpoint can be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// Inputs → latent codes (a VAE's posterior means).
    Encode,
    /// Latent codes → outputs in data space.
    Decode,
    /// Inputs → reconstructions and the per-sample error.
    Reconstruct,
    /// Inputs → anomaly scores, conformal p-values, flags (anomaly runs).
    Score,
    /// Draws from a VAE's prior, decoded.
    Sample,
    /// A PNG/JPEG photo → the denoised photo.
    Denoise,
    /// A PNG/JPEG photo → the upscaled photo.
    Upscale,
    /// Latent means of the run's test samples (VAEs, when the server was given the data).
    LatentMap,
}

impl Route {
    pub const ALL: [Route; 8] =
        [Route::Encode, Route::Decode, Route::Reconstruct, Route::Score, Route::Sample, Route::Denoise, Route::Upscale, Route::LatentMap];

    pub fn name(self) -> &'static str {
        match self {
            Route::Encode => "encode",
            Route::Decode => "decode",
            Route::Reconstruct => "reconstruct",
            Route::Score => "score",
            Route::Sample => "sample",
            Route::Denoise => "denoise",
            Route::Upscale => "upscale",
            Route::LatentMap => "latent_map",
        }
    }

    pub fn parse(s: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.name() == s)
    }

    /// Routes whose requests are rows of samples, which a server may batch across requests.
    pub fn is_batched(self) -> bool {
        matches!(self, Route::Encode | Route::Decode | Route::Reconstruct | Route::Score)
    }

    /// Routes that take an image and answer a PNG.
    pub fn is_image(self) -> bool {
        matches!(self, Route::Denoise | Route::Upscale)
    }
}

/// What a client needs to know about an endpoint (`GET /v1/models`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelInfo {
    pub name: String,
    /// `autoencoder`, `vae`, `anomaly`, `denoise` or `superres`.
    pub kind: &'static str,
    /// The model's registry name (`dense`, `vae`, `dncnn`, ...).
    pub model: String,
    /// One sample's shape: `[C, H, W]` for images, `[columns]` for tables.
    pub input_shape: Vec<usize>,
    /// Values per sample in a row route's `inputs` (the product of `input_shape`).
    pub input_len: usize,
    /// Table columns in order (tables only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latent_dim: Option<usize>,
    pub routes: Vec<&'static str>,
    /// Anomaly runs: what the score is, the default threshold (score > threshold is flagged)
    /// and the default significance level for p-values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Restoration runs: the output's size over the input's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upscale: Option<usize>,
}

/// The answer of a row route, one entry per sample in every present field.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RowsOut {
    /// `encode`: the latent codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codes: Option<Vec<Vec<f32>>>,
    /// `decode`, `reconstruct`: outputs in data space.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outputs: Option<Vec<Vec<f32>>>,
    /// `reconstruct`: mean squared error per value (standardized units for table detectors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<f64>>,
    /// `score`: the anomaly scores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scores: Option<Vec<f64>>,
    /// `score`: split-conformal p-values (`null` when the run has no calibration set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_values: Option<Vec<Option<f64>>>,
    /// `score`: flagged as anomalous (see [`Endpoint::flag`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<Vec<bool>>,
    /// `score` on tables: the three columns with the largest squared error (standardized units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_columns: Option<Vec<Vec<ColumnError>>>,
}

/// A row route's answer in flat buffers, `[n, width]` row-major: what in-process callers (the
/// Python package) take without an allocation per row. [`Endpoint::rows`] turns it into one
/// vector per row (the JSON answer) and adds the top columns.
#[derive(Debug, Default)]
pub struct FlatRows {
    /// `encode`: the latent codes, `[n, latent_dim]`.
    pub codes: Option<Vec<f32>>,
    /// `decode`, `reconstruct`: outputs in data space, `[n, input_len]`.
    pub outputs: Option<Vec<f32>>,
    /// Values per row of `codes` or `outputs`.
    pub width: usize,
    /// `reconstruct`: mean squared error per value (standardized units for table detectors).
    pub errors: Option<Vec<f64>>,
    /// `score`: the anomaly scores.
    pub scores: Option<Vec<f64>>,
    /// `score`: split-conformal p-values (`None` when the run has no calibration set).
    pub p_values: Option<Vec<Option<f64>>>,
    /// `score`: flagged as anomalous (see [`Endpoint::flag`]).
    pub flags: Option<Vec<bool>>,
    /// `score` on tables: the squared error of every value (standardized units), `[n, columns]`.
    pub squared_errors: Option<Vec<f32>>,
}

/// One column's squared reconstruction error in one row.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ColumnError {
    pub column: String,
    pub squared_error: f64,
}

impl RowsOut {
    /// Removes and returns the first `n` samples' answers.
    pub fn split_off(&mut self, n: usize) -> RowsOut {
        fn take<T>(v: &mut Option<Vec<T>>, n: usize) -> Option<Vec<T>> {
            v.as_mut().map(|v| v.drain(..n.min(v.len())).collect())
        }
        RowsOut {
            codes: take(&mut self.codes, n),
            outputs: take(&mut self.outputs, n),
            errors: take(&mut self.errors, n),
            scores: take(&mut self.scores, n),
            p_values: take(&mut self.p_values, n),
            flags: take(&mut self.flags, n),
            top_columns: take(&mut self.top_columns, n),
        }
    }
}

/// How `score` flags: by p-value when `alpha` is given, else by the run's threshold.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlagRule {
    pub alpha: Option<f64>,
}

enum Loaded {
    Plain(Run),
    Detector(Detector),
}

/// A run opened for requests.
pub struct Endpoint {
    loaded: Loaded,
    device: Device,
    info: ModelInfo,
    /// Latent means and labels of the map's samples (VAEs given data).
    map: Option<(Vec<Vec<f32>>, Option<Vec<u32>>)>,
}

/// Largest photo side the image routes decode, and largest pixel count.
pub const MAX_IMAGE_SIDE: u32 = 8192;
pub const MAX_IMAGE_PIXELS: u64 = 16 << 20;
/// Most samples `sample` draws per request.
pub const MAX_DRAWS: usize = 1024;

impl Endpoint {
    /// Opens the run folder `dir` (an anomaly detector when it holds `anomaly.json`) as `name`.
    pub fn open(name: &str, dir: &Path, device: &Device) -> Result<Self> {
        let loaded = if dir.join(STATE_FILE).is_file() { Loaded::Detector(Detector::open(dir, device)?) } else { Loaded::Plain(Run::open(dir, device)?) };
        Ok(Self::new(name, loaded, device))
    }

    /// A run already in memory (a built-in model, a model just fitted).
    pub fn from_run(name: &str, run: Run, device: &Device) -> Self {
        Self::new(name, Loaded::Plain(run), device)
    }

    fn new(name: &str, loaded: Loaded, device: &Device) -> Self {
        let run = match &loaded {
            Loaded::Plain(r) => r,
            Loaded::Detector(d) => &d.run,
        };
        let cfg = run.config();
        let shape = cfg.input_shape();
        let objective = &run.request.objective;
        let mut routes = Vec::new();
        let kind = match (&loaded, objective) {
            (Loaded::Detector(_), _) => "anomaly",
            (_, Objective::Denoise(_)) => "denoise",
            (_, Objective::Superres(_)) => "superres",
            _ if cfg.is_variational() => "vae",
            _ => "autoencoder",
        };
        let restoration = objective.is_restoration();
        let same_size = cfg.upscale() == 1;
        // Fully convolutional restorers have no fixed-size code to encode to or decode from.
        let has_code = same_size && !(restoration && run.model.image_restorer().is_some());
        if has_code {
            routes.extend([Route::Encode, Route::Decode, Route::Reconstruct]);
        }
        if matches!(loaded, Loaded::Detector(_)) {
            routes.push(Route::Score);
        }
        if cfg.is_variational() {
            routes.push(Route::Sample);
        }
        match objective {
            Objective::Denoise(_) if matches!(shape, SampleShape::Image { .. }) => routes.push(Route::Denoise),
            Objective::Superres(_) => routes.push(Route::Upscale),
            _ => {}
        }
        let latent_dim = has_code.then(|| run.latent_dim(device));
        let (columns, score, threshold, alpha) = match &loaded {
            Loaded::Detector(d) => (
                d.standardizer.as_ref().map(|s| s.columns.clone()),
                Some(d.state.score.describe().to_string()),
                Some(d.state.threshold),
                Some(d.state.alpha),
            ),
            Loaded::Plain(_) => (None, None, None, None),
        };
        let info = ModelInfo {
            name: name.to_string(),
            kind,
            model: cfg.name().to_string(),
            input_shape: shape.dims(),
            input_len: shape.len(),
            columns,
            latent_dim,
            routes: routes.iter().map(|r| r.name()).collect(),
            score,
            threshold,
            alpha,
            upscale: restoration.then(|| cfg.upscale().max(match objective {
                Objective::Superres(s) => s.scale,
                _ => 1,
            })),
        };
        Endpoint { loaded, device: device.clone(), info, map: None }
    }

    fn run(&self) -> &Run {
        match &self.loaded {
            Loaded::Plain(r) => r,
            Loaded::Detector(d) => &d.run,
        }
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Whether `route` is offered, as an error naming the routes that are.
    pub fn check_route(&self, route: Route) -> Result<()> {
        if route == Route::LatentMap && self.map.is_some() || route != Route::LatentMap && self.info.routes.contains(&route.name()) {
            return Ok(());
        }
        let mut offered = self.info.routes.clone();
        if self.map.is_some() {
            offered.push(Route::LatentMap.name());
        }
        Err(Error::arg("route", format!("{:?} is not offered by {} (a {} run); it offers {}", route.name(), self.info.name, self.info.kind, offered.join(", "))))
    }

    /// Values per sample a row route takes.
    pub fn row_len(&self, route: Route) -> Result<usize> {
        self.check_route(route)?;
        match route {
            Route::Decode => Ok(self.info.latent_dim.unwrap_or(0)),
            Route::Encode | Route::Reconstruct | Route::Score => Ok(self.info.input_len),
            other => Err(Error::arg("route", format!("{} does not take rows of values", other.name()))),
        }
    }

    /// Computes the latent map: the latent means of up to `max` samples of `ds` (VAEs only;
    /// others ignore it). The page's explorer draws the first two dimensions.
    pub fn set_map_data(&mut self, ds: &Dataset, max: usize) -> Result<()> {
        let run = self.run();
        let Some(vae) = run.model.variational() else { return Ok(()) };
        run.config().check_data(ds.shape())?;
        let ds = ds.head(max);
        let idx: Vec<usize> = (0..ds.len()).collect();
        let mut codes = Vec::with_capacity(ds.len());
        for chunk in idx.chunks(500) {
            let z = vae.encode(crate::data::batch_tensor(&ds, chunk, &self.device));
            let l = z.dims()[1];
            codes.extend(to_vec(z).chunks_exact(l).map(|c| c.to_vec()));
        }
        self.map = Some((codes, ds.labels().map(|l| l.to_vec())));
        Ok(())
    }

    /// The latent map as JSON: `codes` (one per sample) and `labels` when known.
    pub fn latent_map(&self) -> Result<serde_json::Value> {
        self.check_route(Route::LatentMap)?;
        let (codes, labels) = self.map.as_ref().expect("checked");
        Ok(serde_json::json!({ "codes": codes, "labels": labels, "what": "posterior means of the run's test samples" }))
    }

    /// Runs a row route on `n` samples `x` (`[n, row_len]` row-major), already checked for length
    /// and finiteness by [`parse_rows`]. `score` flags with `rule`; on tables it also names each
    /// row's three columns with the largest error.
    pub fn rows(&self, route: Route, x: Vec<f32>, n: usize, rule: FlagRule) -> Result<RowsOut> {
        let flat = self.rows_flat(route, x, n, rule)?;
        let rows = |v: Vec<f32>| -> Vec<Vec<f32>> { v.chunks_exact(flat.width.max(1)).map(|c| c.to_vec()).collect() };
        let top_columns = match (&flat.squared_errors, &self.loaded) {
            (Some(sq), Loaded::Detector(d)) => d.standardizer.as_ref().map(|s| sq.chunks_exact(s.columns.len().max(1)).map(|r| top_columns(r, &s.columns, 3)).collect()),
            _ => None,
        };
        Ok(RowsOut {
            codes: flat.codes.map(rows),
            outputs: flat.outputs.map(rows),
            errors: flat.errors,
            scores: flat.scores,
            p_values: flat.p_values,
            flags: flat.flags,
            top_columns,
        })
    }

    /// [`Endpoint::rows`] in flat buffers, without the top columns.
    pub fn rows_flat(&self, route: Route, x: Vec<f32>, n: usize, rule: FlagRule) -> Result<FlatRows> {
        let p = self.row_len(route)?;
        if x.len() != n * p {
            return Err(Error::Shape(format!("{} values for {n} samples of {p}", x.len())));
        }
        if n == 0 {
            return Ok(FlatRows::default());
        }
        let run = self.run();
        let model = &run.model;
        let std = match &self.loaded {
            Loaded::Detector(d) => d.standardizer.as_ref(),
            Loaded::Plain(_) => None,
        };
        let mut x = x;
        if route != Route::Decode {
            if let Some(s) = std {
                x.chunks_exact_mut(p).for_each(|r| s.apply(r));
            }
        }
        let unstandardize = |v: &mut [f32]| {
            if let Some(s) = std {
                for r in v.chunks_exact_mut(s.columns.len()) {
                    for ((v, m), sc) in r.iter_mut().zip(&s.mean).zip(&s.scale) {
                        *v = (*v as f64 * sc + m) as f32;
                    }
                }
            }
        };
        // Only reconstruct needs the inputs again (for the errors); the others hand them over.
        let kept = (route == Route::Reconstruct).then(|| x.clone());
        let t = Tensor::<2>::from_data(TensorData::new(x, [n, p]), &self.device);
        let mut out = FlatRows::default();
        match route {
            Route::Encode => {
                out.codes = Some(to_vec(model.encode(t)));
                out.width = self.info.latent_dim.unwrap_or(1);
            }
            Route::Decode => {
                let mut y = to_vec(activate(model.decode(t), model.output()));
                unstandardize(&mut y);
                out.outputs = Some(y);
                out.width = self.info.input_len;
            }
            Route::Reconstruct => {
                let mut y = to_vec(model.reconstruct(t));
                let x = kept.expect("kept for reconstruct");
                let errors = y.chunks_exact(p).zip(x.chunks_exact(p)).map(|(a, b)| mse(a, b)).collect();
                unstandardize(&mut y);
                out.outputs = Some(y);
                out.width = p;
                out.errors = Some(errors);
            }
            Route::Score => {
                let Loaded::Detector(d) = &self.loaded else { unreachable!("checked by row_len") };
                let (scores, _recon, sq) = super::anomaly::score_batch(model, d.state.score, d.state.residual_tails.as_ref(), t);
                let p_values: Vec<Option<f64>> = scores.iter().map(|&s| d.state.p_value(s)).collect();
                out.flags = Some(self.flag(&scores, &p_values, rule)?);
                if std.is_some() {
                    out.squared_errors = Some(sq);
                }
                out.scores = Some(scores);
                out.p_values = Some(p_values);
            }
            _ => unreachable!("row_len accepts row routes only"),
        }
        Ok(out)
    }

    /// Flags: p-value <= `rule.alpha` when given (an error without a calibration set), else
    /// score > the run's threshold.
    pub fn flag(&self, scores: &[f64], p_values: &[Option<f64>], rule: FlagRule) -> Result<Vec<bool>> {
        let Loaded::Detector(d) = &self.loaded else { return Err(Error::arg("route", "only anomaly runs flag")) };
        match rule.alpha {
            Some(a) if !(a > 0.0 && a < 1.0) => Err(Error::arg("alpha", format!("{a}: expected a level in (0, 1)"))),
            Some(_) if d.state.calibration_scores.is_empty() => {
                Err(Error::arg("alpha", "this run has no calibration set (fitted with --calibration-fraction 0), so no p-values"))
            }
            Some(a) => Ok(p_values.iter().map(|p| p.is_some_and(|p| p <= a)).collect()),
            None => Ok(scores.iter().map(|&s| s > d.state.threshold).collect()),
        }
    }

    /// `n` draws from a VAE's prior scaled by `temperature`, seeded: outputs in data space.
    pub fn sample(&self, n: usize, seed: u64, temperature: f64) -> Result<RowsOut> {
        self.check_route(Route::Sample)?;
        if n == 0 || n > MAX_DRAWS {
            return Err(Error::arg("n", format!("{n}: expected 1 to {MAX_DRAWS} samples")));
        }
        if !(temperature.is_finite() && temperature >= 0.0 && temperature <= 10.0) {
            return Err(Error::arg("temperature", format!("{temperature}: expected a number in [0, 10]")));
        }
        let vae = self.run().model.variational().expect("checked by check_route");
        let y = crate::models::vae::sample_prior(vae, n, temperature, seed, &self.device);
        let p = self.info.input_len;
        Ok(RowsOut { outputs: Some(y.chunks_exact(p).map(|c| c.to_vec()).collect()), ..RowsOut::default() })
    }

    /// Restores an encoded PNG/JPEG/BMP image (`denoise` or `upscale`) and answers a PNG. Grey
    /// images given to a colour model are read as RGB, colour images given to a grey model as
    /// their luma.
    pub fn restore(&self, route: Route, bytes: &[u8]) -> Result<Vec<u8>> {
        self.check_route(route)?;
        if !route.is_image() {
            return Err(Error::arg("route", format!("{} does not take images", route.name())));
        }
        let img = decode_image(bytes)?;
        let run = self.run();
        let c = run.config().input_shape().dims()[0];
        let (h, w) = (img.height() as usize, img.width() as usize);
        let mut planar = Vec::with_capacity(c * h * w);
        crate::data::folder::push_planar(&img, c, &mut planar);
        let (y, oh, ow) = tiles::restore_degraded(run, &planar, [c, h, w], tiles::RestoreOptions::default(), &self.device).map_err(|e| Error::arg("body", e.to_string()))?;
        tiles::png_bytes(&y, c, oh, ow).map_err(Error::Numerical)
    }

    /// The score kind of an anomaly run.
    pub fn score_kind(&self) -> Option<ScoreKind> {
        match &self.loaded {
            Loaded::Detector(d) => Some(d.state.score),
            Loaded::Plain(_) => None,
        }
    }
}

/// Checks a request's `inputs`: `n` samples of `len` finite values each; errors name the
/// sample and value.
pub fn parse_rows(inputs: &[Vec<f64>], len: usize, max_samples: usize) -> Result<Vec<f32>> {
    if inputs.is_empty() {
        return Err(Error::arg("inputs", "no samples: expected a list of samples, each a flat list of numbers"));
    }
    if inputs.len() > max_samples {
        return Err(Error::arg("inputs", format!("{} samples; at most {max_samples} per request", inputs.len())));
    }
    let mut x = Vec::with_capacity(inputs.len() * len);
    for (i, row) in inputs.iter().enumerate() {
        if row.len() != len {
            return Err(Error::arg("inputs", format!("sample {i} has {} values; the model takes {len}", row.len())));
        }
        for (j, &v) in row.iter().enumerate() {
            let f = v as f32;
            if !f.is_finite() {
                return Err(Error::arg("inputs", format!("sample {i}, value {j}: {v} is not a finite 32-bit number")));
            }
            x.push(f);
        }
    }
    Ok(x)
}

/// Decodes a PNG, JPEG or BMP image with size limits (a small file cannot ask for gigabytes).
pub fn decode_image(bytes: &[u8]) -> Result<image::DynamicImage> {
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::arg("body", format!("cannot read the image: {e}")))?;
    match reader.format() {
        Some(image::ImageFormat::Png | image::ImageFormat::Jpeg | image::ImageFormat::Bmp) => {}
        Some(f) => return Err(Error::arg("body", format!("a {f:?} image; expected PNG, JPEG or BMP"))),
        None => return Err(Error::arg("body", "not a PNG, JPEG or BMP image")),
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 4 * 4);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| Error::arg("body", format!("cannot decode the image: {e}")))?;
    if img.width() as u64 * img.height() as u64 > MAX_IMAGE_PIXELS {
        return Err(Error::arg("body", format!("{}x{} pixels; at most {MAX_IMAGE_PIXELS}", img.width(), img.height())));
    }
    Ok(img)
}

fn top_columns(sq: &[f32], columns: &[String], k: usize) -> Vec<ColumnError> {
    let mut idx: Vec<usize> = (0..sq.len()).collect();
    idx.sort_by(|&a, &b| sq[b].total_cmp(&sq[a]));
    idx.into_iter().take(k).map(|j| ColumnError { column: columns.get(j).cloned().unwrap_or_default(), squared_error: sq[j] as f64 }).collect()
}

fn mse(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>() / a.len().max(1) as f64
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rows_names_the_sample_and_value() {
        let e = parse_rows(&[vec![0.0, 1.0], vec![0.0]], 2, 10).unwrap_err().to_string();
        assert!(e.contains("inputs") && e.contains("sample 1 has 1 values; the model takes 2"), "{e}");
        let e = parse_rows(&[vec![0.0, 1e300]], 2, 10).unwrap_err().to_string();
        assert!(e.contains("sample 0, value 1"), "{e}");
        let e = parse_rows(&vec![vec![0.0]; 3], 1, 2).unwrap_err().to_string();
        assert!(e.contains("3 samples; at most 2"), "{e}");
        assert_eq!(parse_rows(&[vec![0.5, 1.0]], 2, 10).unwrap(), vec![0.5f32, 1.0]);
    }

    #[test]
    fn split_off_cuts_every_field() {
        let mut out = RowsOut { scores: Some(vec![1.0, 2.0, 3.0]), flags: Some(vec![true, false, true]), ..RowsOut::default() };
        let first = out.split_off(2);
        assert_eq!(first.scores, Some(vec![1.0, 2.0]));
        assert_eq!(first.flags, Some(vec![true, false]));
        assert_eq!(out.scores, Some(vec![3.0]));
        assert!(first.codes.is_none());
    }

    #[test]
    fn decode_image_refuses_other_formats_and_garbage() {
        let e = decode_image(b"GIF89a\x01\x00\x01\x00").unwrap_err().to_string();
        assert!(e.contains("body") && e.contains("expected PNG, JPEG or BMP"), "{e}");
        let e = decode_image(b"\x89PNG\r\n\x1a\nbroken").unwrap_err().to_string();
        assert!(e.contains("cannot decode"), "{e}");
    }

    #[test]
    fn endpoint_routes_follow_capabilities() {
        use crate::models::ModelConfig;
        use crate::train::{TrainConfig, TrainRequest};
        let device = Device::flex();
        let shape = SampleShape::Image { channels: 1, height: 4, width: 4 };
        let cfg = ModelConfig::Vae(crate::models::vae::VaeConfig::new(shape).with_hidden(vec![8]).with_latent(2));
        let request = TrainRequest::new(cfg.clone(), TrainConfig::new());
        let run = Run::from_fitted(request, cfg.init(&device).unwrap(), Path::new("mem"));
        let ep = Endpoint::from_run("v", run, &device);
        assert_eq!(ep.info().routes, vec!["encode", "decode", "reconstruct", "sample"]);
        assert_eq!(ep.info().latent_dim, Some(2));
        let e = ep.check_route(Route::Score).unwrap_err().to_string();
        assert!(e.contains("\"score\" is not offered by v") && e.contains("encode, decode, reconstruct, sample"), "{e}");
        let out = ep.rows(Route::Decode, vec![0.0; 4], 2, FlagRule::default()).unwrap();
        let outputs = out.outputs.unwrap();
        assert_eq!((outputs.len(), outputs[0].len()), (2, 16));
        let s = ep.sample(3, 7, 1.0).unwrap().outputs.unwrap();
        assert_eq!(s, ep.sample(3, 7, 1.0).unwrap().outputs.unwrap(), "seeded draws repeat");
        assert!(ep.sample(0, 7, 1.0).is_err() && ep.sample(1, 7, f64::NAN).is_err());
    }
}
