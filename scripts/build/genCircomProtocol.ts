/**
 * Generates the circuit's and the contracts' copies of the protocol definition (sequencer/protocol/
 * constants.ts, layouts.ts, messages.ts' ORDER_WORD_FIELDS and publicData.ts' RECORD_LAYOUT), so the
 * circuit, the contracts and the off-chain code share one source of truth:
 * - circuits/generated/protocol.circom: transaction types, hash domains, field widths, constants, the
 *   order and instrument input layouts (O_*, I_*), the instrument tree's shape (instrumentTable.ts), the
 *   order-word packer and the record packers;
 * - contracts/generated/ProtocolConstants.sol (scripts/build/genSolidityProtocol.ts): the constants the
 *   contracts use.
 * test/scripts/build/genCircomProtocol.test.ts fails when a generated file is stale.
 *
 *   npx tsx scripts/build/genCircomProtocol.ts          # writes the files (npm run gen:circom)
 *   npx tsx scripts/build/genCircomProtocol.ts --check  # exits 1 if a file is stale
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  Bits, DERIV_TX_TYPES, Domain, FUNDING_CAP_BOUND, IMMEDIATE_ORDER_TTL, IMMEDIATE_ORDER_TTL_BITS, INSTRUMENT_MARKET_BASE, InstrumentKind, LIQ_BAND_PPM, LIQ_PENALTY_PPM,
  MAX_ORACLE_AGE, MAX_ORACLE_PRICE, MIN_ORACLE_PRICE, oracleCoreBytes, MIN_VOL_PPM, PPM, PRICE_SCALE, PUBLIC_INPUT_CHUNK_BYTES, RECORD_BYTES, RISK_FREE_RATE_PPM, SETTLEMENT_MAX_UNDERLYINGS, SETTLEMENT_WINDOW,
  SPOT_TX_TYPES, TxType,
} from "../../sequencer/protocol/constants.ts";
import { INSTRUMENT_FIELDS, INSTRUMENT_SPEC_FIELDS, ORDER_FIELD_CIRCOM_NAMES, ORDER_FIELDS } from "../../sequencer/protocol/layouts.ts";
import { ORDER_WORD_FIELDS } from "../../sequencer/protocol/messages.ts";
import { RECORD_LAYOUT } from "../../sequencer/protocol/publicData.ts";
import { emptyInstrumentNodes, instrumentLevels, MAX_INSTRUMENT_LEVELS } from "../../sequencer/state/instrumentTable.ts";
import { generateSolidityConstants, SOLIDITY_CONSTANTS_PATH } from "./genSolidityProtocol.ts";

/** Record bits are split in two chunks so each fits a field element: bytes [0, 31) and [31, RECORD_BYTES). */
const CHUNK1_BYTES = 31;
const CHUNK2_BYTES = RECORD_BYTES - CHUNK1_BYTES;

export const GENERATED_PATH = fileURLToPath(new URL("../../circuits/generated/protocol.circom", import.meta.url));

type Term = { input: string; shift: number };

/** The terms each chunk gets from one field: whole, or split into `_hi`/`_lo` parts across the boundary. */
function fieldTerms(name: string, offset: number, bytes: number): { c1: Term[]; c2: Term[]; split?: number } {
  const end = offset + bytes;
  if (end <= CHUNK1_BYTES) return { c1: [{ input: name, shift: 8 * (CHUNK1_BYTES - end) }], c2: [] };
  if (offset >= CHUNK1_BYTES) return { c1: [], c2: [{ input: name, shift: 8 * (RECORD_BYTES - end) }] };
  const loBits = 8 * (end - CHUNK1_BYTES);
  // The low part sits at the top of chunk 2 only when the field ends the record; otherwise it is shifted
  // past the fields after it.
  return { c1: [{ input: `${name}_hi`, shift: 0 }], c2: [{ input: `${name}_lo`, shift: 8 * (RECORD_BYTES - end) }], split: loBits };
}

/**
 * `RECORD_LO_BITS_<TYPE>_<field>()` for every field that spans the chunk boundary: how many of its low bits its
 * `_lo` part holds, so the circuits split it where the packer expects (RegisterKey's key, REGISTER_INSTRUMENT's expiry).
 */
