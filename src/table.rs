//! A small typed in-memory table that adsim's outputs render once and write
//! as both CSV and Parquet, so the two formats always hold the same values.
//!
//! An output (an inventory export, an event log, ...) is built as a [`Table`]:
//! named [`Column`]s of equal length, each holding one Rust type. The same
//! `Table` is then written with [`Table::to_csv`] and [`Table::to_parquet`] (or
//! [`Table::write_parquet`]). [`read_parquet`] reads any file written here back
//! into an equal `Table`, which is how tests and adsim's own round-trip checks
//! confirm a file.
//!
//! # Type mapping
//!
//! | [`Column`]        | Arrow type                       | Parquet physical / logical type               | CSV form |
//! |-------------------|----------------------------------|-----------------------------------------------|----------|
//! | `Text`            | `Utf8`, not null                 | `BYTE_ARRAY` / `STRING` (dictionary-encoded)   | the text, RFC 4180-quoted when needed |
//! | `I64`             | `Int64`, not null                | `INT64` / none (plain signed 64-bit)           | decimal, e.g. `-42` |
//! | `U64`             | `UInt64`, not null               | `INT64` / `INTEGER(64, unsigned)`              | decimal, e.g. `18446744073709551615` |
//! | `F64`             | `Float64`, not null              | `DOUBLE` / none                                | Rust `{}` Display: `0.1`, `-0`, `NaN`, `inf` |
//! | `Bool`            | `Boolean`, not null              | `BOOLEAN` / none                               | `true` / `false` |
//! | `TimestampMicros` | `Timestamp(Microsecond, "UTC")`, not null | `INT64` / `TIMESTAMP(MICROS, isAdjustedToUTC=true)` | RFC 3339 UTC, e.g. `2026-11-02T05:00:00Z`, `...T05:00:00.250000Z` |
//! | `OptF64`          | `Float64`, nullable              | `DOUBLE` (optional) / none                     | as `F64`; null is an empty field |
//!
//! Reading maps back by Arrow type: a nullable `Float64` field becomes `OptF64`
//! and a non-nullable one `F64`; `Utf8`, `LargeUtf8` and `Utf8View` all become
//! `Text`; a `Timestamp(Microsecond, tz)` with a UTC zone (`UTC`, `+00:00`,
//! `Z`, `Etc/UTC`) becomes `TimestampMicros`. A nullable field of any other
//! type is accepted as long as it holds no nulls. Anything else is a
//! [`TableError::UnsupportedType`].
//!
//! # Floating point
//!
//! Parquet stores `f64` bit for bit, so NaN (with its payload), `-0.0` and the
//! infinities survive a round trip exactly; [`Table::identical`] compares
//! floats by their bits to check that. The derived `PartialEq` uses IEEE
//! equality instead (`NaN != NaN`, `-0.0 == 0.0`). The Parquet writer leaves
//! NaN out of the min/max statistics. CSV writes Rust's shortest round-trip
//! `Display` form, which never uses an exponent (`1e21` is written as
//! `1000000000000000000000`), and writes `NaN`, `inf` and `-inf` literally.
//!
//! # CSV details
//!
//! A header line, then one line per row, each ended by `\n`. A field (or a
//! column name) is quoted when it contains `,`, `"`, CR or LF, with quotes
//! doubled. In a one-column table an empty field is written as `""` so that
//! the row is not an empty line, which many readers skip (Python's `csv`
//! module does the same). Timestamps outside years 0000..=9999 use the ISO
//! 8601 expanded form (`+10000-01-01T00:00:00Z`, `-0001-12-31T00:00:00Z`).
//! A table with no columns renders as the empty string.
//!
//! # Determinism
//!
//! The Parquet bytes depend only on the table and the [`ParquetOptions`]: every
//! writer setting that matters is pinned (format version 1.0, Snappy,
//! dictionary on, page-level statistics, row-group size), `created_by` is the
//! fixed string [`CREATED_BY`] instead of the library's version, and the file
//! holds no timestamps or random ids. The only key-value metadata is the
//! `ARROW:schema` entry (a serialized Arrow schema) that lets readers
//! recover `UInt64` and the UTC zone exactly. A new `parquet` crate version may
//! still encode differently, so byte-level comparisons belong within one
//! build.
//!
//! # Memory
//!
//! Rows are handed to the Parquet writer in chunks of at most
//! [`CONVERT_CHUNK_ROWS`] rows, so writing a table never builds a second full
//! copy of it in Arrow form. The writer keeps the encoded, compressed pages of
//! the row group in progress (at most `row_group_rows` rows) until that row
//! group is complete. For outputs too large to hold at all, [`ParquetStream`]
//! takes the rows batch by batch, so the memory in use is one batch plus one
//! encoded row group. [`Table::to_parquet`] returns the whole file as a
//! `Vec<u8>`; use [`Table::write_parquet`] or [`ParquetStream`] with a file to
//! avoid that.

use std::fmt::Write as _;
use std::io::Write;
use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMicrosecondType, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt64Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::DecodeResult;
use parquet::arrow::ArrowWriter;
use parquet::arrow::push_decoder::ParquetPushDecoderBuilder;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaDataPushDecoder;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

/// The `created_by` string written into every Parquet footer (fixed, so the
/// bytes do not change with the `parquet` crate's version string).
pub const CREATED_BY: &str = "adsim";

/// Default maximum rows per Parquet row group.
pub const DEFAULT_ROW_GROUP_ROWS: usize = 1_048_576;

/// Rows converted to Arrow arrays at a time while writing.
pub const CONVERT_CHUNK_ROWS: usize = 65_536;

/// The Arrow time zone written for [`Column::TimestampMicros`].
const UTC: &str = "UTC";

/// Rows per decoded batch when reading.
const READ_BATCH_ROWS: usize = 65_536;

/// One column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// UTF-8 text (written as Parquet UTF8/String, dictionary-encoded).
    Text(Vec<String>),
    /// Signed 64-bit integers (Parquet INT64).
    I64(Vec<i64>),
    /// Unsigned 64-bit integers (Arrow UInt64, Parquet INT64 with the unsigned
    /// INTEGER(64) logical type).
    U64(Vec<u64>),
    /// 64-bit floats (Parquet DOUBLE); stored bit for bit, NaN included.
    F64(Vec<f64>),
    /// Booleans (Parquet BOOLEAN; CSV `true`/`false`).
    Bool(Vec<bool>),
    /// Microseconds since the Unix epoch, UTC (Parquet TIMESTAMP(MICROS,
    /// isAdjustedToUTC=true); CSV: RFC 3339 like `2026-11-02T05:00:00Z`, with
    /// six fractional digits only when the sub-second part is non-zero).
    TimestampMicros(Vec<i64>),
    /// Nullable f64 (`None` = null; CSV: empty field).
    OptF64(Vec<Option<f64>>),
}

