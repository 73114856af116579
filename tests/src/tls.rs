//! Throw-away TLS certificates for the local HTTPS test servers.
//!
//! Certificates are self-signed (rcgen) and generated fresh per test, so no
//! key material is checked in and nothing expires. The PEM is also written to
//! a temp file ([`TestCert::ca_file`]) because the daemon is expected to take
//! extra trust anchors from a file; the file lives as long as the `TestCert`.
//!
//! rustls configs are always built with an explicit ring provider
//! (`builder_with_provider`), never the process-wide default, so the harness
//! cannot conflict with whatever provider another crate installs.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use crate::tempdir::TempDir;

/// A self-signed certificate + key, plus its PEM written to a file.
#[derive(Debug)]
pub struct TestCert {
    /// The certificate, PEM-encoded.
    pub cert_pem: String,
    /// The PKCS#8 private key, PEM-encoded.
    pub key_pem: String,
    /// `cert_pem` written to a file: pass it to the daemon as the trusted CA.
    pub ca_file: PathBuf,
    /// The subject alternative names the cert is valid for.
    pub names: Vec<String>,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
    _dir: TempDir,
}

impl TestCert {
    /// Valid for `localhost` (DNS SAN) and `127.0.0.1` (IP SAN).
    pub fn localhost() -> TestCert {
        TestCert::for_names(&["localhost", "127.0.0.1"])
    }

    /// Valid only for `names` (strings that parse as IP addresses become IP
    /// SANs). E.g. `for_names(&["wrong.example"])` provokes a host-name
    /// mismatch when the client connects to `localhost`/`127.0.0.1`.
    pub fn for_names(names: &[&str]) -> TestCert {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let ck = rcgen::generate_simple_self_signed(names.clone())
            .expect("rcgen: generate self-signed cert");
        let cert_pem = ck.cert.pem();
        let key_pem = ck.signing_key.serialize_pem();
        let dir = TempDir::new("hinet-cert");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, &cert_pem).expect("write ca.pem");
        TestCert {
            cert_pem,
            key_pem,
            ca_file,
            names,
            cert_der: ck.cert.der().clone(),
            key_der: ck.signing_key.serialize_der(),
            _dir: dir,
        }
    }

    /// DER encoding of the certificate.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert_der.clone()
    }

    /// A rustls crypto provider that is always ring, independent of any
    /// process-wide default.
    pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// Server config presenting this cert with ALPN `http/1.1` only.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.server_config_with_alpn(&[b"http/1.1"])
    }

    /// Server config presenting this cert, offering exactly `alpn`
    /// (e.g. `&[b"h2", b"http/1.1"]`; empty = no ALPN extension).
    pub fn server_config_with_alpn(&self, alpn: &[&[u8]]) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let mut cfg = rustls::ServerConfig::builder_with_provider(TestCert::provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)
            .expect("rustls accepts the rcgen certificate");
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(cfg)
    }

    /// A client config trusting only this cert (for harness self-tests and
    /// for tests that talk TLS to the servers directly).
    pub fn client_config_with_alpn(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(self.cert_der.clone())
            .expect("add test cert as trust anchor");
        let mut cfg = rustls::ClientConfig::builder_with_provider(TestCert::provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(cfg)
    }

    /// `ServerName` helper for client connections in tests.
    pub fn server_name(name: &str) -> ServerName<'static> {
        ServerName::try_from(name.to_owned()).expect("valid server name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_cert_builds_configs() {
        let c = TestCert::localhost();
        assert!(c.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(c.key_pem.contains("PRIVATE KEY"));
        assert_eq!(
            std::fs::read_to_string(&c.ca_file).expect("ca file"),
            c.cert_pem
        );
        let s = c.server_config();
        assert_eq!(s.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let s = c.server_config_with_alpn(&[b"h2", b"http/1.1"]);
        assert_eq!(s.alpn_protocols.len(), 2);
        let _ = c.client_config_with_alpn(&[]);
        let path = c.ca_file.clone();
        drop(c);
        assert!(!path.exists());
    }
}
