/**
 * A wire-level fuzz of the network API as a hostile trader (property test, seeded): the real server (createApiServer
 * over the offline derivatives sequencer, listening on a loopback port, a SQLite log) with funded accounts and resting
 * orders on a spot market and a perpetual, sent mutations of a valid, correctly signed example of every write: the
 * REST bodies (orders, order batches as JSON and as binary records, cancels, cancel batches, withdrawals, transfers,
 * oracle updates), the WebSocket's JSON messages (subscribe, unsubscribe, snapshot, batches, auth, order, cancel) and
 * its binary order frames; and the GET routes with hostile path parameters and query strings. Mutations: a field
 * removed, set to null or to a value of the wrong type, huge and negative numbers, decimal strings with leading zeros,
 * signs, exponents and whitespace, values at and past every bound (2^16, 2^32, 2^40, 2^64, 2^96, 2^128, 2^253, the
 * field modulus), duplicated keys, extra fields, deep nesting, long strings, non-UTF-8 bytes, truncated and oversized
 * bodies and frames, wrong content types, and in-width values signed correctly (the signature holds, so the value
 * checks are what must refuse: zero amounts and sizes, unregistered markets and tokens, extreme expiries, fees, ids,
 * nonces, triggers; signatures with S at and past the subgroup order, R8 off the curve).
 *
 * Asserted for every case: the answer is the documented success or a documented error (a 4xx / 429 / 503 with
 * {code, message} and a code docs/client.md lists; on the WebSocket an error matched by `ref`), never a 5xx, a hang,
 * a dropped connection (but for a frame over 16 KiB and the third failed auth), an error logged by the server or an
 * unhandled rejection; a refused case changes nothing (the sequencer's snapshot, the log's last record, the intake
 * queue); the server answers a valid request afterwards; and what a case got accepted is provable: the sequencer
 * drains it through the batch witness builder (every circuit rule checked in TypeScript) with no rejection.
 *
 * WIRE_FUZZ_SEED=7 WIRE_FUZZ_CASES=200 runs another seed with more cases per target (default 20).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { createApiServer } from "../../sequencer/api/server.ts";
import { SqliteStore } from "../../sequencer/persistence/sqliteStore.ts";
import { FIELD_MODULUS, INSTRUMENT_MARKET_BASE, OrderType, Side, TimeInForce, TriggerType, TxType } from "../../sequencer/protocol/constants.ts";
import type { Order, Signed } from "../../sequencer/protocol/messages.ts";
import { signCancel, signOrder, signStreamAuth, signTransfer, signWithdrawal } from "../../sequencer/protocol/signing.ts";
import { signOracleUpdate } from "../../sequencer/derivatives/oracleSigner.ts";
import { SUBGROUP_ORDER } from "../../sequencer/crypto/babyjub.ts";
import { encodeOrderRecords, ORDER_RECORD_BYTES } from "../../sequencer/protocol/orderRecords.ts";
import { encodeOrderFrame } from "../../sequencer/wire/orderFrames.ts";
import { toJson } from "../../sequencer/wire/schemas.ts";
import type { Sequencer } from "../../sequencer/service/sequencer.ts";
import { EXPIRY, NOW, ORACLE_KEY, PRICE, VOLS, traders } from "../helpers/derivatives.ts";
import { derivativesSequencer, fundCollateral, type FakeChain } from "../helpers/derivativesSequencer.ts";
import type { TestTrader } from "../helpers/traders.ts";
import { prng } from "../helpers/prng.ts";

const SEED = Number(process.env.WIRE_FUZZ_SEED ?? 1);
const CASES = Number(process.env.WIRE_FUZZ_CASES ?? 20);
/** An answer that takes longer than this is a hang. */
const ANSWER_MS = 10_000;

const r = prng(SEED);

/** Every error code docs/client.md names (a backticked UPPER_CASE word). */
const DOC_CODES = new Set([...readFileSync("docs/client.md", "utf8").matchAll(/`([A-Z][A-Z0-9_]{2,})`/g)].map((m) => m[1]!));

const { alice, bob, carol } = traders;
const SPOT = 0;
const PERP = INSTRUMENT_MARKET_BASE;
const keyOf = (accountId: number): TestTrader => [alice, bob, carol].find((t) => t.accountId === accountId) ?? alice;

// ---- hostile values -------------------------------------------------------------------------------

const P = FIELD_MODULUS;
const pow = (n: number) => 1n << BigInt(n);
/** Decimal strings at and past every documented bound, and strings that are almost decimals. */
const BOUND_STRINGS = [
  ...[16, 32, 40, 50, 53, 64, 96, 128, 253, 254, 256].flatMap((b) => [pow(b) - 1n, pow(b), pow(b) + 1n].map(String)),
  String(P - 1n), String(P), String(P + 1n), String(SUBGROUP_ORDER - 1n), String(SUBGROUP_ORDER), String(2n * P),
  "0", "1", "-1", "-0", "00", "01", "+1", "1e3", "1E3", "1.0", "1.", ".5", " 1", "1 ", "\t1", "1\n", "0x10", "0b1", "0o7",
  "１", "١", "1_000", "1,000", "Infinity", "NaN", "", " ", "9".repeat(80), "9".repeat(5000), "1".padStart(78, "0"),
];
/** JSON numbers at and past the bounds (JSON has no NaN: the serializer writes null). */
const BOUND_NUMBERS = [
  0, 1, -1, -0, 0.5, 1.5, -1.5, 255, 256, 65_535, 65_536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2,
  2 ** 64, 2 ** 96, 2 ** 128, 1e308, -1e308, Number.MIN_VALUE, 1e21, 32768, 32769, 32767,
];
const WRONG_TYPES: unknown[] = [null, true, false, [], {}, [1], ["1"], { a: 1 }, "x", "true", "null", "[]", "{}", "𝄞", "\u0000", "a".repeat(70)];

function hostileValue(): unknown {
  const k = r.f();
  if (k < 0.4) return r.pick(BOUND_STRINGS);
  if (k < 0.75) return r.pick(BOUND_NUMBERS);
  return r.pick(WRONG_TYPES);
}

// ---- JSON mutations ---------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

