/**
 * A small seeded generator (xorshift32) for the property tests, so a seed replays the same run: `f` in [0, 1),
 * `int(n)` in [0, n), `pick` one of a list, `chance(p)` true with probability p.
 */
export function prng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 2 ** 32; };
  return {
    f: next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}
