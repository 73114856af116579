//! Routes of [`crate::HttpServer`] for authentication, cookies and compression:
//!
//! | route | response |
//! |---|---|
//! | `/digest-auth?user=U&pass=P[&algorithm=MD5\|SHA-256]` | 401 + `WWW-Authenticate: Digest` (qop=auth, a fixed nonce and opaque) unless the request's `Authorization: Digest` is correct, then 200 `authenticated`. The server computes the expected response itself (RFC 7616) and checks username, realm, nonce, opaque, uri, algorithm and qop. |
//! | `/respond?status=N&Name=value&..` | status N (default 200), body `ok`, each other query pair appended as a response header (several `Set-Cookie` allowed) |
//! | `/compressed?enc=E&size=S[&chunked=1]` | [`crate::big_body`]`(S)` (default 100000) encoded with E — `gzip`, `deflate` (zlib-wrapped), `deflate-raw` (bare deflate, labelled `deflate`), `br`, `zstd` — with that `Content-Encoding`, streamed in 1000-byte frames, with a Content-Length unless `chunked=1` |

use crate::http_server::{Body, Recorded, text};
use async_compression::tokio::bufread::{
    BrotliEncoder, DeflateEncoder, GzipEncoder, ZlibEncoder, ZstdEncoder,
};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use md5::Md5;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

/// Whether `path` is one of these routes.
pub fn handles(path: &str) -> bool {
    matches!(path, "/digest-auth" | "/respond" | "/compressed")
}

pub async fn route(path: &str, params: &[(String, String)], rec: &Recorded) -> Response<Body> {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match path {
        "/digest-auth" => digest(
            param("user").unwrap_or(""),
            param("pass").unwrap_or(""),
            param("algorithm").unwrap_or("MD5"),
            rec,
        ),
        "/respond" => {
            let status = param("status")
                .and_then(|s| s.parse::<u16>().ok())
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::OK);
            let mut resp = text(status, "ok");
            for (k, v) in params.iter().filter(|(k, _)| k != "status") {
                if let (Ok(n), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v))
                {
                    resp.headers_mut().append(n, v);
                }
            }
            resp
        }
        _ => {
            let size = param("size")
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(100_000);
            let enc = param("enc").unwrap_or("gzip");
            let Some(encoded) = compress(enc, &crate::big_body(size)).await else {
                return text(StatusCode::BAD_REQUEST, "unknown enc");
            };
            let len = encoded.len() as u64;
            let frames: Vec<_> = encoded
                .chunks(1000)
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect();
            let mut resp =
                Response::new(StreamBody::new(futures::stream::iter(frames)).boxed_unsync());
            let h = resp.headers_mut();
            let label = if enc == "deflate-raw" { "deflate" } else { enc };
            if let Ok(v) = HeaderValue::from_str(label) {
                h.insert(header::CONTENT_ENCODING, v);
            }
            if param("chunked") != Some("1") {
                h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            }
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            resp
        }
    }
}

/// `data` encoded with `enc` (see the module docs).
pub async fn compress(enc: &str, data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let r = match enc {
        "gzip" => GzipEncoder::new(data).read_to_end(&mut out).await,
        "deflate" => ZlibEncoder::new(data).read_to_end(&mut out).await,
        "deflate-raw" => DeflateEncoder::new(data).read_to_end(&mut out).await,
        "br" => BrotliEncoder::new(data).read_to_end(&mut out).await,
        "zstd" => ZstdEncoder::new(data).read_to_end(&mut out).await,
        _ => return None,
    };
    r.ok().map(|_| out)
}

const REALM: &str = "hinet-digest";
const OPAQUE: &str = "5ccc069c403ebaf9f0171e9517f40e41";

fn nonce(algorithm: &str) -> String {
    format!(
        "hinet-{}-dcd98b7102dd2f0e8b11d0f600bfb0c093",
        algorithm.to_ascii_lowercase()
    )
}

fn hash(algorithm: &str, text: &str) -> String {
    let bytes: Vec<u8> = if algorithm.eq_ignore_ascii_case("SHA-256") {
        Sha256::digest(text.as_bytes()).to_vec()
    } else {
        Md5::digest(text.as_bytes()).to_vec()
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The parameters of an `Authorization: Digest ...` value (quotes removed).
fn digest_params(value: &str) -> Option<Vec<(String, String)>> {
    let rest = value.trim().strip_prefix("Digest ")?;
    let mut out = Vec::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let after = after.trim_start();
        let (val, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (q[..end].to_owned(), &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        out.push((key.trim().to_ascii_lowercase(), val));
        s = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Some(out)
}

/// Whether the request's Digest answer is right, computed here from the password.
fn digest_ok(user: &str, pass: &str, algorithm: &str, rec: &Recorded) -> bool {
    let Some(params) = rec.header("authorization").and_then(digest_params) else {
        return false;
    };
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(username), Some(uri), Some(nc), Some(cnonce), Some(response)) = (
        get("username"),
        get("uri"),
        get("nc"),
        get("cnonce"),
        get("response"),
    ) else {
        return false;
    };
    let alg_ok = get("algorithm")
        .unwrap_or("MD5")
        .eq_ignore_ascii_case(algorithm);
    let nonce = nonce(algorithm);
    if username != user
        || get("realm") != Some(REALM)
        || get("nonce") != Some(nonce.as_str())
        || get("opaque") != Some(OPAQUE)
        || get("qop") != Some("auth")
        || uri != rec.path
        || !alg_ok
    {
        return false;
    }
    let ha1 = hash(algorithm, &format!("{user}:{REALM}:{pass}"));
    let ha2 = hash(algorithm, &format!("{}:{uri}", rec.method));
    let expected = hash(
        algorithm,
        &format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"),
    );
    response == expected
}

fn digest(user: &str, pass: &str, algorithm: &str, rec: &Recorded) -> Response<Body> {
    if digest_ok(user, pass, algorithm, rec) {
        return text(StatusCode::OK, "authenticated");
    }
    let mut resp = text(StatusCode::UNAUTHORIZED, "digest authentication required");
    let challenge = format!(
        "Digest realm=\"{REALM}\", qop=\"auth\", algorithm={algorithm}, nonce=\"{}\", opaque=\"{OPAQUE}\"",
        nonce(algorithm)
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7616_example() {
        // RFC 7616 §3.9.1, SHA-256: user Mufasa, password "Circle of Life".
        let ha1 = hash("SHA-256", "Mufasa:http-auth@example.org:Circle of Life");
        let ha2 = hash("SHA-256", "GET:/dir/index.html");
        let r = hash(
            "SHA-256",
            &format!(
                "{ha1}:7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v:00000001:f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ:auth:{ha2}"
            ),
        );
        assert_eq!(
            r,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let p = digest_params("Digest username=\"u\", nc=00000001, qop=auth, uri=\"/a?b=1,2\"")
            .expect("parses");
        assert_eq!(p[1], ("nc".to_owned(), "00000001".to_owned()));
        assert_eq!(p[3], ("uri".to_owned(), "/a?b=1,2".to_owned()));
    }
}
