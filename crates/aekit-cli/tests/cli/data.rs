//! Loading data: IDX files, CSV tables, image folders, and the built-in datasets' lookup,
//! download, cache and fallback.

use super::*;
use std::io::{Read, Write};
use std::net::TcpListener;

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
#[ignore = "needs the full MNIST: set AEKIT_DATA to the folder holding mnist/ and run with --include-ignored"]
fn download_is_verified_cached_and_reused() {
    let data = shared_mnist();
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
#[ignore = "needs the full MNIST: set AEKIT_DATA to the folder holding mnist/ and run with --include-ignored"]
fn download_checksum_mismatch_leaves_cache_empty() {
    let data = shared_mnist();
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
#[ignore = "needs the full MNIST: set AEKIT_DATA to the folder holding mnist/ and run with --include-ignored"]
fn download_cut_off_leaves_cache_empty_and_falls_back() {
    let data = shared_mnist();
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
#[ignore = "needs the full MNIST: set AEKIT_DATA to the folder holding mnist/ and run with --include-ignored"]
fn data_dir_takes_precedence_over_env() {
    let data = shared_mnist();
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

/// `--data DIR` with `DIR/train/` and `DIR/test/` (class sub-folders in each) reads the two as
/// the split; `--test-data` names a test set of any kind; mismatches name the test source.
#[test]
fn folder_with_train_and_test_and_an_explicit_test_set() {
    let t = tempfile::tempdir().unwrap();
    for (part, n) in [("train", 3), ("test", 2)] {
        for class in ["cat", "dog"] {
            for i in 0..n {
                write_png(&t.path().join(format!("photos/{part}/{class}/{i}.png")), 6, 4, true);
            }
        }
    }
    let o = aekit(t.path(), &["info", "--data", "photos"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("train: 6 samples of 3x4x6 image") && out.contains("test: 4 samples of 3x4x6 image"), "{out}");
    assert!(out.contains("labels, first [0, 0, 0, 1, 1, 1]"), "{out}");
    assert!(!out.contains("val:"), "{out}");
    assert!(stderr(&o).contains("6 training images (train/), 4 test images (test/)"), "{}", stderr(&o));
    // A val/ folder is the validation set.
    for class in ["cat", "dog"] {
        write_png(&t.path().join(format!("photos/val/{class}/0.png")), 6, 4, true);
    }
    let o = aekit(t.path(), &["info", "--data", "photos"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("val: 2 samples of 3x4x6 image"), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(stderr(&o).contains("2 validation images (val/)"), "{}", stderr(&o));

    // An explicit test set: the --data folder then trains whole.
    for i in 0..3 {
        write_png(&t.path().join(format!("more/{i}.png")), 6, 4, true);
    }
    let o = aekit(t.path(), &["info", "--data", "photos/train", "--test-data", "more"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("train: 6 samples") && out.contains("test: 3 samples of 3x4x6 image"), "{out}");

    // Test images of another size, or other classes, are refused naming the test source.
    for i in 0..2 {
        write_png(&t.path().join(format!("small/{i}.png")), 5, 4, true);
        write_png(&t.path().join(format!("odd/test/bird/{i}.png")), 6, 4, true);
        write_png(&t.path().join(format!("odd/train/cat/{i}.png")), 6, 4, true);
    }
    let o = aekit(t.path(), &["info", "--data", "photos/train", "--test-data", "small"]);
    assert_bad_input(&o, "small", &["3x4x5 image", "3x4x6 image"]);
    let o = aekit(t.path(), &["info", "--data", "odd"]);
    assert_bad_input(&o, "test", &["[\"bird\"]", "[\"cat\"]"]);
}
