//! The snapshot image: the encoded state machine with its last applied log id and membership.
//!
//! The image repeats what the snapshot metadata says, so that the data alone describes the
//! state; decoding checks that both agree.

use std::io;

use serde::{Deserialize, Serialize};

use super::codec::{from_json, to_json};
use super::type_config::{LogId, SnapshotMeta, StoredMembership};
use crate::Machine;

/// The JSON layout of snapshot data; `T` is the machine, or a reference to it when encoding.
#[derive(Serialize, Deserialize)]
struct SnapshotImage<T> {
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    machine: T,
}

/// Encodes `machine` as snapshot data for the state described by `meta`.
pub(crate) fn encode<M: Machine>(machine: &M, meta: &SnapshotMeta) -> io::Result<Vec<u8>> {
    let image = SnapshotImage {
        last_applied: meta.last_log_id,
        last_membership: meta.last_membership.clone(),
        machine,
    };
    to_json(&image, "snapshot")
}

/// Decodes snapshot data into the machine, checking it is the state `meta` describes.
pub(crate) fn decode<M: Machine>(meta: &SnapshotMeta, data: &[u8]) -> io::Result<M> {
    let image: SnapshotImage<M> = from_json(data, "snapshot")?;
    if image.last_applied != meta.last_log_id || image.last_membership != meta.last_membership {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "snapshot data at log index {:?} does not match its metadata at log index {:?}",
                image.last_applied.map(|id| id.index),
                meta.last_log_id.map(|id| id.index),
            ),
        ));
    }
    Ok(image.machine)
}
