//! Webhook receivers (SPEC §5–6): signature verification, the HTTP server, the durable inbox.

pub mod hooks;
pub mod inbox;
pub mod pubsub;
pub mod server;
pub mod signature;
