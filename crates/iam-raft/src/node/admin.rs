//! Membership changes and leadership transfer, on the leader.
//!
//! Add a node as a learner, wait until it caught up, then make it a voter with
//! [`RaftNode::change_membership`]; one change at a time. These calls are not forwarded: on
//! a follower they answer [`AdminError::NotLeader`] with the leader's address.

use std::collections::{BTreeMap, BTreeSet};

use iam_api::internal::{JoinRequest, ReadIndexRequest};
use iam_store::Machine;
use iam_store::raft::{NodeId, TypeConfig};
use openraft::error::{ClientWriteError, RaftError};
use openraft::raft::ClientWriteResponse;
use openraft::{BasicNode, ChangeMembers};

use super::{AdminError, RaftNode};
use crate::addressee::is_misaddressed;
use crate::channels::PeerService;
use crate::limits::FORWARD_TIMEOUT;
use crate::service::leader_of;

impl<M: Machine> RaftNode<M> {
    /// Adds node `id`, reachable at `addr`, as a learner; with `blocking`, returns only once
    /// it caught up with the leader's log. Returns the log index of the change.
    ///
    /// A node that is not yet a member is asked first: one that leads a cluster of its own
    /// or follows another cluster's leader is refused ([`AdminError::Rejected`]), since its
    /// log would conflict with this cluster's. A node that cannot be reached yet is added
    /// (it catches up once it starts).
    pub async fn add_learner(
        &self,
        id: NodeId,
        addr: impl Into<String>,
        blocking: bool,
    ) -> Result<u64, AdminError> {
        let addr: String = addr.into();
        let members = self.metrics().members;
        // Two members at one address would let that node's answers count twice.
        if let Some((other, _)) = members.iter().find(|(m, a)| **m != id && **a == addr) {
            return Err(AdminError::Rejected(format!(
                "the address `{addr}` belongs to node {other} already"
            )));
        }
        // openraft keeps a member's address: a second address would be ignored in silence.
        if let Some(known) = members.get(&id).filter(|known| **known != addr) {
            return Err(AdminError::Rejected(format!(
                "node {id} is a member at `{known}` already: remove it to give it another \
                 address"
            )));
        }
        if members.get(&id) != Some(&addr) {
            self.probe_joiner(id, &addr, &members).await?;
        }
        let node = BasicNode::new(addr);
        self.admin(self.raft.add_learner(id, node, blocking).await)
    }

    /// Refuses a would-be learner that already belongs to another cluster: it answers a
    /// read index (it leads) or names a leader that is not one of this cluster's members.
    async fn probe_joiner(
        &self,
        id: NodeId,
        addr: &str,
        members: &BTreeMap<NodeId, String>,
    ) -> Result<(), AdminError> {
        let mut service = self.channels.client(id, addr).map_err(|e| {
            AdminError::Rejected(format!(
                "the address `{addr}` of node {id} is unusable: {e}"
            ))
        })?;
        let mut request = tonic::Request::new(ReadIndexRequest {});
        request.set_timeout(FORWARD_TIMEOUT);
        let answer = tokio::time::timeout(FORWARD_TIMEOUT, service.read_index(request)).await;
        match answer {
            Ok(Ok(_)) => Err(AdminError::Rejected(format!(
                "node {id} at `{addr}` leads a cluster of its own; start it with an empty data \
                 directory and this cluster's member list (without itself) to add it"
            ))),
            Ok(Err(status)) if is_misaddressed(&status) => Err(AdminError::Rejected(format!(
                "the node at `{addr}` is not node {id}: {}",
                status.message()
            ))),
            Ok(Err(status)) => match leader_of(&status) {
                Some(leader) if !members.values().any(|a| *a == leader) => {
                    Err(AdminError::Rejected(format!(
                        "node {id} at `{addr}` follows the leader of another cluster at \
                         `{leader}`"
                    )))
                }
                // Pristine (no leader known), or already following this cluster's leader.
                _ => Ok(()),
            },
            // Not reachable yet: openraft replicates to it once it is up.
            Err(_elapsed) => Ok(()),
        }
    }

