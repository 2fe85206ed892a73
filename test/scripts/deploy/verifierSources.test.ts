/**
 * scripts/deploy/verifierSources.ts: `npm run deploy` never deploys a custodian whose exit verifier nobody chose.
 * The batch and exit verifiers come as a pair (the operator's keys for both) or are both built with development
 * keys; one without the other, or a missing file, is refused before anything is deployed.
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
writeFileSync(exit, "// exit\n");

describe("deploy's verifier sources", () => {
  it("builds both circuits with development keys when neither source is given", () => {
    assert.equal(verifierSources({}), "dev");
  });

  it("takes both sources when both are given", () => {
    assert.deepEqual(verifierSources({ verifier: batch, exitVerifier: exit }), { batch, exit });
  });

  it("refuses the batch verifier without the exit verifier (every exit would be refused forever), and the other half alone", () => {
    assert.throws(() => verifierSources({ verifier: batch }), /go together.*got only --verifier/);
    assert.throws(() => verifierSources({ exitVerifier: exit }), /go together.*got only --exit-verifier/);
  });

  it("refuses a source that does not exist, naming the flag", () => {
    assert.throws(() => verifierSources({ verifier: join(dir, "none.sol"), exitVerifier: exit }), /--verifier .*none\.sol: no such file/);
    assert.throws(() => verifierSources({ verifier: batch, exitVerifier: join(dir, "none.sol") }), /--exit-verifier .*none\.sol: no such file/);
  });
});
