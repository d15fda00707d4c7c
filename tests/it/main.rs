//! Integration tests: one binary, a module per area, every case through the real `trmctl`
//! binary or the library against a database on disk.

mod actions;
mod auth;
mod cli;
mod durability;
mod events;
mod generated;
mod oauth;
mod poll;
mod poll_gmail;
mod poll_google;
mod registry;
mod schemes;
mod serve;
mod serve_poll;
mod server;
mod sinks;
mod transport;
mod util;
