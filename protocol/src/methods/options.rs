use super::{Empty, method};
use serde::{Deserialize, Serialize};

/// `WinHttpSetTimeouts`: milliseconds; 0 or -1 mean "no limit", below -1 → 87.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetTimeoutsParams {
    pub handle: u64,
    pub resolve_timeout: i32,
    pub connect_timeout: i32,
    pub send_timeout: i32,
    pub receive_timeout: i32,
}

method!(
    /// Sets the four timeouts of a session or request.
    WinHttpSetTimeouts, "WinHttpSetTimeouts", SetTimeoutsParams, Empty
);

/// An option value: a number for DWORD, DWORD_PTR and handle options, text for string
/// options, null for options that take no buffer, and an object for the few options whose
/// WinHTTP value is a structure (each object type rejects unknown members, which is how the
/// variants tell themselves apart).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum OptionValue {
    #[default]
    Null,
    Number(u64),
    Text(String),
    /// WINHTTP_OPTION_PROXY (38).
    Proxy(ProxyInfo),
    /// HINET_OPTION_CLIENT_CERT_PEM.
    ClientCert(ClientCertPem),
    /// WINHTTP_OPTION_SERVER_CERT_CONTEXT (78), query only.
    ServerCert(ServerCertInfo),
}

/// `WINHTTP_PROXY_INFO`: `{"accessType": 3, "proxy": "host:port", "bypass": "<local>"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyInfo {
    /// `access_type::*`: 0 DEFAULT_PROXY, 1 NO_PROXY, 3 NAMED_PROXY (4 → 50).
    pub access_type: u32,
    /// The proxy list (WinHTTP syntax); required with NAMED_PROXY.
    #[serde(default)]
    pub proxy: Option<String>,
    /// The bypass list (WinHTTP syntax).
    #[serde(default)]
    pub bypass: Option<String>,
}

/// A client certificate and its private key, both PEM. The certificate text may hold the
/// chain (end entity first); the key may be PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientCertPem {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The server's end-entity certificate, in place of WinHTTP's `CERT_CONTEXT`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerCertInfo {
    /// Distinguished name, RFC 4514 style (`CN=example.com, O=Example`).
    pub subject: String,
    pub issuer: String,
    /// Validity bounds, RFC 3339 UTC (`2025-01-31T12:00:00Z`).
    pub not_before: String,
    pub not_after: String,
    /// The whole certificate, DER, base64.
    pub der: crate::Base64Bytes,
}

/// `WinHttpSetOption`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetOptionParams {
    pub handle: u64,
    pub option: u32,
    #[serde(default)]
    pub value: OptionValue,
    /// WinHTTP's `dwBufferLength` (bytes; characters for string options). Absent = the
    /// natural size of `value`. A DWORD option with a length other than 4 fails with 122.
    #[serde(default)]
    pub buffer_length: Option<u32>,
}

method!(
    /// Sets an option on a handle.
    WinHttpSetOption, "WinHttpSetOption", SetOptionParams, Empty
);

/// `WinHttpQueryOption`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryOptionParams {
    pub handle: u64,
    pub option: u32,
    /// The caller's buffer size in bytes; too small → 122 with `data.required`.
    #[serde(default)]
    pub buffer_length: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryOptionResult {
    pub value: OptionValue,
}

method!(
    /// Reads an option of a handle.
    WinHttpQueryOption, "WinHttpQueryOption", QueryOptionParams, QueryOptionResult
);
