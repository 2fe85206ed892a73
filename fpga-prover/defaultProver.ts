/**
 * The prover the sequencer uses by default: the native backend when its addon is built, in a pool with
 * snarkjs as the second device that checks every proof (paper Protocol 4); snarkjs alone otherwise,
 * said once. snarkjs is the pool's hot spare: it checks proofs and proves only when the native device
 * fails, so batches in flight behind the one being proven (SequencerOptions.pipelineDepth) wait for the
 * native device instead of being proven by snarkjs, which takes about 8 times as long.
 */
import { isNativeAvailable, nativeUnavailableReason, NativeDevice } from "./nativeDevice.ts";
import { ProverPool } from "./pool/index.ts";
import { SingleDeviceProver, type VerifiedProver } from "./prover.ts";
import { SnarkjsDevice } from "./snarkjsDevice.ts";

export function createDefaultProver(log: (line: string) => void = console.log): { prover: VerifiedProver; description: string } {
  if (isNativeAvailable()) {
    return { prover: new ProverPool([new NativeDevice(), new SnarkjsDevice()], { hotSpares: 1 }), description: "native prover, proofs checked by snarkjs (pool of 2, snarkjs the hot spare)" };
  }
  log(`native prover unavailable (${nativeUnavailableReason()}); proving with snarkjs`);
  return { prover: new SingleDeviceProver(new SnarkjsDevice()), description: "snarkjs" };
}
