//! The integration suite: every test talks to a real Redis through a real app on port 0. It needs
//! `redis-server` and `redis-cli` and nothing else; the tests that drive a browser, the SDK
//! generator, docker-compose, nginx or ffmpeg are in tests/e2e.

mod auth;
mod bounded;
mod carried;
mod discovery;
mod discovery_cache;
mod edge;
mod entries;
mod events;
mod events_scale;
mod faults;
mod helpers;
mod intents;
mod likes;
mod moderation;
mod openapi;
mod pk;
mod presence;
mod ratelimit;
mod readme;
mod replica;
mod replicas;
mod rooms;
mod seats;
mod shards;
mod stream_support;
mod streams;
mod token_cache;
