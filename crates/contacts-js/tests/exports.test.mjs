// Checks every export of the built package (pkg/) as a user imports it.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";

import contacts, { pkgDir, sampleRequest } from "./package.mjs";
import { schemaErrors } from "./schema-check.mjs";

const {
  validateContact,
  validateContactsRequest,
  normalizePhone,
  formatPhone,
  validateEzpayId,
  parseResponse,
  contactsRequestSchema,
} = contacts;

const codesOf = (result) => result.errors.map(({ path, code }) => [path, code]);
const isPlain = (value) => Object.getPrototypeOf(value) === Object.prototype;

/** The members of a string-literal union declared in the package's .d.ts. */
function unionMembers(name) {
  const dts = readFileSync(new URL("contacts_js.d.ts", pkgDir), "utf8");
  const body = dts.match(new RegExp(`export type ${name} =([^;]*);`))?.[1];
  assert.ok(body, `${name} is not declared`);
  return [...body.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
}

test("exports exactly the documented functions", () => {
  assert.deepEqual(Object.keys(contacts).sort(), [
    "contactsRequestSchema",
    "default",
    "formatPhone",
    "initSync",
    "normalizePhone",
    "parseResponse",
    "validateContact",
    "validateContactsRequest",
    "validateEzpayId",
  ]);
});

test("package.json describes the files it ships", () => {
  const pkg = JSON.parse(readFileSync(new URL("package.json", pkgDir), "utf8"));
  const cargo = readFileSync(new URL("../Cargo.toml", import.meta.url), "utf8");
  assert.equal(pkg.version, cargo.match(/^version = "(.+)"$/m)[1], "same version as the crate");
  assert.equal(pkg.type, "module");
  assert.equal(pkg.exports["."].types, `./${pkg.types.replace(/^\.\//, "")}`);
  for (const file of [...pkg.files, pkg.exports["."].default, pkg.exports["."].types]) {
    assert.ok(existsSync(new URL(file, pkgDir)), `${file} is missing from pkg/`);
  }
  assert.match(readFileSync(new URL("README.md", pkgDir), "utf8"), /initSync/);
});

test("validateContactsRequest returns the contract's sample unchanged, as plain objects", () => {
  const result = validateContactsRequest(sampleRequest);
  assert.equal(result.ok, true);
  assert.deepEqual(result.value, sampleRequest);
  assert.ok(isPlain(result) && isPlain(result.value) && isPlain(result.value.contacts[0]));
  assert.ok(Array.isArray(result.value.contacts));
});

test("validateContactsRequest reports every fault with its path", () => {
  const result = validateContactsRequest({
    contacts: [
      { type: "billing", name: "", email: "a@b", fax: "12" },
      { type: "billing", name: "Ann" },
    ],
    extra: 1,
  });
  assert.equal(result.ok, false);
  assert.ok(isPlain(result) && isPlain(result.errors[0]));
  assert.deepEqual(codesOf(result), [
    ["extra", "field.unknown"],
    ["contacts[billing].name", "name.required"],
    ["contacts[billing].email", "email.missing_tld"],
    ["contacts[billing].fax", "phone.too_short"],
    ["contacts[1].type", "type.duplicate"],
  ]);
});

test("validateContact normalises what agents type, as fetch would send it", () => {
  const result = validateContact({
    type: "billing",
    name: "  John Smith ",
    work_phone: "(914) 721-2006 ext. 2006",
    mobile_phone: "+1 914.721.2006",
    email: undefined,
  });
  assert.deepEqual(result, {
    ok: true,
    value: {
      type: "billing",
      name: "John Smith",
      work_phone: "9147212006",
      work_phone_extension: "2006",
      mobile_phone: "9147212006",
    },
  });
  const typo = validateContact({ type: "service", name: "Ann", emial: "a@example.com" });
  assert.deepEqual(codesOf(typo), [["contacts[service].emial", "field.unknown"]]);
});

test("values that are not objects give ok: false, never an exception", () => {
  const cyclic = { type: "billing" };
  cyclic.self = cyclic;
  const strange = [42, "x", true, null, undefined, [], () => 1, Symbol("s"), 10n, cyclic, { name: 1n }];
  for (const value of strange) {
    const request = validateContactsRequest(value);
    assert.deepEqual(codesOf(request), [["", "request.not_an_object"]], String(typeof value));
    assert.ok(request.errors[0].message.length > 0);
    const contact = validateContact(value);
    assert.deepEqual(codesOf(contact), [["contacts[0]", "contact.not_an_object"]]);
  }
  assert.deepEqual(codesOf(validateContactsRequest(new Date(0))), [["", "request.not_an_object"]]);
});

test("normalizePhone gives the 10 digits or the reason", () => {
  assert.deepEqual(normalizePhone(" 1 (914) 721-2006 "), { ok: true, value: "9147212006" });
  assert.deepEqual(codesOf(normalizePhone("914-721")), [["", "phone.too_short"]]);
  assert.deepEqual(codesOf(normalizePhone("+44 20 7946 0958")), [["", "phone.unsupported_country"]]);
  assert.deepEqual(codesOf(normalizePhone(9147212006)), [["", "field.not_text"]]);
  assert.deepEqual(codesOf(normalizePhone(undefined)), [["", "phone.too_short"]]);
});

test("formatPhone formats valid numbers and leaves the rest as typed", () => {
  assert.equal(formatPhone("9147212006"), "(914) 721-2006");
  assert.equal(formatPhone("+1 914 721 2006"), "(914) 721-2006");
  assert.equal(formatPhone("  914-72 "), "914-72");
  assert.equal(formatPhone({}), "");
});

test("validateEzpayId accepts 15 digits, trimmed", () => {
  assert.deepEqual(validateEzpayId(" 000010000005008 "), { ok: true, value: "000010000005008" });
  assert.deepEqual(codesOf(validateEzpayId("12")), [["ezpay_id", "ezpay_id.wrong_length"]]);
  assert.deepEqual(codesOf(validateEzpayId("00001000000500A")), [["ezpay_id", "ezpay_id.not_digits"]]);
  assert.deepEqual(codesOf(validateEzpayId("")), [["ezpay_id", "ezpay_id.required"]]);
  assert.deepEqual(codesOf(validateEzpayId(10000005008)), [["ezpay_id", "field.not_text"]]);
});

test("parseResponse reads the contract's samples, as text or as parsed JSON", () => {
  const success = '{\n  "status": "Success",\n  "request_tracking_id": "756345"\n}';
  assert.deepEqual(parseResponse(success), {
    ok: true,
    value: { status: "Success", request_tracking_id: "756345" },
  });
  const failure = {
    error: { code: "500", message: "Service Error", errors: [{ message: "Source not configured" }] },
    request_tracking_id: "3432273233",
  };
  const parsed = parseResponse(failure);
  assert.equal(parsed.ok, true);
  assert.deepEqual(parsed.value, { status: "Failure", ...failure });
  assert.deepEqual(parseResponse(JSON.stringify(failure)), parsed);
  const withFields = parseResponse({
    status: "Failure",
    error: {
      code: "400",
      message: "Bad Request",
      errors: [{ message: "Enter the contact's name.", field: "contacts[billing].name", code: "name.required" }],
    },
  });
  assert.equal(withFields.value.error.errors[0].field, "contacts[billing].name");
});

test("parseResponse says why a body is not an envelope", () => {
  const cases = [
    ["", "response.empty"],
    ["  ", "response.empty"],
    [undefined, "response.empty"],
    ["<html><body>502 Bad Gateway</body></html>", "response.not_json"],
    [10n, "response.not_json"],
    [[], "response.not_an_envelope"],
    [null, "response.not_an_envelope"],
    [{ status: "Success", error: { code: "1", message: "m" } }, "response.not_an_envelope"],
    [{ status: "Failure" }, "response.not_an_envelope"],
  ];
  const codes = unionMembers("ResponseErrorCode");
  for (const [body, code] of cases) {
    const result = parseResponse(body);
    assert.deepEqual(codesOf(result), [["", code]], String(body));
    assert.ok(codes.includes(code));
  }
});

test("contactsRequestSchema is generated from the model and fits the validated sample", () => {
  const schema = contactsRequestSchema();
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.notEqual(contactsRequestSchema(), schema, "a fresh object every call");
  const contact = schema.$defs.contact;
  assert.deepEqual(contact.properties.type.enum, unionMembers("ContactType"));
  assert.deepEqual(Object.keys(contact.properties).sort(), Object.keys(sampleRequest.contacts[0]).sort());
  assert.deepEqual(schemaErrors(schema, validateContactsRequest(sampleRequest).value), []);
  const twoBilling = { contacts: [sampleRequest.contacts[0], sampleRequest.contacts[0]] };
  assert.deepEqual(schemaErrors(schema, twoBilling), ["/contacts: maxContains"]);
  assert.deepEqual(schemaErrors(schema, { contacts: [{ type: "billing", name: "A", fax: "(914) 721-2006" }] }), [
    "/contacts/0/fax: pattern",
  ]);
});

test("every code the checks return is declared in the TypeScript ErrorCode union", () => {
  const declared = new Set(unionMembers("ErrorCode"));
  const results = [
    validateContactsRequest({ contacts: [{ type: "x" }], request_tracking_id: "" }),
    validateContactsRequest(42),
    validateContact({ type: "billing", name: "A\nB", email: "a b@c.com", work_phone_extension: "12a" }),
    normalizePhone("(014) 721-2006"),
    validateEzpayId("x"),
  ];
  for (const result of results) {
    assert.equal(result.ok, false);
    for (const { code } of result.errors) assert.ok(declared.has(code), code);
  }
});

test("the declarations of the exports use no `any`", () => {
  const dts = readFileSync(new URL("contacts_js.d.ts", pkgDir), "utf8");
  // InitOutput is wasm-bindgen's own description of the raw wasm exports,
  // which take JS values as `any`; nothing in it is meant to be called.
  const ours = dts.replace(/export interface InitOutput \{[^}]*\}/, "");
  assert.doesNotMatch(ours.replace(/\/\*\*[\s\S]*?\*\//g, ""), /\bany\b/);
});
