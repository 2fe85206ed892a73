/**
 * Groups the orders that arrive together (HTTP requests, WebSocket messages, batch requests) so their
 * signatures are checked by one call of the configured verifier (Sequencer.verifyOrders), and pipelines
 * the groups: up to `depth` groups verify at once (on the verifier's threads) while the main thread
 * keeps reading requests, and groups are placed strictly in arrival order (Sequencer.placeVerifiedOrders),
 * so orders reach the engine in the order they were received. A group is answered once its log records
 * are durable (Sequencer.durable); the next group is placed meanwhile.
 *
 * The other signed commands (cancels, withdrawals, transfers) take their turn in the same order (`command`): a
 * cancel sent after its order runs after the order is placed. Until 2026-12-06 they ran at once on arrival, ahead of
 * the orders still being verified, so "place, then cancel" on one connection left the order live (review, Medium).
 */
import type { Order, Signed } from "../protocol/messages.ts";
import type { IntakeOutcome, Sequencer } from "../service/sequencer.ts";

/**
 * Called for each order of a submission whose signature holds, before it is placed; a RequestRejected
 * it throws refuses that order (the per-account rate limit: commands.ts).
 */
export type Admit = (order: Signed<Order>) => void;

/** One submission (a request's orders): answered together, with one outcome per order. */
type Waiting = { orders: readonly Signed<Order>[]; admit?: Admit; resolve: (o: IntakeOutcome[]) => void; reject: (e: unknown) => void };

/**
 * A command that is not an order, run in its arrival turn: `prepare` starts when its turn is launched (a signature
 * check off the main thread, while earlier groups are placed), `run` when every submission before it is placed.
 */
type Command = { prepare: () => Promise<unknown>; run: (prepared: unknown) => unknown; resolve: (o: unknown) => void; reject: (e: unknown) => void };

const isCommand = (w: Waiting | Command): w is Command => "run" in w;

export class OrderIntake {
  readonly #sequencer: Pick<Sequencer, "verifyOrders" | "placeVerifiedOrders" | "durable">;
  readonly #maxGroup: number;
  readonly #depth: number;
  #queue: (Waiting | Command)[] = [];
  #queuedOrders = 0;
  #scheduled = false;
  #inFlight = 0;
  /** Placement of the groups launched so far, in order. */
  #tail: Promise<void> = Promise.resolve();
  /** Groups sent to the sequencer and orders in them (for benchmarks). */
  groups = 0;
  orders = 0;

  constructor(sequencer: Pick<Sequencer, "verifyOrders" | "placeVerifiedOrders" | "durable">, opts: { maxGroup?: number; depth?: number } = {}) {
    this.#sequencer = sequencer;
    this.#maxGroup = opts.maxGroup ?? 1024;
    this.#depth = opts.depth ?? 2;
  }

  /** Orders waiting for a group. */
  get queued(): number {
    return this.#queuedOrders;
  }

  /** Queues orders (kept together and in order) and resolves with one outcome per order; `admit` see Admit. */
  submit(orders: readonly Signed<Order>[], admit?: Admit): Promise<IntakeOutcome[]> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ orders, admit, resolve, reject });
      this.#queuedOrders += orders.length;
      this.#schedule();
    });
  }

  /**
   * Queues a command that is not an order (see Command), after everything submitted before it; resolves with what
   * `run` returns once its log records are durable, or rejects with what `prepare` or `run` throws.
   */
  command<P, T>(prepare: () => Promise<P>, run: (prepared: P) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ prepare, run: run as (p: unknown) => unknown, resolve: resolve as (o: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** The next group: whole submissions, up to maxGroup orders (a larger submission is a group alone), none past a command. */
  #takeGroup(): { submissions: Waiting[]; orders: Signed<Order>[] } {
    const submissions: Waiting[] = [];
    const orders: Signed<Order>[] = [];
    for (let w = this.#queue[0]; w && !isCommand(w) && (orders.length === 0 || orders.length + w.orders.length <= this.#maxGroup); w = this.#queue[0]) {
      this.#queue.shift();
      submissions.push(w);
      for (const o of w.orders) orders.push(o);
    }
    this.#queuedOrders -= orders.length;
    return { submissions, orders };
  }

  /** Launches groups on the next turn of the event loop, so the requests read in this turn join them. */
  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0 || this.#inFlight >= this.#depth) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#launch();
    });
  }

  #launch(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#depth) {
      const head = this.#queue[0]!;
      if (isCommand(head)) {
        this.#queue.shift();
        this.#launchCommand(head);
        continue;
      }
      const { submissions, orders } = this.#takeGroup();
      this.groups++;
      this.orders += orders.length;
      this.#inFlight++;
      const verified = this.#sequencer.verifyOrders(orders);
      verified.catch(() => {}); // handled when its turn comes
      this.#tail = this.#tail.then(async () => {
        try {
          const admits = submissions.flatMap((w) => w.orders.map(() => w.admit));
          const outcomes = this.#sequencer.placeVerifiedOrders(await verified, (order, i) => admits[i]?.(order));
          this.#sequencer.durable().then(
            () => {
              let at = 0;
              for (const w of submissions) w.resolve(outcomes.slice(at, (at += w.orders.length)));
            },
            (e) => {
              for (const w of submissions) w.reject(e);
            },
          );
        } catch (e) {
          for (const w of submissions) w.reject(e);
        } finally {
          this.#inFlight--;
          this.#schedule();
        }
      });
    }
  }

  #launchCommand(cmd: Command): void {
    this.#inFlight++;
    let prepared: Promise<unknown>;
    try {
      prepared = cmd.prepare();
    } catch (e) {
      prepared = Promise.reject(e);
    }
    prepared.catch(() => {}); // handled when its turn comes
    this.#tail = this.#tail.then(async () => {
      try {
        const out = cmd.run(await prepared);
        this.#sequencer.durable().then(() => cmd.resolve(out), cmd.reject);
      } catch (e) {
        cmd.reject(e);
      } finally {
        this.#inFlight--;
        this.#schedule();
      }
    });
  }
}
