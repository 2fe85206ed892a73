/**
 * Groups the orders that arrive together (HTTP requests, WebSocket messages, batch requests) into one
 * Sequencer.placeOrders call, so their signatures are checked by one call of the configured verifier.
 * One group is in flight at a time and groups run in arrival order, so orders reach the engine in the
 * order they were received; orders arriving while a group verifies form the next group.
 */
import type { Order, Signed } from "../protocol/messages.ts";
import type { IntakeOutcome, Sequencer } from "../service/sequencer.ts";

type Waiting = { order: Signed<Order>; resolve: (o: IntakeOutcome) => void; reject: (e: unknown) => void };

export class OrderIntake {
  readonly #sequencer: Pick<Sequencer, "placeOrders">;
  readonly #maxGroup: number;
  #queue: Waiting[] = [];
  #running = false;
  /** Groups sent to the sequencer and orders in them (for benchmarks). */
  groups = 0;
  orders = 0;

  constructor(sequencer: Pick<Sequencer, "placeOrders">, opts: { maxGroup?: number } = {}) {
    this.#sequencer = sequencer;
    this.#maxGroup = opts.maxGroup ?? 1024;
  }

  /** Orders waiting for a group. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Queues orders (kept together and in order) and resolves with one outcome per order. */
  submit(orders: readonly Signed<Order>[]): Promise<IntakeOutcome[]> {
    const outcomes = orders.map((order) => new Promise<IntakeOutcome>((resolve, reject) => this.#queue.push({ order, resolve, reject })));
    if (!this.#running) {
      this.#running = true;
      // Let the requests already read in this turn of the event loop join the first group.
      setImmediate(() => void this.#drain());
    }
    return Promise.all(outcomes);
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const group = this.#queue.splice(0, this.#maxGroup);
      this.groups++;
      this.orders += group.length;
      try {
        const outcomes = await this.#sequencer.placeOrders(group.map((w) => w.order));
        group.forEach((w, i) => w.resolve(outcomes[i]));
      } catch (e) {
        for (const w of group) w.reject(e);
      }
    }
    this.#running = false;
  }
}
