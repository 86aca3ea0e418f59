//! Admission of a node that starts with an empty Raft store.
//!
//! An empty store is either a node that never took part, or one whose data was lost (a
//! Kubernetes volume replaced, a disk wiped). The second kind forgot entries it
//! acknowledged and votes it cast: counted again as if it remembered them, it can help
//! elect a leader that lacks committed writes, and the leader that counted its
//! acknowledgements finds its log gone backwards (openraft takes that for a bug). The two
//! cannot be told apart from the inside, so an empty node refuses every Raft call
//! (appends, votes, snapshots: [`RaftNode::is_admitted`]) until one of two things is known:
//!
//! - **A new cluster.** Enough of the other initial members answer `Probe` without
//!   history (no entry after the initial membership, no snapshot, no vote but the
//!   initializer's for itself) that no committed entry can exist: a committed entry is held
//!   by a majority, so by at least `majority - 1` members other than the asker, and
//!   `n - majority + 1` answers from the others (every other member of a cluster of three,
//!   three of the other four of five) include one of them. The node is admitted, and the
//!   first initial member initializes the cluster.
//! - **Re-admitted by the leader.** When someone has history, the node asks the leader
//!   (`Rejoin`). The leader confirms its leadership with a quorum that cannot include the
//!   node (it refuses Raft calls), turns it from a voter into a learner (a learner's
//!   acknowledgements and votes count for nothing), lets its replication to the node
//!   start again from nothing, and answers its commit index. The node is admitted as a
//!   learner, catches up (a read index from the leader, applied), and asks to be made a
//!   voter again. A node that is not a member is told so and admitted: it has nothing to
//!   forget.
//!
//! While it waits the node is, to the others, a node that is down. That it must become a
//! voter again is kept in a file of its data directory ([`REJOIN_AS_VOTER`]), written
//! before it asks and removed once it is a voter, so a lost answer or a restart on the way
//! does not leave it a learner. It asks the initial members only: a node whose initial
//! members have all left the cluster waits (and says so) until one is reachable.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use iam_api::internal::{ProbeRequest, ProbeResponse, RejoinRequest, RejoinResponse};
use iam_store::Machine;
use iam_store::raft::NodeId;
use openraft::async_runtime::watch::WatchReceiver;

use super::admin::peer_error;
use super::{AdminError, RaftNode};
use crate::limits::FORWARD_TIMEOUT;

/// The file, in the data directory, that says this node was a voter before it lost its
/// data and is to become one again.
pub(crate) const REJOIN_AS_VOTER: &str = "rejoin-as-voter";

/// How long a `Probe` may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Between two rounds of asking.
const ASK_EVERY: Duration = Duration::from_millis(300);
/// Between two warnings that the node is still not admitted.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The number of other initial members that must answer without history before an empty
/// member of `members` initial members may take the cluster for new.
pub(crate) fn needed_for_new(members: usize) -> usize {
    let majority = members / 2 + 1;
    (members + 1 - majority).min(members.saturating_sub(1))
}

impl<M: Machine> RaftNode<M> {
    /// Whether this node takes part in the Raft: always, unless it started with an empty
    /// store and has not been admitted yet (see the module docs).
    pub fn is_admitted(&self) -> bool {
        self.admitted.load(Ordering::Acquire)
    }

    fn is_stopped(&self) -> bool {
        self.metrics.borrow_watched().running_state.is_err()
    }

