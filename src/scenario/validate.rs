//! Raw scenario → `Scenario`, collecting every problem.
//!
//! Sections are deserialized one by one, and arrays of tables (line items, advertisers,
//! titles) element by element, so that one mistake does not hide the next. Checks that need a
//! section which failed are skipped rather than reported twice.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::raw::{self, Fraction, Ordered};
use super::tree::{Node, Origin, Problem, Value};
use super::{SCHEMA_VERSION, Scenario};
use crate::adserver::{self, Cap, Period, Rule};
use crate::auction::AuctionKind;
use crate::bidder::{CtrTable, Distribution, ModelBidder, Shader, Strategy, ValueModel};
use crate::money::Micros;
use crate::pacing::{Dual, Gains, Kpi, KpiPid, PacingSpec, SpendPid};
use crate::planning::PlanKind;
use crate::response;
use crate::time::{SimDuration, SimTime};
use crate::traffic::{
    Categorical, Country, Dimensions, LengthModel, MAX_DIMENSIONS, PodSpec, SessionLength,
    SlateConfig, SyntheticConfig, TitleSpec, duration_mask,
};
use std::io::BufRead as _;

const TOP_LEVEL: &[&str] = &[
    "schema_version",
    "exchange",
    "bidders",
    "response",
    "allocation",
    "inventory",
    "event_log",
    "logged_traffic",
    "name",
    "seed",
    "start",
    "duration",
    "members",
    "viewing",
    "content",
    "breaks",
    "adserver",
    "advertisers",
    "line_items",
];

/// Relative session starts by local hour for a streaming service: a night trough, a lunch
/// shoulder and an evening peak around 21:00.
pub const DEFAULT_HOURLY_PROFILE: [f64; 24] = [
    0.55, 0.35, 0.22, 0.15, 0.12, 0.14, 0.25, 0.40, 0.50, 0.55, 0.60, 0.65, 0.72, 0.75, 0.78, 0.85,
    0.95, 1.10, 1.35, 1.70, 2.00, 2.05, 1.70, 1.05,
];

/// Built-in request dimensions a custom member attribute may not shadow.
const RESERVED: &[&str] = &[
    "country",
    "device",
    "age_band",
    "genre",
    "rating",
    "title",
    "break",
    "local_hour",
    "weekday",
];

struct Checker<'a> {
    root: &'a Node,
    problems: Vec<Problem>,
    /// Folder that relative data-file paths are resolved against (the scenario's folder).
    base_dir: &'a Path,
}

