//! trmctl: the integration gateway of TRM-OS. The binary is a thin shell over this library so
//! tests can reach the internals.

pub mod actions;
pub mod auth;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod connectors;
pub mod docs;
pub mod error;
pub mod event;
pub mod logging;
pub mod metrics;
pub mod output;
pub mod paths;
pub mod poll;
pub mod registry;
pub mod retry;
pub mod rules;
pub mod secrets;
pub mod sinks;
pub mod store;
pub mod supervise;
pub mod webhooks;
pub mod worker;
