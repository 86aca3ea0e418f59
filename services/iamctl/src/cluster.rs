//! `iamctl cluster <command>`: the Raft state of a node and runtime membership changes,
//! through iamd's `Cluster` rpcs.
//!
//! Nodes are named by their numeric id and reached by peers at their Raft (peer) address;
//! `--endpoint-url` is still the client address of the node called. Membership changes are
//! made by the leader: a follower answers `Unavailable` with the leader's peer address in
//! `x-iam-leader`, which is reported (with the leader's id) rather than followed, since a
//! peer address does not tell the leader's client port.

use std::time::{Duration, Instant};

use clap::Subcommand;
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{self, CliError, Ctx};

/// How long `transfer-leader` waits for the node called to see the new leader.
const TRANSFER_WAIT: Duration = Duration::from_secs(10);
/// How often it looks.
const TRANSFER_POLL: Duration = Duration::from_millis(100);

/// The cluster commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ClusterCommand {
    /// Shows the Raft state of the node called: role, term, leader, log indexes,
    /// membership, and (on the leader) how far each member lags.
    Status,
    /// Adds a non-voting learner that receives the log (on the leader).
    AddLearner {
        /// The new node's id: a positive number, unique in the cluster, never reused.
        #[arg(long, value_parser = node_id)]
        node_id: u64,
        /// The new node's Raft (peer) address, `host:port`.
        #[arg(long, value_parser = peer_address)]
        address: String,
        /// Answer only once the learner has caught up with the leader's log.
        #[arg(long)]
        wait_for_catch_up: bool,
        /// A retried command with the same key is applied once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Makes a learner a voter: the current voters plus this node (on the leader).
    Promote {
        /// The learner to promote.
        #[arg(long, value_parser = node_id)]
        node_id: u64,
        /// A retried command with the same key is applied once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Sets the voters to exactly the given set, through joint consensus (on the leader);
    /// every new voter must already be a learner.
    ChangeMembership {
        /// The complete new set of voter ids: `--voters 1,2,3`.
        #[arg(long, required = true, value_delimiter = ',', value_parser = node_id)]
        voters: Vec<u64>,
        /// Keep the voters left out of the set as learners instead of dropping them.
        #[arg(long)]
        retain: bool,
        /// A retried command with the same key is applied once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Removes a node from the cluster: a voter first stops voting, then stops receiving
    /// the log (on the leader).
    RemoveNode {
        /// The node to remove.
        #[arg(long, value_parser = node_id)]
        node_id: u64,
        /// A retried command with the same key is applied once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Hands leadership to an up-to-date voter (on the leader), and waits until the node
    /// called sees it lead.
    TransferLeader {
        /// The voter that should lead.
        #[arg(long, value_parser = node_id)]
        to_node_id: u64,
        /// A retried command with the same key is applied once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
}

impl ClusterCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        match self {
            ClusterCommand::Status => render("GetClusterStatus", &status(ctx).await?),
            ClusterCommand::AddLearner {
                node_id,
                address,
                wait_for_catch_up,
                idempotency_key,
            } => {
                let request = pb::AddLearnerRequest {
                    node_id,
                    address,
                    wait_for_catch_up,
                    idempotency_key: idempotency_key.unwrap_or_default(),
                };
                let answer = ctx.cluster.add_learner(request).await;
                let response = on_leader(ctx, "AddLearner", answer).await?;
                render("AddLearner", &response)
            }
            ClusterCommand::Promote {
                node_id,
                idempotency_key,
            } => {
                let current = status(ctx).await?;
                let membership = current.membership.ok_or_else(|| {
                    CliError::Internal("the cluster status has no membership".into())
                })?;
                let voters = promoted_voters(&membership, node_id)?;
                change_membership(ctx, voters, true, idempotency_key).await
            }
            ClusterCommand::ChangeMembership {
                voters,
                retain,
                idempotency_key,
            } => change_membership(ctx, voters, retain, idempotency_key).await,
            ClusterCommand::RemoveNode {
                node_id,
                idempotency_key,
            } => {
                let request = pb::RemoveNodeRequest {
                    node_id,
                    idempotency_key: idempotency_key.unwrap_or_default(),
                };
                let answer = ctx.cluster.remove_node(request).await;
                let response = on_leader(ctx, "RemoveNode", answer).await?;
                render("RemoveNode", &response)
            }
            ClusterCommand::TransferLeader {
                to_node_id,
                idempotency_key,
            } => transfer_leader(ctx, to_node_id, idempotency_key).await,
        }
    }
}

/// The node's status, as a message (promote reads its membership).
async fn status(ctx: &mut Ctx) -> Result<pb::GetClusterStatusResponse, CliError> {
    match ctx
        .cluster
        .get_cluster_status(pb::GetClusterStatusRequest {})
        .await
    {
        Ok(response) => Ok(response.into_inner()),
        Err(status) => Err(CliError::Service {
            operation: "GetClusterStatus",
            status,
        }),
    }
}

async fn change_membership(
    ctx: &mut Ctx,
    voters: Vec<u64>,
    retain: bool,
    idempotency_key: Option<String>,
) -> Result<Value, CliError> {
    let request = pb::ChangeMembershipRequest {
        voters,
        retain,
        idempotency_key: idempotency_key.unwrap_or_default(),
    };
    let answer = ctx.cluster.change_membership(request).await;
    let response = on_leader(ctx, "ChangeMembership", answer).await?;
    render("ChangeMembership", &response)
}

/// Asks for the transfer, then waits until the node called sees `to` lead (iamd answers
/// once the transfer is requested). The output is the `TransferLeader` response with the
/// leader and term the node then reports.
async fn transfer_leader(
    ctx: &mut Ctx,
    to: u64,
    idempotency_key: Option<String>,
) -> Result<Value, CliError> {
    let request = pb::TransferLeaderRequest {
        to_node_id: to,
        idempotency_key: idempotency_key.unwrap_or_default(),
    };
    let answer = ctx.cluster.transfer_leader(request).await;
    let mut response = on_leader(ctx, "TransferLeader", answer).await?;
    let deadline = Instant::now() + TRANSFER_WAIT;
    while response.leader_id != to {
        if Instant::now() >= deadline {
            return Err(CliError::Timeout(format!(
                "node {to} did not take over within {} s (the node called reports leader {}); \
                 the cluster keeps a leader either way: see `iamctl cluster status`",
                TRANSFER_WAIT.as_secs(),
                response.leader_id
            )));
        }
        tokio::time::sleep(TRANSFER_POLL).await;
        // A node that just stepped down may answer nothing useful for a moment: keep
        // looking until the deadline.
        if let Ok(now) = status(ctx).await {
            response.leader_id = now.leader_id.unwrap_or(0);
            response.term = now.term;
        }
    }
    render("TransferLeader", &response)
}

/// The answer of a membership rpc; a follower's `Unavailable` with a leader hint becomes
/// [`CliError::NotLeader`], with the leader's id when the node's status names the same
/// leader address.
async fn on_leader<T>(
    ctx: &mut Ctx,
    operation: &'static str,
    answer: Result<tonic::Response<T>, tonic::Status>,
) -> Result<T, CliError> {
    let status = match answer {
        Ok(response) => return Ok(response.into_inner()),
        Err(status) => status,
    };
    let Some(leader) = client::leader_of(&status).map(str::to_owned) else {
        return Err(CliError::Service { operation, status });
    };
    if status.code() != tonic::Code::Unavailable {
        return Err(CliError::Service { operation, status });
    }
    let leader_id = match self::status(ctx).await {
        Ok(now) if now.leader_address == leader => now.leader_id,
        _ => None,
    };
    Err(CliError::NotLeader {
        operation,
        status,
        leader_id,
    })
}

/// Renders the response of `rpc` with AWS's field names.
fn render<M: prost::Message>(rpc: &str, message: &M) -> Result<Value, CliError> {
    crate::protojson::render(&format!("iam.v1.{rpc}Response"), message).map_err(CliError::Internal)
}

/// The voters after promoting the learner `node_id`: the current voters plus it. A node
/// that is already a voter, or not a learner, is refused before anything is sent.
fn promoted_voters(membership: &pb::ClusterMembership, node_id: u64) -> Result<Vec<u64>, CliError> {
    let mut voters: Vec<u64> = membership.voters.iter().map(|n| n.node_id).collect();
    if voters.contains(&node_id) {
        return Err(CliError::Usage(format!(
            "node {node_id} is already a voter (voters: {})",
            ids(&voters)
        )));
    }
    if !membership.learners.iter().any(|n| n.node_id == node_id) {
        let learners: Vec<u64> = membership.learners.iter().map(|n| n.node_id).collect();
        return Err(CliError::Usage(format!(
            "node {node_id} is not a learner of the cluster (learners: {}); add it first with \
             `iamctl cluster add-learner --node-id {node_id} --address HOST:PORT`",
            ids(&learners)
        )));
    }
    voters.push(node_id);
    voters.sort_unstable();
    Ok(voters)
}

fn ids(ids: &[u64]) -> String {
    if ids.is_empty() {
        return "none".to_owned();
    }
    ids.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A node id: a positive number.
fn node_id(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("node ids start at 1".to_owned()),
        Ok(id) => Ok(id),
        Err(_) => Err(format!("`{text}` is not a node id (a positive number)")),
    }
}

/// A Raft (peer) address, `host:port`: no scheme, a host, a port 1-65535.
fn peer_address(text: &str) -> Result<String, String> {
    if text.contains("://") {
        return Err(format!(
            "`{text}` is a url; give the node's Raft (peer) address as host:port"
        ));
    }
    let malformed = || format!("`{text}` is not a host:port address");
    let (host, port) = text.rsplit_once(':').ok_or_else(malformed)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(malformed());
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(text.to_owned()),
        _ => Err(malformed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: u64) -> pb::ClusterNode {
        pb::ClusterNode {
            node_id: id,
            address: format!("10.0.0.{id}:7301"),
        }
    }

    fn membership(voters: &[u64], learners: &[u64]) -> pb::ClusterMembership {
        pb::ClusterMembership {
            voters: voters.iter().copied().map(node).collect(),
            learners: learners.iter().copied().map(node).collect(),
            joint_voter_ids: Vec::new(),
            log_index: 7,
        }
    }

    #[test]
    fn promoting_a_learner_adds_it_to_the_voters() {
        let m = membership(&[3, 1, 2], &[4]);
        assert_eq!(promoted_voters(&m, 4).unwrap(), vec![1, 2, 3, 4]);
    }

    #[test]
    fn promoting_a_voter_or_a_stranger_is_refused() {
        let m = membership(&[1, 2, 3], &[4]);
        let voter = promoted_voters(&m, 2).unwrap_err();
        assert!(matches!(&voter, CliError::Usage(m) if m.contains("already a voter")));
        let stranger = promoted_voters(&m, 9).unwrap_err();
        assert!(
            matches!(&stranger, CliError::Usage(m) if m.contains("not a learner") && m.contains("learners: 4")),
            "{stranger}"
        );
        let none = promoted_voters(&membership(&[1], &[]), 2).unwrap_err();
        assert!(matches!(&none, CliError::Usage(m) if m.contains("learners: none")));
    }

    #[test]
    fn node_ids_are_positive_numbers() {
        assert_eq!(node_id("4"), Ok(4));
        assert!(node_id("0").is_err());
        assert!(node_id("-1").is_err());
        assert!(node_id("four").is_err());
    }

    #[test]
    fn peer_addresses_are_host_and_port() {
        assert!(peer_address("10.0.0.4:7301").is_ok());
        assert!(peer_address("iamd-3.iamd.svc:7301").is_ok());
        assert!(peer_address("[::1]:7301").is_ok());
        for bad in [
            "10.0.0.4",
            "http://10.0.0.4:7301",
            ":7301",
            "host:0",
            "host:99999",
            "host:",
        ] {
            assert!(peer_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_not_leader_error_names_the_leader_and_exits_254() {
        let mut status = tonic::Status::unavailable("membership changes are made on the leader");
        status
            .metadata_mut()
            .insert("x-iam-leader", "127.0.0.1:7401".parse().unwrap());
        let known = CliError::NotLeader {
            operation: "RemoveNode",
            status: status.clone(),
            leader_id: Some(2),
        };
        let text = known.to_string();
        assert!(text.contains("RemoveNode operation"), "{text}");
        assert!(
            text.contains("the leader is node 2, whose Raft (peer) address is `127.0.0.1:7401`"),
            "{text}"
        );
        assert_eq!(known.exit_code(), std::process::ExitCode::from(254));
        let unknown = CliError::NotLeader {
            operation: "RemoveNode",
            status,
            leader_id: None,
        };
        assert!(unknown.to_string().contains("`127.0.0.1:7401`"));
    }
}
