//! Data: one [`Dataset`] type and readers for IDX files, image folders, CSV files and built-in
//! datasets by name.

pub mod builtin;
pub mod csv;
pub mod dataset;
pub mod degrade;
pub mod folder;
pub mod idx;
pub mod latents;
pub mod parquet;
pub mod patches;
pub mod table;

use std::path::{Path, PathBuf};

pub use builtin::{Builtin, Locations, NoProgress, Origin, Progress};
pub use dataset::{Dataset, SampleShape, Split};
pub use folder::FolderOptions;
pub use patches::{ImageSet, PatchOptions, Patches};

use crate::error::{Error, Result};

/// What `--data` names.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// `mnist` or `fashion-mnist`, found or downloaded.
    Builtin(Builtin),
    /// `mnist-embedded`: the subset compiled into aekit.
    Embedded,
    Csv(PathBuf),
    /// A Parquet table (`.parquet` or `.pq`).
    Parquet(PathBuf),
    Folder(PathBuf),
    /// An IDX image file (raw or .gz), unlabelled.
    Idx(PathBuf),
}

impl DataSource {
    /// Interprets a `--data` argument: a built-in name, a folder (of images, of class
    /// sub-folders, or with `train/` and optionally `test/` sub-folders), a `.csv` or `.parquet`
    /// file or an IDX file.
    pub fn parse(spec: &str) -> Result<Self> {
        if let Some(b) = Builtin::from_name(spec) {
            return Ok(DataSource::Builtin(b));
        }
        if spec == "mnist-embedded" {
            return Ok(DataSource::Embedded);
        }
        let path = PathBuf::from(spec);
        if path.is_dir() {
            Ok(DataSource::Folder(path))
        } else if path.is_file() {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            Ok(match ext.as_str() {
                "csv" => DataSource::Csv(path),
                "parquet" | "pq" => DataSource::Parquet(path),
                _ => DataSource::Idx(path),
            })
        } else {
            Err(Error::input(
                path,
                "no such file or folder, and not a built-in dataset name (mnist, fashion-mnist, \
                 mnist-embedded)",
            ))
        }
    }
}

/// How to load a data source into a train/test split.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub locations: Locations,
    /// CSV column holding integer labels.
    pub label_column: Option<String>,
    /// Table column holding time stamps: left out of the features (series).
    pub time_column: Option<String>,
    pub folder: FolderOptions,
    /// Sources without their own test set (CSV, folders, single IDX files) hold out this
    /// fraction, chosen with `seed`; 0 keeps every sample for training (the test set is empty).
    pub test_fraction: f64,
    pub seed: u64,
    /// Train on crops drawn afresh every epoch from images of any size (see [`patches`]).
    pub patches: Option<PatchOptions>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            locations: Locations::default(),
            label_column: None,
            time_column: None,
            folder: FolderOptions::default(),
            test_fraction: 0.2,
            seed: 0,
            patches: None,
        }
    }
}

/// Loads a source as a train/test split and says where the data came from.
pub fn load(src: &DataSource, opts: &LoadOptions, progress: &mut dyn Progress) -> Result<(Split, String)> {
    if let Some(p) = opts.patches {
        return load_patches(src, opts, p, progress);
    }
    let single = |ds: Dataset, path: &Path| -> Result<(Split, String)> {
        if opts.test_fraction == 0.0 {
            let msg = format!("{}: {} training samples (no test hold-out)", path.display(), ds.len());
            return Ok((Split { test: ds.head(0), train: ds, val: None, patches: None }, msg));
        }
        let split = ds.split(opts.test_fraction, opts.seed)?;
        let msg = format!(
            "{}: {} training / {} test samples (a seeded {:.0}% hold-out)",
            path.display(),
            split.train.len(),
            split.test.len(),
            opts.test_fraction * 100.0
        );
        Ok((split, msg))
    };
    match src {
        DataSource::Builtin(b) => {
            let (split, origin) = builtin::load_builtin(*b, &opts.locations, progress)?;
            Ok((split, format!("{} {origin}", b.name())))
        }
        DataSource::Embedded => Ok((builtin::embedded_mnist()?, builtin::EMBEDDED_DESCRIPTION.to_string())),
        DataSource::Csv(p) | DataSource::Parquet(p) => {
            single(table::load_with_time(p, opts.label_column.as_deref(), opts.time_column.as_deref())?, p)
        }
        DataSource::Folder(p) if p.join("train").is_dir() => {
            let train = folder::load_folder(&p.join("train"), opts.folder)?;
            // Test and validation images are read as the training images are (channels), and
            // must match them.
            let like_train = FolderOptions { channels: Some(train.shape().dims()[0]), ..opts.folder };
            let val_dir = p.join("val");
            let val = if val_dir.is_dir() {
                let val = folder::load_folder(&val_dir, like_train)?;
                check_test_set(&train, &val, &val_dir)?;
                Some(val)
            } else {
                None
            };
            let val_msg = val.as_ref().map(|v| format!(", {} validation images (val/)", v.len())).unwrap_or_default();
            let test_dir = p.join("test");
            if !test_dir.is_dir() {
                let (mut split, msg) = single(train, &p.join("train"))?;
                split.val = val;
                return Ok((split, format!("{msg}{val_msg}")));
            }
            let test = folder::load_folder(&test_dir, like_train)?;
            check_test_set(&train, &test, &test_dir)?;
            let msg = format!("{}: {} training images (train/), {} test images (test/){val_msg}", p.display(), train.len(), test.len());
            Ok((Split { train, test, val, patches: None }, msg))
        }
        DataSource::Folder(p) => single(folder::load_folder(p, opts.folder)?, p),
        DataSource::Idx(p) => single(idx::load_images(p, None)?, p),
    }
}

