//! A TOML document tree that remembers where every value came from.
//!
//! This is the low layer of scenario loading. [`Node::parse_document`] turns
//! the scenario file into a tree of [`Node`]s, each tagged with its
//! [`Origin`]; [`Node::apply_override`] then applies `--set path=value`
//! overrides, tagging what they touch with the override that did it. Finally
//! [`Node::deserialize`] runs serde over the tree itself (not over a
//! `toml::Value` or re-rendered text, both of which would lose the locations),
//! so that a bad value is reported as a [`Problem`] naming the line and column
//! (or the `--set` flag) and the dotted path of the offending field.

use std::fmt;

use serde::de::value::{MapDeserializer, StrDeserializer};
use serde::de::{
    self, DeserializeSeed, EnumAccess, Expected, MapAccess, SeqAccess, Unexpected, VariantAccess,
    Visitor,
};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Where a scenario value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A position in the scenario file: 1-based line and column, the column
    /// counted in chars (not bytes), as editors show it.
    #[allow(missing_docs)]
    File { line: usize, column: usize },
    /// The `index`-th `--set` override (0-based), with its original text
    /// `path=value`, so a report can quote the flag the user typed.
    #[allow(missing_docs)]
    Override { index: usize, text: String },
}

impl fmt::Display for Origin {
    /// Renders ``line 12, column 5`` or ``--set #2 `foo=bar` ``. The override
    /// number is 1-based here (the first `--set` is `#1`), because it is read
    /// by people counting flags on a command line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { line, column } => write!(f, "line {line}, column {column}"),
            Self::Override { index, text } => {
                write!(f, "--set #{} `{text}`", index.saturating_add(1))
            }
        }
    }
}

/// A value together with the place it came from.
#[derive(Clone, Debug)]
pub struct Node {
    /// The value; containers hold further nodes.
    pub value: Value,
    /// Where the value starts; for a `[table]` that is its header, for the
    /// document root line 1, column 1.
    pub origin: Origin,
}

/// A TOML value whose children are [`Node`]s, so every level keeps its origin.
#[derive(Clone, Debug)]
#[allow(missing_docs)] // the TOML types, named as in `toml::Value`
pub enum Value {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    Datetime(toml::value::Datetime),
    Array(Vec<Node>),
    /// Entries in file order; each with the origin of its key.
    Table(Vec<Entry>),
}

/// One `key = value` pair of a table. The key keeps its own origin so that an
/// unknown key can be reported where the key is written, not at its value.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The key, unquoted.
    pub key: String,
    /// Where the key is written (for a dotted key, this segment of it).
    pub key_origin: Origin,
    /// The value under the key.
    pub node: Node,
}

/// One problem found while loading.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// Where the problem is.
    pub origin: Origin,
    /// Dotted path of the offending value, e.g. `line_items.3.cpm`: array
    /// indices are 0-based numbers, and the document root is `""`.
    pub path: String,
    /// Lowercase, without a trailing period, saying what was expected and
    /// what was found, e.g. `expected a number, found a string "abc"`.
    pub message: String,
}

impl fmt::Display for Problem {
    /// Renders ``line 3, column 7: `items.1.cpm`: expected ...``; the path
    /// part is left out for the document root.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(f, "{}: `{}`: {}", self.origin, self.path, self.message)
        }
    }
}

impl std::error::Error for Problem {}

