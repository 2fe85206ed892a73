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
