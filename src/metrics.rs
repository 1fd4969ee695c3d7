//! Metrics: the counters a run accumulates. Pure data; `report` turns them into files.
//!
//! Hourly series are indexed by whole hours since the run start. Inventory is kept per hour
//! and per segment of country × device × genre, the grain forecasting jobs train on.

use crate::time::{SimDuration, SimTime};
use crate::traffic::{AdRequest, DIM_COUNTRY, DIM_DEVICE, Dimensions};

/// Per line item totals, in scenario order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemMetrics {
    pub impressions: u64,
    /// Distinct members who saw the item at least once.
    pub reach: u64,
    /// Requests the item was otherwise eligible for (targeting, flight, goal, pod) but a
    /// frequency cap blocked.
    pub lost_to_caps: u64,
}

/// One inventory cell: an hour × segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cell {
    pub requests: u32,
    pub opportunities: u32,
    pub impressions: u32,
}

/// Everything a run counts.
#[derive(Clone, Debug)]
pub struct Metrics {
    pub start: SimTime,
    pub n_hours: usize,
    pub requests: u64,
    pub opportunities: u64,
    pub impressions: u64,
    pub items: Vec<ItemMetrics>,
    /// `delivery[hour * n_items + item]`: impressions of an item in an hour.
    pub delivery: Vec<u32>,
    /// `inventory[((hour * n_countries + country) * n_devices + device) * n_genres + genre]`.
    pub inventory: Vec<Cell>,
    pub n_countries: usize,
    pub n_devices: usize,
    pub n_genres: usize,
    genre_dim: usize,
}

impl Metrics {
    pub fn new(start: SimTime, end: SimTime, n_items: usize, dims: &Dimensions) -> Metrics {
        let n_hours = ((end - start).0 as u64).div_ceil(SimDuration::HOUR.0 as u64) as usize;
        let n_countries = dims.list[DIM_COUNTRY].values.len();
        let n_devices = dims.list[DIM_DEVICE].values.len();
        let n_genres = dims.list[dims.genre()].values.len();
        Metrics {
            start,
            n_hours,
            requests: 0,
            opportunities: 0,
            impressions: 0,
            items: vec![ItemMetrics::default(); n_items],
            delivery: vec![0; n_hours * n_items],
            inventory: vec![Cell::default(); n_hours * n_countries * n_devices * n_genres],
            n_countries,
            n_devices,
            n_genres,
            genre_dim: dims.genre(),
        }
    }

    #[inline]
    fn hour(&self, at: SimTime) -> usize {
        ((at - self.start).0 / SimDuration::HOUR.0) as usize
    }

    /// Records an impression of line item `item` (scenario index).
    #[inline]
    pub fn record_impression(&mut self, item: usize, at: SimTime) {
        let n_items = self.items.len();
        self.items[item].impressions += 1;
        let hour = self.hour(at);
        self.delivery[hour * n_items + item] += 1;
    }

    /// Records a served request and how many of its slots were filled.
    #[inline]
    pub fn record_request(&mut self, request: &AdRequest, filled: u32) {
        let opportunities = request.pod.opportunities();
        self.requests += 1;
        self.opportunities += u64::from(opportunities);
        self.impressions += u64::from(filled);
        let cell = ((self.hour(request.at) * self.n_countries
            + usize::from(request.values[DIM_COUNTRY]))
            * self.n_devices
            + usize::from(request.values[DIM_DEVICE]))
            * self.n_genres
            + usize::from(request.values[self.genre_dim]);
        let cell = &mut self.inventory[cell];
        cell.requests += 1;
        cell.opportunities += opportunities;
        cell.impressions += filled;
    }
}
