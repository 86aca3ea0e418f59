//! The one openraft [`Config`] every iamd node runs with.

use std::sync::Arc;

use openraft::{Config, ConfigError, SnapshotPolicy};

/// Leader heartbeat interval in milliseconds.
pub const HEARTBEAT_INTERVAL_MS: u64 = 100;
/// Election timeout range in milliseconds: each follower waits a random time in it.
pub const ELECTION_TIMEOUT_MS: (u64, u64) = (300, 600);
/// Entries applied since the last snapshot that trigger a new one.
pub const SNAPSHOT_EVERY_ENTRIES: u64 = 10_000;
/// Entries already in a snapshot that stay in the log, for followers slightly behind.
pub const KEEP_SNAPSHOTTED_ENTRIES: u64 = 1_000;
/// The fewest entries purged at once, so purges are batched rather than one per write.
pub const PURGE_BATCH_ENTRIES: u64 = 256;

/// The validated openraft configuration of an iamd node, the same for a single node and for
/// every member of a cluster (heartbeats are simply unused by a lone node).
///
/// - heartbeat every [`HEARTBEAT_INTERVAL_MS`], election timeout in [`ELECTION_TIMEOUT_MS`];
/// - a snapshot every [`SNAPSHOT_EVERY_ENTRIES`] entries, keeping
///   [`KEEP_SNAPSHOTTED_ENTRIES`] snapshotted entries and purging at least
///   [`PURGE_BATCH_ENTRIES`] at a time;
/// - followers more than twice the snapshot interval behind catch up by snapshot;
/// - sending and installing a snapshot may take 10 s (the whole state in one message);
/// - a restarted leader holds an election before it leads again (no leader restore).
pub fn raft_config(cluster_name: &str) -> Result<Arc<Config>, ConfigError> {
    let (election_timeout_min, election_timeout_max) = ELECTION_TIMEOUT_MS;
    let config = Config {
        cluster_name: cluster_name.to_owned(),
        heartbeat_interval: HEARTBEAT_INTERVAL_MS,
        election_timeout_min,
        election_timeout_max,
        install_snapshot_timeout: 10_000,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(SNAPSHOT_EVERY_ENTRIES),
        replication_lag_threshold: 2 * SNAPSHOT_EVERY_ENTRIES,
        max_in_snapshot_log_to_keep: KEEP_SNAPSHOTTED_ENTRIES,
        purge_batch_size: PURGE_BATCH_ENTRIES,
        // The committed log id is not fsync'd on its own and applying waits for no fsync, so
        // a restarted leader could restore itself with a stale state machine and hand out a
        // read index below what it acknowledged (openraft's docs on this option). Without
        // restore it holds an election first: a new term's first entry is above everything
        // committed before, so a read index (and iamd's catch-up gate) covers it.
        enable_leader_restore: Some(false),
        ..Config::default()
    };
    config.validate().map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_config_is_valid_and_has_the_chosen_timings() {
        let config = raft_config("iamd-test").unwrap();
        assert_eq!(config.cluster_name, "iamd-test");
        assert_eq!(config.heartbeat_interval, 100);
        assert_eq!(
            (config.election_timeout_min, config.election_timeout_max),
            (300, 600)
        );
        assert_eq!(
            config.snapshot_policy,
            SnapshotPolicy::LogsSinceLast(10_000)
        );
        assert_eq!(config.max_in_snapshot_log_to_keep, 1_000);
        assert!(config.replication_lag_threshold > 10_000);
        assert_eq!(config.enable_leader_restore, Some(false));
    }
}
