//! Template groups: the usage pull lists each account's groups (Meta directly and through
//! Kapso's proxy) and Meta's group analytics; `/templates?group=` and its API list a group's
//! templates; the account page and its API show each group's size and figures.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{self, app, with_traffic, App, Page};

/// (id, name, template ids) of a simulated group.
type Group = (String, String, BTreeSet<String>);

/// Each group of the simulator's WABA `wi` with its messages sent, as Meta's analytics count
/// them, over every day.
fn sent_by_group(w: &templar::sim::World, wi: usize) -> Vec<(String, i64)> {
    w.groups(wi)
        .into_iter()
        .map(|(id, _, _, members)| {
            let sent = w
                .analytics
                .iter()
                .filter(|((i, _), _)| members.contains(i))
                .map(|(_, d)| d.sent)
                .sum();
            (id, sent)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_are_listed_filtered_and_measured() {
    let env = App::new(2, 30).start().await;
    let app = app(&env);
    env.sync().await;
    with_traffic(&env, &app, 30).await;

    let (groups, analytics): (Vec<Group>, Vec<(String, i64)>) = {
        let w = env.sim.world();
        let groups: Vec<_> = (0..2)
            .flat_map(|wi| w.groups(wi))
            .map(|(id, name, _, members)| {
                let ids = members.iter().map(|i| w.templates[*i].id.clone()).collect();
                (id, name.to_string(), ids)
            })
            .collect();
        // Meta's figures of acme's groups (WABA 0), summed over every day.
        (groups, sent_by_group(&w, 0))
    };
    assert_eq!(groups.len(), 4);

    // The filter lists exactly a group's templates, for the Meta and the Kapso account alike.
    for (id, name, members) in &groups {
        let (status, _, body) =
            common::get(&app, &format!("/api/templates?group={id}&days=90"), &[]).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let listed: BTreeSet<String> = v["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(&listed, members, "group {name}");
        assert_eq!(v["group_name"], name.as_str());
    }
    let (id, name, members) = &groups[0];
    let (_, _, html) = common::get(&app, &format!("/templates?group={id}"), &[]).await;
    let page = Page::parse(&html);
    assert_eq!(page.texts(".chip.group"), [format!("group {name}")]);
    // The filter form keeps the group.
    assert!(page
        .form_query("form.filters", &[])
        .contains(&format!("group={id}")));
    let one = members.iter().next().unwrap();
    let (_, _, html) = common::get(&app, &format!("/templates/{one}"), &[]).await;
    let page = Page::parse(&html);
    assert!(page
        .attrs("dd a", "href")
        .iter()
        .any(|h| h.starts_with(&format!("/templates?group={id}"))));
    let (status, _, _) = common::get(&app, "/templates?group=404404", &[]).await;
    assert_eq!(status, 404);

    // Per group: its size and Meta's figures (acme is a Meta account with analytics on).
    let (_, _, body) = common::get(&app, "/api/accounts/acme?from=2020-01-01", &[]).await;
    let acme: Value = serde_json::from_str(&body).unwrap();
    for g in acme["template_groups"].as_array().unwrap() {
        let gid = g["id"].as_str().unwrap();
        let (_, _, members) = groups.iter().find(|x| x.0 == gid).unwrap();
        assert_eq!(g["templates"].as_u64().unwrap() as usize, members.len());
        let want = analytics.iter().find(|x| x.0 == gid).unwrap().1;
        assert!(want > 0);
        assert_eq!(g["sent"].as_i64().unwrap(), want, "{g}");
    }
    // globex (Kapso) has its groups, without Meta's analytics.
    let (_, _, body) = common::get(&app, "/api/accounts/globex", &[]).await;
    let globex: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = globex["template_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Order updates", "Promotions"]);
    let (_, _, html) = common::get(&app, "/accounts/acme", &[]).await;
    assert_eq!(Page::parse(&html).texts(".groups tbody tr").len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_ten_groups_are_measured_ten_at_a_time() {
    let env = App::new(1, 60).start().await;
    // Meta answers group analytics for at most 10 group ids a call (the simulator refuses
    // more): 12 groups take two calls.
    env.sim.world().wabas[0].template_groups = 12;
    let app = app(&env);
    env.sync().await;
    with_traffic(&env, &app, 30).await;
    let want = sent_by_group(&env.sim.world(), 0);
    assert_eq!(want.len(), 12);
    let (_, _, body) = common::get(&app, "/api/accounts/acme?from=2020-01-01", &[]).await;
    let acme: Value = serde_json::from_str(&body).unwrap();
    let got: Vec<(String, i64)> = acme["template_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["id"].as_str().unwrap().to_string(),
                g["sent"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut sorted = want.clone();
    sorted.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    assert_eq!(
        got_sorted, sorted,
        "every group's figures, the 11th and 12th too"
    );
    assert!(want.iter().all(|(_, sent)| *sent > 0), "{want:?}");
}