function paths(v: Json, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function setAt(v: Json, path: Path, f: (old: Json | undefined) => Json | undefined): Json | undefined {
  if (path.length === 0) return f(v);
  const copy: any = Array.isArray(v) ? [...v] : { ...(v as object) };
  const [k, ...rest] = path;
  const next = setAt(copy[k as string], rest, f);
  if (next === undefined) {
    if (Array.isArray(copy)) copy.splice(k as number, 1);
    else delete copy[k as string];
  } else copy[k as string] = next;
  return copy;
}

/** A raw body to send: a string or bytes, and what it was (for the failure message). */
type Raw = { body: string | Uint8Array; what: string; contentType?: string | null };

/** A mutation of a JSON body (one field or the whole body), or a raw body built from it. */
function mutateJson(valid: Json): Raw {
  const k = r.f();
  const text = toJson(valid);
  if (k < 0.6) {
    const ps = paths(valid);
    const p = r.pick(ps);
    const op = r.f();
    if (op < 0.2 && p.length > 0) return { body: toJson(setAt(valid, p, () => undefined)), what: `removed ${p.join(".")}` };
    if (op < 0.3) return { body: toJson(setAt(valid, p, () => null) ?? null), what: `${p.join(".")} = null` };
    const v = hostileValue();
    return { body: toJson(setAt(valid, p, () => v as Json) ?? null), what: `${p.join(".") || "(body)"} = ${JSON.stringify(v)?.slice(0, 60)}` };
  }
  const whole: (() => Raw)[] = [
    () => ({ body: text.replace("{", `{"accountId":${r.pick([2, 3, 4, -1, 2 ** 32])},`), what: "a duplicated accountId key first" }),
    () => ({ body: text.replace(/}$/, `,"accountId":${r.pick([2, 3, 4])}}`), what: "a duplicated accountId key last" }),
    () => {
      const keys = Object.keys(valid as object);
      const key = r.pick(keys);
      return { body: text.replace(/}$/, `,${JSON.stringify(key)}:${JSON.stringify(hostileValue())}}`), what: `a duplicated key ${key} last` };
    },
    () => ({ body: text.replace(/}$/, `,${JSON.stringify(r.pick(["extra", "__proto__", "constructor", "prototype", "toString", "", "signature2", "id"]))}:${r.pick(["1", "{}", '{"x":1}', '{"prototype":{"x":1}}', "null"])}}`), what: "an extra field" }),
    () => {
      const depth = r.pick([50, 1000, 5000, 7000]);
      return { body: "[".repeat(depth) + "]".repeat(depth), what: `nested arrays ${depth} deep` };
    },
    () => {
      const depth = r.pick([50, 1000, 2000]);
      return { body: '{"a":'.repeat(depth) + "1" + "}".repeat(depth), what: `nested objects ${depth} deep` };
    },
    () => {
      const depth = r.pick([100, 1000, 7000]);
      const ps = paths(valid).filter((p) => p.length > 0);
      const p = r.pick(ps);
      const nested = r.chance(0.5) ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
      return { body: toJson(setAt(valid, p, () => "@@NEST@@")).replace('"@@NEST@@"', nested), what: `${p.join(".")} nested ${depth} deep` };
    },
    () => ({ body: text.slice(0, r.int(text.length)), what: "truncated" }),
    () => ({ body: text + r.pick(["x", "}", " {}", "\u0000", "\n\n", ",", "[]"]), what: "trailing bytes" }),
    () => {
      const bytes = Buffer.from(text);
      const at = r.int(bytes.length);
      const out = Buffer.concat([bytes.subarray(0, at), Buffer.from([r.pick([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xf8])]), bytes.subarray(at)]);
      return { body: out, what: `a non-UTF-8 byte at ${at}` };
    },
    () => {
      const bytes = Buffer.from(text);
      const m = text.indexOf('"', 2);
      const out = Buffer.concat([bytes.subarray(0, m + 1), Buffer.from([0xc3, 0x28, 0xa0, 0xa1]), bytes.subarray(m + 1)]);
      return { body: out, what: "an invalid UTF-8 sequence inside a key" };
    },
    () => ({ body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), what: "a byte-order mark" }),
    () => ({ body: Buffer.from(text, "utf16le"), what: "UTF-16" }),
    () => ({ body: r.pick(["", " ", "null", "0", "1", "true", '"x"', "[]", "[{}]", "{}", JSON.stringify([valid]), "{,}", "{'a':1}", "NaN"]), what: "a body of another shape" }),
    () => ({ body: text.replace(/}$/, `,"pad":"${"x".repeat(r.pick([3_000, 16_000, 17_000, 140_000]))}"}`), what: "a long string (near and past the body limit)" }),
    () => ({ body: text.replace(/"(\d+)"/, (_m, d) => `"${d}${"\u0000"}"`), what: "a NUL inside a decimal string" }),
    () => ({ body: text.replace(/"(\d+)"/, (_m, d) => d), what: "a decimal string sent as a JSON number" }),
    () => ({ body: text.replace(/:(\d+)([,}])/, (_m, d, e) => `:"${d}"${e}`), what: "a JSON integer sent as a string" }),
    () => ({ body: text.replace(/:(\d+)([,}])/, (_m, d, e) => `:${d}.0${e}`), what: "a JSON integer with .0" }),
    () => ({ body: text.replace(/:(\d+)([,}])/, (_m, d, e) => `:${d}e0${e}`), what: "a JSON integer with an exponent" }),
    () => ({ body: text.replace(/:(\d+)([,}])/, (_m, d, e) => `:-${d}${e}`), what: "a negative JSON integer" }),
    () => ({ body: text.replace(/:(\d+)([,}])/, (_m, d, e) => `:0${d}${e}`), what: "a JSON integer with a leading zero (not JSON)" }),
    () => ({ body: text, contentType: r.pick([null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "APPLICATION/JSON", "application/json;charset=latin1", "application/jsonx", "application/octet-stream", "application/*", "*/*", "application/json, text/plain", "application/json; charset=\"utf-8\""]), what: "another content type" }),
  ];
  return r.pick(whole)();
}

// ---- the exchange -----------------------------------------------------------------------------------

type World = {
  seq: Sequencer;
  chain: FakeChain;
  store: SqliteStore;
  address: string;
  app: ReturnType<typeof createApiServer>;
  errors: string[];
  rejected: string[];
};

/** Order ids: strictly increasing per account, above every id accepted in the slot (ids only grow per slot, 6.1). */
const slotMax = new Map<string, bigint>();
const nextIds = new Map<number, bigint>();
const SLOTS = 16n;
/** The slots of an account's live (resting or held) orders: a new id must avoid them (ORDER_SLOT_BUSY). */
let liveSlots: (accountId: number) => Set<bigint> = () => new Set();
function nextOrderId(accountId: number): bigint {
  let id = nextIds.get(accountId) ?? 1n;
  const busy = liveSlots(accountId);
  while ((slotMax.get(`${accountId}:${id % SLOTS}`) ?? -1n) >= id || (busy.has(id % SLOTS) && busy.size < Number(SLOTS))) id++;
  nextIds.set(accountId, id + 1n);
  return id;
}
function noteOrderIds(body: unknown): void {
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o.accountId === "number" && typeof o.orderId === "string" && (o.type === "accepted" || o.type === "held")) {
        const id = BigInt(o.orderId);
        const key = `${o.accountId}:${id % SLOTS}`;
        if ((slotMax.get(key) ?? -1n) < id) slotMax.set(key, id);
      }
      Object.values(o).forEach(walk);
    }
  };
  walk(body);
}

const nonces = new Map<number, number>();

