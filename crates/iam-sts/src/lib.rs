//! Credentials for iamd.
//!
//! - [`secrets`]: access key ids (`AKIA…`, `ASIA…`), 40-character secret access keys, and
//!   sealing secrets at rest under the operator's cluster key. Secrets never print.
//! - [`sigv4`]: AWS Signature Version 4 verification of requests (and of a string to sign
//!   an end client computed), with the AWS SDK's signer and constant-time comparison.

pub mod secrets;
pub mod sigv4;

pub use secrets::{ClusterKey, Secret, SecretError};
pub use sigv4::{AuthError, Authorization, SignedRequest};
