//! TLS client configurations, one per combination of relaxed certificate checks.
//!
//! Trust roots are the Mozilla set compiled in (webpki-roots) plus the PEM files given with
//! `--ca-file`: the daemon then behaves the same in a sandbox without /etc/ssl. The crypto
//! provider (ring) is always passed explicitly, never taken from a process default.

use crate::handles::lock;
use hinet_protocol::consts::security_flag;
use hinet_protocol::status::secure_failure;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read CA file {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
    #[error("CA file {0} holds no certificate")]
    EmptyCaFile(PathBuf),
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("certificate verifier: {0}")]
    Verifier(String),
}

pub struct Tls {
    provider: Arc<CryptoProvider>,
    verifier: Arc<WebPkiServerVerifier>,
    /// Keyed by the SECURITY_FLAG_IGNORE_* bits; at most 16 entries.
    configs: Mutex<HashMap<u32, Arc<ClientConfig>>>,
}

impl Tls {
    pub fn new(ca_files: &[PathBuf]) -> Result<Self, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for path in ca_files {
            for cert in read_pem_certs(path)? {
                roots.add(cert).map_err(TlsSetupError::Rustls)?;
            }
        }
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| TlsSetupError::Verifier(e.to_string()))?;
        Ok(Tls {
            provider,
            verifier,
            configs: Mutex::new(HashMap::new()),
        })
    }

    /// The client configuration that forgives exactly the certificate problems in
    /// `security_flags` (its SECURITY_FLAG_IGNORE_* bits).
    pub fn config(&self, security_flags: u32) -> Result<Arc<ClientConfig>, rustls::Error> {
        let ignore = security_flags & security_flag::IGNORE_ALL_CERT_ERRORS;
        if let Some(c) = lock(&self.configs).get(&ignore) {
            return Ok(c.clone());
        }
        let verifier = Arc::new(FlaggedVerifier {
            inner: self.verifier.clone(),
            ignore,
        });
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        lock(&self.configs).insert(ignore, config.clone());
        Ok(config)
    }
}

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsSetupError::CaFile {
            path: path.to_owned(),
            reason: e.to_string(),
        })?
        .collect();
    let certs = certs.map_err(|e| TlsSetupError::CaFile {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    if certs.is_empty() {
        return Err(TlsSetupError::EmptyCaFile(path.to_owned()));
    }
    Ok(certs)
}

/// The standard WebPKI verifier, with WinHTTP's SECURITY_FLAG_IGNORE_* exceptions.
#[derive(Debug)]
struct FlaggedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    ignore: u32,
}

impl ServerCertVerifier for FlaggedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let err = match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let rustls::Error::InvalidCertificate(cert_err) = &err else {
            return Err(err);
        };
        if self.ignore & ignore_flag_for(cert_err) == 0 {
            return Err(err);
        }
        // An unknown issuer stops WebPKI before it checks the name, so check that now
        // unless it is forgiven too.
        if matches!(cert_err, CertificateError::UnknownIssuer)
            && self.ignore & security_flag::IGNORE_CERT_CN_INVALID == 0
        {
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The SECURITY_FLAG_IGNORE_* bit that forgives a certificate error (0: none does).
fn ignore_flag_for(e: &CertificateError) -> u32 {
    match e {
        CertificateError::UnknownIssuer => security_flag::IGNORE_UNKNOWN_CA,
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => security_flag::IGNORE_CERT_DATE_INVALID,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            security_flag::IGNORE_CERT_CN_INVALID
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            security_flag::IGNORE_CERT_WRONG_USAGE
        }
        _ => 0,
    }
}

/// The SECURE_FAILURE notification bits for a TLS error.
pub fn secure_failure_flags(e: &rustls::Error) -> u32 {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => secure_failure::INVALID_CA,
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => secure_failure::CERT_DATE_INVALID,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                secure_failure::CERT_CN_INVALID
            }
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                secure_failure::CERT_WRONG_USAGE
            }
            CertificateError::Revoked => secure_failure::CERT_REVOKED,
            _ => secure_failure::INVALID_CERT,
        },
        _ => secure_failure::SECURITY_CHANNEL_ERROR,
    }
}
