/**
 * The dishonest-operator generator (issue 11, "Hunting the rest"). A scenario is a valid batch built
 * with buildBatch on a state (the honest batch); the generator changes one value the operator chooses
 * in the batch's circuit input at a time (the slot under test's fields, the oracle step's, or the
 * header's) to a wrong one (+1, -1 mod p, 0, p-1, another slot's or field's value, a random field
 * element, twice the value, its negation, an off-curve key x with the honest sign, or an x that makes
 * the key sign everything: see offCurve.ts), and also tries the scenario's "operator choices": other
 * transactions the operator could put in the slot from genuinely signed material (built with the
 * TypeScript rules off, as a dishonest operator would).
 *
 * Each candidate goes to the open batch circuit (openBatch.ts: the real circuit with the public input
 * recomputed from the witness, as a dishonest operator hashes it). Verdicts:
 * - refused: some constraint fails; the log names it (Template:line, innermost first);
 * - custodian: the circuit accepts but the custodian refuses the public data (old root, batch number,
 *   oracle key, request records not the queued ones: Custodian.sol's checks);
 * - legitimate: the circuit accepts, and (a) the honest witness builder with every rule on
 *   (verifySignatures and enforceRules true), given the transactions the public data records and the
 *   signed orders/requests and oracle update present in the candidate input, accepts them and
 *   produces the same public data byte for byte (new root included), (b) the independent replay from
 *   public data (sequencer/verifier/publicDataReplay.ts) reaches the same new root, and (c) no rule beyond the
 *   model objects: custody (the batch's transactions leave no more bad debt, i.e. negative equity, at
 *   the batch's marks than there was before them, give or take one tick per liquidated lot) and the
 *   scenario's own rules (rules the issue requires and the model may not have yet);
 * - hole: the circuit accepts what (a), (b) or (c) does not: a soundness hole, named by transaction
 *   type, field and mutation.
 * The honest batch itself must be accepted by the circuit (liveness: the model never builds a batch the
 * circuit refuses).
 *
 * A changed transaction value (not a state witness) usually changes what the slot writes, and so makes
 * a later Merkle proof of the same batch stale, and the fee witnesses of a changed quantity, price or
 * rate wrong; a dishonest operator would give ones that agree. So the fees are recomputed first
 * (rebuildFees; not when a fee is the changed value), and a candidate refused only at a Merkle old-root
 * equality is retried with the proofs rebuilt from the writes the open circuit computed
 * (rebuildProofs). A changed state witness (proofs, old leaves, old keys, old roots) is judged as it
 * is, since the trees must pin it down. The values the circuit
 * computes itself with `<--` (one-hot selectors, DivFloor quotients, square roots, the Black-Scholes
 * hints) are not inputs and are not changed here: each is pinned by the constraints next to it (a
 * one-hot by booleanity, sum 1 and weighted sum; a quotient by its remainder's range), which the
 * fixed-point library's own tests check with tampered hints.
 *
 * Sampling: each field (state-witness fields of one account count as one group) gets HUNT_PER_FIELD
 * (default 1) mutations, position and kind drawn from a PRNG seeded by HUNT_SEED (default 1). By
 * default (npm test) only HUNT_SAMPLE (default 4) of those per scenario are tried, drawn by the same
 * PRNG, besides the key attacks and every operator choice; HUNT=fields tries the whole per-field sample,
 * HUNT=full every position of every field with every kind that applies (HUNT=fields takes about ten
 * times as long as the default, HUNT=full hours).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { buildBatch, type BatchOptions, type BatchSections, type BuiltBatch } from "../../sequencer/batch/batchWitness.ts";
import { NOOP, type BatchTx, type DerivTx, type SpotTx } from "../../sequencer/protocol/transactions.ts";
import { NO_SIGNATURE } from "../../sequencer/batch/slotWitness.ts";
import { compressPublicKey, type PublicKey, type Signature } from "../../sequencer/crypto/babyjub.ts";
import type { SignedOracleUpdate } from "../../sequencer/derivatives/oracleStep.ts";
import { FIELD_MODULUS, REQUEST_TYPES, SPOT_TX_TYPES, DERIV_TX_TYPES, TxType, type InstrumentKind } from "../../sequencer/protocol/constants.ts";
import type { Order, Signed } from "../../sequencer/protocol/messages.ts";
import { ORDER_FIELD } from "../../sequencer/protocol/layouts.ts";
import { TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { feeAmount } from "../../sequencer/protocol/fees.ts";
import { decodePublicData, encodeRecord, queuedForm, RECORD_LAYOUT, type OracleSection, type SlotRecord } from "../../sequencer/protocol/publicData.ts";
import { fieldOf } from "../../sequencer/crypto/field.ts";
import { accountDerivLeaf, accountLeafHash, decodeOrderSlot, ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { slotValues } from "../../sequencer/state/positionSlots.ts";
import { QuadTree } from "../../sequencer/crypto/quadTree.ts";
import { replayBatch } from "../../sequencer/verifier/publicDataReplay.ts";
import { badDebt, marksOfStep } from "./custody.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { buildOpenBatchCircuit, openWitness, type OpenWitness, type UpdateTrace } from "./openBatch.ts";
import { forgingX, offCurveX, signOf } from "./offCurve.ts";

const P = FIELD_MODULUS;
const TX_NAME = Object.fromEntries(Object.entries(TxType).map(([k, v]) => [v, k])) as Record<number, string>;

/** A small deterministic PRNG (mulberry32), as in the conservation test. */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A rule the issue (or the paper) requires that the honest model may not check yet: a message when `batch` breaks it. */
export type ExtraRule = (batch: { pre: ExchangeState; oracle: OracleSection; records: SlotRecord[]; timestamp: number }) => string | null;

