/**
 * Direct tests of the witness builder (sequencer/batch/batchWitness.ts buildBatch), with no circuit:
 * the public data's layout and hash (circuits/SPEC.md, "Public input"), the roots in its header, the
 * circuit input against the signals the Batch template declares (read from circuits/batch/batch.circom's
 * text), all-or-nothing refusals that name the slot and leave the state as it was, and determinism.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { buildBatch, type BuiltBatch } from "../../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../../sequencer/batch/slotWitness.ts";
import { verifyMessage } from "../../../sequencer/crypto/babyjub.ts";
import { FIELD_MODULUS } from "../../../sequencer/crypto/field.ts";
import { messageValue, type SignatureCheck } from "../../../sequencer/crypto/signatureVerifier.ts";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { publicDataBytes, TEST_PARAMS, type CircuitParams } from "../../../sequencer/protocol/params.ts";
import { publicInputCount } from "../../../sequencer/protocol/publicData.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { signCancel, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { order, testTrader } from "../../helpers/traders.ts";
import { derivativesState, derivTrade, NOW, oracleUpdate } from "../../helpers/derivatives.ts";
import { markingLevels } from "../../../sequencer/derivatives/marking.ts";

const P = TEST_PARAMS;
const TIME = 1_700_000_000;
const alice = testTrader(1);
const bob = testTrader(2);

/**
 * Public-data length from the documents, not from the encoder: a 72-byte header (SPEC.md), the oracle
 * section (DERIVATIVES.md: 1 + 32 + 4 + 4 bytes, 7 per underlying, 11 per option id (a vol slice), 3 per instrument, then the named
 * expiry's 4 and 7 per underlying, then the 32-byte marksKey, then the mask of free instrument ids, one byte per 8 ids), 36 bytes per slot.
 */
const oracleBytes = (p: CircuitParams) => 41 + 7 * p.underlyings + 11 * p.optionInstruments + 3 * p.instruments + 4 + 7 * p.underlyings + 32 + Math.ceil(p.instruments / 8);
const documentedLength = (p: CircuitParams) => 72 + oracleBytes(p) + 36 * (p.slots + p.derivSlots);

/** A big-endian unsigned integer from `bytes`. */
const uint = (bytes: Uint8Array): bigint => bytes.reduce((v, b) => (v << 8n) | BigInt(b), 0n);

/**
 * Everything a batch may change, read through the state's public accessors: the root, the fee pool,
 * globals and instruments, the markets, and every account's key, nonce, balances, order slots and
 * derivatives account.
 */
function fingerprint(state: ExchangeState): unknown {
  const p = state.params;
  const accounts = Array.from({ length: 4 ** p.accountLevels }, (_, id) => {
    const a = state.account(id);
    return {
      id, pubKey: [...a.pubKey], nonce: a.nonce, balances: Array.from({ length: 4 ** p.balanceLevels }, (_, t) => state.balance(id, t)),
      orders: a.orders.leaves(), deriv: structuredClone(a.deriv), leaf: state.accountLeaf(id),
    };
  });
  return {
    root: state.root, feePool: state.feePool, globals: { ...state.globals }, instruments: structuredClone(state.instruments),
    markets: state.marketIds().map((id) => [id, { ...state.market(id)! }]), marketLeaves: state.marketTree.leaves(),
    accountLeaves: state.accountTree.leaves(), accounts,
  };
}