fn problem(origin: &Origin, path: &str, message: impl Into<String>) -> Problem {
    Problem {
        origin: origin.clone(),
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Deepest path an override may name; matches the nesting limit of the
/// `toml` parser, and keeps a hostile `--set a.a.a...=1` from building a tree
/// too deep to drop without overflowing the stack.
const MAX_OVERRIDE_DEPTH: usize = 80;

/// Struct name and field name through which `toml_datetime` (de)serializes a
/// [`toml::value::Datetime`]: a one-entry map from this field to the RFC 3339
/// text. They are private to that crate, so they are repeated here.
const DATETIME_NAME: &str = "$__toml_private_Datetime";
const DATETIME_FIELD: &str = "$__toml_private_datetime";

impl Node {
    /// Parses a TOML document into a tree whose nodes and keys carry their
    /// file positions.
    ///
    /// # Errors
    /// Every problem in the document, not just the first, so that a user can
    /// fix them in one go: each syntax error (the parser recovers and goes on)
    /// with path `""`, and each integer too large for an `i64` at its value
    /// and path. They are sorted by position; an error the parser gives no
    /// position for (its nesting limit) is put at line 1, column 1.
    pub fn parse_document(text: &str) -> Result<Self, Vec<Problem>> {
        let locator = Locator::new(text);
        let origin_at = |offset| locator.origin(offset);
        let (table, errors) = DeTable::parse_recoverable(text);
        let mut problems: Vec<(usize, Problem)> = errors
            .iter()
            .map(|e| {
                let offset = e.span().map_or(0, |s| s.start);
                (offset, problem(&origin_at(offset), "", e.message()))
            })
            .collect();
        let span = table.span();
        let root = Spanned::new(span, DeValue::Table(table.into_inner()));
        let node = convert(root, "", &origin_at, &mut problems);
        if problems.is_empty() {
            Ok(node)
        } else {
            problems.sort_by_key(|(offset, _)| *offset);
            Err(problems.into_iter().map(|(_, p)| p).collect())
        }
    }

    /// Applies the `index`-th `--set` override, `assignment` being its text
    /// `a.b.0.c=value`.
    ///
    /// The value is parsed as a TOML value (integer, float, boolean, quoted
    /// string, array, inline table, datetime); text that is not valid TOML is
    /// taken as a bare string, so `name=foo` and `duration=6h` work without
    /// shell-unfriendly quotes. Whitespace around path and value is ignored.
    ///
    /// The path is split at dots. In an array a segment must be an in-range
    /// index (appending is not allowed: a half-specified new element could
    /// only fail later); in a table it is a key, created if missing, together
    /// with any tables below it. The new value and the created tables get
    /// [`Origin::Override`], so later errors about them point at the flag.
    ///
    /// # Errors
    /// A [`Problem`] at [`Origin::Override`] for a malformed assignment (no
    /// `=`, an empty path segment, a path over 80 levels), for indexing into
    /// something that is not a table or an array, or for an index that is not
    /// a number or out of range. The tree is then left unchanged.
    pub fn apply_override(&mut self, index: usize, assignment: &str) -> Result<(), Problem> {
        let text = assignment.to_owned();
        let origin = Origin::Override { index, text };
        let fail = |path: &str, message: String| Err(problem(&origin, path, message));
        let Some((path, raw)) = assignment.split_once('=') else {
            return fail("", "malformed override: expected `path=value`".into());
        };
        let path = path.trim();
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return fail(
                path,
                format!("malformed override: empty segment in path `{path}`"),
            );
        }
        if segments.len() > MAX_OVERRIDE_DEPTH {
            return fail(
                path,
                format!("override path is deeper than {MAX_OVERRIDE_DEPTH} levels"),
            );
        }
        let value = parse_override_value(raw.trim(), &origin);

        // Steps fail only on pre-existing nodes: once a table has been created
        // every later step lands in a fresh table, so an error never leaves
        // half-created tables behind.
        let mut node = self;
        let mut walked = String::new();
        for segment in segments {
            let parent = walked.clone();
            walked = join(&walked, segment);
            node = match &mut node.value {
                Value::Table(entries) => table_slot(entries, segment, &origin),
                Value::Array(items) => {
                    let len = items.len();
                    let slot = array_index(segment).and_then(|i| items.get_mut(i));
                    let Some(slot) = slot else {
                        let message = if array_index(segment).is_some() {
                            format!("index {segment} is out of range for an array of length {len}")
                        } else {
                            format!("`{segment}` is not an array index (`{parent}` is an array)")
                        };
                        return fail(&walked, message);
                    };
                    slot
                }
                other => {
                    let found = Found(unexpected(other));
                    let message = format!(
                        "expected a table or an array to look up `{segment}` in, found {found}"
                    );
                    return fail(&parent, message);
                }
            };
        }
        *node = value;
        Ok(())
    }

    /// Looks a node up by dotted path, as in [`Problem::path`] (`""` is this
    /// node itself).
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&Self> {
        if path.is_empty() {
            return Some(self);
        }
        path.split('.')
            .try_fold(self, |node, segment| match &node.value {
                Value::Table(entries) => entries.iter().find(|e| e.key == segment).map(|e| &e.node),
                Value::Array(items) => items.get(array_index(segment)?),
                _ => None,
            })
    }

    /// Deserializes this node into `T`, typically a derived type with
    /// `#[serde(deny_unknown_fields)]`. `path` is this node's own dotted path,
    /// the prefix of the paths in errors.
    ///
    /// Integers are accepted where floats are expected (`cpm = 25`), and a
    /// datetime where a string is expected (as its RFC 3339 text).
    ///
    /// # Errors
    /// The first problem serde runs into, at the most precise place known: a
    /// wrong type or invalid value at that value; an unknown field at its
    /// key, with path `parent.key`; a missing field at the table lacking it,
    /// with path `parent.field`. Internally tagged and untagged enums buffer
    /// their table before choosing a variant, so errors inside them point at
    /// that table.
    pub fn deserialize<T: de::DeserializeOwned>(&self, path: &str) -> Result<T, Problem> {
        T::deserialize(NodeDe { node: self, path }).map_err(|e| match e.location {
            Some((origin, path)) => Problem {
                origin,
                path,
                message: e.message,
            },
            None => problem(&self.origin, path, e.message),
        })
    }
}

/// Maps byte offsets to 1-based line and char column.
struct Locator<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        let newlines = text.match_indices('\n').map(|(i, _)| i + 1);
        let line_starts = std::iter::once(0).chain(newlines).collect();
        Self { text, line_starts }
    }

    fn origin(&self, offset: usize) -> Origin {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        // Count chars by counting bytes that are not UTF-8 continuation bytes,
        // which stays correct even if a span ends inside a character.
        let bytes = self.text.as_bytes().get(start..offset).unwrap_or_default();
        let column = bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
        // `line` is at least 1: the first line start, 0, is <= any offset.
        Origin::File { line, column }
    }
}

