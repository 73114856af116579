//! The one-call API: [`get`] a URL, and the URL cracking it (and `hinet`) build on.

use crate::client::Client;
use crate::error::{Error, Result};
use crate::session::Session;
use hinet_protocol::consts::request_flag;
use hinet_protocol::error::ERROR_WINHTTP_INVALID_URL;
use hinet_protocol::{CrackUrlParams, OpenParams, WinHttpCrackUrl};

/// A URL split the way the daemon splits it (`WinHttpCrackUrl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL as cracked (with `http://` added when it had no scheme).
    pub url: String,
    /// `https`.
    pub secure: bool,
    pub host: String,
    /// The port to connect to (the scheme's default when the URL has none).
    pub port: u16,
    /// Path and query, as WinHttpOpenRequest wants them; the fragment is dropped.
    pub object: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl Target {
    /// Cracks `url`; like curl, a URL without `scheme://` is taken as `http://`.
    pub async fn crack(client: &Client, url: &str) -> Result<Target> {
        let url = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let parts = client
            .call::<WinHttpCrackUrl>(&CrackUrlParams {
                url: url.clone(),
                ..Default::default()
            })
            .await?;
        let secure = parts.scheme.as_deref() == Some("https") || parts.scheme_id == 2;
        let host = parts.host_name.filter(|h| !h.is_empty()).ok_or_else(|| {
            Error::winhttp(ERROR_WINHTTP_INVALID_URL, format!("{url} has no host"))
        })?;
        let port = match parts.port {
            0 if secure => 443,
            0 => 80,
            p => p,
        };
        let mut object = parts
            .url_path
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".into());
        if let Some(extra) = parts.extra_info {
            // Fragments stay with the client; only the query goes on the wire.
            object.push_str(extra.split('#').next().unwrap_or_default());
        }
        Ok(Target {
            url,
            secure,
            host,
            port,
            object,
            user: parts.user_name.filter(|u| !u.is_empty()),
            password: parts.password,
        })
    }

    /// The WinHttpOpenRequest flags the scheme needs.
    pub fn request_flags(&self) -> u32 {
        if self.secure { request_flag::SECURE } else { 0 }
    }
}

/// A whole response, as [`get`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The status line and headers, CRLF-separated (`WINHTTP_QUERY_RAW_HEADERS_CRLF`).
    pub headers: String,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Fetches `url` through the daemon on the default socket ([`crate::socket_path`]).
///
/// ```no_run
/// # async fn demo() -> hinet_client::Result<()> {
/// let page = hinet_client::get("http://127.0.0.1:8000/").await?;
/// println!("{} {}", page.status, page.text());
/// # Ok(()) }
/// ```
pub async fn get(url: &str) -> Result<Response> {
    Client::connect_default().await?.get(url).await
}

impl Client {
    /// Fetches `url` with a GET in a session of its own; see [`get`].
    pub async fn get(&self, url: &str) -> Result<Response> {
        let target = Target::crack(self, url).await?;
        let session = Session::open(
            self,
            OpenParams {
                user_agent: Some(concat!("hinet-client/", env!("CARGO_PKG_VERSION")).into()),
                ..Default::default()
            },
        )
        .await?;
        let connection = session.connect(&target.host, target.port).await?;
        let mut request = connection
            .open_request("GET", &target.object, target.request_flags())
            .await?;
        request.send(None, &[], 0).await?;
        request.receive_response().await?;
        let status = request.status_code().await?;
        let headers = request.raw_headers().await?;
        let body = request.read_to_end().await?;
        // Closing the session closes its children in one go (their drops then send nothing).
        session.close().await?;
        drop((request, connection));
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}
