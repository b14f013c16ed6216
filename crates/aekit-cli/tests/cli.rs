//! Integration tests: each runs the real `aekit` binary in its own temporary folder.
//!
//! Tests that need the full MNIST read it from `$AEKIT_DATA` (the folder holding `mnist/`;
//! `.ci/run` sets it to `../shared/data`). Without it they are skipped with a message, except
//! under CI (`CI` set), where a missing `AEKIT_DATA` is a failure.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn aekit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aekit"))
        .args(args)
        .current_dir(dir)
        .env_remove("AEKIT_DATA")
        .env_remove("AEKIT_MIRROR")
        // Never touch the user's cache or the network unless a test says so.
        .env("AEKIT_CACHE", dir.join("cache"))
        .env("AEKIT_MIRROR", "http://127.0.0.1:9/")
        .output()
        .expect("run aekit")
}

fn aekit_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aekit"));
    c.args(args).current_dir(dir).env_remove("AEKIT_DATA").env("AEKIT_CACHE", dir.join("cache"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run aekit")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit status 2 with an error that names `name` and contains every `needle`.
fn assert_bad_input(o: &Output, name: &str, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "expected exit 2, got {:?}; stderr: {err}", o.status.code());
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(err.contains(name), "error does not name {name:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "error lacks {n:?}: {err}");
    }
}

fn shared_mnist() -> Option<PathBuf> {
    match std::env::var_os("AEKIT_DATA") {
        Some(d) => {
            let d = PathBuf::from(d);
            // Relative to the workspace root, where `cargo test` and `.ci/run` are started.
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let d = if d.is_absolute() { d } else { root.join(d) };
            assert!(d.join("mnist").is_dir(), "AEKIT_DATA={} has no mnist/ folder", d.display());
            Some(d)
        }
        None if std::env::var_os("CI").is_some() => panic!("AEKIT_DATA must be set under CI"),
        None => {
            eprintln!("skipped: set AEKIT_DATA to the folder holding mnist/ to run this test");
            None
        }
    }
}

fn embedded_gz(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets/mnist-subset").join(name)).unwrap()
}

fn idx_header(dims: &[u32]) -> Vec<u8> {
    let mut v = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        v.extend(d.to_be_bytes());
    }
    v
}

// ---------- IDX ----------

#[test]
fn idx_good_file_loads() {
    let t = tempfile::tempdir().unwrap();
    let mut bytes = idx_header(&[10, 4, 3]);
    bytes.extend((0..120).map(|i| (i * 2) as u8));
    std::fs::write(t.path().join("x.idx"), &bytes).unwrap();
    let o = aekit(t.path(), &["info", "--data", "x.idx", "--test-fraction", "0.2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("train: 8 samples of 1x4x3 image"), "{out}");
    assert!(out.contains("test: 2 samples"), "{out}");
}

#[test]
fn idx_truncated_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let mut bytes = idx_header(&[10, 28, 28]);
    bytes.extend(vec![7u8; 100]);
    std::fs::write(t.path().join("trunc.idx"), &bytes).unwrap();
    let o = aekit(t.path(), &["info", "--data", "trunc.idx"]);
    assert_bad_input(&o, "trunc.idx", &["truncated", "7840 data bytes", "offset 116"]);
}

#[test]
fn idx_wrong_magic_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("magic.idx"), b"PK\x03\x04 not an idx file at all").unwrap();
    let o = aekit(t.path(), &["info", "--data", "magic.idx"]);
    assert_bad_input(&o, "magic.idx", &["wrong magic number 0x504b0304", "offset 0"]);
}

#[test]
fn idx_trailing_data_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let mut bytes = idx_header(&[2, 2, 2]);
    bytes.extend(vec![1u8; 9]);
    std::fs::write(t.path().join("long.idx"), &bytes).unwrap();
    let o = aekit(t.path(), &["info", "--data", "long.idx"]);
    assert_bad_input(&o, "long.idx", &["more data after offset 24"]);
}

#[test]
fn idx_absurd_size_is_refused_before_allocating() {
    let t = tempfile::tempdir().unwrap();
    let mut bytes = idx_header(&[4_000_000_000, 60_000, 60_000]);
    bytes.extend(vec![0u8; 16]);
    std::fs::write(t.path().join("huge.idx"), &bytes).unwrap();
    let o = aekit(t.path(), &["info", "--data", "huge.idx"]);
    assert_bad_input(&o, "huge.idx", &["more than", "header is corrupt"]);
}

#[test]
fn idx_cut_off_gzip_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let gz = embedded_gz("t10k-images-idx3-ubyte.gz");
    std::fs::write(t.path().join("cut.gz"), &gz[..gz.len() / 2]).unwrap();
    let o = aekit(t.path(), &["info", "--data", "cut.gz"]);
    assert_bad_input(&o, "cut.gz", &["gzip stream is corrupt or cut off"]);
}

// ---------- CSV ----------

fn csv_case(content: &str, extra: &[&str]) -> (tempfile::TempDir, Output) {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("table.csv"), content).unwrap();
    let mut args = vec!["info", "--data", "table.csv"];
    args.extend_from_slice(extra);
    let o = aekit(t.path(), &args);
    (t, o)
}

#[test]
fn csv_with_label_column_loads() {
    let rows: String = (0..10).map(|i| format!("{i},{}.5,{}\n", i * 2, i % 3)).collect();
    let (_t, o) = csv_case(&format!("a,b,class\n{rows}"), &["--label-column", "class"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("train: 8 samples of 2 features"), "{out}");
    assert!(out.contains("labels"), "{out}");
}

#[test]
fn csv_ragged_row_is_exit_2() {
    let (_t, o) = csv_case("a,b,c\n1,2,3\n4,5\n", &[]);
    assert_bad_input(&o, "table.csv", &["row 2 (line 3)", "2 fields, expected 3"]);
}

#[test]
fn csv_non_numeric_cell_is_exit_2() {
    let (_t, o) = csv_case("a,b\n1,2\n3,abc\n", &[]);
    assert_bad_input(&o, "table.csv", &["row 2 (line 3), column \"b\"", "\"abc\" is not a number"]);
}

#[test]
fn csv_nan_and_infinity_are_exit_2() {
    let (_t, o) = csv_case("a,b\n1,NaN\n", &[]);
    assert_bad_input(&o, "table.csv", &["row 1 (line 2), column \"b\"", "not finite"]);
    let (_t, o) = csv_case("a,b\n1,2\n-inf,2\n", &[]);
    assert_bad_input(&o, "table.csv", &["row 2 (line 3), column \"a\"", "not finite"]);
}

#[test]
fn csv_missing_label_column_is_exit_2() {
    let (_t, o) = csv_case("a,b\n1,2\n3,4\n", &["--label-column", "y"]);
    assert_bad_input(&o, "table.csv", &["no column named \"y\""]);
}

// ---------- image folders ----------

fn write_png(path: &Path, w: u32, h: u32, rgb: bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if rgb {
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 20) as u8, (y * 20) as u8, 100])).save(path).unwrap();
    } else {
        image::GrayImage::from_fn(w, h, |x, y| image::Luma([((x + y) * 10) as u8])).save(path).unwrap();
    }
}

