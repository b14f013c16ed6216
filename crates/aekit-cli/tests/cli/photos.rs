//! Photos: patch training on RGB images of mixed sizes (`--patch-size`), the photo defaults
//! of `train --task denoise|superres` without `--model`, and restoring whole photos.

use super::*;

/// An RGB PNG with smooth colour gradients and hard edges (something to denoise).
fn write_photo(path: &Path, w: u32, h: u32, seed: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_fn(w, h, |x, y| {
        let edge = ((x + seed) / 6 + y / 9) % 2 == 0;
        let v = |k: u32| ((x * k + y * (k + 3) + seed * 17) % 200) as u8 + if edge { 40 } else { 0 };
        image::Rgb([v(3), v(5), v(2)])
    })
    .save(path)
    .unwrap();
}

/// train/ of five photos of different sizes, test/ of two, val/ of one.
fn photo_folder(root: &Path) {
    for (i, (w, h)) in [(40, 30), (56, 48), (33, 64), (24, 24), (70, 41)].into_iter().enumerate() {
        write_photo(&root.join(format!("p/train/t{i}.png")), w, h, i as u32);
    }
    write_photo(&root.join("p/test/a.png"), 52, 37, 11);
    write_photo(&root.join("p/test/b.png"), 30, 45, 12);
    write_photo(&root.join("p/val/v.png"), 40, 40, 13);
}

fn rgb_pixels(path: &Path) -> (u32, u32, Vec<u8>) {
    let img = image::open(path).unwrap().to_rgb8();
    (img.width(), img.height(), img.into_raw())
}

const SMALL: [&str; 4] = ["--depth", "3", "--channels", "8"];

