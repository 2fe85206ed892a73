/**
 * `npx tsx scripts/bench/singleChecks.ts [--n=10000] [--verifier=native|js] [--threads=N]`: what junk-signed single requests cost
 * the server's JavaScript (main) thread.
 *
 * 1. One signature check as a single cancel, withdrawal or transfer gets it (Sequencer.signedBy: the configured
 *    verifier called with one check, synchronously), beside the per-signature cost of a group of 16 and of 256
 *    (the native verifier's batch path: off the main thread from 16).
 * 2. A flood: --n single cancels with a wrong signature (each a valid shape, in bob's name, carrying a signature of
 *    alice's: each is checked, then refused BAD_SIGNATURE) sent as fast as one WebSocket connection may, and --n / 10
 *    junk single withdrawals over HTTP (32 in flight). Reported: the time until every answer arrived, the main-thread
 *    time spent inside verifier calls (their synchronous part), how many verifier calls there were, the time the calls
 *    that ran off the main thread took (summed over calls, which overlap: the intake verifies up to two groups at once;
 *    a group of junk costs the batch verifier more than single checks would, as it bisects down to them), the event loop's
 *    worst delay (perf_hooks.monitorEventLoopDelay) and its utilisation. The client runs in the same process (its
 *    messages are serialised before the clock starts), so the delays include its socket writes.
 *
 * --threads: the native verifier's threads (default: every core; on a machine of few cores they compete with the main
 * thread, whose event loop delays then grow while a group verifies).
 *
 * The per-source rate limit is lifted for the flood: at the default limits (burst 10,000, 5,000 a second) one source
 * may send 10,000 requests at once and 5,000 a second after that.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import WebSocket from "ws";
import { createApiServer } from "../../sequencer/api/server.ts";
import { nativeSignatureVerifier } from "../../sequencer/crypto/nativeSignatureVerifier.ts";
import { jsSignatureVerifier, type SignatureVerifier } from "../../sequencer/crypto/signatureVerifier.ts";
import { cancelMessage } from "../../sequencer/protocol/messages.ts";
import { signCancel, signWithdrawal } from "../../sequencer/protocol/signing.ts";
import { toJson } from "../../sequencer/wire/schemas.ts";
import { alice, bob, offlineSequencer } from "../fixtures/offlineSequencer.ts";

const arg = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const N = Number(arg("n", "10000"));
const threads = process.argv.some((a) => a.startsWith("--threads=")) ? Number(arg("threads", "0")) : undefined;
const base = arg("verifier", "native") === "js" ? jsSignatureVerifier : nativeSignatureVerifier({ threads });

/** The verifier, timing the synchronous part of each call (the time the calling thread is held). */
function timed(v: SignatureVerifier) {
  const stats = { calls: 0, checks: 0, syncMs: 0, maxSyncMs: 0, asyncMs: 0, sizes: new Map<number, number>() };
  const verifier: SignatureVerifier = {
    name: `timed ${v.name}`,
    verifyBatch(checks) {
      const t = performance.now();
      const out = v.verifyBatch(checks);
      const ms = performance.now() - t;
      stats.calls++;
      stats.checks += checks.length;
      stats.syncMs += ms;
      stats.maxSyncMs = Math.max(stats.maxSyncMs, ms);
      stats.sizes.set(checks.length, (stats.sizes.get(checks.length) ?? 0) + 1);
      if (out instanceof Promise) out.then(() => (stats.asyncMs += performance.now() - t), () => {});
      return out;
    },
  };
  return { verifier, stats };
}