function baseOrder(t: TestTrader, fields: Partial<Order>): Order {
  return {
    accountId: t.accountId, orderId: nextOrderId(t.accountId), marketId: SPOT, side: Side.BUY, type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC, priceTicks: 100n, sizeLots: 1n, maxFeePpm: 1000, expiry: 2_000_000_000, ...fields,
  };
}

/** bob's ask and carol's bid on the spot market, bob's ask and carol's bid on the perpetual: what the fuzz's takers trade with. */
function restock(w: World): void {
  const want: [TestTrader, number, Side, bigint][] = [[bob, SPOT, Side.SELL, 200n], [carol, PERP, Side.BUY, 290_000n], [bob, PERP, Side.SELL, 310_000n]];
  for (const [t, marketId, side, priceTicks] of want) {
    const has = w.seq.engine.openOrders(t.accountId).some((o) => o.marketId === marketId && o.side === side && o.priceTicks === priceTicks && o.remainingLots >= 50n);
    if (has) continue;
    const sizeLots = marketId === SPOT ? 200n : 2_000n;
    // (refused when an accepted oracle update moved the mark far: the fuzz's takers then find less to trade with)
    w.seq.placeOrder(signOrder(t.key, baseOrder(t, { marketId, side, priceTicks, sizeLots })));
  }
}

/** After an accepted oracle update at another price: one at PRICE again (the next second), so the book's prices stay near the mark. */
async function remark(w: World): Promise<void> {
  const latest = w.seq.derivatives.latest;
  if (!latest || (latest.prices[0] === PRICE && !latest.rates.some((x) => x !== 0n))) return;
  w.chain.now = Math.max(w.chain.now, latest.time) + 1;
  await w.seq.acceptOracleUpdate(signOracleUpdate(ORACLE_KEY, { time: w.chain.now, fundingEpoch: latest.fundingEpoch, prices: [PRICE], volSlices: VOLS, rates: [0n, 0n, 0n, 0n] }));
}

/** Cancels every open and held order but the resting ones restock keeps, and proves what is pending. */
async function settle(w: World, why: string): Promise<void> {
  for (const t of [alice, bob, carol]) {
    const keep = (o: { marketId: number; side: Side; priceTicks: bigint; remainingLots: bigint }) => o.remainingLots >= 50n && (
      (t === bob && ((o.marketId === SPOT && o.side === Side.SELL && o.priceTicks === 200n) || (o.marketId === PERP && o.side === Side.SELL && o.priceTicks === 310_000n))) ||
      (t === carol && o.marketId === PERP && o.side === Side.BUY && o.priceTicks === 290_000n));
    const ids = [...w.seq.engine.openOrders(t.accountId).filter((o) => !keep(o)).map((o) => o.orderId), ...w.seq.heldOrders(t.accountId).map((h) => h.order.orderId)];
    for (const orderId of ids) w.seq.cancelOrder(signCancel(t.key, { accountId: t.accountId, orderId }));
  }
  try {
    await remark(w);
    await w.seq.drain();
  } catch (e) {
    assert.fail(`${why}: the next batch does not build: ${(e as Error).stack}`);
  }
  assert.deepEqual(w.rejected, [], `${why}: a batch rejected what intake accepted`);
  assert.equal(w.seq.pendingTransactions, 0, `${why}: settled`);
  assert.ok(w.seq.health().ok, `${why}: health ${toJson(w.seq.health())}`);
  for (const t of [alice, bob, carol]) nonces.set(t.accountId, w.seq.withdrawalNonce(t.accountId));
  restock(w);
}

/**
 * What a refused request must leave as it was: the sequencer's whole snapshot, its log and the intake queue. A command
 * the matching engine refused (422) ran through the engine: it is logged and took the engine's next command number
 * (its `done` event's `seq`), so those two are compared only for the other refusals (`engineRan` false).
 */
function digest(w: World, engineRan = false): string {
  const snapshot = w.seq.snapshot() as unknown as { engine: { nextSeq?: number } };
  if (engineRan) delete snapshot.engine.nextSeq;
  return toJson({ snapshot, lastSeq: engineRan ? null : w.store.lastSeq, queued: w.app.api.intake.queued, pending: w.seq.pendingTransactions });
}

/** Two digests, or where they first differ. */
function sameDigest(after: string, before: string, where: string): void {
  if (after === before) return;
  let i = 0;
  while (i < after.length && after[i] === before[i]) i++;
  assert.fail(`${where}\n  before: …${before.slice(Math.max(0, i - 200), i + 100)}…\n  after:  …${after.slice(Math.max(0, i - 200), i + 100)}…`);
}

/** Whether a refusal came from the matching engine (422 with its events), which logs the command and numbers it. */
const engineRefusal = (status: number, body: unknown) => status === 422 && Array.isArray((body as { events?: unknown } | null)?.events);

/** What the suite's `after` undoes, in order (the server first). */
const cleanups: (() => Promise<void>)[] = [];

async function makeWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "wirefuzz-"));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const store = new SqliteStore(join(dir, "s.db"));
  const { seq, chain } = derivativesSequencer(NOW - 5, { store });
  seq.acceptRequest({ type: TxType.REGISTER_MARKET, marketId: SPOT, baseTokenId: 1, sizeUnit: 1000n, priceUnit: 10n });
  seq.acceptRequest({ type: TxType.DEPOSIT, accountId: bob.accountId, tokenId: 1, amount: 10_000_000_000n });
  await fundCollateral(seq, [alice, bob, carol], 40_000_000_000n);
  chain.now = NOW;
  const rejected: string[] = [];
  seq.events.on("rejected", (x: unknown) => rejected.push(toJson(x)));
  const errors: string[] = [];
  const logger = {
    level: "error",
    stream: { write: (line: string) => errors.push(line) },
  };
  const app = createApiServer(seq, { logger, stream: { snapshotIntervalMs: 0, heartbeatMs: 0 } });
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  cleanups.unshift(async () => {
    await app.close();
    store.close();
  });
  const w: World = { seq, chain, store, address, app, errors, rejected };
  liveSlots = (accountId) => new Set([...seq.engine.openOrders(accountId).map((o) => o.orderId % SLOTS), ...seq.heldOrders(accountId).map((h) => h.order.orderId % SLOTS)]);
  await settle(w, "setup");
  return w;
}

// ---- valid examples -----------------------------------------------------------------------------------

/** A valid order as alice (or `t`) sends it, signed; `fields` override before signing (a signed mutation). */
function validOrder(fields: Partial<Order> = {}, t: TestTrader = alice): Signed<Order> {
  const kind = r.int(4);
  const o =
    kind === 0 ? baseOrder(t, { marketId: SPOT, side: Side.BUY, priceTicks: 200n, sizeLots: 1n }) // takes bob's spot ask
    : kind === 1 ? baseOrder(t, { marketId: SPOT, side: Side.BUY, priceTicks: 50n, sizeLots: 2n }) // rests
    : kind === 2 ? baseOrder(t, { marketId: PERP, side: r.pick([Side.BUY, Side.SELL]), priceTicks: r.pick([290_000n, 310_000n]), sizeLots: 3n, timeInForce: TimeInForce.IOC, expiry: NOW + 300 })
    : baseOrder(t, { marketId: PERP, side: Side.SELL, priceTicks: 280_000n, sizeLots: 2n, triggerType: TriggerType.STOP, triggerPriceTicks: 295_000n, reduceOnly: r.chance(0.3) });
  return signOrder(t.key, { ...o, ...fields });
}

