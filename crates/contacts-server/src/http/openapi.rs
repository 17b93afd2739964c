//! `GET /openapi.json`: an OpenAPI 3.1 description of the API, built from the
//! model's own request schema so that it cannot drift from the validation.

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use contacts_model::schema::{contacts_request_schema, not_whitespace_class, whitespace_class};
use serde_json::{Map, Value, json};

use crate::http::error::json_response;
use crate::http::tracking::RequestContext;

/// The 401 of both operations: what a refused credential or token is.
const REFUSED_CREDENTIALS: &str = "Missing or wrong credentials, or a bearer token refused (expired, not yet valid, bad signature, another issuer or audience, a key the issuer does not list); error.errors says which";

/// The 429 of both operations: what the throttles count.
const TOO_MANY_REFUSALS: &str = "Too many password checks for this user name or client address, or too many refused bearer tokens from this address; see Retry-After";

/// The OpenAPI route.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/openapi.json", get(openapi))
}

async fn openapi(context: RequestContext) -> Response {
    json_response(StatusCode::OK, &document(), &context.tracking_id)
}

/// Moves the request schema's `$defs` into `components/schemas` and points
/// its references there, since tools resolve `#/…` against the whole document.
fn request_schemas() -> Map<String, Value> {
    let mut schema = contacts_request_schema();
    let mut schemas = Map::new();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
        object.remove("$id");
        if let Some(Value::Object(defs)) = object.remove("$defs") {
            schemas.extend(defs);
        }
    }
    schemas.insert("ContactsRequest".into(), schema);
    for value in schemas.values_mut() {
        repoint_refs(value);
    }
    accept_as_typed(&mut schemas);
    schemas
}

/// The model's schema describes the request as the contract sends it:
/// trimmed text, absent fields left out. The validation also takes what
/// agents type and normalises it: text padded with whitespace, and `null` or
/// blank text for an optional field, which counts as absent. The description
/// says so, so that every body it allows is accepted and every body it
/// refuses is refused.
fn accept_as_typed(schemas: &mut Map<String, Value>) {
    let optional_fields = [
        ("ContactsRequest", "request_tracking_id"),
        ("contact", "organization_name"),
        ("contact", "email"),
        ("contact", "work_phone_extension"),
    ];
    for (schema, field) in optional_fields {
        if let Some(property) = schemas
            .get_mut(schema)
            .and_then(|s| s.pointer_mut(&format!("/properties/{field}")))
        {
            // Only the email's pattern leaves its length to `maxLength`.
            pad(property, true, field != "email");
        }
    }
    if let Some(name) = schemas
        .get_mut("contact")
        .and_then(|s| s.pointer_mut("/properties/name"))
    {
        pad(name, false, true);
    }
    // The phone fields refer to this definition, and every phone is optional.
    if let Some(phone) = schemas.get_mut("phone") {
        pad(phone, true, true);
    }
    if let Some(contact) = schemas.get_mut("contact").and_then(Value::as_object_mut) {
        require_given(contact);
    }
}

/// `dependentRequired` is met by a field that is there, even `null` or
/// blank; the validation wants it given (neither). Each rule becomes an
/// `if`/`then` on fields that hold more than whitespace.
fn require_given(schema: &mut Map<String, Value>) {
    let Some(Value::Object(dependencies)) = schema.remove("dependentRequired") else {
        return;
    };
    let given = |field: &str| {
        json!({
            "required": [field],
            "properties": { field: { "type": "string", "pattern": not_whitespace_class() } },
        })
    };
    let rules: Vec<Value> = dependencies
        .iter()
        .flat_map(|(field, needed)| {
            needed
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|needed| json!({ "if": given(field), "then": given(needed) }))
        })
        .collect();
    schema.insert("allOf".into(), rules.into());
}

/// Lets a string schema's pattern be padded with whitespace (and, when
/// `optional`, be blank or `null`). Its length limits go where the pattern
/// states the length itself (`length_in_pattern`), since padding counts in
/// `maxLength` but is trimmed before the length is checked.
fn pad(schema: &mut Value, optional: bool, length_in_pattern: bool) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let Some(core) = object
        .get("pattern")
        .and_then(Value::as_str)
        .and_then(|p| p.strip_prefix('^'))
        .and_then(|p| p.strip_suffix('$'))
        .map(str::to_owned)
    else {
        return;
    };
    let space = whitespace_class();
    let blank = if optional { "?" } else { "" };
    object.insert(
        "pattern".into(),
        format!("^{space}*(?:{core}){blank}{space}*$").into(),
    );
    object.remove("minLength");
    object.remove("format");
    if length_in_pattern {
        object.remove("maxLength");
    }
    if optional {
        object.insert("type".into(), json!(["string", "null"]));
    }
}

