//! The scenario file's fields, declared once — each table's fields with their unit, default,
//! allowed values and meaning are declared with the struct the parser reads (`raw.rs`,
//! `raw_table!`), and listed here. The field reference in `docs/scenario-format.md` is this list
//! (`models/tests/docs.rs` renders it with `markdown` and compares), and the same test checks
//! that the parser accepts exactly these names in each table. An architecture's own fields are
//! declared by the architecture (`Architecture::FIELDS`) and rendered by `own_fields_markdown`.

use super::raw::{RawBackend, RawClaim, RawClient, RawLoad, RawMachine, RawRequest, RawRun, RawScenario, RawServer};
use crate::architectures::REGISTRY;

/// One field of a scenario file's table, as the reference documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDoc {
    /// Its name in the file.
    pub name: &'static str,
    /// Its unit ("—" for none).
    pub unit: &'static str,
    /// Its default ("required" if a file must set it).
    pub default: &'static str,
    /// The values allowed.
    pub allowed: &'static str,
    /// What it means.
    pub meaning: &'static str,
}

/// One table of a scenario file and its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDoc {
    /// Its TOML path ("" for the top level, "load.clients", "server", …).
    pub table: &'static str,
    /// The start of its heading in `docs/scenario-format.md`.
    pub heading: &'static str,
    /// Its fields, in the reference's order (for `[[server]]`: the fields every architecture has).
    pub fields: &'static [FieldDoc],
}

/// Every table of a scenario file with its fields: each declared once, with the struct the
/// parser reads it into (`raw.rs`, `raw_table!`).
pub const TABLES: &[TableDoc] = &[
    RawScenario::TABLE,
    RawRun::TABLE,
    RawMachine::TABLE,
    RawBackend::TABLE,
    RawLoad::TABLE,
    RawClient::TABLE,
    RawRequest::TABLE,
    RawServer::TABLE,
    RawClaim::TABLE,
];

/// What the reference allows for the field at `keys`, a scenario file's keys with indices
/// dropped (`["load", "clients", "weight"]`); for `[[server]]` the architectures' own fields
/// too. The validator quotes this text in every range message, so message and reference agree.
pub fn allowed_at(keys: &[&str]) -> Option<&'static str> {
    let (name, table_keys) = keys.split_last()?;
    let at = table_keys.join(".");
    if let Some(f) = table(&at).and_then(|t| t.fields.iter().find(|f| f.name == *name)) {
        return Some(f.allowed);
    }
    (at == "server").then(|| REGISTRY.iter().flat_map(|a| a.fields).find(|f| f.name == *name).map(|f| f.allowed))?
}

/// The fields of `table` (its TOML path), if it is one.
pub fn table(table: &str) -> Option<&'static TableDoc> {
    TABLES.iter().find(|t| t.table == table)
}

/// `fields` as the reference's Markdown table.
pub fn markdown(fields: &[FieldDoc]) -> String {
    let mut out = String::from("| field | unit | default | allowed | meaning |\n|---|---|---|---|---|\n");
    for f in fields {
        out.push_str(&format!("| `{}` | {} | {} | {} | {} |\n", f.name, f.unit, f.default, f.allowed, f.meaning));
    }
    out
}

/// Every architecture's own fields as the reference's Markdown table (one row per field, the
/// architecture named on its first).
pub fn own_fields_markdown() -> String {
    let mut out = String::from("| architecture | field | default | allowed | meaning |\n|---|---|---|---|---|\n");
    for a in &REGISTRY {
        for (i, f) in a.fields.iter().enumerate() {
            let arch = if i == 0 { format!(" `{}` ", a.id) } else { " ".to_string() };
            let default = f.default.unwrap_or("required");
            out.push_str(&format!("|{arch}| `{}` | {default} | {} | {} |\n", f.name, f.allowed, f.meaning));
        }
    }
    out
}
