//! Streaming reader of logged auctions: CSV with a header (any columns, mapped by name) or
//! the iPinYou `yzpc` format (tab-separated, no header: click, market price, pCTR, exchange),
//! plain or gzip-compressed (by the `.gz` extension). One row is read at a time, so memory
//! stays the same whatever the file's size.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::money::Micros;
use crate::time::{SimDuration, SimTime};
use crate::traffic::logged::parse_time;

/// Column names of a CSV log.
#[derive(Clone, Debug, PartialEq)]
pub struct Columns {
    /// RFC 3339 UTC date-time, or Unix seconds (integer or decimal).
    pub timestamp: String,
    /// Market price [CPM, currency units].
    pub market_price: String,
    /// 0/1 labels, if logged.
    pub click: Option<String>,
    pub conversion: Option<String>,
    /// Predicted CTR of the row, if logged.
    pub pctr: Option<String>,
}

/// A log's format.
#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    Csv(Columns),
    /// iPinYou `yzpc`: `click \t market_price \t pctr \t exchange`, no header; rows in time
    /// order without timestamps: row `i` is placed at `start + i × spacing`.
    Ipinyou {
        spacing: SimDuration,
    },
}

/// What to do with a malformed row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Stop: the run fails with the file, line and column.
    Fail,
    /// Skip it, count it, and report the first few line numbers.
    Skip,
}

/// One logged auction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// 1-based line of the file.
    pub line: usize,
    pub at: SimTime,
    /// Market price [CPM micros].
    pub market_price: Micros,
    pub click: bool,
    pub conversion: bool,
    pub pctr: f64,
}

/// A malformed row: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub column: String,
    pub message: String,
}

/// Streams rows of a log file.
pub struct RowReader {
    path: PathBuf,
    format: Format,
    lines: Box<dyn BufRead>,
    /// Column index of each field for CSV: timestamp, price, click, conversion, pctr.
    index: [Option<usize>; 5],
    line: usize,
    start: SimTime,
    time_scale: f64,
    first_time: Option<SimTime>,
    rows: usize,
    buffer: String,
}

