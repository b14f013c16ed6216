//! Using a trained run: reconstruct a dataset (grid and per-sample errors), export latent
//! vectors, and decode latent vectors back into data.

use std::fmt::Write as _;
use std::path::Path;

use burn::prelude::*;

use crate::data::latents;
use crate::data::{batch_tensor, Dataset, SampleShape};
use crate::error::Result;
use crate::models::Autoencoder;
use crate::train::run::Run;
use crate::viz::grid::Grid;

/// Summary of `aekit reconstruct`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReconstructReport {
    pub n: usize,
    /// Mean over samples of the per-sample MSE per value (pixel).
    pub mse: f64,
    /// 10 log10(1 / mse): PSNR in dB for values in [0, 1].
    pub psnr_db: f64,
    /// Mean binary cross-entropy per value (sigmoid-output models).
    pub bce: Option<f64>,
}

/// Writes `reconstruction.png` (the first `n_show` samples above their reconstructions),
/// `errors.csv` (index, label, mse, bce per sample) and `report.json` into `out`.
pub fn reconstruct(t: &Run, ds: &Dataset, device: &Device, n_show: usize, out: &Path) -> Result<ReconstructReport> {
    let errors = t.errors(ds, device)?;
    crate::io::create_dir(out)?;
    if let SampleShape::Image { .. } = ds.shape() {
        let n = n_show.min(ds.len());
        let idx: Vec<usize> = (0..n).collect();
        let rec = crate::train::infer::to_vec(t.model.reconstruct(batch_tensor(ds, &idx, device)));
        let mut g = Grid::new(ds.shape(), 2)?.title("inputs and reconstructions");
        g.row(Some("input".into()), idx.iter().map(|&i| ds.sample(i)));
        g.row(Some("output".into()), rec.chunks_exact(ds.sample_len()));
        g.save_png(&out.join("reconstruction.png"))?;
    }
    let mut csv = String::from("index,label,mse,bce\n");
    for (i, (m, b)) in errors.iter().enumerate() {
        let label = ds.labels().map(|l| l[i].to_string()).unwrap_or_default();
        let bce = b.map(|b| b.to_string()).unwrap_or_default();
        let _ = writeln!(csv, "{i},{label},{m},{bce}");
    }
    crate::io::write_bytes(&out.join("errors.csv"), csv.as_bytes())?;
    let n = errors.len().max(1) as f64;
    let mse = errors.iter().map(|e| e.0).sum::<f64>() / n;
    let bce = errors.first().and_then(|e| e.1).map(|_| errors.iter().filter_map(|e| e.1).sum::<f64>() / n);
    let report = ReconstructReport { n: errors.len(), mse, psnr_db: crate::metrics::psnr_db(mse, 1.0), bce };
    crate::io::write_json(&out.join("report.json"), &report)?;
    Ok(report)
}

/// Decodes the latent vectors in `latents_file` and writes `decoded.png` (a grid of up to 64)
/// and one PNG per vector for image models, or `decoded.csv` for tabular ones.
pub fn decode_to_files(t: &Run, latents_file: &Path, device: &Device, out: &Path) -> Result<usize> {
    let z = latents::read(latents_file)?;
    let x = t.decode(&z, device, latents_file)?;
    crate::io::create_dir(out)?;
    let shape = t.config().input_shape();
    let p = shape.len();
    match shape {
        SampleShape::Image { channels, height, width } => {
            let mut g = Grid::new(shape, 2)?.title(format!("{} decoded latent vectors", z.len()));
            let rows: Vec<&[f32]> = x.chunks_exact(p).take(64).collect();
            for r in rows.chunks(8) {
                g.row(None, r.iter().copied());
            }
            g.save_png(&out.join("decoded.png"))?;
            let digits = z.len().to_string().len().max(4);
            for (i, img) in x.chunks_exact(p).enumerate() {
                let one = Grid::single(img, channels, height, width);
                crate::viz::grid::save_rgb_png(&out.join(format!("decoded_{i:0digits$}.png")), width, height, &one)?;
            }
        }
        SampleShape::Tabular { features } => {
            let mut csv = (0..features).map(|j| format!("x{j}")).collect::<Vec<_>>().join(",");
            csv.push('\n');
            for row in x.chunks_exact(p) {
                let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
                let _ = writeln!(csv, "{}", cells.join(","));
            }
            crate::io::write_bytes(&out.join("decoded.csv"), csv.as_bytes())?;
        }
    }
    Ok(z.len())
}
