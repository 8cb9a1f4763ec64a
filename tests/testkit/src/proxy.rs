//! A TCP proxy a test puts between a service and its database (or any server) to take the
//! server away and give it back: [`Proxy::cut`] closes every forwarded connection and refuses
//! new ones (the listener is closed, so connecting fails at once, as with a server that is
//! down); [`Proxy::blackhole`] keeps every connection open but moves no byte and accepts new
//! connections without ever forwarding them (as with a network that drops packets);
//! [`Proxy::restore`] forwards again, on the same address. Connections held by a blackhole are
//! closed when it ends: they lost bytes and cannot be trusted.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward bytes both ways.
    Forward,
    /// Close every connection; refuse new ones.
    Cut,
    /// Hold every connection, moving no byte.
    Blackhole,
}

/// A running proxy; stops (closing every connection) when dropped.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding connections on a fresh `127.0.0.1` port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy on 127.0.0.1:0");
        let addr = listener.local_addr().expect("the proxy's address");
        let (mode, watched) = watch::channel(Mode::Forward);
        let task = tokio::spawn(accept(listener, addr, upstream, watched));
        Self { addr, mode, task }
    }

    /// Where the proxy listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every forwarded connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }

    /// Stops moving bytes on every connection (new ones are accepted and held silent) until
    /// [`Proxy::restore`].
    pub fn blackhole(&self) {
        self.mode.send_replace(Mode::Blackhole);
    }

    /// Forwards new connections again (held ones are closed).
    pub fn restore(&self) {
        self.mode.send_replace(Mode::Forward);
    }

    /// `url` (such as `postgres://user@127.0.0.1:5432/db?schema=x`) with its host and port
    /// replaced by the proxy's address.
    pub fn url(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let user = authority.rfind('@').map_or("", |at| &authority[..=at]);
        format!("{scheme}://{user}{}{path}", self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.mode.send_replace(Mode::Cut);
        self.task.abort();
    }
}

/// The address `url` (a `scheme://[user[:password]@]host[:port]/…` URL) points at, resolved;
/// `default_port` when it names none.
pub async fn upstream_of(url: &str, default_port: u16) -> SocketAddr {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    };
    tokio::net::lookup_host(&host_port)
        .await
        .unwrap_or_else(|e| panic!("resolve {host_port}: {e}"))
        .next()
        .unwrap_or_else(|| panic!("{host_port} resolves to no address"))
}

async fn accept(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
) {
    let mut listener = Some(listener);
    loop {
        let Some(open) = &listener else {
            // Cut: nothing listens until the proxy forwards again; then the same port.
            if mode.wait_for(|m| *m != Mode::Cut).await.is_err() {
                return;
            }
            listener = Some(rebind(addr).await);
            continue;
        };
        tokio::select! {
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
                if *mode.borrow_and_update() == Mode::Cut {
                    listener = None;
                }
            }
            accepted = open.accept() => {
                let Ok((client, _)) = accepted else { continue };
                let _ = client.set_nodelay(true);
                let mode = mode.clone();
                tokio::spawn(relay(client, upstream, mode));
            }
        }
    }
}

/// Binds `addr` again after a cut (retrying a little: the port may linger).
async fn rebind(addr: SocketAddr) -> TcpListener {
    let mut last = None;
    for _ in 0..100 {
        match TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the proxy cannot listen on {addr} again: {last:?}");
}

/// Forwards one connection while the mode is [`Mode::Forward`]; holds it silent through a
/// blackhole; closes it otherwise.
async fn relay(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let current = *mode.borrow_and_update();
    match current {
        Mode::Cut => return,
        Mode::Blackhole => {
            let _ = mode.wait_for(|m| *m != Mode::Blackhole).await;
            return;
        }
        Mode::Forward => {}
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
        _ = mode.wait_for(|m| *m != Mode::Forward) => {}
    }
    if *mode.borrow() == Mode::Blackhole {
        // Both sockets stay open and silent until the blackhole ends.
        let _ = mode.wait_for(|m| *m != Mode::Blackhole).await;
    }
}
