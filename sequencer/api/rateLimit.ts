/**
 * Per-key token buckets: each key (an account, a client address) may spend `burst` requests at once
 * and gets `perSecond` back every second. Used by the API for its RATE_LIMITED (429) answers.
 */

export type RateLimit = { perSecond: number; burst: number };

type Bucket = { tokens: number; at: number };

export class TokenBuckets<K> {
  readonly #buckets = new Map<K, Bucket>();
  readonly #limit: RateLimit;
  readonly #now: () => number;
  readonly #maxKeys: number;

  /** `now` in milliseconds (injectable for tests); at most `maxKeys` partly spent buckets are remembered. */
  constructor(limit: RateLimit, opts: { now?: () => number; maxKeys?: number } = {}) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) throw new RangeError("a rate limit needs perSecond > 0 and burst >= 1");
    this.#limit = limit;
    this.#now = opts.now ?? (() => performance.now());
    this.#maxKeys = opts.maxKeys ?? 100_000;
  }

  /** Tokens `key` could spend now. */
  available(key: K): number {
    const b = this.#buckets.get(key);
    if (!b) return this.#limit.burst;
    return Math.min(this.#limit.burst, b.tokens + ((this.#now() - b.at) * this.#limit.perSecond) / 1000);
  }

  /**
   * Spends `need.get(key)` tokens of every key, or none at all when any key lacks them. True when spent.
   */
  takeAll(need: ReadonlyMap<K, number>): boolean {
    for (const [key, n] of need) if (this.available(key) < n) return false;
    const at = this.#now();
    for (const [key, n] of need) this.#buckets.set(key, { tokens: this.available(key) - n, at });
    if (this.#buckets.size > this.#maxKeys) this.#forgetFull();
    return true;
  }

  take(key: K, n = 1): boolean {
    return this.takeAll(new Map([[key, n]]));
  }

  /** Drops buckets that have refilled (they equal a fresh one). */
  #forgetFull(): void {
    for (const key of this.#buckets.keys()) if (this.available(key) >= this.#limit.burst) this.#buckets.delete(key);
  }
}
