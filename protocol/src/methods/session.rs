use super::{HandleResult, method};
use serde::{Deserialize, Serialize};

/// `WinHttpOpen`: a session handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenParams {
    /// Becomes the User-Agent header; none is sent when absent.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// `access_type::*`; defaults to NO_PROXY.
    #[serde(default = "default_access_type")]
    pub access_type: u32,
    #[serde(default)]
    pub proxy_name: Option<String>,
    #[serde(default)]
    pub proxy_bypass: Option<String>,
    /// `open_flag::*`, e.g. ASYNC.
    #[serde(default)]
    pub flags: u32,
}

fn default_access_type() -> u32 {
    crate::consts::access_type::NO_PROXY
}

/// The wire defaults: in particular NO_PROXY, not 0 (DEFAULT_PROXY).
impl Default for OpenParams {
    fn default() -> Self {
        OpenParams {
            user_agent: None,
            access_type: default_access_type(),
            proxy_name: None,
            proxy_bypass: None,
            flags: 0,
        }
    }
}

method!(
    /// Opens a session.
    WinHttpOpen, "WinHttpOpen", OpenParams, HandleResult
);

/// `WinHttpConnect`: a connect handle under a session. No network I/O happens here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConnectParams {
    pub handle: u64,
    /// Host name or IP literal; required (missing → 87).
    #[serde(default)]
    pub server_name: Option<String>,
    /// 0 picks 80 or 443 from each request's SECURE flag.
    #[serde(default)]
    pub server_port: u16,
}

method!(
    /// Names the server for later requests.
    WinHttpConnect, "WinHttpConnect", ConnectParams, HandleResult
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_default_equals_the_wire_default() {
        let wire: OpenParams = serde_json::from_str("{}").expect("empty params");
        assert_eq!(OpenParams::default(), wire);
    }
}
