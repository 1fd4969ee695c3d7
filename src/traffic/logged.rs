//! `Logged`: a traffic source replaying logged ad requests from a CSV file, streamed.
//!
//! Each row is one ad request (a break asking for a pod). Columns, by header name:
//!
//! - the timestamp column (RFC 3339 UTC or Unix seconds), rows in time order; row times map to
//!   `start + (t − t_first) / time_scale`; rows past the run's end are not read;
//! - optionally a member id column (any text): members are hashed (FNV-1a) into the scenario's
//!   `members.count` dense ids, which hold frequency-cap state — choose a count well above the
//!   log's distinct members to keep collisions rare;
//! - optionally a floor column [CPM]: the request's floor, replacing the exchange's rules;
//! - every column named like a request attribute (`country`, `device`, `genre`, `title`, `break`,
//!   custom member attributes, …): its value, which must be in the scenario's vocabulary.
//!   Attributes the log does not have take their first value; `local_hour` and `weekday` come
//!   from the time and the country's UTC offset; the pod is the scenario's pre-roll or mid-roll
//!   pod by the `break` column (mid-roll without one).
//!
//! The file is checked once when the scenario is loaded (every row, so a malformed row is
//! reported with its line and column before anything runs, or — with `malformed = "skip"` —
//! listed to be skipped); the run then streams it again, one row ahead.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;

use super::{AdRequest, BreakKind, DIM_COUNTRY, Dimensions, PodSpec, TrafficEvent, TrafficSource};
use crate::engine::{Event, EventQueue, Stream};
use crate::money::Micros;
use crate::time::{SimDuration, SimTime};

/// The `[logged_traffic]` table, validated (the file checked).
#[derive(Clone, Debug, PartialEq)]
pub struct LoggedConfig {
    pub file: PathBuf,
    pub time_scale: f64,
    pub sample: f64,
    pub timestamp: usize,
    pub member: Option<usize>,
    pub floor: Option<usize>,
    /// `(column, dimension)` for every column named like an attribute.
    pub attributes: Vec<(usize, usize)>,
    /// Lines (1-based) of malformed rows to skip.
    pub skip: BTreeSet<usize>,
    /// The first row's logged time.
    pub first: SimTime,
}

/// Opens a log, gzip-decompressed if it ends in `.gz`.
pub fn open(path: &std::path::Path) -> std::io::Result<Box<dyn BufRead>> {
    let file = std::fs::File::open(path)?;
    let raw: Box<dyn Read> = if path.extension().is_some_and(|ext| ext == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, raw)))
}

/// RFC 3339 UTC, or Unix seconds.
pub fn parse_time(text: &str) -> Option<SimTime> {
    if let Some(at) = crate::scenario::parse_utc(text) {
        return Some(at);
    }
    let seconds: f64 = text.trim().parse().ok().filter(|s: &f64| s.is_finite())?;
    Some(SimTime((seconds * 1e6).round() as i64))
}

/// Checks one data row; `Err((column, message))` if malformed.
pub fn check_row(
    config: &LoggedConfig,
    dims: &Dimensions,
    header: &[String],
    fields: &[&str],
) -> Result<(), (String, String)> {
    if fields.len() != header.len() {
        return Err((
            String::new(),
            format!("expected {} fields, found {}", header.len(), fields.len()),
        ));
    }
    if parse_time(fields[config.timestamp]).is_none() {
        return Err((
            header[config.timestamp].clone(),
            format!(
                "expected a UTC date-time or Unix seconds, found \"{}\"",
                fields[config.timestamp]
            ),
        ));
    }
    if let Some(col) = config.floor {
        let ok = fields[col]
            .trim()
            .parse::<f64>()
            .is_ok_and(|v| v.is_finite() && (0.0..=1e6).contains(&v));
        if !ok {
            return Err((
                header[col].clone(),
                format!(
                    "expected a CPM from 0 to 1000000, found \"{}\"",
                    fields[col]
                ),
            ));
        }
    }
    for &(col, dim) in &config.attributes {
        let value = fields[col].trim();
        if !dims.list[dim].values.iter().any(|v| v == value) {
            return Err((
                header[col].clone(),
                format!("unknown {} \"{value}\"", dims.list[dim].name),
            ));
        }
    }
    Ok(())
}

