import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { GENERATED_PATH, generateProtocolCircom } from "../../../scripts/build/genCircomProtocol.ts";

describe("generated circom protocol constants", () => {
  it("are in step with the TypeScript protocol definition (run npm run gen:circom after changing it)", () => {
    assert.equal(readFileSync(GENERATED_PATH, "utf8"), generateProtocolCircom());
  });
});
