//! Connections the node can cut at once when it stops.
//!
//! A graceful shutdown waits for every open connection to end, and a client can keep one
//! open for ever: one that connects and never speaks (a TCP probe, a half-open socket), or
//! an HTTP/2 client that stops reading and never answers the server's final PING. The
//! node then never stops, and the handlers those connections hold keep the storage locked.
//! [`Closer::incoming`] wraps every accepted connection so that [`Closer::close_all`] fails
//! its reads and writes, which ends it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tonic::transport::server::{Connected, TcpConnectInfo, TcpIncoming};

/// Cuts every connection accepted through it; dropping it cuts them too.
#[derive(Debug)]
pub struct Closer {
    closed: watch::Sender<bool>,
}

impl Default for Closer {
    fn default() -> Self {
        Self::new()
    }
}

impl Closer {
    /// A closer with nothing to cut yet.
    pub fn new() -> Self {
        Closer {
            closed: watch::Sender::new(false),
        }
    }

    /// The connections accepted on `listener` (with `TCP_NODELAY`), each cut by
    /// [`Self::close_all`].
    pub fn incoming(
        &self,
        listener: TcpListener,
    ) -> impl Stream<Item = io::Result<Closable>> + Send + 'static {
        let closed = self.closed.clone();
        TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .map(move |accepted| accepted.map(|io| Closable::new(io, closed.subscribe())))
    }

    /// Cuts every connection: their next read or write fails.
    pub fn close_all(&self) {
        self.closed.send_replace(true);
    }
}

/// An accepted connection that fails once its [`Closer`] cuts it.
pub struct Closable {
    io: TcpStream,
    /// Resolves when the connection is cut (or the closer is gone).
    cut: Pin<Box<dyn Future<Output = ()> + Send>>,
    is_cut: bool,
}

impl Closable {
    fn new(io: TcpStream, mut closed: watch::Receiver<bool>) -> Self {
        Closable {
            io,
            cut: Box::pin(async move {
                let _closed_or_gone = closed.wait_for(|c| *c).await;
            }),
            is_cut: false,
        }
    }

    /// An error once the connection is cut; registers the task to wake when it is.
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if !self.is_cut && self.cut.as_mut().poll(cx).is_ready() {
            self.is_cut = true;
        }
        if self.is_cut {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection closed: the node is stopping",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for Closable {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Closable {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

impl Connected for Closable {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.io.connect_info()
    }
}

impl std::fmt::Debug for Closable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Closable")
            .field("peer", &self.io.peer_addr().ok())
            .field("is_cut", &self.is_cut)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_cut_connection_fails_even_while_waiting_to_read() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let closer = Closer::new();
        let mut incoming = Box::pin(closer.incoming(listener));
        let mut client = TcpStream::connect(addr).await.unwrap();
        let mut conn = incoming.next().await.unwrap().unwrap();

        client.write_all(b"x").await.unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(conn.read(&mut buf).await.unwrap(), 1, "open: bytes flow");
        let reading = tokio::spawn(async move {
            let mut buf = [0u8; 1];
            conn.read(&mut buf).await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        closer.close_all();
        let read = tokio::time::timeout(Duration::from_secs(5), reading)
            .await
            .expect("the pending read wakes up")
            .unwrap();
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::ConnectionAborted);
    }
}