impl<'a> Checker<'a> {
    /// Origin of the node at `path`, or of its nearest ancestor that exists.
    fn origin(&self, path: &str) -> Origin {
        let mut path = path;
        loop {
            if let Some(node) = self.root.get(path) {
                return node.origin.clone();
            }
            match path.rfind('.') {
                Some(dot) => path = &path[..dot],
                None => return self.root.origin.clone(),
            }
        }
    }

    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            origin: self.origin(path),
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn get(&self, path: &str) -> Option<&'a Node> {
        self.root.get(path)
    }

    /// Deserializes the node at `path`; `None` (and no problem) if absent.
    fn section<T: DeserializeOwned>(&mut self, path: &str) -> Option<T> {
        let node = self.get(path)?;
        self.deserialize_reporting_all(node, path)
    }

    /// Deserializes `node`, and on failure reports every problem in it, not only the first:
    /// serde stops at the first bad field, so each entry of a failing table is tried again
    /// on its own, keeping the problems located at or below that entry.
    fn deserialize_reporting_all<T: DeserializeOwned>(
        &mut self,
        node: &Node,
        path: &str,
    ) -> Option<T> {
        let first = match node.deserialize(path) {
            Ok(value) => return Some(value),
            Err(problem) => problem,
        };
        let mut found = vec![first];
        if let Value::Table(entries) = &node.value {
            for entry in entries {
                let alone = Node {
                    value: Value::Table(vec![entry.clone()]),
                    origin: node.origin.clone(),
                };
                let entry_path = if path.is_empty() {
                    entry.key.clone()
                } else {
                    format!("{path}.{}", entry.key)
                };
                if let Err(problem) = alone.deserialize::<T>(path) {
                    let below = problem.path == entry_path
                        || problem.path.starts_with(&format!("{entry_path}."));
                    if below && !found.contains(&problem) {
                        found.push(problem);
                    }
                }
            }
        }
        self.problems.extend(found);
        None
    }

    /// Deserializes each element of the array at `path`, reporting bad elements one by one.
    fn elements<T: DeserializeOwned>(&mut self, path: &str) -> Vec<Option<T>> {
        let Some(node) = self.get(path) else {
            return Vec::new();
        };
        match &node.value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(idx, item)| {
                    let item_path = format!("{path}.{idx}");
                    self.deserialize_reporting_all(item, &item_path)
                })
                .collect(),
            _ => {
                self.problem(path, "expected an array of tables (`[[...]]`)");
                Vec::new()
            }
        }
    }

    fn required<T: DeserializeOwned>(&mut self, path: &str, what: &str) -> Option<T> {
        if self.get(path).is_none() {
            self.problem(path, format!("missing field `{path}`: expected {what}"));
            return None;
        }
        self.section(path)
    }

    fn duration(&mut self, path: &str, text: &str) -> Option<SimDuration> {
        match SimDuration::parse(text) {
            Ok(duration) => Some(duration),
            Err(message) => {
                self.problem(path, message);
                None
            }
        }
    }

    fn positive_duration(&mut self, path: &str, text: &str) -> Option<SimDuration> {
        let duration = self.duration(path, text)?;
        if duration <= SimDuration::ZERO {
            self.problem(
                path,
                format!("expected a positive duration, found \"{text}\""),
            );
            return None;
        }
        Some(duration)
    }

    fn when(&mut self, path: &str, text: &str) -> Option<SimTime> {
        match parse_utc(text) {
            Some(at) => Some(at),
            None => {
                self.problem(
                    path,
                    format!(
                        "expected a UTC date-time such as 2026-11-02T00:00:00Z, found \"{text}\""
                    ),
                );
                None
            }
        }
    }

    fn weights(&mut self, path: &str, name: &str, weights: &Ordered<f64>) -> Option<Categorical> {
        if weights.0.is_empty() {
            self.problem(path, "expected at least one value with a weight");
            return None;
        }
        if weights.0.len() > 255 {
            self.problem(
                path,
                format!(
                    "at most 255 values are supported, found {}",
                    weights.0.len()
                ),
            );
            return None;
        }
        let mut ok = true;
        for (value, weight) in &weights.0 {
            if !weight.is_finite() || *weight < 0.0 {
                self.problem(
                    &format!("{path}.{value}"),
                    format!("expected a non-negative weight, found {weight}"),
                );
                ok = false;
            }
        }
        if ok && weights.0.iter().map(|(_, w)| w).sum::<f64>() <= 0.0 {
            self.problem(path, "weights must not all be zero");
            ok = false;
        }
        ok.then(|| Categorical {
            name: name.to_string(),
            values: weights.0.iter().map(|(value, _)| value.clone()).collect(),
            weights: weights.0.iter().map(|(_, weight)| *weight).collect(),
        })
    }

    /// Reads a CSV of numbers (one per line, first column; a non-numeric first line is a
    /// header) named at `path`, relative to the scenario's folder.
    fn read_values(&mut self, path: &str, file: &str) -> Option<Vec<f64>> {
        let full = self.base_dir.join(file);
        let text = match std::fs::read_to_string(&full) {
            Ok(text) => text,
            Err(error) => {
                self.problem(path, format!("cannot read {}: {error}", full.display()));
                return None;
            }
        };
        let mut values = Vec::new();
        for (idx, line) in text.lines().enumerate() {
            let field = line.split(',').next().unwrap_or("").trim();
            if field.is_empty() {
                continue;
            }
            match field.parse::<f64>() {
                Ok(value) => values.push(value),
                Err(_) if idx == 0 => {}
                Err(_) => {
                    self.problem(
                        path,
                        format!(
                            "{}:{}: expected a number, found \"{field}\"",
                            full.display(),
                            idx + 1
                        ),
                    );
                    return None;
                }
            }
        }
        Some(values)
    }

    /// Reads a forecast file (`docs/forecast.md`) named at `path`: columns `hour`, `requests`
    /// and any dimensions by name; the dimensions in `needed` must be among them.
    fn read_forecast(
        &mut self,
        path: &str,
        file: &str,
        dims: &Dimensions,
        needed: &[usize],
    ) -> Option<Vec<adserver::ForecastRow>> {
        let full = self.base_dir.join(file);
        let shown = full.display().to_string();
        let mut reader = match csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(&full)
        {
            Ok(reader) => reader,
            Err(error) => {
                self.problem(path, format!("cannot read {shown}: {error}"));
                return None;
            }
        };
        let header = match reader.headers() {
            Ok(header) => header.clone(),
            Err(error) => {
                self.problem(path, format!("{shown}: {error}"));
                return None;
            }
        };
        let mut hour_col = None;
        let mut requests_col = None;
        let mut opportunities_col = None;
        let mut low_col = None;
        let mut high_col = None;
        let mut dim_cols = Vec::new();
        for (col, name) in header.iter().enumerate() {
            match name {
                "hour" => hour_col = Some(col),
                "requests" => requests_col = Some(col),
                "opportunities" => opportunities_col = Some(col),
                "requests_low" => low_col = Some(col),
                "requests_high" => high_col = Some(col),
                // The other measures of an adsim inventory.csv, which is a valid forecast.
                "impressions" | "unfilled" => {}
                _ => match dims.index(name) {
                    Some(dim) if dim != dims.local_hour() && dim != dims.weekday() => {
                        dim_cols.push((col, dim))
                    }
                    _ => {
                        let names: Vec<&str> = dims
                            .list
                            .iter()
                            .map(|d| d.name.as_str())
                            .filter(|n| *n != "local_hour" && *n != "weekday")
                            .collect();
                        self.problem(
                            path,
                            format!(
                                "{shown}:1: unknown column \"{name}\", expected hour, requests, opportunities, impressions, unfilled or a dimension ({})",
                                names.join(", ")
                            ),
                        );
                        return None;
                    }
                },
            }
        }
        let (Some(hour_col), Some(requests_col)) = (hour_col, requests_col) else {
            self.problem(
                path,
                format!("{shown}:1: the header needs the columns `hour` and `requests`"),
            );
            return None;
        };
        for &dim in needed {
            if !dim_cols.iter().any(|&(_, d)| d == dim) {
                self.problem(
                    path,
                    format!(
                        "{shown}:1: no column \"{}\", which the guaranteed line items' targeting needs",
                        dims.list[dim].name
                    ),
                );
                return None;
            }
        }
        let mut rows = Vec::new();
        for (idx, record) in reader.records().enumerate() {
            let line = idx + 2;
            let record = match record {
                Ok(record) => record,
                Err(error) => {
                    self.problem(path, format!("{shown}:{line}: {error}"));
                    return None;
                }
            };
            let field = |col: usize| record.get(col).unwrap_or("");
            let hour = match parse_utc(field(hour_col)) {
                Some(at) if at.0 % SimDuration::HOUR.0 == 0 => at,
                _ => {
                    self.problem(
                        path,
                        format!(
                            "{shown}:{line}: column `hour`: expected a whole UTC hour such as 2026-11-02T05:00:00Z, found \"{}\"",
                            field(hour_col)
                        ),
                    );
                    return None;
                }
            };
            let requests = match field(requests_col).parse::<f64>() {
                Ok(value) if value.is_finite() && value >= 0.0 => value,
                _ => {
                    self.problem(
                        path,
                        format!(
                            "{shown}:{line}: column `requests`: expected a non-negative number, found \"{}\"",
                            field(requests_col)
                        ),
                    );
                    return None;
                }
            };
            let opportunities = match opportunities_col.map(|col| field(col).parse::<f64>()) {
                None => None,
                Some(Ok(value)) if value.is_finite() && value >= 0.0 => Some(value),
                Some(_) => {
                    self.problem(
                        path,
                        format!(
                            "{shown}:{line}: column `opportunities`: expected a non-negative number, found \"{}\"",
                            field(opportunities_col.unwrap_or(0))
                        ),
                    );
                    return None;
                }
            };
            let mut bounds = [None, None];
            for (slot, (col, name)) in bounds
                .iter_mut()
                .zip([(low_col, "requests_low"), (high_col, "requests_high")])
            {
                if let Some(col) = col {
                    match field(col).parse::<f64>() {
                        Ok(value) if value.is_finite() && value >= 0.0 => *slot = Some(value),
                        _ => {
                            self.problem(
                                path,
                                format!(
                                    "{shown}:{line}: column `{name}`: expected a non-negative number, found \"{}\"",
                                    field(col)
                                ),
                            );
                            return None;
                        }
                    }
                }
            }
            let mut row = adserver::ForecastRow {
                hour,
                values: [0; crate::traffic::MAX_DIMENSIONS],
                known: 0,
                requests,
                opportunities,
                low: bounds[0],
                high: bounds[1],
            };
            for &(col, dim) in &dim_cols {
                let text = field(col);
                match dims.list[dim].values.iter().position(|v| v == text) {
                    Some(value) => {
                        row.values[dim] = value as u16;
                        row.known |= 1 << dim;
                    }
                    None => {
                        self.problem(
                            path,
                            format!(
                                "{shown}:{line}: column `{}`: unknown value \"{text}\", expected one of {}",
                                dims.list[dim].name,
                                quoted_list(&dims.list[dim].values)
                            ),
                        );
                        return None;
                    }
                }
            }
            rows.push(row);
        }
        Some(rows)
    }

    /// A creative length [s] at `{path}.creative_duration` (default 30 s): a multiple of 5 s
    /// that at least one enabled pod accepts.
    fn creative(
        &mut self,
        path: &str,
        text: Option<&str>,
        pods: Option<&[PodSpec]>,
    ) -> Option<u16> {
        let field = format!("{path}.creative_duration");
        let text = text.unwrap_or("30s");
        let duration = self.positive_duration(&field, text)?;
        let secs = duration.0 / SimDuration::SECOND.0;
        if duration.0 % SimDuration::SECOND.0 != 0 || secs % 5 != 0 || secs > 315 {
            self.problem(
                &field,
                format!("expected a multiple of 5s up to 315s, found \"{text}\""),
            );
            return None;
        }
        let secs = secs as u16;
        if let Some(pods) = pods
            && !pods
                .iter()
                .any(|pod| pod.allows(secs) && pod.max_duration_s >= secs)
        {
            self.problem(
                &field,
                format!("no enabled pod accepts a {text} creative, so it could never serve"),
            );
            return None;
        }
        Some(secs)
    }

    /// The pacer at `{path}.pacing`; by default `even` with a goal or budget, else `asap`.
    /// Pacers that control bids (`dual`, `kpi_pid`) are for bidders only.
    fn pacing(
        &mut self,
        path: &str,
        raw: Option<&raw::PacingSpec>,
        has_target: bool,
        bidder: bool,
    ) -> Option<PacingSpec> {
        let path = format!("{path}.pacing");
        let table = match raw {
            None if has_target => return Some(PacingSpec::Even),
            None => return Some(PacingSpec::Asap),
            Some(raw::PacingSpec::Name(name)) => raw::PacingTable {
                name: name.clone(),
                ..raw::PacingTable::default()
            },
            Some(raw::PacingSpec::Table(table)) => table.clone(),
        };
        // In a table, the name is at `.name` and parameters at `.<parameter>`.
        let at = |field: &str| match raw {
            Some(raw::PacingSpec::Table(_)) => format!("{path}.{field}"),
            _ => path.clone(),
        };
        let allowed: &[&str] = match table.name.as_str() {
            "asap" | "even" => &[],
            "throttle" => &["down", "up", "min"],
            "pid" => &["kp", "ki", "kd"],
            "dual" => &["step"],
            "kpi_pid" => &["kpi", "target", "kp", "ki", "kd"],
            other => {
                self.problem(
                    &at("name"),
                    format!(
                        "unknown pacing \"{other}\", expected one of {}",
                        quoted(PacingSpec::NAMES)
                    ),
                );
                return None;
            }
        };
        let given = [
            ("kp", table.kp.is_some()),
            ("ki", table.ki.is_some()),
            ("kd", table.kd.is_some()),
            ("step", table.step.is_some()),
            ("down", table.down.is_some()),
            ("up", table.up.is_some()),
            ("min", table.min.is_some()),
            ("kpi", table.kpi.is_some()),
            ("target", table.target.is_some()),
        ];
        let mut ok = true;
        for (name, present) in given {
            if present && !allowed.contains(&name) {
                self.problem(
                    &at(name),
                    format!("`{name}` does not apply to {} pacing", table.name),
                );
                ok = false;
            }
        }
        if !bidder && matches!(table.name.as_str(), "dual" | "kpi_pid") {
            self.problem(
                &at("name"),
                format!(
                    "{} pacing controls bids, so it is for bidders; line items sell at a fixed CPM (use asap, even, pid or throttle)",
                    table.name
                ),
            );
            return None;
        }
        // A line item without a goal may name any pacer (it then delivers like asap, as
        // documented); a bidder's budget pacer without a budget is a mistake worth reporting.
        if !has_target && bidder && matches!(table.name.as_str(), "even" | "pid" | "dual") {
            self.problem(
                &at("name"),
                format!(
                    "{} pacing needs a budget or daily_budget to pace",
                    table.name
                ),
            );
            return None;
        }
        let gains = |c: &mut Self, defaults: Gains| {
            let mut gain = |name: &str, value: Option<f64>, default: f64| {
                c.parameter(
                    &at(name),
                    value,
                    default,
                    |v| (0.0..=1e3).contains(&v),
                    "a gain from 0 to 1000",
                )
            };
            let kp = gain("kp", table.kp, defaults.kp);
            let ki = gain("ki", table.ki, defaults.ki);
            let kd = gain("kd", table.kd, defaults.kd);
            Some(Gains {
                kp: kp?,
                ki: ki?,
                kd: kd?,
            })
        };
        let spec = match table.name.as_str() {
            "asap" => Some(PacingSpec::Asap),
            "even" => Some(PacingSpec::Even),
            "throttle" => {
                let down = self.parameter(
                    &at("down"),
                    table.down,
                    0.9,
                    |v| v > 0.0 && v < 1.0,
                    "a factor in (0, 1)",
                );
                let up = self.parameter(
                    &at("up"),
                    table.up,
                    1.1,
                    |v| v > 1.0 && v <= 10.0,
                    "a factor in (1, 10]",
                );
                let min = self.parameter(
                    &at("min"),
                    table.min,
                    0.01,
                    |v| v > 0.0 && v <= 1.0,
                    "a participation in (0, 1]",
                );
                Some(PacingSpec::Throttle {
                    down: down?,
                    up: up?,
                    min: min?,
                })
            }
            "pid" => gains(self, SpendPid::DEFAULT).map(PacingSpec::Pid),
            "dual" => self
                .parameter(
                    &at("step"),
                    table.step,
                    Dual::DEFAULT_STEP,
                    |v| v > 0.0 && v <= 10.0,
                    "a step in (0, 10]",
                )
                .map(|step| PacingSpec::Dual { step }),
            "kpi_pid" => {
                let kpi = match table.kpi.as_deref() {
                    None => {
                        self.problem(
                            &path,
                            "missing field `kpi` for kpi_pid pacing (\"ecpc\" or \"cpa\")",
                        );
                        None
                    }
                    Some(name) => {
                        let kpi = Kpi::from_name(name);
                        if kpi.is_none() {
                            self.problem(
                                &at("kpi"),
                                format!(
                                    "unknown kpi \"{name}\", expected one of {}",
                                    quoted(Kpi::NAMES)
                                ),
                            );
                        }
                        kpi
                    }
                };
                let target = match table.target {
                    None => {
                        self.problem(&path, "missing field `target` for kpi_pid pacing (the reference cost per click or conversion, in currency)");
                        None
                    }
                    Some(v) if v.is_finite() && v > 0.0 && v <= 1e6 => Some(v * 1e6),
                    Some(v) => {
                        self.problem(
                            &at("target"),
                            format!("expected a positive amount of currency, found {v}"),
                        );
                        None
                    }
                };
                let gains = gains(self, KpiPid::DEFAULT);
                Some(PacingSpec::KpiPid {
                    kpi: kpi?,
                    target: target?,
                    gains: gains?,
                })
            }
            _ => unreachable!("names checked above"),
        };
        if ok { spec } else { None }
    }

    /// The settings shared by every log reader under `table`: what to do with malformed rows
    /// (`fail` by default), the time scale (positive, default 1) and the share of rows kept
    /// (above 0, default 1). Every bad one is reported.
    fn log_reading(
        &mut self,
        table: &str,
        malformed: Option<&str>,
        time_scale: Option<f64>,
        sample: Option<Fraction>,
    ) -> Option<(crate::replay::Malformed, f64, f64)> {
        use crate::replay::Malformed;
        let malformed = match malformed {
            None | Some("fail") => Some(Malformed::Fail),
            Some("skip") => Some(Malformed::Skip),
            Some(other) => {
                self.problem(
                    &format!("{table}.malformed"),
                    format!("unknown setting \"{other}\", expected `fail` or `skip`"),
                );
                None
            }
        };
        let time_scale = time_scale.unwrap_or(1.0);
        let scale_ok = time_scale.is_finite() && time_scale > 0.0;
        if !scale_ok {
            self.problem(
                &format!("{table}.time_scale"),
                format!("expected a positive factor, found {time_scale}"),
            );
        }
        let sample = match sample {
            Some(fraction) => self.fraction(&format!("{table}.sample"), fraction),
            None => Some(1.0),
        };
        if sample == Some(0.0) {
            self.problem(&format!("{table}.sample"), "expected a share above 0");
        }
        match (malformed, scale_ok, sample) {
            (Some(malformed), true, Some(sample)) if sample > 0.0 => {
                Some((malformed, time_scale, sample))
            }
            _ => None,
        }
    }

    /// An optional numeric parameter at `path`: `default` when absent, reported unless finite
    /// and `ok`.
    fn parameter(
        &mut self,
        path: &str,
        value: Option<f64>,
        default: f64,
        ok: fn(f64) -> bool,
        expected: &str,
    ) -> Option<f64> {
        match value {
            None => Some(default),
            Some(v) if v.is_finite() && ok(v) => Some(v),
            Some(v) => {
                self.problem(path, format!("expected {expected}, found {v}"));
                None
            }
        }
    }

    /// Reports `{path}.name` if `name` is among the `earlier` names.
    fn unique<'n>(
        &mut self,
        path: &str,
        what: &str,
        name: &str,
        mut earlier: impl Iterator<Item = &'n str>,
    ) {
        if earlier.any(|other| other == name) {
            self.problem(
                &format!("{path}.name"),
                format!("duplicate {what} \"{name}\""),
            );
        }
    }

    fn fraction(&mut self, path: &str, fraction: Fraction) -> Option<f64> {
        if !(0.0..=1.0).contains(&fraction.0) {
            self.problem(
                path,
                format!(
                    "expected a fraction between 0 and 1 (or 0%–100%), found {}",
                    fraction.0
                ),
            );
            return None;
        }
        Some(fraction.0)
    }

    fn caps(&mut self, path: &str, caps: &[raw::Cap]) -> Vec<Cap> {
        let mut out = Vec::new();
        for (idx, cap) in caps.iter().enumerate() {
            let cap_path = format!("{path}.{idx}");
            let period = match cap.per.as_str() {
                "hour" => Some(Period::Hour),
                "day" => Some(Period::Day),
                "week" => Some(Period::Week),
                "flight" => Some(Period::Flight),
                other => {
                    self.problem(
                        &format!("{cap_path}.per"),
                        format!("expected one of \"hour\", \"day\", \"week\", \"flight\", found \"{other}\""),
                    );
                    None
                }
            };
            if cap.max < 1 || cap.max > i64::from(u16::MAX) {
                self.problem(
                    &format!("{cap_path}.max"),
                    format!("expected a whole number from 1 to 65535, found {}", cap.max),
                );
                continue;
            }
            if let Some(period) = period {
                out.push(Cap {
                    max: cap.max as u16,
                    period,
                });
            }
        }
        out
    }
}

