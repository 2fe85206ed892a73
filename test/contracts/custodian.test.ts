import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { network } from "hardhat";
import {
  encodeAbiParameters, encodeFunctionData, getAddress, getContract, hexToBytes, keccak256, parseEventLogs, stringToHex, toHex, zeroHash, type Abi, type Address, type Hex,
} from "viem";

import {
  DERIV_TX_TYPES, FIELD_MODULUS, INSTRUMENT_MARKET_BASE, MAX_INSTRUMENT_MARKET_ID, MAX_TABLE_INSTRUMENTS, SPOT_TX_TYPES, TxType, RECORD_BYTES, HEADER_BYTES, instrumentMarketId,
} from "../../sequencer/protocol/constants.ts";
import { custodianArgs, derivativesConfigOf } from "../../sequencer/chain/custodianArgs.ts";
import {
  encodeRecord,
  nextRequestChain,
  publicInputsOf,
  REQUEST_CHAIN_GENESIS,
  unusedOracleSection,
  type SlotRecord,
} from "../../sequencer/protocol/publicData.ts";
import { publicDataBytes, TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { adminTimelockAbi, custodianAbi, marksRegistryAbi } from "../../sequencer/chain/abi.ts";
import { mockVerifierAbi, quirkyTokenAbi, testTokenAbi } from "./abis.ts";
import {
  PROOF, TEST_REQUEST_DEADLINE, TORSION, addPoints, batchBytes, compressKey, deployCustodianContract, deployExitRoles, deployNamed, hex, isOnCurve, pubKeyOf, recordsOffset, sqrtMod, torsionOrder,
  type Point,
} from "./helpers.ts";
import { isValidPublicKey, publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { deriveTradingKey } from "../../sequencer/sdk/tradingKey.ts";
import { EMPTY_SLICE } from "../../sequencer/protocol/volSlices.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [defaultWallet] = await viem.getWalletClients();

/** Deploys `name` and returns it typed by the committed ABI (the artifacts' types are not in tsconfig). */
async function deploy<const TAbi extends Abi>(abi: TAbi, name: string, args: readonly unknown[] = []) {
  const address = await deployNamed(viem, name, args);
  return getContract({ abi, address, client: { public: publicClient, wallet: defaultWallet } });
}

const SLOTS = TEST_PARAMS.slots;
/** Public data shape of the test custodian (2 spot slots, 1 derivatives slot, 1 underlying, 4 instruments). */
const SHAPE = TEST_PARAMS;
const RECORDS_AT = recordsOffset(SHAPE);
const MAX_ACCOUNTS = 4 ** TEST_PARAMS.accountLevels;
const MAX_TOKENS = 4 ** TEST_PARAMS.balanceLevels;
const MAX_MARKETS = 4 ** TEST_PARAMS.marketLevels;
const GENESIS_ROOT = 0x1234n;
const USDC = 10n ** 6n;
const ETH = 10n ** 18n;
/** Minimum deposits of the test custodian: 1 USDC, 0.0001 WETH, 100 units of the fee-on-transfer token. */
const MIN_USDC = USDC;
const MIN_WETH = 10n ** 14n;
const MIN_QUIRKY = 100n;

const ALICE_KEY = pubKeyOf(1234567n);
const BOB_KEY = pubKeyOf(7654321n);
const ORACLE_KEY = pubKeyOf(555n);

/** Custodian.registerInstrument's arguments, by name. */
type InstrumentArgs = {
  kind: number; underlying: number; lotSizeE6: bigint; tickSizeE8: bigint; imPpm: number; mmPpm: number; strike: bigint; expiry: number; fundingCapPpm: number;
};
/** ETH perpetual: 0.001 ETH lots, 0.01 USDC ticks (tick value 10 quote units), 10% / 5% margins, 0.1% funding cap. */
const PERP: InstrumentArgs = { kind: 1, underlying: 0, lotSizeE6: 1_000n, tickSizeE8: 1_000_000n, imPpm: 100_000, mmPpm: 50_000, strike: 0n, expiry: 0, fundingCapPpm: 1_000 };
const FUTURE = (expiry: number): InstrumentArgs => ({ ...PERP, kind: 2, expiry, fundingCapPpm: 0 });
/** Options on 0.01 ETH, strike 3000 USDC. */
const CALL = (expiry: number): InstrumentArgs => ({ ...PERP, kind: 3, lotSizeE6: 10_000n, strike: 3000n * 10n ** 8n, expiry, fundingCapPpm: 0 });
const PUT = (expiry: number): InstrumentArgs => ({ ...CALL(expiry), kind: 4 });

const tickValueOf = (a: InstrumentArgs): bigint => (a.tickSizeE8 * a.lotSizeE6) / 10n ** 8n;

/** The REGISTER_INSTRUMENT record the custodian must queue for `a` at `instrumentId`. */
function instrumentRecord(instrumentId: number, a: InstrumentArgs): SlotRecord {
  return {
    type: TxType.REGISTER_INSTRUMENT, instrumentId: BigInt(instrumentId), kind: BigInt(a.kind), underlying: BigInt(a.underlying),
    lotSizeE6: a.lotSizeE6, tickValue: tickValueOf(a), imPpm: BigInt(a.imPpm), mmPpm: BigInt(a.mmPpm), strike: a.strike,
    expiry: BigInt(a.expiry), fundingCapPpm: BigInt(a.fundingCapPpm),
  };
}

/** Custodian.instrument(id) for `a`, as viem decodes it. */
function instrumentView(a: InstrumentArgs) {
  return {
    kind: a.kind, underlying: a.underlying, lotSizeE6: a.lotSizeE6, tickValue: tickValueOf(a), imPpm: a.imPpm, mmPpm: a.mmPpm,
    strike: a.strike, expiry: a.expiry, fundingCapPpm: a.fundingCapPpm,
  };
}

async function deployBase() {
  const [admin, operator, alice, bob, carol, dave] = await viem.getWalletClients();
  const verifier = await deploy(mockVerifierAbi, "MockVerifier");
  const usdc = await deploy(testTokenAbi, "TestToken", ["USD Coin", "USDC", 6]);
  const weth = await deploy(testTokenAbi, "TestToken", ["Wrapped Ether", "WETH", 18]);
  const exitRoles = await deployExitRoles(viem, admin.account.address);
  const roles = {
    verifier: verifier.address,
    genesisRoot: GENESIS_ROOT,
    quoteToken: usdc.address,
    quoteMinDeposit: MIN_USDC,
    admin: admin.account.address,
    operator: operator.account.address,
    ...exitRoles,
    // A marks registry in front of the accepting mock, so options can be listed (OptionsNeedMarksRegistry).
    marksRegistry: (await deploy(marksRegistryAbi, "MarksRegistry", [verifier.address])).address,
  };
  const custodian = await deploy(custodianAbi, "Custodian", custodianArgs(TEST_PARAMS, roles));
  const timelock = getContract({ abi: adminTimelockAbi, address: exitRoles.timelock, client: { public: publicClient, wallet: admin } });
  await custodian.write.registerToken([weth.address, MIN_WETH]);
  for (const w of [alice, bob, carol]) {
    await usdc.write.mint([w.account.address, 1_000_000n * USDC]);
    await weth.write.mint([w.account.address, 1_000n * ETH]);
    await usdc.write.approve([custodian.address, 2n ** 256n - 1n], { account: w.account });
    await weth.write.approve([custodian.address, 2n ** 256n - 1n], { account: w.account });
  }
  return { admin, operator, alice, bob, carol, dave, verifier, usdc, weth, custodian, roles, timelock };
}

/** Alice (account 1) and Bob (account 2) registered, one deposit each, one market: 5 queued requests. */
async function deployWithRequests() {
  const base = await deployBase();
  const { custodian, alice, bob } = base;
  await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
  await custodian.write.registerTradingKey([BOB_KEY[0], BOB_KEY[1]], { account: bob.account });
  await custodian.write.deposit([0, 1000n * USDC], { account: alice.account });
  await custodian.write.deposit([1, 5n * ETH], { account: bob.account });
  await custodian.write.registerMarket([1, 10n ** 15n, 10n]);
  const requests: SlotRecord[] = [
    { type: TxType.REGISTER_KEY, accountId: 1n, pubKey: compressKey(ALICE_KEY) },
    { type: TxType.REGISTER_KEY, accountId: 2n, pubKey: compressKey(BOB_KEY) },
    { type: TxType.DEPOSIT, accountId: 1n, tokenId: 0n, amount: 1000n * USDC },
    { type: TxType.DEPOSIT, accountId: 2n, tokenId: 1n, amount: 5n * ETH },
    { type: TxType.REGISTER_MARKET, marketId: 0n, baseTokenId: 1n, sizeUnit: 10n ** 15n, priceUnit: 10n },
  ];
  return { ...base, requests };
}

type Env = Awaited<ReturnType<typeof deployBase>>;
type Custodian = Env["custodian"];

function registerInstrument(custodian: Custodian, a: InstrumentArgs, account?: Env["alice"]["account"]) {
  return custodian.write.registerInstrument(
    [a.kind, a.underlying, a.lotSizeE6, a.tickSizeE8, a.imPpm, a.mmPpm, a.strike, a.expiry, a.fundingCapPpm],
    account ? { account } : {},
  );
}

async function receiptOf(hash: Promise<Hex>) {
  return publicClient.waitForTransactionReceipt({ hash: await hash });
}

async function now(): Promise<bigint> {
  return BigInt(await networkHelpers.time.latest());
}

/** Everything a batch may change, plus the withdrawable balances of the given owners. */
async function snapshot(custodian: Custodian, owners: readonly Address[]) {
  const withdrawable: bigint[] = [];
  for (const o of owners) for (const t of [0, 1]) withdrawable.push(await custodian.read.withdrawable([o, t]));
  return {
    stateRoot: await custodian.read.stateRoot(),
    batchCount: await custodian.read.batchCount(),
    lastTimestamp: await custodian.read.lastTimestamp(),
    processedRequests: await custodian.read.processedRequests(),
    requestCount: await custodian.read.requestCount(),
    withdrawable,
  };
}

/**
 * Submits the next batch (mock proof) carrying `records` in its spot slots, stamped with the latest block's time,
 * from the current root to root + 1: the way tests advance processedRequests.
 */
async function consume(custodian: Custodian, operator: Env["operator"], records: readonly SlotRecord[]) {
  const oldRoot = await custodian.read.stateRoot();
  const header = { oldRoot, newRoot: oldRoot + 1n, batchNumber: BigInt(await custodian.read.batchCount()), timestamp: await now() };
  await custodian.write.submitBatch([hex(batchBytes(header, records, SHAPE)), PROOF], { account: operator.account });
}

/**
 * Schedules `functionName(args)` on the custodian through the admin timelock (the deployer is its proposer and
 * executor); `execute()` runs it once the timelock's delay has passed (TimelockUnexpectedOperationState before).
 */
async function timelocked(env: Pick<Env, "custodian" | "timelock">, functionName: string, args: readonly unknown[], salt: Hex = zeroHash) {
  const data = encodeFunctionData({ abi: custodianAbi, functionName, args } as never);
  const delay = await env.timelock.read.getMinDelay();
  await env.timelock.write.schedule([env.custodian.address, 0n, data, zeroHash, salt, delay]);
  return { delay, execute: () => env.timelock.write.execute([env.custodian.address, 0n, data, zeroHash, salt]) };
}

/** timelocked(), then waits out the delay and executes. */
async function throughTimelock(env: Pick<Env, "custodian" | "timelock">, functionName: string, args: readonly unknown[], salt: Hex = zeroHash) {
  const op = await timelocked(env, functionName, args, salt);
  await networkHelpers.time.increase(op.delay);
  return op.execute();
}

describe("Custodian", () => {
  describe("deployment", () => {
    it("starts at the genesis root with the quote token as token 0 and the roles assigned", async () => {
      const { custodian, usdc, weth, admin, operator, verifier } = await networkHelpers.loadFixture(deployBase);
      assert.equal(await custodian.read.stateRoot(), GENESIS_ROOT);
      assert.equal(await custodian.read.batchCount(), 0);
      assert.equal(await custodian.read.requestCount(), 0n);
      assert.equal(await custodian.read.processedRequests(), 0n);
      assert.equal(await custodian.read.requestChain([0n]), REQUEST_CHAIN_GENESIS);
      assert.equal((await custodian.read.tokens([0])).toLowerCase(), usdc.address.toLowerCase());
      assert.equal((await custodian.read.quoteToken()).toLowerCase(), usdc.address.toLowerCase());
      assert.equal((await custodian.read.tokens([1])).toLowerCase(), weth.address.toLowerCase());
      assert.equal(await custodian.read.tokenIdOf([weth.address]), 1);
      assert.equal(await custodian.read.tokenCount(), 2n);
      assert.equal(await custodian.read.slots(), BigInt(SLOTS));
      assert.equal(await custodian.read.derivSlots(), BigInt(TEST_PARAMS.derivSlots));
      assert.equal(await custodian.read.underlyings(), TEST_PARAMS.underlyings);
      assert.equal(await custodian.read.instruments(), TEST_PARAMS.instruments);
      assert.equal(await custodian.read.optionInstruments(), TEST_PARAMS.optionInstruments);
      assert.equal(await custodian.read.publicDataBytes(), BigInt(publicDataBytes(TEST_PARAMS)));
      assert.equal(await custodian.read.nextNonOptionId(), 0);
      assert.equal(await custodian.read.nextOptionId(), TEST_PARAMS.instruments - TEST_PARAMS.optionInstruments);
      assert.equal(await custodian.read.oracleKey(), 0n);
      assert.equal(await custodian.read.maxAccounts(), MAX_ACCOUNTS);
      assert.equal((await custodian.read.verifier()).toLowerCase(), verifier.address.toLowerCase());
      assert.equal(await custodian.read.hasRole([await custodian.read.DEFAULT_ADMIN_ROLE(), admin.account.address]), true);
      assert.equal(await custodian.read.hasRole([await custodian.read.OPERATOR_ROLE(), operator.account.address]), true);
      assert.equal(await custodian.read.hasRole([await custodian.read.OPERATOR_ROLE(), admin.account.address]), false);
      assert.equal(await custodian.read.FIELD_MODULUS(), FIELD_MODULUS);
    });

    it("rejects a genesis root outside the field, zero addresses, a zero quote minimum, empty capacities and more than 4^7 markets", async () => {
      const { custodian, verifier, usdc, admin, operator, roles: { exitVerifier }, timelock } = await networkHelpers.loadFixture(deployBase);
      const args = (over: Partial<Record<string, unknown>> = {}) =>
        [
          over.verifier ?? verifier.address,
          over.root ?? GENESIS_ROOT,
          over.quote ?? usdc.address,
          over.quoteMin ?? MIN_USDC,
          over.admin ?? admin.account.address,
          over.operator ?? operator.account.address,
          over.maxAccounts ?? MAX_ACCOUNTS,
          MAX_TOKENS,
          over.maxMarkets ?? MAX_MARKETS,
          over.slots ?? BigInt(SLOTS),
          { ...derivativesConfigOf(TEST_PARAMS), ...(over.derivatives ?? {}) },
          { requestDeadline: BigInt(TEST_REQUEST_DEADLINE), exitVerifier: exitVerifier, timelock: timelock.address, treasury: over.treasury ?? admin.account.address },
        ] as const;
      const zero = "0x0000000000000000000000000000000000000000";
      const deploy = (a: ReturnType<typeof args>) => deployCustodianContract(viem, a);
      await viem.assertions.revertWithCustomError(deploy(args({ root: FIELD_MODULUS })), custodian, "InvalidRoot");
      await viem.assertions.revertWithCustomError(deploy(args({ verifier: zero })), custodian, "ZeroAddress");
      await viem.assertions.revertWithCustomError(deploy(args({ quote: zero })), custodian, "ZeroAddress");
      await viem.assertions.revertWithCustomError(deploy(args({ operator: zero })), custodian, "ZeroAddress");
      await viem.assertions.revertWithCustomErrorWithArgs(deploy(args({ admin: zero })), custodian, "AccessControlInvalidDefaultAdmin", [zero]);
      await viem.assertions.revertWithCustomError(deploy(args({ quoteMin: 0n })), custodian, "ZeroMinDeposit");
      // Spot order market ids must stay below INSTRUMENT_MARKET_BASE (2^15), where derivatives ids start: at most
      // 4^7 markets (marketLevels <= 7).
      assert.equal(await custodian.read.MAX_MARKETS(), BigInt(4 ** 7));
      assert.ok(4 ** 8 > INSTRUMENT_MARKET_BASE && 4 ** 7 <= INSTRUMENT_MARKET_BASE);
      await viem.assertions.revertWithCustomError(deploy(args({ maxMarkets: 4 ** 7 + 1 })), custodian, "InvalidCapacity");
      await viem.assertions.revertWithCustomError(deploy(args({ maxMarkets: 65535 })), custodian, "InvalidCapacity");
      await viem.assertions.revertWithCustomError(deploy(args({ maxMarkets: 0 })), custodian, "InvalidCapacity");
      await deploy(args({ maxMarkets: 4 ** 7 }));
      await viem.assertions.revertWithCustomError(deploy(args({ maxAccounts: 1 })), custodian, "InvalidCapacity");
      // A REGISTER_KEY record carries a 3-byte account id: at most 4^12 = 2^24 accounts (MAX_ACCOUNT_LEVELS).
      await viem.assertions.revertWithCustomError(deploy(args({ maxAccounts: 4 ** 12 + 1 })), custodian, "InvalidCapacity");
      await deploy(args({ maxAccounts: 4 ** 12 }));
      await viem.assertions.revertWithCustomError(deploy(args({ slots: 0n })), custodian, "InvalidCapacity");
      // Derivatives sizes no circuit has (sequencer/protocol/params.ts checkParams), or instruments without a slot
      // to register them in.
      for (const bad of [
        { underlyings: 0 },
        { optionInstruments: 5 }, // > instruments (4)
        { instruments: 65, optionInstruments: 0 }, // more than MAX_TABLE_INSTRUMENTS (64: the free-id mask)
        { underlyings: 9, instruments: 5 }, // more underlyings than the settlement word packs
        { underlyings: 5, instruments: 4, optionInstruments: 0 }, // the settlement word: 32 + 5 x 50 bits
        { derivSlots: 0n },
      ]) {
        await viem.assertions.revertWithCustomError(deploy(args({ derivatives: bad })), custodian, "InvalidCapacity");
      }
      // The largest sizes that fit, and no derivatives at all, deploy.
      await deploy(args({ derivatives: { derivSlots: 1n, underlyings: 4, instruments: 16, optionInstruments: 16 } }));
      await deploy(args({ derivatives: { derivSlots: 1n, underlyings: 1, instruments: 7, optionInstruments: 5 } }));
      await deploy(args({ derivatives: { derivSlots: 0n, underlyings: 1, instruments: 0, optionInstruments: 0 } }));
    });

    it("sizes the oracle section by underlyings, option ids and instruments, and stores each price where the TS encoder puts it", async () => {
      const { admin, operator, roles } = await networkHelpers.loadFixture(deployBase);
      // Three prices, then two vol slices (one per option id), then four rates: every price lies in its own place,
      // and slices that differ from the prices show a layout that reads a slice as a price.
      const shape = { ...TEST_PARAMS, underlyings: 3 };
      const address = await deployCustodianContract(viem, custodianArgs(shape, roles));
      const c = getContract({ abi: custodianAbi, address, client: { public: publicClient, wallet: admin } });
      assert.equal(await c.read.publicDataBytes(), BigInt(publicDataBytes(shape)));
      await c.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
      const prices = [3000n * 10n ** 8n, 60_000n * 10n ** 8n, 150n * 10n ** 8n];
      const oracle = {
        used: true, key: compressKey(ORACLE_KEY), time: await now(), fundingEpoch: 0n, prices, volSlices: [{ underlying: 0, expiry: 1_800_000_000, levelPpm: 600_001n, slopePpm: -1n }, { underlying: 2, expiry: 1_800_000_001, levelPpm: 700_002n, slopePpm: 2n }], rates: [0n, 0n, 0n, 0n],
        settleExpiry: 1_700_000_000n, settlePrices: prices.map((p) => p + 1n), marksKey: 0n, freeInstruments: 0b1111n,
      };
      const header = { oldRoot: GENESIS_ROOT, newRoot: 100n, batchNumber: 0n, timestamp: await now() };
      await c.write.submitBatch([hex(batchBytes(header, [], shape, { oracle })), PROOF], { account: operator.account });
      assert.deepEqual(await c.read.lastPrices(), prices);
    });
  });

  describe("registerTradingKey", () => {
    it("assigns ids from 1, queues REGISTER_KEY records equal to the TS encoding and chains them", async () => {
      const { custodian, alice, bob } = await networkHelpers.loadFixture(deployBase);
      // One key with x above (p-1)/2 and one below, so both sign bits are exercised.
      const keys: Point[] = [ALICE_KEY, [FIELD_MODULUS - ALICE_KEY[0], ALICE_KEY[1]]];
      assert.ok(isOnCurve(keys[1]));
      assert.notEqual(keys[0][0] > (FIELD_MODULUS - 1n) / 2n, keys[1][0] > (FIELD_MODULUS - 1n) / 2n);
      let chain = REQUEST_CHAIN_GENESIS;
      for (const [i, wallet] of [alice, bob].entries()) {
        const key = keys[i];
        const receipt = await receiptOf(custodian.write.registerTradingKey([key[0], key[1]], { account: wallet.account }));
        const id = BigInt(i + 1);
        const expected = encodeRecord({ type: TxType.REGISTER_KEY, accountId: id, pubKey: compressKey(key) });
        const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
        assert.equal(queued.args.index, BigInt(i));
        assert.deepEqual(hexToBytes(queued.args.record), expected);
        const [registered] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "AccountRegistered" });
        assert.equal(registered.args.accountId, i + 1);
        assert.equal(registered.args.owner.toLowerCase(), wallet.account.address.toLowerCase());
        const [keyEvent] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "TradingKeyRegistered" });
        assert.deepEqual(
          [keyEvent.args.pubKeyX, keyEvent.args.pubKeyY, keyEvent.args.compressedKey],
          [key[0], key[1], compressKey(key)],
        );
        chain = nextRequestChain(chain, expected);
        assert.equal(await custodian.read.requestChain([BigInt(i + 1)]), chain);
        assert.equal(await custodian.read.accountOf([wallet.account.address]), i + 1);
        assert.equal(
          (await custodian.read.accountOwner([i + 1])).toLowerCase(),
          wallet.account.address.toLowerCase(),
        );
      }
      assert.equal(await custodian.read.requestCount(), 2n);
      assert.equal(await custodian.read.accountCount(), 2);
    });

    it("rotates the key of an existing account without assigning a new id", async () => {
      const { custodian, alice, operator } = await networkHelpers.loadFixture(deployBase);
      await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
      await consume(custodian, operator, [{ type: TxType.REGISTER_KEY, accountId: 1n, pubKey: compressKey(ALICE_KEY) }]);
      const rotated = pubKeyOf(99n);
      const receipt = await receiptOf(
        custodian.write.registerTradingKey([rotated[0], rotated[1]], { account: alice.account }),
      );
      assert.equal(parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "AccountRegistered" }).length, 0);
      const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
      assert.deepEqual(
        hexToBytes(queued.args.record),
        encodeRecord({ type: TxType.REGISTER_KEY, accountId: 1n, pubKey: compressKey(rotated) }),
      );
      assert.equal(await custodian.read.accountOf([alice.account.address]), 1);
      assert.equal(await custodian.read.accountCount(), 1);
      assert.equal(await custodian.read.requestCount(), 2n);
    });

    it("rejects off-curve points, non-canonical coordinates and the x = 0 / y = 0 low-order points", async () => {
      const { custodian, alice } = await networkHelpers.loadFixture(deployBase);
      const [x, y] = ALICE_KEY;
      // [x, y, on the curve (as residues mod p)]
      const bad: [bigint, bigint, boolean][] = [
        [x, y + 1n, false],
        [0n, 0n, false],
        [x + FIELD_MODULUS, y, true], // non-canonical x
        [x, y + FIELD_MODULUS, true], // non-canonical y
        [0n, 1n, true], // identity
        [0n, FIELD_MODULUS - 1n, true], // order 2
      ];
      const x4 = sqrtMod(modInverse(168700n));
      if (x4 !== undefined) bad.push([x4, 0n, true]); // order 4: a*x^2 = 1
      for (const [bx, by, onCurve] of bad) {
        assert.equal(isOnCurve([bx % FIELD_MODULUS, by % FIELD_MODULUS]), onCurve);
        await viem.assertions.revertWithCustomErrorWithArgs(
          custodian.write.registerTradingKey([bx, by], { account: alice.account }),
          custodian,
          "InvalidTradingKey",
          [bx, by],
        );
      }
      assert.equal(await custodian.read.requestCount(), 0n);
      assert.equal(await custodian.read.accountOf([alice.account.address]), 0);
    });

    it("refuses the identity and the order-2, order-4 and order-8 points (InvalidTradingKey), changing nothing", async () => {
      const { custodian, alice } = await networkHelpers.loadFixture(deployBase);
      assert.deepEqual(TORSION.map(torsionOrder), [1, 8, 4, 8, 2, 8, 4, 8]);
      for (const t of TORSION) {
        assert.ok(isOnCurve(t));
        await viem.assertions.revertWithCustomErrorWithArgs(
          custodian.write.registerTradingKey([t[0], t[1]], { account: alice.account }), custodian, "InvalidTradingKey", [t[0], t[1]]);
      }
      assert.equal(await custodian.read.requestCount(), 0n);
      assert.equal(await custodian.read.accountOf([alice.account.address]), 0);
    });

    it("refuses an honest key plus each torsion point (mixed order), for a new account and for a rotation", async () => {
      const { custodian, alice, operator } = await networkHelpers.loadFixture(deployBase);
      const honest = publicKeyOf(randomBytes(32));
      for (const t of TORSION.slice(1)) {
        const mixed = addPoints(honest, t);
        assert.ok(isOnCurve(mixed));
        await viem.assertions.revertWithCustomErrorWithArgs(
          custodian.write.registerTradingKey([mixed[0], mixed[1]], { account: alice.account }), custodian, "InvalidTradingKey", [mixed[0], mixed[1]]);
      }
      assert.equal(await custodian.read.requestCount(), 0n);
      await custodian.write.registerTradingKey([honest[0], honest[1]], { account: alice.account });
      await consume(custodian, operator, [{ type: TxType.REGISTER_KEY, accountId: 1n, pubKey: compressKey(honest) }]);
      const other = publicKeyOf(randomBytes(32));
      for (const t of TORSION.slice(1)) {
        const mixed = addPoints(other, t);
        await viem.assertions.revertWithCustomError(
          custodian.write.registerTradingKey([mixed[0], mixed[1]], { account: alice.account }), custodian, "InvalidTradingKey");
      }
      assert.equal(await custodian.read.requestCount(), 1n);
      assert.equal(await custodian.read.keyRotationPending([1]), false);
    });

    it("accepts keys derived as the SDK derives them (wallet signature -> circomlibjs prv2pub)", async () => {
      const { custodian, alice, bob, carol } = await networkHelpers.loadFixture(deployBase);
      const chainId = await publicClient.getChainId();
      for (const [i, wallet] of [alice, bob, carol].entries()) {
        const key = await deriveTradingKey(wallet as never, chainId, custodian.address);
        assert.ok(isValidPublicKey(key.publicKey));
        await custodian.write.registerTradingKey([key.publicKey[0], key.publicKey[1]], { account: wallet.account });
        assert.equal(await custodian.read.accountOf([wallet.account.address]), i + 1);
      }
      assert.equal(await custodian.read.requestCount(), 3n);
    });

    it("refuses new accounts once the tree is full but still lets existing accounts rotate", async () => {
      const { roles, operator } = await networkHelpers.loadFixture(deployBase);
      const wallets = await viem.getWalletClients();
      // maxAccounts = 4: ids 1..3 usable, 0 reserved.
      const small = await deploy(custodianAbi, "Custodian", custodianArgs({ ...TEST_PARAMS, accountLevels: 1 }, roles));
      // Account creation as a queue flood: one REGISTER_KEY per new address, none once the tree is full.
      for (let i = 0; i < 3; i++) {
        await small.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: wallets[2 + i].account });
        assert.equal(await small.read.requestCount(), BigInt(i + 1));
      }
      assert.equal(await small.read.accountCount(), 3);
      for (const w of wallets.slice(5, 8)) {
        await viem.assertions.revertWithCustomError(small.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: w.account }), small, "AccountTreeFull");
      }
      assert.equal(await small.read.requestCount(), 3n);
      // Account 1's registration consumed by a batch: it may rotate.
      await consume(small, operator, [{ type: TxType.REGISTER_KEY, accountId: 1n, pubKey: compressKey(ALICE_KEY) }]);
      await small.write.registerTradingKey([BOB_KEY[0], BOB_KEY[1]], { account: wallets[2].account });
      assert.equal(await small.read.requestCount(), 4n);
    });
  });

  describe("deposits", () => {
    it("queues DEPOSIT records equal to the TS encoding, chains them and moves the tokens", async () => {
      const { custodian, usdc, weth, alice, bob } = await networkHelpers.loadFixture(deployBase);
      await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
      let chain = await custodian.read.requestChain([1n]);
      const deposits: [() => Promise<Hex>, SlotRecord][] = [
        [
          () => custodian.write.deposit([0, 1234n * USDC], { account: alice.account }),
          { type: TxType.DEPOSIT, accountId: 1n, tokenId: 0n, amount: 1234n * USDC },
        ],
        [
          () => custodian.write.depositTo([1, 1, 2n ** 96n - 1n], { account: bob.account }),
          { type: TxType.DEPOSIT, accountId: 1n, tokenId: 1n, amount: 2n ** 96n - 1n },
        ],
      ];
      await weth.write.mint([bob.account.address, 2n ** 96n]);
      const usdcBefore = await usdc.read.balanceOf([custodian.address]);
      for (const [i, [send, record]] of deposits.entries()) {
        const receipt = await receiptOf(send());
        const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
        assert.equal(queued.args.index, BigInt(i + 1));
        assert.deepEqual(hexToBytes(queued.args.record), encodeRecord(record));
        const [deposited] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "Deposited" });
        assert.equal(deposited.args.amount, (record as { amount: bigint }).amount);
        chain = nextRequestChain(chain, encodeRecord(record));
        assert.equal(await custodian.read.requestChain([BigInt(i + 2)]), chain);
      }
      assert.equal(await custodian.read.requestCount(), 3n);
      assert.equal((await usdc.read.balanceOf([custodian.address])) - usdcBefore, 1234n * USDC);
      assert.equal(await weth.read.balanceOf([custodian.address]), 2n ** 96n - 1n);
    });

    it("rejects unregistered tokens and accounts, callers without an account and zero amounts", async () => {
      const { custodian, usdc, alice, bob } = await networkHelpers.loadFixture(deployBase);
      await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.deposit([2, 1n], { account: alice.account }), custodian, "UnknownToken", [2]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.depositTo([2, 0, 1n], { account: alice.account }), custodian, "UnknownAccount", [2]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.depositTo([0, 0, 1n], { account: alice.account }), custodian, "UnknownAccount", [0]);
      await viem.assertions.revertWithCustomError(
        custodian.write.deposit([0, 1n], { account: bob.account }), custodian, "NoAccount");
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.deposit([0, 0n], { account: alice.account }), custodian, "InvalidDepositAmount", [0n]);
      // Not enough balance: the token's own error bubbles up.
      await viem.assertions.revertWithCustomError(
        custodian.write.deposit([0, 2n ** 96n - 1n], { account: alice.account }), usdc, "ERC20InsufficientBalance");
      assert.equal(await custodian.read.requestCount(), 1n);
    });

    it("credits only what arrives from a fee-on-transfer token and refuses 0 or >= 2^96 received", async () => {
      const { custodian, alice } = await networkHelpers.loadFixture(deployBase);
      const quirky = await deploy(quirkyTokenAbi, "QuirkyToken");
      await custodian.write.registerToken([quirky.address, MIN_QUIRKY]);
      await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
      await quirky.write.mint([alice.account.address, 10n ** 30n]);
      await quirky.write.approve([custodian.address, 2n ** 256n - 1n], { account: alice.account });

      await quirky.write.setFeeBps([100n]); // 1%
      const receipt = await receiptOf(custodian.write.deposit([2, 10_000n], { account: alice.account }));
      const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
      assert.deepEqual(
        hexToBytes(queued.args.record),
        encodeRecord({ type: TxType.DEPOSIT, accountId: 1n, tokenId: 2n, amount: 9_900n }),
      );
      assert.equal(await quirky.read.balanceOf([custodian.address]), 9_900n);

      // The minimum applies to what arrives: 100 sent, 99 received.
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.deposit([2, MIN_QUIRKY], { account: alice.account }), custodian, "DepositBelowMinimum", [2, MIN_QUIRKY - 1n, MIN_QUIRKY]);

      await quirky.write.setFeeBps([10_000n]); // everything burnt
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.deposit([2, 10_000n], { account: alice.account }), custodian, "DepositBelowMinimum", [2, 0n, MIN_QUIRKY]);

      await quirky.write.setFeeBps([0n]);
      await quirky.write.setBonus([2n ** 96n - 1n]); // received = amount + bonus >= 2^96
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.deposit([2, 1n], { account: alice.account }), custodian, "InvalidDepositAmount", [2n ** 96n]);
      assert.equal(await custodian.read.requestCount(), 2n);
    });

    it("is not reentrant", async () => {
      const { custodian, alice } = await networkHelpers.loadFixture(deployBase);
      const quirky = await deploy(quirkyTokenAbi, "QuirkyToken");
      await custodian.write.registerToken([quirky.address, MIN_QUIRKY]);
      await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
      await quirky.write.mint([alice.account.address, 10n ** 30n]);
      await quirky.write.approve([custodian.address, 2n ** 256n - 1n], { account: alice.account });
      await quirky.write.setHook([
        custodian.address,
        encodeFunctionData({ abi: custodian.abi, functionName: "depositTo", args: [1, 2, 1n] }),
      ]);
      await viem.assertions.revertWithCustomError(
        custodian.write.deposit([2, 1n], { account: alice.account }), custodian, "ReentrancyGuardReentrantCall");
    });
  });

  describe("queue flooding (finding 13)", () => {
    /** What a refused flood must leave alone: the queue, the victim's request position and the token balances. */
    async function queueState(env: Env) {
      return {
        requestCount: await env.custodian.read.requestCount(),
        head: await env.custodian.read.requestChain([await env.custodian.read.requestCount()]),
        custodianUsdc: await env.usdc.read.balanceOf([env.custodian.address]),
        carolUsdc: await env.usdc.read.balanceOf([env.carol.account.address]),
      };
    }

    it("dust depositTo flood into a victim's account: refused with DepositBelowMinimum, nothing queued or moved", async () => {
      const env = await networkHelpers.loadFixture(deployBase);
      const { custodian, alice, carol } = env;
      await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
      const before = await queueState(env);
      // The attack: carol queues 1-unit deposits into Alice's account, each one a request Alice's own deposit waits behind.
      for (const amount of [1n, 2n, MIN_USDC - 1n]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          custodian.write.depositTo([1, 0, amount], { account: carol.account }), custodian, "DepositBelowMinimum", [0, amount, MIN_USDC]);
      }
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.depositTo([1, 1, MIN_WETH - 1n], { account: carol.account }), custodian, "DepositBelowMinimum", [1, MIN_WETH - 1n, MIN_WETH]);
      assert.deepEqual(await queueState(env), before);
      // Exactly the minimum is a deposit like any other (and costs carol what it gives Alice).
      await custodian.write.depositTo([1, 0, MIN_USDC], { account: carol.account });
      assert.equal(await custodian.read.requestCount(), before.requestCount + 1n);
      assert.equal((await queueState(env)).carolUsdc, before.carolUsdc - MIN_USDC);
    });

    it("dust deposit flood into one's own account: refused the same way", async () => {
      const env = await networkHelpers.loadFixture(deployBase);
      await env.custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: env.carol.account });
      const before = await queueState(env);
      await viem.assertions.revertWithCustomErrorWithArgs(
        env.custodian.write.deposit([0, 1n], { account: env.carol.account }), env.custodian, "DepositBelowMinimum", [0, 1n, MIN_USDC]);
      assert.deepEqual(await queueState(env), before);
    });

    it("key rotation flood: a second REGISTER_KEY while the first is unconsumed is refused with KeyRotationPending", async () => {
      const env = await networkHelpers.loadFixture(deployBase);
      const { custodian, alice, bob, operator } = env;
      await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account }); // request 0
      await custodian.write.registerTradingKey([BOB_KEY[0], BOB_KEY[1]], { account: bob.account }); // request 1
      assert.equal(await custodian.read.keyRotationPending([1]), true);
      const before = await queueState(env);
      // The attack: Alice rotates again and again, each rotation a request everyone behind her waits for.
      for (let k = 0n; k < 3n; k++) {
        const key = pubKeyOf(1000n + k);
        await viem.assertions.revertWithCustomErrorWithArgs(
          custodian.write.registerTradingKey([key[0], key[1]], { account: alice.account }), custodian, "KeyRotationPending", [1, 0n]);
      }
      assert.deepEqual(await queueState(env), before);
      // A batch consumes request 0 only: Alice may rotate once more, Bob (request 1, unconsumed) still may not.
      await consume(custodian, operator, [{ type: TxType.REGISTER_KEY, accountId: 1n, pubKey: compressKey(ALICE_KEY) }]);
      assert.equal(await custodian.read.keyRotationPending([1]), false);
      assert.equal(await custodian.read.keyRotationPending([2]), true);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: bob.account }), custodian, "KeyRotationPending", [2, 1n]);
      const rotated = pubKeyOf(2000n);
      await viem.assertions.emitWithArgs(
        custodian.write.registerTradingKey([rotated[0], rotated[1]], { account: alice.account }),
        custodian, "TradingKeyRegistered", [1, rotated[0], rotated[1], compressKey(rotated), 2n]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account }), custodian, "KeyRotationPending", [1, 2n]);
      assert.equal(await custodian.read.requestCount(), 3n);
    });

    it("a deposit that would leave the custodian holding 2^128 or more of a token is refused (TokenHoldingsLimit)", async () => {
      const env = await networkHelpers.loadFixture(deployBase);
      const { custodian, weth, alice, carol } = env;
      await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
      // Tokens sent without a deposit (no claim) bring the holdings to 2^128 - MIN_WETH - 1.
      await weth.write.mint([carol.account.address, 2n ** 128n]);
      await weth.write.transfer([custodian.address, 2n ** 128n - MIN_WETH - 1n], { account: carol.account });
      const before = await queueState(env);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.depositTo([1, 1, MIN_WETH + 1n], { account: carol.account }), custodian, "TokenHoldingsLimit", [1, 2n ** 128n]);
      assert.deepEqual(await queueState(env), before);
      await custodian.write.depositTo([1, 1, MIN_WETH], { account: carol.account });
      assert.equal(await weth.read.balanceOf([custodian.address]), 2n ** 128n - 1n);
      assert.equal(await custodian.read.requestCount(), before.requestCount + 1n);
    });
  });

  describe("admin and operator powers (finding 14)", () => {
    async function roles(custodian: Custodian) {
      return { admin: await custodian.read.DEFAULT_ADMIN_ROLE(), operator: await custodian.read.OPERATOR_ROLE() };
    }

    it("starts with one admin, a transfer delay of the request deadline + 2 days, one operator, and the timelock over OPERATOR_ROLE (its own role granted by nobody)", async () => {
      const { custodian, admin, operator, timelock } = await networkHelpers.loadFixture(deployBase);
      assert.equal((await custodian.read.defaultAdmin()).toLowerCase(), admin.account.address.toLowerCase());
      assert.equal(await custodian.read.ADMIN_TRANSFER_DELAY(), 2 * 86400);
      assert.equal(await custodian.read.minAdminDelay(), TEST_REQUEST_DEADLINE + 2 * 86400);
      assert.equal(await custodian.read.defaultAdminDelay(), TEST_REQUEST_DEADLINE + 2 * 86400);
      assert.equal(await custodian.read.operatorCount(), 1n);
      const r = await roles(custodian);
      const timelockRole = await custodian.read.TIMELOCK_ROLE();
      assert.equal(await custodian.read.hasRole([r.operator, operator.account.address]), true);
      assert.equal(await custodian.read.hasRole([timelockRole, timelock.address]), true);
      assert.equal(await custodian.read.hasRole([timelockRole, admin.account.address]), false);
      assert.equal(await custodian.read.getRoleAdmin([r.operator]), timelockRole);
      assert.equal(await custodian.read.getRoleAdmin([timelockRole]), keccak256(stringToHex("NO_ADMIN_ROLE")), "a role nobody holds: TIMELOCK_ROLE is the timelock's for good");
      assert.equal((await custodian.read.timelock()).toLowerCase(), timelock.address.toLowerCase());
    });

    it("the freeze attack: revoking the only operator and renouncing the admin are both refused; batches still go through", async () => {
      const env = await networkHelpers.loadFixture(deployWithRequests);
      const { custodian, admin, operator, alice } = env;
      const r = await roles(custodian);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.revokeRole([r.operator, operator.account.address]), custodian, "AccessControlUnauthorizedAccount",
        [getAddress(admin.account.address), await custodian.read.TIMELOCK_ROLE()]);
      // Even through the timelock, after its delay, the last operator stays.
      await viem.assertions.revertWithCustomErrorWithArgs(
        throughTimelock(env, "revokeRole", [r.operator, operator.account.address]), custodian, "LastOperator", [getAddress(operator.account.address)]);
      await viem.assertions.revertWithCustomError(custodian.write.renounceRole([r.admin, admin.account.address]), custodian, "AdminRenounceRefused");
      await viem.assertions.revertWithCustomError(
        custodian.write.beginDefaultAdminTransfer(["0x0000000000000000000000000000000000000000"]), custodian, "AdminRenounceRefused");
      await viem.assertions.revertWithCustomError(custodian.write.revokeRole([r.admin, admin.account.address]), custodian, "AccessControlEnforcedDefaultAdminRules");
      // Deposits keep arriving, and the operator can still process them; the admin can still register a market.
      await custodian.write.deposit([0, 5n * USDC], { account: alice.account });
      await consume(custodian, operator, env.requests.slice(0, 2));
      assert.equal(await custodian.read.processedRequests(), 2n);
      await custodian.write.registerMarket([1, 1n, 1n]);
      assert.equal((await custodian.read.defaultAdmin()).toLowerCase(), admin.account.address.toLowerCase());
    });

    it("admin transfer is two-step with the delay: too early, by a stranger, after a cancel: refused; then the new admin holds every power", async () => {
      const { custodian, admin, alice, bob } = await networkHelpers.loadFixture(deployBase);
      const r = await roles(custodian);
      await viem.assertions.revertWithCustomError(
        custodian.write.beginDefaultAdminTransfer([bob.account.address], { account: alice.account }), custodian, "AccessControlUnauthorizedAccount");
      await custodian.write.beginDefaultAdminTransfer([bob.account.address]);
      const [pending, schedule] = await custodian.read.pendingDefaultAdmin();
      assert.equal(pending.toLowerCase(), bob.account.address.toLowerCase());
      assert.equal(BigInt(schedule), (await now()) + BigInt(TEST_REQUEST_DEADLINE) + 2n * 86400n);
      await viem.assertions.revertWithCustomError(custodian.write.acceptDefaultAdminTransfer({ account: bob.account }), custodian, "AccessControlEnforcedDefaultAdminDelay");
      // Granting the admin role directly is refused: only the two-step transfer moves it.
      await viem.assertions.revertWithCustomError(custodian.write.grantRole([r.admin, bob.account.address]), custodian, "AccessControlEnforcedDefaultAdminRules");
      await networkHelpers.time.increaseTo(schedule + 1);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.acceptDefaultAdminTransfer({ account: alice.account }), custodian, "AccessControlInvalidDefaultAdmin", [getAddress(alice.account.address)]);
      // A cancelled transfer cannot be accepted.
      await custodian.write.cancelDefaultAdminTransfer();
      await viem.assertions.revertWithCustomError(custodian.write.acceptDefaultAdminTransfer({ account: bob.account }), custodian, "AccessControlInvalidDefaultAdmin");
      // Again, and accepted after the delay.
      await custodian.write.beginDefaultAdminTransfer([bob.account.address]);
      await networkHelpers.time.increase(TEST_REQUEST_DEADLINE + 2 * 86400 + 1);
      await custodian.write.acceptDefaultAdminTransfer({ account: bob.account });
      assert.equal((await custodian.read.defaultAdmin()).toLowerCase(), bob.account.address.toLowerCase());
      assert.equal(await custodian.read.hasRole([r.admin, admin.account.address]), false);
      // The old admin lost every power, the new one has them.
      const t = await deploy(testTokenAbi, "TestToken", ["T", "T", 18]);
      await viem.assertions.revertWithCustomError(custodian.write.registerToken([t.address, 1n]), custodian, "AccessControlUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]), custodian, "AccessControlUnauthorizedAccount");
      await custodian.write.registerToken([t.address, 1n], { account: bob.account });
      await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]], { account: bob.account });
      await custodian.write.registerMarket([1, 1n, 1n], { account: bob.account });
      // Operators stay with the timelock, whoever the admin is.
      await viem.assertions.revertWithCustomError(
        custodian.write.grantRole([r.operator, alice.account.address], { account: bob.account }), custodian, "AccessControlUnauthorizedAccount");
      assert.equal(await custodian.read.operatorCount(), 1n);
    });

    it("the admin delay can be raised but never set to the request deadline or below minAdminDelay (deadline + 2 days)", async () => {
      const { custodian, alice } = await networkHelpers.loadFixture(deployBase);
      const floor = TEST_REQUEST_DEADLINE + 2 * 86400;
      for (const delay of [0, TEST_REQUEST_DEADLINE, 2 * 86400, floor - 1]) {
        await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.changeDefaultAdminDelay([delay]), custodian, "AdminDelayTooShort", [delay]);
      }
      await viem.assertions.revertWithCustomError(
        custodian.write.changeDefaultAdminDelay([floor + 86400], { account: alice.account }), custodian, "AccessControlUnauthorizedAccount");
      await custodian.write.changeDefaultAdminDelay([floor + 86400]);
      const [newDelay] = await custodian.read.pendingDefaultAdminDelay();
      assert.equal(newDelay, floor + 86400);
      await networkHelpers.time.increase(5 * 86400 + 1);
      assert.equal(await custodian.read.defaultAdminDelay(), floor + 86400);
      // Back down to the floor is allowed.
      await custodian.write.changeDefaultAdminDelay([floor]);
    });

    it("operators: granted and revoked through the timelock only, never below one; an operator renounces only while another remains", async () => {
      const env = await networkHelpers.loadFixture(deployBase);
      const { custodian, operator, alice, bob } = env;
      const r = await roles(custodian);
      await viem.assertions.revertWithCustomError(
        custodian.write.grantRole([r.operator, alice.account.address], { account: alice.account }), custodian, "AccessControlUnauthorizedAccount");
      await viem.assertions.revertWithCustomError(custodian.write.grantRole([r.operator, alice.account.address]), custodian, "AccessControlUnauthorizedAccount");
      // The zero address as a second operator would let the real one be revoked with nobody left to submit.
      await viem.assertions.revertWithCustomError(
        throughTimelock(env, "grantRole", [r.operator, "0x0000000000000000000000000000000000000000"]), custodian, "ZeroAddress");
      assert.equal(await custodian.read.operatorCount(), 1n);
      await viem.assertions.revertWithCustomError(
        custodian.write.revokeRole([r.operator, operator.account.address], { account: operator.account }), custodian, "AccessControlUnauthorizedAccount");
      // The only operator cannot leave.
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.renounceRole([r.operator, operator.account.address], { account: operator.account }), custodian, "LastOperator", [getAddress(operator.account.address)]);
      // Nor renounce for someone else.
      await viem.assertions.revertWithCustomError(
        custodian.write.renounceRole([r.operator, operator.account.address], { account: alice.account }), custodian, "AccessControlBadConfirmation");
      await throughTimelock(env, "grantRole", [r.operator, alice.account.address]);
      await throughTimelock(env, "grantRole", [r.operator, alice.account.address], `0x${"01".padStart(64, "0")}`); // granting twice counts once
      assert.equal(await custodian.read.operatorCount(), 2n);
      await custodian.write.renounceRole([r.operator, operator.account.address], { account: operator.account });
      assert.equal(await custodian.read.operatorCount(), 1n);
      await viem.assertions.revertWithCustomError(throughTimelock(env, "revokeRole", [r.operator, alice.account.address]), custodian, "LastOperator");
      await throughTimelock(env, "grantRole", [r.operator, bob.account.address]);
      // (The refused revoke above stays scheduled and ready; a new salt schedules it again.)
      await throughTimelock(env, "revokeRole", [r.operator, alice.account.address], `0x${"02".padStart(64, "0")}`);
      // revoking a non-holder changes nothing
      await throughTimelock(env, "revokeRole", [r.operator, alice.account.address], `0x${"03".padStart(64, "0")}`);
      assert.equal(await custodian.read.operatorCount(), 1n);
      assert.equal(await custodian.read.hasRole([r.operator, bob.account.address]), true);
      await viem.assertions.revertWithCustomError(custodian.write.renounceRole([r.operator, bob.account.address], { account: bob.account }), custodian, "LastOperator");
    });

    it("the admin cannot renounce, even after scheduling and waiting, nor revoke or re-grant its role directly", async () => {
      const { custodian, admin, alice } = await networkHelpers.loadFixture(deployBase);
      const r = await roles(custodian);
      await viem.assertions.revertWithCustomError(custodian.write.renounceRole([r.admin, admin.account.address]), custodian, "AdminRenounceRefused");
      await viem.assertions.revertWithCustomError(
        custodian.write.beginDefaultAdminTransfer(["0x0000000000000000000000000000000000000000"]), custodian, "AdminRenounceRefused");
      await networkHelpers.time.increase(3 * 86400);
      await viem.assertions.revertWithCustomError(custodian.write.renounceRole([r.admin, admin.account.address]), custodian, "AdminRenounceRefused");
      await viem.assertions.revertWithCustomError(custodian.write.revokeRole([r.admin, admin.account.address]), custodian, "AccessControlEnforcedDefaultAdminRules");
      await viem.assertions.revertWithCustomError(custodian.write.grantRole([r.admin, alice.account.address]), custodian, "AccessControlEnforcedDefaultAdminRules");
      // A stranger "renouncing" the admin role is refused the same way (it holds nothing to renounce).
      await viem.assertions.revertWithCustomError(custodian.write.renounceRole([r.admin, alice.account.address], { account: alice.account }), custodian, "AdminRenounceRefused");
      assert.equal((await custodian.read.defaultAdmin()).toLowerCase(), admin.account.address.toLowerCase());
    });
  });

  describe("tokens and markets", () => {
    it("registers tokens up to maxTokens, once each, admin only", async () => {
      const { custodian, usdc, weth, alice } = await networkHelpers.loadFixture(deployBase);
      await viem.assertions.revertWithCustomError(custodian.write.registerToken([usdc.address, 1n]), custodian, "TokenAlreadyRegistered");
      await viem.assertions.revertWithCustomError(custodian.write.registerToken([weth.address, 1n]), custodian, "TokenAlreadyRegistered");
      const t2 = await deploy(testTokenAbi, "TestToken", ["T2", "T2", 18]);
      const t3 = await deploy(testTokenAbi, "TestToken", ["T3", "T3", 18]);
      const t4 = await deploy(testTokenAbi, "TestToken", ["T4", "T4", 18]);
      await viem.assertions.revertWithCustomError(
        custodian.write.registerToken([t2.address, 1n], { account: alice.account }), custodian, "AccessControlUnauthorizedAccount");
      // A token without a minimum deposit would reopen the queue to dust.
      await viem.assertions.revertWithCustomError(custodian.write.registerToken([t2.address, 0n]), custodian, "ZeroMinDeposit");
      await viem.assertions.emitWithArgs(custodian.write.registerToken([t2.address, 7n]), custodian, "TokenRegistered", [2, t2.address, 7n]);
      await custodian.write.registerToken([t3.address, 2n ** 96n - 1n]);
      await viem.assertions.revertWithCustomError(custodian.write.registerToken([t4.address, 1n]), custodian, "TokenLimitReached");
      await viem.assertions.revertWithCustomError(
        custodian.write.registerToken(["0x0000000000000000000000000000000000000000", 1n]), custodian, "TokenWithoutCode");
      // an address without code is no token (code put there later would be a token the admin never saw)
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.registerToken([alice.account.address, 1n]), custodian, "TokenWithoutCode", [getAddress(alice.account.address)]);
      await viem.assertions.revertWithCustomError(custodian.read.tokens([4]), custodian, "UnknownToken");
      await viem.assertions.revertWithCustomError(custodian.read.tokenIdOf([t4.address]), custodian, "TokenNotRegistered");
      assert.equal(await custodian.read.tokenCount(), 4n);
      assert.deepEqual(
        [await custodian.read.minDeposit([0]), await custodian.read.minDeposit([1]), await custodian.read.minDeposit([2]), await custodian.read.minDeposit([3])],
        [MIN_USDC, MIN_WETH, 7n, 2n ** 96n - 1n],
      );
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.read.minDeposit([4]), custodian, "UnknownToken", [4]);
      // Token registration queues nothing: token ids are implicit in the balance trees.
      assert.equal(await custodian.read.requestCount(), 0n);
    });

    it("registers markets from id 0, queues REGISTER_MARKET records and enforces its rules", async () => {
      const { custodian, alice } = await networkHelpers.loadFixture(deployBase);
      let chain = REQUEST_CHAIN_GENESIS;
      for (let m = 0; m < MAX_MARKETS; m++) {
        const sizeUnit = 10n ** 15n + BigInt(m);
        const priceUnit = 2n ** 64n - 1n - BigInt(m);
        const receipt = await receiptOf(custodian.write.registerMarket([1, sizeUnit, priceUnit]));
        const record = encodeRecord({ type: TxType.REGISTER_MARKET, marketId: BigInt(m), baseTokenId: 1n, sizeUnit, priceUnit });
        const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
        assert.deepEqual(hexToBytes(queued.args.record), record);
        const [registered] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "MarketRegistered" });
        assert.equal(registered.args.marketId, m);
        chain = nextRequestChain(chain, record);
        assert.equal(await custodian.read.requestChain([BigInt(m + 1)]), chain);
        assert.deepEqual(await custodian.read.markets([m]), { baseTokenId: 1, sizeUnit, priceUnit });
      }
      assert.equal(await custodian.read.marketCount(), BigInt(MAX_MARKETS));
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.read.markets([MAX_MARKETS]), custodian, "UnknownMarket", [MAX_MARKETS]);
      await viem.assertions.revertWithCustomError(custodian.write.registerMarket([1, 1n, 1n]), custodian, "MarketLimitReached");
    });

    it("rejects the quote token or an unregistered token as base, zero units and non-admins", async () => {
      const { custodian, alice } = await networkHelpers.loadFixture(deployBase);
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.registerMarket([0, 1n, 1n]), custodian, "InvalidBaseToken", [0]);
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.registerMarket([2, 1n, 1n]), custodian, "InvalidBaseToken", [2]);
      await viem.assertions.revertWithCustomError(custodian.write.registerMarket([1, 0n, 1n]), custodian, "ZeroUnit");
      await viem.assertions.revertWithCustomError(custodian.write.registerMarket([1, 1n, 0n]), custodian, "ZeroUnit");
      await viem.assertions.revertWithCustomError(
        custodian.write.registerMarket([1, 1n, 1n], { account: alice.account }), custodian, "AccessControlUnauthorizedAccount");
      assert.equal(await custodian.read.marketCount(), 0n);
      assert.equal(await custodian.read.requestCount(), 0n);
    });
  });

  describe("oracle key", () => {
    it("stores the key compressed as sequencer/crypto/babyjub.ts does, for both sign bits, and can replace it (through the timelock)", async () => {
      const env = await networkHelpers.loadFixture(deployBase);
      const { custodian } = env;
      const keys: Point[] = [ORACLE_KEY, [FIELD_MODULUS - ORACLE_KEY[0], ORACLE_KEY[1]]];
      let previous = 0n;
      for (const key of keys) {
        const set = previous === 0n ? custodian.write.setOracleKey([key[0], key[1]]) : throughTimelock(env, "setOracleKey", [key[0], key[1]]);
        await viem.assertions.emitWithArgs(set, custodian, "OracleKeySet", [key[0], key[1], compressKey(key), previous]);
        assert.equal(await custodian.read.oracleKey(), compressKey(key));
        previous = compressKey(key);
      }
      assert.notEqual(compressKey(keys[0]) >> 255n, compressKey(keys[1]) >> 255n);
      // Setting the oracle key queues nothing: the circuit reads it from each batch's oracle section.
      assert.equal(await custodian.read.requestCount(), 0n);
    });

    it("refuses invalid keys and non-admins, changing nothing", async () => {
      const { custodian, alice } = await networkHelpers.loadFixture(deployBase);
      const [x, y] = BOB_KEY;
      const lowOrMixed = [...TORSION, ...TORSION.slice(1).map((t) => addPoints(BOB_KEY, t))];
      for (const [bx, by] of [[x, y + 1n], [x + FIELD_MODULUS, y], ...lowOrMixed]) {
        await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.setOracleKey([bx, by]), custodian, "InvalidOracleKey", [bx, by]);
      }
      await viem.assertions.revertWithCustomError(
        custodian.write.setOracleKey([x, y], { account: alice.account }), custodian, "AccessControlUnauthorizedAccount");
      assert.equal(await custodian.read.oracleKey(), 0n);
      await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
      assert.equal(await custodian.read.oracleKey(), compressKey(ORACLE_KEY));
    });
  });

  describe("instruments", () => {
    it("registers perpetuals and futures at ids 0.., options at the option ids, and queues records equal to the TS encoding", async () => {
      const { custodian } = await networkHelpers.loadFixture(deployBase);
      const expiry = Number(await now()) + 30 * 86400;
      // Interleaved kinds: each class takes the next id of its own range.
      const specs: [InstrumentArgs, number][] = [
        [CALL(expiry), 2],
        [PERP, 0],
        [PUT(expiry), 3],
        [FUTURE(expiry), 1],
      ];
      let chain = REQUEST_CHAIN_GENESIS;
      for (const [i, [spec, id]] of specs.entries()) {
        const receipt = await receiptOf(registerInstrument(custodian, spec));
        const record = instrumentRecord(id, spec);
        const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
        assert.equal(queued.args.index, BigInt(i));
        assert.deepEqual(hexToBytes(queued.args.record), encodeRecord(record));
        const [registered] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "InstrumentRegistered" });
        assert.deepEqual(registered.args, {
          instrumentId: id, kind: spec.kind, tickSizeE8: spec.tickSizeE8, instrument: instrumentView(spec), requestIndex: BigInt(i),
        });
        assert.deepEqual(await custodian.read.instrument([id]), instrumentView(spec));
        chain = nextRequestChain(chain, encodeRecord(record));
        assert.equal(await custodian.read.requestChain([BigInt(i + 1)]), chain);
      }
      // Every id taken (and not consumed): both classes answer `instruments`, none available.
      assert.equal(await custodian.read.nextNonOptionId(), TEST_PARAMS.instruments);
      assert.equal(await custodian.read.nextOptionId(), TEST_PARAMS.instruments);
      // tickValue = tickSizeE8 * lotSizeE6 / 10^8: 0.01 USDC per ETH tick, 0.001 ETH lots -> 10 quote units (1e-5 USDC).
      assert.equal((await custodian.read.instrument([0])).tickValue, 10n);
    });

    it("gives each class its own ids: an option never takes a perpetual/future id, nor the reverse", async () => {
      const { custodian } = await networkHelpers.loadFixture(deployBase);
      const expiry = Number(await now()) + 86400;
      await registerInstrument(custodian, CALL(expiry));
      await registerInstrument(custodian, PUT(expiry));
      // Option ids 2 and 3 are taken; ids 0 and 1 are free but not for options.
      for (const spec of [CALL(expiry), PUT(expiry)]) {
        await viem.assertions.revertWithCustomErrorWithArgs(registerInstrument(custodian, spec), custodian, "InstrumentLimitReached", [true]);
      }
      await registerInstrument(custodian, PERP);
      await registerInstrument(custodian, FUTURE(expiry));
      await viem.assertions.revertWithCustomErrorWithArgs(registerInstrument(custodian, PERP), custodian, "InstrumentLimitReached", [false]);
      assert.equal((await custodian.read.instrument([0])).kind, 1);
      assert.equal((await custodian.read.instrument([1])).kind, 2);
      assert.equal((await custodian.read.instrument([2])).kind, 3);
      assert.equal((await custodian.read.instrument([3])).kind, 4);
      assert.equal(await custodian.read.requestCount(), 4n);
    });

    it("a custodian without option ids refuses every option, and one without instruments refuses everything", async () => {
      const { custodian, roles } = await networkHelpers.loadFixture(deployBase);
      const expiry = Number(await now()) + 86400;
      const noOptions = await deploy(custodianAbi, "Custodian", custodianArgs({ ...TEST_PARAMS, optionInstruments: 0 }, roles));
      await viem.assertions.revertWithCustomErrorWithArgs(registerInstrument(noOptions, CALL(expiry)), custodian, "InstrumentLimitReached", [true]);
      await registerInstrument(noOptions, PERP);
      assert.equal((await noOptions.read.instrument([0])).kind, 1);
      const spotOnly = await deploy(custodianAbi, "Custodian", custodianArgs({ ...TEST_PARAMS, derivSlots: 0, instruments: 0, optionInstruments: 0 }, roles));
      await viem.assertions.revertWithCustomErrorWithArgs(registerInstrument(spotOnly, PERP), custodian, "InstrumentLimitReached", [false]);
      assert.equal(await spotOnly.read.requestCount(), 0n);
    });

    it("refuses each parameter the circuit would refuse, with its error, queueing nothing", async () => {
      const { custodian, alice } = await networkHelpers.loadFixture(deployBase);
      const t = Number(await now());
      const expiry = t + 86400;
      const cases: [InstrumentArgs, string, readonly unknown[]][] = [
        [{ ...PERP, kind: 0 }, "InvalidInstrumentKind", [0]],
        [{ ...PERP, kind: 5 }, "InvalidInstrumentKind", [5]],
        [{ ...PERP, underlying: 1 }, "UnknownUnderlying", [1]],
        [{ ...PERP, lotSizeE6: 0n }, "InvalidLotSize", [0n]],
        [{ ...PERP, lotSizeE6: 2n ** 40n }, "InvalidLotSize", [2n ** 40n]],
        [{ ...PERP, tickSizeE8: 0n }, "InvalidTickSize", [0n, PERP.lotSizeE6]],
        // 1e-8 quote per ETH on 0.001 ETH lots is 1e-11 quote per lot: not a whole quote unit.
        [{ ...PERP, tickSizeE8: 1n }, "InvalidTickSize", [1n, PERP.lotSizeE6]],
        [{ ...PERP, tickSizeE8: 1_000_001n }, "InvalidTickSize", [1_000_001n, PERP.lotSizeE6]],
        // tickValue = 2^32 * 2^16 = 2^48: does not fit.
        [{ ...PERP, lotSizeE6: 2n ** 32n, tickSizeE8: 2n ** 16n * 10n ** 8n }, "InvalidTickSize", [2n ** 16n * 10n ** 8n, 2n ** 32n]],
        [{ ...PERP, mmPpm: 0 }, "InvalidMarginRates", [PERP.imPpm, 0]],
        [{ ...PERP, mmPpm: PERP.imPpm + 1 }, "InvalidMarginRates", [PERP.imPpm, PERP.imPpm + 1]],
        [{ ...PERP, imPpm: 1_000_001, mmPpm: 1 }, "InvalidMarginRates", [1_000_001, 1]],
        [{ ...CALL(expiry), strike: 2n ** 16n - 1n }, "InvalidStrike", [2n ** 16n - 1n]],
        [{ ...PUT(expiry), strike: 2n ** 50n }, "InvalidStrike", [2n ** 50n]],
        [{ ...CALL(expiry), strike: 0n }, "InvalidStrike", [0n]],
        [{ ...PERP, strike: 1n }, "InvalidStrike", [1n]],
        [{ ...FUTURE(expiry), strike: 2n ** 20n }, "InvalidStrike", [2n ** 20n]],
        [{ ...PERP, expiry: 1 }, "InvalidExpiry", [1]],
        [FUTURE(0), "InvalidExpiry", [0]],
        [FUTURE(t), "InvalidExpiry", [t]], // not after the block that would register it
        [CALL(t - 1), "InvalidExpiry", [t - 1]],
        // 2^26 s or more away: outside the circuit's Black-Scholes time domain, so its batches could never be proven
        [CALL(t + 2 ** 26 + 10), "InvalidExpiry", [t + 2 ** 26 + 10]],
        [{ ...PERP, fundingCapPpm: 1_000_001 }, "InvalidFundingCap", [1_000_001]],
        [{ ...FUTURE(expiry), fundingCapPpm: 1 }, "InvalidFundingCap", [1]],
        [{ ...PUT(expiry), fundingCapPpm: 1 }, "InvalidFundingCap", [1]],
      ];
      for (const [spec, error, args] of cases) {
        await viem.assertions.revertWithCustomErrorWithArgs(registerInstrument(custodian, spec), custodian, error as never, args as never);
      }
      // An expiry equal to the registering block's timestamp is not in the future.
      const blockTime = Number(await now()) + 100;
      await networkHelpers.time.setNextBlockTimestamp(blockTime);
      await viem.assertions.revertWithCustomErrorWithArgs(registerInstrument(custodian, FUTURE(blockTime)), custodian, "InvalidExpiry", [blockTime]);
      await viem.assertions.revertWithCustomError(
        registerInstrument(custodian, PERP, alice.account), custodian, "AccessControlUnauthorizedAccount");
      assert.equal(await custodian.read.requestCount(), 0n);
      assert.equal(await custodian.read.nextNonOptionId(), 0);
      assert.equal(await custodian.read.nextOptionId(), 2);
      for (const id of [0, 2, 4]) {
        await viem.assertions.revertWithCustomErrorWithArgs(custodian.read.instrument([id]), custodian, "UnknownInstrument", [id]);
      }
    });

    it("accepts every boundary value and encodes it as TS does", async () => {
      const t = Number(await now());
      const maxExpiry = Number(await (await networkHelpers.loadFixture(deployBase)).custodian.read.MAX_EXPIRY_SECONDS());
      const accepted: InstrumentArgs[] = [
        // lot size 2^40 - 1; a lot this large allows no funding cap (the funding horizon, DERIVATIVES.md "Ranges")
        { ...PERP, lotSizeE6: 2n ** 40n - 1n, tickSizeE8: 10n ** 8n, imPpm: 1_000_000, mmPpm: 1_000_000, fundingCapPpm: 0 },
        // tickValue 2^48 - 1 (a whole-unit lot at a tick of 2^48 - 1 quote units)
        { ...PERP, lotSizeE6: 10n ** 6n, tickSizeE8: (2n ** 48n - 1n) * 100n, fundingCapPpm: 0 },
        { ...PERP, lotSizeE6: 10n ** 6n, tickSizeE8: 10n ** 8n, fundingCapPpm: 781_250 }, // the largest cap of a whole-unit lot
        { ...PERP, lotSizeE6: 1n, tickSizeE8: 10n ** 8n, imPpm: 1, mmPpm: 1, fundingCapPpm: 1_000_000 },
        { ...CALL(t + 3_700), strike: 2n ** 16n }, // at least MIN_EXPIRY_LEAD (an hour) ahead
        { ...PUT(t + maxExpiry - 10), strike: 2n ** 50n - 1n }, // just inside the Black-Scholes time domain
      ];
      for (const spec of accepted) {
        const { custodian } = await networkHelpers.loadFixture(deployBase);
        const receipt = await receiptOf(registerInstrument(custodian, spec));
        const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
        const [registered] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "InstrumentRegistered" });
        assert.deepEqual(hexToBytes(queued.args.record), encodeRecord(instrumentRecord(registered.args.instrumentId, spec)));
      }
    });
  });

  describe("instrument ids: reuse once free", () => {
    /** TEST_PARAMS: 4 ids, 0 and 1 for perpetuals and futures, 2 and 3 (the last optionInstruments) for options. */
    const N = TEST_PARAMS.instruments;
    const ALL = (1n << BigInt(N)) - 1n;

    /**
     * Public data of the next batches (mock proofs), from the current root, batch count and latest block time: batch i
     * carries `items[i].deriv` in its derivatives slot and `items[i].mask` as the oracle section's freeInstruments
     * (the oracle unused otherwise).
     */
    async function nextBatches(custodian: Custodian, items: readonly { deriv?: readonly SlotRecord[]; mask: bigint }[], shape: CircuitParams = SHAPE): Promise<Hex[]> {
      const root = await custodian.read.stateRoot();
      const count = BigInt(await custodian.read.batchCount());
      const timestamp = await now();
      return items.map(({ deriv = [], mask }, i) => hex(batchBytes(
        { oldRoot: root + BigInt(i), newRoot: root + BigInt(i) + 1n, batchNumber: count + BigInt(i), timestamp },
        [], shape, { deriv, oracle: { ...unusedOracleSection(shape), freeInstruments: mask } },
      )));
    }

    /** Submits one batch (submitBatch) carrying `deriv` and the free mask `mask`. */
    async function submitWithMask(env: Pick<Env, "custodian" | "operator">, deriv: readonly SlotRecord[], mask: bigint) {
      const [pd] = await nextBatches(env.custodian, [{ deriv, mask }]);
      await env.custodian.write.submitBatch([pd, PROOF], { account: env.operator.account });
    }

    /** Registers `spec`; resolves to the id the custodian gave it, after checking the queued record carries that id. */
    async function register(custodian: Custodian, spec: InstrumentArgs): Promise<number> {
      const receipt = await receiptOf(registerInstrument(custodian, spec));
      const [registered] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "InstrumentRegistered" });
      const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
      const id = registered.args.instrumentId;
      assert.deepEqual(hexToBytes(queued.args.record), encodeRecord(instrumentRecord(id, spec)));
      assert.deepEqual(registered.args.instrument, instrumentView(spec));
      return id;
    }

    async function expectLimit(custodian: Custodian, spec: InstrumentArgs, option: boolean) {
      await viem.assertions.revertWithCustomErrorWithArgs(registerInstrument(custodian, spec), custodian, "InstrumentLimitReached", [option]);
    }

    /**
     * Every id used: dated futures at 0 and 1, a call at 2 and a put at 3 (requests 0..3), all four consumed by
     * four batches in one submitBatches, each mask what the circuit proves (the ids not yet registered in the
     * state are free), the last one none.
     */
    async function allRegistered() {
      const base = await deployBase();
      const { custodian, operator } = base;
      const expiry = Number(await now()) + 30 * 86400;
      const specs = [FUTURE(expiry), FUTURE(expiry + 86400), CALL(expiry), PUT(expiry)];
      for (const [id, spec] of specs.entries()) assert.equal(await register(custodian, spec), id);
      const pds = await nextBatches(custodian, specs.map((spec, id) => ({ deriv: [instrumentRecord(id, spec)], mask: ALL & ~((2n << BigInt(id)) - 1n) })));
      await custodian.write.submitBatches([pds, pds.map(() => PROOF)], { account: operator.account });
      assert.equal(await custodian.read.processedRequests(), 4n);
      return { ...base, expiry, specs };
    }

    it("starts with every id free (before the first batch), and a custodian without instruments with none", async () => {
      const { custodian, roles } = await networkHelpers.loadFixture(deployBase);
      assert.equal(await custodian.read.freeInstruments(), ALL);
      const spotOnly = await deploy(custodianAbi, "Custodian", custodianArgs({ ...TEST_PARAMS, derivSlots: 0, instruments: 0, optionInstruments: 0 }, roles));
      assert.equal(await spotOnly.read.freeInstruments(), 0n);
      // The widest table (MAX_TABLE_INSTRUMENTS, 64 ids): the mask takes eight bytes.
      const widest = await deploy(custodianAbi, "Custodian", custodianArgs({ ...TEST_PARAMS, instruments: 64, positionSlots: 16, optionInstruments: 40 }, roles));
      assert.equal(await widest.read.freeInstruments(), (1n << 64n) - 1n);
      assert.equal(await spotOnly.read.nextNonOptionId(), 0);
      assert.equal(await spotOnly.read.nextOptionId(), 0);
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.read.instrumentMarketId([0]), custodian, "UnknownInstrument", [0]);
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.read.instrumentMarketId([N]), custodian, "UnknownInstrument", [N]);
    });

    it("the widest table (64 ids, 8 mask bytes): a batch's mask with only ids 20 and 63 free is stored whole, and registration hands out those ids", async () => {
      const { roles, operator } = await networkHelpers.loadFixture(deployBase);
      const wide: CircuitParams = { ...TEST_PARAMS, instruments: MAX_TABLE_INSTRUMENTS, positionSlots: 16, optionInstruments: 40 };
      const widest = await deploy(custodianAbi, "Custodian", custodianArgs(wide, roles));
      // before any batch: every id free, options from id 24 (the last 40), the other kinds from 0
      assert.deepEqual([await widest.read.nextNonOptionId(), await widest.read.nextOptionId()], [0, 24]);
      const mask = (1n << 20n) | (1n << 63n);
      const [pd] = await nextBatches(widest, [{ mask }], wide);
      await widest.write.submitBatch([pd, PROOF], { account: operator.account });
      assert.equal(await widest.read.freeInstruments(), mask);
      assert.deepEqual([await widest.read.nextNonOptionId(), await widest.read.nextOptionId()], [20, 63]);
    });

    it("all ids taken: InstrumentLimitReached; a batch marking ids free (registrations consumed) gives the lowest free id of the class, with the next market id and the new parameters", async () => {
      const env = await networkHelpers.loadFixture(allRegistered);
      const { custodian, expiry, specs } = env;
      assert.equal(await custodian.read.freeInstruments(), 0n);
      for (let id = 0; id < N; id++) assert.equal(await custodian.read.instrumentMarketId([id]), INSTRUMENT_MARKET_BASE + id);
      await expectLimit(custodian, PERP, false);
      await expectLimit(custodian, CALL(expiry), true);
      assert.deepEqual([await custodian.read.nextNonOptionId(), await custodian.read.nextOptionId()], [N, N]);
      // Both futures settled with no position left: ids 0 and 1 free, the options still open.
      await submitWithMask(env, [], 0b0011n);
      assert.equal(await custodian.read.freeInstruments(), 0b0011n);
      assert.deepEqual([await custodian.read.nextNonOptionId(), await custodian.read.nextOptionId()], [0, N]);
      // The lowest free id first: a perpetual at 0, then a future at 1, each the id's generation 1.
      const future = FUTURE(expiry + 7 * 86400);
      for (const [id, spec] of [[0, PERP], [1, future]] as const) {
        const index = await custodian.read.requestCount();
        assert.equal(await register(custodian, spec), id);
        assert.equal(await custodian.read.requestChain([index + 1n]), nextRequestChain(await custodian.read.requestChain([index]), encodeRecord(instrumentRecord(id, spec))));
        assert.deepEqual(await custodian.read.instrument([id]), instrumentView(spec));
        assert.equal(await custodian.read.instrumentMarketId([id]), INSTRUMENT_MARKET_BASE + id + N);
        assert.equal(await custodian.read.instrumentMarketId([id]), instrumentMarketId(id, 1, N));
      }
      assert.notDeepEqual(instrumentView(PERP), instrumentView(specs[0]));
      // Both reused ids wait for a batch to consume their registrations; the options were never free.
      await expectLimit(custodian, PERP, false);
      await expectLimit(custodian, PUT(expiry), true);
      assert.deepEqual(await custodian.read.instrument([2]), instrumentView(specs[2]));
      assert.equal(await custodian.read.instrumentMarketId([2]), INSTRUMENT_MARKET_BASE + 2);
      assert.equal(await custodian.read.requestCount(), 6n);
    });

    it("an id whose registration is still queued is not given again, though an accepted batch's mask shows it free", async () => {
      const env = await networkHelpers.loadFixture(deployBase);
      const { custodian } = env;
      const future = FUTURE(Number(await now()) + 86400);
      assert.equal(await register(custodian, future), 0);
      // A batch that does not consume the registration: the circuit's state has no instrument at 0, so its mask
      // shows 0 free. Handing 0 out again would queue a second registration of 0 the circuit refuses.
      await submitWithMask(env, [], ALL);
      assert.equal(await custodian.read.freeInstruments(), ALL);
      assert.equal(await custodian.read.nextNonOptionId(), 1);
      assert.equal(await register(custodian, PERP), 1);
      await expectLimit(custodian, PERP, false);
      // The future's registration consumed (0 registered, 1 still queued), then the perpetual's, in a batch where
      // the future has settled with no position left: 0 is free and consumed, so it is given again.
      await submitWithMask(env, [instrumentRecord(0, future)], ALL & ~0b0001n);
      await expectLimit(custodian, PERP, false);
      await submitWithMask(env, [instrumentRecord(1, PERP)], ALL & ~0b0010n);
      assert.equal(await custodian.read.processedRequests(), 2n);
      assert.equal(await register(custodian, PERP), 0);
      assert.equal(await custodian.read.instrumentMarketId([0]), INSTRUMENT_MARKET_BASE + N);
      assert.equal(await custodian.read.instrumentMarketId([1]), INSTRUMENT_MARKET_BASE + 1);
    });

    it("the mask is the latest accepted batch's: the last of a submitBatches, then each submitBatch's", async () => {
      const env = await networkHelpers.loadFixture(allRegistered);
      const { custodian, operator, expiry } = env;
      // allRegistered's submitBatches carried masks 0b1110, 0b1100, 0b1000 and 0: the last one is stored.
      assert.equal(await custodian.read.freeInstruments(), 0n);
      await expectLimit(custodian, PERP, false);
      // Two batches in one transaction: id 0 free in the first only, id 1 in the second.
      const pds = await nextBatches(custodian, [{ mask: 0b0001n }, { mask: 0b0010n }]);
      await custodian.write.submitBatches([pds, [PROOF, PROOF]], { account: operator.account });
      assert.equal(await custodian.read.freeInstruments(), 0b0010n);
      assert.equal(await register(custodian, PERP), 1);
      await expectLimit(custodian, PERP, false);
      // One batch consumes it and frees 0 (and not 1, now the perpetual's); the same mask again changes nothing.
      await submitWithMask(env, [instrumentRecord(1, PERP)], 0b0001n);
      assert.equal(await custodian.read.freeInstruments(), 0b0001n);
      await submitWithMask(env, [], 0b0001n);
      assert.equal(await custodian.read.freeInstruments(), 0b0001n);
      assert.equal(await custodian.read.nextNonOptionId(), 0);
      // A later batch with nothing free takes it back before anyone registers.
      await submitWithMask(env, [], 0n);
      assert.equal(await custodian.read.freeInstruments(), 0n);
      await expectLimit(custodian, FUTURE(expiry), false);
    });

    it("a free id of the other class is not used: option ids stay for options, the others for perpetuals and futures", async () => {
      const env = await networkHelpers.loadFixture(allRegistered);
      const { custodian, expiry } = env;
      // Both options settled and closed, both futures open.
      await submitWithMask(env, [], 0b1100n);
      await expectLimit(custodian, PERP, false);
      await expectLimit(custodian, FUTURE(expiry), false);
      assert.deepEqual([await custodian.read.nextNonOptionId(), await custodian.read.nextOptionId()], [N, 2]);
      assert.equal(await register(custodian, PUT(expiry)), 2);
      assert.equal(await register(custodian, CALL(expiry)), 3);
      await submitWithMask(env, [instrumentRecord(2, PUT(expiry))], 0b1000n);
      await submitWithMask(env, [instrumentRecord(3, CALL(expiry))], 0n);
      // Now the futures settled and closed, the new options open.
      await submitWithMask(env, [], 0b0011n);
      await expectLimit(custodian, CALL(expiry), true);
      assert.deepEqual([await custodian.read.nextNonOptionId(), await custodian.read.nextOptionId()], [0, N]);
      assert.equal(await register(custodian, PERP), 0);
    });

    /**
     * Sets instrument id `id`'s registration count to `registrations` (its latest market id to match), keeping its
     * latest request. Reaching an id's last generation for real takes 8,192 registrations and batches at N = 4 (the
     * id's market ids step by N from INSTRUMENT_MARKET_BASE + id up to 0xFFFF); here the custodian's per-id slot
     * (`_instrumentIds[id]`: latestRequestPlusOne in bits 0..63, registrations 64..79, marketId 80..95) is found
     * under its mapping by the value a first registration at queue index `index` left there, and rewritten.
     */
    async function setRegistrations(custodian: Custodian, id: number, index: bigint, registrations: number) {
      const packed = (regs: number) =>
        (index + 1n) | (BigInt(regs) << 64n) | (BigInt(instrumentMarketId(id, regs - 1, N)) << 80n);
      for (let base = 0n; base < 64n; base++) {
        const slot = keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [BigInt(id), base]));
        const word = BigInt((await publicClient.getStorageAt({ address: custodian.address, slot })) ?? "0x0");
        if (word !== packed(1)) continue;
        await networkHelpers.setStorageAt(custodian.address, slot, toHex(packed(registrations), { size: 32 }));
        assert.equal(await custodian.read.instrumentMarketId([id]), instrumentMarketId(id, registrations - 1, N));
        return;
      }
      throw new Error(`_instrumentIds[${id}] not found`);
    }

    it("an id is given again only while its next market id fits 16 bits (at most MAX_INSTRUMENT_MARKET_ID)", async () => {
      const env = await networkHelpers.loadFixture(allRegistered);
      const { custodian, expiry } = env;
      assert.equal(MAX_INSTRUMENT_MARKET_ID, 0xffff);
      // Ids 0 and 3 one generation short of their last: 0's last market id is 0xFFFC, 3's exactly 0xFFFF.
      await setRegistrations(custodian, 0, 0n, 8191);
      await setRegistrations(custodian, 3, 3n, 8191);
      assert.equal(instrumentMarketId(0, 8191, N), 0xfffc);
      assert.equal(instrumentMarketId(3, 8191, N), MAX_INSTRUMENT_MARKET_ID);
      await submitWithMask(env, [], 0b1001n);
      assert.equal(await register(custodian, PERP), 0);
      assert.equal(await custodian.read.instrumentMarketId([0]), 0xfffc);
      assert.equal(await register(custodian, CALL(expiry)), 3);
      assert.equal(await custodian.read.instrumentMarketId([3]), MAX_INSTRUMENT_MARKET_ID);
      // Both consumed, and every id free: 0's and 3's next market ids (0x10000, 0x10003) do not fit, so the lowest
      // ids past them are given.
      await submitWithMask(env, [instrumentRecord(0, PERP)], 0b0110n);
      await submitWithMask(env, [instrumentRecord(3, CALL(expiry))], ALL);
      assert.ok(instrumentMarketId(0, 8192, N) > MAX_INSTRUMENT_MARKET_ID && instrumentMarketId(3, 8192, N) > MAX_INSTRUMENT_MARKET_ID);
      assert.deepEqual([await custodian.read.nextNonOptionId(), await custodian.read.nextOptionId()], [1, 2]);
      // Ids 1 and 2 at their last generation too (8,192 registrations each): free and consumed, yet nothing is available.
      await setRegistrations(custodian, 1, 1n, 8192);
      await setRegistrations(custodian, 2, 2n, 8192);
      assert.equal(await custodian.read.freeInstruments(), ALL);
      assert.deepEqual([await custodian.read.nextNonOptionId(), await custodian.read.nextOptionId()], [N, N]);
      await expectLimit(custodian, PERP, false);
      await expectLimit(custodian, PUT(expiry), true);
    });
  });

  describe("submitBatch: oracle section and derivatives records", () => {
    /**
     * Queue: 0 Alice's key, 1 a perpetual (id 0), 2 Alice's deposit, 3 a call (id 2). Batch 0 then consumes
     * requests 0 and 1, so the state is at root 100, batch 1, next request 2.
     */
    async function deployWithInstruments() {
      const base = await deployBase();
      const { custodian, alice, operator } = base;
      const expiry = Number(await now()) + 30 * 86400;
      await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
      await registerInstrument(custodian, PERP);
      await custodian.write.deposit([0, 1000n * USDC], { account: alice.account });
      await registerInstrument(custodian, CALL(expiry));
      const requests: SlotRecord[] = [
        { type: TxType.REGISTER_KEY, accountId: 1n, pubKey: compressKey(ALICE_KEY) },
        instrumentRecord(0, PERP),
        { type: TxType.DEPOSIT, accountId: 1n, tokenId: 0n, amount: 1000n * USDC },
        instrumentRecord(2, CALL(expiry)),
      ];
      const first = { oldRoot: GENESIS_ROOT, newRoot: 100n, batchNumber: 0n, timestamp: await now() };
      // Record order is spot then derivatives: KEY (spot) then PERP (derivatives) is queue order 0, 1.
      await custodian.write.submitBatch([hex(batchBytes(first, [requests[0]], SHAPE, { deriv: [requests[1]] })), PROOF], { account: operator.account });
      return { ...base, requests };
    }
    type DerivEnv = Awaited<ReturnType<typeof deployWithInstruments>>;

    const next = async () => ({ oldRoot: 100n, newRoot: 200n, batchNumber: 1n, timestamp: await now() });

    async function usedOracle() {
      return {
        used: true, key: compressKey(ORACLE_KEY), time: await now(), fundingEpoch: 1n,
        prices: [3000n * 10n ** 8n], volSlices: [EMPTY_SLICE, EMPTY_SLICE], rates: [-1000n, 0n, 0n, 0n], settleExpiry: 0n, settlePrices: [0n],
        // The perpetual (id 0) is consumed; the call's id 2 is not registered in the state yet.
        marksKey: 0n, freeInstruments: 0b1110n,
      };
    }

    async function expectRejected(env: DerivEnv, pd: Uint8Array, error: string, args: readonly unknown[]) {
      const owners = [env.alice.account.address];
      const before = await snapshot(env.custodian, owners);
      await viem.assertions.revertWithCustomErrorWithArgs(
        env.custodian.write.submitBatch([hex(pd), PROOF], { account: env.operator.account }), env.custodian, error as never, args as never);
      assert.deepEqual(await snapshot(env.custodian, owners), before);
    }

    it("consumed KEY (spot slot) then REGISTER_INSTRUMENT (derivatives slot) in queue order", async () => {
      const { custodian } = await networkHelpers.loadFixture(deployWithInstruments);
      assert.equal(await custodian.read.processedRequests(), 2n);
      assert.equal(await custodian.read.batchCount(), 1);
    });

    it("consumes requests in record order, spot records before derivatives records", async () => {
      const env = await networkHelpers.loadFixture(deployWithInstruments);
      const [, , deposit, call] = env.requests;
      // The call (request 3) in the derivatives slot cannot come before the deposit (request 2) when the deposit
      // is not in this batch ...
      await expectRejected(env, batchBytes(await next(), [], SHAPE, { deriv: [call] }), "UnqueuedRequest", [2n, 1n]);
      // ... and a derivatives record always follows the spot records, so this is the order 2, 3.
      const pd = batchBytes(await next(), [{ type: TxType.NOOP }, deposit], SHAPE, { deriv: [call] });
      await env.verifier.write.expectInputs([publicInputsOf(pd)]);
      await viem.assertions.emitWithArgs(
        env.custodian.write.submitBatch([hex(pd), PROOF], { account: env.operator.account }),
        env.custodian, "BatchSubmitted", [1, 100n, 200n, 2n, `0x${createHash("sha256").update(pd).digest("hex")}`]);
      assert.equal(await env.custodian.read.processedRequests(), 4n);
    });

    it("takes requests queued across slot classes in one batch, each class's in queue order (the spot slots apply first); refuses a class's requests out of order", async () => {
      const base = await networkHelpers.loadFixture(deployBase);
      const { custodian, alice, bob, operator } = base;
      // Queue: 0 perpetual (derivatives slot), 1 Alice's key, 2 Bob's key (spot slots).
      await registerInstrument(custodian, PERP);
      await custodian.write.registerTradingKey([ALICE_KEY[0], ALICE_KEY[1]], { account: alice.account });
      await custodian.write.registerTradingKey([BOB_KEY[0], BOB_KEY[1]], { account: bob.account });
      const aliceKey: SlotRecord = { type: TxType.REGISTER_KEY, accountId: 1n, pubKey: compressKey(ALICE_KEY) };
      const bobKey: SlotRecord = { type: TxType.REGISTER_KEY, accountId: 2n, pubKey: compressKey(BOB_KEY) };
      const header = { oldRoot: GENESIS_ROOT, newRoot: 1n, batchNumber: 0n, timestamp: await now() };
      const submit = (spot: SlotRecord[]) =>
        custodian.write.submitBatch([hex(batchBytes(header, spot, SHAPE, { deriv: [instrumentRecord(0, PERP)] })), PROOF], { account: operator.account });
      // the keys out of their queue order: no merge of the two classes is the queue
      await viem.assertions.revertWithCustomErrorWithArgs(submit([bobKey, aliceKey]), custodian, "UnqueuedRequest", [0n, 3n]);
      // the perpetual and Bob's key without Alice's between them
      await viem.assertions.revertWithCustomErrorWithArgs(submit([bobKey]), custodian, "UnqueuedRequest", [0n, 2n]);
      // the keys (spot slots, applied first) and the perpetual (derivatives slot) in one batch: the queue's order merged
      await submit([aliceKey, bobKey]);
      assert.equal(await custodian.read.processedRequests(), 3n);
    });

    it("refuses a REGISTER_INSTRUMENT record with any field changed", async () => {
      const env = await networkHelpers.loadFixture(deployWithInstruments);
      const [, , deposit, call] = env.requests as [SlotRecord, SlotRecord, SlotRecord, Extract<SlotRecord, { type: 11 }>];
      for (const field of ["instrumentId", "underlying", "lotSizeE6", "tickValue", "imPpm", "mmPpm", "strike", "expiry", "fundingCapPpm"] as const) {
        const forged = { ...call, [field]: call[field] + 1n };
        await expectRejected(env, batchBytes(await next(), [deposit], SHAPE, { deriv: [forged] }), "UnqueuedRequest", [2n, 2n]);
      }
      await expectRejected(env, batchBytes(await next(), [deposit], SHAPE, { deriv: [{ ...call, kind: 4n }] }), "UnqueuedRequest", [2n, 2n]);
    });

    it("accepts an oracle section under the registered key, with derivatives records that consume nothing and credit nothing", async () => {
      const env = await networkHelpers.loadFixture(deployWithInstruments);
      await env.custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
      const derivRecords: SlotRecord[] = [
        { type: TxType.DERIV_TRADE, buyAccountId: 1n, buyOrderId: 1n, sellAccountId: 2n, sellOrderId: 2n, instrumentId: 0n, lots: 3n, priceTicks: 300000n, buyFeePpm: 10n, sellFeePpm: 0n },
        { type: TxType.LIQUIDATE, liquidatedAccountId: 1n, liquidatorAccountId: 2n, liquidatorOrderId: 4n, instrumentId: 0n, lots: 1n, priceTicks: 299000n, liquidatorFeePpm: 5n },
        { type: TxType.SETTLE, accountId: 1n, instrumentId: 1n },
        { type: TxType.TRANSFER, accountId: 1n, toCollateral: 0n, amount: 10n ** 9n },
      ];
      let root = 100n;
      for (const [k, record] of derivRecords.entries()) {
        const header = { oldRoot: root, newRoot: root + 1n, batchNumber: BigInt(k + 1), timestamp: await now() };
        const pd = batchBytes(header, [], SHAPE, { deriv: [record], oracle: await usedOracle() });
        await env.verifier.write.expectInputs([publicInputsOf(pd)]);
        const receipt = await receiptOf(env.custodian.write.submitBatch([hex(pd), PROOF], { account: env.operator.account }));
        const [ev] = parseEventLogs({ abi: env.custodian.abi, logs: receipt.logs, eventName: "BatchSubmitted" });
        assert.equal(ev.args.requestsConsumed, 0n);
        assert.equal(parseEventLogs({ abi: env.custodian.abi, logs: receipt.logs, eventName: "WithdrawalCredited" }).length, 0);
        root += 1n;
      }
      assert.equal(await env.custodian.read.stateRoot(), root);
      assert.equal(await env.custodian.read.processedRequests(), 2n);
      assert.equal(await env.custodian.read.withdrawable([env.alice.account.address, 0]), 0n);
    });

    it("refuses oracleUsed = 1 without a registered key (OracleKeyNotSet) or under another key (OracleKeyMismatch)", async () => {
      const env = await networkHelpers.loadFixture(deployWithInstruments);
      const oracle = await usedOracle();
      await expectRejected(env, batchBytes(await next(), [], SHAPE, { oracle }), "OracleKeyNotSet", []);
      await env.custodian.write.setOracleKey([BOB_KEY[0], BOB_KEY[1]]);
      await expectRejected(env, batchBytes(await next(), [], SHAPE, { oracle }), "OracleKeyMismatch", [compressKey(BOB_KEY), compressKey(ORACLE_KEY)]);
      // The same x with the other sign is another key.
      const negated: Point = [FIELD_MODULUS - ORACLE_KEY[0], ORACLE_KEY[1]];
      await throughTimelock(env, "setOracleKey", [negated[0], negated[1]]);
      await expectRejected(env, batchBytes(await next(), [], SHAPE, { oracle }), "OracleKeyMismatch", [compressKey(negated), compressKey(ORACLE_KEY)]);
      // After registering the right key the same batch goes through.
      await throughTimelock(env, "setOracleKey", [ORACLE_KEY[0], ORACLE_KEY[1]]);
      await env.custodian.write.submitBatch([hex(batchBytes(await next(), [], SHAPE, { oracle })), PROOF], { account: env.operator.account });
      assert.equal(await env.custodian.read.batchCount(), 2);
    });

    it("refuses an oracleUsed byte other than 0 or 1", async () => {
      const env = await networkHelpers.loadFixture(deployWithInstruments);
      await env.custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
      for (const used of [2, 0x80, 0xff]) {
        const pd = batchBytes(await next(), [], SHAPE, { oracle: await usedOracle() });
        pd[HEADER_BYTES] = used;
        await expectRejected(env, pd, "BadOracleUsed", [used]);
      }
    });

    it("checks nothing else of an unused oracle section (the circuit forces its fields to 0)", async () => {
      const env = await networkHelpers.loadFixture(deployWithInstruments);
      // No oracle key registered and a non-zero key field: the custodian accepts, the circuit would not prove it.
      const pd = batchBytes(await next(), [], SHAPE, { oracle: { ...(await usedOracle()), used: false } });
      await env.custodian.write.submitBatch([hex(pd), PROOF], { account: env.operator.account });
      assert.equal(await env.custodian.read.batchCount(), 2);
    });
  });

  describe("submitBatch", () => {
    it("accepts batches that consume the queue in order, credits withdrawals, and withdraw() pays exactly", async () => {
      const env = await networkHelpers.loadFixture(deployWithRequests);
      const { custodian, verifier, operator, alice, bob, carol, usdc, weth, requests } = env;
      const batches: { records: SlotRecord[]; consumed: bigint }[] = [
        { records: [requests[0], requests[1]], consumed: 2n },
        { records: [requests[2], { type: TxType.NOOP }], consumed: 1n },
        {
          records: [
            { type: TxType.TRADE, buyAccountId: 1n, buyOrderId: 7n, sellAccountId: 2n, sellOrderId: 9n, marketId: 0n, lots: 5n, priceTicks: 300000n, buyFeePpm: 100n, sellFeePpm: 0n },
            requests[3],
          ],
          consumed: 1n,
        },
        {
          records: [
            { type: TxType.WITHDRAW, accountId: 1n, tokenId: 0n, amount: 400n * USDC },
            { type: TxType.WITHDRAW, accountId: 2n, tokenId: 1n, amount: 2n * ETH },
          ],
          consumed: 0n,
        },
        {
          records: [
            { type: TxType.CANCEL, accountId: 2n, orderId: 9n },
            requests[4],
          ],
          consumed: 1n,
        },
        {
          records: [
            { type: TxType.WITHDRAW, accountId: 1n, tokenId: 0n, amount: 100n * USDC },
            { type: TxType.WITHDRAW, accountId: 1n, tokenId: 1n, amount: 0n },
          ],
          consumed: 0n,
        },
      ];
      let root = GENESIS_ROOT;
      let processed = 0n;
      for (const [n, { records, consumed }] of batches.entries()) {
        const newRoot = root * 7n + BigInt(n) + 1n;
        const ts = await now();
        const pd = batchBytes({ oldRoot: root, newRoot, batchNumber: BigInt(n), timestamp: ts }, records, SHAPE);
        // The mock only says yes for the public input the TS code computes.
        await verifier.write.expectInputs([publicInputsOf(pd)]);
        const receipt = await receiptOf(custodian.write.submitBatch([hex(pd), PROOF], { account: operator.account }));
        const [ev] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "BatchSubmitted" });
        assert.deepEqual(ev.args, {
          batchNumber: n,
          oldRoot: root,
          newRoot,
          requestsConsumed: consumed,
          publicDataHash: `0x${createHash("sha256").update(pd).digest("hex")}`,
        });
        processed += consumed;
        root = newRoot;
        assert.equal(await custodian.read.stateRoot(), newRoot);
        assert.equal(await custodian.read.batchCount(), n + 1);
        assert.equal(await custodian.read.lastTimestamp(), Number(ts));
        assert.equal(await custodian.read.processedRequests(), processed);
        const credited = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "WithdrawalCredited" });
        const expectedCredits = records.filter((r) => r.type === TxType.WITHDRAW && r.amount > 0n);
        assert.equal(credited.length, expectedCredits.length);
      }
      assert.equal(processed, 5n);
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 500n * USDC);
      assert.equal(await custodian.read.withdrawable([alice.account.address, 1]), 0n);
      assert.equal(await custodian.read.withdrawable([bob.account.address, 1]), 2n * ETH);

      const balances = async () => [
        await usdc.read.balanceOf([alice.account.address]),
        await usdc.read.balanceOf([custodian.address]),
        await weth.read.balanceOf([bob.account.address]),
        await weth.read.balanceOf([carol.account.address]),
        await weth.read.balanceOf([custodian.address]),
      ];
      const before = await balances();
      await viem.assertions.emitWithArgs(
        custodian.write.withdraw([0], { account: alice.account }),
        custodian,
        "Withdrawn",
        [alice.account.address, alice.account.address, 0, 500n * USDC],
      );
      await viem.assertions.emitWithArgs(
        custodian.write.withdrawTo([1, carol.account.address], { account: bob.account }),
        custodian,
        "Withdrawn",
        [bob.account.address, carol.account.address, 1, 2n * ETH],
      );
      const after = await balances();
      assert.deepEqual(
        after.map((b, i) => b - before[i]),
        [500n * USDC, -500n * USDC, 0n, 2n * ETH, -2n * ETH],
      );
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 0n);
      assert.equal(await custodian.read.withdrawable([bob.account.address, 1]), 0n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.withdraw([0], { account: alice.account }), custodian, "NothingToWithdraw", [0]);
      await viem.assertions.revertWithCustomError(
        custodian.write.withdrawTo([0, "0x0000000000000000000000000000000000000000"], { account: alice.account }),
        custodian, "ZeroAddress");
    });

    it("passes the proof in snarkjs calldata order and the public data in 31-byte chunks as TS publicInputsOf computes them", async () => {
      const { custodian, verifier, operator, requests } = await networkHelpers.loadFixture(deployWithRequests);
      await verifier.write.setProbe([true]);
      const pd = batchBytes({ oldRoot: GENESIS_ROOT, newRoot: 5n, batchNumber: 0n, timestamp: await now() }, requests.slice(0, 2), SHAPE);
      const inputs = publicInputsOf(pd);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.submitBatch([hex(pd), PROOF], { account: operator.account }),
        verifier,
        "BatchVerifierCalled",
        [[PROOF], inputs],
      );
      // Non-trivial: several chunks, the first holds the old root's top bytes, the last is the data's short tail.
      assert.equal(inputs.length, Math.ceil(pd.length / 31));
      assert.equal(inputs[0]! >> 8n, GENESIS_ROOT >> 16n);
      assert.ok(pd.length % 31 === 0 || inputs.at(-1)! < 2n ** BigInt(8 * (pd.length % 31)));
    });

    describe("rejections change nothing", () => {
      /** Runs the fixture, submits batch 0 (the two key registrations), returns the env at batch 1. */
      async function afterFirstBatch() {
        const env = await deployWithRequests();
        const ts = await now();
        const pd = batchBytes({ oldRoot: GENESIS_ROOT, newRoot: 100n, batchNumber: 0n, timestamp: ts }, env.requests.slice(0, 2), SHAPE);
        await env.custodian.write.submitBatch([hex(pd), PROOF], { account: env.operator.account });
        return { ...env, firstBatch: pd, firstTs: ts };
      }

      type Env1 = Awaited<ReturnType<typeof afterFirstBatch>>;
      type ErrorName = Parameters<typeof viem.assertions.revertWithCustomError<Custodian>>[2];

      async function expectRejected(
        env: Env1,
        pd: Uint8Array | Hex,
        error: ErrorName,
        args?: readonly unknown[],
        account = env.operator.account,
      ) {
        const owners = [env.alice.account.address, env.bob.account.address];
        const before = await snapshot(env.custodian, owners);
        const data = typeof pd === "string" ? pd : hex(pd);
        const call = env.custodian.write.submitBatch([data, PROOF], { account });
        if (args === undefined) await viem.assertions.revertWithCustomError(call, env.custodian, error);
        else await viem.assertions.revertWithCustomErrorWithArgs(call, env.custodian, error, args as never);
        assert.deepEqual(await snapshot(env.custodian, owners), before);
      }

      const header = async (over: Partial<{ oldRoot: bigint; newRoot: bigint; batchNumber: bigint; timestamp: bigint }> = {}) => ({
        oldRoot: 100n,
        newRoot: 200n,
        batchNumber: 1n,
        timestamp: await now(),
        ...over,
      });

      it("checks the old root (StaleRoot) and refuses a replayed batch", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        await expectRejected(env, batchBytes(await header({ oldRoot: 101n }), [env.requests[2]], SHAPE), "StaleRoot", [100n, 101n]);
        await expectRejected(env, env.firstBatch, "StaleRoot", [100n, GENESIS_ROOT]);
      });

      it("checks the batch number", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        await expectRejected(env, batchBytes(await header({ batchNumber: 0n }), [], SHAPE), "BadBatchNumber", [1, 0]);
        await expectRejected(env, batchBytes(await header({ batchNumber: 2n }), [], SHAPE), "BadBatchNumber", [1, 2]);
      });

      it("checks the timestamp: not before the last batch, not 15 min ahead, not 10 min behind", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        assert.equal(await env.custodian.read.MAX_BATCH_AGE(), 600n);
        assert.equal(await env.custodian.read.MAX_FUTURE_DRIFT(), 900n);
        const t = env.firstTs;
        await expectRejected(env, batchBytes(await header({ timestamp: t - 1n }), [], SHAPE), "BadTimestamp", [Number(t - 1n)]);
        const ahead = (await now()) + 16n * 60n;
        await expectRejected(env, batchBytes(await header({ timestamp: ahead }), [], SHAPE), "BadTimestamp", [Number(ahead)]);
        await networkHelpers.time.increase(3600);
        const old = (await now()) - 11n * 60n;
        assert.ok(old > t);
        await expectRejected(env, batchBytes(await header({ timestamp: old }), [], SHAPE), "BadTimestamp", [Number(old)]);
      });

      /**
       * Submits batch 1 (no records) stamped `stamp(T)` in a block whose timestamp is exactly T: the age and
       * drift boundaries are checked against that block.
       */
      async function submitAtBlockTime(env: Env1, blockTime: bigint, timestamp: bigint) {
        await networkHelpers.time.setNextBlockTimestamp(blockTime);
        const pd = batchBytes(await header({ timestamp }), [], SHAPE);
        // A fixed gas limit: the transaction is mined (in the block at `blockTime`) even when it reverts.
        return env.custodian.write.submitBatch([hex(pd), PROOF], { account: env.operator.account, gas: 2_000_000n });
      }

      it("held-back stamp: one second older than MAX_BATCH_AGE is refused, exactly MAX_BATCH_AGE is accepted", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        const blockTime = (await now()) + 3600n;
        const owners = [env.alice.account.address, env.bob.account.address];
        const before = await snapshot(env.custodian, owners);
        await viem.assertions.revertWithCustomErrorWithArgs(
          submitAtBlockTime(env, blockTime, blockTime - 601n), env.custodian, "BadTimestamp", [Number(blockTime - 601n)]);
        assert.equal(BigInt(await networkHelpers.time.latest()), blockTime, "the refused batch was checked in the block at blockTime");
        assert.deepEqual(await snapshot(env.custodian, owners), before);
        await submitAtBlockTime(env, blockTime + 1n, blockTime + 1n - 600n);
        assert.equal(BigInt(await networkHelpers.time.latest()), blockTime + 1n);
        assert.equal(await env.custodian.read.batchCount(), 2);
        assert.equal(await env.custodian.read.lastTimestamp(), Number(blockTime + 1n - 600n));
      });

      it("stamp ahead of the block: one second past MAX_FUTURE_DRIFT is refused, exactly MAX_FUTURE_DRIFT is accepted", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        const blockTime = (await now()) + 100n;
        await viem.assertions.revertWithCustomErrorWithArgs(
          submitAtBlockTime(env, blockTime, blockTime + 901n), env.custodian, "BadTimestamp", [Number(blockTime + 901n)]);
        assert.equal(await env.custodian.read.batchCount(), 1);
        await submitAtBlockTime(env, blockTime + 1n, blockTime + 1n + 900n);
        assert.equal(await env.custodian.read.batchCount(), 2);
      });

      it("batch timestamps never decrease: equal to the last one is accepted, one second earlier refused", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        const last = BigInt(await env.custodian.read.lastTimestamp());
        assert.equal(last, env.firstTs);
        await viem.assertions.revertWithCustomErrorWithArgs(
          submitAtBlockTime(env, (await now()) + 10n, last - 1n), env.custodian, "BadTimestamp", [Number(last - 1n)]);
        await submitAtBlockTime(env, (await now()) + 10n, last);
        assert.equal(await env.custodian.read.lastTimestamp(), Number(last));
      });

      it("refuses a new root outside the field", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        await expectRejected(env, batchBytes(await header({ newRoot: FIELD_MODULUS }), [], SHAPE), "InvalidRoot", [FIELD_MODULUS]);
      });

      it("refuses public data of the wrong length", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        const good = batchBytes(await header(), [], SHAPE);
        const expected = BigInt(publicDataBytes(TEST_PARAMS));
        // header, the oracle section (fixed part, 1 price, 2 vol slices, 4 rates, the named expiry and its 1 price, the
        // 32-byte marks key, the 1-byte mask of free instrument ids), 2 spot records and 1 derivatives record
        assert.equal(expected, BigInt(HEADER_BYTES + 41 + 7 + 2 * 11 + 4 * 3 + 4 + 7 + 32 + 1 + 3 * RECORD_BYTES));
        await expectRejected(env, good.subarray(0, good.length - 1), "BadPublicDataLength", [expected, expected - 1n]);
        await expectRejected(env, batchBytes(await header(), [], { ...SHAPE, slots: SLOTS + 1 }), "BadPublicDataLength", [expected, expected + BigInt(RECORD_BYTES)]);
        await expectRejected(env, good.subarray(0, HEADER_BYTES), "BadPublicDataLength", [expected, BigInt(HEADER_BYTES)]);
        await expectRejected(env, "0x", "BadPublicDataLength", [expected, 0n]);
      });

      it("refuses claims of unqueued requests", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        const forged: SlotRecord = { type: TxType.DEPOSIT, accountId: 1n, tokenId: 0n, amount: 10n ** 24n };
        await expectRejected(env, batchBytes(await header(), [forged], SHAPE), "UnqueuedRequest", [2n, 1n]);
        // A forged key registration for Bob's account.
        const key = pubKeyOf(5n);
        await expectRejected(env, batchBytes(await header(), [{ type: TxType.REGISTER_KEY, accountId: 2n, pubKey: compressKey(key) }], SHAPE), "UnqueuedRequest", [2n, 1n]);
        // Skipping request 2 and claiming request 3.
        await expectRejected(env, batchBytes(await header(), [env.requests[3]], SHAPE), "UnqueuedRequest", [2n, 1n]);
        // Re-claiming an already consumed request.
        await expectRejected(env, batchBytes(await header(), [env.requests[1]], SHAPE), "UnqueuedRequest", [2n, 1n]);
      });

      it("refuses claiming more requests than queued", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        // Consume requests 2 and 3, leaving only request 4 (the market) in the queue.
        await env.custodian.write.submitBatch(
          [hex(batchBytes(await header(), [env.requests[2], env.requests[3]], SHAPE)), PROOF],
          { account: env.operator.account },
        );
        const next = { oldRoot: 200n, newRoot: 300n, batchNumber: 2n, timestamp: await now() };
        const extra: SlotRecord = { type: TxType.DEPOSIT, accountId: 2n, tokenId: 0n, amount: 1n };
        await expectRejected(env, batchBytes(next, [env.requests[4], extra], SHAPE), "UnqueuedRequest", [4n, 2n]);
        // The queued one alone is fine.
        await env.custodian.write.submitBatch([hex(batchBytes(next, [env.requests[4]], SHAPE)), PROOF], { account: env.operator.account });
        assert.equal(await env.custodian.read.processedRequests(), 5n);
        // Nothing left: any request record is unqueued.
        const after = { oldRoot: 300n, newRoot: 400n, batchNumber: 3n, timestamp: await now() };
        await expectRejected(env, batchBytes(after, [extra], SHAPE), "UnqueuedRequest", [5n, 1n]);
      });

      it("refuses reordered or mutated request records", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        const [, , r2, r3] = env.requests;
        await expectRejected(env, batchBytes(await header(), [r3, r2], SHAPE), "UnqueuedRequest", [2n, 2n]);
        const mutations: SlotRecord[] = [
          { ...r2, amount: (r2 as { amount: bigint }).amount + 1n } as SlotRecord,
          { ...r2, accountId: 2n } as SlotRecord,
          { ...r2, tokenId: 1n } as SlotRecord,
          { ...r2, type: TxType.REGISTER_MARKET } as unknown as SlotRecord,
        ];
        for (const m of mutations) {
          let pd: Uint8Array;
          try {
            pd = batchBytes(await header(), [m, r3], SHAPE);
          } catch {
            // Type changed to one whose layout the TS encoder refuses: patch the byte instead.
            pd = batchBytes(await header(), [r2, r3], SHAPE);
            pd[RECORDS_AT] = TxType.REGISTER_MARKET;
          }
          await expectRejected(env, pd, "UnqueuedRequest", [2n, 2n]);
        }
        // Dirty padding in a request record is a different record too.
        const dirty = batchBytes(await header(), [r2, r3], SHAPE);
        dirty[RECORDS_AT + RECORD_BYTES - 1] = 1;
        await expectRejected(env, dirty, "UnqueuedRequest", [2n, 2n]);
        // A request record turned into a NOOP while the next one is kept: skips a request.
        await expectRejected(env, batchBytes(await header(), [{ type: TxType.NOOP }, r3], SHAPE), "UnqueuedRequest", [2n, 1n]);
      });

      it("refuses when the verifier says no", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        await env.verifier.write.setAnswer([false]);
        await expectRejected(env, batchBytes(await header(), [env.requests[2], { type: TxType.WITHDRAW, accountId: 1n, tokenId: 0n, amount: 5n }], SHAPE), "InvalidProof");
        // A proof for different public data: the mock only accepts the input of `pd`, the batch differs by one bit.
        await env.verifier.write.setAnswer([true]);
        const pd = batchBytes(await header(), [env.requests[2], { type: TxType.WITHDRAW, accountId: 1n, tokenId: 0n, amount: 5n }], SHAPE);
        await env.verifier.write.expectInputs([publicInputsOf(pd)]);
        const other = Uint8Array.from(pd);
        other[other.length - 1] ^= 1;
        await expectRejected(env, other, "InvalidProof");
      });

      it("refuses transaction types a slot cannot hold: derivatives types in spot slots, spot types in derivatives slots", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        // Every byte value a slot's types (SPOT_TX_TYPES, DERIV_TX_TYPES of constants.ts) leave out, up to past the last type.
        const others = (types: readonly number[]) => [...Array.from({ length: 24 }, (_, t) => t), 0xff].filter((t) => !types.includes(t));
        // Spot slot 1 holds SPOT_TX_TYPES only (0..6, FORCED_WITHDRAW, FEE_WITHDRAW, OPERATOR_CANCEL).
        for (const type of others(SPOT_TX_TYPES)) {
          const pd = batchBytes(await header(), [], SHAPE);
          pd[RECORDS_AT + RECORD_BYTES] = type;
          await expectRejected(env, pd, "UnknownTxType", [1n, type]);
        }
        // The derivatives slot (slot index 2 = slots) holds DERIV_TX_TYPES only (0, 7..11, FORCED_COLLATERAL_WITHDRAW,
        // INSURANCE_WITHDRAW, DELEVERAGE).
        for (const type of others(DERIV_TX_TYPES)) {
          const pd = batchBytes(await header(), [], SHAPE);
          pd[RECORDS_AT + SLOTS * RECORD_BYTES] = type;
          await expectRejected(env, pd, "UnknownTxType", [BigInt(SLOTS), type]);
        }
      });

      it("refuses withdrawals for unassigned accounts or unregistered tokens", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        await expectRejected(env, batchBytes(await header(), [{ type: TxType.WITHDRAW, accountId: 3n, tokenId: 0n, amount: 1n }], SHAPE), "UnknownAccount", [3]);
        await expectRejected(env, batchBytes(await header(), [{ type: TxType.WITHDRAW, accountId: 0n, tokenId: 0n, amount: 1n }], SHAPE), "UnknownAccount", [0]);
        await expectRejected(env, batchBytes(await header(), [{ type: TxType.WITHDRAW, accountId: 1n, tokenId: 2n, amount: 1n }], SHAPE), "UnknownToken", [2]);
      });

      it("refuses callers without OPERATOR_ROLE, the admin included", async () => {
        const env = await networkHelpers.loadFixture(afterFirstBatch);
        const pd = batchBytes(await header(), [env.requests[2]], SHAPE);
        await expectRejected(env, pd, "AccessControlUnauthorizedAccount", undefined, env.alice.account);
        await expectRejected(env, pd, "AccessControlUnauthorizedAccount", undefined, env.admin.account);
        // The same batch from the operator is fine.
        await env.custodian.write.submitBatch([hex(pd), PROOF], { account: env.operator.account });
        assert.equal(await env.custodian.read.processedRequests(), 3n);
      });
    });
  });
});

function modInverse(a: bigint): bigint {
  let [r0, r1] = [a % FIELD_MODULUS, FIELD_MODULUS];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % FIELD_MODULUS) + FIELD_MODULUS) % FIELD_MODULUS;
}
