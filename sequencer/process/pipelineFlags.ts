/**
 * The batch pipeline's command-line settings (`--pipeline-depth`, `--batches-per-post`), shared by the
 * sequencer process and the devnet: SequencerOptions.pipelineDepth and batchesPerPost document them; and the
 * sequencer process's marking flags (`--marking-wasm`, `--marking-zkey`, `--marking-vkey`, `--marks-registry`):
 * SequencerOptions.markingKeys and marksRegistry.
 */
import { isAddress, isAddressEqual, zeroAddress, type Address } from "viem";
import { loadCircuitArtifacts } from "../../fpga-prover/artifacts.ts";
import type { CircuitKeys } from "../../fpga-prover/device.ts";
import { MARKING_PUBLIC_INPUTS } from "../chain/marksRegistry.ts";

/** The flags as Commander hands them over (strings). */
export type PipelineFlags = { pipelineDepth: string; batchesPerPost: string };

/** The two settings as numbers; throws, naming the flag, for anything but a whole number from 1 to 99. */
export function pipelineSettings(flags: PipelineFlags): { pipelineDepth: number; batchesPerPost: number } {
  const parse = (flag: string, v: string) => {
    if (!/^[1-9][0-9]?$/.test(v)) throw new Error(`${flag} ${v}: a number from 1 to 99`);
    return Number(v);
  };
  return { pipelineDepth: parse("--pipeline-depth", flags.pipelineDepth), batchesPerPost: parse("--batches-per-post", flags.batchesPerPost) };
}

/** The marking flags as Commander hands them over: all four or none. */
export type MarkingFlags = { markingWasm?: string; markingZkey?: string; markingVkey?: string; marksRegistry?: string };

/**
 * The marking circuit's artifacts (checked: loadCircuitArtifacts with a marking proof's public inputs) and the marks
 * registry, or nothing when no flag is given; throws, naming the flags, when only some are given or the registry is
 * no address.
 */
export function markingSettings(flags: MarkingFlags): { markingKeys: CircuitKeys; marksRegistry: Address } | Record<string, never> {
  const given = ([["--marking-wasm", flags.markingWasm], ["--marking-zkey", flags.markingZkey], ["--marking-vkey", flags.markingVkey], ["--marks-registry", flags.marksRegistry]] as const)
    .filter(([, v]) => v !== undefined);
  if (given.length === 0) return {};
  if (given.length < 4) {
    throw new Error(`--marking-wasm, --marking-zkey, --marking-vkey and --marks-registry go together: a batch's marking is proven with the keys and recorded in the registry (got only ${given.map(([f]) => f).join(", ")})`);
  }
  if (!isAddress(flags.marksRegistry!)) throw new Error(`--marks-registry ${flags.marksRegistry}: not an address`);
  const markingKeys = loadCircuitArtifacts({ wasm: flags.markingWasm!, zkey: flags.markingZkey!, vkey: flags.markingVkey! }, MARKING_PUBLIC_INPUTS, { circuit: "marking", flagPrefix: "marking-" });
  return { markingKeys, marksRegistry: flags.marksRegistry as Address };
}

/**
 * Throws unless the marking settings match the custodian's marks registry (`Custodian.marksRegistry()`, read at start):
 * a custodian with a registry needs the marking flags, naming that registry (recordings elsewhere vouch for nothing:
 * every batch that read a mark would be refused, MarksNotRecorded, until exodus); a custodian without one takes none
 * (it lists no option, RULES.md MK8, so no batch reads a mark).
 */
export function checkMarksRegistry(custodianRegistry: Address, marking: ReturnType<typeof markingSettings>): void {
  const none = isAddressEqual(custodianRegistry, zeroAddress);
  if (!("marksRegistry" in marking)) {
    if (!none) throw new Error(`the custodian reads option marks from the marks registry ${custodianRegistry}: pass --marking-wasm, --marking-zkey, --marking-vkey and --marks-registry ${custodianRegistry}`);
    return;
  }
  if (none) throw new Error(`--marks-registry ${marking.marksRegistry}: the custodian has no marks registry (it lists no option); leave the marking flags out`);
  if (!isAddressEqual(marking.marksRegistry, custodianRegistry)) throw new Error(`--marks-registry ${marking.marksRegistry} is not the custodian's marks registry ${custodianRegistry}: its recordings would vouch for no batch`);
}
