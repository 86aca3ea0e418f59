//! The freshness of reads: waiting for an index to be applied, and the read index.

use std::time::Duration;

use iam_store::Machine;
use iam_store::raft::NodeId;
use openraft::ReadPolicy;
use openraft::error::{LinearizableReadError, RaftError};
use openraft::metrics::WaitError;

use super::{RaftNode, ReadError};

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

    /// Makes the next reads on this node linearizable: confirms with a quorum that this node
    /// is still the leader (read index), then waits until the state machine applied
    /// everything committed before; returns that read index.
    ///
    /// Only the leader can do it: a follower answers [`ReadError::NotLeader`] with the
    /// leader's address, for the caller to redirect the read.
    pub async fn linearizable_barrier(&self, timeout: Duration) -> Result<u64, ReadError> {
        let linearizer = tokio::time::timeout(
            timeout,
            self.raft.get_read_linearizer(ReadPolicy::ReadIndex),
        )
        .await
        .map_err(|_elapsed| ReadError::NoQuorum(format!("no quorum answered in {timeout:?}")))?;
        let read_index = match linearizer {
            Ok(linearizer) => linearizer.read_log_id().index(),
            Err(RaftError::APIError(LinearizableReadError::ForwardToLeader(to))) => {
                return Err(ReadError::NotLeader {
                    leader: to
                        .leader_node
                        .map(|node| node.addr)
                        .or_else(|| to.leader_id.and_then(|id| self.addr_of(id))),
                });
            }
            Err(RaftError::APIError(LinearizableReadError::QuorumNotEnough(e))) => {
                return Err(ReadError::NoQuorum(e.to_string()));
            }
            Err(RaftError::Fatal(fatal)) => return Err(ReadError::Stopped(fatal.to_string())),
        };
        self.wait_applied(read_index, timeout).await?;
        Ok(read_index)
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