/// Converts the parser's tree, sorting table entries back into file order
/// (the `toml` map type sorts keys unless `preserve_order` is enabled).
/// Numbers that do not convert are recorded in `problems` and become `0`.
fn convert(
    value: Spanned<DeValue<'_>>,
    path: &str,
    origin_at: &dyn Fn(usize) -> Origin,
    problems: &mut Vec<(usize, Problem)>,
) -> Node {
    let start = value.span().start;
    let origin = origin_at(start);
    let mut fail = |message: String| problems.push((start, problem(&origin, path, message)));
    let value = match value.into_inner() {
        DeValue::String(s) => Value::String(s.into_owned()),
        DeValue::Integer(i) => Value::Integer(
            i64::from_str_radix(i.as_str(), i.radix()).unwrap_or_else(|_| {
                fail(format!(
                    "integer {i} does not fit in a 64-bit signed integer"
                ));
                0
            }),
        ),
        DeValue::Float(f) => Value::Float(match f.as_str().parse::<f64>() {
            Ok(x) if x.is_finite() || f.as_str().contains("inf") => x,
            _ => {
                fail(format!("float {f} is out of range"));
                0.0
            }
        }),
        DeValue::Boolean(b) => Value::Bool(b),
        DeValue::Datetime(dt) => Value::Datetime(dt),
        DeValue::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| convert(item, &join(path, &i.to_string()), origin_at, problems))
                .collect(),
        ),
        DeValue::Table(table) => {
            let mut entries: Vec<(usize, Entry)> = table
                .into_iter()
                .map(|(key, node)| {
                    let key_start = key.span().start;
                    let key_origin = origin_at(key_start);
                    let key = key.into_inner().into_owned();
                    let node = convert(node, &join(path, &key), origin_at, problems);
                    (
                        key_start,
                        Entry {
                            key,
                            key_origin,
                            node,
                        },
                    )
                })
                .collect();
            entries.sort_by_key(|(start, _)| *start);
            Value::Table(entries.into_iter().map(|(_, e)| e).collect())
        }
    };
    Node { value, origin }
}

/// Parses an override's value as TOML, falling back to the text as a string.
fn parse_override_value(raw: &str, origin: &Origin) -> Node {
    let origin_at = |_| origin.clone();
    let mut problems = Vec::new();
    let parsed = DeValue::parse(raw).map(|v| convert(v, "", &origin_at, &mut problems));
    match parsed {
        Ok(node) if problems.is_empty() => node,
        _ => Node {
            value: Value::String(raw.to_owned()),
            origin: origin.clone(),
        },
    }
}

