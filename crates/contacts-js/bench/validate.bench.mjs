// Prints the speed of validateContactsRequest on the contract's sample request
// and the size of the package's wasm (raw and gzip). Run after building pkg/:
//   node crates/contacts-js/bench/validate.bench.mjs
// Bounded: at most 200 000 calls and about 2 seconds of measuring.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

import contacts, { pkgDir, sampleRequest } from "../tests/package.mjs";

const MAX_CALLS = 200_000;
const MAX_NS = 2e9;
const GZIP_BUDGET = 40 * 1024;

function measure(label, call) {
  for (let i = 0; i < 2_000; i++) call();
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (calls < MAX_CALLS && elapsed < MAX_NS) {
    for (let i = 0; i < 1_000; i++) call();
    calls += 1_000;
    elapsed = process.hrtime.bigint() - start;
  }
  const ns = Number(elapsed) / calls;
  console.log(`${label}: ${ns.toFixed(0)} ns per call (${calls} calls)`);
}

const result = contacts.validateContactsRequest(sampleRequest);
if (!result.ok) throw new Error(`the sample request does not validate: ${JSON.stringify(result)}`);
measure("validateContactsRequest(sample request)", () => contacts.validateContactsRequest(sampleRequest));
measure("normalizePhone(\"(914) 721-2006\")", () => contacts.normalizePhone("(914) 721-2006"));

const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
for (const file of ["contacts_js_bg.wasm", "contacts_js.js"]) {
  const bytes = readFileSync(new URL(file, pkgDir));
  const gzip = gzipSync(bytes, { level: 9 }).length;
  console.log(`${file}: ${kib(bytes.length)} raw, ${kib(gzip)} gzip`);
  if (file.endsWith(".wasm")) {
    const verdict = gzip <= GZIP_BUDGET ? "within" : "OVER";
    console.log(`  ${verdict} the ${kib(GZIP_BUDGET)} gzip target for the validation wasm`);
  }
}