/** Another transaction (or batch option) the operator could choose for the scenario, from genuinely signed material. */
export type Choice = { label: string; txs: readonly BatchTx[] | BatchSections; opts?: Partial<BatchOptions> };

export type Scenario = {
  /** What is under test: a transaction type, "oracle step" or "header". */
  name: string;
  /** Which inputs are mutated: a spot slot's, the derivatives slot's, the oracle step's or the header's. */
  section: "spot" | "deriv" | "oracle" | "header";
  /** Index of the slot under test within its section (spot, deriv). */
  slot?: number;
  /** The state before the batch; never changed (every build runs in a transaction that is rolled back). */
  state: ExchangeState;
  txs: readonly BatchTx[] | BatchSections;
  opts: BatchOptions;
  /** The oracle key registered on the custodian (the batch must name it when it uses the oracle). */
  oracleKey?: PublicKey;
  choices?: Choice[];
  rules?: ExtraRule[];
  /** false: only the choices, no mutations of the honest input (probes of one rule). */
  mutate?: boolean;
};

export type Verdict =
  | { kind: "refused"; chain: string[] }
  | { kind: "custodian"; why: string }
  | { kind: "legitimate"; changes: string }
  | { kind: "hole"; why: string };

// ---- candidate inputs

type Input = Record<string, unknown>;
type Nested = string | Nested[];

/** Field groups of one account's state witness (mutated as one field in the default sample). */
const WITNESS = ["PubX", "PubY", "Nonce", "Siblings", "QuoteOld", "BalOld", "BalSiblings", "BalancesRoot", "OrderLeaf", "OrderSiblings", "DerivLeaf", "Collateral", "PosId", "PosSize", "PosSnap", "PosTarget"];
const HEADER_FIELDS = ["batchNumber", "timestamp", "oldAccountsRoot", "oldMarketsRoot", "oldFeePool"];
const ORACLE_FIELDS = [
  "oldInstruments", "oldInsurance", "oldOracleTime", "oldFundingEpoch", "oldBadDebt", "oldPooledQuote", "oracleUsed", "oracleKeyX", "oracleKeyY", "oracleTime", "fundingEpoch",
  "prices", "sliceUnderlying", "sliceExpiry", "sliceLevel", "sliceSlope", "rates", "settleExpiry", "settlePrices", "oracleSig",
  "marksRoot", "optionMarks", "markSiblings",
];
/** Key x coordinates, with the signature each key verifies (for "forge"). */
const KEY_X: Record<string, string | null> = {
  pubKeyX: null, aPubX: "sigA", bPubX: "sigB", d_aPubX: "d_sigA", d_bPubX: "d_sigB", oracleKeyX: "oracleSig",
};
/** Fields whose counterpart (the other account's, the other order's) is the natural "other" value. */
const COUNTERPART: Record<string, string> = {
  accountA: "accountB", orderA: "orderB", sigA: "sigB", buyFee: "sellFee", buyFeePpm: "sellFeePpm", oracleKeyX: "oracleKeyY",
};

/** One value of an input field: the field, its position in the field's (nested) array, the value. */
export type Leaf = { field: string; path: number[]; value: bigint };

function at(v: unknown, path: number[]): unknown {
  return path.reduce((x: unknown, i) => (x as unknown[])[i], v);
}

/** The values of `input[field]` (under position `prefix`), each with its position. */
export function leavesOf(input: Input, field: string, prefix: number[]): Leaf[] {
  const out: Leaf[] = [];
  const walk = (v: unknown, path: number[]) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else out.push({ field, path, value: BigInt(v as string) });
  };
  walk(at(input[field], prefix), prefix);
  return out;
}

/** The input fields a scenario mutates, grouped (a group is one "field" of the default sample). */
function fieldGroups(s: Scenario, input: Input): { group: string; leaves: Leaf[] }[] {
  const groups: { group: string; leaves: Leaf[] }[] = [];
  if (s.section === "header" || s.section === "oracle") {
    for (const f of s.section === "header" ? HEADER_FIELDS : ORACLE_FIELDS) groups.push({ group: f, leaves: leavesOf(input, f, []) });
    return groups;
  }
  const prefix = s.section === "deriv" ? "d_" : "";
  const sectionFields = Object.keys(input).filter((k) => (prefix ? k.startsWith(prefix) : !k.startsWith("d_") && !HEADER_FIELDS.includes(k) && !ORACLE_FIELDS.includes(k) && k !== "publicInput"));
  const witness = (side: "a" | "b") => sectionFields.filter((k) => WITNESS.some((w) => k === `${prefix}${side}${w}`));
  const slot = s.slot ?? 0;
  for (const side of ["a", "b"] as const) groups.push({ group: `${prefix}${side} state witness`, leaves: witness(side).flatMap((f) => leavesOf(input, f, [slot])) });
  const inWitness = new Set([...witness("a"), ...witness("b")]);
  for (const f of sectionFields) if (!inWitness.has(f)) groups.push({ group: f, leaves: leavesOf(input, f, [slot]) });
  return groups;
}

/** One candidate change of the honest input (of `field`); `stateWitness`: it changes the old state the slot proves against. */
export type Mutation = { label: string; field: string; apply: (input: Input) => void; stateWitness: boolean };

