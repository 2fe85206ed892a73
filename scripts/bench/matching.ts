/**
 * Matching engine throughput on a seeded random order flow, beside the naive reference model, plus the
 * cost of the price-level structure (sorted array + binary search) at increasing book depths.
 *
 *   npx tsx scripts/bench/matching.ts [commands=100000] [seed=1]
 */
import { MatchingEngine } from "../../sequencer/matching/engine.ts";
import { BookSide, RestingOrder } from "../../sequencer/matching/bookSide.ts";
import type { Command, EngineEvent } from "../../sequencer/matching/types.ts";
import { QUOTE_TOKEN_ID, Side } from "../../sequencer/protocol/constants.ts";
import { SpotRisk } from "../../sequencer/risk/spotRisk.ts";
import { MARKETS, registry, sell } from "../fixtures/matching/helpers.ts";
import { DEFAULT_FLOW, randomFlow } from "../fixtures/matching/randomFlow.ts";
import { ReferenceModel } from "../fixtures/matching/referenceModel.ts";

const N = Number(process.argv[2] ?? 100_000);
const SEED = Number(process.argv[3] ?? 1);
const ACCOUNTS = 50;

const flow = randomFlow({
  seed: SEED,
  ...DEFAULT_FLOW,
  accounts: ACCOUNTS,
  spread: 20,
  cancelPct: 25,
  cancelAllPct: 1,
  invalidPct: 1,
  expiredPct: 1,
  reuseIdPct: 1,
  marketPct: 5,
});
const commands: Command[] = Array.from({ length: N }, () => flow.next());

function time(f: () => void): number {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function runEngine(withRisk: boolean): { seconds: number; fills: number; live: number; events: number } {
  let risk: SpotRisk | undefined;
  if (withRisk) {
    risk = new SpotRisk();
    for (let a = 1; a <= ACCOUNTS; a++) {
      risk.credit(a, QUOTE_TOKEN_ID, 10n ** 24n);
      for (const m of MARKETS) risk.credit(a, m.baseTokenId, 10n ** 24n);
    }
  }
  const engine = new MatchingEngine({ markets: registry(), risk });
  const out: EngineEvent[] = [];
  let fills = 0;
  let events = 0;
  const seconds = time(() => {
    for (let i = 0; i < commands.length; i++) {
      out.length = 0;
      engine.execute(commands[i], out);
      events += out.length;
      for (let j = 0; j < out.length; j++) if (out[j].type === "fill") fills++;
    }
  });
  return { seconds, fills, live: engine.snapshot().orders.length, events };
}

function runModel(count: number): number {
  const model = new ReferenceModel(MARKETS);
  return time(() => {
    for (let i = 0; i < count; i++) model.execute(commands[i]);
  });
}

const fmt = (x: number): string => Math.round(x).toLocaleString("en-US");

console.log(`node ${process.version}, ${N.toLocaleString("en-US")} commands, seed ${SEED}, ${ACCOUNTS} accounts, 2 markets`);
for (const withRisk of [false, true]) {
  const runs = [0, 1, 2, 3, 4].map(() => runEngine(withRisk));
  const r = runs[0];
  const secs = runs.slice(1).map((x) => x.seconds); // first run is JIT warm-up
  console.log(
    `engine${withRisk ? " + SpotRisk" : "           "}: ${fmt(N / median(secs))} commands/s median (best ${fmt(N / Math.min(...secs))}, cold ${fmt(N / r.seconds)}); ` +
      `${fmt(r.fills)} fills, ${fmt(r.events)} events, ${fmt(r.live)} orders resting at the end`,
  );
}
const modelCount = Math.min(N, 100_000);
runModel(Math.min(modelCount, 5_000)); // warm-up
const ms = runModel(modelCount);
console.log(`reference model     : ${fmt(modelCount / ms)} commands/s (${fmt(modelCount)} commands, ${ms.toFixed(2)} s)`);

// Price levels: insert + remove of one level (an order at a new price) at the top of the book (the
// common case), in the middle and at the bottom (a full memmove of the level array), with `depth`
// levels already present. Asks at prices 1000, 1002, ..., so odd prices are new levels.
console.log("price levels (two-level B+tree, priceLevels.ts), ns per insert+remove of one level:");
for (const depth of [1_000, 10_000, 100_000]) {
  const side = new BookSide(Side.SELL);
  for (let i = 0; i < depth; i++) side.add(new RestingOrder(sell(1, BigInt(i), BigInt(1000 + 2 * i), 1n), i));
  const reps = 20_000;
  const bench = (price: bigint): number => {
    const os = Array.from({ length: reps }, (_, i) => new RestingOrder(sell(2, BigInt(i), price, 1n), i));
    const s = time(() => {
      for (const o of os) {
        side.add(o);
        side.remove(o);
      }
    });
    return (s * 1e9) / reps;
  };
  const top = 999n;
  const middle = BigInt(1000 + depth + 1);
  const bottom = BigInt(1000 + 2 * depth + 1);
  for (const p of [top, middle, bottom]) bench(p); // warm-up
  console.log(
    `  ${String(depth).padStart(7)} levels: top ${bench(top).toFixed(0)} ns, middle ${bench(middle).toFixed(0)} ns, bottom ${bench(bottom).toFixed(0)} ns`,
  );
}
