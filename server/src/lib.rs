//! login-sessions server: the implementation of the API trait, the domain
//! model, the stores, authentication and the command line.
//!
//! Data flows one way: HTTP request → dialect handler (`http`: auth, parse,
//! map) → domain service (`service`) → store (`store`). Responses flow back:
//! store row → domain `Session` (`domain`) → dialect view → wire type.
//! `enrich` derives browser, OS and location when a session's first
//! interaction is recorded.

pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod enrich;
pub mod fixtures;
pub mod http;
pub mod janitor;
pub mod logging;
pub mod metrics;
pub mod pfid;
pub mod secrets;
pub mod seed;
pub mod service;
pub mod store;
pub mod testing;