/// Crops per validation or test image when training on patches: about one per patch-sized
/// area, at most this many (enough for a stable figure without cutting a photo into hundreds).
pub const EVAL_CROPS_PER_IMAGE: usize = 16;

/// The images of `src` for patch training: a folder's files as they are (any sizes, 8 bits),
/// another source's samples rounded to 8 bits.
pub fn load_images(src: &DataSource, opts: &LoadOptions, progress: &mut dyn Progress) -> Result<(ImageSet, Option<ImageSet>, Option<ImageSet>)> {
    let channels = opts.folder.channels;
    match src {
        DataSource::Folder(p) if p.join("train").is_dir() => {
            let train = ImageSet::load_folder(&p.join("train"), channels)?;
            let like = Some(train.channels);
            let part = |name: &str| -> Result<Option<ImageSet>> {
                let d = p.join(name);
                if d.is_dir() { ImageSet::load_folder(&d, like).map(Some) } else { Ok(None) }
            };
            Ok((train, part("test")?, part("val")?))
        }
        DataSource::Folder(p) => Ok((ImageSet::load_folder(p, channels)?, None, None)),
        other => {
            let plain = LoadOptions { patches: None, test_fraction: 0.0, ..opts.clone() };
            let (split, _) = load(other, &plain, progress)?;
            let name = match other {
                DataSource::Builtin(b) => b.name().to_string(),
                DataSource::Embedded => "mnist-embedded".to_string(),
                DataSource::Csv(p) | DataSource::Parquet(p) | DataSource::Folder(p) | DataSource::Idx(p) => p.display().to_string(),
            };
            let test = if split.test.is_empty() { None } else { Some(ImageSet::from_dataset(&split.test, &format!("{name} test"))?) };
            Ok((ImageSet::from_dataset(&split.train, &name)?, test, None))
        }
    }
}

/// Fixed evaluation crops of `set` (see [`EVAL_CROPS_PER_IMAGE`]).
pub fn eval_crops(set: &ImageSet, size: usize, seed: u64) -> Result<Dataset> {
    let area: usize = set.images.iter().map(|i| i.height * i.width).sum::<usize>() / set.len().max(1);
    let per = (area / (size * size)).clamp(1, EVAL_CROPS_PER_IMAGE);
    patches::fixed_crops(set, size, per, seed)
}

/// [`load`] for patch training: the training images stay whole (8 bits) in
/// [`Split::patches`]; validation and test images become fixed crops of the patch size;
/// [`Split::train`] holds a fixed sample of training crops (one per image, at most 1,000) for
/// checks and baselines.
fn load_patches(src: &DataSource, opts: &LoadOptions, p: PatchOptions, progress: &mut dyn Progress) -> Result<(Split, String)> {
    let (mut train, test, val) = load_images(src, opts, progress)?;
    let where_ = match src {
        DataSource::Folder(d) => d.display().to_string(),
        DataSource::Builtin(b) => b.name().to_string(),
        _ => "the data".to_string(),
    };
    let test = match test {
        Some(t) => eval_crops(&t, p.size, opts.seed)?,
        None if opts.test_fraction > 0.0 => {
            let (rest, held) = train.split(opts.test_fraction, opts.seed)?;
            train = rest;
            eval_crops(&held, p.size, opts.seed)?
        }
        None => Dataset::new(Vec::new(), SampleShape::Image { channels: train.channels, height: p.size, width: p.size }, None)?,
    };
    let val = val.map(|v| eval_crops(&v, p.size, opts.seed ^ 1)).transpose()?;
    let patches = Patches::new(train, p)?;
    let n_sample = patches.set.len().min(1000);
    let sample_set = patches.set.select(&(0..n_sample).collect::<Vec<_>>());
    let sample = patches::fixed_crops(&sample_set, p.size, 1, opts.seed ^ 2)?;
    let msg = format!(
        "{where_}: {} training images ({} crops of {s}x{s} per epoch, drawn afresh), {} test crops{}",
        patches.set.len(),
        patches.per_epoch(),
        test.len(),
        val.as_ref().map(|v| format!(", {} validation crops", v.len())).unwrap_or_default(),
        s = p.size
    );
    Ok((Split { train: sample, test, val, patches: Some(patches) }, msg))
}

/// Checks that a separately given test set (`test`, read from `source`) is of the training
/// set's kind: the same sample shape, and the same classes when labelled.
pub fn check_test_set(train: &Dataset, test: &Dataset, source: &Path) -> Result<()> {
    if train.shape() != test.shape() {
        return Err(Error::input(source, format!("the test samples are {}, the training samples {}", test.shape(), train.shape())));
    }
    if train.class_names.is_some() && test.class_names.is_some() && train.class_names != test.class_names {
        return Err(Error::input(
            source,
            format!("the test classes {:?} differ from the training classes {:?}", test.class_names.as_deref().unwrap_or_default(), train.class_names.as_deref().unwrap_or_default()),
        ));
    }
    Ok(())
}

/// Uploads rows `idx` of `ds` as a `[B, P]` tensor: how every batch reaches a model.
pub fn batch_tensor(ds: &Dataset, idx: &[usize], device: &burn::prelude::Device) -> burn::prelude::Tensor<2> {
    let p = ds.sample_len();
    let mut buf = Vec::with_capacity(idx.len() * p);
    for &i in idx {
        buf.extend_from_slice(ds.sample(i));
    }
    burn::prelude::Tensor::from_data(burn::prelude::TensorData::new(buf, [idx.len(), p]), device)
}