/** Fields that carry the old state (Merkle proofs, old leaves, old keys, old roots): the trees must pin them down. */
function isStateWitness(field: string): boolean {
  const f = field.replace(/^d_/, "");
  return WITNESS.some((w) => f === `a${w}` || f === `b${w}`) || ["marketOldLeaf", "marketSiblings", "oldAccountsRoot", "oldMarketsRoot", "oldFeePool"].includes(f)
    || /^old[A-Z]/.test(f);
}

const KINDS = ["plus1", "minus1", "zero", "pMinus1", "other", "random", "double", "negate"] as const;
type Kind = (typeof KINDS)[number] | "offCurve" | "forge";

function set(input: Input, leaf: Leaf, value: bigint): void {
  const v = (((value % P) + P) % P).toString();
  if (!leaf.path.length) input[leaf.field] = v;
  else (at(input[leaf.field], leaf.path.slice(0, -1)) as Nested[])[leaf.path[leaf.path.length - 1]] = v;
}

/**
 * Values present elsewhere in the input that `leaf` could take: the field in other slots and positions, its
 * counterpart, and the fields `related` names for it.
 */
function otherValues(input: Input, leaf: Leaf, related: Related): bigint[] {
  const bare = leaf.field.replace(/^d_/, "");
  const counterpartBare = COUNTERPART[bare] ?? Object.entries(COUNTERPART).find(([, v]) => v === bare)?.[0];
  const names = [leaf.field, ...(counterpartBare ? [leaf.field.startsWith("d_") ? `d_${counterpartBare}` : counterpartBare] : [])];
  const ab = /^(d_)?([ab])([A-Z]\w*)$/.exec(leaf.field);
  if (ab) names.push(`${ab[1] ?? ""}${ab[2] === "a" ? "b" : "a"}${ab[3]}`);
  names.push(...(related[leaf.field] ?? []));
  const values = new Set<bigint>();
  for (const n of names) if (n in input) for (const l of leavesOf(input, n, [])) values.add(l.value);
  values.delete(leaf.value);
  return [...values];
}

/** For a field, other fields whose values are natural wrong values for it ("other"). */
export type Related = Readonly<Record<string, readonly string[]>>;

/** The mutations of one leaf of one kind (none when the kind leaves the value unchanged or does not apply). */
function mutationsOf(input: Input, leaf: Leaf, kind: Kind, random: () => number, related: Related = {}): Mutation[] {
  const name = `${leaf.field}${leaf.path.map((i) => `[${i}]`).join("")} ${kind}`;
  const field = () => Array.from({ length: 5 }, () => BigInt(Math.floor(random() * 2 ** 52))).reduce((v, w) => (v << 52n) | w, 0n) % P;
  const to = (value: bigint | null | undefined, extra?: (i: Input) => void): Mutation[] => {
    if (value === null || value === undefined || (((value % P) + P) % P) === leaf.value) return [];
    return [{ label: name, field: leaf.field, apply: (i) => (set(i, leaf, value), extra?.(i)), stateWitness: isStateWitness(leaf.field) }];
  };
  const v = leaf.value;
  switch (kind) {
    case "plus1": return to(v + 1n);
    case "minus1": return to(v - 1n);
    case "zero": return to(0n);
    case "pMinus1": return to(P - 1n);
    case "random": return to(field());
    case "double": return to(2n * v);
    case "negate": return to(-v);
    case "other": {
      const o = otherValues(input, leaf, related);
      return to(o.length ? o[Math.floor(random() * o.length)] : null);
    }
    case "offCurve":
    case "forge": {
      if (!(leaf.field in KEY_X)) return [];
      const yField = leaf.field.replace(/X$/, "Y");
      const y = BigInt(at(input[yField], leaf.path) as string);
      if (kind === "offCurve") return to(offCurveX(y, signOf(v), field));
      const sig = KEY_X[leaf.field];
      const forged = forgingX(y, signOf(v));
      return to(forged, (i) => {
        if (!sig) return;
        const target = at(i[sig], leaf.path) as Nested[];
        NO_SIGNATURE.forEach((s, k) => (target[k] = s.toString()));
      });
    }
  }
}

/**
 * The PRNG of the mutations of the scenario named `name` under `seed` (HUNT_SEED). The name's hash and the mix
 * stay in 32-bit integers: in floating point (as until the exit hunt's review, circuits/HUNT.md) the hash of a name
 * of 15 characters or more outgrew 2^53, the seed's term was lost in its rounding and rng's `| 0` made the state 0,
 * so every such scenario drew the same mutations whatever HUNT_SEED said.
 */
export function huntRandom(seed: number, name: string): () => number {
  const hash = [...name].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) | 0, 0);
  return rng((Math.imul(seed, 7919) + Math.imul(name.length, 104729) + hash) | 0);
}

/**
 * The mutations `opts` selects among `groups` (each group one "field" of the sample) of `input`, drawn with
 * `random`: every kind at every position (HUNT=full), or HUNT_PER_FIELD per group, of which `opts.sample` are
 * kept (the default run). `related`: other fields whose values a field may take ("other").
 */
export function sampleMutations(groups: readonly { leaves: Leaf[] }[], input: Input, opts: HuntSettings, random: () => number, related: Related = {}): Mutation[] {
  const out: Mutation[] = [];
  for (const { leaves } of groups) {
    if (!leaves.length) continue;
    if (opts.full) {
      for (const leaf of leaves) for (const kind of [...KINDS, "offCurve", "forge"] as Kind[]) out.push(...mutationsOf(input, leaf, kind, random, related));
      continue;
    }
    for (let n = 0, tries = 0; n < opts.perField && tries < 20; tries++) {
      const leaf = leaves[Math.floor(random() * leaves.length)];
      const kinds: Kind[] = leaf.field in KEY_X ? [...KINDS, "offCurve", "forge"] : [...KINDS];
      const m = mutationsOf(input, leaf, kinds[Math.floor(random() * kinds.length)], random, related);
      if (m.length) {
        out.push(...m);
        n++;
      }
    }
  }
  if (opts.sample !== null) {
    while (out.length > opts.sample) out.splice(Math.floor(random() * out.length), 1);
  }
  return out;
}

