/**
 * Requests to an API server without a socket (fastify's inject), as a client would send them: bodies
 * with bigints as decimal strings; answers as status and parsed JSON.
 */
import { toJson } from "../../sequencer/wire/schemas.ts";
import type { createApiServer } from "../../sequencer/api/server.ts";

export type App = ReturnType<typeof createApiServer>;

/** A request body as a client sends it: bigints as decimal strings. */
export const wire = (x: unknown) => JSON.parse(toJson(x)) as Record<string, unknown>;

export async function post(app: App, url: string, body: unknown) {
  const res = await app.inject({ method: "POST", url, payload: typeof body === "string" ? body : toJson(body), headers: { "content-type": "application/json" } });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

export async function get(app: App, url: string) {
  const res = await app.inject({ method: "GET", url });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

/** A binary body (application/octet-stream), e.g. order records. */
export async function postBinary(app: App, url: string, bytes: Uint8Array) {
  const res = await app.inject({ method: "POST", url, payload: Buffer.from(bytes), headers: { "content-type": "application/octet-stream" } });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}
