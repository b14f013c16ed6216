//! Degradations for restoration tasks (corruptions for denoising, downscaling for
//! super-resolution) and the classical baselines they are compared with (median filter,
//! Gaussian blur, nearest and bicubic upscaling).
//!
//! Every function works on one image `[C, H, W]` (row-major planes, values in [0, 1]).
//! Resizing with a kernel goes through the `image` crate's `resize` (already a dependency):
//! bicubic is its `CatmullRom` filter, the Keys cubic with a = -0.5 (PIL's; PyTorch's uses
//! a = -0.75), sampled at pixel centres, with the weights renormalised at the borders as PIL does,
//! and scaled by the factor when downscaling (antialiased, like PIL). Area downscaling, the 3x3
//! median and the Gaussian blur are written here: `image` has no area filter, and `imageproc`'s
//! median only takes 8-bit images and would add nalgebra to the build for ~20 lines.

use image::imageops::FilterType;
use image::{ImageBuffer, Luma};
use rand::Rng;

use crate::error::{Error, Result};

/// One corruption of a denoising task; a task applies a list of them in order.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Corruption {
    /// Adds N(0, sigma^2) to every value, then clips to [0, 1].
    Gaussian { sigma: f64 },
    /// Blind denoising: Gaussian noise whose sigma is drawn uniformly from [min, max] for each
    /// image, then clipped to [0, 1] (`gaussian:0.0-0.2`).
    GaussianRange { min: f64, max: f64 },
    /// Each value becomes 0 or 1 (equally likely) with probability `rate`.
    SaltPepper { rate: f64 },
    /// Each pixel (all channels) is set to 0 with probability `rate` (dropout of pixels).
    Mask { rate: f64 },
    /// One `size` x `size` square at a uniformly drawn position inside the image (all channels)
    /// is set to 0 (occlusion, as Cutout).
    Block { size: usize },
    /// The image is translated by (dx, dy), each uniform in [-pixels, pixels], the pixels shifted
    /// in set to 0.
    Shift { pixels: usize },
}

