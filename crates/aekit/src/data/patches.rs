//! Patch sampling: images of any sizes kept as 8-bit planes, and square crops drawn from them
//! afresh every epoch (`--patch-size`, `--patches-per-image`).
//!
//! Restoration networks are fully convolutional, so they learn from crops and run on whole
//! photos. Cropping instead of resizing keeps the detail a denoiser must learn; keeping the
//! pixels as `u8` until a batch is cut keeps a folder of photos at one byte per value (f32
//! would take four). Each crop also gets one of the eight flips and rotations of the square
//! (the augmentation of DnCNN and most restoration papers), drawn with the crop, and
//! optionally a change of tone ([`Tone`]) that makes colour channels saturate.

use std::path::{Path, PathBuf};

use rand::Rng;

use super::dataset::{Dataset, SampleShape};
use super::folder::{is_image, open_image};
use crate::error::{Error, Result};

/// One image, planar `[C, H, W]`, 8 bits per value.
#[derive(Debug, Clone, PartialEq)]
pub struct Image8 {
    pub data: Vec<u8>,
    pub height: usize,
    pub width: usize,
}

/// Images of one channel count and any sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    pub channels: usize,
    pub images: Vec<Image8>,
    /// Where each image came from (for error messages).
    pub sources: Vec<PathBuf>,
}

/// How crops are drawn.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PatchOptions {
    /// Side of the square crops, in pixels.
    pub size: usize,
    /// Crops per image per epoch; `None`: an epoch of about `epoch_pixels` pixels of crops.
    pub per_image: Option<usize>,
    /// Pixels of crops per epoch when `per_image` is `None` ([`EPOCH_PIXELS`] unless a task's
    /// photo defaults say otherwise).
    #[serde(default = "default_epoch_pixels")]
    pub epoch_pixels: usize,
    /// Probability that a training crop gets a random [`Tone`] (0: never; runs saved before
    /// the option read as 0 and draw the same crops as before).
    #[serde(default)]
    pub tone: f32,
}

fn default_epoch_pixels() -> usize {
    EPOCH_PIXELS
}

impl PatchOptions {
    /// Crops of `size` pixels, `per_image` of them per image per epoch, else an epoch of
    /// [`EPOCH_PIXELS`].
    pub fn new(size: usize, per_image: Option<usize>) -> PatchOptions {
        PatchOptions { size, per_image, epoch_pixels: EPOCH_PIXELS, tone: 0.0 }
    }
}

/// The default epoch: about this many pixels of crops (8 Mi: ~3,600 crops of 48x48, ~2,000
/// of 64x64), spread evenly over the images, at least one crop per image and at most two per
/// size² of its area (per 8 Mi of epoch: a task's longer epoch allows proportionally more;
/// crops overlap; each has its own position, flip and noise). An epoch then costs about the same whatever the number and size of the
/// photos (an area-only rule gave a folder of 2,000 whole photos 40x the crops of a folder of
/// 2,000 small ones), and ten epochs of the photo models fit in minutes on two cores.
pub const EPOCH_PIXELS: usize = 1 << 23;

/// One crop: image, top-left corner, which of the 8 flips/rotations, and its tone change.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crop {
    pub image: u32,
    pub y: u32,
    pub x: u32,
    pub transform: u8,
    pub tone: Option<Tone>,
}

/// A change of a crop's colours as a camera's processing makes it, applied to the clean crop
/// before the task's noise: `clip(gain · (Y + saturation · (c − Y)) − black_c)` per channel `c`,
/// with `Y` the pixel's BT.601 luma (grey images: `clip(gain · c − black_0)`).
///
/// Why: photographs have areas where a channel sits at 0 or 1 (a saturated green leaf with no
/// red, a white sky), and there the noise, clipped to [0, 1], is no longer zero-mean. A
/// denoiser that has not seen such areas leaves the clipping's bias in (+0.05 on a red
/// channel at 0, where the rectified noise averages 0.4 sigma). Training photos rarely have
/// enough of them; this draws them: a stronger saturation pushes one channel past 0 or 1
/// while the others keep the detail, a gain clips highlights or darkens, and a channel's black
/// level clips that channel alone at 0 (a dark teal or green with no red).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tone {
    /// Exposure gain, drawn log-uniformly in [1/1.5, 1.5].
    pub gain: f32,
    /// Saturation factor around the luma, drawn log-uniformly in [1, 2.5].
    pub saturation: f32,
    /// Per-channel black level subtracted before clipping: for each channel, with probability
    /// 1/3, uniform in [0, 0.25], else 0.
    pub black: [f32; 3],
}