/** Every mutation the scenario's settings select: a sample per field group, or (HUNT=full) all of them. */
export function mutations(s: Scenario, input: Input, opts: HuntSettings): Mutation[] {
  const random = huntRandom(opts.seed, s.name);
  const out = sampleMutations(fieldGroups(s, input), input, opts, random);
  // The key attacks of finding 1 on every key the slot or the oracle step takes from the operator.
  if (!opts.full && s.section !== "header") {
    for (const f of Object.keys(KEY_X)) {
      if (!(f in input) || (s.section === "oracle") !== (f === "oracleKeyX")) continue;
      if (s.section === "spot" && f.startsWith("d_")) continue;
      if (s.section === "deriv" && !f.startsWith("d_")) continue;
      for (const leaf of leavesOf(input, f, s.section === "oracle" ? [] : [s.slot ?? 0])) {
        for (const kind of ["offCurve", "forge"] as const) out.push(...mutationsOf(input, leaf, kind, random));
      }
    }
  }
  // A forged oracle key signs any price: the forgery with a price of the operator's choosing.
  if (s.section === "oracle") {
    const forge = mutationsOf(input, leavesOf(input, "oracleKeyX", [])[0], "forge", random)[0];
    const price = leavesOf(input, "prices", [0])[0];
    if (forge) out.push({ ...forge, label: `${forge.label}, prices[0] halved`, apply: (i) => (forge.apply(i), set(i, price, price.value / 2n)) });
  }
  return out;
}

// ---- the honest model's reading of an accepted candidate

const str = (v: unknown) => BigInt(v as string);
const signed = (v: bigint) => (v > P / 2n ? v - P : v);
/** Numbers that must fit a JavaScript number; anything larger is out of every range the model checks. */
const num = (v: bigint) => (v < BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : Number.MAX_SAFE_INTEGER);

function orderOf(fields: unknown, sig: unknown): Signed<Order> {
  const all = (fields as string[]).map(str);
  const o = (f: keyof Order) => all[ORDER_FIELD[f]]!;
  return {
    accountId: num(o("accountId")), orderId: o("orderId"), marketId: num(o("marketId")), side: num(o("side")) as Order["side"], type: num(o("type")) as Order["type"],
    timeInForce: num(o("timeInForce")) as Order["timeInForce"], priceTicks: o("priceTicks"), sizeLots: o("sizeLots"), maxFeePpm: num(o("maxFeePpm")), expiry: num(o("expiry")),
    ...(o("reduceOnly") !== 0n ? { reduceOnly: true } : {}),
    ...(o("triggerType") !== 0n ? { triggerType: num(o("triggerType")) as Order["triggerType"] } : {}),
    ...(o("triggerPriceTicks") !== 0n ? { triggerPriceTicks: o("triggerPriceTicks") } : {}),
    signature: signatureOf(sig),
  };
}
function signatureOf(sig: unknown): Signature {
  const [r8x, r8y, s] = (sig as string[]).map(str);
  return { r8x, r8y, s };
}

/**
 * The transactions the public data records, with the signed orders and requests (and keys) that the
 * candidate input carries: what the honest builder is asked to accept.
 */
