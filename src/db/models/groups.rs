//! Template groups (`template_groups`, `template_group_members`, `template_group_daily`):
//! replaced per account by the usage pull, read by the account page, the template page and the
//! `group=` filter.

use crate::db::Conn;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    template_group_daily as gd, template_group_members as gm, template_groups as g,
};
use crate::sources::groups::{GroupPoint, TemplateGroup};

/// Replaces an account's groups and memberships with what Meta lists now (nothing is written
/// when they are the same).
pub fn replace(
    conn: &mut Conn,
    account_id: i32,
    groups: &[TemplateGroup],
    now: i64,
) -> QueryResult<()> {
    let mut stored: Vec<(String, String, Option<String>)> = g::table
        .filter(g::account_id.eq(account_id))
        .select((g::group_id, g::name, g::description))
        .load(conn)?;
    let mut members: Vec<(String, String)> = gm::table
        .filter(gm::account_id.eq(account_id))
        .select((gm::group_id, gm::template_id))
        .load(conn)?;
    let mut seen: Vec<(String, String, Option<String>)> = groups
        .iter()
        .map(|x| (x.id.clone(), x.name.clone(), x.description.clone()))
        .collect();
    let mut seen_members: Vec<(String, String)> = Vec::new();
    for x in groups {
        for t in &x.template_ids {
            if !seen_members.iter().any(|(_, m)| m == t) {
                seen_members.push((x.id.clone(), t.clone()));
            }
        }
    }
    stored.sort();
    seen.sort();
    members.sort();
    seen_members.sort();
    if stored == seen && members == seen_members {
        return Ok(());
    }
    diesel::delete(gm::table.filter(gm::account_id.eq(account_id))).execute(conn)?;
    diesel::delete(g::table.filter(g::account_id.eq(account_id))).execute(conn)?;
    for group in groups {
        diesel::insert_into(g::table)
            .values((
                g::account_id.eq(account_id),
                g::group_id.eq(&group.id),
                g::name.eq(&group.name),
                g::description.eq(&group.description),
                g::updated_at.eq(now),
            ))
            .execute(conn)?;
        for t in &group.template_ids {
            // A template is in one group; a listing that says otherwise keeps the first.
            crate::on_backend!(conn, bc => diesel::insert_into(gm::table)
                .values((
                    gm::account_id.eq(account_id),
                    gm::group_id.eq(&group.id),
                    gm::template_id.eq(t),
                ))
                .on_conflict_do_nothing()
                .execute(bc))?;
        }
    }
    Ok(())
}

/// Stores Meta's daily group figures (the newest answer wins; unchanged days are not written).
pub fn store_points(conn: &mut Conn, account_id: i32, points: &[GroupPoint]) -> QueryResult<()> {
    for p in points {
        let old: Option<(i64, i64, i64, i64, f64)> = gd::table
            .find((account_id, &p.group_id, &p.day))
            .select((gd::sent, gd::delivered, gd::read, gd::clicked, gd::cost))
            .first(conn)
            .optional()?;
        if old == Some((p.sent, p.delivered, p.read, p.clicked, p.cost)) {
            continue;
        }
        let figures = (
            gd::sent.eq(p.sent),
            gd::delivered.eq(p.delivered),
            gd::read.eq(p.read),
            gd::clicked.eq(p.clicked),
            gd::cost.eq(p.cost),
        );
        crate::on_backend!(conn, bc => diesel::insert_into(gd::table)
            .values((
                gd::account_id.eq(account_id),
                gd::group_id.eq(&p.group_id),
                gd::day.eq(&p.day),
                figures,
            ))
            .on_conflict((gd::account_id, gd::group_id, gd::day))
            .do_update()
            .set(figures)
            .execute(bc))?;
    }
    Ok(())
}

/// A group with its size and Meta's figures over a period.
#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub templates: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub clicked: i64,
    pub cost: f64,
}

/// An account's groups, by name, with figures between two days (both included).
pub fn of_account(
    conn: &mut Conn,
    account_id: i32,
    from: &str,
    to: &str,
) -> QueryResult<Vec<GroupView>> {
    let groups: Vec<(String, String, Option<String>)> = g::table
        .filter(g::account_id.eq(account_id))
        .order(g::name)
        .select((g::group_id, g::name, g::description))
        .load(conn)?;
    let mut out = Vec::new();
    for (id, name, description) in groups {
        let templates = gm::table
            .filter(gm::account_id.eq(account_id))
            .filter(gm::group_id.eq(&id))
            .count()
            .get_result(conn)?;
        let days: Vec<(i64, i64, i64, i64, f64)> = gd::table
            .filter(gd::account_id.eq(account_id))
            .filter(gd::group_id.eq(&id))
            .filter(gd::day.between(from, to))
            .select((gd::sent, gd::delivered, gd::read, gd::clicked, gd::cost))
            .load(conn)?;
        let mut v = GroupView {
            id,
            name,
            description,
            templates,
            sent: 0,
            delivered: 0,
            read: 0,
            clicked: 0,
            cost: 0.0,
        };
        for (s, d, r, c, cost) in days {
            v.sent += s;
            v.delivered += d;
            v.read += r;
            v.clicked += c;
            v.cost += cost;
        }
        out.push(v);
    }
    Ok(out)
}

/// The group a template is in: (id, name).
pub fn of_template(
    conn: &mut Conn,
    account_id: i32,
    template_id: &str,
) -> QueryResult<Option<(String, String)>> {
    gm::table
        .inner_join(
            g::table.on(g::account_id
                .eq(gm::account_id)
                .and(g::group_id.eq(gm::group_id))),
        )
        .filter(gm::account_id.eq(account_id))
        .filter(gm::template_id.eq(template_id))
        .select((g::group_id, g::name))
        .first(conn)
        .optional()
}

/// A group's name, for the filter chip.
pub fn name(conn: &mut Conn, group_id: &str) -> QueryResult<Option<String>> {
    g::table
        .filter(g::group_id.eq(group_id))
        .select(g::name)
        .first(conn)
        .optional()
}
