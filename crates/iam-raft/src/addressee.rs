//! Every peer call names the node it is meant for, and a node answers only calls meant for
//! itself.
//!
//! Raft trusts the member list: an address that leads to the wrong node (a port reused by
//! another node, a stale DNS record, two members given one address) would make a leader
//! count another node's answers, or its own, as the acknowledgement of the member it meant,
//! and so commit a write that no majority holds. So the client side adds
//! [`TO_NODE_METADATA`] with the target's node id to every call ([`AddressedTo`]), and the
//! peer service refuses, with `FAILED_PRECONDITION`, a call for another node or with an
//! unreadable id ([`OnlyFor`]). The sender sees the refusal as an unreachable peer and backs
//! off. A call without the metadata is let through: nodes of earlier versions do not send
//! it, and refusing them would stall a rolling upgrade (an upgraded follower could never
//! catch up from an old leader).

use iam_store::raft::NodeId;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The metadata key naming the node id a peer call is meant for.
pub const TO_NODE_METADATA: &str = "x-iam-to-node";

/// The start of the message of a refused misaddressed call, which
/// [`is_misaddressed`] recognizes.
const REFUSAL: &str = "misaddressed peer call";

/// Client side: names `0` (the target node id) on every call.
#[derive(Debug, Clone, Copy)]
pub struct AddressedTo(pub NodeId);

impl Interceptor for AddressedTo {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert(TO_NODE_METADATA, MetadataValue::from(self.0));
        Ok(request)
    }
}

/// Server side: refuses the calls meant for another node than `0`, and lets through those
/// that name no node (from nodes of earlier versions).
#[derive(Debug, Clone, Copy)]
pub struct OnlyFor(pub(crate) NodeId);

impl Interceptor for OnlyFor {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(named) = request.metadata().get(TO_NODE_METADATA) else {
            return Ok(request);
        };
        match named.to_str().ok().and_then(|v| v.parse::<NodeId>().ok()) {
            Some(id) if id == self.0 => Ok(request),
            Some(id) => Err(Status::failed_precondition(format!(
                "{REFUSAL}: meant for node {id}, but this is node {}; the member list gives \
                 node {id} an address that leads here",
                self.0
            ))),
            None => Err(Status::failed_precondition(format!(
                "{REFUSAL}: `{TO_NODE_METADATA}` (the node id the call is meant for) is not \
                 a node id; this is node {}",
                self.0
            ))),
        }
    }
}

/// Whether `status` is a node's refusal of a call meant for another node.
pub(crate) fn is_misaddressed(status: &Status) -> bool {
    status.code() == tonic::Code::FailedPrecondition && status.message().starts_with(REFUSAL)
}

/// Node 3's refusal of a call meant for node 2, for tests of how callers take it.
#[cfg(test)]
pub(crate) fn misaddressed_refusal() -> Status {
    let sent = AddressedTo(2)
        .call(Request::new(()))
        .unwrap_or_else(|status| panic!("{status:?}"));
    match OnlyFor(3).call(sent) {
        Ok(_) => panic!("node 3 let a call for node 2 through"),
        Err(refusal) => refusal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent_to(target: NodeId) -> Request<()> {
        AddressedTo(target).call(Request::new(())).unwrap()
    }

    #[test]
    fn a_call_meant_for_this_node_passes() {
        assert!(OnlyFor(3).call(sent_to(3)).is_ok());
    }

    #[test]
    fn a_call_meant_for_another_node_is_refused_naming_both() {
        let refused = misaddressed_refusal();
        assert!(is_misaddressed(&refused), "{refused:?}");
        assert!(
            refused
                .message()
                .contains("meant for node 2, but this is node 3"),
            "{refused:?}"
        );
    }

    #[test]
    fn a_call_that_names_no_node_passes_and_one_with_a_garbled_id_is_refused() {
        // Nodes of earlier versions send no id: a rolling upgrade must go on.
        assert!(OnlyFor(3).call(Request::new(())).is_ok());
        let mut garbled = Request::new(());
        garbled
            .metadata_mut()
            .insert(TO_NODE_METADATA, MetadataValue::from_static("three"));
        assert!(is_misaddressed(&OnlyFor(3).call(garbled).unwrap_err()));
    }

    #[test]
    fn other_refusals_are_not_taken_for_misaddressing() {
        assert!(!is_misaddressed(&Status::failed_precondition(
            "log conflict"
        )));
        assert!(!is_misaddressed(&Status::unavailable(REFUSAL)));
    }
}
