import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { GENERATED_PATH, generatedFiles, generateProtocolCircom } from "../../../scripts/build/genCircomProtocol.ts";
import { SOLIDITY_CONSTANTS_PATH } from "../../../scripts/build/genSolidityProtocol.ts";
import { REPO_ROOT } from "../../../scripts/build/circuitBuild.ts";
import { InstrumentKind, PPM, TxType } from "../../../sequencer/protocol/constants.ts";
import { INSTRUMENT_FIELDS, ORDER_FIELD_CIRCOM_NAMES as names, ORDER_FIELDS } from "../../../sequencer/protocol/layouts.ts";
import { orderWords, type Order } from "../../../sequencer/protocol/messages.ts";

describe("generated protocol files", () => {
  for (const { path, text } of generatedFiles()) {
    it(`${relative(REPO_ROOT, path)} is in step with the TypeScript protocol definition (run npm run gen:circom after changing it)`, () => {
      assert.equal(readFileSync(path, "utf8"), text);
    });
  }

  it("cover the circuit's protocol file and the contracts' constants", () => {
    assert.deepEqual(generatedFiles().map((f) => f.path), [GENERATED_PATH, SOLIDITY_CONSTANTS_PATH]);
  });

  it("generate the order and instrument input indices from the layout tables", () => {
    const circom = generateProtocolCircom();
    assert.match(circom, new RegExp(`function ORDER_FIELDS\\(\\) \\{ return ${ORDER_FIELDS.length}; \\}`));
    assert.match(circom, /function O_REDUCE\(\) \{ return 6; \}/);
    assert.match(circom, /function O_TRIGPRICE\(\) \{ return 8; \}/);
    assert.match(circom, /function O_PRICE\(\) \{ return 9; \}/);
    assert.match(circom, new RegExp(`function I_FIELDS\\(\\) \\{ return ${INSTRUMENT_FIELDS.length}; \\}`));
    assert.match(circom, /function I_SETTLE\(\) \{ return 10; \}/);
  });

  it("generate the order-word packer with the shifts orderWords uses", () => {
    // Each field alone, at its largest value: the generated term's shift must put it where orderWords does.
    const circom = generateProtocolCircom();
    const zero: Order = { accountId: 0, orderId: 0n, marketId: 0, side: 0, type: 0, timeInForce: 0, priceTicks: 0n, sizeLots: 0n, maxFeePpm: 0, expiry: 0 };
    for (const f of ORDER_FIELDS) {
      const words = orderWords({ ...zero, [f]: f === "reduceOnly" ? true : typeof zero[f] === "bigint" ? 1n : 1 });
      const k = words[0] !== 0n ? 0 : 1;
      const shift = words[k].toString(2).length - 1;
      const line = circom.split("\n").find((l) => l.trim().startsWith(`w[${k}] <==`))!;
      const term = shift === 0 ? `o[O_${names[f]}()]` : `o[O_${names[f]}()] * (1 << ${shift})`;
      assert.ok(line.split(" + ").map((t) => t.replace(/^.*<== /, "").replace(/;$/, "")).includes(term), `${f}: ${term} in ${line}`);
    }
  });

  it("give the contracts the TypeScript values", () => {
    const sol = readFileSync(SOLIDITY_CONSTANTS_PATH, "utf8");
    assert.match(sol, new RegExp(`uint8 internal constant TX_REGISTER_INSTRUMENT = ${TxType.REGISTER_INSTRUMENT};`));
    assert.match(sol, new RegExp(`uint8 internal constant KIND_PUT = ${InstrumentKind.PUT};`));
    assert.match(sol, new RegExp(`uint256 internal constant PPM = ${PPM};`));
  });
});
