//! `aekit serve`: the real binary on a free loopback port, driven over raw HTTP/1.1 (so that
//! malformed and slow requests can be sent as they are).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// A running server, killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(dir: &Path, args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aekit"))
        .args(["serve", "--addr", "127.0.0.1:0", "--quiet"])
        .args(args)
        .current_dir(dir)
        .env_remove("AEKIT_DATA")
        .env("AEKIT_CACHE", dir.join("cache"))
        .env("AEKIT_MIRROR", "http://127.0.0.1:9/")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start aekit serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
    Server { child, addr }
}

pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends raw bytes and reads the answer until the server closes the connection.
pub(crate) fn raw(addr: &str, bytes: &[u8]) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(bytes).unwrap();
    // Until the server closes, or the body is complete when Content-Length says how long it is
    // (chromedriver keeps connections open).
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head.lines().find_map(|l| l.strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok()));
            if len.is_some_and(|n| buf.len() >= end + 4 + n) {
                break;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    parse_reply(&buf)
}

fn parse_reply(buf: &[u8]) -> Reply {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or_else(|| panic!("no HTTP answer: {:?}", String::from_utf8_lossy(buf)));
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect();
    let mut body = buf[end + 4..].to_vec();
    if headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")) {
        body = dechunk(&body);
    }
    Reply { status, headers, body }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(nl) = b.windows(2).position(|w| w == b"\r\n") else { return out };
        let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 2 + n + 2..];
    }
}

pub(crate) fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    bytes.extend_from_slice(body);
    raw(addr, &bytes)
}

pub(crate) fn post_json(addr: &str, path: &str, v: &serde_json::Value) -> Reply {
    request(addr, "POST", path, &[("Content-Type", "application/json")], v.to_string().as_bytes())
}

pub(crate) fn get(addr: &str, path: &str) -> Reply {
    request(addr, "GET", path, &[], b"")
}

/// Rows of a small table: `d` follows `a`, `b` and `c`; anomalies break the relation.
fn table(n: usize, anomalies: bool, seed: u64) -> String {
    let mut s = seed;
    let mut u = || {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((s >> 33) as f64) / (1u64 << 31) as f64
    };
    let mut out = String::from("a,b,c,d\n");
    for i in 0..n {
        let (a, b, c) = (u() * 10.0, u() * 5.0 - 2.0, u());
        let d = if anomalies && i % 4 == 0 { -3.0 * a } else { a + 2.0 * b - c };
        out.push_str(&format!("{a:.4},{b:.4},{c:.4},{d:.4}\n"));
    }
    out
}

fn assert_error(r: &Reply, status: u16, field: Option<&str>, needle: &str) {
    let body = String::from_utf8_lossy(&r.body);
    assert_eq!(r.status, status, "{body}");
    let v = r.json();
    assert_eq!(v["error"]["status"].as_u64(), Some(status as u64), "{v}");
    if let Some(f) = field {
        assert_eq!(v["error"]["field"].as_str(), Some(f), "{v}");
    }
    assert!(v["error"]["message"].as_str().unwrap().contains(needle), "{needle:?} not in {v}");
}

