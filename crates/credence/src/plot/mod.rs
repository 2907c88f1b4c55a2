//! SVG plots as strings (line plots with several series and bands, side-by-side panels,
//! histograms), for the CLI's `--plot` options and the HTML report. Built on `plotters`' SVG
//! backend only: no fonts or bitmaps are needed.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One series of a line plot: a line, an optional shaded band, or both.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points of the line, in x order (may be empty for a band alone).
    pub points: Vec<(f64, f64)>,
    /// Band as (x, low, high), in x order.
    pub band: Vec<(f64, f64, f64)>,
    /// Draw the line dashed (reference lines, priors).
    pub dashed: bool,
}

impl Series {
    /// A plain line.
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            ..Series::default()
        }
    }

    /// A line with a shaded band around it.
    pub fn with_band(
        name: impl Into<String>,
        points: Vec<(f64, f64)>,
        band: Vec<(f64, f64, f64)>,
    ) -> Self {
        Series {
            name: name.into(),
            points,
            band,
            dashed: false,
        }
    }

    /// The same series drawn dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// A line plot: title, axis labels and series.
#[derive(Debug, Clone, Default)]
pub struct LinePlot {
    /// Title above the plot.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// The series, drawn in order.
    pub series: Vec<Series>,
}

/// A histogram of values.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    /// Title above the plot.
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// The values (non-finite ones are skipped).
    pub values: Vec<f64>,
    /// Number of bins.
    pub bins: usize,
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn draw_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Invalid(format!("drawing the plot: {e:?}"))
}

/// Range of finite values, padded by 5% (or ±1 around a single value).
fn padded(vals: impl Iterator<Item = f64>) -> Result<(f64, f64)> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return Err(Error::Invalid(
            "nothing to plot: no finite values in any series".into(),
        ));
    }
    let span = hi - lo;
    if span <= 1e-12 * lo.abs().max(1.0) {
        let d = lo.abs().max(1.0) * 0.5;
        return Ok((lo - d, hi + d));
    }
    Ok((lo - 0.05 * span, hi + 0.05 * span))
}

fn draw_line_plot<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &LinePlot) -> Result<()> {
    let xs = p.series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|q| q.0)
            .chain(s.band.iter().map(|b| b.0))
    });
    let ys = p.series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|q| q.1)
            .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
    });
    let (x0, x1) = padded(xs)?;
    let (y0, y1) = padded(ys)?;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(p.y_label.as_str())
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(draw_err)?;
    for (i, s) in p.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let band: Vec<&(f64, f64, f64)> = s
            .band
            .iter()
            .filter(|b| b.0.is_finite() && b.1.is_finite() && b.2.is_finite())
            .collect();
        if band.len() >= 2 {
            let poly: Vec<(f64, f64)> = band
                .iter()
                .map(|b| (b.0, b.2))
                .chain(band.iter().rev().map(|b| (b.0, b.1)))
                .collect();
            let anno = chart
                .draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))
                .map_err(draw_err)?;
            if s.points.is_empty() && !s.name.is_empty() {
                anno.label(s.name.as_str()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 20, y + 5)], color.mix(0.2).filled())
                });
            }
        }
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|q| q.0.is_finite() && q.1.is_finite())
            .collect();
        if pts.is_empty() {
            continue;
        }
        let style = color.stroke_width(2);
        let anno = if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                .map_err(draw_err)?
        } else {
            chart
                .draw_series(LineSeries::new(pts.clone(), style))
                .map_err(draw_err)?
        };
        if !s.name.is_empty() {
            anno.label(s.name.as_str()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
        if pts.len() <= 12 {
            chart
                .draw_series(pts.iter().map(|&q| Circle::new(q, 3, color.filled())))
                .map_err(draw_err)?;
        }
    }
    if p.series.iter().any(|s| !s.name.is_empty()) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

/// A line plot as an SVG document of `width × height` pixels.
pub fn line_plot(p: &LinePlot, width: u32, height: u32) -> Result<String> {
    panels(std::slice::from_ref(p), width, height)
}

/// Several line plots side by side, each `width × height`, in one SVG document.
pub fn panels(plots: &[LinePlot], width: u32, height: u32) -> Result<String> {
    if plots.is_empty() {
        return Err(Error::Invalid("nothing to plot: no panels".into()));
    }
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (width * plots.len() as u32, height))
            .into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let areas = root.split_evenly((1, plots.len()));
        for (a, p) in areas.iter().zip(plots) {
            draw_line_plot(a, p)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(s)
}

/// Bin counts of `values` over `[lo, hi]` in `bins` equal bins.
pub fn bin_counts(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<usize> {
    let mut c = vec![0usize; bins.max(1)];
    let w = (hi - lo) / c.len() as f64;
    for &v in values.iter().filter(|v| v.is_finite()) {
        let k = (((v - lo) / w).floor().max(0.0) as usize).min(c.len() - 1);
        c[k] += 1;
    }
    c
}

/// A histogram as an SVG document of `width × height` pixels.
pub fn histogram(h: &Histogram, width: u32, height: u32) -> Result<String> {
    let vals: Vec<f64> = h.values.iter().copied().filter(|v| v.is_finite()).collect();
    let (lo, hi) = padded(vals.iter().copied())?;
    let bins = h.bins.max(1);
    let counts = bin_counts(&vals, lo, hi, bins);
    let w = (hi - lo) / bins as f64;
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.05;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&h.title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(lo..hi, 0.0..top)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(h.x_label.as_str())
            .y_desc("count")
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(k, &c)| {
                let x = lo + k as f64 * w;
                Rectangle::new([(x, 0.0), (x + w, c as f64)], PALETTE[0].mix(0.6).filled())
            }))
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_plot_has_series_and_labels() {
        let p = LinePlot {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![
                Series::with_band(
                    "posterior",
                    vec![(0.0, 1.0), (1.0, 2.0)],
                    vec![(0.0, 0.5, 1.5), (1.0, 1.5, 2.5)],
                ),
                Series::line("prior", vec![(0.0, 0.0), (1.0, 0.0)]).dashed(),
            ],
        };
        let svg = line_plot(&p, 400, 300).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("posterior") && svg.contains("prior"));
        assert!(svg.contains("<polygon"), "band drawn as a polygon");
    }

    #[test]
    fn empty_or_non_finite_is_an_error() {
        let p = LinePlot {
            series: vec![Series::line("a", vec![(f64::NAN, 1.0)])],
            ..LinePlot::default()
        };
        assert!(line_plot(&p, 100, 100).is_err());
        assert!(panels(&[], 100, 100).is_err());
    }

    #[test]
    fn histogram_counts_every_value() {
        let v: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let c = bin_counts(&v, 0.0, 100.0, 10);
        assert_eq!(c, vec![10; 10]);
        let svg = histogram(
            &Histogram {
                title: "h".into(),
                x_label: "v".into(),
                values: v,
                bins: 10,
            },
            300,
            200,
        )
        .unwrap();
        assert!(svg.contains("<rect"));
    }
}
