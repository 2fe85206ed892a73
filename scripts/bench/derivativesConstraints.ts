/**
 * Constraint counts of the derivatives part of the batch circuit (circuits/DERIVATIVES.md): one
 * derivatives slot (every type - trade, liquidation, settlement, transfer, registration - runs the
 * same universal DerivSlot, so each costs exactly the slot), the batch-level oracle step and its
 * parts (oracle signature, Black-Scholes per option instrument), at TEST, DEVNET (48 instruments) and PRODUCTION sizes, beside
 * the spot Slot as the baseline; then the building blocks of the exchange-scale design (1,024 instruments,
 * 16 positions per account: circuits/DERIVATIVES.md, "At exchange scale").
 *
 *   npx tsx scripts/bench/derivativesConstraints.ts      (or: npm run bench -- derivatives)
 */
import { markingLevels } from "../../sequencer/derivatives/marking.ts";
import { DEVNET_PARAMS, PRODUCTION_PARAMS, TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { oracleSectionBytes, RECORD_BYTES } from "../../sequencer/protocol/constants.ts";
import { INSTRUMENT_FIELDS } from "../../sequencer/protocol/layouts.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { compileR1cs } from "./constraints.ts";
import { batchMainSource } from "../build/batchCircuit.ts";
import { exitMainSource } from "../build/exitCircuit.ts";
import { int, pct, section, table } from "./util.ts";

const main = (include: string, body: string) => `pragma circom 2.1.0;\ninclude "${include}";\ncomponent main = ${body};\n`;
const DERIV = "circuits/derivatives/derivSlot.circom";
const ORACLE = "circuits/derivatives/oracleStep.circom";
const VOL = "circuits/derivatives/volSurface.circom";
const MARKING = "circuits/marking/marking.circom";
const SET = "circuits/lib/instrumentSet.circom";
const TABLE = "circuits/lib/instrumentTable.circom";

export type DerivativesConstraintReport = Record<string, { derivSlot: number; spotSlot: number; oracleStep: number; markRead: number; blackScholes: number; signature: number }>;

export async function runDerivativesConstraints(): Promise<DerivativesConstraintReport> {
  // DEVNET: the fixed table at 48 instruments (40 option ids) and test depths, beside TEST's 4: what a listed
  // instrument costs every batch while the table is a vector (circuits/DERIVATIVES.md, "At exchange scale").
  const sizes: [string, CircuitParams][] = [["TEST", TEST_PARAMS], ["DEVNET", DEVNET_PARAMS], ["PRODUCTION", PRODUCTION_PARAMS]];
  const count = async (name: string, src: string) => (await compileR1cs(name, src)).nConstraints;
  const blackScholes = await count("BlackScholes", main("circuits/lib/fixed/blackScholes.circom", "BlackScholes(0)"));
  const signature = await count("SignatureIfEnabled", main("circuits/batch/slot.circom", "SignatureIfEnabled()"));
  const report: DerivativesConstraintReport = {};
  for (const [label, p] of sizes) {
    const depths = `${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}`;
    report[label] = {
      derivSlot: await count(`DerivSlot_${label}`, main(DERIV, `DerivSlot(${depths}, ${p.instruments}, ${p.positionSlots}, ${p.optionInstruments}, ${p.underlyings})`)),
      spotSlot: await count(`Slot_${label}`, main("circuits/batch/slot.circom", `Slot(${depths}, ${p.marketLevels})`)),
      oracleStep: await count(`OracleStep_${label}`, main(ORACLE, `OracleStep(${p.instruments}, ${p.optionInstruments}, ${p.underlyings})`)),
      markRead: await count(`MarkRead_${label}`, main(ORACLE, `MarkRead(${markingLevels(p)}, 0)`)),
      blackScholes,
      signature,
    };
  }
  section("Derivatives: constraints per derivatives slot and per batch (circom2 --O2)");
  const rows = sizes.map(([label, p]) => {
    const r = report[label]!;
    return [
      `${label} (depths ${p.accountLevels}/${p.balanceLevels}/${p.orderLevels}, ${p.instruments} instruments, ${p.optionInstruments} options, ${p.underlyings} underlyings)`,
      int(r.derivSlot), int(r.spotSlot), `${(r.derivSlot / r.spotSlot).toFixed(2)}x`, int(r.oracleStep),
      `${int(p.optionInstruments * r.markRead)} (${int(r.markRead)} each, ${pct(p.optionInstruments * r.markRead, r.oracleStep)})`,
      int(oracleSectionBytes(p)),
    ];
  });
  console.log(table(
    ["size", "DerivSlot = per derivatives trade, liquidation, settlement, transfer", "spot Slot (baseline)", "ratio", "OracleStep (once per batch)", "of which option marks read by path", "oracle section bytes"],
    rows,
  ));
  console.log(
    `\nEvery derivatives transaction type runs the same universal DerivSlot, so a trade, a liquidation and a settlement each cost the slot above, ` +
      `plus ${RECORD_BYTES} bytes of public data (packed into the public inputs, as a spot record). Per batch the oracle step adds its EdDSA check (${int(signature)}), ` +
      `one mark read by path per option id (MarkRead: the leaf's Poseidon and its path to the marks root; the Black-Scholes, ${int(blackScholes)} ` +
      `each, is proven once per oracle update by the marking proof, below) and the per-instrument marks, margins, settlement and funding arithmetic.`,
  );
  // The whole devnet batch at its 48 instruments and at 16 (the same trees and slots): what each listed instrument
  // costs every batch while the table is a vector, whether anybody holds it or not.
  const sixteen: CircuitParams = { ...DEVNET_PARAMS, instruments: 16, optionInstruments: 8 };
  const wide = await count("Batch_DEVNET", batchMainSource(DEVNET_PARAMS));
  const narrow = await count("Batch_DEVNET_16", batchMainSource(sixteen));
  console.log(
    `\nThe whole DEVNET batch (${DEVNET_PARAMS.slots} + ${DEVNET_PARAMS.derivSlots} slots, depths ${DEVNET_PARAMS.accountLevels}/${DEVNET_PARAMS.balanceLevels}/${DEVNET_PARAMS.orderLevels}): ` +
      `${int(wide)} constraints with ${DEVNET_PARAMS.instruments} instruments (${DEVNET_PARAMS.optionInstruments} options), ${int(narrow)} with ${sixteen.instruments} (${sixteen.optionInstruments} options): ` +
      `${int((wide - narrow) / (DEVNET_PARAMS.instruments - sixteen.instruments))} per instrument listed.`,
  );
  return report;
}

/** Reading, writing and hashing one account's K position slots over N instruments (lib/positions.circom), as a derivatives slot does for A and for B. */
const POSITION_SLOTS = (k: number, n: number) => `pragma circom 2.1.0;
include "circuits/lib/positions.circom";
template PositionSlots(K, N) {
    signal input c;
    signal input id[K];
    signal input size[K];
    signal input snap[K];
    signal input fundingIndex[N];
    signal input target;
    signal input control[8];
    signal output out[2];
    component look = PositionLookup(K, N);
    look.id <== id;
    look.posSize <== size;
    look.posSnap <== snap;
    look.fundingIndex <== fundingIndex;
    component write = PositionWrite(K);
    write.id <== id;
    write.posSize <== size;
    write.posSnap <== snap;
    write.empty <== look.empty;
    write.index <== look.index;
    write.target <== target;
    write.touch <== control[0];
    write.active <== control[1];
    write.held <== control[2];
    write.instrumentId <== control[3];
    write.delta <== control[4];
    write.flatAfter <== control[5];
    write.indexSel <== control[6];
    component before = DerivLeaf(K);
    before.c <== c;
    before.id <== id;
    before.size <== size;
    before.snap <== snap;
    component after = DerivLeaf(K);
    after.c <== control[7];
    after.id <== write.newId;
    after.size <== write.newSize;
    after.snap <== write.newSnap;
    var vectors = 0;
    for (var j = 0; j < N; j++) vectors += look.size[j] + look.snap[j];
    out <== [before.out + vectors, after.out];
}
component main = PositionSlots(${k}, ${n});
`;

/** Fields of an instrument leaf (layouts.ts INSTRUMENT_FIELDS, the circuit's I_FIELDS). */
const LEAF = INSTRUMENT_FIELDS.length;

/** `source` (an Exit main component for `p`) with a table of `n` instruments; throws if the substitution finds nothing. */
function withInstruments(source: string, p: CircuitParams, n: number): string {
  const from = `, ${p.instruments}, ${p.positionSlots}, `;
  if (!source.includes(from)) throw new Error(`no instrument count to replace in ${source}`);
  return source.replace(from, `, ${n}, ${p.positionSlots}, `);
}

/** Constraint costs of the building blocks of 1,024 instruments and 16 positions per account (issue 15), measured. */
export async function runScaleBlocks(): Promise<Record<string, number>> {
  const count = async (name: string, src: string) => (await compileR1cs(name, src)).nConstraints;
  const p = PRODUCTION_PARAMS;
  const u = p.underlyings;
  const depths = `${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}`;
  const c = {
    quadUpdate5: await count("QuadUpdate5", main("circuits/lib/quadTree.circom", "QuadUpdate(5)")),
    leafHash: await count(`Poseidon${LEAF}`, main("circomlib/circuits/poseidon.circom", `Poseidon(${LEAF})`)),
    state: await count(`InstrumentState${u}`, main(ORACLE, `InstrumentState(${u})`)),
    marks: await count("InstrumentMarks", main(ORACLE, "InstrumentMarks()")),
    blackScholes: await count("BlackScholes", main("circuits/lib/fixed/blackScholes.circom", "BlackScholes(0)")),
    risk7: await count("AccountRisk7", main("circuits/lib/accountRisk.circom", "AccountRisk(7)")),
    risk16: await count("AccountRisk16", main("circuits/lib/accountRisk.circom", "AccountRisk(16)")),
    lookup16x16: await count("PositionSetLookup16x16", main(SET, "PositionSetLookup(16, 16)")),
    lookup16x32: await count("PositionSetLookup16x32", main(SET, "PositionSetLookup(16, 32)")),
    lookup16x31: await count("PositionSetLookup16x31", main(SET, "PositionSetLookup(16, 31)")),
    set31: await count("InstrumentSet5x31", main(SET, "InstrumentSet(5, 31)")),
    setLookup31: await count("SetLookup31", main(SET, `SetLookup(31, ${LEAF})`)),
    slots7: await count("PositionSlots7", POSITION_SLOTS(7, 7)),
    slots16: await count("PositionSlots16", POSITION_SLOTS(16, 16)),
    derivSlot16: await count("DerivSlot16", main(DERIV, `DerivSlot(${depths}, 16, 16, 4, ${u})`)),
    derivSlot7: await count("DerivSlot7", main(DERIV, `DerivSlot(${depths}, 7, 7, 4, ${u})`)),
    volSlices4: await count(`VolSlices${p.optionInstruments}`, main(VOL, `VolSlices(${p.optionInstruments}, ${u})`)),
    volSlices16: await count("VolSlices16", main(VOL, `VolSlices(16, ${u})`)),
    sliceVol4: await count(`SliceVol${p.optionInstruments}`, main(VOL, `SliceVol(${p.optionInstruments})`)),
    sliceVol16: await count("SliceVol16", main(VOL, "SliceVol(16)")),
    quadRead5: await count("QuadPath5", main("circuits/lib/quadTree.circom", "QuadPath(5)")),
    markLeaf: await count("Poseidon8", main("circomlib/circuits/poseidon.circom", "Poseidon(8)")),
    markedOption16: await count(`MarkedOption16_${u}`, main(MARKING, `MarkedOption(16, ${u})`)),
    markingProduction: await count("Marking_PRODUCTION", main(MARKING, `Marking(${markingLevels(p)}, ${p.optionInstruments}, ${u}, ${p.instruments})`)),
    marking16x16: await count("Marking_16x16", main(MARKING, `Marking(2, 16, ${u}, ${p.instruments})`)),
    quadNode: await count("Poseidon4", main("circomlib/circuits/poseidon.circom", "Poseidon(4)")),
    chain16: await count("PoseidonChain16", main("circuits/lib/poseidonChain.circom", "PoseidonChain(16)")),
    tableRoot16: await count("InstrumentTableRoot16", main(TABLE, "InstrumentTableRoot(16)")),
    chain1024: await count("PoseidonChain1024", main("circuits/lib/poseidonChain.circom", "PoseidonChain(1024)")),
    tableRoot1024: await count("InstrumentTableRoot1024", main(TABLE, "InstrumentTableRoot(1024)")),
    held16x2: await count("HeldInstruments16x2", main(TABLE, "HeldInstruments(16, 2)")),
    held16x5: await count("HeldInstruments16x5", main(TABLE, "HeldInstruments(16, 5)")),
    // the exit circuit at production parameters with its table, and with 1,024 instruments (past the batch's checkParams
    // cap, which is the batch's: the exit reads K instruments by path whatever N is)
    exitProduction: await count("Exit_PRODUCTION", exitMainSource(p)),
    exit1024: await count("Exit_PRODUCTION_1024", withInstruments(exitMainSource(p), p, 1024)),
    derivSlot16Test: await count("DerivSlot16_TEST", main(DERIV, `DerivSlot(${TEST_PARAMS.accountLevels}, ${TEST_PARAMS.balanceLevels}, ${TEST_PARAMS.orderLevels}, 16, 16, 4, ${u})`)),
  };
  // Per entry of the set: the built InstrumentSet's (its path, both leaves, the id's bits and its order) where the
  // estimates before it summed QuadUpdate(5) and two leaf hashes.
  const load = Math.round(c.set31 / 31);
  section("Derivatives at exchange scale: building blocks (circom2 --O2; circuits/DERIVATIVES.md, \"At exchange scale\")");
  console.log(table(["building block", "constraints", "counted as"], [
    ["load and write back one instrument of a 1,024-leaf table", int(load), `InstrumentSet(5, 31) / 31: QuadUpdate(5) ${int(c.quadUpdate5)} + 2 x Poseidon(${LEAF}) ${int(c.leafHash)} + the id's bits and order`],
    ["mark one instrument (settlement, marks, margins, funding), no Black-Scholes", int(c.state + c.marks), `InstrumentState(${u}) ${int(c.state)} + InstrumentMarks ${int(c.marks)}`],
    ["one Black-Scholes (an option in the batch's set)", int(c.blackScholes), "BlackScholes(0) (the exchange's rate is 0)"],
    ["margin sum over an account's positions: 7 (production until 2026-12-07) / 16 (production)", `${int(c.risk7)} / ${int(c.risk16)}`, "AccountRisk(7) / AccountRisk(16)"],
    ["find 16 positions among the batch's 16 / 31 / 32 instruments (sizes, snapshots and funding indices by set entry)", `${int(c.lookup16x16)} / ${int(c.lookup16x31)} / ${int(c.lookup16x32)}`, "PositionSetLookup(16, M) (built: lib/instrumentSet.circom; not yet read by the batch)"],
    ["the batch's set of 31 instruments (the liveness floor at K = 16) loaded from a 1,024-leaf tree and written back, chained, ids strictly increasing", `${int(c.set31)} (${int(Math.round(c.set31 / 31))} per entry)`, "InstrumentSet(5, 31) (built: lib/instrumentSet.circom; not yet read by the batch)"],
    ["find one instrument's leaf among the set's 31 (a slot's own instrument)", int(c.setLookup31), `SetLookup(31, ${LEAF}) (built)`],
    ["one account's position slots, read and written: 7 slots of 7 instruments / 16 of 16 (production)", `${int(c.slots7)} / ${int(c.slots16)}`, "PositionLookup(K, N) + PositionWrite(K) + 2 x DerivLeaf(K) (built)"],
    ["a derivatives slot, production depths: 7 slots of 7 instruments / 16 slots of 16 instruments", `${int(c.derivSlot7)} / ${int(c.derivSlot16)}`, "DerivSlot(12, 3, 6, N, K, 4, 2) (built; two accounts)"],
    [`the oracle's vol table, checked and signed: ${p.optionInstruments} slices (production) / 16 (2 underlyings x 8 expiries)`, `${int(c.volSlices4)} / ${int(c.volSlices16)}`, `VolSlices(E, ${u}) (built; once per batch)`],
    [`one option's vol from its slice (find, skew, clamp) among ${p.optionInstruments} / 16 slices`, `${int(c.sliceVol4)} / ${int(c.sliceVol16)}`, "SliceVol(E) (built; per option marked)"],
    ["a derivatives slot with 16 slots of 16 instruments, test depths / production depths", `${int(c.derivSlot16Test)} / ${int(c.derivSlot16)}`, `DerivSlot(${TEST_PARAMS.accountLevels}, ${TEST_PARAMS.balanceLevels}, ${TEST_PARAMS.orderLevels} / ${depths}, 16, 16, 4, ${u}) (built)`],
    ["read one mark from a 1,024-leaf marks root (no write-back)", int(c.quadRead5 + c.markLeaf), `QuadPath(5) ${int(c.quadRead5)} (its index's 10 bits are the caller's) + Poseidon(8) ${int(c.markLeaf)}: the leaf (id, generation, kind, underlying, strike, expiry, lot, mark)`],
    ["marking proof: one option marked, among 16 vol slices", int(c.markedOption16), `MarkedOption(16, ${u}) (built: circuits/marking; terms checked, slice vol, Black-Scholes, the leaf)`],
    [`marking proof: the production table's ${p.optionInstruments} option ids, one proof`, int(c.markingProduction), `Marking(${markingLevels(p)}, ${p.optionInstruments}, ${u}, ${p.instruments}) (built; the update's message, prices and vol table checked once, ${4 ** markingLevels(p)} leaves)`],
    ["the table's commitment from the whole table, 16 / 1,024 leaves (leaf hashes apart): the quad tree's root since 2026-12-08, against the Poseidon chain before", `${int(c.tableRoot16)} / ${int(c.tableRoot1024)} (chain: ${int(c.chain16)} / ${int(c.chain1024)})`, "InstrumentTableRoot(N) (built; hashed twice per batch while batches read the whole table) / PoseidonChain(N)"],
    ["an exit's read of 16 held instruments by path, from a tree of 16 / 1,024 (production's K = 16)", `${int(c.held16x2)} / ${int(c.held16x5)}`, "HeldInstruments(16, 2 / 5) (built: the exit circuit's; the leaf hashes included)"],
    [`the exit circuit at production parameters, ${p.instruments} / 1,024 instruments listed`, `${int(c.exitProduction)} / ${int(c.exit1024)}`, "Exit(12, 3, N, 16, 2) (built; reading the whole table instead, N = 1,024 did not compile here: circuits/exit/EXIT.md)"],
    ["marking proof: 16 options under a 16-slice table (2 underlyings x 8 expiries)", int(c.marking16x16), `Marking(2, 16, ${u}, ${p.instruments}) (built; ${int(Math.round(c.marking16x16 / 16))} per option)`],
  ]));
  printSetCosts(c, load);
  return c;
}

/**
 * What a batch's marked set costs at the liveness floor M = 2K - 1 (a trade between two accounts holding K positions
 * each, every one of them an option), paid one of two ways: Black-Scholes in the batch for every option of its set,
 * or marks proven once per oracle update in a separate marking proof and read by path in the batch
 * (circuits/DERIVATIVES.md, "How the set's Black-Scholes are paid for"). Sums of the measured blocks above.
 */
function printSetCosts(c: Record<string, number>, load: number): void {
  const mark = c.state! + c.marks!;
  const inBatch = load + mark + c.sliceVol16! + c.blackScholes!;
  const byPath = load + mark + c.quadRead5! + c.markLeaf!;
  // A marking proof per option: MarkedOption (its terms, its vol from the slice, Black-Scholes, its leaf) and a third of a quad node (a tree of C leaves has (C - 1) / 3 nodes).
  const marking = c.markedOption16! + Math.ceil(c.quadNode! / 3);
  const domain = 2 ** 20;
  const rows = [7, 16].map((k) => {
    const m = 2 * k - 1;
    return [
      `K = ${k} positions per account: M = ${m}`,
      `${int(m * inBatch)} (${pct(m * inBatch, domain)})`,
      `${int(m * byPath)} (${pct(m * byPath, domain)})`,
      int(m * marking),
    ];
  });
  console.log(`\nThe batch's marked set at the liveness floor M = 2K - 1, every entry an option (per entry: in the batch ${int(inBatch)} = load ${int(load)} + mark ${int(mark)} + SliceVol(16) ${int(c.sliceVol16!)} + Black-Scholes ${int(c.blackScholes!)}; read by path ${int(byPath)} = load + mark + ${int(c.quadRead5! + c.markLeaf!)}; a marking proof ${int(marking)} per option it marks):\n`);
  console.log(table(["set", "per batch, Black-Scholes in the batch (share of 2^20)", "per batch, marks read by path (share of 2^20)", "marking proof for the set's options (once per oracle update)"], rows));
}

if (isMainModule(import.meta.url)) {
  await runDerivativesConstraints();
  await runScaleBlocks();
  process.exit(0);
}