impl RowReader {
    /// Opens `path`. Times are `start + (logged time − first logged time) / time_scale`.
    pub fn open(
        path: &Path,
        format: &Format,
        start: SimTime,
        time_scale: f64,
    ) -> Result<RowReader, String> {
        let lines = crate::traffic::logged::open(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut reader = RowReader {
            path: path.to_path_buf(),
            format: format.clone(),
            lines,
            index: [None; 5],
            line: 0,
            start,
            time_scale,
            first_time: None,
            rows: 0,
            buffer: String::new(),
        };
        if let Format::Csv(columns) = format {
            let header = reader
                .next_line()
                .map_err(|e| format!("{}: {e}", path.display()))?
                .ok_or_else(|| format!("{}: empty file, expected a header line", path.display()))?;
            let names: Vec<&str> = header.split(',').map(str::trim).collect();
            let find = |name: &str| names.iter().position(|n| *n == name);
            let required = |name: &String| {
                find(name).ok_or_else(|| {
                    format!(
                        "{}:1: no column \"{name}\" (header: {})",
                        path.display(),
                        names.join(",")
                    )
                })
            };
            let optional = |name: &Option<String>| -> Result<Option<usize>, String> {
                name.as_ref().map(required).transpose()
            };
            reader.index = [
                Some(required(&columns.timestamp)?),
                Some(required(&columns.market_price)?),
                optional(&columns.click)?,
                optional(&columns.conversion)?,
                optional(&columns.pctr)?,
            ];
        }
        Ok(reader)
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn next_line(&mut self) -> std::io::Result<Option<String>> {
        self.buffer.clear();
        let n = self.lines.read_line(&mut self.buffer)?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        Ok(Some(self.buffer.trim_end_matches(['\n', '\r']).to_string()))
    }

    /// The next row: `None` at the end, `Some(Err)` for a malformed row (reading goes on
    /// after it), or an I/O error as a row error on the current line.
    pub fn next_row(&mut self) -> Option<Result<Row, RowError>> {
        loop {
            let text = match self.next_line() {
                Ok(Some(text)) => text,
                Ok(None) => return None,
                Err(e) => {
                    return Some(Err(RowError {
                        line: self.line + 1,
                        column: String::new(),
                        message: format!("cannot read: {e}"),
                    }));
                }
            };
            if text.trim().is_empty() {
                continue;
            }
            return Some(self.parse(&text));
        }
    }

    fn parse(&mut self, text: &str) -> Result<Row, RowError> {
        let line = self.line;
        let error = |column: &str, message: String| RowError {
            line,
            column: column.to_string(),
            message,
        };
        let number = |field: Option<&str>, column: &str| -> Result<f64, RowError> {
            let field = field.unwrap_or("").trim();
            field
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| error(column, format!("expected a number, found \"{field}\"")))
        };
        let label = |field: Option<&str>, column: &str| -> Result<bool, RowError> {
            match field.unwrap_or("").trim() {
                "0" => Ok(false),
                "1" => Ok(true),
                other => Err(error(column, format!("expected 0 or 1, found \"{other}\""))),
            }
        };
        let (at, price, click, conversion, pctr) = match &self.format {
            Format::Ipinyou { spacing } => {
                let fields: Vec<&str> = text.split('\t').collect();
                if fields.len() != 4 {
                    return Err(error(
                        "",
                        format!(
                            "expected 4 tab-separated fields (click, market price, pctr, exchange), found {}",
                            fields.len()
                        ),
                    ));
                }
                let at = self.start + SimDuration((spacing.0 as f64 * self.rows as f64) as i64);
                (
                    at,
                    number(Some(fields[1]), "market_price")?,
                    label(Some(fields[0]), "click")?,
                    false,
                    number(Some(fields[2]), "pctr")?,
                )
            }
            Format::Csv(columns) => {
                let fields: Vec<&str> = text.split(',').collect();
                let get = |idx: Option<usize>| idx.and_then(|i| fields.get(i).copied());
                let stamp = get(self.index[0]).unwrap_or("").trim();
                let logged = parse_time(stamp).ok_or_else(|| {
                    error(
                        &columns.timestamp,
                        format!("expected a UTC date-time or Unix seconds, found \"{stamp}\""),
                    )
                })?;
                let first = *self.first_time.get_or_insert(logged);
                let offset = ((logged.0 - first.0) as f64 / self.time_scale) as i64;
                if offset < 0 {
                    return Err(error(
                        &columns.timestamp,
                        format!(
                            "{stamp} is earlier than the first row: rows must be in time order"
                        ),
                    ));
                }
                (
                    self.start + SimDuration(offset),
                    number(get(self.index[1]), &columns.market_price)?,
                    match (self.index[2], &columns.click) {
                        (Some(_), Some(name)) => label(get(self.index[2]), name)?,
                        _ => false,
                    },
                    match (self.index[3], &columns.conversion) {
                        (Some(_), Some(name)) => label(get(self.index[3]), name)?,
                        _ => false,
                    },
                    match (self.index[4], &columns.pctr) {
                        (Some(_), Some(name)) => number(get(self.index[4]), name)?,
                        _ => 0.0,
                    },
                )
            }
        };
        if price < 0.0 {
            return Err(error(
                "market_price",
                format!("expected a price ≥ 0, found {price}"),
            ));
        }
        if !(0.0..=1.0).contains(&pctr) {
            return Err(error(
                "pctr",
                format!("expected a probability, found {pctr}"),
            ));
        }
        let market_price = Micros::from_units(price)
            .ok_or_else(|| error("market_price", format!("out of range: {price}")))?;
        self.rows += 1;
        Ok(Row {
            line,
            at,
            market_price,
            click,
            conversion,
            pctr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn ipinyou_rows_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "log.txt",
            "0\t20\t0.0001\t3\n1\t106\t0.0012\t2\n\n0\tlots\t0.1\t1\n0\t5\t0.1\n",
        );
        let spacing = SimDuration::SECOND;
        let mut reader =
            RowReader::open(&path, &Format::Ipinyou { spacing }, SimTime(0), 1.0).unwrap();
        let first = reader.next_row().unwrap().unwrap();
        assert_eq!(
            (first.line, first.market_price, first.click),
            (1, Micros(20_000_000), false)
        );
        let second = reader.next_row().unwrap().unwrap();
        assert_eq!((second.at, second.click), (SimTime(1_000_000), true));
        let bad = reader.next_row().unwrap().unwrap_err();
        assert_eq!((bad.line, bad.column.as_str()), (4, "market_price"));
        let short = reader.next_row().unwrap().unwrap_err();
        assert_eq!(short.line, 5);
        assert!(reader.next_row().is_none());
    }

    #[test]
    fn csv_with_gzip_and_time_scale() {
        use std::fs::File;
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.csv.gz");
        let mut gz = flate2::write::GzEncoder::new(
            File::create(&path).unwrap(),
            flate2::Compression::default(),
        );
        gz.write_all(b"ts,price,clk\n2026-01-01T00:00:00Z,2.5,1\n2026-01-01T00:01:00Z,3,0\n")
            .unwrap();
        gz.finish().unwrap();
        let columns = Columns {
            timestamp: "ts".into(),
            market_price: "price".into(),
            click: Some("clk".into()),
            conversion: None,
            pctr: None,
        };
        let start = SimTime(1_000_000_000);
        let mut reader = RowReader::open(&path, &Format::Csv(columns.clone()), start, 2.0).unwrap();
        let a = reader.next_row().unwrap().unwrap();
        let b = reader.next_row().unwrap().unwrap();
        assert_eq!(
            (a.at, a.market_price, a.click),
            (start, Micros(2_500_000), true)
        );
        // One logged minute at time scale 2 is half a simulated minute.
        assert_eq!(b.at, start + SimDuration::from_secs(30));
        let missing = Columns {
            market_price: "cost".into(),
            ..columns
        };
        let error = RowReader::open(&path, &Format::Csv(missing), start, 1.0)
            .err()
            .unwrap();
        assert!(error.contains("no column \"cost\""), "{error}");
    }
}