export function honestSections(records: readonly SlotRecord[], input: Input, p: CircuitParams): BatchSections {
  const col = (name: string, s: number) => (input[name] as unknown[])[s];
  const spot: SpotTx[] = [];
  const deriv: DerivTx[] = [];
  records.forEach((r, i) => {
    const d = i >= p.slots;
    const s = d ? i - p.slots : i;
    const g = (name: string) => col(d ? `d_${name}` : name, s);
    let tx: BatchTx;
    switch (r.type) {
      case TxType.NOOP: tx = NOOP; break;
      case TxType.REGISTER_KEY: tx = { type: r.type, accountId: num(r.accountId), pubKey: [str(g("pubKeyX")), str(g("pubKeyY"))] }; break;
      case TxType.DEPOSIT: tx = { type: r.type, accountId: num(r.accountId), tokenId: num(r.tokenId), amount: r.amount }; break;
      case TxType.REGISTER_MARKET: tx = { type: r.type, marketId: num(r.marketId), baseTokenId: num(r.baseTokenId), sizeUnit: r.sizeUnit, priceUnit: r.priceUnit }; break;
      case TxType.TRADE:
      case TxType.DERIV_TRADE:
        tx = {
          type: r.type, buy: orderOf(g("orderA"), g("sigA")), sell: orderOf(g("orderB"), g("sigB")), lots: r.lots, priceTicks: r.priceTicks,
          buyFeePpm: num(r.buyFeePpm), sellFeePpm: num(r.sellFeePpm),
        } as BatchTx;
        break;
      case TxType.WITHDRAW:
        tx = { type: r.type, request: { accountId: num(r.accountId), tokenId: num(r.tokenId), amount: r.amount, nonce: num(str(g("nonce"))), signature: signatureOf(g("sigA")) } };
        break;
      case TxType.CANCEL: tx = { type: r.type, request: { accountId: num(r.accountId), orderId: r.orderId, signature: signatureOf(g("sigA")) } }; break;
      case TxType.OPERATOR_CANCEL: tx = { type: r.type, accountId: num(r.accountId), orderId: r.orderId }; break;
      case TxType.FORCED_WITHDRAW:
      case TxType.FORCED_COLLATERAL_WITHDRAW:
        // The queued request; its outcome is the model's to decide again (the record's `honoured` is compared below).
        tx = { type: r.type, accountId: num(r.accountId), tokenId: num(r.tokenId), amount: r.amount };
        break;
      case TxType.FEE_WITHDRAW:
      case TxType.INSURANCE_WITHDRAW:
        tx = { type: r.type, amount: r.amount };
        break;
      case TxType.FORCED_CLOSE:
        // The queued request; its outcome is the model's to decide again.
        tx = { type: r.type, accountId: num(r.accountId), instrumentId: num(r.instrumentId), counterpartyId: num(r.counterpartyId), lots: r.lots };
        break;
      case TxType.LIQUIDATE:
        tx = {
          type: r.type, liquidatedAccountId: num(r.liquidatedAccountId), liquidator: orderOf(g("orderB"), g("sigB")), lots: r.lots,
          priceTicks: r.priceTicks, liquidatorFeePpm: num(r.liquidatorFeePpm),
        };
        break;
      case TxType.SETTLE: tx = { type: r.type, accountId: num(r.accountId), instrumentId: num(r.instrumentId) }; break;
      case TxType.DELEVERAGE:
        tx = {
          type: r.type, deleveragedAccountId: num(r.deleveragedAccountId), counterpartyAccountId: num(r.counterpartyAccountId),
          instrumentId: num(r.instrumentId), lots: r.lots, amount: r.amount,
        };
        break;
      case TxType.TRANSFER:
        tx = {
          type: r.type,
          request: { accountId: num(r.accountId), toCollateral: r.toCollateral === 1n, amount: r.amount, nonce: num(str(g("nonce"))), signature: signatureOf(g("sigA")) },
        };
        break;
      case TxType.REGISTER_INSTRUMENT:
        tx = {
          type: r.type, instrumentId: num(r.instrumentId), kind: num(r.kind) as InstrumentKind, underlying: num(r.underlying), lotSizeE6: r.lotSizeE6,
          tickValue: r.tickValue, imPpm: r.imPpm, mmPpm: r.mmPpm, strike: r.strike, expiry: num(r.expiry), fundingCapPpm: r.fundingCapPpm,
        };
        break;
    }
    if (d) deriv.push(tx as DerivTx);
    else spot.push(tx as SpotTx);
  });
  return { spot, deriv };
}

/** The signed oracle update the candidate input carries (key, signature and all), or null when it uses none. */
export function oracleOfInput(input: Input): SignedOracleUpdate | null {
  if (str(input.oracleUsed) !== 1n) return null;
  return {
    time: num(str(input.oracleTime)), fundingEpoch: num(str(input.fundingEpoch)), prices: (input.prices as string[]).map(str),
    volSlices: (input.sliceLevel as string[]).map((level, e) => ({
      underlying: num(str((input.sliceUnderlying as string[])[e])), expiry: num(str((input.sliceExpiry as string[])[e])),
      levelPpm: str(level), slopePpm: signed(str((input.sliceSlope as string[])[e])),
    })),
    rates: (input.rates as string[]).map((r) => signed(str(r))),
    key: [str(input.oracleKeyX), str(input.oracleKeyY)], signature: signatureOf(input.oracleSig),
    settlement: str(input.settleExpiry) === 0n ? null : { expiry: num(str(input.settleExpiry)), prices: (input.settlePrices as string[]).map(str) },
  };
}

function recordChanges(before: readonly SlotRecord[], after: readonly SlotRecord[]): string[] {
  const out: string[] = [];
  after.forEach((r, i) => {
    const b = before[i] as Record<string, bigint | number>;
    const a = r as Record<string, bigint | number>;
    if (b.type !== a.type) return void out.push(`slot ${i} ${TX_NAME[b.type as number]} -> ${TX_NAME[a.type as number]}`);
    for (const [f] of RECORD_LAYOUT[r.type]) if (a[f] !== b[f]) out.push(`slot ${i} ${TX_NAME[r.type]}.${f} ${b[f]} -> ${a[f]}`);
  });
  return out;
}

const isRequest = (r: SlotRecord) => REQUEST_TYPES.includes(r.type);
/** A request record as the custodian's request chain hashes it (a forced request's outcome byte cleared: queuedForm). */
const hex = (r: SlotRecord) => Buffer.from(queuedForm(encodeRecord(r))).toString("hex");

