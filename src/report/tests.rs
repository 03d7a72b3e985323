use super::*;

#[test]
fn periods() {
    let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    assert_eq!(
        Period::parse(Some("7"), None, None, today)
            .unwrap()
            .from_s(),
        "2026-11-19"
    );
    assert_eq!(
        Period::parse(None, None, None, today).unwrap().days().len(),
        30
    );
    let p = Period::parse(None, Some("2026-11-01"), Some("2026-11-03"), today).unwrap();
    assert_eq!(p.days().len(), 3);
    assert!(Period::parse(None, Some("2026-11-05"), Some("2026-11-01"), today).is_err());
    assert!(Period::parse(None, Some("yesterday"), None, today)
        .unwrap_err()
        .contains("not a date"));
    assert!(Period::parse(Some("0"), None, None, today).is_err());
}

#[test]
fn meta_wins_but_failures_are_observed() {
    let meta = Totals {
        sent: 10,
        delivered: 9,
        read: 5,
        clicked: 1,
        failed: 0,
        cost: 0.4,
        estimated: 0.0,
    };
    let observed = Totals {
        sent: 8,
        delivered: 7,
        read: 4,
        clicked: 0,
        failed: 1,
        cost: 0.0,
        estimated: 0.0,
    };
    let r = DayRow {
        template_row: 1,
        day: "2026-11-25".into(),
        meta: Some(meta),
        observed: Some(observed),
    };
    assert_eq!(r.combined(), Totals { failed: 1, ..meta });
    assert_eq!(r.source(), "meta");
}
