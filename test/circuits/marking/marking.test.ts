/**
 * The marking proof (circuits/marking/marking.circom, DERIVATIVES.md "Marking proofs"): an honest marking has a
 * witness whose public inputs are the TypeScript mirror's (marking.ts), and a dishonest prover (a higher mark,
 * another message, a time that aliases the signed word, an option without its slice, terms out of range, a future
 * marked as an option, a lying hint) is refused at the rule's own constraint. Two underlyings, so the price a mark
 * reads is a selection.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildMarkingCircuit, markingMainSource } from "../../../scripts/build/markingCircuit.ts";
import { buildMarking, markLeaf, marksKey } from "../../../sequencer/derivatives/marking.ts";
import { InstrumentKind } from "../../../sequencer/protocol/constants.ts";
import { oracleMessage } from "../../../sequencer/protocol/messages.ts";
import { paramsId, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { QuadTree } from "../../../sequencer/crypto/quadTree.ts";
import { inputFailure, rule } from "../../helpers/circuitRules.ts";
import { EXPIRY, NOW, oracleUpdate, PRICE, tableOptions } from "../../helpers/derivatives.ts";
import { EDGE_ENTRIES, MARKING_PARAMS, markingUpdate, MIXED_ENTRIES, PRICE_1, slice } from "../../helpers/markingFixtures.ts";
import { buildOpenCircuit, patchSources } from "../../helpers/openCircuit.ts";

const P = MARKING_PARAMS;
const UPDATE = markingUpdate;
const ENTRIES = MIXED_ENTRIES;

type Input = Record<string, unknown>;
const inputOf = (update = UPDATE(), entries = ENTRIES): Input => ({ ...buildMarking(update, entries, P).inputs });
let wasm: string;
const failure = (input: Input) => inputFailure(input, wasm);
async function refusedAt(input: Input, at: string | string[], w = wasm): Promise<void> {
  const chain = await inputFailure(input, w);
  assert.notEqual(chain, null, "the circuit accepted a dishonest marking");
  for (const a of [at].flat()) assert.ok(chain!.includes(a), `refused at ${chain!.join(" < ")}, not at ${a}`);
}
/** Entry `c`'s vector field `f` set to `v`. */
function setEntry(input: Input, f: string, c: number, v: bigint): Input {
  const column = [...(input[f] as bigint[])];
  column[c] = v;
  return { ...input, [f]: column };
}