impl Tone {
    fn draw(rng: &mut impl Rng) -> Tone {
        let mut log_uniform = |lo: f32, hi: f32| (lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f32>()).exp();
        let (gain, saturation) = (log_uniform(1.0 / 1.5, 1.5), log_uniform(1.0, 2.5));
        let black = std::array::from_fn(|_| if rng.random::<f32>() < 1.0 / 3.0 { 0.25 * rng.random::<f32>() } else { 0.0 });
        Tone { gain, saturation, black }
    }

    /// Applies the change to one planar crop `[C, N]` (`C` = 1 or 3) in place.
    pub fn apply(&self, crop: &mut [f32], channels: usize) {
        let (g, s, k) = (self.gain, self.saturation, self.black);
        if channels != 3 {
            crop.iter_mut().for_each(|v| *v = (g * *v - k[0]).clamp(0.0, 1.0));
            return;
        }
        let n = crop.len() / 3;
        let (r, rest) = crop.split_at_mut(n);
        let (gr, b) = rest.split_at_mut(n);
        for ((r, gr), b) in r.iter_mut().zip(gr.iter_mut()).zip(b.iter_mut()) {
            let y = 0.299 * *r + 0.587 * *gr + 0.114 * *b;
            for (v, k) in [r, gr, b].into_iter().zip(k) {
                *v = (g * (y + s * (*v - y)) - k).clamp(0.0, 1.0);
            }
        }
    }
}

/// Training images and how to cut crops from them: what the trainer draws each epoch's
/// batches from instead of a fixed dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Patches {
    pub set: ImageSet,
    pub options: PatchOptions,
}

impl ImageSet {
    /// Reads every image in `root` (flat, or one sub-folder per class; labels are not kept) as
    /// `channels` (1 or 3; `None`: grey when every image is grey, else RGB).
    pub fn load_folder(root: &Path, channels: Option<usize>) -> Result<ImageSet> {
        let files = image_files(root)?;
        let mut decoded = Vec::with_capacity(files.len());
        for p in &files {
            decoded.push(open_image(p)?);
        }
        let channels = channels.unwrap_or_else(|| if decoded.iter().all(|i| !i.color().has_color()) { 1 } else { 3 });
        let images = decoded.iter().map(|img| planar_u8(img, channels)).collect();
        Ok(ImageSet { channels, images, sources: files })
    }

    /// A dataset's images, rounded to 8 bits (exact for data read from 8-bit files, as MNIST).
    pub fn from_dataset(ds: &Dataset, name: &str) -> Result<ImageSet> {
        let SampleShape::Image { channels, height, width } = ds.shape() else {
            return Err(Error::Shape(format!("patch sampling needs images, the data has {}", ds.shape())));
        };
        let images = (0..ds.len())
            .map(|i| Image8 { data: ds.sample(i).iter().map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect(), height, width })
            .collect();
        Ok(ImageSet { channels, images, sources: (0..ds.len()).map(|i| PathBuf::from(format!("{name}[{i}]"))).collect() })
    }

    pub fn len(&self) -> usize {
        self.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.images.is_empty()
    }

    /// Fails, naming the file, if an image is smaller than `size` on a side.
    pub fn check_size(&self, size: usize) -> Result<()> {
        for (img, src) in self.images.iter().zip(&self.sources) {
            if img.height < size || img.width < size {
                return Err(Error::input(src, format!("the image is {}x{}, smaller than the patch size {size}x{size}", img.width, img.height)));
            }
        }
        Ok(())
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> ImageSet {
        ImageSet {
            channels: self.channels,
            images: indices.iter().map(|&i| self.images[i].clone()).collect(),
            sources: indices.iter().map(|&i| self.sources[i].clone()).collect(),
        }
    }

    /// A seeded split by image: (the rest, `fraction` of the images), neither empty.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(ImageSet, ImageSet)> {
        use rand::seq::SliceRandom;
        let n = self.len();
        let k = ((n as f64) * fraction).round() as usize;
        if !(fraction > 0.0 && fraction < 1.0) || k == 0 || k == n {
            return Err(Error::arg("test fraction", format!("{fraction} of {n} images leaves an empty part")));
        }
        let mut idx: Vec<usize> = (0..n).collect();
        idx.shuffle(&mut crate::rng::stream(seed, 0));
        let (held, rest) = idx.split_at(k);
        let (mut held, mut rest) = (held.to_vec(), rest.to_vec());
        held.sort_unstable();
        rest.sort_unstable();
        Ok((self.select(&rest), self.select(&held)))
    }
}

