//! Lines in the task's log, with levels and structured fields.

pub use crate::bindings::provider::weft::plugin0_1_0::log::Level;

pub fn info(message: &str) {
    with_fields(Level::Info, message, &[]);
}

pub fn warn(message: &str) {
    with_fields(Level::Warn, message, &[]);
}

pub fn error(message: &str) {
    with_fields(Level::Error, message, &[]);
}

pub fn debug(message: &str) {
    with_fields(Level::Debug, message, &[]);
}

/// A line with structured fields.
pub fn with_fields(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    crate::backend::log(level, message, &fields);
}
