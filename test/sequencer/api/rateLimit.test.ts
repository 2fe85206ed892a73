/** Token buckets: burst, refill over time, all-or-nothing spending across keys, keys independent. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { sourceBucketKey, TokenBuckets } from "../../../sequencer/api/rateLimit.ts";

describe("TokenBuckets", () => {
  it("allows a burst, refuses beyond it, and refills at the rate", () => {
    let now = 0;
    const b = new TokenBuckets<string>({ perSecond: 10, burst: 3 }, { now: () => now });
    assert.deepEqual([b.take("a"), b.take("a"), b.take("a"), b.take("a")], [true, true, true, false]);
    assert.equal(b.take("b"), true, "another key has its own bucket");
    now = 100; // 0.1 s: one token back
    assert.deepEqual([b.take("a"), b.take("a")], [true, false]);
    now = 10_000;
    assert.equal(b.available("a"), 3, "never above the burst");
  });

  it("spends for every key or for none", () => {
    const b = new TokenBuckets<number>({ perSecond: 1, burst: 2 }, { now: () => 0 });
    assert.equal(b.take(1, 2), true);
    assert.equal(b.takeAll(new Map([[2, 1], [1, 1]])), false);
    assert.equal(b.available(2), 2, "key 2 was not charged for the refused request");
    assert.throws(() => new TokenBuckets({ perSecond: 0, burst: 1 }), RangeError);
  });

  it("forgets refilled buckets beyond maxKeys", () => {
    let now = 0;
    const b = new TokenBuckets<number>({ perSecond: 1000, burst: 1 }, { now: () => now, maxKeys: 2 });
    b.take(1);
    now = 10;
    b.take(2);
    b.take(3); // over maxKeys: key 1 has refilled and is dropped, 2 and 3 are kept
    assert.deepEqual([b.available(1), b.available(2) < 1, b.available(3) < 1], [1, true, true]);
  });
});

describe("sourceBucketKey", () => {
  it("keys an IPv4 address by itself (also IPv4-mapped) and an IPv6 address by its /64, however it is written", () => {
    assert.equal(sourceBucketKey("203.0.113.7"), "203.0.113.7");
    assert.equal(sourceBucketKey("::ffff:203.0.113.7"), "203.0.113.7");
    const net = sourceBucketKey("2001:db8:1:2::1");
    assert.equal(net, "2001:db8:1:2::/64");
    for (const same of ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0db8:0001:0002:0:0:0:9", "2001:db8:1:2:a::"]) assert.equal(sourceBucketKey(same), net, same);
    assert.notEqual(sourceBucketKey("2001:db8:1:3::1"), net, "another /64");
    assert.equal(sourceBucketKey("::1"), "0:0:0:0::/64");
    assert.equal(sourceBucketKey("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(sourceBucketKey("unknown"), "unknown");
  });
});
