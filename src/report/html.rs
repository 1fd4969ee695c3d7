//! `report.html`: one self-contained page per run, comparison and sweep.
//!
//! Charts are inline SVG drawn here (no script, no font, no network), so the file opens
//! anywhere, archives well and is byte-identical for the same inputs. Each chart has a title, a
//! y axis with round ticks, hour (or point) labels on x, and a legend; the numbers behind every
//! chart are in the run's CSVs.

use std::fmt::Write as _;

use crate::engine::Simulation;
use crate::experiment::stats::Estimate;
use crate::experiment::{Comparison, KPIS};
use crate::metrics::Metrics;
use crate::scenario::Scenario;

use super::{Series, Summary};

const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// Escapes text for HTML and SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// About five round tick values covering `[low, high]`.
fn ticks(low: f64, high: f64) -> Vec<f64> {
    let span = (high - low).max(f64::MIN_POSITIVE);
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|step| span / step <= 6.0)
        .unwrap_or(10.0 * magnitude);
    let first = (low / step).ceil() as i64;
    let last = (high / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick label: compact, with thousands as `k` and millions as `M`.
fn label(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if magnitude >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else if magnitude >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    }
}

/// A plotting area: pixel size, margins and the data ranges it maps.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x: (f64, f64),
    y: (f64, f64),
}

impl Frame {
    fn new(width: f64, height: f64, x: (f64, f64), y: (f64, f64)) -> Frame {
        let y = if y.1 > y.0 { y } else { (y.0, y.0 + 1.0) };
        let x = if x.1 > x.0 { x } else { (x.0, x.0 + 1.0) };
        Frame {
            width,
            height,
            left: 56.0,
            right: 12.0,
            top: 28.0,
            bottom: 30.0,
            x,
            y,
        }
    }

    fn px(&self, x: f64) -> f64 {
        self.left + (x - self.x.0) / (self.x.1 - self.x.0) * (self.width - self.left - self.right)
    }

    fn py(&self, y: f64) -> f64 {
        self.height
            - self.bottom
            - (y - self.y.0) / (self.y.1 - self.y.0) * (self.height - self.top - self.bottom)
    }

    /// Opens the SVG with its title, y grid and ticks, and x labels at `x_labels`.
    fn open(&self, title: &str, x_labels: &[(f64, String)]) -> String {
        let mut svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{t}</title><text x="{l}" y="16" class="title">{t}</text>"#,
            w = self.width,
            h = self.height,
            l = self.left,
            t = escape(title)
        );
        for tick in ticks(self.y.0, self.y.1) {
            let y = self.py(tick);
            let _ = write!(
                svg,
                r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="grid"/><text x="{:.1}" y="{:.1}" class="ytick">{}</text>"#,
                self.left,
                self.width - self.right,
                self.left - 4.0,
                y + 3.0,
                label(tick)
            );
        }
        // Labels that would collide are slanted (their room is the bottom margin).
        let room = (self.width - self.left - self.right) / x_labels.len().max(1) as f64;
        let longest = x_labels
            .iter()
            .map(|(_, t)| t.chars().count())
            .max()
            .unwrap_or(0);
        let slanted = longest as f64 * 6.0 > room;
        for (x, text) in x_labels {
            let (px, py) = (self.px(*x), self.height - self.bottom + 14.0);
            if slanted {
                let _ = write!(
                    svg,
                    r#"<text x="{px:.1}" y="{py:.1}" class="xtick" text-anchor="end" transform="rotate(-30 {px:.1} {py:.1})">{}</text>"#,
                    escape(text)
                );
            } else {
                let _ = write!(
                    svg,
                    r#"<text x="{px:.1}" y="{py:.1}" class="xtick">{}</text>"#,
                    escape(text)
                );
            }
        }
        let _ = write!(
            svg,
            r#"<line x1="{l:.1}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}" class="axis"/>"#,
            l = self.left,
            r = self.width - self.right,
            b = self.py(self.y.0)
        );
        svg
    }
}