function generateSplitWidths(): string[] {
  const names = Object.fromEntries(Object.entries(TxType).map(([k, v]) => [v, k])) as Record<number, string>;
  const out: string[] = [];
  for (const type of Object.values(TxType)) {
    let offset = 1;
    for (const [field, bytes] of RECORD_LAYOUT[type]) {
      const split = fieldTerms(field, offset, bytes).split;
      if (split !== undefined) out.push(`function RECORD_LO_BITS_${names[type]}_${field}() { return ${split}; }`);
      offset += bytes;
    }
  }
  return out;
}

/**
 * A record packer over `types` (a one-hot `isType` indexed by position in `types`): out is the
 * record of the selected type, most significant bit first, laid out as RECORD_LAYOUT says.
 */
function generatePacker(templateName: string, types: readonly TxType[]): string[] {
  const out: string[] = [];
  const names = Object.fromEntries(Object.entries(TxType).map(([k, v]) => [v, k])) as Record<number, string>;
  out.push("/// Proves: out[0..RECORD_BITS) (most significant bit first) is the public-data record of the");
  out.push("/// transaction selected by the one-hot isType, laid out as RECORD_LAYOUT says. Every field input");
  out.push("/// must already be range-checked to its width by the caller; split fields come as _hi/_lo parts.");
  out.push(`/// isType[k] selects type ${types.map((t) => `${names[t]}`).join(", ")} (k = 0, 1, ...).`);
  const inputs: string[] = [];
  const c1: string[] = [];
  const c2: string[] = [];
  const splits: string[] = [];
  types.forEach((type, k) => {
    const typeName = names[type];
    const layout = RECORD_LAYOUT[type];
    if (layout.length === 0) {
      c1.push(`    p1[${k}] <== 0;`);
      c2.push(`    p2[${k}] <== 0;`);
      return; // NOOP: all zero
    }
    const t1: string[] = [`${type} * ${1n << BigInt(8 * (CHUNK1_BYTES - 1))}`];
    const t2: string[] = [];
    let offset = 1;
    for (const [field, bytes] of layout) {
      const base = `${typeName}_${field}`;
      const terms = fieldTerms(base, offset, bytes);
      if (terms.split !== undefined) {
        inputs.push(`${base}_hi`, `${base}_lo`);
        splits.push(`// ${base} spans the chunk boundary: ${base}_lo holds its low ${terms.split} bits.`);
      } else inputs.push(base);
      for (const t of terms.c1) t1.push(`${t.input} * ${1n << BigInt(t.shift)}`);
      for (const t of terms.c2) t2.push(`${t.input} * ${1n << BigInt(t.shift)}`);
      offset += bytes;
    }
    c1.push(`    p1[${k}] <== isType[${k}] * (${t1.join(" + ")});`);
    c2.push(t2.length ? `    p2[${k}] <== isType[${k}] * (${t2.join(" + ")});` : `    p2[${k}] <== 0;`);
  });
  const n = types.length;
  out.push(`template ${templateName}() {`);
  // A type with an all-zero record (NOOP) leaves its flag out of every constraint here (circom --inspect).
  const zero = types.flatMap((t, k) => (RECORD_LAYOUT[t].length === 0 ? [`isType[${k}] (${names[t]})`] : []));
  const why = zero.length ? ` // inspect: ${zero.join(", ")} selects an all-zero record; the caller constrains the one-hot` : "";
  out.push(`    signal input isType[${n}];${why}`);
  for (const i of inputs) out.push(`    signal input ${i};`);
  out.push("    signal output out[RECORD_BITS()];", ...splits.map((s) => "    " + s));
  out.push(`    signal p1[${n}];`, `    signal p2[${n}];`);
  out.push(...c1, ...c2);
  out.push("    var chunk1 = 0;", "    var chunk2 = 0;");
  out.push(`    for (var t = 0; t < ${n}; t++) { chunk1 += p1[t]; chunk2 += p2[t]; }`);
  out.push(`    component b1 = Num2Bits(${8 * CHUNK1_BYTES});`, "    b1.in <== chunk1;");
  out.push(`    component b2 = Num2Bits(${8 * CHUNK2_BYTES});`, "    b2.in <== chunk2;");
  out.push(`    for (var i = 0; i < ${8 * CHUNK1_BYTES}; i++) out[i] <== b1.out[${8 * CHUNK1_BYTES - 1} - i];`);
  out.push(`    for (var i = 0; i < ${8 * CHUNK2_BYTES}; i++) out[${8 * CHUNK1_BYTES} + i] <== b2.out[${8 * CHUNK2_BYTES - 1} - i];`);
  out.push("}", "");
  return out;
}

