//! [`FaultNet`]: a userspace TCP proxy in front of every node's peer port that cuts the links
//! a test chooses, as a firewall would, without root or iptables.
//!
//! Node `i` listens and connects from its own loopback address, [`node_ip`]`(i)` =
//! `127.0.1.i`; its peers reach it through its proxy on [`proxy_ip`]`(i)` = `127.0.2.i`
//! (Linux routes all of `127.0.0.0/8` to the loopback interface: nothing to set up). The
//! proxy tells which node a connection comes from by its source IP, so it can block the
//! pair. A connection from any other address is closed at once.
//!
//! Blocking a pair cuts its open connections (both sockets are closed, so gRPC connections
//! really break) and blackholes new ones: accepted, never forwarded a byte, and closed once
//! the pair is healed, so that the node reconnects through a fresh connection.
//!
//! A link can also be cut one way ([`FaultNet::cut_one_way`]): the connections node `a`
//! opens to node `b` are cut and blackholed, while those `b` opens to `a` still carry both
//! requests and answers, as when a firewall rule or a route is wrong on one side only.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The loopback address node `id` (1-254) listens and connects from.
pub fn node_ip(id: u64) -> io::Result<Ipv4Addr> {
    Ok(Ipv4Addr::new(127, 0, 1, octet(id)?))
}

/// The loopback address of node `id`'s proxy.
pub fn proxy_ip(id: u64) -> io::Result<Ipv4Addr> {
    Ok(Ipv4Addr::new(127, 0, 2, octet(id)?))
}

fn octet(id: u64) -> io::Result<u8> {
    u8::try_from(id)
        .ok()
        .filter(|o| (1..=254).contains(o))
        .ok_or_else(|| io::Error::other(format!("node id {id} is not in 1-254")))
}

/// The node a connection comes from, by its source address.
fn node_of(source: IpAddr) -> Option<u64> {
    match source {
        IpAddr::V4(ip) => match ip.octets() {
            [127, 0, 1, id] if id != 0 => Some(u64::from(id)),
            _ => None,
        },
        IpAddr::V6(_) => None,
    }
}

/// The nodes behind proxies and the pairs that may not talk.
#[derive(Debug, Clone, Default)]
struct Faults {
    nodes: BTreeSet<u64>,
    /// Unordered pairs, smaller id first.
    blocked: BTreeSet<(u64, u64)>,
    /// Links cut one way: (the node that opens the connection, the node it reaches).
    one_way: BTreeSet<(u64, u64)>,
}

impl Faults {
    /// Whether connections that node `from` opens to node `to` are cut.
    fn blocks(&self, from: u64, to: u64) -> bool {
        self.blocked.contains(&(from.min(to), from.max(to))) || self.one_way.contains(&(from, to))
    }
}

/// The proxies of one cluster and the faults they inject. Dropping it stops every proxy and
/// closes every connection through them.
#[derive(Debug, Default)]
pub struct FaultNet {
    faults: watch::Sender<Faults>,
}

impl FaultNet {
    /// A network without nodes or faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Puts a proxy in front of node `id`, whose peer port is `target`; returns the address
    /// its peers must use. Must be called inside the Tokio runtime.
    pub async fn add_node(&self, id: u64, target: SocketAddr) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind((proxy_ip(id)?, 0)).await?;
        let addr = listener.local_addr()?;
        self.faults.send_modify(|f| {
            f.nodes.insert(id);
        });
        tokio::spawn(accept(listener, id, target, self.faults.subscribe()));
        Ok(addr)
    }

    /// Cuts every link between a node of `a` and a node of `b`.
    pub fn partition(&self, a: &[u64], b: &[u64]) {
        tracing::info!(?a, ?b, "fault proxy: partition");
        self.faults.send_modify(|f| {
            for &x in a {
                for &y in b {
                    if x != y {
                        f.blocked.insert((x.min(y), x.max(y)));
                    }
                }
            }
        });
    }

    /// Cuts every link of `node` to the other nodes.
    pub fn isolate(&self, node: u64) {
        let others: Vec<u64> = self
            .faults
            .borrow()
            .nodes
            .iter()
            .copied()
            .filter(|&n| n != node)
            .collect();
        self.partition(&[node], &others);
    }

    /// Cuts the connections node `from` opens to node `to`, and only those.
    pub fn cut_one_way(&self, from: u64, to: u64) {
        tracing::info!(from, to, "fault proxy: one-way cut");
        self.faults.send_modify(|f| {
            f.one_way.insert((from, to));
        });
    }

    /// Restores every link.
    pub fn heal(&self) {
        tracing::info!("fault proxy: heal");
        self.faults.send_modify(|f| {
            f.blocked.clear();
            f.one_way.clear();
        });
    }

    /// Whether the connections node `from` opens to node `to` are cut.
    pub fn is_blocked(&self, from: u64, to: u64) -> bool {
        self.faults.borrow().blocks(from, to)
    }
}

/// Accepts connections to node `to` until the network is dropped.
async fn accept(
    listener: TcpListener,
    to: u64,
    target: SocketAddr,
    mut faults: watch::Receiver<Faults>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, source)) => {
                    tokio::spawn(relay(socket, source, to, target, faults.clone()));
                }
                Err(error) => tracing::warn!(%error, to, "fault proxy: accept failed"),
            },
            changed = faults.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Forwards one connection to node `to` while its link is up; see the module docs.
