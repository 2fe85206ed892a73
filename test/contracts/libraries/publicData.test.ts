/**
 * contracts/libraries/PublicData.sol and BabyJubjub.sol against the TypeScript source of truth
 * (sequencer/protocol/publicData.ts; circomlibjs's babyJub for curve and subgroup membership), through
 * contracts/test/PublicDataHarness.sol.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { network } from "hardhat";
import { concatBytes, getContract, hexToBytes, toBytes } from "viem";
import { buildBabyjub } from "circomlibjs";

import {
  DERIV_TX_TYPES, FIELD_MODULUS, FORCED_OUTCOME_OFFSET, FORCED_REQUEST_TYPES, freeMaskBytes, MAX_TABLE_INSTRUMENTS, oracleSectionBytes, REQUEST_TYPES, SPOT_TX_TYPES, TxType, type OracleShape,
} from "../../../sequencer/protocol/constants.ts";
import { encodeExitPublicData, exitPublicInputCount, exitPublicInputs, exitTokenCount } from "../../../sequencer/protocol/exitPublicData.ts";
import { publicDataBytes, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import {
  decodePublicData, encodeOracleSection, encodeRecord, nextRequestChain, publicInputsOf, RECORD_LAYOUT, type OracleSection, type SlotRecord,
} from "../../../sequencer/protocol/publicData.ts";
import { compressPublicKey, isValidPublicKey, publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { publicDataHarnessAbi } from "../abis.ts";
import {
  addPoints, batchBytes, compressKey, hex, isOnCurve, pointWithY, pubKeyOf, recordsOffset, TORSION, torsionOrder, type BatchShape, type Point,
} from "../helpers.ts";

const { viem } = await network.create();
const publicClient = await viem.getPublicClient();
const { address } = await viem.deployContract("PublicDataHarness");
const harness = getContract({ abi: publicDataHarnessAbi, address, client: publicClient });
const babyJub = await buildBabyjub();

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

/** A random mask of `instruments` bits (edges included); 0 without instruments. */
const randomMask = (instruments: number): bigint => (instruments === 0 ? 0n : value(instruments));

/** A record of `type` with every field random (edges included) within its byte width. */
function randomRecord(type: TxType): SlotRecord {
  const fields = RECORD_LAYOUT[type].map(([name, bytes]) => [name, value(8 * bytes)]);
  return { type, ...Object.fromEntries(fields) } as SlotRecord;
}

/** An oracle section with random fields: rates are signed 24-bit, the free mask has a bit per instrument id. */
function randomOracle(s: OracleShape): OracleSection {
  return {
    used: Math.random() < 0.5, key: value(256), time: value(32), fundingEpoch: value(32),
    prices: Array.from({ length: s.underlyings }, () => value(56)),
    volSlices: Array.from({ length: s.optionInstruments }, () => ({ underlying: Number(value(8)), expiry: Number(value(32)), levelPpm: value(24), slopePpm: value(24) - (1n << 23n) })),
    rates: Array.from({ length: s.instruments }, () => value(24) - (1n << 23n)),
    settleExpiry: value(32), settlePrices: Array.from({ length: s.underlyings }, () => value(56)), marksKey: value(256),
    freeInstruments: randomMask(s.instruments),
  };
}

