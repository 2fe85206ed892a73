/** The proving pool (see proverPool.ts for the pipeline and the tie-break rules). */
export {
  ProverPool,
  ProverPoolError,
  isWitnessFailure,
  type AttemptOp,
  type AttemptOutcome,
  type AttemptRecord,
  type DeviceHealth,
  type DeviceState,
  type ExpectedPublicInput,
  type JobId,
  type PoolMetrics,
  type PoolProof,
  type PoolTimings,
  type PrepareFn,
  type ProverPoolOptions,
} from "./proverPool.ts";
export { LatencySamples, percentile, type Percentiles } from "./metrics.ts";
