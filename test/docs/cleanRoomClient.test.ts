/**
 * A clean-room reading of docs/client.md: every worked example of section 12 (and 10.1's exit example) is
 * recomputed here from the document's own definitions (sections 3, 4, 5, 9, 10), with npm packages only (viem,
 * circomlibjs, blake-hash) and none of the project's modules, and compared with the numbers the document prints.
 * test/docs/clientExample.test.ts checks that the printed numbers are what the project's code computes; this one
 * checks that the prose defines them, so that an outsider who implements the prose gets the same bytes. EdDSA is
 * implemented from 4.2 (BLAKE-512, pruning, nonce, Poseidon challenge) and cross-checked with circomlibjs.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { buildBabyjub, buildEddsa, buildPoseidon } from "circomlibjs";
import createBlakeHash from "blake-hash";
import { encodeFunctionData, hashDomain, hashStruct, hashTypedData, hexToBytes, keccak256, parseAbi, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const DOC = readFileSync(new URL("../../docs/client.md", import.meta.url), "utf8");

/** The fenced block after `<!-- name -->`. */
function block(name: string): string {
  const at = DOC.indexOf(`<!-- ${name} -->`);
  assert.ok(at >= 0, `docs/client.md has no ${name} block`);
  const open = DOC.indexOf("```", at);
  const start = DOC.indexOf("\n", open) + 1;
  return DOC.slice(start, DOC.indexOf("```", start));
}
/** The first token after `label` on its line (label, then at least two spaces). */
function val(text: string, label: string): string {
  const line = text.split("\n").find((l) => l.startsWith(label) && /^\s{2,}\S/.test(l.slice(label.length)));
  assert.ok(line, `no line "${label}"`);
  return line.slice(label.length).trim().split(/\s+/)[0]!;
}
/** The JSON object of a block that holds text lines, then a JSON object. */
const jsonOf = (text: string): any => JSON.parse(text.slice(text.indexOf("\n{") + 1));

// --- the primitives, from sections 3, 4 and 5
const poseidonFn = await buildPoseidon();
const babyjub = await buildBabyjub();
const eddsa = await buildEddsa();
const F = babyjub.F;
const L: bigint = babyjub.subOrder;
const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const poseidon = (xs: bigint[]): bigint => poseidonFn.F.toObject(poseidonFn(xs));
const le = (b: Uint8Array): bigint => b.reduceRight((x, byte) => (x << 8n) | BigInt(byte), 0n);
function toLe(x: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++, x >>= 8n) out[i] = Number(x & 0xffn);
  assert.equal(x, 0n);
  return out;
}
const blake512 = (b: Uint8Array): Uint8Array => new Uint8Array(createBlakeHash("blake512").update(Buffer.from(b)).digest());
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const point = (s: bigint): [bigint, bigint] => {
  const q = babyjub.mulPointEscalar(babyjub.Base8, s);
  return [F.toObject(q[0]), F.toObject(q[1])];
};

type Key = { prv: Uint8Array; h: Uint8Array; s: bigint; pub: [bigint, bigint] };
function keyOf(prv: Uint8Array): Key {
  const h = blake512(prv);
  const left = h.slice(0, 32);
  left[0]! &= 0xf8;
  left[31]! &= 0x7f;
  left[31]! |= 0x40;
  const s = le(left);
  return { prv, h, s, pub: point(s >> 3n) };
}
function sign(k: Key, msg: bigint) {
  const r = le(blake512(new Uint8Array([...k.h.slice(32), ...toLe(msg, 32)]))) % L;
  const R8 = point(r);
  const hm = poseidon([R8[0], R8[1], k.pub[0], k.pub[1], msg]);
  const S = (r + hm * k.s) % L;
  return { r, R8, hm, S, json: { r8x: R8[0].toString(), r8y: R8[1].toString(), s: S.toString() } };
}
const verifies = (pub: [bigint, bigint], msg: bigint, sig: { R8: [bigint, bigint]; S: bigint }): boolean =>
  eddsa.verifyPoseidon(F.e(msg), { R8: [F.e(sig.R8[0]), F.e(sig.R8[1])], S: sig.S }, [F.e(pub[0]), F.e(pub[1])]);

type Order = { accountId: number; orderId: string; marketId: number; side: number; type: number; timeInForce: number; priceTicks: string; sizeLots: string; maxFeePpm: number; expiry: number; reduceOnly?: boolean; triggerType?: number; triggerPriceTicks?: string };
/** An order example's words and message hash (4.2's msg = Poseidon(1, w0, w1)), each checked against the example's text. */
function orderMessage(body: Order, text: string): { w0: bigint; w1: bigint; msg: bigint } {
  const [w0, w1] = words(body);
  assert.equal(w0.toString(), val(text, "w0"));
  assert.equal(w1.toString(), val(text, "w1"));
  const msg = poseidon([1n, w0, w1]);
  assert.equal(msg.toString(), val(text, "msg = Poseidon(1, w0, w1)"));
  return { w0, w1, msg };
}

