/**
 * The browser tests' exchange: a Hardhat node on a free port with the demo exchange, the sequencer's
 * service loop (requests pulled, batches proven and posted on their own), the API with the web page on a
 * free port, and a market maker (development wallet 1) whose post-only ladder rests on WETH/USDC around
 * 3,000 USDC (300,000 ticks). Derivatives: an oracle key, an ETH perpetual and a call and a put struck at
 * 3,000 a week out, one signed oracle update (ETH 3,000, vol 60%), and the maker's quotes on all three.
 * `stepFunding` ends a funding epoch at once (the feeder waits an hour) with a rate the test chooses.
 */
import { readFileSync } from "node:fs";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { buildExitCircuit } from "../../scripts/build/exitCircuit.ts";
import { buildMarkingCircuit, markingKeysOf } from "../../scripts/build/markingCircuit.ts";
import { readArtifact, registerInstrument, send, setOracleKey } from "../../scripts/deploy/deployExchange.ts";
import { publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { OracleFeeder } from "../../sequencer/sdk/oracleFeeder.ts";
import { signOracleUpdate } from "../../sequencer/derivatives/oracleSigner.ts";
import { createDefaultProver } from "../../fpga-prover/defaultProver.ts";
import { createApiServer } from "../../sequencer/api/server.ts";
import { INSTRUMENT_MARKET_BASE, InstrumentKind, Side, TimeInForce } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { apiRequest, ExchangeClient } from "../../sequencer/sdk/client.ts";
import { deposit, registerTradingKey } from "../../sequencer/sdk/custodian.ts";
import { deriveTradingKey } from "../../sequencer/sdk/tradingKey.ts";
import { Sequencer } from "../../sequencer/service/sequencer.ts";
import { registerWebPage } from "../../sequencer/web/server.ts";
import { startLocalExchange, type LocalExchange } from "../helpers/localExchange.ts";
import { volSlices } from "../helpers/derivatives.ts";

export const MID_TICKS = 300_000n;

/** A fixed development oracle key (INSECURE, tests only). */
const ORACLE_KEY = new Uint8Array(32).fill(9);
/** 1e-8 quote per ETH. */
export const usd = (dollars: number) => BigInt(Math.round(dollars * 100)) * 1_000_000n;

export type WebExchange = {
  url: string;
  ex: LocalExchange;
  sequencer: Sequencer;
  maker: ExchangeClient;
  /** Instrument ids of the perpetual, the call and the put. */
  instruments: { perp: number; call: number; put: number };
  /** Signs and posts an oracle update at ETH `price` dollars (derivatives orders need one younger than 240 s). */
  publishOracle: (price: number) => Promise<void>;
  /** Signs and posts an oracle update at ETH `price` dollars that ends the funding epoch with the perpetual's rate `ratePpm`. */
  stepFunding: (price: number, ratePpm: bigint) => Promise<void>;
  /** The operator stops for good: no more requests pulled, no more batches. */
  stopOperator: () => Promise<void>;
  close: () => Promise<void>;
};

export async function startWebExchange(log: (line: string) => void = () => {}): Promise<WebExchange> {
  const circuit = await buildBatchCircuit(TEST_PARAMS);
  const exitCircuit = await buildExitCircuit(TEST_PARAMS);
  const markingCircuit = await buildMarkingCircuit(TEST_PARAMS);
  const ex = await startLocalExchange(circuit.verifierSol, exitCircuit.verifierSol, markingCircuit.verifierSol);
  const { custodian, usdc, weth } = ex.deployment;
  const chainId = await ex.publicClient.getChainId();
  const sequencer = new Sequencer({
    params: TEST_PARAMS,
    keys: { wasm: circuit.wasm, zkey: circuit.zkey, vkey: JSON.parse(readFileSync(circuit.vkey, "utf8")) },
    markingKeys: markingKeysOf(markingCircuit),
    marksRegistry: ex.deployment.marksRegistry,
    prover: createDefaultProver(() => {}).prover,
    chain: { publicClient: ex.publicClient, walletClient: ex.operator, custodian },
    makerFeePpm: 100,
    takerFeePpm: 500,
    log,
  });
  const api = createApiServer(sequencer, { exchange: { chainId, custodian } });
  registerWebPage(api, { chainId, custodian, params: "test", rpc: ex.publicClient, vkeyPath: circuit.vkey, devWallets: true, exitCircuit: { wasm: exitCircuit.wasm, zkey: exitCircuit.zkey, vkey: exitCircuit.vkey } });
  const url = await api.listen({ host: "127.0.0.1", port: 0 });
  const stopLoop = sequencer.start({ pollMs: 250, maxWaitMs: 500 });
  let stopped = false;

  // the market maker: wallet 1, funded, with a post-only ladder
  const mw = ex.wallet(1);
  const key = await deriveTradingKey(mw as never, chainId, custodian);
  const accountId = await registerTradingKey(ex.as(mw), custodian, key.publicKey);
  const token = readArtifact("test/TestToken.sol", "TestToken");
  for (const [addr, amount, tokenId] of [[usdc, 1_000_000n * 10n ** 6n, 0], [weth, 100n * 10n ** 18n, 1]] as const) {
    await send(ex.as(ex.operator), addr, token.abi, "mint", [mw.account!.address, amount]);
    await deposit(ex.as(mw), custodian, addr, tokenId, amount);
  }
  const maker = new ExchangeClient({ url, accountId, tradingKey: key, firstOrderId: 1n });
  for (let i = 0; ; i++) {
    const b = (await maker.account()).balances;
    if (b.some((x) => x.tokenId === 1 && x.available > 0n)) break;
    if (i > 120) throw new Error("the sequencer never credited the maker's deposits");
    await new Promise((r) => setTimeout(r, 250));
  }
  const ladder = [1n, 2n, 3n].flatMap((i) => [
    { marketId: 0, side: Side.BUY, timeInForce: TimeInForce.POST_ONLY, priceTicks: MID_TICKS - 500n * i, sizeLots: 1000n },
    { marketId: 0, side: Side.SELL, timeInForce: TimeInForce.POST_ONLY, priceTicks: MID_TICKS + 500n * i, sizeLots: 1000n },
  ]);
  const posted = await maker.placeOrders(ladder);
  if (posted.results.some((r) => r.status !== 200)) throw new Error(`the maker's ladder was refused: ${JSON.stringify(posted.results)}`);
  // derivatives: oracle key, a perpetual, a call and a put; one oracle update; the maker's quotes
  const admin = ex.as(ex.operator);
  await setOracleKey(admin, custodian, publicKeyOf(ORACLE_KEY));
  const expiry = Number((await ex.publicClient.getBlock()).timestamp) + 7 * 24 * 3600;
  const spec = { underlying: 0, lotSizeE6: 10_000n, tickSizeE8: 1_000_000n, imPpm: 100_000, mmPpm: 50_000, strike: 0n, expiry: 0, fundingCapPpm: 0 };
  const perp = await registerInstrument(admin, custodian, { ...spec, kind: InstrumentKind.PERPETUAL, fundingCapPpm: 500 });
  const call = await registerInstrument(admin, custodian, { ...spec, kind: InstrumentKind.CALL, strike: usd(3000), expiry });
  const put = await registerInstrument(admin, custodian, { ...spec, kind: InstrumentKind.PUT, strike: usd(3000), expiry });
  for (let i = 0; (await maker.instruments()).instruments.length < 3; i++) {
    if (i > 240) throw new Error("the sequencer never registered the instruments");
    await new Promise((r) => setTimeout(r, 250));
  }
  const feeder = new OracleFeeder({ url, key: ORACLE_KEY, fundingEpochSeconds: 3600 });
  const publishOracle = async (price: number) => void (await feeder.publish(maker, [usd(price)], [600_000n]));
  await publishOracle(3000);
  const stepFunding = async (price: number, ratePpm: bigint) => {
    const { fundingEpoch, instrumentSlots } = await maker.instruments();
    const rates = Array.from({ length: instrumentSlots }, (_, i) => (i === perp ? ratePpm : 0n));
    const update = signOracleUpdate(ORACLE_KEY, { time: Math.floor(Date.now() / 1000), fundingEpoch: fundingEpoch + 1, prices: [usd(price)], volSlices: volSlices(600_000n, 0n, expiry), rates });
    await apiRequest(url, "POST", "/v1/oracle/updates", update);
  };
  await maker.transfer(true, 100_000n * 10n ** 6n);
  const quotes = [
    { marketId: INSTRUMENT_MARKET_BASE + perp, side: Side.BUY, timeInForce: TimeInForce.POST_ONLY, priceTicks: MID_TICKS - 100n, sizeLots: 1000n },
    { marketId: INSTRUMENT_MARKET_BASE + perp, side: Side.SELL, timeInForce: TimeInForce.POST_ONLY, priceTicks: MID_TICKS + 100n, sizeLots: 1000n },
  ];
  const { instruments } = await maker.instruments();
  for (const id of [call, put]) {
    const markTicks = instruments.find((i) => i.instrumentId === id)!.markPerLot! / 100n; // tick value: 100 quote units per lot
    quotes.push({ marketId: INSTRUMENT_MARKET_BASE + id, side: Side.BUY, timeInForce: TimeInForce.POST_ONLY, priceTicks: (markTicks * 97n) / 100n, sizeLots: 300n });
    quotes.push({ marketId: INSTRUMENT_MARKET_BASE + id, side: Side.SELL, timeInForce: TimeInForce.POST_ONLY, priceTicks: (markTicks * 103n) / 100n, sizeLots: 300n });
  }
  const quoted = await maker.placeOrders(quotes);
  if (quoted.results.some((r) => r.status !== 200)) throw new Error(`the maker's derivatives quotes were refused: ${JSON.stringify(quoted.results)}`);
  return {
    url, ex, sequencer, maker, instruments: { perp, call, put }, publishOracle, stepFunding,
    stopOperator: async () => {
      if (!stopped) await stopLoop();
      stopped = true;
    },
    close: async () => {
      await api.close();
      if (!stopped) await stopLoop();
      ex.node.stop();
    },
  };
}
