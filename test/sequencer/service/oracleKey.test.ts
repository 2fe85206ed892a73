/**
 * Oracle updates before the custodian has an oracle key: anyone may post one, and each is refused NO_ORACLE_KEY, but
 * the custodian is asked for its key at most every NO_KEY_RECHECK_MS, so a stream of posted updates does not become
 * a stream of reads on the operator's node.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NO_KEY_RECHECK_MS } from "../../../sequencer/service/derivatives.ts";
import { RequestRejected } from "../../../sequencer/service/sequencer.ts";
import { offlineSequencer } from "../../helpers/sequencer.ts";
import { oracleUpdate } from "../../helpers/derivatives.ts";

describe("oracle updates before the custodian has an oracle key", () => {
  it("are refused NO_ORACLE_KEY, asking the custodian at most once per NO_KEY_RECHECK_MS", async () => {
    let wallMs = 1_000_000; // the sequencer's wall clock (wallClockMs), which paces the reads
    const s = offlineSequencer({ wallClockMs: () => wallMs });
    let reads = 0;
    Object.assign(s.custodian, { oracleKey: async () => (reads++, null) });
    const refused = async () => assert.rejects(s.acceptOracleUpdate(oracleUpdate()), (e: unknown) => e instanceof RequestRejected && e.code === "NO_ORACLE_KEY");
    for (let i = 0; i < 5; i++) await refused();
    assert.equal(reads, 1, "one read for five updates");
    wallMs += NO_KEY_RECHECK_MS;
    await refused();
    assert.equal(reads, 2, "asked again once the interval passed");
  });
});
