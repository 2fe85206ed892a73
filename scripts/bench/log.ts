/**
 * `npm run bench:log`: what durability costs. Figures beside baselines measured in the same run:
 * 1. raw log appends (one signed order per record) into the SQLite store, committed in groups of 1..1000,
 *    with synchronous FULL and NORMAL, beside encoding the same records into memory only;
 * 2. sequencer intake (placeOrders, groups of 1..1000) with the store, beside the same sequencer without
 *    one. Signatures are not checked here (a verifier that accepts all): this measures the log, not
 *    EdDSA, which has its own benchmark;
 * 3. restart time: replaying the whole log, and restoring the latest snapshot plus the log after it.
 *
 *   npx tsx scripts/bench/log.ts [orders=20000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChainContext } from "../../sequencer/chain/custodianClient.ts";
import type { SignatureVerifier } from "../../sequencer/crypto/signatureVerifier.ts";
import { encodeJson } from "../../sequencer/persistence/codec.ts";
import { SqliteStore, type SqliteStoreOptions } from "../../sequencer/persistence/sqliteStore.ts";
import { OrderType, Side, TimeInForce, TxType } from "../../sequencer/protocol/constants.ts";
import type { Order, Signed } from "../../sequencer/protocol/messages.ts";
import { PRODUCTION_PARAMS } from "../../sequencer/protocol/params.ts";
import { Sequencer, type SequencerOptions } from "../../sequencer/service/sequencer.ts";
import type { VerifiedProver } from "../../fpga-prover/prover.ts";
import { int, machineLine, section, table } from "./util.ts";

const N = Number(process.argv[2] ?? 20_000);
const ACCOUNTS = 200;
const GROUPS = [1, 10, 100, 1000];
const trustAll: SignatureVerifier = { name: "trust-all (bench only)", verifyBatch: async (checks) => checks.map(() => true) };
const SIG = { r8x: 1n, r8y: 2n, s: 3n };

/** A seeded order flow around one price: about a third of the orders cross and fill. */
function orders(n: number): Signed<Order>[] {
  let x = 12345;
  const rand = (m: number) => ((x = (x * 1103515245 + 12345) & 0x7fffffff), x % m);
  const ids = new Array<bigint>(ACCOUNTS + 1).fill(0n);
  return Array.from({ length: n }, () => {
    const accountId = 1 + rand(ACCOUNTS);
    const side = rand(2) === 0 ? Side.BUY : Side.SELL;
    const priceTicks = BigInt(1000 + (side === Side.BUY ? -1 : 1) * (rand(30) - 10));
    return {
      accountId, orderId: ++ids[accountId], marketId: 0, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC,
      priceTicks, sizeLots: BigInt(1 + rand(5)), maxFeePpm: 1000, expiry: 2_000_000_000, signature: SIG,
    };
  });
}

function optionsOf(store?: SqliteStore): SequencerOptions {
  return {
    params: PRODUCTION_PARAMS, keys: { wasm: "", zkey: "", vkey: null }, prover: {} as VerifiedProver, chain: {} as ChainContext,
    verifier: trustAll, store, snapshotEvery: 0, clock: () => 1_700_000_000,
  };
}

/** A sequencer with the bench's market and funded accounts. */
function sequencer(store?: SqliteStore): Sequencer {
  const s = new Sequencer(optionsOf(store));
  s.acceptRequest({ type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 1n, priceUnit: 1n });
  for (let a = 1; a <= ACCOUNTS; a++) {
    s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: a, pubKey: [BigInt(a), 1n] });
    s.acceptRequest({ type: TxType.DEPOSIT, accountId: a, tokenId: 0, amount: 10n ** 15n });
    s.acceptRequest({ type: TxType.DEPOSIT, accountId: a, tokenId: 1, amount: 10n ** 15n });
  }
  return s;
}

const dirs: string[] = [];
function freshFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "bench-log-"));
  dirs.push(dir);
  return join(dir, "sequencer.db");
}

const perSecond = (count: number, ms: number) => int((count * 1000) / ms);

async function main(): Promise<void> {
  console.log(`# Durable log benchmark (${new Date().toISOString()})\n\n${machineLine()}\n\n${int(N)} orders, ${ACCOUNTS} accounts.`);
  const flow = orders(N);

  section("Log appends (records/s)");
  const records = flow.map((order) => ({ t: "order" as const, order, time: 1_700_000_000 }));
  const rows: (string | number)[][] = [];
  let t = performance.now();
  const memory: string[] = [];
  for (const r of records) memory.push(encodeJson(r));
  rows.push(["in memory (encode only): baseline", "-", perSecond(N, performance.now() - t)]);
  for (const synchronous of ["FULL", "NORMAL"] as SqliteStoreOptions["synchronous"][]) {
    for (const g of GROUPS) {
      const store = new SqliteStore(freshFile(), { synchronous });
      const count = g === 1 ? Math.min(N, 2000) : N; // one fsync per record: fewer of them
      t = performance.now();
      for (let i = 0; i < count; i++) {
        store.append(records[i]);
        if ((i + 1) % g === 0) store.commit();
      }
      store.commit();
      rows.push([`SQLite WAL, synchronous=${synchronous}`, g, perSecond(count, performance.now() - t)]);
      store.close();
    }
  }
  console.log(table(["store", "records per commit", "records/s"], rows));

  section("Sequencer intake, placeOrders (orders/s; signatures not checked)");
  const intake: (string | number)[][] = [];
  for (const g of GROUPS) {
    const count = g === 1 ? Math.min(N, 2000) : N;
    const run = async (s: Sequencer) => {
      const t0 = performance.now();
      for (let i = 0; i < count; i += g) await s.placeOrders(flow.slice(i, Math.min(i + g, count)));
      return performance.now() - t0;
    };
    const base = await run(sequencer());
    const store = new SqliteStore(freshFile());
    const durable = await run(sequencer(store));
    store.close();
    intake.push([g, perSecond(count, base), perSecond(count, durable), `${((100 * (durable - base)) / base).toFixed(0)}%`]);
  }
  console.log(table(["orders per call (group commit)", "in memory: baseline", "SQLite FULL", "overhead"], intake));

  section("Restart");
  // One log of every order, with a snapshot taken 10% before its end.
  const path = freshFile();
  const store = new SqliteStore(path);
  const live = sequencer(store);
  const tail = Math.max(100, Math.floor(N / 1000) * 100);
  let snapshotMs = 0;
  for (let i = 0; i < N; i += 100) {
    if (i === N - tail) {
      const t0 = performance.now();
      store.saveSnapshot(store.lastSeq, live.snapshot());
      snapshotMs = performance.now() - t0;
    }
    await live.placeOrders(flow.slice(i, i + 100));
  }
  const total = store.lastSeq;
  store.close();
  const restart = (recoverFrom: "log" | "snapshot") => {
    const reopened = new SqliteStore(path);
    const t0 = performance.now();
    new Sequencer({ ...optionsOf(reopened), recoverFrom });
    const ms = performance.now() - t0;
    reopened.close();
    return ms;
  };
  console.log(table(["restart", "records replayed", "time"], [
    ["replay the whole log (baseline)", int(total), `${restart("log").toFixed(0)} ms`],
    ["latest snapshot + the log after it", int(tail), `${restart("snapshot").toFixed(0)} ms`],
    ["(writing that snapshot)", "-", `${snapshotMs.toFixed(0)} ms`],
  ]));
  if (process.env.KEEP_BENCH_FILES) console.log(`kept ${path}`);
  else for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

await main();
