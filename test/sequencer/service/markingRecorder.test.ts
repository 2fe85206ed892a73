/**
 * The marking recorder (sequencer/service/markingRecorder.ts) against a fake marks registry and a fake prover: a
 * marking is proven once per key however many batches read it, and recorded once; a key the registry holds is neither
 * proven nor sent; a failed recording or proof fails the attempt that awaited it (nothing recorded), is never an
 * unhandled rejection, and the next attempt finishes the work without proving a made proof again. Through the
 * sequencer: batches without a marking ask nothing of the marking side, and marking keys without a registry are
 * refused at construction.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Hash } from "viem";
import type { ExpectedSignals, VerifiedProver } from "../../../fpga-prover/prover.ts";
import type { MarkingInputs, MarksRegistryPort } from "../../../sequencer/chain/marksRegistry.ts";
import { buildMarking, type Marking } from "../../../sequencer/derivatives/marking.ts";
import type { CalldataProof } from "../../../sequencer/protocol/calldataProof.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { markingJobId, markingSignals, MarksRecorder, type MarkingRecorder } from "../../../sequencer/service/markingRecorder.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { dummyProof, FakeCustodian } from "../../helpers/fakeCustodian.ts";
import { NOW, oracleUpdate, tableOptions } from "../../helpers/derivatives.ts";
import { durableSequencer, removeDurableSequencers } from "../../helpers/sequencer.ts";
import { derivativesSequencer } from "../../helpers/derivativesSequencer.ts";
import { INSTRUMENTS, traders } from "../../helpers/derivatives.ts";
import { TxType } from "../../../sequencer/protocol/constants.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";

const KEYS = { wasm: "marking.wasm", zkey: "marking.zkey", vkey: null };

/** A registry in memory: `failRecords` recordings throw before one succeeds; every call counted. */
function fakeRegistry(recorded: bigint[] = []) {
  const keys = new Set(recorded);
  const r = {
    failRecords: 0,
    reads: 0,
    records: [] as { marking: MarkingInputs; proof: CalldataProof }[],
    keys,
    async isRecorded(key: bigint) {
      r.reads++;
      return keys.has(key);
    },
    async record(marking: MarkingInputs, proof: CalldataProof): Promise<Hash | null> {
      r.records.push({ marking, proof });
      if (r.failRecords > 0) {
        r.failRecords--;
        throw new Error("record: the node is unreachable");
      }
      if (keys.has(marking.marksKey)) return null;
      keys.add(marking.marksKey);
      return `0x${"ab".repeat(32)}`;
    },
  } satisfies MarksRegistryPort & Record<string, unknown>;
  return r;
}

/** A prover answering a dummy proof of the expected signals: `failProofs` proofs fail first; job ids and signals kept. */
function fakeProver() {
  const p = {
    failProofs: 0,
    jobs: [] as { jobId: number; wasm: string; expected: ExpectedSignals }[],
    async prove(jobId: number, keys: { wasm: string }, _input: unknown, expected: ExpectedSignals) {
      p.jobs.push({ jobId, wasm: keys.wasm, expected });
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (p.failProofs > 0) {
        p.failProofs--;
        throw new Error("prover: device lost");
      }
      return dummyProof(expected);
    },
  };
  return p;
}

/** A recorder on a fresh fake registry holding `recorded` and a fresh fake prover. */
function setup(recorded: bigint[] = []) {
  const registry = fakeRegistry(recorded);
  const prover = fakeProver();
  return { registry, prover, r: new MarksRecorder({ registry, prover: () => prover as unknown as VerifiedProver, keys: KEYS }) };
}

