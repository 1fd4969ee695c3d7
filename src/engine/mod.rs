//! The discrete-event engine: simulated time, the event queue and the run loop.
//!
//! Time only advances by taking the earliest event from the queue; events at the same time
//! come out in the order they were scheduled (see `queue`). The set of events is closed
//! (`Event`), and dispatch is one `match`. Traffic is generated lazily: a traffic source keeps
//! only its next arrival and the breaks of sessions in progress in the queue, so the queue
//! holds about as many events as there are concurrent sessions, however long the run.
//!
//! The engine does no I/O and reads no clock. Events at or after the run's end are never
//! handled.

mod queue;
mod rng;

pub use queue::EventQueue;
pub(crate) use rng::fnv1a64;
pub use rng::{Stream, chance_threshold};

use crate::adserver::{AdServer, OracleInputs};
use crate::metrics::Metrics;
use crate::response::Response;
use crate::scenario::Scenario;
use crate::time::SimTime;
use crate::traffic::{AdRequest, ExpectedTraffic, Synthetic, TrafficEvent, TrafficSource};

/// Everything that can happen in a run.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// An event of the traffic source (a session arrival, a mid-roll falling due).
    Traffic(TrafficEvent),
    /// A line item's flight starts or ends (internal, priority-order index).
    FlightStart(u32),
    FlightEnd(u32),
    /// Pacers re-decide.
    PacingTick,
    /// Budget synchronisation (with a synchronisation lag).
    Sync,
    /// A click or conversion happens.
    Response(Response),
}

/// Asks the CPU to start loading the cache line holding `value`. A hint only: it has no
/// effect on results.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing architecturally and cannot fault; the pointer comes
    // from a reference, and SSE is part of the x86-64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            (value as *const T).cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// The ad server of `scenario` for the members of `traffic`, paced against `expected`
/// (which must cover the run), with its guaranteed-delivery plan if the scenario has one.
pub fn ad_server(scenario: &Scenario, traffic: &Synthetic, expected: &ExpectedTraffic) -> AdServer {
    let dims = traffic.dimensions();
    let offsets: Vec<i32> = scenario
        .traffic
        .countries
        .iter()
        .map(|c| c.utc_offset_minutes)
        .collect();
    let mut server = AdServer::new(
        &scenario.adserver,
        dims,
        &offsets,
        expected,
        traffic.n_members(),
        scenario.seed,
        (scenario.start, scenario.end),
    );
    if let Some(allocation) = &scenario.adserver.allocation {
        let slots = |pod: Option<crate::traffic::PodSpec>| pod.map_or(0, |p| p.opportunities());
        let targeting: Vec<_> = scenario
            .adserver
            .line_items
            .iter()
            .map(|item| item.targeting.clone())
            .collect();
        server.plan_guaranteed(
            allocation,
            dims,
            &OracleInputs {
                expected,
                traffic,
                offsets: &offsets,
            },
            [
                slots(scenario.traffic.pre_roll),
                slots(scenario.traffic.mid_roll),
            ],
            &targeting,
        );
    }
    server
}

/// What can still be sold to `query` in `window` (whole hours), given the scenario's booked
/// guaranteed line items, on the forecast `source`: the point answer, then the answers on the
/// forecast interval's low and high bounds (equal to the point for the oracle and for files
/// without bounds). Booked items take the part of their goal that their schedule puts in the
/// window.
pub fn avails(
    scenario: &Scenario,
    query: &[crate::adserver::Rule],
    window: (SimTime, SimTime),
    source: &crate::adserver::ForecastSource,
) -> [crate::adserver::Avails; 3] {
    use crate::adserver::{Bound, PRICE_PRIORITY, PlannedItem};
    let traffic = Synthetic::new(scenario.traffic.clone(), scenario.seed);
    let mut horizon = scenario.traffic.clone();
    horizon.end = scenario.pacing_horizon().max(window.1);
    let expected = ExpectedTraffic::new(&horizon);
    let server = ad_server(scenario, &traffic, &expected);
    let offsets: Vec<i32> = scenario
        .traffic
        .countries
        .iter()
        .map(|c| c.utc_offset_minutes)
        .collect();
    let mut booked = Vec::new();
    for idx in 0..server.n_items() {
        let item = &scenario.adserver.line_items[server.scenario_index(idx)];
        if item.goal.is_none() || item.priority >= PRICE_PRIORITY {
            continue;
        }
        let (start, end) = (
            item.flight_start.max(window.0),
            item.flight_end.min(window.1),
        );
        if start >= end {
            continue;
        }
        let goal = server.target_at(idx, window.1) - server.target_at(idx, window.0);
        booked.push(PlannedItem {
            internal: idx,
            priority: item.priority,
            goal,
            targeting: &item.targeting,
            flight: (start, end),
        });
    }
    let slots = |pod: Option<crate::traffic::PodSpec>| pod.map_or(0, |p| p.opportunities());
    let oracle = OracleInputs {
        expected: &expected,
        traffic: &traffic,
        offsets: &offsets,
    };
    let slots_of = [
        slots(scenario.traffic.pre_roll),
        slots(scenario.traffic.mid_roll),
    ];
    [Bound::Point, Bound::Low, Bound::High].map(|bound| {
        crate::adserver::avails(
            &booked,
            query,
            traffic.dimensions(),
            source,
            &oracle,
            slots_of,
            window,
            bound,
        )
    })
}