fn fit_table_detector(dir: &Path) {
    std::fs::write(dir.join("train.csv"), table(300, false, 1)).unwrap();
    std::fs::write(dir.join("test.csv"), table(40, true, 2)).unwrap();
    // The table defaults (15 epochs): 5 epochs of the two-layer model leave d's relation half learnt.
    let o = aekit(dir, &["anomaly", "fit", "--data", "train.csv", "--out", "det", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn train_vae(dir: &Path) {
    let o = aekit(
        dir,
        &["train", "--model", "vae", "--hidden", "64", "--latent", "2", "--data", "mnist-embedded", "--train-samples", "300", "--test-samples", "120",
          "--epochs", "1", "--out", "vae", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn serve_answers_every_route_as_the_cli_does() {
    let t = tempfile::tempdir().unwrap();
    fit_table_detector(t.path());
    train_vae(t.path());
    let s = start(t.path(), &["--run", "table=det", "--run", "vae", "--model", "photo-x2"]);
    let a = s.addr.as_str();

    assert_eq!(get(a, "/healthz").status, 200);
    let models = get(a, "/v1/models").json();
    let names: Vec<&str> = models.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["photo-x2", "table", "vae"]);
    let by = |n: &str| models.as_array().unwrap().iter().find(|m| m["name"] == n).unwrap().clone();
    assert_eq!(by("table")["input_shape"], serde_json::json!([4]));
    assert_eq!(by("table")["routes"], serde_json::json!(["encode", "decode", "reconstruct", "score"]));
    assert_eq!(by("vae")["input_shape"], serde_json::json!([1, 28, 28]));
    assert_eq!(by("vae")["routes"], serde_json::json!(["encode", "decode", "reconstruct", "sample", "latent_map"]));
    assert_eq!(by("photo-x2")["routes"], serde_json::json!(["upscale"]));

    // score: the same numbers as `aekit anomaly score` on the same rows.
    let o = aekit(t.path(), &["anomaly", "score", "--run", "det", "--data", "test.csv", "--out", "out/scores.csv", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cli: Vec<Vec<String>> =
        std::fs::read_to_string(t.path().join("out/scores.csv")).unwrap().lines().skip(1).map(|l| l.split(',').map(String::from).collect()).collect();
    let rows: Vec<Vec<f64>> = std::fs::read_to_string(t.path().join("test.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let r = post_json(a, "/v1/models/table/score", &serde_json::json!({ "inputs": rows }));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["n"].as_u64(), Some(40));
    for (i, row) in cli.iter().enumerate() {
        let (want, got) = (row[1].parse::<f64>().unwrap(), v["scores"][i].as_f64().unwrap());
        assert!((want - got).abs() <= 1e-5 * want.abs().max(1e-3), "row {i}: CLI {want}, served {got}");
        assert_eq!(row[3] == "1", v["flags"][i].as_bool().unwrap(), "row {i} flag");
        let p: f64 = row[2].parse().unwrap();
        assert!((p - v["p_values"][i].as_f64().unwrap()).abs() < 1e-9, "row {i} p-value");
        assert_eq!(v["top_columns"][i].as_array().unwrap().len(), 3);
    }
    // The anomalies (every 4th row breaks d's relation) score above the others on average.
    let s_of = |keep: fn(usize) -> bool| {
        let x: Vec<f64> = (0..40).filter(|&i| keep(i)).map(|i| v["scores"][i].as_f64().unwrap()).collect();
        x.iter().sum::<f64>() / x.len() as f64
    };
    assert!(s_of(|i| i % 4 == 0) > 2.0 * s_of(|i| i % 4 != 0), "{v}");
    // alpha flags by p-value.
    let r = post_json(a, "/v1/models/table/score", &serde_json::json!({ "inputs": &rows[..4], "alpha": 0.5 })).json();
    for i in 0..4 {
        assert_eq!(r["flags"][i].as_bool().unwrap(), r["p_values"][i].as_f64().unwrap() <= 0.5);
    }
    // reconstruct answers in the table's own units.
    let r = post_json(a, "/v1/models/table/reconstruct", &serde_json::json!({ "inputs": &rows[1..3] })).json();
    let out = r["outputs"].as_array().unwrap();
    assert_eq!(out.len(), 2);
    assert!((out[0][0].as_f64().unwrap() - rows[1][0]).abs() < 3.0, "{r}");
    assert!(r["errors"][0].as_f64().unwrap() >= 0.0);

    // VAE: decode, encode, sample (seeded), latent map.
    let d = post_json(a, "/v1/models/vae/decode", &serde_json::json!({ "inputs": [[0.0, 0.0], [1.5, -1.0]] })).json();
    let imgs = d["outputs"].as_array().unwrap();
    assert_eq!((imgs.len(), imgs[0].as_array().unwrap().len()), (2, 784));
    assert_ne!(imgs[0], imgs[1]);
    let e = post_json(a, "/v1/models/vae/encode", &serde_json::json!({ "inputs": imgs })).json();
    assert_eq!(e["codes"][0].as_array().unwrap().len(), 2);
    let s1 = post_json(a, "/v1/models/vae/sample", &serde_json::json!({ "n": 3, "seed": 5 })).json();
    let s2 = post_json(a, "/v1/models/vae/sample", &serde_json::json!({ "n": 3, "seed": 5 })).json();
    let s3 = post_json(a, "/v1/models/vae/sample", &serde_json::json!({ "n": 3, "seed": 6 })).json();
    assert_eq!(s1["outputs"], s2["outputs"]);
    assert_ne!(s1["outputs"], s3["outputs"]);
    let m = get(a, "/v1/models/vae/latent_map").json();
    assert_eq!(m["codes"].as_array().unwrap().len(), 120, "the run's 120 test samples");
    assert_eq!(m["labels"].as_array().unwrap().len(), 120);

    // Upscale: a PNG in, a PNG twice the size out.
    let png = t.path().join("small.png");
    write_png(&png, 20, 12, true);
    let r = request(a, "POST", "/v1/models/photo-x2/upscale", &[("Content-Type", "image/png")], &std::fs::read(&png).unwrap());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("content-type"), Some("image/png"));
    let img = image::load_from_memory(&r.body).unwrap();
    assert_eq!((img.width(), img.height()), (40, 24));

    let m = String::from_utf8(get(a, "/metrics").body).unwrap();
    assert!(m.contains("aekit_requests_total{model=\"table\",route=\"score\",status=\"200\"} 2"), "{m}");
    assert!(m.contains("aekit_request_duration_seconds_bucket{route=\"score\",le=\"+Inf\"} 2"), "{m}");
    assert!(m.contains("aekit_batch_samples_count"), "{m}");
    let page = get(a, "/");
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("<script src=\"app.js\">"));
    assert_eq!(get(a, "/app.js").status, 200);
}

#[test]
fn serve_answers_malformed_requests_with_4xx_and_keeps_serving() {
    let t = tempfile::tempdir().unwrap();
    fit_table_detector(t.path());
    let s = start(t.path(), &["--run", "det", "--model", "photo-denoise", "--max-body-bytes", "65536", "--max-samples", "8", "--body-timeout-secs", "1"]);
    let a = s.addr.as_str();
    let score = "/v1/models/det/score";
    let json = [("Content-Type", "application/json")];
    let cases: Vec<(Reply, u16, Option<&str>, &str)> = vec![
        (request(a, "POST", score, &json, b"{\"inputs\": [[1, 2, 3, 4]"), 400, None, "EOF"),
        (request(a, "POST", score, &json, b"{\"inputs\": [[1, \"x\", 3, 4]]}"), 400, Some("inputs[0][1]"), "invalid type"),
        (request(a, "POST", score, &json, b"{\"inputs\": [[1, 2, 3]]}"), 400, Some("inputs"), "sample 0 has 3 values; the model takes 4"),
        (request(a, "POST", score, &json, b"{\"inputs\": [[1, 2, NaN, 4]]}"), 400, None, "expected value"),
        (request(a, "POST", score, &json, b"{\"inputs\": [[1, 2, 1e300, 4]]}"), 400, Some("inputs"), "value 2"),
        (request(a, "POST", score, &json, b"{\"inputs\": [], \"extra\": 1}"), 400, None, "unknown field `extra`"),
        (request(a, "POST", score, &json, b"{\"inputs\": []}"), 400, Some("inputs"), "no samples"),
        (request(a, "POST", score, &json, b"{\"inputs\": [[1,2,3,4]], \"alpha\": 2}"), 400, Some("alpha"), "expected a level"),
        (request(a, "POST", score, &json, &[b'['; 50_000]), 400, None, "invalid JSON"),
        (request(a, "POST", score, &json, b"\xff\xfe\x00garbage"), 400, None, "invalid JSON"),
        (post_json(a, score, &serde_json::json!({ "inputs": vec![vec![0.0; 4]; 9] })), 413, Some("inputs"), "9 samples; at most 8"),
        (request(a, "POST", score, &json, &vec![b' '; 70_000]), 413, Some("body"), "larger than 65536"),
        (request(a, "POST", score, &[("Content-Type", "text/plain")], b"1,2,3,4"), 415, Some("content-type"), "expected application/json"),
        (post_json(a, "/v1/models/nope/score", &serde_json::json!({ "inputs": [[1]] })), 404, Some("model"), "no model named \"nope\""),
        (post_json(a, "/v1/models/det/frobnicate", &serde_json::json!({})), 404, Some("route"), "no route \"frobnicate\""),
        (post_json(a, "/v1/models/det/sample", &serde_json::json!({})), 404, Some("route"), "not offered by det"),
        (get(a, score), 405, None, "score takes POST"),
        (get(a, "/v2/anything"), 404, None, "no route GET /v2/anything"),
        (request(a, "POST", "/v1/models/photo-denoise/denoise", &[("Content-Type", "image/png")], b"\x89PNG\r\n\x1a\nnot really"), 400, Some("body"), "cannot decode"),
        (request(a, "POST", "/v1/models/photo-denoise/denoise", &[("Content-Type", "image/gif")], b"GIF89a"), 415, Some("content-type"), "image body"),
        (request(a, "POST", "/v1/models/photo-denoise/denoise", &[("Content-Type", "image/png")], b"GIF89a\x01\x00\x01\x00"), 400, Some("body"), "expected PNG, JPEG or BMP"),
        (request(a, "POST", "/v1/models/photo-denoise/denoise", &json, b"{}"), 415, Some("content-type"), "image body"),
    ];
    for (i, (r, status, field, needle)) in cases.iter().enumerate() {
        eprintln!("case {i}");
        assert_error(r, *status, *field, needle);
        assert_eq!(get(a, "/healthz").status, 200, "still serving after case {i}");
    }

    // A body that stops arriving: 408 after --body-timeout-secs.
    let started = Instant::now();
    let mut c = TcpStream::connect(a).unwrap();
    c.write_all(format!("POST {score} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"inp").as_bytes()).unwrap();
    let mut buf = Vec::new();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match c.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let r = parse_reply(&buf);
    assert_eq!(r.status, 408);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // Garbage that is not HTTP at all.
    let mut c = TcpStream::connect(a).unwrap();
    c.write_all(b"\x16\x03\x01\x02\x00 not http\r\n\r\n").unwrap();
    let mut sink = Vec::new();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = c.read_to_end(&mut sink);
    assert_eq!(get(a, "/healthz").status, 200);
    // The server counted every case and is still whole.
    let m = String::from_utf8(get(a, "/metrics").body).unwrap();
    assert!(m.contains("status=\"413\""), "{m}");
}

#[test]
fn serve_token_queue_limit_and_graceful_shutdown() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("token"), "s3cret-token-of-32-characters-xx\n").unwrap();
    let big = t.path().join("big.png");
    // Large enough that one photo keeps the model busy past the third request's 200 ms even on
    // an idle machine (480x480 took under 100 ms once the kernels got faster; 1200x1200 ~0.5 s).
    write_png(&big, 1200, 1200, true);
    let body = std::fs::read(&big).unwrap();
    let mut s = start(t.path(), &["--model", "photo-denoise", "--token-file", "token", "--queue", "1", "--no-batching"]);
    let a = s.addr.clone();
    assert_eq!(get(&a, "/healthz").status, 200, "healthz is public");
    assert_error(&get(&a, "/v1/models"), 401, Some("authorization"), "Bearer");
    let bad = request(&a, "GET", "/v1/models", &[("Authorization", "Bearer wrong")], b"");
    assert_eq!(bad.status, 401);
    let auth = ("Authorization", "Bearer s3cret-token-of-32-characters-xx");
    assert_eq!(request(&a, "GET", "/v1/models", &[auth], b"").status, 200);

    // One photo in the model, one in the queue of 1: the third is turned away with Retry-After.
    let send = |delay: u64| {
        let (a, body) = (a.clone(), body.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(delay));
            request(&a, "POST", "/v1/models/photo-denoise/denoise", &[("Content-Type", "image/png"), auth], &body)
        })
    };
    let hs: Vec<_> = [0, 100, 200].into_iter().map(send).collect();
    let replies: Vec<Reply> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 2, "{statuses:?}");
    let busy = replies.iter().find(|r| r.status == 503).unwrap_or_else(|| panic!("no 503: {statuses:?}"));
    assert_eq!(busy.header("retry-after"), Some("1"));

    // SIGTERM with a request in flight: it is answered, then the server exits 0.
    let h = send(0);
    std::thread::sleep(Duration::from_millis(200));
    let pid = s.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let r = h.join().unwrap();
    assert_eq!(r.status, 200, "in-flight request finished: {}", String::from_utf8_lossy(&r.body));
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_refuses_bad_options_with_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(t.path(), &["serve", "--addr", "0.0.0.0:0", "--model", "photo-x2"]);
    assert_bad_input(&o, "addr", &["--token-file"]);
    let o = aekit(t.path(), &["serve", "--run", "missing-run"]);
    assert_bad_input(&o, "missing-run", &["config.json"]);
    std::fs::write(t.path().join("short"), "abc").unwrap();
    let o = aekit(t.path(), &["serve", "--model", "photo-x2", "--token-file", "short"]);
    assert_bad_input(&o, "short", &["at least 16"]);
    let o = aekit(t.path(), &["serve"]);
    assert_bad_input(&o, "run", &["--run"]);
    let o = aekit(t.path(), &["serve", "--model", "photo-x2", "--run", "photo-x2=missing"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A WebDriver command to chromedriver (W3C protocol, JSON over HTTP).
fn wd(driver: &str, method: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let r = request(driver, method, path, &[("Content-Type", "application/json")], body.to_string().as_bytes());
    let v = r.json();
    assert_eq!(r.status, 200, "{method} {path}: {v}");
    v["value"].clone()
}

fn script(driver: &str, sid: &str, js: &str) -> serde_json::Value {
    wd(driver, "POST", &format!("/session/{sid}/execute/sync"), serde_json::json!({ "script": js, "args": [] }))
}

/// Polls `js` until it returns true (20 s at most).
fn wait_for(driver: &str, sid: &str, js: &str) {
    let start = Instant::now();
    while script(driver, sid, js) != serde_json::json!(true) {
        let err = script(driver, sid, "return document.getElementById('error').textContent");
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting for `{js}`; page error: {err}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// chromedriver on a free port with a headless Chromium session: (driver address, session id),
/// and the driver process (killed when dropped).
struct Browser {
    driver: Child,
    addr: String,
    sid: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = request(&self.addr, "DELETE", &format!("/session/{}", self.sid), &[], b"");
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn browser(dir: &Path, url: &str) -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromedriver ({e}): apt install chromium chromium-driver, as .ci/run does"));
    let addr = format!("127.0.0.1:{port}");
    let start_wait = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(start_wait.elapsed() < Duration::from_secs(20), "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut b = Browser { driver, addr, sid: String::new() };
    let profile = dir.join("chromium-profile");
    let caps = serde_json::json!({ "capabilities": { "alwaysMatch": { "browserName": "chrome", "goog:chromeOptions": {
        "binary": "/usr/bin/chromium",
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1200,900", format!("--user-data-dir={}", profile.display())]
    } } } });
    b.sid = wd(&b.addr, "POST", "/session", caps)["sessionId"].as_str().unwrap().to_string();
    wd(&b.addr, "POST", &format!("/session/{}/url", b.sid), serde_json::json!({ "url": url }));
    b
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver (.ci/run installs them); run with --include-ignored"]
fn page_explorer_decodes_the_dragged_point_in_headless_chromium() {
    let t = tempfile::tempdir().unwrap();
    train_vae(t.path());
    let s = start(t.path(), &["--run", "vae"]);
    let b = browser(t.path(), &format!("http://{}/", s.addr));
    let (d, sid) = (b.addr.as_str(), b.sid.as_str());
    // The explorer shows the run's 120 test samples and decodes the starting code.
    wait_for(d, sid, "return explorer.codes.length === 120 && Number(document.getElementById('decoded').dataset.version) >= 1 && !explorer.busy");
    let before = script(d, sid, "return document.getElementById('decoded').toDataURL()");
    let v0 = script(d, sid, "return Number(document.getElementById('decoded').dataset.version)").as_u64().unwrap();
    let z0 = script(d, sid, "return explorer.z.slice()");
    let el = wd(d, "POST", &format!("/session/{sid}/element"), serde_json::json!({ "using": "css selector", "value": "#map" }));
    let actions = serde_json::json!({ "actions": [{ "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" }, "actions": [
        { "type": "pointerMove", "origin": el, "x": -150, "y": 150, "duration": 0 },
        { "type": "pointerDown", "button": 0 },
        { "type": "pointerMove", "origin": el, "x": 0, "y": 0, "duration": 200 },
        { "type": "pointerMove", "origin": el, "x": 160, "y": -160, "duration": 200 },
        { "type": "pointerUp", "button": 0 }
    ] }] });
    wd(d, "POST", &format!("/session/{sid}/actions"), actions);
    wait_for(d, sid, &format!("return Number(document.getElementById('decoded').dataset.version) > {v0} && !explorer.busy && !explorer.pending"));
    let after = script(d, sid, "return document.getElementById('decoded').toDataURL()");
    let z1 = script(d, sid, "return explorer.z.slice()");
    assert_ne!(z0, z1, "the drag moved the code");
    assert_ne!(before, after, "the decoded image changed with the code");
    // The page asked the server: the decode route was called more than once.
    let m = String::from_utf8(get(&s.addr, "/metrics").body).unwrap();
    let line = m.lines().find(|l| l.starts_with("aekit_requests_total{model=\"vae\",route=\"decode\",status=\"200\"}")).unwrap_or_else(|| panic!("{m}"));
    assert!(line.rsplit(' ').next().unwrap().parse::<u64>().unwrap() >= 2, "{line}");
}

#[test]
#[ignore = "needs Debian's chromium and chromium-driver (.ci/run installs them); run with --include-ignored"]
fn page_scores_an_uploaded_image_and_upscales_a_photo_in_headless_chromium() {
    let t = tempfile::tempdir().unwrap();
    let o = aekit(
        t.path(),
        &["anomaly", "fit", "--model", "dense", "--data", "mnist-embedded", "--normal-labels", "1", "--hidden", "32", "--latent", "4",
          "--train-samples", "600", "--test-samples", "50", "--epochs", "2", "--out", "det", "--quiet"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = start(t.path(), &["--run", "det", "--model", "photo-x2"]);
    let b = browser(t.path(), &format!("http://{}/", s.addr));
    let (d, sid) = (b.addr.as_str(), b.sid.as_str());
    let digit = t.path().join("digit.png");
    write_png(&digit, 28, 28, false);
    let photo = t.path().join("photo.png");
    write_png(&photo, 30, 20, true);
    let upload = |css: &str, file: &Path| {
        let el = wd(d, "POST", &format!("/session/{sid}/element"), serde_json::json!({ "using": "css selector", "value": css }));
        let id = el.as_object().unwrap().values().next().unwrap().as_str().unwrap().to_string();
        wd(d, "POST", &format!("/session/{sid}/element/{id}/value"), serde_json::json!({ "text": file.display().to_string() }));
    };
    let choose = |name: &str| {
        script(d, sid, &format!("const m = document.getElementById('model'); m.value = '{name}'; m.dispatchEvent(new Event('change')); return true"));
    };
    wait_for(d, sid, "return document.getElementById('model').options.length === 2");
    // Anomaly: the uploaded image is scored; the result table and the heat map appear.
    choose("det");
    wait_for(d, sid, "return !document.getElementById('anomaly').hidden");
    upload("#file", &digit);
    wait_for(d, sid, "return document.getElementById('a-result').textContent.includes('p-value')");
    let text = script(d, sid, "return document.getElementById('a-result').textContent").as_str().unwrap().to_string();
    assert!(text.contains("score") && text.contains("flagged"), "{text}");
    // Restoration: the photo comes back twice the size.
    choose("photo-x2");
    wait_for(d, sid, "return !document.getElementById('restore').hidden");
    upload("#r-file", &photo);
    wait_for(d, sid, "const i = document.getElementById('r-after'); return i.complete && i.naturalWidth === 60 && i.naturalHeight === 40");
    let m = String::from_utf8(get(&s.addr, "/metrics").body).unwrap();
    for needle in ["model=\"det\",route=\"score\",status=\"200\"", "model=\"det\",route=\"reconstruct\",status=\"200\"", "model=\"photo-x2\",route=\"upscale\",status=\"200\""] {
        assert!(m.contains(needle), "{needle} not in {m}");
    }
}