async fn relay(
    mut inbound: TcpStream,
    source: SocketAddr,
    to: u64,
    target: SocketAddr,
    mut faults: watch::Receiver<Faults>,
) {
    let Some(from) = node_of(source.ip()) else {
        tracing::warn!(%source, to, "fault proxy: connection from no node, closed");
        return;
    };
    if faults.borrow().blocks(from, to) {
        // Blackholed until healed (or the network dropped), then closed.
        let _healed = faults.wait_for(|f| !f.blocks(from, to)).await;
        return;
    }
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        // Cut (or the network dropped): both sockets close when this returns.
        _ = faults.wait_for(|f| f.blocks(from, to)) => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// An echo server standing in for a node's peer port.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = socket.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    /// Connects from node `from`'s address.
    async fn connect_from(from: u64, to: SocketAddr) -> TcpStream {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::from((node_ip(from).unwrap(), 0)))
            .unwrap();
        socket.connect(to).await.unwrap()
    }

    /// Sends a byte and waits briefly for it to come back.
    async fn echoes(stream: &mut TcpStream) -> bool {
        if stream.write_all(b"x").await.is_err() {
            return false;
        }
        let mut buf = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await,
            Ok(Ok(1))
        )
    }

    #[tokio::test]
    async fn a_partition_cuts_open_links_blackholes_new_ones_and_heals() {
        let net = FaultNet::new();
        let proxy2 = net.add_node(2, echo().await).await.unwrap();
        net.add_node(3, echo().await).await.unwrap();
        assert_eq!(proxy2.ip(), IpAddr::V4(proxy_ip(2).unwrap()));

        let mut open = connect_from(1, proxy2).await;
        assert!(echoes(&mut open).await, "forwarded while the link is up");
        let mut from3 = connect_from(3, proxy2).await;

        net.partition(&[1], &[2, 3]);
        assert!(net.is_blocked(2, 1) && !net.is_blocked(2, 3));
        let mut buf = [0u8; 1];
        let cut = tokio::time::timeout(Duration::from_secs(2), open.read(&mut buf)).await;
        assert!(
            matches!(cut, Ok(Ok(0) | Err(_))),
            "the open connection is closed"
        );
        let mut blackholed = connect_from(1, proxy2).await;
        assert!(!echoes(&mut blackholed).await, "nothing comes back");
        assert!(echoes(&mut from3).await, "the other link stays up");

        net.heal();
        let closed = tokio::time::timeout(Duration::from_secs(2), blackholed.read(&mut buf)).await;
        assert!(
            matches!(closed, Ok(Ok(0) | Err(_))),
            "the blackholed connection is closed on healing"
        );
        let mut fresh = connect_from(1, proxy2).await;
        assert!(echoes(&mut fresh).await, "a new connection works again");
    }

    #[tokio::test]
    async fn isolating_a_node_cuts_it_from_every_other_node() {
        let net = FaultNet::new();
        for id in 1..=3 {
            net.add_node(id, echo().await).await.unwrap();
        }
        net.isolate(2);
        assert!(net.is_blocked(1, 2) && net.is_blocked(2, 3));
        assert!(!net.is_blocked(1, 3));
    }

    #[tokio::test]
    async fn a_one_way_cut_blocks_only_the_connections_opened_that_way() {
        let net = FaultNet::new();
        let proxy1 = net.add_node(1, echo().await).await.unwrap();
        let proxy2 = net.add_node(2, echo().await).await.unwrap();
        let mut one_to_two = connect_from(1, proxy2).await;
        assert!(echoes(&mut one_to_two).await);

        net.cut_one_way(1, 2);
        assert!(net.is_blocked(1, 2) && !net.is_blocked(2, 1));
        let mut buf = [0u8; 1];
        let cut = tokio::time::timeout(Duration::from_secs(2), one_to_two.read(&mut buf)).await;
        assert!(
            matches!(cut, Ok(Ok(0) | Err(_))),
            "the open connection is closed"
        );
        assert!(
            !echoes(&mut connect_from(1, proxy2).await).await,
            "blackholed"
        );
        assert!(
            echoes(&mut connect_from(2, proxy1).await).await,
            "the other way carries both directions"
        );

        net.heal();
        assert!(echoes(&mut connect_from(1, proxy2).await).await);
    }

    #[tokio::test]
    async fn a_connection_from_no_node_is_closed() {
        let net = FaultNet::new();
        let proxy = net.add_node(1, echo().await).await.unwrap();
        let mut stranger = TcpStream::connect(proxy).await.unwrap();
        let mut buf = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(2), stranger.read(&mut buf)).await;
        assert!(matches!(read, Ok(Ok(0) | Err(_))), "closed at once");
    }

    #[test]
    fn node_addresses_stay_in_their_range() {
        assert_eq!(node_ip(3).unwrap(), Ipv4Addr::new(127, 0, 1, 3));
        assert!(node_ip(0).is_err() && proxy_ip(255).is_err());
        assert_eq!(node_of(IpAddr::V4(Ipv4Addr::new(127, 0, 1, 9))), Some(9));
        assert_eq!(node_of(IpAddr::V4(Ipv4Addr::LOCALHOST)), None);
    }
}