describe("MarksRecorder", () => {
  const marking: Marking = buildMarking(oracleUpdate(), tableOptions(), TEST_PARAMS);
  const later: Marking = buildMarking(oracleUpdate({ time: NOW + 60 }), tableOptions(), TEST_PARAMS);

  it("proves a marking once for two batches that read it, with the marking keys and its three signals, records it once; another key is proven and recorded too", async () => {
    const { registry, prover, r } = setup();
    r.prepare(markingJobId(4), marking);
    r.prepare(markingJobId(5), marking);
    await Promise.all([r.record(markingJobId(4), marking), r.record(markingJobId(5), marking)]);
    assert.deepEqual(prover.jobs, [{ jobId: -5, wasm: KEYS.wasm, expected: markingSignals(marking) }]);
    assert.deepEqual(markingSignals(marking), [marking.messageHash, marking.marksRoot, marking.marksKey].map(String));
    assert.equal(registry.records.length, 1);
    assert.equal(registry.records[0].marking.marksKey, marking.marksKey);
    assert.ok(registry.keys.has(marking.marksKey));

    await r.record(markingJobId(6), marking);
    assert.equal(prover.jobs.length, 1, "a recorded key is not proven again");
    assert.equal(registry.records.length, 1, "nor sent again");

    await r.record(markingJobId(7), later);
    assert.deepEqual(prover.jobs.map((j) => j.jobId), [-5, -8]);
    assert.deepEqual(registry.records.map((x) => x.marking.marksKey), [marking.marksKey, later.marksKey]);
  });

  it("asks the registry first: a key it holds (recorded before a restart, or by another prover) is neither proven nor sent", async () => {
    const { registry, prover, r } = setup([marking.marksKey]);
    r.prepare(markingJobId(0), marking);
    await r.record(markingJobId(0), marking);
    assert.equal(registry.reads, 1);
    assert.equal(prover.jobs.length, 0);
    assert.equal(registry.records.length, 0);
  });

  it("a failed recording fails the attempt (nothing recorded); the next attempt sends the same proof again without proving", async () => {
    const { registry, prover, r } = setup();
    registry.failRecords = 1;
    r.prepare(markingJobId(3), marking);
    await assert.rejects(r.record(markingJobId(3), marking), /the node is unreachable/);
    assert.equal(registry.keys.has(marking.marksKey), false);
    await r.record(markingJobId(3), marking);
    assert.equal(prover.jobs.length, 1, "the proof made is kept");
    assert.equal(registry.records.length, 2);
    assert.deepEqual(registry.records[1].proof, registry.records[0].proof);
    assert.ok(registry.keys.has(marking.marksKey));
  });

  it("forget: a key held recorded is asked for again; a registry that lost it gets it proven and recorded again", async () => {
    const { registry, prover, r } = setup();
    await r.record(markingJobId(2), marking);
    const reads = registry.reads;
    await r.record(markingJobId(2), marking);
    assert.equal(registry.reads, reads, "held recorded: the registry is not asked");
    registry.keys.delete(marking.marksKey); // the recording's block was reorganised away
    r.forget(marking.marksKey);
    await r.record(markingJobId(3), marking);
    assert.equal(registry.reads, reads + 1, "asked again");
    assert.equal(prover.jobs.length, 2, "proven again (a recorded marking's proof is not kept)");
    assert.equal(registry.records.length, 2);
    assert.ok(registry.keys.has(marking.marksKey));
  });

  it("a failed proof is kept (no unhandled rejection), fails the attempt that awaits it, and is made again by the next attempt", async () => {
    const { registry, prover, r } = setup();
    prover.failProofs = 1;
    r.prepare(markingJobId(1), marking);
    await new Promise((resolve) => setTimeout(resolve, 30)); // the proof fails with nobody awaiting it
    await assert.rejects(r.record(markingJobId(1), marking), /device lost/);
    assert.equal(registry.records.length, 0, "nothing sent without a proof");
    await r.record(markingJobId(1), marking);
    assert.equal(prover.jobs.length, 2);
    assert.ok(registry.keys.has(marking.marksKey));
  });
});

