/**
 * The sequencer process with `--prover-queue`: a deposit on a local Hardhat node is settled by a batch
 * that a prover worker process proves through the queue (a job engine this test starts), the sequencer
 * verifies and posts, and the custodian accepts (its verifier checks the proof on chain).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { erc20Abi, type Address, type PublicClient } from "viem";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { REPO_ROOT } from "../../scripts/build/circuitBuild.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { readArtifact, send } from "../../scripts/deploy/deployExchange.ts";
import type { LocalNode } from "../../scripts/devnet/localNode.ts";
import { spawnJobEngine, type JobEngineProcess } from "../../scripts/proverQueue.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { startLocalExchange } from "../helpers/localExchange.ts";
import { SequencerProcess } from "../helpers/sequencerProcess.ts";
import { testTrader } from "../helpers/traders.ts";

describe("sequencer process proving through the prover queue", { timeout: 600_000 }, () => {
  let node: LocalNode;
  let engine: JobEngineProcess;
  let worker: ChildProcess;
  const workerLines: string[] = [];
  let sequencer: SequencerProcess | undefined;
  let publicClient: PublicClient;
  let custodian: Address;
  let operatorKey: string;
  const dataDir = mkdtempSync(join(tmpdir(), "sequencer-queue-"));

  before(async () => {
    const circuit = await buildBatchCircuit(TEST_PARAMS);
    const local = await startLocalExchange(circuit.verifierSol);
    ({ node, publicClient, operatorKey } = local);
    const { as, operator, wallet, deployment: d } = local;
    custodian = d.custodian;
    const trader = wallet(1);
    await send(as(trader), custodian, custodianAbi, "registerTradingKey", [...testTrader(1).pubKey]);
    const amount = 1_000n * 10n ** 6n;
    await send(as(operator), d.usdc, readArtifact("test/TestToken.sol", "TestToken").abi, "mint", [trader.account!.address, amount]);
    await send(as(trader), d.usdc, erc20Abi, "approve", [custodian, amount]);
    await send(as(trader), custodian, custodianAbi, "deposit", [0, amount]);
    engine = await spawnJobEngine();
    worker = spawn(process.execPath, ["--import", "tsx", "scripts/proverWorker.ts", "--queue", engine.url, "--worker-id", "remote-1", "--poll-ms", "200"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const keep = (b: Buffer) => workerLines.push(...b.toString().split("\n").filter((l) => l.trim()));
    worker.stdout!.on("data", keep);
    worker.stderr!.on("data", keep);
  });

  after(async () => {
    sequencer?.kill();
    if (worker && worker.exitCode === null) worker.kill("SIGKILL");
    await engine?.stop();
    node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await terminateSnarkjsCurve();
  });

  it("the deposit's batch is proven by the worker, verified by the sequencer and accepted on chain", async () => {
    sequencer = await SequencerProcess.start(
      { data: dataDir, rpc: node.url, custodian, operatorKey, env: { SEQUENCER_TRACE: "1" } },
      ["--prover-queue", engine.url, "--max-wait-ms", "200"],
    );
    const t0 = Date.now();
    while (!sequencer.output.some((l) => /batch 0 posted/.test(l))) {
      if (Date.now() - t0 > 300_000 || !sequencer.isAlive) assert.fail(`no batch posted:\n${sequencer.output.slice(-30).join("\n")}\n${workerLines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const batches = await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "batchCount" });
    assert.ok(Number(batches) >= 1, `custodian batchCount ${batches}`);
    assert.ok(sequencer.output.some((l) => /prover: prover queue at 127\.0\.0\.1:\d+\/postgres/.test(l)), sequencer.output.join("\n"));
    assert.ok(workerLines.some((l) => /\(label 0, try 0\): proved .* answer accepted/.test(l)), workerLines.join("\n"));
  });
});
