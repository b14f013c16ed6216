//! Built-in datasets by name: where to find them, how to download and verify them, and the
//! embedded MNIST subset used when nothing else is available.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::dataset::{Dataset, Split};
use super::idx;
use crate::error::{Error, Result};

/// A dataset aekit knows by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Mnist,
    FashionMnist,
}

/// Which bytes a checksum covers.
#[derive(Debug, Clone, Copy)]
enum Covers {
    /// The file after gunzip (the MNIST figures in `shared/data/README.md`).
    Decompressed,
    /// The `.gz` file as served.
    Compressed,
}

#[derive(Debug, Clone, Copy)]
struct FileSpec {
    name: &'static str,
    sha256: &'static str,
    covers: Covers,
}

const ROLES: [&str; 4] = ["train images", "train labels", "test images", "test labels"];

impl Builtin {
    /// All built-in datasets.
    pub const ALL: [Builtin; 2] = [Builtin::Mnist, Builtin::FashionMnist];

    /// The name used on the command line and as the folder name under a data directory.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Mnist => "mnist",
            Builtin::FashionMnist => "fashion-mnist",
        }
    }

    /// Looks a dataset up by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }

    fn files(self) -> [FileSpec; 4] {
        let d = Covers::Decompressed;
        let c = Covers::Compressed;
        match self {
            // SHA-256 of the uncompressed files, as listed in shared/data/README.md.
            Builtin::Mnist => [
                FileSpec { name: "train-images-idx3-ubyte.gz", sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", covers: d },
                FileSpec { name: "train-labels-idx1-ubyte.gz", sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", covers: d },
                FileSpec { name: "t10k-images-idx3-ubyte.gz", sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", covers: d },
                FileSpec { name: "t10k-labels-idx1-ubyte.gz", sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", covers: d },
            ],
            // SHA-256 of the .gz files as published by Zalando's mirror (from public download
            // scripts; not checked in this workplace, which has no internet access).
            Builtin::FashionMnist => [
                FileSpec { name: "train-images-idx3-ubyte.gz", sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", covers: c },
                FileSpec { name: "train-labels-idx1-ubyte.gz", sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", covers: c },
                FileSpec { name: "t10k-images-idx3-ubyte.gz", sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", covers: c },
                FileSpec { name: "t10k-labels-idx1-ubyte.gz", sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", covers: c },
            ],
        }
    }

    /// Public mirrors, tried in order.
    pub fn mirrors(self) -> &'static [&'static str] {
        match self {
            Builtin::Mnist => &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
            ],
            Builtin::FashionMnist => &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        }
    }
}

/// Where a built-in dataset came from; the program prints it.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    DataDir(PathBuf),
    EnvDir(PathBuf),
    Cache(PathBuf),
    Downloaded { url: String, to: PathBuf },
    /// The subset compiled into aekit; `reason` says why the full dataset was not used.
    Embedded { reason: Option<String> },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::DataDir(p) => write!(f, "from --data-dir {}", p.display()),
            Origin::EnvDir(p) => write!(f, "from $AEKIT_DATA {}", p.display()),
            Origin::Cache(p) => write!(f, "from the cache {}", p.display()),
            Origin::Downloaded { url, to } => write!(f, "downloaded from {url} into {}", to.display()),
            Origin::Embedded { reason: None } => write!(f, "{EMBEDDED_DESCRIPTION}"),
            Origin::Embedded { reason: Some(r) } => write!(f, "{EMBEDDED_DESCRIPTION}, because {r}"),
        }
    }
}

/// Where to look for built-in datasets and whether the network may be used.
#[derive(Debug, Clone, Default)]
pub struct Locations {
    /// `--data-dir`: a folder holding `mnist/` (or the dataset's files directly).
    pub data_dir: Option<PathBuf>,
    /// `$AEKIT_DATA`, same layout.
    pub env_dir: Option<PathBuf>,
    /// The per-user cache folder; downloads land in `cache_dir/NAME/`.
    pub cache_dir: Option<PathBuf>,
    /// Mirror base URLs replacing the built-in ones (tests, private mirrors).
    pub mirrors: Option<Vec<String>>,
    /// Never touch the network.
    pub offline: bool,
    /// Fail instead of falling back to the embedded subset.
    pub no_fallback: bool,
}

/// Progress of a long operation (a download); the library never prints.
pub trait Progress {
    fn start(&mut self, label: &str, total_bytes: Option<u64>);
    fn advance(&mut self, bytes: u64);
    fn finish(&mut self);
}

/// A [`Progress`] that shows nothing.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&mut self, _: &str, _: Option<u64>) {}
    fn advance(&mut self, _: u64) {}
    fn finish(&mut self) {}
}

/// Loads a built-in dataset from the first place that has it, downloading into the cache if
/// needed, and falling back to the embedded MNIST subset when that fails.
pub fn load_builtin(b: Builtin, loc: &Locations, progress: &mut dyn Progress) -> Result<(Split, Origin)> {
    let places = [
        (loc.data_dir.as_ref(), Origin::DataDir as fn(PathBuf) -> Origin),
        (loc.env_dir.as_ref(), Origin::EnvDir),
        (loc.cache_dir.as_ref(), Origin::Cache),
    ];
    for (dir, origin) in places {
        if let Some(dir) = dir {
            if let Some(folder) = find_files(b, dir) {
                return Ok((load_from_folder(b, &folder)?, origin(folder)));
            }
        }
    }
    let failure = if loc.offline {
        Error::Download { url: b.mirrors()[0].to_string(), msg: "offline mode: the network is not used".into() }
    } else if let Some(cache) = &loc.cache_dir {
        match download(b, cache, loc.mirrors.as_deref(), progress) {
            Ok((url, folder)) => return Ok((load_from_folder(b, &folder)?, Origin::Downloaded { url, to: folder })),
            Err(e) => e,
        }
    } else {
        Error::Download { url: b.mirrors()[0].to_string(), msg: "no cache folder to download into".into() }
    };
    if b == Builtin::Mnist && !loc.no_fallback {
        return Ok((embedded_mnist()?, Origin::Embedded { reason: Some(failure.to_string()) }));
    }
    Err(failure)
}

/// The folder holding all four files, either `dir/NAME/` or `dir/` itself.
fn find_files(b: Builtin, dir: &Path) -> Option<PathBuf> {
    [dir.join(b.name()), dir.to_path_buf()]
        .into_iter()
        .find(|folder| b.files().iter().all(|f| file_in(folder, f.name).is_some()))
}

/// `name` or, failing that, `name` without its `.gz`.
fn file_in(folder: &Path, name: &str) -> Option<PathBuf> {
    let gz = folder.join(name);
    if gz.is_file() {
        return Some(gz);
    }
    let raw = folder.join(name.trim_end_matches(".gz"));
    raw.is_file().then_some(raw)
}

fn load_from_folder(b: Builtin, folder: &Path) -> Result<Split> {
    let f = b.files();
    let p = |i: usize| file_in(folder, f[i].name).expect("checked by find_files");
    Ok(Split {
        train: idx::load_images(&p(0), Some(&p(1)))?,
        test: idx::load_images(&p(2), Some(&p(3)))?,
        val: None,
        patches: None,
    })
}

/// Downloads the four files into a staging folder inside `cache`, verifies every checksum, and
/// only then moves them to `cache/NAME/`: a failure leaves the cache as it was.
pub fn download(
    b: Builtin,
    cache: &Path,
    mirrors: Option<&[String]>,
    progress: &mut dyn Progress,
) -> Result<(String, PathBuf)> {
    let mirrors: Vec<String> = match mirrors {
        Some(m) => m.to_vec(),
        None => b.mirrors().iter().map(|s| s.to_string()).collect(),
    };
    let werr = |path: &Path, source| Error::Write { path: path.to_path_buf(), source };
    std::fs::create_dir_all(cache).map_err(|e| werr(cache, e))?;
    let staging = tempfile::Builder::new().prefix(".download-").tempdir_in(cache).map_err(|e| werr(cache, e))?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(60))
        .build();
    let mut last_err = None;
    for base in &mirrors {
        let base = if base.ends_with('/') { base.clone() } else { format!("{base}/") };
        let attempt = b.files().iter().zip(ROLES).try_for_each(|(spec, role)| {
            let url = format!("{base}{}", spec.name);
            let dest = staging.path().join(spec.name);
            let label = format!("{} {role}", b.name());
            let r = fetch(&agent, &url, &dest, &label, progress).and_then(|_| verify(spec, &url, &dest));
            progress.finish();
            r
        });
        match attempt {
            Ok(()) => {
                let folder = cache.join(b.name());
                std::fs::create_dir_all(&folder).map_err(|e| werr(&folder, e))?;
                for spec in b.files() {
                    let to = folder.join(spec.name);
                    std::fs::rename(staging.path().join(spec.name), &to).map_err(|e| werr(&to, e))?;
                }
                return Ok((base, folder));
            }
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| Error::arg("mirrors", "no mirror to download from")))
}

