// A small JSON Schema checker for the keywords contactsRequestSchema() uses,
// so the tests can show that what the validation returns fits the schema.
// It throws on a keyword it does not know, so a new keyword cannot be skipped.

const KNOWN = new Set([
  "$schema", "$id", "$defs", "$ref", "title", "description", "type", "properties",
  "required", "additionalProperties", "dependentRequired", "items", "minItems",
  "maxItems", "allOf", "contains", "minContains", "maxContains", "enum", "const",
  "minLength", "maxLength", "pattern", "format",
]);

const typeOf = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** Every way `value` breaks `schema`, as `path: keyword` strings. */
export function schemaErrors(root, value, schema = root, path = "") {
  const errors = [];
  const fail = (keyword) => errors.push(`${path || "/"}: ${keyword}`);
  for (const keyword of Object.keys(schema)) {
    if (!KNOWN.has(keyword)) throw new Error(`unsupported keyword ${keyword}`);
  }
  if (schema.$ref) {
    const target = schema.$ref.replace(/^#\//, "").split("/").reduce((s, k) => s[k], root);
    errors.push(...schemaErrors(root, value, target, path));
  }
  if (schema.type && typeOf(value) !== schema.type) return [...errors, `${path || "/"}: type`];
  if (schema.enum && !schema.enum.includes(value)) fail("enum");
  if ("const" in schema && schema.const !== value) fail("const");
  if (typeof value === "string") {
    const length = [...value].length;
    if (length < (schema.minLength ?? 0)) fail("minLength");
    if (length > (schema.maxLength ?? Infinity)) fail("maxLength");
    if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) fail("pattern");
  }
  if (Array.isArray(value)) {
    if (value.length < (schema.minItems ?? 0)) fail("minItems");
    if (value.length > (schema.maxItems ?? Infinity)) fail("maxItems");
    if (schema.items) value.forEach((v, i) => errors.push(...schemaErrors(root, v, schema.items, `${path}/${i}`)));
    if (schema.contains) {
      const matches = value.filter((v) => schemaErrors(root, v, schema.contains).length === 0).length;
      if (matches < (schema.minContains ?? 1)) fail("minContains");
      if (matches > (schema.maxContains ?? Infinity)) fail("maxContains");
    }
  }
  if (typeOf(value) === "object") {
    for (const key of schema.required ?? []) if (!(key in value)) fail(`required ${key}`);
    for (const [key, needs] of Object.entries(schema.dependentRequired ?? {})) {
      if (key in value) for (const k of needs) if (!(k in value)) fail(`dependentRequired ${k}`);
    }
    for (const [key, v] of Object.entries(value)) {
      const property = schema.properties?.[key];
      if (property) errors.push(...schemaErrors(root, v, property, `${path}/${key}`));
      else if (schema.additionalProperties === false) fail(`additionalProperties ${key}`);
    }
  }
  for (const sub of schema.allOf ?? []) errors.push(...schemaErrors(root, value, sub, path));
  return errors;
}
