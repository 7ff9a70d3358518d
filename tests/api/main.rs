//! The integration suite: every test talks to a real Redis through a real app on port 0.

mod auth;
mod bounded;
mod browser;
mod deploy;
mod discovery;
mod discovery_cache;
mod edge;
mod events;
mod events_scale;
mod faults;
mod helpers;
mod moderation;
mod nginx;
mod openapi;
mod presence;
mod ratelimit;
mod replicas;
mod rooms;
mod sdk;
mod streams;
mod token_cache;