impl Column {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::U64(v) => v.len(),
            Column::F64(v) => v.len(),
            Column::Bool(v) => v.len(),
            Column::TimestampMicros(v) => v.len(),
            Column::OptF64(v) => v.len(),
        }
    }

    /// Whether the column holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A short name of the variant, as used in error messages (`"text"`,
    /// `"i64"`, `"u64"`, `"f64"`, `"bool"`, `"timestamp_micros"`, `"opt_f64"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Column::Text(_) => "text",
            Column::I64(_) => "i64",
            Column::U64(_) => "u64",
            Column::F64(_) => "f64",
            Column::Bool(_) => "bool",
            Column::TimestampMicros(_) => "timestamp_micros",
            Column::OptF64(_) => "opt_f64",
        }
    }

    /// Whether two columns hold the same variant and the same values, floats
    /// compared by bit pattern (so NaN matches the same NaN and `-0.0` does not
    /// match `0.0`).
    pub fn identical(&self, other: &Column) -> bool {
        fn same_f64(a: &[f64], b: &[f64]) -> bool {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        }
        match (self, other) {
            (Column::Text(a), Column::Text(b)) => a == b,
            (Column::I64(a), Column::I64(b)) => a == b,
            (Column::U64(a), Column::U64(b)) => a == b,
            (Column::F64(a), Column::F64(b)) => same_f64(a, b),
            (Column::Bool(a), Column::Bool(b)) => a == b,
            (Column::TimestampMicros(a), Column::TimestampMicros(b)) => a == b,
            (Column::OptF64(a), Column::OptF64(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(x, y)| match (x, y) {
                        (None, None) => true,
                        (Some(x), Some(y)) => x.to_bits() == y.to_bits(),
                        _ => false,
                    })
            }
            _ => false,
        }
    }

    /// The Arrow field this column is written as.
    fn arrow_field(&self, name: &str) -> Field {
        let data_type = match self {
            Column::Text(_) => DataType::Utf8,
            Column::I64(_) => DataType::Int64,
            Column::U64(_) => DataType::UInt64,
            Column::F64(_) | Column::OptF64(_) => DataType::Float64,
            Column::Bool(_) => DataType::Boolean,
            Column::TimestampMicros(_) => {
                DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()))
            }
        };
        Field::new(name, data_type, matches!(self, Column::OptF64(_)))
    }

    /// The values in `range` as an Arrow array (a copy of that range only).
    fn to_arrow(&self, range: Range<usize>) -> ArrayRef {
        match self {
            Column::Text(v) => Arc::new(StringArray::from_iter_values(&v[range])),
            Column::I64(v) => Arc::new(Int64Array::from(v[range].to_vec())),
            Column::U64(v) => Arc::new(UInt64Array::from(v[range].to_vec())),
            Column::F64(v) => Arc::new(Float64Array::from(v[range].to_vec())),
            Column::Bool(v) => Arc::new(BooleanArray::from(v[range].to_vec())),
            Column::TimestampMicros(v) => {
                Arc::new(TimestampMicrosecondArray::from(v[range].to_vec()).with_timezone(UTC))
            }
            Column::OptF64(v) => Arc::new(Float64Array::from(v[range].to_vec())),
        }
    }

    /// The empty column that an Arrow field reads back as.
    fn for_field(field: &Field) -> Result<Column, TableError> {
        let column = match field.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Column::Text(Vec::new()),
            DataType::Int64 => Column::I64(Vec::new()),
            DataType::UInt64 => Column::U64(Vec::new()),
            DataType::Float64 if field.is_nullable() => Column::OptF64(Vec::new()),
            DataType::Float64 => Column::F64(Vec::new()),
            DataType::Boolean => Column::Bool(Vec::new()),
            DataType::Timestamp(TimeUnit::Microsecond, Some(tz)) if is_utc(tz) => {
                Column::TimestampMicros(Vec::new())
            }
            other => {
                return Err(TableError::UnsupportedType {
                    column: field.name().clone(),
                    data_type: other.to_string(),
                });
            }
        };
        Ok(column)
    }

    /// Appends the values of a decoded Arrow array of this column's type.
    fn append_arrow(&mut self, name: &str, array: &dyn Array) -> Result<(), TableError> {
        if !matches!(self, Column::OptF64(_)) && array.null_count() > 0 {
            return Err(TableError::UnexpectedNull {
                column: name.to_owned(),
                kind: self.kind(),
            });
        }
        let kind = self.kind();
        let mismatch = || TableError::Malformed {
            detail: format!(
                "column `{name}` decoded as {} where the schema promised {kind}",
                array.data_type(),
            ),
        };
        match self {
            Column::Text(v) => {
                if let Some(a) = array.as_string_opt::<i32>() {
                    v.extend(a.iter().map(|s| s.unwrap_or_default().to_owned()));
                } else if let Some(a) = array.as_string_opt::<i64>() {
                    v.extend(a.iter().map(|s| s.unwrap_or_default().to_owned()));
                } else if let Some(a) = array.as_string_view_opt() {
                    v.extend(a.iter().map(|s| s.unwrap_or_default().to_owned()));
                } else {
                    return Err(mismatch());
                }
            }
            Column::I64(v) => {
                let a = array.as_primitive_opt::<Int64Type>().ok_or_else(mismatch)?;
                v.extend_from_slice(a.values());
            }
            Column::U64(v) => {
                let a = array
                    .as_primitive_opt::<UInt64Type>()
                    .ok_or_else(mismatch)?;
                v.extend_from_slice(a.values());
            }
            Column::F64(v) => {
                let a = array
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(mismatch)?;
                v.extend_from_slice(a.values());
            }
            Column::Bool(v) => {
                let a = array.as_boolean_opt().ok_or_else(mismatch)?;
                v.extend(a.values().iter());
            }
            Column::TimestampMicros(v) => {
                let a = array
                    .as_primitive_opt::<TimestampMicrosecondType>()
                    .ok_or_else(mismatch)?;
                v.extend_from_slice(a.values());
            }
            Column::OptF64(v) => {
                let a = array
                    .as_primitive_opt::<Float64Type>()
                    .ok_or_else(mismatch)?;
                v.extend(a.iter());
            }
        }
        Ok(())
    }

    /// Appends row `row` as one CSV field (without the separator).
    fn push_csv_field(&self, row: usize, alone: bool, out: &mut String) {
        let start = out.len();
        match self {
            Column::Text(v) => push_csv_text(&v[row], out),
            Column::I64(v) => push_display(v[row], out),
            Column::U64(v) => push_display(v[row], out),
            Column::F64(v) => push_display(v[row], out),
            Column::Bool(v) => out.push_str(if v[row] { "true" } else { "false" }),
            Column::TimestampMicros(v) => push_timestamp_micros(v[row], out),
            Column::OptF64(v) => {
                if let Some(x) = v[row] {
                    push_display(x, out);
                }
            }
        }
        if alone && out.len() == start {
            out.push_str("\"\"");
        }
    }
}

