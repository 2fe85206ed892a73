/**
 * Keys on Baby Jubjub (issue 11, finding 1; SPEC.md "Keys"). The public data carries a key compressed
 * as `y | signX << 255`, so the x of a registered key and of the oracle key was the operator's choice:
 * an off-curve x froze the account (and made the root undeterminable from public data), and for about
 * 60% of keys an x' exists whose cofactor multiple, computed with the Edwards formulas, hits the point
 * EscalarMulAny takes for the identity, so that S*B8 == R8 verified for any message (offCurveKeys.ts).
 * Before the fix the circuit accepted each attack below (commit "Attack tests for issue 11 finding 1");
 * now it refuses each at the on-curve check, and the witness builder refuses it with a named error.
 * Each dishonest batch is built the way an operator would build it (the TypeScript checks off, public
 * data hashed consistently).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../sequencer/batch/slotWitness.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { compressPublicKey, publicKeyFault, publicKeyOf, verifyMessage, type PublicKey } from "../../sequencer/crypto/babyjub.ts";
import { OracleRejected, type SignedOracleUpdate } from "../../sequencer/derivatives/oracleStep.ts";
import { oracleMessage, orderMessage } from "../../sequencer/protocol/messages.ts";
import { FIELD_MODULUS, Side, TxType } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { signWithdrawal } from "../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { loadBatchCircuit, refuses, rule, witnessFailure, type CircuitInput } from "../helpers/circuitRules.ts";
import { apply, NOW, ORACLE_KEY, oracleUpdate } from "../helpers/derivatives.ts";
import { order, testTrader } from "../helpers/traders.ts";
import { edwardsDouble, FORGED_SIGNATURE, forgeableX, offCurveX, onCurve, pointOfOrder8 } from "./offCurveKeys.ts";

// A circuit build that is not cached yet leaves snarkjs's curve workers running: end them so the file exits.
after(terminateSnarkjsCurve);
const alice = testTrader(1);
const bob = testTrader(2);
const NO_ORACLE = { oracle: null };
const at = { batchNumber: 9, timestamp: NOW };

/** alice (10,000,000 quote) and bob (1,000,000 of base token 1) registered and funded, market 0 registered. */
function fundedState(): ExchangeState {
  const state = new ExchangeState(TEST_PARAMS);
  apply(state, [
    { type: TxType.REGISTER_KEY, accountId: 1, pubKey: alice.pubKey },
    { type: TxType.REGISTER_KEY, accountId: 2, pubKey: bob.pubKey },
    { type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 1000n, priceUnit: 10n },
    { type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 10_000_000n },
    { type: TxType.DEPOSIT, accountId: 2, tokenId: 1, amount: 1_000_000n },
  ], null);
  return state;
}

/** A key alice rotates to whose y admits a forging x' (the first of a fixed sequence of private keys). */
function forgeableRotation(): { key: PublicKey; forgedX: bigint } {
  for (let seed = 1; ; seed++) {
    const key = publicKeyOf(new Uint8Array(32).fill(seed).map((b, i) => (i === 0 ? 200 : b)));
    const forgedX = forgeableX(key);
    if (forgedX !== null) return { key, forgedX };
  }
}

/** The oracle key with a forging x', and an update with any prices "signed" by it. */
function forgedOracleUpdate(): { update: SignedOracleUpdate; oracleKey: PublicKey } {
  const oracleKey = publicKeyOf(ORACLE_KEY);
  const forgedX = forgeableX(oracleKey);
  assert.notEqual(forgedX, null, "the test oracle key's y admits a forging x'");
  const update = { ...oracleUpdate({ prices: [1n << 40n] }), key: [forgedX!, oracleKey[1]] as PublicKey, signature: FORGED_SIGNATURE };
  return { update, oracleKey };
}

/** The builder refuses with `code` and leaves the state as it was. */
function builderRefuses(txs: BatchTx[], opts: { oracle: SignedOracleUpdate | null }, error: typeof TxRejected | typeof OracleRejected, code: string): void {
  const state = fundedState();
  const root = state.root;
  assert.throws(() => buildBatch(state, txs, { ...at, ...opts }), (e: unknown) => e instanceof error && e.code === code);
  assert.equal(state.root, root, "the state is unchanged");
}

const REGISTERED_KEY_ON_CURVE = () => [rule("OnCurveIfEnabled", "enabled * (168700 * xx"), rule("RegisterKey", "keyOnCurve.y <== pubKeyY")];
const ORACLE_KEY_ON_CURVE = () => [rule("OnCurveIfEnabled", "enabled * (168700 * xx"), rule("OracleStep", "keyOnCurve.y <== oracleKeyY")];
const R8_ON_CURVE = () => [rule("OnCurveIfEnabled", "enabled * (168700 * xx"), rule("SignatureIfEnabled", "r8OnCurve.y <== sig[1]")];

