//! Restoration models shipped inside aekit, so `aekit denoise --model photo-denoise` and
//! `aekit upscale --model photo-x2` work with no training. Each is a run folder's
//! `config.json` and `model.safetensors` (in `crates/aekit/models/NAME/`), compiled in.
//!
//! They were trained by `bench/photos/run.sh` on crops of seven photos bundled with
//! scikit-image (origins and licences in `bench/photos/PHOTOS.md`), never on its test photos;
//! their figures are in BENCHMARKS.md. A new one is a folder and a line below.

use std::path::Path;

use burn::prelude::Device;

use crate::error::{Error, Result};
use crate::train::run::Run;
use crate::viz::html::{Block, Section};

/// One shipped model.
pub struct BuiltinModel {
    pub name: &'static str,
    /// One line for `--help`.
    pub help: &'static str,
    config: &'static str,
    weights: &'static [u8],
}

macro_rules! builtin {
    ($name:literal, $help:literal) => {
        BuiltinModel {
            name: $name,
            help: $help,
            config: include_str!(concat!("../../../models/", $name, "/config.json")),
            weights: include_bytes!(concat!("../../../models/", $name, "/model.safetensors")),
        }
    };
}

/// Every shipped model.
pub const BUILTIN: &[BuiltinModel] = &[
    builtin!("photo-denoise", "colour photos, Gaussian noise sigma 25/255 (dncnn, depth 8, width 48)"),
    builtin!("photo-denoise-blind", "colour photos, Gaussian noise of unknown sigma up to 0.2 (51/255) (dncnn, depth 8, width 48; at a known 25/255 photo-denoise is ~1 dB better)"),
    builtin!("photo-x2", "colour photos, super-resolution x2 from bicubic downscaling (vdsr, depth 8, width 48)"),
    builtin!("photo-x4", "colour photos, super-resolution x4 from bicubic downscaling (vdsr, depth 8, width 48)"),
];

/// Loads the shipped model `name` on `device`.
pub fn open(name: &str, device: &Device) -> Result<Run> {
    let m = BUILTIN.iter().find(|m| m.name == name).ok_or_else(|| {
        let names: Vec<&str> = BUILTIN.iter().map(|m| m.name).collect();
        Error::arg("model", format!("{name:?} is not a built-in model; expected one of {}", names.join(", ")))
    })?;
    Run::from_bytes(m.name, m.config, m.weights, device)
}

/// The demo's photo: a 192x128 crop of scikit-image's `coffee` (CC0, Rachel Michetti), a
/// validation photo of the bench, not a training or test one.
const DEMO_PHOTO: &[u8] = include_bytes!("../../../models/demo-photo.png");