describe("the batch pipeline's marking side", () => {
  it("batches that read no marking are posted without asking the marking side anything, marking keys and registry configured", async (t) => {
    t.after(removeDurableSequencers);
    const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
    const prover = fakeProver();
    const d = durableSequencer({
      chain: chain.context(), prover: prover as unknown as VerifiedProver, snapshotEvery: 0, markingKeys: KEYS, marksRegistry: `0x${"11".repeat(20)}`,
    });
    await d.sequencer.drain();
    assert.ok(chain.batches.length > 0, "the fixture's requests are posted");
    assert.ok(prover.jobs.every((j) => j.jobId >= 0 && j.wasm !== KEYS.wasm), `only batch proofs: ${JSON.stringify(prover.jobs.map((j) => j.jobId))}`);
  });

  it("a batch that reads option marks is sent only once its marking is recorded: a failed recording fails the attempt, nothing posted; the next attempt records it and posts", async () => {
    let failing = true;
    const asked: bigint[] = [];
    const recorded = new Set<bigint>();
    const markings: MarkingRecorder = {
      prepare: () => {},
      record: async (_job, m) => {
        asked.push(m.marksKey);
        if (failing) throw new Error("the registry is unreachable");
        recorded.add(m.marksKey);
      },
      forget: () => assert.fail("the custodian refused nothing for its marks"),
    };
    const { seq, chain } = derivativesSequencer(NOW, { markings });
    chain.marksRecorded = recorded; // the fake custodian reads what the recorder recorded
    // the call and the put too: an update's batch reads their marks
    INSTRUMENTS.slice(2).forEach((spec, k) => seq.acceptRequest({ type: TxType.REGISTER_INSTRUMENT, instrumentId: 2 + k, ...spec }));
    await seq.drain();
    assert.deepEqual(asked, [], "no batch without an update reads a mark");
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    seq.requestTransfer(signTransfer(traders.alice.key, { accountId: traders.alice.accountId, toCollateral: true, amount: 1_000n, nonce: 0 }));
    const before = chain.posted;
    await assert.rejects(seq.runBatches(), /the registry is unreachable/);
    assert.equal(chain.posted, before, "not posted");
    assert.equal(asked.length, 1);
    failing = false;
    await seq.drain();
    assert.ok(chain.posted > before, "posted once recorded");
    assert.deepEqual([...recorded], [asked[0]], "the same marking, recorded once");
    assert.equal(seq.state.account(traders.alice.accountId).deriv.collateral, 1_000n);
  });

  it("a batch the custodian refuses for its marks (MarksNotRecorded) although the recorder held them recorded makes the recorder forget the key: not posted; posted once the custodian's registry holds it", async () => {
    const chainHolds = new Set<bigint>();
    const forgotten: bigint[] = [];
    const asked: bigint[] = [];
    // A recorder that believes every key recorded (a recording the chain dropped, or another registry than the custodian's).
    const markings: MarkingRecorder = { prepare: () => {}, record: async (_job, m) => void asked.push(m.marksKey), forget: (k) => void forgotten.push(k) };
    const { seq, chain } = derivativesSequencer(NOW, { markings });
    chain.marksRecorded = chainHolds;
    INSTRUMENTS.slice(2).forEach((spec, k) => seq.acceptRequest({ type: TxType.REGISTER_INSTRUMENT, instrumentId: 2 + k, ...spec }));
    await seq.drain();
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    seq.requestTransfer(signTransfer(traders.alice.key, { accountId: traders.alice.accountId, toCollateral: true, amount: 1_000n, nonce: 0 }));
    const before = chain.posted;
    await assert.rejects(seq.runBatches(), /MarksNotRecorded/);
    assert.equal(chain.posted, before, "not posted");
    assert.equal(asked.length, 1);
    assert.deepEqual(forgotten, [asked[0]], "the refused key is forgotten, so the next attempt asks the registry again");
    chainHolds.add(asked[0]!);
    await seq.drain();
    assert.ok(chain.posted > before, "posted once the custodian's registry holds the key");
    assert.equal(seq.state.account(traders.alice.accountId).deriv.collateral, 1_000n);
  });

  it("marking keys without a marks registry (or the reverse) are refused when the sequencer is made", () => {
    const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
    const prover = fakeProver() as unknown as VerifiedProver;
    assert.throws(() => durableSequencer({ chain: chain.context(), prover, markingKeys: KEYS }), /markingKeys and marksRegistry go together/);
    assert.throws(() => durableSequencer({ chain: chain.context(), prover, marksRegistry: `0x${"11".repeat(20)}` }), /markingKeys and marksRegistry go together/);
  });
});
