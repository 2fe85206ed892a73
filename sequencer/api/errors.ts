/**
 * The API's error type and the two ways requests fail before the Sequencer sees them: a shape that
 * does not parse (MALFORMED), or UNSIGNED when a missing signature is all that is wrong. Shared by the HTTP
 * routes and the WebSocket so both answer a bad request with the same code.
 */
import type { ZodError, ZodIssue, ZodType, ZodTypeDef } from "zod";
import { RequestRejected } from "../service/sequencer.ts";
import { MalformedFrame } from "../wire/orderFrames.ts";

/** An error the API answers with an HTTP status (or its WebSocket equivalent) and a code. */
export class ApiError extends Error {
  constructor(readonly statusCode: number, readonly code: string, message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
  }

  /** The JSON body of the error: {code, message, ...extra}. */
  body(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.extra };
  }
}

/** The ApiError an error thrown while serving a request stands for (a binary frame that does not decode is MALFORMED), or undefined for an internal error. */
export function apiErrorOf(e: unknown): ApiError | undefined {
  if (e instanceof ApiError) return e;
  if (e instanceof MalformedFrame) return new ApiError(400, "MALFORMED", e.message);
  return undefined;
}

/** True when the only thing wrong is a missing signature (of the request or of batch items). */
const missingSignature = (error: ZodError) =>
  error.issues.every((i) => i.path.at(-1) === "signature" && i.code === "invalid_type" && i.received === "undefined");

export function malformed(error: ZodError, what: string): ApiError {
  if (missingSignature(error)) return new ApiError(400, "UNSIGNED", `${what} has no signature`);
  const first = error.issues[0];
  const where = first.path.length ? `${first.path.join(".")}: ` : "";
  const issues = error.issues.slice(0, MAX_REPORTED_ISSUES).map(reportedIssue);
  return new ApiError(400, "MALFORMED", `${what}: ${where}${first.message}`, { issues, ...(error.issues.length > issues.length ? { issueCount: error.issues.length } : {}) });
}

/**
 * An issue as a MALFORMED answer lists it: zod's code, the path, the message, and what was expected or (for a wrong
 * type) the type received when those are plain values; never the value received. (Wire fuzz of 2026-12-07: a union's
 * issues carried `received`, the client's value itself, so a field sent as an array nested 3,000 deep was echoed as
 * deep, and the answer's serialisation overflowed the stack: Fastify then answered a bare `{statusCode, error,
 * message}` without a code.)
 */
function reportedIssue(issue: ZodIssue): Record<string, unknown> {
  const plain = (v: unknown) => typeof v === "string" || typeof v === "number" || typeof v === "boolean";
  const { code, path, message } = issue;
  const expected = "expected" in issue && plain(issue.expected) ? { expected: issue.expected } : {};
  const received = issue.code === "invalid_type" ? { received: issue.received } : {};
  return { code, path, message, ...expected, ...received };
}

/** Most zod issues a MALFORMED answer lists (`issueCount` then says how many there were). */
export const MAX_REPORTED_ISSUES = 20;

/** The parsed value, or throws MALFORMED / UNSIGNED. */
export function parse<T>(schema: ZodType<T, ZodTypeDef, unknown>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw malformed(r.error, what);
  return r.data;
}

/**
 * The Sequencer's refusal as a 400 with its code (BAD_SIGNATURE, ORDER_ID_REUSED, BAD_NONCE, ...); RATE_LIMITED is a
 * 429 and BACKLOG_FULL a 503 (the request was fine: retry once batches catch up, service/backlog.ts).
 */
export function rejectedError(e: RequestRejected): ApiError {
  return new ApiError(e.code === "RATE_LIMITED" ? 429 : e.code === "BACKLOG_FULL" ? 503 : 400, e.code, e.message);
}

/** Runs a Sequencer call, turning RequestRejected into its ApiError. */
export function intake<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RequestRejected) throw rejectedError(e);
    throw e;
  }
}
