//! One `Config`, loaded in layers: defaults, then a TOML file, then `IAMD_` environment
//! variables, then command-line flags; validated once.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;
use serde::{Deserialize, Serialize};

/// The node's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// This node's Raft id (1, 2, 3, …).
    pub node_id: u64,
    /// Take the node id from the host name instead: a name ending in `-N` (a StatefulSet's
    /// pod `iamd-0`, `iamd-1`, …) is node `N + 1`. The host name is `$HOSTNAME`, else the
    /// kernel's; a name without that ending is refused at start.
    pub node_id_from_hostname: bool,
    /// Where clients connect (gRPC: Iam, Authorization, Sts, Cluster, Audit, health,
    /// reflection).
    pub listen: SocketAddr,
    /// Where peers connect (the internal Raft service). When it names one IP (not
    /// `0.0.0.0` or `::`), outbound peer connections leave from that IP too, so that
    /// firewalls can tell nodes apart by source address.
    pub peer_listen: SocketAddr,
    /// The peer address other nodes use to reach this one; defaults to `peer_listen`.
    pub advertise_peer: Option<String>,
    /// The cluster's initial voters: node id → peer address. Empty: a single-node cluster
    /// of this node alone.
    pub initial_members: BTreeMap<u64, String>,
    /// A node outside `initial_members` asks them to add it as a learner (a StatefulSet's
    /// replicas beyond the voters) instead of waiting for `AddLearner`.
    pub join: bool,
    /// The data directory (Raft log, snapshots, root credentials of the first start).
    pub data_dir: PathBuf,
    /// The file holding the cluster key (32 bytes as hex or base64) that seals secrets at
    /// rest; created with a random key on first start when absent.
    pub cluster_key_file: Option<PathBuf>,
    /// The account created on first start, with root credentials written to a file.
    pub bootstrap_account_id: String,
    /// The bootstrap account's name.
    pub bootstrap_account_name: String,
    /// The region requests are signed for (any region is accepted; it is recorded).
    pub region: String,
    /// Largest gRPC message accepted, in bytes.
    pub max_message_bytes: usize,
    /// How long a read may wait for `min_revision` (or a call for a started node to catch
    /// up with the cluster) before answering `Unavailable`.
    pub min_revision_wait_ms: u64,
    /// After how long without contact with a leader (a follower not replicated to, a leader
    /// not acknowledged by a quorum) a node marks its answers `stale`; at least 3 election
    /// timeouts' worth is sensible, since a healthy cluster elects within one.
    pub stale_after_ms: u64,
    /// Log as JSON lines.
    pub log_json: bool,
    /// At shutdown, how long the node keeps serving after it turned `NOT_SERVING`, before
    /// it stops accepting calls: time for load balancers (a Kubernetes Service's endpoints)
    /// to stop sending it new connections.
    pub shutdown_delay_ms: u64,
    /// How often the last use of access keys is replicated, in milliseconds.
    pub key_use_flush_ms: u64,
    /// Mutual TLS on the peer port: this node's certificate (PEM). With the key and the CA,
    /// the peer port accepts only clients with a certificate signed by the CA, and this node
    /// reaches its peers only over TLS. All three or none.
    pub peer_tls_cert_file: Option<PathBuf>,
    /// This node's private key for the peer certificate (PEM).
    pub peer_tls_key_file: Option<PathBuf>,
    /// The CA that signs every node's peer certificate (PEM).
    pub peer_tls_ca_file: Option<PathBuf>,
    /// The name peer certificates are checked against; by default the host of each peer's
    /// address.
    pub peer_tls_server_name: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            node_id: 1,
            node_id_from_hostname: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 7300)),
            peer_listen: SocketAddr::from(([127, 0, 0, 1], 7301)),
            advertise_peer: None,
            initial_members: BTreeMap::new(),
            join: false,
            data_dir: PathBuf::from("./iamd-data"),
            cluster_key_file: None,
            bootstrap_account_id: "123456789012".into(),
            bootstrap_account_name: "iamd".into(),
            region: "us-east-1".into(),
            max_message_bytes: 4 * 1024 * 1024,
            min_revision_wait_ms: 2_000,
            stale_after_ms: 3_000,
            log_json: false,
            shutdown_delay_ms: 0,
            key_use_flush_ms: 30_000,
            peer_tls_cert_file: None,
            peer_tls_key_file: None,
            peer_tls_ca_file: None,
            peer_tls_server_name: None,
        }
    }
}

