/**
 * Compiles a snarkjs-exported Groth16 verifier with the `solc` package's wasm compiler, so the verifier
 * of each circuit is deployed from its build directory (a build output, never committed), cached next
 * to the .sol file it came from.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Abi, Hex } from "viem";

const require = createRequire(import.meta.url);

export type CompiledContract = { contractName: string; abi: Abi; bytecode: Hex };

/** A solc standard-JSON input of one source file (`Verifier.sol`), with the settings every verifier is built with. */
export type VerifierSolcInput = {
  language: "Solidity";
  sources: { "Verifier.sol": { content: string } };
  settings: { optimizer: { enabled: true; runs: 200 }; evmVersion: "cancun"; outputSelection: Record<string, Record<string, string[]>> };
};

/**
 * Compiles the verifier at `solPath` (optimizer on, 200 runs, cancun: the settings of hardhat.config.ts) asking
 * for `outputs` of each contract (and `extra` per file, e.g. `["ast"]`); returns solc's standard-JSON input and
 * output. Throws with solc's messages when it does not compile.
 */
export function compileVerifierStandardJson(solPath: string, outputs: string[], extra: string[] = []) {
  const solc = require("solc") as { compile(input: string): string };
  const input: VerifierSolcInput = {
    language: "Solidity",
    sources: { "Verifier.sol": { content: readFileSync(solPath, "utf8") } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun", outputSelection: { "*": { "*": outputs, "": extra } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    sources: Record<string, { id: number; ast: unknown }>;
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string }; deployedBytecode?: { object: string; sourceMap: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(`verifier does not compile:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  return { input, output };
}

export function compileVerifier(solPath: string): CompiledContract {
  const cachePath = solPath.replace(/\.sol$/, ".compiled.json");
  if (existsSync(cachePath)) return JSON.parse(readFileSync(cachePath, "utf8")) as CompiledContract;
  const { output } = compileVerifierStandardJson(solPath, ["abi", "evm.bytecode.object"]);
  const [contractName, contract] = Object.entries(output.contracts["Verifier.sol"])[0];
  const compiled: CompiledContract = { contractName, abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
  writeFileSync(cachePath, JSON.stringify(compiled));
  return compiled;
}
