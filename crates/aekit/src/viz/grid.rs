//! Image grids: rows of equally sized images, each row optionally labelled on the left.

use std::path::Path;

use plotters::prelude::*;

use crate::data::SampleShape;
use crate::error::{Error, Result};

/// A grid under construction: rows of images `[C, H, W]` in [0, 1] (values outside are clipped).
pub struct Grid {
    channels: usize,
    height: usize,
    width: usize,
    scale: usize,
    rows: Vec<(Option<String>, Vec<Vec<f32>>)>,
    title: Option<String>,
}

const PAD: usize = 2;
const LABEL_W: usize = 110;
const TITLE_H: usize = 28;

impl Grid {
    /// A grid of images of `shape`, each drawn `scale` times larger (nearest neighbour).
    pub fn new(shape: SampleShape, scale: usize) -> Result<Self> {
        match shape {
            SampleShape::Image { channels, height, width } if channels == 1 || channels == 3 => {
                Ok(Grid { channels, height, width, scale: scale.max(1), rows: Vec::new(), title: None })
            }
            other => Err(Error::Shape(format!("cannot draw {other} samples as images: expected 1 or 3 channels"))),
        }
    }

    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Adds a row; `images` are `[C, H, W]` slices.
    pub fn row<'a>(&mut self, label: Option<String>, images: impl IntoIterator<Item = &'a [f32]>) {
        self.rows.push((label, images.into_iter().map(|s| s.to_vec()).collect()));
    }

    /// Renders to an RGB buffer `(width, height, bytes)`.
    pub fn render(&self) -> (usize, usize, Vec<u8>) {
        super::ensure_font();
        let labelled = self.rows.iter().any(|(l, _)| l.is_some());
        let left = if labelled { LABEL_W } else { 0 };
        let top = if self.title.is_some() { TITLE_H } else { 0 };
        let cols = self.rows.iter().map(|(_, r)| r.len()).max().unwrap_or(0);
        let (tw, th) = (self.width * self.scale, self.height * self.scale);
        let w = left + PAD + cols * (tw + PAD);
        let h = top + PAD + self.rows.len() * (th + PAD);
        let mut buf = vec![255u8; w * h * 3];
        let plane = self.height * self.width;
        for (r, (_, imgs)) in self.rows.iter().enumerate() {
            for (c, img) in imgs.iter().enumerate() {
                let (x0, y0) = (left + PAD + c * (tw + PAD), top + PAD + r * (th + PAD));
                for y in 0..th {
                    for x in 0..tw {
                        let (sy, sx) = (y / self.scale, x / self.scale);
                        let o = ((y0 + y) * w + x0 + x) * 3;
                        for ch in 0..3 {
                            let src = if self.channels == 1 { 0 } else { ch };
                            let v = img[src * plane + sy * self.width + sx];
                            buf[o + ch] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                        }
                    }
                }
            }
        }
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
            let font = ("sans-serif", 16).into_font().color(&BLACK);
            for (r, (label, _)) in self.rows.iter().enumerate() {
                if let Some(l) = label {
                    let y = top + PAD + r * (th + PAD) + th / 2 - 8;
                    let _ = root.draw_text(l, &font, (6, y as i32));
                }
            }
            if let Some(t) = &self.title {
                let _ = root.draw_text(t, &("sans-serif", 18).into_font().color(&BLACK), (6, 5));
            }
            let _ = root.present();
        }
        (w, h, buf)
    }

    /// Renders and writes a PNG atomically.
    pub fn save_png(&self, path: &Path) -> Result<()> {
        let (w, h, buf) = self.render();
        save_rgb_png(path, w, h, &buf)
    }
}

impl Grid {
    /// One `[C, H, W]` image in [0, 1] as an RGB buffer of its own size.
    pub fn single(img: &[f32], channels: usize, height: usize, width: usize) -> Vec<u8> {
        let plane = height * width;
        let mut buf = Vec::with_capacity(plane * 3);
        for i in 0..plane {
            for ch in 0..3 {
                let src = if channels == 1 { 0 } else { ch };
                buf.push((img[src * plane + i].clamp(0.0, 1.0) * 255.0).round() as u8);
            }
        }
        buf
    }
}

/// Writes images `[N, P]` of `shape` as one grid, 8 per row, titled `title`.
pub fn save_sample_grid(x: &[f32], shape: SampleShape, title: &str, path: &Path) -> Result<()> {
    if !matches!(shape, SampleShape::Image { .. }) {
        return Err(Error::Shape(format!("cannot draw {shape} samples as images")));
    }
    let mut g = Grid::new(shape, 2)?.title(title);
    let imgs: Vec<&[f32]> = x.chunks_exact(shape.len()).collect();
    for row in imgs.chunks(8) {
        g.row(None, row.iter().copied());
    }
    g.save_png(path)
}

/// Encodes an RGB buffer as PNG and writes it atomically.
pub fn save_rgb_png(path: &Path, w: usize, h: usize, rgb: &[u8]) -> Result<()> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(rgb, w as u32, h as u32, image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::Write { path: path.to_path_buf(), source: std::io::Error::other(e.to_string()) })?;
    crate::io::write_bytes(path, &bytes)
}

use image::ImageEncoder;

/// Min-max scales a vector into [0, 1] so a principal component can be shown as an image.
pub fn normalize_for_display(v: &[f32]) -> Vec<f32> {
    let (lo, hi) = v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let span = (hi - lo).max(f32::MIN_POSITIVE);
    v.iter().map(|&x| (x - lo) / span).collect()
}
