//! The OpenRPC 1.3 document that `rpc.discover` answers.
//!
//! It is built from the JSON Schemas of the very types the daemon parses params into and
//! serializes results from, so it describes the wire as the code sees it. The daemon describes
//! each method in the same statement that registers it; a method cannot be served without
//! being described. The schemas follow the deserializing side: a member with a default is not
//! `required`.
//!
//! Server-to-client notifications have no place in OpenRPC 1.3; they are listed under the
//! root extension `x-notifications`, shaped like method objects without a result, and the
//! subscribing method names its notification in `x-notification`.

use crate::Method;
use crate::error::{ErrorData, error_name, jsonrpc};
use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub use schemars::JsonSchema;

/// The OpenRPC version the document follows.
pub const OPENRPC_VERSION: &str = "1.3.2";
/// The discovery method's name, fixed by OpenRPC.
pub const DISCOVER: &str = "rpc.discover";

/// The WinHTTP errors each method can fail with, in the order the daemon checks them
/// (docs/protocol.md §6). A method missing here is described with [`DEFAULT_ERRORS`].
const METHOD_ERRORS: &[(&str, &[u32])] = &[
    ("WinHttpOpen", &[50, 87, 8, 12004]),
    ("WinHttpConnect", &[87, 12005, 6, 12018, 8]),
    ("WinHttpOpenRequest", &[6, 12018, 87, 8]),
    (
        "WinHttpAddRequestHeaders",
        &[87, 6, 12018, 12153, 12155, 12150],
    ),
    (
        "WinHttpSendRequest",
        &[
            6, 12018, 12153, 87, 8, 12019, 5, 12007, 12029, 12002, 12175, 12044, 12005, 12030,
            12017, 12004,
        ],
    ),
    (
        "WinHttpWriteData",
        &[6, 12018, 8, 12019, 87, 12030, 12002, 12017],
    ),
    (
        "WinHttpReceiveResponse",
        &[
            6, 12018, 8, 12019, 12002, 12030, 12152, 12182, 12175, 12044, 12156, 12017,
        ],
    ),
    ("WinHttpQueryHeaders", &[87, 6, 12018, 12019, 12150, 122]),
    ("WinHttpQueryAuthSchemes", &[6, 12018, 4317]),
    ("WinHttpSetCredentials", &[6, 12018, 87, 50]),
    ("WinHttpQueryAuthSchemes", &[6, 12018, 4317]),
    ("WinHttpSetCredentials", &[6, 12018, 87, 50]),
    (
        "WinHttpQueryDataAvailable",
        &[6, 12018, 8, 12019, 12002, 12030, 12017],
    ),
    (
        "WinHttpReadData",
        &[6, 12018, 8, 12019, 12002, 12030, 12017],
    ),
    ("WinHttpCloseHandle", &[6]),
    ("WinHttpSetTimeouts", &[87, 6, 12018]),
    ("WinHttpSetOption", &[6, 12009, 12011, 12018, 87, 122]),
    ("WinHttpQueryOption", &[6, 87, 12018, 122]),
    ("WinHttpCrackUrl", &[87, 12006, 12005, 122]),
    ("WinHttpCreateUrl", &[87, 12006, 122]),
    ("WinHttpSetStatusCallback", &[6]),
    ("WinHttpUnsetStatusCallback", &[87]),
    ("HinetStatus", &[]),
    (DISCOVER, &[]),
];

/// For a method [`METHOD_ERRORS`] does not know: the failures any handle-taking call has.
const DEFAULT_ERRORS: &[u32] = &[6, 12018, 87, 12004];

/// The JSON-RPC errors of the message rather than of the call (docs/protocol.md §5.2).
const PROTOCOL_ERRORS: &[(i32, &str, &str)] = &[
    (jsonrpc::PARSE_ERROR, "PARSE_ERROR", "Parse error"),
    (
        jsonrpc::INVALID_REQUEST,
        "INVALID_REQUEST",
        "Invalid request",
    ),
    (
        jsonrpc::METHOD_NOT_FOUND,
        "METHOD_NOT_FOUND",
        "Method not found",
    ),
    (jsonrpc::INVALID_PARAMS, "INVALID_PARAMS", "Invalid params"),
    (jsonrpc::INTERNAL_ERROR, "INTERNAL_ERROR", "Internal error"),
    (
        jsonrpc::MESSAGE_TOO_LARGE,
        "MESSAGE_TOO_LARGE",
        "Request is too big",
    ),
    (
        TOO_MANY_SUBSCRIPTIONS,
        "TOO_MANY_SUBSCRIPTIONS",
        "Too many subscriptions on the connection",
    ),
    (-32008, "RESPONSE_TOO_LARGE", "Response is too big"),
    (-32010, "BATCH_TOO_LARGE", "The batch request was too large"),
    (
        -32011,
        "BATCH_RESPONSE_TOO_LARGE",
        "The batch response was too large",
    ),
];