/** In-width values of every order field, signed correctly: the sequencer's value checks must refuse what is wrong. */
function signedOrderMutation(): { order: Signed<Order>; what: string } {
  const field = r.pick(["accountId", "orderId", "marketId", "side", "type", "timeInForce", "priceTicks", "sizeLots", "maxFeePpm", "expiry", "reduceOnly", "trigger", "combo"] as const);
  const v = (xs: readonly (number | bigint | boolean)[]) => r.pick(xs);
  const fields: Partial<Order> = (() => {
    switch (field) {
      case "accountId": return { accountId: v([0, 2, 3, 4, 15, 16, 2 ** 32 - 1]) as number };
      case "orderId": return { orderId: v([0n, 16n, pow(40) - 1n, pow(40) - 16n]) as bigint };
      case "marketId": return { marketId: v([1, 2, 3, 4, 255, 2 ** 15 - 1, PERP + 1, PERP + 2, PERP + 3, PERP + 4, PERP + 15, 2 ** 16 - 1]) as number };
      case "side": return { side: v([0, 1]) as Side };
      case "type": return { type: v([0, 1]) as OrderType };
      case "timeInForce": return { timeInForce: v([0, 1, 2, 3]) as TimeInForce };
      case "priceTicks": return { priceTicks: v([0n, 1n, pow(20), pow(39), pow(40) - 1n]) as bigint };
      case "sizeLots": return { sizeLots: v([0n, 1n, 199n, 200n, 201n, 100_000n, pow(32), pow(40) - 1n]) as bigint };
      case "maxFeePpm": return { maxFeePpm: v([0, 1, 99, 100, 499, 500, 1_000_000, 1_000_001, 2 ** 16 - 1]) as number };
      case "expiry": return { expiry: v([0, 1, NOW - 1, NOW, NOW + 1, NOW + 600, NOW + 601, EXPIRY, 2 ** 32 - 1]) as number };
      case "reduceOnly": return { reduceOnly: v([true, false]) as boolean };
      case "trigger": return { triggerType: v([0, 1, 2]) as TriggerType, triggerPriceTicks: v([0n, 1n, 295_000n, 305_000n, pow(40) - 1n]) as bigint };
      case "combo": return { type: OrderType.MARKET, timeInForce: v([0, 1, 2, 3]) as TimeInForce, priceTicks: v([0n, 1n, pow(40) - 1n]) as bigint, expiry: v([NOW + 10, 2 ** 32 - 1]) as number };
    }
  })();
  const t = fields.accountId !== undefined ? keyOf(fields.accountId) : alice;
  try {
    return { order: validOrder(fields, t), what: `signed ${toJson(fields)}` };
  } catch {
    return { order: validOrder(), what: "valid (the signer refused the mutation)" };
  }
}

/** A signature that is well-formed on the wire but no valid EdDSA signature: S at or past the subgroup order, R8 off the curve or not canonical. */
function badSignature(sig: Signed<object>["signature"]): { signature: Signed<object>["signature"]; what: string } {
  const k = r.int(6);
  if (k === 0) return { signature: { ...sig, s: sig.s + SUBGROUP_ORDER < P ? sig.s + SUBGROUP_ORDER : SUBGROUP_ORDER }, what: "S + l (malleated)" };
  if (k === 1) return { signature: { ...sig, s: r.pick([SUBGROUP_ORDER, SUBGROUP_ORDER - 1n, P - 1n, 0n]) }, what: "S at the bounds" };
  if (k === 2) return { signature: { ...sig, r8x: r.pick([0n, 1n, P - 1n]), r8y: r.pick([0n, 1n, P - 1n]) }, what: "R8 off the curve" };
  if (k === 3) return { signature: { r8x: 0n, r8y: 1n, s: 0n }, what: "the identity point, S 0" };
  if (k === 4) return { signature: { ...sig, r8x: P - sig.r8x }, what: "R8 negated" };
  return { signature: { r8x: 0n, r8y: 0n, s: 0n }, what: "all zero" };
}

// ---- one case: send, check the answer and the state -----------------------------------------------------

type Answer = { status: number; body: any };
type Target = {
  name: string;
  /** A fresh valid request: its JSON body (or bytes), and the path it goes to. */
  valid: () => Json | Uint8Array;
  /** The route's mutations beyond mutateJson: signed mutations. */
  signed?: () => { body: Json; what: string };
};

const counts = new Map<string, { cases: number; accepted: number; refused: Map<string, number> }>();
function count(name: string, a: { status: number; code?: string }): void {
  let c = counts.get(name);
  if (!c) counts.set(name, (c = { cases: 0, accepted: 0, refused: new Map() }));
  c.cases++;
  if (a.status === 200) c.accepted++;
  else c.refused.set(`${a.status} ${a.code}`, (c.refused.get(`${a.status} ${a.code}`) ?? 0) + 1);
}

async function http(w: World, method: string, url: string, raw?: Raw): Promise<Answer> {
  const headers: Record<string, string> = {};
  const contentType = raw?.contentType === undefined ? "application/json" : raw.contentType;
  if (raw && contentType !== null) headers["content-type"] = contentType;
  const res = await fetch(`${w.address}${url}`, { method, headers, body: raw?.body, signal: AbortSignal.timeout(ANSWER_MS) });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${method} ${url} (${raw?.what}): answer ${res.status} is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, body };
}

/** The documented error shape with a documented code; 5xx only as the documented 503s. */
function assertErrorShape(where: string, status: number, body: any): void {
  assert.ok(status >= 400 && status < 500 || (status === 503 && ["BACKLOG_FULL", "NOT_CONFIGURED", "SETTLEMENT_FAILING"].includes(body?.code)), `${where}: status ${status} ${toJson(body).slice(0, 300)}`);
  assert.equal(typeof body?.code, "string", `${where}: an error has a code: ${toJson(body).slice(0, 300)}`);
  assert.equal(typeof body?.message, "string", `${where}: an error has a message`);
  assert.ok(DOC_CODES.has(body.code), `${where}: code ${body.code} is not in docs/client.md`);
}

/** The answer of a write: its documented success shape, or the error shape; true when something was accepted. */
function checkWriteAnswer(where: string, a: Answer): boolean {
  if (a.status !== 200) {
    assertErrorShape(where, a.status, a.body);
    return false;
  }
  if (Array.isArray(a.body.results)) {
    let any = false;
    for (const item of a.body.results) {
      if (item.status === 200) {
        assert.ok(Array.isArray(item.events), `${where}: an item's events`);
        any = true;
      } else assertErrorShape(`${where} (item)`, item.status, item);
    }
    return any;
  }
  assert.ok(Array.isArray(a.body.events) || a.body.status === "accepted" || "fundingTick" in a.body, `${where}: 200 of an unknown shape: ${toJson(a.body).slice(0, 300)}`);
  return true;
}

