//! `rpc.discover`: the OpenRPC document matches what the daemon serves, from outside.

use hinet_tests::{Daemon, RpcConn};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const HINETD: &str = env!("CARGO_BIN_EXE_hinetd");

async fn discover(c: &RpcConn) -> Value {
    c.call("rpc.discover", Value::Null)
        .await
        .expect("rpc.discover answers")
}

fn names(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            m["name"]
                .as_str()
                .expect("every entry has a name")
                .to_owned()
        })
        .collect()
}

/// Every `$ref` inside the document resolves inside it.
fn check_refs(doc: &Value, v: &Value) {
    match v {
        Value::Object(o) => {
            if let Some(r) = o.get("$ref") {
                let r = r.as_str().expect("$ref is a string");
                let pointer = r
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("external $ref {r}"));
                assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
            }
            o.values().for_each(|v| check_refs(doc, v));
        }
        Value::Array(a) => a.iter().for_each(|v| check_refs(doc, v)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_is_openrpc_and_self_contained() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let doc = discover(&c).await;

    assert!(
        doc["openrpc"].as_str().is_some_and(|v| v.starts_with("1.")),
        "{}",
        doc["openrpc"]
    );
    assert_eq!(doc["info"]["title"], "hinetd");
    assert!(doc["info"]["version"].is_string());
    for m in doc["methods"].as_array().expect("methods") {
        let name = &m["name"];
        assert_eq!(m["paramStructure"], "by-name", "{name}");
        for p in m["params"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: params"))
        {
            assert!(
                p["name"].is_string() && p["schema"].is_object(),
                "{name}: {p}"
            );
            assert!(p["required"].is_boolean(), "{name}: {p}");
        }
        assert!(
            m["result"]["name"].is_string() && m["result"]["schema"].is_object(),
            "{name}"
        );
        for e in m["errors"].as_array().into_iter().flatten() {
            assert!(e["$ref"].is_string(), "{name}: {e}");
        }
    }
    check_refs(&doc, &doc);

    let open = doc["methods"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["name"] == "WinHttpOpen"))
        .expect("WinHttpOpen is described");
    let members = names(&open["params"]);
    for m in [
        "userAgent",
        "accessType",
        "proxyName",
        "proxyBypass",
        "flags",
    ] {
        assert!(members.contains(m), "WinHttpOpen lacks {m}: {members:?}");
    }

    let n = &doc["x-notifications"][0];
    assert_eq!(n["name"], "WinHttpStatusCallback");
    assert_eq!(
        names(&n["params"]),
        ["result", "subscription"].map(String::from).into()
    );
}

#[tokio::test]
async fn every_listed_method_is_served_and_nothing_else() {
    let daemon = Daemon::spawn(HINETD, &[]);
    let c = daemon.connect().await;
    let doc = discover(&c).await;
    let listed = names(&doc["methods"]);

    for name in hinet_protocol::ALL_METHODS {
        assert!(listed.contains(*name), "{name} is not described");
    }
    for extra in [
        "WinHttpSetStatusCallback",
        "WinHttpUnsetStatusCallback",
        "HinetStatus",
        "rpc.discover",
    ] {
        assert!(listed.contains(extra), "{extra} is not described");
    }
    // Params that are wrong for every method except the parameterless ones: each listed
    // method must be found (anything but -32601).
    for name in &listed {
        if let Err(e) = c.call(name, json!({"noSuchMember": 1})).await {
            assert_ne!(e.code, -32601, "{name} is described but not served");
        }
    }
    for unlisted in ["hinet_unsubscribeStatusCallback", "WinHttpNope", "rpc.nope"] {
        let e = c.call(unlisted, json!({})).await.unwrap_err();
        assert_eq!(e.code, -32601, "{unlisted}");
    }
}
