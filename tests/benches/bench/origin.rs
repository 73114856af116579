//! The servers the benchmarks talk to, all on 127.0.0.1: nginx serving static files (the
//! full run), the harness's hyper server (the smoke run), a hyper sink for uploads and a
//! hyper server that answers late (the in-flight scale test).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use hinet_tests::{HttpServer, TempDir};

/// Where the GET benchmarks fetch from.
pub struct Origin {
    pub port: u16,
    /// A 1 KiB body.
    pub small_path: String,
    /// A body of `bulk_size` bytes.
    pub bulk_path: String,
    pub bulk_size: u64,
    pub name: &'static str,
    _keep: OriginKind,
}

#[allow(dead_code)] // held for their Drop
enum OriginKind {
    Nginx(Nginx),
    Hyper(HttpServer),
}

impl Origin {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// nginx when installed and `prefer_nginx`, else the harness's hyper server.
    pub async fn start(prefer_nginx: bool, bulk_size: u64) -> Origin {
        if prefer_nginx {
            match Nginx::start(bulk_size) {
                Ok(n) => {
                    return Origin {
                        port: n.port,
                        small_path: "/1k".to_owned(),
                        bulk_path: "/bulk".to_owned(),
                        bulk_size,
                        name: "nginx",
                        _keep: OriginKind::Nginx(n),
                    };
                }
                Err(e) => eprintln!("nginx unavailable ({e}); using the hyper test server"),
            }
        }
        let s = HttpServer::start().await;
        Origin {
            port: s.port(),
            small_path: "/big?size=1024".to_owned(),
            bulk_path: format!("/big?size={bulk_size}"),
            bulk_size,
            name: "hyper test server",
            _keep: OriginKind::Hyper(s),
        }
    }
}

/// An nginx child process with its own prefix directory (config, files, logs).
pub struct Nginx {
    child: Child,
    pub port: u16,
    dir: TempDir,
}

impl Nginx {
    fn start(bulk_size: u64) -> Result<Nginx, String> {
        let bin = which("nginx").ok_or(
            "nginx is not installed (apt-get install nginx-light); using the hyper test server",
        )?;
        let dir = TempDir::new("hinet-bench-nginx");
        let root = dir.path();
        let www = root.join("www");
        std::fs::create_dir_all(&www).map_err(|e| e.to_string())?;
        std::fs::write(www.join("1k"), vec![b'k'; 1024]).map_err(|e| e.to_string())?;
        // A sparse file: nginx sends zeros from the page cache, no disk I/O to measure.
        let bulk = std::fs::File::create(www.join("bulk")).map_err(|e| e.to_string())?;
        bulk.set_len(bulk_size).map_err(|e| e.to_string())?;
        // Workers run as nobody when started as root: the prefix must be readable.
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("a+rX")
            .arg(root)
            .status();
        let port = free_port();
        let conf = format!(
            "worker_processes 1;\n\
             daemon off;\n\
             pid {root}/nginx.pid;\n\
             error_log {root}/error.log warn;\n\
             events {{ worker_connections 16384; }}\n\
             http {{\n\
               access_log off;\n\
               sendfile on;\n\
               keepalive_requests 100000000;\n\
               keepalive_timeout 300s;\n\
               client_body_temp_path {root}/tmp-body;\n\
               proxy_temp_path {root}/tmp-proxy;\n\
               fastcgi_temp_path {root}/tmp-fastcgi;\n\
               uwsgi_temp_path {root}/tmp-uwsgi;\n\
               scgi_temp_path {root}/tmp-scgi;\n\
               server {{ listen 127.0.0.1:{port}; root {www}; location / {{ }} }}\n\
             }}\n",
            root = root.display(),
            www = www.display(),
        );
        let conf_path = root.join("nginx.conf");
        std::fs::write(&conf_path, conf).map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start nginx: {e}"))?;
        let mut n = Nginx { child, port, dir };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(n);
            }
            if let Ok(Some(status)) = n.child.try_wait() {
                let log =
                    std::fs::read_to_string(root_of(&n).join("error.log")).unwrap_or_default();
                return Err(format!("nginx exited with {status}: {log}"));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err("nginx did not start listening".to_owned())
    }
}

fn root_of(n: &Nginx) -> &Path {
    n.dir.path()
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // The master (our child) stops its workers on SIGTERM; `kill` targets its pid only.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of `name` on `$PATH` (also /usr/sbin, where Debian puts nginx).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Serves `handler` on 127.0.0.1:<ephemeral> (HTTP/1.1) until the runtime ends.
async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, Infallible>(handler(req).await) }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// Reads every request body to the end and answers with its length.
pub async fn sink() -> SocketAddr {
    serve(|req: Request<Incoming>| async move {
        let mut body = req.into_body();
        let mut n = 0usize;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => n += f.data_ref().map_or(0, |d| d.len()),
                Err(_) => break,
            }
        }
        Response::new(Full::new(Bytes::from(n.to_string())))
    })
    .await
}

/// Answers `ok` after `delay`.
pub async fn slow(delay: Duration) -> SocketAddr {
    serve(move |_req: Request<Incoming>| async move {
        tokio::time::sleep(delay).await;
        Response::new(Full::new(Bytes::from_static(b"ok")))
    })
    .await
}
