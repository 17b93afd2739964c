//! Writes what the package publishes about the model, generated from the
//! model itself so that it cannot drift: the JSON Schema of the request
//! (`schema.json`) and the TypeScript names of its codes, types and fields
//! (`model_types.d.ts`). Both land in `OUT_DIR` and are included by `lib.rs`.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::{env, fs};

use contacts_model::schema::contacts_request_schema;
use contacts_model::{ContactType, EnvelopeError, ErrorCode, Field};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let schema = serde_json::to_string(&contacts_request_schema()).expect("a JSON value");
    fs::write(out.join("schema.json"), schema).expect("OUT_DIR is writable");
    fs::write(out.join("model_types.d.ts"), model_types()).expect("OUT_DIR is writable");
}

fn model_types() -> String {
    let response_codes = [
        EnvelopeError::Empty,
        EnvelopeError::NotJson(String::new()),
        EnvelopeError::NotAnEnvelope(String::new()),
    ];
    let mut ts = String::from("\n// Generated from contacts-model by build.rs.\n\n");
    ts += "/** A stable validation error code; it never changes meaning once published. */\n";
    ts += &union("ErrorCode", ErrorCode::ALL.iter().map(|c| c.as_str()));
    ts += "/** Why a response body is not an envelope. */\n";
    ts += &union(
        "ResponseErrorCode",
        response_codes.iter().map(EnvelopeError::code),
    );
    ts += "/** The two kinds of contact a customer has. */\n";
    ts += &union("ContactType", ContactType::ALL.iter().map(|t| t.as_str()));
    ts += "/** A validated contact as the contract sends it: text trimmed, phones as 10 digits, absent fields left out. */\n";
    ts += "export interface Contact {\n  type: ContactType;\n";
    for field in Field::ALL {
        let optional = if field == Field::Name { "" } else { "?" };
        let _ = writeln!(
            ts,
            "  /** {} */\n  {}{optional}: string;",
            field.label(),
            field.json_name()
        );
    }
    ts += "}\n";
    ts
}

fn union<'a>(name: &str, members: impl Iterator<Item = &'a str>) -> String {
    let members: Vec<String> = members.map(|m| format!("\n  | \"{m}\"")).collect();
    format!("export type {name} ={};\n\n", members.concat())
}