#[test]
fn photos_train_on_patches_of_mixed_sizes_with_the_photo_defaults() {
    let t = tempfile::tempdir().unwrap();
    photo_folder(t.path());
    let args = |epochs: &'static str, out: &'static str| -> Vec<&'static str> {
        let mut v = vec!["train", "--task", "denoise", "--noise", "gaussian:0.05-0.15", "--data", "p", "--patch-size", "16", "--epochs", epochs, "--out", out, "--quiet"];
        v.extend(SMALL);
        v
    };
    let o = aekit(t.path(), &args("2", "full"));
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = report(&t.path().join("full/config.json"));
    assert_eq!(cfg["model"]["model"].as_str(), Some("residual"), "{cfg}");
    assert_eq!(cfg["model"]["kind"].as_str(), Some("dncnn"), "{cfg}");
    assert_eq!(cfg["train"]["batch_size"].as_u64(), Some(16), "{cfg}");
    assert_eq!(cfg["train"]["lr_schedule"].as_str(), Some("cosine"), "{cfg}");
    assert_eq!(cfg["task"]["noise"][0]["kind"].as_str(), Some("gaussian_range"), "{cfg}");
    // Half the crops get a tone change (the denoiser's photo default), saved for --resume.
    assert_eq!(cfg["data"]["args"]["tone_augment"].as_f64(), Some(0.5), "{cfg}");
    let r = report(&t.path().join("full/report.json"));
    // Crops per epoch: the denoiser's epoch of 20 Mi pixels would be thousands per image, so
    // the cap of two per 16² of area per 8 Mi of epoch, round(5 area / 16²) per image: 1200,
    // 2688, 2112, 576, 2870 → 23+53+41+11+56.
    assert_eq!(r["n_train"].as_u64(), Some(184), "{r}");
    // Fixed crops per val/test image: the mean area over 16², whole: val/ 1600 → 6; test/
    // (1924 + 1350) / 2 = 1637 → 6 each.
    assert_eq!((r["n_val"].as_u64(), r["n_test"].as_u64()), (Some(6), Some(12)), "{r}");
    assert!(r["validation"].as_str().unwrap().contains("given apart"), "{r}");

    // The crops of epoch e depend on (seed, e) alone: a resumed run trains on the same ones.
    // (With a constant learning rate: the photo defaults' cosine schedule spans the epochs a
    // run is given, so a run of 1 epoch resumed to 2 anneals differently from a run of 2.)
    let constant = |mut v: Vec<&'static str>| {
        v.extend(["--lr-schedule", "constant"]);
        v
    };
    let o = aekit(t.path(), &constant(args("2", "full-constant")));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &constant(args("1", "part")));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &["train", "--resume", "part", "--epochs", "2", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(metrics_values(&t.path().join("full-constant/metrics.csv")), metrics_values(&t.path().join("part/metrics.csv")));

    // Whole photos of any size, one output per input with the same stem; 16-pixel tiles give
    // the untiled result up to 8-bit rounding.
    for (out, tile) in [("whole", "4096"), ("tiled", "16")] {
        let o = aekit(t.path(), &["denoise", "--run", "full", "--input", "p/test", "--out", out, "--tile", tile, "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_tiles_seamless(t.path(), "full", "p/test");
}

/// `denoise --run RUN` on `input` whole and on 16-pixel tiles, with and without the
/// self-ensemble: tiled equals untiled up to 8-bit rounding, and the self-ensemble changes the
/// output (it averages 8 different restorations).
fn assert_tiles_seamless(root: &Path, run: &str, input: &str) {
    for (out, tile, se) in [("whole", "4096", false), ("tiled", "16", false), ("whole-se", "4096", true), ("tiled-se", "16", true)] {
        let out = format!("{run}-{out}");
        let mut args = vec!["denoise", "--run", run, "--input", input, "--out", &out, "--tile", tile, "--quiet"];
        if se {
            args.push("--self-ensemble");
        }
        let o = aekit(root, &args);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    for (name, size) in [("a.png", (52, 37)), ("b.png", (30, 45))] {
        let px = |out: &str| {
            let (w, h, v) = rgb_pixels(&root.join(format!("{run}-{out}")).join(name));
            assert_eq!((w, h), size, "{run}-{out}/{name}");
            v
        };
        let max = |a: &[u8], b: &[u8]| a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
        let (whole, tiled, whole_se, tiled_se) = (px("whole"), px("tiled"), px("whole-se"), px("tiled-se"));
        assert!(max(&whole, &tiled) <= 1, "{run} {name}: tiled and untiled differ by {}/255", max(&whole, &tiled));
        assert!(max(&whole_se, &tiled_se) <= 1, "{run} {name}: self-ensemble tiled and untiled differ by {}/255", max(&whole_se, &tiled_se));
        assert!(max(&whole, &whole_se) > 1, "{run} {name}: the self-ensemble changed nothing");
    }
}

#[test]
fn photos_unet_trains_on_patches_and_tiles_without_seams() {
    let t = tempfile::tempdir().unwrap();
    photo_folder(t.path());
    let args = |patch: &'static str, out: &'static str| -> Vec<&'static str> {
        vec!["train", "--task", "denoise", "--noise", "gaussian:0.1", "--data", "p", "--model", "unet", "--depth", "1", "--channels", "8", "--patch-size", patch, "--epochs", "2", "--out", out, "--quiet"]
    };
    let o = aekit(t.path(), &args("16", "unet"));
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = report(&t.path().join("unet/config.json"));
    assert_eq!((cfg["model"]["model"].as_str(), cfg["model"]["features"].as_u64(), cfg["model"]["bottom"].as_u64()), (Some("unet"), Some(8), Some(1)), "{cfg}");
    // A photo model named on the command line keeps the photo defaults.
    assert_eq!((cfg["train"]["batch_size"].as_u64(), cfg["train"]["lr_schedule"].as_str()), (Some(16), Some("cosine")), "{cfg}");
    // The test photos are 52x37 and 30x45: padded to multiples of 4, tiles on the 4-pixel grid.
    assert_tiles_seamless(t.path(), "unet", "p/test");
    let o = aekit(t.path(), &args("18", "bad"));
    assert_bad_input(&o, "divisible by 4", &["18x18"]);
}

#[test]
fn photos_superres_defaults_to_vdsr_on_bicubic_downscaling() {
    let t = tempfile::tempdir().unwrap();
    photo_folder(t.path());
    let mut args = vec!["train", "--task", "superres", "--scale", "2", "--data", "p", "--patch-size", "16", "--epochs", "1", "--out", "sr", "--quiet"];
    args.extend(SMALL);
    let o = aekit(t.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = report(&t.path().join("sr/config.json"));
    assert_eq!((cfg["model"]["kind"].as_str(), cfg["task"]["downscale"].as_str(), cfg["task"]["input"].as_str()), (Some("vdsr"), Some("bicubic"), Some("upscaled")), "{cfg}");
    assert_eq!(cfg["data"]["args"]["tone_augment"].as_f64(), Some(0.0), "{cfg}");
    write_photo(&t.path().join("lr/x.png"), 13, 10, 3);
    let o = aekit(t.path(), &["upscale", "--run", "sr", "--input", "lr", "--out", "up", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (w, h, _) = rgb_pixels(&t.path().join("up/x.png"));
    assert_eq!((w, h), (26, 20));
}

#[test]
fn photos_bad_inputs_are_exit_2() {
    let t = tempfile::tempdir().unwrap();
    photo_folder(t.path());
    let base = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec!["train", "--task", "denoise", "--noise", "gaussian:0.1", "--data", "p", "--epochs", "1", "--out", "x", "--quiet"];
        v.extend(SMALL);
        v.extend_from_slice(extra);
        v
    };
    // 24x24 is the smallest training photo.
    let o = aekit(t.path(), &base(&["--patch-size", "30"]));
    assert_bad_input(&o, "t3.png", &["24x24", "smaller than the patch size 30x30"]);
    let o = aekit(t.path(), &base(&["--patch-size", "16", "--noise", "gaussian:0.3-0.1"]));
    assert_bad_input(&o, "noise", &["0.3-0.1"]);
    let o = aekit(t.path(), &base(&["--patch-size", "16", "--tone-augment", "1.5"]));
    assert_bad_input(&o, "tone augment", &["1.5", "probability in [0, 1]"]);
    let mut sr = vec!["train", "--task", "superres", "--scale", "3", "--data", "p", "--patch-size", "16", "--epochs", "1", "--out", "y", "--quiet"];
    sr.extend(SMALL);
    let o = aekit(t.path(), &sr);
    assert_bad_input(&o, "divisible by 3", &["16x16"]);
    std::fs::write(t.path().join("p/train/broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let o = aekit(t.path(), &base(&["--patch-size", "16"]));
    assert_bad_input(&o, "broken.png", &["cannot decode"]);
    // Reconstruction has no photo default.
    let o = aekit(t.path(), &["train", "--data", "p", "--patch-size", "16", "--out", "z"]);
    assert_bad_input(&o, "model", &["--model is required"]);
}