/// Command-line flags; each overrides the file and the environment.
#[derive(Debug, Parser)]
#[command(name = "iamd", version, about = "iamd: an IAM and STS cluster node")]
pub struct Flags {
    /// A TOML configuration file.
    #[arg(long, env = "IAMD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    pub dump_config: bool,
    #[arg(long)]
    pub node_id: Option<u64>,
    /// Take the node id from the host name: `NAME-N` is node N + 1 (a StatefulSet's pods).
    #[arg(long)]
    pub node_id_from_hostname: bool,
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    #[arg(long)]
    pub peer_listen: Option<SocketAddr>,
    #[arg(long)]
    pub advertise_peer: Option<String>,
    /// Initial voters as `ID=HOST:PORT`, repeated or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub initial_member: Vec<String>,
    /// Outside the initial voters, ask them to be added as a learner.
    #[arg(long)]
    pub join: bool,
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long)]
    pub cluster_key_file: Option<PathBuf>,
    #[arg(long)]
    pub bootstrap_account_id: Option<String>,
    #[arg(long)]
    pub log_json: bool,
    #[arg(long)]
    pub peer_tls_cert_file: Option<PathBuf>,
    #[arg(long)]
    pub peer_tls_key_file: Option<PathBuf>,
    #[arg(long)]
    pub peer_tls_ca_file: Option<PathBuf>,
    #[arg(long)]
    pub peer_tls_server_name: Option<String>,
}

/// The `IAMD_*` variables of `env` that name no configuration key, for a warning (a
/// misspelt key would otherwise be ignored in silence). `IAMD_CONFIG` (the file),
/// `IAMD_LOG` (the log filter) and iamctl's `IAMD_ENDPOINT` and `IAMD_CREDENTIALS_FILE` are
/// known.
pub fn unrecognized_env(env: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    const OTHERS: [&str; 4] = ["CONFIG", "LOG", "ENDPOINT", "CREDENTIALS_FILE"];
    env.into_iter()
        .filter(|(key, value)| {
            key.strip_prefix("IAMD_").is_some_and(|name| {
                !OTHERS.contains(&name)
                    && matches!(Config::default().set_env(name, value), Ok(false))
            })
        })
        .map(|(key, _)| key)
        .collect()
}

/// The node id of a host named `NAME-N` (or `NAME-N.domain`, a pod with
/// `setHostnameAsFQDN`): `N + 1`, so that a StatefulSet's pod `iamd-0` is node 1.
fn node_id_of_hostname(hostname: &str) -> Result<u64, ConfigError> {
    let label = hostname.split('.').next().unwrap_or(hostname);
    label
        .rsplit_once('-')
        .filter(|(name, _)| !name.is_empty())
        .and_then(|(_, ordinal)| {
            let digits = !ordinal.is_empty() && ordinal.bytes().all(|b| b.is_ascii_digit());
            digits.then(|| ordinal.parse::<u64>().ok()).flatten()
        })
        .and_then(|ordinal| ordinal.checked_add(1))
        .ok_or_else(|| {
            ConfigError(format!(
                "node_id_from_hostname: the host name `{hostname}` does not end in `-N` \
                 (a StatefulSet ordinal)"
            ))
        })
}

