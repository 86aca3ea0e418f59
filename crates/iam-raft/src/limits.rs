//! The sizes, timeouts and names the peer transport runs with.

use std::time::Duration;

/// The largest gRPC message a node sends or accepts on the peer port (64 MiB), on both the
/// client and the server. Log batches and snapshot chunks stay far below it; it only bounds
/// what a confused or hostile peer can make a node buffer.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The largest snapshot chunk sent in one `InstallSnapshot` message (1 MiB), or less when
/// openraft's `snapshot_max_chunk_size` is smaller.
pub const SNAPSHOT_CHUNK_BYTES: usize = 1024 * 1024;

/// How long a node waits for a TCP connection to a peer before reporting it unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long a leader waits for a write it proposed to be committed and applied before
/// answering that it is unavailable. A leader cut off from its quorum commits nothing and
/// may not notice for as long as the partition lasts: without this bound, it would hold the
/// write (and its caller) until the partition heals.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a follower waits for the leader to answer a forwarded write (proposed, committed
/// and applied on the leader).
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// The gRPC metadata key that carries the address of the leader, when a request must go
/// elsewhere (absent when no leader is known).
pub const LEADER_METADATA: &str = "x-iam-leader";

/// The openraft cluster name every iamd node runs with.
pub const CLUSTER_NAME: &str = "iamd";
