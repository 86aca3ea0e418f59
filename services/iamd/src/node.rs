//! The node's shared state for handlers: the Raft node, the authorization view, the cluster
//! key; and the two things every handler does: authorize the caller, and write.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use iam_policy::{Context, ContextValue, Policies, Request, evaluate};
use iam_raft::{RaftNode, ReadError};
use iam_store::view::{AuthzView, PrincipalKind, PrincipalView};
use iam_store::{IamState, Op, Outcome, Write};
use iam_sts::ClusterKey;
use tonic::Status;

use crate::auth::Caller;
use crate::config::Config;
use crate::errors;

/// How often a node still catching up with its cluster says so (and why) at `warn`.
const CATCH_UP_WARN_EVERY: Duration = Duration::from_secs(10);

/// What every handler shares.
#[derive(Debug)]
pub struct Node {
    pub config: Config,
    pub raft: RaftNode<IamState>,
    pub view: Arc<ArcSwap<AuthzView>>,
    pub cluster_key: ClusterKey,
    /// The revision of the last published view (sent by the apply hook).
    pub applied: tokio::sync::watch::Receiver<u64>,
    /// Whether this node has caught up with the cluster since it started (see
    /// [`Node::catch_up`]); until then it serves no authenticated call.
    pub caught_up: tokio::sync::watch::Receiver<bool>,
    /// [`Node::is_stale`]'s last answer.
    pub stale: StaleCache,
}

/// How long [`Node::is_stale`] reuses an answer: reading Raft's metrics takes a lock that
/// every `Authorize` on both cores would otherwise contend for, and a millisecond is
/// nothing against a staleness bound of seconds.
const STALE_REUSE: Duration = Duration::from_millis(1);

/// The last answer of [`Node::is_stale`] and when it was computed, in one word so that the
/// two are never torn apart: `(nanoseconds from start + 1) << 1 | stale`, 0 before the
/// first answer, and only ever replaced by a younger one.
#[derive(Debug)]
pub struct StaleCache {
    start: std::time::Instant,
    word: AtomicU64,
}

impl Default for StaleCache {
    fn default() -> Self {
        StaleCache {
            start: std::time::Instant::now(),
            word: AtomicU64::new(0),
        }
    }
}

impl StaleCache {
    /// The cached answer if it is younger than `reuse`, else `compute()`'s, kept.
    fn get(&self, reuse: Duration, compute: impl FnOnce() -> bool) -> bool {
        // 2^62 ns is 146 years: the shift never loses the time.
        let now = u64::try_from(self.start.elapsed().as_nanos())
            .unwrap_or(u64::MAX >> 2)
            .min(u64::MAX >> 2)
            + 1;
        let word = self.word.load(Ordering::Acquire);
        let at = word >> 1;
        let reuse = u64::try_from(reuse.as_nanos()).unwrap_or(u64::MAX);
        if word != 0 && now.saturating_sub(at) < reuse {
            return word & 1 == 1;
        }
        let stale = compute();
        // A caller that computed earlier and stores later does not overwrite a younger
        // verdict.
        self.word
            .fetch_max((now << 1) | u64::from(stale), Ordering::AcqRel);
        stale
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The context keys the node adds to every decision, as AWS does: the time, the
/// principal's own keys and tags, and its organization's; with room for `extra_keys` more,
/// the request's own.
pub fn base_context(view: &AuthzView, principal: &PrincipalView, extra_keys: usize) -> Context {
    // The principal's keys were prepared when the view was built; only the clock and the
    // organization (kept per account) are added per request.
    let mut ctx = Context::on(Arc::clone(&principal.tag_context));
    ctx.reserve(5 + extra_keys);
    if let Some(org) = view.org_keys(&principal.account) {
        ctx.insert_single("aws:PrincipalOrgID", org.id.clone());
        ctx.insert(
            "aws:PrincipalOrgPaths",
            ContextValue::Multi(vec![org.path.clone()]),
        );
    }
    let (epoch, iso) = clock_keys(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    );
    ctx.insert_single("aws:EpochTime", epoch);
    ctx.insert_single("aws:CurrentTime", iso);
    ctx.insert_single("aws:SecureTransport", "false");
    ctx
}

/// The longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 64;

/// An idempotency key is empty (none) or 1-64 characters of `[A-Za-z0-9_-]`.
fn check_idempotency_key(key: &str) -> Result<(), Status> {
    let valid = key.len() <= MAX_IDEMPOTENCY_KEY
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(errors::invalid(
            "idempotency_key",
            format!(
                "`idempotency_key` must be at most {MAX_IDEMPOTENCY_KEY} characters of \
                 letters, digits, `_` and `-`"
            ),
        ))
    }
}

/// The values of `aws:EpochTime` (seconds) and `aws:CurrentTime` (ISO 8601 in UTC, as AWS
/// sets it) at `secs` seconds after the epoch; formatted once a second per thread.
fn clock_keys(secs: u64) -> (String, String) {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u64, String, String)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some((at, epoch, iso)) if *at == secs => (epoch.clone(), iso.clone()),
        _ => {
            let epoch = secs.to_string();
            let iso = iam_policy::format_iso(i64::try_from(secs).unwrap_or(i64::MAX));
            *last = Some((secs, epoch.clone(), iso.clone()));
            (epoch, iso)
        }
    })
}

