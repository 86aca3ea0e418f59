//! The errors of a node's operations, and their gRPC statuses.
//!
//! Every status that sends the caller elsewhere carries the leader's address in
//! `x-iam-leader` (absent when no leader is known), never in the message.

use std::fmt;
use std::io;
use std::time::Duration;

use iam_store::raft::NodeId;
use tonic::Status;

use crate::service::with_leader;
use crate::wire::CodecError;

/// Why a node did not start.
#[derive(Debug)]
pub enum StartError {
    /// The Raft configuration is invalid.
    Config(String),
    /// The storage cannot be opened (missing permissions, held by another process,
    /// corrupt).
    Storage(io::Error),
    /// The initial members list this node at another address than it advertises.
    MemberAddress {
        /// This node's id.
        node_id: NodeId,
        /// The address this node advertises.
        advertised: String,
        /// The address the initial members give it.
        listed: String,
    },
    /// Initializing the cluster failed.
    Initialize(String),
    /// The Raft stopped while starting.
    Raft(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "invalid raft configuration: {e}"),
            Self::Storage(e) => write!(f, "cannot open the raft storage: {e}"),
            Self::MemberAddress {
                node_id,
                advertised,
                listed,
            } => write!(
                f,
                "node {node_id} advertises `{advertised}` but the initial members list it at `{listed}`"
            ),
            Self::Initialize(e) => write!(f, "cannot initialize the cluster: {e}"),
            Self::Raft(e) => write!(f, "raft failed to start: {e}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Storage(e) => Some(e),
            Self::Config(_) | Self::MemberAddress { .. } | Self::Initialize(_) | Self::Raft(_) => {
                None
            }
        }
    }
}

/// Why a write was not (or not known to be) applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// No leader is known, the leader refused or could not be reached, or leadership changed
    /// before the write was committed. Retry later, at `leader` when known; a write whose
    /// failure came after the leader received it may still be applied, so retry with the
    /// same idempotency key.
    Unavailable {
        /// The peer address of the leader, if known.
        leader: Option<String>,
    },
    /// The command or its response does not encode or decode (a bug, or nodes of
    /// incompatible versions).
    Codec(CodecError),
    /// The leader refused the write for a reason retrying does not fix.
    Rejected(String),
    /// This node's Raft stopped (shutdown or storage failure).
    Stopped(String),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable { leader: Some(_) } => {
                write!(
                    f,
                    "the write could not be completed here; retry at the leader"
                )
            }
            Self::Unavailable { leader: None } => {
                write!(f, "no leader is available for the write; retry later")
            }
            Self::Codec(e) => write!(f, "{e}"),
            Self::Rejected(e) => write!(f, "write rejected: {e}"),
            Self::Stopped(e) => write!(f, "raft stopped: {e}"),
        }
    }
}

impl std::error::Error for WriteError {}

impl From<WriteError> for Status {
    fn from(error: WriteError) -> Self {
        let message = error.to_string();
        match error {
            WriteError::Unavailable { leader } => {
                with_leader(Status::unavailable(message), leader.as_deref())
            }
            WriteError::Codec(_) | WriteError::Rejected(_) => Status::internal(message),
            WriteError::Stopped(_) => Status::unavailable(message),
        }
    }
}

/// Why a read cannot be answered as fresh as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// A linearizable read needs the leader, and this node is not it.
    NotLeader {
        /// The peer address of the leader, if known.
        leader: Option<String>,
    },
    /// No leader was elected in time.
    NoLeader {
        /// How long it waited.
        waited: Duration,
    },
    /// The leader could not confirm its leadership with a quorum.
    NoQuorum(String),
    /// The state machine did not reach `index` in time.
    Timeout {
        /// The index waited for.
        index: u64,
        /// The index applied when the wait gave up.
        applied: Option<u64>,
        /// How long it waited.
        waited: Duration,
    },
    /// This node's Raft stopped.
    Stopped(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotLeader { .. } => write!(f, "linearizable reads are served by the leader"),
            Self::NoLeader { waited } => write!(f, "no leader elected after {waited:?}"),
            Self::NoQuorum(e) => write!(f, "leadership not confirmed by a quorum: {e}"),
            Self::Timeout {
                index,
                applied,
                waited,
            } => write!(
                f,
                "revision {index} not applied after {waited:?} (applied: {})",
                applied.map_or_else(|| "none".to_owned(), |a| a.to_string())
            ),
            Self::Stopped(e) => write!(f, "raft stopped: {e}"),
        }
    }
}

impl std::error::Error for ReadError {}

impl From<ReadError> for Status {
    fn from(error: ReadError) -> Self {
        let message = error.to_string();
        match error {
            ReadError::NotLeader { leader } => {
                with_leader(Status::unavailable(message), leader.as_deref())
            }
            ReadError::NoLeader { .. }
            | ReadError::NoQuorum(_)
            | ReadError::Timeout { .. }
            | ReadError::Stopped(_) => Status::unavailable(message),
        }
    }
}

/// Why a membership change or leader transfer failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminError {
    /// Only the leader changes the membership, and this node is not it.
    NotLeader {
        /// The peer address of the leader, if known.
        leader: Option<String>,
    },
    /// No member has this id.
    UnknownNode(NodeId),
    /// Raft refused the change (another change in progress, an empty or unknown set of
    /// voters).
    Rejected(String),
    /// This node's Raft stopped.
    Stopped(String),
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotLeader { .. } => write!(f, "membership changes are made on the leader"),
            Self::UnknownNode(id) => write!(f, "node `{id}` is not a member of the cluster"),
            Self::Rejected(e) => write!(f, "membership change refused: {e}"),
            Self::Stopped(e) => write!(f, "raft stopped: {e}"),
        }
    }
}

impl std::error::Error for AdminError {}

impl From<AdminError> for Status {
    fn from(error: AdminError) -> Self {
        let message = error.to_string();
        match error {
            AdminError::NotLeader { leader } => {
                with_leader(Status::unavailable(message), leader.as_deref())
            }
            AdminError::UnknownNode(_) => Status::not_found(message),
            AdminError::Rejected(_) => Status::failed_precondition(message),
            AdminError::Stopped(_) => Status::unavailable(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;
    use crate::LEADER_METADATA;

    #[test]
    fn write_unavailable_points_at_the_leader_in_metadata_only() {
        let status = Status::from(WriteError::Unavailable {
            leader: Some("node-2:7001".into()),
        });
        assert_eq!(status.code(), Code::Unavailable);
        assert!(!status.message().contains("node-2"));
        assert_eq!(
            status
                .metadata()
                .get(LEADER_METADATA)
                .map(|v| v.to_str().unwrap()),
            Some("node-2:7001")
        );
    }

    #[test]
    fn read_timeout_says_how_far_the_node_got() {
        let error = ReadError::Timeout {
            index: 9,
            applied: Some(7),
            waited: Duration::from_millis(50),
        };
        assert_eq!(
            error.to_string(),
            "revision 9 not applied after 50ms (applied: 7)"
        );
        assert_eq!(Status::from(error).code(), Code::Unavailable);
    }

    #[test]
    fn unknown_node_is_not_found() {
        let status = Status::from(AdminError::UnknownNode(4));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "node `4` is not a member of the cluster");
    }
}