/// Builds the scenario from a parsed (and overridden) document.
pub fn scenario(root: &Node, base_dir: &Path) -> Result<Scenario, Vec<Problem>> {
    let mut c = Checker {
        root,
        problems: Vec::new(),
        base_dir,
    };
    match &root.value {
        Value::Table(entries) => {
            for entry in entries {
                if !TOP_LEVEL.contains(&entry.key.as_str()) {
                    c.problems.push(Problem {
                        origin: entry.key_origin.clone(),
                        path: entry.key.clone(),
                        message: format!(
                            "unknown field `{}`, expected one of {}",
                            entry.key,
                            quoted(TOP_LEVEL)
                        ),
                    });
                }
            }
        }
        _ => c.problem("", "expected a table"),
    }

    let schema_version: Option<i64> =
        c.required("schema_version", "the scenario schema version (1)");
    if let Some(version) = schema_version
        && version != SCHEMA_VERSION
    {
        c.problem(
            "schema_version",
            format!("this adsim reads schema_version {SCHEMA_VERSION}, found {version}"),
        );
    }
    let name: Option<String> = c.required("name", "a scenario name");
    if let Some(name) = &name
        && (name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.'))
    {
        c.problem(
            "name",
            format!("expected a non-empty name usable as a folder name, found \"{name}\""),
        );
    }
    let seed = match c.section::<i64>("seed") {
        Some(seed) if seed < 0 => {
            c.problem(
                "seed",
                format!("expected a non-negative whole number, found {seed}"),
            );
            1
        }
        Some(seed) => seed as u64,
        None => 1,
    };
    let start = c
        .required::<raw::When>("start", "a UTC date-time such as 2026-11-02T00:00:00Z")
        .and_then(|when| {
            let at = c.when("start", &when.0)?;
            // Hourly outputs are clock hours: the run starts on one.
            if at.0 % SimDuration::HOUR.0 != 0 {
                c.problem(
                    "start",
                    "expected a start on a whole hour, such as 2026-11-02T00:00:00Z",
                );
                return None;
            }
            Some(at)
        });
    let duration = c
        .required::<String>("duration", "a duration such as \"1d\"")
        .and_then(|text| c.positive_duration("duration", &text))
        .and_then(|duration| {
            if duration.0 % SimDuration::MINUTE.0 != 0 || duration > SimDuration::WEEK * 52 {
                c.problem("duration", "expected whole minutes, at most 52 weeks");
                return None;
            }
            Some(duration)
        });

    let traffic = traffic(&mut c, start, duration);
    let dims = traffic.as_ref().map(SyntheticConfig::dimensions);
    let pods: Option<Vec<PodSpec>> = traffic
        .as_ref()
        .map(|t| t.pre_roll.iter().chain(&t.mid_roll).copied().collect());
    let adserver = adserver(&mut c, dims.as_ref(), pods.as_deref(), start, duration);
    let inventory = dims
        .as_ref()
        .and_then(|dims| inventory(&mut c, dims, start.zip(duration)));
    let logged_traffic = dims.as_ref().and_then(|dims| logged_traffic(&mut c, dims));

    match (
        name,
        start,
        duration,
        traffic,
        dims,
        adserver,
        inventory,
        logged_traffic,
    ) {
        (
            Some(name),
            Some(start),
            Some(duration),
            Some(traffic),
            Some(dims),
            Some(adserver),
            Some(inventory),
            Some(logged_traffic),
        ) if c.problems.is_empty() => Ok(Scenario {
            name,
            seed,
            start,
            end: start + duration,
            traffic,
            adserver,
            dims,
            inventory,
            logged_traffic,
        }),
        _ => {
            if c.problems.is_empty() {
                c.problem("", "the scenario is incomplete");
            }
            c.problems.sort_by_key(|p| match &p.origin {
                Origin::File { line, column } => (0, *line, *column),
                Origin::Override { index, .. } => (1, *index, 0),
            });
            Err(c.problems)
        }
    }
}

/// The `[logged_traffic]` table: `Some(None)` when absent. The whole file is checked here (one
/// streaming pass), so the run never meets a malformed row it was not told to skip.
fn logged_traffic(
    c: &mut Checker<'_>,
    dims: &Dimensions,
) -> Option<Option<crate::traffic::logged::LoggedConfig>> {
    use crate::traffic::logged;
    if c.get("logged_traffic").is_none() {
        return Some(None);
    }
    let raw: raw::LoggedTraffic = c.section("logged_traffic")?;
    let path = c.base_dir.join(&raw.file);
    let shown = path.display().to_string();
    let (malformed, time_scale, sample) = c.log_reading(
        "logged_traffic",
        raw.malformed.as_deref(),
        raw.time_scale,
        raw.sample,
    )?;
    let skip_bad = malformed == crate::replay::Malformed::Skip;
    let mut lines = match logged::open(&path) {
        Ok(lines) => lines,
        Err(error) => {
            c.problem(
                "logged_traffic.file",
                format!("cannot read {shown}: {error}"),
            );
            return None;
        }
    };
    let mut text = String::new();
    if lines.read_line(&mut text).unwrap_or(0) == 0 {
        c.problem(
            "logged_traffic.file",
            format!("{shown}: empty, expected a header line"),
        );
        return None;
    }
    let header: Vec<String> = text
        .trim_end_matches(['\n', '\r'])
        .split(',')
        .map(|h| h.trim().to_string())
        .collect();
    let column = |c: &mut Checker<'_>, field: &str, name: &str| -> Option<usize> {
        let found = header.iter().position(|h| h == name);
        if found.is_none() {
            c.problem(
                &format!("logged_traffic.{field}"),
                format!(
                    "{shown}:1: no column \"{name}\" (header: {})",
                    header.join(",")
                ),
            );
        }
        found
    };
    let timestamp = column(
        c,
        "timestamp",
        raw.timestamp.as_deref().unwrap_or("timestamp"),
    )?;
    let member = match &raw.member {
        Some(name) => Some(column(c, "member", name)?),
        None => None,
    };
    let floor = match &raw.floor {
        Some(name) => Some(column(c, "floor", name)?),
        None => None,
    };
    let attributes: Vec<(usize, usize)> = header
        .iter()
        .enumerate()
        .filter_map(|(col, name)| {
            let dim = dims.index(name)?;
            (dim != dims.local_hour() && dim != dims.weekday()).then_some((col, dim))
        })
        .collect();
    let mut config = logged::LoggedConfig {
        file: path.clone(),
        time_scale,
        sample,
        timestamp,
        member,
        floor,
        attributes,
        skip: Default::default(),
        first: SimTime(0),
    };
    let mut first = None;
    let mut line = 1;
    loop {
        text.clear();
        match lines.read_line(&mut text) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) => {
                c.problem(
                    "logged_traffic.file",
                    format!("{shown}:{}: cannot read: {error}", line + 1),
                );
                return None;
            }
        }
        line += 1;
        let row = text.trim_end_matches(['\n', '\r']);
        if row.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').collect();
        match logged::check_row(&config, dims, &header, &fields) {
            Ok(()) => {
                let at = logged::parse_time(fields[timestamp]).unwrap_or(SimTime(0));
                match first {
                    None => first = Some(at),
                    Some(first) if at < first => {
                        let problem = format!(
                            "{shown}:{line}: column `{}`: {} is earlier than the first row: rows must be in time order",
                            header[timestamp], fields[timestamp]
                        );
                        if skip_bad {
                            config.skip.insert(line);
                        } else {
                            c.problem("logged_traffic.file", problem);
                            return None;
                        }
                    }
                    Some(_) => {}
                }
            }
            Err((column, message)) => {
                if skip_bad {
                    config.skip.insert(line);
                } else {
                    let column = if column.is_empty() {
                        String::new()
                    } else {
                        format!(" column `{column}`:")
                    };
                    c.problem(
                        "logged_traffic.file",
                        format!("{shown}:{line}:{column} {message} (set logged_traffic.malformed = \"skip\" to skip such rows)"),
                    );
                    return None;
                }
            }
        }
    }
    config.first = first.unwrap_or(SimTime(0));
    Some(Some(config))
}

/// Most inventory cells a run may keep (periods × segments), about 240 MB of counters.
const MAX_INVENTORY_CELLS: usize = 20_000_000;

/// The `[inventory]` table: segment keys (default country, device, genre) and grain.
fn inventory(
    c: &mut Checker<'_>,
    dims: &Dimensions,
    run: Option<(SimTime, SimDuration)>,
) -> Option<crate::scenario::InventorySpec> {
    let present = c.get("inventory").is_some();
    let raw: raw::Inventory = match c.section("inventory") {
        Some(raw) => raw,
        None if present => return None,
        None => raw::Inventory::default(),
    };
    let names = raw
        .keys
        .unwrap_or_else(|| vec!["country".into(), "device".into(), "genre".into()]);
    let mut keys = Vec::new();
    for (idx, name) in names.iter().enumerate() {
        match dims.index(name) {
            Some(dim) if !keys.contains(&dim) => keys.push(dim),
            Some(_) => c.problem(
                &format!("inventory.keys.{idx}"),
                format!("\"{name}\" is listed twice"),
            ),
            None => {
                let known: Vec<&str> = dims.list.iter().map(|d| d.name.as_str()).collect();
                c.problem(
                    &format!("inventory.keys.{idx}"),
                    format!(
                        "unknown attribute \"{name}\", expected one of {}",
                        quoted(&known)
                    ),
                );
            }
        }
    }
    let period = match raw.grain.as_deref() {
        None | Some("hour") => Some(SimDuration::HOUR),
        Some("day") => Some(SimDuration::DAY),
        Some(other) => {
            c.problem(
                "inventory.grain",
                format!("unknown grain \"{other}\", expected `hour` or `day`"),
            );
            None
        }
    };
    if keys.len() != names.len() {
        return None;
    }
    let period = period?;
    if let Some((start, duration)) = run {
        let layout =
            crate::metrics::InventoryLayout::new(&keys, period, start, start + duration, dims);
        let cells = layout.n_periods.saturating_mul(layout.cells_per_period);
        if cells > MAX_INVENTORY_CELLS {
            c.problem(
                "inventory.keys",
                format!(
                    "{} periods × {} segments = {cells} inventory cells, more than the {MAX_INVENTORY_CELLS} a run keeps; use fewer or coarser keys, grain = \"day\", or a shorter run",
                    layout.n_periods, layout.cells_per_period
                ),
            );
            return None;
        }
    }
    Some(crate::scenario::InventorySpec {
        keys,
        period,
        parquet: raw.parquet.unwrap_or(false),
    })
}