impl Patches {
    /// Checks the options against the images (every image at least one crop wide).
    pub fn new(set: ImageSet, options: PatchOptions) -> Result<Self> {
        if options.size == 0 || options.per_image == Some(0) {
            return Err(Error::arg("patch size", format!("{} crops of {} pixels: both must be positive", options.per_image.unwrap_or(1), options.size)));
        }
        if !(0.0..=1.0).contains(&options.tone) {
            return Err(Error::arg("tone augment", format!("{}: expected a probability in [0, 1]", options.tone)));
        }
        if set.is_empty() {
            return Err(Error::arg("data", "no training images to cut patches from"));
        }
        set.check_size(options.size)?;
        Ok(Patches { set, options })
    }

    /// The shape of one crop.
    pub fn shape(&self) -> SampleShape {
        SampleShape::Image { channels: self.set.channels, height: self.options.size, width: self.options.size }
    }

    fn per_image(&self, img: &Image8) -> usize {
        let s = self.options.size;
        self.options.per_image.unwrap_or_else(|| {
            let even = (self.options.epoch_pixels as f64 / (self.set.len() * s * s) as f64).round();
            // Two crops per size² of area per 8 Mi of epoch: a longer epoch (the denoiser's photo
            // default) may draw proportionally more from each image.
            let per_area = 2.0 * (self.options.epoch_pixels as f64 / EPOCH_PIXELS as f64).max(1.0);
            let area = (per_area * (img.height * img.width) as f64 / (s * s) as f64).round().max(1.0);
            even.clamp(1.0, area) as usize
        })
    }

    /// Crops per epoch.
    pub fn per_epoch(&self) -> usize {
        self.set.images.iter().map(|i| self.per_image(i)).sum()
    }

    /// The crops of one epoch, drawn from (seed, epoch) alone (a resumed run draws the same).
    pub fn plan(&self, seed: u64, epoch: usize) -> Vec<Crop> {
        let mut rng = crate::rng::stream(seed ^ 0x9a7c_4e5_0000_0001, epoch as u64);
        draw(&self.set, self.options.size, |i| self.per_image(i), true, self.options.tone, &mut rng)
    }

    /// Crops `crops[idx]` as a flat batch `[B, C·P·P]` in [0, 1].
    pub fn gather(&self, crops: &[Crop], idx: &[usize], out: &mut Vec<f32>) {
        out.clear();
        for &i in idx {
            cut(&self.set, crops[i], self.options.size, out);
        }
    }
}

/// A fixed dataset of crops of `set`: `per_image` seeded crops per image, without flips (what
/// validation and test sets of photos of mixed sizes become when training on patches).
pub fn fixed_crops(set: &ImageSet, size: usize, per_image: usize, seed: u64) -> Result<Dataset> {
    set.check_size(size)?;
    let crops = draw(set, size, |_| per_image, false, 0.0, &mut crate::rng::stream(seed ^ 0x0f1c_ed00, 0));
    let mut data = Vec::with_capacity(crops.len() * set.channels * size * size);
    for &c in &crops {
        cut(set, c, size, &mut data);
    }
    Dataset::new(data, SampleShape::Image { channels: set.channels, height: size, width: size }, None)
}

/// `tone`: the probability of a [`Tone`] per crop; at 0 no number is drawn for it, so plans
/// stay those of runs made before the option.
fn draw(set: &ImageSet, size: usize, per_image: impl Fn(&Image8) -> usize, transform: bool, tone: f32, rng: &mut impl Rng) -> Vec<Crop> {
    let mut crops = Vec::new();
    for (i, img) in set.images.iter().enumerate() {
        for _ in 0..per_image(img) {
            crops.push(Crop {
                image: i as u32,
                y: rng.random_range(0..=img.height - size) as u32,
                x: rng.random_range(0..=img.width - size) as u32,
                transform: if transform { rng.random_range(0..8u8) } else { 0 },
                tone: if tone > 0.0 && rng.random::<f32>() < tone { Some(Tone::draw(rng)) } else { None },
            });
        }
    }
    crops
}

/// Appends crop `c` as planar floats in [0, 1]. Transform t: bit 0 transposes, bit 1 flips
/// rows, bit 2 flips columns (the 8 symmetries of the square).
fn cut(set: &ImageSet, c: Crop, size: usize, out: &mut Vec<f32>) {
    let img = &set.images[c.image as usize];
    let (y0, x0, w) = (c.y as usize, c.x as usize, img.width);
    let plane = img.height * w;
    let last = size - 1;
    let start = out.len();
    for ch in 0..set.channels {
        let src = &img.data[ch * plane..(ch + 1) * plane];
        for i in 0..size {
            for j in 0..size {
                let (mut a, mut b) = if c.transform & 1 != 0 { (j, i) } else { (i, j) };
                if c.transform & 2 != 0 {
                    a = last - a;
                }
                if c.transform & 4 != 0 {
                    b = last - b;
                }
                out.push(src[(y0 + a) * w + x0 + b] as f32 / 255.0);
            }
        }
    }
    if let Some(t) = c.tone {
        t.apply(&mut out[start..], set.channels);
    }
}

