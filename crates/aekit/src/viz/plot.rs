//! Line charts with plotters.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};

/// One line of a chart.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart with optional vertical markers, written as PNG.
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Points to mark with a dot and a label, e.g. the chosen k.
    pub markers: Vec<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
}

impl LineChart {
    pub fn save_png(&self, path: &Path) -> Result<()> {
        super::ensure_font();
        let (w, h) = (800u32, 500u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        let draw_err = |e: String| Error::Write { path: path.to_path_buf(), source: std::io::Error::other(e) };
        {
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| draw_err(e.to_string()))?;
            let all = self.series.iter().flat_map(|s| s.points.iter());
            let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
            for &(x, y) in all {
                x0 = x0.min(x);
                x1 = x1.max(x);
                y0 = y0.min(y);
                y1 = y1.max(y);
            }
            if !x0.is_finite() {
                return Err(Error::arg("chart", format!("{}: no points to plot", self.title)));
            }
            if x1 <= x0 {
                x1 = x0 + 1.0;
            }
            let (y0, y1) = self.y_range.unwrap_or((y0, if y1 > y0 { y1 } else { y0 + 1.0 }));
            let mut chart = ChartBuilder::on(&root)
                .caption(&self.title, ("sans-serif", 22))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| draw_err(e.to_string()))?;
            chart
                .configure_mesh()
                .x_desc(&self.x_label)
                .y_desc(&self.y_label)
                .label_style(("sans-serif", 14))
                .x_label_formatter(&|x| if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{}", (x * 1e6).round() / 1e6) })
                .draw()
                .map_err(|e| draw_err(e.to_string()))?;
            for (i, s) in self.series.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(LineSeries::new(s.points.iter().copied(), color.stroke_width(2)))
                    .map_err(|e| draw_err(e.to_string()))?
                    .label(&s.name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            }
            chart
                .draw_series(self.markers.iter().map(|&(x, y)| Circle::new((x, y), 4, RED.filled())))
                .map_err(|e| draw_err(e.to_string()))?;
            chart
                .draw_series(self.markers.iter().map(|&(x, y)| {
                    EmptyElement::at((x, y))
                        + Text::new(format!("k={x}: {y:.3}"), (6, 6), ("sans-serif", 13).into_font())
                }))
                .map_err(|e| draw_err(e.to_string()))?;
            if self.series.len() > 1 {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| draw_err(e.to_string()))?;
            }
            root.present().map_err(|e| draw_err(e.to_string()))?;
        }
        super::grid::save_rgb_png(path, w as usize, h as usize, &buf)
    }
}

/// A scatter plot of labelled points, one colour per label, written as PNG.
pub fn scatter(points: &[(f64, f64)], labels: Option<&[u32]>, title: &str, x_label: &str, y_label: &str, path: &Path) -> Result<()> {
    super::ensure_font();
    let (w, h) = (800u32, 700u32);
    let mut buf = vec![255u8; (w * h * 3) as usize];
    let draw_err = |e: String| Error::Write { path: path.to_path_buf(), source: std::io::Error::other(e) };
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(e.to_string()))?;
        let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
        for &(x, y) in points {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !x0.is_finite() {
            return Err(Error::arg("scatter", format!("{title}: no points")));
        }
        let pad = |a: f64, b: f64| ((b - a) * 0.05).max(1e-6);
        let (px, py) = (pad(x0, x1), pad(y0, y1));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(x0 - px..x1 + px, y0 - py..y1 + py)
            .map_err(|e| draw_err(e.to_string()))?;
        chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(|e| draw_err(e.to_string()))?;
        let classes: Vec<u32> = match labels {
            Some(l) => {
                let mut c = l.to_vec();
                c.sort_unstable();
                c.dedup();
                c
            }
            None => vec![0],
        };
        for &class in &classes {
            let color = Palette99::pick(class as usize).to_rgba();
            let pts = points.iter().enumerate().filter(|(i, _)| labels.is_none_or(|l| l[*i] == class)).map(|(_, &p)| p);
            let series = chart
                .draw_series(pts.map(|p| Circle::new(p, 2, color.filled())))
                .map_err(|e| draw_err(e.to_string()))?;
            if labels.is_some() {
                series.label(class.to_string()).legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
            }
        }
        if labels.is_some() {
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(|e| draw_err(e.to_string()))?;
        }
        root.present().map_err(|e| draw_err(e.to_string()))?;
    }
    super::grid::save_rgb_png(path, w as usize, h as usize, &buf)
}
