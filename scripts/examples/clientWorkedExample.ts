/**
 * The worked example of docs/client.md, computed by the code a client reimplements: EIP-712 trading-key
 * derivation (sdk/tradingKey.ts), the signed messages and their packing (protocol/messages.ts), binary
 * order records (protocol/orderRecords.ts), EdDSA-Poseidon (crypto/babyjub.ts, circomlibjs) and the JSON
 * encoding (bigints as decimal strings). It prints every intermediate value, section by section; each
 * section is the text of one `<!-- example:NAME -->` block of docs/client.md, and
 * test/docs/clientExample.test.ts checks that the document still shows exactly what this prints.
 *
 *   npx tsx scripts/examples/clientWorkedExample.ts          # every section
 *   npx tsx scripts/examples/clientWorkedExample.ts order    # one section
 *
 * Everything is deterministic: the wallet's ECDSA signature (RFC 6979) and circomlibjs's EdDSA nonce
 * (derived from the key and the message) depend on their inputs only.
 */
import createBlakeHash from "blake-hash";
import { buildBabyjub } from "circomlibjs";
import {
  bytesToHex, domainSeparator, encodeFunctionData, hashStruct, hashTypedData, keccak256, parseAbi, parseSignature, toHex, type Address, type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { compressPublicKey, publicKeyFault, signMessage, verifyMessage, type PublicKey, type Signature } from "../../sequencer/crypto/babyjub.ts";
import { poseidon } from "../../sequencer/crypto/poseidon.ts";
import { Domain, FIELD_MODULUS, OrderType, Side, TimeInForce, TxType } from "../../sequencer/protocol/constants.ts";
import {
  cancelMessage, ORDER_WORD_FIELDS, orderMessageInputs, orderWords, streamAuthMessage, transferMessage, withdrawalMessage, type Order,
} from "../../sequencer/protocol/messages.ts";
import { encodeOrderRecords, ORDER_RECORD_BYTES } from "../../sequencer/protocol/orderRecords.ts";
import { encodeExitPublicData, exitPublicInputs } from "../../sequencer/protocol/exitPublicData.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { encodeRecord, nextRequestChain, REQUEST_CHAIN_GENESIS } from "../../sequencer/protocol/publicData.ts";
import { toJson } from "../../sequencer/sdk/wire.ts";
import { TRADING_KEY_TYPES, tradingKeyFromSignature, tradingKeyTypedData } from "../../sequencer/sdk/tradingKey.ts";

const babyJub = await buildBabyjub();

/** The inputs of the example: a well-known test wallet (Hardhat's account 0: never use it with real funds). */
export const EXAMPLE = {
  walletPrivateKey: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" as Hex,
  chainId: 31337,
  custodian: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address,
  keyIndex: 0,
  /** The custodian's accountOf(wallet) after registerTradingKey (the first account of a fresh custodian). */
  accountId: 1,
  /**
   * A buy of 0.25 WETH at 3,000 USDC on the devnet's WETH/USDC market 0 (sizeUnit 10^15 wei per lot,
   * priceUnit 10 quote units per tick per lot: 1 tick = 0.01 USDC per WETH). Order id = the SDK's
   * default first id at unix time 1767225600 (2026-01-01T00:00:00Z): 1767225600 << 8.
   */
  order: {
    orderId: 1767225600n << 8n,
    marketId: 0,
    side: Side.BUY,
    type: OrderType.LIMIT,
    timeInForce: TimeInForce.GTC,
    priceTicks: 300_000n,
    sizeLots: 250n,
    maxFeePpm: 1000,
    expiry: 1767312000,
  },
  withdrawal: { tokenId: 0, amount: 5_000_000n, nonce: 0 },
  transfer: { toCollateral: true, amount: 10_000_000n, nonce: 1 },
  /** A challenge as the server's hello carries it (16 random bytes; fixed here). */
  challenge: 0x0123456789abcdef0123456789abcdefn,
  /** Request id of the WebSocket binary frame. */
  frameId: 7,
  /** A forced withdrawal of 2 WETH (token 1) the account's owner queues on the custodian. */
  forcedWithdrawal: { tokenId: 1, amount: 2n * 10n ** 18n },
  /**
   * An exit claim at TEST_PARAMS (4 token ids, 1 underlying) against an example root, at the last proven price
   * 3,000 (1e-8 quote per ETH), where the state's pooled quote is 50,000 USDC: spot balances 1,000 USDC and 2 WETH,
   * and a derivatives claim (equity) of 234.5 USDC.
   */
  exit: {
    root: 0x1234n, prices: [300_000_000_000n], pooledQuote: 50_000_000_000n, derivativesClaim: 234_500_000n,
    amounts: [1_000_000_000n, 2n * 10n ** 18n, 0n, 0n],
  },
} as const;

const hex32 = (v: bigint) => toHex(v, { size: 32 });
const hexWord = (v: bigint) => toHex(v, { size: 16 });

/** `name  value` lines, names padded to one column. */
function lines(rows: readonly (readonly [string, string | number | bigint | boolean])[]): string {
  const width = Math.max(...rows.map(([n]) => n.length));
  return rows.map(([n, v]) => `${n.padEnd(width)}  ${v}`).join("\n");
}

const pretty = (value: unknown) => JSON.stringify(JSON.parse(toJson(value)), null, 2);

/** The signature's intermediate values, recomputed as circomlibjs's signPoseidon computes them. */
function signatureRows(privateKey: Uint8Array, publicKey: PublicKey, message: bigint, sig: Signature): [string, bigint | boolean][] {
  const h = createBlakeHash("blake512").update(Buffer.from(privateKey)).digest();
  const nonceInput = new Uint8Array(64);
  nonceInput.set(h.subarray(32, 64), 0);
  nonceInput.set(leBytes(message, 32), 32);
  const r = leInt(createBlakeHash("blake512").update(Buffer.from(nonceInput)).digest()) % babyJub.subOrder;
  const hm = poseidon([sig.r8x, sig.r8y, publicKey[0], publicKey[1], message]);
  // the values shown are the ones circomlibjs used: R8 = r * Base8 and S = r + hm * s (mod l)
  const s = prunedScalar(privateKey);
  if (!samePoint(babyJub.mulPointEscalar(babyJub.Base8, r), [sig.r8x, sig.r8y]) || (r + hm * s) % babyJub.subOrder !== sig.s) {
    throw new Error("the nonce or scalar shown is not the one the signature used");
  }
  return [
    ["r = blake512(h[32..64] ++ le32(msg)) mod l", r],
    ["R8.x", sig.r8x],
    ["R8.y", sig.r8y],
    ["hm = Poseidon(R8.x, R8.y, A.x, A.y, msg)", hm],
    ["S = (r + hm * s) mod l", sig.s],
    ["verifies", verifyMessage(message, sig, publicKey)],
  ];
}

/** The EdDSA scalar s of a private key: BLAKE-512, the first half pruned, read little-endian. */
function prunedScalar(privateKey: Uint8Array): bigint {
  const pruned = Uint8Array.from(createBlakeHash("blake512").update(Buffer.from(privateKey)).digest().subarray(0, 32));
  pruned[0]! &= 0xf8;
  pruned[31]! &= 0x7f;
  pruned[31]! |= 0x40;
  return leInt(pruned);
}

function samePoint(p: readonly Uint8Array[], [x, y]: readonly [bigint, bigint]): boolean {
  return babyJub.F.toObject(p[0]!) === x && babyJub.F.toObject(p[1]!) === y;
}

function leBytes(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

function leInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/** Every section of the worked example, by name, in document order. */
export async function workedExample(): Promise<Record<string, string>> {
  const E = EXAMPLE;
  const wallet = privateKeyToAccount(E.walletPrivateKey);
  const typedData = tradingKeyTypedData(E.chainId, E.custodian, E.keyIndex);
  const sections: Record<string, string> = {};

  // ---- 1. EIP-712 ----------------------------------------------------------------------------------
  const typeString = `RegisterTradingKey(${TRADING_KEY_TYPES.RegisterTradingKey.map((f) => `${f.type} ${f.name}`).join(",")})`;
  sections.eip712 = [
    pretty(typedData),
    "",
    lines([
      ["encodeType", typeString],
      ["typeHash = keccak256(encodeType)", keccak256(toHex(typeString))],
      ["keccak256(statement)", keccak256(toHex(typedData.message.statement))],
      ["domainSeparator", domainSeparator({ domain: typedData.domain })],
      ["hashStruct(message)", hashStruct({ data: typedData.message, primaryType: "RegisterTradingKey", types: TRADING_KEY_TYPES })],
      ["digest = keccak256(0x1901 ++ domainSeparator ++ hashStruct)", hashTypedData(typedData)],
    ]),
  ].join("\n");

  // ---- 2. the trading key --------------------------------------------------------------------------
  const walletSignature = await wallet.signTypedData(typedData);
  const { r, s, v } = parseSignature(walletSignature);
  const key = tradingKeyFromSignature(walletSignature);
  const h = createBlakeHash("blake512").update(Buffer.from(key.privateKey)).digest();
  const scalar = prunedScalar(key.privateKey);
  const [x, y] = key.publicKey;
  if (!samePoint(babyJub.mulPointEscalar(babyJub.Base8, scalar >> 3n), key.publicKey)) throw new Error("the scalar shown does not give the public key");
  const compressed = compressPublicKey(key.publicKey);
  sections.key = lines([
    ["wallet private key", E.walletPrivateKey],
    ["wallet address", wallet.address],
    ["wallet signature (65 bytes: r ++ s ++ v)", walletSignature],
    ["  r", r],
    ["  s", s],
    ["  v", Number(v)],
    ["trading private key = keccak256(signature)", bytesToHex(key.privateKey)],
    ["h = blake512(private key)", bytesToHex(h)],
    ["s = le(prune(h[0..32]))", scalar],
    ["s >> 3", scalar >> 3n],
    ["A = (s >> 3) * Base8: x", x],
    ["A = (s >> 3) * Base8: y", y],
    ["x > (p - 1) / 2", x > (FIELD_MODULUS - 1n) / 2n],
    ["compressed = y | sign(x) << 255", hex32(compressed)],
    ["valid key (on the curve, subgroup: 3.3)", publicKeyFault(key.publicKey) ?? "yes"],
    ["registerTradingKey calldata", encodeFunctionData({ abi: parseAbi(["function registerTradingKey(uint256 x, uint256 y) returns (uint32)"]), args: [x, y] })],
  ]);

  // ---- 3. an order: packing and hash --------------------------------------------------------------
  const order: Order = { accountId: E.accountId, ...E.order };
  const [w0, w1] = orderWords(order);
  const inputs = orderMessageInputs(order);
  const orderHash = poseidon(inputs);
  const fieldRows: [string, string][] = [];
  ORDER_WORD_FIELDS.forEach((fields, word) => {
    let shift = 0;
    for (const [name, bits] of fields) {
      fieldRows.push([`w${word} bits ${shift}..${shift + bits - 1}`, `${name} = ${order[name] ?? (name === "reduceOnly" ? false : 0)}`]);
      shift += bits;
    }
  });
  sections.order = [
    lines(fieldRows),
    "",
    lines([
      ["w0", `${w0} (${hexWord(w0)})`],
      ["w1", `${w1} (${hexWord(w1)})`],
      ["Poseidon inputs", `[${inputs.join(", ")}]`],
      ["msg = Poseidon(1, w0, w1)", `${orderHash} (${hex32(orderHash)})`],
    ]),
  ].join("\n");

  // ---- 4. its EdDSA-Poseidon signature ------------------------------------------------------------
  const sig = signMessage(key.privateKey, orderHash);
  sections.signature = lines(signatureRows(key.privateKey, key.publicKey, orderHash, sig));

  // ---- 5. the HTTP body, the binary record, the WebSocket frame -----------------------------------
  const signedOrder = { ...order, signature: sig };
  sections.httpOrder = pretty(signedOrder);
  const record = encodeOrderRecords([signedOrder]);
  const recordHex = Buffer.from(record).toString("hex");
  const frameHeader = Buffer.from([1, ...leBytes(BigInt(E.frameId), 4)]).toString("hex");
  // each part of the record on its own row: [offset, bytes, label]
  const parts: [number, number, string][] = [
    [0, 24, "w0 (LE)"], [24, 16, "w1 (LE)"], [40, 16, "R8.x (LE) 1/2"], [56, 16, "R8.x (LE) 2/2"], [72, 16, "R8.y (LE) 1/2"],
    [88, 16, "R8.y (LE) 2/2"], [104, 16, "S (LE) 1/2"], [120, 16, "S (LE) 2/2"],
  ];
  sections.binaryOrder = [
    ...parts.map(([at, bytes, label]) => `${String(at).padStart(3)}  ${recordHex.slice(2 * at, 2 * (at + bytes)).padEnd(48)}  ${label}`),
    "",
    `WebSocket frame, request id ${E.frameId}: ${frameHeader} ++ the ${ORDER_RECORD_BYTES} bytes above`,
  ].join("\n");

  // ---- 6. cancel, withdrawal, transfer, stream authentication -------------------------------------
  /**
   * A signed request's section: its packed word, its hash as messages.ts computes it (checked against
   * Poseidon(domain, w0, second) over the word shown, so the word is the one really hashed), the
   * signature and the JSON body.
   */
  const requestSection = <T extends object>(request: T, message: (r: T) => bigint, domain: bigint, w0: [string, bigint], second: [string, bigint]) => {
    const hash = message(request);
    if (poseidon([domain, w0[1], second[1]]) !== hash) throw new Error(`the word shown for domain ${domain} is not the one messages.ts hashes`);
    const sig = signMessage(key.privateKey, hash);
    return [
      lines([w0, [`msg = Poseidon(${domain}, w0, ${second[0]})`, hash], ["R8.x", sig.r8x], ["R8.y", sig.r8y], ["S", sig.s]]),
      "",
      pretty({ ...request, signature: sig }),
    ].join("\n");
  };
  const cancel = { accountId: E.accountId, orderId: order.orderId };
  sections.cancel = requestSection(cancel, cancelMessage, Domain.CANCEL, ["w0 = accountId | orderId << 32", BigInt(cancel.accountId) | (cancel.orderId << 32n)], ["0", 0n]);
  const withdrawal = { accountId: E.accountId, ...E.withdrawal };
  sections.withdrawal = requestSection(withdrawal, withdrawalMessage, Domain.WITHDRAW,
    ["w0 = accountId | tokenId << 32 | nonce << 48", BigInt(withdrawal.accountId) | (BigInt(withdrawal.tokenId) << 32n) | (BigInt(withdrawal.nonce) << 48n)],
    ["amount", withdrawal.amount]);
  const transfer = { accountId: E.accountId, ...E.transfer };
  sections.transfer = requestSection(transfer, transferMessage, Domain.TRANSFER,
    ["w0 = accountId | nonce << 32 | toCollateral << 64", BigInt(transfer.accountId) | (BigInt(transfer.nonce) << 32n) | ((transfer.toCollateral ? 1n : 0n) << 64n)],
    ["amount", transfer.amount]);

  const auth = { accountId: E.accountId, challenge: E.challenge };
  const authHash = streamAuthMessage(auth);
  const authSig = signMessage(key.privateKey, authHash);
  sections.streamAuth = [
    lines([
      ["challenge (hello)", E.challenge],
      ["msg = Poseidon(256, accountId, challenge)", authHash],
    ]),
    "",
    toJson({ type: "hello", challenge: E.challenge, seq: 1 }),
    toJson({ op: "auth", accountId: E.accountId, signature: authSig }),
  ].join("\n");

  // ---- 7. test vectors of the primitives ----------------------------------------------------------
  const base8 = babyJub.Base8.map((c) => babyJub.F.toObject(c));
  sections.vectors = lines([
    ["Poseidon(1, 2)", poseidon([1n, 2n])],
    ["Poseidon(1, 2, 3)", poseidon([1n, 2n, 3n])],
    ["Poseidon(1, 2, 3, 4, 5)", poseidon([1n, 2n, 3n, 4n, 5n])],
    ["Base8.x", base8[0]!],
    ["Base8.y", base8[1]!],
    ["l (subgroup order)", babyJub.subOrder],
  ]);
  // ---- 10.1 leaving without the operator: a forced withdrawal's records, an exit claim ---------------
  const forced = { type: TxType.FORCED_WITHDRAW, accountId: BigInt(E.accountId), tokenId: BigInt(E.forcedWithdrawal.tokenId), amount: E.forcedWithdrawal.amount };
  const queued = encodeRecord({ ...forced, honoured: 0n });
  const claim = { ...E.exit, accountId: E.accountId };
  sections.exit = lines([
    ["forceWithdraw(1, 2e18): queued record (RequestQueued)", bytesToHex(queued)],
    ["the batch's record when honoured", bytesToHex(encodeRecord({ ...forced, honoured: 1n }))],
    ["requestChain(i + 1) from requestChain(i) = 0x0..0", nextRequestChain(REQUEST_CHAIN_GENESIS, queued)],
    ["exit public data (TEST_PARAMS)", bytesToHex(encodeExitPublicData(claim, TEST_PARAMS))],
    ...exitPublicInputs(claim, TEST_PARAMS).map((v, i): [string, bigint] => [`exit public input ${i} (31-byte chunk ${i})`, v]),
  ]);
  return sections;
}

/** The section names, in document order. */
export const SECTIONS = ["exit", "eip712", "key", "order", "signature", "httpOrder", "binaryOrder", "cancel", "withdrawal", "transfer", "streamAuth", "vectors"] as const;

if (import.meta.url === `file://${process.argv[1]}`) {
  const sections = await workedExample();
  const only = process.argv[2];
  for (const name of SECTIONS) {
    if (only && only !== name) continue;
    console.log(`<!-- example:${name} -->\n\`\`\`${name === "httpOrder" ? "json" : "text"}\n${sections[name]}\n\`\`\`\n`);
  }
}
