//! Validates Coopr catalog entities, checks their references against a tenant's catalog and
//! resolves partial templates (`extends`, `includes`, `immutable`).
//!
//! Architecture invariant: pure. No I/O, no async; callers hand in JSON and a [`Catalog`]
//! snapshot and get back typed entities, warnings or a [`FieldError`] naming the field and rule.
//!
//! Three layers, each a module:
//! - `parse`: JSON → typed entity plus the rules one entity can check alone ([`validate`]);
//! - `references`: the rules that need the rest of the catalog ([`Catalog::check_references`]).
//!   A reference is *hard* (the write fails) where a dangling name would break placement or
//!   resolution, and *soft* (a warning) where Coopr's own catalog dangles and still works;
//! - `resolve`: merging parents and partials into the template clusters are created from.

mod parse;
mod references;
mod resolve;

pub use parse::{Entity, check_name, serde_field_error, validate};
pub use references::Catalog;
pub use resolve::{ResolveError, resolve, resolve_checked};
pub use weft_model::FieldError;

#[cfg(test)]
mod tests;
