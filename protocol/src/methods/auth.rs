use super::{Empty, method};
use serde::{Deserialize, Serialize};

/// `WinHttpQueryAuthSchemes`: the authentication schemes the last response offers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryAuthSchemesParams {
    pub handle: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryAuthSchemesResult {
    /// Every recognised scheme offered, ORed (`auth_scheme::*`).
    pub supported_schemes: u32,
    /// The first recognised scheme, in the server's order.
    pub first_scheme: u32,
    /// `auth_target::SERVER` (from WWW-Authenticate) or `auth_target::PROXY`
    /// (from Proxy-Authenticate).
    pub auth_target: u32,
}

method!(
    /// Reports the authentication schemes offered by the response.
    WinHttpQueryAuthSchemes,
    "WinHttpQueryAuthSchemes",
    QueryAuthSchemesParams,
    QueryAuthSchemesResult
);

/// `WinHttpSetCredentials`: credentials for the next sends of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetCredentialsParams {
    pub handle: u64,
    /// `auth_target::SERVER` (0) or `auth_target::PROXY` (1).
    pub auth_targets: u32,
    /// Exactly one `auth_scheme::*` bit.
    pub auth_scheme: u32,
    /// Required for Basic and Digest.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Required for Basic and Digest.
    #[serde(default)]
    pub password: Option<String>,
}

method!(
    /// Sets the credentials a request answers challenges with.
    WinHttpSetCredentials, "WinHttpSetCredentials", SetCredentialsParams, Empty
);