fn repoint_refs(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object.iter_mut() {
                match inner {
                    Value::String(target) if key == "$ref" => {
                        if let Some(name) = target.strip_prefix("#/$defs/") {
                            *target = format!("#/components/schemas/{name}");
                        }
                    }
                    _ => repoint_refs(inner),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(repoint_refs),
        _ => {}
    }
}

fn failure_response(description: &str) -> Value {
    json!({
        "description": description,
        "headers": { "Request-Tracking-Id": { "$ref": "#/components/headers/Request-Tracking-Id" } },
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Failure" } } },
    })
}

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut schemas = request_schemas();
    let extra = json!({
        "Success": {
            "type": "object",
            "required": ["status", "request_tracking_id"],
            "properties": {
                "status": { "const": "Success" },
                "request_tracking_id": { "type": "string" },
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "request_tracking_id", "degraded", "targets"],
            "properties": {
                "status": { "const": "Success" },
                "request_tracking_id": { "type": "string" },
                "degraded": { "type": "boolean", "description": "Whether any target is past a [health] threshold." },
                "targets": {
                    "type": "object",
                    "description": "MAS and MDM.",
                    "additionalProperties": {
                        "type": "object",
                        "required": ["held", "pending", "oldest_pending_age_s", "dead", "degraded"],
                        "properties": {
                            "held": { "type": "boolean", "description": "No URL is configured: the deliveries wait." },
                            "pending": { "type": "integer", "minimum": 0 },
                            "oldest_pending_age_s": { "type": ["number", "null"], "minimum": 0 },
                            "dead": { "type": "integer", "minimum": 0 },
                            "degraded": { "type": "boolean" },
                        },
                    },
                },
            },
        },
        "Failure": {
            "type": "object",
            "required": ["error", "request_tracking_id"],
            "properties": {
                "status": { "const": "Failure" },
                "request_tracking_id": { "type": "string" },
                "error": {
                    "type": "object",
                    "required": ["code", "message", "errors"],
                    "properties": {
                        "code": { "type": "string", "description": "The HTTP status as text, e.g. \"400\"." },
                        "message": { "type": "string", "description": "e.g. \"Service Error\"." },
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["message"],
                                "properties": {
                                    "message": { "type": "string" },
                                    "field": { "type": "string", "description": "The input at fault, e.g. contacts[billing].email." },
                                    "code": { "type": "string", "description": "The stable validation code, e.g. email.missing_tld." },
                                },
                            },
                        },
                    },
                },
            },
        },
        "ContactsResponse": {
            "type": "object",
            "required": ["status", "request_tracking_id", "customer", "contacts", "version"],
            "properties": {
                "status": { "const": "Success" },
                "request_tracking_id": { "type": "string" },
                "customer": {
                    "type": "object",
                    "required": ["ezpay_id", "status"],
                    "properties": {
                        "ezpay_id": { "type": "string", "pattern": "^[0-9]{15}$" },
                        "status": { "enum": ["active", "inactive", "cancelled"] },
                    },
                },
                "contacts": {
                    "type": "array",
                    "description": "The stored contacts, billing first; a contact that today's validation refuses is returned exactly as stored, and `errors` says why.",
                    "items": { "type": "object" },
                },
                "errors": {
                    "type": "array",
                    "description": "What today's validation refuses in the stored contacts; absent when they are all valid.",
                    "items": {
                        "type": "object",
                        "required": ["path", "code", "message"],
                        "properties": {
                            "path": { "type": "string", "description": "e.g. contacts[service].email" },
                            "code": { "type": "string", "description": "The model's stable error code." },
                            "message": { "type": "string" },
                        },
                    },
                },
                "version": {
                    "type": "string", "pattern": "^[0-9]+$",
                    "description": "The version of the contacts, as in the ETag (which quotes it). Every applied update raises it.",
                },
            },
        },
    });
    if let Value::Object(extra) = extra {
        schemas.extend(extra);
    }
    let mut precondition_failed = failure_response(
        "The contacts changed since the If-Match version was loaded; nothing was written",
    );
    precondition_failed["headers"]["ETag"] = json!({ "$ref": "#/components/headers/ETag" });
    let auth_parameters = json!([
        { "$ref": "#/components/parameters/eZpayID" },
        { "$ref": "#/components/parameters/ProfileId" },
        { "$ref": "#/components/parameters/Request-Tracking-Id" },
    ]);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Contacts API (reference implementation)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Updates the billing and service contacts of a customer (active, inactive or cancelled). Source: CAAG; targets: MAS and MDM. Every response body is a Success or Failure envelope.",
        },
        // Either scheme, as the deployment takes them ([auth] basic, [auth.oidc]).
        "security": [{ "basic": [] }, { "bearer": [] }],
        "paths": {
            "/api/v1/customers/{eZpayID}/contacts": {
                "parameters": auth_parameters,
                "post": {
                    "operationId": "updateContacts",
                    "summary": "Update the billing and/or service contact",
                    "parameters": [{ "$ref": "#/components/parameters/If-Match" }],
                    "requestBody": {
                        "required": true,
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ContactsRequest" } } },
                    },
                    "responses": {
                        "200": {
                            "description": "Updated, or the same request replayed",
                            "headers": {
                                "Request-Tracking-Id": { "$ref": "#/components/headers/Request-Tracking-Id" },
                                "ETag": { "$ref": "#/components/headers/ETag" },
                            },
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Success" } } },
                        },
                        "400": failure_response("Invalid body, eZpayID, tracking id or If-Match, or no ProfileId"),
                        "401": failure_response(REFUSED_CREDENTIALS),
                        "403": failure_response("Sent by a page of another site (Origin or Sec-Fetch-Site), or a ProfileId not granted to this user (for a bearer token: not in its profiles claim)"),
                        "404": failure_response("Unknown customer"),
                        "408": failure_response("The body did not arrive in time"),
                        "409": failure_response("A request with this tracking id is in flight"),
                        "412": precondition_failed,
                        "413": failure_response("Body larger than 16 KiB"),
                        "415": failure_response("Body not sent as application/json"),
                        "422": failure_response("Tracking id already used by this source for a different request, or by another user"),
                        "429": failure_response(TOO_MANY_REFUSALS),
                        "500": failure_response("Source not configured, or a service error"),
                        "503": failure_response("The database is unavailable (nothing was saved), or too many password checks queued (see Retry-After)"),
                    },
                },
                "get": {
                    "operationId": "getContacts",
                    "summary": "The customer's stored contacts",
                    "responses": {
                        "200": {
                            "description": "The customer and its contacts",
                            "headers": {
                                "Request-Tracking-Id": { "$ref": "#/components/headers/Request-Tracking-Id" },
                                "ETag": { "$ref": "#/components/headers/ETag" },
                            },
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ContactsResponse" } } },
                        },
                        "400": failure_response("Invalid eZpayID or tracking id, or no ProfileId"),
                        "401": failure_response(REFUSED_CREDENTIALS),
                        "403": failure_response("A ProfileId not granted to this user (for a bearer token: not in its profiles claim)"),
                        "404": failure_response("Unknown customer"),
                        "429": failure_response(TOO_MANY_REFUSALS),
                        "500": failure_response("Source not configured, or a service error"),
                        "503": failure_response("The database is unavailable, or too many password checks queued (see Retry-After)"),
                    },
                },
            },
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The server and its database answer; the delivery queue of each target",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } },
                        },
                        "500": failure_response("The database failed"),
                        "503": failure_response("The database is unavailable"),
                    },
                },
            },
        },
        "components": {
            "securitySchemes": {
                "basic": { "type": "http", "scheme": "basic" },
                "bearer": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                    "description": "A JWT of the configured issuer ([auth.oidc]), signed with an asymmetric key of its key set (RS256, ES256 …), for this server's audience, within exp and nbf. The user claim (sub by default) names the user; the profiles claim (a JSON array of strings) lists the ProfileIds it may send.",
                },
            },
            "parameters": {
                "eZpayID": {
                    "name": "eZpayID", "in": "path", "required": true,
                    "schema": { "type": "string", "pattern": "^[0-9]{15}$" },
                    "example": "000010000005008",
                },
                "ProfileId": {
                    "name": "ProfileId", "in": "header", "required": true,
                    "description": "The caller's profile; it names the source (CAAG_302 → CAAG).",
                    "schema": { "type": "string" },
                    "example": "CAAG_302",
                },
                "Request-Tracking-Id": {
                    "name": "Request-Tracking-Id", "in": "header", "required": false,
                    "description": "Unique tracking identifier and idempotency key; the server makes one when absent.",
                    "schema": { "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$" },
                    "example": "67865456",
                },
                "If-Match": {
                    "name": "If-Match", "in": "header", "required": false,
                    "description": "Optional. The ETag of GET …/contacts (or *, any version): the update is applied only if the contacts are still at that version, else 412. One entity tag only; a weak tag, a list or text that is no entity tag is a 400, and a strong tag that holds no version (such as \"abc\") matches none: 412. A request whose tracking id was applied before is replayed whatever If-Match says, and an unknown customer is a 404 first.",
                    "schema": { "type": "string", "pattern": "^(\\*|\"[0-9]+\")$" },
                    "example": "\"3\"",
                },
            },
            "headers": {
                "Request-Tracking-Id": { "description": "The tracking id of the request, echoed.", "schema": { "type": "string" } },
                "ETag": {
                    "description": "The version of the customer's contacts as a strong entity tag, e.g. \"3\": after GET, after an applied POST (on its replay, the version that POST produced), and the current one on a 412.",
                    "schema": { "type": "string", "pattern": "^\"[0-9]+\"$" },
                },
            },
            "schemas": schemas,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(object) => {
                for (key, inner) in object {
                    match inner {
                        Value::String(target) if key == "$ref" => found.push(target.clone()),
                        _ => refs(inner, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_inside_the_document() {
        let document = document();
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(found.len() > 10);
        for target in found {
            let pointer = target.strip_prefix('#').expect(&target);
            assert!(
                document.pointer(pointer).is_some(),
                "{target} does not resolve"
            );
        }
    }

    /// What schemathesis found: the description refused bodies the server
    /// accepts (`null`, blank or padded optional fields) and allowed an
    /// extension beside a `null` work phone, which the server refuses.
    #[test]
    fn the_request_schema_describes_what_agents_type() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        let space = whitespace_class();
        for field in ["organization_name", "email", "work_phone_extension"] {
            let property = &schemas["contact"]["properties"][field];
            assert_eq!(property["type"], json!(["string", "null"]), "{field}");
            let pattern = property["pattern"].as_str().expect(field);
            assert!(pattern.starts_with(&format!("^{space}*(?:")), "{field}");
            assert!(pattern.ends_with(&format!(")?{space}*$")), "{field}");
        }
        let name = &schemas["contact"]["properties"]["name"];
        assert_eq!(name["type"], "string");
        assert!(
            name.get("maxLength").is_none(),
            "the pattern bounds the trimmed name"
        );
        assert!(
            name["pattern"]
                .as_str()
                .expect("pattern")
                .ends_with(&format!("){space}*$"))
        );
        assert_eq!(schemas["contact"]["properties"]["email"]["maxLength"], 254);
        assert_eq!(schemas["phone"]["type"], json!(["string", "null"]));
        assert!(schemas["contact"].get("dependentRequired").is_none());
        let rule = &schemas["contact"]["allOf"][0];
        assert_eq!(rule["if"]["required"], json!(["work_phone_extension"]));
        assert_eq!(rule["then"]["required"], json!(["work_phone"]));
        assert_eq!(
            rule["then"]["properties"]["work_phone"]["pattern"],
            not_whitespace_class()
        );
    }

    #[test]
    fn either_scheme_is_described() {
        let document = document();
        assert_eq!(
            document["security"],
            json!([{ "basic": [] }, { "bearer": [] }])
        );
        let bearer = &document["components"]["securitySchemes"]["bearer"];
        assert_eq!(
            (&bearer["scheme"], &bearer["bearerFormat"]),
            (&json!("bearer"), &json!("JWT"))
        );
    }

    #[test]
    fn the_request_schema_is_the_models() {
        let document = document();
        let request = &document["components"]["schemas"]["ContactsRequest"];
        assert_eq!(request["required"], json!(["contacts"]));
        assert_eq!(request["additionalProperties"], json!(false));
    }
}
