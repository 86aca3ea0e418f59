//! [`PeerClient`]: openraft's RPCs to one peer, over gRPC.

use std::future::Future;
use std::time::Duration;

use iam_api::internal as pb;
use iam_store::raft::{NodeId, Snapshot, SnapshotData, TypeConfig, Vote};
use openraft::error::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::{OptionalSend, RPCTypes};

use super::{errors, snapshot};
use crate::channels::{Channels, PeerService};
use crate::wire::{self, TransferAnswer, VoteAnswer, VoteCall};

/// The RPCs of one node to one peer, as openraft's [`RaftNetworkV2`].
///
/// Every call carries openraft's deadline (`RPCOption::hard_ttl`) both as the gRPC timeout
/// the peer sees and as a local timeout.
#[derive(Debug)]
pub struct PeerClient {
    id: NodeId,
    target: NodeId,
    /// The client, or why the peer's address is unusable.
    service: Result<PeerService, String>,
}

impl PeerClient {
    /// The client of node `id` to node `target` at `addr`.
    pub(crate) fn new(id: NodeId, target: NodeId, addr: &str, channels: &Channels) -> Self {
        let service = channels.client(target, addr).map_err(|e| {
            tracing::warn!(target_node = target, addr, error = %e, "peer address is unusable");
            format!("address `{addr}` of node {target} is unusable: {e}")
        });
        Self {
            id,
            target,
            service,
        }
    }

    fn service(&self) -> Result<PeerService, RPCError<TypeConfig>> {
        self.service
            .clone()
            .map_err(|e| RPCError::Unreachable(Unreachable::from_string(e)))
    }

    /// Runs one call under the deadline `ttl`, mapping its failures.
    async fn within<T>(
        &self,
        action: RPCTypes,
        ttl: Duration,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, RPCError<TypeConfig>> {
        match tokio::time::timeout(ttl, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(errors::from_status(
                &status,
                action,
                self.id,
                self.target,
                ttl,
            )),
            Err(_elapsed) => Err(errors::timeout(action, self.id, self.target, ttl)),
        }
    }

    /// Sends one election message and returns the encoded answer.
    async fn vote_call(
        &self,
        call: &VoteCall,
        option: &RPCOption,
    ) -> Result<Vec<u8>, RPCError<TypeConfig>> {
        let payload = wire::encode(call, "vote request").map_err(|e| errors::codec(&e))?;
        let ttl = option.hard_ttl();
        let mut service = self.service()?;
        let answer = self
            .within(
                RPCTypes::Vote,
                ttl,
                service.vote(with_deadline(pb::VoteRequest { payload }, ttl)),
            )
            .await?;
        Ok(answer.payload)
    }

    async fn vote_or_pre_vote(
        &self,
        call: VoteCall,
        option: &RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        let payload = self.vote_call(&call, option).await?;
        let answer: VoteAnswer =
            wire::decode(&payload, "vote response").map_err(|e| errors::codec(&e))?;
        answer.map_err(|e| errors::remote(e, self.target))
    }
}

/// A gRPC request whose deadline the peer sees (`grpc-timeout`).
fn with_deadline<T>(message: T, ttl: Duration) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(ttl);
    request
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        let payload =
            wire::encode(&rpc, "append-entries request").map_err(|e| errors::codec(&e))?;
        let ttl = option.hard_ttl();
        let mut service = self.service()?;
        let request = with_deadline(pb::AppendEntriesRequest { payload }, ttl);
        let answer = self
            .within(
                RPCTypes::AppendEntries,
                ttl,
                service.append_entries(request),
            )
            .await?;
        let answer: Result<AppendEntriesResponse<TypeConfig>, _> =
            wire::decode(&answer.payload, "append-entries response")
                .map_err(|e| errors::codec(&e))?;
        answer.map_err(|e| errors::remote(e, self.target))
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.vote_or_pre_vote(VoteCall::Vote(rpc), &option).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        self.vote_or_pre_vote(VoteCall::PreVote(rpc), &option).await
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RPCError<TypeConfig>> {
        let payload = self
            .vote_call(&VoteCall::TransferLeader(req), &option)
            .await?;
        let answer: TransferAnswer =
            wire::decode(&payload, "transfer-leader response").map_err(|e| errors::codec(&e))?;
        answer.map_err(|e| errors::remote(e, self.target))
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let meta = wire::encode(&(&vote, &snapshot.meta), "snapshot metadata")
            .map_err(|e| errors::codec(&e))?;
        let chunk_size = snapshot::chunk_size(option.snapshot_chunk_size());
        let data = snapshot.snapshot.into_inner();
        let bytes = data.len();
        let ttl = option.hard_ttl();
        let mut service = self.service()?;
        let request = with_deadline(snapshot::messages(meta, data, chunk_size), ttl);
        let send = self.within(
            RPCTypes::InstallSnapshot,
            ttl,
            service.install_snapshot(request),
        );
        let answer = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            answer = send => answer?,
        };
        let answer: Result<SnapshotResponse<TypeConfig>, _> =
            wire::decode(&answer.payload, "install-snapshot response")
                .map_err(|e| errors::codec(&e))?;
        tracing::info!(target_node = self.target, bytes, "snapshot sent");
        Ok(answer.map_err(|e| errors::remote(e, self.target))?)
    }
}