impl Corruption {
    /// Parses `gaussian:0.5`, `salt-pepper:0.1`, `mask:0.3`, `block:10` or `shift:2`.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |msg: String| Error::arg("noise", format!("{spec:?}: {msg}"));
        let (kind, value) = spec
            .split_once(':')
            .ok_or_else(|| bad("expected KIND:VALUE, e.g. gaussian:0.5, salt-pepper:0.1, mask:0.3".into()))?;
        if kind.trim() == "gaussian" {
            if let Some((lo, hi)) = value.trim().split_once('-').filter(|(lo, _)| !lo.is_empty()) {
                let num = |s: &str| s.trim().parse::<f64>().map_err(|_| bad(format!("{s:?} is not a number")));
                let c = Corruption::GaussianRange { min: num(lo)?, max: num(hi)? };
                c.validate()?;
                return Ok(c);
            }
        }
        let v: f64 = value.trim().parse().map_err(|_| bad(format!("{value:?} is not a number")))?;
        let c = match kind.trim() {
            "gaussian" => Corruption::Gaussian { sigma: v },
            "salt-pepper" | "salt_pepper" | "sp" => Corruption::SaltPepper { rate: v },
            "mask" | "dropout" => Corruption::Mask { rate: v },
            "block" | "shift" => {
                if !(v >= 0.0 && v.fract() == 0.0 && v <= 4096.0) {
                    return Err(bad(format!("{value:?}: expected a whole number of pixels")));
                }
                if kind.trim() == "block" { Corruption::Block { size: v as usize } } else { Corruption::Shift { pixels: v as usize } }
            }
            k => return Err(bad(format!("unknown corruption {k:?}: expected gaussian, salt-pepper, mask, block or shift"))),
        };
        c.validate()?;
        Ok(c)
    }

    /// Parses a comma-separated list, applied in order: `gaussian:0.3,mask:0.2`.
    pub fn parse_list(spec: &str) -> Result<Vec<Self>> {
        let list: Vec<Self> = spec.split(',').filter(|s| !s.trim().is_empty()).map(|s| Self::parse(s.trim())).collect::<Result<_>>()?;
        if list.is_empty() {
            return Err(Error::arg("noise", "no corruption given: expected e.g. gaussian:0.5"));
        }
        Ok(list)
    }

    pub fn validate(&self) -> Result<()> {
        match *self {
            Corruption::Gaussian { sigma } if !(sigma >= 0.0 && sigma.is_finite()) => {
                Err(Error::arg("noise", format!("gaussian sigma {sigma}: expected a finite value >= 0")))
            }
            Corruption::GaussianRange { min, max } if !(min >= 0.0 && min <= max && max.is_finite()) => {
                Err(Error::arg("noise", format!("gaussian sigma range {min}-{max}: expected 0 <= min <= max, finite")))
            }
            Corruption::SaltPepper { rate } | Corruption::Mask { rate } if !(0.0..=1.0).contains(&rate) => {
                Err(Error::arg("noise", format!("rate {rate}: expected a fraction in [0, 1]")))
            }
            _ => Ok(()),
        }
    }

    /// The spec it was parsed from.
    pub fn spec(&self) -> String {
        match *self {
            Corruption::Gaussian { sigma } => format!("gaussian:{sigma}"),
            Corruption::GaussianRange { min, max } => format!("gaussian:{min}-{max}"),
            Corruption::SaltPepper { rate } => format!("salt-pepper:{rate}"),
            Corruption::Mask { rate } => format!("mask:{rate}"),
            Corruption::Block { size } => format!("block:{size}"),
            Corruption::Shift { pixels } => format!("shift:{pixels}"),
        }
    }

    /// Corrupts one image `[C, H, W]` in place.
    pub fn apply(&self, img: &mut [f32], h: usize, w: usize, rng: &mut impl Rng) {
        let plane = h * w;
        let channels = img.len() / plane.max(1);
        match *self {
            Corruption::Gaussian { sigma } => add_gaussian(img, sigma, rng),
            Corruption::GaussianRange { min, max } => {
                let sigma = if max > min { rng.random_range(min..=max) } else { min };
                add_gaussian(img, sigma, rng)
            }
            Corruption::SaltPepper { rate } => {
                for v in img.iter_mut() {
                    if rng.random::<f64>() < rate {
                        *v = if rng.random::<bool>() { 1.0 } else { 0.0 };
                    }
                }
            }
            Corruption::Mask { rate } => {
                for i in 0..plane {
                    if rng.random::<f64>() < rate {
                        for c in 0..channels {
                            img[c * plane + i] = 0.0;
                        }
                    }
                }
            }
            Corruption::Block { size } => {
                let (bh, bw) = (size.min(h), size.min(w));
                let (y0, x0) = (rng.random_range(0..=h - bh), rng.random_range(0..=w - bw));
                for c in 0..channels {
                    for y in y0..y0 + bh {
                        img[c * plane + y * w + x0..c * plane + y * w + x0 + bw].fill(0.0);
                    }
                }
            }
            Corruption::Shift { pixels } => {
                let k = pixels as i64;
                let (dy, dx) = (rng.random_range(-k..=k) as isize, rng.random_range(-k..=k) as isize);
                if (dy, dx) == (0, 0) {
                    return;
                }
                let src = img.to_vec();
                for c in 0..channels {
                    for y in 0..h as isize {
                        for x in 0..w as isize {
                            let (sy, sx) = (y - dy, x - dx);
                            let inside = (0..h as isize).contains(&sy) && (0..w as isize).contains(&sx);
                            img[c * plane + (y as usize) * w + x as usize] =
                                if inside { src[c * plane + (sy as usize) * w + sx as usize] } else { 0.0 };
                        }
                    }
                }
            }
        }
    }
}

fn add_gaussian(img: &mut [f32], sigma: f64, rng: &mut impl Rng) {
    for v in img.iter_mut() {
        *v = (*v + (sigma * crate::rng::standard_normal(rng)) as f32).clamp(0.0, 1.0);
    }
}

