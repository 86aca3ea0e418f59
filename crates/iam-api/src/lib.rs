//! iamd's gRPC API, generated at build time from `proto/` (never committed).
//!
//! - [`v1`]: the public API (`iam.v1`): `Iam`, `Authorization`, `Sts`, `Cluster`, `Audit`.
//! - [`internal`]: node-to-node Raft transport (`iam.internal.v1`), for trusted peers only.
//! - [`signing`]: client-side SigV4 signing of gRPC calls (a tower layer for tonic channels).
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, for gRPC server reflection.

/// The public API.
#[allow(
    missing_debug_implementations,
    unused_qualifications,
    clippy::all,
    clippy::pedantic,
    reason = "generated code"
)]
pub mod v1 {
    tonic::include_proto!("iam.v1");
}

/// Node-to-node Raft transport: trusted peers only.
#[allow(
    missing_debug_implementations,
    unused_qualifications,
    clippy::all,
    clippy::pedantic,
    reason = "generated code"
)]
pub mod internal {
    tonic::include_proto!("iam.internal.v1");
}

pub mod signing;

/// The encoded `FileDescriptorSet` of every proto file, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/iam_descriptor.bin"));