/** Checks what every built batch must satisfy, given the root before it and the slot types expected. */
function checkBatch(state: ExchangeState, b: BuiltBatch, oldRoot: bigint, batchNumber: number, timestamp: number, types: number[]): void {
  const p = state.params;
  const data = b.publicData;
  assert.equal(data.length, documentedLength(p), "public data length");
  // Header, read straight from the bytes: oldRoot 32, newRoot 32, batchNumber 4, timestamp 4.
  assert.equal(uint(data.subarray(0, 32)), oldRoot, "header oldRoot is the root before the batch");
  assert.equal(uint(data.subarray(32, 64)), state.root, "header newRoot is the state's root after the batch");
  assert.equal(uint(data.subarray(64, 68)), BigInt(batchNumber));
  assert.equal(uint(data.subarray(68, 72)), BigInt(timestamp));
  assert.deepEqual(b.header, { oldRoot, newRoot: state.root, batchNumber: BigInt(batchNumber), timestamp: BigInt(timestamp) });
  // Each record starts with its slot's type byte, spot slots first, then derivatives slots.
  const first = 72 + oracleBytes(p);
  assert.equal(types.length, p.slots + p.derivSlots);
  types.forEach((t, i) => assert.equal(data[first + 36 * i], t, `type byte of slot ${i}`));
  assert.deepEqual(b.records.map((r) => r.type), types);
  // publicInput = the public data in 31-byte big-endian chunks, in the circuit input too.
  assert.equal(b.publicInputs.length, Math.ceil(data.length / 31));
  b.publicInputs.forEach((v, i) => {
    assert.equal(v, BigInt(`0x${Buffer.from(data.subarray(31 * i, 31 * i + 31)).toString("hex")}`), `chunk ${i}`);
    assert.ok(v < FIELD_MODULUS);
  });
  assert.deepEqual(b.circuitInput.publicInput, b.publicInputs.map(String));
  assert.equal(b.circuitInput.batchNumber, String(batchNumber));
  assert.equal(b.circuitInput.timestamp, String(timestamp));
  checkSignals(p, b.circuitInput);
}

// ---- the Batch template's input signals, from the circuit's source text (nothing compiled)

/** `function NAME() { return K; }` constants of the generated protocol file. */
function circomConstants(): Map<string, number> {
  const text = readFileSync("circuits/generated/protocol.circom", "utf8");
  return new Map([...text.matchAll(/function (\w+)\(\) \{ return (\d+); \}/g)].map((m) => [m[1], Number(m[2])]));
}

/** The Batch template's parameters bound to `p`, in the order the main component passes them (scripts/build/batchCircuit.ts). */
function templateParams(p: CircuitParams, batchSource: string): Map<string, number> {
  const header = /template Batch\(([^)]*)\)/.exec(batchSource);
  assert.ok(header, "template Batch in batch.circom");
  const names = header[1].split(",").map((s) => s.trim());
  const main = readFileSync("scripts/build/batchCircuit.ts", "utf8").split("\n").find((l) => l.includes("component main"));
  assert.ok(main, "the main component line of batchCircuit.ts");
  const args = [...main.matchAll(/\$\{p\.(\w+)\}/g)].map((m) => m[1] as keyof CircuitParams);
  assert.equal(args.length, names.length, "the main component passes every template parameter");
  return new Map(names.map((n, i) => [n, p[args[i]]]));
}

/** name -> dimensions of every `signal input` of template Batch. */
function batchSignals(p: CircuitParams): Map<string, number[]> {
  const source = readFileSync("circuits/batch/batch.circom", "utf8");
  const start = source.indexOf("template Batch(");
  const next = source.indexOf("\ntemplate ", start + 1);
  const body = source.slice(start, next < 0 ? undefined : next);
  // the one computed dimension: the public inputs, as many as TS cuts the public data into (publicInputCount)
  const values = new Map([...circomConstants(), ...templateParams(p, source), ["PUBLIC_INPUTS", publicInputCount(publicDataBytes(p))]]);
  const dim = (expr: string): number => {
    const e = expr.trim().replace(/\(\)$/, "");
    if (/^\d+$/.test(e)) return Number(e);
    if (e === "MARKING_LEVELS(O)") return markingLevels(p); // the marks tree's levels (oracleStep.circom's function)
    const v = values.get(e);
    assert.ok(v !== undefined, `dimension ${expr} is a template parameter, a number or a generated constant`);
    return v;
  };
  const out = new Map<string, number[]>();
  for (const m of body.matchAll(/signal input (\w+)((?:\[[^\]]+\])*)\s*;/g)) {
    out.set(m[1], [...m[2].matchAll(/\[([^\]]+)\]/g)].map((d) => dim(d[1])));
  }
  return out;
}