function words(o: Order): [bigint, bigint] {
  const w0 = BigInt(o.accountId) | (BigInt(o.orderId) << 32n) | (BigInt(o.marketId) << 72n) | (BigInt(o.side) << 88n) | (BigInt(o.type) << 89n)
    | (BigInt(o.timeInForce) << 90n) | (BigInt(o.reduceOnly ? 1 : 0) << 92n) | (BigInt(o.triggerType ?? 0) << 93n) | (BigInt(o.triggerPriceTicks ?? 0) << 95n);
  const w1 = BigInt(o.priceTicks) | (BigInt(o.sizeLots) << 40n) | (BigInt(o.maxFeePpm) << 80n) | (BigInt(o.expiry) << 96n);
  return [w0, w1];
}
const STATEMENT = "Sign to derive your trading key for this exchange. Only sign this on the exchange's own client: whoever holds this signature can trade your account.";

describe("docs/client.md, read clean-room: the prose reproduces every worked example", () => {
  const eip = block("example:eip712");
  const td = JSON.parse(eip.slice(0, eip.indexOf("\n}\n") + 2));
  const keyText = block("example:key");
  const wallet = privateKeyToAccount(val(keyText, "wallet private key") as `0x${string}`);
  let key: Key;

  it("3.1 / 12.1: the typed data and its EIP-712 hashes", () => {
    assert.equal(td.message.statement, STATEMENT);
    assert.deepEqual(td.types.RegisterTradingKey, [{ name: "statement", type: "string" }, { name: "keyIndex", type: "uint32" }]);
    assert.equal(keccak256(toHex("RegisterTradingKey(string statement,uint32 keyIndex)")), val(eip, "typeHash = keccak256(encodeType)"));
    assert.equal(keccak256(toHex(STATEMENT)), val(eip, "keccak256(statement)"));
    const EIP712Domain = [{ name: "name", type: "string" }, { name: "version", type: "string" }, { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }];
    assert.equal(hashDomain({ domain: td.domain, types: { EIP712Domain } }), val(eip, "domainSeparator"));
    assert.equal(hashStruct({ data: td.message, primaryType: "RegisterTradingKey", types: td.types }), val(eip, "hashStruct(message)"));
    assert.equal(hashTypedData(td), val(eip, "digest = keccak256(0x1901 ++ domainSeparator ++ hashStruct)"));
  });

  it("3.2, 3.3, 4.2 / 12.2: wallet signature, trading key, public key, compression, calldata", async () => {
    assert.equal(wallet.address, val(keyText, "wallet address"));
    const sig = await wallet.signTypedData(td);
    assert.equal(sig, val(keyText, "wallet signature (65 bytes: r ++ s ++ v)"));
    const prv = hexToBytes(keccak256(hexToBytes(sig)));
    assert.equal(toHex(prv), val(keyText, "trading private key = keccak256(signature)"));
    key = keyOf(prv);
    assert.equal("0x" + hex(key.h), val(keyText, "h = blake512(private key)"));
    assert.equal(key.s.toString(), val(keyText, "s = le(prune(h[0..32]))"));
    assert.equal((key.s >> 3n).toString(), val(keyText, "s >> 3"));
    assert.equal(key.pub[0].toString(), val(keyText, "A = (s >> 3) * Base8: x"));
    assert.equal(key.pub[1].toString(), val(keyText, "A = (s >> 3) * Base8: y"));
    const lib = eddsa.prv2pub(Buffer.from(prv));
    assert.deepEqual([F.toObject(lib[0]), F.toObject(lib[1])], key.pub, "circomlibjs prv2pub agrees with 4.2");
    const signX = key.pub[0] > (P - 1n) / 2n;
    assert.equal(String(signX), val(keyText, "x > (p - 1) / 2"));
    assert.equal("0x" + (key.pub[1] | ((signX ? 1n : 0n) << 255n)).toString(16).padStart(64, "0"), val(keyText, "compressed = y | sign(x) << 255"));
    const calldata = encodeFunctionData({ abi: parseAbi(["function registerTradingKey(uint256 x, uint256 y) returns (uint32)"]), functionName: "registerTradingKey", args: key.pub });
    assert.equal(calldata, val(keyText, "registerTradingKey calldata"));
  });

  it("5.1, 4.2, 9 / 12.3 to 12.5: order words, hash, signature, HTTP body and binary record", () => {
    const body = JSON.parse(block("example:httpOrder")) as Order & { signature: Record<string, string> };
    const { w0, w1, msg } = orderMessage(body, block("example:order"));
    const sigText = block("example:signature");
    const s = sign(key, msg);
    assert.equal(s.r.toString(), val(sigText, "r = blake512(h[32..64] ++ le32(msg)) mod l"));
    assert.equal(s.R8[0].toString(), val(sigText, "R8.x"));
    assert.equal(s.R8[1].toString(), val(sigText, "R8.y"));
    assert.equal(s.hm.toString(), val(sigText, "hm = Poseidon(R8.x, R8.y, A.x, A.y, msg)"));
    assert.equal(s.S.toString(), val(sigText, "S = (r + hm * s) mod l"));
    assert.ok(verifies(key.pub, msg, s));
    const lib = eddsa.signPoseidon(Buffer.from(key.prv), F.e(msg));
    assert.equal(lib.S, s.S, "circomlibjs signPoseidon agrees with 4.2");
    assert.deepEqual(body.signature, s.json);
    const record = hex(new Uint8Array([...toLe(w0, 24), ...toLe(w1, 16), ...toLe(s.R8[0], 32), ...toLe(s.R8[1], 32), ...toLe(s.S, 32)]));
    const rows = block("example:binaryOrder").split("\n").filter((l) => /^\s*\d+\s+[0-9a-f]+\s/.test(l)).map((l) => l.trim().split(/\s+/));
    assert.equal(rows.map((r) => r[1]).join(""), record);
    let offset = 0;
    for (const r of rows) { assert.equal(Number(r[0]), offset); offset += r[1]!.length / 2; }
    assert.equal(offset, 136);
    assert.match(block("example:binaryOrder"), /WebSocket frame, request id 7: 0107000000 \+\+ the 136 bytes above/);
  });

  it("5.2 to 5.5 / 12.6: cancel, withdrawal, transfer, stream authentication", () => {
    const check = (name: string, w0Label: string, w0: bigint, msgLabel: string, inputs: bigint[], bodyOf?: (b: any) => void) => {
      const text = block(name);
      assert.equal(w0.toString(), val(text, w0Label), name);
      const msg = poseidon(inputs);
      assert.equal(msg.toString(), val(text, msgLabel), name);
      const s = sign(key, msg);
      if (bodyOf) {
        assert.equal(s.R8[0].toString(), val(text, "R8.x"));
        assert.equal(s.R8[1].toString(), val(text, "R8.y"));
        assert.equal(s.S.toString(), val(text, "S"));
        const body = jsonOf(text);
        assert.deepEqual(body.signature, s.json, name);
        bodyOf(body);
      }
      return s;
    };
    const c = jsonOf(block("example:cancel"));
    const cw0 = BigInt(c.accountId) | (BigInt(c.orderId) << 32n);
    check("example:cancel", "w0 = accountId | orderId << 32", cw0, "msg = Poseidon(3, w0, 0)", [3n, cw0, 0n], () => {});
    const w = jsonOf(block("example:withdrawal"));
    const ww0 = BigInt(w.accountId) | (BigInt(w.tokenId) << 32n) | (BigInt(w.nonce) << 48n);
    check("example:withdrawal", "w0 = accountId | tokenId << 32 | nonce << 48", ww0, "msg = Poseidon(2, w0, amount)", [2n, ww0, BigInt(w.amount)], () => {});
    const t = jsonOf(block("example:transfer"));
    const tw0 = BigInt(t.accountId) | (BigInt(t.nonce) << 32n) | (BigInt(t.toCollateral ? 1 : 0) << 64n);
    check("example:transfer", "w0 = accountId | nonce << 32 | toCollateral << 64", tw0, "msg = Poseidon(4, w0, amount)", [4n, tw0, BigInt(t.amount)], () => {});
    const a = block("example:streamAuth");
    const challenge = BigInt(val(a, "challenge (hello)"));
    assert.equal(challenge, 0x0123456789abcdef0123456789abcdefn);
    const msg = poseidon([256n, 1n, challenge]);
    assert.equal(msg.toString(), val(a, "msg = Poseidon(256, accountId, challenge)"));
    const lines = a.split("\n").filter((l) => l.startsWith("{"));
    assert.equal(JSON.parse(lines[0]!).challenge, challenge.toString());
    const auth = JSON.parse(lines[1]!);
    assert.deepEqual(auth, { op: "auth", accountId: 1, signature: sign(key, msg).json });
  });

  it("4.1, 4.2 / 12.7: test vectors of the primitives", () => {
    const v = block("example:vectors");
    assert.equal(poseidon([1n, 2n]).toString(), val(v, "Poseidon(1, 2)"));
    assert.equal(poseidon([1n, 2n, 3n]).toString(), val(v, "Poseidon(1, 2, 3)"));
    assert.equal(poseidon([1n, 2n, 3n, 4n, 5n]).toString(), val(v, "Poseidon(1, 2, 3, 4, 5)"));
    assert.equal(F.toObject(babyjub.Base8[0]).toString(), val(v, "Base8.x"));
    assert.equal(F.toObject(babyjub.Base8[1]).toString(), val(v, "Base8.y"));
    assert.equal(L.toString(), val(v, "l (subgroup order)"));
  });

  it("5.1, 6.6 to 6.8 / 12.8: the reduce-only stop order on the perpetual", () => {
    const body = JSON.parse(block("deriv-example:perpHttpOrder")) as Order & { signature: Record<string, string> };
    const text = block("deriv-example:perpOrder");
    const { msg } = orderMessage(body, text);
    const s = sign(key, msg);
    assert.equal(s.S.toString(), val(text, "S"));
    assert.deepEqual(body.signature, s.json);
  });

  it("5.6 / 12.8: the oracle update's hash words and signature", () => {
    const text = block("deriv-example:oracle");
    const body = jsonOf(text);
    const okey = keyOf(hexToBytes(val(text, "oracle private key") as `0x${string}`));
    assert.deepEqual(body.key, okey.pub.map(String));
    const slice = (s: { underlying: number; expiry: number; levelPpm: string; slopePpm: string }) =>
      (BigInt(s.underlying) << 80n) | (BigInt(s.expiry) << 48n) | (BigInt(s.levelPpm) << 24n) | (BigInt(s.slopePpm) + (1n << 23n));
    const settleWord = body.settlement ? body.settlement.prices.reduce((w: bigint, p: string, u: number) => w | (BigInt(p) << BigInt(32 + 50 * u)), BigInt(body.settlement.expiry)) : 0n;
    const inputs = [5n, BigInt(body.time) | (BigInt(body.fundingEpoch) << 32n), ...body.prices.map(BigInt), ...body.volSlices.map(slice), ...body.rates.map((r: string) => BigInt(r) + (1n << 23n)), settleWord];
    assert.equal(`[${inputs.join(", ")}]`, text.split("\n").find((l) => l.startsWith("Poseidon inputs"))!.replace(/^Poseidon inputs\s+/, ""));
    assert.ok(inputs.length <= 16, "one Poseidon call at the test sizes (4.1)");
    const msg = poseidon(inputs);
    assert.equal(msg.toString(), val(text, "msg = Poseidon(5, ...)"));
    assert.deepEqual(body.signature, sign(okey, msg).json);
    // 5.6's own slice example
    assert.equal(slice({ underlying: 0, expiry: 1767225600, levelPpm: "600000", slopePpm: "-750000" }), 497429784612541413232208n);
  });

  it("10.1: the forced withdrawal's records, request chain step and the exit's public data and inputs", () => {
    const text = block("example:exit");
    const record = "0c" + "00000001" + "0001" + (2n * 10n ** 18n).toString(16).padStart(24, "0") + "00";
    const queued = "0x" + record.padEnd(72, "0");
    assert.equal(queued, val(text, "forceWithdraw(1, 2e18): queued record (RequestQueued)"));
    const honoured = queued.slice(0, 2 + 2 * 19) + "01" + queued.slice(2 + 2 * 20);
    assert.equal(honoured, val(text, "the batch's record when honoured"));
    assert.equal(keccak256(`0x${"00".repeat(32)}${queued.slice(2)}`), val(text, "requestChain(i + 1) from requestChain(i) = 0x0..0"));
    const data = "0x" + (0x1234n).toString(16).padStart(64, "0") + "00000001" + (300000000000n).toString(16).padStart(14, "0")
      + (50000000000n).toString(16).padStart(32, "0") + (234500000n).toString(16).padStart(32, "0")
      + [1000000000n, 2n * 10n ** 18n, 0n, 0n].map((x) => x.toString(16).padStart(32, "0")).join("");
    assert.equal(data, val(text, "exit public data (TEST_PARAMS)"));
    const bytes = hexToBytes(data as `0x${string}`);
    for (let i = 0; i * 31 < bytes.length; i++) {
      const chunk = BigInt(toHex(bytes.slice(31 * i, 31 * i + 31)));
      assert.equal(chunk.toString(), val(text, `exit public input ${i} (31-byte chunk ${i})`));
    }
  });
});
