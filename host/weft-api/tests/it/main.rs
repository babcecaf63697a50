//! API tests: each runs on SQLite and on PostgreSQL, driving the router without a socket.
#![allow(clippy::unwrap_used)]

mod audit;
mod catalog;
mod clusters;
mod engine;
mod harness;
mod matrix;
mod plugins;
mod resources;
mod tenants;
mod webhooks;
