/**
 * node:sqlite, loaded without its one-time "SQLite is an experimental feature" ExperimentalWarning
 * (Node 22). Only that warning is dropped; every other warning still reaches process.emitWarning.
 */
import { createRequire } from "node:module";

type SqliteModule = typeof import("node:sqlite");

function loadQuietly(): SqliteModule {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (/SQLite is an experimental feature/.test(text)) return;
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return createRequire(import.meta.url)("node:sqlite") as SqliteModule;
  } finally {
    process.emitWarning = emit;
  }
}

export const { DatabaseSync } = loadQuietly();
export type DatabaseSync = InstanceType<SqliteModule["DatabaseSync"]>;

/**
 * The source of a worker thread (plain CommonJS, for `new Worker(source, { eval: true, workerData })`) that
 * owns one connection to `workerData.path` (node:sqlite loaded quietly, a 5 s busy timeout), runs `setup`
 * once with `db` in scope, and answers each message `m` other than "close" by running `handle` (with `db`
 * and `m` in scope): `{ ok: true }`, or `{ ok: false, error }` if it threw. "close" closes the connection and
 * ends the worker.
 */
export function sqliteWorkerSource(setup: string, handle: string): string {
  return `
const { parentPort, workerData } = require("node:worker_threads");
const emit = process.emitWarning;
process.emitWarning = (w, ...rest) => (/SQLite is an experimental feature/.test(typeof w === "string" ? w : w.message) ? undefined : emit.call(process, w, ...rest));
const { DatabaseSync } = require("node:sqlite");
const db = new DatabaseSync(workerData.path);
db.exec("PRAGMA busy_timeout = 5000");
${setup}
parentPort.on("message", (m) => {
  if (m === "close") {
    db.close();
    parentPort.close();
    return;
  }
  try {
    ${handle}
    parentPort.postMessage({ ok: true });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String(e && e.message || e) });
  }
});
`;
}
