// A small consumer of the package, type-checked with `tsc --noEmit --strict`
// against pkg/contacts_js.d.ts: it must compile without a cast or an `any`.
import init, {
  contactsRequestSchema,
  formatPhone,
  normalizePhone,
  parseResponse,
  validateContact,
  validateContactsRequest,
  validateEzpayId,
  type Contact,
  type ContactType,
  type ContactsRequest,
  type Envelope,
  type ErrorCode,
  type JsonSchema,
  type ResponseErrorCode,
  type ValidationResult,
} from "../../../pkg/contacts_js.js";

export async function save(form: unknown, ezpayId: string): Promise<string> {
  await init();
  const id: ValidationResult<string> = validateEzpayId(ezpayId);
  if (!id.ok) return id.errors.map((e) => `${e.path}: ${e.message}`).join("\n");

  const request: ValidationResult<ContactsRequest> = validateContactsRequest(form);
  if (!request.ok) {
    const codes: ErrorCode[] = request.errors.map((e) => e.code);
    return codes.includes("name.required") ? "Enter a name." : codes.join(", ");
  }
  const types: ContactType[] = request.value.contacts.map((c) => c.type);
  const body = JSON.stringify(request.value);
  const response = await fetch(`/api/v1/customers/${id.value}/contacts`, { method: "POST", body });
  const parsed = parseResponse(await response.text());
  if (!parsed.ok) {
    const why: ResponseErrorCode = parsed.errors[0]?.code ?? "response.empty";
    return why;
  }
  return describe(parsed.value) + ` (${types.join(" and ")})`;
}

function describe(envelope: Envelope): string {
  switch (envelope.status) {
    case "Success":
      return `Saved ${envelope.request_tracking_id ?? ""}`;
    case "Failure":
      return `${envelope.error.code} ${envelope.error.message}: ${envelope.error.errors
        .map((e) => (e.field === undefined ? e.message : `${e.field}: ${e.message}`))
        .join("; ")}`;
  }
}

export function show(contact: unknown): string {
  const result = validateContact(contact);
  if (!result.ok) return result.errors[0]?.message ?? "";
  const valid: Contact = result.value;
  const phone: string | undefined = valid.work_phone;
  const digits = normalizePhone(phone ?? "");
  return `${valid.name} ${formatPhone(phone ?? "")} ${digits.ok ? digits.value : ""}`;
}

export const schema: JsonSchema = contactsRequestSchema();