/// Empty metrics for a run of `scenario`.
pub fn metrics_for(scenario: &Scenario, dims: &crate::traffic::Dimensions) -> Metrics {
    Metrics::new(
        scenario.start,
        scenario.end,
        scenario.adserver.line_items.len(),
        scenario.adserver.bidders.len(),
        crate::metrics::InventoryLayout::new(
            &scenario.inventory.keys,
            scenario.inventory.period,
            scenario.start,
            scenario.end,
            dims,
        ),
        scenario.adserver.exchange.bid_landscape,
    )
}

/// One run of a scenario.
pub struct Simulation {
    now: SimTime,
    start: SimTime,
    end: SimTime,
    queue: EventQueue<Event>,
    traffic: Box<dyn TrafficSource>,
    server: AdServer,
    metrics: Metrics,
    request: AdRequest,
    pacing_interval: crate::time::SimDuration,
    budget_sync: Option<crate::time::SimDuration>,
    n_events: u64,
    bidder_names: Vec<String>,
}

impl Simulation {
    /// Sets up a run: members, slate, line items, and the first events.
    pub fn new(scenario: &Scenario) -> Simulation {
        let traffic = Synthetic::new(scenario.traffic.clone(), scenario.seed);
        let dims = traffic.dimensions().clone();
        let mut horizon = scenario.traffic.clone();
        horizon.end = scenario.pacing_horizon();
        let expected = ExpectedTraffic::new(&horizon);
        let server = ad_server(scenario, &traffic, &expected);
        let metrics = metrics_for(scenario, &dims);
        // Logged requests replace the synthetic sessions; the synthetic world still supplies
        // the vocabularies, the member count and the pacing curves.
        let traffic: Box<dyn TrafficSource> = match &scenario.logged_traffic {
            Some(config) => Box::new(
                crate::traffic::logged::Logged::new(
                    config.clone(),
                    dims.clone(),
                    traffic.n_members(),
                    scenario
                        .traffic
                        .countries
                        .iter()
                        .map(|c| c.utc_offset_minutes)
                        .collect(),
                    [
                        scenario.traffic.pre_roll.unwrap_or_default(),
                        scenario.traffic.mid_roll.unwrap_or_default(),
                    ],
                    (scenario.start, scenario.end),
                    scenario.seed,
                )
                .unwrap_or_else(|error| {
                    panic!(
                        "the log {} was checked at load but cannot be read now: {error}",
                        config.file.display()
                    )
                }),
            ),
            None => Box::new(traffic),
        };
        let mut simulation = Simulation {
            now: scenario.start,
            start: scenario.start,
            end: scenario.end,
            queue: EventQueue::default(),
            traffic,
            server,
            metrics,
            request: AdRequest::default(),
            pacing_interval: scenario.adserver.pacing_interval,
            budget_sync: scenario.adserver.budget_sync,
            n_events: 0,
            bidder_names: scenario
                .adserver
                .bidders
                .iter()
                .map(|b| b.name.clone())
                .collect(),
        };
        for idx in 0..simulation.server.n_items() {
            let (flight_start, flight_end) = simulation.server.flight(idx);
            if flight_end > scenario.start && flight_start < scenario.end {
                simulation.queue.schedule(
                    flight_start.max(scenario.start),
                    Event::FlightStart(idx as u32),
                );
                if flight_end < scenario.end {
                    simulation
                        .queue
                        .schedule(flight_end, Event::FlightEnd(idx as u32));
                }
            }
        }
        simulation.traffic.start(&mut simulation.queue);
        simulation.queue.schedule(
            scenario.start + simulation.pacing_interval,
            Event::PacingTick,
        );
        if let Some(every) = simulation.budget_sync {
            simulation
                .queue
                .schedule(scenario.start + every, Event::Sync);
        }
        simulation
    }

