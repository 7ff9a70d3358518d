//! liveroom: the rooms of a live-streaming platform, as a stateless HTTP service over Redis.

pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod edge;
pub mod fanout;
pub mod http;
pub mod metrics;
pub mod pages;
pub mod ratelimit;
pub mod rtc;
pub mod shutdown;
pub mod store;
pub mod streams;
pub mod sweeper;
pub mod telemetry;
pub mod webhooks;