/// Applies `list` in order to every image of a batch `[B, C, H, W]` (flat), drawing from `rng`.
pub fn corrupt(batch: &mut [f32], h: usize, w: usize, per_image: usize, list: &[Corruption], rng: &mut impl Rng) {
    for img in batch.chunks_exact_mut(per_image) {
        for c in list {
            c.apply(img, h, w, rng);
        }
    }
}

/// How super-resolution degrades an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Downscale {
    /// Mean of each s x s block (PyTorch's `interpolate(mode="area")` for integer factors).
    Area,
    /// Antialiased bicubic (a = -0.5), as PIL's `resize(BICUBIC)`.
    Bicubic,
}

impl Downscale {
    pub fn name(self) -> &'static str {
        match self {
            Downscale::Area => "area",
            Downscale::Bicubic => "bicubic",
        }
    }
}

fn luma(plane: &[f32], h: usize, w: usize) -> ImageBuffer<Luma<f32>, Vec<f32>> {
    ImageBuffer::from_raw(w as u32, h as u32, plane.to_vec()).expect("plane of h x w values")
}

/// Resizes each plane with the `image` crate's filter.
fn resize(img: &[f32], c: usize, h: usize, w: usize, nh: usize, nw: usize, filter: FilterType) -> Vec<f32> {
    let mut out = Vec::with_capacity(c * nh * nw);
    for p in img.chunks_exact(h * w).take(c) {
        out.extend(image::imageops::resize(&luma(p, h, w), nw as u32, nh as u32, filter).into_raw());
    }
    out
}

/// Downscales `[C, H, W]` by `s` (H and W divisible by `s`) → `[C, H/s, W/s]`.
pub fn downscale(img: &[f32], c: usize, h: usize, w: usize, s: usize, method: Downscale) -> Vec<f32> {
    let (nh, nw) = (h / s, w / s);
    match method {
        Downscale::Bicubic => resize(img, c, h, w, nh, nw, FilterType::CatmullRom),
        Downscale::Area => {
            let mut out = vec![0.0f32; c * nh * nw];
            let norm = 1.0 / (s * s) as f32;
            for ch in 0..c {
                for y in 0..nh {
                    for x in 0..nw {
                        let mut sum = 0.0;
                        for dy in 0..s {
                            let row = ch * h * w + (y * s + dy) * w + x * s;
                            sum += img[row..row + s].iter().sum::<f32>();
                        }
                        out[ch * nh * nw + y * nw + x] = sum * norm;
                    }
                }
            }
            out
        }
    }
}

/// Bicubic upscaling (a = -0.5, see the module notes) by `s`, clipped to [0, 1]:
/// `[C, h, w]` → `[C, h·s, w·s]`.
pub fn upscale_bicubic(img: &[f32], c: usize, h: usize, w: usize, s: usize) -> Vec<f32> {
    resize(img, c, h, w, h * s, w * s, FilterType::CatmullRom)
}

/// Nearest-neighbour upscaling (each pixel becomes an s x s block): `[C, h, w]` → `[C, h·s, w·s]`.
pub fn upscale_nearest(img: &[f32], c: usize, h: usize, w: usize, s: usize) -> Vec<f32> {
    resize(img, c, h, w, h * s, w * s, FilterType::Nearest)
}

/// 3x3 median filter per channel; borders replicate the edge pixels.
pub fn median3x3(img: &[f32], c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; img.len()];
    let at = |p: &[f32], y: isize, x: isize| p[(y.clamp(0, h as isize - 1) as usize) * w + x.clamp(0, w as isize - 1) as usize];
    for ch in 0..c {
        let p = &img[ch * h * w..(ch + 1) * h * w];
        for y in 0..h as isize {
            for x in 0..w as isize {
                let mut v = [0.0f32; 9];
                let mut k = 0;
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        v[k] = at(p, y + dy, x + dx);
                        k += 1;
                    }
                }
                v.sort_unstable_by(f32::total_cmp);
                out[ch * h * w + y as usize * w + x as usize] = v[4];
            }
        }
    }
    out
}

