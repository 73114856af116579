//! Proxies for the daemon to go through: a real HTTP proxy (Debian's `tinyproxy`, which
//! `.ci/run` installs) and a small SOCKS5 server.
//!
//! [`Tinyproxy`] runs the real program on `127.0.0.1:<free port>` with a private
//! configuration (no upstream, no `Via` header, optionally Basic credentials) and its log on
//! a file; [`Tinyproxy::request_lines`] are the request lines it received, which is how tests
//! see that hinetd sent absolute-form requests and CONNECT. tinyproxy cannot listen on port
//! 0, so a free port is found by binding and closing a socket, and the start is retried on
//! another port should that one be taken meanwhile. It is killed by pid on drop.
//!
//! [`Socks5Server`] speaks enough SOCKS5 (RFC 1928: CONNECT; RFC 1929: username and
//! password) to relay the daemon's connections, and records each requested destination as
//! the client sent it (an address, or a name for the proxy to resolve).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::tempdir::TempDir;

/// How long [`Tinyproxy::start`] waits for the proxy to accept connections.
const PROXY_STARTUP: Duration = Duration::from_secs(10);

/// A running tinyproxy (killed on drop).
#[derive(Debug)]
pub struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl Tinyproxy {
    /// An open proxy.
    pub fn start() -> Tinyproxy {
        Tinyproxy::start_inner(None)
    }

    /// A proxy that answers 407 unless the request carries these Basic credentials.
    pub fn start_with_auth(user: &str, password: &str) -> Tinyproxy {
        Tinyproxy::start_inner(Some((user, password)))
    }

    fn start_inner(auth: Option<(&str, &str)>) -> Tinyproxy {
        let mut last = String::new();
        for _ in 0..5 {
            match Tinyproxy::try_start(auth) {
                Ok(p) => return p,
                Err(e) => last = e,
            }
        }
        panic!("tinyproxy did not start: {last}");
    }

    fn try_start(auth: Option<(&str, &str)>) -> Result<Tinyproxy, String> {
        let dir = TempDir::new("hinet-tinyproxy");
        let port = free_port();
        let conf = dir.path().join("tinyproxy.conf");
        let log = dir.path().join("tinyproxy.log");
        // User/Group matter only when started as root (tinyproxy then drops to them).
        let mut text = format!(
            "User nobody\nGroup nogroup\nPort {port}\nListen 127.0.0.1\nTimeout 30\n\
             MaxClients 64\nLogLevel Connect\nDisableViaHeader Yes\n"
        );
        if let Some((user, password)) = auth {
            text.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        std::fs::write(&conf, text).map_err(|e| format!("write config: {e}"))?;
        let log_file = std::fs::File::create(&log).map_err(|e| format!("create log: {e}"))?;
        let err_file = log_file
            .try_clone()
            .map_err(|e| format!("clone log: {e}"))?;
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log_file)
            .stderr(err_file)
            .spawn()
            .map_err(|e| {
                format!("cannot run tinyproxy ({e}); install it: apt-get install tinyproxy")
            })?;
        let mut proxy = Tinyproxy {
            child,
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + PROXY_STARTUP;
        loop {
            if let Ok(Some(status)) = proxy.child.try_wait() {
                return Err(format!("exited with {status}: {}", proxy.log_text()));
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(proxy);
            }
            if Instant::now() >= deadline {
                return Err(format!("no listener on port {port}: {}", proxy.log_text()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`, as a WinHTTP proxy list entry.
    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Everything tinyproxy logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The request lines tinyproxy received, e.g. `GET http://127.0.0.1:8080/x HTTP/1.1`
    /// or `CONNECT 127.0.0.1:8443 HTTP/1.1`, in order.
    pub fn request_lines(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter_map(|l| l.split_once("): ").filter(|_| l.contains("Request (")))
            .map(|(_, line)| line.trim().to_owned())
            .collect()
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        // `Child::kill` targets exactly this pid; reaping avoids a zombie.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// What a SOCKS5 client asked to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocksTarget {
    /// An address (the client resolved the name itself).
    Addr(SocketAddr),
    /// A host name for the proxy to resolve.
    Name(String, u16),
}

struct SocksState {
    credentials: Option<(String, String)>,
    targets: Mutex<Vec<SocksTarget>>,
    connections: AtomicUsize,
}

/// A small SOCKS5 relay on `127.0.0.1:<ephemeral>`; stops on drop.
pub struct Socks5Server {
    addr: SocketAddr,
    state: Arc<SocksState>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Socks5Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socks5Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Socks5Server {
    /// A relay that needs no authentication.
    pub async fn start() -> Socks5Server {
        Socks5Server::start_inner(None).await
    }

    /// A relay that requires username/password authentication.
    pub async fn start_with_auth(user: &str, password: &str) -> Socks5Server {
        Socks5Server::start_inner(Some((user.to_owned(), password.to_owned()))).await
    }

    async fn start_inner(credentials: Option<(String, String)>) -> Socks5Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let state = Arc::new(SocksState {
            credentials,
            targets: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
        });
        let accept_state = state.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            accept_state.connections.fetch_add(1, Ordering::SeqCst);
                            conns.spawn(relay(stream, accept_state.clone()));
                        }
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Socks5Server { addr, state, task }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// The destinations clients asked for, in order.
    pub fn targets(&self) -> Vec<SocksTarget> {
        self.state
            .targets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for Socks5Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One client: handshake, then bytes both ways. Any protocol fault ends the connection.
async fn relay(mut client: TcpStream, state: Arc<SocksState>) -> std::io::Result<()> {
    let mut head = [0u8; 2];
    client.read_exact(&mut head).await?;
    let mut methods = vec![0u8; usize::from(head[1])];
    client.read_exact(&mut methods).await?;
    let wanted = if state.credentials.is_some() { 2 } else { 0 };
    if head[0] != 5 || !methods.contains(&wanted) {
        client.write_all(&[5, 0xff]).await?;
        return Ok(());
    }
    client.write_all(&[5, wanted]).await?;
    if let Some((user, password)) = &state.credentials {
        let ver = client.read_u8().await?;
        let given_user = read_string(&mut client).await?;
        let given_password = read_string(&mut client).await?;
        let ok = ver == 1 && given_user == *user && given_password == *password;
        client.write_all(&[1, if ok { 0 } else { 1 }]).await?;
        if !ok {
            return Ok(());
        }
    }
    let mut req = [0u8; 4];
    client.read_exact(&mut req).await?;
    let target = match req[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            let port = client.read_u16().await?;
            SocksTarget::Addr(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port))
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            let port = client.read_u16().await?;
            SocksTarget::Addr(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port))
        }
        3 => {
            let name = read_string(&mut client).await?;
            let port = client.read_u16().await?;
            SocksTarget::Name(name, port)
        }
        _ => return Ok(()),
    };
    state
        .targets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(target.clone());
    let upstream = match &target {
        SocksTarget::Addr(a) => TcpStream::connect(a).await,
        SocksTarget::Name(n, p) => TcpStream::connect((n.as_str(), *p)).await,
    };
    let mut upstream = match upstream {
        Ok(s) => s,
        Err(_) => {
            // 5: connection refused.
            client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
            return Ok(());
        }
    };
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

async fn read_string(s: &mut TcpStream) -> std::io::Result<String> {
    let len = s.read_u8().await?;
    let mut buf = vec![0u8; usize::from(len)];
    s.read_exact(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
