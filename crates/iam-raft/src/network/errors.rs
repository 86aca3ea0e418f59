//! From transport failures to openraft's network errors.

use iam_store::raft::{NodeId, TypeConfig};
use openraft::RPCTypes;
use openraft::error::{NetworkError, RPCError, RaftError, Timeout, Unreachable};
use tonic::{Code, Status};

use crate::addressee::is_misaddressed;
use crate::wire::CodecError;

/// The openraft error for a failed call to `target`: `Unreachable` when the peer is down or
/// refusing service, `Timeout` when its deadline passed, `NetworkError` otherwise.
pub(crate) fn from_status(
    status: &Status,
    action: RPCTypes,
    id: NodeId,
    target: NodeId,
    timeout: std::time::Duration,
) -> RPCError<TypeConfig> {
    let message = format!("{action} to node {target}: {}", status.message());
    match status.code() {
        // No connection, connection refused or reset, server shutting down.
        Code::Unavailable => RPCError::Unreachable(Unreachable::from_string(message)),
        Code::DeadlineExceeded => RPCError::Timeout(Timeout {
            action,
            id,
            target,
            timeout,
        }),
        // The address leads to another node (see `crate::addressee`): retrying at once is
        // futile.
        Code::FailedPrecondition if is_misaddressed(status) => {
            RPCError::Unreachable(Unreachable::from_string(message))
        }
        // The peer runs no such service (or an incompatible one): retrying at once is futile.
        Code::Unimplemented | Code::PermissionDenied | Code::Unauthenticated => {
            RPCError::Unreachable(Unreachable::from_string(message))
        }
        Code::Ok
        | Code::Cancelled
        | Code::Unknown
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::ResourceExhausted
        | Code::FailedPrecondition
        | Code::Aborted
        | Code::OutOfRange
        | Code::Internal
        | Code::DataLoss => RPCError::Network(NetworkError::from_string(message)),
    }
}

/// The openraft error for an RPC that did not answer within `timeout`.
pub(crate) fn timeout(
    action: RPCTypes,
    id: NodeId,
    target: NodeId,
    timeout: std::time::Duration,
) -> RPCError<TypeConfig> {
    RPCError::Timeout(Timeout {
        action,
        id,
        target,
        timeout,
    })
}

/// A request that cannot be encoded or an answer that cannot be decoded.
pub(crate) fn codec(error: &CodecError) -> RPCError<TypeConfig> {
    RPCError::Network(NetworkError::new(error))
}

/// The peer answered with a Raft error of its own: only `Fatal` is possible, its Raft has
/// stopped, so it is as good as unreachable.
pub(crate) fn remote(error: RaftError<TypeConfig>, target: NodeId) -> RPCError<TypeConfig> {
    match error {
        RaftError::APIError(never) => match never {},
        RaftError::Fatal(fatal) => RPCError::Unreachable(Unreachable::from_string(format!(
            "raft of node {target} stopped: {fatal}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: std::time::Duration = std::time::Duration::from_millis(50);

    fn map(status: Status) -> RPCError<TypeConfig> {
        from_status(&status, RPCTypes::AppendEntries, 1, 2, TTL)
    }

    #[test]
    fn a_peer_that_is_down_is_unreachable_so_openraft_backs_off() {
        assert!(matches!(
            map(Status::unavailable("connection refused")),
            RPCError::Unreachable(_)
        ));
        assert!(matches!(
            map(Status::unimplemented("no such service")),
            RPCError::Unreachable(_)
        ));
    }

    #[test]
    fn an_address_that_leads_to_another_node_is_unreachable() {
        let refused = crate::addressee::misaddressed_refusal();
        assert!(matches!(map(refused), RPCError::Unreachable(_)));
        assert!(matches!(
            map(Status::failed_precondition("something else")),
            RPCError::Network(_)
        ));
    }

    #[test]
    fn a_late_answer_is_a_timeout_and_a_broken_one_a_network_error() {
        assert!(matches!(
            map(Status::deadline_exceeded("late")),
            RPCError::Timeout(t) if t.target == 2 && t.timeout == TTL
        ));
        assert!(matches!(
            map(Status::internal("stream reset")),
            RPCError::Network(_)
        ));
    }
}
