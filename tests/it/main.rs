//! End-to-end tests: the real `weft` binary as a process, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod crash;
mod plugin;
mod process;
mod server;
mod standin_cloud;
