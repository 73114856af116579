//! TLS client configurations and handshakes.
//!
//! Trust roots are the Mozilla set compiled in (webpki-roots) plus the PEM files given with
//! `--ca-file`: the daemon then behaves the same in a sandbox without /etc/ssl. The crypto
//! provider (ring) is always passed explicitly, never taken from a process default.
//!
//! One configuration is built per distinct [`TlsSettings`] (relaxed certificate checks,
//! protocol versions, ALPN, client identity), so its session-resumption store is never
//! shared across settings: a session resumed under another client certificate would carry
//! that certificate's identity.

use crate::error::{ApiError, ApiResult};
use crate::handles::lock;
use hinet_protocol::consts::{secure_protocol, security_flag};
use hinet_protocol::status::secure_failure;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ResolvesClientCert, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
    SupportedProtocolVersion,
};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncWrite};

/// Configurations kept at most; past this the cache starts over (settings are few in
/// practice: one per combination a client actually uses).
const MAX_CONFIGS: usize = 64;

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

/// Everything that makes one TLS connection differ from another; part of the pool key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    /// SECURITY_FLAG_IGNORE_* bits.
    pub ignore_flags: u32,
    pub versions: TlsVersions,
    /// Offer `h2` by ALPN (WINHTTP_PROTOCOL_FLAG_HTTP2).
    pub http2: bool,
    pub client_cert: ClientCert,
}

/// The TLS versions a session allows (WINHTTP_OPTION_SECURE_PROTOCOLS, mapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsVersions {
    pub tls12: bool,
    pub tls13: bool,
}

impl Default for TlsVersions {
    fn default() -> Self {
        TlsVersions {
            tls12: true,
            tls13: true,
        }
    }
}

impl TlsVersions {
    /// WinHTTP's default: TLS 1.2 and 1.3 (the versions hinetd has).
    pub const DEFAULT_BITS: u32 = secure_protocol::TLS1_2 | secure_protocol::TLS1_3;

    /// The versions in WINHTTP_FLAG_SECURE_PROTOCOL_* `bits` that hinetd can speak. SSL 2/3
    /// and TLS 1.0/1.1 are not available; a value naming only those, or unknown bits, fails.
    pub fn from_bits(bits: u32) -> Result<TlsVersions, String> {
        use secure_protocol::*;
        let known = SSL2 | SSL3 | TLS1 | TLS1_1 | TLS1_2 | TLS1_3;
        if bits & !known != 0 {
            return Err(format!(
                "unknown SECURE_PROTOCOLS bits {:#x}",
                bits & !known
            ));
        }
        let v = TlsVersions {
            tls12: bits & TLS1_2 != 0,
            tls13: bits & TLS1_3 != 0,
        };
        if !v.tls12 && !v.tls13 {
            return Err(format!(
                "SECURE_PROTOCOLS {bits:#x} names no protocol hinetd supports: SSL 2/3 and TLS \
                 1.0/1.1 are not available; use TLS1_2 (0x800) and/or TLS1_3 (0x2000)"
            ));
        }
        Ok(v)
    }

    fn rustls(self) -> Vec<&'static SupportedProtocolVersion> {
        let mut v = Vec::new();
        if self.tls13 {
            v.push(&rustls::version::TLS13);
        }
        if self.tls12 {
            v.push(&rustls::version::TLS12);
        }
        v
    }
}

/// The client certificate choice of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum ClientCert {
    /// None chosen: a server asking for one fails the request with 12044.
    #[default]
    Unset,
    /// Explicitly none (WinHTTP's WINHTTP_NO_CLIENT_CERT_CONTEXT): the handshake goes on
    /// without a certificate, and the server decides.
    Declined,
    Present(Arc<ClientIdentity>),
}

/// A certificate chain with its private key, checked to belong together.
pub struct ClientIdentity {
    key: Arc<CertifiedKey>,
    /// The certificate chain and key in DER: the identity's equality, for the pool key.
    chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
}

impl PartialEq for ClientIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.chain == other.chain && self.key_der == other.key_der
    }
}

impl Eq for ClientIdentity {}

impl Hash for ClientIdentity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.chain.hash(state);
        self.key_der.hash(state);
    }
}

