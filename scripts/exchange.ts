/**
 * The exchange's command-line client (commander), on the TypeScript SDK (sequencer/sdk/):
 *
 *   npm run cli -- key --wallet-key 0x.. --chain-id 31337 --custodian 0x.. [--register --rpc URL]
 *   npm run cli -- deposit --rpc URL --custodian 0x.. --wallet-key 0x.. --token 0x.. --token-id 1 --amount 1000
 *   npm run cli -- --api URL --account 3 --trading-key 0x.. order --market 0 --side buy --price 300000 --size 10
 *   ... cancel <orderId> | cancel-all [--market 0] | orders [--status open] | fills | account [id]
 *   ... book <market> [--levels 10] | withdraw --token-id 1 --amount 5 [--claim --rpc URL --custodian 0x.. --wallet-key 0x..]
 *   ... transfer --to-collateral|--to-spot --amount 1000000 | positions [id] | instruments
 *   ... stream --market 0 [--private] [--count N]
 *   npm run cli -- verify --rpc URL --custodian 0x.. [--params test|devnet|production] [--vkey path] [--checkpoint F] [--save-checkpoint F]   (progress bar)
 *   npm run cli -- force-withdraw --rpc URL --custodian 0x.. --wallet-key 0x.. --token-id 1 --amount 5 [--collateral]
 *   npm run cli -- force-close --rpc URL --custodian 0x.. --wallet-key 0x.. --instrument 0 [--counterparty 2 --lots 10] [--checkpoint F]
 *   npm run cli -- exodus --rpc URL --custodian 0x.. --wallet-key 0x..      (once a request is past its deadline)
 *   npm run cli -- treasury-withdraw --rpc URL --custodian 0x.. --wallet-key 0x.. --fund fee|insurance --amount 5   (operator)
 *   npm run cli -- exit --rpc URL --custodian 0x.. --wallet-key 0x.. [--vkey V --exit-wasm W --exit-zkey Z --exit-vkey K] [--from-block B --log-range N] [--checkpoint F]
 *   npm run cli -- claim-derivatives --rpc URL --custodian 0x.. --wallet-key 0x.. [--from-block B --log-range N]   (after the exodus claim window)
 *   npm run cli -- claim-exit-remainder --rpc URL --custodian 0x.. --wallet-key 0x.. --token-id 2 [--for-account 3]
 *   npm run cli -- exit-remainders --rpc URL --custodian 0x.. (--wallet-key 0x.. | --for-account 3) [--from-block B --log-range N]
 *
 * Options also come from the environment: EXCHANGE_API, EXCHANGE_ACCOUNT, EXCHANGE_TRADING_KEY,
 * EXCHANGE_WALLET_KEY. Output is JSON (bigints as decimal strings), one document per line; errors go to
 * stderr as "CODE: message" with exit status 1.
 */