fn fetch(agent: &ureq::Agent, url: &str, dest: &Path, label: &str, progress: &mut dyn Progress) -> Result<()> {
    let derr = |msg: String| Error::Download { url: url.to_string(), msg };
    let resp = agent.get(url).call().map_err(|e| derr(e.to_string()))?;
    let expected: Option<u64> = resp.header("Content-Length").and_then(|v| v.parse().ok());
    progress.start(label, expected);
    let mut reader = resp.into_reader();
    let mut file = std::fs::File::create(dest).map_err(|source| Error::Write { path: dest.to_path_buf(), source })?;
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(derr(format!("transfer cut off after {got} bytes: {e}"))),
        };
        file.write_all(&buf[..n]).map_err(|source| Error::Write { path: dest.to_path_buf(), source })?;
        got += n as u64;
        progress.advance(n as u64);
    }
    if let Some(len) = expected {
        if got != len {
            return Err(derr(format!("transfer cut off: received {got} of {len} bytes")));
        }
    }
    Ok(())
}

fn verify(spec: &FileSpec, url: &str, path: &Path) -> Result<()> {
    let derr = |msg: String| Error::Download { url: url.to_string(), msg };
    let file = std::fs::File::open(path).map_err(|source| Error::Read { path: path.to_path_buf(), source })?;
    let mut hasher = Sha256::new();
    let copied = match spec.covers {
        Covers::Compressed => std::io::copy(&mut std::io::BufReader::new(file), &mut hasher),
        Covers::Decompressed => std::io::copy(&mut flate2::read::GzDecoder::new(std::io::BufReader::new(file)), &mut hasher),
    };
    copied.map_err(|e| derr(format!("the downloaded file is not a complete gzip stream: {e}")))?;
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if hex != spec.sha256 {
        let what = match spec.covers {
            Covers::Compressed => "the .gz file",
            Covers::Decompressed => "the decompressed file",
        };
        return Err(derr(format!("checksum mismatch: SHA-256 of {what} is {hex}, expected {}", spec.sha256)));
    }
    Ok(())
}

