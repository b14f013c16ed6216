//! The crates' import graphs have no circle and no arrow from a lower layer to a higher one.
//! A module may use only modules of lower layers; test code (`tests.rs` files and what follows
//! `#[cfg(test)]`) may compare against anything. Comments are ignored.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The library's top-level modules, lowest layer first.
const LIBRARY: &[&[&str]] = &[
    &["error"],
    &["io"],
    &["rng", "linalg", "device", "metrics"],
    &["fused"],
    &["loss"],
    &["data", "pca"],
    &["viz", "classify"],
    &["models"],
    &["train"],
    &["apps"],
    &["demo"],
];

/// The program's modules, lowest layer first.
const PROGRAM: &[&[&str]] = &[
    &["common", "config", "model"],
    &["codes", "info", "pca"],
    &["features", "train", "eval", "generate", "restore", "anomaly", "serve"],
    &["demo", "bench"],
    &["main"],
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without its test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// (module, module it uses) for every `crate::NAME` in the sources under `src`.
fn edges(src: &Path) -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out = BTreeSet::new();
    for f in files {
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let rel = f.strip_prefix(src).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        let code = code(&f);
        for (i, _) in code.match_indices("crate::") {
            let name: String = code[i + 7..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !name.is_empty() && name != top {
                out.insert((top.clone(), name));
            }
        }
    }
    out
}

fn layer(layers: &[&[&str]], module: &str) -> usize {
    layers.iter().position(|l| l.contains(&module)).unwrap_or_else(|| panic!("module {module} is in no layer: add it to the list"))
}

fn check(src: &Path, layers: &[&[&str]]) {
    let edges = edges(src);
    assert!(!edges.is_empty(), "no imports found under {}", src.display());
    let upward: Vec<String> = edges
        .iter()
        .filter(|(from, to)| layer(layers, to) >= layer(layers, from))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    assert!(upward.is_empty(), "imports that go up or sideways in {}: {upward:?}", src.display());
}

#[test]
fn the_library_imports_only_downwards() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), LIBRARY);
}

#[test]
fn the_program_imports_only_downwards() {
    check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../aekit-cli/src"), PROGRAM);
}

#[test]
fn the_checker_sees_an_upward_import() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.rs"), "use crate::train::fit; // crate::apps in a comment\n").unwrap();
    std::fs::write(dir.path().join("train.rs"), "use crate::data::Dataset;\n#[cfg(test)]\nuse crate::apps::x;\n").unwrap();
    let e = edges(dir.path());
    assert_eq!(e, BTreeSet::from([("data".into(), "train".into()), ("train".into(), "data".into())]));
    assert!(std::panic::catch_unwind(|| check(dir.path(), LIBRARY)).is_err());
}