/** The order and instrument input layouts (layouts.ts) as circom index functions, and the order-word packer. */
function generateLayouts(): string[] {
  const out: string[] = [];
  out.push("/// Order fields, in the order of the slots' `orderA` / `orderB` input arrays (layouts.ts ORDER_FIELDS).");
  ORDER_FIELDS.forEach((f, i) => out.push(`function O_${ORDER_FIELD_CIRCOM_NAMES[f]}() { return ${i}; }`));
  out.push(`function ORDER_FIELDS() { return ${ORDER_FIELDS.length}; }`);
  const widths = ORDER_WORD_FIELDS.flat().map(([, bits]) => bits);
  out.push("/// The width of order field f (messages.ts ORDER_WORD_FIELDS).");
  out.push(`function ORDER_FIELD_BITS(f) { ${widths.map((b, i) => `if (f == ${i}) { return ${b}; }`).join(" ")} return 0; }`);
  out.push("/// Instrument fields, in the order of the instrument leaf (layouts.ts INSTRUMENT_FIELDS); a registration sets the first I_SPEC_FIELDS.");
  INSTRUMENT_FIELDS.forEach(([, name], i) => out.push(`function I_${name}() { return ${i}; }`));
  out.push(`function I_FIELDS() { return ${INSTRUMENT_FIELDS.length}; }`);
  out.push(`function I_SPEC_FIELDS() { return ${INSTRUMENT_SPEC_FIELDS}; }`, "");

  out.push("/// Proves: w[k] is word k of the order message Poseidon(DOMAIN_ORDER, w[0], w[1]) (messages.ts");
  out.push("/// ORDER_WORD_FIELDS: each field shifted past the ones before it in its word). The fields are not");
  out.push("/// range-checked here: the caller (OrderWords) does it, which makes the packing injective.");
  out.push("template PackOrderWords() {", "    signal input o[ORDER_FIELDS()];", "    signal output w[2];");
  ORDER_WORD_FIELDS.forEach((word, k) => {
    let shift = 0;
    const terms = word.map(([f, bits]) => {
      const term = shift === 0 ? `o[O_${ORDER_FIELD_CIRCOM_NAMES[f]}()]` : `o[O_${ORDER_FIELD_CIRCOM_NAMES[f]}()] * (1 << ${shift})`;
      shift += bits;
      return term;
    });
    if (shift > 253) throw new Error(`order word ${k} needs ${shift} bits: it must fit a field element`);
    out.push(`    w[${k}] <== ${terms.join(" + ")};`);
  });
  out.push("}", "");
  return out;
}

