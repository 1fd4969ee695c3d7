//! Traffic: where ad requests come from.
//!
//! A `TrafficSource` turns its own events (a session arriving, an ad break falling due) into ad
//! requests. The built-in source is `Synthetic`: members with weighted attributes, a content
//! slate with launch spikes, sessions arriving by a non-homogeneous Poisson process in each
//! member's local time, and pre-roll and mid-roll breaks. Traffic never looks at the ad server:
//! whatever the ad server decides, the requests (and their random draws) are the same.

mod expected;
pub mod logged;
mod synthetic;

pub use expected::ExpectedTraffic;
pub use synthetic::{
    Categorical, Country, LengthModel, SessionLength, SlateConfig, Synthetic, SyntheticConfig,
    TitleSpec,
};

use crate::engine::Event;
use crate::engine::EventQueue;
use crate::time::{SimDuration, SimTime};

/// The most request dimensions (attributes) a request can carry.
pub const MAX_DIMENSIONS: usize = 24;

/// The pod an ad break offers. `Copy`, so that a request carries its own spec.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodSpec {
    /// Most ads in the pod.
    pub max_slots: u8,
    /// Most total ad time [s].
    pub max_duration_s: u16,
    /// Allowed slot durations: bit k set means a creative of 5·k seconds fits a slot.
    pub allowed_durations: u64,
}

impl PodSpec {
    /// Whether a creative of `duration_s` seconds may fill a slot of this pod.
    #[inline]
    pub fn allows(&self, duration_s: u16) -> bool {
        self.allowed_durations & PodSpec::duration_bit(duration_s) != 0
    }

    /// The bit of `allowed_durations` a creative of `duration_s` seconds needs (0 for a
    /// length no pod allows), for callers that check one creative against many pods.
    #[inline]
    pub fn duration_bit(duration_s: u16) -> u64 {
        if duration_s.is_multiple_of(5) && duration_s / 5 < 64 {
            1 << (duration_s / 5)
        } else {
            0
        }
    }

    /// Slot opportunities the pod offers: the slot count, limited by how many of the shortest
    /// allowed creatives fit in its duration.
    pub fn opportunities(&self) -> u32 {
        let shortest = self.allowed_durations.trailing_zeros() * 5;
        if self.allowed_durations == 0 || shortest == 0 {
            return 0;
        }
        u32::from(self.max_slots).min(u32::from(self.max_duration_s) / shortest)
    }
}

/// Kind of ad break, a request dimension (`break`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakKind {
    PreRoll = 0,
    MidRoll = 1,
}

/// One categorical request attribute and its values, e.g. `device` = tv, mobile, web, tablet.
#[derive(Clone, Debug, PartialEq)]
pub struct Dimension {
    pub name: String,
    pub values: Vec<String>,
}

/// The attributes every request carries, by index. Member attributes come first (country,
/// device, age band, then any the scenario adds), then title and context attributes.
#[derive(Clone, Debug, PartialEq)]
pub struct Dimensions {
    pub list: Vec<Dimension>,
    /// Number of member attributes (they occupy indices `0..n_member`).
    pub n_member: usize,
}

/// Fixed dimension indices of the member part.
pub const DIM_COUNTRY: usize = 0;
pub const DIM_DEVICE: usize = 1;

impl Dimensions {
    /// Index of the dimension called `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.list.iter().position(|dim| dim.name == name)
    }

    pub fn genre(&self) -> usize {
        self.n_member
    }
    pub fn rating(&self) -> usize {
        self.n_member + 1
    }
    pub fn title(&self) -> usize {
        self.n_member + 2
    }
    pub fn break_kind(&self) -> usize {
        self.n_member + 3
    }
    pub fn local_hour(&self) -> usize {
        self.n_member + 4
    }
    pub fn weekday(&self) -> usize {
        self.n_member + 5
    }

    /// Builds the registry from the member attributes and the slate's vocabularies.
    pub fn new(
        member_attributes: Vec<Dimension>,
        genres: Vec<String>,
        ratings: Vec<String>,
        titles: Vec<String>,
    ) -> Dimensions {
        let n_member = member_attributes.len();
        let mut list = member_attributes;
        list.push(Dimension {
            name: "genre".into(),
            values: genres,
        });
        list.push(Dimension {
            name: "rating".into(),
            values: ratings,
        });
        list.push(Dimension {
            name: "title".into(),
            values: titles,
        });
        list.push(Dimension {
            name: "break".into(),
            values: vec!["pre_roll".into(), "mid_roll".into()],
        });
        list.push(Dimension {
            name: "local_hour".into(),
            values: (0..24).map(|hour| hour.to_string()).collect(),
        });
        list.push(Dimension {
            name: "weekday".into(),
            values: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .map(String::from)
                .to_vec(),
        });
        assert!(
            list.len() <= MAX_DIMENSIONS,
            "too many request dimensions: {}",
            list.len()
        );
        Dimensions { list, n_member }
    }
}

