/**
 * The text encoding of log records and snapshots: JSON in which every bigint is written as a decimal
 * string with an `n` suffix ("123n", "-5n") and read back as a bigint. Other strings pass unchanged, so
 * a record must never hold a plain string of that exact shape (none of the sequencer's do: hashes are
 * 0x-hex, decimal fields of snapshots have no suffix).
 */

const BIGINT = /^-?\d+n$/;

function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? `${value}n` : value;
}

const N = "n".charCodeAt(0);

function reviver(_key: string, value: unknown): unknown {
  // The last-character test first: most strings are not bigints, and it is far cheaper than the regex.
  return typeof value === "string" && value.charCodeAt(value.length - 1) === N && BIGINT.test(value) ? BigInt(value.slice(0, -1)) : value;
}

/** JSON text of `value`, bigints included. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, replacer);
}

/** The value `encodeJson` wrote; throws a SyntaxError on text that is not JSON. */
export function decodeJson<T>(text: string): T {
  return JSON.parse(text, reviver) as T;
}
