//! The iamd node: configuration, authentication, the gRPC handlers, startup and shutdown.
//!
//! [`server::start`] starts a node from a [`config::Config`]; `main.rs` adds the command
//! line, logging and signals. Handlers are thin (`api`): they take the authenticated
//! [`auth::Caller`], authorize it with the policy engine against its own policies,
//! and write through Raft ([`node::Node::write`]) or answer from the authorization view.

pub mod api;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod connections;
pub mod errors;
pub mod key_use;
pub mod node;
pub mod server;