/// A configuration that cannot be used.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Loads the layers: defaults, the file, `IAMD_*` variables (from `env`), the flags.
    pub fn load(
        flags: &Flags,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut config = match &flags.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError(format!("cannot read config file `{}`: {e}", path.display()))
                })?;
                toml::from_str(&text).map_err(|e| {
                    ConfigError(format!("invalid config file `{}`: {e}", path.display()))
                })?
            }
            None => Config::default(),
        };
        let mut hostname = None;
        for (key, value) in env {
            if let Some(name) = key.strip_prefix("IAMD_") {
                config.set_env(name, &value)?;
            } else if key == "HOSTNAME" {
                hostname = Some(value);
            }
        }
        config.apply_flags(flags)?;
        if config.node_id_from_hostname {
            if flags.node_id.is_some() {
                return Err(ConfigError(
                    "--node-id and node_id_from_hostname exclude each other".into(),
                ));
            }
            let hostname = match hostname.filter(|name| !name.is_empty()) {
                Some(name) => name,
                None => std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .map_err(|e| ConfigError(format!("cannot read the host name: {e}")))?,
            };
            config.node_id = node_id_of_hostname(hostname.trim())?;
        }
        config.advertise_defaults()?;
        config.validate()?;
        Ok(config)
    }

    /// A peer port listening on every address (`0.0.0.0`, `::`, as in a container) is no
    /// address for peers: such a node advertises its entry in the initial member list, or
    /// the `advertise_peer` it is given, and without either it is refused.
    fn advertise_defaults(&mut self) -> Result<(), ConfigError> {
        if self.advertise_peer.is_some() || !self.peer_listen.ip().is_unspecified() {
            return Ok(());
        }
        match self.initial_members.get(&self.node_id) {
            Some(addr) => {
                self.advertise_peer = Some(addr.clone());
                Ok(())
            }
            None => Err(ConfigError(format!(
                "peer_listen `{}` listens on every address, which peers cannot reach: set \
                 advertise_peer (or list this node in initial_members)",
                self.peer_listen
            ))),
        }
    }

    /// Sets the key `IAMD_<name>` names; false when it names none (IAMD_CONFIG, read by the
    /// flag parser, IAMD_LOG, the log filter, and iamctl's IAMD_ENDPOINT are not keys).
    fn set_env(&mut self, name: &str, value: &str) -> Result<bool, ConfigError> {
        let bad =
            |what: &str| ConfigError(format!("invalid IAMD_{name} `{value}`: expected {what}"));
        match name {
            "NODE_ID" => self.node_id = value.parse().map_err(|_| bad("an integer"))?,
            "NODE_ID_FROM_HOSTNAME" => {
                self.node_id_from_hostname = value.parse().map_err(|_| bad("true or false"))?;
            }
            "LISTEN" => self.listen = value.parse().map_err(|_| bad("HOST:PORT"))?,
            "PEER_LISTEN" => self.peer_listen = value.parse().map_err(|_| bad("HOST:PORT"))?,
            "ADVERTISE_PEER" => self.advertise_peer = Some(value.to_owned()),
            "INITIAL_MEMBERS" => self.initial_members = parse_members(value.split(','))?,
            "JOIN" => self.join = value.parse().map_err(|_| bad("true or false"))?,
            "DATA_DIR" => self.data_dir = PathBuf::from(value),
            "CLUSTER_KEY_FILE" => self.cluster_key_file = Some(PathBuf::from(value)),
            "BOOTSTRAP_ACCOUNT_ID" => self.bootstrap_account_id = value.to_owned(),
            "BOOTSTRAP_ACCOUNT_NAME" => self.bootstrap_account_name = value.to_owned(),
            "MAX_MESSAGE_BYTES" => {
                self.max_message_bytes = value.parse().map_err(|_| bad("bytes"))?;
            }
            "KEY_USE_FLUSH_MS" => {
                self.key_use_flush_ms = value.parse().map_err(|_| bad("milliseconds"))?;
            }
            "SHUTDOWN_DELAY_MS" => {
                self.shutdown_delay_ms = value.parse().map_err(|_| bad("milliseconds"))?;
            }
            "REGION" => self.region = value.to_owned(),
            "MIN_REVISION_WAIT_MS" => {
                self.min_revision_wait_ms = value.parse().map_err(|_| bad("milliseconds"))?;
            }
            "PEER_TLS_CERT_FILE" => self.peer_tls_cert_file = Some(PathBuf::from(value)),
            "PEER_TLS_KEY_FILE" => self.peer_tls_key_file = Some(PathBuf::from(value)),
            "PEER_TLS_CA_FILE" => self.peer_tls_ca_file = Some(PathBuf::from(value)),
            "PEER_TLS_SERVER_NAME" => self.peer_tls_server_name = Some(value.to_owned()),
            "STALE_AFTER_MS" => {
                self.stale_after_ms = value.parse().map_err(|_| bad("milliseconds"))?;
            }
            "LOG_JSON" => self.log_json = value.parse().map_err(|_| bad("true or false"))?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn apply_flags(&mut self, f: &Flags) -> Result<(), ConfigError> {
        if let Some(v) = f.node_id {
            self.node_id = v;
        }
        self.node_id_from_hostname |= f.node_id_from_hostname;
        self.join |= f.join;
        if let Some(v) = f.listen {
            self.listen = v;
        }
        if let Some(v) = f.peer_listen {
            self.peer_listen = v;
        }
        if let Some(v) = &f.advertise_peer {
            self.advertise_peer = Some(v.clone());
        }
        if !f.initial_member.is_empty() {
            self.initial_members = parse_members(f.initial_member.iter().map(String::as_str))?;
        }
        if let Some(v) = &f.data_dir {
            self.data_dir = v.clone();
        }
        if let Some(v) = &f.cluster_key_file {
            self.cluster_key_file = Some(v.clone());
        }
        if let Some(v) = &f.bootstrap_account_id {
            self.bootstrap_account_id = v.clone();
        }
        self.log_json |= f.log_json;
        for (flag, field) in [
            (&f.peer_tls_cert_file, &mut self.peer_tls_cert_file),
            (&f.peer_tls_key_file, &mut self.peer_tls_key_file),
            (&f.peer_tls_ca_file, &mut self.peer_tls_ca_file),
        ] {
            if let Some(v) = flag {
                *field = Some(v.clone());
            }
        }
        if let Some(v) = &f.peer_tls_server_name {
            self.peer_tls_server_name = Some(v.clone());
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.node_id == 0 {
            return Err(ConfigError("node_id must be at least 1".into()));
        }
        if !self.initial_members.is_empty() && !self.initial_members.contains_key(&self.node_id) {
            // A node outside the initial voters joins later as a learner: allowed.
            tracing::info!(
                node_id = self.node_id,
                "node is not an initial member; it waits to be added"
            );
        }
        // Two members at one address would let that node's answers count twice.
        let mut seen = BTreeMap::new();
        for (id, addr) in &self.initial_members {
            if let Some(other) = seen.insert(addr.as_str(), id) {
                return Err(ConfigError(format!(
                    "initial members {other} and {id} have the same address `{addr}`"
                )));
            }
        }
        iam_store::validate::account_id("bootstrap_account_id", &self.bootstrap_account_id)
            .map_err(|e| ConfigError(e.message))?;
        if self.key_use_flush_ms < 10 {
            return Err(ConfigError("key_use_flush_ms must be at least 10".into()));
        }
        let tls = [
            &self.peer_tls_cert_file,
            &self.peer_tls_key_file,
            &self.peer_tls_ca_file,
        ];
        if tls.iter().any(|f| f.is_some()) && !tls.iter().all(|f| f.is_some()) {
            return Err(ConfigError(
                "peer TLS needs peer_tls_cert_file, peer_tls_key_file and peer_tls_ca_file together"
                    .into(),
            ));
        }
        let heartbeat = iam_store::raft::HEARTBEAT_INTERVAL_MS;
        if self.stale_after_ms < 2 * heartbeat {
            return Err(ConfigError(format!(
                "stale_after_ms must be at least {} (two heartbeats)",
                2 * heartbeat
            )));
        }
        if self.shutdown_delay_ms > 60_000 {
            return Err(ConfigError(
                "shutdown_delay_ms must be at most 60000".into(),
            ));
        }
        if self.max_message_bytes < 1024 {
            return Err(ConfigError(
                "max_message_bytes must be at least 1024".into(),
            ));
        }
        Ok(())
    }

    /// The address peers use to reach this node.
    pub fn advertised_peer(&self) -> String {
        self.advertise_peer
            .clone()
            .unwrap_or_else(|| self.peer_listen.to_string())
    }

    /// The local IP outbound peer connections leave from: the peer listen IP when it names
    /// one address, so that firewalls can tell nodes apart; none (the OS picks) when the
    /// peer port listens on every address.
    pub fn peer_source_ip(&self) -> Option<IpAddr> {
        let ip = self.peer_listen.ip();
        (!ip.is_unspecified()).then_some(ip)
    }

    /// How this node reaches and serves its peers: its source IP, and mutual TLS when
    /// certificates are configured (the files are read now).
    pub fn peer_transport(&self) -> Result<iam_raft::PeerTransport, ConfigError> {
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|e| {
                ConfigError(format!(
                    "cannot read peer TLS file `{}`: {e}",
                    path.display()
                ))
            })
        };
        let tls = match (
            &self.peer_tls_cert_file,
            &self.peer_tls_key_file,
            &self.peer_tls_ca_file,
        ) {
            (Some(cert), Some(key), Some(ca)) => {
                let tls = iam_raft::PeerTls::from_pem(
                    read(cert)?,
                    read(key)?,
                    read(ca)?,
                    self.peer_tls_server_name.clone(),
                );
                tls.check().map_err(ConfigError)?;
                Some(tls)
            }
            _ => None,
        };
        Ok(iam_raft::PeerTransport {
            source_ip: self.peer_source_ip(),
            tls,
        })
    }

    /// The initial voters, this node alone when none are configured.
    pub fn members(&self) -> BTreeMap<u64, String> {
        if self.initial_members.is_empty() {
            BTreeMap::from([(self.node_id, self.advertised_peer())])
        } else {
            self.initial_members.clone()
        }
    }

    /// The cluster key file (inside the data directory unless configured).
    pub fn cluster_key_path(&self) -> PathBuf {
        self.cluster_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("cluster.key"))
    }
}

