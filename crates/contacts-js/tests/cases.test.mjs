// Runs every case of the model's shared table (crates/contacts-model/tests/cases.json)
// through the built package: JS must give the same verdict, value, codes and
// paths as the Rust tests of the model.
import assert from "node:assert/strict";
import { test } from "node:test";

import contacts, { cases } from "./package.mjs";
import { schemaErrors } from "./schema-check.mjs";

const checks = {
  contact: contacts.validateContact,
  request: contacts.validateContactsRequest,
  phone: contacts.normalizePhone,
  ezpay_id: contacts.validateEzpayId,
};

const schema = contacts.contactsRequestSchema();
const schemaOf = { contact: schema.$defs.contact, request: schema };

test("the shared table covers every kind of check", () => {
  const kinds = new Set(cases.map((c) => c.kind));
  assert.deepEqual([...kinds].sort(), Object.keys(checks).sort());
  assert.ok(cases.length >= 100, `only ${cases.length} cases`);
});

for (const c of cases) {
  test(`${c.kind}: ${c.name}`, () => {
    const check = checks[c.kind];
    assert.ok(check, `unknown kind ${c.kind}`);
    const result = check(c.input);
    assert.equal(result.ok, c.ok, JSON.stringify(result));
    if (c.ok) {
      assert.deepEqual(result.value, c.value);
      if (schemaOf[c.kind]) {
        assert.deepEqual(schemaErrors(schema, result.value, schemaOf[c.kind]), []);
      }
    } else {
      assert.deepEqual(
        result.errors.map(({ path, code }) => ({ path, code })),
        c.errors,
      );
      for (const error of result.errors) assert.ok(error.message.length > 0, error.code);
    }
  });
}