/// Hour labels every few hours for a run of `n_hours`.
fn hour_labels(n_hours: usize) -> Vec<(f64, String)> {
    let step = match n_hours {
        0..=12 => 2,
        13..=48 => 6,
        49..=240 => 24,
        _ => 168,
    };
    (0..=n_hours)
        .step_by(step)
        .map(|h| (h as f64, format!("{h}h")))
        .collect()
}

/// A named line: its points and whether it is dashed.
type Line = (String, Vec<(f64, f64)>, bool);

/// A small-multiple entry: name, goal (or budget), `(cumulative, target)` points at successive
/// hour ends, and the hour index of the first point's hour.
type Track<'a> = (String, f64, &'a Vec<(f64, f64)>, usize);

/// A line chart: `series` of `(name, points, dashed)`, x in hours.
fn line_chart(title: &str, n_hours: usize, series: &[Line], width: f64, height: f64) -> String {
    let max = series
        .iter()
        .flat_map(|(_, points, _)| points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max);
    let frame = Frame::new(width, height, (0.0, n_hours as f64), (0.0, max * 1.05));
    let mut svg = frame.open(title, &hour_labels(n_hours));
    for (idx, (name, points, dashed)) in series.iter().enumerate() {
        if points.is_empty() {
            continue;
        }
        let color = PALETTE[idx / 2 % PALETTE.len()];
        let path: String = points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", frame.px(*x), frame.py(*y)))
            .collect::<Vec<_>>()
            .join(" ");
        let dash = if *dashed {
            r#" stroke-dasharray="4 3""#
        } else {
            ""
        };
        let _ = write!(
            svg,
            r#"<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.6"{dash}><title>{}</title></polyline>"#,
            escape(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A bar chart of `values` with one label per bar (every `label_every`-th shown).
fn bar_chart(title: &str, labels: &[String], values: &[f64], label_every: usize) -> String {
    let max = values.iter().copied().fold(0.0f64, f64::max);
    let n = values.len().max(1) as f64;
    let frame = Frame::new(640.0, 220.0, (0.0, n), (0.0, max * 1.05));
    let x_labels: Vec<(f64, String)> = labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % label_every.max(1) == 0)
        .map(|(i, text)| (i as f64 + 0.5, text.clone()))
        .collect();
    let mut svg = frame.open(title, &x_labels);
    let bar = (frame.px(1.0) - frame.px(0.0)) * 0.8;
    for (i, &value) in values.iter().enumerate() {
        let (x, y) = (frame.px(i as f64 + 0.1), frame.py(value));
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{bar:.1}" height="{:.1}" fill="{}"><title>{}: {}</title></rect>"#,
            (frame.py(0.0) - y).max(0.0),
            PALETTE[0],
            escape(&labels[i]),
            label(value)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal grouped bars, one row per name (names on the left, where they fit).
fn hbar_chart(title: &str, names: &[String], groups: &[(&str, Vec<f64>)]) -> String {
    let max = groups
        .iter()
        .flat_map(|(_, values)| values.iter().copied())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let row = 6.0 * groups.len() as f64 + 6.0;
    let height = 50.0 + row * names.len() as f64;
    let (width, left) = (640.0, 190.0);
    let scale = |v: f64| left + v / (max * 1.05) * (width - left - 20.0);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"><title>{t}</title><text x="8" y="16" class="title">{t}</text>"#,
        t = escape(title)
    );
    for (g, (name, _)) in groups.iter().enumerate() {
        let x = left + 90.0 * g as f64;
        let _ = write!(
            svg,
            r#"<rect x="{x:.1}" y="22" width="10" height="8" fill="{}"/><text x="{:.1}" y="30" class="legendtext">{}</text>"#,
            PALETTE[g % PALETTE.len()],
            x + 14.0,
            escape(name)
        );
    }
    for tick in ticks(0.0, max * 1.05) {
        let x = scale(tick);
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" y1="36" x2="{x:.1}" y2="{:.1}" class="grid"/><text x="{x:.1}" y="{:.1}" class="xtick">{}</text>"#,
            height - 14.0,
            height - 3.0,
            label(tick)
        );
    }
    for (i, name) in names.iter().enumerate() {
        let top = 40.0 + row * i as f64;
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="ytick">{}</text>"#,
            left - 6.0,
            top + row / 2.0 + 2.0,
            escape(name)
        );
        for (g, (group, values)) in groups.iter().enumerate() {
            let value = values[i];
            let _ = write!(
                svg,
                r#"<rect x="{left:.1}" y="{:.1}" width="{:.1}" height="5" fill="{}"><title>{}, {}: {}</title></rect>"#,
                top + 6.0 * g as f64,
                (scale(value) - left).max(0.0),
                PALETTE[g % PALETTE.len()],
                escape(name),
                escape(group),
                label(value)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal intervals (a forest plot): `(label, estimate)` rows around a zero line, values
/// in percent.
fn interval_chart(title: &str, rows: &[(String, f64, f64, f64)]) -> String {
    let (mut low, mut high) = (0.0f64, 0.0f64);
    for (_, mean, lo, hi) in rows {
        low = low.min(*lo).min(*mean);
        high = high.max(*hi).max(*mean);
    }
    let pad = (high - low).max(1e-9) * 0.08;
    let height = 40.0 + 22.0 * rows.len() as f64;
    let width = 640.0;
    let left = 190.0;
    let scale =
        |v: f64| left + (v - (low - pad)) / (high - low + 2.0 * pad) * (width - left - 20.0);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img"><title>{t}</title><text x="8" y="16" class="title">{t}</text>"#,
        t = escape(title)
    );
    for tick in ticks(low - pad, high + pad) {
        let x = scale(tick);
        let _ = write!(
            svg,
            r#"<line x1="{x:.1}" y1="24" x2="{x:.1}" y2="{:.1}" class="grid"/><text x="{x:.1}" y="{:.1}" class="xtick">{}%</text>"#,
            height - 16.0,
            height - 4.0,
            label(tick)
        );
    }
    let zero = scale(0.0);
    let _ = write!(
        svg,
        r#"<line x1="{zero:.1}" y1="24" x2="{zero:.1}" y2="{:.1}" class="axis"/>"#,
        height - 16.0
    );
    for (idx, (name, mean, lo, hi)) in rows.iter().enumerate() {
        let y = 36.0 + 22.0 * idx as f64;
        let significant = *lo > 0.0 || *hi < 0.0;
        let color = if significant { PALETTE[1] } else { "#777" };
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" class="ytick">{}</text><line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2"/><circle cx="{:.1}" cy="{y:.1}" r="3.5" fill="{color}"><title>{}: {:+.3}% [{:+.3}%, {:+.3}%]</title></circle>"#,
            left - 8.0,
            y + 4.0,
            escape(name),
            scale(*lo),
            scale(*hi),
            scale(*mean),
            escape(name),
            mean,
            lo,
            hi
        );
    }
    svg.push_str("</svg>");
    svg
}

const STYLE: &str = "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;max-width:1400px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}\
.meta{color:#666}.grid-charts{display:flex;flex-wrap:wrap;gap:8px}\
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}\
td:first-child,th:first-child{text-align:left}th{background:#f6f6f6}\
svg{background:#fff;border:1px solid #eee}svg .title{font-size:12px;font-weight:600;fill:#222}\
svg .ytick{font-size:10px;fill:#555;text-anchor:end}svg .xtick{font-size:10px;fill:#555;text-anchor:middle}\
svg .grid{stroke:#eee}svg .legendtext{font-size:10px;fill:#333}svg .axis{stroke:#999}.legend span{display:inline-block;margin-right:14px}\
.swatch{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:4px}";

fn page(title: &str, meta: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head>\n<body><h1>{t}</h1><p class=\"meta\">{m}</p>\n{body}</body></html>\n",
        t = escape(title),
        m = escape(meta)
    )
}

/// A table with a header row; cells are escaped.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = String::from("<table><tr>");
    for cell in header {
        let _ = write!(html, "<th>{}</th>", escape(cell));
    }
    html.push_str("</tr>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{}</td>", escape(cell));
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    html
}

/// Per hour: requests, opportunities, impressions and revenue [currency].
fn hourly(scenario: &Scenario, metrics: &Metrics) -> Vec<(f64, f64, f64, f64)> {
    let n_items = metrics.items.len();
    let n_bidders = metrics.bidders.len();
    metrics
        .hourly
        .iter()
        .enumerate()
        .map(|(hour, cell)| {
            let direct: f64 = scenario
                .adserver
                .line_items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    f64::from(metrics.delivery[hour * n_items + i]) * item.cpm.as_units() / 1000.0
                })
                .sum();
            let programmatic: f64 = (0..n_bidders)
                .map(|b| metrics.bidder_delivery[hour * n_bidders + b].1 as f64 / 1e6)
                .sum();
            (
                f64::from(cell.requests),
                f64::from(cell.opportunities),
                f64::from(cell.impressions),
                direct + programmatic,
            )
        })
        .collect()
}

