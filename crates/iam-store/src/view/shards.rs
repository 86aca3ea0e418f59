//! A copy-on-write map split into shards: cloning is 64 `Arc` clones, and an update copies
//! only the shard it touches.

use std::hash::BuildHasher;
use std::sync::Arc;

use rustc_hash::{FxBuildHasher, FxHashMap};

const SHARDS: usize = 64;

/// A string-keyed copy-on-write map of `Arc<T>`.
#[derive(Debug)]
pub struct Shards<T> {
    shards: Vec<Arc<FxHashMap<String, Arc<T>>>>,
}

impl<T> Clone for Shards<T> {
    fn clone(&self) -> Self {
        Shards {
            shards: self.shards.clone(),
        }
    }
}

impl<T> Default for Shards<T> {
    fn default() -> Self {
        Shards {
            shards: (0..SHARDS)
                .map(|_| Arc::new(FxHashMap::default()))
                .collect(),
        }
    }
}

fn shard_of(key: &str) -> usize {
    (FxBuildHasher.hash_one(key) as usize) % SHARDS
}

impl<T> Shards<T> {
    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&Arc<T>> {
        self.shards.get(shard_of(key))?.get(key)
    }

    /// Sets a key (copies its shard if another view still shares it).
    pub fn insert(&mut self, key: String, value: Arc<T>) {
        if let Some(shard) = self.shards.get_mut(shard_of(&key)) {
            Arc::make_mut(shard).insert(key, value);
        }
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) {
        if let Some(shard) = self.shards.get_mut(shard_of(key)) {
            if shard.contains_key(key) {
                Arc::make_mut(shard).remove(key);
            }
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_do_not_show_through_older_copies() {
        let mut a: Shards<u32> = Shards::default();
        a.insert("x".into(), Arc::new(1));
        let b = a.clone();
        a.insert("x".into(), Arc::new(2));
        a.remove("missing");
        assert_eq!(b.get("x").map(|v| **v), Some(1));
        assert_eq!(a.get("x").map(|v| **v), Some(2));
        assert_eq!(a.len(), 1);
    }
}
