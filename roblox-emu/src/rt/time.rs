//! Virtual time: Unix milliseconds on the universe's clock and the `DateTime` conversions.

use mlua::{Lua, Table};

use super::Registry;
use crate::server::ServerCtx;
use crate::timefmt;

/// Registers `unix_ms`, `iso_date`, `parse_iso_date` and `universal_time`.
pub(super) fn register(r: &Registry) -> mlua::Result<()> {
    r.plain("unix_ms", unix_ms)?;
    r.plain("iso_date", iso_date)?;
    r.plain("parse_iso_date", parse_iso_date)?;
    r.plain("universal_time", universal_time)
}

fn unix_ms(_lua: &Lua, c: &ServerCtx, (): ()) -> mlua::Result<f64> {
    Ok(c.shared.unix_ms() as f64)
}

fn iso_date(_lua: &Lua, _c: &ServerCtx, ms: f64) -> mlua::Result<String> {
    Ok(timefmt::iso(ms as i64))
}

fn parse_iso_date(_lua: &Lua, _c: &ServerCtx, s: String) -> mlua::Result<Option<f64>> {
    Ok(timefmt::parse_iso(&s).map(|v| v as f64))
}

/// The UTC calendar fields of `DateTime:ToUniversalTime()`.
fn universal_time(lua: &Lua, _c: &ServerCtx, ms: f64) -> mlua::Result<Table> {
    let civ = timefmt::civil(ms as i64);
    let t = lua.create_table()?;
    t.set("Year", civ.year)?;
    t.set("Month", civ.month)?;
    t.set("Day", civ.day)?;
    t.set("Hour", civ.hour)?;
    t.set("Minute", civ.minute)?;
    t.set("Second", civ.second)?;
    t.set("Millisecond", civ.millisecond)?;
    Ok(t)
}
