/**
 * What both pages share: the server's config (/web/config.json), the chain (viem, through the server's
 * JSON-RPC relay unless `?rpc=` names another node), wallets (an injected EIP-1193 wallet, or on the
 * devnet the Hardhat development mnemonic's), DOM helpers and number formatting.
 */
import { createPublicClient, createWalletClient, custom, defineChain, erc20Abi, http, type Address, type Chain, type PublicClient, type WalletClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { custodianAbi } from "../../chain/abi.ts";
import type { ParamsName } from "../../protocol/params.ts";

export type PageConfig = {
  chainId: number; custodian: Address; params: ParamsName; devWallets: boolean; api: boolean; exit?: boolean; rpcUrl: string;
  /** The explorer was pointed at another custodian than the server's (`?custodian=`): read only, no wallet action. */
  foreignCustodian?: boolean;
};

/** Hardhat's well-known development mnemonic (public: its node funds these accounts). Offered on the devnet only. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/**
 * The server's config. The explorer (`overrides`) also takes `?rpc=URL` (another node to read the chain through) and
 * `?custodian=0x…` (another deployment to verify, then `foreignCustodian`: read only). The trading page takes
 * neither: a link to the exchange's own origin naming another custodian would have the wallet derive a key for it,
 * approve it and deposit to it (review of 2026-12-05); it reads through the connected wallet's node instead
 * (walletPublicClient).
 */
export async function loadConfig(overrides = false): Promise<PageConfig> {
  const res = await fetch("/web/config.json");
  if (!res.ok) throw new Error(`GET /web/config.json answered ${res.status}`);
  const c = await res.json();
  const q = overrides ? new URLSearchParams(location.search) : new URLSearchParams();
  const custodian = (q.get("custodian") as Address | null) ?? c.custodian;
  return {
    ...c,
    custodian,
    rpcUrl: q.get("rpc") ?? new URL("/web/rpc", location.href).href,
    ...(custodian.toLowerCase() !== String(c.custodian).toLowerCase() ? { foreignCustodian: true } : {}),
  };
}

export function chainOf(cfg: PageConfig): Chain {
  return defineChain({ id: cfg.chainId, name: `chain ${cfg.chainId}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [cfg.rpcUrl] } } });
}

export function publicClientOf(cfg: PageConfig): PublicClient {
  return createPublicClient({ chain: chainOf(cfg), transport: http(cfg.rpcUrl), pollingInterval: 500 }) as PublicClient;
}

declare global {
  interface Window {
    ethereum?: { request(args: { method: string; params?: unknown }): Promise<unknown> };
  }
}

/** A devnet wallet: account `index` of the development mnemonic, signing in the page, sending through the relay. */
export function devWallet(cfg: PageConfig, index: number): WalletClient {
  return createWalletClient({ account: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }), chain: chainOf(cfg), transport: http(cfg.rpcUrl) });
}

/** The browser's injected wallet (EIP-1193, window.ethereum) through viem's custom transport. */
export async function injectedWallet(cfg: PageConfig): Promise<WalletClient> {
  const eth = window.ethereum;
  if (!eth) throw new Error("no injected wallet (window.ethereum) in this browser");
  const [address] = (await eth.request({ method: "eth_requestAccounts" })) as Address[];
  if (!address) throw new Error("the wallet gave no account");
  const chainId = Number(await eth.request({ method: "eth_chainId" }));
  if (chainId !== cfg.chainId) throw new Error(`the wallet is on chain ${chainId}; the exchange is on chain ${cfg.chainId}`);
  return createWalletClient({ account: address, chain: chainOf(cfg), transport: custom(eth) });
}

/**
 * The chain as the browser's injected wallet reads it (its own node): once a wallet is connected, what the page
 * signs and sends (token addresses, decimals, account ids) is read there, not through the operator's relay.
 */
export function walletPublicClient(cfg: PageConfig): PublicClient {
  const eth = window.ethereum;
  if (!eth) throw new Error("no injected wallet (window.ethereum) in this browser");
  return createPublicClient({ chain: chainOf(cfg), transport: custom(eth), pollingInterval: 500 }) as PublicClient;
}

export type TokenInfo = { tokenId: number; address: Address; symbol: string; decimals: number };

/** The custodian's registered tokens, with their ERC20 symbol and decimals (chain data). */
export async function tokensOf(pc: PublicClient, custodian: Address): Promise<TokenInfo[]> {
  const count = Number(await pc.readContract({ address: custodian, abi: custodianAbi, functionName: "tokenCount" } as never));
  const out: TokenInfo[] = [];
  for (let t = 0; t < count; t++) {
    const address = (await pc.readContract({ address: custodian, abi: custodianAbi, functionName: "tokens", args: [t] } as never)) as Address;
    const [symbol, decimals] = await Promise.all([
      pc.readContract({ address, abi: erc20Abi, functionName: "symbol" }),
      pc.readContract({ address, abi: erc20Abi, functionName: "decimals" }),
    ]);
    out.push({ tokenId: t, address, symbol, decimals });
  }
  return out;
}

/** Token units as a decimal string ("1234.5"). */
export function units(amount: bigint, decimals: number): string {
  const neg = amount < 0n;
  const a = neg ? -amount : amount;
  const s = a.toString().padStart(decimals + 1, "0");
  const whole = s.slice(0, s.length - decimals);
  const frac = s.slice(s.length - decimals).replace(/0+$/, "");
  return `${neg ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

/** A decimal string in token units ("1.5") to base units; throws a clear error on anything else. */
export function parseUnitsStrict(text: string, decimals: number, what: string): bigint {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`${what}: "${text}" is not a positive decimal number`);
  const frac = m[2] ?? "";
  if (frac.length > decimals) throw new Error(`${what}: at most ${decimals} decimals`);
  const v = BigInt(m[1]!) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
  if (v <= 0n) throw new Error(`${what}: must be above zero`);
  return v;
}

/** A positive integer field ("lots", "ticks"); throws a clear error otherwise. */
export function parsePositive(text: string, what: string): bigint {
  if (!/^\d+$/.test(text.trim()) || BigInt(text.trim()) <= 0n) throw new Error(`${what}: "${text}" is not a positive whole number`);
  return BigInt(text.trim());
}

/** A whole number, 0 included (an id), or an error naming `what`. */
export function parseWhole(text: string, what: string): number {
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text.trim()))) throw new Error(`${what}: "${text}" is not a whole number`);
  return Number(text.trim());
}

type Child = Node | string | number | bigint | null | undefined | false;

/** Creates an element: h("td", {class: "x"}, "text", child). Attributes starting with "on" are listeners. */
export function h(tag: string, attrs: Record<string, unknown> = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no element #${id}`);
  return el as T;
};

/** Replaces an element's children. */
export function fill(id: string, ...children: (Child | Child[])[]): void {
  $(id).replaceChildren(...children.flat().filter((c): c is Node | string => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : String(c))));
}

/** A table with a header row; `rows` are arrays of cells. */
export function table(head: string[], rows: Child[][], attrs: Record<string, unknown> = {}): HTMLElement {
  return h("table", attrs, h("thead", {}, h("tr", {}, head.map((c) => h("th", {}, c)))), h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => h("td", {}, c as Child))))));
}

export const short = (hex: string | bigint, n = 10): string => {
  const s = typeof hex === "bigint" ? `0x${hex.toString(16).padStart(64, "0")}` : hex;
  return s.length > n + 6 ? `${s.slice(0, n)}…${s.slice(-4)}` : s;
};
export const time = (unix: number | bigint): string => new Date(Number(unix) * 1000).toISOString().replace("T", " ").slice(0, 19);
export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
