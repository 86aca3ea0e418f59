//! The encoding of the proto's opaque `bytes` fields: JSON of openraft's messages and of
//! iamd's own forwarded writes.
//!
//! Every payload is `serde_json`, like everything else iamd stores, so a peer of an
//! incompatible version fails to decode rather than misreading a message. Answers carry a
//! `Result`: the Raft-level error of the receiving node travels inside the payload.

use std::fmt;

use iam_store::raft::{Response, TypeConfig};
use openraft::error::RaftError;
use openraft::raft::{TransferLeaderRequest, TransferLeaderResponse, VoteRequest, VoteResponse};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A payload that cannot be encoded or decoded: a bug, or peers of incompatible versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    what: &'static str,
    /// The whole message: `cannot encode|decode <what>: <reason>`.
    message: String,
}

impl CodecError {
    /// What was being encoded or decoded (`append-entries request`, `command`, ...).
    pub fn what(&self) -> &'static str {
        self.what
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodecError {}

/// Encodes `value` as JSON; `what` names it in the error.
pub(crate) fn encode<T: Serialize + ?Sized>(
    value: &T,
    what: &'static str,
) -> Result<Vec<u8>, CodecError> {
    serde_json::to_vec(value).map_err(|e| CodecError {
        what,
        message: format!("cannot encode {what}: {e}"),
    })
}

/// Decodes JSON `bytes`; `what` names the value in the error.
pub(crate) fn decode<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<T, CodecError> {
    serde_json::from_slice(bytes).map_err(|e| CodecError {
        what,
        message: format!("cannot decode {what}: {e}"),
    })
}

/// Turns an error of `iam-store`'s command and response codec (whose message already says
/// what it could not encode or decode) into a [`CodecError`].
pub(crate) fn from_io(error: &std::io::Error, what: &'static str) -> CodecError {
    CodecError {
        what,
        message: error.to_string(),
    }
}

/// The payload of a `Vote` request: an election message.
///
/// The proto's `Vote` RPC carries votes "and pre-votes"; openraft's leadership transfer (the
/// leader asking the chosen node to start an election at once) rides along here too, because
/// it is part of the election protocol and the proto has no RPC of its own for it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum VoteCall {
    /// A candidate asks for a vote.
    Vote(VoteRequest<TypeConfig>),
    /// A would-be candidate asks whether it could win, without disturbing the term.
    PreVote(VoteRequest<TypeConfig>),
    /// The leader hands leadership to the receiver.
    TransferLeader(TransferLeaderRequest<TypeConfig>),
}

/// The answer to [`VoteCall::Vote`] and [`VoteCall::PreVote`].
pub(crate) type VoteAnswer = Result<VoteResponse<TypeConfig>, RaftError<TypeConfig>>;

/// The answer to [`VoteCall::TransferLeader`].
pub(crate) type TransferAnswer = Result<TransferLeaderResponse<TypeConfig>, RaftError<TypeConfig>>;

/// The payload of a `Forward` answer: where the write landed and what applying it answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Forwarded {
    /// The Raft log index of the write, its revision.
    pub(crate) log_index: u64,
    /// The machine's encoded response.
    pub(crate) response: Response,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_payload_names_what_it_was() {
        let err = decode::<VoteCall>(b"{\"ballot\": 1}", "vote request").unwrap_err();
        assert_eq!(err.what(), "vote request");
        assert!(err.to_string().starts_with("cannot decode vote request: "));
    }

    #[test]
    fn vote_envelope_tells_votes_and_transfers_apart() {
        let vote = iam_store::raft::Vote::new(3, 1);
        let call = VoteCall::PreVote(VoteRequest::new(vote, None));
        let bytes = encode(&call, "vote request").unwrap();
        assert!(bytes.starts_with(b"{\"pre_vote\":"));
        let back: VoteCall = decode(&bytes, "vote request").unwrap();
        assert!(matches!(back, VoteCall::PreVote(req) if req.vote == vote));
    }
}