/** A verdict on public data the circuit accepted for a candidate input (see the file comment). */
export function judge(s: Scenario, honest: BuiltBatch, input: Input, publicData: Uint8Array): Verdict {
  const p = s.state.params;
  let decoded: ReturnType<typeof decodePublicData>;
  try {
    decoded = decodePublicData(publicData, p);
  } catch (e) {
    return { kind: "hole", why: `the circuit accepted public data that does not decode: ${(e as Error).message}` };
  }
  const { header, oracle, records } = decoded;
  // The custodian's checks (Custodian.sol submitBatch): they refuse, the circuit need not.
  if (header.oldRoot !== s.state.root) return { kind: "custodian", why: "old root is not the custodian's root" };
  if (header.batchNumber !== BigInt(s.opts.batchNumber)) return { kind: "custodian", why: "batch number is not the next one" };
  if (oracle.used && s.oracleKey && oracle.key !== compressPublicKey(s.oracleKey)) return { kind: "custodian", why: "oracle key is not the registered one" };
  const spotTypes: readonly number[] = SPOT_TX_TYPES;
  const derivTypes: readonly number[] = DERIV_TX_TYPES;
  if (records.some((r, i) => !(i < p.slots ? spotTypes : derivTypes).includes(r.type))) return { kind: "custodian", why: "a record's type does not belong to its slot class" };
  if (records.filter(isRequest).map(hex).join() !== honest.records.filter(isRequest).map(hex).join()) {
    return { kind: "custodian", why: "request records are not the queued requests" };
  }
  const timestamp = Number(header.timestamp);

  // (a) the honest model, every rule on, on the recorded transactions and the signed material of the input
  const update = oracleOfInput(input);
  const marks = update ? marksOfStep(s.state, update, timestamp) : null;
  const debtBefore = marks ? badDebt(s.state, marks).total : 0n;
  let debtAfter: ReturnType<typeof badDebt> | null = null;
  const t = s.state.begin();
  let model: BuiltBatch;
  try {
    model = buildBatch(s.state, honestSections(records, input, p), {
      batchNumber: Number(header.batchNumber), timestamp, oracle: update, verifySignatures: true, enforceRules: true,
    });
    if (marks) debtAfter = badDebt(s.state, marks);
  } catch (e) {
    return { kind: "hole", why: `the honest model refuses it: ${(e as Error).message}` };
  } finally {
    t.rollback();
  }
  // The marks registry holds a key only for a proven marking (MK3-MK4): one of the candidate's update whose leaves are
  // computed from each option's terms, so the marks a batch reads under any recorded key are the honest model's. A key
  // other than the model's marking's is therefore refused by the custodian (not recorded: MarksNotRecorded, MK7) or
  // names another proven marking with the same marks: it is the custodian's call, not the circuit's.
  if (oracle.marksKey !== model.oracle.marksKey) return { kind: "custodian", why: "marks key is not the honest marking's (recorded only for a proven marking)" };
  if (!Buffer.from(model.publicData).equals(Buffer.from(publicData))) {
    const diffs = recordChanges(model.records, records);
    if (model.header.newRoot !== header.newRoot) diffs.push("new root");
    return { kind: "hole", why: `the honest model accepts its transactions but computes other public data (${diffs.join("; ") || "header or oracle section"}): model and circuit disagree on the state transition` };
  }
  // (b) the independent replay from public data
  const r = s.state.begin();
  try {
    const replayed = replayBatch(s.state, records, { batchNumber: Number(header.batchNumber), timestamp, oracle });
    if (replayed.header.newRoot !== header.newRoot) return { kind: "hole", why: "the replay of its public data reaches another new root" };
  } catch (e) {
    return { kind: "hole", why: `the replay of its public data fails: ${(e as Error).message}` };
  } finally {
    r.rollback();
  }
  // (c) rules beyond the model: custody (the transactions leave no more bad debt at the batch's marks than
  // there was before them: nothing all accounts can claim may exceed what the custodian holds), and the scenario's
  // A liquidation price is in ticks and the mark is not: one tick per liquidated lot is the granularity
  // the rules allow, not a choice.
  const tickSlack = records.reduce((sum, r) => sum + (r.type === TxType.LIQUIDATE ? r.lots * (s.state.instruments[Number(r.instrumentId)]?.tickValue ?? 0n) : 0n), 0n);
  if (debtAfter && debtAfter.total > debtBefore + tickSlack) {
    const who = debtAfter.accounts.map(([id, e]) => `account ${id} ${e}`).join(", ");
    return { kind: "hole", why: `custody: its transactions leave ${debtAfter.total - debtBefore} quote units more bad debt at the batch's marks (${who}): claims exceed what the custodian holds` };
  }
  for (const rule of s.rules ?? []) {
    const why = rule({ pre: s.state, oracle, records, timestamp });
    if (why) return { kind: "hole", why };
  }
  const changes = recordChanges(honest.records, records);
  if (header.timestamp !== honest.header.timestamp) changes.push(`timestamp ${honest.header.timestamp} -> ${header.timestamp}`);
  return { kind: "legitimate", changes: changes.join("; ") || "same public data" };
}

// ---- consistent later Merkle proofs

type Deep = bigint | Deep[];
const strings = (v: Deep): Nested => (Array.isArray(v) ? v.map(strings) : fieldOf(v).toString());

function cloneTree(t: QuadTree, emptyLeaf: bigint): QuadTree {
  const c = new QuadTree(t.levels, emptyLeaf);
  for (const [i, v] of t.leaves()) c.set(i, v);
  return c;
}

/**
 * What a consistent operator would put in every slot's state witness (Merkle proofs, old leaves, old
 * keys, nonces and derivatives vectors) for the writes the open circuit computed (`w`): the state trees
 * are replayed from `state` with those writes, in the circuit's order (spot slots, then derivatives
 * slots; A, then B; the market last). A changed transaction value then meets proofs that agree with it,
 * as it would from an operator who rebuilt the witness. Returns `input` unchanged where an index is out
 * of its tree (the range checks refuse that anyway).
 */
