//! `aekit pca`.

use super::*;

/// The figures scikit-learn 1.9.1 gives on MNIST (bench/pca/reference_values.md):
/// ```python
/// pca = PCA(n_components=50, svd_solver="full").fit(Xtr)          # Xtr: 60000x784 float32 /255
/// np.cumsum(pca.explained_variance_ratio_)[[0,4,8,12,16,20,24,28]]
/// p29 = PCA(29).fit(Xtr); ((p29.inverse_transform(p29.transform(Xte)) - Xte)**2).mean()
/// ```
#[test]
#[ignore = "needs the full MNIST: set AEKIT_DATA to the folder holding mnist/ and run with --include-ignored"]
fn pca_on_mnist_matches_scikit_learn() {
    let data = shared_mnist();
    let t = tempfile::tempdir().unwrap();
    let d = data.to_string_lossy().into_owned();
    for solver in ["exact", "randomized"] {
        let out = format!("out-{solver}");
        let o = aekit(t.path(), &["pca", "--data", "mnist", "--data-dir", &d, "--out", &out, "--solver", solver]);
        assert!(o.status.success(), "{}", stderr(&o));
        let r = report(&t.path().join(&out).join("report.json"));
        let expected = [
            (1, 0.09704673290252686),
            (5, 0.33227894455194473),
            (9, 0.4645798113197088),
            (13, 0.5466297883540392),
            (17, 0.6074124602600932),
            (21, 0.6542425556108356),
            (25, 0.691804913803935),
            (29, 0.7236348832957447),
        ];
        let rows = r["components"].as_array().unwrap();
        assert_eq!(rows.len(), expected.len());
        for (row, (k, cum)) in rows.iter().zip(expected) {
            assert_eq!(row["k"].as_u64().unwrap(), k);
            let got = row["cumulative_explained_variance"].as_f64().unwrap();
            assert!((got - cum).abs() < 5e-4, "{solver} k={k}: {got} vs sklearn {cum}");
        }
        let mse29 = rows[7]["test_mse"].as_f64().unwrap();
        assert!((mse29 - 0.018148643779933072).abs() < 5e-4, "{solver}: test MSE at k=29 {mse29}");
        let psnr = rows[7]["test_psnr_db"].as_f64().unwrap();
        assert!((psnr - 17.41155823569921).abs() < 0.05, "{solver}: PSNR {psnr}");
        for f in ["compression.png", "components.png", "variance.png", "pca.safetensors", "pca.json"] {
            assert!(t.path().join(&out).join(f).is_file(), "{solver}: {f} missing");
        }
    }
}

#[test]
fn pca_on_csv_writes_report_without_image_figures() {
    let t = tempfile::tempdir().unwrap();
    // 3-D points near a line: the first component carries almost all variance.
    let rows: String = (0..50).map(|i| {
        let s = i as f32 / 10.0;
        format!("{},{},{}\n", s, 2.0 * s + 0.01 * ((i * 7) % 5) as f32, -s)
    }).collect();
    std::fs::write(t.path().join("pts.csv"), format!("x,y,z\n{rows}")).unwrap();
    let o = aekit(t.path(), &["pca", "--data", "pts.csv", "--out", "o", "--components", "1,2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("o/report.json"));
    let c1 = r["components"][0]["cumulative_explained_variance"].as_f64().unwrap();
    assert!(c1 > 0.999, "first component explains {c1}");
    assert!(t.path().join("o/variance.png").is_file());
    assert!(!t.path().join("o/compression.png").exists());
}

#[test]
fn pca_rejects_too_many_components() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("p.csv"), "a,b\n1,2\n2,3\n3,5\n4,4\n5,1\n").unwrap();
    let o = aekit(t.path(), &["pca", "--data", "p.csv", "--out", "o", "--components", "3"]);
    assert_bad_input(&o, "components", &["k = 3", "expected 1 to"]);
    assert!(!t.path().join("o/report.json").exists());
}
