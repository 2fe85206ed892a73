/**
 * The sequencer process (sequencer/process/main.ts) as a test drives it: spawned with an IPC channel,
 * requests answered over it (a reply means the request's records are durable), SIGKILLed at will.
 * Its output is kept for failure messages.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { REPO_ROOT } from "../../scripts/build/circuitBuild.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";

export type SequencerProcessOptions = {
  data: string;
  rpc: string;
  custodian: string;
  operatorKey: string;
  env?: Record<string, string>;
  /** Told every line the process prints, as it comes (a trace of a long run). */
  trace?: (line: string) => void;
};

/** The sequencer died before answering. */
export const DIED = Symbol("died");

export class SequencerProcess {
  readonly proc: ChildProcess;
  readonly output: string[] = [];
  /** Resolves with the exit signal (null for a normal exit) once the process is gone. */
  readonly exited: Promise<NodeJS.Signals | null>;
  private alive = true;
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: { result?: unknown; error?: string } | typeof DIED) => void>();

  private constructor(opts: SequencerProcessOptions, extraArgs: string[]) {
    this.proc = spawn(
      process.execPath,
      ["--import", "tsx", "sequencer/process/main.ts", "--data", opts.data, "--rpc", opts.rpc, "--custodian", opts.custodian, "--operator-key", opts.operatorKey, ...extraArgs],
      { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe", "ipc"], serialization: "advanced", env: { ...process.env, ...opts.env } },
    );
    const keep = (d: Buffer) => {
      const lines = d.toString().trimEnd().split("\n");
      this.output.push(...lines);
      for (const line of lines) opts.trace?.(line);
    };
    this.proc.stdout!.on("data", keep);
    this.proc.stderr!.on("data", keep);
    this.proc.on("message", (m: { id?: number; result?: unknown; error?: string }) => {
      if (m.id !== undefined) {
        this.waiting.get(m.id)?.(m);
        this.waiting.delete(m.id);
      }
    });
    this.exited = new Promise((resolve) => {
      this.proc.on("exit", (_code, signal) => {
        this.alive = false;
        for (const w of this.waiting.values()) w(DIED);
        this.waiting.clear();
        resolve(signal);
      });
    });
  }

  /** Starts a sequencer and waits until it has recovered and serves requests. */
  /** Starts the process on the test-size circuit's artifacts (built, or taken from the build cache). */
  static async start(opts: SequencerProcessOptions, extraArgs: string[] = []): Promise<SequencerProcess> {
    const circuit = await buildBatchCircuit(TEST_PARAMS);
    const p = new SequencerProcess(opts, ["--wasm", circuit.wasm, "--zkey", circuit.zkey, "--vkey", circuit.vkey, ...extraArgs]);
    const ready = new Promise<boolean>((resolve) => p.proc.once("message", (m: { ready?: boolean }) => resolve(m.ready === true)));
    if (!(await Promise.race([ready, p.exited.then(() => false)]))) throw new Error(`sequencer did not start:\n${p.output.slice(-30).join("\n")}`);
    return p;
  }

  get isAlive(): boolean {
    return this.alive;
  }

  /** Sends one request; its reply, or DIED (once its exit is seen) if the process exits first. */
  request(op: string, fields: Record<string, unknown> = {}): Promise<{ result?: unknown; error?: string } | typeof DIED> {
    if (!this.alive) return Promise.resolve(DIED);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      // DIED only once the exit event has been seen (isAlive false): a closed channel is reported without a turn
      // of the event loop, so a caller that retried at once (a settle loop) would otherwise spin on a dead
      // process whose exit event the spin keeps from ever arriving (CRASH_SEED=699334 hung that way).
      const died = () => {
        this.waiting.delete(id);
        void this.exited.then(() => resolve(DIED));
      };
      // The process may have died before its exit event arrived: with a callback, a closed channel is
      // reported to it (ERR_IPC_CHANNEL_CLOSED) instead of as an 'error' event nobody listens to.
      try {
        this.proc.send({ id, op, ...fields }, (e) => {
          if (e) died();
        });
      } catch {
        died();
      }
    });
  }

  /** The result of a request that must succeed (throws on DIED or an error reply). */
  async call<T>(op: string, fields: Record<string, unknown> = {}): Promise<T> {
    const r = await this.request(op, fields);
    if (r === DIED) throw new Error(`sequencer died during ${op}:\n${this.output.slice(-30).join("\n")}`);
    if (r.error !== undefined) throw new Error(`${op}: ${r.error}`);
    return r.result as T;
  }

  /** SIGKILL. The process counts as dead at once, so a second kill is never aimed at it. */
  kill(): void {
    if (!this.alive) return;
    this.alive = false;
    this.proc.kill("SIGKILL");
  }

  /** SIGTERM, then wait for the exit. */
  async stop(): Promise<void> {
    if (this.alive) this.proc.kill("SIGTERM");
    await this.exited;
  }
}

/** A TCP port nothing listens on right now (the prover queue's job engine picks its port the same way). */
export { freePort } from "../../fpga-prover/queue/jobEngine.ts";
