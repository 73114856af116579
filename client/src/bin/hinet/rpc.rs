//! `hinet call METHOD PARAMS` and `hinet status`.

use crate::exit::{Failure, Phase, REFUSED_CALL, USAGE, code_for};
use hinet_client::Client;
use serde_json::Value;

/// Prints the result as JSON; on a JSON-RPC error prints the error object and fails with
/// the exit code of its class.
pub async fn call(client: &Client, method: &str, params: &str) -> Result<(), Failure> {
    let params: Value = serde_json::from_str(params)
        .map_err(|e| Failure::new(USAGE, format!("the params are not JSON: {e}")))?;
    match client.call_json(method, params).await {
        Ok(result) => {
            println!("{}", pretty(&result));
            Ok(())
        }
        Err(e) => match e.rpc_object() {
            Some(obj) => {
                println!("{}", pretty(&obj));
                // The JSON above is the message; the exit code says which class it was.
                Err(Failure::new(code_for(&e, Phase::Setup), String::new()))
            }
            None => Err(Failure::from_client(&e, Phase::Setup)),
        },
    }
}

/// Prints the daemon's counters, one `name value` line each.
pub async fn status(client: &Client) -> Result<(), Failure> {
    // Untyped, so counters a newer daemon adds are shown too.
    let counters = client
        .call_json("HinetStatus", Value::Null)
        .await
        .map_err(|e| Failure::from_client(&e, Phase::Setup))?;
    let Some(map) = counters.as_object() else {
        return Err(Failure::new(
            REFUSED_CALL,
            format!("HinetStatus answered {counters}"),
        ));
    };
    println!("socket {}", client.socket().display());
    let width = map.keys().map(String::len).max().unwrap_or(0);
    for (name, value) in map {
        println!("{name:width$} {value}");
    }
    Ok(())
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}