fn image_files(root: &Path) -> Result<Vec<PathBuf>> {
    let read = super::folder::sorted_entries;
    let mut files = Vec::new();
    for p in read(root)? {
        if p.is_dir() {
            files.extend(read(&p)?.into_iter().filter(|f| f.is_file() && is_image(f)));
        } else if is_image(&p) {
            files.push(p);
        }
    }
    if files.is_empty() {
        return Err(Error::input(root, "no images found: expected .png, .jpg, .jpeg or .bmp files, directly or in sub-folders"));
    }
    Ok(files)
}

fn planar_u8(img: &image::DynamicImage, channels: usize) -> Image8 {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let data = if channels == 1 {
        img.to_luma8().into_raw()
    } else {
        let raw = img.to_rgb8().into_raw();
        (0..3).flat_map(|c| raw.iter().skip(c).step_by(3).copied().collect::<Vec<u8>>()).collect()
    };
    Image8 { data, height: h, width: w }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize) -> ImageSet {
        let data = (0..h * w).map(|v| (v % 256) as u8).collect();
        ImageSet { channels: 1, images: vec![Image8 { data, height: h, width: w }], sources: vec!["ramp".into()] }
    }

    #[test]
    fn the_eight_transforms_are_the_symmetries_of_the_square() {
        let set = ramp(4, 5);
        let mut seen = std::collections::HashSet::new();
        for t in 0..8 {
            let mut out = Vec::new();
            cut(&set, Crop { image: 0, y: 1, x: 2, transform: t, tone: None }, 3, &mut out);
            let mut sorted: Vec<u32> = out.iter().map(|v| (v * 255.0).round() as u32).collect();
            assert!(seen.insert(sorted.clone()), "transform {t} repeats another");
            sorted.sort();
            // Rows 1..4, columns 2..5 of a 4x5 ramp: the same nine values in every transform.
            assert_eq!(sorted, vec![7, 8, 9, 12, 13, 14, 17, 18, 19]);
        }
        let mut id = Vec::new();
        cut(&set, Crop { image: 0, y: 1, x: 2, transform: 0, tone: None }, 3, &mut id);
        assert_eq!(id.iter().map(|v| (v * 255.0).round() as u32).collect::<Vec<_>>(), vec![7, 8, 9, 12, 13, 14, 17, 18, 19]);
    }

    #[test]
    fn tone_keeps_luma_saturates_channels_and_is_drawn_at_its_rate() {
        // Gain 1 and saturation 1 change nothing; saturation moves each channel away from the
        // pixel's luma and keeps the luma where nothing clips.
        // Planar [3, 2]: pixel 0 is (0.2, 0.5, 0.6), pixel 1 (0.4, 0.45, 0.5).
        let px = vec![0.2f32, 0.4, 0.5, 0.45, 0.6, 0.5];
        let mut same = px.clone();
        Tone { gain: 1.0, saturation: 1.0, black: [0.0; 3] }.apply(&mut same, 3);
        assert!(same.iter().zip(&px).all(|(a, b)| (a - b).abs() < 1e-6), "{same:?}");
        let luma = |v: &[f32], i: usize| 0.299 * v[i] + 0.587 * v[2 + i] + 0.114 * v[4 + i];
        let mut sat = px.clone();
        Tone { gain: 1.0, saturation: 1.5, black: [0.0; 3] }.apply(&mut sat, 3);
        // Pixel 0: luma 0.4217; red 0.2 -> 0.08915, green 0.5 -> 0.53915, blue 0.6 -> 0.68915.
        for (got, want) in [(sat[0], 0.08915), (sat[2], 0.53915), (sat[4], 0.68915)] {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
        for i in 0..2 {
            assert!((luma(&sat, i) - luma(&px, i)).abs() < 1e-6);
        }
        // Stronger, with a gain: pixel 0's red clips at 0 and its blue at 1 (1.2 x 1.0674),
        // while green keeps its value, 1.2 x 0.61745.
        let mut clip = px.clone();
        Tone { gain: 1.2, saturation: 2.5, black: [0.0; 3] }.apply(&mut clip, 3);
        assert_eq!((clip[0], clip[4]), (0.0, 1.0));
        assert!((clip[2] - 0.74094).abs() < 1e-4 && clip.iter().all(|v| (0.0..=1.0).contains(v)), "{clip:?}");
        // Grey crops get the gain and the first black level, clipped.
        let mut grey = vec![0.25f32, 0.9];
        Tone { gain: 1.4, saturation: 2.0, black: [0.1, 0.0, 0.0] }.apply(&mut grey, 1);
        assert!((grey[0] - 0.25).abs() < 1e-6 && grey[1] == 1.0, "{grey:?}");
        // A black level darkens its channel alone and clips it at 0.
        let mut dark = px.clone();
        Tone { gain: 1.0, saturation: 1.0, black: [0.3, 0.0, 0.1] }.apply(&mut dark, 3);
        let want = [0.0, 0.1, 0.5, 0.45, 0.5, 0.4];
        assert!(dark.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{dark:?}");
        // Drawn for about the asked share of crops, within its ranges; never at 0.
        let set = ImageSet { images: vec![ramp(64, 64).images[0].clone(); 400], sources: vec!["r".into(); 400], channels: 1 };
        let half = Patches::new(set.clone(), PatchOptions { tone: 0.5, ..PatchOptions::new(8, Some(5)) }).unwrap().plan(1, 0);
        let toned: Vec<Tone> = half.iter().filter_map(|c| c.tone).collect();
        assert!((900..1100).contains(&toned.len()), "{} of 2000 crops toned", toned.len());
        assert!(toned.iter().all(|t| (1.0 / 1.5 - 1e-6..=1.5 + 1e-6).contains(&t.gain) && (1.0..=2.5 + 1e-6).contains(&t.saturation)));
        let none = Patches::new(set.clone(), PatchOptions::new(8, Some(5))).unwrap().plan(1, 0);
        assert!(none.iter().all(|c| c.tone.is_none()));
        let err = Patches::new(set, PatchOptions { tone: 1.5, ..PatchOptions::new(8, None) }).unwrap_err().to_string();
        assert!(err.contains("tone augment") && err.contains("1.5"), "{err}");
    }

    #[test]
    fn plans_are_seeded_per_epoch_and_stay_inside() {
        let p = Patches::new(ramp(40, 30), PatchOptions::new(8, None)).unwrap();
        assert_eq!(p.per_epoch(), 38); // capped at two per area: 2 x 1200 / 64 = 37.5
        let many = ImageSet { images: vec![ramp(40, 30).images[0].clone(); 8192], sources: vec!["r".into(); 8192], channels: 1 };
        // 8 Mi pixels / (8192 images x 64 pixels) = 16 crops per image, under the area's 38;
        // twice the pixels, 32.
        assert_eq!(Patches::new(many.clone(), PatchOptions::new(8, None)).unwrap().per_epoch(), 8192 * 16);
        let twice = PatchOptions { epoch_pixels: 2 * EPOCH_PIXELS, ..PatchOptions::new(8, None) };
        assert_eq!(Patches::new(many, twice).unwrap().per_epoch(), 8192 * 32);
        // The area cap grows with the epoch: four per area at 16 Mi (4 x 1200 / 64 = 75).
        assert_eq!(Patches::new(ramp(40, 30), twice).unwrap().per_epoch(), 75);
        // The denoiser's photo default on a folder of 1,600 crops of 64x64 (the contract's 2,000
        // minus the 20% test hold-out), patches of 48: 20 Mi / (1,600 x 48²) = 5.7 -> 6 crops each,
        // under the cap of 2 x 2.5 x 64² / 48² = 8.9.
        let crops = ImageSet { images: vec![ramp(64, 64).images[0].clone(); 1600], sources: vec!["r".into(); 1600], channels: 1 };
        let denoise = PatchOptions { epoch_pixels: crate::apps::restore::DENOISE_EPOCH_PIXELS, ..PatchOptions::new(48, None) };
        assert_eq!(Patches::new(crops, denoise).unwrap().per_epoch(), 1600 * 6);
        let (a, b) = (p.plan(3, 1), p.plan(3, 2));
        assert_eq!(a, p.plan(3, 1));
        assert_ne!(a, b);
        assert!(a.iter().all(|c| c.y as usize + 8 <= 40 && c.x as usize + 8 <= 30));
        let err = Patches::new(ramp(6, 30), PatchOptions::new(8, Some(1))).unwrap_err().to_string();
        assert!(err.contains("ramp") && err.contains("30x6") && err.contains("8x8"), "{err}");
    }
}
