//! Synthetic streaming traffic: members, a content slate, sessions and ad breaks.
//!
//! Sessions arrive by a non-homogeneous Poisson process. Each country's rate is
//! `members_c × sessions_per_day × hourly_profile[local hour] × weekday[local weekday] / 1 day`,
//! constant on 15-minute UTC segments (so UTC offsets must be multiples of 15 minutes). Arrival
//! times are exact for that piecewise-constant rate: a unit exponential draw is spent across
//! segments (the memoryless property makes this exact), then the country is drawn in
//! proportion to its rate and the member uniformly among that country's members.
//!
//! A session watches one title, drawn by popularity at the session start; popularity is
//! refreshed at every segment boundary, and a title is watchable from the first boundary at or
//! after its launch. Its launch spike multiplies its base share by `1 + spike · 2^(−age/half_life)`.
//! Every session has a pre-roll at its start and a mid-roll every `mid_roll_interval` of
//! content while the content lasts; ad time does not lengthen the session, so traffic never
//! depends on what the ad server does.

use super::{
    AdRequest, BreakKind, DIM_COUNTRY, Dimension, Dimensions, PodSpec, SessionBreak, TrafficEvent,
    TrafficSource,
};
use crate::engine::{Event, EventQueue, Stream};
use crate::time::{SimDuration, SimTime};

/// Width of a piece of the piecewise-constant arrival rate.
pub const SEGMENT: SimDuration = SimDuration::from_minutes(15);

/// A country of members, with its share of the member base and its fixed UTC offset.
#[derive(Clone, Debug, PartialEq)]
pub struct Country {
    pub name: String,
    /// Fraction of members (normalised to sum to 1 over countries).
    pub share: f64,
    /// UTC offset [minutes], a multiple of 15.
    pub utc_offset_minutes: i32,
}

/// A weighted categorical attribute, e.g. `device` with weights over tv, mobile, web, tablet.
#[derive(Clone, Debug, PartialEq)]
pub struct Categorical {
    pub name: String,
    pub values: Vec<String>,
    /// Non-negative weights, one per value, with a positive sum.
    pub weights: Vec<f64>,
}

impl Categorical {
    fn cumulative(&self) -> Vec<f64> {
        cumulative(&self.weights)
    }
}

/// Distribution of a session's content length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SessionLength {
    /// Log-normal with the given median [s] and log-scale standard deviation.
    LogNormal { median_s: f64, sigma: f64 },
    /// Exponential with the given mean [s].
    Exponential { mean_s: f64 },
}

/// Session-length model: a distribution clipped at `max`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LengthModel {
    pub distribution: SessionLength,
    pub max: SimDuration,
}

impl LengthModel {
    /// P(length > x) for `x` [s].
    pub fn survival(&self, x_s: f64) -> f64 {
        if x_s >= self.max.as_secs_f64() {
            return 0.0;
        }
        if x_s <= 0.0 {
            return 1.0;
        }
        match self.distribution {
            SessionLength::LogNormal { median_s, sigma } => {
                0.5 * statrs::function::erf::erfc(
                    (x_s.ln() - median_s.ln()) / (sigma * std::f64::consts::SQRT_2),
                )
            }
            SessionLength::Exponential { mean_s } => (-x_s / mean_s).exp(),
        }
    }

    fn sample(&self, stream: &mut Stream) -> SimDuration {
        let secs = match self.distribution {
            SessionLength::LogNormal { median_s, sigma } => {
                median_s * (sigma * stream.standard_normal()).exp()
            }
            SessionLength::Exponential { mean_s } => mean_s * stream.exp1(),
        };
        SimDuration(((secs * 1e6) as i64).clamp(1, self.max.0))
    }
}

/// A title given explicitly in the scenario (a launch, a tent-pole series).
#[derive(Clone, Debug, PartialEq)]
pub struct TitleSpec {
    pub name: String,
    /// Genre index; `None` draws it from the slate's genre weights.
    pub genre: Option<u16>,
    /// Rating index; `None` draws it from the slate's rating weights.
    pub rating: Option<u16>,
    /// Base share of viewing (before spikes), a fraction of all viewing.
    pub share: f64,
    /// When it becomes watchable; `None` for the back catalogue.
    pub launch: Option<SimTime>,
    /// Launch spike: extra popularity multiple at launch (0 = none).
    pub spike: f64,
    /// Half-life of the spike's decay.
    pub spike_half_life: SimDuration,
}