    /// Current simulated time (the time of the last event handled).
    pub fn now(&self) -> SimTime {
        self.now
    }

    pub fn start(&self) -> SimTime {
        self.start
    }

    pub fn end(&self) -> SimTime {
        self.end
    }

    /// Handles the earliest pending event. Returns false when none is left before the end.
    pub fn step(&mut self) -> bool {
        match self.queue.peek_time() {
            Some(at) if at < self.end => {}
            _ => return false,
        }
        let Some((at, event)) = self.queue.pop() else {
            return false;
        };
        // Member state is spread over gigabytes for millions of members: start fetching the
        // next requests' members now, so their cache misses overlap with this event's work.
        if let Some(Event::Traffic(next)) = self.queue.peek_event(0) {
            self.traffic.prefetch(next.member());
            self.server.prefetch_counters(next.member());
        }
        if let Some(Event::Traffic(after)) = self.queue.peek_event(1) {
            self.server.prefetch_slot(after.member());
        }
        self.now = at;
        self.n_events += 1;
        match event {
            Event::Traffic(traffic_event) => {
                if self
                    .traffic
                    .handle(traffic_event, at, &mut self.queue, &mut self.request)
                {
                    // Handling may have scheduled the very next request (a session's next
                    // arrival): start fetching its member while this one is served.
                    if let Some(Event::Traffic(next)) = self.queue.peek_event(0) {
                        self.traffic.prefetch(next.member());
                        self.server.prefetch_slot(next.member());
                    }
                    self.server.serve(&self.request, &mut self.metrics);
                    if self.server.has_responses() {
                        for (due, response) in self.server.drain_responses() {
                            self.queue.schedule(due, Event::Response(response));
                        }
                    }
                }
            }
            Event::FlightStart(idx) => self.server.start_flight(idx as usize, at),
            Event::FlightEnd(idx) => self.server.end_flight(idx as usize),
            Event::PacingTick => {
                self.server.pacing_tick(at, &mut self.metrics);
                self.queue
                    .schedule(at + self.pacing_interval, Event::PacingTick);
            }
            Event::Sync => {
                self.server.synchronise();
                if let Some(every) = self.budget_sync {
                    self.queue.schedule(at + every, Event::Sync);
                }
            }
            Event::Response(response) => {
                self.server.on_response(response, at, &mut self.metrics);
            }
        }
        true
    }

    /// Handles every event before `until` (and before the end of the run).
    pub fn run_until(&mut self, until: SimTime) {
        while self.queue.peek_time().is_some_and(|at| at < until) && self.step() {}
    }

    /// Runs to the end and completes the metrics.
    pub fn run(&mut self) {
        while self.step() {}
        self.server.flush_bidder_counts(&mut self.metrics);
        self.metrics.finish();
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn server(&self) -> &AdServer {
        &self.server
    }

    /// Plugs a `Bidder` of one's own in place of the scenario's bidder named `name` (its
    /// value model and strategy; everything else stays as the scenario says). Returns false
    /// if no bidder has that name.
    pub fn plug_bidder(&mut self, name: &str, bidder: Box<dyn crate::bidder::Bidder>) -> bool {
        match self.bidder_names.iter().position(|known| known == name) {
            Some(b) => {
                self.server.plug_bidder(b, bidder);
                true
            }
            None => false,
        }
    }

    /// Records every served pod from now on (see `AdServer::trace`).
    pub fn enable_trace(&mut self) {
        self.server.enable_trace();
    }

    /// Events handled so far.
    pub fn n_events(&self) -> u64 {
        self.n_events
    }
}
