/** sequencer/chain/custodianArgs.ts: the custodian's constructor arguments follow the circuit parameters. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { zeroAddress } from "viem";
import { custodianArgs, DEFAULT_REQUEST_DEADLINE, derivativesConfigOf } from "../../../sequencer/chain/custodianArgs.ts";
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
  it("orders roles, tree capacities (4^levels), spot slots, the derivatives configuration and the exit configuration as the constructor takes them", () => {
    assert.deepEqual(custodianArgs(PRODUCTION_PARAMS, roles), [
      roles.verifier, 77n, roles.quoteToken, 10n ** 6n, roles.admin, roles.operator,
      4 ** 12, 4 ** 3, 4 ** 3, 18n, { derivSlots: 4n, underlyings: 2, instruments: 16, optionInstruments: 8, marksRegistry: zeroAddress },
      { requestDeadline: BigInt(DEFAULT_REQUEST_DEADLINE), exitVerifier: roles.exitVerifier, timelock: roles.timelock, treasury: roles.admin },
    ]);
    // The treasury defaults to the admin; an explicit one is passed through.
    const treasury = "0x0000000000000000000000000000000000000007";
    assert.equal(custodianArgs(TEST_PARAMS, { ...roles, treasury })[11].treasury, treasury);
    assert.equal(DEFAULT_REQUEST_DEADLINE, 7 * 24 * 3600);
    assert.equal(custodianArgs(TEST_PARAMS, { ...roles, requestDeadline: 3600 })[11].requestDeadline, 3600n);
    assert.deepEqual(derivativesConfigOf(TEST_PARAMS), { derivSlots: 1n, underlyings: 1, instruments: 4, optionInstruments: 2, marksRegistry: zeroAddress });
  });

  it("carries the marks registry into the derivatives configuration, the zero address (no registry) by default", () => {
    const marksRegistry = "0x0000000000000000000000000000000000000008";
    assert.equal(custodianArgs(TEST_PARAMS, { ...roles, marksRegistry })[10].marksRegistry, marksRegistry);
    assert.equal(custodianArgs(TEST_PARAMS, roles)[10].marksRegistry, zeroAddress);
    assert.equal(derivativesConfigOf(PRODUCTION_PARAMS, marksRegistry).marksRegistry, marksRegistry);
  });
});