/// Whether an Arrow time-zone string names UTC.
fn is_utc(tz: &str) -> bool {
    matches!(tz, "UTC" | "utc" | "Z" | "+00:00" | "Etc/UTC" | "+0000")
}

/// A typed in-memory table: named columns of equal length.
///
/// Build it with [`Table::new`] and [`Table::with`]; render it with
/// [`Table::to_csv`] and [`Table::to_parquet`]. The derived `PartialEq` compares
/// floats by IEEE equality; [`Table::identical`] compares them bit for bit.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    names: Vec<String>,
    columns: Vec<Column>,
}

impl Table {
    /// An empty table with no columns (and so no rows).
    pub fn new() -> Table {
        Table::default()
    }

    /// Adds a column at the right (builder style).
    ///
    /// # Panics
    /// If a column named `name` already exists, or if the column's length
    /// differs from that of the columns added before it.
    pub fn with(mut self, name: &str, column: Column) -> Table {
        assert!(
            !self.names.iter().any(|n| n == name),
            "Table::with: column `{name}` is already present"
        );
        if let Some(first) = self.columns.first() {
            assert_eq!(
                column.len(),
                first.len(),
                "Table::with: column `{name}` has {} rows but the table has {}",
                column.len(),
                first.len()
            );
        }
        self.names.push(name.to_owned());
        self.columns.push(column);
        self
    }

    /// Number of rows (0 for a table without columns).
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// Number of columns.
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// The column names, left to right.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column named `name`, if any.
    pub fn column(&self, name: &str) -> Option<&Column> {
        let i = self.names.iter().position(|n| n == name)?;
        Some(&self.columns[i])
    }

    /// The columns with their names, left to right.
    pub fn columns(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.names.iter().map(String::as_str).zip(&self.columns)
    }

    /// Whether both tables have the same names, column types and values, with
    /// floats compared bit for bit (see [`Column::identical`]).
    pub fn identical(&self, other: &Table) -> bool {
        self.names == other.names
            && self.columns.len() == other.columns.len()
            && self
                .columns
                .iter()
                .zip(&other.columns)
                .all(|(a, b)| a.identical(b))
    }

    /// The table as CSV: a header line and one line per row, `\n`-terminated,
    /// RFC 4180 quoting (see the module docs for the value forms).
    pub fn to_csv(&self) -> String {
        if self.columns.is_empty() {
            return String::new();
        }
        let alone = self.columns.len() == 1;
        let mut out = String::new();
        for (i, name) in self.names.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let start = out.len();
            push_csv_text(name, &mut out);
            if alone && out.len() == start {
                out.push_str("\"\"");
            }
        }
        out.push('\n');
        for row in 0..self.n_rows() {
            for (i, column) in self.columns.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                column.push_csv_field(row, alone, &mut out);
            }
            out.push('\n');
        }
        out
    }

    /// The table as a Parquet file, with the default [`ParquetOptions`].
    pub fn to_parquet(&self) -> Result<Vec<u8>, TableError> {
        self.to_parquet_with(&ParquetOptions::default())
    }

    /// The table as a Parquet file, with the given options.
    pub fn to_parquet_with(&self, options: &ParquetOptions) -> Result<Vec<u8>, TableError> {
        let mut out = Vec::new();
        self.write_parquet_with(&mut out, options)?;
        Ok(out)
    }

    /// Writes the table as a Parquet file to `w`, with the default
    /// [`ParquetOptions`]. `w` is flushed at the end.
    pub fn write_parquet<W: Write + Send>(&self, w: W) -> Result<(), TableError> {
        self.write_parquet_with(w, &ParquetOptions::default())
    }

    /// Writes the table as a Parquet file to `w`, with the given options.
    /// `w` is flushed at the end.
    pub fn write_parquet_with<W: Write + Send>(
        &self,
        w: W,
        options: &ParquetOptions,
    ) -> Result<(), TableError> {
        let mut stream = ParquetStream::with_options(self, w, options)?;
        stream.write(self)?;
        stream.finish()?;
        Ok(())
    }

    /// The Arrow schema the table is written with.
    fn arrow_schema(&self) -> Schema {
        Schema::new(
            self.columns()
                .map(|(name, column)| column.arrow_field(name))
                .collect::<Vec<_>>(),
        )
    }

    /// Rows `range` as an Arrow record batch.
    fn record_batch(
        &self,
        schema: &SchemaRef,
        range: Range<usize>,
    ) -> Result<RecordBatch, TableError> {
        let arrays = self
            .columns
            .iter()
            .map(|c| c.to_arrow(range.clone()))
            .collect();
        RecordBatch::try_new(schema.clone(), arrays).map_err(|source| TableError::Arrow {
            context: "building a record batch",
            source,
        })
    }
}

/// Settings for writing Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParquetOptions {
    /// Maximum rows per row group (default [`DEFAULT_ROW_GROUP_ROWS`]); must
    /// be at least 1. Rows fill row groups in order regardless of how they
    /// were split into batches.
    pub row_group_rows: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            row_group_rows: DEFAULT_ROW_GROUP_ROWS,
        }
    }
}

impl ParquetOptions {
    /// The pinned writer properties (see "Determinism" in the module docs).
    fn writer_properties(&self) -> Result<WriterProperties, TableError> {
        if self.row_group_rows == 0 {
            return Err(TableError::InvalidOptions {
                detail: "row_group_rows must be at least 1".to_owned(),
            });
        }
        Ok(WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_created_by(CREATED_BY.to_owned())
            .set_compression(Compression::SNAPPY)
            .set_dictionary_enabled(true)
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_bloom_filter_enabled(false)
            .set_max_row_group_row_count(Some(self.row_group_rows))
            .set_max_row_group_bytes(None)
            .build())
    }
}

