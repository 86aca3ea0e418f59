//! The `Cluster` service: this node's view of the Raft cluster, and membership changes
//! (made on the leader; a follower answers `Unavailable` with the leader in `x-iam-leader`).
//! Callers need `iamd:<Rpc>` on `*`, from the bootstrap account only.

use std::collections::BTreeSet;
use std::sync::Arc;

use iam_api::v1 as pb;
use iam_api::v1::cluster_server::Cluster;
use iam_raft::{NodeMetrics, Role};
use tonic::{Request, Response, Status};

use super::caller;
use crate::errors;
use crate::node::Node;

/// The `Cluster` service.
#[derive(Debug, Clone)]
pub struct ClusterApi {
    pub node: Arc<Node>,
}

impl ClusterApi {
    fn check(&self, req_caller: &crate::auth::Caller, action: &str) -> Result<(), Status> {
        if req_caller.principal.account != self.node.config.bootstrap_account_id {
            return Err(errors::access_denied(
                &req_caller.principal.arn,
                action,
                "*",
                "only the bootstrap account administers the cluster",
            ));
        }
        self.node.authorize(req_caller, action, "*")
    }
}

/// How long `TransferLeader` waits for the target to lead.
const TRANSFER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn membership(m: &NodeMetrics, log_index: u64) -> pb::ClusterMembership {
    let node = |id: &u64| pb::ClusterNode {
        node_id: *id,
        address: m.members.get(id).cloned().unwrap_or_default(),
    };
    pb::ClusterMembership {
        voters: m.voters.iter().map(node).collect(),
        learners: m
            .members
            .keys()
            .filter(|id| !m.voters.contains(id))
            .map(node)
            .collect(),
        joint_voter_ids: m
            .joint_voters
            .as_ref()
            .map(|to| to.iter().copied().collect())
            .unwrap_or_default(),
        log_index,
    }
}

fn role(r: Role) -> pb::NodeRole {
    match r {
        Role::Leader => pb::NodeRole::Leader,
        Role::Follower => pb::NodeRole::Follower,
        Role::Candidate => pb::NodeRole::Candidate,
        Role::Learner => pb::NodeRole::Learner,
        Role::Shutdown => pb::NodeRole::Unspecified,
    }
}

fn admin_error(e: iam_raft::AdminError) -> Status {
    match e {
        iam_raft::AdminError::NotLeader { leader } => errors::unavailable(
            "membership changes are made on the leader",
            leader.as_deref(),
        ),
        other => Status::from(other),
    }
}

#[tonic::async_trait]
impl Cluster for ClusterApi {
    async fn get_cluster_status(
        &self,
        request: Request<pb::GetClusterStatusRequest>,
    ) -> Result<Response<pb::GetClusterStatusResponse>, Status> {
        let c = caller(&request)?;
        self.check(&c, "iamd:GetClusterStatus")?;
        let m = self.node.raft.metrics();
        let last = m.last_log_index.unwrap_or(0);
        let replication = m
            .replication
            .as_ref()
            .map(|r| {
                r.iter()
                    .filter(|(id, _)| **id != m.node_id)
                    .map(|(id, matched)| {
                        let matched = matched.unwrap_or(0);
                        pb::ReplicationProgress {
                            node_id: *id,
                            matched_index: matched,
                            lag: last.saturating_sub(matched),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let (since, stale) = self.node.staleness();
        Ok(Response::new(pb::GetClusterStatusResponse {
            node_id: m.node_id,
            address: self.node.config.advertised_peer(),
            role: role(m.role) as i32,
            term: m.term,
            leader_id: m.leader,
            leader_address: m.leader_addr.clone().unwrap_or_default(),
            last_log_index: last,
            applied_index: m.applied_index.unwrap_or(0),
            snapshot_index: m.snapshot_index.unwrap_or(0),
            membership: Some(membership(&m, m.committed_index.unwrap_or(0))),
            replication,
            stale,
            millis_since_leader_contact: since
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }))
    }

    async fn add_learner(
        &self,
        request: Request<pb::AddLearnerRequest>,
    ) -> Result<Response<pb::AddLearnerResponse>, Status> {
        let c = caller(&request)?;
        self.check(&c, "iamd:AddLearner")?;
        let r = request.into_inner();
        if r.node_id == 0 || r.address.is_empty() {
            return Err(errors::invalid(
                "node_id",
                "`node_id` (at least 1) and `address` are required",
            ));
        }
        let revision = self
            .node
            .raft
            .add_learner(r.node_id, r.address, r.wait_for_catch_up)
            .await
            .map_err(admin_error)?;
        Ok(Response::new(pb::AddLearnerResponse {
            membership: Some(membership(&self.node.raft.metrics(), revision)),
            revision,
        }))
    }

    async fn change_membership(
        &self,
        request: Request<pb::ChangeMembershipRequest>,
    ) -> Result<Response<pb::ChangeMembershipResponse>, Status> {
        let c = caller(&request)?;
        self.check(&c, "iamd:ChangeMembership")?;
        let r = request.into_inner();
        if r.voters.is_empty() {
            return Err(errors::invalid(
                "voters",
                "`voters` must name at least one node",
            ));
        }
        let voters: BTreeSet<u64> = r.voters.into_iter().collect();
        let revision = self
            .node
            .raft
            .change_membership(voters, r.retain)
            .await
            .map_err(admin_error)?;
        Ok(Response::new(pb::ChangeMembershipResponse {
            membership: Some(membership(&self.node.raft.metrics(), revision)),
            revision,
        }))
    }

    async fn remove_node(
        &self,
        request: Request<pb::RemoveNodeRequest>,
    ) -> Result<Response<pb::RemoveNodeResponse>, Status> {
        let c = caller(&request)?;
        self.check(&c, "iamd:RemoveNode")?;
        let r = request.into_inner();
        let revision = self
            .node
            .raft
            .remove_node(r.node_id)
            .await
            .map_err(admin_error)?;
        Ok(Response::new(pb::RemoveNodeResponse {
            membership: Some(membership(&self.node.raft.metrics(), revision)),
            revision,
        }))
    }

    async fn transfer_leader(
        &self,
        request: Request<pb::TransferLeaderRequest>,
    ) -> Result<Response<pb::TransferLeaderResponse>, Status> {
        let c = caller(&request)?;
        self.check(&c, "iamd:TransferLeader")?;
        let r = request.into_inner();
        self.node
            .raft
            .transfer_leader(r.to_node_id)
            .await
            .map_err(admin_error)?;
        // Answer once the target leads, as the rpc promises.
        let deadline = tokio::time::Instant::now() + TRANSFER_WAIT;
        let m = loop {
            let m = self.node.raft.metrics();
            if m.leader == Some(r.to_node_id) {
                break m;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(errors::unavailable(
                    &format!(
                        "node {} did not take over leadership within {TRANSFER_WAIT:?}; the cluster keeps a leader",
                        r.to_node_id
                    ),
                    m.leader_addr.as_deref(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        Ok(Response::new(pb::TransferLeaderResponse {
            leader_id: m.leader.unwrap_or(0),
            term: m.term,
            revision: m.committed_index.unwrap_or(0),
        }))
    }
}