fn traffic(
    c: &mut Checker<'_>,
    start: Option<SimTime>,
    duration: Option<SimDuration>,
) -> Option<SyntheticConfig> {
    let members: Option<raw::Members> =
        c.required("members", "a [members] table with at least `count`");
    let viewing: Option<raw::Viewing> = c.section("viewing");
    let content: Option<raw::Content> = c.section("content");
    let breaks: Option<raw::Breaks> = c.section("breaks");
    let viewing_ok = c.get("viewing").is_none() || viewing.is_some();
    let content_ok = c.get("content").is_none() || content.is_some();
    let breaks_ok = c.get("breaks").is_none() || breaks.is_some();

    // Members. When the section is broken, its defaults stand in so that the other sections
    // are still checked; the scenario is rejected anyway.
    let members_ok = members.is_some();
    let members = members.unwrap_or(raw::Members {
        count: 1,
        countries: None,
        device: None,
        age_band: None,
        attributes: None,
    });
    let count = if members.count < 1 || members.count > u64::from(u32::MAX >> 1) {
        c.problem(
            "members.count",
            format!(
                "expected between 1 and {} members, found {}",
                u32::MAX >> 1,
                members.count
            ),
        );
        None
    } else {
        Some(members.count as u32)
    };
    let raw_countries = members.countries.clone().unwrap_or_else(|| {
        vec![raw::Country {
            name: "US".into(),
            share: Fraction(1.0),
            utc_offset: "-05:00".into(),
        }]
    });
    let mut countries = Vec::new();
    if raw_countries.is_empty() || raw_countries.len() > 255 {
        c.problem("members.countries", "expected between 1 and 255 countries");
    }
    for (idx, country) in raw_countries.iter().enumerate() {
        let path = format!("members.countries.{idx}");
        c.unique(
            &path,
            "country",
            &country.name,
            raw_countries[..idx].iter().map(|o| o.name.as_str()),
        );
        let share = c.fraction(&format!("{path}.share"), country.share);
        let offset = parse_offset(&country.utc_offset);
        if offset.is_none() {
            c.problem(
                &format!("{path}.utc_offset"),
                format!(
                    "expected a UTC offset such as \"-05:00\" or \"+05:30\" (a multiple of 15 minutes, within ±14:00), found \"{}\"",
                    country.utc_offset
                ),
            );
        }
        if let (Some(share), Some(offset)) = (share, offset) {
            countries.push(Country {
                name: country.name.clone(),
                share,
                utc_offset_minutes: offset,
            });
        }
    }
    let share_sum: f64 = countries.iter().map(|c| c.share).sum();
    if !countries.is_empty()
        && countries.len() == raw_countries.len()
        && (share_sum - 1.0).abs() > 0.005
    {
        c.problem(
            "members.countries",
            format!("country shares must add up to 1 (100%), found {share_sum:.4}"),
        );
    }
    let device = members.device.clone().unwrap_or_else(|| {
        Ordered(vec![
            ("tv".into(), 0.5),
            ("mobile".into(), 0.25),
            ("web".into(), 0.15),
            ("tablet".into(), 0.1),
        ])
    });
    let age = members.age_band.clone().unwrap_or_else(|| {
        Ordered(vec![
            ("18-24".into(), 0.15),
            ("25-34".into(), 0.25),
            ("35-44".into(), 0.22),
            ("45-54".into(), 0.18),
            ("55+".into(), 0.20),
        ])
    });
    let mut attributes = vec![
        c.weights("members.device", "device", &device),
        c.weights("members.age_band", "age_band", &age),
    ];
    if let Some(custom) = &members.attributes {
        let room = MAX_DIMENSIONS - RESERVED.len();
        if custom.0.len() > room {
            c.problem(
                "members.attributes",
                format!("at most {room} custom attributes are supported"),
            );
        }
        for (name, weights) in custom.0.iter().take(room) {
            let path = format!("members.attributes.{name}");
            if RESERVED.contains(&name.as_str()) {
                c.problem(
                    &path,
                    format!("`{name}` is a built-in attribute; choose another name"),
                );
                continue;
            }
            attributes.push(c.weights(&path, name, weights));
        }
    }

    // Viewing.
    let viewing = viewing.unwrap_or(raw::Viewing {
        sessions_per_member_per_day: None,
        hourly_profile: None,
        weekday_multipliers: None,
        session_length: None,
    });
    let sessions_per_day = viewing.sessions_per_member_per_day.unwrap_or(1.0);
    if !(sessions_per_day.is_finite() && sessions_per_day > 0.0 && sessions_per_day <= 100.0) {
        c.problem(
            "viewing.sessions_per_member_per_day",
            format!("expected a rate above 0 and at most 100, found {sessions_per_day}"),
        );
    }
    let hourly = viewing
        .hourly_profile
        .clone()
        .unwrap_or(DEFAULT_HOURLY_PROFILE.to_vec());
    let hourly_profile = profile(c, "viewing.hourly_profile", &hourly, 24);
    let weekday = viewing.weekday_multipliers.clone().unwrap_or(vec![1.0; 7]);
    let weekday_multipliers =
        profile(c, "viewing.weekday_multipliers", &weekday, 7).map(|_| weekday.clone());
    let session_length = session_length(c, viewing.session_length.as_ref());

    // Content.
    let content = content.unwrap_or(raw::Content {
        catalogue_titles: None,
        zipf_exponent: None,
        genres: None,
        ratings: None,
        _titles: None,
    });
    let genres = content.genres.clone().unwrap_or_else(|| {
        Ordered(
            [
                ("drama", 0.28),
                ("comedy", 0.22),
                ("action", 0.16),
                ("documentary", 0.1),
                ("reality", 0.12),
                ("kids", 0.12),
            ]
            .map(|(name, weight)| (name.to_string(), weight))
            .to_vec(),
        )
    });
    let ratings = content.ratings.clone().unwrap_or_else(|| {
        Ordered(
            [
                ("TV-Y", 0.1),
                ("TV-PG", 0.3),
                ("TV-14", 0.35),
                ("TV-MA", 0.25),
            ]
            .map(|(name, weight)| (name.to_string(), weight))
            .to_vec(),
        )
    });
    let genres = c.weights("content.genres", "genre", &genres);
    let ratings = c.weights("content.ratings", "rating", &ratings);
    let catalogue = content.catalogue_titles.unwrap_or(100);
    let zipf_exponent = content.zipf_exponent.unwrap_or(1.0);
    if !(zipf_exponent.is_finite() && (0.0..=5.0).contains(&zipf_exponent)) {
        c.problem(
            "content.zipf_exponent",
            format!("expected an exponent between 0 and 5, found {zipf_exponent}"),
        );
    }
    let mut titles = Vec::new();
    let raw_titles: Vec<Option<raw::Title>> = c.elements("content.titles");
    for (idx, title) in raw_titles.iter().enumerate() {
        let Some(title) = title else { continue };
        let path = format!("content.titles.{idx}");
        c.unique(
            &path,
            "title",
            &title.name,
            raw_titles[..idx].iter().flatten().map(|o| o.name.as_str()),
        );
        let share = c.fraction(&format!("{path}.share"), title.share);
        let genre = title
            .genre
            .as_ref()
            .map(|name| lookup(c, &format!("{path}.genre"), name, genres.as_ref()));
        let rating = title
            .rating
            .as_ref()
            .map(|name| lookup(c, &format!("{path}.rating"), name, ratings.as_ref()));
        let launch = title
            .launch
            .as_ref()
            .map(|when| c.when(&format!("{path}.launch"), &when.0));
        let spike = title.spike.unwrap_or(0.0);
        if !(spike.is_finite() && spike >= 0.0) {
            c.problem(
                &format!("{path}.spike"),
                format!("expected a non-negative multiple, found {spike}"),
            );
        }
        let half_life = match &title.spike_half_life {
            Some(text) => c.positive_duration(&format!("{path}.spike_half_life"), text),
            None => Some(SimDuration::DAY),
        };
        if let (Some(share), Some(half_life)) = (share, half_life) {
            titles.push(TitleSpec {
                name: title.name.clone(),
                genre: genre.flatten(),
                rating: rating.flatten(),
                share,
                launch: launch.flatten(),
                spike,
                spike_half_life: half_life,
            });
        }
    }
    let explicit_share: f64 = titles.iter().map(|t| t.share).sum();
    if explicit_share > 1.0 + 1e-9 {
        c.problem(
            "content.titles",
            format!("explicit title shares add up to {explicit_share}, more than 1"),
        );
    }
    let width = catalogue.to_string().len().max(3);
    for (idx, title) in titles.iter().enumerate() {
        let generated = title
            .name
            .strip_prefix("title-")
            .and_then(|rank| rank.parse::<u32>().ok())
            .is_some_and(|rank| {
                (1..=catalogue).contains(&rank) && title.name == format!("title-{rank:0width$}")
            });
        if generated {
            c.problem(
                &format!("content.titles.{idx}.name"),
                format!(
                    "\"{}\" is the name of a generated catalogue title; choose another",
                    title.name
                ),
            );
        }
    }
    let watchable_at_start = (catalogue > 0 && explicit_share < 1.0)
        || titles
            .iter()
            .any(|t| t.share > 0.0 && t.launch.is_none_or(|launch| Some(launch) <= start));
    if titles.len() == raw_titles.len() && start.is_some() && !watchable_at_start {
        c.problem(
            "content",
            "no title is watchable when the run starts: add catalogue titles or a title launched by then",
        );
    }
    if catalogue as usize + raw_titles.len() > usize::from(u16::MAX) {
        c.problem(
            "content.catalogue_titles",
            format!("at most {} titles are supported", u16::MAX),
        );
    }

    // Breaks.
    let breaks = breaks.unwrap_or(raw::Breaks {
        pre_roll: None,
        mid_roll: None,
        mid_roll_interval: None,
    });
    let pre_roll = pod(c, "breaks.pre_roll", breaks.pre_roll.as_ref(), 2, "30s");
    let mid_roll = pod(c, "breaks.mid_roll", breaks.mid_roll.as_ref(), 4, "90s");
    let interval = match &breaks.mid_roll_interval {
        Some(text) => c.positive_duration("breaks.mid_roll_interval", text),
        None => Some(SimDuration::from_minutes(15)),
    }
    .and_then(|interval| {
        if interval.0 % SimDuration::MINUTE.0 != 0 {
            c.problem(
                "breaks.mid_roll_interval",
                "expected whole minutes, such as \"15m\"",
            );
            return None;
        }
        Some(interval)
    });

    let attributes: Option<Vec<Categorical>> = attributes.into_iter().collect();
    let (pre_roll, mid_roll) = (pre_roll?, mid_roll?);
    if pre_roll.is_none() && mid_roll.is_none() {
        c.problem(
            "breaks",
            "both break kinds are disabled: there would be no ad requests",
        );
    }
    if !(members_ok && viewing_ok && content_ok && breaks_ok) {
        return None;
    }
    Some(SyntheticConfig {
        start: start?,
        end: start? + duration?,
        members: count?,
        countries: (countries.len() == raw_countries.len()).then_some(countries)?,
        attributes: attributes?,
        sessions_per_day,
        hourly_profile: hourly_profile?.try_into().ok()?,
        weekday_multipliers: weekday_multipliers?.try_into().ok()?,
        session_length: session_length?,
        slate: SlateConfig {
            genres: genres?,
            ratings: ratings?,
            generated: catalogue,
            zipf_exponent,
            titles: (titles.len() == raw_titles.len()).then_some(titles)?,
        },
        pre_roll,
        mid_roll,
        mid_roll_interval: interval?,
    })
}

/// A profile of `len` non-negative numbers with a positive sum, scaled to mean 1.
fn profile(c: &mut Checker<'_>, path: &str, values: &[f64], len: usize) -> Option<Vec<f64>> {
    if values.len() != len {
        c.problem(
            path,
            format!("expected {len} numbers, found {}", values.len()),
        );
        return None;
    }
    if let Some(idx) = values.iter().position(|v| !v.is_finite() || *v < 0.0) {
        c.problem(
            &format!("{path}.{idx}"),
            format!("expected a non-negative number, found {}", values[idx]),
        );
        return None;
    }
    let mean = values.iter().sum::<f64>() / len as f64;
    if mean <= 0.0 {
        c.problem(path, "expected at least one positive value");
        return None;
    }
    if len == 24 {
        Some(values.iter().map(|v| v / mean).collect())
    } else {
        Some(values.to_vec())
    }
}

fn session_length(c: &mut Checker<'_>, raw: Option<&raw::SessionLength>) -> Option<LengthModel> {
    let path = "viewing.session_length";
    let (distribution, max) = match raw {
        None => {
            return Some(LengthModel {
                distribution: SessionLength::LogNormal {
                    median_s: 35.0 * 60.0,
                    sigma: 0.9,
                },
                max: SimDuration::HOUR * 4,
            });
        }
        Some(raw::SessionLength::Lognormal { median, sigma, max }) => {
            let median = c.positive_duration(&format!("{path}.median"), median);
            if !(sigma.is_finite() && *sigma > 0.0 && *sigma <= 5.0) {
                c.problem(
                    &format!("{path}.sigma"),
                    format!("expected a log-scale deviation above 0 and at most 5, found {sigma}"),
                );
                return None;
            }
            (
                SessionLength::LogNormal {
                    median_s: median?.as_secs_f64(),
                    sigma: *sigma,
                },
                max,
            )
        }
        Some(raw::SessionLength::Exponential { mean, max }) => {
            let mean = c.positive_duration(&format!("{path}.mean"), mean);
            (
                SessionLength::Exponential {
                    mean_s: mean?.as_secs_f64(),
                },
                max,
            )
        }
    };
    let max = match max {
        Some(text) => c.positive_duration(&format!("{path}.max"), text)?,
        None => SimDuration::HOUR * 4,
    };
    Some(LengthModel { distribution, max })
}