/// Returns the node stored under `key`, creating an empty table there first
/// if the key is missing.
fn table_slot<'a>(entries: &'a mut Vec<Entry>, key: &str, origin: &Origin) -> &'a mut Node {
    let position = entries
        .iter()
        .position(|e| e.key == key)
        .unwrap_or_else(|| {
            let node = Node {
                value: Value::Table(Vec::new()),
                origin: origin.clone(),
            };
            entries.push(Entry {
                key: key.to_owned(),
                key_origin: origin.clone(),
                node,
            });
            entries.len() - 1
        });
    &mut entries[position].node
}

/// A path segment as an array index, if it is all ASCII digits.
fn array_index(segment: &str) -> Option<usize> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // All digits but too large for usize: out of range for any array anyway.
    Some(segment.parse().unwrap_or(usize::MAX))
}

fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::String(s) => Unexpected::Str(s),
        Value::Integer(i) => Unexpected::Signed(*i),
        Value::Float(f) => Unexpected::Float(*f),
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Datetime(_) => Unexpected::Other("a datetime"),
        Value::Array(_) => Unexpected::Seq,
        Value::Table(_) => Unexpected::Map,
    }
}

/// Describes what was found in TOML words: `a string "abc"`, `a table`, ...
struct Found<'a>(Unexpected<'a>);

impl fmt::Display for Found<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Unexpected::Bool(b) => write!(f, "a boolean {b}"),
            Unexpected::Unsigned(i) => write!(f, "an integer {i}"),
            Unexpected::Signed(i) => write!(f, "an integer {i}"),
            Unexpected::Float(x) => write!(f, "a float {x:?}"),
            Unexpected::Char(c) => write!(f, "a character {c:?}"),
            Unexpected::Str(s) => write!(f, "a string {s:?}"),
            Unexpected::Seq => f.write_str("an array"),
            Unexpected::Map => f.write_str("a table"),
            Unexpected::Other(other) => f.write_str(other),
            ref other => write!(f, "{other}"),
        }
    }
}

/// The deserializer's error. The innermost node that sees an error without a
/// location stamps its own on it; outer nodes leave it alone, so the report
/// points at the most precise place.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct DeError {
    message: String,
    /// Set for missing-field errors, whose path is the table's plus this name.
    missing_field: Option<&'static str>,
    location: Option<(Origin, String)>,
}

impl DeError {
    fn locate(mut self, origin: &Origin, path: &str) -> Self {
        if self.location.is_none() {
            let path = match self.missing_field {
                Some(field) => join(path, field),
                None => path.to_owned(),
            };
            self.location = Some((origin.clone(), path));
        }
        self
    }
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            message: msg.to_string(),
            missing_field: None,
            location: None,
        }
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::custom(format_args!("expected {exp}, found {}", Found(unexp)))
    }

    /// Same wording as [`Self::invalid_type`]: `expected u8, found an integer 300`.
    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        Self::invalid_type(unexp, exp)
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            missing_field: Some(field),
            ..Self::custom(format_args!("missing field `{field}`"))
        }
    }
}

/// Deserializer over one node; `path` is the node's dotted path.
#[derive(Clone, Copy)]
struct NodeDe<'a> {
    node: &'a Node,
    path: &'a str,
}

impl NodeDe<'_> {
    fn locate<T>(self, result: Result<T, DeError>) -> Result<T, DeError> {
        result.map_err(|e| e.locate(&self.node.origin, self.path))
    }

    /// Runs `seed` on this node. Locating here, not only inside the
    /// `Deserializer` methods, also catches errors a `Deserialize` impl raises
    /// after reading the value (e.g. an untagged enum matching no variant).
    fn seed<'de, S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, DeError> {
        self.locate(seed.deserialize(self))
    }

    fn mismatch(self, expected: &str) -> DeError {
        de::Error::invalid_type(unexpected(&self.node.value), &expected)
    }
}

/// The one-entry map through which `toml_datetime` deserializes a datetime.
fn datetime_map<'de>(dt: &toml::value::Datetime) -> impl MapAccess<'de, Error = DeError> {
    MapDeserializer::new(std::iter::once((DATETIME_FIELD, dt.to_string())))
}