async function oneCheck(): Promise<void> {
  const s = offlineSequencer({ verifier: base });
  const c = signCancel(alice.key, { accountId: 1, orderId: 1n });
  const check = { message: cancelMessage(c), signature: c.signature, publicKey: alice.pubKey };
  const reps = base.name === "js" ? 20 : 2000;
  for (let i = 0; i < Math.min(reps, 50); i++) s.signedBy(check.message, check.signature, check.publicKey); // warm-up
  let t = performance.now();
  for (let i = 0; i < reps; i++) s.signedBy(check.message, check.signature, check.publicKey);
  const single = (performance.now() - t) / reps;
  console.log(`one synchronous check (Sequencer.signedBy, ${base.name}): ${(single * 1000).toFixed(1)} µs on the main thread`);
  for (const n of [16, 256]) {
    if (base.name === "js" && n > 16) continue;
    const checks = Array.from({ length: n }, () => check);
    await base.verifyBatch(checks);
    t = performance.now();
    const r = base.verifyBatch(checks);
    const syncPart = performance.now() - t;
    await r;
    const all = performance.now() - t;
    console.log(`a group of ${n}: ${((all / n) * 1000).toFixed(1)} µs a signature, ${(syncPart * 1000).toFixed(0)} µs of it on the main thread`);
  }
}

async function flood(): Promise<void> {
  const { verifier, stats } = timed(base);
  const s = offlineSequencer({ verifier });
  const app = createApiServer(s, { rateLimits: { perSource: null } });
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  const forged = signCancel(alice.key, { accountId: 1, orderId: 1n }).signature;
  const messages = Array.from({ length: N }, (_, i) => toJson({ op: "cancel", id: i, cancel: { accountId: 2, orderId: BigInt(i + 1), signature: forged } }));
  const ws = new WebSocket(`${address.replace("http", "ws")}/v1/stream`);
  await new Promise((r) => ws.once("message", r)); // hello
  const codes = new Map<string, number>();
  let answered = 0;
  const done = new Promise<void>((resolve) =>
    ws.on("message", (d) => {
      const m = JSON.parse(d.toString());
      codes.set(m.code ?? m.type, (codes.get(m.code ?? m.type) ?? 0) + 1);
      if (++answered === N) resolve();
    }));
  const report = (what: string, t0: number, elu0: ReturnType<typeof performance.eventLoopUtilization>, h: ReturnType<typeof monitorEventLoopDelay>) => {
    const wall = performance.now() - t0;
    h.disable();
    const elu = performance.eventLoopUtilization(elu0);
    const sizes = [...stats.sizes].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, v]) => `${v}x${k}`).join(" ");
    console.log(
      `${what}: ${wall.toFixed(0)} ms until every answer (${[...codes].map(([k, v]) => `${k} ${v}`).join(", ")}); ` +
        `main thread in verifier calls ${stats.syncMs.toFixed(0)} ms (longest ${stats.maxSyncMs.toFixed(2)} ms) over ${stats.calls} calls ` +
        `for ${stats.checks} checks (most common sizes ${sizes}), off-thread calls ${stats.asyncMs.toFixed(0)} ms (summed); event loop delay max ${(h.max / 1e6).toFixed(1)} ms, ` +
        `mean ${(h.mean / 1e6).toFixed(2)} ms, utilisation ${(elu.utilization * 100).toFixed(0)}%`,
    );
  };
  const reset = () => {
    Object.assign(stats, { calls: 0, checks: 0, syncMs: 0, maxSyncMs: 0, asyncMs: 0 });
    stats.sizes.clear();
    codes.clear();
  };

  reset();
  let h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let elu0 = performance.eventLoopUtilization();
  let t0 = performance.now();
  for (const m of messages) ws.send(m);
  await done;
  report(`${N} junk single cancels over one WebSocket`, t0, elu0, h);

  // single withdrawals over HTTP, 32 in flight (keep-alive connections of fetch's pool)
  reset();
  const W = Math.max(1, Math.floor(N / 10));
  const wForged = signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 1n, nonce: 0 }).signature;
  const bodies = Array.from({ length: W }, (_, i) => toJson({ accountId: 2, tokenId: 0, amount: BigInt(i + 1), nonce: 0, signature: wForged }));
  h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  elu0 = performance.eventLoopUtilization();
  t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < W) {
      const body = bodies[next++]!;
      const res = await fetch(`${address}/v1/withdrawals`, { method: "POST", body, headers: { "content-type": "application/json" } });
      const j = (await res.json()) as { code?: string };
      codes.set(j.code ?? String(res.status), (codes.get(j.code ?? String(res.status)) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  report(`${W} junk single withdrawals over HTTP (32 in flight)`, t0, elu0, h);

  ws.close();
  await app.close();
}

await oneCheck();
await flood();
