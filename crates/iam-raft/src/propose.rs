//! Proposing a write on this node, riding out a new leader's first moments.
//!
//! A leader accepts writes only while its lease is valid: a quorum acknowledged it within
//! the last election timeout. A freshly elected leader has no acknowledgement yet and
//! refuses for a heartbeat or two (openraft's `ForwardToLeader` with reason
//! `LeaseExpired` and no leader). [`client_write`] then waits, at most [`LEASE_WAIT`], for a
//! quorum to acknowledge this node (or for it to stop leading) and proposes once more.

use std::time::Duration;

use iam_store::Machine;
use iam_store::raft::{ELECTION_TIMEOUT_MS, Raft, Request, TypeConfig};
use openraft::error::{ClientWriteError, ForwardReason, RaftError};
use openraft::raft::ClientWriteResponse;
use openraft::{Instant, ServerState, TokioInstant};

/// How long a leader without a valid lease waits for a quorum before refusing a write.
pub(crate) const LEASE_WAIT: Duration = Duration::from_millis(2 * ELECTION_TIMEOUT_MS.1);

/// What proposing a write on this node answers.
pub(crate) type Proposed =
    Result<ClientWriteResponse<TypeConfig>, RaftError<TypeConfig, ClientWriteError<TypeConfig>>>;

/// Proposes `request` on this node; see the module docs for the one retry.
pub(crate) async fn client_write<M: Machine>(raft: &Raft<M>, request: Request) -> Proposed {
    let since = TokioInstant::now();
    match raft.client_write(request.clone()).await {
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to)))
            if to.reason == ForwardReason::LeaseExpired =>
        {
            let waited = raft
                .wait(Some(LEASE_WAIT))
                .metrics(
                    |m| {
                        m.state != ServerState::Leader
                            || m.last_quorum_acked
                                .is_some_and(|acked| acked.into_inner() >= since)
                    },
                    "leader lease renewed",
                )
                .await;
            tracing::debug!(
                renewed = waited.is_ok(),
                "write waited for the leader lease"
            );
            raft.client_write(request).await
        }
        proposed => proposed,
    }
}
