/**
 * docs/client.md cannot go stale: its worked example is recomputed by scripts/examples/clientWorkedExample.ts
 * and compared block by block; the example's request bodies go through the API's own decoders (JSON schema,
 * binary records) and signature check; and every code a client can be answered with (the API's, the
 * sequencer's, the matching engine's, the batch builder's and the oracle step's refusals, cancel reasons) and
 * every custodian error and event must be named in the document. No chain, no circuit.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import { EXAMPLE, SECTIONS, workedExample } from "../../scripts/examples/clientWorkedExample.ts";
import { OrderSchema } from "../../sequencer/wire/schemas.ts";
import { fromJson } from "../../sequencer/sdk/wire.ts";
import { verifyMessage } from "../../sequencer/crypto/babyjub.ts";
import { orderMessage, type Order } from "../../sequencer/protocol/messages.ts";
import { parseOrderRecords } from "../../sequencer/wire/orderFrames.ts";
import { DEFAULT_RATE_LIMITS } from "../../sequencer/api/commands.ts";
import { CancelReason, RejectCode } from "../../sequencer/matching/types.ts";
import { ApiDomain, Domain } from "../../sequencer/protocol/constants.ts";
import { deriveTradingKey, TRADING_KEY_STATEMENT } from "../../sequencer/sdk/tradingKey.ts";

const root = join(import.meta.dirname, "../..");
const doc = readFileSync(join(root, "docs/client.md"), "utf8");
const sections = await workedExample();

/** The fenced block that follows `<!-- example:NAME -->` in the document. */
function docBlock(name: string): string | undefined {
  const m = doc.match(new RegExp(`<!-- example:${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``));
  return m?.[1];
}

/** Every string literal code `X` in `pattern` matches over the .ts files under `dirs`. */
function codesIn(dirs: readonly string[], pattern: RegExp): Set<string> {
  const codes = new Set<string>();
  for (const dir of dirs) {
    for (const file of readdirSync(join(root, dir), { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".ts")) continue;
      for (const m of readFileSync(join(root, dir, file), "utf8").matchAll(pattern)) codes.add(m[1]!);
    }
  }
  return codes;
}

const missing = (names: Iterable<string>) => [...names].filter((n) => !doc.includes(`\`${n}\``) && !doc.includes(`${n}(`));

describe("docs/client.md worked example", () => {
  for (const name of SECTIONS) {
    it(`shows the ${name} values the code computes`, () => {
      const block = docBlock(name);
      assert.ok(block !== undefined, `docs/client.md has no <!-- example:${name} --> block`);
      assert.equal(block, sections[name], `docs/client.md's ${name} block is stale: paste the output of npx tsx scripts/examples/clientWorkedExample.ts ${name}`);
    });
  }

  it("has no example block the script does not produce", () => {
    const names = [...doc.matchAll(/<!-- example:(\w+) -->/g)].map((m) => m[1]);
    assert.deepEqual(names, [...SECTIONS]);
  });

  it("derives the key shown from the wallet, through the SDK's EIP-712 path", async () => {
    const key = await deriveTradingKey(privateKeyToAccount(EXAMPLE.walletPrivateKey), EXAMPLE.chainId, EXAMPLE.custodian, EXAMPLE.keyIndex);
    assert.ok(sections.key.includes(Buffer.from(key.privateKey).toString("hex")));
    assert.match(sections.key, new RegExp(`A = \\(s >> 3\\) \\* Base8: x +${key.publicKey[0]}\n`));
    assert.match(sections.key, new RegExp(`A = \\(s >> 3\\) \\* Base8: y +${key.publicKey[1]}\n`));
  });

  it("its HTTP body is an order the API's schema accepts, signed under the derived key", async () => {
    const key = await deriveTradingKey(privateKeyToAccount(EXAMPLE.walletPrivateKey), EXAMPLE.chainId, EXAMPLE.custodian, EXAMPLE.keyIndex);
    const parsed = OrderSchema.parse(JSON.parse(docBlock("httpOrder")!));
    const { signature, ...order } = parsed;
    assert.deepEqual(order, { accountId: EXAMPLE.accountId, ...EXAMPLE.order } satisfies Order);
    assert.ok(verifyMessage(orderMessage(order), signature, key.publicKey));
    assert.deepEqual(fromJson(docBlock("httpOrder")!), parsed); // the SDK reads it back the same
  });

  it("its binary record decodes (as the API decodes it) to the same signed order", () => {
    const hex = docBlock("binaryOrder")!.split("\n").slice(0, 8).map((line) => line.trim().split(/\s+/)[1]).join("");
    const [decoded] = parseOrderRecords(Buffer.from(hex, "hex"));
    assert.deepEqual(decoded, OrderSchema.parse(JSON.parse(docBlock("httpOrder")!)));
  });
});

describe("docs/client.md names every code and custodian item", () => {
  it("every refusal code of the API, the sequencer, the engine, the builder and the oracle step", () => {
    const codes = new Set<string>([
      ...Object.values(RejectCode),
      ...codesIn(["sequencer/api", "sequencer/service", "sequencer/protocol"], /(?:RequestRejected|ApiError)\(\s*(?:\d+,\s*)?"([A-Z_]+)"/g),
      ...codesIn(["sequencer/api", "sequencer/service", "sequencer/protocol"], /code: "([A-Z_]+)"/g),
      ...codesIn(["sequencer/batch", "sequencer/derivatives"], /(?:reject|fail)\(\s*"([A-Z_]+)"/g),
      ...codesIn(["sequencer/derivatives"], /OracleRejected\(\s*"([A-Z_]+)"/g),
      ...codesIn(["sequencer/risk"], /return "([A-Z_]+)"/g),
    ]);
    assert.ok(codes.size > 60, `found only ${codes.size} codes: the patterns no longer match the code`);
    assert.deepEqual(missing(codes), []);
  });

  it("every cancel reason", () => {
    assert.deepEqual(missing(Object.values(CancelReason)), []);
  });

  it("every custodian error and event", () => {
    const sol = ["contracts/Custodian.sol", "contracts/interfaces/ICustodianExits.sol", "contracts/interfaces/ICustodianTreasury.sol", "contracts/interfaces/ICustodianMarks.sol"].map((f) => readFileSync(join(root, f), "utf8")).join("\n");
    const names = [...sol.matchAll(/^\s*(?:error|event) (\w+)\(/gm)].map((m) => m[1]!);
    assert.ok(names.length > 50, `found only ${names.length} errors and events`);
    assert.deepEqual(missing(names), []);
  });

  it("the statement, the domain tags and the rate limits as the code has them", () => {
    assert.ok(doc.includes(`exactly: \`${TRADING_KEY_STATEMENT}\``));
    for (const tag of [...Object.values(Domain), ...Object.values(ApiDomain)]) assert.ok(doc.includes(`| ${tag} | \`(${tag}, `), `domain tag ${tag}`);
    const n = (x: number) => x.toLocaleString("en-US");
    const { perSource, perAccount } = DEFAULT_RATE_LIMITS;
    assert.ok(doc.includes(`${n(perSource!.perSecond)} requests/s, burst ${n(perSource!.burst)}`));
    assert.ok(doc.includes(`${n(perAccount!.perSecond)} signed requests/s, burst ${n(perAccount!.burst)}`));
  });
});
