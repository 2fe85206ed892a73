/**
 * circuits/batch/batch.circom's GlobalsHash (the batch's and the exit circuit's) against
 * sequencer/state/exchangeState.ts#globalsHash, whose table is the instrument tree (instrumentTable.ts): at tables that
 * fill their tree (4 and 16 instruments, one and two levels) and tables that do not, where the tree's other leaves are
 * the empty instrument's and whole empty subtrees are the generated constants (17, and the devnet's 48: DEVNET_PARAMS,
 * an option chain of 2 expiries x 10 strikes x call/put). Every instrument is registered with fields of its own, so a
 * leaf hashed in the wrong place, or a node that drops a leaf, gives another hash.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fieldOf } from "../../../sequencer/crypto/field.ts";
import { EMPTY_INSTRUMENT, registeredInstrument, type InstrumentState } from "../../../sequencer/derivatives/formulas.ts";
import { InstrumentKind } from "../../../sequencer/protocol/constants.ts";
import { instrumentInputs } from "../../../sequencer/protocol/layouts.ts";
import { DEVNET_PARAMS, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { compileMain, fe, outputs } from "../fixed/compile.ts";

/** Registers every id of a table of `n` with fields of its own, and checks GlobalsHash(n) against the TypeScript. */
async function check(n: number): Promise<void> {
  const state = new ExchangeState({ ...TEST_PARAMS, instruments: n, positionSlots: Math.min(n, 16), optionInstruments: n / 2 });
  for (let id = 0; id < n; id++) {
    state.setInstrument(id, registeredInstrument({
      kind: id % 2 ? InstrumentKind.CALL : InstrumentKind.FUTURE, underlying: 0, lotSizeE6: 10_000n + BigInt(id), tickValue: 100n, imPpm: 100_000n, mmPpm: 50_000n,
      strike: id % 2 ? 3_000n * 10n ** 8n + BigInt(id) * 10n ** 10n : 0n, expiry: 1_800_000_000 + id, fundingCapPpm: 0n,
    }, EMPTY_INSTRUMENT));
  }
  const { wasm } = await compileMain(`globalsHash_${n}`, `component main = GlobalsHash(${n});`, "circuits/batch/batch.circom");
  const g = state.globals;
  const hashOf = async (table: readonly InstrumentState[]) => fe((await outputs(wasm, {
    instruments: table.flatMap((i) => instrumentInputs(i).map(fieldOf)), // flat: the witness calculator takes [N][I_FIELDS] row by row
    insurance: g.insuranceFund, oracleTime: BigInt(g.oracleTime), fundingEpoch: BigInt(g.fundingEpoch), badDebt: g.badDebt, pooledQuote: g.pooledQuote,
  }))[0]!);
  assert.equal(await hashOf(state.instruments), state.globalsHash());
  // a table with its first and last leaves swapped hashes differently (the tree keeps every leaf in its place)
  const swapped = [...state.instruments];
  [swapped[0], swapped[n - 1]] = [swapped[n - 1]!, swapped[0]!];
  assert.notEqual(await hashOf(swapped), state.globalsHash());
}

describe("GlobalsHash = ExchangeState#globalsHash", { timeout: 600_000 }, () => {
  it("hashes a table of 4 instruments (a tree of one level, full) as the TypeScript does", () => check(4));
  it("hashes a table of 16 instruments (two levels, full) as the TypeScript does", () => check(16));
  it("hashes a table of 17 instruments (three levels, 47 empty leaves) as the TypeScript does", () => check(17));
  it("hashes a table of 48 instruments (three levels, one empty subtree of 16) as the TypeScript does", () => check(DEVNET_PARAMS.instruments));
});
