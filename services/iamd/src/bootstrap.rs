//! First start: the cluster key, the default account and its root credentials.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use iam_store::{IamState, Op, Outcome, Write};
use iam_sts::{ClusterKey, secrets};

use crate::node::{Node, now_ms};

/// Why the node could not bootstrap.
#[derive(Debug)]
pub struct BootstrapError(pub String);

impl std::fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BootstrapError {}

/// Writes `contents` to a new file readable only by its owner.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// Loads the cluster key, creating a random one (owner-only file) when the file is absent.
pub fn cluster_key(path: &Path) -> Result<ClusterKey, BootstrapError> {
    if !path.exists() {
        let key = ClusterKey::generate_hex().map_err(|e| BootstrapError(e.to_string()))?;
        write_private(path, &format!("{key}\n")).map_err(|e| {
            BootstrapError(format!(
                "cannot write cluster key `{}`: {e}",
                path.display()
            ))
        })?;
        tracing::info!(path = %path.display(), "generated a cluster key");
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        BootstrapError(format!("cannot read cluster key `{}`: {e}", path.display()))
    })?;
    ClusterKey::parse(&text)
        .map_err(|e| BootstrapError(format!("cluster key `{}`: {e}", path.display())))
}

/// The file the root credentials of the bootstrap account are written to.
pub fn credentials_path(data_dir: &Path) -> PathBuf {
    data_dir.join("root-credentials")
}

async fn system_write(node: &Node, key: &str, op: Op) -> Result<Outcome, BootstrapError> {
    let write = Write {
        at: now_ms(),
        idempotency_key: Some(format!("iamd-bootstrap/{key}")),
        request_digest: None,
        op,
    };
    let (_, response) = node
        .raft
        .write(write, "bootstrap")
        .await
        .map_err(|e| BootstrapError(format!("bootstrap write failed: {e}")))?;
    node.wait_revision(response.revision)
        .await
        .map_err(|e| BootstrapError(format!("bootstrap write not applied: {}", e.message())))?;
    response
        .result
        .map_err(|e| BootstrapError(format!("bootstrap write refused: {e}")))
}

/// Makes the directory entry of `file` durable.
fn sync_dir(file: &Path) -> std::io::Result<()> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// The root key a bootstrap hands out, read back from the file it is written to first.
struct RootKey {
    access_key_id: String,
    secret: secrets::Secret,
}

/// The `aws_access_key_id` and `aws_secret_access_key` of the credentials file `bootstrap`
/// wrote (`None` when either is missing).
fn parse_root_key(text: &str) -> Option<RootKey> {
    let value = |key: &str| {
        text.lines().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
    };
    Some(RootKey {
        access_key_id: value("aws_access_key_id")?,
        secret: secrets::Secret::new(value("aws_secret_access_key")?),
    })
}

fn credentials_text(account: &str, key: &RootKey, region: &str) -> String {
    format!(
        "# iamd root credentials of account {account}: keep them secret, create IAM users for daily work\n\
         [default]\naws_access_key_id = {}\naws_secret_access_key = {}\nregion = {region}\n",
        key.access_key_id,
        key.secret.expose(),
    )
}

/// Creates the bootstrap account and a root access key when the store has no such account,
/// and writes the key to an owner-only file. Runs on the node that initialized the cluster.
///
/// The key is written first, to `root-credentials.tmp`, and the file renamed only once the
/// account and the key are in the store: a start interrupted anywhere on the way finishes
/// the same bootstrap with the same key the next time (the writes are idempotent), so the
/// account never ends up with a root key nobody holds. A `root-credentials` file left from
/// an earlier store is refused before anything is written.
pub async fn bootstrap_account(node: &Node) -> Result<Option<PathBuf>, BootstrapError> {
    let account = node.config.bootstrap_account_id.clone();
    let path = credentials_path(&node.config.data_dir);
    let pending = path.with_extension("tmp");
    let probe = account.clone();
    let exists = node
        .read(move |s: &IamState| s.account(&probe).is_some())
        .await
        .map_err(|e| BootstrapError(e.message().to_owned()))?;
    if exists && !pending.exists() {
        return Ok(None);
    }
    if !exists && path.exists() {
        return Err(BootstrapError(format!(
            "`{}` exists but the store has no account {account}: it holds the root key of an \
             earlier store; move it away and start again",
            path.display()
        )));
    }
    let key = if pending.exists() {
        let text = std::fs::read_to_string(&pending)
            .map_err(|e| BootstrapError(format!("cannot read `{}`: {e}", pending.display())))?;
        parse_root_key(&text).ok_or_else(|| {
            BootstrapError(format!(
                "`{}` (an interrupted first start) holds no access key: remove it and start again",
                pending.display()
            ))
        })?
    } else {
        let key = RootKey {
            access_key_id: secrets::new_access_key_id()
                .map_err(|e| BootstrapError(e.to_string()))?,
            secret: secrets::new_secret_access_key().map_err(|e| BootstrapError(e.to_string()))?,
        };
        // The file and its directory entry are durable before the store holds the key.
        write_private(
            &pending,
            &credentials_text(&account, &key, &node.config.region),
        )
        .and_then(|()| sync_dir(&pending))
        .map_err(|e| BootstrapError(format!("cannot write `{}`: {e}", pending.display())))?;
        key
    };
    if !exists {
        system_write(
            node,
            "account",
            Op::CreateAccount {
                account_id: account.clone(),
                name: node.config.bootstrap_account_name.clone(),
            },
        )
        .await?;
    }
    let probe = key.access_key_id.clone();
    let stored = node
        .read(move |s: &IamState| s.access_key(&probe).is_some())
        .await
        .map_err(|e| BootstrapError(e.message().to_owned()))?;
    if !stored {
        let sealed_secret = node
            .cluster_key
            .seal(&key.secret)
            .map_err(|e| BootstrapError(e.to_string()))?;
        // Keyed by the access key: a later bootstrap's key is another write.
        system_write(
            node,
            &format!("root-key/{}", key.access_key_id),
            Op::CreateAccessKey {
                account: account.clone(),
                user_name: None,
                access_key_id: key.access_key_id.clone(),
                sealed_secret,
            },
        )
        .await?;
    }
    std::fs::rename(&pending, &path)
        .and_then(|()| sync_dir(&path))
        .map_err(|e| {
            BootstrapError(format!(
                "cannot move `{}` to `{}`: {e}",
                pending.display(),
                path.display()
            ))
        })?;
    Ok(Some(path))
}