const TOO_MANY_SUBSCRIPTIONS: i32 = -32006;

const DESCRIPTION: &str = "Microsoft WinHTTP's programming model over JSON-RPC 2.0. Each \
WinHTTP function is one method named like the C function; params are named objects whose \
members are WinHTTP's parameter names without the Hungarian prefix, in camelCase, and \
unknown members are rejected (-32602). Numbers (flags, options, info levels, statuses, \
errors) keep WinHTTP's values. A failed call answers a JSON-RPC error whose code is the \
Win32/WinHTTP error number, whose message starts with the error's symbolic name and whose \
data is an ErrorData object; negative codes are protocol errors. Handles belong to the \
connection that created them and close when it ends. Status callbacks arrive as \
WinHttpStatusCallback notifications (see x-notifications).";

/// An OpenRPC document under construction.
pub struct Document {
    generator: SchemaGenerator,
    methods: Vec<Value>,
    notifications: Vec<Value>,
}

impl Default for Document {
    fn default() -> Self {
        Self::new()
    }
}

impl Document {
    pub fn new() -> Self {
        // OpenRPC 1.3 schemas are JSON Schema draft 7; shared definitions live in the
        // document's components.
        let settings = SchemaSettings::draft07().with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        });
        Document {
            generator: settings.into_generator(),
            methods: Vec::new(),
            notifications: Vec::new(),
        }
    }

    /// Describes a WinHTTP method from its marker type.
    pub fn method<M: Method>(&mut self)
    where
        M::Params: JsonSchema,
        M::Result: JsonSchema,
    {
        self.call::<M::Params, M::Result>(M::NAME, M::SUMMARY);
    }

    /// Describes a method by name: params from `P`'s members, result `R`. Returns the method
    /// object for extensions.
    pub fn call<P: JsonSchema, R: JsonSchema>(&mut self, name: &str, summary: &str) -> &mut Value {
        let (params, description) = self.params::<P>();
        let result = json!({
            "name": R::schema_name(),
            "schema": self.schema::<R>(),
        });
        let mut codes: Vec<i64> = errors_of(name).iter().map(|c| i64::from(*c)).collect();
        if !params.is_empty() {
            codes.insert(0, i64::from(jsonrpc::INVALID_PARAMS));
        }
        let mut method = json!({
            "name": name,
            "paramStructure": "by-name",
            "params": params,
            "result": result,
            "errors": codes.into_iter().map(error_ref).collect::<Vec<_>>(),
        });
        if let Some(obj) = method.as_object_mut() {
            let summary = summary.trim();
            if !summary.is_empty() {
                obj.insert("summary".into(), summary.into());
            }
            if let Some(d) = description {
                obj.insert("description".into(), d.into());
            }
        }
        self.methods.push(method);
        let last = self.methods.len() - 1;
        &mut self.methods[last]
    }

    /// Describes a subscribing method: its result is the subscription id, and `notification`
    /// is what it delivers.
    pub fn subscription<P: JsonSchema>(&mut self, name: &str, summary: &str, notification: &str) {
        let method = self.call::<P, u64>(name, summary);
        if let Some(obj) = method.as_object_mut() {
            obj.insert("x-notification".into(), notification.into());
            if let Some(result) = obj.get_mut("result").and_then(Value::as_object_mut) {
                result.insert("name".into(), "subscription".into());
            }
            if let Some(errors) = obj.get_mut("errors").and_then(Value::as_array_mut) {
                errors.push(error_ref(i64::from(TOO_MANY_SUBSCRIPTIONS)));
            }
        }
    }

    /// Describes a notification the daemon sends, with params `P`.
    pub fn notification<P: JsonSchema>(
        &mut self,
        name: &str,
        summary: &str,
        subscribe: &str,
        unsubscribe: &str,
    ) {
        let (params, description) = self.params::<P>();
        let mut n = json!({
            "name": name,
            "summary": summary,
            "paramStructure": "by-name",
            "params": params,
            "x-subscribe": subscribe,
            "x-unsubscribe": unsubscribe,
        });
        if let (Some(obj), Some(d)) = (n.as_object_mut(), description) {
            obj.insert("description".into(), d.into());
        }
        self.notifications.push(n);
    }

    /// Describes `rpc.discover` itself.
    pub fn discover(&mut self) {
        self.methods.push(json!({
            "name": DISCOVER,
            "summary": "Returns this OpenRPC document.",
            "paramStructure": "by-name",
            "params": [],
            "result": {
                "name": "OpenRPC document",
                "schema": {
                    "type": "object",
                    "required": ["openrpc", "info", "methods"],
                    "description": "An OpenRPC 1.3 document",
                },
            },
        }));
    }

    /// The names of the methods described so far.
    pub fn method_names(&self) -> impl Iterator<Item = &str> {
        self.methods
            .iter()
            .filter_map(|m| m.get("name").and_then(Value::as_str))
    }

    /// The finished document.
    pub fn finish(mut self) -> Value {
        // WinHTTP errors carry an ErrorData object; make sure its schema is in the components.
        let _ = self.schema::<ErrorData>();
        let mut errors = Map::new();
        for (code, name, message) in PROTOCOL_ERRORS {
            errors.insert((*name).into(), json!({"code": code, "message": message}));
        }
        let mut codes: Vec<u32> = METHOD_ERRORS
            .iter()
            .flat_map(|(_, c)| c.iter().copied())
            .chain(DEFAULT_ERRORS.iter().copied())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            errors.insert(
                error_name(code).into(),
                json!({"code": code, "message": error_name(code)}),
            );
        }
        let schemas: BTreeMap<String, Value> =
            self.generator.take_definitions(true).into_iter().collect();
        json!({
            "openrpc": OPENRPC_VERSION,
            "info": {
                "title": "hinetd",
                "version": env!("CARGO_PKG_VERSION"),
                "description": DESCRIPTION,
                "license": {"name": "MIT OR Apache-2.0"},
            },
            "methods": self.methods,
            "components": {
                "schemas": schemas,
                "errors": errors,
            },
            "x-notifications": self.notifications,
        })
    }

    /// A schema for `T`: a `$ref` into the components for named types.
    fn schema<T: JsonSchema>(&mut self) -> Value {
        let mut schema = self.generator.subschema_for::<T>();
        self.transform(&mut schema);
        schema.to_value()
    }

    /// The by-name params of `P` (one content descriptor per member) and `P`'s description.
    fn params<P: JsonSchema>(&mut self) -> (Vec<Value>, Option<String>) {
        let mut schema = P::json_schema(&mut self.generator);
        self.transform(&mut schema);
        let mut object = match schema.to_value() {
            Value::Object(o) => o,
            _ => Map::new(),
        };
        let required: Vec<String> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let description = object
            .get("description")
            .and_then(Value::as_str)
            .map(String::from);
        let properties = match object.remove("properties") {
            Some(Value::Object(p)) => p,
            _ => Map::new(),
        };
        let params = properties
            .into_iter()
            .map(|(name, mut schema)| {
                let mut descriptor = json!({
                    "name": name,
                    "required": required.contains(&name),
                });
                if let (Some(d), Some(Value::String(text))) = (
                    descriptor.as_object_mut(),
                    schema.as_object_mut().and_then(|s| s.remove("description")),
                ) {
                    d.insert("description".into(), text.into());
                }
                if let Some(d) = descriptor.as_object_mut() {
                    d.insert("schema".into(), schema);
                }
                descriptor
            })
            .collect();
        (params, description)
    }

    fn transform(&mut self, schema: &mut Schema) {
        for t in self.generator.transforms_mut() {
            t.transform(schema);
        }
    }
}

