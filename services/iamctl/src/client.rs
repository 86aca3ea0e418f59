//! The signed channel to iamd, the errors of a remote command, and the macros that make
//! one call ([`call!`]) or walk every page of a list ([`list!`]).

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use iam_api::signing::{SigV4Layer, SigV4Service, SigningCredentials};
use iam_api::v1::authorization_client::AuthorizationClient;
use iam_api::v1::cluster_client::ClusterClient;
use iam_api::v1::iam_client::IamClient;
use tonic::transport::{Channel, Endpoint};

/// A channel whose every call is signed with SigV4.
pub(crate) type Signed = SigV4Service<Channel>;

/// The clients of one connection.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) iam: IamClient<Signed>,
    pub(crate) authz: AuthorizationClient<Signed>,
    pub(crate) cluster: ClusterClient<Signed>,
}

/// Opens a plain (unsigned) channel to `url` (`http://host:port`; a bare `host:port` means
/// `http://`), and returns it with the URL's authority, which signed calls name as their host.
pub(crate) async fn channel(url: &str) -> Result<(Channel, String), CliError> {
    let url = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let endpoint = Endpoint::from_shared(url.clone())
        .map_err(|e| CliError::Usage(format!("invalid endpoint url `{url}`: {e}")))?
        .connect_timeout(Duration::from_secs(10));
    let host = endpoint
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .ok_or_else(|| CliError::Usage(format!("endpoint url `{url}` has no host")))?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| CliError::Connect(format!("cannot connect to `{url}`: {}", chain(&e))))?;
    Ok((channel, host))
}

/// Connects to `url` with every call signed by `creds`.
pub(crate) async fn connect(url: &str, creds: SigningCredentials) -> Result<Ctx, CliError> {
    let (channel, host) = channel(url).await?;
    // The channel sets the authority below the signing layer: the layer is told the host.
    let signed = tower::ServiceBuilder::new()
        .layer(SigV4Layer::new(creds).with_host(host))
        .service(channel);
    Ok(Ctx {
        iam: IamClient::new(signed.clone()),
        authz: AuthorizationClient::new(signed.clone()),
        cluster: ClusterClient::new(signed),
    })
}

/// Why a command failed; each kind has the AWS CLI's exit code.
#[derive(Debug)]
pub(crate) enum CliError {
    /// A flag value that cannot be used (252).
    Usage(String),
    /// Credentials or configuration that cannot be used (253).
    Config(String),
    /// The service answered an error status (254).
    Service {
        operation: &'static str,
        status: tonic::Status,
    },
    /// A membership command answered by a node that is not the leader (254): the
    /// `Unavailable` status, whose `x-iam-leader` names the leader's Raft (peer) address, and
    /// the leader's id when the node's status names the same leader.
    NotLeader {
        operation: &'static str,
        status: tonic::Status,
        leader_id: Option<u64>,
    },
    /// The service could not be reached (255).
    Connect(String),
    /// The service accepted a request but did not reach the awaited state in time (255).
    Timeout(String),
    /// Anything else: an answer that cannot be rendered, output that cannot be written
    /// (255).
    Internal(String),
}

impl CliError {
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) => 252,
            CliError::Config(_) => 253,
            CliError::Service { .. } | CliError::NotLeader { .. } => 254,
            CliError::Connect(_) | CliError::Timeout(_) | CliError::Internal(_) => 255,
        })
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m)
            | CliError::Config(m)
            | CliError::Connect(m)
            | CliError::Timeout(m) => f.write_str(m),
            CliError::Internal(m) => write!(f, "internal error: {m}"),
            CliError::Service { operation, status } => {
                write!(
                    f,
                    "An error occurred ({:?}) when calling the {operation} operation: {}",
                    status.code(),
                    status.message()
                )?;
                if let Some(leader) = leader_of(status) {
                    // A peer address: the leader's client port is not known here.
                    write!(f, "\nthe leader's Raft (peer) address is `{leader}`")?;
                }
                request_id(f, status)
            }
            CliError::NotLeader {
                operation,
                status,
                leader_id,
            } => {
                write!(
                    f,
                    "An error occurred ({:?}) when calling the {operation} operation: {}",
                    status.code(),
                    status.message()
                )?;
                let leader = leader_of(status).unwrap_or("unknown");
                match leader_id {
                    Some(id) => write!(
                        f,
                        "\nthis node is not the leader: the leader is node {id}, whose Raft \
                         (peer) address is `{leader}`; run the command again with \
                         --endpoint-url set to node {id}'s client address"
                    )?,
                    None => write!(
                        f,
                        "\nthis node is not the leader: the leader's Raft (peer) address is \
                         `{leader}`; run the command again with --endpoint-url set to that \
                         node's client address"
                    )?,
                }
                request_id(f, status)
            }
        }
    }
}

fn request_id(f: &mut fmt::Formatter<'_>, status: &tonic::Status) -> fmt::Result {
    match metadata(status, "x-request-id") {
        Some(id) => write!(f, "\nrequest id: {id}"),
        None => Ok(()),
    }
}

/// The leader's Raft (peer) address a status carries in `x-iam-leader`, if any.
pub(crate) fn leader_of(status: &tonic::Status) -> Option<&str> {
    metadata(status, LEADER_METADATA)
}

/// The metadata key of the leader hint iamd puts on `Unavailable` answers (iam-raft's
/// `LEADER_METADATA`).
const LEADER_METADATA: &str = "x-iam-leader";

fn metadata<'a>(status: &'a tonic::Status, key: &str) -> Option<&'a str> {
    status.metadata().get(key).and_then(|v| v.to_str().ok())
}

/// An error and its sources, as one line (`transport error: connection refused`).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    let mut last = text.clone();
    while let Some(e) = source {
        // Some errors repeat their source's message; say it once.
        let message = e.to_string();
        if message != last {
            text.push_str(": ");
            text.push_str(&message);
        }
        last = message;
        source = e.source();
    }
    text
}

/// Calls one rpc and renders its response: `call!(client, method, "Rpc", request)` is a
/// `Result<serde_json::Value, CliError>`.
macro_rules! call {
    ($client:expr, $method:ident, $rpc:literal, $request:expr) => {
        match $client.$method($request).await {
            Ok(response) => $crate::protojson::render(
                concat!("iam.v1.", $rpc, "Response"),
                &response.into_inner(),
            )
            .map_err($crate::client::CliError::Internal),
            Err(status) => Err($crate::client::CliError::Service {
                operation: $rpc,
                status,
            }),
        }
    };
}

/// Walks the pages of a list rpc as [`crate::paging::Pager`] directs, binding the marker
/// and page size of each call: `list!(client, &page, method, "Rpc", |marker, max_items|
/// request)` is `Ok` with the merged pages; a failed call returns early with its error.
macro_rules! list {
    ($client:expr, $page:expr, $method:ident, $rpc:literal, |$marker:ident, $max_items:ident| $request:expr) => {{
        let mut pager = $crate::paging::Pager::new($page);
        while let Some(($marker, $max_items)) = pager.next_call() {
            pager.push(call!($client, $method, $rpc, $request)?)?;
        }
        Ok(pager.finish())
    }};
}
