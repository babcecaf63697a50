//! End-to-end tests: the real `weft` binary as a process, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used)]

mod cli;
mod crash;
mod docker;
mod fixture;
mod plugin;
mod process;
mod server;
mod standin_cloud;