/// Writes a Parquet file batch by batch, for tables too large to hold at once.
///
/// Every batch is a [`Table`] with the same column names and types as the
/// table the stream was created from. Rows fill row groups of up to
/// [`ParquetOptions::row_group_rows`] rows in the order written, so the row
/// groups do not depend on how the rows were split into batches; call
/// [`ParquetStream::end_row_group`] to close a row group early. Memory in use
/// is the current batch's Arrow copy (at most [`CONVERT_CHUNK_ROWS`] rows at a
/// time) plus the encoded pages of the row group in progress.
///
/// The file is complete only after [`ParquetStream::finish`]; a stream that is
/// dropped, or that returned an error, leaves an unreadable file behind.
pub struct ParquetStream<W: Write + Send> {
    writer: ArrowWriter<W>,
    schema: SchemaRef,
    rows_written: u64,
}

impl<W: Write + Send> ParquetStream<W> {
    /// Starts a file on `w` with the column names and types of `schema_from`
    /// and the default [`ParquetOptions`]. No rows of `schema_from` are
    /// written; pass it (or any batch) to [`ParquetStream::write`] for that.
    pub fn new(schema_from: &Table, w: W) -> Result<Self, TableError> {
        Self::with_options(schema_from, w, &ParquetOptions::default())
    }

    /// As [`ParquetStream::new`], with the given options.
    pub fn with_options(
        schema_from: &Table,
        w: W,
        options: &ParquetOptions,
    ) -> Result<Self, TableError> {
        if schema_from.n_columns() == 0 {
            return Err(TableError::NoColumns);
        }
        let schema = Arc::new(schema_from.arrow_schema());
        let props = options.writer_properties()?;
        let writer = ArrowWriter::try_new(w, schema.clone(), Some(props)).map_err(|source| {
            TableError::Parquet {
                context: "starting a Parquet file",
                source,
            }
        })?;
        Ok(ParquetStream {
            writer,
            schema,
            rows_written: 0,
        })
    }

    /// Appends the rows of `batch`, which must have the stream's column names
    /// and types in the same order.
    pub fn write(&mut self, batch: &Table) -> Result<(), TableError> {
        let batch_schema = batch.arrow_schema();
        if batch_schema.fields() != self.schema.fields() {
            return Err(TableError::SchemaMismatch {
                expected: describe_schema(&self.schema),
                found: describe_schema(&batch_schema),
            });
        }
        let n = batch.n_rows();
        let mut start = 0;
        while start < n {
            let end = n.min(start + CONVERT_CHUNK_ROWS);
            let record_batch = batch.record_batch(&self.schema, start..end)?;
            self.writer
                .write(&record_batch)
                .map_err(|source| TableError::Parquet {
                    context: "writing rows",
                    source,
                })?;
            start = end;
        }
        self.rows_written += n as u64;
        Ok(())
    }

    /// Closes the row group in progress (if it has rows), so the next rows
    /// start a new one.
    pub fn end_row_group(&mut self) -> Result<(), TableError> {
        self.writer.flush().map_err(|source| TableError::Parquet {
            context: "closing a row group",
            source,
        })
    }

    /// Rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.rows_written
    }

    /// Writes the last row group and the footer, flushes `w` and returns it.
    pub fn finish(self) -> Result<W, TableError> {
        let mut w = self
            .writer
            .into_inner()
            .map_err(|source| TableError::Parquet {
                context: "finishing the Parquet file",
                source,
            })?;
        w.flush().map_err(|source| TableError::Io {
            context: "flushing the Parquet output",
            source,
        })?;
        Ok(w)
    }
}

/// `name: type` pairs of a schema, for error messages.
fn describe_schema(schema: &Schema) -> String {
    let mut out = String::new();
    for (i, f) in schema.fields().iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let null = if f.is_nullable() { "?" } else { "" };
        write!(out, "{}: {}{null}", f.name(), f.data_type()).expect("writing to a String");
    }
    out
}

/// Reads a Parquet file (as written by this module) back into a [`Table`].
///
/// Column types map back as described in the module docs. The file is
/// decoded row group by row group; only the column chunks being decoded are
/// copied out of `bytes`.
pub fn read_parquet(bytes: &[u8]) -> Result<Table, TableError> {
    let file_len = bytes.len() as u64;
    let parquet_err = |context: &'static str| move |source| TableError::Parquet { context, source };

    let mut meta_decoder =
        ParquetMetaDataPushDecoder::try_new(file_len).map_err(parquet_err("reading the footer"))?;
    let metadata = loop {
        match meta_decoder
            .try_decode()
            .map_err(parquet_err("decoding the footer"))?
        {
            DecodeResult::NeedsData(ranges) => {
                let data = ranges
                    .iter()
                    .map(|r| file_range(bytes, r).map(|s| s.to_vec().into()))
                    .collect::<Result<Vec<_>, _>>()?;
                meta_decoder
                    .push_ranges(ranges, data)
                    .map_err(parquet_err("reading the footer"))?;
            }
            DecodeResult::Data(metadata) => break metadata,
            DecodeResult::Finished => {
                return Err(TableError::Malformed {
                    detail: "no metadata found in the footer".to_owned(),
                });
            }
        }
    };

    let builder = ParquetPushDecoderBuilder::try_new_decoder(Arc::new(metadata))
        .map_err(parquet_err("reading the schema"))?
        .with_batch_size(READ_BATCH_ROWS);
    let schema = builder.schema().clone();
    let mut table = Table::new();
    for field in schema.fields() {
        if table.column(field.name()).is_some() {
            return Err(TableError::Malformed {
                detail: format!("column name `{}` appears twice", field.name()),
            });
        }
        table.names.push(field.name().clone());
        table.columns.push(Column::for_field(field)?);
    }
    let mut decoder = builder.build().map_err(parquet_err("starting to decode"))?;
    loop {
        match decoder.try_decode().map_err(parquet_err("decoding rows"))? {
            DecodeResult::NeedsData(ranges) => {
                let data = ranges
                    .iter()
                    .map(|r| file_range(bytes, r).map(|s| s.to_vec().into()))
                    .collect::<Result<Vec<_>, _>>()?;
                decoder
                    .push_ranges(ranges, data)
                    .map_err(parquet_err("reading column chunks"))?;
            }
            DecodeResult::Data(batch) => {
                for ((name, column), array) in table
                    .names
                    .iter()
                    .zip(&mut table.columns)
                    .zip(batch.columns())
                {
                    column.append_arrow(name, array.as_ref())?;
                }
            }
            DecodeResult::Finished => break,
        }
    }
    Ok(table)
}

