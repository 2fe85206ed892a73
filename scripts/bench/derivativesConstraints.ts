/**
 * Constraint counts of the derivatives part of the batch circuit (circuits/DERIVATIVES.md): one
 * derivatives slot (every type - trade, liquidation, settlement, transfer, registration - runs the
 * same universal DerivSlot, so each costs exactly the slot), the batch-level oracle step and its
 * parts (oracle signature, Black-Scholes per option instrument), at TEST and PRODUCTION sizes, beside
 * the spot Slot as the baseline.
 *
 *   npx tsx scripts/bench/derivativesConstraints.ts      (or: npm run bench -- derivatives)
 */
import { PRODUCTION_PARAMS, TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { oracleSectionBytes, RECORD_BYTES } from "../../sequencer/protocol/constants.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { compileR1cs } from "./constraints.ts";
import { int, pct, section, table } from "./util.ts";

const main = (include: string, body: string) => `pragma circom 2.1.0;\ninclude "${include}";\ncomponent main = ${body};\n`;
const DERIV = "circuits/derivatives/derivSlot.circom";
const ORACLE = "circuits/derivatives/oracleStep.circom";

export type DerivativesConstraintReport = Record<string, { derivSlot: number; spotSlot: number; oracleStep: number; blackScholes: number; signature: number }>;

export async function runDerivativesConstraints(): Promise<DerivativesConstraintReport> {
  const sizes: [string, CircuitParams][] = [["TEST", TEST_PARAMS], ["PRODUCTION", PRODUCTION_PARAMS]];
  const count = async (name: string, src: string) => (await compileR1cs(name, src)).nConstraints;
  const blackScholes = await count("BlackScholes", main("circuits/lib/fixed/blackScholes.circom", "BlackScholes()"));
  const signature = await count("SignatureIfEnabled", main("circuits/batch/slot.circom", "SignatureIfEnabled()"));
  const report: DerivativesConstraintReport = {};
  for (const [label, p] of sizes) {
    const depths = `${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}`;
    report[label] = {
      derivSlot: await count(`DerivSlot_${label}`, main(DERIV, `DerivSlot(${depths}, ${p.instruments}, ${p.optionInstruments}, ${p.underlyings})`)),
      spotSlot: await count(`Slot_${label}`, main("circuits/batch/slot.circom", `Slot(${depths}, ${p.marketLevels})`)),
      oracleStep: await count(`OracleStep_${label}`, main(ORACLE, `OracleStep(${p.instruments}, ${p.optionInstruments}, ${p.underlyings})`)),
      blackScholes,
      signature,
    };
  }
  section("Derivatives: constraints per derivatives slot and per batch (circom2 --O2)");
  const rows = sizes.map(([label, p]) => {
    const r = report[label]!;
    return [
      `${label} (depths ${p.accountLevels}/${p.balanceLevels}/${p.orderLevels}, ${p.instruments} instruments, ${p.optionInstruments} options, ${p.underlyings} underlyings)`,
      int(r.derivSlot), int(r.spotSlot), `${(r.derivSlot / r.spotSlot).toFixed(2)}x`, int(r.oracleStep),
      `${int(p.optionInstruments * r.blackScholes)} (${pct(p.optionInstruments * r.blackScholes, r.oracleStep)})`,
      int(oracleSectionBytes(p)),
    ];
  });
  console.log(table(
    ["size", "DerivSlot = per derivatives trade, liquidation, settlement, transfer", "spot Slot (baseline)", "ratio", "OracleStep (once per batch)", "of which Black-Scholes", "oracle section bytes"],
    rows,
  ));
  console.log(
    `\nEvery derivatives transaction type runs the same universal DerivSlot, so a trade, a liquidation and a settlement each cost the slot above, ` +
      `plus ${RECORD_BYTES} bytes of public data (sha256, as a spot record). Per batch the oracle step adds its EdDSA check (${int(signature)}), ` +
      `one Black-Scholes per option instrument (${int(blackScholes)} each) and the per-instrument marks, margins, settlement and funding arithmetic.`,
  );
  return report;
}

if (isMainModule(import.meta.url)) {
  await runDerivativesConstraints();
  process.exit(0);
}
