//! [`RaftGrpc`]: the server side of `iam.internal.v1.RaftService`, for trusted peers only.
//!
//! The Raft RPCs hand the decoded openraft message to the local Raft and answer its result,
//! error included, inside the payload. `Forward` proposes a follower's write on this node
//! and answers once it is applied; when this node is not the leader it refuses with
//! `UNAVAILABLE` and the leader's address in `x-iam-leader`, and never forwards again.

mod errors;
mod snapshot;

use futures_util::StreamExt;
use iam_api::internal as pb;
use iam_api::internal::raft_service_server::{RaftService, RaftServiceServer};
use iam_store::Machine;
use iam_store::raft::{NodeId, Request, TypeConfig};
use openraft::async_runtime::watch::WatchReceiver;
use openraft::error::{ClientWriteError, RaftError};
use openraft::raft::AppendEntriesResponse;
use tonic::{Response, Status, Streaming};

pub use errors::ServiceError;
pub(crate) use errors::{leader_of, with_leader};
use snapshot::Assembly;

use crate::limits::{FORWARD_TIMEOUT, MAX_MESSAGE_BYTES};
use crate::node::local_read_index;
use crate::node::{NodeMetrics, RaftNode};
use crate::propose;
use crate::wire::{self, Forwarded, TransferAnswer, VoteCall};
use crate::{AdminError, ReadError};

/// The longest peer address a joining node may give.
const MAX_JOIN_ADDRESS_LEN: usize = 255;

/// The peer service of one node whose replicated state is the machine `M`.
pub struct RaftGrpc<M: Machine> {
    /// The node it serves: its Raft, its leader-contact record, and (for `Join`) its
    /// membership changes.
    node: RaftNode<M>,
}

impl<M: Machine> RaftGrpc<M> {
    /// The service answering for `node`.
    pub(crate) fn new(node: RaftNode<M>) -> Self {
        Self { node }
    }

    /// Adds a node that asked to join as a learner, on the leader; a member that is not
    /// the leader passes a request on to it once (see the proto).
    async fn join(&self, request: pb::JoinRequest) -> Result<u64, Status> {
        let (id, addr) = (request.node_id, request.address.as_str());
        if id == 0 {
            return Err(Status::invalid_argument("node_id must be at least 1"));
        }
        if addr.is_empty() || addr.len() > MAX_JOIN_ADDRESS_LEN {
            return Err(Status::invalid_argument(format!(
                "address must be `host:port` of 1 to {MAX_JOIN_ADDRESS_LEN} characters"
            )));
        }
        let metrics = self.node.metrics();
        if let Some((leader, leader_addr)) = leader_to_pass_on_to(&metrics, request.forwarded)? {
            let passed_on = pb::JoinRequest {
                forwarded: true,
                ..request
            };
            return self.node.call_join(leader, &leader_addr, passed_on).await;
        }
        // Asked again (an answer lost, a restart): the same success, once committed.
        if metrics.members.get(&id).map(String::as_str) == Some(addr) {
            let index = metrics.membership_index.unwrap_or(0);
            return if index <= metrics.committed_index.unwrap_or(0) {
                Ok(index)
            } else {
                Err(Status::unavailable(format!(
                    "the change that adds node {id} is not committed yet: ask again"
                )))
            };
        }
        // `add_learner` refuses an id that is a member at another address.
        let index = self.node.add_learner(id, addr, false).await?;
        tracing::info!(
            node_id = id,
            address = addr,
            log_index = index,
            "node joined as a learner"
        );
        Ok(index)
    }

    /// Refuses a Raft call while this node, started with an empty store, is not admitted
    /// (see [`crate::node`]'s admission): to the cluster it is down.
    fn admitted(&self) -> Result<(), Status> {
        if self.node.is_admitted() {
            Ok(())
        } else {
            Err(Status::unavailable(format!(
                "node {} started with an empty store and is not admitted to the cluster yet",
                self.node.id()
            )))
        }
    }

    /// What an empty node asks of each initial member (see the proto).
    fn probe(&self, request: &pb::ProbeRequest) -> pb::ProbeResponse {
        let metrics = self.node.metrics();
        let vote = self.node.raft.metrics().borrow_watched().vote;
        // Any vote but the initializer's own means an election took place: a node that is
        // not admitted refuses vote requests, and before the first election only the
        // initializer campaigns, for itself.
        let initializer_for_itself = self.node.initializer() == Some(metrics.node_id)
            && vote.leader_id.node_id == metrics.node_id;
        let voted = vote.leader_id.term > 0 && !initializer_for_itself;
        pb::ProbeResponse {
            history: metrics.last_log_index.is_some_and(|i| i > 0)
                || metrics.snapshot_index.is_some()
                || metrics.purged_index.is_some()
                || voted,
            asker_is_voter: metrics.voters.contains(&request.node_id),
        }
    }