/// The logged-request source.
pub struct Logged {
    config: LoggedConfig,
    dims: Dimensions,
    lines: Box<dyn BufRead>,
    line: usize,
    n_members: u32,
    offsets: Vec<i32>,
    pods: [PodSpec; 2],
    start: SimTime,
    end: SimTime,
    sample: Stream,
    /// The next request, read ahead.
    next: Option<AdRequest>,
    buffer: String,
}

impl Logged {
    /// Opens the log for a run from `start` to `end`. `pods` are the pre-roll and mid-roll
    /// pods (a disabled one is the default `PodSpec`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: LoggedConfig,
        dims: Dimensions,
        n_members: u32,
        offsets: Vec<i32>,
        pods: [PodSpec; 2],
        run: (SimTime, SimTime),
        seed: u64,
    ) -> std::io::Result<Logged> {
        let mut lines = open(&config.file)?;
        let mut header = String::new();
        lines.read_line(&mut header)?;
        Ok(Logged {
            config,
            dims,
            lines,
            line: 1,
            n_members,
            offsets,
            pods,
            start: run.0,
            end: run.1,
            sample: Stream::new(seed, "traffic.sample"),
            next: None,
            buffer: String::new(),
        })
    }

    /// Reads ahead to the next kept row within the run.
    fn advance(&mut self) {
        self.next = None;
        loop {
            self.buffer.clear();
            match self.lines.read_line(&mut self.buffer) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            self.line += 1;
            let text = self.buffer.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() || self.config.skip.contains(&self.line) {
                continue;
            }
            let fields: Vec<&str> = text.split(',').collect();
            // Checked at load: the row is well-formed.
            let Some(logged) = fields
                .get(self.config.timestamp)
                .and_then(|f| parse_time(f))
            else {
                continue;
            };
            let offset = ((logged.0 - self.config.first.0) as f64 / self.config.time_scale) as i64;
            let at = self.start + SimDuration(offset);
            if at >= self.end {
                return;
            }
            if at < self.start
                || (self.config.sample < 1.0 && !self.sample.chance(self.config.sample))
            {
                continue;
            }
            let mut request = AdRequest {
                at,
                ..AdRequest::default()
            };
            for &(col, dim) in &self.config.attributes {
                let value = fields[col].trim();
                request.values[dim] = self.dims.list[dim]
                    .values
                    .iter()
                    .position(|v| v == value)
                    .unwrap_or(0) as u16;
            }
            let country = usize::from(request.values[DIM_COUNTRY]);
            let offset = self.offsets.get(country).copied().unwrap_or(0);
            request.utc_offset_minutes = offset;
            let (local_day, local_hour) = at.local_day_and_hour(offset);
            request.values[self.dims.local_hour()] = local_hour as u16;
            request.values[self.dims.weekday()] = (local_day + 3).rem_euclid(7) as u16;
            request.member = match self.config.member {
                Some(col) => {
                    let hash = crate::engine::fnv1a64(fields[col].trim().as_bytes());
                    (hash % u64::from(self.n_members)) as u32
                }
                None => (self.line as u64 % u64::from(self.n_members)) as u32,
            };
            let kind = if request.values[self.dims.break_kind()] == BreakKind::PreRoll as u16
                && self
                    .config
                    .attributes
                    .iter()
                    .any(|&(_, d)| d == self.dims.break_kind())
            {
                0
            } else {
                1
            };
            request.values[self.dims.break_kind()] = kind as u16;
            request.pod = if self.pods[kind].max_slots > 0 {
                self.pods[kind]
            } else {
                self.pods[1 - kind]
            };
            request.floor = self.config.floor.and_then(|col| {
                fields[col]
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(Micros::from_units)
            });
            self.next = Some(request);
            return;
        }
    }
}

impl TrafficSource for Logged {
    fn start(&mut self, queue: &mut EventQueue<Event>) {
        self.advance();
        if let Some(next) = &self.next {
            queue.schedule(
                next.at,
                Event::Traffic(TrafficEvent::SessionArrival {
                    member: next.member,
                }),
            );
        }
    }

    fn handle(
        &mut self,
        _event: TrafficEvent,
        _now: SimTime,
        queue: &mut EventQueue<Event>,
        request: &mut AdRequest,
    ) -> bool {
        let Some(current) = self.next.take() else {
            return false;
        };
        *request = current;
        self.advance();
        if let Some(next) = &self.next {
            queue.schedule(
                next.at,
                Event::Traffic(TrafficEvent::SessionArrival {
                    member: next.member,
                }),
            );
        }
        true
    }

    fn n_members(&self) -> u32 {
        self.n_members
    }
}