/// The content slate: explicit titles plus a Zipf-distributed back catalogue.
#[derive(Clone, Debug, PartialEq)]
pub struct SlateConfig {
    pub genres: Categorical,
    pub ratings: Categorical,
    /// Number of generated catalogue titles, named `title-001`, `title-002`, …
    pub generated: u32,
    /// Zipf exponent of the generated titles' popularity by rank.
    pub zipf_exponent: f64,
    pub titles: Vec<TitleSpec>,
}

impl SlateConfig {
    /// All title names: explicit titles first, then the generated ones.
    pub fn title_names(&self) -> Vec<String> {
        let width = self.generated.to_string().len().max(3);
        self.titles
            .iter()
            .map(|title| title.name.clone())
            .chain((1..=self.generated).map(|rank| format!("title-{rank:0width$}")))
            .collect()
    }
}

/// Everything the synthetic source needs, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticConfig {
    pub start: SimTime,
    pub end: SimTime,
    pub members: u32,
    pub countries: Vec<Country>,
    /// Member attributes after country: device, age band, then custom ones.
    pub attributes: Vec<Categorical>,
    /// Expected sessions per member per day, before weekday multipliers.
    pub sessions_per_day: f64,
    /// Relative session-start intensity by local hour, normalised to mean 1.
    pub hourly_profile: [f64; 24],
    /// Multiplier by local weekday, Monday first.
    pub weekday_multipliers: [f64; 7],
    pub session_length: LengthModel,
    pub slate: SlateConfig,
    pub pre_roll: Option<PodSpec>,
    pub mid_roll: Option<PodSpec>,
    pub mid_roll_interval: SimDuration,
}

impl SyntheticConfig {
    /// The request dimensions this traffic produces.
    pub fn dimensions(&self) -> Dimensions {
        let mut member = vec![Dimension {
            name: "country".into(),
            values: self.countries.iter().map(|c| c.name.clone()).collect(),
        }];
        member.extend(self.attributes.iter().map(|attr| Dimension {
            name: attr.name.clone(),
            values: attr.values.clone(),
        }));
        Dimensions::new(
            member,
            self.slate.genres.values.clone(),
            self.slate.ratings.values.clone(),
            self.slate.title_names(),
        )
    }

    /// Members per country, by largest remainder so that they sum to `members`.
    pub fn members_per_country(&self) -> Vec<u32> {
        let total: f64 = self.countries.iter().map(|c| c.share).sum();
        let exact: Vec<f64> = self
            .countries
            .iter()
            .map(|c| c.share / total * f64::from(self.members))
            .collect();
        let mut counts: Vec<u32> = exact.iter().map(|x| x.floor() as u32).collect();
        let mut short = self.members - counts.iter().sum::<u32>();
        let mut order: Vec<usize> = (0..exact.len()).collect();
        order.sort_by(|&a, &b| {
            let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
            fb.total_cmp(&fa).then(a.cmp(&b))
        });
        for idx in order {
            if short == 0 {
                break;
            }
            counts[idx] += 1;
            short -= 1;
        }
        counts
    }

    /// Session arrival rate of one country at instant `at` [sessions per µs].
    pub fn session_rate(&self, country_members: u32, offset_minutes: i32, at: SimTime) -> f64 {
        f64::from(country_members)
            * self.sessions_per_day
            * self.hourly_profile[at.local_hour(offset_minutes) as usize]
            * self.weekday_multipliers[at.local_weekday(offset_minutes) as usize]
            / SimDuration::DAY.0 as f64
    }
}

struct Title {
    genre: u16,
    rating: u16,
    share: f64,
    launch: Option<SimTime>,
    spike: f64,
    half_life_us: f64,
}

impl Title {
    fn weight_at(&self, at: SimTime) -> f64 {
        match self.launch {
            Some(launch) if at < launch => 0.0,
            Some(launch) if self.spike > 0.0 => {
                let age = (at - launch).0 as f64;
                self.share * (1.0 + self.spike * (-age / self.half_life_us).exp2())
            }
            _ => self.share,
        }
    }
}

