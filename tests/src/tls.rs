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

    /// Server config presenting this cert with exactly the TLS `versions` (e.g.
    /// `&[&rustls::version::TLS12]`) and ALPN `alpn`, asking clients for a certificate
    /// when `client_auth` is given (see [`TestCa::client_verifier`]).
    pub fn server_config_with(
        &self,
        alpn: &[&[u8]],
        versions: &[&'static rustls::SupportedProtocolVersion],
        client_auth: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
    ) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let builder = rustls::ServerConfig::builder_with_provider(TestCert::provider())
            .with_protocol_versions(versions)
            .expect("ring supports the requested TLS versions");
        let builder = match client_auth {
            Some(verifier) => builder.with_client_cert_verifier(verifier),
            None => builder.with_no_client_auth(),
        };
        let mut cfg = builder
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

/// A throw-away certificate authority issuing client certificates, for servers that
/// ask for one.
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    cert_der: CertificateDer<'static>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestCa")
    }
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).expect("rcgen: CA params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "hinet test CA");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().expect("rcgen: CA key");
        let cert = params.self_signed(&key).expect("rcgen: CA certificate");
        TestCa {
            cert_der: cert.der().clone(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A client certificate for `name` issued by this CA: (certificate PEM, PKCS#8 key PEM).
    pub fn issue_client(&self, name: &str) -> (String, String) {
        let mut params =
            rcgen::CertificateParams::new(vec![name.to_owned()]).expect("rcgen: client params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let key = rcgen::KeyPair::generate().expect("rcgen: client key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("rcgen: client certificate");
        (cert.pem(), key.serialize_pem())
    }

    /// A verifier for client certificates issued by this CA: required, or with
    /// `optional` also accepting clients that present none.
    pub fn client_verifier(
        &self,
        optional: bool,
    ) -> Arc<dyn rustls::server::danger::ClientCertVerifier> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(self.cert_der.clone())
            .expect("add the test CA as trust anchor");
        let builder = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            TestCert::provider(),
        );
        let builder = if optional {
            builder.allow_unauthenticated()
        } else {
            builder
        };
        builder.build().expect("client verifier")
    }
}

impl Default for TestCa {
    fn default() -> Self {
        TestCa::new()
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