/// The bytes of `range` within the file, or an error if it lies outside.
fn file_range<'a>(bytes: &'a [u8], range: &Range<u64>) -> Result<&'a [u8], TableError> {
    usize::try_from(range.start)
        .ok()
        .zip(usize::try_from(range.end).ok())
        .and_then(|(start, end)| bytes.get(start..end))
        .ok_or_else(|| TableError::Malformed {
            detail: format!(
                "the reader asked for bytes {}..{} of a {}-byte file",
                range.start,
                range.end,
                bytes.len()
            ),
        })
}

/// Errors from writing or reading tables.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The Parquet library failed (this includes I/O errors of the writer).
    #[error("Parquet error while {context}")]
    Parquet {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: ParquetError,
    },
    /// The Arrow library failed.
    #[error("Arrow error while {context}")]
    Arrow {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: ArrowError,
    },
    /// An I/O error outside the Parquet library.
    #[error("I/O error while {context}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A batch given to [`ParquetStream::write`] has other columns than the stream.
    #[error("batch columns [{found}] do not match the stream's columns [{expected}]")]
    SchemaMismatch {
        /// The stream's columns.
        expected: String,
        /// The batch's columns.
        found: String,
    },
    /// A Parquet column has a type that no [`Column`] variant holds.
    #[error("column `{column}` has Arrow type {data_type}, which a Table cannot hold")]
    UnsupportedType {
        /// The column's name.
        column: String,
        /// Its Arrow type.
        data_type: String,
    },
    /// A Parquet column read as a non-nullable [`Column`] variant holds nulls.
    #[error("column `{column}` holds nulls, which a {kind} column cannot")]
    UnexpectedNull {
        /// The column's name.
        column: String,
        /// The [`Column::kind`] it maps to.
        kind: &'static str,
    },
    /// Parquet cannot hold a table without columns.
    #[error("a table without columns cannot be written as Parquet")]
    NoColumns,
    /// A [`ParquetOptions`] value is out of range.
    #[error("invalid Parquet options: {detail}")]
    InvalidOptions {
        /// What is wrong.
        detail: String,
    },
    /// The file is not one this module can read.
    #[error("malformed Parquet file: {detail}")]
    Malformed {
        /// What is wrong.
        detail: String,
    },
}

/// Appends a value's `Display` form.
fn push_display(value: impl std::fmt::Display, out: &mut String) {
    write!(out, "{value}").expect("writing to a String cannot fail");
}

/// Appends text as one CSV field, quoted if it holds `,`, `"`, CR or LF.
fn push_csv_text(text: &str, out: &mut String) {
    if text.contains([',', '"', '\r', '\n']) {
        out.push('"');
        for ch in text.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
        out.push('"');
    } else {
        out.push_str(text);
    }
}

/// Formats microseconds since the Unix epoch as an RFC 3339 UTC timestamp,
/// e.g. `2026-11-02T05:00:00Z`, or `1969-12-31T23:59:59.999999Z` when the
/// sub-second part is non-zero. Years outside 0000..=9999 use ISO 8601's
/// expanded form (`+10000-...`, `-0001-...`). Defined for every `i64`.
pub fn format_timestamp_micros(micros: i64) -> String {
    let mut out = String::with_capacity(27);
    push_timestamp_micros(micros, &mut out);
    out
}

fn push_timestamp_micros(micros: i64, out: &mut String) {
    let secs = micros.div_euclid(1_000_000);
    let sub = micros.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sec_of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (sec_of_day / 3600, sec_of_day % 3600 / 60, sec_of_day % 60);
    let result = if (0..=9999).contains(&year) {
        write!(out, "{year:04}")
    } else if year < 0 {
        write!(out, "-{:04}", year.unsigned_abs())
    } else {
        write!(out, "+{year}")
    }
    .and_then(|()| write!(out, "-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}"))
    .and_then(|()| {
        if sub == 0 {
            Ok(())
        } else {
            write!(out, ".{sub:06}")
        }
    });
    result.expect("writing to a String cannot fail");
    out.push('Z');
}

