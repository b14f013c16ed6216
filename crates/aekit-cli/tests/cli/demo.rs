//! `aekit demo`.

use super::*;

#[test]
fn demo_writes_index_with_every_figure() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &["demo", "--out", "demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(t.path().join("demo/index.html")).unwrap();
    let mut n = 0;
    for part in html.split("<img src=\"").skip(1) {
        let src = &part[..part.find('"').unwrap()];
        assert!(t.path().join("demo").join(src).is_file(), "index.html shows {src}, which is missing");
        n += 1;
    }
    assert!(n >= 3, "only {n} figures in the demo");
    let r = report(&t.path().join("demo/pca/report.json"));
    assert_eq!(r["n_train"].as_u64(), Some(4000));
    assert_eq!(r["n_test"].as_u64(), Some(1000));
    // The features section's codes (a shift-denoising conv autoencoder) must beat PCA-32 with all
    // labels, as they do on full MNIST (measured on the embedded subset: 91.5% against 87.8%).
    let f = report(&t.path().join("demo/features/report.json"));
    let all = |name: &str| {
        f["rows"].as_array().unwrap().iter().find(|r| r["features"] == name && r["labels_per_class"].is_null()).unwrap()["accuracy_mean"].as_f64().unwrap()
    };
    assert!(all("latent") > all("pca") + 0.01, "codes {} vs PCA {}", all("latent"), all("pca"));
    // The shipped photo models on the embedded photo (not one they were trained on) beat their
    // input or bicubic upscaling; measured (2026-11-30): +9.5 dB, +2.07 dB, +1.73 dB.
    let p = report(&t.path().join("demo/photos/report.json"));
    let db = |task: &str, f: &str| p[task][f].as_f64().unwrap_or_else(|| panic!("{task}.{f} missing: {p}"));
    assert!(db("denoise", "psnr_model") > db("denoise", "psnr_noisy") + 8.0, "{p}");
    assert!(db("x2", "psnr_model") > db("x2", "psnr_bicubic") + 1.0, "{p}");
    assert!(db("x4", "psnr_model") > db("x4", "psnr_bicubic") + 0.8, "{p}");
}
