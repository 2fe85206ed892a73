/** Starts `hardhat node` as a child process and waits until its JSON-RPC answers. */
import { spawn, type ChildProcess } from "node:child_process";
import { createPublicClient, http } from "viem";
import { hardhat } from "viem/chains";

export type LocalNode = { url: string; process: ChildProcess; stop: () => void };

export async function startHardhatNode(port: number, log: (line: string) => void = () => {}): Promise<LocalNode> {
  const url = `http://127.0.0.1:${port}`;
  const client = createPublicClient({ chain: hardhat, transport: http(url) });
  try {
    await client.getChainId();
    throw new Error(`something already answers on ${url}: stop it or pass another --port`);
  } catch (e) {
    if ((e as Error).message.startsWith("something already")) throw e;
  }
  const child = spawn(process.execPath, ["node_modules/hardhat/dist/src/cli.js", "node", "--port", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const stop = () => {
    if (child.exitCode === null) child.kill("SIGTERM");
  };
  process.once("exit", stop);
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited (${child.exitCode}):\n${output}`);
    try {
      await client.getChainId();
      log(`hardhat node listening on ${url}`);
      return { url, process: child, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  stop();
  throw new Error(`hardhat node did not answer on ${url} within 60 s:\n${output}`);
}
