/**
 * scripts/deploy/verifierSources.ts: `npm run deploy` never deploys a custodian whose exit verifier nobody chose.
 * The batch, exit and marking verifiers come together (the operator's keys for all) or are all built with development
 * keys; some without the others, or a missing file, is refused before anything is deployed.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifierSources } from "../../../scripts/deploy/verifierSources.ts";

const dir = mkdtempSync(join(tmpdir(), "verifier-sources-"));
const batch = join(dir, "batchVerifier.sol");
const exit = join(dir, "exitVerifier.sol");
writeFileSync(batch, "// batch\n");
const marking = join(dir, "markingVerifier.sol");
writeFileSync(exit, "// exit\n");
writeFileSync(marking, "// marking\n");

describe("deploy's verifier sources", () => {
  it("builds every circuit with development keys when no source is given", () => {
    assert.equal(verifierSources({}), "dev");
  });

  it("takes the three sources when all are given", () => {
    assert.deepEqual(verifierSources({ verifier: batch, exitVerifier: exit, markingVerifier: marking }), { batch, exit, marking });
  });

  it("refuses the batch verifier without the exit verifier (every exit would be refused forever) or the marking verifier (every batch that reads marks), and any part alone", () => {
    assert.throws(() => verifierSources({ verifier: batch }), /go together.*got only --verifier\)/);
    assert.throws(() => verifierSources({ exitVerifier: exit }), /go together.*got only --exit-verifier\)/);
    assert.throws(() => verifierSources({ markingVerifier: marking }), /go together.*got only --marking-verifier\)/);
    assert.throws(() => verifierSources({ verifier: batch, exitVerifier: exit }), /go together.*got only --verifier and --exit-verifier\)/);
  });

  it("refuses a source that does not exist, naming the flag", () => {
    const none = join(dir, "none.sol");
    assert.throws(() => verifierSources({ verifier: none, exitVerifier: exit, markingVerifier: marking }), /--verifier .*none\.sol: no such file/);
    assert.throws(() => verifierSources({ verifier: batch, exitVerifier: none, markingVerifier: marking }), /--exit-verifier .*none\.sol: no such file/);
    assert.throws(() => verifierSources({ verifier: batch, exitVerifier: exit, markingVerifier: none }), /--marking-verifier .*none\.sol: no such file/);
  });
});