/// Gaussian blur per channel: separable kernel of radius ceil(3 sigma), normalised to sum 1;
/// borders replicate the edge pixels.
pub fn gaussian_blur(img: &[f32], c: usize, h: usize, w: usize, sigma: f64) -> Vec<f32> {
    let r = (3.0 * sigma).ceil().max(1.0) as isize;
    let mut k: Vec<f64> = (-r..=r).map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= sum);
    let mut tmp = vec![0.0f32; img.len()];
    let mut out = vec![0.0f32; img.len()];
    for ch in 0..c {
        let o = ch * h * w;
        for y in 0..h {
            for x in 0..w {
                let s: f64 = (-r..=r)
                    .map(|i| k[(i + r) as usize] * img[o + y * w + (x as isize + i).clamp(0, w as isize - 1) as usize] as f64)
                    .sum();
                tmp[o + y * w + x] = s as f32;
            }
        }
        for y in 0..h {
            for x in 0..w {
                let s: f64 = (-r..=r)
                    .map(|i| k[(i + r) as usize] * tmp[o + (y as isize + i).clamp(0, h as isize - 1) as usize * w + x] as f64)
                    .sum();
                out[o + y * w + x] = s as f32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corruptions_parse_and_are_seeded() {
        let list = Corruption::parse_list("gaussian:0.5,salt-pepper:0.1,mask:0.2").unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[1], Corruption::SaltPepper { rate: 0.1 });
        assert!(Corruption::parse("gaussian").is_err());
        assert!(Corruption::parse("blur:1").is_err());
        assert!(Corruption::parse("mask:1.5").is_err());
        let clean = vec![0.5f32; 2 * 100];
        let run = |seed| {
            let mut x = clean.clone();
            corrupt(&mut x, 10, 10, 100, &list, &mut crate::rng::stream(seed, 3));
            x
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        assert!(run(1).iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn gaussian_noise_has_the_requested_spread_and_masking_its_rate() {
        let mut x = vec![0.5f32; 100_000];
        Corruption::Gaussian { sigma: 0.1 }.apply(&mut x, 1, 100_000, &mut crate::rng::stream(0, 0));
        let sd = (x.iter().map(|v| ((v - 0.5) as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
        assert!((sd - 0.1).abs() < 0.002, "{sd}");
        let mut y = vec![1.0f32; 100_000];
        Corruption::Mask { rate: 0.3 }.apply(&mut y, 1, 100_000, &mut crate::rng::stream(0, 0));
        let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64 / 1e5;
        assert!((zeros - 0.3).abs() < 0.01, "{zeros}");
    }

    #[test]
    fn blocks_zero_one_square_and_shifts_translate() {
        assert_eq!(Corruption::parse("block:10").unwrap(), Corruption::Block { size: 10 });
        assert_eq!(Corruption::parse("shift:2").unwrap().spec(), "shift:2");
        assert!(Corruption::parse("block:2.5").is_err() && Corruption::parse("shift:-1").is_err());
        // Two channels of 6x5 ones: a 3-square block zeroes 9 pixels of each channel, in a 3x3
        // square (same place in both channels).
        let mut rng = crate::rng::stream(4, 0);
        for _ in 0..20 {
            let mut x = vec![1.0f32; 2 * 30];
            Corruption::Block { size: 3 }.apply(&mut x, 6, 5, &mut rng);
            let zeros: Vec<usize> = (0..30).filter(|&i| x[i] == 0.0).collect();
            assert_eq!(zeros.len(), 9, "{x:?}");
            assert_eq!(zeros, (30..60).filter(|&i| x[i] == 0.0).map(|i| i - 30).collect::<Vec<_>>());
            let (ys, xs): (Vec<usize>, Vec<usize>) = zeros.iter().map(|&i| (i / 5, i % 5)).unzip();
            assert_eq!((ys.iter().max().unwrap() - ys.iter().min().unwrap(), xs.iter().max().unwrap() - xs.iter().min().unwrap()), (2, 2));
        }
        // A block larger than the image clears it.
        let mut x = vec![1.0f32; 12];
        Corruption::Block { size: 9 }.apply(&mut x, 3, 4, &mut rng);
        assert!(x.iter().all(|&v| v == 0.0));
        // Shifts move a single bright pixel by at most 2 in each direction, and over many draws
        // by every offset in [-2, 2]^2; values are only moved, never changed.
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let mut x = vec![0.0f32; 9 * 9];
            x[4 * 9 + 4] = 0.75;
            Corruption::Shift { pixels: 2 }.apply(&mut x, 9, 9, &mut rng);
            let moved: Vec<usize> = (0..81).filter(|&i| x[i] != 0.0).collect();
            assert_eq!(moved.len(), 1);
            assert_eq!(x[moved[0]], 0.75);
            seen.insert((moved[0] / 9) as isize * 10 + (moved[0] % 9) as isize - 44);
        }
        assert_eq!(seen.len(), 25, "{seen:?}");
        // Shifted-out pixels are lost and zeros come in: an all-ones image loses whole rows/columns.
        let mut x = vec![1.0f32; 16];
        let mut r = crate::rng::stream(0, 0);
        Corruption::Shift { pixels: 1 }.apply(&mut x, 4, 4, &mut r);
        let ones = x.iter().filter(|&&v| v == 1.0).count();
        assert!([16, 12, 9].contains(&ones), "{x:?}");
    }

    #[test]
    fn area_downscale_averages_blocks_and_upscales_keep_constants() {
        let img: Vec<f32> = (0..16).map(|i| i as f32 / 16.0).collect();
        let d = downscale(&img, 1, 4, 4, 2, Downscale::Area);
        assert_eq!(d, vec![(0.0 + 1.0 + 4.0 + 5.0) / 64.0, (2.0 + 3.0 + 6.0 + 7.0) / 64.0, (8.0 + 9.0 + 12.0 + 13.0) / 64.0, (10.0 + 11.0 + 14.0 + 15.0) / 64.0]);
        let n = upscale_nearest(&d, 1, 2, 2, 2);
        assert_eq!(n[0..4], [d[0], d[0], d[1], d[1]]);
        let flat = vec![0.25f32; 3 * 7 * 7];
        for v in upscale_bicubic(&flat, 3, 7, 7, 4) {
            assert!((v - 0.25).abs() < 1e-6);
        }
        assert_eq!(upscale_bicubic(&flat, 3, 7, 7, 4).len(), 3 * 28 * 28);
    }

    #[test]
    fn bicubic_is_keys_a_minus_half_with_renormalised_borders() {
        // Hand computation for the row [0, 1] upscaled x2 (output pixel centres at source
        // x = -0.25, 0.25, 0.75, 1.25): Keys' kernel with a = -0.5,
        // k(t) = 1.5|t|^3 - 2.5|t|^2 + 1 for |t| < 1, -0.5|t|^3 + 2.5|t|^2 - 4|t| + 2 for 1 <= |t| < 2;
        // x = 0.25 takes k(0.25) = 0.8671875 of pixel 0 and k(0.75) = 0.2265625 of pixel 1,
        // renormalised over the two pixels inside the image: 0.2265625 / 1.09375 = 0.2071429;
        // x = -0.25 gives -0.0703125 / 0.796875 < 0, clipped to 0.
        let up = upscale_bicubic(&[0.0, 1.0, 0.0, 1.0], 1, 2, 2, 2);
        let want = [0.0, 0.2071429, 0.7928571, 1.0];
        for row in up.chunks(4) {
            for (a, b) in row.iter().zip(want) {
                assert!((a - b).abs() < 1e-5, "{row:?}");
            }
        }
    }

    #[test]
    fn median_removes_isolated_impulses_and_blur_keeps_the_mean() {
        let mut img = vec![0.2f32; 25];
        img[12] = 1.0;
        let m = median3x3(&img, 1, 5, 5);
        assert!(m.iter().all(|&v| v == 0.2));
        let b = gaussian_blur(&img, 1, 5, 5, 0.8);
        assert!(b[12] < 1.0 && b[12] > 0.2);
        assert!(b[11] > 0.2);
        let flat = vec![0.7f32; 30];
        assert!(gaussian_blur(&flat, 1, 5, 6, 2.0).iter().all(|v| (v - 0.7).abs() < 1e-6));
    }
}
