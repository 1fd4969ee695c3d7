//! Bid strategies: from a value [CPM] to a bid [CPM].
//!
//! | name | bid | source |
//! |---|---|---|
//! | `truthful` | value | dominant strategy in second-price auctions (Vickrey 1961) |
//! | `fixed` | a constant CPM | the classic "constant bid" baseline of the RTB literature |
//! | `shaded` | α · value | bid shading for first-price auctions |
//! | `first_price_equilibrium` | (n−1)/n · value | symmetric Bayes–Nash equilibrium of a first-price auction with n bidders and iid U[0, v̄] values (Vickrey 1961; Krishna, *Auction Theory*, §2.3) |
//! | `linear` | base_bid × pCTR / base_ctr | Perlich et al., "Bid optimizing and inventory scoring in targeted online advertising", KDD 2012 |
//! | `learning_shader` | α · value, α chosen by UCB1 | UCB1 (Auer, Cesa-Bianchi, Fischer, "Finite-time analysis of the multiarmed bandit problem", 2002) over a grid of shading factors, rewarded with the surplus share (value − price)/value of each won impression and 0 for a loss |

/// Shading factors the learning shader chooses among.
pub const SHADER_ARMS: [f64; 7] = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// A bid strategy and its state.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    Truthful,
    Fixed { cpm: f64 },
    Shaded { alpha: f64 },
    FirstPriceEquilibrium { n: u32 },
    Linear { base_bid: f64, base_ctr: f64 },
    LearningShader(Shader),
}

impl Strategy {
    pub const NAMES: &'static [&'static str] = &[
        "first_price_equilibrium",
        "fixed",
        "learning_shader",
        "linear",
        "shaded",
        "truthful",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Truthful => "truthful",
            Strategy::Fixed { .. } => "fixed",
            Strategy::Shaded { .. } => "shaded",
            Strategy::FirstPriceEquilibrium { .. } => "first_price_equilibrium",
            Strategy::Linear { .. } => "linear",
            Strategy::LearningShader(_) => "learning_shader",
        }
    }

    /// The bid for an impression of `value` [CPM] with predicted CTR `pctr`.
    #[inline]
    pub fn bid(&mut self, value: f64, pctr: f64) -> f64 {
        match self {
            Strategy::Truthful => value,
            Strategy::Fixed { cpm } => *cpm,
            Strategy::Shaded { alpha } => *alpha * value,
            Strategy::FirstPriceEquilibrium { n } => {
                f64::from(n.saturating_sub(1)) / f64::from((*n).max(1)) * value
            }
            Strategy::Linear { base_bid, base_ctr } => *base_bid * pctr / *base_ctr,
            Strategy::LearningShader(shader) => shader.bid(value),
        }
    }

    /// Feedback on the last bid: whether it won and the price paid [CPM].
    #[inline]
    pub fn outcome(&mut self, won: bool, price: f64) {
        if let Strategy::LearningShader(shader) = self {
            shader.outcome(won, price);
        }
    }
}

/// UCB1 over `SHADER_ARMS`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Shader {
    pulls: [u64; SHADER_ARMS.len()],
    reward: [f64; SHADER_ARMS.len()],
    total: u64,
    /// The arm and value of the bid awaiting its outcome.
    pending: Option<(usize, f64)>,
}

impl Shader {
    /// The arm UCB1 plays next: every arm once, then the best mean plus exploration bonus
    /// `sqrt(2 ln N / n_k)`; ties go to the lower arm.
    pub fn choose(&self) -> usize {
        if let Some(untried) = self.pulls.iter().position(|&n| n == 0) {
            return untried;
        }
        let log_total = (self.total as f64).ln();
        let score = |arm: usize| {
            let n = self.pulls[arm] as f64;
            self.reward[arm] / n + (2.0 * log_total / n).sqrt()
        };
        (0..SHADER_ARMS.len()).fold(
            0,
            |best, arm| if score(arm) > score(best) { arm } else { best },
        )
    }

    fn bid(&mut self, value: f64) -> f64 {
        let arm = self.choose();
        self.pending = Some((arm, value));
        SHADER_ARMS[arm] * value
    }

    fn outcome(&mut self, won: bool, price: f64) {
        let Some((arm, value)) = self.pending.take() else {
            return;
        };
        let reward = if won && value > 0.0 {
            ((value - price) / value).clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.pulls[arm] += 1;
        self.reward[arm] += reward;
        self.total += 1;
    }

    /// Times each arm was played.
    pub fn pulls(&self) -> &[u64] {
        &self.pulls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_strategies() {
        assert_eq!(Strategy::Truthful.bid(2.0, 0.0), 2.0);
        assert_eq!(Strategy::Fixed { cpm: 3.0 }.bid(2.0, 0.0), 3.0);
        assert_eq!(Strategy::Shaded { alpha: 0.5 }.bid(2.0, 0.0), 1.0);
        assert!((Strategy::FirstPriceEquilibrium { n: 5 }.bid(1.0, 0.0) - 0.8).abs() < 1e-12);
        assert!(
            (Strategy::Linear {
                base_bid: 2.0,
                base_ctr: 0.001
            }
            .bid(0.0, 0.003)
                - 6.0)
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn the_shader_learns_the_best_shading_in_a_known_market() {
        // A first-price market with one competing bid uniform on [0, 1] and value 1: bidding α
        // wins with probability α and earns 1 − α, so the expected surplus α(1 − α) peaks at
        // α = 0.5. After many rounds UCB1 must play 0.5 most.
        let mut strategy = Strategy::LearningShader(Shader::default());
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let bid = strategy.bid(1.0, 0.0);
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let competitor = (state >> 11) as f64 / (1u64 << 53) as f64;
            strategy.outcome(bid > competitor, bid);
        }
        let Strategy::LearningShader(shader) = &strategy else {
            unreachable!()
        };
        let best = (0..SHADER_ARMS.len())
            .max_by_key(|&arm| shader.pulls()[arm])
            .unwrap();
        assert_eq!(SHADER_ARMS[best], 0.5, "pulls {:?}", shader.pulls());
    }
}
