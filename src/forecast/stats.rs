//! Small statistics helpers: empirical quantiles and the standard normal quantile.

/// Quantile `p` in [0, 1] of ascending-sorted, non-empty `sorted` by linear interpolation
/// between order statistics (Hyndman & Fan 1996, type 7, R's default):
/// `x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋])` with `h = (n − 1)p`. Returns 0 for an empty slice.
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let h = last as f64 * p.clamp(0.0, 1.0);
    let lo = (h.floor() as usize).min(last);
    let hi = (lo + 1).min(last);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// The `(1 − level)/2` and `(1 + level)/2` quantiles of `values` (type 7); `(0, 0)` if empty.
/// Sorts `values` in place with `f64::total_cmp`, so the result does not depend on the
/// input order.
pub(crate) fn central_quantiles(values: &mut [f64], level: f64) -> (f64, f64) {
    values.sort_unstable_by(f64::total_cmp);
    sorted_central_quantiles(values, level)
}

/// [`central_quantiles`] of values that are already sorted ascending.
pub(crate) fn sorted_central_quantiles(sorted: &[f64], level: f64) -> (f64, f64) {
    let tail = (1.0 - level) / 2.0;
    (
        quantile_sorted(sorted, tail),
        quantile_sorted(sorted, 1.0 - tail),
    )
}

/// Standard normal quantile `Φ⁻¹(p)` for `p` in (0, 1), by P. J. Acklam's rational
/// approximation (relative error below 1.15e-9, ample for interval half-widths). Returns
/// ±infinity at 0 and 1.
pub(crate) fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - P_LOW {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Type-7 quantiles of [1, 2, 3, 4, 10]: h = 4p, so p = 0.1 → h = 0.4 → 1 + 0.4·1 = 1.4;
    /// p = 0.9 → h = 3.6 → 4 + 0.6·6 = 7.6; p = 0.5 → the median 3.
    #[test]
    fn type7_quantiles_match_hand_computation() {
        let mut v = vec![10.0, 3.0, 1.0, 4.0, 2.0];
        let (lo, hi) = central_quantiles(&mut v, 0.8);
        assert!((lo - 1.4).abs() < 1e-12, "{lo}");
        assert!((hi - 7.6).abs() < 1e-12, "{hi}");
        assert_eq!(quantile_sorted(&v, 0.5), 3.0);
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 10.0);
        assert_eq!(quantile_sorted(&[], 0.3), 0.0);
        assert_eq!(quantile_sorted(&[5.0], 0.3), 5.0);
    }

    /// Reference values from standard normal tables (to 1e-8, well above Acklam's 1.15e-9
    /// relative error and far below anything an interval can resolve).
    #[test]
    fn normal_quantile_matches_tables() {
        let cases = [
            (0.5, 0.0),
            (0.9, 1.281_551_565_544_600_5),
            (0.975, 1.959_963_984_540_054),
            (0.995, 2.575_829_303_548_901),
            (0.001, -3.090_232_306_167_813_6),
            (0.2, -0.841_621_233_572_914_3),
        ];
        for (p, z) in cases {
            assert!((normal_quantile(p) - z).abs() < 1e-8, "p={p}");
        }
        assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_quantile(1.0), f64::INFINITY);
    }
}