/// A pod spec; `Some(None)` when the break kind is disabled. Missing fields take the break
/// kind's defaults (`default_slots`, `default_duration`, 15 s and 30 s slots).
fn pod(
    c: &mut Checker<'_>,
    path: &str,
    raw: Option<&raw::Pod>,
    default_slots: i64,
    default_duration: &str,
) -> Option<Option<PodSpec>> {
    let default_durations = vec!["15s".to_string(), "30s".to_string()];
    let raw = raw.cloned().unwrap_or_default();
    if raw.enabled == Some(false) {
        return Some(None);
    }
    let mut ok = true;
    let max_slots = raw.max_slots.unwrap_or(default_slots);
    if !(1..=16).contains(&max_slots) {
        c.problem(
            &format!("{path}.max_slots"),
            format!("expected 1 to 16 slots, found {max_slots}"),
        );
        ok = false;
    }
    let duration_text = raw.max_duration.as_deref().unwrap_or(default_duration);
    let max_duration = c.positive_duration(&format!("{path}.max_duration"), duration_text);
    if let Some(duration) = max_duration
        && (duration.0 % SimDuration::SECOND.0 != 0 || duration > SimDuration::from_secs(600))
    {
        c.problem(
            &format!("{path}.max_duration"),
            "expected whole seconds, at most 10 minutes",
        );
        ok = false;
    }
    let slot_texts = raw.slot_durations.as_ref().unwrap_or(&default_durations);
    let mut durations = Vec::new();
    for (idx, text) in slot_texts.iter().enumerate() {
        durations.push(c.positive_duration(&format!("{path}.slot_durations.{idx}"), text));
    }
    let durations: Option<Vec<SimDuration>> = durations.into_iter().collect();
    let mask = durations.as_deref().and_then(|list| {
        let mask = duration_mask(list).filter(|_| !list.is_empty());
        if mask.is_none() {
            c.problem(
                &format!("{path}.slot_durations"),
                "expected at least one slot duration, each a multiple of 5s up to 315s",
            );
        }
        mask
    });
    let (Some(max_duration), Some(mask)) = (max_duration, mask) else {
        return None;
    };
    let shortest = SimDuration::from_secs(i64::from(mask.trailing_zeros()) * 5);
    if shortest > max_duration {
        c.problem(
            &format!("{path}.max_duration"),
            format!("the pod ({max_duration}) is shorter than its shortest slot ({shortest})"),
        );
        ok = false;
    }
    ok.then_some(Some(PodSpec {
        max_slots: max_slots as u8,
        max_duration_s: (max_duration.0 / SimDuration::SECOND.0) as u16,
        allowed_durations: mask,
    }))
}

fn adserver(
    c: &mut Checker<'_>,
    dims: Option<&Dimensions>,
    pods: Option<&[PodSpec]>,
    start: Option<SimTime>,
    duration: Option<SimDuration>,
) -> Option<adserver::Config> {
    let settings: Option<raw::AdServer> = c.section("adserver");
    let settings_ok = c.get("adserver").is_none() || settings.is_some();
    let pacing_interval = match settings.as_ref().and_then(|s| s.pacing_interval.clone()) {
        Some(text) => c
            .positive_duration("adserver.pacing_interval", &text)
            .and_then(|interval| {
                if interval < SimDuration::SECOND || interval > SimDuration::DAY {
                    c.problem("adserver.pacing_interval", "expected between 1s and 1d");
                    return None;
                }
                Some(interval)
            }),
        None => Some(SimDuration::MINUTE),
    };

    let raw_advertisers: Vec<Option<raw::Advertiser>> = c.elements("advertisers");
    let mut advertisers = Vec::new();
    for (idx, advertiser) in raw_advertisers.iter().enumerate() {
        let Some(advertiser) = advertiser else {
            continue;
        };
        let path = format!("advertisers.{idx}");
        c.unique(
            &path,
            "advertiser",
            &advertiser.name,
            advertisers
                .iter()
                .map(|a: &adserver::Advertiser| a.name.as_str()),
        );
        let caps = c.caps(
            &format!("{path}.frequency_caps"),
            &advertiser.frequency_caps,
        );
        advertisers.push(adserver::Advertiser {
            name: advertiser.name.clone(),
            caps,
        });
    }

    let raw_items: Vec<Option<raw::LineItem>> = c.elements("line_items");
    let mut categories: Vec<String> = Vec::new();
    let mut items = Vec::new();
    for (idx, item) in raw_items.iter().enumerate() {
        let Some(item) = item else { continue };
        let path = format!("line_items.{idx}");
        c.unique(
            &path,
            "line item",
            &item.name,
            raw_items[..idx].iter().flatten().map(|o| o.name.as_str()),
        );
        let advertiser = advertiser_index(&mut advertisers, &item.advertiser);
        let priority = match &item.priority {
            raw::Priority::Number(n) if (1..=16).contains(n) => Some(*n as u8),
            raw::Priority::Name(name) => match name.as_str() {
                "sponsorship" => Some(4),
                "standard" => Some(8),
                "price_priority" => Some(12),
                "house" => Some(16),
                _ => None,
            },
            raw::Priority::Number(_) => None,
        };
        if priority.is_none() {
            c.problem(
                &format!("{path}.priority"),
                "expected a tier (\"sponsorship\", \"standard\", \"price_priority\", \"house\") or a number from 1 (highest) to 16",
            );
        }
        let cpm = if item.cpm.is_finite() && item.cpm >= 0.0 && item.cpm <= 1e6 {
            Micros::from_units(item.cpm)
        } else {
            c.problem(
                &format!("{path}.cpm"),
                format!("expected a CPM between 0 and 1000000, found {}", item.cpm),
            );
            None
        };
        let goal = match item.goal {
            Some(goal) if goal < 1 => {
                c.problem(
                    &format!("{path}.goal"),
                    format!("expected a positive number of impressions, found {goal}"),
                );
                None
            }
            Some(goal) => Some(Some(goal as u64)),
            None => Some(None),
        };
        let flight_start = match &item.flight_start {
            Some(when) => c.when(&format!("{path}.flight_start"), &when.0),
            None => start,
        };
        let flight_end = match &item.flight_end {
            Some(when) => c.when(&format!("{path}.flight_end"), &when.0),
            None => start
                .zip(duration)
                .map(|(start, duration)| start + duration),
        };
        if let (Some(begin), Some(end)) = (flight_start, flight_end)
            && end <= begin
        {
            c.problem(
                &format!("{path}.flight_end"),
                format!("the flight must end after it starts ({begin})"),
            );
        }
        let targeting = dims.map(|dims| {
            targeting(
                c,
                &format!("{path}.targeting"),
                item.targeting.as_ref(),
                dims,
                false,
            )
        });
        let caps = c.caps(&format!("{path}.frequency_caps"), &item.frequency_caps);
        let category = item
            .category
            .as_ref()
            .map(|name| category_index(&mut categories, name));
        let creative_duration = c.creative(&path, item.creative_duration.as_deref(), pods);
        let pacing = c.pacing(&path, item.pacing.as_ref(), item.goal.is_some(), false);
        if let (
            Some(priority),
            Some(cpm),
            Some(goal),
            Some(flight_start),
            Some(flight_end),
            Some(Some(targeting)),
            Some(creative_duration_s),
            Some(pacing),
        ) = (
            priority,
            cpm,
            goal,
            flight_start,
            flight_end,
            targeting,
            creative_duration,
            pacing,
        ) {
            items.push(adserver::LineItem {
                name: item.name.clone(),
                advertiser,
                priority,
                cpm,
                goal,
                flight_start,
                flight_end,
                targeting,
                caps,
                category,
                creative_duration_s,
                pacing,
            });
        }
    }
    let allow_same_advertiser = settings
        .as_ref()
        .and_then(|s| s.allow_same_advertiser)
        .unwrap_or(false);
    let exchange = exchange(c, dims);
    let raw_bidders: Vec<Option<raw::Bidder>> = c.elements("bidders");
    let mut bidders = Vec::new();
    for (idx, raw_bidder) in raw_bidders.iter().enumerate() {
        let Some(raw_bidder) = raw_bidder else {
            continue;
        };
        let path = format!("bidders.{idx}");
        c.unique(
            &path,
            "bidder",
            &raw_bidder.name,
            raw_bidders[..idx].iter().flatten().map(|o| o.name.as_str()),
        );
        let advertiser_name = raw_bidder
            .advertiser
            .clone()
            .unwrap_or_else(|| raw_bidder.name.clone());
        let advertiser = advertiser_index(&mut advertisers, &advertiser_name);
        let category = raw_bidder
            .category
            .as_ref()
            .map(|name| category_index(&mut categories, name));
        if let Some(bidder) = bidder(
            c,
            &path,
            raw_bidder,
            dims,
            pods,
            advertiser,
            category,
            raw_bidders.len(),
        ) {
            bidders.push(bidder);
        }
    }
    if raw_bidders.len() > 256 {
        c.problem(
            "bidders",
            format!(
                "at most 256 bidders are supported, found {}",
                raw_bidders.len()
            ),
        );
    }
    let bidder_counters: usize = bidders
        .iter()
        .map(|b: &adserver::BidderSpec| {
            b.caps
                .iter()
                .filter(|cap| cap.period != Period::Flight)
                .count()
                + usize::from(b.caps.iter().any(|cap| cap.period == Period::Flight))
        })
        .sum();

    // As `AdServer::new` assigns them: one per non-flight cap, plus one lifetime counter per
    // item that has a flight cap or no cap at all; one per advertiser cap; bidders likewise
    // but without a lifetime counter when uncapped.
    let n_counters: usize = bidder_counters
        + items
            .iter()
            .map(|item| {
                let periodic = item
                    .caps
                    .iter()
                    .filter(|cap| cap.period != Period::Flight)
                    .count();
                periodic
                    + usize::from(
                        item.caps.is_empty()
                            || item.caps.iter().any(|cap| cap.period == Period::Flight),
                    )
            })
            .sum::<usize>()
        + advertisers.iter().map(|a| a.caps.len()).sum::<usize>();
    if n_counters > adserver::MAX_COUNTERS {
        c.problem(
            "",
            format!(
                "line items and frequency caps (line item and advertiser) need {n_counters} counters, at most {} are supported",
                adserver::MAX_COUNTERS
            ),
        );
    }
    if !settings_ok
        || items.len() != raw_items.len()
        || bidders.len() != raw_bidders.len()
        || raw_advertisers.iter().any(Option::is_none)
    {
        return None;
    }
    let budget_sync = match settings.as_ref().and_then(|s| s.budget_sync.clone()) {
        Some(text) => match c.positive_duration("adserver.budget_sync", &text) {
            Some(lag) if lag <= SimDuration::DAY => Some(Some(lag)),
            Some(_) => {
                c.problem("adserver.budget_sync", "expected at most 1d");
                None
            }
            None => None,
        },
        None => Some(None),
    };
    let response = dims.and_then(|dims| response_config(c, dims, &advertisers));
    let allocation = dims.and_then(|dims| allocation_config(c, dims, &items));
    let event_log = if c.get("event_log").is_none() {
        Some(None)
    } else {
        c.section::<raw::EventLog>("event_log").and_then(|raw| {
            let rate = c.fraction("event_log.rate", raw.rate)?;
            if rate <= 0.0 {
                c.problem("event_log.rate", "expected a share of auctions above 0");
                return None;
            }
            Some(Some(adserver::EventLogConfig {
                rate,
                parquet: raw.parquet.unwrap_or(false),
            }))
        })
    };
    if !settings_ok
        || items.len() != raw_items.len()
        || bidders.len() != raw_bidders.len()
        || raw_advertisers.iter().any(Option::is_none)
    {
        return None;
    }
    Some(adserver::Config {
        line_items: items,
        advertisers,
        categories,
        pacing_interval: pacing_interval?,
        allow_same_advertiser,
        exchange: exchange?,
        bidders,
        budget_sync: budget_sync?,
        response: response?,
        allocation: allocation?,
        event_log: event_log?,
    })
}