/// Small multiples of cumulative delivery (or spend) against its target, in % of goal.
/// Each entry: name, goal (or budget), the `(cumulative, target)` points at successive hour
/// ends, and the hour index of the first point's hour.
fn delivery_multiples(title: &str, what: &str, entries: &[Track<'_>]) -> String {
    const SHOWN: usize = 24;
    let mut html = format!(
        "<h2>{}</h2><p class=\"legend\"><span><i class=\"swatch\" style=\"background:{}\"></i>{} (cumulative, %)</span><span><i class=\"swatch\" style=\"background:{};opacity:.6\"></i>pacing target (dashed)</span></p><div class=\"grid-charts\">",
        escape(title),
        PALETTE[0],
        escape(what),
        PALETTE[0]
    );
    for (name, scale, points, first) in entries.iter().take(SHOWN) {
        let hour_end = |i: usize| (first + i + 1) as f64;
        let actual: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, (a, _))| (hour_end(i), a / scale * 100.0))
            .collect();
        let target: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, (_, t))| (hour_end(i), t / scale * 100.0))
            .collect();
        let n_hours = actual.last().map_or(1.0, |p| p.0).ceil() as usize;
        html.push_str(&line_chart(
            name,
            n_hours,
            &[
                ("delivered".into(), actual, false),
                ("target".into(), target, true),
            ],
            300.0,
            170.0,
        ));
    }
    html.push_str("</div>");
    if entries.len() > SHOWN {
        let _ = write!(
            html,
            "<p class=\"meta\">The first {SHOWN} of {}; every one is in delivery.csv.</p>",
            entries.len()
        );
    }
    html
}