fn parse_members<'a>(
    items: impl Iterator<Item = &'a str>,
) -> Result<BTreeMap<u64, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for item in items.map(str::trim).filter(|s| !s.is_empty()) {
        let (id, addr) = item.split_once('=').ok_or_else(|| {
            ConfigError(format!("invalid member `{item}`: expected ID=HOST:PORT"))
        })?;
        let id: u64 = id
            .parse()
            .map_err(|_| ConfigError(format!("invalid member id in `{item}`")))?;
        if out.insert(id, addr.to_owned()).is_some() {
            return Err(ConfigError(format!("member id {id} is listed twice")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        Flags::parse_from(std::iter::once("iamd").chain(args.iter().copied()))
    }

    #[test]
    fn layers_apply_in_order() {
        let env = [
            ("IAMD_NODE_ID".to_owned(), "2".to_owned()),
            ("IAMD_DATA_DIR".to_owned(), "/env".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ];
        let c = Config::load(&flags(&["--data-dir", "/flag"]), env).unwrap();
        assert_eq!(c.node_id, 2, "the environment overrides the default");
        assert_eq!(
            c.data_dir,
            PathBuf::from("/flag"),
            "flags override the environment"
        );
    }

    #[test]
    fn every_key_has_an_environment_variable() {
        let text = toml::to_string(&Config::default()).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let keys: Vec<&str> = table.keys().map(String::as_str).collect();
        let optional = [
            "advertise_peer",
            "cluster_key_file",
            "peer_tls_cert_file",
            "peer_tls_key_file",
            "peer_tls_ca_file",
            "peer_tls_server_name",
        ];
        let samples = [
            ("listen", "127.0.0.1:1"),
            ("peer_listen", "127.0.0.1:2"),
            ("initial_members", "1=a:1"),
            ("log_json", "true"),
            ("node_id_from_hostname", "true"),
            ("join", "true"),
            ("bootstrap_account_id", "210987654321"),
        ];
        for key in keys.iter().chain(&optional) {
            let value = samples
                .iter()
                .find(|(k, _)| k == key)
                .map_or("5", |(_, v)| *v);
            let mut config = Config::default();
            let known = config.set_env(&key.to_uppercase(), value);
            assert!(
                matches!(known, Ok(true)),
                "IAMD_{}: {known:?}",
                key.to_uppercase()
            );
            assert_ne!(
                config,
                Config::default(),
                "IAMD_{} changed nothing",
                key.to_uppercase()
            );
        }
        assert!(!Config::default().set_env("ENDPOINT", "x").unwrap());
        let vars = |names: &[&str]| -> Vec<(String, String)> {
            names
                .iter()
                .map(|n| ((*n).to_owned(), "1".to_owned()))
                .collect()
        };
        assert_eq!(
            unrecognized_env(vars(&[
                "IAMD_SHUTDOWN_DELAY",
                "IAMD_NODE_ID",
                "IAMD_LOG",
                "IAMD_ENDPOINT",
                "PATH",
            ])),
            ["IAMD_SHUTDOWN_DELAY"]
        );
        let env = [("IAMD_SHUTDOWN_DELAY_MS".to_owned(), "60001".to_owned())];
        assert!(Config::load(&flags(&[]), env).is_err());
    }

    #[test]
    fn a_statefulset_pod_takes_its_node_id_from_its_ordinal() {
        let env = |vars: &[(&str, &str)]| -> Vec<(String, String)> {
            vars.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let from_env = env(&[
            ("IAMD_NODE_ID_FROM_HOSTNAME", "true"),
            ("HOSTNAME", "iamd-0"),
        ]);
        assert_eq!(Config::load(&flags(&[]), from_env).unwrap().node_id, 1);
        let c = Config::load(
            &flags(&["--node-id-from-hostname"]),
            env(&[("HOSTNAME", "prod-iamd-12"), ("IAMD_NODE_ID", "9")]),
        )
        .unwrap();
        assert_eq!(
            c.node_id, 13,
            "the host name wins over the environment's id"
        );
        let e = Config::load(
            &flags(&["--node-id-from-hostname", "--node-id", "9"]),
            env(&[("HOSTNAME", "prod-iamd-12")]),
        )
        .unwrap_err();
        assert!(e.0.contains("exclude each other"), "{e}");
        let fqdn = env(&[("HOSTNAME", "iamd-2.iamd-peers.iamd.svc.cluster.local")]);
        let c = Config::load(&flags(&["--node-id-from-hostname"]), fqdn).unwrap();
        assert_eq!(c.node_id, 3, "the first label of a fully qualified name");
        // Off by default: the host name is not read.
        let c = Config::load(&flags(&[]), env(&[("HOSTNAME", "iamd-4")])).unwrap();
        assert_eq!(c.node_id, 1);
        for bad in [
            "iamd",
            "iamd-",
            "-3",
            "iamd-x1",
            "iamd-+1",
            "iamd-18446744073709551615",
        ] {
            let err = Config::load(
                &flags(&["--node-id-from-hostname"]),
                env(&[("HOSTNAME", bad)]),
            )
            .unwrap_err();
            assert!(err.0.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
    }

    #[test]
    fn a_node_listening_on_every_address_advertises_a_reachable_one() {
        let members = "1=iamd1:7301,2=iamd2:7301";
        let c = Config::load(
            &flags(&["--peer-listen", "0.0.0.0:7301", "--node-id", "2"]),
            [("IAMD_INITIAL_MEMBERS".to_owned(), members.to_owned())],
        )
        .unwrap();
        assert_eq!(
            c.advertised_peer(),
            "iamd2:7301",
            "its entry in the member list"
        );
        let c = Config::load(
            &flags(&[
                "--peer-listen",
                "[::]:7301",
                "--advertise-peer",
                "n1.example:7301",
            ]),
            [],
        )
        .unwrap();
        assert_eq!(
            c.advertised_peer(),
            "n1.example:7301",
            "the address it was given"
        );
        let e = Config::load(&flags(&["--peer-listen", "0.0.0.0:7301"]), []).unwrap_err();
        assert!(e.0.contains("set advertise_peer"), "{e}");
        // A node outside the member list (a later StatefulSet replica) must say it too.
        let e = Config::load(
            &flags(&["--peer-listen", "0.0.0.0:7301", "--node-id", "3"]),
            [("IAMD_INITIAL_MEMBERS".to_owned(), members.to_owned())],
        )
        .unwrap_err();
        assert!(e.0.contains("set advertise_peer"), "{e}");
        // A specific address is its own advertisement, as before.
        let c = Config::load(&flags(&["--peer-listen", "10.0.0.7:7301"]), []).unwrap();
        assert_eq!(c.advertised_peer(), "10.0.0.7:7301");
    }

    #[test]
    fn peer_connections_leave_from_a_specific_listen_ip_only() {
        let with = |listen: &str| Config {
            peer_listen: listen.parse().unwrap(),
            ..Config::default()
        };
        assert_eq!(
            with("10.0.0.5:7301").peer_source_ip(),
            Some("10.0.0.5".parse().unwrap())
        );
        assert_eq!(
            with("[fd00::5]:7301").peer_source_ip(),
            Some("fd00::5".parse().unwrap())
        );
        assert_eq!(with("0.0.0.0:7301").peer_source_ip(), None);
        assert_eq!(with("[::]:7301").peer_source_ip(), None);
    }

    #[test]
    fn members_and_bad_values() {
        let c = Config::load(&flags(&["--initial-member", "1=a:1,2=b:2"]), []).unwrap();
        assert_eq!(c.members().len(), 2);
        assert!(Config::load(&flags(&["--initial-member", "x"]), []).is_err());
        let env = [("IAMD_NODE_ID".to_owned(), "zero".to_owned())];
        assert!(Config::load(&flags(&[]), env).is_err());
        assert!(Config::load(&flags(&["--bootstrap-account-id", "12"]), []).is_err());
    }

    #[test]
    fn a_member_listed_twice_or_two_members_at_one_address_are_refused() {
        let e = Config::load(&flags(&["--initial-member", "1=a:1,1=b:2"]), []).unwrap_err();
        assert!(e.0.contains("member id 1 is listed twice"), "{e}");
        let e = Config::load(&flags(&["--initial-member", "1=a:1,2=b:2,3=a:1"]), []).unwrap_err();
        assert!(
            e.0.contains("initial members 1 and 3 have the same address `a:1`"),
            "{e}"
        );
    }

    #[test]
    fn peer_tls_needs_all_three_files() {
        let c = Config::load(&flags(&["--peer-tls-cert-file", "/c.pem"]), []);
        assert!(c.unwrap_err().0.contains("together"));
        let env = [
            (
                "IAMD_PEER_TLS_CERT_FILE".to_owned(),
                "/nonexistent/c.pem".to_owned(),
            ),
            (
                "IAMD_PEER_TLS_KEY_FILE".to_owned(),
                "/nonexistent/k.pem".to_owned(),
            ),
            (
                "IAMD_PEER_TLS_CA_FILE".to_owned(),
                "/nonexistent/ca.pem".to_owned(),
            ),
        ];
        let c = Config::load(&flags(&[]), env).unwrap();
        let e = c.peer_transport().unwrap_err();
        assert!(e.0.contains("/nonexistent/c.pem"), "{e}");
        assert!(Config::default().peer_transport().unwrap().tls.is_none());
    }

    #[test]
    fn the_stale_bound_is_read_and_checked() {
        let env = [("IAMD_STALE_AFTER_MS".to_owned(), "1500".to_owned())];
        assert_eq!(
            Config::load(&flags(&[]), env).unwrap().stale_after_ms,
            1_500
        );
        let env = [("IAMD_STALE_AFTER_MS".to_owned(), "50".to_owned())];
        let e = Config::load(&flags(&[]), env).unwrap_err();
        assert!(e.0.contains("stale_after_ms"), "{e}");
    }
}