    /// Waits `pause`, or less if the node stops; whether it stopped.
    async fn pause_unless_stopped(&self, pause: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(pause) => self.is_stopped(),
            () = self.until_stopped() => true,
        }
    }

    /// Completes once the node stopped.
    async fn until_stopped(&self) {
        while !self.is_stopped() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asks the leader for re-admission (or promotion), unless the node stops first.
    async fn rejoin_unless_stopped(
        &self,
        promote: bool,
    ) -> Option<Result<RejoinResponse, AdminError>> {
        tokio::select! {
            answer = self.request_rejoin(promote) => Some(answer),
            () = self.until_stopped() => None,
        }
    }

    fn marker(&self) -> std::path::PathBuf {
        self.data_dir.join(REJOIN_AS_VOTER)
    }

    /// Notes, durably, that this node is to become a voter again.
    fn mark_rejoin_as_voter(&self) {
        let marker = self.marker();
        let written = std::fs::File::create(&marker).and_then(|f| f.sync_all());
        if let Err(e) = written {
            tracing::error!(
                node_id = self.id,
                path = %marker.display(),
                error = %e,
                "cannot note that this node is to become a voter again: promote it by hand \
                 once it caught up"
            );
        }
    }

    /// Runs until this empty node is admitted (or stops), then, when it was a voter, until
    /// it is a voter again.
    pub(crate) async fn admit(self) {
        let others: Vec<(NodeId, String)> = self
            .seeds
            .iter()
            .filter(|(id, _)| **id != self.id)
            .map(|(id, addr)| (*id, addr.clone()))
            .collect();
        let initial_member = self.seeds.contains_key(&self.id);
        let needed = needed_for_new(self.seeds.len());
        let mut warned: Option<Instant> = None;
        let mut warn = |why: &str| {
            if warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
                warned = Some(Instant::now());
                tracing::warn!(
                    node_id = self.id,
                    reason = why,
                    "started with an empty store: not taking part in the cluster until \
                     admitted"
                );
            }
        };
        let rejoined = loop {
            let probes = others
                .iter()
                .map(|(id, addr)| self.call_probe(*id, addr))
                .collect::<Vec<_>>();
            let answers = tokio::select! {
                answers = futures_util::future::join_all(probes) => answers,
                () = self.until_stopped() => return,
            };
            let (mut history, mut answered, mut was_voter) = (false, 0, false);
            for answer in answers.into_iter().flatten() {
                answered += 1;
                history |= answer.history;
                was_voter |= answer.asker_is_voter;
            }
            if initial_member && !history && answered >= needed {
                self.admitted.store(true, Ordering::Release);
                tracing::info!(
                    node_id = self.id,
                    answered,
                    "empty store, and no initial member has history: a new cluster"
                );
                if let Err(e) = self.initialize_once().await {
                    tracing::error!(node_id = self.id, error = %e, "cannot initialize the cluster");
                }
                return;
            }
            if history || !initial_member {
                if was_voter {
                    self.mark_rejoin_as_voter();
                }
                match self.rejoin_unless_stopped(false).await {
                    None => return,
                    Some(Ok(answer)) => break answer,
                    Some(Err(e)) => warn(&format!("the leader did not re-admit it yet: {e}")),
                }
            } else {
                warn(&format!(
                    "{answered} of the other {} initial members answered, {needed} needed to \
                     tell a new cluster from lost data",
                    others.len()
                ));
            }
            if self.pause_unless_stopped(ASK_EVERY).await {
                return;
            }
        };
        if rejoined.demoted {
            self.mark_rejoin_as_voter();
        }
        self.admitted.store(true, Ordering::Release);
        if !rejoined.member {
            let _gone = std::fs::remove_file(self.marker());
            tracing::info!(
                node_id = self.id,
                "empty store, and not a member of the cluster: nothing to forget"
            );
            return;
        }
        if rejoined.demoted {
            tracing::warn!(
                node_id = self.id,
                commit_index = rejoined.commit_index,
                "a voter that lost its data: re-admitted as a learner until it caught up"
            );
        } else {
            tracing::info!(
                node_id = self.id,
                commit_index = rejoined.commit_index,
                "re-admitted with an empty store: the leader replicates to it from the start"
            );
        }
        self.promote_if_marked().await;
    }

    /// When this node is to become a voter again ([`REJOIN_AS_VOTER`]): once it caught up
    /// (a read index from the leader, applied), asks the leader to make it a voter, until
    /// it is one or the node stops. Runs at start too, for a node that restarted on the
    /// way.
    pub(crate) async fn promote_if_marked(&self) {
        if !self.marker().exists() {
            return;
        }
        let mut warned: Option<Instant> = None;
        loop {
            let caught_up = tokio::select! {
                read = self.linearizable_barrier(FORWARD_TIMEOUT) => read,
                () = self.until_stopped() => return,
            };
            let outcome = match caught_up {
                Ok(_) => match self.rejoin_unless_stopped(true).await {
                    None => return,
                    Some(answer) => answer,
                },
                Err(e) => Err(AdminError::Rejected(format!("not caught up yet: {e}"))),
            };
            match outcome {
                Ok(answer) => {
                    let _gone = std::fs::remove_file(self.marker());
                    if answer.member {
                        tracing::info!(node_id = self.id, "a voter again");
                    } else {
                        tracing::warn!(
                            node_id = self.id,
                            "no longer a member of the cluster: not made a voter again"
                        );
                    }
                    return;
                }
                Err(e) if warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) => {
                    warned = Some(Instant::now());
                    tracing::warn!(node_id = self.id, error = %e, "not a voter again yet");
                }
                Err(_) => {}
            }
            if self.pause_unless_stopped(ASK_EVERY).await {
                return;
            }
        }
    }

    /// `RaftService/Probe` of node `target` at `addr`.
    async fn call_probe(&self, target: NodeId, addr: &str) -> Result<ProbeResponse, tonic::Status> {
        let request = ProbeRequest { node_id: self.id };
        self.call_peer(
            target,
            addr,
            request,
            PROBE_TIMEOUT,
            |mut s, r| async move { s.probe(r).await },
        )
        .await
    }

    /// Asks the leader, through each initial member in turn, to re-admit this node (or,
    /// with `promote`, to make it a voter again).
    async fn request_rejoin(&self, promote: bool) -> Result<RejoinResponse, AdminError> {
        let mut last = AdminError::NotLeader { leader: None };
        for (&id, addr) in self.seeds.iter().filter(|(id, _)| **id != self.id) {
            let request = RejoinRequest {
                node_id: self.id,
                forwarded: false,
                promote,
            };
            match self.call_rejoin(id, addr, request).await {
                Ok(answer) => return Ok(answer),
                Err(status) => last = peer_error(&status, id, addr),
            }
        }
        Err(last)
    }

    /// `RaftService/Rejoin` of node `target` at `addr`.
    pub(crate) async fn call_rejoin(
        &self,
        target: NodeId,
        addr: &str,
        request: RejoinRequest,
    ) -> Result<RejoinResponse, tonic::Status> {
        // Confirming leadership and changing the membership may take two rounds of
        // replication, each bounded by the forward timeout.
        self.call_peer(
            target,
            addr,
            request,
            FORWARD_TIMEOUT * 3,
            |mut s, r| async move { s.rejoin(r).await },
        )
        .await
    }

    /// Removes voter `id` from the voters, keeping it as a learner (on the leader).
    pub(crate) async fn demote(&self, id: NodeId) -> Result<u64, AdminError> {
        let change = openraft::ChangeMembers::RemoveVoters(std::collections::BTreeSet::from([id]));
        self.admin(self.raft.change_membership(change, true).await)
    }

    /// Makes learner `id` a voter (on the leader).
    pub(crate) async fn promote(&self, id: NodeId) -> Result<u64, AdminError> {
        let change = openraft::ChangeMembers::AddVoterIds(std::collections::BTreeSet::from([id]));
        self.admin(self.raft.change_membership(change, true).await)
    }

    /// Lets the leader's replication to `id` start again from nothing the next time `id`
    /// answers with a log shorter than the one it acknowledged (on the leader).
    pub(crate) async fn allow_revert(&self, id: NodeId) -> Result<(), AdminError> {
        match self.raft.trigger().allow_next_revert(&id, true).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(AdminError::Rejected(e.to_string())),
            Err(fatal) => Err(AdminError::Stopped(fatal.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::needed_for_new;

    #[test]
    fn a_new_cluster_needs_all_but_a_majority_less_one_of_the_others() {
        // members: others that must answer
        assert_eq!(needed_for_new(1), 0);
        assert_eq!(needed_for_new(2), 1);
        assert_eq!(needed_for_new(3), 2);
        assert_eq!(needed_for_new(4), 2);
        assert_eq!(needed_for_new(5), 3);
        assert_eq!(needed_for_new(7), 4);
    }
}
