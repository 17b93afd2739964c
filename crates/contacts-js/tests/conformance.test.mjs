// The package against references nobody here wrote, as the model's Rust
// tests (crates/contacts-model/tests/model/conformance.rs) run them: the
// tables of crates/contacts-model/tests/conformance/, generated from pinned
// packages by `cargo xtask generate`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import contacts from "./package.mjs";

const table = (name) =>
  JSON.parse(
    readFileSync(
      new URL(`../../contacts-model/tests/conformance/${name}`, import.meta.url),
      "utf8",
    ),
  );

const MIN_PHONE_AGREEMENT = 99;

/** Why we deliberately judge `number` otherwise than libphonenumber, if we do. */
function phoneDifference(phones, number) {
  if (phones.split_exchanges.some((e) => number.startsWith(e))) {
    return "we take whole an exchange that libphonenumber splits by the line number's first digit";
  }
  if ("01".includes(number[3]) && phones.valid.includes(number)) {
    return "the plan's exchanges start with 2-9; libphonenumber's data for some area codes (809, 829, 849) takes any seven digits";
  }
  return undefined;
}

test("phones agree with libphonenumber", (t) => {
  const phones = table("phones.json");
  const total = phones.valid.length + phones.invalid.length + phones.area_code_unassigned.length;
  assert.equal(total, 20_000);
  const disagreements = [];
  for (const [numbers, valid] of [[phones.valid, true], [phones.invalid, false]]) {
    for (const number of numbers) {
      if (contacts.normalizePhone(number).ok !== valid) disagreements.push(number);
    }
  }
  const missed = phones.area_code_unassigned.filter((number) => {
    const result = contacts.normalizePhone(number);
    return result.ok || result.errors[0].code !== "phone.area_code_not_in_use";
  });
  const agreed = total - disagreements.length - missed.length;
  const percent = (100 * agreed) / total;
  t.diagnostic(
    `NANP validity: ${agreed} of ${total} random numbers (${percent.toFixed(2)} %) judged as ` +
      `${phones.source}; ${phones.area_code_unassigned.length - missed.length} of its ` +
      `${phones.area_code_unassigned.length} refusals of an unassigned area code matched`,
  );
  assert.deepEqual(missed, [], "unassigned area codes not refused as such");
  assert.ok(percent >= MIN_PHONE_AGREEMENT, `${percent.toFixed(2)} %`);
  const unexplained = disagreements.filter((number) => !phoneDifference(phones, number));
  assert.deepEqual(unexplained, []);
});

/** What the reference expects: ISEMAIL_ERR refused, ISEMAIL_VALID_CATEGORY accepted, the rest as the HTML grammar says. */
function referenceAccepts({ category, whatwg }) {
  if (category === "ISEMAIL_ERR") return false;
  if (category === "ISEMAIL_VALID_CATEGORY") return true;
  return whatwg;
}

test("emails agree with isemail and the HTML standard", (t) => {
  const { tests } = table("isemail.json");
  const listed = new Map(table("email-differences.json").map((d) => [d.id, d]));
  const problems = [];
  let agreeing = 0;
  // In a contact a blank email is an absent one, so the suite's empty
  // address is not judged here (the model's Rust test judges it).
  const blank = tests.filter((test) => test.address.trim() === "");
  for (const test of tests.filter((test) => !blank.includes(test))) {
    const result = contacts.validateContact({ type: "billing", name: "N", email: test.address });
    if (!result.ok) {
      assert.deepEqual(
        result.errors.map((e) => e.path),
        ["contacts[billing].email"],
        `#${test.id}: only the email is wrong`,
      );
    }
    const differs = result.ok !== referenceAccepts(test);
    const difference = listed.get(test.id);
    if (!differs && !difference) agreeing += 1;
    else if (differs && difference?.address === test.address && difference.accepted === result.ok) continue;
    else problems.push(`#${test.id} ${JSON.stringify(test.address)} (${test.category}): ${result.ok ? "accepted" : "refused"}${difference ? ", listed" : ", not listed"}`);
  }
  t.diagnostic(
    `isemail: ${agreeing} of ${tests.length} as the reference, ${listed.size} listed as ` +
      `deliberate differences, ${blank.length} blank (an absent email)`,
  );
  assert.deepEqual(problems, []);
  assert.equal(agreeing + listed.size + blank.length, tests.length);
});
