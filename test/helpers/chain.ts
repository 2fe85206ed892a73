/**
 * A fresh in-process Hardhat chain whose clock reads the wall clock, for tests that run a Sequencer
 * on the wall clock against it.
 *
 * Hardhat fixes an in-process chain's genesis time when the process starts, and `npm test` runs every
 * file in one process: a chain created 16 minutes into the run starts 16 minutes in the past. A
 * sequencer stamps what it accepts by its own clock and never past the chain's time + MAX_FUTURE_DRIFT
 * (15 minutes), so against such a chain it would wait for the chain's clock forever. Moving the chain
 * to the wall clock (one empty block) gives every test the clocks a real node and sequencer have.
 */
import { network } from "hardhat";

export async function wallClockChain(): ReturnType<typeof network.create> {
  const connection = await network.create();
  const publicClient = await connection.viem.getPublicClient();
  const now = Math.floor(Date.now() / 1000);
  const latest = Number((await publicClient.getBlock({ blockTag: "latest" })).timestamp);
  if (latest < now) {
    const testClient = await connection.viem.getTestClient();
    await testClient.setNextBlockTimestamp({ timestamp: BigInt(now) });
    await testClient.mine({ blocks: 1 });
  }
  return connection;
}