function rebuildProofs(state: ExchangeState, input: Input, w: OpenWitness): Input {
  const p = state.params;
  const out = structuredClone(input);
  const accounts = cloneTree(state.accountTree, ExchangeState.emptyAccountLeaf(p));
  const markets = cloneTree(state.marketTree, 0n);
  type Acc = { quote: bigint; bal: QuadTree; ord: QuadTree; pub: [bigint, bigint]; nonce: bigint; derivLeaf: bigint; vectors: bigint[] };
  const cache = new Map<number, Acc>();
  const account = (id: number): Acc => {
    let a = cache.get(id);
    if (!a) {
      const s = state.account(id);
      const slots = slotValues(s.deriv, s.positionSlots);
      a = {
        quote: s.quote, bal: cloneTree(s.balances, 0n), ord: cloneTree(s.orders, 0n), pub: [s.pubKey[0], s.pubKey[1]], nonce: BigInt(s.nonce), derivLeaf: accountDerivLeaf(s),
        vectors: [s.deriv.collateral, ...slots.id.flatMap((v, k) => [v, slots.size[k], slots.snap[k]])].map(fieldOf),
      };
      cache.set(id, a);
    }
    return a;
  };
  const put = (name: string, slot: number, value: Deep) => ((out[name] as Nested[])[slot] = strings(value));
  const update = (prefix: "" | "d_", side: "a" | "b", slot: number, u: UpdateTrace, vectorsNew?: bigint[]) => {
    const [id, token, os] = [u.accountId, u.balToken, u.orderSlot].map(Number);
    const a = account(id);
    const n = (f: string) => `${prefix}${side}${f}`;
    put(n("Siblings"), slot, accounts.proof(id));
    put(n("PubX"), slot, a.pub[0]);
    put(n("PubY"), slot, a.pub[1]);
    put(n("Nonce"), slot, a.nonce);
    if (prefix) {
      put(n("Collateral"), slot, a.vectors[0]);
      put(n("PosId"), slot, a.vectors.filter((_, i) => i % 3 === 1));
      put(n("PosSize"), slot, a.vectors.filter((_, i) => i > 0 && i % 3 === 2));
      put(n("PosSnap"), slot, a.vectors.filter((_, i) => i > 0 && i % 3 === 0));
    } else put(n("DerivLeaf"), slot, a.derivLeaf);
    put(n("QuoteOld"), slot, a.quote);
    a.quote = u.quoteNew;
    if (prefix) put(n("BalancesRoot"), slot, a.bal.root);
    else {
      put(n("BalOld"), slot, a.bal.leaf(token));
      put(n("BalSiblings"), slot, a.bal.proof(token));
      a.bal.set(token, u.balNew);
    }
    const old = decodeOrderSlot(a.ord.leaf(os));
    put(n("OrderLeaf"), slot, [old.storedId, old.filled, old.cancelled ? 1n : 0n]);
    put(n("OrderSiblings"), slot, a.ord.proof(os));
    a.ord.set(os, u.orderNewLeaf);
    a.pub = [u.newPubX, u.newPubY];
    a.nonce = u.newNonce;
    a.derivLeaf = u.derivNew;
    if (vectorsNew) a.vectors = vectorsNew;
    accounts.set(id, accountLeafHash({ pubKey: a.pub, nonce: a.nonce, quote: a.quote, balancesRoot: a.bal.root, ordersRoot: a.ord.root, derivLeaf: a.derivLeaf }));
  };
  try {
    w.spot.forEach((s, i) => {
      update("", "a", i, s.updates[0]);
      update("", "b", i, s.updates[1]);
      const m = Number(s.market[0]);
      put("marketOldLeaf", i, markets.leaf(m));
      put("marketSiblings", i, markets.proof(m));
      markets.set(m, s.market[1]);
    });
    w.deriv.forEach((d, i) => {
      update("d_", "a", i, d.updates[0], d.vectors[0]);
      update("d_", "b", i, d.updates[1], d.vectors[1]);
    });
  } catch (e) {
    if (e instanceof RangeError) return input;
    throw e;
  }
  return out;
}

/**
 * The fee witnesses a consistent operator would give for the slots' (changed) quantities, prices and
 * fee rates: fee = ceil(notional x ppm / 10^6), notional = lots x priceTicks x priceUnit (spot) or
 * tickValue (derivatives, the instrument's at the batch's start); `except` (the changed field itself)
 * is left alone, and so is any slot whose values are out of their ranges (the range checks refuse it).
 */
function rebuildFees(input: Input, p: CircuitParams, except: string): Input {
  const out = structuredClone(input);
  const at = (name: string, s: number) => BigInt((input[name] as string[])[s]);
  const inRange = (...vs: bigint[]) => vs.every((v) => v < 1n << 64n);
  const fees = (prefix: "" | "d_", s: number, unit: bigint) => {
    const [lots, price, buyPpm, sellPpm] = ["lots", "priceTicks", "buyFeePpm", "sellFeePpm"].map((f) => at(prefix + f, s));
    if (!inRange(lots, price, unit, buyPpm, sellPpm)) return;
    const notional = lots * price * unit;
    for (const [field, ppm] of [["buyFee", buyPpm], ["sellFee", sellPpm]] as const) {
      if (prefix + field !== except) (out[prefix + field] as string[])[s] = feeAmount(notional, Number(ppm)).toString();
    }
  };
  for (let s = 0; s < p.slots; s++) fees("", s, at("priceUnit", s));
  for (let s = 0; s < p.derivSlots; s++) {
    const id = at("d_instrumentId", s);
    if (id < BigInt(p.instruments)) fees("d_", s, BigInt((input.oldInstruments as string[][])[Number(id)][3]));
  }
  return out;
}

type Outcome = { ok: false; chain: string[] } | { ok: true; publicData: Uint8Array; input: Input; rebuilt: number };

/**
 * The real circuit's answer for `input`, asked through the open circuit: refused (where), or accepted
 * with its public data. With `rebuild`, a refusal at a Merkle proof that only a changed transaction
 * value made stale is retried with the proofs a consistent operator would give (rebuildProofs), until
 * the input stops changing.
 */