    /// Re-admits an empty node on the leader; a member that is not the leader passes the
    /// request on to it once (see the proto).
    async fn rejoin(&self, request: pb::RejoinRequest) -> Result<pb::RejoinResponse, Status> {
        let id = request.node_id;
        if id == 0 {
            return Err(Status::invalid_argument("node_id must be at least 1"));
        }
        let metrics = self.node.metrics();
        if let Some((leader, leader_addr)) = leader_to_pass_on_to(&metrics, request.forwarded)? {
            let passed_on = pb::RejoinRequest {
                forwarded: true,
                ..request
            };
            return self.node.call_rejoin(leader, &leader_addr, passed_on).await;
        }
        if id == metrics.node_id {
            return Err(Status::invalid_argument(
                "the leader does not rejoin itself",
            ));
        }
        // A quorum confirms this node still leads; the asker refuses Raft calls until it is
        // re-admitted, so it is not part of that quorum.
        let commit_index = self.read_index().await?;
        let metrics = self.node.metrics();
        if !metrics.members.contains_key(&id) {
            return Ok(pb::RejoinResponse {
                member: false,
                demoted: false,
                commit_index,
            });
        }
        if request.promote {
            if !metrics.voters.contains(&id) {
                let index = self.node.promote(id).await?;
                tracing::info!(
                    node_id = id,
                    log_index = index,
                    "re-admitted node is a voter again"
                );
            }
            return Ok(pb::RejoinResponse {
                member: true,
                demoted: false,
                commit_index,
            });
        }
        let demoted = metrics.voters.contains(&id)
            || metrics
                .joint_voters
                .as_ref()
                .is_some_and(|voters| voters.contains(&id));
        if demoted {
            let index = self.node.demote(id).await?;
            tracing::warn!(
                node_id = id,
                log_index = index,
                "a voter came back with an empty store: a learner until it caught up"
            );
        }
        self.node.allow_revert(id).await?;
        Ok(pb::RejoinResponse {
            member: true,
            demoted,
            commit_index,
        })
    }

    /// The tonic service, with [`MAX_MESSAGE_BYTES`] as its message size limit both ways.
    pub fn into_server(self) -> RaftServiceServer<Self> {
        RaftServiceServer::new(self)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// Proposes a forwarded command and returns where it landed and what it answered.
    async fn forward_write(&self, command: &[u8]) -> Result<Forwarded, ServiceError> {
        // Decoding as the machine's command here, not only on apply, turns a command from an
        // incompatible node into a refusal instead of a log entry that stops every node.
        let command: M::Command = wire::decode(command, "command").map_err(ServiceError::Decode)?;
        let request = Request::encode::<M>(&command)
            .map_err(|e| ServiceError::Encode(wire::from_io(&e, "command")))?;
        match propose::client_write(&self.node.raft, request).await {
            Ok(written) => Ok(Forwarded {
                log_index: written.log_id.index,
                response: written.data,
            }),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to))) => {
                Err(ServiceError::NotLeader {
                    leader: to.leader_node.map(|node| node.addr),
                })
            }
            Err(RaftError::APIError(ClientWriteError::LogEntryDiscarded(to))) => {
                Err(ServiceError::Discarded {
                    leader: to.leader_node.map(|node| node.addr),
                })
            }
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
                Err(ServiceError::Refused(e.to_string()))
            }
            Err(RaftError::APIError(ClientWriteError::PreconditionFailed(e))) => {
                Err(ServiceError::Refused(e.to_string()))
            }
            Err(RaftError::Fatal(fatal)) => Err(ServiceError::Stopped(fatal.to_string())),
        }
    }

    /// The read index of a linearizable read on another node: confirmed leadership, then
    /// the index to wait for.
    async fn read_index(&self) -> Result<u64, ServiceError> {
        match local_read_index(&self.node.raft, FORWARD_TIMEOUT).await {
            Ok(Ok(index)) => Ok(index),
            Ok(Err(to)) => Err(ServiceError::NotLeader {
                leader: to.leader_node.map(|node| node.addr),
            }),
            Err(ReadError::Stopped(e)) => Err(ServiceError::Stopped(e)),
            Err(ReadError::NoQuorum(e)) => Err(ServiceError::NoQuorum(e)),
            // `local_read_index` fails only with the two above.
            Err(other) => Err(ServiceError::NoQuorum(other.to_string())),
        }
    }

    /// Reads a whole `InstallSnapshot` stream and installs the snapshot.
    async fn install(
        &self,
        mut stream: Streaming<pb::InstallSnapshotRequest>,
    ) -> Result<Vec<u8>, ServiceError> {
        let mut assembly = Assembly::default();
        while let Some(message) = stream.next().await {
            let message = message.map_err(|s| ServiceError::Interrupted(s.message().to_owned()))?;
            assembly.push(message)?;
        }
        let (vote, snapshot) = assembly.finish()?;
        let bytes = snapshot.snapshot.get_ref().len();
        let answer: Result<_, RaftError<TypeConfig>> = self
            .node
            .raft
            .install_full_snapshot(vote, snapshot)
            .await
            .map_err(RaftError::Fatal);
        tracing::info!(bytes, ok = answer.is_ok(), "snapshot received");
        wire::encode(&answer, "install-snapshot response").map_err(ServiceError::Encode)
    }
}

