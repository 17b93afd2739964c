// Prints the speed of validateContactsRequest on the contract's sample request
// and the size of the package's wasm (raw and gzip). Run after building pkg/:
//   node crates/contacts-js/bench/validate.bench.mjs [--baseline DIR]
// With --baseline, DIR is another build of the package (for example pkg/ as
// built before a change, copied aside): both are measured in turns, in one
// process, and the medians are printed side by side.
// Bounded: 60 rounds of 1 000 calls per package and call.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

import contacts, { pkgDir, sampleRequest } from "../tests/package.mjs";

const ROUNDS = 60;
const CALLS_PER_ROUND = 1_000;
const GZIP_BUDGET = 40 * 1024;

/** Loads the package built in `dir`, the way tests/package.mjs loads pkg/. */
async function load(dir) {
  const url = pathToFileURL(`${dir.replace(/\/$/, "")}/`);
  const pkg = await import(new URL("contacts_js.js", url));
  pkg.initSync({ module: readFileSync(new URL("contacts_js_bg.wasm", url)) });
  return pkg;
}

function baselineDir() {
  const at = process.argv.indexOf("--baseline");
  if (at === -1) return null;
  const dir = process.argv[at + 1];
  if (!dir) throw new Error("usage: validate.bench.mjs [--baseline DIR]");
  return dir;
}

/** Nanoseconds per call of one round of `call`. */
function round(call) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS_PER_ROUND; i++) call();
  return Number(process.hrtime.bigint() - start) / CALLS_PER_ROUND;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Measures `call` of each package in turns and prints the medians. */
function measure(label, packages, call) {
  const times = packages.map(() => []);
  for (const { pkg } of packages) for (let i = 0; i < 2_000; i++) call(pkg);
  for (let r = 0; r < ROUNDS; r++) {
    // Alternating which goes first, so that neither always follows the other.
    const order = r % 2 === 0 ? packages.keys() : [...packages.keys()].reverse();
    for (const i of order) times[i].push(round(() => call(packages[i].pkg)));
  }
  const medians = times.map(median);
  const figures = packages.map(({ name }, i) => `${name} ${medians[i].toFixed(0)} ns`).join(", ");
  const ratio = medians.length === 2 ? ` (this build ÷ baseline: ${(medians[0] / medians[1]).toFixed(3)})` : "";
  console.log(`${label}: ${figures} per call, median of ${ROUNDS} rounds of ${CALLS_PER_ROUND}${ratio}`);
}

const packages = [{ name: "this build", pkg: contacts }];
const baseline = baselineDir();
if (baseline) packages.push({ name: "baseline", pkg: await load(baseline) });
for (const { name, pkg } of packages) {
  const result = pkg.validateContactsRequest(sampleRequest);
  if (!result.ok) throw new Error(`${name}: the sample request does not validate: ${JSON.stringify(result)}`);
}
measure("validateContactsRequest(sample request)", packages, (pkg) => pkg.validateContactsRequest(sampleRequest));
measure('normalizePhone("(914) 721-2006")', packages, (pkg) => pkg.normalizePhone("(914) 721-2006"));

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
