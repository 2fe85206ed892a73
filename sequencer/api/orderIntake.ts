/**
 * Groups the signed requests that arrive together (orders from HTTP requests, WebSocket messages and batch requests;
 * cancels, withdrawals and transfers, `command`) so their signatures are checked by one call of the configured
 * verifier (Sequencer.verifyGroup: off the main thread for a large group), and pipelines the groups: up to `depth`
 * groups verify at once (on the verifier's threads) while the main thread keeps reading requests, and groups are run
 * strictly in arrival order, and within a group each request in its turn (orders by Sequencer.placeVerifiedOrders,
 * commands by their `run`), so requests reach the engine in the order they were received. A request is answered once
 * its log records are durable (Sequencer.durable); what follows runs meanwhile.
 *
 * A cancel sent after its order runs after the order is placed. Until 2026-12-06 commands ran at once on arrival,
 * ahead of the orders still being verified, so "place, then cancel" on one connection left the order live (review,
 * Medium); then, until the same day's later review (Low), a single cancel, withdrawal or transfer still had its
 * signature checked on the main thread, one verifier call each: a source sending junk-signed single cancels as fast
 * as its rate limit allows (10,000 at once, 5,000 a second) held the main thread about 1.1 s per 10,000 with the
 * native verifier (scripts/bench/singleChecks.ts). Now they join the group around them.
 */
import type { Order, Signed } from "../protocol/messages.ts";
import type { IntakeOutcome, Sequencer, SignedCommand, VerifiedRequest } from "../service/sequencer.ts";

/**
 * Called for each order of a submission whose signature holds, before it is placed; a RequestRejected
 * it throws refuses that order (the per-account rate limit: commands.ts).
 */
export type Admit = (order: Signed<Order>) => void;

/** One submission (a request's orders): answered together, with one outcome per order. */
type Waiting = { orders: readonly Signed<Order>[]; admit?: Admit; resolve: (o: IntakeOutcome[]) => void; reject: (e: unknown) => void };

/**
 * A command that is not an order (a cancel, a cancel batch, a withdrawal, a transfer): its signed requests are
 * verified with the group it joins, then `run` gets their entries, in its turn.
 */
type Command = { signed: readonly SignedCommand[]; run: (verified: readonly VerifiedRequest[]) => unknown; resolve: (o: unknown) => void; reject: (e: unknown) => void };

const isCommand = (w: Waiting | Command): w is Command => "run" in w;
const itemsOf = (w: Waiting | Command) => (isCommand(w) ? w.signed.length : w.orders.length);

export class OrderIntake {
  readonly #sequencer: Pick<Sequencer, "verifyGroup" | "placeVerifiedOrders" | "durable">;
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

  constructor(sequencer: Pick<Sequencer, "verifyGroup" | "placeVerifiedOrders" | "durable">, opts: { maxGroup?: number; depth?: number } = {}) {
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
   * `run` returns once its log records are durable, or rejects with what `run` throws (or the group's verification).
   */
  command<T>(signed: readonly SignedCommand[], run: (verified: readonly VerifiedRequest[]) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ signed, run, resolve: resolve as (o: unknown) => void, reject });
      this.#schedule();
    });
  }

  /** The next group: whole submissions and commands in arrival order, up to maxGroup signed requests (a larger one is a group alone). */
  #takeGroup(): (Waiting | Command)[] {
    const group: (Waiting | Command)[] = [];
    let items = 0;
    for (let w = this.#queue[0]; w && (group.length === 0 || items + itemsOf(w) <= this.#maxGroup); w = this.#queue[0]) {
      this.#queue.shift();
      group.push(w);
      items += itemsOf(w);
      if (!isCommand(w)) this.#queuedOrders -= w.orders.length;
    }
    return group;
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
      const group = this.#takeGroup();
      const orders = group.flatMap((w) => (isCommand(w) ? [] : w.orders));
      this.groups++;
      this.orders += orders.length;
      this.#inFlight++;
      let verified: ReturnType<Sequencer["verifyGroup"]>;
      try {
        verified = this.#sequencer.verifyGroup(orders, group.flatMap((w) => (isCommand(w) ? w.signed : [])));
      } catch (e) {
        verified = Promise.reject(e);
      }
      verified.catch(() => {}); // handled when its turn comes
      this.#tail = this.#tail.then(async () => {
        try {
          const v = await verified;
          this.#run(group, v.orders.verified, v.commands);
        } catch (e) {
          for (const w of group) w.reject(e);
        } finally {
          this.#inFlight--;
          this.#schedule();
        }
      });
    }
  }

  /** Runs a verified group in order: each run of order submissions placed together, each command in its turn. */
  #run(group: readonly (Waiting | Command)[], ordersVerified: readonly VerifiedRequest[], commandsVerified: readonly VerifiedRequest[]): void {
    let o = 0;
    let c = 0;
    for (let i = 0; i < group.length; ) {
      const w = group[i]!;
      if (isCommand(w)) {
        i++;
        try {
          const out = w.run(commandsVerified.slice(c, (c += w.signed.length)));
          this.#sequencer.durable().then(() => w.resolve(out), w.reject);
        } catch (e) {
          w.reject(e);
        }
        continue;
      }
      const submissions: Waiting[] = [];
      for (let x = group[i]; x && !isCommand(x); x = group[++i]) submissions.push(x);
      const orders = submissions.flatMap((s) => s.orders);
      const admits = submissions.flatMap((s) => s.orders.map(() => s.admit));
      try {
        const outcomes = this.#sequencer.placeVerifiedOrders({ orders, verified: ordersVerified.slice(o, (o += orders.length)) }, (order, k) => admits[k]?.(order));
        this.#sequencer.durable().then(
          () => {
            let at = 0;
            for (const s of submissions) s.resolve(outcomes.slice(at, (at += s.orders.length)));
          },
          (e) => {
            for (const s of submissions) s.reject(e);
          },
        );
      } catch (e) {
        for (const s of submissions) s.reject(e);
      }
    }
  }
}
