//! Reassembling an `InstallSnapshot` stream into the snapshot openraft installs.

use iam_api::internal::InstallSnapshotRequest;
use iam_store::raft::{Snapshot, SnapshotData, SnapshotMeta, Vote};

use super::ServiceError;
use crate::wire;

/// The messages of one `InstallSnapshot` stream received so far.
#[derive(Debug, Default)]
pub(crate) struct Assembly {
    meta: Option<(Vote, SnapshotMeta)>,
    data: Vec<u8>,
}

impl Assembly {
    /// Takes the next message: metadata in the first only, each chunk at the offset where
    /// the previous one ended.
    pub(crate) fn push(&mut self, message: InstallSnapshotRequest) -> Result<(), ServiceError> {
        match (&self.meta, message.meta.is_empty()) {
            (None, true) => {
                return Err(ServiceError::Snapshot(
                    "the first message carries no metadata".into(),
                ));
            }
            (None, false) => {
                self.meta = Some(
                    wire::decode(&message.meta, "snapshot metadata")
                        .map_err(ServiceError::Decode)?,
                );
            }
            (Some(_), false) => {
                return Err(ServiceError::Snapshot(format!(
                    "metadata repeated at offset {}",
                    message.offset
                )));
            }
            (Some(_), true) => {}
        }
        let expected = self.data.len() as u64;
        if message.offset != expected {
            return Err(ServiceError::Snapshot(format!(
                "chunk at offset {}, expected offset {expected}",
                message.offset
            )));
        }
        self.data.extend_from_slice(&message.chunk);
        Ok(())
    }

    /// The sender's vote and the whole snapshot, once the stream ended.
    pub(crate) fn finish(self) -> Result<(Vote, Snapshot), ServiceError> {
        let (vote, meta) = self
            .meta
            .ok_or_else(|| ServiceError::Snapshot("the stream is empty".into()))?;
        Ok((
            vote,
            Snapshot {
                meta,
                snapshot: SnapshotData::new(self.data),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> Vec<u8> {
        wire::encode(
            &(Vote::new(1, 1), SnapshotMeta::default()),
            "snapshot metadata",
        )
        .unwrap()
    }

    fn message(meta: Vec<u8>, offset: u64, chunk: &[u8]) -> InstallSnapshotRequest {
        InstallSnapshotRequest {
            meta,
            offset,
            chunk: chunk.to_vec(),
        }
    }

    #[test]
    fn contiguous_chunks_make_the_snapshot() {
        let mut assembly = Assembly::default();
        assembly.push(message(meta(), 0, b"abc")).unwrap();
        assembly.push(message(Vec::new(), 3, b"de")).unwrap();
        let (_, snapshot) = assembly.finish().unwrap();
        assert_eq!(snapshot.snapshot.into_inner(), b"abcde");
    }

    #[test]
    fn a_gap_between_chunks_is_refused() {
        let mut assembly = Assembly::default();
        assembly.push(message(meta(), 0, b"abc")).unwrap();
        let err = assembly.push(message(Vec::new(), 4, b"e")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed snapshot stream: chunk at offset 4, expected offset 3"
        );
    }

    #[test]
    fn metadata_must_come_first_and_once() {
        let mut assembly = Assembly::default();
        assert!(assembly.push(message(Vec::new(), 0, b"abc")).is_err());
        assembly.push(message(meta(), 0, b"")).unwrap();
        assert!(assembly.push(message(meta(), 0, b"")).is_err());
        assert!(Assembly::default().finish().is_err());
    }
}