    /// Asks the cluster to add this node as a learner (`RaftService/Join`), trying each
    /// initial member in turn (a member that does not lead passes the request on to the
    /// leader). Returns the log index of the committed membership that has it; errs with
    /// the most telling failure when no member could add it (a refusal before a missing
    /// leader before an unreachable member).
    pub async fn request_to_join(&self) -> Result<u64, AdminError> {
        let mut failure: Option<AdminError> = None;
        for (&id, addr) in self.seeds.iter().filter(|(id, _)| **id != self.id) {
            let request = JoinRequest {
                node_id: self.id,
                address: self.addr.to_string(),
                forwarded: false,
            };
            let status = match self.call_join(id, addr, request).await {
                Ok(index) => return Ok(index),
                Err(status) => status,
            };
            let error = peer_error(&status, id, addr);
            let telling = |e: &AdminError| match e {
                AdminError::Rejected(_) => 2,
                AdminError::NotLeader { leader: Some(_) } => 1,
                _ => 0,
            };
            if failure
                .as_ref()
                .is_none_or(|f| telling(&error) > telling(f))
            {
                failure = Some(error);
            }
        }
        Err(failure.unwrap_or(AdminError::NotLeader { leader: None }))
    }

    /// Sends `request` to `RaftService/Join` of node `target` at `addr` (what
    /// [`Self::request_to_join`] does with each initial member); the log index it answers.
    pub async fn call_join(
        &self,
        target: NodeId,
        addr: &str,
        request: JoinRequest,
    ) -> Result<u64, tonic::Status> {
        self.call_peer(
            target,
            addr,
            request,
            FORWARD_TIMEOUT,
            |mut s, r| async move { s.join(r).await },
        )
        .await
        .map(|answer| answer.log_index)
    }

