//! [`RaftNode::write`]: propose a command on the leader, forwarding it once from a follower.

use iam_api::internal::ForwardRequest;
use iam_store::Machine;
use iam_store::raft::Request;
use openraft::error::{ClientWriteError, ForwardToLeader, RaftError};
use tonic::Code;

use super::{RaftNode, WriteError};
use crate::addressee::is_misaddressed;
use crate::limits::{COMMIT_TIMEOUT, FORWARD_TIMEOUT};
use crate::propose;
use crate::service::leader_of;
use crate::wire::{self, Forwarded};

impl<M: Machine> RaftNode<M> {
    /// Replicates `command` and returns the log index it was applied at (its revision) and
    /// what the machine answered.
    ///
    /// On the leader the command is proposed here; on a follower it is forwarded once, over
    /// the peer service, to the leader this node knows. It returns once the leader applied
    /// it: this node may apply it a little later (see [`Self::wait_applied`]).
    /// `request_id` only correlates the logs of both nodes.
    ///
    /// [`WriteError::Unavailable`] means no leader is known, the leader refused, it could not
    /// be reached, or it did not commit the command within [`COMMIT_TIMEOUT`] (a leader cut
    /// off from its quorum). When the failure came after the leader received the command
    /// (lost answer, leadership lost before commit, no commit in time), the write may still be
    /// applied: retry with the same idempotency key.
    pub async fn write(
        &self,
        command: M::Command,
        request_id: &str,
    ) -> Result<(u64, M::Response), WriteError> {
        let request = Request::encode::<M>(&command)
            .map_err(|e| WriteError::Codec(wire::from_io(&e, "command")))?;
        let proposed =
            tokio::time::timeout(COMMIT_TIMEOUT, propose::client_write(&self.raft, request)).await;
        let Ok(proposed) = proposed else {
            tracing::warn!(
                request_id,
                waited = ?COMMIT_TIMEOUT,
                "write not committed in time: this leader may be cut off from its quorum"
            );
            return Err(WriteError::Unavailable { leader: None });
        };
        match proposed {
            Ok(written) => {
                let response = written
                    .data
                    .decode::<M>()
                    .map_err(|e| WriteError::Codec(wire::from_io(&e, "response")))?;
                Ok((written.log_id.index, response))
            }
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to))) => {
                self.forward(&command, request_id, to).await
            }
            Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(to))) => {
                Err(WriteError::Unavailable {
                    leader: self.leader_addr(&to),
                })
            }
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
                Err(WriteError::Rejected(e.to_string()))
            }
            Err(RaftError::APIError(ClientWriteError::PreconditionFailed(e))) => {
                Err(WriteError::Rejected(e.to_string()))
            }
            Err(RaftError::Fatal(fatal)) => Err(WriteError::Stopped(fatal.to_string())),
        }
    }

    /// Sends `command` to the leader `to` names, once.
    async fn forward(
        &self,
        command: &M::Command,
        request_id: &str,
        to: ForwardToLeader<iam_store::raft::TypeConfig>,
    ) -> Result<(u64, M::Response), WriteError> {
        let (Some(leader), Some(addr)) = (to.leader_id, self.leader_addr(&to)) else {
            return Err(WriteError::Unavailable { leader: None });
        };
        if leader == self.id {
            // Leadership is on its way here (a transfer): not ready to take writes yet.
            return Err(WriteError::Unavailable { leader: None });
        }
        let payload = wire::encode(command, "command").map_err(WriteError::Codec)?;
        let mut service = self.channels.client(leader, &addr).map_err(|e| {
            tracing::warn!(leader, addr, error = %e, "leader address is unusable");
            WriteError::Unavailable { leader: None }
        })?;
        let mut request = tonic::Request::new(ForwardRequest {
            command: payload,
            request_id: request_id.to_owned(),
        });
        request.set_timeout(FORWARD_TIMEOUT);
        tracing::debug!(request_id, leader, "forwarding write to the leader");
        let answer = match tokio::time::timeout(FORWARD_TIMEOUT, service.forward(request)).await {
            Ok(Ok(answer)) => answer.into_inner(),
            Ok(Err(status)) => return Err(from_forward_status(&status, &addr)),
            Err(_elapsed) => return Err(WriteError::Unavailable { leader: Some(addr) }),
        };
        let forwarded: Forwarded =
            wire::decode(&answer.payload, "forward response").map_err(WriteError::Codec)?;
        let response = forwarded
            .response
            .decode::<M>()
            .map_err(|e| WriteError::Codec(wire::from_io(&e, "response")))?;
        Ok((forwarded.log_index, response))
    }

    /// The address of the leader a refusal names.
    fn leader_addr(&self, to: &ForwardToLeader<iam_store::raft::TypeConfig>) -> Option<String> {
        to.leader_node
            .as_ref()
            .map(|node| node.addr.clone())
            .or_else(|| to.leader_id.and_then(|id| self.addr_of(id)))
    }
}

/// The write error for a forward the leader at `addr` failed with `status`.
fn from_forward_status(status: &tonic::Status, addr: &str) -> WriteError {
    tracing::debug!(code = ?status.code(), message = status.message(), addr, "forward failed");
    // A status with a source was made on this side from a broken connection (an HTTP/2
    // error, a reset stream), whatever its code: the leader may have applied the write,
    // so it is retryable, never a refusal. Statuses the leader answered carry no source.
    if std::error::Error::source(status).is_some() {
        return WriteError::Unavailable {
            leader: Some(addr.to_owned()),
        };
    }
    // The leader's address leads to another node: the write was not applied, and the
    // address is no leader's.
    if is_misaddressed(status) {
        return WriteError::Unavailable { leader: None };
    }
    match status.code() {
        // Not the leader (any more), stopped, or not reachable: the leader it names, if any.
        Code::Unavailable => WriteError::Unavailable {
            leader: leader_of(status),
        },
        // No answer in time, or the connection broke: the leader may still be the leader.
        Code::DeadlineExceeded | Code::Cancelled | Code::Unknown | Code::Aborted => {
            WriteError::Unavailable {
                leader: Some(addr.to_owned()),
            }
        }
        Code::Ok
        | Code::InvalidArgument
        | Code::NotFound
        | Code::AlreadyExists
        | Code::PermissionDenied
        | Code::ResourceExhausted
        | Code::FailedPrecondition
        | Code::OutOfRange
        | Code::Unimplemented
        | Code::Internal
        | Code::DataLoss
        | Code::Unauthenticated => WriteError::Rejected(format!(
            "leader at `{addr}` refused the write: {}",
            status.message()
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_forward_that_reached_another_node_is_retryable_and_names_no_leader() {
        let refused = crate::addressee::misaddressed_refusal();
        assert!(matches!(
            from_forward_status(&refused, "10.0.0.1:7301"),
            WriteError::Unavailable { leader: None }
        ));
    }

    #[test]
    fn a_broken_connection_is_retryable_whatever_its_code() {
        let mut broken = tonic::Status::internal("h2 protocol error: http2 error");
        broken.set_source(Arc::new(std::io::Error::other("connection reset")));
        assert!(matches!(
            from_forward_status(&broken, "10.0.0.1:7301"),
            WriteError::Unavailable { leader: Some(addr) } if addr == "10.0.0.1:7301"
        ));
        // The same code answered by the leader itself is a refusal.
        let answered = tonic::Status::internal("cannot encode the response");
        assert!(matches!(
            from_forward_status(&answered, "10.0.0.1:7301"),
            WriteError::Rejected(_)
        ));
    }
}
