// Loads the built package from pkg/ the way a Node 20 user does, once for
// every test file and the bench that imports this module.
import { readFileSync } from "node:fs";

/** The folder `cargo xtask dist` writes the package to. */
export const pkgDir = new URL("../../../pkg/", import.meta.url);

let contacts;
try {
  contacts = await import(new URL("contacts_js.js", pkgDir));
} catch (error) {
  throw new Error(`pkg/ is not built (run \`cargo xtask dist\`): ${error.message}`);
}
contacts.initSync({ module: readFileSync(new URL("contacts_js_bg.wasm", pkgDir)) });

export default contacts;

/** The contract's sample request, exactly as the document shows it. */
export const sampleRequest = Object.freeze({
  contacts: [
    {
      type: "billing",
      work_phone: "9147212006",
      work_phone_extension: "2006",
      organization_name: "APPLE BANK FOR SAVINGS",
      email: "IDZAFEROVIC@APPLE-BANK.COM",
      name: "John Smith",
      mobile_phone: "9147212006",
      fax: "9147212006",
    },
    {
      type: "service",
      work_phone: "9147212006",
      work_phone_extension: "2006",
      organization_name: "APPLE BANK FOR SAVINGS",
      name: "John Smith",
      mobile_phone: "9147212006",
      fax: "9147212006",
    },
  ],
});

/** The shared validation cases of the model crate (one file for Rust and JS). */
export const cases = JSON.parse(
  readFileSync(new URL("../../contacts-model/tests/cases.json", import.meta.url), "utf8"),
);