/// One ad request: a break in a member's session asking for a pod of ads.
#[derive(Clone, Copy, Debug, Default)]
pub struct AdRequest {
    pub at: SimTime,
    /// Dense member id, an index into member state.
    pub member: u32,
    /// The member's UTC offset [minutes], for local-time frequency-cap windows.
    pub utc_offset_minutes: i32,
    /// Value index per dimension (see `Dimensions`).
    pub values: [u16; MAX_DIMENSIONS],
    /// Position of the break in its session: 0 is the pre-roll, k the k-th mid-roll.
    pub break_index: u16,
    pub pod: PodSpec,
    /// A logged floor [CPM micros] replacing the exchange's floor rules (replayed traffic).
    pub floor: Option<crate::money::Micros>,
}

/// Traffic events, scheduled by a traffic source for itself.
#[derive(Clone, Copy, Debug)]
pub enum TrafficEvent {
    /// The next session of the arrival process starts, for the given member.
    SessionArrival { member: u32 },
    /// A mid-roll break of a session falls due.
    MidRoll(SessionBreak),
}

/// What a scheduled mid-roll needs to know about its session.
#[derive(Clone, Copy, Debug)]
pub struct SessionBreak {
    pub member: u32,
    pub title: u16,
    /// Ordinal of this break in its session: 0 is the pre-roll, k the k-th mid-roll.
    pub index: u16,
    /// When the session's content ends; no break at or after it.
    pub session_end: SimTime,
}

/// A source of ad requests.
///
/// Contract: the engine calls `start` once before the first event, then `handle` for each
/// `Event::Traffic` the source scheduled, in time order. `handle` may schedule further traffic
/// events (never in the past) and returns `true` when it filled `request` with an ad request
/// for the ad server. A source generates lazily: it keeps only the next arrival and the
/// breaks of sessions in progress in the queue.
pub trait TrafficSource {
    fn start(&mut self, queue: &mut EventQueue<Event>);
    fn handle(
        &mut self,
        event: TrafficEvent,
        now: SimTime,
        queue: &mut EventQueue<Event>,
        request: &mut AdRequest,
    ) -> bool;
    /// Number of members (dense ids `0..n`).
    fn n_members(&self) -> u32;
    /// Hint that `member`'s request is coming soon: start loading its state into cache.
    /// Optional; it must not change any result.
    fn prefetch(&self, _member: u32) {}
}

impl TrafficEvent {
    /// The member this event is about.
    pub fn member(&self) -> u32 {
        match self {
            TrafficEvent::SessionArrival { member } => *member,
            TrafficEvent::MidRoll(session) => session.member,
        }
    }
}

/// Converts a slot-duration list [s] into a `PodSpec::allowed_durations` mask; `None` if a
/// duration is not a positive multiple of 5 s up to 315 s.
pub fn duration_mask(durations: &[SimDuration]) -> Option<u64> {
    durations.iter().try_fold(0u64, |mask, duration| {
        let secs = duration.0 / crate::time::MICROS_PER_SEC;
        let exact = duration.0 % crate::time::MICROS_PER_SEC == 0;
        (exact && secs > 0 && secs % 5 == 0 && secs / 5 < 64).then(|| mask | 1 << (secs / 5))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_small() {
        // Tens of thousands of sessions are in the queue at once; keep their events compact.
        assert!(
            std::mem::size_of::<Event>() <= 24,
            "{}",
            std::mem::size_of::<Event>()
        );
    }
}
