//! Image folders: PNG, JPEG or BMP files, grey or RGB. A folder of sub-folders is a labelled
//! dataset (one class per sub-folder, labels in sorted name order); a flat folder is unlabelled.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::DynamicImage;

use super::dataset::{Dataset, SampleShape};
use crate::error::{Error, Result};

/// How to read an image folder.
#[derive(Debug, Clone, Copy, Default)]
pub struct FolderOptions {
    /// Resize every image to (width, height) with a Catmull-Rom filter; without it all images must
    /// share one size.
    pub resize: Option<(u32, u32)>,
    /// Force 1 (grey) or 3 (RGB) channels; by default grey when every image is grey, else RGB.
    pub channels: Option<usize>,
}

const EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

pub(crate) fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|source| Error::Read { path: dir.to_path_buf(), source })?;
    let mut v = Vec::new();
    for e in rd {
        v.push(e.map_err(|source| Error::Read { path: dir.to_path_buf(), source })?.path());
    }
    v.sort();
    Ok(v)
}

/// Reads every image in `root` (or in its class sub-folders).
pub fn load_folder(root: &Path, opts: FolderOptions) -> Result<Dataset> {
    if let Some(c) = opts.channels {
        if c != 1 && c != 3 {
            return Err(Error::arg("channels", format!("{c}: expected 1 (grey) or 3 (RGB)")));
        }
    }
    let entries = sorted_entries(root)?;
    let subdirs: Vec<&PathBuf> = entries.iter().filter(|p| p.is_dir()).collect();
    let mut files: Vec<(PathBuf, Option<u32>)> = Vec::new();
    let mut class_names = None;
    if subdirs.is_empty() {
        files.extend(entries.iter().filter(|p| is_image(p)).map(|p| (p.clone(), None)));
    } else {
        if let Some(loose) = entries.iter().find(|p| p.is_file() && is_image(p)) {
            return Err(Error::input(
                root,
                format!(
                    "mixes class sub-folders with a loose image {}: expected either only \
                     sub-folders (one per class) or only images",
                    loose.display()
                ),
            ));
        }
        let mut names = Vec::new();
        for (label, dir) in subdirs.iter().enumerate() {
            names.push(dir.file_name().unwrap_or_default().to_string_lossy().into_owned());
            for p in sorted_entries(dir)? {
                if p.is_file() && is_image(&p) {
                    files.push((p, Some(label as u32)));
                }
            }
        }
        class_names = Some(names);
    }
    if files.is_empty() {
        return Err(Error::input(
            root,
            "no images found: expected .png, .jpg, .jpeg or .bmp files, directly or in one \
             sub-folder per class",
        ));
    }

    let mut images = Vec::with_capacity(files.len());
    for (p, _) in &files {
        let img = open_image(p)?;
        let img = match opts.resize {
            Some((w, h)) if img.width() != w || img.height() != h => {
                img.resize_exact(w, h, FilterType::CatmullRom)
            }
            _ => img,
        };
        images.push(img);
    }
    let (w, h) = (images[0].width(), images[0].height());
    for ((p, _), img) in files.iter().zip(&images) {
        if img.width() != w || img.height() != h {
            return Err(Error::input(
                p,
                format!(
                    "image is {}x{}, expected {w}x{h} like {} (use --resize WxH to read images \
                     of mixed sizes)",
                    img.width(),
                    img.height(),
                    files[0].0.display()
                ),
            ));
        }
    }
    let channels = opts.channels.unwrap_or_else(|| {
        if images.iter().all(|i| !i.color().has_color()) {
            1
        } else {
            3
        }
    });
    let (w, h) = (w as usize, h as usize);
    let mut data = Vec::with_capacity(files.len() * channels * h * w);
    for img in &images {
        push_planar(img, channels, &mut data);
    }
    let labels = class_names.as_ref().map(|_| files.iter().map(|(_, l)| l.unwrap_or(0)).collect());
    let mut ds = Dataset::new(data, SampleShape::Image { channels, height: h, width: w }, labels)?;
    ds.class_names = class_names;
    Ok(ds)
}

/// Appends an image as planar `[C, H, W]` floats in [0, 1].
pub(crate) fn push_planar(img: &DynamicImage, channels: usize, out: &mut Vec<f32>) {
    if channels == 1 {
        out.extend(img.to_luma32f().into_raw());
    } else {
        let rgb = img.to_rgb32f();
        let raw = rgb.as_raw();
        for c in 0..3 {
            out.extend(raw.iter().skip(c).step_by(3));
        }
    }
}

/// Opens and decodes one image file (format guessed from its bytes); errors name the file.
pub(crate) fn open_image(p: &Path) -> Result<image::DynamicImage> {
    image::ImageReader::open(p)
        .map_err(|source| Error::Read { path: p.to_path_buf(), source })?
        .with_guessed_format()
        .map_err(|source| Error::Read { path: p.to_path_buf(), source })?
        .decode()
        .map_err(|e| Error::input(p, format!("cannot decode image: {e}")))
}