/// How the embedded subset is described to users.
pub const EMBEDDED_DESCRIPTION: &str =
    "the embedded MNIST subset (first 4,000 training and first 1,000 test images)";

static EMBEDDED: [&[u8]; 4] = [
    include_bytes!("../../../../assets/mnist-subset/train-images-idx3-ubyte.gz"),
    include_bytes!("../../../../assets/mnist-subset/train-labels-idx1-ubyte.gz"),
    include_bytes!("../../../../assets/mnist-subset/t10k-images-idx3-ubyte.gz"),
    include_bytes!("../../../../assets/mnist-subset/t10k-labels-idx1-ubyte.gz"),
];

/// The MNIST subset compiled into aekit: the first 4,000 training and first 1,000 test images of
/// the original files, in the same IDX format (provenance in `assets/mnist-subset/README.md`).
pub fn embedded_mnist() -> Result<Split> {
    let name = |i: usize| PathBuf::from(format!("<embedded>/{}", Builtin::Mnist.files()[i].name));
    let part = |img: usize, lab: usize| -> Result<Dataset> {
        let ds = idx::images_from_idx(idx::read_idx_bytes(EMBEDDED[img], &name(img))?, &name(img))?;
        let labels = idx::labels_from_idx(idx::read_idx_bytes(EMBEDDED[lab], &name(lab))?, &name(lab))?;
        idx::attach_labels(ds, labels, &name(lab))
    };
    Ok(Split { train: part(0, 1)?, test: part(2, 3)?, val: None, patches: None })
}