async function stillServes(w: World, where: string): Promise<void> {
  const a = await http(w, "GET", `/v1/markets/${SPOT}/book?levels=5`);
  assert.equal(a.status, 200, `${where}: the server no longer answers a valid read`);
}

/** Runs one case: the digest before, `send`, the answer's checks, then nothing changed (refused) or it settles (accepted). */
async function runCase(w: World, name: string, what: string, send: () => Promise<Answer>): Promise<void> {
  const where = `seed ${SEED} ${name}: ${what}`;
  const before = digest(w);
  const beforeEngine = digest(w, true);
  let a: Answer;
  try {
    a = await send();
  } catch (e) {
    assert.fail(`${where}: no answer: ${(e as Error).message} ${(e as { cause?: Error }).cause?.message ?? ""}`);
  }
  const accepted = checkWriteAnswer(where, a);
  const item = a.status === 200 && !accepted ? a.body.results[0] : null; // a batch whose every item was refused
  count(name, item ? { status: item.status, code: `${item.code} (items)` } : { status: a.status, code: a.body?.code });
  assert.deepEqual(w.errors, [], `${where}: the server logged an error`);
  if (!accepted) {
    await new Promise((res) => setImmediate(res));
    const batchEngine = Array.isArray(a.body?.results) && a.body.results.some((x: { status: number }) => engineRefusal(x.status, x));
    const ran = engineRefusal(a.status, a.body) || batchEngine;
    sameDigest(digest(w, ran), ran ? beforeEngine : before, `${where}: refused (${a.status} ${a.body?.code}) but the exchange changed`);
    await tidy(w, where);
  } else {
    noteOrderIds(a.body);
    await settle(w, where);
  }
  await stillServes(w, where);
}

/** After a refused case: settles once the cancel targets' resting orders pile up (an account has 16 order slots). */
async function tidy(w: World, where: string): Promise<void> {
  if (w.seq.engine.openOrders(alice.accountId).length + w.seq.heldOrders(alice.accountId).length > 4) await settle(w, where);
}

// ---- WebSocket --------------------------------------------------------------------------------------------