async function outcomeOf(wasm: string, s: Scenario, input: Input, rebuild: { field: string } | null): Promise<Outcome> {
  let current = rebuild ? rebuildFees(input, s.state.params, rebuild.field) : input;
  for (let rebuilt = 0; ; rebuilt++) {
    const w = await openWitness(wasm, s.state.params, current);
    if (!w.ok) return w;
    if (!w.broken.length) return { ok: true, publicData: w.publicData, input: current, rebuilt };
    const next = rebuild && rebuilt < 8 ? rebuildProofs(s.state, current, w) : current;
    if (JSON.stringify(next) === JSON.stringify(current)) return { ok: false, chain: w.broken };
    current = next;
  }
}

// ---- running a scenario
export type HuntLine = { label: string; verdict: Verdict };
export type HuntReport = { scenario: string; lines: HuntLine[]; holes: HuntLine[] };

/** What the generator tries (see the file comment): every kind at every position, the per-field sample, or `sample` of it per scenario. */
export type HuntSettings = { full: boolean; perField: number; seed: number; sample: number | null };

export function huntSettings(): HuntSettings {
  return {
    full: process.env.HUNT === "full",
    sample: process.env.HUNT ? null : Number(process.env.HUNT_SAMPLE ?? 4),
    perField: Number(process.env.HUNT_PER_FIELD ?? 1),
    seed: Number(process.env.HUNT_SEED ?? 1),
  };
}

export function describeVerdict(v: Verdict): string {
  switch (v.kind) {
    case "refused": return `refused at ${v.chain.slice(0, 3).join(" < ")}`;
    case "custodian": return `accepted by the circuit, refused by the custodian: ${v.why}`;
    case "legitimate": return `accepted, legitimate: ${v.changes}`;
    case "hole": return `HOLE: ${v.why}`;
  }
}

/** Builds `s`'s batch (rules as `opts` says) on its state without changing it. */
export function buildOn(s: Scenario, txs: readonly BatchTx[] | BatchSections, opts: BatchOptions): BuiltBatch {
  const t = s.state.begin();
  try {
    return buildBatch(s.state, txs, opts);
  } finally {
    t.rollback();
  }
}

/**
 * Runs the generator on scenario `s` with the open circuit `wasm`: the honest batch must pass, then
 * every mutation and operator choice gets a verdict. Logs one line per candidate; returns the holes.
 */
export async function hunt(wasm: string, s: Scenario, log: (line: string) => void = console.log): Promise<HuntReport> {
  const honest = buildOn(s, s.txs, s.opts);
  const base = await outcomeOf(wasm, s, honest.circuitInput, null);
  assert.ok(base.ok, `liveness: the circuit refuses the honest ${s.name} batch at ${base.ok ? "" : base.chain.join(" < ")}`);
  assert.ok(Buffer.from(base.publicData).equals(Buffer.from(honest.publicData)), "the open circuit computes other public data than the builder");
  const lines: HuntLine[] = [];
  const tryInput = async (label: string, input: Input, rebuild: { field: string } | null) => {
    const o = await outcomeOf(wasm, s, input, rebuild);
    const verdict: Verdict = o.ok ? judge(s, honest, o.input, o.publicData) : { kind: "refused", chain: o.chain };
    const note = o.ok && o.rebuilt ? ` (later Merkle proofs rebuilt ${o.rebuilt}x)` : "";
    lines.push({ label: label + note, verdict });
    log(`  ${s.name} | ${label}${note}: ${describeVerdict(verdict)}`);
  };
  for (const m of s.mutate === false ? [] : mutations(s, honest.circuitInput, huntSettings())) {
    const input = structuredClone(honest.circuitInput);
    m.apply(input);
    await tryInput(m.label, input, m.stateWitness ? null : { field: m.field });
  }
  for (const c of s.choices ?? []) {
    let built: BuiltBatch;
    try {
      built = buildOn(s, c.txs, { ...s.opts, verifySignatures: false, enforceRules: false, ...c.opts });
    } catch (e) {
      // even with its rules off the builder cannot express it (a value outside an encoding): nothing to prove
      log(`  ${s.name} | choice "${c.label}": not buildable (${(e as Error).message})`);
      continue;
    }
    await tryInput(`choice "${c.label}"`, built.circuitInput, { field: "" });
  }
  const holes = lines.filter((l) => l.verdict.kind === "hole");
  const counts = lines.reduce((m, l) => m.set(l.verdict.kind, (m.get(l.verdict.kind) ?? 0) + 1), new Map<string, number>());
  log(`  ${s.name}: ${lines.length} candidates, ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")}`);
  return { scenario: s.name, lines, holes };
}

/** Fails naming every hole (transaction type, field, mutation, why). */
export function assertNoHoles(r: HuntReport): void {
  assert.deepEqual(
    r.holes.map((h) => `${r.scenario} | ${h.label}: ${(h.verdict as { why: string }).why}`),
    [],
    `soundness holes in ${r.scenario}`,
  );
}

/**
 * The node:test suite of a dishonest-operator test file: the open circuit built (or found in the cache)
 * once, then one test per scenario that fails naming every hole; `more` adds tests that need the circuit.
 */
export function huntSuite(title: string, scenarios: () => Scenario[], more?: (wasm: () => string) => void): void {
  after(terminateSnarkjsCurve);
  describe(title, { timeout: 1_800_000 }, () => {
    let wasm = "";
    before(async () => {
      wasm = await buildOpenBatchCircuit(TEST_PARAMS);
    });
    for (const scenario of scenarios()) {
      it(`${scenario.name}: every wrong value the operator chooses is refused or shows in the public data as a legitimate choice`, async () => {
        assertNoHoles(await hunt(wasm, scenario));
      });
    }
    more?.(() => wasm);
  });
}
