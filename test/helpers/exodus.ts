/**
 * A custodian in exodus that a trader can really exit from (the exit tooling's tests: test/scripts/exit.test.ts,
 * test/sequencer/sdk/exit.test.ts): DEVNET_PARAMS (whose exit circuit this checkout builds with dev keys), a mock
 * batch verifier (batches built by buildBatch, posted with the mock proof: the rebuild reports their proofs invalid,
 * which an exit does not look at, and reaches the custodian's root), the real exit verifier of the dev exit circuit.
 *
 * Tokens: USDC (0), a QuirkyToken (1) whose transfers can be made to revert (refuseTransfers: a paused or
 * blacklisting token), WETH (2), and with `brokenToken` a fourth registered token (3) whose every call reverts,
 * balanceOf included. Alice (account 1) deposited 100 USDC, 50 of token 1 and 70 WETH, all consumed by two batches;
 * Bob's key request (account 2) is never served, so exodus is activated past its deadline.
 *
 * `mockExodus` is the cheaper custodian of the exit's follow-ups (claim-derivatives, claim-exit-remainder,
 * exit-remainders: test/scripts/exitClaims.test.ts, test/sequencer/sdk/exitClaims.test.ts), where the claims matter,
 * not their proofs: mock verifiers, any exit claim sent as it is.
 */