macro_rules! deserialize_integer {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let result = match self.node.value {
                Value::Integer(i) => visitor.visit_i64(i),
                _ => Err(self.mismatch("an integer")),
            };
            self.locate(result)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.value {
            Value::String(s) => visitor.visit_str(s),
            Value::Integer(i) => visitor.visit_i64(*i),
            Value::Float(x) => visitor.visit_f64(*x),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Datetime(dt) => visitor.visit_map(datetime_map(dt)),
            Value::Array(items) => {
                let mut seq = SeqDe {
                    items: items.iter().enumerate(),
                    path: self.path,
                };
                // Like serde's own `SeqDeserializer`, reject leftover elements
                // (a tuple visitor stops reading after its last field).
                visitor
                    .visit_seq(&mut seq)
                    .and_then(|value| match seq.items.len() {
                        0 => Ok(value),
                        left => {
                            let expected = format!("{} elements", items.len() - left);
                            Err(de::Error::invalid_length(items.len(), &expected.as_str()))
                        }
                    })
            }
            Value::Table(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                current: None,
                path: self.path,
            }),
        };
        self.locate(result)
    }

    deserialize_integer!(
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
    );

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    /// Accepts integers as well: TOML authors write `cpm = 25`.
    #[allow(clippy::cast_precision_loss)]
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.node.value {
            Value::Float(x) => visitor.visit_f64(x),
            Value::Integer(i) => visitor.visit_f64(i as f64),
            _ => Err(self.mismatch("a number")),
        };
        self.locate(result)
    }

    /// Also accepts a datetime, as its RFC 3339 text.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Datetime(dt) => self.locate(visitor.visit_string(dt.to_string())),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    /// A node is always present; absent fields are serde's business.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.locate(visitor.visit_some(self))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.locate(visitor.visit_newtype_struct(self))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.value {
            Value::Table(_) => self.deserialize_any(visitor),
            Value::Datetime(dt) if name == DATETIME_NAME => {
                self.locate(visitor.visit_map(datetime_map(dt)))
            }
            other => self.locate(Err(de::Error::invalid_type(unexpected(other), &visitor))),
        }
    }

    /// A string names a unit variant; a one-key table `{ variant = data }`
    /// holds any other variant.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let result = match &self.node.value {
            Value::String(s) => visitor.visit_enum(StrDeserializer::new(s)),
            Value::Table(entries) => match entries.as_slice() {
                [entry] => visitor.visit_enum(EnumDe {
                    entry,
                    path: join(self.path, &entry.key),
                }),
                _ => Err(de::Error::custom(format_args!(
                    "expected {} as a string or a table with exactly one key, found a table with {} keys",
                    &visitor as &dyn Expected,
                    entries.len()
                ))),
            },
            other => Err(de::Error::invalid_type(unexpected(other), &visitor)),
        };
        self.locate(result)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool char bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
    }
}

struct SeqDe<'a> {
    items: std::iter::Enumerate<std::slice::Iter<'a, Node>>,
    path: &'a str,
}

impl<'de> SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((index, node)) = self.items.next() else {
            return Ok(None);
        };
        let path = join(self.path, &index.to_string());
        NodeDe { node, path: &path }.seed(seed).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, Entry>,
    current: Option<&'a Entry>,
    path: &'a str,
}

impl<'de> MapAccess<'de> for MapDe<'_> {
    type Error = DeError;

    /// Errors from the key (e.g. `unknown field`) are placed at the key.
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.current = Some(entry);
        seed.deserialize(StrDeserializer::new(&entry.key))
            .map(Some)
            .map_err(|e: DeError| e.locate(&entry.key_origin, &join(self.path, &entry.key)))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some(entry) = self.current.take() else {
            return Err(de::Error::custom("map value requested before its key"));
        };
        let path = join(self.path, &entry.key);
        NodeDe {
            node: &entry.node,
            path: &path,
        }
        .seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum written as a one-key table; `path` is the variant's data path.
struct EnumDe<'a> {
    entry: &'a Entry,
    path: String,
}

impl EnumDe<'_> {
    fn data(&self) -> NodeDe<'_> {
        NodeDe {
            node: &self.entry.node,
            path: &self.path,
        }
    }
}

impl<'de> EnumAccess<'de> for EnumDe<'_> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        match seed.deserialize(StrDeserializer::<DeError>::new(&self.entry.key)) {
            Ok(variant) => Ok((variant, self)),
            Err(e) => Err(e.locate(&self.entry.key_origin, &self.path)),
        }
    }
}