impl Node {
    /// Checks that the caller may perform `action` on `resource` in its own account, with
    /// its own policies, as AWS governs its management API. The account root may do
    /// everything in its account.
    pub fn authorize(&self, caller: &Caller, action: &str, resource: &str) -> Result<(), Status> {
        self.authorize_with(caller, action, resource, &[])
    }

    /// [`Node::authorize`] with the request's own context keys, as AWS sets them for the
    /// action (`iam:PolicyARN`, `iam:PermissionsBoundary`, `aws:RequestTag/…`,
    /// `aws:TagKeys`). A user or role acted on adds its tags as `aws:ResourceTag/…`.
    pub fn authorize_with(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        keys: &[(String, ContextValue)],
    ) -> Result<(), Status> {
        self.check(caller, action, resource, None, keys)
    }

    /// [`Node::authorize`] of `iam:AuthorizeOnBehalfOf` on `subject`, which the caller has
    /// already found (its tags are the resource's: not looked up again).
    pub fn authorize_on_behalf_of(
        &self,
        caller: &Caller,
        subject: &PrincipalView,
    ) -> Result<(), Status> {
        self.check(
            caller,
            "iam:AuthorizeOnBehalfOf",
            &subject.arn,
            Some(subject),
            &[],
        )
    }

    /// The check of [`Node::authorize_with`]; `target` is the user or role `resource` names
    /// when the caller knows it, else it is looked up.
    fn check(
        &self,
        caller: &Caller,
        action: &str,
        resource: &str,
        target: Option<&PrincipalView>,
        keys: &[(String, ContextValue)],
    ) -> Result<(), Status> {
        let p = &caller.principal;
        let view = self.view.load();
        let scps = view.scps(&p.account);
        // The account root may do everything in its account, unless an SCP says otherwise.
        if p.kind == PrincipalKind::Root && scps.is_empty() {
            return Ok(());
        }
        let target = target
            .or_else(|| view.principal_by_arn(resource).map(|t| &**t))
            .filter(|t| matches!(t.kind, PrincipalKind::User | PrincipalKind::Role));
        let target_tags = target.map_or(&[][..], |t| t.tags.as_slice());
        let mut ctx = base_context(&view, p, keys.len() + 2 * target_tags.len());
        for tag in target_tags {
            // IAM knows a user's or role's tags under both names.
            ctx.insert_single(&format!("aws:ResourceTag/{}", tag.key), tag.value.clone());
            ctx.insert_single(&format!("iam:ResourceTag/{}", tag.key), tag.value.clone());
        }
        for (key, value) in keys {
            ctx.insert(key, value.clone());
        }
        let req = Request::new(&p.arn, &p.account, &p.account, action, resource, &ctx);
        let policies = Policies {
            identity: Some(&p.identity),
            boundary: p.boundary.as_ref(),
            scps,
            ..Policies::default()
        };
        let decision = evaluate(&policies, &req);
        if decision.is_allowed() {
            Ok(())
        } else {
            Err(errors::access_denied(
                &p.arn,
                action,
                resource,
                &decision.reason.message(),
            ))
        }
    }

    /// Proposes a write (forwarded to the leader when this node is not) and returns the
    /// revision it was applied at with its outcome, or the domain error as a status.
    pub async fn write(
        &self,
        caller: &Caller,
        idempotency_key: &str,
        op: Op,
    ) -> Result<(u64, Outcome), Status> {
        check_idempotency_key(idempotency_key)?;
        // Scoped by the caller's unique id, not its ARN: a user deleted and created again
        // under the same name is another principal and shares no key with the first.
        let key = (!idempotency_key.is_empty())
            .then(|| format!("{}/{idempotency_key}", caller.principal.unique_id));
        let write = Write {
            at: now_ms(),
            request_digest: key.as_ref().map(|_| caller.request_digest()),
            idempotency_key: key,
            op,
        };
        let (_, response) = self
            .raft
            .write(write, "")
            .await
            .map_err(|e| errors::from_write(&e))?;
        // Read-your-writes on this node: wait until the write is applied here too.
        self.wait_revision(response.revision).await?;
        match response.result {
            Ok(outcome) => Ok((response.revision, outcome)),
            Err(e) => Err(errors::from_store(&e)),
        }
    }

