/**
 * docs/client.md 12.8's derivatives worked example cannot go stale: a perpetual order with `reduceOnly` and a stop
 * trigger (its words, message hash, signature and HTTP body) and a small oracle update (its hash inputs, message hash
 * and signature) are recomputed here with the project's own packing, hashing and signing code and compared with the
 * document's `<!-- deriv-example:NAME -->` blocks, and the bodies go through the API's schemas and signature check.
 * No chain, no circuit.
 *
 *   PRINT_DERIV_EXAMPLE=1 npx tsx test/docs/derivativesExample.test.ts   # prints the blocks to paste
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { toHex } from "viem";
import { EXAMPLE } from "../../scripts/examples/clientWorkedExample.ts";
import { publicKeyOf, signMessage, verifyMessage } from "../../sequencer/crypto/babyjub.ts";
import { poseidon } from "../../sequencer/crypto/poseidon.ts";
import { Domain, OrderType, Side, TimeInForce, TriggerType } from "../../sequencer/protocol/constants.ts";
import { ORDER_WORD_FIELDS, oracleMessage, orderMessage, orderMessageInputs, orderWords, triggerCrossed, type OracleUpdate, type Order } from "../../sequencer/protocol/messages.ts";
import { sliceWord } from "../../sequencer/protocol/volSlices.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { signOracleUpdate } from "../../sequencer/derivatives/oracleSigner.ts";
import { OracleUpdateSchema, OrderSchema } from "../../sequencer/wire/schemas.ts";
import { toJson } from "../../sequencer/sdk/wire.ts";
import { deriveTradingKey } from "../../sequencer/sdk/tradingKey.ts";

const root = join(import.meta.dirname, "../..");
const doc = readFileSync(join(root, "docs/client.md"), "utf8");

/**
 * A reduce-only stop-loss on the devnet's ETH perpetual (instrument 0 at N = 16 ids: market 32768; lots of 0.01 ETH,
 * ticks of 0.01 quote per ETH, so tickValue = 100 quote units per lot per tick): account 1 (long) sells 100 lots
 * (1 ETH) at a limit of 2,890 once the mark falls to 2,900 or below. The next order id after 12's spot order.
 */
const PERP_ORDER: Order = {
  accountId: EXAMPLE.accountId,
  orderId: (1767225600n << 8n) + 1n,
  marketId: 32768,
  side: Side.SELL,
  type: OrderType.LIMIT,
  timeInForce: TimeInForce.GTC,
  priceTicks: 289_000n,
  sizeLots: 100n,
  maxFeePpm: 1000,
  expiry: 1767312000,
  reduceOnly: true,
  triggerType: TriggerType.STOP,
  triggerPriceTicks: 290_000n,
};
const TICK_VALUE = 100n;

/** The devnet's test oracle key (scripts/devnet/derivativesScenario.ts DEV_ORACLE_KEY: 32 bytes of 7; public, test only). */
const ORACLE_KEY = new Uint8Array(32).fill(7);

/** An update at TEST_PARAMS' shape (U = 1, O = 2, N = 4): ETH at 3,000, one vol slice (5.6's), no funding, no settlement. */
const UPDATE: OracleUpdate = {
  time: 1767225600,
  fundingEpoch: 0,
  prices: [300_000_000_000n],
  volSlices: [
    { underlying: 0, expiry: 1767225600 + 7 * 86400, levelPpm: 600_000n, slopePpm: -750_000n },
    { underlying: 0, expiry: 0, levelPpm: 0n, slopePpm: 0n },
  ],
  rates: [0n, 0n, 0n, 0n],
  settlement: null,
};

function lines(rows: readonly (readonly [string, string | number | bigint | boolean])[]): string {
  const width = Math.max(...rows.map(([n]) => n.length));
  return rows.map(([n, v]) => `${n.padEnd(width)}  ${v}`).join("\n");
}
const pretty = (value: unknown) => JSON.stringify(JSON.parse(toJson(value)), null, 2);