impl std::fmt::Debug for ClientIdentity {
    // The key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientIdentity({} certificates)", self.chain.len())
    }
}

/// What a finished handshake tells the connection.
pub struct Handshake<S> {
    pub stream: tokio_rustls::client::TlsStream<S>,
    /// The server chose `h2` by ALPN.
    pub http2: bool,
    /// The server's end-entity certificate.
    pub server_cert: Option<CertificateDer<'static>>,
}

pub struct Tls {
    provider: Arc<CryptoProvider>,
    verifier: Arc<WebPkiServerVerifier>,
    configs: Mutex<HashMap<TlsSettings, Arc<ClientConfig>>>,
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

    /// A client identity from PEM: the certificate (chain, end entity first) and its key.
    pub fn client_identity(&self, cert_pem: &str, key_pem: &str) -> Result<ClientIdentity, String> {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| format!("client certificate PEM: {e}"))?;
        if chain.is_empty() {
            return Err("the client certificate PEM holds no CERTIFICATE block".into());
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| format!("client key PEM: {e}"))?;
        let key_der = key.secret_der().to_vec();
        let certified = CertifiedKey::from_der(chain.clone(), key, &self.provider)
            .map_err(|e| format!("client certificate and key: {e}"))?;
        Ok(ClientIdentity {
            key: Arc::new(certified),
            chain,
            key_der,
        })
    }

    /// The shared configuration for `settings` (its client identity is supplied per
    /// connection by [`Tls::handshake`]).
    fn config(&self, settings: &TlsSettings) -> Result<Arc<ClientConfig>, rustls::Error> {
        if let Some(c) = lock(&self.configs).get(settings) {
            return Ok(c.clone());
        }
        let ignore = settings.ignore_flags & security_flag::IGNORE_ALL_CERT_ERRORS;
        let verifier = Arc::new(FlaggedVerifier {
            inner: self.verifier.clone(),
            ignore,
        });
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&settings.versions.rustls())?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        config.alpn_protocols = if settings.http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        let config = Arc::new(config);
        let mut configs = lock(&self.configs);
        if configs.len() >= MAX_CONFIGS {
            configs.clear();
        }
        configs.insert(settings.clone(), config.clone());
        Ok(config)
    }

    /// Runs the TLS handshake with `host` over `io`. A server that asks for a client
    /// certificate when none was chosen fails with 12044 (ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED).
    pub async fn handshake<S>(
        &self,
        io: S,
        host: &str,
        settings: &TlsSettings,
        peer: &str,
    ) -> ApiResult<Handshake<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let base = self
            .config(settings)
            .map_err(|e| ApiError::Internal(format!("TLS configuration: {e}")))?;
        let name = ServerName::try_from(host.to_owned()).map_err(|_| {
            ApiError::InvalidUrl(format!("{host:?} is not a valid TLS server name"))
        })?;
        // The resolver is per connection: it records whether this server asked.
        let resolver = Arc::new(RecordingResolver {
            identity: match &settings.client_cert {
                ClientCert::Present(id) => Some(id.key.clone()),
                ClientCert::Unset | ClientCert::Declined => None,
            },
            asked: AtomicBool::new(false),
        });
        let mut config = (*base).clone();
        config.client_auth_cert_resolver = resolver.clone();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let result = connector.connect(name, io).await;
        let cert_needed =
            resolver.asked.load(Ordering::Relaxed) && settings.client_cert == ClientCert::Unset;
        if cert_needed {
            return Err(ApiError::ClientAuthCertNeeded {
                peer: peer.to_owned(),
            });
        }
        let stream = result.map_err(|e| super::map_io_error(peer, &e))?;
        let (_, conn) = stream.get_ref();
        let http2 = conn.alpn_protocol() == Some(b"h2");
        let server_cert = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.clone().into_owned());
        Ok(Handshake {
            stream,
            http2,
            server_cert,
        })
    }
}

/// Supplies the chosen client identity, if any, and notes that the server asked for one.
#[derive(Debug)]
struct RecordingResolver {
    identity: Option<Arc<CertifiedKey>>,
    asked: AtomicBool,
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.identity.clone()
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}

fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
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