/// The report of one run.
pub fn run_report(scenario: &Scenario, simulation: &Simulation, summary: &Summary) -> String {
    let metrics = simulation.metrics();
    let series = Series::new(scenario, simulation);
    let hours = hourly(scenario, metrics);
    let n_hours = metrics.n_hours;
    let mut body = String::new();

    let t = &summary.totals;
    body.push_str("<h2>Totals</h2>");
    body.push_str(&table(
        &[
            "requests",
            "opportunities",
            "impressions",
            "fill rate",
            "revenue",
            "direct",
            "programmatic",
            "eCPM",
            "under-delivery",
            "clicks",
            "conversions",
        ],
        &[vec![
            t.requests.to_string(),
            t.opportunities.to_string(),
            t.impressions.to_string(),
            format!("{:.1}%", t.fill_rate * 100.0),
            format!("{:.2}", t.revenue),
            format!("{:.2}", t.revenue_direct),
            format!("{:.2}", t.revenue_programmatic),
            format!("{:.2}", t.ecpm),
            t.under_delivery.to_string(),
            t.clicks.to_string(),
            t.conversions.to_string(),
        ]],
    ));

    body.push_str("<h2>Traffic, fill and eCPM by hour</h2><div class=\"grid-charts\">");
    let labels: Vec<String> = (0..n_hours).map(|h| format!("{h}h")).collect();
    let requests: Vec<f64> = hours.iter().map(|h| h.0).collect();
    body.push_str(&bar_chart(
        "Ad requests per hour",
        &labels,
        &requests,
        (n_hours / 12).max(1),
    ));
    let fill: Vec<(f64, f64)> = hours
        .iter()
        .enumerate()
        .map(|(h, (_, o, i, _))| (h as f64 + 0.5, if *o > 0.0 { i / o * 100.0 } else { 0.0 }))
        .collect();
    body.push_str(&line_chart(
        "Fill rate per hour [%]",
        n_hours,
        &[("fill rate".into(), fill, false)],
        460.0,
        220.0,
    ));
    let ecpm: Vec<(f64, f64)> = hours
        .iter()
        .enumerate()
        .map(|(h, (_, _, i, r))| (h as f64 + 0.5, if *i > 0.0 { r * 1000.0 / i } else { 0.0 }))
        .collect();
    body.push_str(&line_chart(
        "eCPM per hour",
        n_hours,
        &[("eCPM".into(), ecpm, false)],
        460.0,
        220.0,
    ));
    body.push_str("</div>");

    // An item's points are at the hour ends within its flight, from the hour its flight
    // starts in.
    let items: Vec<Track<'_>> = scenario
        .adserver
        .line_items
        .iter()
        .zip(&series.items)
        .filter(|(item, points)| item.goal.is_some() && !points.is_empty())
        .map(|(item, points)| {
            let first = ((item.flight_start - scenario.start).0.max(0)
                / crate::time::SimDuration::HOUR.0) as usize;
            (
                item.name.clone(),
                item.goal.unwrap_or(1) as f64,
                points,
                first,
            )
        })
        .collect();
    if !items.is_empty() {
        body.push_str(&delivery_multiples(
            "Delivery against goal, per line item",
            "impressions, % of goal",
            &items,
        ));
    }
    if !summary.line_items.is_empty() {
        body.push_str("<h2>Line items</h2>");
        body.push_str(&table(
            &[
                "line item",
                "priority",
                "pacing",
                "goal",
                "impressions",
                "delivery",
                "pacing error",
                "revenue",
                "reach",
            ],
            &summary
                .line_items
                .iter()
                .map(|item| {
                    vec![
                        item.name.clone(),
                        item.priority.to_string(),
                        item.pacing.to_string(),
                        item.goal.map_or("–".into(), |g| g.to_string()),
                        item.impressions.to_string(),
                        item.delivery_ratio
                            .map_or("–".into(), |r| format!("{:.1}%", r * 100.0)),
                        item.pacing_error
                            .map_or("–".into(), |e| format!("{:.2}%", e * 100.0)),
                        format!("{:.2}", item.revenue),
                        item.reach.to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        ));
    }

    if !summary.bidders.is_empty() {
        let budgets: Vec<Track<'_>> = scenario
            .adserver
            .bidders
            .iter()
            .zip(&series.bidders)
            .filter(|(_, points)| !points.is_empty())
            .filter_map(|(spec, points)| {
                spec.pacing_budget(scenario.duration())
                    .map(|budget| (spec.name.clone(), budget.0 as f64, points, 0))
            })
            .collect();
        if !budgets.is_empty() {
            body.push_str(&delivery_multiples(
                "Spend against budget, per bidder",
                "spend, % of the paced budget",
                &budgets,
            ));
        }
        body.push_str("<h2>Bidders</h2>");
        body.push_str(&table(
            &[
                "bidder",
                "pacing",
                "requests",
                "bids",
                "timeouts",
                "wins",
                "spend",
                "budget used",
                "pacing error",
                "win rate",
                "p50 ms",
                "p95 ms",
                "p99 ms",
            ],
            &summary
                .bidders
                .iter()
                .map(|b| {
                    vec![
                        b.name.clone(),
                        b.pacing.to_string(),
                        b.requests.to_string(),
                        b.bids.to_string(),
                        b.timeouts.to_string(),
                        b.wins.to_string(),
                        format!("{:.2}", b.spend),
                        b.budget_used
                            .map_or("–".into(), |u| format!("{:.1}%", u * 100.0)),
                        b.pacing_error
                            .map_or("–".into(), |e| format!("{:.2}%", e * 100.0)),
                        format!("{:.1}%", b.win_rate * 100.0),
                        format!("{:.1}", b.latency_ms_p50),
                        format!("{:.1}", b.latency_ms_p95),
                        format!("{:.1}", b.latency_ms_p99),
                    ]
                })
                .collect::<Vec<_>>(),
        ));
        body.push_str("<div class=\"grid-charts\">");
        let names: Vec<String> = summary.bidders.iter().map(|b| b.name.clone()).collect();
        let latency = |f: fn(&super::BidderSummary) -> f64| -> Vec<f64> {
            summary.bidders.iter().map(f).collect()
        };
        body.push_str(&hbar_chart(
            "Bidder response latency percentiles [ms]",
            &names,
            &[
                ("p50", latency(|b| b.latency_ms_p50)),
                ("p95", latency(|b| b.latency_ms_p95)),
                ("p99", latency(|b| b.latency_ms_p99)),
            ],
        ));
        body.push_str(&price_histogram(metrics));
        body.push_str("</div>");
    }

    if let Some(allocation) = &summary.allocation {
        let _ = write!(
            body,
            "<h2>Guaranteed-delivery plan: {} on forecast {}</h2>",
            escape(allocation.plan),
            escape(&allocation.forecast)
        );
        body.push_str(&table(
            &["plan", "forecast delivery", "gap to optimum"],
            &[
                (
                    "greedy",
                    allocation.planned.greedy,
                    allocation.gap_to_optimum.greedy,
                ),
                ("hwm", allocation.planned.hwm, allocation.gap_to_optimum.hwm),
                (
                    "optimal",
                    allocation.planned.optimal,
                    allocation.gap_to_optimum.optimal,
                ),
            ]
            .iter()
            .map(|(name, planned, gap)| {
                vec![
                    name.to_string(),
                    format!("{planned:.0}"),
                    format!("{:.2}%", gap * 100.0),
                ]
            })
            .collect::<Vec<_>>(),
        ));
        let _ = write!(
            body,
            "<p>Goals {:.0}, delivered {:.0}, under-delivery {:.0}.</p>",
            allocation.goals, allocation.delivered, allocation.under_delivery
        );
    }

    page(
        &format!("adsim run: {}", scenario.name),
        &format!(
            "adsim {} · seed {} · {} → {} · {} members",
            summary.adsim_version, summary.seed, summary.start, summary.end, summary.members
        ),
        &body,
    )
}

/// The clearing-price distribution from the exchange's histogram: 30 bins up to the 99th
/// percentile, the rest in the last.
fn price_histogram(metrics: &Metrics) -> String {
    let histogram = &metrics.auction.clearing_price;
    if histogram.is_empty() {
        return String::new();
    }
    let top = histogram.value_at_quantile(0.99).max(30);
    let width = top.div_ceil(30);
    let mut bins = vec![0.0; 30];
    for value in histogram.iter_recorded() {
        let bin = ((value.value_iterated_to() / width) as usize).min(29);
        bins[bin] += value.count_at_value() as f64;
    }
    let labels: Vec<String> = (0..30)
        .map(|b| label((b as u64 * width) as f64 / 1e6))
        .collect();
    bar_chart("Clearing price distribution [CPM]", &labels, &bins, 5)
}

/// The report of a comparison: every KPI's relative difference with its paired interval.
pub fn compare_report(a: &str, b: &str, replications: usize, comparisons: &[Comparison]) -> String {
    let rows: Vec<(String, f64, f64, f64)> = KPIS
        .iter()
        .zip(comparisons)
        .filter(|(_, c)| c.a.mean != 0.0)
        .map(|(kpi, c)| {
            let scale = 100.0 / c.a.mean.abs();
            (
                kpi.name.to_string(),
                c.difference.mean * scale,
                c.difference.low * scale,
                c.difference.high * scale,
            )
        })
        .collect();
    let mut body = String::from("<h2>B − A, relative to A, with paired 95% intervals</h2>");
    body.push_str(&interval_chart(
        "Relative difference [%] (red: significant)",
        &rows,
    ));
    body.push_str("<h2>Every KPI</h2>");
    body.push_str(&table(
        &[
            "kpi",
            "A",
            "B",
            "B − A",
            "paired 95% CI",
            "significant",
            "unpaired 95% CI",
        ],
        &KPIS
            .iter()
            .zip(comparisons)
            .map(|(kpi, c)| {
                vec![
                    kpi.name.to_string(),
                    format!("{:.4}", c.a.mean),
                    format!("{:.4}", c.b.mean),
                    format!("{:.4}", c.difference.mean),
                    format!("[{:.4}, {:.4}]", c.difference.low, c.difference.high),
                    if c.significant() { "yes" } else { "" }.to_string(),
                    format!("[{:.4}, {:.4}]", c.unpaired.low, c.unpaired.high),
                ]
            })
            .collect::<Vec<_>>(),
    ));
    page(
        &format!("adsim compare: {a} vs {b}"),
        &format!(
            "adsim {} · {replications} paired replications (common random numbers)",
            env!("CARGO_PKG_VERSION")
        ),
        &body,
    )
}

/// The report of a sweep: selected KPIs' means with their intervals, point by point.
pub fn sweep_report(name: &str, paths: &[String], points: &[(String, Vec<Estimate>)]) -> String {
    let mut body = format!(
        "<p>Grid over {}; one point per combination, every point on the same seeds.</p><div class=\"grid-charts\">",
        escape(&paths.join(" × "))
    );
    for kpi_name in [
        "revenue",
        "fill_rate",
        "ecpm",
        "average_clearing_price",
        "guaranteed_delivery",
        "pacing_error",
    ] {
        let Some(k) = KPIS.iter().position(|kpi| kpi.name == kpi_name) else {
            continue;
        };
        let estimates: Vec<&Estimate> = points.iter().map(|(_, e)| &e[k]).collect();
        let high = estimates.iter().map(|e| e.high).fold(0.0f64, f64::max);
        let low = estimates.iter().map(|e| e.low).fold(0.0f64, f64::min);
        let mut frame = Frame::new(
            460.0,
            280.0,
            (-0.5, points.len() as f64 - 0.5),
            (low, high * 1.05 + f64::MIN_POSITIVE),
        );
        frame.bottom = 80.0;
        let x_labels: Vec<(f64, String)> = points
            .iter()
            .enumerate()
            .map(|(i, (label, _))| (i as f64, label.clone()))
            .collect();
        let mut svg = frame.open(&format!("{kpi_name} (mean, 95% CI)"), &x_labels);
        let mut line = Vec::new();
        for (i, e) in estimates.iter().enumerate() {
            let x = frame.px(i as f64);
            line.push(format!("{x:.1},{:.1}", frame.py(e.mean)));
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{c}" stroke-width="1.5"/><circle cx="{x:.1}" cy="{:.1}" r="3" fill="{c}"><title>{}: {} [{}, {}]</title></circle>"#,
                frame.py(e.low),
                frame.py(e.high),
                frame.py(e.mean),
                escape(&points[i].0),
                label(e.mean),
                label(e.low),
                label(e.high),
                c = PALETTE[0]
            );
        }
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="1" opacity="0.5"/></svg>"#,
            line.join(" "),
            PALETTE[0]
        );
        body.push_str(&svg);
    }
    body.push_str("</div>");
    page(
        &format!("adsim sweep: {name}"),
        &format!(
            "adsim {} · {} points",
            env!("CARGO_PKG_VERSION"),
            points.len()
        ),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 100.0), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let t = ticks(0.0, 0.37);
        assert!(
            t.len() >= 3 && t[0] == 0.0 && *t.last().unwrap() <= 0.37,
            "{t:?}"
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