/// The synthetic traffic source.
pub struct Synthetic {
    config: SyntheticConfig,
    dims: Dimensions,
    /// Member attributes, row-major: member `m`'s values are
    /// `attributes[m * n_attributes .. (m + 1) * n_attributes]`, country first, so that a
    /// request reads one cache line per member.
    attributes: Vec<u8>,
    n_attributes: usize,
    country_first: Vec<u32>,
    country_members: Vec<u32>,
    titles: Vec<Title>,
    title_cumulative: Vec<f64>,
    arrivals: Stream,
    sessions: Stream,
    /// The piece of the arrival rate in force: its end and per-country cumulative rates.
    segment_end: SimTime,
    segment_cumulative: Vec<f64>,
    /// Time the arrival process has been generated up to.
    clock: SimTime,
}

impl Synthetic {
    /// Builds members and the slate from the seeded streams `members` and `content`.
    pub fn new(config: SyntheticConfig, seed: u64) -> Synthetic {
        let dims = config.dimensions();
        let country_members = config.members_per_country();
        let country_first: Vec<u32> = country_members
            .iter()
            .scan(0u32, |next, &count| {
                let first = *next;
                *next += count;
                Some(first)
            })
            .collect();

        // Attributes are drawn attribute by attribute (all members' devices, then all age
        // bands, …) so that adding a custom attribute leaves the earlier ones unchanged.
        let mut member_stream = Stream::new(seed, "members");
        let n = config.members as usize;
        let n_attributes = 1 + config.attributes.len();
        let mut attributes = vec![0u8; n * n_attributes];
        let mut member = 0;
        for (idx, &count) in country_members.iter().enumerate() {
            for _ in 0..count {
                attributes[member * n_attributes] = idx as u8;
                member += 1;
            }
        }
        for (attr_idx, attribute) in config.attributes.iter().enumerate() {
            let cumulative = attribute.cumulative();
            for member in 0..n {
                attributes[member * n_attributes + 1 + attr_idx] =
                    pick(&cumulative, member_stream.uniform()) as u8;
            }
        }

        let mut content_stream = Stream::new(seed, "content");
        let genre_cumulative = config.slate.genres.cumulative();
        let rating_cumulative = config.slate.ratings.cumulative();
        let draw_genre = |stream: &mut Stream| pick(&genre_cumulative, stream.uniform()) as u16;
        let explicit_share: f64 = config.slate.titles.iter().map(|t| t.share).sum();
        let zipf_total: f64 = (1..=config.slate.generated)
            .map(|rank| f64::from(rank).powf(-config.slate.zipf_exponent))
            .sum();
        let mut titles = Vec::new();
        for spec in &config.slate.titles {
            let genre = spec
                .genre
                .unwrap_or_else(|| draw_genre(&mut content_stream));
            let rating = spec
                .rating
                .unwrap_or_else(|| pick(&rating_cumulative, content_stream.uniform()) as u16);
            titles.push(Title {
                genre,
                rating,
                share: spec.share,
                launch: spec.launch,
                spike: spec.spike,
                half_life_us: spec.spike_half_life.0.max(1) as f64,
            });
        }
        for rank in 1..=config.slate.generated {
            let genre = draw_genre(&mut content_stream);
            let rating = pick(&rating_cumulative, content_stream.uniform()) as u16;
            titles.push(Title {
                genre,
                rating,
                share: (1.0 - explicit_share).max(0.0)
                    * f64::from(rank).powf(-config.slate.zipf_exponent)
                    / zipf_total,
                launch: None,
                spike: 0.0,
                half_life_us: 1.0,
            });
        }

        let start = config.start;
        let mut source = Synthetic {
            dims,
            attributes,
            n_attributes,
            country_first,
            country_members,
            title_cumulative: vec![0.0; titles.len()],
            titles,
            arrivals: Stream::new(seed, "traffic.arrivals"),
            sessions: Stream::new(seed, "traffic.sessions"),
            segment_end: start,
            segment_cumulative: vec![0.0; config.countries.len()],
            clock: start,
            config,
        };
        source.enter_segment(start);
        source
    }

    /// The request dimensions this source fills.
    pub fn dimensions(&self) -> &Dimensions {
        &self.dims
    }

