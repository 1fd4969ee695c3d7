//! Outputs of `adsim forecast`: one forecast file per method (the schema of docs/forecast.md,
//! which guaranteed-delivery planning and `adsim avails` read) and the backtest table.

use std::fmt::Write as _;

use crate::forecast::Accuracy;
use crate::forecast::job::{MethodResult, Segment};
use crate::time::{SimDuration, SimTime};

use super::csv_field;

fn keys_header(key_names: &[String]) -> String {
    key_names
        .iter()
        .map(|k| format!(",{}", csv_field(k)))
        .collect()
}

fn key_cells(key: &[String]) -> String {
    key.iter().map(|v| format!(",{}", csv_field(v))).collect()
}

/// The forecast file of one method: `PERIOD,<keys>,requests,requests_low,requests_high` and
/// `opportunities` when the inventory had them. `first` is the first forecast period's start.
pub fn forecast_csv(
    period_name: &str,
    key_names: &[String],
    segments: &[Segment],
    result: &MethodResult,
    first: SimTime,
    step: SimDuration,
) -> String {
    let with_opportunities = segments
        .iter()
        .any(|s| s.opportunities_per_request.is_some());
    let mut out = format!(
        "{period_name}{},requests,requests_low,requests_high{}\n",
        keys_header(key_names),
        if with_opportunities {
            ",opportunities"
        } else {
            ""
        }
    );
    let horizon = result
        .segments
        .iter()
        .find_map(|r| r.forecast.as_ref().ok().map(|f| f.mean.len()))
        .unwrap_or(0);
    for h in 0..horizon {
        let at = first + step * h as i64;
        for (segment, r) in segments.iter().zip(&result.segments) {
            let Ok(f) = &r.forecast else { continue };
            let _ = write!(
                out,
                "{at}{},{},{},{}",
                key_cells(&segment.key),
                f.mean[h],
                f.low[h],
                f.high[h]
            );
            if with_opportunities {
                let ratio = segment.opportunities_per_request.unwrap_or(1.0);
                let _ = write!(out, ",{}", f.mean[h] * ratio);
            }
            out.push('\n');
        }
    }
    out
}

fn metric(value: Option<f64>) -> String {
    value.map_or(String::new(), |v| format!("{v}"))
}

/// `backtest.csv`: per method and segment, then per method over all segments (`all` in every
/// key column): `method,<keys>,n,wape,mape,bias,coverage,n_zero_skipped,error`.
pub fn backtest_csv(
    key_names: &[String],
    segments: &[Segment],
    results: &[MethodResult],
) -> String {
    let mut out = format!(
        "method{},n,wape,mape,bias,coverage,n_zero_skipped,error\n",
        keys_header(key_names)
    );
    let row = |out: &mut String, method: &str, key: &str, a: Option<&Accuracy>, error: &str| {
        let (n, wape, mape, bias, coverage, skipped) = match a {
            Some(a) => (
                a.n.to_string(),
                metric(a.wape),
                metric(a.mape),
                metric(a.bias),
                metric(a.coverage),
                a.n_zero_skipped.to_string(),
            ),
            None => Default::default(),
        };
        let _ = writeln!(
            out,
            "{method}{key},{n},{wape},{mape},{bias},{coverage},{skipped},{}",
            csv_field(error)
        );
    };
    for result in results {
        for (segment, r) in segments.iter().zip(&result.segments) {
            match &r.backtest {
                Ok(acc) => row(
                    &mut out,
                    result.method.name(),
                    &key_cells(&segment.key),
                    Some(&acc.accuracy()),
                    "",
                ),
                Err(error) => row(
                    &mut out,
                    result.method.name(),
                    &key_cells(&segment.key),
                    None,
                    &error.to_string(),
                ),
            }
        }
        let all: String = key_names.iter().map(|_| ",all").collect();
        row(
            &mut out,
            result.method.name(),
            &all,
            Some(&result.pooled),
            "",
        );
    }
    out
}

fn percent(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// The pooled backtest accuracy of each method, as a table.
pub fn backtest_table(results: &[MethodResult]) -> String {
    let mut out = format!(
        "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}\n",
        "method", "WAPE", "MAPE", "bias", "coverage", "points", "segments"
    );
    for r in results {
        let ok = r.segments.iter().filter(|s| s.backtest.is_ok()).count();
        let _ = writeln!(
            out,
            "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
            r.method.name(),
            percent(r.pooled.wape),
            percent(r.pooled.mape),
            percent(r.pooled.bias),
            percent(r.pooled.coverage),
            r.pooled.n,
            format!("{ok}/{}", r.segments.len())
        );
    }
    out
}
