//! -u USER:PASSWORD (or credentials in the URL), the WinHTTP way: WinHttpSetCredentials
//! with Basic before the first send (sent preemptively, like curl), and after a 401 that
//! offers Digest, SetCredentials with Digest and one resend.

use crate::args::RequestArgs;
use crate::exit::{Failure, Phase};
use base64::Engine as _;
use hinet_client::protocol::consts::{auth_scheme, auth_target};
use hinet_client::protocol::error::{ERROR_NOT_SUPPORTED, ERROR_WINHTTP_INVALID_OPTION, jsonrpc};
use hinet_client::{Error, Request, Target};

pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    pub fn from_args(args: &RequestArgs, target: &Target) -> Option<Credentials> {
        if let Some(u) = &args.user {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            return Some(Credentials {
                user: user.into(),
                password: password.into(),
            });
        }
        target.user.as_ref().map(|user| Credentials {
            user: user.clone(),
            password: target.password.clone().unwrap_or_default(),
        })
    }

    /// Basic credentials before the first send. `Some(token)` when the daemon has no
    /// WinHttpSetCredentials: the caller then sends `Authorization: Basic <token>` itself,
    /// which is what a Basic SetCredentials puts on the wire anyway.
    pub async fn preemptive(&self, request: &Request) -> Result<Option<String>, Failure> {
        match request
            .set_credentials(
                auth_target::SERVER,
                auth_scheme::BASIC,
                &self.user,
                &self.password,
            )
            .await
        {
            Ok(()) => Ok(None),
            Err(e) if unsupported(&e) => {
                let pair = format!("{}:{}", self.user, self.password);
                Ok(Some(base64::engine::general_purpose::STANDARD.encode(pair)))
            }
            Err(e) => Err(Failure::from_client(&e, Phase::Setup)),
        }
    }

    /// After a 401 whose challenge offers Digest: SetCredentials with Digest. True when the
    /// request should be sent again.
    pub async fn retry_with_digest(&self, request: &Request) -> Result<bool, Failure> {
        if request.status_code().await.ok() != Some(401) {
            return Ok(false);
        }
        let offered = match request.query_auth_schemes().await {
            Ok(s) => s,
            // No challenge, or no WinHttpQueryAuthSchemes: the 401 is the answer.
            Err(_) => return Ok(false),
        };
        if offered.auth_target != auth_target::SERVER
            || offered.supported_schemes & auth_scheme::DIGEST == 0
        {
            return Ok(false);
        }
        request
            .set_credentials(
                auth_target::SERVER,
                auth_scheme::DIGEST,
                &self.user,
                &self.password,
            )
            .await
            .map_err(|e| Failure::from_client(&e, Phase::Setup))?;
        Ok(true)
    }
}

/// A daemon without credential support answers "method not found" (or, for a scheme it
/// does not implement, "not supported").
fn unsupported(e: &Error) -> bool {
    matches!(e, Error::Rpc { code, .. } if *code == i64::from(jsonrpc::METHOD_NOT_FOUND))
        || matches!(
            e.code(),
            Some(ERROR_NOT_SUPPORTED | ERROR_WINHTTP_INVALID_OPTION)
        )
}
