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

export function compileVerifier(solPath: string): CompiledContract {
  const cachePath = solPath.replace(/\.sol$/, ".compiled.json");
  if (existsSync(cachePath)) return JSON.parse(readFileSync(cachePath, "utf8")) as CompiledContract;
  const solc = require("solc") as { compile(input: string): string };
  const source = readFileSync(solPath, "utf8");
  const input = {
    language: "Solidity",
    sources: { "Verifier.sol": { content: source } },
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: "cancun", outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } } },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(`verifier does not compile:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  const [contractName, contract] = Object.entries(output.contracts["Verifier.sol"])[0];
  const compiled: CompiledContract = { contractName, abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
  writeFileSync(cachePath, JSON.stringify(compiled));
  return compiled;
}
