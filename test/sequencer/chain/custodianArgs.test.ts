/** sequencer/chain/custodianArgs.ts: the custodian's constructor arguments follow the circuit parameters. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { custodianArgs, DEFAULT_REQUEST_DEADLINE, derivativesSizesOf } from "../../../sequencer/chain/custodianArgs.ts";
import { PRODUCTION_PARAMS, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";

const roles = {
  verifier: "0x0000000000000000000000000000000000000001",
  genesisRoot: 77n,
  quoteToken: "0x0000000000000000000000000000000000000002",
  quoteMinDeposit: 10n ** 6n,
  admin: "0x0000000000000000000000000000000000000003",
  operator: "0x0000000000000000000000000000000000000004",
  exitVerifier: "0x0000000000000000000000000000000000000005",
  timelock: "0x0000000000000000000000000000000000000006",
} as const;

describe("custodianArgs", () => {
  it("orders roles, tree capacities (4^levels), spot slots, the derivatives sizes and the exit configuration as the constructor takes them", () => {
    assert.deepEqual(custodianArgs(PRODUCTION_PARAMS, roles), [
      roles.verifier, 77n, roles.quoteToken, 10n ** 6n, roles.admin, roles.operator,
      4 ** 12, 4 ** 3, 4 ** 3, 18n, { derivSlots: 4n, underlyings: 2, instruments: 7, optionInstruments: 4 },
      { requestDeadline: BigInt(DEFAULT_REQUEST_DEADLINE), exitVerifier: roles.exitVerifier, timelock: roles.timelock, treasury: roles.admin },
    ]);
    // The treasury defaults to the admin; an explicit one is passed through.
    const treasury = "0x0000000000000000000000000000000000000007";
    assert.equal(custodianArgs(TEST_PARAMS, { ...roles, treasury })[11].treasury, treasury);
    assert.equal(DEFAULT_REQUEST_DEADLINE, 7 * 24 * 3600);
    assert.equal(custodianArgs(TEST_PARAMS, { ...roles, requestDeadline: 3600 })[11].requestDeadline, 3600n);
    assert.deepEqual(derivativesSizesOf(TEST_PARAMS), { derivSlots: 1n, underlyings: 1, instruments: 4, optionInstruments: 2 });
  });
});