describe("marking proof (Marking)", { timeout: 600_000 }, () => {
  before(async () => {
    wasm = (await buildMarkingCircuit(P)).wasm;
  });

  it("an honest marking has a witness: four options, two underlyings, a skew, a reused id and an expired option", async () => {
    const m = buildMarking(UPDATE(), ENTRIES, P);
    assert.ok(m.marks.every((x) => x.mark > 0n), "every entry is worth something");
    assert.notEqual(m.marksRoot, new QuadTree(1).root, "the tree holds the marks");
    assert.equal(await failure(m.inputs), null);
    // fewer entries than leaves: the rest are empty
    assert.equal(await failure(inputOf(UPDATE(), ENTRIES.slice(0, 1))), null);
    // the ranges' edges: strikes at 2^16 and 2^50 - 1, the largest lot
    assert.equal(await failure(inputOf(UPDATE(), EDGE_ENTRIES)), null);
  });

  it("the table's options at the test set (one underlying) have a witness too", async () => {
    const t = (await buildMarkingCircuit(TEST_PARAMS)).wasm;
    assert.equal(await inputFailure(buildMarking(oracleUpdate(), tableOptions(), TEST_PARAMS).inputs, t), null);
  });

  it("a higher mark is refused at the root (the mark is computed, not chosen)", async () => {
    const m = buildMarking(UPDATE(), ENTRIES, P);
    const tree = new QuadTree(1);
    ENTRIES.forEach(({ id, instrument }, c) => tree.set(c, markLeaf(id, instrument, m.marks[c].mark + (c === 1 ? 1n : 0n))));
    await refusedAt({ ...m.inputs, marksRoot: tree.root, marksKey: marksKey(m.messageHash, tree.root) }, rule("Marking", "tree.root === marksRoot"));
  });

  it("a key that is not Poseidon(messageHash, marksRoot) is refused at the key (what the registry records is bound to both)", async () => {
    const m = buildMarking(UPDATE(), ENTRIES, P);
    const other = buildMarking(UPDATE({ prices: [PRICE + 1n, PRICE_1] }), ENTRIES, P);
    await refusedAt({ ...m.inputs, marksKey: other.marksKey }, rule("Marking", "key.out === marksKey"));
  });

  it("marks under another update are refused at the message hash (the prices are the signed ones)", async () => {
    const input = inputOf(UPDATE({ prices: [PRICE + 1n, PRICE_1] }));
    await refusedAt({ ...input, messageHash: oracleMessage(UPDATE()) }, rule("Marking", "msg.out === messageHash"));
  });

  it("a time that aliases the signed word (time + 2^32 with the epoch one less) is refused at its range check", async () => {
    const input = inputOf();
    // the message word time + epoch * 2^32 is the same, so the hash is too: only the range check tells them apart
    await refusedAt({ ...input, oracleTime: BigInt(NOW) + (1n << 32n), fundingEpoch: 6n }, rule("Marking", "timeBits.in <== oracleTime"));
  });

  it("an option with time left and no slice in the update is refused: never marked at the floor vol", async () => {
    const input = setEntry(inputOf(), "expiry", 0, BigInt(EXPIRY + 1));
    await refusedAt(input, rule("MarkedOption", "value.unpriced === 0"));
  });

  it("a future marked as an option is refused at the kind rule", async () => {
    await refusedAt(setEntry(inputOf(), "kind", 0, BigInt(InstrumentKind.FUTURE)), rule("MarkedOption", "used * (kind - KIND_PUT()"));
  });

  it("an underlying the update does not price is refused at the selection", async () => {
    await refusedAt(setEntry(inputOf(), "underlying", 0, 2n), rule("MarkedOption", "selSum === used"));
  });

  it("terms out of range are refused at their range checks: a strike below 2^16, a lot of 2^40", async () => {
    await refusedAt(setEntry(inputOf(), "strike", 0, 1_000n), rule("MarkedOption", "strikeLo.in <=="));
    await refusedAt(setEntry(inputOf(), "lot", 0, 1n << 40n), rule("MarkedOption", "lotBits.in <== lot"));
  });

  it("an update with a price below 2^16 or a malformed vol table is refused (the batch refuses it too)", async () => {
    const low = UPDATE({ prices: [PRICE, 1_000n] });
    await refusedAt({ ...inputOf(), prices: low.prices, messageHash: oracleMessage(low) }, rule("Marking", "priceLo[u].in <=="));
    const twice = UPDATE({ volSlices: [slice(0, EXPIRY), slice(0, EXPIRY)] });
    await refusedAt({ ...inputOf(), sliceUnderlying: [0n, 0n], sliceSlope: [0n, 0n], messageHash: oracleMessage(twice) }, rule("VolSlices", "inUse[e] * (1 - ordered[e].out) === 0"));
  });

  it("an entry flag other than 0 or 1 is refused", async () => {
    await refusedAt(setEntry(inputOf(), "used", 0, 2n), rule("MarkedOption", "used * (used - 1) === 0"));
  });

  describe("lying hints (the circuit's own witness helpers replaced)", () => {
    const FILE = "circuits/marking/marking.circom";
    const open = (name: string, pattern: RegExp, replacement: string) =>
      buildOpenCircuit({ label: name, name: `${name}_${paramsId(P)}`, mainSource: markingMainSource(P), patched: patchSources(name, [[FILE, pattern, replacement, 1]]) });

    it("a call claimed to be a put (isCall flipped) is refused at the kind rule", async () => {
      const w = await open("markingKindLie", /isCall <-- kind == KIND_CALL\(\) \? 1 : 0;/g, "isCall <-- kind == KIND_CALL() ? 0 : 1;");
      await refusedAt(inputOf(), rule("MarkedOption", "used * (kind - KIND_PUT()"), w);
    });

    it("an option priced with another underlying's price is refused at the selection", async () => {
      const w = await open("markingUnderlyingLie", /selU\[u\] <-- \(used == 1 && underlying == u\) \? 1 : 0;/g, "selU[u] <-- (used == 1 && u == 0) ? 1 : 0;");
      await refusedAt(inputOf(), rule("MarkedOption", "used * (selValue - underlying) === 0"), w);
    });
  });
});