import assert from "node:assert/strict";
import type { network } from "hardhat";
import { getContract, type Abi, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { buildExitCircuit } from "../../scripts/build/exitCircuit.ts";
import { compileBatchVerifier } from "../../scripts/build/batchVerifierContract.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { custodianArgs } from "../../sequencer/chain/custodianArgs.ts";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import { DEVNET_PARAMS } from "../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { quirkyTokenAbi, testTokenAbi } from "../contracts/abis.ts";
import { PROOF, TEST_REQUEST_DEADLINE, deployExitRoles, deployNamed, hex, pubKeyOf } from "../contracts/helpers.ts";
import { REVERTS, exitFixtures } from "../contracts/exitFixture.ts";
import { exitPublicInputs, exitTokenCount, type ExitClaim } from "../../sequencer/protocol/exitPublicData.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";

type Connection = Awaited<ReturnType<typeof network.create>>;

/** Creation code of a contract whose runtime is PUSH1 0 PUSH1 0 REVERT: every call reverts. */
export const ALWAYS_REVERTS: Hex = "0x6460006000fd6000526005601bf3";

/** What Alice deposited of tokens 0, 1 and 2. */
export const ALICE_AMOUNTS = [100n, 50n, 70n] as const;

export async function exodusChain({ viem, networkHelpers }: Connection, opts: { brokenToken?: boolean } = {}) {
  const P = DEVNET_PARAMS;
  const exitCircuit = await buildExitCircuit(P, "dev");
  const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
  const [admin, operator, alice, bob] = await viem.getWalletClients();
  const deployCode = async (abi: Abi, bytecode: Hex): Promise<Address> => {
    const hash = await admin.deployContract({ abi, bytecode });
    return (await publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
  };
  const compiled = compileBatchVerifier(exitCircuit.verifierSol);
  const exitVerifier = await deployCode(compiled.abi as Abi, (compiled.bytecode.startsWith("0x") ? compiled.bytecode : `0x${compiled.bytecode}`) as Hex);
  const state = new ExchangeState(P);
  const verifier = await deployNamed(viem, "MockVerifier");
  const usdc = await deployNamed(viem, "TestToken", ["USD Coin", "USDC", 6]);
  const quirky = await deployNamed(viem, "QuirkyToken");
  const weth = await deployNamed(viem, "TestToken", ["Wrapped Ether", "WETH", 18]);
  const roles = await deployExitRoles(viem, admin.account.address);
  const address = await deployNamed(viem, "Custodian", custodianArgs(P, {
    verifier, genesisRoot: state.root, quoteToken: usdc, quoteMinDeposit: 1n, admin: admin.account.address, operator: operator.account.address, ...roles, exitVerifier,
  }));
  const custodian = getContract({ abi: custodianAbi, address, client: { public: publicClient, wallet: admin } });
  await custodian.write.registerToken([quirky, 1n]);
  await custodian.write.registerToken([weth, 1n]);
  let broken: Address | null = null;
  if (opts.brokenToken) {
    broken = await deployCode([], ALWAYS_REVERTS);
    await custodian.write.registerToken([broken, 1n]); // has code, so accepted
  }
  const key = pubKeyOf(4242n);
  await custodian.write.registerTradingKey([key[0], key[1]], { account: alice.account });
  const tokens = [usdc, quirky, weth];
  for (const [t, token] of tokens.entries()) {
    const tk = getContract({ abi: testTokenAbi, address: token, client: { public: publicClient, wallet: admin } });
    await tk.write.mint([alice.account.address, ALICE_AMOUNTS[t]!]);
    await tk.write.approve([address, ALICE_AMOUNTS[t]!], { account: alice.account });
    await custodian.write.deposit([t, ALICE_AMOUNTS[t]!], { account: alice.account });
  }
  const records = [
    { type: TxType.REGISTER_KEY, accountId: 1, pubKey: key },
    ...tokens.map((_, t) => ({ type: TxType.DEPOSIT, accountId: 1, tokenId: t, amount: ALICE_AMOUNTS[t]! })),
  ];
  for (let b = 0; b < 2; b++) {
    const built = buildBatch(state, records.slice(2 * b, 2 * b + 2) as unknown as BatchTx[], { batchNumber: b, timestamp: Number(await networkHelpers.time.latest()) });
    await custodian.write.submitBatch([hex(built.publicData), PROOF], { account: operator.account });
  }
  assert.equal(await custodian.read.stateRoot(), state.root);
  const bobKey = pubKeyOf(77n);
  await custodian.write.registerTradingKey([bobKey[0], bobKey[1]], { account: bob.account }); // never served
  await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
  await custodian.write.activateExodus();

  /** Token 1 refuses every transfer from now on (its hook calls a contract that reverts). */
  const refuseTransfers = async () => {
    const q = getContract({
      abi: [{ type: "function", name: "setHook", inputs: [{ type: "address" }, { type: "bytes" }], outputs: [], stateMutability: "nonpayable" }] as const,
      address: quirky, client: { public: publicClient, wallet: admin },
    });
    await q.write.setHook([await deployCode([], ALWAYS_REVERTS), "0x"]);
  };
  const withdrawable = (t: number) => custodian.read.withdrawable([alice.account.address, t]);
  return {
    params: P, publicClient, alice: alice as unknown as WalletClient, custodian: address, tokens, broken, exitCircuit, refuseTransfers, withdrawable,
  };
}

/** An address whose code reverts every call: a QuirkyToken hooked to it refuses every transfer. */
const REFUSER: Address = "0x000000000000000000000000000000000000dEaD";

/**
 * exitFixtures' deployFunded (mock batch and exit verifiers, TEST_PARAMS; USDC token 0, WETH token 1; Alice account 1,
 * Bob account 2) with a QuirkyToken as token 2, of which Alice holds 5, then exodus (a forced withdrawal left
 * overdue). `exit` sends any claim (the mock exit verifier expects its inputs), `setCode` replaces a token's code
 * (its storage kept; `restore` puts every original back), `refuseTransfers` makes a token refuse every transfer
 * (token 0 gets QuirkyToken's code for it, which keeps TestToken's storage layout), `clients` a wallet's SDK clients
 * (`expectExit` readies a claim for the SDK's exit, which sends it with PROOF).
 */
export async function mockExodus(connection: Connection) {
  const { networkHelpers } = connection;
  const env = await exitFixtures(connection).deployFunded();
  const { custodian, admin, alice, carol, publicClient } = env;
  const quirky = await env.contract(quirkyTokenAbi, "QuirkyToken");
  await custodian.write.registerToken([quirky.address, 1n], { account: admin.account });
  await quirky.write.mint([carol.account.address, 5n]);
  await quirky.write.approve([custodian.address, 5n], { account: carol.account });
  await custodian.write.depositTo([1, 2, 5n], { account: carol.account });
  await env.submit([{ type: TxType.DEPOSIT, accountId: 1n, tokenId: 2n, amount: 5n }]);
  await custodian.write.forceWithdraw([0, 1n], { account: alice.account });
  await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
  await custodian.write.activateExodus();
  const [windowEnd] = await custodian.read.exodusClaim([1]);
  const tokens: Address[] = [env.usdc.address, env.weth.address, quirky.address];
  const originals = new Map<Address, Hex>();
  const setCode = async (t: number, code: Hex) => {
    if (!originals.has(tokens[t]!)) originals.set(tokens[t]!, (await publicClient.getCode({ address: tokens[t]! }))!);
    await networkHelpers.setCode(tokens[t]!, code);
  };
  const restore = async () => {
    for (const [address, code] of originals) await networkHelpers.setCode(address, code);
    originals.clear();
  };
  const refuseTransfers = async (t: number) => {
    await networkHelpers.setCode(REFUSER, REVERTS);
    if (t !== 2) await networkHelpers.setCode(tokens[t]!, (await publicClient.getCode({ address: quirky.address }))!);
    await getContract({ abi: quirkyTokenAbi, address: tokens[t]!, client: { public: publicClient, wallet: admin } }).write.setHook([REFUSER, "0x"]);
  };
  /** The mock exit verifier expects the claim (spot amounts by token id, the derivatives claim, the pot): it may be sent with PROOF. */
  const expectExit = async (accountId: number, byToken: Record<number, bigint>, derivativesClaim = 0n, pooledQuote = 0n) => {
    const amounts = Array.from({ length: exitTokenCount(TEST_PARAMS) }, (_, t) => byToken[t] ?? 0n);
    const claim: ExitClaim = { root: await custodian.read.stateRoot(), accountId, prices: [...(await custodian.read.lastPrices())], pooledQuote, derivativesClaim, amounts };
    await env.exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
    return { accountId, amounts, pooledQuote, derivativesClaim };
  };
  const exit = async (w: typeof alice, accountId: number, byToken: Record<number, bigint>, derivativesClaim = 0n, pooledQuote = 0n) => {
    const { amounts } = await expectExit(accountId, byToken, derivativesClaim, pooledQuote);
    await publicClient.waitForTransactionReceipt({ hash: await custodian.write.exit([accountId, amounts, pooledQuote, derivativesClaim, PROOF], { account: w.account }) });
  };
  const clients = (w: typeof alice) => ({ publicClient: publicClient as unknown as PublicClient, walletClient: w as unknown as WalletClient });
  return { ...env, quirky, tokens, windowEnd, setCode, restore, refuseTransfers, expectExit, exit, clients };
}

/**
 * `publicClient` as a node that fails some answers (a hiccup, a rate limit: viem's HTTP error, over several lines):
 * `readContract` of each function named in `reads`, and every `waitForTransactionReceipt` with `receipts`; the other
 * calls pass. `failed` lists what was refused (function names, "receipt"), so a test sees the failure was met.
 */
export function flakyClient(publicClient: PublicClient, o: { reads?: readonly string[]; receipts?: boolean }): PublicClient & { failed: string[] } {
  const failed: string[] = [];
  const refuse = (what: string) => {
    failed.push(what);
    return Promise.reject(new Error("HTTP request failed.\n\nStatus: 429\nURL: http://node.example/rpc\nDetails: rate limited"));
  };
  return new Proxy(publicClient, {
    get(target, prop, receiver) {
      if (prop === "failed") return failed;
      if (prop === "readContract") {
        return (args: { functionName: string }) => (o.reads?.includes(args.functionName) ? refuse(args.functionName) : target.readContract(args as never));
      }
      if (prop === "waitForTransactionReceipt" && o.receipts) return () => refuse("receipt");
      return Reflect.get(target, prop, receiver);
    },
  }) as PublicClient & { failed: string[] };
}