/// The `[allocation]` table: `Some(None)` when absent, `None` when broken.
fn allocation_config(
    c: &mut Checker<'_>,
    dims: &Dimensions,
    items: &[adserver::LineItem],
) -> Option<Option<adserver::AllocationConfig>> {
    if c.get("allocation").is_none() {
        return Some(None);
    }
    let raw: raw::Allocation = c.section("allocation")?;
    let plan = PlanKind::from_name(&raw.plan);
    if plan.is_none() {
        c.problem(
            "allocation.plan",
            format!(
                "unknown plan \"{}\", expected one of {}",
                raw.plan,
                quoted(PlanKind::NAMES)
            ),
        );
    }
    let planned: Vec<&adserver::LineItem> = items
        .iter()
        .filter(|item| item.goal.is_some() && item.priority < adserver::PRICE_PRIORITY)
        .collect();
    if planned.len() > adserver::MAX_PLANNED {
        c.problem(
            "allocation",
            format!(
                "a plan covers at most {} guaranteed line items (priority below 12 with a goal), found {}",
                adserver::MAX_PLANNED,
                planned.len()
            ),
        );
        return None;
    }
    let forecast = match raw.forecast.as_deref() {
        None | Some("oracle") => Some(adserver::ForecastSource::Oracle),
        Some(file) => {
            // Every dimension a planned item targets must be in the file; local hour and
            // weekday come from the hour and the country.
            let mut needed: Vec<usize> = planned
                .iter()
                .flat_map(|item| item.targeting.iter().map(|rule| rule.dim))
                .collect();
            if needed
                .iter()
                .any(|&dim| dim == dims.local_hour() || dim == dims.weekday())
            {
                needed.push(crate::traffic::DIM_COUNTRY);
            }
            needed.retain(|&dim| dim != dims.local_hour() && dim != dims.weekday());
            needed.sort_unstable();
            needed.dedup();
            c.read_forecast("allocation.forecast", file, dims, &needed)
                .map(|rows| adserver::ForecastSource::File {
                    path: file.to_string(),
                    rows,
                })
        }
    };
    Some(Some(adserver::AllocationConfig {
        plan: plan?,
        forecast: forecast?,
    }))
}

/// The `[response]` table: `Some(None)` when absent, `None` when broken (problems reported).
fn response_config(
    c: &mut Checker<'_>,
    dims: &Dimensions,
    advertisers: &[adserver::Advertiser],
) -> Option<Option<response::ResponseConfig>> {
    if c.get("response").is_none() {
        return Some(None);
    }
    let raw: raw::Response = c.section("response")?;
    let problems_before = c.problems.len();
    let mut ok = true;
    let fraction = |c: &mut Checker<'_>, path: &str, value: Option<Fraction>, default: f64| {
        value.map_or(Some(default), |value| c.fraction(path, value))
    };
    let completion = match &raw.completion {
        Some(completion) => response::Completion {
            base: fraction(c, "response.completion.base", Some(completion.base), 1.0)
                .unwrap_or(1.0),
            per_position: fraction(
                c,
                "response.completion.per_position",
                completion.per_position,
                0.0,
            )
            .unwrap_or(0.0),
            per_extra_slot: fraction(
                c,
                "response.completion.per_extra_slot",
                completion.per_extra_slot,
                0.0,
            )
            .unwrap_or(0.0),
        },
        None => response::Completion {
            base: 1.0,
            per_position: 0.0,
            per_extra_slot: 0.0,
        },
    };
    let default_ctr = match &raw.ctr {
        Some(ctr) => fraction(c, "response.ctr.default", Some(ctr.default), 0.0).unwrap_or(0.0),
        None => 0.0,
    };
    let mut ctr_rules = Vec::new();
    let raw_rules: Vec<Option<raw::ResponseCtrRule>> = c.elements("response.ctr.rules");
    for (idx, rule) in raw_rules.iter().enumerate() {
        let Some(rule) = rule else {
            ok = false;
            continue;
        };
        let path = format!("response.ctr.rules.{idx}");
        let ctr = fraction(c, &format!("{path}.ctr"), Some(rule.ctr), 0.0);
        let as_targeting = raw::Targeting {
            include: rule.conditions.clone(),
            exclude: raw::Ordered(Vec::new()),
        };
        let conditions = targeting(c, &format!("{path}.match"), Some(&as_targeting), dims, true);
        let advertiser = match &rule.advertiser {
            None => Some(None),
            Some(name) => {
                match advertisers.iter().position(|a| &a.name == name) {
                    Some(found) => Some(Some(found)),
                    None => {
                        c.problem(
                        &format!("{path}.advertiser"),
                        format!("unknown advertiser \"{name}\" (not used by any line item or bidder)"),
                    );
                        None
                    }
                }
            }
        };
        match (ctr, conditions, advertiser) {
            (Some(ctr), Some(conditions), Some(advertiser)) => ctr_rules.push(response::CtrRule {
                conditions,
                advertiser,
                ctr,
            }),
            _ => ok = false,
        }
    }
    let conversion = match &raw.conversion {
        None => None,
        Some(conversion) => {
            let rate = fraction(c, "response.conversion.rate", Some(conversion.rate), 0.0);
            let window = c.positive_duration("response.conversion.window", &conversion.window);
            let delay = match &conversion.delay {
                raw::ConversionDelay::Exponential { mean } => c
                    .positive_duration("response.conversion.delay.mean", mean)
                    .map(|mean| response::Delay::Exponential { mean }),
                raw::ConversionDelay::Lognormal { median, sigma } => {
                    let median = c.positive_duration("response.conversion.delay.median", median);
                    if !(sigma.is_finite() && *sigma > 0.0 && *sigma <= 5.0) {
                        c.problem(
                            "response.conversion.delay.sigma",
                            format!("expected a log-scale deviation in (0, 5], found {sigma}"),
                        );
                        None
                    } else {
                        median.map(|median| response::Delay::LogNormal {
                            median,
                            sigma: *sigma,
                        })
                    }
                }
            };
            match (rate, window, delay) {
                (Some(rate), Some(window), Some(delay)) => Some(response::Conversion {
                    rate,
                    delay,
                    window,
                }),
                _ => {
                    ok = false;
                    None
                }
            }
        }
    };
    ok &= c.problems.len() == problems_before;
    ok.then_some(Some(response::ResponseConfig {
        completion,
        default_ctr,
        ctr_rules,
        conversion,
    }))
}

/// Index of advertiser `name`, declaring it (without caps) if new.
fn advertiser_index(advertisers: &mut Vec<adserver::Advertiser>, name: &str) -> usize {
    advertisers
        .iter()
        .position(|a| a.name == name)
        .unwrap_or_else(|| {
            advertisers.push(adserver::Advertiser {
                name: name.to_string(),
                caps: Vec::new(),
            });
            advertisers.len() - 1
        })
}

/// Index of competitive category `name`, declaring it if new.
fn category_index(categories: &mut Vec<String>, name: &str) -> u16 {
    categories
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| {
            categories.push(name.to_string());
            categories.len() - 1
        }) as u16
}

/// A CPM [currency units] at `path` → micros: finite, 0 to 1,000,000.
fn cpm(c: &mut Checker<'_>, path: &str, value: f64) -> Option<Micros> {
    if value.is_finite() && (0.0..=1e6).contains(&value) {
        Micros::from_units(value)
    } else {
        c.problem(
            path,
            format!("expected a CPM between 0 and 1000000, found {value}"),
        );
        None
    }
}

fn exchange(c: &mut Checker<'_>, dims: Option<&Dimensions>) -> Option<adserver::ExchangeConfig> {
    let defaults = adserver::ExchangeConfig::default();
    let present = c.get("exchange").is_some();
    let raw: raw::Exchange = match c.section("exchange") {
        Some(raw) => raw,
        None if present => return None,
        None => raw::Exchange::default(),
    };
    let auction = match raw.auction.as_deref() {
        Some(name) => {
            let kind = AuctionKind::from_name(name);
            if kind.is_none() {
                c.problem(
                    "exchange.auction",
                    format!(
                        "unknown auction \"{name}\", expected one of {}",
                        quoted(AuctionKind::NAMES)
                    ),
                );
            }
            kind
        }
        None => Some(defaults.auction),
    };
    let floor = match raw.floor_cpm {
        Some(value) => cpm(c, "exchange.floor_cpm", value),
        None => Some(defaults.floor),
    };
    let tmax = match &raw.tmax {
        Some(text) => c.positive_duration("exchange.tmax", text),
        None => Some(defaults.tmax),
    };
    let position_weights = match &raw.position_weights {
        Some(weights) => {
            let valid = !weights.is_empty()
                && weights
                    .iter()
                    .all(|w| w.is_finite() && *w > 0.0 && *w <= 1.0)
                && weights.windows(2).all(|pair| pair[1] <= pair[0]);
            if valid {
                // Slots past the list keep the last weight.
                let last = weights[weights.len() - 1];
                Some(
                    (0..16)
                        .map(|k| weights.get(k).copied().unwrap_or(last))
                        .collect(),
                )
            } else {
                c.problem(
                    "exchange.position_weights",
                    "expected 1 to 16 non-increasing weights in (0, 1], best slot first",
                );
                None
            }
        }
        None => Some(defaults.position_weights),
    };
    let mut floor_rules = Vec::new();
    let raw_rules: Vec<Option<raw::FloorRule>> = c.elements("exchange.floors");
    for (idx, rule) in raw_rules.iter().enumerate() {
        let Some(rule) = rule else { continue };
        let path = format!("exchange.floors.{idx}");
        let value = cpm(c, &format!("{path}.cpm"), rule.cpm);
        let conditions = dims.and_then(|dims| {
            let as_targeting = raw::Targeting {
                include: rule.conditions.clone(),
                exclude: raw::Ordered(Vec::new()),
            };
            targeting(c, &format!("{path}.match"), Some(&as_targeting), dims, true)
        });
        if let (Some(cpm), Some(conditions)) = (value, conditions) {
            floor_rules.push(adserver::FloorRule { conditions, cpm });
        }
    }
    if floor_rules.len() != raw_rules.len() {
        return None;
    }
    Some(adserver::ExchangeConfig {
        auction: auction?,
        floor: floor?,
        floor_rules,
        tmax: tmax?,
        position_weights: position_weights?,
        bid_landscape: raw.bid_landscape.unwrap_or(false),
    })
}

