//! The freshness of reads: waiting for an index to be applied, and the read index.

use std::time::Duration;

use iam_api::internal::ReadIndexRequest;
use iam_store::Machine;
use iam_store::raft::{NodeId, Raft, TypeConfig};
use openraft::ReadPolicy;
use openraft::error::{ForwardToLeader, LinearizableReadError, RaftError};
use openraft::metrics::WaitError;

use super::{RaftNode, ReadError};
use crate::service::leader_of;

impl<M: Machine> RaftNode<M> {
    /// Waits until this node's state machine applied the log entry at `index` (a revision a
    /// client already saw), for at most `timeout`.
    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> Result<(), ReadError> {
        self.raft
            .wait(Some(timeout))
            .applied_index_at_least(Some(index), "wait_applied")
            .await
            .map(|_| ())
            .map_err(|e| self.wait_error(e, index))
    }

    /// Makes the next reads on this node linearizable and returns the read index: the
    /// leader confirms with a quorum that it still leads (read index), and this node waits
    /// until its state machine applied everything committed before. On a follower or
    /// learner the leader is asked for the read index over the peer service.
    ///
    /// A node cut off from the leader or a leader cut off from its quorum fails with
    /// [`ReadError::NoQuorum`], [`ReadError::NotLeader`] or [`ReadError::NoLeader`].
    pub async fn linearizable_barrier(&self, timeout: Duration) -> Result<u64, ReadError> {
        let read_index = match local_read_index(&self.raft, timeout).await? {
            Ok(index) => index,
            Err(to) => {
                let leader = to.leader_id.filter(|&id| id != self.id);
                let addr = to
                    .leader_node
                    .map(|node| node.addr)
                    .or_else(|| leader.and_then(|id| self.addr_of(id)));
                match (leader, addr) {
                    (Some(leader), Some(addr)) => {
                        self.leader_read_index(leader, &addr, timeout).await?
                    }
                    _ => {
                        return Err(ReadError::NoLeader {
                            waited: Duration::ZERO,
                        });
                    }
                }
            }
        };
        self.wait_applied(read_index, timeout).await?;
        Ok(read_index)
    }

    /// Asks the leader for a read index.
    async fn leader_read_index(
        &self,
        leader: NodeId,
        addr: &str,
        timeout: Duration,
    ) -> Result<u64, ReadError> {
        let mut service = self.channels.client(leader, addr).map_err(|e| {
            ReadError::NoQuorum(format!("the leader's address `{addr}` is unusable: {e}"))
        })?;
        let mut request = tonic::Request::new(ReadIndexRequest {});
        request.set_timeout(timeout);
        match tokio::time::timeout(timeout, service.read_index(request)).await {
            Ok(Ok(answer)) => Ok(answer.into_inner().read_index),
            Ok(Err(status)) if status.code() == tonic::Code::Unavailable => {
                match leader_of(&status) {
                    Some(other) => Err(ReadError::NotLeader {
                        leader: Some(other),
                    }),
                    None => Err(ReadError::NoQuorum(format!(
                        "the leader at `{addr}` could not serve a read index: {}",
                        status.message()
                    ))),
                }
            }
            Ok(Err(status)) => Err(ReadError::NoQuorum(format!(
                "the leader at `{addr}` could not serve a read index: {}",
                status.message()
            ))),
            Err(_elapsed) => Err(ReadError::NoQuorum(format!(
                "the leader at `{addr}` did not answer a read index in {timeout:?}"
            ))),
        }
    }

    /// Waits, at most `timeout`, until a restarted node recovered the state it may have
    /// served before the restart: a leader's commit covers its log and the state machine
    /// applied it. Gate readiness on it. A pristine node waits until it joined a cluster.
    pub async fn wait_for_recovery(&self, timeout: Duration) -> Result<(), ReadError> {
        let target = self.metrics().last_log_index.unwrap_or_default();
        self.raft
            .wait_for_recovery(Some(timeout))
            .await
            .map(|_| ())
            .map_err(|e| self.wait_error(e, target))
    }

    /// Waits until this node knows a leader, for at most `timeout`; returns its id.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Result<NodeId, ReadError> {
        let metrics = self
            .raft
            .wait(Some(timeout))
            .metrics(|m| m.current_leader.is_some(), "a leader is known")
            .await
            .map_err(|e| match e {
                WaitError::Timeout(waited, _) => ReadError::NoLeader { waited },
                WaitError::ShuttingDown => ReadError::Stopped("raft is shutting down".into()),
            })?;
        metrics
            .current_leader
            .ok_or(ReadError::NoLeader { waited: timeout })
    }

    fn wait_error(&self, error: WaitError, index: u64) -> ReadError {
        match error {
            WaitError::Timeout(waited, _) => ReadError::Timeout {
                index,
                applied: self.metrics().applied_index,
                waited,
            },
            WaitError::ShuttingDown => ReadError::Stopped("raft is shutting down".into()),
        }
    }
}

/// Asks `raft` for a read index, for at most `timeout`: the index once it confirmed with a
/// quorum that it leads, or, when it does not lead, the leader it knows of.
pub(crate) async fn local_read_index<M: Machine>(
    raft: &Raft<M>,
    timeout: Duration,
) -> Result<Result<u64, ForwardToLeader<TypeConfig>>, ReadError> {
    let linearizer = tokio::time::timeout(timeout, raft.get_read_linearizer(ReadPolicy::ReadIndex))
        .await
        .map_err(|_elapsed| ReadError::NoQuorum(format!("no quorum answered in {timeout:?}")))?;
    match linearizer {
        Ok(linearizer) => Ok(Ok(linearizer.read_log_id().index())),
        Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(to))) => Ok(Err(to)),
        Err(RaftError::APIError(LinearizableReadError::QuorumNotEnough(e))) => {
            Err(ReadError::NoQuorum(e.to_string()))
        }
        Err(RaftError::Fatal(fatal)) => Err(ReadError::Stopped(fatal.to_string())),
    }
}