    /// Each title's `(genre, rating, share of viewing)` at `at`: the popularity sessions
    /// starting then are drawn with (launch spikes included; shares sum to 1, or are all 0
    /// when nothing is watchable).
    pub fn title_shares(&self, at: SimTime) -> Vec<(u16, u16, f64)> {
        let weights: Vec<f64> = self.titles.iter().map(|t| t.weight_at(at)).collect();
        let total: f64 = weights.iter().sum();
        self.titles
            .iter()
            .zip(weights)
            .map(|(title, weight)| {
                let share = if total > 0.0 { weight / total } else { 0.0 };
                (title.genre, title.rating, share)
            })
            .collect()
    }

    /// The share of viewing at `at` of the titles that have a launch date (launched by then;
    /// spikes included) among those `accept(title, genre, rating)` takes: the launch calendar
    /// a launch-aware forecast uses as its regressor.
    pub fn launch_share(&self, at: SimTime, accept: impl Fn(usize, u16, u16) -> bool) -> f64 {
        let total: f64 = self.titles.iter().map(|t| t.weight_at(at)).sum();
        if total <= 0.0 {
            return 0.0;
        }
        self.titles
            .iter()
            .enumerate()
            .filter(|(idx, t)| t.launch.is_some() && accept(*idx, t.genre, t.rating))
            .map(|(_, t)| t.weight_at(at))
            .sum::<f64>()
            / total
    }

    /// The configuration this source samples from.
    pub fn config(&self) -> &SyntheticConfig {
        &self.config
    }

    /// Makes the segment containing `at` current: per-country rates and title popularity.
    fn enter_segment(&mut self, at: SimTime) {
        let segment_start = SimTime(at.0.div_euclid(SEGMENT.0) * SEGMENT.0);
        self.segment_end = segment_start + SEGMENT;
        let mut total = 0.0;
        for (idx, country) in self.config.countries.iter().enumerate() {
            total += self.config.session_rate(
                self.country_members[idx],
                country.utc_offset_minutes,
                segment_start,
            );
            self.segment_cumulative[idx] = total;
        }
        let mut weight_total = 0.0;
        for (idx, title) in self.titles.iter().enumerate() {
            weight_total += title.weight_at(segment_start.max(self.config.start));
            self.title_cumulative[idx] = weight_total;
        }
    }

    /// Draws the next session arrival after `self.clock` and its member, or `None` past the
    /// run's end. The member is drawn now (not when the session starts) so that the engine
    /// can prefetch the member's state while it handles the events before it.
    fn next_arrival(&mut self) -> Option<(SimTime, u32)> {
        let mut budget = self.arrivals.exp1();
        loop {
            if self.clock >= self.config.end {
                return None;
            }
            let rate = self.segment_cumulative.last().copied().unwrap_or(0.0);
            let room = (self.segment_end - self.clock).0 as f64;
            if rate > 0.0 && budget < rate * room {
                let step = (budget / rate).round() as i64;
                let at = self.clock + SimDuration(step.min((self.segment_end - self.clock).0 - 1));
                self.clock = at;
                let country = pick(&self.segment_cumulative, self.arrivals.uniform() * rate);
                let member = self.country_first[country]
                    + self.arrivals.below(self.country_members[country]);
                return Some((at, member));
            }
            budget -= rate * room;
            self.clock = self.segment_end;
            self.enter_segment(self.clock);
        }
    }

    fn schedule_next_arrival(&mut self, queue: &mut EventQueue<Event>) {
        if let Some((at, member)) = self.next_arrival() {
            queue.schedule(at, Event::Traffic(TrafficEvent::SessionArrival { member }));
        }
    }

    fn fill_request(
        &self,
        request: &mut AdRequest,
        at: SimTime,
        member: u32,
        title: u16,
        kind: BreakKind,
        index: u16,
    ) {
        let row = &self.attributes[member as usize * self.n_attributes..][..self.n_attributes];
        let offset = self.config.countries[usize::from(row[DIM_COUNTRY])].utc_offset_minutes;
        request.at = at;
        request.member = member;
        request.utc_offset_minutes = offset;
        request.break_index = index;
        for (dim, &value) in row.iter().enumerate() {
            request.values[dim] = u16::from(value);
        }
        let slate_title = &self.titles[usize::from(title)];
        request.values[self.dims.genre()] = slate_title.genre;
        request.values[self.dims.rating()] = slate_title.rating;
        request.values[self.dims.title()] = title;
        request.values[self.dims.break_kind()] = kind as u16;
        let (local_day, local_hour) = at.local_day_and_hour(offset);
        request.values[self.dims.local_hour()] = local_hour as u16;
        request.values[self.dims.weekday()] = (local_day + 3).rem_euclid(7) as u16;
        request.pod = match kind {
            BreakKind::PreRoll => self.config.pre_roll,
            BreakKind::MidRoll => self.config.mid_roll,
        }
        .unwrap_or_default();
    }