type Msg = Record<string, any>;
class Conn {
  readonly messages: Msg[] = [];
  sent = 0;
  closed: { code: number; reason: string } | null = null;
  #wake: (() => void)[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on("message", (d) => {
      this.messages.push(JSON.parse(d.toString()));
      this.#wake.splice(0).forEach((f) => f());
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.#wake.splice(0).forEach((f) => f());
    });
    ws.on("error", () => {});
  }
  static async open(address: string): Promise<Conn> {
    const c = new Conn(new WebSocket(`${address.replace("http", "ws")}/v1/stream`));
    await c.next(() => c.messages.length > 0, "hello");
    return c;
  }
  get challenge(): bigint {
    return BigInt(this.messages[0]!.challenge);
  }
  async next(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + ANSWER_MS;
    while (!done()) {
      if (this.closed) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer to ${what} within ${ANSWER_MS} ms`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.#wake.push(() => (clearTimeout(t), res()));
      });
    }
  }
}

const ANSWERS = new Set(["error", "result", "results", "subscribed", "unsubscribed", "batches", "authenticated"]);

/** Sends one message and waits for its answer: an error carrying its `ref`, or the op's success; null when the connection closed. */
async function wsAsk(c: Conn, data: string | Uint8Array, what: string, op: string, binary: boolean): Promise<Msg | null> {
  const from = c.messages.length;
  const ref = ++c.sent;
  c.ws.send(data, { binary });
  let answer: Msg | undefined;
  await c.next(() => {
    for (let i = from; i < c.messages.length; i++) {
      const m = c.messages[i]!;
      if (ANSWERS.has(m.type) || (op === "snapshot" && m.type === "book" && m.snapshot === true)) return Boolean((answer = m));
    }
    return false;
  }, what);
  if (!answer) return null;
  if (answer.type === "error") assert.equal(answer.ref, ref, `${what}: the error answers message ${ref}: ${toJson(answer)}`);
  if (answer.type === "subscribed") await c.next(() => c.messages.slice(from).some((m) => m.type === "book"), `${what} (its snapshot)`);
  return answer;
}

/** `binary`: sent as a binary frame (else a text frame, `data` as it is: bytes that are not UTF-8 included). */
async function runWsCase(w: World, conn: () => Promise<Conn>, name: string, what: string, data: string | Uint8Array, op: string, binary = typeof data !== "string"): Promise<void> {
  const where = `seed ${SEED} ws ${name}: ${what}`;
  const c = await conn();
  const before = digest(w);
  const beforeEngine = digest(w, true);
  let m: Msg | null;
  try {
    m = await wsAsk(c, data, where, op, binary);
  } catch (e) {
    assert.fail(`${where}: ${(e as Error).message}`);
  }
  const size = typeof data === "string" ? Buffer.byteLength(data) : data.length;
  if (m === null) {
    // only a frame over the 16 KiB limit (1009), a text frame that is not UTF-8 (1007, RFC 6455) or the third failed
    // auth (1008) closes the connection
    assert.ok(c.closed, where);
    const utf8 = typeof data === "string" || binary || Buffer.from(Buffer.from(data).toString("utf8")).equals(Buffer.from(data));
    const why = (c.closed.code === 1009 && size > 16 * 1024) || (c.closed.code === 1007 && !utf8) || (c.closed.code === 1008 && op === "auth");
    assert.ok(why, `${where}: the connection was dropped (${toJson(c.closed)}) for a ${size}-byte message`);
    count(`ws ${name}`, { status: 413, code: `closed ${c.closed.code}` });
    sameDigest(digest(w), before, `${where}: closed, but the exchange changed`);
    await stillServes(w, where);
    return;
  }
  let accepted = false;
  if (m.type === "error") {
    assertErrorShape(where, m.status, m);
    assert.ok(m.code !== "INTERNAL", `${where}: INTERNAL`);
  } else if (m.type === "results") {
    accepted = checkWriteAnswer(where, { status: 200, body: m });
  } else if (m.type === "result") {
    accepted = true;
  }
  count(`ws ${name}`, m.type === "error" ? { status: m.status, code: m.code } : { status: 200 });
  assert.deepEqual(w.errors, [], `${where}: the server logged an error`);
  if (accepted) {
    noteOrderIds(m);
    await settle(w, where);
  } else {
    await new Promise((res) => setImmediate(res));
    const ran = (m.type === "error" && engineRefusal(m.status, m)) || (m.type === "results" && m.results.some((x: { status: number }) => engineRefusal(x.status, x)));
    sameDigest(digest(w, ran), ran ? beforeEngine : before, `${where}: answered ${m.type} ${m.code ?? ""} but the exchange changed`);
    await tidy(w, where);
  }
  await stillServes(w, where);
}

// ---- binary records ------------------------------------------------------------------------------------

function mutateRecords(valid: Uint8Array): { bytes: Uint8Array; what: string } {
  const k = r.int(9);
  const b = Uint8Array.from(valid);
  const n = valid.length / ORDER_RECORD_BYTES;
  const rec = r.int(n) * ORDER_RECORD_BYTES;
  const setLE = (at: number, bytes: number, v: bigint) => { for (let i = 0; i < bytes; i++) b[at + i] = Number((v >> BigInt(8 * i)) & 0xffn); };
  switch (k) {
    case 0: { const len = r.int(valid.length); return { bytes: valid.subarray(0, len), what: `truncated to ${len}` }; }
    case 1: { const extra = r.pick([1, 8, 135, 136, 137]); return { bytes: Uint8Array.from([...valid, ...Array.from({ length: extra }, () => r.int(256))]), what: `${extra} bytes appended` }; }
    case 2: { const at = rec + r.int(ORDER_RECORD_BYTES); b[at]! ^= 1 << r.int(8); return { bytes: b, what: `bit flipped at ${at}` }; }
    case 3: { b[rec + 16 + r.int(8)]! |= 0x80; return { bytes: b, what: "w0 bits above 134" }; }
    case 4: { const part = r.int(3); setLE(rec + 40 + 32 * part, 32, r.pick([P, P + 1n, pow(256) - 1n, pow(254)])); return { bytes: b, what: `signature part ${part} >= p` }; }
    case 5: { setLE(rec + 104, 32, SUBGROUP_ORDER + r.pick([0n, 1n])); return { bytes: b, what: "S >= l" }; }
    case 6: { const count = r.pick([0, 101, 120]); return { bytes: new Uint8Array(count * ORDER_RECORD_BYTES).map(() => r.int(256)), what: `${count} random records` }; }
    case 7: { return { bytes: new Uint8Array(r.pick([1, 135, 136, 272])).fill(r.pick([0, 0xff])), what: "all 0 or all ff" }; }
    default: { const at = rec + r.int(40); b[at] = r.int(256); return { bytes: b, what: `a word byte at ${at} replaced` }; }
  }
}

// ---- the fuzz ------------------------------------------------------------------------------------------

describe(`wire fuzz (seed ${SEED}, ${CASES} cases per target)`, { timeout: 1_800_000 }, () => {
  let w: World;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  before(async () => {
    process.on("unhandledRejection", onUnhandled);
    process.on("uncaughtException", onUnhandled);
    w = await makeWorld();
  });
  after(async () => {
    for (const f of cleanups) await f();
    process.off("unhandledRejection", onUnhandled);
    process.off("uncaughtException", onUnhandled);
    const lines = [...counts].map(([name, c]) => `${name}: ${c.cases} cases, ${c.accepted} accepted, refused ${[...c.refused].map(([k, n]) => `${k} x${n}`).join(", ")}`);
    console.log(`wire fuzz seed ${SEED}:\n  ${lines.join("\n  ")}`);
  });
  const noUnhandled = () => assert.deepEqual(unhandled.map(String), [], "no unhandled exception or rejection");

  /** The HTTP write targets. */
  const targets = (): Target[] => {
    const nonce = (t: TestTrader) => nonces.get(t.accountId) ?? w.seq.withdrawalNonce(t.accountId);
    const restingOf = (t: TestTrader) => {
      const ev = w.seq.placeOrder(signOrder(t.key, baseOrder(t, { marketId: SPOT, side: Side.BUY, priceTicks: 10n + BigInt(r.int(20)), sizeLots: 1n })));
      const acc = ev.find((e) => e.type === "accepted") as { orderId: bigint } | undefined;
      assert.ok(acc, toJson(ev));
      noteOrderIds(JSON.parse(toJson(ev)));
      return acc.orderId;
    };
    return [
      {
        name: "POST /v1/orders",
        valid: () => JSON.parse(toJson(validOrder())),
        signed: () => {
          if (r.chance(0.3)) {
            const o = validOrder();
            const b = badSignature(o.signature);
            return { body: JSON.parse(toJson({ ...o, signature: b.signature })), what: b.what };
          }
          const m = signedOrderMutation();
          return { body: JSON.parse(toJson(m.order)), what: m.what };
        },
      },
      {
        name: "POST /v1/orders/batch",
        valid: () => JSON.parse(toJson({ orders: [validOrder(), validOrder()] })),
        signed: () => {
          const m = signedOrderMutation();
          const orders = r.chance(0.2) ? Array.from({ length: r.pick([0, 100, 101]) }, () => validOrder()) : [validOrder(), m.order];
          return { body: JSON.parse(toJson({ orders })), what: `${orders.length} orders, ${m.what}` };
        },
      },
      {
        name: "POST /v1/cancels",
        valid: () => JSON.parse(toJson(signCancel(alice.key, { accountId: alice.accountId, orderId: restingOf(alice) }))),
        signed: () => {
          const id = restingOf(alice);
          const k = r.int(4);
          const c = k === 0 ? signCancel(alice.key, { accountId: 1, orderId: r.pick([0n, id + 1n, pow(40) - 1n, id + 16n]) })
            : k === 1 ? signCancel(bob.key, { accountId: 2, orderId: id }) // bob cancels alice's id in his account
            : k === 2 ? signCancel(alice.key, { accountId: 2, orderId: w.seq.engine.openOrders(2)[0]!.orderId }) // alice signs for bob's order
            : { ...signCancel(alice.key, { accountId: 1, orderId: id }), signature: badSignature(signCancel(alice.key, { accountId: 1, orderId: id }).signature).signature };
          return { body: JSON.parse(toJson(c)), what: `signed cancel kind ${k}` };
        },
      },
      {
        name: "POST /v1/cancels/batch",
        valid: () => JSON.parse(toJson({ cancels: [restingOf(alice), restingOf(alice)].map((orderId) => signCancel(alice.key, { accountId: 1, orderId })) })),
      },
      {
        name: "POST /v1/withdrawals",
        valid: () => JSON.parse(toJson(signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 1_000n, nonce: nonce(alice) }))),
        signed: () => {
          const f = { accountId: 1, tokenId: 0, amount: 1_000n, nonce: nonce(alice) };
          const m = r.pick([
            { tokenId: r.pick([1, 2, 3, 4, 15, 16, 2 ** 16 - 1]) }, { amount: r.pick([0n, 1n, 9_999_999_999n, 10_000_000_000n, pow(64), pow(96) - 1n]) },
            { nonce: r.pick([nonce(alice) + 1, Math.max(0, nonce(alice) - 1), 2 ** 32 - 1]) }, { accountId: r.pick([0, 2, 4, 2 ** 32 - 1]) },
          ]);
          const all = { ...f, ...m };
          return { body: JSON.parse(toJson(signWithdrawal(keyOf(all.accountId).key, all))), what: `signed ${toJson(m)}` };
        },
      },
      {
        name: "POST /v1/transfers",
        valid: () => JSON.parse(toJson(signTransfer(alice.key, { accountId: 1, toCollateral: r.chance(0.5), amount: 1_000n, nonce: nonce(alice) }))),
        signed: () => {
          const f = { accountId: 1, toCollateral: r.chance(0.5), amount: 1_000n, nonce: nonce(alice) };
          const m = r.pick([
            { amount: r.pick([0n, 1n, 9_999_999_999n, 10_000_000_000n, 40_000_000_000n, pow(64), pow(96) - 1n]) },
            { nonce: r.pick([nonce(alice) + 1, 2 ** 32 - 1]) }, { accountId: r.pick([0, 2, 4, 2 ** 32 - 1]) },
          ]);
          const all = { ...f, ...m };
          return { body: JSON.parse(toJson(signTransfer(keyOf(all.accountId).key, all))), what: `signed ${toJson(m)}` };
        },
      },
      {
        name: "POST /v1/oracle/updates",
        valid: () => {
          w.chain.now += 1;
          return JSON.parse(toJson(signOracleUpdate(ORACLE_KEY, { time: w.chain.now, fundingEpoch: w.seq.derivatives.latest?.fundingEpoch ?? 0, prices: [PRICE], volSlices: VOLS, rates: [0n, 0n, 0n, 0n] })));
        },
        signed: () => {
          w.chain.now += 1;
          const epoch = w.seq.derivatives.latest?.fundingEpoch ?? 0;
          const u = { time: w.chain.now, fundingEpoch: epoch, prices: [PRICE], volSlices: VOLS, rates: [0n, 0n, 0n, 0n], settlement: null as null | { expiry: number; prices: bigint[] } };
          const m = r.pick<Record<string, unknown>>([
            { time: r.pick([w.chain.now - 1, w.chain.now + 1, w.chain.now + 900, w.chain.now + 100_000, 2 ** 32 - 1, 0]) },
            { fundingEpoch: r.pick([epoch + 1, epoch + 2, 2 ** 32 - 1]) },
            { prices: [r.pick([0n, 1n, pow(16) - 1n, pow(16), PRICE * 2n, pow(50) - 1n])] },
            { rates: [r.pick([-(pow(23)), pow(23) - 1n, 1n]), 0n, 0n, 0n] },
            { volSlices: [{ ...VOLS[0]!, levelPpm: r.pick([0n, 1n, pow(13) - 1n, pow(23) - 1n]) }, VOLS[1]!] },
            { volSlices: [{ ...VOLS[0]!, slopePpm: r.pick([-(pow(23)), pow(23) - 1n]) }, VOLS[1]!] },
            { volSlices: [{ ...VOLS[0]!, underlying: r.pick([1, 255]) }, VOLS[1]!] },
            { volSlices: [VOLS[0]!, { underlying: 0, expiry: r.pick([1, NOW, 2 ** 32 - 1]), levelPpm: 600_000n, slopePpm: 0n }] },
            { settlement: { expiry: r.pick([1, NOW - 100, EXPIRY, 2 ** 32 - 1]), prices: [r.pick([0n, PRICE, pow(50) - 1n])] } },
          ]);
          try {
            return { body: JSON.parse(toJson(signOracleUpdate(r.chance(0.1) ? alice.key : ORACLE_KEY, { ...u, ...m } as typeof u))), what: `signed ${toJson(m)}` };
          } catch {
            return { body: JSON.parse(toJson(signOracleUpdate(ORACLE_KEY, u))), what: "valid (the signer refused the mutation)" };
          }
        },
      },
    ];
  };

  it("HTTP writes: every mutation is answered as documented and a refused one changes nothing", async () => {
    for (const target of targets()) {
      for (let i = 0; i < CASES; i++) {
        const signed = target.signed && r.chance(0.3);
        const made = signed ? target.signed!() : null;
        const raw: Raw = made ? { body: toJson(made.body), what: made.what } : r.chance(0.1) ? { body: toJson(target.valid() as Json), what: "valid" } : mutateJson(target.valid() as Json);
        const url = target.name.split(" ")[1]!;
        await runCase(w, target.name, raw.what, () => http(w, "POST", url, raw));
        noUnhandled();
      }
    }
  });

  it("binary order records (POST /v1/orders/batch, application/octet-stream): every mutation is answered as documented", async () => {
    for (let i = 0; i < CASES * 2; i++) {
      const valid = encodeOrderRecords(Array.from({ length: 1 + r.int(3) }, () => (r.chance(0.3) ? signedOrderMutation().order : validOrder())));
      const m = r.chance(0.15) ? { bytes: valid, what: "valid" } : mutateRecords(valid);
      const ct = r.chance(0.1) ? r.pick(["application/octet-stream; x=1", "APPLICATION/OCTET-STREAM", "application/json"]) : "application/octet-stream";
      await runCase(w, "POST /v1/orders/batch (binary)", `${m.what} as ${ct}`, () => http(w, "POST", "/v1/orders/batch", { body: m.bytes, what: m.what, contentType: ct }));
      if (r.chance(0.1)) {
        // binary records on a route that takes JSON only
        const url = r.pick(["/v1/orders", "/v1/cancels", "/v1/withdrawals", "/v1/transfers", "/v1/oracle/updates", "/v1/cancels/batch"]);
        await runCase(w, "POST (binary elsewhere)", url, () => http(w, "POST", url, { body: valid, what: "records", contentType: "application/octet-stream" }));
      }
      noUnhandled();
    }
  });

  it("WebSocket messages and binary frames: answered by ref or id, the connection kept, a refused one changes nothing", async () => {
    let c: Conn | null = null;
    const conn = async () => {
      if (!c || c.closed) c = await Conn.open(w.address);
      return c;
    };
    after(() => c?.ws.close());
    const ops: { name: string; valid: () => Json }[] = [
      { name: "subscribe", valid: () => ({ op: "subscribe", channel: "market", marketId: r.pick([SPOT, PERP]), levels: 5 }) },
      { name: "unsubscribe", valid: () => ({ op: "unsubscribe", channel: "market", marketId: SPOT }) },
      { name: "snapshot", valid: () => ({ op: "snapshot", marketId: SPOT }) },
      { name: "batches", valid: () => ({ op: "batches", subscribe: r.chance(0.5) }) },
      { name: "order", valid: () => ({ op: "order", id: r.pick([1, "a", 2 ** 53 - 1]), order: JSON.parse(toJson(r.chance(0.3) ? signedOrderMutation().order : validOrder())) }) },
      {
        name: "cancel",
        valid: () => {
          const ev = w.seq.placeOrder(signOrder(alice.key, baseOrder(alice, { marketId: SPOT, side: Side.BUY, priceTicks: 10n, sizeLots: 1n })));
          noteOrderIds(JSON.parse(toJson(ev)));
          const id = (ev.find((e) => e.type === "accepted") as { orderId: bigint }).orderId;
          return { op: "cancel", id: "c", cancel: JSON.parse(toJson(signCancel(alice.key, { accountId: 1, orderId: id }))) };
        },
      },
    ];
    for (const op of ops) {
      for (let i = 0; i < CASES; i++) {
        const valid = op.valid();
        const raw = r.chance(0.1) ? { body: toJson(valid), what: "valid" } : mutateJson(valid);
        // bytes (not UTF-8, say) go as they are in a text frame, as a binary frame, or read as Latin-1 into a string
        const how = typeof raw.body === "string" ? "text" : r.pick(["raw text", "binary", "latin1"] as const);
        const data = how === "latin1" ? Buffer.from(raw.body).toString("latin1") : raw.body;
        await runWsCase(w, conn, op.name, `${raw.what} (${how})`, data, op.name, how === "binary");
        noUnhandled();
      }
    }
    // auth: a fresh connection per case (its challenge; three failed tries close it)
    for (let i = 0; i < CASES; i++) {
      const fresh = await Conn.open(w.address);
      const sig = signStreamAuth(alice.key, { accountId: 1, challenge: fresh.challenge }).signature;
      const k = r.f();
      let msg: Json = JSON.parse(toJson({ op: "auth", accountId: 1, signature: sig }));
      let what = "valid";
      if (k < 0.2) {
        const b = badSignature(sig);
        msg = JSON.parse(toJson({ op: "auth", accountId: 1, signature: b.signature }));
        what = b.what;
      } else if (k < 0.3) {
        msg = JSON.parse(toJson({ op: "auth", accountId: r.pick([0, 2, 4, 2 ** 32 - 1]), signature: sig }));
        what = "another account";
      } else if (k < 0.9) {
        const m = mutateJson(msg);
        msg = null;
        what = m.what;
        await runWsCase(w, async () => fresh, "auth", what, m.body, "auth", false);
        fresh.ws.close();
        noUnhandled();
        continue;
      }
      await runWsCase(w, async () => fresh, "auth", what, toJson(msg), "auth");
      fresh.ws.close();
      noUnhandled();
    }
    // binary frames
    for (let i = 0; i < CASES * 2; i++) {
      const orders = Array.from({ length: 1 + r.int(3) }, () => (r.chance(0.3) ? signedOrderMutation().order : validOrder()));
      const frame = encodeOrderFrame(r.pick([0, 1, 2 ** 32 - 1]), orders);
      const k = r.f();
      let data: Uint8Array;
      let what: string;
      if (k < 0.15) [data, what] = [frame, "valid"];
      else if (k < 0.3) {
        data = Uint8Array.from(frame);
        data[0] = r.pick([0, 2, 0xff, 0x7b]);
        what = `kind byte ${data[0]}`;
      } else if (k < 0.4) [data, what] = [frame.subarray(0, r.int(6)), "a header cut short"];
      else if (k < 0.45) [data, what] = [new Uint8Array(16 * 1024 + 1 + r.int(1000)).fill(1), "over 16 KiB"];
      else {
        const m = mutateRecords(frame.subarray(5));
        const out = new Uint8Array(5 + m.bytes.length);
        out.set(frame.subarray(0, 5));
        out.set(m.bytes, 5);
        [data, what] = [out, m.what];
      }
      await runWsCase(w, conn, "binary frame", what, data, "binary");
      noUnhandled();
    }
  });

  it("GET routes with hostile path parameters and query strings: 200 or a documented 4xx", async () => {
    const idish = ["0", "1", "2", "-1", "01", "+1", "1e3", "1.0", "%20", "%00", "%ff", "%", "..", "..%2f..", "4294967295", "4294967296", "65535", "65536", "32768",
      "9007199254740993", "9".repeat(300), "１", "a", "", "null", "undefined", "__proto__", "constructor", "toString", "1%3Fa=1", "1;a=1", "%2e%2e"];
    const queryish = ["", "?", "?levels=0", "?levels=1", "?levels=100", "?levels=101", "?levels=-1", "?levels=1e2", "?levels=01", "?levels=5&levels=6", "?levels[]=1",
      "?levels[a]=1", "?limit=0", "?limit=1000", "?limit=1001", "?limit=99999999999", "?before=0", "?before=9007199254740991", "?before=9007199254740992",
      "?before=-1", "?status=open", "?status=OPEN", "?status=open&status=filled", "?keyIndex=0", "?keyIndex=4294967295", "?keyIndex=4294967296",
      "?__proto__=1", "?constructor=1", "?__proto__[x]=1", "?a=1", "?%ff=1", "?levels=%ff", "?limit=%00", "?" + "a=1&".repeat(2000), "?levels=" + "1".repeat(5000)];
    const routes = ["/v1/markets/:id/book", "/v1/markets/:id/trades", "/v1/accounts/:id", "/v1/accounts/:id/key", "/v1/accounts/:id/orders", "/v1/accounts/:id/orders/:id",
      "/v1/accounts/:id/fills", "/v1/accounts/:id/rejections", "/v1/accounts/:id/derivatives", "/v1/batches", "/v1/batches/:id", "/v1/keys/typed-data",
      "/v1/markets", "/v1/treasury", "/v1/instruments", "/v1/health", "/v1/nope", "/v1/accounts/:id/:id/:id"];
    for (let i = 0; i < CASES * 8; i++) {
      const route = r.pick(routes);
      const url = route.replace(/:id/g, () => (r.chance(0.7) ? r.pick(idish) : r.pick(["0", "1", String(PERP)]))) + (r.chance(0.7) ? r.pick(queryish) : "");
      const before = digest(w);
      let a: Answer;
      try {
        a = await http(w, "GET", url);
      } catch (e) {
        assert.fail(`seed ${SEED} GET ${url}: no answer: ${(e as Error).message}`);
      }
      const where = `seed ${SEED} GET ${url}`;
      if (a.status !== 200 && !(a.status === 503 && url.startsWith("/v1/health"))) assertErrorShape(where, a.status, a.body);
      count("GET", { status: a.status, code: a.body?.code });
      assert.deepEqual(w.errors, [], `${where}: the server logged an error`);
      sameDigest(digest(w), before, `${where}: a read changed the exchange`);
      noUnhandled();
    }
    // other methods on the write routes and unknown ones
    for (let i = 0; i < CASES; i++) {
      const method = r.pick(["DELETE", "PUT", "PATCH", "OPTIONS", "GET"]);
      const url = r.pick(["/v1/orders", "/v1/orders/batch", "/v1/cancels", "/v1/withdrawals", "/v1/transfers", "/v1/oracle/updates", "/v1/orders/1", "/v1/stream"]);
      const raw = method === "GET" ? undefined : { body: toJson(validOrder()), what: method };
      await runCase(w, `${method} (other methods)`, url, () => http(w, method, url, raw));
    }
  });
});
