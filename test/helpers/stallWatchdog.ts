/**
 * A watchdog for long tests whose main thread might stall. Every test file runs in one process
 * (Hardhat's node:test runner, isolation "none"), so a main thread that stops turning its event loop (a
 * synchronous or microtask-only loop) can fire neither the test's own time limit nor any later test: the
 * whole run hangs until CI's limit, saying nothing. The watchdog is a worker thread fed a heartbeat by
 * the main thread's timers; when the heartbeat stops for `stallMs`, it writes the tail of the test's trace
 * file straight to stderr (a worker's console goes through the stalled main thread) and kills the process.
 */
import { Worker } from "node:worker_threads";

export type StallWatchdog = { stop(): void };

/** The worker: reads the heartbeat every second; on a stall, reports and kills the process. */
const WORKER = `
const { workerData } = require("node:worker_threads");
const fs = require("node:fs");
const beat = new Int32Array(workerData.heartbeat);
let last = Atomics.load(beat, 0), since = Date.now();
setInterval(() => {
  const now = Atomics.load(beat, 0);
  if (now !== last) { last = now; since = Date.now(); return; }
  if (Date.now() - since < workerData.stallMs) return;
  let tail = "(no trace)";
  try { tail = fs.readFileSync(workerData.traceFile, "utf8").trimEnd().split("\\n").slice(-workerData.lines).join("\\n"); } catch {}
  fs.writeSync(2, "\\n[stall watchdog] " + workerData.label + ": the main thread's event loop has not turned for " +
    Math.round((Date.now() - since) / 1000) + " s. The last lines of " + workerData.traceFile + ":\\n" + tail + "\\n[stall watchdog] killing the test process\\n");
  process.kill(process.pid, "SIGKILL");
}, 1000);
`;

/**
 * Starts watching: `label` names the test (and its seed) in the report, `traceFile` is the file whose last
 * `lines` lines are printed. The heartbeat timer is unref'd, so the watchdog keeps nothing alive; `stop()` ends it.
 */
export function watchStalls(opts: { label: string; traceFile: string; stallMs: number; lines?: number }): StallWatchdog {
  const heartbeat = new SharedArrayBuffer(4);
  const beat = new Int32Array(heartbeat);
  // (execArgv [] keeps the test loader away from this plain CommonJS source)
  const worker = new Worker(WORKER, { eval: true, execArgv: [], workerData: { ...opts, lines: opts.lines ?? 40, heartbeat } });
  worker.unref();
  const timer = setInterval(() => Atomics.add(beat, 0, 1), 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      void worker.terminate();
    },
  };
}