/** The circuit input holds exactly the template's input signals, each with its declared shape, as field elements in decimal. */
function checkSignals(p: CircuitParams, input: Record<string, unknown>): void {
  const signals = batchSignals(p);
  assert.ok(signals.size > 100, `${signals.size} input signals parsed`);
  assert.deepEqual(Object.keys(input).sort(), [...signals.keys()].sort(), "circuit input names = Batch's input signals");
  for (const [name, dims] of signals) {
    const walk = (v: unknown, d: number[], at: string): void => {
      if (d.length === 0) {
        assert.ok(typeof v === "string" && /^(0|[1-9]\d*)$/.test(v) && BigInt(v) < FIELD_MODULUS, `${at} = ${String(v)} is a field element in decimal`);
        return;
      }
      assert.ok(Array.isArray(v) && v.length === d[0], `${at} has length ${d[0]}`);
      v.forEach((x, i) => walk(x, d.slice(1), `${at}[${i}]`));
    };
    walk(input[name], dims, name);
  }
}

// ---- one batch of each spot transaction type

const buy1 = order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 10n });
const sell1 = order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n });

/** A history with one batch per spot transaction type (after the empty batch), and the slot types each shows. */
const HISTORY: { name: string; txs: BatchTx[]; types: number[] }[] = [
  { name: "empty", txs: [], types: [TxType.NOOP, TxType.NOOP, TxType.NOOP] },
  {
    name: "REGISTER_KEY",
    txs: [
      { type: TxType.REGISTER_KEY, accountId: alice.accountId, pubKey: alice.pubKey },
      { type: TxType.REGISTER_KEY, accountId: bob.accountId, pubKey: bob.pubKey },
    ],
    types: [TxType.REGISTER_KEY, TxType.REGISTER_KEY, TxType.NOOP],
  },
  {
    name: "DEPOSIT",
    txs: [
      { type: TxType.DEPOSIT, accountId: alice.accountId, tokenId: 0, amount: 1_000_000n },
      { type: TxType.DEPOSIT, accountId: bob.accountId, tokenId: 1, amount: 10_000n },
    ],
    types: [TxType.DEPOSIT, TxType.DEPOSIT, TxType.NOOP],
  },
  { name: "REGISTER_MARKET", txs: [{ type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 10n, priceUnit: 3n }], types: [TxType.REGISTER_MARKET, TxType.NOOP, TxType.NOOP] },
  { name: "TRADE", txs: [{ type: TxType.TRADE, buy: buy1, sell: sell1, lots: 4n, priceTicks: 95n, buyFeePpm: 500, sellFeePpm: 100 }], types: [TxType.TRADE, TxType.NOOP, TxType.NOOP] },
  {
    name: "WITHDRAW",
    txs: [{ type: TxType.WITHDRAW, request: signWithdrawal(alice.key, { accountId: alice.accountId, tokenId: 0, amount: 1234n, nonce: 0 }) }],
    types: [TxType.WITHDRAW, TxType.NOOP, TxType.NOOP],
  },
  { name: "CANCEL", txs: [{ type: TxType.CANCEL, request: signCancel(bob.key, { accountId: bob.accountId, orderId: 1n }) }], types: [TxType.CANCEL, TxType.NOOP, TxType.NOOP] },
];

/** Builds HISTORY on a fresh state, checking every batch; returns the state and the batches. */
function buildHistory(check = true): { state: ExchangeState; batches: BuiltBatch[] } {
  const state = new ExchangeState(P);
  const batches = HISTORY.map(({ txs, types }, i) => {
    const oldRoot = state.root;
    const b = buildBatch(state, txs, { batchNumber: i, timestamp: TIME + i });
    if (check) checkBatch(state, b, oldRoot, i, TIME + i, types);
    return b;
  });
  return { state, batches };
}

/** Builds `txs` and expects a refusal with `code` at `slot`, the state exactly as before. */
function expectRefused(state: ExchangeState, txs: BatchTx[], code: string, slot: number, opts: Partial<Parameters<typeof buildBatch>[2]> = {}): void {
  const before = fingerprint(state);
  assert.throws(
    () => buildBatch(state, txs, { batchNumber: 99, timestamp: TIME, ...opts }),
    (e: unknown) => e instanceof TxRejected && e.code === code && e.slot === slot && e.message.startsWith(`${code}: slot ${slot}: `),
    `${code} at slot ${slot}`,
  );
  assert.deepEqual(fingerprint(state), before, "the state is exactly as before the refused batch");
}