#[test]
fn folder_with_class_subfolders_loads_labels() {
    let t = tempfile::tempdir().unwrap();
    for i in 0..5 {
        write_png(&t.path().join(format!("imgs/cat/{i}.png")), 8, 6, false);
        write_png(&t.path().join(format!("imgs/dog/{i}.png")), 8, 6, false);
    }
    let o = aekit(t.path(), &["info", "--data", "imgs"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("train: 8 samples of 1x6x8 image"), "{out}");
    assert!(out.contains("labels"), "{out}");
}

#[test]
fn folder_rgb_and_resize() {
    let t = tempfile::tempdir().unwrap();
    for i in 0..5 {
        write_png(&t.path().join(format!("imgs/{i}.png")), 10 + i, 7, true);
    }
    let o = aekit(t.path(), &["info", "--data", "imgs"]);
    assert_bad_input(&o, "1.png", &["image is 11x7, expected 10x7", "--resize"]);
    let o = aekit(t.path(), &["info", "--data", "imgs", "--resize", "16x16"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("3x16x16 image"));
}

#[test]
fn folder_empty_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir(t.path().join("empty")).unwrap();
    std::fs::write(t.path().join("empty/notes.txt"), "no images here").unwrap();
    let o = aekit(t.path(), &["info", "--data", "empty"]);
    assert_bad_input(&o, "empty", &["no images found"]);
}

#[test]
fn folder_unreadable_image_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    write_png(&t.path().join("imgs/a.png"), 4, 4, false);
    std::fs::write(t.path().join("imgs/b.png"), b"\x89PNG\r\n\x1a\n garbage").unwrap();
    let o = aekit(t.path(), &["info", "--data", "imgs"]);
    assert_bad_input(&o, "b.png", &["cannot decode image"]);
}

#[test]
fn missing_data_is_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &["info", "--data", "nowhere.csv"]);
    assert_bad_input(&o, "nowhere.csv", &["no such file or folder"]);
}

// ---------- built-in datasets: resolution, download, fallback ----------

#[derive(Clone, Copy, PartialEq)]
enum Serve {
    Good,
    /// Serve a valid gzip with the wrong content for the test labels.
    WrongFile,
    /// Announce the full length of the train images but close after half.
    CutOff,
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 serving `dir`'s files; returns its base URL.
fn serve(dir: PathBuf, mode: Serve) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&req).lines().next().unwrap_or("").to_string();
            let name = line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
            let body = if mode == Serve::WrongFile && name == "t10k-labels-idx1-ubyte.gz" {
                Some(embedded_gz("t10k-labels-idx1-ubyte.gz"))
            } else {
                std::fs::read(dir.join(&name)).ok()
            };
            match body {
                None => {
                    let _ = s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                }
                Some(b) => {
                    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", b.len());
                    let _ = s.write_all(head.as_bytes());
                    let send = if mode == Serve::CutOff && name.starts_with("train-images") { &b[..b.len() / 2] } else { &b[..] };
                    let _ = s.write_all(send);
                }
            }
        }
    });
    format!("http://{addr}/")
}

