/**
 * The stall watchdog (test/helpers/stallWatchdog.ts) on a real process: a main thread stuck in a
 * microtask-only loop (no timer can fire) is reported with its trace's tail and killed; a process whose
 * event loop turns is left alone.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const HELPER = pathToFileURL(join(import.meta.dirname, "..", "helpers", "stallWatchdog.ts")).href;

/** Runs `body` in a child process with a watchdog of `stallMs` on `traceFile`; its exit signal and stderr. */
function runChild(traceFile: string, stallMs: number, body: string): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  const code = `import { watchStalls } from ${JSON.stringify(HELPER)};
const w = watchStalls({ label: "child", traceFile: ${JSON.stringify(traceFile)}, stallMs: ${stallMs}, lines: 2 });
${body}`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve({ signal, code, stderr })));
}

describe("stall watchdog", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "stall-watchdog-"));
  const traceFile = join(dir, "trace.log");
  writeFileSync(traceFile, "line 1\nline 2\nline 3\n");

  it("kills a process whose main thread spins on microtasks, printing the trace's last lines", async () => {
    const r = await runChild(traceFile, 2_000, "setTimeout(async () => { for (;;) await Promise.resolve(); }, 100);");
    assert.equal(r.signal, "SIGKILL");
    assert.match(r.stderr, /\[stall watchdog\] child: the main thread's event loop has not turned for \d+ s/);
    assert.match(r.stderr, /line 2\nline 3\n\[stall watchdog\] killing the test process/);
    assert.doesNotMatch(r.stderr, /line 1/, "only the last `lines` lines");
  });

  it("leaves alone a process whose event loop turns, and lets it exit once stopped", async () => {
    const r = await runChild(traceFile, 2_000, "const t = setInterval(() => {}, 200); setTimeout(() => { clearInterval(t); w.stop(); }, 4_000);");
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    rmSync(dir, { recursive: true, force: true });
  });
});
