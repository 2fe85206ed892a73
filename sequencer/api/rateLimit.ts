/**
 * Per-key token buckets: each key (an account, a client address) may spend `burst` requests at once
 * and gets `perSecond` back every second. Used by the API for its RATE_LIMITED (429) answers.
 */

import { isIPv6 } from "node:net";

export type RateLimit = { perSecond: number; burst: number };

/**
 * The bucket of a client address: an IPv4 address (also written IPv4-mapped, `::ffff:a.b.c.d`) is its own; an IPv6
 * address shares its /64 with its network's others. One host commonly holds a whole /64, so keyed by the full
 * address a single client would have 2^64 buckets.
 */
export function sourceBucketKey(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.split("%")[0]!; // a zone id (fe80::1%eth0) names no other host
  if (!isIPv6(bare)) return address;
  const [head = "", tail = ""] = bare.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = bare.includes("::") ? [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t] : h;
  return `${groups.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(":")}::/64`;
}

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