fn errors_of(method: &str) -> &'static [u32] {
    METHOD_ERRORS
        .iter()
        .find(|(name, _)| *name == method)
        .map_or(DEFAULT_ERRORS, |(_, codes)| *codes)
}

fn error_ref(code: i64) -> Value {
    let name = match PROTOCOL_ERRORS
        .iter()
        .find(|(c, _, _)| i64::from(*c) == code)
    {
        Some((_, name, _)) => *name,
        None => u32::try_from(code).map_or("UNKNOWN_ERROR", error_name),
    };
    json!({"$ref": format!("#/components/errors/{name}")})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::{SET_STATUS_CALLBACK, STATUS_CALLBACK, SetStatusCallbackParams};
    use crate::*;

    fn sample() -> Value {
        let mut doc = Document::new();
        doc.method::<WinHttpOpen>();
        doc.method::<WinHttpConnect>();
        doc.method::<WinHttpCrackUrl>();
        doc.method::<WinHttpReadData>();
        doc.method::<WinHttpSetOption>();
        doc.subscription::<SetStatusCallbackParams>(SET_STATUS_CALLBACK, "", STATUS_CALLBACK);
        doc.notification::<callback::StatusCallbackParams>(STATUS_CALLBACK, "", "a", "b");
        doc.discover();
        doc.finish()
    }

    fn method<'a>(doc: &'a Value, name: &str) -> &'a Value {
        doc["methods"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["name"] == name)
            .unwrap_or(&Value::Null)
    }

    fn param<'a>(method: &'a Value, name: &str) -> &'a Value {
        method["params"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == name)
            .unwrap_or(&Value::Null)
    }

    /// Every `$ref` in `v` that points into the document resolves.
    fn check_refs(doc: &Value, v: &Value) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{r}"));
                    assert!(doc.pointer(pointer).is_some(), "dangling {r}");
                }
                o.values().for_each(|v| check_refs(doc, v));
            }
            Value::Array(a) => a.iter().for_each(|v| check_refs(doc, v)),
            _ => {}
        }
    }

    #[test]
    fn params_are_by_name_with_required_flags_and_docs() {
        let doc = sample();
        assert_eq!(doc["openrpc"], OPENRPC_VERSION);
        let open = method(&doc, "WinHttpOpen");
        assert_eq!(open["summary"], "Opens a session.");
        assert_eq!(open["paramStructure"], "by-name");
        assert_eq!(param(open, "userAgent")["required"], false);
        assert!(
            param(open, "userAgent")["description"]
                .as_str()
                .is_some_and(|d| d.contains("User-Agent"))
        );
        assert_eq!(param(open, "accessType")["schema"]["default"], 1);
        let connect = method(&doc, "WinHttpConnect");
        assert_eq!(param(connect, "handle")["required"], true);
        assert_eq!(param(connect, "handle")["schema"]["minimum"], 0);
        assert_eq!(
            method(&doc, "WinHttpReadData")["result"]["schema"]["$ref"],
            "#/components/schemas/ReadDataResult"
        );
        assert_eq!(
            doc["components"]["schemas"]["ReadDataResult"]["properties"]["data"]["contentEncoding"],
            "base64"
        );
    }

    #[test]
    fn errors_and_refs_resolve() {
        let doc = sample();
        check_refs(&doc, &doc);
        let open = method(&doc, "WinHttpOpen");
        let errors = open["errors"].as_array().cloned().unwrap_or_default();
        assert_eq!(errors[0]["$ref"], "#/components/errors/INVALID_PARAMS");
        assert!(
            errors
                .iter()
                .any(|e| e["$ref"] == "#/components/errors/ERROR_NOT_SUPPORTED")
        );
        assert_eq!(
            doc["components"]["errors"]["ERROR_NOT_SUPPORTED"]["code"],
            50
        );
        let sub = method(&doc, SET_STATUS_CALLBACK);
        assert_eq!(sub["x-notification"], STATUS_CALLBACK);
        assert_eq!(sub["result"]["schema"]["type"], "integer");
        assert!(
            method(&doc, DISCOVER)["params"]
                .as_array()
                .is_some_and(Vec::is_empty)
        );
    }

    #[test]
    fn the_notification_and_untagged_values_are_described() {
        let doc = sample();
        let n = &doc["x-notifications"][0];
        assert_eq!(n["name"], STATUS_CALLBACK);
        assert_eq!(param(n, "subscription")["required"], true);
        let info = &doc["components"]["schemas"]["StatusInfo"];
        assert!(info["anyOf"].as_array().is_some_and(|v| v.len() > 5));
        let value = &doc["components"]["schemas"]["OptionValue"];
        assert!(value["anyOf"].as_array().is_some_and(|v| v.len() >= 3));
    }

    #[test]
    fn every_listed_error_has_a_name() {
        for (method, codes) in METHOD_ERRORS {
            for c in *codes {
                assert_ne!(error_name(*c), "UNKNOWN_ERROR", "{method}: {c}");
            }
        }
    }
}