    /// Calls `rpc` of node `target` at `addr` with `request`, bounded by `timeout` as the
    /// call's deadline and here; an unusable address or no answer in time is `UNAVAILABLE`.
    pub(crate) async fn call_peer<Q, A, F, Fut>(
        &self,
        target: NodeId,
        addr: &str,
        request: Q,
        timeout: std::time::Duration,
        rpc: F,
    ) -> Result<A, tonic::Status>
    where
        F: FnOnce(PeerService, tonic::Request<Q>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<A>, tonic::Status>>,
    {
        let service = self.channels.client(target, addr).map_err(|e| {
            tonic::Status::unavailable(format!("the address `{addr}` is unusable: {e}"))
        })?;
        let mut request = tonic::Request::new(request);
        request.set_timeout(timeout);
        match tokio::time::timeout(timeout, rpc(service, request)).await {
            Ok(answer) => answer.map(tonic::Response::into_inner),
            Err(_elapsed) => Err(tonic::Status::unavailable(format!(
                "node {target} at `{addr}` did not answer in {timeout:?}"
            ))),
        }
    }

    /// Makes `voters` the voters of the cluster (every one already a member, learners
    /// included). With `retain`, removed voters stay as learners; without, they leave.
    pub async fn change_membership(
        &self,
        voters: BTreeSet<NodeId>,
        retain: bool,
    ) -> Result<u64, AdminError> {
        let change = ChangeMembers::ReplaceAllVoters(voters);
        self.admin(self.raft.change_membership(change, retain).await)
    }

    /// Removes node `id` from the cluster, voter or learner.
    pub async fn remove_node(&self, id: NodeId) -> Result<u64, AdminError> {
        let metrics = self.metrics();
        let change = if metrics.voters.contains(&id) {
            ChangeMembers::RemoveVoters(BTreeSet::from([id]))
        } else if metrics.members.contains_key(&id) {
            ChangeMembers::RemoveNodes(BTreeSet::from([id]))
        } else {
            return Err(AdminError::UnknownNode(id));
        };
        self.admin(self.raft.change_membership(change, false).await)
    }

    /// Asks the leader (this node) to hand leadership to the voter `to`. Returns once the
    /// request is made; watch [`Self::metrics`] for the new leader.
    pub async fn transfer_leader(&self, to: NodeId) -> Result<(), AdminError> {
        let metrics = self.metrics();
        if metrics.leader != Some(self.id) {
            return Err(AdminError::NotLeader {
                leader: metrics.leader_addr,
            });
        }
        if !metrics.voters.contains(&to) {
            return Err(AdminError::UnknownNode(to));
        }
        self.raft
            .trigger()
            .transfer_leader(to)
            .await
            .map_err(|e| AdminError::Stopped(e.to_string()))
    }

    /// Before this node stops: when it leads and other voters exist, hands leadership to
    /// the voter whose log is furthest along and waits (at most `timeout`) until another
    /// node leads, so that writes wait for one transfer instead of an election timeout.
    /// Returns the new leader, or `None` when there was nothing to hand over or the
    /// transfer did not complete in time (the others then elect one as usual).
    pub async fn hand_over_leadership(&self, timeout: std::time::Duration) -> Option<NodeId> {
        let metrics = self.metrics();
        if metrics.leader != Some(self.id) {
            return None;
        }
        let matched = metrics.replication.unwrap_or_default();
        // During a joint change, a voter of the configuration being moved to.
        let voters = metrics.joint_voters.unwrap_or(metrics.voters);
        let to = voters
            .iter()
            .filter(|&&id| id != self.id)
            .max_by_key(|&&id| (matched.get(&id).copied().flatten(), std::cmp::Reverse(id)))
            .copied()?;
        if let Err(e) = self.transfer_leader(to).await {
            tracing::warn!(node_id = self.id, to, error = %e, "leadership hand-over refused");
            return None;
        }
        let me = self.id;
        match self
            .raft
            .wait(Some(timeout))
            .metrics(
                |m| m.current_leader.is_some_and(|l| l != me),
                "another leader",
            )
            .await
        {
            Ok(m) => {
                tracing::info!(node_id = me, to = ?m.current_leader, "leadership handed over");
                m.current_leader
            }
            Err(e) => {
                tracing::warn!(node_id = me, to, error = %e, "leadership hand-over incomplete");
                None
            }
        }
    }

    /// The log index of a membership change, or why it failed.
    pub(super) fn admin(
        &self,
        result: Result<
            ClientWriteResponse<TypeConfig>,
            RaftError<TypeConfig, ClientWriteError<TypeConfig>>,
        >,
    ) -> Result<u64, AdminError> {
        match result {
            Ok(written) => Ok(written.log_id.index),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to)))
            | Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(to))) => {
                Err(AdminError::NotLeader {
                    leader: to
                        .leader_node
                        .map(|node| node.addr)
                        .or_else(|| to.leader_id.and_then(|id| self.addr_of(id))),
                })
            }
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
                Err(AdminError::Rejected(e.to_string()))
            }
            Err(RaftError::APIError(ClientWriteError::PreconditionFailed(e))) => {
                Err(AdminError::Rejected(e.to_string()))
            }
            Err(RaftError::Fatal(fatal)) => Err(AdminError::Stopped(fatal.to_string())),
        }
    }
}

/// What a member's answer to a request passed on to the leader (`Join`, `Rejoin`) means: a
/// refusal, or no leader (the one it knows, if any).
pub(crate) fn peer_error(status: &tonic::Status, id: NodeId, addr: &str) -> AdminError {
    match status.code() {
        tonic::Code::FailedPrecondition | tonic::Code::InvalidArgument => AdminError::Rejected(
            format!("member {id} at `{addr}` refused: {}", status.message()),
        ),
        _ => AdminError::NotLeader {
            leader: leader_of(status),
        },
    }
}
