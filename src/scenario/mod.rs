//! Scenario files: TOML in, validated domain objects out.
//!
//! Loading has two phases, as in ripgrep's argument handling: `tree` parses the file into a
//! document that remembers where every value came from (file line/column, or a `--set`
//! override), and the raw serde types in `raw` mirror the file; then `validate` builds the
//! domain objects (`Scenario`) in one fallible pass that collects every problem it finds, each
//! naming its location, the dotted field path and what was expected. A scenario that loads
//! cannot make the engine fail.

mod raw;
pub mod tree;
mod validate;

use std::fmt;
use std::path::Path;

pub use tree::{Node, Origin, Problem};
pub use validate::parse_utc;

use crate::adserver;
use crate::time::{SimDuration, SimTime};
use crate::traffic::{Dimensions, SyntheticConfig};

/// The scenario schema version this build reads.
pub const SCHEMA_VERSION: i64 = 1;

/// A validated scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub seed: u64,
    pub start: SimTime,
    pub end: SimTime,
    pub traffic: SyntheticConfig,
    pub adserver: adserver::Config,
    pub dims: Dimensions,
    /// How inventory is exported: segment keys (dimension indices) and period.
    pub inventory: InventorySpec,
    /// Logged ad requests replayed instead of synthetic sessions, if any.
    pub logged_traffic: Option<crate::traffic::logged::LoggedConfig>,
}

/// A replay scenario: logged auctions replayed through bidding strategies (`replay`).
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayScenario {
    pub name: String,
    pub seed: u64,
    pub start: SimTime,
    pub file: std::path::PathBuf,
    pub train: Option<std::path::PathBuf>,
    pub format: crate::replay::Format,
    pub time_scale: f64,
    pub sample: f64,
    pub malformed: crate::replay::Malformed,
    pub round: SimDuration,
    pub budget_fractions: Vec<f64>,
    pub strategies: Vec<ReplayStrategySpec>,
}

/// A strategy to evaluate in a replay scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayStrategySpec {
    pub name: String,
    /// `constant`, `linear`, `ortb` or `pid`.
    pub kind: String,
    /// `pid`: the reference eCPC [currency per click] and the gains.
    pub pid: Option<(f64, crate::pacing::Gains)>,
}

/// What a scenario file describes.
pub enum Loaded {
    Simulation(Box<Scenario>),
    Replay(Box<ReplayScenario>),
}

/// Loads a scenario file of either kind (a `[replay]` table makes it a replay scenario).
pub fn load_any(path: &Path, overrides: &[String]) -> Result<Loaded, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: file.clone(),
        source,
    })?;
    let invalid = |problems| ScenarioError::Invalid {
        file: file.clone(),
        problems,
    };
    let mut root = Node::parse_document(&text).map_err(invalid)?;
    let mut problems = Vec::new();
    for (index, assignment) in overrides.iter().enumerate() {
        if let Err(problem) = root.apply_override(index, assignment) {
            problems.push(problem);
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let base_dir = Path::new(&file).parent().unwrap_or(Path::new("."));
    if root.get("replay").is_some() {
        validate::replay(&root, base_dir)
            .map(|r| Loaded::Replay(Box::new(r)))
            .map_err(invalid)
    } else {
        validate::scenario(&root, base_dir)
            .map(|s| Loaded::Simulation(Box::new(s)))
            .map_err(invalid)
    }
}

/// The `[inventory]` table, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct InventorySpec {
    pub keys: Vec<usize>,
    /// One hour or one day.
    pub period: SimDuration,
    /// Also write inventory.parquet.
    pub parquet: bool,
}

impl Scenario {
    pub fn duration(&self) -> SimDuration {
        self.end - self.start
    }

    /// How far ahead pacing needs the expected-traffic curve: the run, extended to the latest
    /// flight end, but by at most eight weeks.
    pub fn pacing_horizon(&self) -> SimTime {
        let latest = self
            .adserver
            .line_items
            .iter()
            .map(|item| item.flight_end)
            .max()
            .unwrap_or(self.end);
        latest.clamp(self.end, self.end + SimDuration::WEEK * 8)
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug)]
pub enum ScenarioError {
    /// The file could not be read.
    Read {
        file: String,
        source: std::io::Error,
    },
    /// The file was read but has problems; all of them are listed.
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScenarioError::Read { file, source } => {
                write!(f, "cannot read scenario {file}: {source}")
            }
            ScenarioError::Invalid { file, problems } => {
                let count = problems.len();
                write!(
                    f,
                    "{file}: {count} problem{} found",
                    if count == 1 { "" } else { "s" }
                )?;
                for problem in problems {
                    write!(f, "\n  {file}: {}", Located(problem))?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ScenarioError {}

/// A problem as one line: `line 12, column 5: line_items.3.cpm: expected a number, found …`.
struct Located<'a>(&'a Problem);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = self.0;
        let path = if problem.path.is_empty() {
            "(document)"
        } else {
            &problem.path
        };
        write!(f, "{}: {path}: {}", problem.origin, problem.message)
    }
}

/// Reads, overrides (`--set path=value`, applied in order) and validates a scenario file.
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
        file: file.clone(),
        source,
    })?;
    from_text(&text, &file, overrides)
}

/// Validates scenario `text`; `file` names it in messages.
pub fn from_text(text: &str, file: &str, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let invalid = |problems| ScenarioError::Invalid {
        file: file.to_string(),
        problems,
    };
    let mut root = Node::parse_document(text).map_err(invalid)?;
    let mut problems = Vec::new();
    for (index, assignment) in overrides.iter().enumerate() {
        if let Err(problem) = root.apply_override(index, assignment) {
            problems.push(problem);
        }
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let base_dir = Path::new(file).parent().unwrap_or(Path::new("."));
    validate::scenario(&root, base_dir).map_err(invalid)
}
