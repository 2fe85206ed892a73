/**
 * circuits/lib/instrumentTable.circom against sequencer/state/instrumentTable.ts:
 * - InstrumentTableRoot over tables that do not fill their tree (nodes of one leaf beside empty ones, whole empty
 *   subtrees at every height up to 4 levels) is the InstrumentTree's root;
 * - HeldInstruments, the exit circuit's read of an account's instruments by path: the honest read (occupied and empty
 *   slots) is accepted, and each dishonest read is refused at its own constraint: a leaf that is not the tree's,
 *   another instrument with its own path under a slot, an empty slot with a size or a snapshot, an empty slot that
 *   reads another instrument than id 0, an id past the tree.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { EMPTY_INSTRUMENT, registeredInstrument } from "../../../sequencer/derivatives/formulas.ts";
import { instrumentFields, instrumentLeaf, instrumentLevels, InstrumentTree } from "../../../sequencer/state/instrumentTable.ts";
import { inputFailure, rule } from "../../helpers/circuitRules.ts";
import { INSTRUMENTS } from "../../helpers/derivatives.ts";
import { compileMain, fe, outputs } from "../fixed/compile.ts";

const LIB = "circuits/lib/instrumentTable.circom";
const LEVELS = 2; // 16 ids
const K = 3;
type Input = Record<string, unknown>;

const [perp, future, call, put] = INSTRUMENTS.map((spec) => registeredInstrument(spec, EMPTY_INSTRUMENT));
/** A perpetual at 0, a future at 4, a call at 9 and a put at 15, each with fields of its own. */
function table(): InstrumentTree {
  const t = new InstrumentTree(LEVELS);
  t.set(0, { ...perp!, fundingIndex: -77n, holders: 2 });
  t.set(4, { ...future!, holders: 1 });
  t.set(9, { ...call!, holders: 3 });
  t.set(15, put!);
  return t;
}
const str = (v: bigint) => v.toString();

/** HeldInstruments' input for slots holding `ids` (null: empty), as exitWitness.ts builds it. */
function heldInput(t: InstrumentTree, ids: (number | null)[]): Input {
  const read = ids.map((id) => id ?? 0);
  return {
    root: str(t.root),
    posId: ids.map((id) => String(id === null ? 0 : id + 1)),
    posSize: ids.map((id) => (id === null ? "0" : "5")),
    posSnap: ids.map((id) => (id === null ? "0" : "11")),
    held: read.map((id) => instrumentFields(t.instrument(id)).map(str)),
    siblings: read.map((id) => t.proof(id).map((l) => l.map(str))),
  };
}
const at = <T>(column: unknown, k: number, value: T) => (column as unknown[]).map((v, j) => (j === k ? value : v));

let heldWasm: string;
async function refusedAt(input: Input, where: string): Promise<void> {
  const chain = await inputFailure(input as never, heldWasm);
  assert.notEqual(chain, null, "the circuit accepted a dishonest read");
  assert.ok(chain!.includes(where), `refused at ${chain!.join(" < ")}, not at ${where}`);
}

describe("instrument table (InstrumentTableRoot, HeldInstruments)", { timeout: 600_000 }, () => {
  before(async () => {
    heldWasm = (await compileMain(`heldInstruments_${K}_${LEVELS}`, `component main = HeldInstruments(${K}, ${LEVELS});`, LIB)).wasm;
  });

  it("InstrumentTableRoot over tables that do not fill their tree (1, 2, 5, 15, 21, 65: nodes of one leaf, empty subtrees at every height) is the tree's root", async () => {
    for (const n of [1, 2, 5, 15, 21, 65]) {
      const { wasm } = await compileMain(`instrumentTableRoot_${n}`, `component main = InstrumentTableRoot(${n});`, LIB);
      const t = new InstrumentTree(instrumentLevels(n));
      const table = Array.from({ length: n }, (_, id) => ({ ...INSTRUMENTS[id % INSTRUMENTS.length]!, lotSizeE6: 10_000n + BigInt(id) }))
        .map((spec) => registeredInstrument(spec, EMPTY_INSTRUMENT));
      table.forEach((inst, id) => t.set(id, inst));
      const rootOf = async (leaves: bigint[]) => fe((await outputs(wasm, { leaves }))[0]!);
      assert.equal(await rootOf(table.map(instrumentLeaf)), t.root, `N = ${n}`);
      if (n > 1) {
        const swapped = [table[n - 1]!, ...table.slice(1, n - 1), table[0]!];
        assert.notEqual(await rootOf(swapped.map(instrumentLeaf)), t.root, `N = ${n}: the first and last leaves swapped`);
      }
    }
  });

  it("reads every slot's instrument by its path: occupied slots their own, an empty slot id 0's", async () => {
    const t = table();
    assert.equal(await inputFailure(heldInput(t, [9, null, 4]) as never, heldWasm), null);
    assert.equal(await inputFailure(heldInput(t, [null, null, null]) as never, heldWasm), null);
    assert.equal(await inputFailure(heldInput(t, [15, 0, 2]) as never, heldWasm), null); // id 2 never registered: the empty instrument's leaf
  });

  it("refuses a leaf that is not the tree's (the call's strike moved, its settlement price set) at the slot's path", async () => {
    const t = table();
    const honest = heldInput(t, [9, null, 4]);
    const where = rule("HeldInstruments", "path[k].root === root");
    await refusedAt({ ...honest, held: at(honest.held, 0, instrumentFields({ ...t.instrument(9), strike: t.instrument(9).strike * 2n }).map(str)) }, where);
    await refusedAt({ ...honest, held: at(honest.held, 0, instrumentFields({ ...t.instrument(9), settlePrice: 1n }).map(str)) }, where);
  });

  it("refuses another instrument read with its own path under a slot, and an empty slot that reads another than id 0, at the slot's path", async () => {
    const t = table();
    const honest = heldInput(t, [9, null, 4]);
    const where = rule("HeldInstruments", "path[k].root === root");
    const other = (k: number, id: number): Input => ({
      ...honest,
      held: at(honest.held, k, instrumentFields(t.instrument(id)).map(str)),
      siblings: at(honest.siblings, k, t.proof(id).map((l) => l.map(str))),
    });
    await refusedAt(other(0, 15), where); // the put, a harmless read for a losing call
    await refusedAt(other(1, 9), where);
  });

  it("refuses an empty slot with a size or a snapshot, each at its own constraint", async () => {
    const honest = heldInput(table(), [9, null, 4]);
    await refusedAt({ ...honest, posSize: at(honest.posSize, 1, "5") }, rule("HeldInstruments", "empty[k].out * posSize[k] === 0"));
    await refusedAt({ ...honest, posSnap: at(honest.posSnap, 1, "3") }, rule("HeldInstruments", "empty[k].out * posSnap[k] === 0"));
  });

  it("refuses an id past the tree (its path bits would alias another id's) at the id's range", async () => {
    const t = table();
    const honest = heldInput(t, [9, null, 4]);
    await refusedAt({ ...honest, posId: at(honest.posId, 0, String(9 + 16 + 1)) }, rule("HeldInstruments", "idBits[k].in <== posId[k] - 1 + empty[k].out"));
  });
});
