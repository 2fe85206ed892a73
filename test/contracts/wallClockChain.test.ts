/**
 * test/helpers/chain.ts: why tests that run a wall-clock Sequencer against an in-process chain create
 * it with wallClockChain (Hardhat dates an in-process chain from the process's start), and that it works.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { network } from "hardhat";
import { wallClockChain } from "../helpers/chain.ts";

const pendingTime = async (connection: Awaited<ReturnType<typeof network.create>>) =>
  Number((await (await connection.viem.getPublicClient()).getBlock({ blockTag: "pending" })).timestamp);
const wallClock = () => Math.floor(Date.now() / 1000);

describe("an in-process chain's clock", () => {
  it("a plain network.create() lags the wall clock by the time the process has run; wallClockChain() does not", async () => {
    await sleep(3_000);
    const plain = await network.create();
    assert.ok(wallClock() - (await pendingTime(plain)) >= 2, "Hardhat dates the chain from the process's start");
    const synced = await wallClockChain();
    assert.ok(Math.abs((await pendingTime(synced)) - wallClock()) <= 2);
    await sleep(2_000);
    assert.ok(Math.abs((await pendingTime(synced)) - wallClock()) <= 2, "and keeps up with it");
  });
});