describe("PublicData.sol", () => {
  it("decodes headers and WITHDRAW records exactly as the TS decoder", async () => {
    const shape: BatchShape = { slots: 3, derivSlots: 1, underlyings: 1, optionInstruments: 2, instruments: 4 };
    for (let i = 0; i < 40; i++) {
      const header = { oldRoot: value(256), newRoot: value(256), batchNumber: value(32), timestamp: value(32) };
      const withdraw = { type: TxType.WITHDRAW, accountId: value(32), tokenId: value(16), amount: value(96) } as const;
      const pd = batchBytes(header, [{ type: TxType.NOOP }, withdraw], shape);
      const decoded = decodePublicData(pd, shape);
      assert.deepEqual(await harness.read.decodeHeader([hex(pd)]), {
        oldRoot: decoded.header.oldRoot,
        newRoot: decoded.header.newRoot,
        batchNumber: Number(decoded.header.batchNumber),
        timestamp: Number(decoded.header.timestamp),
      });
      const [type, accountId, tokenId, amount] = await harness.read.decodeWithdrawAt([hex(pd), BigInt(recordsOffset(shape)), 1n]);
      assert.deepEqual([type, BigInt(accountId), BigInt(tokenId), amount], [TxType.WITHDRAW, withdraw.accountId, withdraw.tokenId, withdraw.amount]);
    }
  });

  it("encodes request records byte for byte as the TS encodeRecord", async () => {
    for (let i = 0; i < 40; i++) {
      const accountId = value(24); // REGISTER_KEY's account id has 3 bytes (account trees of at most 4^12 ids)
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

  it("sizes the oracle section and the public data as TS oracleSectionBytes / publicDataBytes", async () => {
    for (let underlyings = 0; underlyings <= 7; underlyings++) {
      for (let instruments = 0; instruments <= 16; instruments++) {
        for (const optionInstruments of new Set([0, instruments >> 1, instruments])) {
          const s = { underlyings, optionInstruments, instruments };
          const bytes = oracleSectionBytes(s);
          assert.equal(await harness.read.oracleSectionBytes([BigInt(underlyings), BigInt(optionInstruments), BigInt(instruments)]), BigInt(bytes));
          assert.equal(encodeOracleSection(randomOracle(s)).length, bytes);
        }
      }
    }
    for (const shape of [
      TEST_PARAMS, { slots: 32, derivSlots: 16, underlyings: 2, optionInstruments: 4, instruments: 7 },
      { slots: 1, derivSlots: 0, underlyings: 1, optionInstruments: 0, instruments: 0 },
    ]) {
      const length = await harness.read.lengthFor([
        BigInt(shape.slots), BigInt(shape.derivSlots), BigInt(shape.underlyings), BigInt(shape.optionInstruments), BigInt(shape.instruments),
      ]);
      assert.equal(length, BigInt(publicDataBytes({ ...TEST_PARAMS, ...shape })));
    }
  });

  it("sizes the free-instrument mask as TS freeMaskBytes: ceil(instruments / 8), none without instruments", async () => {
    for (const instruments of [0, 1, 2, 7, 8, 9, 15, 16, 17, 64, 255, 256]) {
      assert.equal(await harness.read.freeMaskBytes([BigInt(instruments)]), BigInt(freeMaskBytes(instruments)), `${instruments}`);
    }
    assert.deepEqual([0, 1, 8, 9].map(freeMaskBytes), [0, 1, 1, 2]);
  });

  it("reads the free-instrument mask at the oracle section's end, and the marks key before it, as the TS encoder wrote them, whatever surrounds them", async () => {
    // Shapes of every custodian (up to 16 instruments: 1 and 2 bytes), wider masks (3 bytes, the devnet's 48: 6 bytes, and
    // MAX_TABLE_INSTRUMENTS' 64: 8 bytes), with every field and
    // record random: the mask must come out exact, its neighbours (the marks key, the first record) left out, and so
    // must the random 32-byte marks key, its neighbours (the last settlement price, the mask) left out.
    const shapes: BatchShape[] = [];
    for (let instruments = 0; instruments <= 16; instruments++) {
      for (const optionInstruments of new Set([0, instruments >> 1, instruments])) {
        for (const underlyings of [1, 4]) shapes.push({ slots: 2, derivSlots: 1, underlyings, optionInstruments, instruments });
      }
    }
    shapes.push({ slots: 1, derivSlots: 2, underlyings: 2, optionInstruments: 3, instruments: 9 });
    shapes.push({ slots: 1, derivSlots: 1, underlyings: 1, optionInstruments: 0, instruments: 16 });
    shapes.push({ slots: 1, derivSlots: 1, underlyings: 3, optionInstruments: 5, instruments: 20 });
    shapes.push({ slots: 2, derivSlots: 1, underlyings: 2, optionInstruments: 40, instruments: 48 });
    shapes.push({ slots: 2, derivSlots: 1, underlyings: 2, optionInstruments: 40, instruments: MAX_TABLE_INSTRUMENTS });
    for (const shape of shapes) {
      const masks = new Set([0n, (1n << BigInt(shape.instruments)) - 1n, randomMask(shape.instruments), randomMask(shape.instruments)]);
      if (shape.instruments > 0) masks.add(1n).add(1n << BigInt(shape.instruments - 1));
      for (const freeInstruments of masks) {
        const oracle = { ...randomOracle(shape), freeInstruments };
        const spot = Array.from({ length: shape.slots }, (_, k) => randomRecord(SPOT_TX_TYPES[k % SPOT_TX_TYPES.length]));
        const pd = batchBytes({ oldRoot: value(256), newRoot: value(256), batchNumber: 3n, timestamp: 4n }, spot, shape, { oracle });
        assert.equal(decodePublicData(pd, shape).oracle.freeInstruments, freeInstruments);
        const read = await harness.read.decodeFreeInstruments([hex(pd), BigInt(shape.underlyings), BigInt(shape.optionInstruments), BigInt(shape.instruments)]);
        assert.equal(read, freeInstruments, `${JSON.stringify(shape)} mask ${freeInstruments}`);
        const key = await harness.read.decodeMarksKey([hex(pd), BigInt(shape.underlyings), BigInt(shape.optionInstruments), BigInt(shape.instruments)]);
        assert.equal(key, oracle.marksKey, `${JSON.stringify(shape)} marks key`);
      }
    }
  });

  it("reads oracleUsed and the oracle key of any oracle section as the TS encoder wrote them", async () => {
    for (let i = 0; i < 30; i++) {
      const shape: BatchShape = { slots: 2, derivSlots: 1, underlyings: 1 + (i % 3), optionInstruments: (i % 8) >> (i % 2), instruments: i % 8 };
      const oracle = randomOracle(shape);
      const pd = batchBytes({ oldRoot: 1n, newRoot: 2n, batchNumber: 3n, timestamp: 4n }, [], shape, { oracle });
      assert.deepEqual(decodePublicData(pd, shape).oracle, oracle);
      const [used, key] = await harness.read.decodeOracleKey([hex(pd)]);
      assert.deepEqual([used, key], [oracle.used ? 1 : 0, oracle.key]);
    }
  });

  it("finds every record, of every type, at its slot after the oracle section", async () => {
    // Types cycle through SPOT_TX_TYPES / DERIV_TX_TYPES slot by slot, so the 5-slot shape covers every derivatives type.
    for (const shape of [TEST_PARAMS, { slots: 3, derivSlots: 5, underlyings: 2, optionInstruments: 4, instruments: 7 }] as BatchShape[]) {
      for (let i = 0; i < 5; i++) {
        const spot = Array.from({ length: shape.slots }, (_, k) => randomRecord(SPOT_TX_TYPES[(i + k) % SPOT_TX_TYPES.length]));
        const deriv = Array.from({ length: shape.derivSlots }, (_, k) => randomRecord(DERIV_TX_TYPES[(i + k) % DERIV_TX_TYPES.length]));
        const oracle = randomOracle(shape);
        const pd = batchBytes({ oldRoot: 1n, newRoot: 2n, batchNumber: 3n, timestamp: 4n }, spot, shape, { deriv, oracle });
        const offset = BigInt(recordsOffset(shape));
        for (const [slot, record] of [...spot, ...deriv].entries()) {
          assert.deepEqual(hexToBytes(await harness.read.recordAt([hex(pd), offset, BigInt(slot)])), encodeRecord(record));
        }
        assert.deepEqual(decodePublicData(pd, shape).records, [...spot, ...deriv]);
      }
    }
  });

  it("classifies all 256 type bytes as the TS type lists do (spot slot, derivatives slot, request, forced)", async () => {
    // FORCED_WITHDRAW is proven by a spot slot and FORCED_COLLATERAL_WITHDRAW by a derivatives slot; both are requests
    // (the TS lists may or may not name them yet: the sets below hold either way).
    const spotTypes = new Set<number>([...SPOT_TX_TYPES, TxType.FORCED_WITHDRAW]);
    const derivTypes = new Set<number>([...DERIV_TX_TYPES, TxType.FORCED_COLLATERAL_WITHDRAW]);
    const requestTypes = new Set<number>([...REQUEST_TYPES, ...FORCED_REQUEST_TYPES]);
    for (let t = 0; t < 256; t++) {
      const [spot, derivatives, request] = await harness.read.classify([t]);
      assert.deepEqual([spot, derivatives, request], [spotTypes.has(t), derivTypes.has(t), requestTypes.has(t)], `type ${t}`);
      assert.equal(await harness.read.isForced([t]), FORCED_REQUEST_TYPES.includes(t as TxType), `type ${t}`);
    }
  });

  it("encodes queued forced requests (honoured 0) byte for byte as the TS encodeRecord, and chains batch records as TS nextRequestChain", async () => {
    assert.equal(await harness.read.forcedOutcomeOffset(), BigInt(FORCED_OUTCOME_OFFSET));
    for (let i = 0; i < 30; i++) {
      for (const type of [TxType.FORCED_WITHDRAW, TxType.FORCED_COLLATERAL_WITHDRAW, TxType.DEPOSIT] as const) {
        const r = { ...randomRecord(type), ...(type === TxType.DEPOSIT ? {} : { honoured: 0n }) } as Extract<SlotRecord, { type: typeof type }>;
        const encoded = await harness.read.encodeAmountRecord([type, Number(r.accountId), Number(r.tokenId), r.amount]);
        assert.deepEqual(hexToBytes(encoded), encodeRecord(r));
        // The batch's record with either outcome chains as the queued record (DEPOSIT: unchanged), as TS nextRequestChain.
        const chain = `0x${randomBytes(32).toString("hex")}` as const;
        for (const honoured of [0n, 1n]) {
          const batchRecord = encodeRecord(type === TxType.DEPOSIT ? r : ({ ...r, honoured } as SlotRecord));
          assert.equal(await harness.read.chainNext([chain, hex(batchRecord)]), nextRequestChain(chain, batchRecord));
          assert.equal(nextRequestChain(chain, batchRecord), nextRequestChain(chain, encodeRecord(r)));
        }
      }
    }
  });

  it("encodes an exit claim's public data and public inputs as TS encodeExitPublicData / exitPublicInputs", async () => {
    for (const p of [TEST_PARAMS, { ...TEST_PARAMS, underlyings: 2, balanceLevels: 3 }, { ...TEST_PARAMS, underlyings: 5, balanceLevels: 2 }]) {
      for (let i = 0; i < 8; i++) {
        const claim = {
          root: value(254), accountId: Number(value(32)),
          prices: Array.from({ length: p.underlyings }, () => value(56)),
          pooledQuote: value(128), derivativesClaim: value(128),
          amounts: Array.from({ length: exitTokenCount(p) }, () => value(128)),
        };
        const [data, inputs] = await harness.read.encodeExit([claim.root, claim.accountId, claim.prices, claim.pooledQuote, claim.derivativesClaim, claim.amounts]);
        assert.deepEqual(hexToBytes(data), encodeExitPublicData(claim, p));
        assert.deepEqual(inputs, exitPublicInputs(claim, p));
        assert.equal(inputs.length, exitPublicInputCount(p));
      }
    }
  });

  it("encodes REGISTER_INSTRUMENT records byte for byte as the TS encodeRecord", async () => {
    for (let i = 0; i < 40; i++) {
      const r = randomRecord(TxType.REGISTER_INSTRUMENT) as Extract<SlotRecord, { type: typeof TxType.REGISTER_INSTRUMENT }>;
      const encoded = await harness.read.encodeRegisterInstrument([Number(r.instrumentId), {
        kind: Number(r.kind), underlying: Number(r.underlying), lotSizeE6: r.lotSizeE6, tickValue: r.tickValue, imPpm: Number(r.imPpm),
        mmPpm: Number(r.mmPpm), strike: r.strike, expiry: Number(r.expiry), fundingCapPpm: Number(r.fundingCapPpm),
      }]);
      assert.deepEqual(hexToBytes(encoded), encodeRecord(r));
    }
  });

  it("computes the public inputs as TS publicInputsOf (31-byte big-endian chunks, the last one shorter), for any length", async () => {
    for (const len of [0, 1, 30, 31, 32, 62, 63, 72, 72 + 36, 72 + 2 * 36, 751, 5000]) {
      const data = randomBytes(len);
      data[0] = 0xff; // a chunk's top byte set: the chunk is still below the field's modulus
      const inputs = await harness.read.publicInputs([hex(data)]);
      assert.deepEqual(inputs, publicInputsOf(data), `length ${len}`);
      assert.deepEqual(await harness.read.publicInputsOfMemory([hex(data)]), inputs, `length ${len}, data in memory`);
      assert.equal(inputs.length, Math.ceil(len / 31));
      for (const v of inputs) assert.ok(v < 2n ** 248n && v < FIELD_MODULUS);
      if (len > 0) assert.equal(concatBytes(inputs.map((v, i) => toBytes(v, { size: Math.min(31, len - 31 * i) }))).length, len);
    }
    // written at an offset of a larger array: the chunks land there, the rest stays 0; without room: Panic(0x32), as an index out of bounds
    const some = randomBytes(100); // 4 chunks
    assert.deepEqual(await harness.read.publicInputsAt([hex(some), 7n, 2n]), [0n, 0n, ...publicInputsOf(some), 0n]);
    await assert.rejects(harness.read.publicInputsAt([hex(some), 5n, 2n]), /Array index is out of bounds/);
    await assert.rejects(harness.read.publicInputsAt([hex(some), 3n, 0n]), /Array index is out of bounds/);
    // the map is injective on data of one length: the chunks give the bytes back
    const data = randomBytes(751);
    const back = concatBytes(publicInputsOf(data).map((v, i) => toBytes(v, { size: Math.min(31, 751 - 31 * i) })));
    assert.equal(hex(back), hex(data));
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
      assert.equal(await harness.read.isOnCurve([x, y]), isOnCurve([x, y]));
      assert.equal(await harness.read.isValidPublicKey([x, y]), isValidPublicKey([x, y]) && !(x === 0n && y === 1n));
    }
    const half = (FIELD_MODULUS - 1n) / 2n;
    assert.equal(await harness.read.compress([half, 5n]), 5n);
    assert.equal(await harness.read.compress([half + 1n, 5n]), 5n | (1n << 255n));
  });

  /** circomlibjs's predicate: l * P is the identity (babyJub.inSubgroup, which checks the curve first). */
  const tsInSubgroup = ([x, y]: Point): boolean => babyJub.inSubgroup([babyJub.F.e(x), babyJub.F.e(y)]);

  it("isInPrimeSubgroup agrees with circomlibjs's inSubgroup on random curve points, subgroup points and mixed-order points", async () => {
    const points: [string, Point][] = [];
    while (points.length < 24) {
      const p = pointWithY(rand(253) % FIELD_MODULUS);
      if (p !== undefined) points.push(["random curve point", Math.random() < 0.5 ? p : [FIELD_MODULUS - p[0], p[1]]]);
    }
    for (let i = 0; i < 16; i++) points.push(["k * Base8", pubKeyOf(rand(251) + 1n)]);
    for (let i = 0; i < 16; i++) points.push(["k * Base8 + torsion", addPoints(pubKeyOf(rand(251) + 1n), TORSION[1 + (i % 7)])]);
    let inside = 0;
    for (const [what, p] of points) {
      assert.ok(isOnCurve(p), what);
      const expected = tsInSubgroup(p);
      inside += expected ? 1 : 0;
      assert.equal(await harness.read.isInPrimeSubgroup([p[0], p[1]]), expected, `${what} (${p[0]}, ${p[1]})`);
      assert.equal(await harness.read.isValidPublicKey([p[0], p[1]]), expected, `${what} (${p[0]}, ${p[1]})`);
      assert.equal(isValidPublicKey(p), expected, what);
    }
    // Both answers occur: the 16 subgroup points at least, and every mixed point is outside.
    assert.ok(inside >= 16 && inside <= points.length - 16, `${inside} of ${points.length} inside`);
  });

  it("refuses the identity and the order-2, order-4 and order-8 points, and an honest key plus each of them", async () => {
    assert.deepEqual(TORSION.map(torsionOrder), [1, 8, 4, 8, 2, 8, 4, 8]);
    const key = publicKeyOf(randomBytes(32));
    for (const [k, t] of TORSION.entries()) {
      assert.ok(isOnCurve(t));
      // Only the identity is in the subgroup, and it is refused as a key all the same.
      assert.equal(await harness.read.isInPrimeSubgroup([t[0], t[1]]), k === 0, `torsion point ${k}`);
      assert.equal(tsInSubgroup(t), k === 0);
      assert.equal(await harness.read.isValidPublicKey([t[0], t[1]]), false, `torsion point ${k}`);
      if (k === 0) continue;
      const mixed = addPoints(key, t);
      assert.ok(isOnCurve(mixed));
      assert.equal(await harness.read.isInPrimeSubgroup([mixed[0], mixed[1]]), false, `key + torsion point ${k}`);
      assert.equal(await harness.read.isValidPublicKey([mixed[0], mixed[1]]), false, `key + torsion point ${k}`);
      assert.equal(tsInSubgroup(mixed), false);
    }
    assert.equal(await harness.read.isValidPublicKey([key[0], key[1]]), true);
  });

  it("isValidPublicKey gas: one 251-bit scalar multiplication for a point on the curve", async () => {
    const key = publicKeyOf(randomBytes(32));
    const mixed = addPoints(key, TORSION[1]);
    const rows: [string, Point][] = [["honest key", key], ["key + order-8 point", mixed], ["off the curve", [key[0], key[1] + 1n]], ["identity", [0n, 1n]]];
    console.log("\n  BabyJubjub.isValidPublicKey gas (library call only):");
    const gas: bigint[] = [];
    for (const [what, p] of rows) {
      const [, used] = await harness.read.isValidPublicKeyGas([p[0], p[1]]);
      gas.push(used);
      console.log(`    ${what.padEnd(24)} ${used.toString().padStart(7)}`);
    }
    assert.ok(gas[0] > 20_000n && gas[0] < 150_000n, `${gas[0]}`);
    assert.ok(gas[2] < 2_000n && gas[3] < 2_000n);
  });
});
