//! Keys every replica of one installation shares, made by whichever replica needs one first.

use diesel::prelude::*;

use crate::db::schema::instance_keys as k;
use crate::db::Conn;

/// The key called `name`, storing `fresh` as it unless another process got there first (then
/// its key wins, so every replica ends up with the same one).
pub fn get_or_create(conn: &mut Conn, name: &str, fresh: &str) -> QueryResult<String> {
    crate::on_backend!(conn, bc => diesel::insert_into(k::table)
        .values((k::name.eq(name), k::value.eq(fresh)))
        .on_conflict(k::name)
        .do_nothing()
        .execute(bc))?;
    k::table.find(name).select(k::value).first(conn)
}