describe("batch circuit: keys on Baby Jubjub", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("accepts an honest key registration and rotation (x on the curve, either sign)", async () => {
    const key = testTrader(4).pubKey;
    const negated: PublicKey = [FIELD_MODULUS - key[0], key[1]];
    assert.equal(await witnessFailure(fundedState(), [{ type: TxType.REGISTER_KEY, accountId: 4, pubKey: key }, { type: TxType.REGISTER_KEY, accountId: 1, pubKey: negated }], NO_ORACLE), null);
  });

  it("refuses a REGISTER_KEY whose x is off the curve with the queued y and sign (the record is the queued one; the account would be frozen)", async () => {
    const key = testTrader(4).pubKey;
    const tx: BatchTx = { type: TxType.REGISTER_KEY, accountId: 4, pubKey: [offCurveX(key), key[1]] };
    const honest = buildBatch(fundedState(), [{ type: TxType.REGISTER_KEY, accountId: 4, pubKey: key }], { ...at, ...NO_ORACLE });
    const dishonest = buildBatch(fundedState(), [tx], { ...at, ...NO_ORACLE, enforceRules: false, verifySignatures: false });
    assert.deepEqual(dishonest.records, honest.records, "public data cannot tell the keys apart");
    assert.notEqual(dishonest.header.newRoot, honest.header.newRoot, "the root commits to the off-curve key");
    await refuses(fundedState(), [tx], REGISTERED_KEY_ON_CURVE(), NO_ORACLE);
    builderRefuses([tx], NO_ORACLE, TxRejected, "BAD_KEY");
  });

  it("refuses a forged order: alice's rotated key registered with a forging x', then a buy order nobody signed draining her quote to bob", async () => {
    const { key, forgedX } = forgeableRotation();
    const forged: PublicKey = [forgedX, key[1]];
    assert.equal(compressPublicKey(forged), compressPublicKey(key), "the REGISTER_KEY record is alice's queued one");
    const four = edwardsDouble(edwardsDouble(forged));
    assert.ok(four[0] !== 0n && edwardsDouble(four)[0] === 0n, "x(4A') != 0 passes the verifier's check; x(8A') = 0 is EscalarMulAny's identity");
    const buy = { ...order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 99_000n }), signature: FORGED_SIGNATURE };
    assert.equal(verifyMessage(orderMessage(buy), buy.signature, key), false, "alice never signed it");
    const txs: BatchTx[] = [
      { type: TxType.REGISTER_KEY, accountId: 1, pubKey: forged },
      { type: TxType.TRADE, buy, sell: order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 99_000n }), lots: 10n, priceTicks: 99_000n, buyFeePpm: 500, sellFeePpm: 0 },
    ];
    await refuses(fundedState(), txs, REGISTERED_KEY_ON_CURVE(), NO_ORACLE);
    builderRefuses(txs, NO_ORACLE, TxRejected, "BAD_KEY");
  });

  it("refuses a forged oracle update: the oracle key's y with a forging x', any prices", async () => {
    const { update, oracleKey } = forgedOracleUpdate();
    assert.equal(verifyMessage(oracleMessage(update), update.signature, oracleKey), false, "the oracle never signed it");
    const built = buildBatch(fundedState(), [], { ...at, oracle: update, enforceRules: false, verifySignatures: false });
    assert.equal(built.oracle.key, compressPublicKey(oracleKey), "the oracle section carries the registered key");
    await refuses(fundedState(), [], ORACLE_KEY_ON_CURVE(), { oracle: update });
    builderRefuses([], { oracle: update }, OracleRejected, "BAD_ORACLE_KEY");
  });

  it("refuses a signature whose R8 is off the curve, in a slot and in the oracle step", async () => {
    const withdrawal: BatchTx = { type: TxType.WITHDRAW, request: signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 5n, nonce: 0 }) };
    assert.equal(await witnessFailure(fundedState(), [withdrawal], { oracle: oracleUpdate() }), null, "the honest batch is accepted");
    const bump = (sig: string[]) => (sig[1] = ((BigInt(sig[1]) + 1n) % FIELD_MODULUS).toString());
    await refuses(fundedState(), [withdrawal], R8_ON_CURVE(), { oracle: oracleUpdate() }, (i: CircuitInput) => bump((i.sigA as string[][])[0]));
    await refuses(fundedState(), [withdrawal], R8_ON_CURVE(), { oracle: oracleUpdate() }, (i: CircuitInput) => bump(i.oracleSig as string[]));
  });

  it("a key of small order signs nothing: the verifier refuses x(4A) = 0 whatever the signature (the custodian and the builder refuse such keys)", async () => {
    const order8 = pointOfOrder8();
    assert.ok(onCurve(order8));
    assert.match(publicKeyFault(order8)!, /small order/);
    const order2: PublicKey = [0n, FIELD_MODULUS - 1n];
    for (const key of [order8, order2]) {
      const state = fundedState();
      // alice rotates to it (the circuit only proves the key on the curve), then anyone "signs" her withdrawal
      assert.equal(await witnessFailure(state, [{ type: TxType.REGISTER_KEY, accountId: 1, pubKey: key }], { ...NO_ORACLE, enforceRules: false }), null);
      const withdrawal: BatchTx = { type: TxType.WITHDRAW, request: { accountId: 1, tokenId: 0, amount: 1n, nonce: 0, signature: FORGED_SIGNATURE } };
      await refuses(state, [withdrawal], rule("EdDSAPoseidonVerifier", "isZero.out*enabled === 0"), NO_ORACLE);
      builderRefuses([{ type: TxType.REGISTER_KEY, accountId: 4, pubKey: key }], NO_ORACLE, TxRejected, "BAD_KEY");
    }
  });
});
