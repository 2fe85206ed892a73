/**
 * Trading-key onboarding (the scheme Loopring, dYdX and Lighter use): the wallet signs one EIP-712
 * `RegisterTradingKey` message bound to the chain and the custodian; the Baby Jubjub private key is
 * keccak256 of that signature. Wallet signatures are deterministic (RFC 6979), so the same wallet,
 * chain and custodian always re-derive the same key, and another chain or custodian gives another.
 */
import { hexToBytes, keccak256, type Address, type Hex, type TypedDataDomain } from "viem";
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

export function tradingKeyFromSignature(signature: Hex): TradingKey {
  const privateKey = hexToBytes(keccak256(signature));
  return { privateKey, publicKey: publicKeyOf(privateKey) };
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