    /// Opens this node for reads once it has caught up with the cluster: the leader
    /// confirms a read index with a quorum and this node applies everything up to it. A
    /// started node's view may be older than one it served before it stopped (the
    /// committed log id is not fsync'd on its own, so a restart may replay less than was
    /// applied); the read index covers every entry committed anywhere before, so once this
    /// returns no answer goes back in time. Retries until caught up (returns `true`) or
    /// until `stop` is set (`false`).
    pub async fn catch_up(&self, mut stop: tokio::sync::watch::Receiver<bool>) -> bool {
        let attempt = Duration::from_millis(self.config.min_revision_wait_ms);
        let began = std::time::Instant::now();
        let mut warned = began;
        loop {
            tokio::select! {
                read = self.raft.linearizable_barrier(attempt) => match read {
                    Ok(index) => {
                        tracing::info!(revision = index, "caught up with the cluster: serving");
                        return true;
                    }
                    Err(ReadError::Stopped(e)) => {
                        // Raft stopped (a storage failure): no retry will help.
                        tracing::error!(error = %e, "raft stopped before this node caught up");
                        return false;
                    }
                    Err(e) if warned.elapsed() >= CATCH_UP_WARN_EVERY => {
                        warned = std::time::Instant::now();
                        tracing::warn!(
                            error = %e,
                            waited_s = began.elapsed().as_secs(),
                            "not serving yet: waiting to catch up with a majority of the cluster"
                        );
                    }
                    Err(e) => tracing::debug!(error = %e, "not yet caught up with the cluster"),
                },
                _ = stop.wait_for(|stopped| *stopped) => return false,
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = stop.wait_for(|stopped| *stopped) => return false,
            }
        }
    }

    /// Waits (bounded by `min_revision_wait_ms`) until this node's view reflects
    /// `revision`, else `Unavailable`.
    pub async fn wait_revision(&self, revision: u64) -> Result<(), Status> {
        if self.view.load().revision >= revision {
            return Ok(());
        }
        let timeout = Duration::from_millis(self.config.min_revision_wait_ms);
        let mut applied = self.applied.clone();
        match tokio::time::timeout(timeout, applied.wait_for(|r| *r >= revision)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(errors::unavailable(
                &format!(
                    "this node has not yet applied revision {revision}; retry, or ask another node"
                ),
                None,
            )),
        }
    }

    /// How long ago this node was last in contact with a leader, and whether that is
    /// longer than `stale_after_ms` (then its answers may reflect old state). A node that
    /// never had contact since it started is stale.
    pub fn staleness(&self) -> (Option<Duration>, bool) {
        let since = self.raft.since_leader_contact();
        let bound = Duration::from_millis(self.config.stale_after_ms);
        (since, since.is_none_or(|s| s > bound))
    }

    /// [`Node::staleness`]'s verdict, as of at most a millisecond ago: what every
    /// `Authorize` answer carries.
    pub fn is_stale(&self) -> bool {
        self.stale.get(STALE_REUSE, || self.staleness().1)
    }

    /// Runs a read against the current state (serialized with applies).
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&IamState) -> T + Send + 'static,
    ) -> Result<T, Status> {
        self.raft
            .raft()
            .with_state_machine(
                move |sm: &mut iam_store::raft::StateMachineStore<IamState>| {
                    let out = f(sm.machine());
                    Box::pin(async move { out })
                },
            )
            .await
            .map_err(|e| errors::internal(&format!("state machine unavailable: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::StaleCache;

    #[test]
    fn a_staleness_verdict_is_reused_only_while_young() {
        let cache = StaleCache::default();
        let computed = Cell::new(0);
        let answer = |v: bool| {
            computed.set(computed.get() + 1);
            v
        };
        let long = Duration::from_secs(3600);
        assert!(!cache.get(long, || answer(false)));
        assert!(!cache.get(long, || answer(true)), "reused");
        assert_eq!(computed.get(), 1);
        // With no reuse at all, every call computes afresh and keeps the new verdict.
        assert!(cache.get(Duration::ZERO, || answer(true)));
        assert!(cache.get(long, || answer(false)), "the new verdict is kept");
        assert_eq!(computed.get(), 2);
        std::thread::sleep(Duration::from_millis(3));
        assert!(!cache.get(Duration::from_millis(1), || answer(false)));
        assert_eq!(computed.get(), 3);
    }

    #[test]
    fn the_clock_keys_are_epoch_seconds_and_iso_8601_as_aws_sets_them() {
        for _ in 0..2 {
            assert_eq!(
                super::clock_keys(1_795_953_600),
                ("1795953600".into(), "2026-11-29T12:00:00Z".into())
            );
        }
        assert_eq!(
            super::clock_keys(1_795_953_601),
            ("1795953601".into(), "2026-11-29T12:00:01Z".into())
        );
    }

    #[test]
    fn a_verdict_computed_earlier_never_replaces_a_younger_one() {
        let cache = StaleCache::default();
        // A slow caller starts computing; meanwhile another computes and stores `true`;
        // then the slow one finishes with `false`, measured before the other's.
        let slow = cache.get(Duration::ZERO, || {
            std::thread::sleep(Duration::from_millis(2));
            assert!(cache.get(Duration::ZERO, || true));
            false
        });
        assert!(!slow, "the slow caller gets its own answer");
        let long = Duration::from_secs(3600);
        assert!(
            cache.get(long, || panic!("the younger verdict is still fresh")),
            "the younger verdict is the one kept"
        );
    }
}
