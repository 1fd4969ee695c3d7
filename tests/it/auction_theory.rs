//! Auction theory, reproduced end to end: scenarios are run through the engine and their
//! clearing prices compared with closed forms for iid U[0, 1] values.
//!
//! Setup: one single-slot pre-roll per session and nothing else, no line items, no floor
//! unless stated, no latency losses, so that every request is one auction among all n bidders.
//! Values are drawn in CPM, so "revenue per auction" is the mean clearing price in CPM.
//! Tolerance: ±4 standard errors, where the standard error is sqrt(variance / auctions) with
//! the variance of the revenue from its closed form (for the reserve case, from the sample);
//! a correct simulator fails one such check with probability about 6e-5.

use adsim::engine::Simulation;
use adsim::scenario;

const MEMBERS: u32 = 40_000;

/// A scenario with `n` bidders drawing U[0,1] values, using `strategy`, sold by `auction`.
fn theory_scenario(n: usize, auction: &str, strategy: &str, floor: f64, seed: u64) -> String {
    let mut text = format!(
        r#"schema_version = 1
name = "theory"
seed = {seed}
start = 2026-11-02T00:00:00Z
duration = "1d"

[members]
count = {MEMBERS}

[[members.countries]]
name = "ZZ"
share = 1.0
utc_offset = "+00:00"

[viewing]
sessions_per_member_per_day = 1.0

[breaks]
pre_roll = {{ max_slots = 1, max_duration = "15s", slot_durations = ["15s"] }}
mid_roll = {{ enabled = false }}

[exchange]
auction = "{auction}"
floor_cpm = {floor}
"#
    );
    for k in 0..n {
        text.push_str(&format!(
            "\n[[bidders]]\nname = \"b{k}\"\nvalue = {{ distribution = \"uniform\", low = 0.0, high = 1.0 }}\nstrategy = {strategy}\ncreative_duration = \"15s\"\nlatency = {{ median = \"1ms\", sigma = 0.0 }}\n"
        ));
    }
    text
}

/// Runs a scenario text; returns (auctions, mean revenue per auction, sample variance) [CPM].
fn revenue(text: &str) -> (f64, f64, f64) {
    let scenario =
        scenario::from_text(text, "theory.toml", &[]).unwrap_or_else(|error| panic!("{error}"));
    let mut simulation = Simulation::new(&scenario);
    simulation.run();
    let auction = &simulation.metrics().auction;
    let n = auction.auctions as f64;
    let mean = auction.price_sum as f64 / 1e6 / n;
    let mean_sq = auction.price_sum_sq as f64 / 1e12 / n;
    (n, mean, mean_sq - mean * mean)
}

fn assert_within(label: &str, observed: f64, expected: f64, variance: f64, n: f64) {
    let se = (variance / n).sqrt();
    assert!(
        (observed - expected).abs() <= 4.0 * se,
        "{label}: observed {observed:.5}, expected {expected:.5} ± {:.5} (4 SE)",
        4.0 * se
    );
}

#[test]
fn second_price_revenue_is_the_expected_second_highest_value() {
    for (n, seed) in [(2usize, 1u64), (5, 2), (10, 3)] {
        let (auctions, mean, _) = revenue(&theory_scenario(
            n,
            "second_price",
            "\"truthful\"",
            0.0,
            seed,
        ));
        assert!(auctions > 30_000.0, "{auctions} auctions");
        let nf = n as f64;
        // E[X(n-1:n)] = (n-1)/(n+1); Var = 2(n-1) / ((n+1)^2 (n+2)).
        let variance = 2.0 * (nf - 1.0) / ((nf + 1.0).powi(2) * (nf + 2.0));
        assert_within(
            &format!("second price, n = {n}"),
            mean,
            (nf - 1.0) / (nf + 1.0),
            variance,
            auctions,
        );
    }
}