/// Where a request that only the leader answers (`Join`, `Rejoin`) goes: `None` when this
/// node leads; the leader when it does not and the request was not passed on already
/// (passed on at most once); otherwise `UNAVAILABLE` naming the leader it knows.
fn leader_to_pass_on_to(
    metrics: &NodeMetrics,
    forwarded: bool,
) -> Result<Option<(NodeId, String)>, Status> {
    if metrics.leader == Some(metrics.node_id) {
        return Ok(None);
    }
    match (metrics.leader, &metrics.leader_addr) {
        (Some(leader), Some(addr)) if !forwarded => Ok(Some((leader, addr.clone()))),
        (_, leader) => Err(AdminError::NotLeader {
            leader: leader.clone(),
        }
        .into()),
    }
}

#[tonic::async_trait]
impl<M: Machine> RaftService for RaftGrpc<M> {
    async fn append_entries(
        &self,
        request: tonic::Request<pb::AppendEntriesRequest>,
    ) -> Result<Response<pb::AppendEntriesResponse>, Status> {
        self.admitted()?;
        let rpc = wire::decode(&request.into_inner().payload, "append-entries request")
            .map_err(ServiceError::Decode)?;
        let answer = self.node.raft.append_entries(rpc).await;
        // Anything but a higher vote means the sender leads this node's term.
        if matches!(&answer, Ok(a) if !matches!(a, AppendEntriesResponse::HigherVote(_))) {
            self.node.contact.touch();
        }
        let payload =
            wire::encode(&answer, "append-entries response").map_err(ServiceError::Encode)?;
        Ok(Response::new(pb::AppendEntriesResponse { payload }))
    }

    async fn vote(
        &self,
        request: tonic::Request<pb::VoteRequest>,
    ) -> Result<Response<pb::VoteResponse>, Status> {
        self.admitted()?;
        let call: VoteCall = wire::decode(&request.into_inner().payload, "vote request")
            .map_err(ServiceError::Decode)?;
        let payload = match call {
            VoteCall::Vote(rpc) => wire::encode(&self.node.raft.vote(rpc).await, "vote response"),
            VoteCall::PreVote(rpc) => {
                wire::encode(&self.node.raft.pre_vote(rpc).await, "vote response")
            }
            VoteCall::TransferLeader(rpc) => {
                let answer: TransferAnswer = self
                    .node
                    .raft
                    .handle_transfer_leader(rpc)
                    .await
                    .map_err(RaftError::Fatal);
                wire::encode(&answer, "transfer-leader response")
            }
        }
        .map_err(ServiceError::Encode)?;
        Ok(Response::new(pb::VoteResponse { payload }))
    }

    async fn install_snapshot(
        &self,
        request: tonic::Request<Streaming<pb::InstallSnapshotRequest>>,
    ) -> Result<Response<pb::InstallSnapshotResponse>, Status> {
        self.admitted()?;
        let payload = self.install(request.into_inner()).await?;
        Ok(Response::new(pb::InstallSnapshotResponse { payload }))
    }

    async fn forward(
        &self,
        request: tonic::Request<pb::ForwardRequest>,
    ) -> Result<Response<pb::ForwardResponse>, Status> {
        let request = request.into_inner();
        let request_id = request.request_id.as_str();
        let forwarded = self
            .forward_write(&request.command)
            .await
            .inspect_err(|e| {
                tracing::debug!(request_id, error = %e, "forwarded write refused");
            })?;
        tracing::debug!(
            request_id,
            log_index = forwarded.log_index,
            "forwarded write applied"
        );
        let payload = wire::encode(&forwarded, "forward response").map_err(ServiceError::Encode)?;
        Ok(Response::new(pb::ForwardResponse { payload }))
    }

    async fn read_index(
        &self,
        _request: tonic::Request<pb::ReadIndexRequest>,
    ) -> Result<Response<pb::ReadIndexResponse>, Status> {
        let read_index = self.read_index().await?;
        Ok(Response::new(pb::ReadIndexResponse { read_index }))
    }

    async fn join(
        &self,
        request: tonic::Request<pb::JoinRequest>,
    ) -> Result<Response<pb::JoinResponse>, Status> {
        let log_index = self.join(request.into_inner()).await?;
        Ok(Response::new(pb::JoinResponse { log_index }))
    }

    async fn probe(
        &self,
        request: tonic::Request<pb::ProbeRequest>,
    ) -> Result<Response<pb::ProbeResponse>, Status> {
        Ok(Response::new(RaftGrpc::probe(self, &request.into_inner())))
    }

    async fn rejoin(
        &self,
        request: tonic::Request<pb::RejoinRequest>,
    ) -> Result<Response<pb::RejoinResponse>, Status> {
        Ok(Response::new(
            RaftGrpc::rejoin(self, request.into_inner()).await?,
        ))
    }
}

impl<M: Machine> std::fmt::Debug for RaftGrpc<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftGrpc")
            .field("node_id", self.node.raft.node_id())
            .finish_non_exhaustive()
    }
}
