//! Raw scenario types: serde mirrors of the TOML, before any validation.
//!
//! Only these types (and the report schema) derive `Deserialize`; the engine never sees them.
//! Each struct denies unknown fields so that a misspelt key is an error, not a silent default.
//! Values with units stay text here (`"15m"`, `"60%"`) and are parsed in `validate`, where the
//! error can name the field.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::fmt;

/// A TOML table kept in file order, e.g. `device = { tv = 0.5, mobile = 0.3 }`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OrderedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OrderedVisitor<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, T>()? {
                    entries.push((key, value));
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(OrderedVisitor(std::marker::PhantomData))
    }
}

/// A fraction written as a number (`0.25`) or a percentage string (`"25%"`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fraction(pub f64);

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FractionVisitor;
        impl Visitor<'_> for FractionVisitor {
            type Value = Fraction;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a fraction such as 0.25 or a percentage such as \"25%\"")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fraction, E> {
                Ok(Fraction(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fraction, E> {
                Ok(Fraction(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fraction, E> {
                Ok(Fraction(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Fraction, E> {
                v.trim()
                    .strip_suffix('%')
                    .and_then(|number| number.trim().parse::<f64>().ok())
                    .map(|percent| Fraction(percent / 100.0))
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_any(FractionVisitor)
    }
}

/// A date-time: a TOML date-time (`2026-11-02T00:00:00Z`) or the same as a string.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct When(pub String);

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Members {
    pub count: u64,
    #[serde(default)]
    pub countries: Option<Vec<Country>>,
    #[serde(default)]
    pub device: Option<Ordered<f64>>,
    #[serde(default)]
    pub age_band: Option<Ordered<f64>>,
    #[serde(default)]
    pub attributes: Option<Ordered<Ordered<f64>>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Country {
    pub name: String,
    pub share: Fraction,
    pub utc_offset: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Viewing {
    #[serde(default)]
    pub sessions_per_member_per_day: Option<f64>,
    #[serde(default)]
    pub hourly_profile: Option<Vec<f64>>,
    #[serde(default)]
    pub weekday_multipliers: Option<Vec<f64>>,
    #[serde(default)]
    pub session_length: Option<SessionLength>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "distribution", rename_all = "lowercase", deny_unknown_fields)]
pub enum SessionLength {
    Lognormal {
        median: String,
        sigma: f64,
        max: Option<String>,
    },
    Exponential {
        mean: String,
        max: Option<String>,
    },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    #[serde(default)]
    pub catalogue_titles: Option<u32>,
    #[serde(default)]
    pub zipf_exponent: Option<f64>,
    #[serde(default)]
    pub genres: Option<Ordered<f64>>,
    #[serde(default)]
    pub ratings: Option<Ordered<f64>>,
    /// Checked element by element in `validate`, so that every bad title is reported.
    #[serde(default, rename = "titles")]
    pub _titles: Option<de::IgnoredAny>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Title {
    pub name: String,
    #[serde(default)]
    pub genre: Option<String>,
    #[serde(default)]
    pub rating: Option<String>,
    pub share: Fraction,
    #[serde(default)]
    pub launch: Option<When>,
    #[serde(default)]
    pub spike: Option<f64>,
    #[serde(default)]
    pub spike_half_life: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Breaks {
    #[serde(default)]
    pub pre_roll: Option<Pod>,
    #[serde(default)]
    pub mid_roll: Option<Pod>,
    #[serde(default)]
    pub mid_roll_interval: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pod {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub max_slots: Option<i64>,
    #[serde(default)]
    pub max_duration: Option<String>,
    #[serde(default)]
    pub slot_durations: Option<Vec<String>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdServer {
    #[serde(default)]
    pub pacing_interval: Option<String>,
    #[serde(default)]
    pub allow_same_advertiser: Option<bool>,
    #[serde(default)]
    pub budget_sync: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advertiser {
    pub name: String,
    #[serde(default)]
    pub frequency_caps: Vec<Cap>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    pub max: i64,
    pub per: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    pub name: String,
    pub advertiser: String,
    pub priority: Priority,
    pub cpm: f64,
    #[serde(default)]
    pub goal: Option<i64>,
    #[serde(default)]
    pub flight_start: Option<When>,
    #[serde(default)]
    pub flight_end: Option<When>,
    #[serde(default)]
    pub targeting: Option<Targeting>,
    #[serde(default)]
    pub frequency_caps: Vec<Cap>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub creative_duration: Option<String>,
    #[serde(default)]
    pub pacing: Option<PacingSpec>,
}

/// A priority tier by name (`"sponsorship"`) or number (1–16).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Priority {
    Number(i64),
    Name(String),
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targeting {
    #[serde(default)]
    pub include: Ordered<Vec<String>>,
    #[serde(default)]
    pub exclude: Ordered<Vec<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    #[serde(default)]
    pub auction: Option<String>,
    #[serde(default)]
    pub floor_cpm: Option<f64>,
    #[serde(default)]
    pub tmax: Option<String>,
    #[serde(default)]
    pub position_weights: Option<Vec<f64>>,
    #[serde(default)]
    pub bid_landscape: Option<bool>,
    /// Checked element by element in `validate`.
    #[serde(default, rename = "floors")]
    pub _floors: Option<de::IgnoredAny>,
}

/// A floor rule: the first rule whose `match` accepts the request sets its floor.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloorRule {
    #[serde(rename = "match")]
    pub conditions: Ordered<Vec<String>>,
    pub cpm: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bidder {
    pub name: String,
    #[serde(default)]
    pub advertiser: Option<String>,
    #[serde(default)]
    pub targeting: Option<Targeting>,
    pub value: Value,
    #[serde(default)]
    pub value_multipliers: Vec<SegmentFactor>,
    #[serde(default)]
    pub ctr: Option<Ctr>,
    pub strategy: StrategySpec,
    #[serde(default)]
    pub budget: Option<f64>,
    #[serde(default)]
    pub daily_budget: Option<f64>,
    #[serde(default)]
    pub pacing: Option<PacingSpec>,
    #[serde(default)]
    pub creative_duration: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub frequency_caps: Vec<Cap>,
    #[serde(default)]
    pub deal_floor_cpm: Option<f64>,
    #[serde(default)]
    pub latency: Option<Latency>,
    #[serde(default)]
    pub no_bid_rate: Option<Fraction>,
    #[serde(default)]
    pub error_rate: Option<Fraction>,
}

/// A value distribution [CPM]; which fields apply depends on `distribution`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Value {
    pub distribution: String,
    #[serde(default)]
    pub cpm: Option<f64>,
    #[serde(default)]
    pub low: Option<f64>,
    #[serde(default)]
    pub high: Option<f64>,
    #[serde(default)]
    pub mean: Option<f64>,
    #[serde(default)]
    pub sd: Option<f64>,
    #[serde(default)]
    pub median: Option<f64>,
    #[serde(default)]
    pub sigma: Option<f64>,
    #[serde(default)]
    pub values: Option<Vec<f64>>,
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub value_per_click: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentFactor {
    pub attribute: String,
    pub value: String,
    pub factor: f64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ctr {
    pub default: Fraction,
    #[serde(default)]
    pub rules: Vec<CtrRule>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CtrRule {
    pub attribute: String,
    pub value: String,
    pub ctr: Fraction,
}

/// A strategy by name (`"truthful"`) or as a table with its parameters. Deserialized by hand
/// rather than as an untagged enum, so that a mistake inside the table is reported as itself.
#[derive(Clone, Debug)]
pub enum StrategySpec {
    Name(String),
    Table(StrategyTable),
}

impl<'de> Deserialize<'de> for StrategySpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = StrategySpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a strategy name or a table with `name` and its parameters")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrategySpec, E> {
                Ok(StrategySpec::Name(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StrategySpec, A::Error> {
                StrategyTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(StrategySpec::Table)
            }
        }
        deserializer.deserialize_any(SpecVisitor)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyTable {
    pub name: String,
    #[serde(default)]
    pub alpha: Option<f64>,
    #[serde(default)]
    pub cpm: Option<f64>,
    #[serde(default)]
    pub n: Option<i64>,
    #[serde(default)]
    pub base_bid: Option<f64>,
    #[serde(default)]
    pub base_ctr: Option<f64>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    pub median: String,
    #[serde(default)]
    pub sigma: Option<f64>,
}

/// A pacer by name (`"even"`) or as a table with its parameters.
#[derive(Clone, Debug)]
pub enum PacingSpec {
    Name(String),
    Table(PacingTable),
}

impl<'de> Deserialize<'de> for PacingSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = PacingSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a pacer name or a table with `name` and its parameters")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PacingSpec, E> {
                Ok(PacingSpec::Name(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PacingSpec, A::Error> {
                PacingTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(PacingSpec::Table)
            }
        }
        deserializer.deserialize_any(SpecVisitor)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PacingTable {
    pub name: String,
    #[serde(default)]
    pub kp: Option<f64>,
    #[serde(default)]
    pub ki: Option<f64>,
    #[serde(default)]
    pub kd: Option<f64>,
    #[serde(default)]
    pub step: Option<f64>,
    #[serde(default)]
    pub down: Option<f64>,
    #[serde(default)]
    pub up: Option<f64>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub kpi: Option<String>,
    #[serde(default)]
    pub target: Option<f64>,
}

/// The `[response]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    #[serde(default)]
    pub completion: Option<Completion>,
    #[serde(default)]
    pub ctr: Option<ResponseCtr>,
    #[serde(default)]
    pub conversion: Option<Conversion>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    pub base: Fraction,
    #[serde(default)]
    pub per_position: Option<Fraction>,
    #[serde(default)]
    pub per_extra_slot: Option<Fraction>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseCtr {
    pub default: Fraction,
    /// Checked element by element in `validate`.
    #[serde(default, rename = "rules")]
    pub _rules: Option<de::IgnoredAny>,
}

/// A CTR rule: requests its `match` accepts, for ads of `advertiser` (any if absent).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseCtrRule {
    #[serde(default, rename = "match")]
    pub conditions: Ordered<Vec<String>>,
    #[serde(default)]
    pub advertiser: Option<String>,
    pub ctr: Fraction,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversion {
    pub rate: Fraction,
    pub delay: ConversionDelay,
    pub window: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "distribution", rename_all = "lowercase", deny_unknown_fields)]
pub enum ConversionDelay {
    Exponential { mean: String },
    Lognormal { median: String, sigma: f64 },
}

/// The `[allocation]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    pub plan: String,
    #[serde(default)]
    pub forecast: Option<String>,
}

/// The `[inventory]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(default)]
    pub keys: Option<Vec<String>>,
    #[serde(default)]
    pub grain: Option<String>,
    #[serde(default)]
    pub parquet: Option<bool>,
}

/// The `[replay]` table of a replay scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    pub format: String,
    pub file: String,
    #[serde(default)]
    pub train: Option<String>,
    #[serde(default)]
    pub spacing: Option<String>,
    #[serde(default)]
    pub time_scale: Option<f64>,
    #[serde(default)]
    pub sample: Option<Fraction>,
    #[serde(default)]
    pub malformed: Option<String>,
    #[serde(default)]
    pub round: Option<String>,
    #[serde(default)]
    pub columns: Option<ReplayColumns>,
    pub budget_fractions: Vec<f64>,
    /// Checked element by element in `validate`.
    #[serde(rename = "strategies")]
    pub _strategies: de::IgnoredAny,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayColumns {
    pub timestamp: String,
    pub market_price: String,
    #[serde(default)]
    pub click: Option<String>,
    #[serde(default)]
    pub conversion: Option<String>,
    #[serde(default)]
    pub pctr: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayStrategy {
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub reference_ecpc: Option<f64>,
    #[serde(default)]
    pub kp: Option<f64>,
    #[serde(default)]
    pub ki: Option<f64>,
    #[serde(default)]
    pub kd: Option<f64>,
}

/// The `[event_log]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventLog {
    pub rate: Fraction,
    #[serde(default)]
    pub parquet: Option<bool>,
}

/// The `[logged_traffic]` table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedTraffic {
    pub file: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub member: Option<String>,
    #[serde(default)]
    pub floor: Option<String>,
    #[serde(default)]
    pub time_scale: Option<f64>,
    #[serde(default)]
    pub sample: Option<Fraction>,
    #[serde(default)]
    pub malformed: Option<String>,
}
