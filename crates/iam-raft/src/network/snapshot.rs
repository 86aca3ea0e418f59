//! Cutting a snapshot into the messages of an `InstallSnapshot` stream.

use futures_util::Stream;
use iam_api::internal::InstallSnapshotRequest;

use crate::limits::SNAPSHOT_CHUNK_BYTES;

/// The chunk size to send with: openraft's configured maximum, capped at
/// [`SNAPSHOT_CHUNK_BYTES`], never zero.
pub(crate) fn chunk_size(configured: Option<usize>) -> usize {
    configured
        .unwrap_or(SNAPSHOT_CHUNK_BYTES)
        .clamp(1, SNAPSHOT_CHUNK_BYTES)
}

/// The messages of one snapshot, made one at a time as the stream is polled: the first
/// carries `meta`, every one carries the next chunk of `data` at its offset. An empty
/// snapshot is one message with the metadata and no data.
pub(crate) fn messages(
    meta: Vec<u8>,
    data: Vec<u8>,
    chunk_size: usize,
) -> impl Stream<Item = InstallSnapshotRequest> + Send + 'static {
    let count = data.len().div_ceil(chunk_size).max(1);
    let mut meta = Some(meta);
    futures_util::stream::iter((0..count).map(move |n| {
        let offset = n.saturating_mul(chunk_size);
        let end = offset.saturating_add(chunk_size).min(data.len());
        InstallSnapshotRequest {
            meta: meta.take().unwrap_or_default(),
            offset: offset as u64,
            chunk: data
                .get(offset..end)
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
        }
    }))
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    async fn collect(meta: &[u8], data: &[u8], size: usize) -> Vec<InstallSnapshotRequest> {
        messages(meta.to_vec(), data.to_vec(), size).collect().await
    }

    #[tokio::test]
    async fn data_is_cut_into_contiguous_chunks_after_the_metadata() {
        let data: Vec<u8> = (0..10).collect();
        let messages = collect(b"m", &data, 4).await;
        let shape: Vec<(usize, u64, usize)> = messages
            .iter()
            .map(|m| (m.meta.len(), m.offset, m.chunk.len()))
            .collect();
        assert_eq!(shape, vec![(1, 0, 4), (0, 4, 4), (0, 8, 2)]);
        let joined: Vec<u8> = messages.into_iter().flat_map(|m| m.chunk).collect();
        assert_eq!(joined, data);
    }

    #[tokio::test]
    async fn an_empty_snapshot_is_one_message_with_the_metadata() {
        let messages = collect(b"meta", b"", 4).await;
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].meta, b"meta");
        assert!(messages[0].chunk.is_empty());
    }

    #[test]
    fn chunk_size_is_capped_and_never_zero() {
        assert_eq!(chunk_size(None), SNAPSHOT_CHUNK_BYTES);
        assert_eq!(
            chunk_size(Some(3 * SNAPSHOT_CHUNK_BYTES)),
            SNAPSHOT_CHUNK_BYTES
        );
        assert_eq!(chunk_size(Some(0)), 1);
        assert_eq!(chunk_size(Some(10)), 10);
    }
}
