//! report.html: written for runs, comparisons and sweeps, self-contained, with its charts.
//! (Rendering in a real browser is checked by `scripts/screenshot_report.sh` in `.ci/run`.)

use adsim::report;

/// Structural checks that hold for every report: one document, no external resource, every
/// SVG closed, no unescaped text breaking the markup.
fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", &html[..40]);
    assert!(html.trim_end().ends_with("</html>"));
    for external in [
        "<script",
        "src=",
        "href=",
        "http://www.w3.org/1999",
        "https://",
    ] {
        assert!(!html.contains(external), "report refers to {external}");
    }
    assert_eq!(
        html.matches("<svg ").count(),
        html.matches("</svg>").count()
    );
    assert_eq!(
        html.matches("<table>").count(),
        html.matches("</table>").count()
    );
}

#[test]
fn a_run_report_has_every_chart() {
    let scenario = crate::load(
        "pacing_comparison.toml",
        &["duration=6h", "members.count=20000"],
    );
    let simulation = crate::simulate(&scenario, false);
    let (summary, files) = report::render(&scenario, &simulation);
    let html = &files
        .iter()
        .find(|(name, _)| *name == "report.html")
        .unwrap()
        .1;
    assert_self_contained(html);
    for title in [
        "Ad requests per hour",
        "Fill rate per hour [%]",
        "eCPM per hour",
        "Spend against budget, per bidder",
        "Bidder response latency percentiles [ms]",
        "Clearing price distribution [CPM]",
    ] {
        assert!(html.contains(title), "no {title}");
    }
    // Five charts (requests, fill, eCPM, latency, prices) and one small chart per budgeted
    // bidder.
    let budgeted = summary
        .bidders
        .iter()
        .filter(|b| b.budget.is_some())
        .count();
    assert_eq!(budgeted, 6);
    assert_eq!(html.matches("<svg ").count(), 5 + budgeted);
    // Names are escaped, numbers are from the summary.
    assert!(html.contains("Campaign (kpi_pid)"));
    assert!(html.contains(&summary.totals.requests.to_string()));
}

#[test]
fn line_items_and_plans_appear_in_the_report() {
    let scenario = crate::load("guaranteed_contention.toml", &[]);
    let simulation = crate::simulate(&scenario, false);
    let (_, files) = report::render(&scenario, &simulation);
    let html = &files
        .iter()
        .find(|(name, _)| *name == "report.html")
        .unwrap()
        .1;
    assert_self_contained(html);
    assert!(html.contains("Delivery against goal, per line item"));
    assert!(html.contains("Guaranteed-delivery plan: hwm on forecast oracle"));
    // Three planned items with goals: three small multiples.
    assert!(html.contains(">Acme run of network</text>"));
    assert!(html.contains(">Corvid GB</text>"));
}

#[test]
fn compare_and_sweep_reports_are_written() {
    let scenario = crate::scenario_path("floor_sweep.toml");
    let scenario = scenario.to_str().unwrap();
    let small = ["--set", "duration=2h", "--set", "members.count=20000", "-q"];
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("cmp");
    let mut args = vec![
        "compare",
        scenario,
        scenario,
        "--set-b",
        "exchange.floor_cpm=3",
        "--replications",
        "3",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend(small);
    assert!(crate::adsim(&args).status.success());
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("paired 95% intervals") && html.contains("average_clearing_price"));
    let dir = out.path().join("sweep");
    let mut args = vec![
        "sweep",
        scenario,
        "--grid",
        "exchange.floor_cpm=0,3",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend(small);
    assert!(crate::adsim(&args).status.success());
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("revenue (mean, 95% CI)"));
}