    fn schedule_mid_roll(
        &self,
        queue: &mut EventQueue<Event>,
        now: SimTime,
        session: SessionBreak,
    ) {
        if self.config.mid_roll.is_none() {
            return;
        }
        let at = now + self.config.mid_roll_interval;
        if at < session.session_end && at < self.config.end {
            let next = SessionBreak {
                index: session.index + 1,
                ..session
            };
            queue.schedule(at, Event::Traffic(TrafficEvent::MidRoll(next)));
        }
    }
}

impl TrafficSource for Synthetic {
    fn start(&mut self, queue: &mut EventQueue<Event>) {
        self.schedule_next_arrival(queue);
    }

    fn handle(
        &mut self,
        event: TrafficEvent,
        now: SimTime,
        queue: &mut EventQueue<Event>,
        request: &mut AdRequest,
    ) -> bool {
        match event {
            TrafficEvent::SessionArrival { member } => {
                // A session's length only places its mid-rolls: without them it is not drawn.
                let length = if self.config.mid_roll.is_some() {
                    self.config.session_length.sample(&mut self.sessions)
                } else {
                    SimDuration::ZERO
                };
                let total = self.title_cumulative.last().copied().unwrap_or(0.0);
                let title = pick(&self.title_cumulative, self.sessions.uniform() * total) as u16;
                let session = SessionBreak {
                    member,
                    title,
                    index: 0,
                    session_end: now + length,
                };
                self.schedule_mid_roll(queue, now, session);
                self.schedule_next_arrival(queue);
                if self.config.pre_roll.is_some() {
                    self.fill_request(request, now, member, title, BreakKind::PreRoll, 0);
                    return true;
                }
                false
            }
            TrafficEvent::MidRoll(session) => {
                self.schedule_mid_roll(queue, now, session);
                self.fill_request(
                    request,
                    now,
                    session.member,
                    session.title,
                    BreakKind::MidRoll,
                    session.index,
                );
                true
            }
        }
    }

    fn n_members(&self) -> u32 {
        self.config.members
    }

    fn prefetch(&self, member: u32) {
        if let Some(row) = self.attributes.get(member as usize * self.n_attributes) {
            crate::engine::prefetch(row);
        }
    }
}

/// Running sums of `weights`.
fn cumulative(weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .scan(0.0, |sum, &weight| {
            *sum += weight;
            Some(*sum)
        })
        .collect()
}

/// Index of the first cumulative weight above `target` (a value in `[0, total)`); the last
/// index if rounding puts `target` at the total. Linear for the short lists of attribute
/// values, binary search for long ones such as the slate.
#[inline]
fn pick(cumulative: &[f64], target: f64) -> usize {
    let idx = if cumulative.len() <= 16 {
        cumulative
            .iter()
            .position(|&c| target < c)
            .unwrap_or(cumulative.len())
    } else {
        cumulative.partition_point(|&c| c <= target)
    };
    idx.min(cumulative.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pick_follows_the_weights() {
        let cumulative = cumulative(&[1.0, 0.0, 3.0]);
        assert_eq!(pick(&cumulative, 0.5), 0);
        assert_eq!(pick(&cumulative, 1.0), 2);
        assert_eq!(pick(&cumulative, 3.999), 2);
        assert_eq!(pick(&cumulative, 4.0), 2);
        let long: Vec<f64> = (1..=40).map(f64::from).collect();
        assert_eq!(pick(&long, 0.0), 0);
        assert_eq!(pick(&long, 1.0), 1);
        assert_eq!(pick(&long, 39.5), 39);
    }

    #[test]
    fn lognormal_survival_is_half_at_the_median() {
        let model = LengthModel {
            distribution: SessionLength::LogNormal {
                median_s: 1800.0,
                sigma: 0.8,
            },
            max: SimDuration::HOUR * 4,
        };
        assert!((model.survival(1800.0) - 0.5).abs() < 1e-12);
        assert_eq!(model.survival(4.0 * 3600.0), 0.0);
        assert_eq!(model.survival(0.0), 1.0);
    }
}
