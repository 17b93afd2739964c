
/** One thing wrong with the input: where it is, which rule failed, and what to fix. */
export interface Issue<Code extends string> {
  /** A JSON path keyed by contact type, e.g. `contacts[billing].email`; `""` for the value as a whole. */
  path: string;
  /** A stable code, e.g. `email.missing_tld`: branch on this, not on the message. */
  code: Code;
  /** An English sentence that says what to fix. */
  message: string;
}

/** The result of a check: the normalised value, or every problem found. Never thrown. */
export type Outcome<T, Code extends string> =
  | { ok: true; value: T }
  | { ok: false; errors: Issue<Code>[] };

/** The result of a validation function. */
export type ValidationResult<T> = Outcome<T, ErrorCode>;

/** The result of `parseResponse`. */
export type ParseResult<T> = Outcome<T, ResponseErrorCode>;

/** The body of `POST /api/v1/customers/{eZpayID}/contacts`, validated and normalised. */
export interface ContactsRequest {
  /** The tracking id, where the body carries one (the `Request-Tracking-Id` header is preferred). */
  request_tracking_id?: string;
  /** One or two contacts, at most one of each type. */
  contacts: Contact[];
}

/** One detailed error of a Failure envelope. */
export interface ErrorItem {
  /** The actual error message. */
  message: string;
  /** The JSON path of the input at fault, e.g. `contacts[billing].email`, for validation errors. */
  field?: string;
  /** The stable validation code, e.g. `email.missing_tld`, for validation errors. */
  code?: string;
}

/** The `error` member of a Failure envelope. */
export interface ErrorBody {
  /** An error code such as `"500"` or `"404"`. */
  code: string;
  /** A short description such as `"Service Error"`. */
  message: string;
  /** The detailed errors. */
  errors: ErrorItem[];
}

/** `{"status":"Success","request_tracking_id":…}` */
export interface SuccessEnvelope {
  status: "Success";
  request_tracking_id?: string;
}

/** `{"status":"Failure","error":{…},"request_tracking_id":…}`; `status` is filled in when the body had none. */
export interface FailureEnvelope {
  status: "Failure";
  error: ErrorBody;
  request_tracking_id?: string;
}

/** A response of the Contacts API. */
export type Envelope = SuccessEnvelope | FailureEnvelope;

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON Schema document (draft 2020-12). */
export type JsonSchema = { [key: string]: JsonValue };