/// The demo's photo section: the shipped models on [`DEMO_PHOTO`] with Gaussian noise (sigma
/// 25/255, seeded, clipped, rounded to 8 bits) and downscaled x2 and x4 (bicubic, 8 bits).
/// Writes `OUT/photos/*.png`.
pub fn demo_section(device: &Device, out: &Path) -> Result<Section> {
    use crate::data::degrade::{downscale, upscale_bicubic, Downscale};
    let name = Path::new("builtin:demo-photo.png");
    let img = image::load_from_memory(DEMO_PHOTO).map_err(|e| Error::input(name, format!("cannot decode image: {e}")))?;
    let (h, w) = (img.height() as usize, img.width() as usize);
    let mut clean = Vec::new();
    crate::data::folder::push_planar(&img, 3, &mut clean);
    let q = |v: Vec<f32>| -> Vec<f32> { v.into_iter().map(|x| (x.clamp(0.0, 1.0) * 255.0).round() / 255.0).collect() };
    let dir = out.join("photos");
    crate::io::create_dir(&dir)?;
    let save = |file: &str, img: &[f32], h: usize, w: usize| super::tiles::save_png(&dir.join(file), img, 3, h, w);
    save("clean.png", &clean, h, w)?;
    let psnr = |x: &[f32]| crate::metrics::psnr_image_db(x, &clean);
    let mut rows = Vec::new();
    let mut report = serde_json::Map::new();

    let mut rng = crate::rng::stream(crate::train::objective::EVAL_SEED, 25);
    let noisy = q(clean.iter().map(|&v| v + (25.0 / 255.0 * crate::rng::standard_normal(&mut rng)) as f32).collect());
    let run = open("photo-denoise", device)?;
    let (denoised, _, _) = super::tiles::restore_degraded(&run, &noisy, [3, h, w], super::tiles::RestoreOptions::default(), device)?;
    save("noisy.png", &noisy, h, w)?;
    save("denoised.png", &denoised, h, w)?;
    rows.push(vec!["denoise, sigma 25/255".into(), "noisy input".into(), format!("{:.2}", psnr(&noisy)), "photo-denoise".into(), format!("{:.2}", psnr(&denoised))]);
    report.insert("denoise".into(), serde_json::json!({ "psnr_noisy": psnr(&noisy), "psnr_model": psnr(&denoised) }));

    for s in [2usize, 4] {
        let low = q(downscale(&clean, 3, h, w, s, Downscale::Bicubic));
        let bicubic = upscale_bicubic(&low, 3, h / s, w / s, s);
        let run = open(&format!("photo-x{s}"), device)?;
        let (up, _, _) = super::tiles::restore_degraded(&run, &low, [3, h / s, w / s], super::tiles::RestoreOptions::default(), device)?;
        save(&format!("bicubic_x{s}.png"), &bicubic, h, w)?;
        save(&format!("photo_x{s}.png"), &up, h, w)?;
        rows.push(vec![format!("super-resolution x{s}"), "bicubic upscaling".into(), format!("{:.2}", psnr(&bicubic)), format!("photo-x{s}"), format!("{:.2}", psnr(&up))]);
        report.insert(format!("x{s}"), serde_json::json!({ "psnr_bicubic": psnr(&bicubic), "psnr_model": psnr(&up) }));
    }
    report.insert("psnr_definition".into(), "10 log10(1 / MSE) over the RGB pixels in [0, 1]".into());
    crate::io::write_json(&dir.join("report.json"), &serde_json::Value::Object(report))?;
    let fig = |src: &str, caption: &str| Block::Figure { src: format!("photos/{src}"), caption: caption.into() };
    Ok(Section {
        title: "Photos: the shipped restoration models".into(),
        blocks: vec![
            Block::Text(format!(
                "A {w}x{h} colour photo (scikit-image's coffee, CC0) restored by the models that ship inside aekit \
                 (`aekit denoise --model photo-denoise`, `aekit upscale --model photo-x2`), trained on other photos \
                 (bench/photos). PSNR in dB on RGB, pixels in [0, 1]."
            )),
            Block::Table { header: ["task", "input", "PSNR", "model", "PSNR"].map(String::from).to_vec(), rows },
            fig("clean.png", "The original."),
            fig("noisy.png", "With Gaussian noise, sigma 25/255."),
            fig("denoised.png", "Denoised by photo-denoise."),
            fig("bicubic_x2.png", "Downscaled x2, then bicubic upscaling."),
            fig("photo_x2.png", "Downscaled x2, then photo-x2."),
            fig("bicubic_x4.png", "Downscaled x4, then bicubic upscaling."),
            fig("photo_x4.png", "Downscaled x4, then photo-x4."),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Autoencoder;

    #[test]
    fn every_builtin_model_loads_and_restores() {
        let device = Device::flex();
        for m in BUILTIN {
            let run = open(m.name, &device).unwrap_or_else(|e| panic!("{}: {e}", m.name));
            assert!(run.request.objective.is_restoration(), "{}", m.name);
            assert!(run.model.image_restorer().is_some(), "{}", m.name);
            assert!(run.model.loss_description().contains("mse"), "{}", m.name);
        }
        assert!(open("nope", &device).err().expect("an unknown name is an error").to_string().contains("photo-denoise"));
    }

    /// The blind model removes noise it was not told the level of, well below and above sigma
    /// 25/255, on the demo photo (not a training photo). Margins: about 1 dB under what it
    /// measured when it was shipped (sigma 10: 28.53 → 33.40 dB, +4.87; sigma 40: 17.35 →
    /// 27.83 dB, +10.48).
    #[test]
    fn the_blind_denoiser_works_at_other_noise_levels() {
        let device = Device::flex();
        let img = image::load_from_memory(DEMO_PHOTO).unwrap();
        let (h, w) = (img.height() as usize, img.width() as usize);
        let mut clean = Vec::new();
        crate::data::folder::push_planar(&img, 3, &mut clean);
        let blind = open("photo-denoise-blind", &device).unwrap();
        for (sigma, margin) in [(10.0, 4.0), (40.0, 9.5)] {
            let mut rng = crate::rng::stream(7, sigma as u64);
            let noisy: Vec<f32> = clean.iter().map(|&v| ((v + (sigma / 255.0 * crate::rng::standard_normal(&mut rng)) as f32).clamp(0.0, 1.0) * 255.0).round() / 255.0).collect();
            let (y, _, _) = super::super::tiles::restore_degraded(&blind, &noisy, [3, h, w], super::super::tiles::RestoreOptions::default(), &device).unwrap();
            let (p_noisy, p_out) = (crate::metrics::psnr_image_db(&noisy, &clean), crate::metrics::psnr_image_db(&y, &clean));
            eprintln!("sigma {sigma}: noisy {p_noisy:.2} dB, blind model {p_out:.2} dB");
            assert!(p_out > p_noisy + margin, "sigma {sigma}: noisy {p_noisy:.2} dB, blind model {p_out:.2} dB");
        }
    }
}