async function sections(): Promise<Record<string, string>> {
  const key = await deriveTradingKey(privateKeyToAccount(EXAMPLE.walletPrivateKey), EXAMPLE.chainId, EXAMPLE.custodian, EXAMPLE.keyIndex);
  const o = PERP_ORDER;
  const [w0, w1] = orderWords(o);
  const inputs = orderMessageInputs(o);
  const hash = orderMessage(o);
  const fieldRows: [string, string][] = [];
  ORDER_WORD_FIELDS.forEach((fields, word) => {
    let shift = 0;
    for (const [name, bits] of fields) {
      fieldRows.push([`w${word} bits ${shift}..${shift + bits - 1}`, `${name} = ${o[name] ?? 0}`]);
      shift += bits;
    }
  });
  const sig = signMessage(key.privateKey, hash);
  const perpOrder = [
    lines(fieldRows),
    "",
    lines([
      ["w0", `${w0} (${toHex(w0, { size: 17 })})`],
      ["w1", `${w1} (${toHex(w1, { size: 16 })})`],
      ["Poseidon inputs", `[${inputs.join(", ")}]`],
      ["msg = Poseidon(1, w0, w1)", `${hash} (${toHex(hash, { size: 32 })})`],
      ["R8.x", sig.r8x],
      ["R8.y", sig.r8y],
      ["S", sig.s],
      ["verifies", verifyMessage(hash, sig, key.publicKey)],
    ]),
  ].join("\n");

  const signed = signOracleUpdate(ORACLE_KEY, UPDATE);
  const oracleInputs = [
    Domain.ORACLE, BigInt(UPDATE.time) | (BigInt(UPDATE.fundingEpoch) << 32n), ...UPDATE.prices, ...UPDATE.volSlices.map(sliceWord),
    ...UPDATE.rates.map((r) => r + (1n << 23n)), 0n,
  ];
  const oracleHash = oracleMessage(UPDATE);
  if (poseidon(oracleInputs) !== oracleHash) throw new Error("the inputs shown are not the ones oracleMessage hashes");
  const oracle = [
    lines([
      ["oracle private key", toHex(ORACLE_KEY)],
      ["oracle public key x (setOracleKey)", signed.key[0]],
      ["oracle public key y", signed.key[1]],
      ["Poseidon inputs", `[${oracleInputs.join(", ")}]`],
      ["msg = Poseidon(5, ...)", `${oracleHash} (${toHex(oracleHash, { size: 32 })})`],
      ["verifies", verifyMessage(oracleHash, signed.signature, publicKeyOf(ORACLE_KEY))],
    ]),
    "",
    pretty(signed),
  ].join("\n");

  return { perpOrder, perpHttpOrder: pretty({ ...o, signature: sig }), oracle };
}

const computed = await sections();
const NAMES = ["perpOrder", "perpHttpOrder", "oracle"] as const;

if (process.env.PRINT_DERIV_EXAMPLE) {
  for (const name of NAMES) console.log(`<!-- deriv-example:${name} -->\n\`\`\`${name === "oracle" ? "text" : name === "perpHttpOrder" ? "json" : "text"}\n${computed[name]}\n\`\`\`\n`);
}

function docBlock(name: string): string | undefined {
  return doc.match(new RegExp(`<!-- deriv-example:${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``))?.[1];
}

describe("docs/client.md derivatives worked example (12.8)", () => {
  for (const name of NAMES) {
    it(`shows the ${name} values the code computes`, () => {
      const block = docBlock(name);
      assert.ok(block !== undefined, `docs/client.md has no <!-- deriv-example:${name} --> block`);
      assert.equal(block, computed[name], `docs/client.md's ${name} block is stale: paste the output of PRINT_DERIV_EXAMPLE=1 npx tsx test/docs/derivativesExample.test.ts`);
    });
  }

  it("has no deriv-example block this test does not check", () => {
    assert.deepEqual([...doc.matchAll(/<!-- deriv-example:(\w+) -->/g)].map((m) => m[1]), [...NAMES]);
  });

  it("its order body is one the API's schema accepts, signed under the example's trading key", async () => {
    const key = await deriveTradingKey(privateKeyToAccount(EXAMPLE.walletPrivateKey), EXAMPLE.chainId, EXAMPLE.custodian, EXAMPLE.keyIndex);
    const { signature, ...order } = OrderSchema.parse(JSON.parse(docBlock("perpHttpOrder")!));
    assert.deepEqual(order, PERP_ORDER);
    assert.ok(order.marketId >= 0x8000 && order.reduceOnly === true && order.triggerType === TriggerType.STOP);
    assert.ok(verifyMessage(orderMessage(order), signature, key.publicKey));
  });

  it("the stop fires at a mark of 29,000,000 quote units per lot or below, not above (6.8)", () => {
    assert.ok(triggerCrossed(PERP_ORDER, 29_000_000n, TICK_VALUE));
    assert.ok(triggerCrossed(PERP_ORDER, 28_999_999n, TICK_VALUE));
    assert.ok(!triggerCrossed(PERP_ORDER, 29_000_001n, TICK_VALUE));
    assert.ok(doc.includes("`mark <= 290000 * 100 = 29000000`"));
  });

  it("its oracle body is one the API's schema accepts at TEST_PARAMS, signed under the key it names", () => {
    const json = docBlock("oracle")!.split("\n\n").slice(1).join("\n\n");
    const { signature, key, ...update } = OracleUpdateSchema(TEST_PARAMS).parse(JSON.parse(json));
    assert.deepEqual(key, publicKeyOf(ORACLE_KEY));
    assert.ok(verifyMessage(oracleMessage(update as OracleUpdate), signature, key));
  });
});
