//! `GetAccessKeyLastUsed`: authenticated calls note their key id here, and a background
//! task replicates the last use of each key at most once per interval (a Raft write per
//! call would cost more than the call).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iam_store::{Op, Write};

use crate::node::{Node, now_ms};

/// Key ids used since the last flush.
#[derive(Debug, Default)]
pub struct KeyUses {
    used: Mutex<BTreeMap<String, ()>>,
}

impl KeyUses {
    /// Notes that `access_key_id` authenticated a call.
    pub fn record(&self, access_key_id: &str) {
        if let Ok(mut used) = self.used.lock() {
            if !used.contains_key(access_key_id) {
                used.insert(access_key_id.to_owned(), ());
            }
        }
    }

    fn take(&self) -> Vec<String> {
        match self.used.lock() {
            Ok(mut used) => std::mem::take(&mut *used).into_keys().collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Writes the noted uses, one write per key (forwarded to the leader when needed).
    pub async fn flush(&self, node: &Node) {
        for access_key_id in self.take() {
            let write = Write {
                at: now_ms(),
                idempotency_key: None,
                request_digest: None,
                op: Op::RecordAccessKeyUse {
                    access_key_id,
                    service_name: "iam".into(),
                    region: node.config.region.clone(),
                },
            };
            if let Err(error) = node.raft.write(write, "key-use").await {
                tracing::debug!(%error, "cannot record access key use; retried next interval");
            }
        }
    }
}

/// Flushes every `key_use_flush_ms` until `stop` turns true.
pub async fn run(
    uses: Arc<KeyUses>,
    node: Arc<Node>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(node.config.key_use_flush_ms)) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        uses.flush(&node).await;
        if stopping {
            return;
        }
    }
}
