//! A small SVG writer for the report's plots: line charts (linear or logarithmic y) and
//! horizontal bar charts. No dependency; the SVG is plain text.

use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 420.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 56.0;
pub const COLORS: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
];

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Draw as steps (a CDF) rather than straight segments.
    pub steps: bool,
}

/// A reference line: (value, label).
pub type Mark = (f64, String);

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// 1, 2 or 5 times a power of ten, near `range / 5`.
fn nice_step(range: f64) -> f64 {
    let raw = (range / 5.0).max(1e-12);
    let pow = 10f64.powf(raw.log10().floor());
    let f = raw / pow;
    let m = if f < 1.5 {
        1.0
    } else if f < 3.5 {
        2.0
    } else if f < 7.5 {
        5.0
    } else {
        10.0
    };
    m * pow
}

fn label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

struct Scale {
    min: f64,
    max: f64,
    log: bool,
    from: f64,
    to: f64,
}

impl Scale {
    fn at(&self, v: f64) -> f64 {
        let (v, min, max) = if self.log {
            (v.max(self.min).log10(), self.min.log10(), self.max.log10())
        } else {
            (v, self.min, self.max)
        };
        self.from + (v - min) / (max - min).max(1e-12) * (self.to - self.from)
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let mut out = Vec::new();
            let mut d = 10f64.powf(self.min.log10().floor());
            while d <= self.max * 1.0001 {
                for m in [1.0, 2.0, 5.0] {
                    let t = d * m;
                    if t >= self.min * 0.9999 && t <= self.max * 1.0001 {
                        out.push(t);
                    }
                }
                d *= 10.0;
            }
            out
        } else {
            let step = nice_step(self.max - self.min);
            let mut t = (self.min / step).ceil() * step;
            let mut out = Vec::new();
            while t <= self.max + step * 1e-9 {
                out.push(t);
                t += step;
            }
            out
        }
    }
}

fn bounds(vals: impl Iterator<Item = f64>, log: bool, zero: bool) -> (f64, f64) {
    let v: Vec<f64> = vals
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .collect();
    let mut lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        lo = 10f64.powf(lo.log10().floor());
        hi = 10f64.powf(hi.log10().ceil());
        if hi <= lo {
            hi = lo * 10.0;
        }
    } else {
        if zero {
            lo = lo.min(0.0);
        }
        if hi <= lo {
            hi = lo + 1.0;
        }
        let step = nice_step(hi - lo);
        hi = (hi / step).ceil() * step;
        lo = (lo / step).floor() * step;
    }
    (lo, hi)
}

fn header(out: &mut String, title: &str) {
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"#,
        W / 2.0,
        esc(title)
    );
}

/// A line chart. `vmarks` are vertical reference lines (x values), `hmarks` horizontal ones.
pub fn line_chart(
    title: &str,
    xlabel: &str,
    ylabel: &str,
    series: &[Series],
    ylog: bool,
    vmarks: &[Mark],
    hmarks: &[Mark],
) -> String {
    let xs = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(vmarks.iter().map(|m| m.0));
    let ys = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(hmarks.iter().map(|m| m.0));
    let (x0, x1) = bounds(xs, false, true);
    let (y0, y1) = bounds(ys, ylog, true);
    let x = Scale {
        min: x0,
        max: x1,
        log: false,
        from: LEFT,
        to: W - RIGHT,
    };
    let y = Scale {
        min: y0,
        max: y1,
        log: ylog,
        from: H - BOTTOM,
        to: TOP,
    };
    let mut out = String::new();
    header(&mut out, title);
    axes(&mut out, &x, &y, xlabel, ylabel);
    for (v, text) in vmarks {
        let px = x.at(*v);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#888" stroke-dasharray="5,4"/><text x="{:.1}" y="{:.1}" fill="#555" font-size="11" text-anchor="end">{}</text>"##,
            H - BOTTOM,
            px - 4.0,
            TOP + 12.0,
            esc(text)
        );
    }
    for (v, text) in hmarks {
        let py = y.at(*v);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#c00" stroke-dasharray="5,4"/><text x="{:.1}" y="{:.1}" fill="#c00" font-size="11">{}</text>"##,
            W - RIGHT,
            LEFT + 4.0,
            py - 4.0,
            esc(text)
        );
    }
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut pts = String::new();
        let mut prev: Option<(f64, f64)> = None;
        for &(px, py) in &s.points {
            if ylog && py <= 0.0 {
                continue;
            }
            let (cx, cy) = (x.at(px), y.at(py));
            if s.steps
                && let Some((_, ly)) = prev
            {
                let _ = write!(pts, "{cx:.1},{ly:.1} ");
            }
            let _ = write!(pts, "{cx:.1},{cy:.1} ");
            prev = Some((cx, cy));
        }
        let _ = writeln!(
            out,
            r#"<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"/>"#
        );
        if !s.steps {
            for &(px, py) in &s.points {
                if ylog && py <= 0.0 {
                    continue;
                }
                let _ = writeln!(
                    out,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"/>"#,
                    x.at(px),
                    y.at(py)
                );
            }
        }
        let ly = TOP + 10.0 + i as f64 * 20.0;
        let lx = W - RIGHT + 16.0;
        let _ = writeln!(
            out,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            lx + 22.0,
            lx + 28.0,
            ly + 4.0,
            esc(&s.name)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn axes(out: &mut String, x: &Scale, y: &Scale, xlabel: &str, ylabel: &str) {
    let _ = writeln!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{:.1}" height="{:.1}" fill="none" stroke="#333"/>"##,
        W - RIGHT - LEFT,
        H - BOTTOM - TOP
    );
    for t in x.ticks() {
        let px = x.at(t);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#eee"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 16.0,
            label(t)
        );
    }
    for t in y.ticks() {
        let py = y.at(t);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{:.1}" y2="{py:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            py + 4.0,
            label(t)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 14.0,
        esc(xlabel)
    );
    let _ = writeln!(
        out,
        r#"<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">{}</text>"#,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        esc(ylabel)
    );
}

/// Horizontal bars, one per (label, value), with the value written at the end of each.
pub fn bar_chart(title: &str, unit: &str, bars: &[(String, f64)]) -> String {
    let left = 250.0;
    let right = 60.0;
    let (_, hi) = bounds(bars.iter().map(|b| b.1), false, true);
    let x = Scale {
        min: 0.0,
        max: hi,
        log: false,
        from: left,
        to: W - right,
    };
    let mut out = String::new();
    header(&mut out, title);
    let rows = bars.len().max(1) as f64;
    let band = (H - BOTTOM - TOP) / rows;
    for t in x.ticks() {
        let px = x.at(t);
        let _ = writeln!(
            out,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{:.1}" stroke="#eee"/><text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 16.0,
            label(t)
        );
    }
    for (i, (name, v)) in bars.iter().enumerate() {
        let y = TOP + i as f64 * band + band * 0.15;
        let h = band * 0.7;
        let color = COLORS[i % COLORS.len()];
        let _ = writeln!(
            out,
            r#"<rect x="{left}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{color}"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><text x="{:.1}" y="{:.1}">{}</text>"#,
            (x.at(*v) - left).max(0.0),
            left - 8.0,
            y + h / 2.0 + 4.0,
            esc(name),
            x.at(*v) + 4.0,
            y + h / 2.0 + 4.0,
            label(*v)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        (left + W - right) / 2.0,
        H - 14.0,
        esc(unit)
    );
    out.push_str("</svg>\n");
    out
}
