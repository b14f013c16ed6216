//! Restoration: `train --task denoise|superres`, `denoise`, `upscale` and their evaluation.

use super::*;

fn restore_train(dir: &Path, extra: &[&str]) {
    let o = aekit(dir, &train_args(extra));
    assert!(o.status.success(), "{}", stderr(&o));
}

/// A grey PNG of `w` x `h` made of embedded MNIST-like strokes (a smooth pattern with edges).
fn write_grey_png(path: &Path, w: u32, h: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_fn(w, h, |x, y| image::Luma([if (x / 5 + y / 7) % 3 == 0 { 230 } else { ((x * 7 + y * 3) % 40) as u8 }]))
        .save(path)
        .unwrap();
}

fn grey_pixels(path: &Path) -> (u32, u32, Vec<u8>) {
    let img = image::open(path).unwrap().to_luma8();
    (img.width(), img.height(), img.into_raw())
}

#[test]
fn restore_denoise_trains_evaluates_and_resumes_exactly() {
    let t = tempfile::tempdir().unwrap();
    let args = |epochs: &'static str, out: &'static str| -> Vec<&'static str> {
        vec!["--task", "denoise", "--noise", "gaussian:0.5,salt-pepper:0.05", "--model", "dae", "--channels", "8,8", "--epochs", epochs, "--out", out]
    };
    restore_train(t.path(), &args("2", "full"));
    restore_train(t.path(), &args("1", "part"));
    let o = aekit(t.path(), &["train", "--resume", "part", "--epochs", "2", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Corruption is drawn per (seed, epoch): the resumed run saw the same noisy inputs.
    assert_eq!(metrics_values(&t.path().join("full/metrics.csv")), metrics_values(&t.path().join("part/metrics.csv")));
    let cfg = report(&t.path().join("full/config.json"));
    assert_eq!(cfg["task"]["task"].as_str(), Some("denoise"));
    assert_eq!(cfg["task"]["noise"][1]["kind"].as_str(), Some("salt_pepper"));

    let o = aekit(t.path(), &["eval", "--run", "full", "--data", "mnist-embedded", "--test-samples", "200", "--out", "ev"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("ev/report.json"));
    for f in ["psnr_degraded", "psnr_baseline", "psnr_model", "ssim_degraded", "ssim_baseline", "ssim_model"] {
        assert!(r[f].as_f64().is_some_and(f64::is_finite), "{f}: {r}");
    }
    assert_eq!(r["n"].as_u64(), Some(200));
    assert_eq!(r["baselines"].as_array().unwrap().len(), 2);
    assert!(r["baseline"].as_str().unwrap().contains("median"), "{r}");
    // The median filter beats the noisy input; the model (16 steps of training here) only has
    // to be learning: its restoration error on the test set falls from epoch to epoch.
    assert!(r["psnr_baseline"].as_f64().expect("psnr_baseline missing") > r["psnr_degraded"].as_f64().expect("psnr_degraded missing"), "{r}");
    let m = report(&t.path().join("full/report.json"))["epochs"].clone();
    assert!(m[1]["val_mse"].as_f64().expect("epoch 2 val_mse missing") < m[0]["val_mse"].as_f64().expect("epoch 1 val_mse missing"), "{m}");
    assert!(t.path().join("ev/comparison.png").is_file());
    // Training wrote the same evaluation of the whole (300-image) test set into the run.
    let tr = report(&t.path().join("full/report.json"));
    assert!(tr["extra"]["restoration"]["psnr_model"].as_f64().is_some(), "{tr}");
}

#[test]
fn restore_denoise_tiles_any_size_without_seams() {
    let t = tempfile::tempdir().unwrap();
    restore_train(t.path(), &["--task", "denoise", "--model", "dae", "--channels", "8,8", "--epochs", "1", "--out", "dae"]);
    restore_train(t.path(), &["--task", "denoise", "--model", "srcnn", "--channels", "8,4", "--epochs", "1", "--out", "srcnn"]);
    // 44x60 is not the training size; the dae needs sides divisible by 4, srcnn any size.
    write_grey_png(&t.path().join("in/a.png"), 60, 44);
    write_grey_png(&t.path().join("odd/b.png"), 37, 30);
    for (run, input, name, size) in [("dae", "in", "a.png", (60, 44)), ("srcnn", "odd", "b.png", (37, 30)), ("srcnn", "in", "a.png", (60, 44))] {
        let whole = format!("{run}-{input}-whole");
        let tiled = format!("{run}-{input}-tiled");
        let o = aekit(t.path(), &["denoise", "--run", run, "--input", input, "--out", &whole, "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let o = aekit(t.path(), &["denoise", "--run", run, "--input", input, "--out", &tiled, "--tile", "8", "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (w1, h1, a) = grey_pixels(&t.path().join(&whole).join(name));
        let (w2, h2, b) = grey_pixels(&t.path().join(&tiled).join(name));
        assert_eq!(((w1, h1), (w2, h2)), (size, size));
        // Tiles of 8 pixels with cropped halos give the untiled result (up to 8-bit rounding).
        let max = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
        assert!(max <= 1, "{run} on {input}: tiled and untiled differ by {max}/255");
    }
}

#[test]
fn restore_superres_upscales_with_both_model_kinds() {
    let t = tempfile::tempdir().unwrap();
    restore_train(t.path(), &["--task", "superres", "--scale", "2", "--model", "subpixel", "--channels", "8,8", "--epochs", "1", "--out", "sub"]);
    restore_train(t.path(), &["--task", "superres", "--scale", "4", "--model", "srcnn", "--channels", "8,4", "--kernels", "5,3,3", "--epochs", "1", "--out", "sr4"]);
    write_grey_png(&t.path().join("lr/x.png"), 13, 10);
    for (run, s) in [("sub", 2u32), ("sr4", 4)] {
        let out = format!("{run}-up");
        let o = aekit(t.path(), &["upscale", "--run", run, "--input", "lr/x.png", "--out", &out, "--tile", "4", "--quiet"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let (w, h, _) = grey_pixels(&t.path().join(&out).join("x.png"));
        assert_eq!((w, h), (13 * s, 10 * s), "{run}");
    }
    let o = aekit(t.path(), &["eval", "--run", "sr4", "--data", "mnist-embedded", "--test-samples", "100", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("sr4/eval/report.json"));
    assert!(r["baseline"].as_str().unwrap().starts_with("bicubic"), "{r}");
    assert!(r["psnr_baseline"].as_f64().expect("psnr_baseline missing") > r["psnr_degraded"].as_f64().expect("psnr_degraded missing"), "bicubic beats nearest: {r}");
    assert!(t.path().join("sr4/eval/comparison.png").is_file());
    let cfg = report(&t.path().join("sub/config.json"));
    assert_eq!((cfg["task"]["input"].as_str(), cfg["model"]["upscale"].as_u64()), (Some("low_res"), Some(2)));
}

#[test]
fn restore_bad_inputs_are_exit_2() {
    let t = tempfile::tempdir().unwrap();
    restore_train(t.path(), &["--task", "superres", "--scale", "2", "--model", "subpixel", "--channels", "4,4", "--epochs", "1", "--out", "sub"]);
    write_png(&t.path().join("rgb/c.png"), 12, 12, true);
    let o = aekit(t.path(), &["upscale", "--run", "sub", "--input", "rgb/c.png", "--out", "o1"]);
    assert_bad_input(&o, "c.png", &["colour", "grey"]);
    write_grey_png(&t.path().join("g/d.png"), 12, 12);
    let o = aekit(t.path(), &["upscale", "--run", "sub", "--input", "g", "--out", "o2", "--scale", "4"]);
    assert_bad_input(&o, "scale", &["trained to upscale by 2"]);
    std::fs::write(t.path().join("g/broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let o = aekit(t.path(), &["upscale", "--run", "sub", "--input", "g", "--out", "o3"]);
    assert_bad_input(&o, "broken.png", &["cannot decode"]);
    assert!(!t.path().join("o3").exists(), "nothing is written when one input is bad");
    let o = aekit(t.path(), &["denoise", "--run", "sub", "--input", "g/d.png", "--out", "o4"]);
    assert_bad_input(&o, "run", &["superres", "not denoise"]);
    let o = aekit(t.path(), &train_args(&["--task", "denoise", "--noise", "blur:1", "--model", "dae", "--out", "x"]));
    assert_bad_input(&o, "noise", &["blur"]);
    let o = aekit(t.path(), &train_args(&["--task", "superres", "--scale", "5", "--model", "srcnn", "--out", "x"]));
    assert_bad_input(&o, "scale", &["2, 3 or 4"]);
    let o = aekit(t.path(), &train_args(&["--task", "superres", "--scale", "3", "--model", "srcnn", "--out", "x"]));
    assert_bad_input(&o, "divisible by 3", &["28x28"]);
}
