/**
 * A Sequencer with derivatives for service tests, without chain or prover: a fake custodian that
 * accepts every batch (the batch witness is still built, so every circuit rule is checked in
 * TypeScript), a settable clock, alice (1), bob (2) and the liquidator carol (3) with keys and
 * quote deposits, and a perpetual (0) and a dated future (1) on underlying 0 queued for registration.
 */
import { compressPublicKey } from "../../sequencer/crypto/babyjub.ts";
import assert from "node:assert/strict";
import { BatchPostError, type ChainContext } from "../../sequencer/chain/custodianClient.ts";
import { decodePublicData } from "../../sequencer/protocol/publicData.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { Sequencer, type SequencerOptions } from "../../sequencer/service/sequencer.ts";
import { publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import type { VerifiedProver } from "../../fpga-prover/prover.ts";
import { signTransfer } from "../../sequencer/protocol/signing.ts";
import { dave, INSTRUMENTS, NOW, ORACLE_KEY, oracleUpdate, traders } from "./derivatives.ts";
import { recordingMarkings } from "./fakeCustodian.ts";

export const DEPOSIT = 50_000_000_000n;

/**
 * The fake chain: its time, the batches it holds, the last one's stamp, and (`oracleKey`, compressed) the custodian's
 * oracle key: when set, the sequencer reads it from the fake custodian as from the real one, and a batch whose update
 * is under another key is refused (OracleKeyMismatch); unset, the sequencer is given ORACLE_KEY's (setOracleKey).
 * `wallMs`: the wall clock the sequencer sees (ms; Date.now() when unset), which paces its reads of that key.
 */
export type FakeChain = { now: number; posted: number; lastTimestamp: number; oracleKey?: bigint; wallMs?: number; marksRecorded?: Set<bigint> };

/**
 * A sequencer on the fake chain `chain` (a new one over the same store recovers it); `options` add to
 * or replace the defaults (a store, a snapshot interval).
 */
export function openDerivativesSequencer(chain: FakeChain, options: Partial<SequencerOptions> = {}): Sequencer {
  const prover = {
    prove: async () => ({ proof: { pi_a: ["1", "2", "1"], pi_b: [["1", "2"], ["3", "4"], ["1", "0"]], pi_c: ["5", "6", "1"], protocol: "groth16", curve: "bn128" }, timings: { witnessMs: 0, proveMs: 0, verifyMs: 0 } }),
  } as unknown as VerifiedProver;
  const seq = new Sequencer({
    params: TEST_PARAMS, keys: { wasm: "", zkey: "", vkey: null }, prover, chain: {} as ChainContext,
    // the fake marks registry: a marking is "proven and recorded" at once; the fake custodian refuses an unrecorded key
    markings: recordingMarkings((chain.marksRecorded ??= new Set())),
    makerFeePpm: 100, takerFeePpm: 500, clock: () => chain.now, wallClockMs: () => chain.wallMs ?? Date.now(), liquidator: { accountId: traders.carol.accountId, key: traders.carol.key },
    ...options,
  });
  Object.assign(seq.custodian, {
    lastTimestamp: async () => chain.lastTimestamp,
    chainTime: async () => chain.now,
    timestampWindow: async () => ({ maxAge: 600, maxFutureDrift: 900 }),
    batchCount: async () => chain.posted,
    stateRoot: async () => seq.state.root,
    oracleKey: async () => chain.oracleKey ?? null,
    submitBatch: async (_n: number, publicData: Uint8Array) => {
      const { oracle } = decodePublicData(publicData, seq.params);
      if (chain.oracleKey !== undefined && oracle.used && oracle.key !== chain.oracleKey) {
        throw new BatchPostError("OracleKeyMismatch", `batch reverted: OracleKeyMismatch(${chain.oracleKey}, ${oracle.key})`);
      }
      if (oracle.marksKey !== 0n && !chain.marksRecorded?.has(oracle.marksKey)) {
        throw new BatchPostError("MarksNotRecorded", `batch reverted: MarksNotRecorded(${oracle.marksKey})`);
      }
      chain.posted++;
      chain.lastTimestamp = Number(new DataView(publicData.buffer, publicData.byteOffset + 68, 4).getUint32(0));
      return "0x0";
    },
  });
  if (chain.oracleKey === undefined) seq.derivatives.setOracleKey(compressPublicKey(publicKeyOf(ORACLE_KEY)));
  return seq;
}

/** A new sequencer (see openDerivativesSequencer) with the traders' keys and deposits and two instruments admitted. */
export function derivativesSequencer(now: number, options: Partial<SequencerOptions> = {}, oracleKey?: bigint): { seq: Sequencer; chain: FakeChain } {
  // with a custodian's key, a fake wall clock too (it paces the reads of the key: tests move chain.wallMs)
  const chain: FakeChain = { now, posted: 0, lastTimestamp: 0, ...(oracleKey === undefined ? {} : { oracleKey, wallMs: 1_000_000 }) };
  const seq = openDerivativesSequencer(chain, options);
  for (const t of Object.values(traders)) seq.acceptRequest({ type: TxType.REGISTER_KEY, accountId: t.accountId, pubKey: t.pubKey });
  for (const t of Object.values(traders)) seq.acceptRequest({ type: TxType.DEPOSIT, accountId: t.accountId, tokenId: 0, amount: DEPOSIT });
  INSTRUMENTS.slice(0, 2).forEach((spec, id) => seq.acceptRequest({ type: TxType.REGISTER_INSTRUMENT, instrumentId: id, ...spec }));
  return { seq, chain };
}

/**
 * The start most derivatives tests share: an oracle update of NOW - 5 accepted and the registrations proven, then
 * `amount` of each of `accounts`' quote moved to collateral (signed transfers, nonce 0) and proven.
 */
export async function fundCollateral(seq: Sequencer, accounts: readonly (typeof traders)[keyof typeof traders][], amount = DEPOSIT): Promise<void> {
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
  await seq.drain();
  for (const t of accounts) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount, nonce: 0 }));
  await seq.drain();
}

/** Dave (account 4, not among `traders`) registered, with a deposit of DEPOSIT moved into collateral and proven. */
export async function fundDave(seq: Sequencer): Promise<void> {
  seq.acceptRequest({ type: TxType.REGISTER_KEY, accountId: dave.accountId, pubKey: dave.pubKey });
  seq.acceptRequest({ type: TxType.DEPOSIT, accountId: dave.accountId, tokenId: 0, amount: DEPOSIT });
  await seq.drain();
  seq.requestTransfer(signTransfer(dave.key, { accountId: dave.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
  await seq.drain();
}

/** The risk engine's view of each trader's account, the insurance fund, the collateral side and the spot quote equal the proven state. */
export function assertInSync(seq: Sequencer): void {
  for (const t of Object.values(traders)) {
    assert.deepEqual(seq.derivatives.risk.account(t.accountId), seq.state.account(t.accountId).deriv, `account ${t.accountId}`);
  }
  assert.equal(seq.derivatives.risk.insuranceFund, seq.state.globals.insuranceFund, "insurance fund");
  assert.equal(seq.derivatives.risk.collateralSide, seq.state.globals.pooledQuote - seq.state.feePool, "the collateral side");
  for (const t of Object.values(traders)) assert.equal(seq.risk.balance(t.accountId, 0), seq.state.balance(t.accountId, 0), `account ${t.accountId}'s spot quote`);
}
