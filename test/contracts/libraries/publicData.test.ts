/**
 * contracts/libraries/PublicData.sol and BabyJubjub.sol against the TypeScript source of truth
 * (sequencer/protocol/publicData.ts), through contracts/test/PublicDataHarness.sol.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { network } from "hardhat";
import { getContract, hexToBytes } from "viem";

import { FIELD_MODULUS, TxType } from "../../../sequencer/protocol/constants.ts";
import { decodePublicData, encodeRecord, publicInputOf } from "../../../sequencer/protocol/publicData.ts";
import { compressPublicKey, isValidPublicKey, publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { publicDataHarnessAbi } from "../abis.ts";
import { batchBytes, compressKey, hex, isOnCurve, pubKeyOf } from "../helpers.ts";

const { viem } = await network.create();
const publicClient = await viem.getPublicClient();
const { address } = await viem.deployContract("PublicDataHarness");
const harness = getContract({ abi: publicDataHarnessAbi, address, client: publicClient });

const rand = (bits: number): bigint => {
  const bytes = Math.ceil(bits / 8);
  return BigInt("0x" + randomBytes(bytes).toString("hex")) & ((1n << BigInt(bits)) - 1n);
};
/** Random value of `bits` bits, biased towards the edges (0, 1, max). */
const value = (bits: number): bigint => {
  const r = Math.random();
  if (r < 0.1) return 0n;
  if (r < 0.2) return (1n << BigInt(bits)) - 1n;
  if (r < 0.25) return 1n;
  return rand(bits);
};

describe("PublicData.sol", () => {
  it("decodes headers and WITHDRAW records exactly as the TS decoder", async () => {
    for (let i = 0; i < 40; i++) {
      const header = { oldRoot: value(256), newRoot: value(256), batchNumber: value(32), timestamp: value(32) };
      const withdraw = { type: TxType.WITHDRAW, accountId: value(32), tokenId: value(16), amount: value(96) } as const;
      const pd = batchBytes(header, [{ type: TxType.NOOP }, withdraw], 3);
      const decoded = decodePublicData(pd);
      assert.deepEqual(await harness.read.decodeHeader([hex(pd)]), {
        oldRoot: decoded.header.oldRoot,
        newRoot: decoded.header.newRoot,
        batchNumber: Number(decoded.header.batchNumber),
        timestamp: Number(decoded.header.timestamp),
      });
      const [type, accountId, tokenId, amount] = await harness.read.decodeWithdrawAt([hex(pd), 1n]);
      assert.deepEqual([type, BigInt(accountId), BigInt(tokenId), amount], [TxType.WITHDRAW, withdraw.accountId, withdraw.tokenId, withdraw.amount]);
    }
  });

  it("encodes request records byte for byte as the TS encodeRecord", async () => {
    for (let i = 0; i < 40; i++) {
      const accountId = value(32);
      const pubKey = value(256);
      assert.deepEqual(
        hexToBytes(await harness.read.encodeRegisterKey([Number(accountId), pubKey])),
        encodeRecord({ type: TxType.REGISTER_KEY, accountId, pubKey }),
      );
      const dep = { type: TxType.DEPOSIT, accountId: value(32), tokenId: value(16), amount: value(96) } as const;
      assert.deepEqual(
        hexToBytes(await harness.read.encodeDeposit([Number(dep.accountId), Number(dep.tokenId), dep.amount])),
        encodeRecord(dep),
      );
      const mkt = { type: TxType.REGISTER_MARKET, marketId: value(16), baseTokenId: value(16), sizeUnit: value(64), priceUnit: value(64) } as const;
      assert.deepEqual(
        hexToBytes(await harness.read.encodeRegisterMarket([Number(mkt.marketId), Number(mkt.baseTokenId), mkt.sizeUnit, mkt.priceUnit])),
        encodeRecord(mkt),
      );
    }
  });

  it("computes the public input as TS publicInputOf, for any length", async () => {
    for (const len of [0, 1, 55, 56, 64, 72, 72 + 37, 72 + 2 * 37, 72 + 32 * 37, 5000]) {
      const data = randomBytes(len);
      const [input, digest] = await harness.read.publicInput([hex(data)]);
      assert.equal(input, publicInputOf(data));
      assert.equal(BigInt(digest) >> 3n, input);
      assert.ok(input < FIELD_MODULUS);
    }
  });
});

describe("BabyJubjub.sol", () => {
  it("accepts subgroup points and compresses them as the protocol does", async () => {
    for (let i = 0; i < 20; i++) {
      const key = pubKeyOf(rand(250) + 1n);
      assert.ok(isOnCurve(key));
      assert.equal(await harness.read.isValidPublicKey([key[0], key[1]]), true);
      assert.equal(await harness.read.compress([key[0], key[1]]), compressKey(key));
      // The negated point (-x, y) is on the curve too and carries the other sign bit.
      const neg = [FIELD_MODULUS - key[0], key[1]] as const;
      assert.equal(await harness.read.isValidPublicKey([neg[0], neg[1]]), true);
      assert.equal(await harness.read.compress([neg[0], neg[1]]), compressKey(neg));
      assert.notEqual(compressKey(neg) >> 255n, compressKey(key) >> 255n);
    }
  });

  it("accepts the keys the SDK derives (circomlibjs prv2pub) and compresses them as sequencer/crypto/babyjub.ts", async () => {
    for (let i = 0; i < 20; i++) {
      const key = publicKeyOf(randomBytes(32));
      assert.ok(isValidPublicKey(key));
      assert.equal(await harness.read.isValidPublicKey([key[0], key[1]]), true);
      assert.equal(await harness.read.compress([key[0], key[1]]), compressPublicKey(key));
    }
  });

  it("rejects random pairs (off the curve) and the x = (p-1)/2 boundary is compressed with sign 0", async () => {
    for (let i = 0; i < 20; i++) {
      const x = rand(253);
      const y = rand(253);
      assert.equal(await harness.read.isValidPublicKey([x, y]), isOnCurve([x, y]) && x !== 0n && y !== 0n);
    }
    const half = (FIELD_MODULUS - 1n) / 2n;
    assert.equal(await harness.read.compress([half, 5n]), 5n);
    assert.equal(await harness.read.compress([half + 1n, 5n]), 5n | (1n << 255n));
  });
});
