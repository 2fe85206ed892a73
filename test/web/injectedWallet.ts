/**
 * A minimal injected wallet for the browser tests: `window.ethereum` (EIP-1193) in the page, forwarding
 * every request to a wallet on the Node side through page.exposeFunction. The Node side holds a private
 * key (viem's privateKeyToAccount) and answers as a wallet extension would: eth_requestAccounts and
 * eth_accounts with its address, eth_chainId with the node's, eth_signTypedData_v4 by signing the typed
 * data, eth_sendTransaction by signing and sending through the devnet node; anything else (reads, gas
 * estimates) is passed to the node. Every call is logged, so a test can see what the page asked for.
 */
import type { Page } from "playwright-core";
import { createWalletClient, http, toHex, type Address, type Hex, type PrivateKeyAccount, type PublicClient, type TypedDataDefinition } from "viem";
import { hardhat } from "viem/chains";

export type WalletCall = { method: string; params: unknown[] };

type TxRequest = { from?: Address; to?: Address; data?: Hex; value?: Hex; gas?: Hex; nonce?: Hex };

/** Installs the wallet in `page` (before its scripts run: call before goto); returns the log of the page's requests. */
export async function injectWallet(page: Page, account: PrivateKeyAccount, publicClient: PublicClient, nodeUrl: string): Promise<WalletCall[]> {
  const chainId = await publicClient.getChainId();
  const wallet = createWalletClient({ account, chain: { ...hardhat, id: chainId }, transport: http(nodeUrl) });
  const calls: WalletCall[] = [];
  const own = (address: unknown) => {
    if (typeof address !== "string" || address.toLowerCase() !== account.address.toLowerCase()) throw new Error(`the wallet does not hold ${String(address)}`);
  };
  const handle = async (method: string, params: unknown[]): Promise<unknown> => {
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return [account.address];
      case "eth_chainId":
        return toHex(chainId);
      case "eth_signTypedData_v4": {
        own(params[0]);
        const { domain, types, primaryType, message } = JSON.parse(String(params[1])) as TypedDataDefinition & { types: Record<string, unknown> };
        const { EIP712Domain: _domainType, ...rest } = types;
        return account.signTypedData({ domain, types: rest, primaryType, message } as TypedDataDefinition);
      }
      case "eth_sendTransaction": {
        const tx = params[0] as TxRequest;
        own(tx.from ?? account.address);
        const big = (v: Hex | undefined) => (v === undefined ? undefined : BigInt(v));
        return wallet.sendTransaction({ to: tx.to, data: tx.data, value: big(tx.value), gas: big(tx.gas), nonce: tx.nonce === undefined ? undefined : Number(tx.nonce) } as never);
      }
      default:
        return publicClient.request({ method, params } as never);
    }
  };
  await page.exposeFunction("__injectedWallet", async (method: string, paramsJson: string) => {
    const params = JSON.parse(paramsJson) as unknown[];
    calls.push({ method, params });
    return JSON.stringify((await handle(method, params)) ?? null);
  });
  // A string, not a function: the test runner's transform would name the inner function with a helper the page lacks.
  await page.addInitScript(
    "window.ethereum = { request: async ({ method, params }) => JSON.parse(await window.__injectedWallet(method, JSON.stringify(params ?? []))) };",
  );
  return calls;
}
