/**
 * The trading page labels each market from the exchange's API (`/v1/markets`, `/v1/instruments`) and signs the
 * market id of the one chosen. An operator answering with another instrument's market id under a label (a put's
 * under a call's) would have the trader sign for the wrong instrument (review of 2026-12-05). So before an order
 * is signed its listing is checked against the custodian's own: `listingMismatch` compares what the API said with
 * what the chain holds, `chainListingFault` reads the chain.
 */
import type { Address, PublicClient } from "viem";
import { custodianAbi } from "../../chain/abi.ts";
import { INSTRUMENT_MARKET_BASE } from "../../protocol/constants.ts";

/** An instrument as the API lists it (the fields the label and the order's meaning rest on). */
export type ListedInstrument = {
  instrumentId: number; marketId: number; kind: number; underlying: number; lotSizeE6: bigint | string | number; tickValue: bigint | string | number;
  strike: bigint | string | number; expiry: number;
};
/** A spot market as the API lists it. */
export type ListedMarket = { marketId: number; baseTokenId: number; sizeUnit: bigint | string | number; priceUnit: bigint | string | number };

/** What the custodian holds for an instrument id: its parameters and the market id its orders sign. */
export type ChainInstrument = { marketId: number; kind: number; underlying: number; lotSizeE6: bigint; tickValue: bigint; strike: bigint; expiry: number };
export type ChainMarket = { baseTokenId: number; sizeUnit: bigint; priceUnit: bigint };

/** The fields where the API's listing differs from the chain's, as "field: api != chain", or null when none does. */
export function listingMismatch(listed: ListedInstrument, chain: ChainInstrument): string | null;
export function listingMismatch(listed: ListedMarket, chain: ChainMarket): string | null;
export function listingMismatch(listed: ListedInstrument | ListedMarket, chain: ChainInstrument | ChainMarket): string | null {
  const want = chain as Record<string, bigint | number>;
  const got = listed as unknown as Record<string, bigint | string | number>;
  const off = Object.keys(want).filter((k) => BigInt(got[k] ?? -1) !== BigInt(want[k]!)).map((k) => `${k}: ${got[k]} != ${want[k]}`);
  return off.length ? off.join(", ") : null;
}

/**
 * Why the API's listing of market `marketId` cannot be trusted for signing (it differs from the custodian's, or
 * the API lists no such market), or null. Read from `pc` (the connected wallet's node where there is one).
 */
export async function chainListingFault(
  pc: PublicClient, custodian: Address, marketId: number, instruments: readonly ListedInstrument[], markets: readonly ListedMarket[],
): Promise<string | null> {
  const read = <T>(functionName: string, args: readonly unknown[]) => pc.readContract({ address: custodian, abi: custodianAbi, functionName, args } as never) as Promise<T>;
  if (marketId >= INSTRUMENT_MARKET_BASE) {
    const listed = instruments.find((i) => i.marketId === marketId);
    if (!listed) return `the exchange lists no instrument with market ${marketId}`;
    const [chainMarketId, p] = await Promise.all([
      read<number>("instrumentMarketId", [listed.instrumentId]),
      read<{ kind: number; underlying: number; lotSizeE6: bigint; tickValue: bigint; strike: bigint; expiry: number }>("instrument", [listed.instrumentId]),
    ]);
    const chain = { marketId: Number(chainMarketId), kind: p.kind, underlying: p.underlying, lotSizeE6: p.lotSizeE6, tickValue: p.tickValue, strike: p.strike, expiry: p.expiry };
    const off = listingMismatch(listed, chain);
    return off ? `the exchange's listing of instrument ${listed.instrumentId} differs from the custodian's (${off})` : null;
  }
  const listed = markets.find((m) => m.marketId === marketId);
  if (!listed) return `the exchange lists no market ${marketId}`;
  const m = await read<ChainMarket>("markets", [marketId]);
  const off = listingMismatch(listed, { baseTokenId: m.baseTokenId, sizeUnit: m.sizeUnit, priceUnit: m.priceUnit });
  return off ? `the exchange's listing of market ${marketId} differs from the custodian's (${off})` : null;
}