impl<'de> VariantAccess<'de> for EnumDe<'_> {
    type Error = DeError;

    /// `{ variant = {} }` is accepted as a unit variant too.
    fn unit_variant(self) -> Result<(), DeError> {
        let data = self.data();
        match &data.node.value {
            Value::Table(entries) if entries.is_empty() => Ok(()),
            _ => data.locate(Err(data.mismatch("a unit variant"))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        self.data().seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self.data(), visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_struct(self.data(), "", fields, visitor)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn file(line: usize, column: usize) -> Origin {
        Origin::File { line, column }
    }

    fn set_by(index: usize, text: &str) -> Origin {
        let text = text.to_owned();
        Origin::Override { index, text }
    }

    fn parse(text: &str) -> Node {
        Node::parse_document(text).unwrap_or_else(|p| panic!("unexpected problems: {p:?}"))
    }

    /// Deserializes `text` into `T`, expecting the one given problem.
    fn fails<T: de::DeserializeOwned>(node: &Node, path: &str, origin: Origin, message: &str) {
        let Err(p) = node.deserialize::<T>("") else {
            panic!("deserialization should fail")
        };
        assert_eq!(
            (p.path.as_str(), p.origin, p.message.as_str()),
            (path, origin, message)
        );
    }

    fn assert_str(node: Option<&Node>, want: &str) {
        assert!(matches!(node.map(|n| &n.value), Some(Value::String(s)) if s == want));
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Item {
        cpm: f64,
        goal: Option<u32>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Items {
        items: Vec<Item>,
    }

    #[test]
    fn parses_values_origins_and_file_order() {
        let root = parse("zeta = \"x\"\nalpha = [1, 2.5, true]\n\n[srv]\nhost.name = 'é'\n");
        let Value::Table(entries) = &root.value else {
            panic!("root is not a table")
        };
        let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["zeta", "alpha", "srv"]);
        assert_eq!(entries[1].key_origin, file(2, 1));
        let float = root.get("alpha.1").expect("alpha.1");
        assert!(matches!(float.value, Value::Float(x) if x.to_bits() == 2.5f64.to_bits()));
        assert_eq!(float.origin, file(2, 13));
        assert_str(root.get("srv.host.name"), "é");
        assert_eq!(
            root.get("srv.host.name").map(|n| &n.origin),
            Some(&file(5, 13))
        );
        assert!(root.get("alpha.3").is_none() && root.get("zeta.x").is_none());
        assert!(root.get("").is_some());
    }

    #[test]
    fn reports_every_syntax_error_with_char_columns() {
        let text = "ok = 1\nname = \"é\" x\nn = 2\nbad = \n";
        let problems = Node::parse_document(text).expect_err("two syntax errors");
        let origins: Vec<_> = problems
            .iter()
            .map(|p| (p.path.as_str(), &p.origin))
            .collect();
        assert_eq!(origins, [("", &file(2, 12)), ("", &file(4, 7))]);
        let too_big = Node::parse_document("a = 99999999999999999999").expect_err("overflow");
        assert_eq!(
            (too_big[0].path.as_str(), &too_big[0].origin),
            ("a", &file(1, 5))
        );
        // No panic on any truncation of a document, including inside `é`.
        let text = "[[items]]\ncpm = 1.5 # é\nwhen = 2024-05-01T00:00:00Z\nx = [{ a = 'b' }]\n";
        for end in 0..=text.len() {
            let prefix = String::from_utf8_lossy(&text.as_bytes()[..end]);
            if let Ok(node) = Node::parse_document(&prefix) {
                let _ = node.deserialize::<Items>("");
            }
        }
    }

    #[test]
    fn unknown_field_is_reported_at_the_key() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Root {
            a: Nested,
        }
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Nested {
            b: Item,
        }
        let good: Root = parse("a.b.cpm = 1").deserialize("").expect("deserialize");
        assert!(good.a.b.cpm > 0.0);
        let message = "unknown field `cpmm`, expected `cpm` or `goal`";
        fails::<Root>(
            &parse("[a.b]\ncpm = 1\n  cpmm = 2\n"),
            "a.b.cpmm",
            file(3, 3),
            message,
        );
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let root = parse("[[items]]\ncpm = 1\n[[items]]\ncpm = \"abc\"\n");
        let message = r#"expected a number, found a string "abc""#;
        fails::<Items>(&root, "items.1.cpm", file(4, 7), message);
        let root = parse("[[items]]\ncpm = 1\ngoal = 2.5\n");
        let message = "expected an integer, found a float 2.5";
        fails::<Items>(&root, "items.0.goal", file(3, 8), message);
        let root = parse("[[items]]\ncpm = 1\ngoal = 300\n");
        let item = root.get("items.0").expect("items.0");
        let message = "expected u8, found an integer 300";
        fails::<std::collections::BTreeMap<String, u8>>(item, "goal", file(3, 8), message);
    }

    #[test]
    fn missing_field_points_at_the_table() {
        let root = parse("[[items]]\ncpm = 1\n\n[[items]]\ngoal = 3\n");
        fails::<Items>(&root, "items.1.cpm", file(4, 1), "missing field `cpm`");
    }

    #[test]
    fn numbers_options_sequences_and_tuples() {
        let root = parse("items = [{ cpm = 25 }, { cpm = 2.5, goal = 7 }]\n[x]\npair = [1, 2, 3]");
        let items = root.get("items").expect("items");
        let got: Vec<Item> = items.deserialize("items").expect("deserialize");
        let want = [(25.0, None), (2.5, Some(7))].map(|(cpm, goal)| Item { cpm, goal });
        assert_eq!(got, want);
        let pair = root.get("x.pair").expect("pair");
        let message = "invalid length 3, expected 2 elements";
        fails::<(i64, i64)>(pair, "", file(3, 8), message);
        let item = root.get("items.1").expect("items.1");
        fails::<(i64, i64)>(
            item,
            "",
            file(1, 24),
            "expected a tuple of size 2, found a table",
        );
    }

    #[test]
    fn enums_external_internal_and_untagged() {
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(rename_all = "snake_case")]
        enum Pacing {
            Even,
            Asap,
            Capped { per_hour: u32 },
        }
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        enum Bidder {
            Fixed { cpm: f64 },
            Random { low: f64, high: f64 },
        }
        #[derive(Debug, Deserialize, PartialEq)]
        #[serde(untagged)]
        enum Limit {
            Count(u64),
            Named(String),
        }
        #[derive(Debug, Deserialize, PartialEq)]
        struct Root {
            pacing: Vec<Pacing>,
            bidders: Vec<Bidder>,
            limits: Vec<Limit>,
        }
        let root: Root = parse(concat!(
            "pacing = ['even', { capped = { per_hour = 3 } }, { asap = {} }]\n",
            "limits = [5, 'unlimited']\n",
            "[[bidders]]\nkind = 'fixed'\ncpm = 2\n",
            "[[bidders]]\nkind = 'random'\nlow = 1.0\nhigh = 3\n",
        ))
        .deserialize("")
        .expect("deserialize");
        assert_eq!(
            root.pacing,
            [Pacing::Even, Pacing::Capped { per_hour: 3 }, Pacing::Asap]
        );
        let (low, high) = (1.0, 3.0);
        assert_eq!(
            root.bidders,
            [Bidder::Fixed { cpm: 2.0 }, Bidder::Random { low, high }]
        );
        assert_eq!(
            root.limits,
            [Limit::Count(5), Limit::Named("unlimited".into())]
        );

        let bad = parse("pacing = ['slow']\nbidders = []\nlimits = []");
        let message = "unknown variant `slow`, expected one of `even`, `asap`, `capped`";
        fails::<Root>(&bad, "pacing.0", file(1, 11), message);
        let bad = parse("pacing = [{ capped = { per_hour = -1 } }]\nbidders = []\nlimits = []");
        let message = "expected u32, found an integer -1";
        fails::<Root>(&bad, "pacing.0.capped.per_hour", file(1, 35), message);
        let bad = parse("pacing = []\nlimits = []\n[[bidders]]\nkind = 'psychic'");
        let message = "unknown variant `psychic`, expected `fixed` or `random`";
        fails::<Root>(&bad, "bidders.0.kind", file(4, 8), message);
        let bad = parse("pacing = []\nbidders = []\nlimits = [true]");
        let message = "data did not match any variant of untagged enum Limit";
        fails::<Root>(&bad, "limits.0", file(3, 11), message);
    }

    #[test]
    fn datetimes_as_datetime_and_as_string() {
        #[derive(Debug, Deserialize)]
        struct Root {
            start: toml::value::Datetime,
            end: String,
            day: Option<toml::value::Datetime>,
        }
        let text = "start = 2024-05-01T00:00:00Z\nend = 2024-05-02T06:30:00Z\nday = 2024-05-03";
        let got: Root = parse(text).deserialize("").expect("deserialize");
        assert_eq!(got.start.to_string(), "2024-05-01T00:00:00Z");
        assert_eq!(got.end, "2024-05-02T06:30:00Z");
        assert_eq!(got.day.map(|d| d.to_string()), Some("2024-05-03".into()));
        let message = r#"expected a TOML datetime, found a string "soon""#;
        fails::<Root>(
            &parse("start = 'soon'\nend = ''"),
            "start",
            file(1, 9),
            message,
        );
    }

    #[test]
    fn overrides_replace_create_and_index() {
        let mut root = parse("name = 'a'\n[[items]]\ncpm = 1\n[[items]]\ncpm = 2\n");
        let texts = [
            "items.1.cpm=3.5",
            "name=foo",
            " run.duration = 6h",
            "items.0={ goal = 4 }",
        ];
        for (index, text) in texts.into_iter().enumerate() {
            root.apply_override(index, text)
                .unwrap_or_else(|p| panic!("{p}"));
        }
        let cpm = root.get("items.1.cpm").expect("items.1.cpm");
        assert!(matches!(cpm.value, Value::Float(x) if x.to_bits() == 3.5f64.to_bits()));
        assert_eq!(cpm.origin, set_by(0, texts[0]));
        assert_str(root.get("name"), "foo");
        assert_str(root.get("run.duration"), "6h");
        assert_eq!(
            root.get("run").map(|n| &n.origin),
            Some(&set_by(2, texts[2]))
        );
        assert_eq!(
            root.get("items.0.goal").map(|n| &n.origin),
            Some(&set_by(3, texts[3]))
        );
        let message = "missing field `cpm`";
        let items = root.get("items").expect("items");
        fails::<Vec<Item>>(items, "0.cpm", set_by(3, texts[3]), message);
    }

    #[test]
    fn override_errors() {
        let mut root = parse("n = 1\nitems = [1, 2]\n");
        let mut fails = |text: &str, path: &str, message: &str| {
            let p = root
                .apply_override(7, text)
                .expect_err("override should fail");
            assert_eq!(
                (p.path.as_str(), p.origin, p.message.as_str()),
                (path, set_by(7, text), message)
            );
        };
        fails(
            "items.2=5",
            "items.2",
            "index 2 is out of range for an array of length 2",
        );
        let message = "expected a table or an array to look up `x` in, found an integer 1";
        fails("n.x=1", "n", message);
        fails(
            "items.x=1",
            "items.x",
            "`x` is not an array index (`items` is an array)",
        );
        fails("novalue", "", "malformed override: expected `path=value`");
        fails(
            "a..b=1",
            "a..b",
            "malformed override: empty segment in path `a..b`",
        );
        fails("=1", "", "malformed override: empty segment in path ``");
        let deep = format!("{}=1", vec!["a"; 100].join("."));
        fails(
            &deep,
            &deep[..deep.len() - 2],
            "override path is deeper than 80 levels",
        );
        assert!(root.get("a").is_none(), "failed overrides change nothing");
        assert_eq!(set_by(7, "x=1").to_string(), "--set #8 `x=1`");
    }

    #[test]
    fn wrong_type_from_override_is_reported_at_the_override() {
        let mut root = parse("[[items]]\ncpm = 1\n");
        root.apply_override(1, "items.0.cpm=cheap")
            .expect("override");
        let message = r#"expected a number, found a string "cheap""#;
        fails::<Items>(
            &root,
            "items.0.cpm",
            set_by(1, "items.0.cpm=cheap"),
            message,
        );
        let p = root
            .deserialize::<Items>("")
            .expect_err("cheap is not a number");
        assert_eq!(
            p.to_string(),
            format!("--set #2 `items.0.cpm=cheap`: `items.0.cpm`: {message}")
        );
    }

    #[test]
    fn deserialize_uses_the_given_path_as_prefix() {
        let root = parse("[campaign]\nitems = [{ cpm = true }]\n");
        let campaign = root.get("campaign").expect("campaign");
        let p = campaign
            .deserialize::<Items>("campaign")
            .expect_err("bool cpm");
        assert_eq!(p.path, "campaign.items.0.cpm");
        assert_eq!(
            p.to_string(),
            "line 2, column 18: `campaign.items.0.cpm`: expected a number, found a boolean true"
        );
    }
}
