/** The matching engine's public API. */
export { MatchingEngine, type EngineOptions } from "./engine.ts";
export { MarketRegistry, type MarketParamsJson } from "./markets.ts";
export { noRisk, type RiskHook } from "./riskHook.ts";
export { effectiveFeePpm, feeAmount } from "./fees.ts";
export type { EngineSnapshot, RestingOrderJson } from "./snapshot.ts";
export * from "./types.ts";
