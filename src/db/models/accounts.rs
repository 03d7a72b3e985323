//! Accounts: one row per configured account name.

use crate::db::Conn;
use diesel::prelude::*;

use crate::db::schema::accounts;

/// A stored account.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: i32,
    pub name: String,
    pub source: String,
    pub created_at: i64,
}

/// The id of the account called `name`, creating it on first use.
pub fn ensure(conn: &mut Conn, name: &str, source: &str, now: i64) -> QueryResult<i32> {
    if let Some(id) = find_id(conn, name)? {
        return Ok(id);
    }
    // Two processes may meet here (a sync and a webhook, on two replicas): the second
    // insert does nothing and both read the one row.
    crate::on_backend!(conn, bc => diesel::insert_into(accounts::table)
        .values((
            accounts::name.eq(name),
            accounts::source.eq(source),
            accounts::created_at.eq(now),
        ))
        .on_conflict(accounts::name)
        .do_nothing()
        .execute(bc))?;
    accounts::table
        .filter(accounts::name.eq(name))
        .select(accounts::id)
        .first(conn)
}

/// The id of the account called `name`, if it has ever synced.
pub fn find_id(conn: &mut Conn, name: &str) -> QueryResult<Option<i32>> {
    accounts::table
        .filter(accounts::name.eq(name))
        .select(accounts::id)
        .first(conn)
        .optional()
}

/// Every stored account, by name.
pub fn all(conn: &mut Conn) -> QueryResult<Vec<Account>> {
    accounts::table
        .order(accounts::name)
        .select(Account::as_select())
        .load(conn)
}
