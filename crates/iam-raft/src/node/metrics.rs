//! [`NodeMetrics`]: what a node knows about itself and the cluster, without openraft types.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use iam_store::Machine;
use iam_store::raft::{NodeId, TypeConfig};
use openraft::async_runtime::watch::WatchReceiver;
use openraft::{Instant, LogIdOptionExt, RaftMetrics, ServerState};

use super::RaftNode;

/// The Raft role of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Replicates the log, does not vote.
    Learner,
    /// A voter following a leader.
    Follower,
    /// Campaigning for leadership.
    Candidate,
    /// The leader: proposes writes.
    Leader,
    /// Shutting down or stopped.
    Shutdown,
}

/// A point-in-time view of one node's Raft state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeMetrics {
    /// This node's id.
    pub node_id: NodeId,
    /// This node's role.
    pub role: Role,
    /// The current term.
    pub term: u64,
    /// The leader this node knows, if any.
    pub leader: Option<NodeId>,
    /// The peer address of that leader.
    pub leader_addr: Option<String>,
    /// The index of the last entry in this node's log.
    pub last_log_index: Option<u64>,
    /// The index of the last entry this node knows to be committed.
    pub committed_index: Option<u64>,
    /// The index of the last entry applied to the state machine: the node's revision.
    pub applied_index: Option<u64>,
    /// The last index covered by this node's snapshot.
    pub snapshot_index: Option<u64>,
    /// The last index purged from this node's log (compacted into the snapshot).
    pub purged_index: Option<u64>,
    /// The voters of the effective membership (during a joint change, of every config).
    pub voters: BTreeSet<NodeId>,
    /// During a joint-consensus change, the voter set being moved to; `None` otherwise.
    pub joint_voters: Option<BTreeSet<NodeId>>,
    /// Every member (voters and learners) with its peer address.
    pub members: BTreeMap<NodeId, String>,
    /// The log index of the entry that set the effective membership (`None`: the initial
    /// one, before any entry).
    pub membership_index: Option<u64>,
    /// On the leader: the last log index each member is known to hold (replication lag).
    pub replication: Option<BTreeMap<NodeId, Option<u64>>>,
    /// Why the Raft stopped, when it stopped on an error (storage failure).
    pub fatal: Option<String>,
    /// How long ago this node was last in contact with a leader: on the leader, since a
    /// quorum last acknowledged it (0 when it is the only voter); elsewhere, since the
    /// leader last replicated to it. `None` when never since this node started.
    pub since_leader_contact: Option<Duration>,
}

impl<M: Machine> RaftNode<M> {
    /// How long ago this node was last in contact with a leader (see
    /// [`NodeMetrics::since_leader_contact`]); cheap enough for every request.
    pub fn since_leader_contact(&self) -> Option<Duration> {
        let m = self.metrics.borrow_watched();
        self.contact_since(&m)
    }

    fn contact_since(&self, m: &RaftMetrics<TypeConfig>) -> Option<Duration> {
        match m.state {
            ServerState::Leader if m.membership_config.membership().voter_ids().eq([self.id]) => {
                Some(Duration::ZERO)
            }
            ServerState::Leader => m.last_quorum_acked.as_ref().map(|at| at.elapsed()),
            _ => self.contact.since(),
        }
    }

    /// This node's current Raft metrics.
    pub fn metrics(&self) -> NodeMetrics {
        let m = self.metrics.borrow_watched();
        let membership = m.membership_config.membership();
        let members: BTreeMap<NodeId, String> = membership
            .nodes()
            .map(|(&id, node)| (id, node.addr.clone()))
            .collect();
        let leader_addr = m.current_leader.and_then(|leader| {
            members
                .get(&leader)
                .cloned()
                .or_else(|| self.seeds.get(&leader).cloned())
        });
        NodeMetrics {
            node_id: m.id,
            role: role(m.state),
            term: m.current_term,
            leader: m.current_leader,
            leader_addr,
            last_log_index: m.last_log_index,
            committed_index: m.local_committed.index(),
            applied_index: m.last_applied.index(),
            snapshot_index: m.snapshot.index(),
            purged_index: m.purged.index(),
            voters: membership.voter_ids().collect(),
            joint_voters: match membership.get_joint_config().as_slice() {
                [_, .., to] => Some(to.clone()),
                _ => None,
            },
            members,
            membership_index: m.membership_config.log_id().index(),
            replication: m.replication.as_ref().map(|progress| {
                progress
                    .iter()
                    .map(|(&id, matched)| (id, matched.index()))
                    .collect()
            }),
            fatal: m.running_state.as_ref().err().map(ToString::to_string),
            since_leader_contact: self.contact_since(&m),
        }
    }
}

fn role(state: ServerState) -> Role {
    match state {
        ServerState::Learner => Role::Learner,
        ServerState::Follower => Role::Follower,
        ServerState::Candidate => Role::Candidate,
        ServerState::Leader => Role::Leader,
        ServerState::Shutdown => Role::Shutdown,
    }
}