/// `(dimension, value)` of an `attribute = value` pair, reported at `path` if unknown.
fn segment(
    c: &mut Checker<'_>,
    path: &str,
    dims: &Dimensions,
    attribute: &str,
    value: &str,
) -> Option<(usize, u16)> {
    let Some(dim) = dims.index(attribute) else {
        let names: Vec<&str> = dims.list.iter().map(|d| d.name.as_str()).collect();
        c.problem(
            &format!("{path}.attribute"),
            format!(
                "unknown attribute `{attribute}`, expected one of {}",
                quoted(&names)
            ),
        );
        return None;
    };
    match dims.list[dim].values.iter().position(|v| v == value) {
        Some(found) => Some((dim, found as u16)),
        None => {
            c.problem(
                &format!("{path}.value"),
                format!("unknown {attribute} \"{value}\""),
            );
            None
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn bidder(
    c: &mut Checker<'_>,
    path: &str,
    raw: &raw::Bidder,
    dims: Option<&Dimensions>,
    pods: Option<&[PodSpec]>,
    advertiser: usize,
    category: Option<u16>,
    n_bidders: usize,
) -> Option<adserver::BidderSpec> {
    let dims = dims?;
    let targeting = targeting(
        c,
        &format!("{path}.targeting"),
        raw.targeting.as_ref(),
        dims,
        false,
    );
    let mut multipliers = Vec::new();
    for (idx, factor) in raw.value_multipliers.iter().enumerate() {
        let rule_path = format!("{path}.value_multipliers.{idx}");
        if !(factor.factor.is_finite() && factor.factor >= 0.0) {
            c.problem(
                &format!("{rule_path}.factor"),
                format!("expected a non-negative factor, found {}", factor.factor),
            );
        }
        if let Some((dim, value)) = segment(c, &rule_path, dims, &factor.attribute, &factor.value) {
            multipliers.push((dim, value, factor.factor));
        }
    }
    let ctr = raw.ctr.as_ref().map(|raw_ctr| {
        let default = c
            .fraction(&format!("{path}.ctr.default"), raw_ctr.default)
            .unwrap_or(0.0);
        let rules = raw_ctr
            .rules
            .iter()
            .enumerate()
            .filter_map(|(idx, rule)| {
                let rule_path = format!("{path}.ctr.rules.{idx}");
                let ctr = c.fraction(&format!("{rule_path}.ctr"), rule.ctr)?;
                segment(c, &rule_path, dims, &rule.attribute, &rule.value)
                    .map(|(dim, value)| (dim, value, ctr))
            })
            .collect();
        CtrTable { default, rules }
    });
    let distribution = value_distribution(c, &format!("{path}.value"), &raw.value, ctr.is_some());
    let strategy = strategy(
        c,
        &format!("{path}.strategy"),
        &raw.strategy,
        n_bidders,
        ctr.is_some(),
    );
    let budget = raw
        .budget
        .map(|value| cpm(c, &format!("{path}.budget"), value).filter(|b| b.0 > 0));
    let daily_budget = raw
        .daily_budget
        .map(|value| cpm(c, &format!("{path}.daily_budget"), value).filter(|b| b.0 > 0));
    for (field, parsed) in [("budget", &budget), ("daily_budget", &daily_budget)] {
        if matches!(parsed, Some(None)) {
            c.problem(
                &format!("{path}.{field}"),
                "expected a positive amount of currency",
            );
        }
    }
    let has_budget = raw.budget.is_some() || raw.daily_budget.is_some();
    let pacing = c.pacing(path, raw.pacing.as_ref(), has_budget, true);
    let creative = c.creative(path, raw.creative_duration.as_deref(), pods);
    let caps = c.caps(&format!("{path}.frequency_caps"), &raw.frequency_caps);
    let deal_floor = raw
        .deal_floor_cpm
        .map(|value| cpm(c, &format!("{path}.deal_floor_cpm"), value));
    let latency = match &raw.latency {
        Some(latency) => {
            let median = c.positive_duration(&format!("{path}.latency.median"), &latency.median);
            let sigma = latency.sigma.unwrap_or(0.5);
            if !(sigma.is_finite() && (0.0..=5.0).contains(&sigma)) {
                c.problem(
                    &format!("{path}.latency.sigma"),
                    format!("expected a log-scale deviation from 0 to 5, found {sigma}"),
                );
            }
            median.map(|median| adserver::Latency { median, sigma })
        }
        None => Some(adserver::Latency {
            median: SimDuration::from_millis(60),
            sigma: 0.5,
        }),
    };
    let no_bid_rate = raw.no_bid_rate.map_or(Some(0.0), |rate| {
        c.fraction(&format!("{path}.no_bid_rate"), rate)
    });
    let error_rate = raw.error_rate.map_or(Some(0.0), |rate| {
        c.fraction(&format!("{path}.error_rate"), rate)
    });
    if let (Some(no_bid), Some(error)) = (no_bid_rate, error_rate)
        && no_bid + error > 1.0
    {
        c.problem(
            &format!("{path}.no_bid_rate"),
            "no_bid_rate and error_rate add up to more than 1",
        );
    }
    Some(adserver::BidderSpec {
        name: raw.name.clone(),
        advertiser,
        targeting: targeting?,
        model: ModelBidder {
            value: ValueModel {
                distribution: distribution?,
                multipliers,
                ctr,
            },
            strategy: strategy?,
        },
        budget: budget.map(|b| b.ok_or(())).transpose().ok()?,
        daily_budget: daily_budget.map(|b| b.ok_or(())).transpose().ok()?,
        pacing: pacing?,
        creative_duration_s: creative?,
        category,
        caps,
        deal_floor: deal_floor.map(|f| f.ok_or(())).transpose().ok()?,
        latency: latency?,
        no_bid_rate: no_bid_rate?,
        error_rate: error_rate?,
    })
}

fn value_distribution(
    c: &mut Checker<'_>,
    path: &str,
    raw: &raw::Value,
    has_ctr: bool,
) -> Option<Distribution> {
    // Which parameters each distribution takes; any other one given is an error.
    let given: [(&str, bool); 10] = [
        ("cpm", raw.cpm.is_some()),
        ("low", raw.low.is_some()),
        ("high", raw.high.is_some()),
        ("mean", raw.mean.is_some()),
        ("sd", raw.sd.is_some()),
        ("median", raw.median.is_some()),
        ("sigma", raw.sigma.is_some()),
        ("values", raw.values.is_some()),
        ("file", raw.file.is_some()),
        ("value_per_click", raw.value_per_click.is_some()),
    ];
    let allowed: &[&str] = match raw.distribution.as_str() {
        "fixed" => &["cpm"],
        "uniform" => &["low", "high"],
        "normal" => &["mean", "sd"],
        "lognormal" => &["median", "sigma"],
        "exponential" => &["mean"],
        "empirical" => &["values", "file"],
        "ctr" => &["value_per_click"],
        other => {
            c.problem(
                &format!("{path}.distribution"),
                format!("unknown distribution \"{other}\", expected one of `ctr`, `empirical`, `exponential`, `fixed`, `lognormal`, `normal`, `uniform`"),
            );
            return None;
        }
    };
    let mut ok = true;
    for (name, present) in given {
        if present && !allowed.contains(&name) {
            c.problem(
                &format!("{path}.{name}"),
                format!(
                    "`{name}` does not apply to a {} distribution",
                    raw.distribution
                ),
            );
            ok = false;
        }
    }
    let mut number =
        |c: &mut Checker<'_>, name: &str, value: Option<f64>, positive: bool| -> Option<f64> {
            let Some(value) = value else {
                c.problem(
                    &format!("{path}.{name}"),
                    format!(
                        "missing field `{name}` for a {} distribution",
                        raw.distribution
                    ),
                );
                ok = false;
                return None;
            };
            if !value.is_finite() || value < 0.0 || (positive && value == 0.0) {
                c.problem(
                    &format!("{path}.{name}"),
                    format!(
                        "expected a {} number, found {value}",
                        if positive { "positive" } else { "non-negative" }
                    ),
                );
                ok = false;
                return None;
            }
            Some(value)
        };
    let distribution = match raw.distribution.as_str() {
        "fixed" => Distribution::Fixed(number(c, "cpm", raw.cpm, false)?),
        "uniform" => {
            let (low, high) = (
                number(c, "low", raw.low, false)?,
                number(c, "high", raw.high, false)?,
            );
            if high <= low {
                c.problem(
                    &format!("{path}.high"),
                    format!("expected high above low ({low}), found {high}"),
                );
                return None;
            }
            Distribution::Uniform { low, high }
        }
        "normal" => Distribution::Normal {
            mean: number(c, "mean", raw.mean, false)?,
            sd: number(c, "sd", raw.sd, false)?,
        },
        "lognormal" => Distribution::LogNormal {
            median: number(c, "median", raw.median, true)?,
            sigma: number(c, "sigma", raw.sigma, false)?,
        },
        "exponential" => Distribution::Exponential {
            mean: number(c, "mean", raw.mean, true)?,
        },
        "empirical" => {
            let values = match (&raw.values, &raw.file) {
                (Some(values), None) => values.clone(),
                (None, Some(file)) => c.read_values(&format!("{path}.file"), file)?,
                _ => {
                    c.problem(
                        path,
                        "an empirical distribution needs exactly one of `values` or `file`",
                    );
                    return None;
                }
            };
            if values.is_empty() || values.iter().any(|v| !v.is_finite() || *v < 0.0) {
                c.problem(
                    &format!("{path}.values"),
                    "expected at least one value, all non-negative",
                );
                return None;
            }
            Distribution::Empirical(values)
        }
        "ctr" => {
            if !has_ctr {
                c.problem(path, "a ctr distribution needs a `ctr` table on the bidder");
                return None;
            }
            Distribution::Ctr {
                value_per_click: number(c, "value_per_click", raw.value_per_click, false)?,
            }
        }
        _ => return None,
    };
    ok.then_some(distribution)
}

fn strategy(
    c: &mut Checker<'_>,
    path: &str,
    raw: &raw::StrategySpec,
    n_bidders: usize,
    has_ctr: bool,
) -> Option<Strategy> {
    let table = match raw {
        raw::StrategySpec::Name(name) => raw::StrategyTable {
            name: name.clone(),
            alpha: None,
            cpm: None,
            n: None,
            base_bid: None,
            base_ctr: None,
        },
        raw::StrategySpec::Table(table) => table.clone(),
    };
    let allowed: &[&str] = match table.name.as_str() {
        "truthful" | "learning_shader" => &[],
        "fixed" => &["cpm"],
        "shaded" => &["alpha"],
        "first_price_equilibrium" => &["n"],
        "linear" => &["base_bid", "base_ctr"],
        other => {
            c.problem(
                &format!("{path}.name"),
                format!(
                    "unknown strategy \"{other}\", expected one of {}",
                    quoted(Strategy::NAMES)
                ),
            );
            return None;
        }
    };
    let given = [
        ("alpha", table.alpha.is_some()),
        ("cpm", table.cpm.is_some()),
        ("n", table.n.is_some()),
        ("base_bid", table.base_bid.is_some()),
        ("base_ctr", table.base_ctr.is_some()),
    ];
    for (name, present) in given {
        if present && !allowed.contains(&name) {
            c.problem(
                &format!("{path}.{name}"),
                format!("`{name}` does not apply to the {} strategy", table.name),
            );
            return None;
        }
    }
    let required = |c: &mut Checker<'_>,
                    name: &str,
                    value: Option<f64>,
                    ok: fn(f64) -> bool,
                    expected: &str| {
        match value {
            Some(v) if v.is_finite() && ok(v) => Some(v),
            Some(v) => {
                c.problem(
                    &format!("{path}.{name}"),
                    format!("expected {expected}, found {v}"),
                );
                None
            }
            None => {
                c.problem(
                    path,
                    format!("missing field `{name}` for the {} strategy", table.name),
                );
                None
            }
        }
    };
    Some(match table.name.as_str() {
        "truthful" => Strategy::Truthful,
        "learning_shader" => Strategy::LearningShader(Shader::default()),
        "fixed" => Strategy::Fixed {
            cpm: required(c, "cpm", table.cpm, |v| v >= 0.0, "a non-negative CPM")?,
        },
        "shaded" => Strategy::Shaded {
            alpha: required(
                c,
                "alpha",
                table.alpha,
                |v| v > 0.0 && v <= 1.0,
                "a factor in (0, 1]",
            )?,
        },
        "first_price_equilibrium" => {
            let n = table.n.unwrap_or(n_bidders as i64);
            if !(1..=10_000).contains(&n) {
                c.problem(
                    &format!("{path}.n"),
                    format!("expected the number of bidders (1 or more), found {n}"),
                );
                return None;
            }
            Strategy::FirstPriceEquilibrium { n: n as u32 }
        }
        "linear" => {
            if !has_ctr {
                c.problem(
                    path,
                    "the linear strategy bids on pCTR: give the bidder a `ctr` table",
                );
                return None;
            }
            Strategy::Linear {
                base_bid: required(
                    c,
                    "base_bid",
                    table.base_bid,
                    |v| v >= 0.0,
                    "a non-negative CPM",
                )?,
                base_ctr: required(
                    c,
                    "base_ctr",
                    table.base_ctr,
                    |v| v > 0.0 && v <= 1.0,
                    "a click-through rate in (0, 1]",
                )?,
            }
        }
        _ => return None,
    })
}

/// Targeting rules; `path` is the targeting table's path, and with `flat` the include list
/// stands at `path` itself (floor rules' `match`) rather than at `path.include`.
fn targeting(
    c: &mut Checker<'_>,
    path: &str,
    raw: Option<&raw::Targeting>,
    dims: &Dimensions,
    flat: bool,
) -> Option<Vec<Rule>> {
    let Some(raw) = raw else {
        return Some(Vec::new());
    };
    let mut rules = Vec::new();
    let mut ok = true;
    for (include, part, list) in [
        (true, "include", &raw.include),
        (false, "exclude", &raw.exclude),
    ] {
        for (name, values) in &list.0 {
            let rule_path = if flat {
                format!("{path}.{name}")
            } else {
                format!("{path}.{part}.{name}")
            };
            let Some(dim) = dims.index(name) else {
                let names: Vec<&str> = dims.list.iter().map(|d| d.name.as_str()).collect();
                c.problem(
                    &rule_path,
                    format!(
                        "unknown attribute `{name}`, expected one of {}",
                        quoted(&names)
                    ),
                );
                ok = false;
                continue;
            };
            let mut indices = Vec::new();
            for (idx, value) in values.iter().enumerate() {
                match dims.list[dim].values.iter().position(|v| v == value) {
                    Some(found) => indices.push(found as u16),
                    None => {
                        let known = &dims.list[dim].values;
                        let shown: Vec<&str> = known.iter().take(12).map(String::as_str).collect();
                        let more = if known.len() > 12 {
                            format!(" (and {} more)", known.len() - 12)
                        } else {
                            String::new()
                        };
                        c.problem(
                            &format!("{rule_path}.{idx}"),
                            format!(
                                "unknown {name} \"{value}\", expected one of {}{more}",
                                quoted(&shown)
                            ),
                        );
                        ok = false;
                    }
                }
            }
            if include && values.is_empty() {
                c.problem(&rule_path, "an include list must name at least one value");
                ok = false;
            }
            rules.push(Rule {
                dim,
                include,
                values: indices,
            });
        }
    }
    ok.then_some(rules)
}

fn lookup(
    c: &mut Checker<'_>,
    path: &str,
    name: &str,
    vocabulary: Option<&Categorical>,
) -> Option<u16> {
    let vocabulary = vocabulary?;
    let found = vocabulary.values.iter().position(|v| v == name);
    if found.is_none() {
        let known: Vec<&str> = vocabulary.values.iter().map(String::as_str).collect();
        c.problem(
            path,
            format!(
                "unknown {} \"{name}\", expected one of {}",
                vocabulary.name,
                quoted(&known)
            ),
        );
    }
    found.map(|idx| idx as u16)
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `2026-11-02T00:00:00Z` (or with `+00:00`), a UTC RFC 3339 date-time.
pub fn parse_utc(text: &str) -> Option<SimTime> {
    let text = text.trim();
    let body = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = body.split_once(['T', ' '])?;
    let mut date_parts = date.split('-');
    let year: i32 = date_parts.next()?.parse().ok()?;
    let month: u32 = date_parts.next()?.parse().ok()?;
    let day: u32 = date_parts.next()?.parse().ok()?;
    let mut time_parts = time.split(':');
    let hour: u32 = time_parts.next()?.parse().ok()?;
    let minute: u32 = time_parts.next()?.parse().ok()?;
    let second: u32 = time_parts.next().map_or(Some(0), |s| s.parse().ok())?;
    if date_parts.next().is_some() || time_parts.next().is_some() {
        return None;
    }
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if !(1970..=9999).contains(&year)
        || day < 1
        || day > days_in_month
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(SimTime::from_utc(year, month, day, hour, minute, second))
}

/// Parses a UTC offset such as `-05:00`, `+05:30` or `Z` into minutes; a multiple of 15
/// within ±14:00.
fn parse_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    if text == "Z" || text == "UTC" {
        return Some(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let total = hours.parse::<i32>().ok()? * 60 + minutes.parse::<i32>().ok()?;
    (total % 15 == 0 && total <= 14 * 60 && minutes.parse::<i32>().ok()? < 60)
        .then_some(sign * total)
}

/// `names` as a quoted list, the first ten and a count of the rest.
fn quoted_list(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
    let mut text = quoted(&shown);
    if names.len() > shown.len() {
        text.push_str(&format!(" and {} more", names.len() - shown.len()));
    }
    text
}

/// Top-level fields of a replay scenario.
const REPLAY_TOP_LEVEL: &[&str] = &["schema_version", "name", "seed", "start", "replay"];

/// Validates a replay scenario (one with a `[replay]` table).
pub fn replay(
    root: &Node,
    base_dir: &Path,
) -> Result<crate::scenario::ReplayScenario, Vec<Problem>> {
    use crate::replay::{Columns, Format};
    let mut c = Checker {
        root,
        problems: Vec::new(),
        base_dir,
    };
    if let Value::Table(entries) = &root.value {
        for entry in entries {
            if !REPLAY_TOP_LEVEL.contains(&entry.key.as_str()) {
                c.problems.push(Problem {
                    origin: entry.key_origin.clone(),
                    path: entry.key.clone(),
                    message: format!(
                        "`{}` is not used by a replay scenario (one with [replay]), expected one of {}",
                        entry.key,
                        quoted(REPLAY_TOP_LEVEL)
                    ),
                });
            }
        }
    }
    let name = c.required::<String>("name", "a scenario name");
    let seed = match c.section::<i64>("seed") {
        Some(seed) if seed >= 0 => seed as u64,
        Some(seed) => {
            c.problem(
                "seed",
                format!("expected a non-negative whole number, found {seed}"),
            );
            1
        }
        None => 1,
    };
    let start = match c.section::<raw::When>("start") {
        Some(when) => c.when("start", &when.0),
        None => Some(SimTime::from_utc(2026, 11, 2, 0, 0, 0)),
    };
    let raw: Option<raw::Replay> = c.section("replay");
    let strategies_raw: Vec<Option<raw::ReplayStrategy>> = c.elements("replay.strategies");
    let Some(raw) = raw else {
        return Err(c.problems);
    };
    let file = base_dir.join(&raw.file);
    if !file.is_file() {
        c.problem(
            "replay.file",
            format!("cannot read {}: no such file", file.display()),
        );
    }
    let train = raw.train.as_ref().map(|t| base_dir.join(t));
    if let Some(train) = &train
        && !train.is_file()
    {
        c.problem(
            "replay.train",
            format!("cannot read {}: no such file", train.display()),
        );
    }
    let spacing = match &raw.spacing {
        Some(text) => c.positive_duration("replay.spacing", text),
        None => Some(SimDuration::SECOND),
    };
    let format = match raw.format.as_str() {
        "ipinyou" => {
            if raw.columns.is_some() {
                c.problem("replay.columns", "the ipinyou format has fixed columns");
            }
            spacing.map(|spacing| Format::Ipinyou { spacing })
        }
        "csv" => match &raw.columns {
            Some(columns) => Some(Format::Csv(Columns {
                timestamp: columns.timestamp.clone(),
                market_price: columns.market_price.clone(),
                click: columns.click.clone(),
                conversion: columns.conversion.clone(),
                pctr: columns.pctr.clone(),
            })),
            None => {
                c.problem(
                    "replay",
                    "the csv format needs [replay.columns] with at least `timestamp` and `market_price`",
                );
                None
            }
        },
        other => {
            c.problem(
                "replay.format",
                format!("unknown format \"{other}\", expected `csv` or `ipinyou`"),
            );
            None
        }
    };
    let reading = c.log_reading(
        "replay",
        raw.malformed.as_deref(),
        raw.time_scale,
        raw.sample,
    );
    let (malformed, time_scale, sample) = match reading {
        Some((malformed, time_scale, sample)) => (Some(malformed), time_scale, Some(sample)),
        None => (None, 1.0, None),
    };
    let round = match &raw.round {
        Some(text) => c.positive_duration("replay.round", text),
        None => Some(SimDuration::HOUR),
    };
    if raw.budget_fractions.is_empty()
        || raw
            .budget_fractions
            .iter()
            .any(|f| !(f.is_finite() && *f > 0.0 && *f <= 1.0))
    {
        c.problem(
            "replay.budget_fractions",
            "expected one or more fractions in (0, 1] of the log's total cost",
        );
    }
    let mut strategies = Vec::new();
    for (idx, strategy) in strategies_raw.iter().enumerate() {
        let Some(strategy) = strategy else { continue };
        let path = format!("replay.strategies.{idx}");
        if !["constant", "linear", "ortb", "pid"].contains(&strategy.kind.as_str()) {
            c.problem(
                &format!("{path}.kind"),
                format!(
                    "unknown kind \"{}\", expected `constant`, `linear`, `ortb` or `pid`",
                    strategy.kind
                ),
            );
            continue;
        }
        let pid = if strategy.kind == "pid" {
            let reference = match strategy.reference_ecpc {
                Some(r) if r.is_finite() && r > 0.0 => Some(r),
                Some(r) => {
                    c.problem(
                        &format!("{path}.reference_ecpc"),
                        format!("expected a positive amount, found {r}"),
                    );
                    None
                }
                None => {
                    c.problem(&path, "missing field `reference_ecpc` for a pid strategy");
                    None
                }
            };
            let defaults = crate::pacing::KpiPid::DEFAULT;
            let gain = |c: &mut Checker<'_>, name: &str, value: Option<f64>, default: f64| {
                c.parameter(
                    &format!("{path}.{name}"),
                    value,
                    default,
                    |v| (0.0..=1e3).contains(&v),
                    "a gain from 0 to 1000",
                )
            };
            let kp = gain(&mut c, "kp", strategy.kp, defaults.kp);
            let ki = gain(&mut c, "ki", strategy.ki, defaults.ki);
            let kd = gain(&mut c, "kd", strategy.kd, defaults.kd);
            match (reference, kp, ki, kd) {
                (Some(r), Some(kp), Some(ki), Some(kd)) => {
                    Some((r, crate::pacing::Gains { kp, ki, kd }))
                }
                _ => continue,
            }
        } else {
            for (name, value) in [
                ("reference_ecpc", strategy.reference_ecpc),
                ("kp", strategy.kp),
                ("ki", strategy.ki),
                ("kd", strategy.kd),
            ] {
                if value.is_some() {
                    c.problem(
                        &format!("{path}.{name}"),
                        format!("`{name}` applies to pid strategies only"),
                    );
                }
            }
            None
        };
        strategies.push(crate::scenario::ReplayStrategySpec {
            name: strategy.name.clone(),
            kind: strategy.kind.clone(),
            pid,
        });
    }
    if strategies.is_empty() && strategies_raw.iter().all(Option::is_some) {
        c.problem("replay", "expected at least one [[replay.strategies]]");
    }
    if train.is_none() && !strategies.is_empty() {
        c.problem(
            "replay.train",
            "strategies are tuned on a training log: expected `train`, a log in the same format",
        );
    }
    match (name, start, format, sample, malformed, round) {
        (Some(name), Some(start), Some(format), Some(sample), Some(malformed), Some(round))
            if c.problems.is_empty() =>
        {
            Ok(crate::scenario::ReplayScenario {
                name,
                seed,
                start,
                file,
                train,
                format,
                time_scale,
                sample,
                malformed,
                round,
                budget_fractions: raw.budget_fractions.clone(),
                strategies,
            })
        }
        _ => {
            if c.problems.is_empty() {
                c.problem("", "the scenario is incomplete");
            }
            Err(c.problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_utc_times_and_offsets() {
        assert_eq!(
            parse_utc("2026-11-02T13:00:00Z"),
            Some(SimTime::from_utc(2026, 11, 2, 13, 0, 0))
        );
        assert_eq!(
            parse_utc("2026-11-02T13:00:00+00:00"),
            Some(SimTime::from_utc(2026, 11, 2, 13, 0, 0))
        );
        assert_eq!(parse_utc("2026-02-30T00:00:00Z"), None);
        assert_eq!(parse_utc("2026-11-02T13:00:00-05:00"), None);
        assert_eq!(parse_offset("-05:00"), Some(-300));
        assert_eq!(parse_offset("+05:30"), Some(330));
        assert_eq!(parse_offset("+05:10"), None);
        assert_eq!(parse_offset("+15:00"), None);
        assert_eq!(parse_offset("5"), None);
    }
}