#[test]
fn first_price_equilibrium_has_the_same_revenue_and_less_variance() {
    for (n, seed) in [(2usize, 4u64), (5, 5), (10, 6)] {
        let nf = n as f64;
        let strategy = format!("{{ name = \"first_price_equilibrium\", n = {n} }}");
        let (auctions, mean, sample_var) =
            revenue(&theory_scenario(n, "first_price", &strategy, 0.0, seed));
        // Revenue = (n-1)/n · max, E = (n-1)/(n+1) (revenue equivalence);
        // Var = ((n-1)/n)^2 · n / ((n+1)^2 (n+2)).
        let variance = ((nf - 1.0) / nf).powi(2) * nf / ((nf + 1.0).powi(2) * (nf + 2.0));
        assert_within(
            &format!("first price equilibrium, n = {n}"),
            mean,
            (nf - 1.0) / (nf + 1.0),
            variance,
            auctions,
        );
        let (_, _, second_price_var) = revenue(&theory_scenario(
            n,
            "second_price",
            "\"truthful\"",
            0.0,
            seed,
        ));
        assert!(
            sample_var < second_price_var,
            "n = {n}: first-price variance {sample_var:.5} not below second-price {second_price_var:.5}"
        );
    }
}

#[test]
fn second_price_with_a_reserve_matches_myerson() {
    // With reserve r and n iid U[0,1] bidders, expected revenue is
    // n ∫_r^1 (2v − 1) v^(n−1) dv = (n−1)/(n+1) − 2n r^(n+1)/(n+1) + r^n
    // (Myerson 1981: revenue = expected virtual value 2v − 1 of the winner).
    for (n, r, seed) in [(2usize, 0.5f64, 7u64), (2, 0.3, 8), (5, 0.5, 9)] {
        let nf = n as f64;
        let (auctions, mean, sample_var) =
            revenue(&theory_scenario(n, "second_price", "\"truthful\"", r, seed));
        let expected = (nf - 1.0) / (nf + 1.0) - 2.0 * nf * r.powi(n as i32 + 1) / (nf + 1.0)
            + r.powi(n as i32);
        assert_within(
            &format!("reserve {r}, n = {n}"),
            mean,
            expected,
            sample_var,
            auctions,
        );
    }
}

/// A library user's bidder: always bids 0.9 and counts the outcomes it hears about.
struct Constant {
    outcomes: std::rc::Rc<std::cell::Cell<(u64, u64)>>,
}

impl adsim::bidder::Bidder for Constant {
    fn bid(
        &mut self,
        _request: &adsim::traffic::AdRequest,
        _floor: adsim::money::Micros,
        _stream: &mut adsim::engine::Stream,
    ) -> Option<adsim::money::Micros> {
        Some(adsim::money::Micros(900_000))
    }

    fn outcome(&mut self, won: bool, _price: adsim::money::Micros) {
        let (wins, total) = self.outcomes.get();
        self.outcomes.set((wins + u64::from(won), total + 1));
    }
}

#[test]
fn a_plugged_in_bidder_takes_part_like_a_built_in_one() {
    // Two truthful U[0,1] bidders against a constant 0.9 in second price: the constant bidder
    // wins when both values are below 0.9, probability 0.81.
    let text = theory_scenario(3, "second_price", "\"truthful\"", 0.0, 21);
    let scenario = scenario::from_text(&text, "plug.toml", &[]).unwrap();
    let mut simulation = Simulation::new(&scenario);
    let outcomes = std::rc::Rc::new(std::cell::Cell::new((0, 0)));
    assert!(simulation.plug_bidder(
        "b2",
        Box::new(Constant {
            outcomes: outcomes.clone()
        })
    ));
    assert!(!simulation.plug_bidder(
        "nobody",
        Box::new(Constant {
            outcomes: outcomes.clone()
        })
    ));
    simulation.run();
    let (wins, total) = outcomes.get();
    assert_eq!(wins, simulation.metrics().bidders[2].wins);
    let share = wins as f64 / total as f64;
    // Binomial standard error sqrt(0.81 · 0.19 / n) ≈ 0.002 for n ≈ 40,000; ±4 SE.
    let se = (0.81f64 * 0.19 / total as f64).sqrt();
    assert!(
        (share - 0.81).abs() <= 4.0 * se,
        "constant bidder won {share:.4} of auctions"
    );
}
