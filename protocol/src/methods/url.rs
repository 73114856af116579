use super::method;
use serde::{Deserialize, Serialize};

/// WinHTTP's `URL_COMPONENTS`, without the buffer pointers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UrlComponents {
    /// `lpszScheme`: "http" or "https".
    #[serde(default)]
    pub scheme: Option<String>,
    /// `nScheme`: `scheme::HTTP` (1) or `scheme::HTTPS` (2); 0 = take it from `scheme`.
    #[serde(default)]
    pub scheme_id: u32,
    #[serde(default)]
    pub host_name: Option<String>,
    /// `nPort`; 0 = the scheme's default.
    #[serde(default)]
    pub port: u16,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub url_path: Option<String>,
    /// The query and fragment, from `?` or `#` on.
    #[serde(default)]
    pub extra_info: Option<String>,
}

/// Caller buffer sizes in characters for CrackUrl's string components (`dwXxxLength` with a
/// buffer). A component longer than its buffer (terminator included) fails with 122.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentLengths {
    #[serde(default)]
    pub scheme: Option<u32>,
    #[serde(default)]
    pub host_name: Option<u32>,
    #[serde(default)]
    pub user_name: Option<u32>,
    #[serde(default)]
    pub password: Option<u32>,
    #[serde(default)]
    pub url_path: Option<u32>,
    #[serde(default)]
    pub extra_info: Option<u32>,
}

/// `WinHttpCrackUrl`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CrackUrlParams {
    pub url: String,
    /// `icu::DECODE`, `icu::ESCAPE`, `icu::REJECT_USERPWD`.
    #[serde(default)]
    pub flags: u32,
    #[serde(default)]
    pub component_lengths: Option<ComponentLengths>,
}

method!(
    /// Splits a URL into its components.
    WinHttpCrackUrl, "WinHttpCrackUrl", CrackUrlParams, UrlComponents
);

/// `WinHttpCreateUrl`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUrlParams {
    pub components: UrlComponents,
    /// `icu::ESCAPE`.
    #[serde(default)]
    pub flags: u32,
    /// The caller's buffer in characters; too small → 122 with `data.required`
    /// (terminator included).
    #[serde(default)]
    pub buffer_length: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUrlResult {
    pub url: String,
    /// Characters written, terminator excluded.
    pub length: u32,
}

method!(
    /// Builds a URL from components.
    WinHttpCreateUrl, "WinHttpCreateUrl", CreateUrlParams, CreateUrlResult
);
