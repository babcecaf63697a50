//! Coopr's config macros (coopr-notes §6), expanded for one node of a cluster.
//!
//! Architecture invariant: pure. Text and a [`Cluster`] view in, text out. `parse` turns a string
//! into literal text and macros (syntax errors carry the byte position); `eval` gives each
//! macro its value over the cluster's nodes.
//!
//! | macro | value |
//! |---|---|
//! | `%host.service.S%` | hostnames of the nodes carrying S, by node number, comma-separated |
//! | `%ip.service.S%`, `%ip.TYPE.service.S%` | their `bind_v4` (or TYPE) addresses |
//! | `…S[i]%` | the i-th (0-based) of those |
//! | `%num.service.S%` | how many nodes carry S |
//! | `%instance.self.service.S%` | this node's 1-based position among S's nodes |
//! | `%host.self%`, `%ip.self%`, `%ip.TYPE.self%` | this node's hostname and addresses |
//! | `%cluster.owner%` | the cluster owner's user id |
//! | `%join(X,'sep')%`, `%map(X,'fmt')%` | join a list (default `,`); format each element (`$` is the element, `$$` a dollar) |
//!
//! `%%` is a percent sign. A macro about a service not on the cluster is empty, and a string in
//! which no macro had a value is left as it was. A node without the hostname or address asked
//! for, or an index out of range, is an incomplete cluster: an error, so the task fails.

mod eval;
mod parse;

pub use eval::{Cluster, ExpandError, Node, expand_str, expand_value};
pub use parse::{SyntaxError, check};

#[cfg(test)]
mod tests;
