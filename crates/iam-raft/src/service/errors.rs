//! [`ServiceError`]: why the peer service refused a call, and its gRPC status.

use std::fmt;

use tonic::Status;
use tonic::metadata::MetadataValue;

use crate::limits::LEADER_METADATA;
use crate::wire::CodecError;

/// Why a call to the peer service failed. Raft-level refusals are not errors here: they
/// travel inside the answer's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// A payload that does not decode: a peer of an incompatible version.
    Decode(CodecError),
    /// An answer that does not encode.
    Encode(CodecError),
    /// An `InstallSnapshot` stream that breaks the protocol (no metadata first, a gap
    /// between offsets).
    Snapshot(String),
    /// The `InstallSnapshot` stream broke off before its end.
    Interrupted(String),
    /// A forwarded write reached a node that is not the leader; `leader` is the address of
    /// the leader it knows, if any.
    NotLeader {
        /// The address of the known leader.
        leader: Option<String>,
    },
    /// A forwarded write was appended but this node lost leadership before it was
    /// committed: it may or may not be applied.
    Discarded {
        /// The address of the new leader, if known.
        leader: Option<String>,
    },
    /// A forwarded write that Raft refused for another reason.
    Refused(String),
    /// The local Raft stopped (shutdown or storage failure).
    Stopped(String),
    /// A read index was asked of a leader that could not confirm its leadership.
    NoQuorum(String),
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(e) | Self::Encode(e) => write!(f, "{e}"),
            Self::Snapshot(reason) => write!(f, "malformed snapshot stream: {reason}"),
            Self::Interrupted(reason) => write!(f, "snapshot stream interrupted: {reason}"),
            Self::NotLeader { .. } => write!(f, "this node is not the leader"),
            Self::Discarded { .. } => write!(
                f,
                "leadership changed before the write was committed; it may or may not be applied"
            ),
            Self::Refused(reason) => write!(f, "write refused: {reason}"),
            Self::Stopped(reason) => write!(f, "raft stopped: {reason}"),
            Self::NoQuorum(reason) => {
                write!(f, "leadership not confirmed by a quorum: {reason}")
            }
        }
    }
}

impl std::error::Error for ServiceError {}

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        let message = error.to_string();
        match error {
            ServiceError::Decode(_) | ServiceError::Snapshot(_) => {
                Status::invalid_argument(message)
            }
            ServiceError::Encode(_) => Status::internal(message),
            ServiceError::Interrupted(_) => Status::aborted(message),
            ServiceError::NotLeader { leader } | ServiceError::Discarded { leader } => {
                with_leader(Status::unavailable(message), leader.as_deref())
            }
            ServiceError::Refused(_) => Status::failed_precondition(message),
            ServiceError::Stopped(_) | ServiceError::NoQuorum(_) => Status::unavailable(message),
        }
    }
}

/// Adds the leader's address to a status as `x-iam-leader`, when it is known and fits in
/// a header.
pub(crate) fn with_leader(mut status: Status, leader: Option<&str>) -> Status {
    if let Some(value) = leader.and_then(|addr| MetadataValue::try_from(addr).ok()) {
        status.metadata_mut().insert(LEADER_METADATA, value);
    }
    status
}

/// The leader's address a status carries, if any.
pub(crate) fn leader_of(status: &Status) -> Option<String> {
    status
        .metadata()
        .get(LEADER_METADATA)
        .and_then(|value| value.to_str().ok())
        .filter(|addr| !addr.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;

    #[test]
    fn not_leader_is_unavailable_with_the_leader_in_metadata() {
        let status = Status::from(ServiceError::NotLeader {
            leader: Some("10.0.0.2:7001".into()),
        });
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(status.message(), "this node is not the leader");
        assert_eq!(leader_of(&status).as_deref(), Some("10.0.0.2:7001"));
    }

    #[test]
    fn unknown_leader_leaves_no_metadata() {
        let status = Status::from(ServiceError::NotLeader { leader: None });
        assert_eq!(leader_of(&status), None);
        assert!(status.metadata().get(LEADER_METADATA).is_none());
    }

    #[test]
    fn a_malformed_snapshot_stream_is_an_invalid_argument() {
        let status = Status::from(ServiceError::Snapshot("gap at offset 4".into()));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "malformed snapshot stream: gap at offset 4"
        );
    }
}
