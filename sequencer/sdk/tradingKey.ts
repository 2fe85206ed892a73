/**
 * Trading-key onboarding (the scheme Loopring, dYdX and Lighter use): the wallet signs one EIP-712
 * `RegisterTradingKey` message bound to the chain and the custodian; the Baby Jubjub private key is
 * keccak256 of that signature. Wallet signatures are deterministic (RFC 6979), so the same wallet,
 * chain and custodian always re-derive the same key, and another chain or custodian gives another.
 */
import { hexToBytes, keccak256, toHex, type Address, type Hex, type TypedDataDomain } from "viem";
import { publicKeyOf, type PublicKey } from "../crypto/babyjub.ts";

export const TRADING_KEY_TYPES = {
  RegisterTradingKey: [
    { name: "statement", type: "string" },
    { name: "keyIndex", type: "uint32" },
  ],
} as const;

export const TRADING_KEY_STATEMENT =
  "Sign to derive your trading key for this exchange. Only sign this on the exchange's own client: whoever holds this signature can trade your account.";

export function tradingKeyDomain(chainId: number, custodian: Address): TypedDataDomain {
  return { name: "ZK Derivatives Exchange", version: "1", chainId, verifyingContract: custodian };
}

export function tradingKeyTypedData(chainId: number, custodian: Address, keyIndex = 0) {
  return {
    domain: tradingKeyDomain(chainId, custodian),
    types: TRADING_KEY_TYPES,
    primaryType: "RegisterTradingKey" as const,
    message: { statement: TRADING_KEY_STATEMENT, keyIndex },
  };
}

/** Anything that can sign EIP-712 typed data: a viem account or wallet client. */
export type TypedDataSigner = {
  signTypedData(args: ReturnType<typeof tradingKeyTypedData>): Promise<Hex>;
};

export type TradingKey = { privateKey: Uint8Array; publicKey: PublicKey };

/**
 * The trading key of a wallet's EIP-712 signature (docs/client.md 3.2): keccak256 of its 65 bytes r ++ s ++ v with
 * v = 27 or 28. A wallet answering v as 0/1 is normalised to 27/28, and a 64-byte EIP-2098 compact signature
 * (yParity in the top bit of s) is expanded, so every wallet gives the same key for the same signature; anything
 * else is refused (it would derive a key nobody can derive again).
 */
export function tradingKeyFromSignature(signature: Hex): TradingKey {
  const privateKey = hexToBytes(keccak256(canonicalSignature(signature)));
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

/** `signature` as 65 bytes r ++ s ++ v with v = 27 or 28 (see tradingKeyFromSignature); throws for anything else. */
export function canonicalSignature(signature: Hex): Hex {
  if (!/^0x[0-9a-fA-F]*$/.test(signature)) throw new Error("the wallet's signature is not hex");
  const bytes = hexToBytes(signature);
  if (bytes.length === 64) {
    // EIP-2098: r ++ yParityAndS, yParity in the top bit of s
    const out = new Uint8Array(65);
    out.set(bytes);
    const yParity = bytes[32]! >> 7;
    out[32] = bytes[32]! & 0x7f;
    out[64] = 27 + yParity;
    return toHex(out);
  }
  if (bytes.length !== 65) throw new Error(`the wallet's signature has ${bytes.length} bytes, not 65 (r, s, v) or 64 (EIP-2098)`);
  const v = bytes[64]!;
  if (v === 27 || v === 28) return toHex(bytes);
  if (v === 0 || v === 1) {
    const out = bytes.slice();
    out[64] = 27 + v;
    return toHex(out);
  }
  throw new Error(`the wallet's signature has v = ${v}, not 27/28 (or 0/1)`);
}

/** Asks the wallet for the EIP-712 signature and derives the trading key from it. */
export async function deriveTradingKey(signer: TypedDataSigner, chainId: number, custodian: Address, keyIndex = 0): Promise<TradingKey> {
  const signature = await signer.signTypedData(tradingKeyTypedData(chainId, custodian, keyIndex));
  return tradingKeyFromSignature(signature);
}

/** An ethers v6 Signer's typed-data method (structural, so the SDK needs no ethers dependency). */
export type EthersTypedDataSigner = {
  signTypedData(domain: TypedDataDomain, types: Record<string, readonly { name: string; type: string }[]>, value: Record<string, unknown>): Promise<string>;
};

/** Lets an ethers Signer derive the trading key (ethers takes domain, types and message apart). */
export function ethersTypedDataSigner(signer: EthersTypedDataSigner): TypedDataSigner {
  return { signTypedData: async (args) => (await signer.signTypedData(args.domain, args.types, args.message)) as Hex };
}