fn cache_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn download_is_verified_cached_and_reused() {
    let Some(data) = shared_mnist() else { return };
    let t = tempfile::tempdir().unwrap();
    let url = serve(data.join("mnist"), Serve::Good);
    let o = aekit_env(t.path(), &["info", "--data", "mnist", "--no-fallback"], &[("AEKIT_MIRROR", &url)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("downloaded from"), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("train: 60000 samples"));
    assert_eq!(cache_entries(&t.path().join("cache")), vec!["mnist"]);
    assert_eq!(cache_entries(&t.path().join("cache/mnist")).len(), 4);
    // Second run: the cache, no server needed.
    let o = aekit_env(t.path(), &["info", "--data", "mnist", "--no-fallback"], &[("AEKIT_MIRROR", "http://127.0.0.1:9/")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("from the cache"), "{}", stderr(&o));
}

#[test]
fn download_checksum_mismatch_leaves_cache_empty() {
    let Some(data) = shared_mnist() else { return };
    let t = tempfile::tempdir().unwrap();
    let url = serve(data.join("mnist"), Serve::WrongFile);
    let o = aekit_env(t.path(), &["info", "--data", "mnist", "--no-fallback"], &[("AEKIT_MIRROR", &url)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("t10k-labels-idx1-ubyte.gz") && err.contains("checksum mismatch"), "{err}");
    assert!(err.contains("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"), "{err}");
    assert_eq!(cache_entries(&t.path().join("cache")), Vec::<String>::new());
}

#[test]
fn download_cut_off_leaves_cache_empty_and_falls_back() {
    let Some(data) = shared_mnist() else { return };
    let t = tempfile::tempdir().unwrap();
    let url = serve(data.join("mnist"), Serve::CutOff);
    let o = aekit_env(t.path(), &["info", "--data", "mnist", "--no-fallback"], &[("AEKIT_MIRROR", &url)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("train-images-idx3-ubyte.gz") && err.contains("cut off"), "{err}");
    assert_eq!(cache_entries(&t.path().join("cache")), Vec::<String>::new());
    // Without --no-fallback the embedded subset is used, and the program says why.
    let o = aekit_env(t.path(), &["info", "--data", "mnist"], &[("AEKIT_MIRROR", &url)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("embedded MNIST subset") && stderr(&o).contains("cut off"), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("train: 4000 samples"));
}

#[test]
fn offline_falls_back_to_embedded_subset() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &["info", "--data", "mnist", "--offline"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("embedded MNIST subset"), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    // The subset is the head of the real files: same first labels as MNIST.
    assert!(out.contains("train: 4000 samples") && out.contains("[5, 0, 4, 1, 9, 2]"), "{out}");
    assert!(out.contains("test: 1000 samples") && out.contains("[7, 2, 1, 0, 4, 1]"), "{out}");
}

#[test]
fn data_dir_takes_precedence_over_env() {
    let Some(data) = shared_mnist() else { return };
    let t = tempfile::tempdir().unwrap();
    let d = data.to_string_lossy().into_owned();
    let o = aekit_env(t.path(), &["info", "--data", "mnist", "--data-dir", &d], &[("AEKIT_DATA", "/nonexistent")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("from --data-dir"), "{}", stderr(&o));
    let o = aekit_env(t.path(), &["info", "--data", "mnist"], &[("AEKIT_DATA", &d)]);
    assert!(stderr(&o).contains("from $AEKIT_DATA"), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("mean value 0.13066"), "{out}");
}

// ---------- PCA ----------

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The figures scikit-learn 1.9.1 gives on MNIST (bench/pca/reference_values.md):
/// ```python
/// pca = PCA(n_components=50, svd_solver="full").fit(Xtr)          # Xtr: 60000x784 float32 /255
/// np.cumsum(pca.explained_variance_ratio_)[[0,4,8,12,16,20,24,28]]
/// p29 = PCA(29).fit(Xtr); ((p29.inverse_transform(p29.transform(Xte)) - Xte)**2).mean()
/// ```
#[test]
fn pca_on_mnist_matches_scikit_learn() {
    let Some(data) = shared_mnist() else { return };
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

// ---------- demo ----------

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
}

// ---------- autoencoders ----------

/// Baldi & Hornik (1989): the linear autoencoder's optimum spans the first k principal
/// components. On the embedded subset (4,000 training images), 100 epochs bring its test MSE
/// within 3% of PCA's at k = 16 and its decoder's column space within a few degrees of PCA's.
#[test]
fn linear_autoencoder_approaches_pca() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(
        t.path(),
        &["train", "--model", "linear", "--data", "mnist-embedded", "--latent", "16", "--epochs", "100", "--lr", "0.005", "--out", "lin", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("lin/report.json"));
    let c = &r["extra"]["pca_comparison"];
    let excess = c["relative_excess_mse"].as_f64().unwrap();
    let angle = c["max_principal_angle_deg"].as_f64().unwrap();
    assert!(excess < 0.03, "linear AE test MSE is {:.1}% above PCA's", excess * 100.0);
    assert!(angle < 10.0, "largest principal angle {angle} degrees");
    assert_eq!(c["k"].as_u64(), Some(16));
}

#[test]
fn training_writes_a_complete_run_folder() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(
        t.path(),
        &["train", "--model", "conv", "--data", "mnist-embedded", "--train-samples", "2000", "--test-samples", "200", "--epochs", "2", "--lr", "0.003", "--out", "run", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["config.json", "model.safetensors", "metrics.csv", "loss.png", "reconstruction_1.png", "reconstruction_2.png", "report.json"] {
        assert!(t.path().join("run").join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(t.path().join("run/metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.starts_with("epoch,train_loss,val_loss,val_mse,train_seconds"));
    let r = report(&t.path().join("run/report.json"));
    let mse = r["test_mse"].as_f64().unwrap();
    // Predicting the training set's mean image gives 0.0636 on these 200 test images; two
    // epochs must do far better (they reach about 0.0115).
    assert!(mse > 0.0 && mse < 0.03, "test MSE {mse}");
    assert!(r["loss"].as_str().unwrap().contains("mean per value"));
    let cfg = report(&t.path().join("run/config.json"));
    assert_eq!(cfg["model"]["model"].as_str(), Some("conv"));
    // No temporary files left behind by the atomic writes.
    assert!(std::fs::read_dir(t.path().join("run")).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(".aekit-tmp")));
}

#[test]
fn same_seed_gives_same_numbers() {
    let t = tempfile::tempdir().unwrap();
    let run = |out: &str, seed: &str| {
        let o = aekit(
            t.path(),
            &["train", "--model", "dense", "--data", "mnist-embedded", "--train-samples", "1000", "--test-samples", "200", "--epochs", "2", "--seed", seed, "--out", out, "--quiet"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let csv = std::fs::read_to_string(t.path().join(out).join("metrics.csv")).unwrap();
        csv.lines().skip(1).map(|l| l.split(',').take(4).collect::<Vec<_>>().join(",")).collect::<Vec<_>>()
    };
    let a = run("a", "3");
    assert_eq!(a, run("b", "3"));
    assert_ne!(a, run("c", "4"));
}

#[test]
fn conv_model_rejects_indivisible_image_size() {
    let t = tempfile::tempdir().unwrap();
    for i in 0..6 {
        write_png(&t.path().join(format!("imgs/{i}.png")), 12, 12, false);
    }
    let o = aekit(t.path(), &["train", "--model", "conv", "--data", "imgs", "--channels", "8,8,8", "--epochs", "1", "--out", "run"]);
    assert_bad_input(&o, "divisible by 8", &["12x12", "3 stride-2 layers"]);
    assert!(!t.path().join("run/model.safetensors").exists());
}

#[test]
fn missing_gpu_backend_is_a_usage_error() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &["train", "--model", "linear", "--data", "mnist-embedded", "--device", "cuda", "--out", "run"]);
    if cfg!(feature = "cuda") {
        return;
    }
    assert_bad_input(&o, "Cuda", &["-p aekit-cli --features cuda"]);
}

// ---------- resume, NaN, validation, using a run ----------

fn train_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["train", "--data", "mnist-embedded", "--train-samples", "1000", "--test-samples", "300", "--quiet"];
    v.extend_from_slice(extra);
    v
}

fn metrics_values(path: &Path) -> Vec<String> {
    // Everything but the timing column.
    std::fs::read_to_string(path).unwrap().lines().map(|l| l.split(',').take(4).collect::<Vec<_>>().join(",")).collect()
}

#[test]
fn resumed_run_matches_uninterrupted_run() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "dense", "--epochs", "3", "--out", "full"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &train_args(&["--model", "dense", "--epochs", "1", "--out", "part"]));
    assert!(o.status.success(), "{}", stderr(&o));
    // --resume takes model, settings and data from the run's config.json.
    let o = aekit(t.path(), &["train", "--resume", "part", "--epochs", "3", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(metrics_values(&t.path().join("full/metrics.csv")), metrics_values(&t.path().join("part/metrics.csv")));
    let (a, b) = (report(&t.path().join("full/report.json")), report(&t.path().join("part/report.json")));
    assert_eq!(a["test_mse"], b["test_mse"]);
    assert!(t.path().join("part/reconstruction_3.png").is_file());
}

#[test]
fn nan_loss_stops_training_and_keeps_the_last_checkpoint() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "linear", "--latent", "8", "--epochs", "1", "--out", "run"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let weights = std::fs::read(t.path().join("run/model.safetensors")).unwrap();
    // An absurd learning rate makes the weights overflow during epoch 2.
    let o = aekit(t.path(), &["train", "--resume", "run", "--epochs", "2", "--lr", "1e30", "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("at epoch 2") && err.contains("last good checkpoint (epoch 1"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(std::fs::read(t.path().join("run/model.safetensors")).unwrap(), weights);
    assert!(t.path().join("run/checkpoint/epoch-1/optimizer.bpk").is_file());
}

#[test]
fn validation_split_and_early_stopping() {
    let t = tempfile::tempdir().unwrap();
    // A learning rate this high makes the validation loss stall quickly.
    let o = aekit(
        t.path(),
        &train_args(&["--model", "linear", "--latent", "8", "--epochs", "60", "--lr", "0.05", "--val-fraction", "0.1", "--patience", "2", "--out", "run"]),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("run/report.json"));
    assert_eq!(r["n_val"].as_u64(), Some(100));
    assert_eq!(r["n_train"].as_u64(), Some(900));
    assert!(r["validation"].as_str().unwrap().contains("10% of the training set"));
    assert_eq!(r["stopped_early"].as_bool(), Some(true), "{r}");
    let epochs = r["epochs"].as_array().unwrap().len() as u64;
    assert_eq!(epochs, r["best_epoch"].as_u64().unwrap() + 2);
    assert!(std::fs::read_to_string(t.path().join("run/metrics.csv")).unwrap().starts_with("epoch,train_loss,val_loss,val_mse,train_seconds"));
}

#[test]
fn encode_decode_reconstruct_a_run() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "sparse", "--latent", "16", "--epochs", "1", "--out", "run"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let data = ["--data", "mnist-embedded", "--test-samples", "300", "--quiet"];
    fn with<'a>(cmd: &[&'a str], data: &[&'a str]) -> Vec<&'a str> {
        let mut v: Vec<&str> = cmd.to_vec();
        v.extend_from_slice(data);
        v
    }
    let o = aekit(t.path(), &with(&["encode", "--run", "run", "--out", "z.csv"], &data));
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(t.path().join("z.csv")).unwrap();
    assert_eq!(csv.lines().count(), 301);
    assert!(csv.lines().next().unwrap().ends_with("z15,label"));
    assert!(csv.lines().nth(1).unwrap().ends_with(",7"), "first test label is 7");
    let o = aekit(t.path(), &with(&["encode", "--run", "run", "--out", "z.npy"], &data));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("z_labels.npy").is_file());
    let o = aekit(t.path(), &["decode", "--run", "run", "--latents", "z.npy", "--out", "dec", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("dec/decoded.png").is_file() && t.path().join("dec/decoded_0299.png").is_file());
    let o = aekit(t.path(), &with(&["reconstruct", "--run", "run", "--out", "rec"], &data));
    assert!(o.status.success(), "{}", stderr(&o));
    let errors = std::fs::read_to_string(t.path().join("rec/errors.csv")).unwrap();
    assert_eq!(errors.lines().count(), 301);
    // The mean of the per-sample errors is the test MSE the training report gave.
    let (rec, trained) = (report(&t.path().join("rec/report.json")), report(&t.path().join("run/report.json")));
    let (a, b) = (rec["mse"].as_f64().unwrap(), trained["test_mse"].as_f64().unwrap());
    assert!((a - b).abs() < 1e-6 * b.max(1.0), "{a} vs {b}");
    assert!(t.path().join("rec/reconstruction.png").is_file());
}

#[test]
fn mismatched_runs_and_data_are_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "linear", "--latent", "8", "--epochs", "1", "--out", "run"]));
    assert!(o.status.success(), "{}", stderr(&o));
    // Latent vectors of the wrong width.
    std::fs::write(t.path().join("z.csv"), "z0,z1\n0.5,0.25\n").unwrap();
    let o = aekit(t.path(), &["decode", "--run", "run", "--latents", "z.csv", "--out", "dec"]);
    assert_bad_input(&o, "z.csv", &["2 values", "has 8"]);
    // Data of another shape.
    std::fs::write(t.path().join("t.csv"), "a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n").unwrap();
    let o = aekit(t.path(), &["reconstruct", "--run", "run", "--data", "t.csv", "--out", "rec"]);
    assert_bad_input(&o, "1x28x28 image", &["2 features"]);
    // A config.json that disagrees with the weights.
    let cfg = std::fs::read_to_string(t.path().join("run/config.json")).unwrap();
    std::fs::write(t.path().join("run/config.json"), cfg.replace("\"latent\": 8", "\"latent\": 9")).unwrap();
    let o = aekit(t.path(), &["encode", "--run", "run", "--data", "mnist-embedded", "--out", "z2.csv"]);
    assert_bad_input(&o, "model.safetensors", &["weights do not match config.json", "[784, 8]", "[784, 9]"]);
    assert!(!t.path().join("z2.csv").exists());
    let o = aekit(t.path(), &["encode", "--run", "run", "--data", "mnist-embedded", "--out", "z.parquet"]);
    assert_bad_input(&o, "z.parquet", &["Parquet is not supported"]);
}

#[test]
fn config_file_supplies_options_and_the_command_line_wins() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("cfg.json"),
        r#"{"model": "dense", "data": "mnist-embedded", "train_samples": 500, "test_samples": 100, "hidden": [64], "latent": 4, "epochs": 3, "quiet": true}"#,
    )
    .unwrap();
    let o = aekit(t.path(), &["train", "--config", "cfg.json", "--epochs", "1", "--out", "run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = report(&t.path().join("run/config.json"));
    assert_eq!(cfg["model"]["hidden"], serde_json::json!([64]));
    assert_eq!(cfg["model"]["latent"].as_u64(), Some(4));
    assert_eq!(cfg["train"]["epochs"].as_u64(), Some(1));
    std::fs::write(t.path().join("bad.json"), "{\"epochs\": ").unwrap();
    let o = aekit(t.path(), &["train", "--config", "bad.json", "--out", "run2"]);
    assert_bad_input(&o, "bad.json", &["not valid JSON"]);
}

// ---------- variational autoencoder ----------

#[test]
fn vae_reports_the_elbo_and_its_parts() {
    let t = tempfile::tempdir().unwrap();
    // All 4,000 embedded training images, 5 epochs: about a second. (Very early in training a
    // sampled z can still beat the mean; by 5 epochs the mean is better, as it stays.)
    let o = aekit(t.path(), &["train", "--model", "vae-mnist", "--data", "mnist-embedded", "--test-samples", "300", "--epochs", "5", "--out", "vae", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("vae/report.json"));
    let (loss, rec, kl, mean_z) = (
        r["test_loss"].as_f64().unwrap(),
        r["test_reconstruction"].as_f64().unwrap(),
        r["test_kl"].as_f64().unwrap(),
        r["test_loss_mean_z"].as_f64().unwrap(),
    );
    assert!((loss - (rec + kl)).abs() < 1e-3 * loss, "{loss} != {rec} + {kl}");
    // Per-image nats over 784 pixels: far below the 543 nats of a coin flip per pixel, and
    // positive.
    assert!(loss > 50.0 && loss < 300.0, "test -ELBO {loss}");
    assert!(kl > 0.0);
    assert!(mean_z < loss, "z at the mean ({mean_z}) should reconstruct better than a sampled z ({loss})");
    assert!(r["loss"].as_str().unwrap().contains("negative ELBO per sample in nats"));
    assert!(t.path().join("vae/sample_5.png").is_file() && t.path().join("vae/reconstruction_5.png").is_file());

    let o = aekit(t.path(), &["sample", "--run", "vae", "--n", "16", "--out", "s", "--seed", "3", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("s/samples.png").is_file() && t.path().join("s/sample_0015.png").is_file());

    // The importance-weighted bound is tighter than the ELBO: its NLL estimate is lower.
    let o = aekit(
        t.path(),
        &["eval", "--run", "vae", "--data", "mnist-embedded", "--test-samples", "100", "--nll", "--importance-samples", "64", "--out", "eval.json", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let e = report(&t.path().join("eval.json"));
    let (elbo, nll) = (e["test_loss"].as_f64().unwrap(), e["test_nll_iwae"].as_f64().unwrap());
    assert!(nll > 0.0 && nll < elbo, "IWAE NLL {nll} vs -ELBO {elbo}");

    let o = aekit(t.path(), &["interpolate", "--run", "vae", "--data", "mnist-embedded", "--from", "0", "--to", "1", "--out", "i", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("i/interpolation.png").is_file());
    let o = aekit(t.path(), &["interpolate", "--run", "vae", "--data", "mnist-embedded", "--from", "0", "--to", "5000", "--out", "i2"]);
    assert_bad_input(&o, "--to 5000", &["1000 samples"]);
    let o = aekit(t.path(), &["manifold", "--run", "vae", "--out", "m"]);
    assert_bad_input(&o, "2-D latent space", &["20 dimensions"]);
    let o = aekit(t.path(), &["latent-map", "--run", "vae", "--data", "mnist-embedded", "--out", "lm", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("lm/latent_map.png").is_file());
}

#[test]
fn vae_with_2d_latent_draws_the_manifold_and_resumes_exactly() {
    let t = tempfile::tempdir().unwrap();
    let args = |epochs: &'static str, out: &'static str| {
        train_args(&["--model", "vae", "--latent", "2", "--hidden", "64", "--likelihood", "gaussian", "--epochs", epochs, "--out", out])
    };
    let o = aekit(t.path(), &args("2", "full"));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &args("1", "part"));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &["train", "--resume", "part", "--epochs", "2", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The reparameterization noise comes from seeded per-epoch streams: resuming changes nothing.
    assert_eq!(metrics_values(&t.path().join("full/metrics.csv")), metrics_values(&t.path().join("part/metrics.csv")));
    let o = aekit(t.path(), &["manifold", "--run", "full", "--n", "8", "--out", "m", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("m/manifold.png").is_file());
    let cfg = report(&t.path().join("full/config.json"));
    assert_eq!(cfg["model"]["likelihood"]["kind"].as_str(), Some("gaussian"));
}

/// The fused CPU kernels (conv, transposed conv with ReLU, BCE, Adam) and the plain Burn
/// operations (`AEKIT_FUSED=0`) train the same model from the same seed: same initial weights
/// (Burn draws them lazily, in the order of first use) and the same losses up to summation order.
#[test]
fn fused_and_plain_paths_train_the_same_conv_model() {
    let t = tempfile::tempdir().unwrap();
    let mut losses = Vec::new();
    for (fused, out) in [("1", "f"), ("0", "p")] {
        let args = train_args(&["--model", "conv", "--latent", "8", "--loss", "bce", "--epochs", "2", "--out", out]);
        let o = Command::new(env!("CARGO_BIN_EXE_aekit"))
            .args(&args)
            .current_dir(t.path())
            .env_remove("AEKIT_DATA")
            .env("AEKIT_CACHE", t.path().join("cache"))
            .env("AEKIT_MIRROR", "http://127.0.0.1:9/")
            .env("AEKIT_FUSED", fused)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let r = report(&t.path().join(out).join("report.json"));
        losses.push((r["epochs"][0]["train_loss"].as_f64().unwrap(), r["test_loss"].as_f64().unwrap()));
    }
    let ((a0, a1), (b0, b1)) = (losses[0], losses[1]);
    assert!((a0 - b0).abs() < 1e-5 * b0 && (a1 - b1).abs() < 1e-4 * b1, "fused {:?} vs plain {:?}", losses[0], losses[1]);
}

#[test]
fn conv_vae_trains_and_samples() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "conv-vae", "--channels", "8,16", "--latent", "8", "--epochs", "2", "--out", "cvae"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("cvae/report.json"));
    let (loss, rec, kl) = (r["test_loss"].as_f64().unwrap(), r["test_reconstruction"].as_f64().unwrap(), r["test_kl"].as_f64().unwrap());
    assert!((loss - (rec + kl)).abs() < 1e-3 * loss && loss < 543.0, "{loss} = {rec} + {kl}");
    let first: f64 = r["epochs"][0]["train_loss"].as_f64().unwrap();
    let last: f64 = r["epochs"][1]["train_loss"].as_f64().unwrap();
    assert!(last < first, "training loss went from {first} to {last}");
    let o = aekit(t.path(), &["sample", "--run", "cvae", "--n", "8", "--out", "s", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(t.path().join("s/samples.png").is_file());
}

// ---------- Issue 6: anomaly detection and the one-class benchmark ----------

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| l.split(',').map(String::from).collect()).collect()
}

#[test]
fn anomaly_fit_and_score_on_one_digit_flags_the_others() {
    let t = tempfile::tempdir().unwrap();
    let fit = aekit(
        t.path(),
        &["anomaly", "fit", "--model", "dense", "--data", "mnist-embedded", "--normal-labels", "1", "--hidden", "64", "--latent", "8",
          "--epochs", "20", "--batch-size", "32", "--contamination", "0.05", "--out", "det", "--quiet"],
    );
    assert!(fit.status.success(), "{}", stderr(&fit));
    for f in ["anomaly.json", "anomaly_report.json", "model.safetensors", "roc.png", "pr.png"] {
        assert!(t.path().join("det").join(f).is_file(), "missing {f}");
    }
    let fr = report(&t.path().join("det/anomaly_report.json"));
    // The embedded subset has ~450 training images of digit 1; 20% are held out for calibration.
    assert!(fr["n_calibration"].as_u64().unwrap() > 50, "{fr}");
    assert!(fr["test_auroc"].as_f64().unwrap() > 0.9, "{fr}");

    // The contamination rule (the run's 0.05) on the test images.
    let o = aekit(t.path(), &["anomaly", "score", "--run", "det", "--data", "mnist-embedded", "--out", "out/scores.csv", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&t.path().join("out/scores.csv"));
    assert_eq!(rows[0], ["index", "score", "p_value", "flag", "label", "anomalous"]);
    assert_eq!(rows.len(), 1001, "header and one row per test image");
    let r = report(&t.path().join("out/report.json"));
    assert!(r["auroc"].as_f64().unwrap() > 0.9 && r["auprc"].as_f64().unwrap() > 0.9, "{r}");
    for f in ["roc.png", "pr.png", "heatmap.png"] {
        assert!(t.path().join("out").join(f).is_file(), "missing {f}");
    }
    // Labels and ground truth agree: digit 1 is normal.
    for row in &rows[1..] {
        assert_eq!(row[5] == "1", row[4] != "1", "{row:?}");
    }
    // The AUROC in the report is the one of the written scores (Mann-Whitney, computed here).
    let s: Vec<(f64, bool)> = rows[1..].iter().map(|r| (r[1].parse().unwrap(), r[5] == "1")).collect();
    let pos: Vec<f64> = s.iter().filter(|x| x.1).map(|x| x.0).collect();
    let neg: Vec<f64> = s.iter().filter(|x| !x.1).map(|x| x.0).collect();
    let wins: f64 = pos.iter().flat_map(|&p| neg.iter().map(move |&n| if p > n { 1.0 } else if p == n { 0.5 } else { 0.0 })).sum();
    let auc = wins / (pos.len() * neg.len()) as f64;
    assert!((auc - r["auroc"].as_f64().unwrap()).abs() < 1e-9, "{auc} vs {r}");

    // An explicit threshold flags exactly the scores above it.
    let o = aekit(t.path(), &["anomaly", "score", "--run", "det", "--data", "mnist-embedded", "--threshold", "0.03", "--out", "thr/scores.csv", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&t.path().join("thr/scores.csv"));
    let above = rows[1..].iter().filter(|r| r[1].parse::<f64>().unwrap() > 0.03).count();
    let flagged = rows[1..].iter().filter(|r| r[3] == "1").count();
    assert_eq!(above, flagged);
    assert_eq!(report(&t.path().join("thr/report.json"))["n_flagged"].as_u64().unwrap() as usize, flagged);

    // The p-value rule: p-values in (0, 1], flags exactly p <= alpha.
    let o = aekit(t.path(), &["anomaly", "score", "--run", "det", "--data", "mnist-embedded", "--alpha", "0.1", "--out", "p/scores.csv", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for row in &csv_rows(&t.path().join("p/scores.csv"))[1..] {
        let p: f64 = row[2].parse().unwrap();
        assert!(p > 0.0 && p <= 1.0);
        assert_eq!(row[3] == "1", p <= 0.1, "{row:?}");
    }
    let r = report(&t.path().join("p/report.json"));
    assert_eq!(r["alpha"], serde_json::json!(0.1));
    assert!(r["false_alarm_rate"].is_number(), "{r}");
}

/// Split-conformal p-values on genuine MNIST: flagging p <= alpha keeps the false-alarm rate on
/// held-out normal test images (digit 0, 980 of them) at most alpha, up to finite-sample slack.
#[test]
fn conformal_p_values_bound_the_false_alarm_rate_on_mnist() {
    let Some(data) = shared_mnist() else { return };
    let t = tempfile::tempdir().unwrap();
    let o = aekit_env(
        t.path(),
        &["anomaly", "fit", "--model", "dense", "--data", "mnist", "--normal-labels", "0", "--hidden", "64", "--latent", "8",
          "--epochs", "2", "--calibration-fraction", "0.3", "--out", "det", "--quiet", "--offline"],
        &[("AEKIT_DATA", data.to_str().unwrap())],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("det/anomaly_report.json"));
    assert_eq!(r["n_test_normal"], 980);
    let checks = r["conformal"].as_array().unwrap();
    assert_eq!(checks.len(), 4, "{r}");
    for c in checks {
        let (alpha, far, n) = (c["alpha"].as_f64().unwrap(), c["false_alarm_rate"].as_f64().unwrap(), c["n_normal"].as_f64().unwrap());
        // Three binomial standard deviations of the test fraction plus the calibration's.
        let n_cal = r["n_calibration"].as_f64().unwrap();
        let slack = 3.0 * (alpha * (1.0 - alpha) * (1.0 / n + 1.0 / n_cal)).sqrt();
        assert!(far <= alpha + slack, "alpha {alpha}: false-alarm rate {far} (slack {slack})");
        // Not vacuous: exchangeable normal data give roughly uniform p-values.
        assert!(far >= alpha - slack, "alpha {alpha}: false-alarm rate {far} (slack {slack})");
    }
}

/// A table of correlated columns (c = a + b, d = a - b, e independent); `shift` adds 8 to column
/// d of every anomalous row (label 1), `anomalies` every k-th row.
fn anomaly_table(n: usize, seed: u64, anomalies: Option<usize>, header: &str) -> String {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut uniform = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let mut normal = move || {
        let (u1, u2) = (uniform().max(1e-12), uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let mut s = format!("{header}\n");
    for i in 0..n {
        let (a, b, e) = (normal() * 3.0 + 10.0, normal(), normal() * 0.5);
        let anomalous = anomalies.is_some_and(|k| i % k == 0);
        let d = a - b + if anomalous { 8.0 } else { 0.0 } + normal() * 0.05;
        s.push_str(&format!("{a:.4},{b:.4},{:.4},{d:.4},{e:.4},{}\n", a + b + normal() * 0.05, anomalous as u8));
    }
    s
}

#[test]
fn anomaly_on_a_table_standardizes_streams_and_ranks_columns() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("normal.csv"), anomaly_table(1500, 1, None, "a,b,c,d,e,y")).unwrap();
    // 2500 rows: more than two scoring batches of 1000.
    std::fs::write(t.path().join("new.csv"), anomaly_table(2500, 2, Some(10), "a,b,c,d,e,y")).unwrap();
    let fit = aekit(
        t.path(),
        &["anomaly", "fit", "--model", "dense", "--data", "normal.csv", "--label-column", "y", "--normal-labels", "0", "--hidden", "16",
          "--latent", "3", "--epochs", "30", "--batch-size", "64", "--out", "det", "--quiet"],
    );
    assert!(fit.status.success(), "{}", stderr(&fit));
    let st = report(&t.path().join("det/standardize.json"));
    assert_eq!(st["columns"], serde_json::json!(["a", "b", "c", "d", "e"]));
    let mean_a = st["mean"][0].as_f64().unwrap();
    assert!((mean_a - 10.0).abs() < 0.5, "{st}");
    let scale_a = st["scale"][0].as_f64().unwrap();
    assert!((scale_a - 3.0).abs() < 0.3, "{st}");

    let o = aekit(t.path(), &["anomaly", "score", "--run", "det", "--data", "new.csv", "--out", "out/scores.csv", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&t.path().join("out/scores.csv"));
    assert_eq!(rows[0], ["index", "score", "p_value", "flag", "label", "anomalous", "top_columns"]);
    assert_eq!(rows.len(), 2501, "every row scored once, across batches");
    assert_eq!(rows[2500][0], "2499");
    let r = report(&t.path().join("out/report.json"));
    assert_eq!(r["n_anomalous"], 250);
    assert!(r["auroc"].as_f64().unwrap() > 0.95, "{r}");
    // The shifted column d carries most of the anomalies' error.
    assert_eq!(r["columns"][0]["column"], "d", "{r}");
    let named = rows[1..].iter().filter(|r| r[5] == "1" && r[6].split(';').any(|c| c == "d")).count();
    assert!(named >= 200, "d among an anomaly's top columns in {named} of 250 rows");
    for f in ["roc.png", "pr.png"] {
        assert!(t.path().join("out").join(f).is_file(), "missing {f}");
    }

    // A table whose columns differ from the training columns is refused, naming both.
    std::fs::write(t.path().join("other.csv"), anomaly_table(20, 3, None, "a,b,c,x,e,y")).unwrap();
    let o = aekit(t.path(), &["anomaly", "score", "--run", "det", "--data", "other.csv", "--out", "bad/scores.csv"]);
    assert_bad_input(&o, "other.csv", &["\"x\"", "trained on"]);
    assert!(!t.path().join("bad/scores.csv").exists());
    // A bad cell in the second batch: exit 2 naming the row, and no half-written scores.
    let mut text = anomaly_table(1500, 4, None, "a,b,c,d,e,y");
    text.push_str("1,2,oops,4,5,0\n");
    std::fs::write(t.path().join("broken.csv"), text).unwrap();
    let o = aekit(t.path(), &["anomaly", "score", "--run", "det", "--data", "broken.csv", "--out", "broken/scores.csv"]);
    assert_bad_input(&o, "broken.csv", &["row 1501", "\"c\"", "oops"]);
    assert!(!t.path().join("broken/scores.csv").exists());
}

#[test]
fn anomaly_bad_options_are_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let base = ["anomaly", "fit", "--data", "mnist-embedded", "--train-samples", "300", "--test-samples", "100", "--epochs", "1", "--quiet"];
    let with = |extra: &[&str]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        aekit(t.path(), &v)
    };
    assert_bad_input(&with(&["--model", "dense", "--contamination", "1.5", "--out", "a"]), "contamination", &["1.5"]);
    assert_bad_input(&with(&["--model", "dense", "--score", "elbo", "--out", "b"]), "score", &["VAE"]);
    assert!(!t.path().join("b").exists(), "nothing trained before the check");
    let o = with(&["--model", "dense", "--calibration-fraction", "0", "--out", "c"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &["anomaly", "score", "--run", "c", "--data", "mnist-embedded", "--alpha", "0.05", "--out", "s.csv"]);
    assert_bad_input(&o, "alpha", &["calibration"]);
    // A run of `aekit train` is not a detector.
    let o = aekit(t.path(), &["train", "--model", "dense", "--data", "mnist-embedded", "--train-samples", "200", "--test-samples", "50", "--epochs", "1", "--out", "plain", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &["anomaly", "score", "--run", "plain", "--data", "mnist-embedded", "--out", "s.csv"]);
    assert_bad_input(&o, "anomaly.json", &[]);
}

#[test]
fn vae_detector_scores_with_the_negative_elbo() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(
        t.path(),
        &["anomaly", "fit", "--model", "vae", "--data", "mnist-embedded", "--normal-labels", "0", "--hidden", "128", "--latent", "8",
          "--epochs", "8", "--out", "det", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("det/anomaly_report.json"));
    assert!(r["score"].as_str().unwrap().contains("ELBO"), "{r}");
    assert!(r["test_auroc"].as_f64().unwrap() > 0.85, "{r}");
}

#[test]
fn one_class_bench_reports_each_digit_next_to_deep_svdd() {
    let t = tempfile::tempdir().unwrap();
    let run = |digits: &str| {
        aekit(
            t.path(),
            &["bench", "one-class", "--data", "mnist-embedded", "--digits", digits, "--model", "dense", "--hidden", "64", "--latent", "8",
              "--epochs", "10", "--batch-size", "32", "--out", "oc", "--quiet"],
        )
    };
    let o = run("1");
    assert!(o.status.success(), "{}", stderr(&o));
    // A second chunk adds to the same report.
    let o = run("7");
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("oc/report.json"));
    let digits = r["digits"].as_array().unwrap();
    assert_eq!(digits.len(), 2, "{r}");
    assert_eq!(digits[0]["digit"], 1);
    assert_eq!(digits[0]["deep_svdd_auroc"], 99.7);
    assert_eq!(digits[1]["digit"], 7);
    let mean = (digits[0]["auroc"].as_f64().unwrap() + digits[1]["auroc"].as_f64().unwrap()) / 2.0;
    assert!((r["mean_auroc"].as_f64().unwrap() - mean).abs() < 1e-9);
    assert!(digits[0]["auroc"].as_f64().unwrap() > 90.0, "{r}");
    assert_eq!(r["complete"], false);
    let o = aekit(t.path(), &["bench", "one-class", "--data", "mnist-embedded", "--digits", "12", "--out", "oc2"]);
    assert_bad_input(&o, "digits", &["12"]);
}

// ---------- issue 6: latent features for classification ----------

/// A linear autoencoder's code spans (nearly) PCA's subspace (Baldi & Hornik 1989), so the same
/// classifier on its 16-d code and on PCA-16 features must score alike, far above chance.
#[test]
fn features_of_a_small_run_beat_chance_and_the_report_has_every_row() {
    let t = tempfile::tempdir().unwrap();
    let data = ["--data", "mnist-embedded", "--test-samples", "300", "--quiet"];
    let mut args = vec!["train", "--model", "linear", "--latent", "16", "--epochs", "10", "--lr", "0.005", "--out", "run"];
    args.extend_from_slice(&data);
    let o = aekit(t.path(), &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(
        t.path(),
        &["features", "--run", "run", "--data", "mnist-embedded", "--test-samples", "300", "--labels-per-class", "10,50", "--draws", "2", "--out", "feat"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for needle in ["linear latent (16-d)", "PCA-16", "raw values (784)", "10 labels/class", "50 labels/class", "all 4000 labels"] {
        assert!(out.contains(needle), "table lacks {needle:?}:\n{out}");
    }
    let r = report(&t.path().join("feat/report.json"));
    assert_eq!((r["n_train"].as_u64(), r["n_test"].as_u64(), r["latent_dim"].as_u64()), (Some(4000), Some(300), Some(16)));
    assert!(r["classifier"].as_str().unwrap().contains("standardized"));
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 9, "3 feature sets x (10, 50, all labels): {rows:?}");
    let mut all_labels = std::collections::HashMap::new();
    for row in rows {
        let (features, n) = (row["features"].as_str().unwrap(), row["labels_per_class"].as_u64());
        let accs = row["accuracies"].as_array().unwrap();
        assert_eq!(accs.len(), if n.is_some() { 2 } else { 1 }, "{row}");
        assert_eq!(row["n_labelled"].as_u64(), Some(n.map_or(4000, |n| 10 * n)), "{row}");
        assert!(row["converged"].as_bool().unwrap(), "{row}");
        // Chance is 10%; even 10 labels per class give far more (about 70% here).
        let acc = row["accuracy_mean"].as_f64().unwrap();
        assert!(acc > 0.5, "{features} with {n:?} labels/class: accuracy {acc}");
        if n.is_none() {
            all_labels.insert(features.to_string(), acc);
        }
    }
    // About 87% (latent), 85% (PCA-16) and 91% (raw pixels) with all 4000 labels.
    assert!(all_labels.values().all(|&a| a > 0.8), "{all_labels:?}");
    assert!((all_labels["latent"] - all_labels["pca"]).abs() < 0.05, "{all_labels:?}");
}

/// `--val-fraction` judges settings without the test set: the accuracies are measured on a seeded
/// part of the training set that PCA and the classifiers did not see, whatever the test set is.
#[test]
fn features_with_a_validation_fraction_never_use_the_test_set() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &["train", "--model", "linear", "--latent", "16", "--epochs", "5", "--lr", "0.005", "--data", "mnist-embedded", "--out", "run", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A 5-sample test set: were it used, n_test would be 5.
    let args = ["features", "--run", "run", "--data", "mnist-embedded", "--test-samples", "5", "--labels-per-class", "10", "--draws", "1", "--val-fraction", "0.25"];
    let o = aekit(t.path(), &[&args[..], &["--out", "a"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("held-out 25% of the training set"), "{}", String::from_utf8_lossy(&o.stdout));
    let r = report(&t.path().join("a/report.json"));
    assert_eq!((r["n_train"].as_u64(), r["n_test"].as_u64()), (Some(3000), Some(1000)));
    assert!(r["evaluated_on"].as_str().unwrap().contains("test set is not used"), "{}", r["evaluated_on"]);
    for row in r["rows"].as_array().unwrap() {
        assert!(row["accuracy_mean"].as_f64().unwrap() > 0.5, "{row}");
    }
    // Seeded: the same command gives the same figures; another seed holds out other samples.
    let o = aekit(t.path(), &[&args[..], &["--out", "b"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let accs = |r: &serde_json::Value| -> Vec<serde_json::Value> { r["rows"].as_array().unwrap().iter().map(|row| row["accuracies"].clone()).collect() };
    assert_eq!(accs(&report(&t.path().join("b/report.json"))), accs(&r));
    let o = aekit(t.path(), &[&args[..], &["--out", "c", "--seed", "1"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_ne!(report(&t.path().join("c/report.json"))["rows"][2]["accuracies"], r["rows"][2]["accuracies"]);
    // --latent-only: the latent rows alone, the same figures.
    let o = aekit(t.path(), &[&args[..], &["--out", "e", "--latent-only"]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let e = report(&t.path().join("e/report.json"));
    assert_eq!(e["rows"].as_array().unwrap().len(), 2, "{e}");
    assert_eq!(accs(&e)[..], accs(&r)[..2]);
    let o = aekit(t.path(), &["features", "--run", "run", "--data", "mnist-embedded", "--val-fraction", "1.5", "--out", "d", "--quiet"]);
    assert_bad_input(&o, "val-fraction", &["1.5"]);
    assert!(!t.path().join("d/report.json").exists());
}

/// Issue 6's features: a conv bottleneck trained to undo random shifts and occluding blocks (the
/// denoise task's shift:PIXELS and block:SIZE corruptions) on real digits; its code feeds
/// `features`, and malformed sizes are exit 2.
#[test]
fn conv_bottleneck_learns_from_shifted_and_occluded_digits() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &train_args(&["--model", "conv", "--channels", "4,8", "--latent", "8", "--task", "denoise", "--noise", "shift:3,block:6", "--epochs", "2", "--out", "run"]));
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = report(&t.path().join("run/config.json"));
    assert_eq!(cfg["task"]["noise"], serde_json::json!([{"kind": "shift", "pixels": 3}, {"kind": "block", "size": 6}]));
    let m = metrics_values(&t.path().join("run/metrics.csv"));
    let loss = |l: &str| l.split(',').nth(1).unwrap().parse::<f64>().unwrap();
    assert!(loss(&m[2]) < loss(&m[1]), "training loss falls: {m:?}");
    let o = aekit(t.path(), &["features", "--run", "run", "--data", "mnist-embedded", "--test-samples", "300", "--labels-per-class", "10", "--draws", "1", "--latent-only", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = report(&t.path().join("run/features/report.json"));
    assert_eq!(r["latent_dim"].as_u64(), Some(8));
    // Well above chance (10%) even after 2 epochs of a tiny model on 1000 images (about 45%).
    assert!(r["rows"][1]["accuracy_mean"].as_f64().unwrap() > 0.3, "{r}");
    for bad in ["shift:1.5", "block:-2"] {
        let o = aekit(t.path(), &train_args(&["--model", "conv", "--latent", "8", "--task", "denoise", "--noise", bad, "--out", "x"]));
        assert_bad_input(&o, "noise", &["whole number of pixels"]);
    }
}

#[test]
fn features_without_labels_or_with_too_many_per_class_are_exit_2() {
    let t = tempfile::tempdir().unwrap();
    // 60 rows of 4 features, classes 0, 1, 2 (20 each); the same rows without the class column.
    let (mut labelled, mut bare) = (String::from("a,b,c,d,class\n"), String::from("a,b,c,d\n"));
    for i in 0..60 {
        let (c, v) = (i % 3, (i as f32 * 0.37).sin());
        let x = format!("{},{},{},{}", c as f32 + v, v, 1.0 - v, c as f32 * v);
        labelled.push_str(&format!("{x},{c}\n"));
        bare.push_str(&format!("{x}\n"));
    }
    std::fs::write(t.path().join("labelled.csv"), labelled).unwrap();
    std::fs::write(t.path().join("bare.csv"), bare).unwrap();
    let o = aekit(t.path(), &["train", "--model", "dense", "--data", "labelled.csv", "--label-column", "class", "--hidden", "8", "--latent", "2", "--epochs", "1", "--out", "run", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aekit(t.path(), &["features", "--run", "run", "--data", "bare.csv", "--quiet"]);
    assert_bad_input(&o, "labels", &["data"]);
    assert!(!t.path().join("run/features/report.json").exists());
    // The training set holds 48 of the 60 rows: no class has 30.
    let o = aekit(t.path(), &["features", "--run", "run", "--data", "labelled.csv", "--label-column", "class", "--labels-per-class", "5,30", "--quiet"]);
    assert_bad_input(&o, "labels-per-class", &["30", "smallest class"]);
    assert!(!t.path().join("run/features/report.json").exists());
}

// ---------- Issue 5: restoration (denoise, superres) ----------

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
    assert!(r["psnr_baseline"].as_f64() > r["psnr_degraded"].as_f64(), "{r}");
    let m = report(&t.path().join("full/report.json"))["epochs"].clone();
    assert!(m[1]["val_mse"].as_f64() < m[0]["val_mse"].as_f64(), "{m}");
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
    assert!(r["psnr_baseline"].as_f64() > r["psnr_degraded"].as_f64(), "bicubic beats nearest: {r}");
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
