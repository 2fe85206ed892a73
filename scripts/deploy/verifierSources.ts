/**
 * Where `npm run deploy` takes the custodian's Groth16 verifiers from. All three are immutable on the custodian (the
 * marking circuit's behind its marks registry), so they come together: the operator's keys for every circuit
 * (`--verifier`, `--exit-verifier` and `--marking-verifier`: the snarkjs verifier sources of the batch, exit and
 * marking circuits, from the phase-2 ceremony), or development keys for all, built on this machine (a local chain
 * only). A deployment with the batch circuit's real verifier and no exit verifier could never let anyone exit, one
 * without the marking verifier could never take a batch that reads marks, so a part alone is refused.
 */
import { existsSync } from "node:fs";

export type VerifierSourceOptions = { verifier?: string; exitVerifier?: string; markingVerifier?: string };

/** The three sources, or `"dev"`: build every circuit with INSECURE development keys. */
export type VerifierSources = { batch: string; exit: string; marking: string } | "dev";

/** The flags, by option name. */
const FLAGS = { verifier: "--verifier", exitVerifier: "--exit-verifier", markingVerifier: "--marking-verifier" } as const;

/** Resolves the deploy script's verifier options; throws (before anything is deployed) when only some are given or a file is missing. */
export function verifierSources(o: VerifierSourceOptions): VerifierSources {
  const names = Object.keys(FLAGS) as (keyof typeof FLAGS)[];
  const given = names.filter((n) => o[n] !== undefined);
  if (given.length === 0) return "dev";
  if (given.length < names.length) {
    throw new Error(
      `--verifier, --exit-verifier and --marking-verifier go together: the custodian's batch, exit and marking verifiers are all ` +
        `immutable, and a deployment without the exit circuit's verifier would refuse every exit, one without the marking ` +
        `circuit's every batch that reads marks (got only ${given.map((n) => FLAGS[n]).join(" and ")})`,
    );
  }
  for (const n of names) if (!existsSync(o[n]!)) throw new Error(`${FLAGS[n]} ${o[n]}: no such file`);
  return { batch: o.verifier!, exit: o.exitVerifier!, marking: o.markingVerifier! };
}