/// The proleptic Gregorian `(year, month, day)` of a day count since
/// 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // day is in 1..=31 and month in 1..=12, so the casts are lossless.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Microseconds since the epoch of a UTC civil date and time.
    fn ts(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64, us: i64) -> i64 {
        ((days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000) + us
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
    /// `days_from_civil`), the inverse of `civil_from_days`; used to build
    /// expected values. `month` is 1..=12 and `day` 1..=31.
    fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400; // [0, 399]
        let m = i64::from(month);
        let mp = if m > 2 { m - 3 } else { m + 9 }; // March = 0
        let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
        era * 146_097 + doe - 719_468
    }

    /// An empty column of the same variant.
    fn empty_like(column: &Column) -> Column {
        match column {
            Column::Text(_) => Column::Text(Vec::new()),
            Column::I64(_) => Column::I64(Vec::new()),
            Column::U64(_) => Column::U64(Vec::new()),
            Column::F64(_) => Column::F64(Vec::new()),
            Column::Bool(_) => Column::Bool(Vec::new()),
            Column::TimestampMicros(_) => Column::TimestampMicros(Vec::new()),
            Column::OptF64(_) => Column::OptF64(Vec::new()),
        }
    }

    /// A table with every column type and awkward values.
    fn every_type() -> Table {
        let nan_payload = f64::from_bits(0x7ff8_0000_0000_beef);
        Table::new()
            .with(
                "text",
                Column::Text(vec![
                    String::new(),
                    "a,b".into(),
                    "say \"hi\"".into(),
                    "line1\nline2\r\nline3".into(),
                    "ünïcødé ✓ 日本語 🚀".into(),
                    " padded ".into(),
                    "\u{0}nul".into(),
                ]),
            )
            .with(
                "i64",
                Column::I64(vec![0, -1, 1, i64::MIN, i64::MAX, -42, 1 << 53]),
            )
            .with(
                "u64",
                Column::U64(vec![
                    0,
                    1,
                    u64::MAX,
                    u64::MAX - 1,
                    1 << 63,
                    42,
                    (1 << 63) - 1,
                ]),
            )
            .with(
                "f64",
                Column::F64(vec![
                    0.0,
                    -0.0,
                    f64::NAN,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::MIN_POSITIVE,
                    5e-324,
                ]),
            )
            .with(
                "bool",
                Column::Bool(vec![true, false, false, true, true, false, true]),
            )
            .with(
                "ts",
                Column::TimestampMicros(vec![
                    0,
                    -1,
                    ts(2026, 11, 2, 5, 0, 0, 0),
                    ts(1900, 3, 1, 12, 30, 15, 123_456),
                    ts(2024, 2, 29, 23, 59, 59, 999_999),
                    i64::MIN,
                    i64::MAX,
                ]),
            )
            .with(
                "opt_f64",
                Column::OptF64(vec![
                    None,
                    Some(1.5),
                    Some(-0.0),
                    Some(nan_payload),
                    None,
                    Some(f64::MAX),
                    Some(-1e-300),
                ]),
            )
    }

    #[test]
    fn parquet_round_trip_keeps_every_value() {
        let table = every_type();
        let bytes = table.to_parquet().unwrap();
        let back = read_parquet(&bytes).unwrap();
        assert_eq!(back.names(), table.names());
        for ((name, want), (_, got)) in table.columns().zip(back.columns()) {
            assert!(
                want.identical(got),
                "column {name} differs:\nwant {want:?}\ngot  {got:?}"
            );
        }
        assert!(back.identical(&table));
    }

    #[test]
    fn identical_tells_nan_and_signed_zero_apart() {
        let a = Table::new().with("x", Column::F64(vec![0.0, f64::NAN]));
        let b = Table::new().with("x", Column::F64(vec![-0.0, f64::NAN]));
        assert!(a.identical(&a.clone()));
        assert!(!a.identical(&b));
        assert_ne!(a, a.clone(), "PartialEq follows IEEE: NaN != NaN");
        let c = Table::new().with("x", Column::OptF64(vec![Some(f64::NAN), None]));
        let d = Table::new().with("x", Column::OptF64(vec![None, Some(f64::NAN)]));
        assert!(c.identical(&c.clone()));
        assert!(!c.identical(&d));
    }

    #[test]
    fn parquet_round_trip_of_empty_and_single_row_tables() {
        let empty = every_type();
        let empty = Table {
            names: empty.names.clone(),
            columns: empty.columns.iter().map(empty_like).collect(),
        };
        let back = read_parquet(&empty.to_parquet().unwrap()).unwrap();
        assert_eq!(back.n_rows(), 0);
        assert!(back.identical(&empty));

        let one = Table::new().with("only", Column::Text(vec!["x".into()]));
        assert!(
            read_parquet(&one.to_parquet().unwrap())
                .unwrap()
                .identical(&one)
        );
    }

    #[test]
    fn parquet_file_has_the_documented_types() {
        let bytes = every_type().to_parquet().unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
        assert!(text.contains(CREATED_BY));
        assert!(!text.contains("parquet-rs"), "created_by must be pinned");

        let mut decoder = ParquetMetaDataPushDecoder::try_new(bytes.len() as u64).unwrap();
        decoder
            .push_range(0..bytes.len() as u64, bytes.clone().into())
            .unwrap();
        let DecodeResult::Data(meta) = decoder.try_decode().unwrap() else {
            panic!("metadata not decoded")
        };
        assert_eq!(meta.file_metadata().created_by(), Some(CREATED_BY));
        let schema = meta.file_metadata().schema_descr();
        let logical = |i: usize| format!("{:?}", schema.column(i).logical_type_ref());
        assert!(logical(0).contains("String"), "{}", logical(0));
        assert!(logical(2).contains("bit_width: 64") && logical(2).contains("is_signed: false"));
        let ts = logical(5);
        assert!(
            ts.contains("is_adjusted_to_u_t_c: true") && ts.contains("MICROS"),
            "{ts}"
        );
        let rg = meta.row_group(0);
        let text_chunk = rg.column(0);
        assert!(
            text_chunk
                .encodings()
                .any(|e| format!("{e:?}").contains("DICTIONARY")),
            "text must be dictionary-encoded"
        );
        assert_eq!(format!("{:?}", text_chunk.compression()), "SNAPPY");
        assert!(rg.column(1).statistics().is_some(), "statistics must be on");
    }

    #[test]
    fn to_parquet_is_deterministic() {
        let table = every_type();
        let a = table.to_parquet().unwrap();
        let b = table.to_parquet().unwrap();
        assert_eq!(a, b);
        let mut c = Vec::new();
        table.clone().write_parquet(&mut c).unwrap();
        assert_eq!(a, c);
    }

    /// The file does not depend on how the rows were split into batches.
    #[test]
    fn batching_does_not_change_the_bytes() {
        let big = sequence_table(0..10_000);
        let options = ParquetOptions {
            row_group_rows: 4096,
        };
        let whole = big.to_parquet_with(&options).unwrap();
        let mut stream = ParquetStream::with_options(&big, Vec::new(), &options).unwrap();
        for start in (0..10_000).step_by(777) {
            stream
                .write(&sequence_table(start..(start + 777).min(10_000)))
                .unwrap();
        }
        assert_eq!(stream.finish().unwrap(), whole);
    }

    /// A table longer than two conversion chunks, crossing row groups too.
    #[test]
    fn tables_longer_than_a_conversion_chunk_round_trip() {
        let n = 2 * CONVERT_CHUNK_ROWS + 1234;
        let table = sequence_table(0..n);
        let options = ParquetOptions {
            row_group_rows: 100_000,
        };
        let back = read_parquet(&table.to_parquet_with(&options).unwrap()).unwrap();
        assert_eq!(back.n_rows(), n);
        assert!(back.identical(&table));
    }

    #[test]
    fn row_groups_follow_the_option() {
        let table = sequence_table(0..10);
        let options = ParquetOptions { row_group_rows: 4 };
        let bytes = table.to_parquet_with(&options).unwrap();
        let mut decoder = ParquetMetaDataPushDecoder::try_new(bytes.len() as u64).unwrap();
        decoder
            .push_range(0..bytes.len() as u64, bytes.clone().into())
            .unwrap();
        let DecodeResult::Data(meta) = decoder.try_decode().unwrap() else {
            panic!("metadata not decoded")
        };
        let rows: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(rows, [4, 4, 2]);
        assert!(read_parquet(&bytes).unwrap().identical(&table));
        assert!(matches!(
            table.to_parquet_with(&ParquetOptions { row_group_rows: 0 }),
            Err(TableError::InvalidOptions { .. })
        ));
    }

    /// Rows `range` of a three-column event-log-like table.
    fn sequence_table(range: Range<usize>) -> Table {
        let base = ts(2026, 11, 2, 0, 0, 0, 0);
        Table::new()
            .with(
                "at",
                Column::TimestampMicros(range.clone().map(|i| base + i as i64 * 1_000).collect()),
            )
            .with(
                "campaign",
                Column::Text(
                    range
                        .clone()
                        .map(|i| format!("campaign-{}", i % 997))
                        .collect(),
                ),
            )
            .with(
                "price",
                Column::F64(range.map(|i| (i % 1000) as f64 * 0.01).collect()),
            )
    }

    #[test]
    fn csv_matches_hand_written_text() {
        let table = Table::new()
            .with("id", Column::I64(vec![1, -2, i64::MIN]))
            .with(
                "name",
                Column::Text(vec!["plain".into(), "a,b".into(), "say \"hi\"\nbye".into()]),
            )
            .with(
                "at",
                Column::TimestampMicros(vec![
                    ts(2026, 11, 2, 5, 0, 0, 0),
                    -1,
                    ts(2024, 2, 29, 12, 34, 56, 500_000),
                ]),
            )
            .with(
                "cpm, usd",
                Column::OptF64(vec![Some(1.5), None, Some(-0.0)]),
            )
            .with("x", Column::F64(vec![0.1, 1e21, f64::NAN]))
            .with("ok", Column::Bool(vec![true, false, true]))
            .with("n", Column::U64(vec![0, u64::MAX, 7]));
        let expected = "\
id,name,at,\"cpm, usd\",x,ok,n
1,plain,2026-11-02T05:00:00Z,1.5,0.1,true,0
-2,\"a,b\",1969-12-31T23:59:59.999999Z,,1000000000000000000000,false,18446744073709551615
-9223372036854775808,\"say \"\"hi\"\"
bye\",2024-02-29T12:34:56.500000Z,-0,NaN,true,7
";
        assert_eq!(table.to_csv(), expected);
    }

    #[test]
    fn csv_edge_cases() {
        assert_eq!(Table::new().to_csv(), "");
        let no_rows = Table::new()
            .with("a", Column::I64(vec![]))
            .with("b", Column::Bool(vec![]));
        assert_eq!(no_rows.to_csv(), "a,b\n");
        let single = Table::new().with("s", Column::Text(vec![String::new(), "x".into()]));
        assert_eq!(single.to_csv(), "s\n\"\"\nx\n");
        let single_null = Table::new().with("v", Column::OptF64(vec![None, Some(2.0)]));
        assert_eq!(single_null.to_csv(), "v\n\"\"\n2\n");
        let two = Table::new()
            .with("s", Column::Text(vec![String::new()]))
            .with("v", Column::OptF64(vec![None]));
        assert_eq!(two.to_csv(), "s,v\n,\n");
        let cr = Table::new().with("s", Column::Text(vec!["a\rb".into()]));
        assert_eq!(cr.to_csv(), "s\n\"a\rb\"\n");
    }

    #[test]
    fn timestamps_format_as_rfc3339() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1, "1970-01-01T00:00:00.000001Z"),
            (-1, "1969-12-31T23:59:59.999999Z"),
            (-1_000_000, "1969-12-31T23:59:59Z"),
            (ts(2026, 11, 2, 5, 0, 0, 0), "2026-11-02T05:00:00Z"),
            (ts(2000, 2, 29, 0, 0, 0, 10), "2000-02-29T00:00:00.000010Z"),
            (ts(1900, 2, 28, 23, 59, 59, 0), "1900-02-28T23:59:59Z"),
            (ts(0, 3, 1, 0, 0, 0, 0), "0000-03-01T00:00:00Z"),
            (ts(-1, 12, 31, 0, 0, 0, 0), "-0001-12-31T00:00:00Z"),
            (ts(10_000, 1, 1, 0, 0, 0, 0), "+10000-01-01T00:00:00Z"),
            (i64::MAX, "+294247-01-10T04:00:54.775807Z"),
            (i64::MIN, "-290308-12-21T19:59:05.224192Z"),
        ];
        for (micros, want) in cases {
            assert_eq!(format_timestamp_micros(micros), want, "micros = {micros}");
        }
        assert_eq!(ts(2026, 11, 2, 5, 0, 0, 0), 1_793_595_600_000_000);
    }

    #[test]
    fn civil_conversions_agree_day_by_day() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        let month_len = |y: i64, m: u32| match m {
            2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut expected = civil_from_days(-800_000);
        for days in -800_000..800_000 {
            let got = civil_from_days(days);
            assert_eq!(got, expected, "days = {days}");
            assert_eq!(days_from_civil(got.0, got.1, got.2), days);
            let (y, m, d) = got;
            expected = if d < month_len(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn stream_writes_batches_in_order() {
        let batches = [
            sequence_table(0..5),
            sequence_table(5..5),
            sequence_table(5..12),
            sequence_table(12..20),
        ];
        let mut stream = ParquetStream::with_options(
            &batches[0],
            Vec::new(),
            &ParquetOptions { row_group_rows: 6 },
        )
        .unwrap();
        for batch in &batches {
            stream.write(batch).unwrap();
        }
        stream.end_row_group().unwrap();
        assert_eq!(stream.rows_written(), 20);
        let bytes = stream.finish().unwrap();
        let back = read_parquet(&bytes).unwrap();
        assert!(back.identical(&sequence_table(0..20)));
    }

    #[test]
    fn stream_rejects_a_batch_with_other_columns() {
        let first = sequence_table(0..3);
        let mut stream = ParquetStream::new(&first, Vec::new()).unwrap();
        let renamed = Table::new().with("other", Column::I64(vec![1]));
        let err = stream.write(&renamed).unwrap_err();
        assert!(matches!(err, TableError::SchemaMismatch { .. }), "{err}");
        let retyped = Table::new()
            .with("at", Column::I64(vec![1]))
            .with("campaign", Column::Text(vec!["c".into()]))
            .with("price", Column::F64(vec![1.0]));
        assert!(matches!(
            stream.write(&retyped),
            Err(TableError::SchemaMismatch { .. })
        ));
        let nullable = Table::new()
            .with("at", Column::TimestampMicros(vec![1]))
            .with("campaign", Column::Text(vec!["c".into()]))
            .with("price", Column::OptF64(vec![Some(1.0)]));
        assert!(matches!(
            stream.write(&nullable),
            Err(TableError::SchemaMismatch { .. })
        ));
    }

    /// A writer that fails after `left` bytes.
    struct FailingWriter {
        left: usize,
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if buf.len() > self.left {
                return Err(std::io::Error::other("disk full"));
            }
            self.left -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn io_errors_are_returned_not_panicked() {
        let table = sequence_table(0..50_000);
        let err = table
            .write_parquet(FailingWriter { left: 1000 })
            .unwrap_err();
        assert!(matches!(err, TableError::Parquet { .. }), "{err}");
        let chain = format!("{err}: {}", std::error::Error::source(&err).unwrap());
        assert!(chain.contains("disk full"), "{chain}");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(read_parquet(b"").is_err());
        assert!(read_parquet(b"not a parquet file at all").is_err());
        let mut bytes = sequence_table(0..100).to_parquet().unwrap();
        let n = bytes.len();
        bytes.truncate(n - 10);
        assert!(read_parquet(&bytes).is_err());
        assert!(matches!(
            Table::new().to_parquet(),
            Err(TableError::NoColumns)
        ));
    }

    /// Writes one Arrow array with parquet's own writer, for files this
    /// module would not write.
    fn foreign_file(field: Field, array: ArrayRef) -> Vec<u8> {
        let batch = RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![array]).unwrap();
        let mut out = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        out
    }

    #[test]
    fn foreign_types_and_nulls_are_clear_errors() {
        let int32 = foreign_file(
            Field::new("small", DataType::Int32, false),
            Arc::new(arrow_array::Int32Array::from(vec![1, 2])),
        );
        let err = read_parquet(&int32).unwrap_err();
        assert!(
            matches!(&err, TableError::UnsupportedType { column, .. } if column == "small"),
            "{err}"
        );
        let null_int = foreign_file(
            Field::new("n", DataType::Int64, true),
            Arc::new(Int64Array::from(vec![Some(1), None])),
        );
        let err = read_parquet(&null_int).unwrap_err();
        assert!(
            matches!(&err, TableError::UnexpectedNull { column, kind: "i64" } if column == "n"),
            "{err}"
        );
        let nullable_without_nulls = foreign_file(
            Field::new("n", DataType::Int64, true),
            Arc::new(Int64Array::from(vec![Some(1), Some(2)])),
        );
        let back = read_parquet(&nullable_without_nulls).unwrap();
        assert_eq!(back.column("n"), Some(&Column::I64(vec![1, 2])));
        let naive_ts = foreign_file(
            Field::new("t", DataType::Timestamp(TimeUnit::Microsecond, None), false),
            Arc::new(TimestampMicrosecondArray::from(vec![1])),
        );
        assert!(matches!(
            read_parquet(&naive_ts),
            Err(TableError::UnsupportedType { .. })
        ));
    }

    #[test]
    #[should_panic(expected = "has 2 rows but the table has 1")]
    fn with_rejects_a_length_mismatch() {
        let _ = Table::new()
            .with("a", Column::I64(vec![1]))
            .with("b", Column::I64(vec![1, 2]));
    }

    #[test]
    #[should_panic(expected = "column `a` is already present")]
    fn with_rejects_a_repeated_name() {
        let _ = Table::new()
            .with("a", Column::I64(vec![1]))
            .with("a", Column::Bool(vec![true]));
    }

    /// Peak resident set size of this process in KiB (`VmHWM`), Linux only.
    fn peak_rss_kib() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    const BIG_ROWS: usize = 3_000_000;
    const BIG_BATCH: usize = 100_000;

    /// Streams 3 million rows in batches of 100k to a file and prints the
    /// peak RSS before and after. Run alone, so no other test raises the peak:
    /// `cargo test --release big_stream -- --ignored --nocapture`.
    #[test]
    #[ignore = "slow; measures memory, run by hand"]
    fn big_stream_peak_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.parquet");
        let before = peak_rss_kib();
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut stream = ParquetStream::new(&sequence_table(0..0), file).unwrap();
        for start in (0..BIG_ROWS).step_by(BIG_BATCH) {
            stream
                .write(&sequence_table(start..start + BIG_BATCH))
                .unwrap();
        }
        stream.finish().unwrap();
        let after = peak_rss_kib();
        let size = std::fs::metadata(&path).unwrap().len();
        println!(
            "streamed {BIG_ROWS} rows in batches of {BIG_BATCH}: file {size} bytes, \
             VmHWM before {before:?} KiB, after {after:?} KiB"
        );
        let back = read_parquet(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(back.n_rows(), BIG_ROWS);
        let Some(Column::Text(c)) = back.column("campaign") else {
            panic!("campaign column missing")
        };
        assert_eq!(
            c[BIG_ROWS - 1],
            format!("campaign-{}", (BIG_ROWS - 1) % 997)
        );
    }

    /// For comparison with `big_stream_peak_memory`: builds the same 3 million
    /// rows as one table and writes it with `write_parquet`.
    #[test]
    #[ignore = "slow; measures memory, run by hand"]
    fn big_table_peak_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.parquet");
        let before = peak_rss_kib();
        let table = sequence_table(0..BIG_ROWS);
        let built = peak_rss_kib();
        let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        table.write_parquet(file).unwrap();
        let after = peak_rss_kib();
        println!(
            "one table of {BIG_ROWS} rows: VmHWM before {before:?} KiB, \
             after building {built:?} KiB, after writing {after:?} KiB"
        );
    }

    /// Writes `every_type()` as Parquet to the path in `ADSIM_TABLE_SAMPLE`
    /// (default `/tmp/adsim_table_sample.parquet`) for the pyarrow check.
    #[test]
    #[ignore = "writes a sample file for the pyarrow interoperability check"]
    fn write_sample_for_pyarrow() {
        let path = std::env::var("ADSIM_TABLE_SAMPLE")
            .unwrap_or_else(|_| "/tmp/adsim_table_sample.parquet".to_owned());
        std::fs::write(&path, every_type().to_parquet().unwrap()).unwrap();
        println!("wrote {path}");
    }

    /// Reads the file pyarrow wrote back from that sample (path in
    /// `ADSIM_TABLE_PYARROW`) and checks it holds the same values; run by hand.
    #[test]
    #[ignore = "needs a file written by pyarrow"]
    fn read_file_written_by_pyarrow() {
        let path = std::env::var("ADSIM_TABLE_PYARROW")
            .unwrap_or_else(|_| "/tmp/adsim_table_pyarrow.parquet".to_owned());
        let back = read_parquet(&std::fs::read(&path).unwrap()).unwrap();
        assert!(back.identical(&every_type()), "{back:?}");
        println!("{path}: {} rows, identical to every_type()", back.n_rows());
    }
}