describe("buildBatch", () => {
  it("builds an empty batch and a batch of each spot transaction type: documented length, header roots, public inputs (31-byte chunks), every Batch input signal", () => {
    const { state } = buildHistory();
    // What the history did, through the state: keys, the deposit less the fill and the withdrawal, fees, a cancelled order.
    assert.ok(state.hasKey(alice.accountId) && state.hasKey(bob.accountId));
    assert.equal(state.market(0)?.baseTokenId, 1);
    assert.equal(state.balance(alice.accountId, 0) + state.balance(bob.accountId, 0) + state.feePool, 1_000_000n - 1234n);
    assert.ok(state.feePool > 0n);
    assert.equal(state.balance(alice.accountId, 1) + state.balance(bob.accountId, 1), 10_000n);
    assert.equal(state.account(alice.accountId).nonce, 1);
    assert.deepEqual(state.orderSlot(bob.accountId, 1n), { storedId: 1n, filled: 4n, cancelled: true });
  });

  it("the header's old root of each batch is the new root of the one before, starting from the empty state", () => {
    const { batches } = buildHistory(false);
    assert.equal(batches[0].header.oldRoot, new ExchangeState(P).root);
    for (let i = 1; i < batches.length; i++) assert.equal(batches[i].header.oldRoot, batches[i - 1].header.newRoot, `batch ${i}`);
    // The empty batch changes nothing; every other one changes the root.
    assert.equal(batches[0].header.newRoot, batches[0].header.oldRoot);
    for (let i = 1; i < batches.length; i++) assert.notEqual(batches[i].header.newRoot, batches[i].header.oldRoot, `batch ${i}`);
  });

  it("builds a derivatives trade in the derivatives slot with a used oracle section; collected signatures name that slot and give the same witness", () => {
    const state = derivativesState();
    const oldRoot = state.root;
    const b = buildBatch(state, [derivTrade(0, 10n, 300_000n)], { batchNumber: 50, timestamp: NOW, oracle: oracleUpdate() });
    checkBatch(state, b, oldRoot, 50, NOW, [TxType.NOOP, TxType.NOOP, TxType.DERIV_TRADE]);
    assert.equal(b.publicData[72], 1, "oracleUsed byte");
    assert.equal(b.oracle.used, true);
    assert.equal(state.account(1).deriv.positions[0].size, 10n);
    assert.equal(state.account(2).deriv.positions[0].size, -10n);
    // The same batch with signatures left to the caller (as the sequencer does): same witness, and the
    // two order signatures are collected under the derivatives slot's number and verify.
    const again = derivativesState();
    const checks: [number, SignatureCheck][] = [];
    const c = buildBatch(again, [derivTrade(0, 10n, 300_000n)], {
      batchNumber: 50, timestamp: NOW, oracle: oracleUpdate(), verifySignatures: false, collectSignatures: (slot, check) => checks.push([slot, check]),
    });
    assert.deepEqual(c, b);
    assert.deepEqual(checks.map(([slot]) => slot), [P.slots, P.slots]);
    for (const [, check] of checks) assert.ok(verifyMessage(messageValue(check.message), check.signature, check.publicKey));
  });

  it("is deterministic: the same transactions on the same state give the same public data and circuit input", () => {
    const one = buildHistory(false);
    const two = buildHistory(false);
    assert.equal(one.state.root, two.state.root);
    one.batches.forEach((b, i) => {
      assert.deepEqual(two.batches[i].publicData, b.publicData, `public data of batch ${i}`);
      assert.deepEqual(two.batches[i].circuitInput, b.circuitInput, `circuit input of batch ${i}`);
      assert.deepEqual(two.batches[i], b, `batch ${i}`);
    });
    // Signatures checked afterwards (collectSignatures, as the sequencer does) give the same witness.
    const state = new ExchangeState(P);
    const checks: number[] = [];
    HISTORY.forEach(({ txs }, i) => {
      const b = buildBatch(state, txs, { batchNumber: i, timestamp: TIME + i, verifySignatures: false, collectSignatures: (slot) => checks.push(i * 10 + slot) });
      assert.deepEqual(b, one.batches[i], `batch ${i} with collected signatures`);
    });
    // TRADE (batch 4, slot 0): two orders; WITHDRAW (5) and CANCEL (6): one each.
    assert.deepEqual(checks, [40, 40, 50, 60]);
  });

  it("a refused spot transaction names its code and slot, and the whole batch is undone (the earlier slot's deposit too)", () => {
    const { state } = buildHistory(false);
    const balance = state.balance(alice.accountId, 0);
    const tooMuch = signWithdrawal(alice.key, { accountId: alice.accountId, tokenId: 0, amount: balance + 5n + 1n, nonce: 1 });
    expectRefused(state, [{ type: TxType.DEPOSIT, accountId: alice.accountId, tokenId: 0, amount: 5n }, { type: TxType.WITHDRAW, request: tooMuch }], "INSUFFICIENT_BALANCE", 1);
    // Slot 0: the market is already registered; slot 1: a fill beyond the order's size.
    expectRefused(state, [{ type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 2, sizeUnit: 1n, priceUnit: 1n }], "MARKET_EXISTS", 0);
    const buy = order(alice, { orderId: 3n, side: Side.BUY, priceTicks: 100n, sizeLots: 2n });
    const sell = order(bob, { orderId: 3n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n });
    expectRefused(state, [
      { type: TxType.DEPOSIT, accountId: bob.accountId, tokenId: 1, amount: 7n },
      { type: TxType.TRADE, buy, sell, lots: 3n, priceTicks: 95n, buyFeePpm: 0, sellFeePpm: 0 },
    ], "OVERFILL", 1);
    // A forged signature: bob's key signs alice's cancel.
    expectRefused(state, [{ type: TxType.CANCEL, request: signCancel(bob.key, { accountId: alice.accountId, orderId: 1n }) }], "BAD_SIGNATURE", 0);
    // The state still takes a valid batch afterwards.
    const oldRoot = state.root;
    const ok = buildBatch(state, [{ type: TxType.DEPOSIT, accountId: alice.accountId, tokenId: 0, amount: 5n }], { batchNumber: 7, timestamp: TIME });
    checkBatch(state, ok, oldRoot, 7, TIME, [TxType.DEPOSIT, TxType.NOOP, TxType.NOOP]);
    assert.equal(state.balance(alice.accountId, 0), balance + 5n);
  });

  it("a refused derivatives transaction is named by its slot after the spot slots, and undoes the batch's spot slots", () => {
    const state = derivativesState();
    const deposit: BatchTx = { type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 1_000n };
    // 20,000 perpetual lots at 3,000 need 60,000 of initial margin on 50,000 of collateral.
    expectRefused(state, [deposit, derivTrade(0, 20_000n, 300_000n)], "BELOW_INITIAL_MARGIN", P.slots, { timestamp: NOW, oracle: oracleUpdate() });
    expectRefused(state, [deposit, derivTrade(0, 10n, 300_000n)], "NO_ORACLE", P.slots, { timestamp: NOW });
  });

  it("refuses more transactions than slots with a RangeError, state unchanged", () => {
    const { state } = buildHistory(false);
    const before = fingerprint(state);
    const deposit: BatchTx = { type: TxType.DEPOSIT, accountId: alice.accountId, tokenId: 0, amount: 1n };
    assert.throws(() => buildBatch(state, [deposit, deposit, deposit], { batchNumber: 9, timestamp: TIME }), (e: unknown) => e instanceof RangeError && e.message === "3 spot transactions do not fit 2 slots");
    assert.throws(
      () => buildBatch(state, [derivTrade(0, 1n, 1n), derivTrade(0, 1n, 1n)], { batchNumber: 9, timestamp: TIME }),
      (e: unknown) => e instanceof RangeError && e.message === "2 derivatives transactions do not fit 1 slots",
    );
    assert.deepEqual(fingerprint(state), before);
  });
});