export function generateProtocolCircom(): string {
  const out: string[] = [];
  out.push("// GENERATED by scripts/build/genCircomProtocol.ts from sequencer/protocol/*.ts. Do not edit.");
  out.push("pragma circom 2.1.0;", "");
  for (const [name, value] of Object.entries(TxType)) out.push(`function TX_${name}() { return ${value}; }`);
  out.push(`function SPOT_TX_TYPES() { return ${SPOT_TX_TYPES.length}; }`);
  out.push(`function DERIV_TX_TYPES() { return ${DERIV_TX_TYPES.length}; }`);
  for (const [name, types] of [["SPOT", SPOT_TX_TYPES], ["DERIV", DERIV_TX_TYPES]] as const) {
    out.push(`/// The type value of position k of the ${name === "SPOT" ? "spot" : "derivatives"} slot's type one-hot (${types.join(", ")}).`);
    out.push(`function ${name}_TX_TYPE(k) { ${types.map((t, k) => `if (k == ${k}) { return ${t}; }`).join(" ")} return 0; }`);
  }
  for (const [name, value] of Object.entries(Domain)) out.push(`function DOMAIN_${name}() { return ${value}; }`);
  for (const [name, value] of Object.entries(Bits)) out.push(`function BITS_${name.toUpperCase()}() { return ${value}; }`);
  for (const [name, value] of Object.entries(InstrumentKind)) out.push(`function KIND_${name}() { return ${value}; }`);
  out.push(`function PPM() { return ${PPM}; }`);
  out.push(`function PRICE_SCALE() { return ${PRICE_SCALE}; }`);
  out.push(`function INSTRUMENT_MARKET_BASE() { return ${INSTRUMENT_MARKET_BASE}; }`);
  out.push(`function MAX_ORACLE_AGE() { return ${MAX_ORACLE_AGE}; }`);
  out.push(`function IMMEDIATE_ORDER_TTL() { return ${IMMEDIATE_ORDER_TTL}; }`);
  out.push(`function IMMEDIATE_ORDER_TTL_BITS() { return ${IMMEDIATE_ORDER_TTL_BITS}; }`);
  out.push(`function LIQ_BAND_PPM() { return ${LIQ_BAND_PPM}; }`);
  out.push(`function LIQ_PENALTY_PPM() { return ${LIQ_PENALTY_PPM}; }`);
  out.push(`function RISK_FREE_RATE_PPM() { return ${RISK_FREE_RATE_PPM}; }`);
  out.push(`function SETTLEMENT_WINDOW() { return ${SETTLEMENT_WINDOW}; }`);
  out.push(`function SETTLEMENT_MAX_UNDERLYINGS() { return ${SETTLEMENT_MAX_UNDERLYINGS}; }`);
  out.push(`function MIN_ORACLE_PRICE() { return ${MIN_ORACLE_PRICE}; }`);
  out.push(`function MIN_VOL_PPM() { return ${MIN_VOL_PPM}; }`);
  out.push(`function MAX_ORACLE_PRICE() { return ${MAX_ORACLE_PRICE}; }`);
  out.push(`function FUNDING_CAP_BOUND() { return ${FUNDING_CAP_BOUND}; }`);
  out.push(`function PUBLIC_INPUT_CHUNK_BITS() { return ${PUBLIC_INPUT_CHUNK_BYTES * 8}; }`);
  out.push(`function RECORD_BITS() { return ${RECORD_BYTES * 8}; }`);
  // The oracle section before its closing mask of free ids (constants.ts#oracleCoreBytes, linear in the shape): what
  // OracleStep writes.
  const none = { underlyings: 0, optionInstruments: 0, instruments: 0 };
  const fixed = oracleCoreBytes(none);
  const [perU, perO, perN] = [
    oracleCoreBytes({ ...none, underlyings: 1 }) - fixed,
    oracleCoreBytes({ ...none, optionInstruments: 1 }) - fixed,
    oracleCoreBytes({ ...none, instruments: 1 }) - fixed,
  ];
  out.push(`/// Bytes of the oracle section of U underlyings, O option ids and N instruments, before its mask of free ids.`);
  out.push(`function ORACLE_CORE_BYTES(U, O, N) { return ${fixed} + ${perU} * U + ${perO} * O + ${perN} * N; }`, ...generateSplitWidths(), "");
  out.push(...generateLayouts());
  out.push(...generateInstrumentTree());
  out.push(...generatePacker("PackRecord", SPOT_TX_TYPES));
  out.push(...generatePacker("PackDerivRecord", DERIV_TX_TYPES));
  return out.join("\n");
}

/** The instrument tree's shape (sequencer/state/instrumentTable.ts): its levels for a table of N, and its empty subtrees. */
function generateInstrumentTree(): string[] {
  const sizes = Array.from({ length: MAX_INSTRUMENT_LEVELS }, (_, l) => 4 ** (l + 1)); // the largest table of each height
  const levels = sizes.map((n) => `if (N <= ${n}) { return ${instrumentLevels(n)}; }`).join(" ");
  const empty = emptyInstrumentNodes().map((h, l) => `if (l == ${l}) { return ${h}; }`).join(" ");
  return [
    "/// The levels of the instrument tree of a table of N (instrumentTable.ts#instrumentLevels): the fewest, at least one, with 4^levels >= N.",
    `function INSTRUMENT_LEVELS(N) { ${levels} return 0; }`,
    "/// The root of an instrument subtree of height l that holds no instrument (l = 0: the empty instrument's leaf).",
    `function EMPTY_INSTRUMENT_NODE(l) { ${empty} return 0; }`,
    "",
  ];
}

/** Every generated file with its expected content. */
export function generatedFiles(): { path: string; text: string }[] {
  return [
    { path: GENERATED_PATH, text: generateProtocolCircom() },
    { path: SOLIDITY_CONSTANTS_PATH, text: generateSolidityConstants() },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  let stale = false;
  for (const { path, text } of generatedFiles()) {
    if (check) {
      if (readFileSync(path, "utf8") !== text) {
        console.error(`${path} is stale: run npx tsx scripts/build/genCircomProtocol.ts`);
        stale = true;
      }
    } else {
      writeFileSync(path, text);
      console.log(`wrote ${path}`);
    }
  }
  if (stale) process.exit(1);
}
