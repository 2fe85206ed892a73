/**
 * The trading page's check of a market's listing against the custodian's before it signs an order
 * (sequencer/web/browser/listing.ts): the API could otherwise label one instrument's market id with another's terms.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { PublicClient } from "viem";
import { chainListingFault, listingMismatch } from "../../../sequencer/web/browser/listing.ts";
import { InstrumentKind, INSTRUMENT_MARKET_BASE } from "../../../sequencer/protocol/constants.ts";

const CALL = { instrumentId: 1, marketId: INSTRUMENT_MARKET_BASE + 1, kind: InstrumentKind.CALL, underlying: 0, lotSizeE6: "10000", tickValue: "100", strike: "300000000000", expiry: 2_000_000_000 };
const PUT = { ...CALL, instrumentId: 2, marketId: INSTRUMENT_MARKET_BASE + 2, kind: InstrumentKind.PUT };
const SPOT = { marketId: 0, baseTokenId: 1, sizeUnit: "1000000000000000", priceUnit: "10" };

/** A node answering the custodian's views from `chain` (instrument id -> its market id and parameters; spot markets). */
function node(chain: { instruments: Record<number, { marketId: number; kind: number }>; markets: Record<number, { baseTokenId: number; sizeUnit: bigint; priceUnit: bigint }> }): PublicClient {
  return {
    readContract: async ({ functionName, args }: { functionName: string; args: readonly unknown[] }) => {
      const id = Number(args[0]);
      if (functionName === "instrumentMarketId") return chain.instruments[id]!.marketId;
      if (functionName === "instrument") {
        const i = chain.instruments[id]!;
        return { kind: i.kind, underlying: 0, lotSizeE6: 10_000n, tickValue: 100n, strike: 300_000_000_000n, expiry: 2_000_000_000 };
      }
      if (functionName === "markets") return chain.markets[id]!;
      throw new Error(functionName);
    },
  } as unknown as PublicClient;
}
const honestChain = { instruments: { 1: { marketId: CALL.marketId, kind: InstrumentKind.CALL }, 2: { marketId: PUT.marketId, kind: InstrumentKind.PUT } }, markets: { 0: { baseTokenId: 1, sizeUnit: 10n ** 15n, priceUnit: 10n } } };
const custodian = "0x0000000000000000000000000000000000000001";

describe("web page: a market's listing checked against the custodian before an order is signed", () => {
  it("passes an honest listing, spot and derivatives", async () => {
    assert.equal(await chainListingFault(node(honestChain), custodian, CALL.marketId, [CALL, PUT], [SPOT]), null);
    assert.equal(await chainListingFault(node(honestChain), custodian, 0, [CALL, PUT], [SPOT]), null);
  });

  it("refuses a call's label on the put's market id (the API swapped them), another kind or strike, and a spot market with another base token", async () => {
    const swapped = [{ ...CALL, marketId: PUT.marketId }, { ...PUT, marketId: CALL.marketId }];
    assert.match((await chainListingFault(node(honestChain), custodian, PUT.marketId, swapped, [SPOT]))!, /instrument 1 differs .*marketId: 32770 != 32769/);
    assert.match((await chainListingFault(node(honestChain), custodian, CALL.marketId, [{ ...CALL, kind: InstrumentKind.PUT }], [SPOT]))!, /kind: 4 != 3/);
    assert.match(listingMismatch({ ...CALL, strike: "1" }, { ...honestChain.instruments[1]!, underlying: 0, lotSizeE6: 10_000n, tickValue: 100n, strike: 300_000_000_000n, expiry: 2_000_000_000 })!, /strike: 1 != 300000000000/);
    assert.match((await chainListingFault(node(honestChain), custodian, 0, [], [{ ...SPOT, baseTokenId: 2 }]))!, /market 0 differs .*baseTokenId: 2 != 1/);
    assert.match((await chainListingFault(node(honestChain), custodian, 7, [], [SPOT]))!, /lists no market 7/);
  });
});