import { Command, Option } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { bytesToHex, createPublicClient, createWalletClient, hexToBytes, http, isAddress, isHex, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { custodianAbi } from "../sequencer/chain/abi.ts";
import { publicKeyOf } from "../sequencer/crypto/babyjub.ts";
import { OrderType, Side, TimeInForce } from "../sequencer/protocol/constants.ts";
import { ExchangeClient, apiRequest } from "../sequencer/sdk/client.ts";
import {
  accountOf, activateExodus, claimWithdrawal, deposit, exodusStatus, FORCED_WAITING, forceClose, forceWithdraw, forceWithdrawCollateral, registerTradingKey,
  requestFeeWithdrawal, requestInsuranceWithdrawalCalldata, type ChainClients,
} from "../sequencer/sdk/custodian.ts";
import { deriveTradingKey } from "../sequencer/sdk/tradingKey.ts";
import { ApiRequestError, toJson } from "../sequencer/sdk/wire.ts";
import { isMainModule } from "./lib/mainModule.ts";
import { PARAMS_NAMES, type ParamsName } from "../sequencer/protocol/params.ts";

export type CliIo = { out: (line: string) => void; err: (line: string) => void };

const TIF = { gtc: TimeInForce.GTC, ioc: TimeInForce.IOC, fok: TimeInForce.FOK, "post-only": TimeInForce.POST_ONLY } as const;

const int = (what: string) => (v: string) => {
  if (!/^(0|[1-9][0-9]*)$/.test(v)) throw new Error(`${what} must be a non-negative integer, got ${v}`);
  return BigInt(v);
};
/** A positive block count (a log range: at least one block). */
const blocks = (what: string) => (v: string) => {
  const n = int(what)(v);
  if (n < 1n) throw new Error(`${what} must be at least 1 block, got ${v}`);
  return n;
};
const hex32 = (what: string) => (v: string): Hex => {
  if (!isHex(v) || v.length !== 66) throw new Error(`${what} must be 32 bytes of hex (0x + 64 digits)`);
  return v;
};

type Globals = { api: string; account?: bigint; tradingKey?: Hex };

function chainClients(rpc: string, walletKey: Hex): ChainClients {
  const account = privateKeyToAccount(walletKey);
  return {
    publicClient: createPublicClient({ transport: http(rpc) }) as PublicClient,
    walletClient: createWalletClient({ transport: http(rpc), account }),
  };
}

function address(v: string): Address {
  if (!isAddress(v)) throw new Error(`${v} is not an address`);
  return v;
}

/** The CLI as a commander program writing to `io` (the test drives it in-process). */
export function buildExchangeCli(io: CliIo = { out: console.log, err: console.error }): Command {
  const print = (v: unknown) => io.out(toJson(v));
  const program = new Command()
    .name("exchange")
    .description("Trade on the exchange from the command line (the SDK's verbs)")
    .addOption(new Option("--api <url>", "base URL of the exchange API").env("EXCHANGE_API").default("http://127.0.0.1:8080"))
    .addOption(new Option("--account <id>", "your account id").env("EXCHANGE_ACCOUNT").argParser(int("--account")))
    .addOption(new Option("--trading-key <hex>", "your trading private key (from `key`)").env("EXCHANGE_TRADING_KEY").argParser(hex32("--trading-key")))
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();

  const client = (): ExchangeClient => {
    const g = program.opts<Globals>();
    if (g.account === undefined || !g.tradingKey) throw new Error("this verb needs --account and --trading-key (or EXCHANGE_ACCOUNT, EXCHANGE_TRADING_KEY)");
    const privateKey = hexToBytes(g.tradingKey);
    return new ExchangeClient({ url: g.api, accountId: Number(g.account), tradingKey: { privateKey, publicKey: publicKeyOf(privateKey) } });
  };
  const walletKeyOption = () => new Option("--wallet-key <hex>", "Ethereum private key of your wallet").env("EXCHANGE_WALLET_KEY").argParser(hex32("--wallet-key")).makeOptionMandatory();

  program
    .command("key")
    .description("derive your trading key from your wallet (EIP-712); --register also registers it on the custodian")
    .addOption(walletKeyOption())
    .requiredOption("--chain-id <n>", "chain id", int("--chain-id"))
    .requiredOption("--custodian <address>", "custodian contract", address)
    .option("--key-index <n>", "which key of the wallet", int("--key-index"), 0n)
    .option("--register", "register the key on the custodian (needs --rpc)", false)
    .option("--rpc <url>", "JSON-RPC URL of the chain")
    .action(async (o: { walletKey: Hex; chainId: bigint; custodian: Address; keyIndex: bigint; register: boolean; rpc?: string }) => {
      const key = await deriveTradingKey(privateKeyToAccount(o.walletKey), Number(o.chainId), o.custodian, Number(o.keyIndex));
      const out: Record<string, unknown> = { tradingKey: bytesToHex(key.privateKey), publicKey: key.publicKey };
      if (o.register) {
        if (!o.rpc) throw new Error("--register needs --rpc");
        out.accountId = await registerTradingKey(chainClients(o.rpc, o.walletKey), o.custodian, key.publicKey);
      }
      print(out);
    });

  program
    .command("deposit")
    .description("approve and deposit tokens into your account (on-chain)")
    .addOption(walletKeyOption())
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "custodian contract", address)
    .requiredOption("--token <address>", "ERC20 token", address)
    .requiredOption("--token-id <n>", "the custodian's id of the token", int("--token-id"))
    .requiredOption("--amount <n>", "amount in the token's smallest unit", int("--amount"))
    .action(async (o: { walletKey: Hex; rpc: string; custodian: Address; token: Address; tokenId: bigint; amount: bigint }) => {
      const c = chainClients(o.rpc, o.walletKey);
      await deposit(c, o.custodian, o.token, Number(o.tokenId), o.amount);
      print({ status: "deposited", accountId: await accountOf(c.publicClient, o.custodian, c.walletClient.account!.address), tokenId: Number(o.tokenId), amount: o.amount });
    });

  program
    .command("order")
    .description("sign and place an order")
    .requiredOption("--market <id>", "market id", int("--market"))
    .addOption(new Option("--side <side>", "buy or sell").choices(["buy", "sell"]).makeOptionMandatory())
    .requiredOption("--price <ticks>", "limit price in ticks (worst price for a market order)", int("--price"))
    .requiredOption("--size <lots>", "size in lots", int("--size"))
    .addOption(new Option("--type <type>", "order type").choices(["limit", "market"]).default("limit"))
    .addOption(new Option("--tif <tif>", "time in force").choices(Object.keys(TIF)).default("gtc"))
    .option("--max-fee-ppm <n>", "highest fee rate accepted", int("--max-fee-ppm"), 1000n)
    .option("--order-id <id>", "order id (default: the client's next)", int("--order-id"))
    .action(async (o: { market: bigint; side: "buy" | "sell"; price: bigint; size: bigint; type: "limit" | "market"; tif: keyof typeof TIF; maxFeePpm: bigint; orderId?: bigint }) => {
      const r = await client().placeOrder({
        marketId: Number(o.market), side: o.side === "buy" ? Side.BUY : Side.SELL, priceTicks: o.price, sizeLots: o.size,
        type: o.type === "market" ? OrderType.MARKET : OrderType.LIMIT, timeInForce: TIF[o.tif], maxFeePpm: Number(o.maxFeePpm), orderId: o.orderId,
      });
      print({ orderId: r.order.orderId, events: r.events });
    });

  program
    .command("cancel")
    .description("cancel one order")
    .argument("<orderId>", "order id", int("orderId"))
    .action(async (orderId: bigint) => print({ events: await client().cancel(orderId) }));

  program
    .command("cancel-all")
    .description("cancel every open order (one signed cancel each)")
    .option("--market <id>", "only this market", int("--market"))
    .action(async (o: { market?: bigint }) => {
      const results = await client().cancelAll(o.market === undefined ? undefined : Number(o.market));
      print({ cancelled: results.filter((r) => r.result.status === 200).length, results });
    });

  program
    .command("orders")
    .description("your orders, newest first")
    .addOption(new Option("--status <status>", "only these").choices(["open", "filled", "cancelled"]))
    .option("--limit <n>", "at most this many", int("--limit"))
    .action(async (o: { status?: "open" | "filled" | "cancelled"; limit?: bigint }) => print(await client().orders({ status: o.status, limit: o.limit === undefined ? undefined : Number(o.limit) })));

  program
    .command("fills")
    .description("your fills, newest first")
    .option("--limit <n>", "at most this many", int("--limit"))
    .action(async (o: { limit?: bigint }) => print(await client().fills({ limit: o.limit === undefined ? undefined : Number(o.limit) })));

  /** GET /v1/accounts/<id><suffix> for the given account, or --account's. */
  const readAccount = async (id: bigint | undefined, suffix: string) => {
    const g = program.opts<Globals>();
    const accountId = id ?? g.account;
    if (accountId === undefined) throw new Error("give an account id or --account");
    return apiRequest(g.api, "GET", `/v1/accounts/${accountId}${suffix}`);
  };

  program
    .command("account")
    .description("balances, reserved amounts and open orders (yours, or any account's)")
    .argument("[accountId]", "account id (default: --account)", int("accountId"))
    .action(async (id?: bigint) => print(await readAccount(id, "")));

  program
    .command("book")
    .description("order book depth of a market")
    .argument("<marketId>", "market id", int("marketId"))
    .option("--levels <n>", "levels per side", int("--levels"), 10n)
    .action(async (marketId: bigint, o: { levels: bigint }) => print(await apiRequest(program.opts<Globals>().api, "GET", `/v1/markets/${marketId}/book?levels=${o.levels}`)));

  program
    .command("withdraw")
    .description("ask the sequencer to withdraw; --claim then claims on-chain what proven batches credited")
    .requiredOption("--token-id <n>", "token id", int("--token-id"))
    .option("--amount <n>", "amount to withdraw", int("--amount"))
    .option("--nonce <n>", "withdrawal nonce (default: the account's next)", int("--nonce"))
    .option("--claim", "claim credited withdrawals on-chain (needs --rpc, --custodian, --wallet-key)", false)
    .option("--rpc <url>", "JSON-RPC URL of the chain")
    .option("--custodian <address>", "custodian contract", address)
    .addOption(new Option("--wallet-key <hex>", "Ethereum private key of your wallet").env("EXCHANGE_WALLET_KEY").argParser(hex32("--wallet-key")))
    .action(async (o: { tokenId: bigint; amount?: bigint; nonce?: bigint; claim: boolean; rpc?: string; custodian?: Address; walletKey?: Hex }) => {
      if (o.claim) {
        if (!o.rpc || !o.custodian || !o.walletKey) throw new Error("--claim needs --rpc, --custodian and --wallet-key");
        await claimWithdrawal(chainClients(o.rpc, o.walletKey), o.custodian, Number(o.tokenId));
        print({ status: "claimed", tokenId: Number(o.tokenId) });
        return;
      }
      if (o.amount === undefined) throw new Error("withdraw needs --amount (or --claim)");
      const w = await client().withdraw(Number(o.tokenId), o.amount, o.nonce === undefined ? undefined : Number(o.nonce));
      print({ status: "accepted", tokenId: w.tokenId, amount: w.amount, nonce: w.nonce });
    });

  program
    .command("transfer")
    .description("move quote (token 0) between your spot balance and derivatives collateral (nonce shared with withdrawals)")
    .option("--to-collateral", "spot balance -> collateral")
    .option("--to-spot", "collateral -> spot balance (only what margin leaves free)")
    .requiredOption("--amount <n>", "amount in quote units (1e-6)", int("--amount"))
    .option("--nonce <n>", "nonce (default: the account's next)", int("--nonce"))
    .action(async (o: { toCollateral?: boolean; toSpot?: boolean; amount: bigint; nonce?: bigint }) => {
      if (!o.toCollateral === !o.toSpot) throw new Error("give exactly one of --to-collateral and --to-spot");
      const t = await client().transfer(!!o.toCollateral, o.amount, o.nonce === undefined ? undefined : Number(o.nonce));
      print({ status: "accepted", toCollateral: t.toCollateral, amount: t.amount, nonce: t.nonce });
    });

  program
    .command("positions")
    .description("derivatives: collateral, equity, margin used, positions with PnL and Greeks (yours, or any account's)")
    .argument("[accountId]", "account id (default: --account)", int("accountId"))
    .action(async (id?: bigint) => print(await readAccount(id, "/derivatives")));

  program
    .command("instruments")
    .description("registered derivatives instruments with their marks at the latest oracle update")
    .action(async () => print(await apiRequest(program.opts<Globals>().api, "GET", "/v1/instruments")));

  program
    .command("stream")
    .description("print stream messages (book, trades; --private: your orders and fills) as JSON lines")
    .option("--market <id>", "market to watch", int("--market"))
    .option("--levels <n>", "book levels", int("--levels"), 10n)
    .option("--private", "authenticate and include your orders and fills", false)
    .option("--batches", "include batch settlement events", false)
    .option("--count <n>", "stop after this many messages (default: run until interrupted)", int("--count"))
    .action(async (o: { market?: bigint; levels: bigint; private: boolean; batches: boolean; count?: bigint }) => {
      const g = program.opts<Globals>();
      const { StreamClient } = await import("../sequencer/sdk/streamClient.ts");
      const s = o.private ? await client().stream() : await StreamClient.connect(`${g.api.replace(/^http/, "ws")}/v1/stream`);
      let left = o.count === undefined ? Infinity : Number(o.count);
      const done = new Promise<void>((resolve) => {
        s.on("message", (m) => {
          if (left <= 0) return;
          print(m);
          if (--left === 0) resolve();
        });
        s.on("close", resolve);
      });
      if (o.batches) await s.subscribeBatches();
      if (o.market !== undefined) await s.subscribeMarket(Number(o.market), Number(o.levels));
      await done;
      await s.close();
    });

  program
    .command("force-withdraw")
    .description("queue a forced withdrawal on the custodian (the operator must prove it within the deadline, or exodus opens)")
    .addOption(walletKeyOption())
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "custodian contract", address)
    .requiredOption("--token-id <n>", "token id (with --collateral: the quote token 0)", int("--token-id"))
    .requiredOption("--amount <n>", "amount in the token's smallest unit", int("--amount"))
    .option("--collateral", "withdraw derivatives collateral (honoured only within the account's margin)", false)
    .action(async (o: { walletKey: Hex; rpc: string; custodian: Address; tokenId: bigint; amount: bigint; collateral: boolean }) => {
      const c = chainClients(o.rpc, o.walletKey);
      if (o.collateral && o.tokenId !== 0n) throw new Error("--collateral withdraws the quote token: --token-id must be 0");
      const index = o.collateral ? await forceWithdrawCollateral(c, o.custodian, o.amount) : await forceWithdraw(c, o.custodian, Number(o.tokenId), o.amount);
      const status = await exodusStatus(c.publicClient, o.custodian);
      const waiting = index === FORCED_WAITING; // the custodian's forced requests are full: a batch admits it, oldest first
      print({ status: waiting ? "waiting" : "queued", requestIndex: waiting ? null : index, tokenId: Number(o.tokenId), amount: o.amount, collateral: o.collateral, deadlineSeconds: status.requestDeadline });
    });

  program
    .command("force-close")
    .description("queue a forced close of your position against an account on the other side, at the batch's mark (the operator must prove it within the deadline, or exodus opens)")
    .addOption(walletKeyOption())
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "custodian contract", address)
    .requiredOption("--instrument <id>", "instrument id", int("--instrument"))
    .option("--counterparty <id>", "the account that takes the lots (default: the largest holder of the other side in the state rebuilt from chain data)", int("--counterparty"))
    .option("--lots <n>", "lots to close (with --counterparty; default: as many as both hold)", int("--lots"))
    .addOption(new Option("--params <set>", "circuit parameter set (to rebuild the state)").choices(PARAMS_NAMES).default("test"))
    .option("--vkey <path>", "verification key JSON of the batch circuit (to rebuild the state; default: this checkout's dev build)")
    .option("--from-block <n>", "first block of the custodian's events", int("--from-block"), 0n)
    .option("--checkpoint <file>", "resume the rebuild from a checkpoint (npm run verify -- --save-checkpoint FILE), checked against its batch's root on chain")
    .action(async (o: { walletKey: Hex; rpc: string; custodian: Address; instrument: bigint; counterparty?: bigint; lots?: bigint; params: ParamsName; vkey?: string; fromBlock: bigint; checkpoint?: string }) => {
      const c = chainClients(o.rpc, o.walletKey);
      const instrumentId = Number(o.instrument);
      if ((o.counterparty === undefined) !== (o.lots === undefined)) throw new Error("--counterparty and --lots go together (or neither: both are found in the state rebuilt from chain data)");
      let counterpartyId = o.counterparty === undefined ? undefined : Number(o.counterparty);
      let lots = o.lots;
      if (counterpartyId === undefined) {
        const { rebuiltState } = await import("./verify.ts");
        const accountId = await accountOf(c.publicClient, o.custodian, c.walletClient.account!.address);
        if (accountId === 0) throw new Error("this wallet has no account on the custodian");
        const state = await rebuiltState({ publicClient: c.publicClient, custodian: o.custodian, params: o.params, vkey: o.vkey, fromBlock: o.fromBlock, checkpoint: o.checkpoint, print: io.err });
        const { closeCounterparty } = await import("../sequencer/sdk/forcedClose.ts");
        const pick = closeCounterparty(state, accountId, instrumentId);
        if (!pick) throw new Error(`account ${accountId} holds no position in instrument ${instrumentId} that another account holds the other side of`);
        ({ counterpartyId, lots } = pick);
      }
      const index = await forceClose(c, o.custodian, instrumentId, counterpartyId, lots!);
      const status = await exodusStatus(c.publicClient, o.custodian);
      const waiting = index === FORCED_WAITING;
      print({ status: waiting ? "waiting" : "queued", requestIndex: waiting ? null : index, instrumentId, counterpartyId, lots, deadlineSeconds: status.requestDeadline });
    });

  program
    .command("treasury-withdraw")
    .description("operator: queue a withdrawal of the fee pool, paid to the custodian's fee recipient once a batch proves it honoured; --fund insurance prints the timelock call that queues one of the insurance fund (TIMELOCK_ROLE only)")
    .addOption(walletKeyOption())
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "custodian contract", address)
    .addOption(new Option("--fund <fund>", "what to withdraw from").choices(["fee", "insurance"]).makeOptionMandatory())
    .requiredOption("--amount <n>", "amount in quote units (token 0)", int("--amount"))
    .action(async (o: { walletKey: Hex; rpc: string; custodian: Address; fund: "fee" | "insurance"; amount: bigint }) => {
      const c = chainClients(o.rpc, o.walletKey);
      const read = (functionName: "feeRecipient" | "insuranceRecipient" | "timelock") => c.publicClient.readContract({ address: o.custodian, abi: custodianAbi, functionName });
      if (o.fund === "insurance") {
        // the timelock alone may queue it: print what its proposer schedules (TimelockController.schedule, then execute after the delay)
        const data = requestInsuranceWithdrawalCalldata(o.amount);
        print({ status: "schedule through the timelock", timelock: await read("timelock"), target: o.custodian, value: 0n, data, fund: o.fund, amount: o.amount, recipient: await read("insuranceRecipient") });
        return;
      }
      const index = await requestFeeWithdrawal(c, o.custodian, o.amount);
      print({ status: "queued", requestIndex: index, fund: o.fund, amount: o.amount, recipient: await read("feeRecipient") });
    });

  program
    .command("exodus")
    .description("switch the custodian to exodus mode (anyone may, once a queued request is past its deadline)")
    .addOption(walletKeyOption())
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "custodian contract", address)
    .action(async (o: { walletKey: Hex; rpc: string; custodian: Address }) => {
      await activateExodus(chainClients(o.rpc, o.walletKey), o.custodian);
      print({ status: "exodus" });
    });

  program
    .command("exit")
    .description("exodus: rebuild the state from chain data, prove your account's claim and withdraw it (no operator needed)")
    .addOption(walletKeyOption())
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "custodian contract", address)
    .addOption(new Option("--params <set>", "circuit parameter set").choices(PARAMS_NAMES).default("test"))
    .option("--vkey <path>", "verification key JSON of the batch circuit (default: this checkout's dev build)")
    .option("--exit-wasm <path>", "the exit circuit's witness calculator (default: this checkout's dev build)")
    .option("--exit-zkey <path>", "the exit circuit's proving key (default: this checkout's dev build)")
    .option("--exit-vkey <path>", "the exit circuit's verification key (default: this checkout's dev build)")
    .option("--from-block <n>", "first block of the custodian's events", int("--from-block"), 0n)
    .option("--log-range <n>", "most blocks one eth_getLogs call spans (default 10000; a range the node refuses is read again in halves)", blocks("--log-range"))
    .option("--checkpoint <file>", "resume the rebuild from a checkpoint (npm run verify -- --save-checkpoint FILE), checked against its batch's root on chain")
    .action(async (o: { walletKey: Hex; rpc: string; custodian: Address; params: ParamsName; vkey?: string; exitWasm?: string; exitZkey?: string; exitVkey?: string; fromBlock: bigint; logRange?: bigint; checkpoint?: string }) => {
      const { runExit } = await import("./exit.ts");
      await runExit({ ...o, clients: chainClients(o.rpc, o.walletKey), print, log: io.err });
    });

  program
    .command("claim-derivatives")
    .description("exodus, after the claim window: collect your account's share of the derivatives pot for the claim its exit recorded")
    .addOption(walletKeyOption())
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "custodian contract", address)
    .option("--from-block <n>", "first block of the custodian's events (bounds the search for a claim someone else paid)", int("--from-block"), 0n)
    .option("--log-range <n>", "most blocks one eth_getLogs call spans (default 10000)", blocks("--log-range"))
    .action(async (o: { walletKey: Hex; rpc: string; custodian: Address; fromBlock: bigint; logRange?: bigint }) => {
      const { runClaimDerivatives } = await import("./exit.ts");
      await runClaimDerivatives({ ...o, clients: chainClients(o.rpc, o.walletKey), print, log: io.err });
    });

  program
    .command("claim-exit-remainder")
    .description("exodus: pay an exit's recorded remainder of a token (what the exit could not pay) in full to the account's owner; then pull it if it is yours")
    .addOption(walletKeyOption())
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "custodian contract", address)
    .requiredOption("--token-id <n>", "token id", int("--token-id"))
    .option("--for-account <n>", "the exited account (default: the wallet's; anyone may pay another's)", int("--for-account"))
    .action(async (o: { walletKey: Hex; rpc: string; custodian: Address; tokenId: bigint; forAccount?: bigint }) => {
      const { runClaimExitRemainder } = await import("./exit.ts");
      await runClaimExitRemainder({
        clients: chainClients(o.rpc, o.walletKey), custodian: o.custodian, tokenId: Number(o.tokenId),
        forAccount: o.forAccount === undefined ? undefined : Number(o.forAccount), print, log: io.err,
      });
    });

  program
    .command("exit-remainders")
    .description("exodus: what still waits for an exited account (its exit remainders, its derivatives claim) and the command that claims each; sends nothing")
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "custodian contract", address)
    .addOption(new Option("--wallet-key <hex>", "Ethereum private key of your wallet (its account is read)").env("EXCHANGE_WALLET_KEY").argParser(hex32("--wallet-key")))
    .option("--for-account <n>", "the exited account (default: the wallet's)", int("--for-account"))
    .option("--from-block <n>", "first block of the custodian's events (bounds the search for the exit's remainders)", int("--from-block"), 0n)
    .option("--log-range <n>", "most blocks one eth_getLogs call spans (default 10000)", blocks("--log-range"))
    .action(async (o: { rpc: string; custodian: Address; walletKey?: Hex; forAccount?: bigint; fromBlock: bigint; logRange?: bigint }) => {
      const publicClient = createPublicClient({ transport: http(o.rpc) }) as PublicClient;
      let accountId = o.forAccount === undefined ? undefined : Number(o.forAccount);
      if (accountId === undefined) {
        if (!o.walletKey) throw new Error("exit-remainders needs --for-account or --wallet-key");
        accountId = await accountOf(publicClient, o.custodian, privateKeyToAccount(o.walletKey).address);
        if (accountId === 0) throw new Error("the wallet has no account: pass --for-account");
      }
      const { runExitRemainders } = await import("./exit.ts");
      await runExitRemainders({ publicClient, custodian: o.custodian, accountId, fromBlock: o.fromBlock, logRange: o.logRange, print, log: io.err });
    });

  program
    .command("verify")
    .description("rebuild the state from chain data and check every batch's proof and roots (scripts/verify.ts)")
    .requiredOption("--rpc <url>", "JSON-RPC URL of the chain")
    .requiredOption("--custodian <address>", "custodian contract")
    .addOption(new Option("--params <set>", "circuit parameter set").choices(PARAMS_NAMES).default("test"))
    .option("--vkey <path>", "verification key JSON of the batch circuit")
    .option("--checkpoint <file>", "resume from a checkpoint (the state after a batch, checked against its root on chain) instead of genesis")
    .option("--save-checkpoint <file>", "when everything matches, write a checkpoint of the rebuilt state (for later runs, exits and forced closes)")
    .action(async (o: { rpc: string; custodian: string; params: ParamsName; vkey?: string; checkpoint?: string; saveCheckpoint?: string }) => {
      const { verifyRpc, printReport } = await import("./verify.ts");
      const bar = new SingleBar({ format: "verify [{bar}] {value}/{total} batches | {status}", hideCursor: true }, Presets.shades_classic);
      let started = false;
      const report = await verifyRpc({
        ...o,
        print: io.err,
        onProgress: ({ done, total, batch }) => {
          if (!started) bar.start(total, 0, { status: "" });
          started = true;
          bar.update(done, { status: `batch ${batch.batchNumber} ${batch.ok ? "ok" : "MISMATCH"}` });
        },
      });
      if (started) bar.stop();
      printReport(report, io.out);
      if (!report.ok) throw new Error("verification FAILED");
    });

  return program;
}

/** Runs the CLI on `argv` (user arguments only); resolves with the exit status. */
export async function runExchangeCli(argv: readonly string[], io?: CliIo): Promise<number> {
  const program = buildExchangeCli(io);
  const err = io?.err ?? console.error;
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version") return 0;
    if (e instanceof ApiRequestError) err(e.message);
    else if (!code?.startsWith("commander.")) err(`error: ${(e as Error).message}`);
    return 1;
  }
}

if (isMainModule(import.meta.url)) process.exit(await runExchangeCli(process.argv.slice(2)));
