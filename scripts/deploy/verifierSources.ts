/**
 * Where `npm run deploy` takes the custodian's two Groth16 verifiers from. Both are immutable on the custodian, so
 * they come as a pair: the operator's keys for both circuits (`--verifier` and `--exit-verifier`: the snarkjs
 * verifier sources of the batch and exit circuits, from the phase-2 ceremony), or development keys for both,
 * built on this machine (a local chain only). A deployment with the batch circuit's real verifier and no exit
 * verifier could never let anyone exit, so it is refused, as is the other half alone.
 */
import { existsSync } from "node:fs";

export type VerifierSourceOptions = { verifier?: string; exitVerifier?: string };

/** The two sources, or `"dev"`: build both circuits with INSECURE development keys. */
export type VerifierSources = { batch: string; exit: string } | "dev";

/** Resolves the deploy script's verifier options; throws (before anything is deployed) when only one is given or a file is missing. */
export function verifierSources(o: VerifierSourceOptions): VerifierSources {
  if (o.verifier === undefined && o.exitVerifier === undefined) return "dev";
  if (o.verifier === undefined || o.exitVerifier === undefined) {
    throw new Error(
      `--verifier and --exit-verifier go together: the custodian's batch and exit verifiers are both immutable, and a ` +
        `deployment without the exit circuit's verifier would refuse every exit (got only ${o.verifier === undefined ? "--exit-verifier" : "--verifier"})`,
    );
  }
  for (const [flag, path] of [["--verifier", o.verifier], ["--exit-verifier", o.exitVerifier]] as const) {
    if (!existsSync(path)) throw new Error(`${flag} ${path}: no such file`);
  }
  return { batch: o.verifier, exit: o.exitVerifier };
}
