/**
 * Groups the orders that arrive together (HTTP requests, WebSocket messages, batch requests) so their
 * signatures are checked by one call of the configured verifier (Sequencer.verifyOrders), and pipelines
 * the groups: up to `depth` groups verify at once (on the verifier's threads) while the main thread
 * keeps reading requests, and groups are placed strictly in arrival order (Sequencer.placeVerifiedOrders),
 * so orders reach the engine in the order they were received.
 */
import type { Order, Signed } from "../protocol/messages.ts";
import type { IntakeOutcome, Sequencer } from "../service/sequencer.ts";

type Waiting = { order: Signed<Order>; resolve: (o: IntakeOutcome) => void; reject: (e: unknown) => void };

export class OrderIntake {
  readonly #sequencer: Pick<Sequencer, "verifyOrders" | "placeVerifiedOrders">;
  readonly #maxGroup: number;
  readonly #depth: number;
  #queue: Waiting[] = [];
  #scheduled = false;
  #inFlight = 0;
  /** Placement of the groups launched so far, in order. */
  #tail: Promise<void> = Promise.resolve();
  /** Groups sent to the sequencer and orders in them (for benchmarks). */
  groups = 0;
  orders = 0;

  constructor(sequencer: Pick<Sequencer, "verifyOrders" | "placeVerifiedOrders">, opts: { maxGroup?: number; depth?: number } = {}) {
    this.#sequencer = sequencer;
    this.#maxGroup = opts.maxGroup ?? 1024;
    this.#depth = opts.depth ?? 2;
  }

  /** Orders waiting for a group. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues orders (kept together and in order) and resolves with one outcome per order. */
  submit(orders: readonly Signed<Order>[]): Promise<IntakeOutcome[]> {
    const outcomes = orders.map((order) => new Promise<IntakeOutcome>((resolve, reject) => this.#queue.push({ order, resolve, reject })));
    this.#schedule();
    return Promise.all(outcomes);
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
      const group = this.#queue.splice(0, this.#maxGroup);
      this.groups++;
      this.orders += group.length;
      this.#inFlight++;
      const verified = this.#sequencer.verifyOrders(group.map((w) => w.order));
      verified.catch(() => {}); // handled when its turn comes
      this.#tail = this.#tail.then(async () => {
        try {
          const outcomes = this.#sequencer.placeVerifiedOrders(await verified);
          group.forEach((w, i) => w.resolve(outcomes[i]));
        } catch (e) {
          for (const w of group) w.reject(e);
        } finally {
          this.#inFlight--;
          this.#schedule();
        }
      });
    }
  }
}
