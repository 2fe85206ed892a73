/**
 * circuits/SPEC.md's table of record layouts ("Record layouts") is the document's copy of RECORD_LAYOUT
 * (sequencer/protocol/publicData.ts), the one source of truth: this test parses the table and fails when any row
 * differs from the code (a type, a field, its offset or width), when a type is missing or extra, or when the
 * example record no longer encodes as shown. No chain, no circuit.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeRecord, RECORD_LAYOUT, type SlotRecord } from "../../sequencer/protocol/publicData.ts";
import { RECORD_BYTES, TxType } from "../../sequencer/protocol/constants.ts";

const root = join(import.meta.dirname, "../..");
const spec = readFileSync(join(root, "circuits/SPEC.md"), "utf8");
const TYPE_NAME = new Map<number, string>(Object.entries(TxType).map(([name, value]) => [value, name]));

type Row = { type: number; name: string; field: string | null; offset: number | null; bytes: number | null };

/** The rows between the record-layouts markers, header and separator left out. */
function tableRows(): Row[] {
  const m = spec.match(/<!-- record-layouts:begin -->\n([\s\S]*?)\n<!-- record-layouts:end -->/);
  assert.ok(m, "circuits/SPEC.md has no <!-- record-layouts:begin --> ... <!-- record-layouts:end --> table");
  const lines = m[1]!.split("\n");
  assert.equal(lines[0], "| type | field | offset | bytes |", "the table's header changed: update this test");
  assert.match(lines[1]!, /^\|(---\|)+$/);
  return lines.slice(2).map((line) => {
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    assert.equal(cells.length, 4, `not a row of four cells: ${line}`);
    const t = cells[0]!.match(/^(\d+) ([A-Z_]+)$/);
    assert.ok(t, `type cell "${cells[0]}" is not "<number> <NAME>"`);
    const field = cells[1]!.match(/^`(\w+)`$/)?.[1] ?? null;
    const num = (c: string) => (c === "" ? null : Number(c));
    return { type: Number(t[1]), name: t[2]!, field, offset: num(cells[2]!), bytes: num(cells[3]!) };
  });
}

/** RECORD_LAYOUT as the table's rows (a type without fields: one row with no field, offset or width). */
function codeRows(): Row[] {
  const rows: Row[] = [];
  for (const [key, layout] of Object.entries(RECORD_LAYOUT)) {
    const type = Number(key);
    const name = TYPE_NAME.get(type)!;
    if (layout.length === 0) rows.push({ type, name, field: null, offset: null, bytes: null });
    let offset = 1;
    for (const [field, bytes] of layout) {
      rows.push({ type, name, field, offset, bytes });
      offset += bytes;
    }
  }
  return rows;
}

describe("circuits/SPEC.md record layouts", () => {
  it("the table is RECORD_LAYOUT, row by row (type, name, field, offset, bytes)", () => {
    assert.deepEqual(tableRows(), codeRows());
  });

  it("names every transaction type, and every layout fits the 36-byte record", () => {
    const types = new Set(tableRows().map((r) => r.type));
    assert.deepEqual([...types].sort((a, b) => a - b), Object.values(TxType).sort((a, b) => a - b));
    for (const [key, layout] of Object.entries(RECORD_LAYOUT)) {
      const used = 1 + layout.reduce((n, [, bytes]) => n + bytes, 0);
      assert.ok(used <= RECORD_BYTES, `type ${key} uses ${used} bytes`);
    }
    assert.ok(spec.includes(`Each record is ${RECORD_BYTES} bytes`));
  });

  it("the TRADE example encodes as shown", () => {
    const m = spec.match(/<!-- record-example:trade -->\n```text\n(.*)\n```/);
    assert.ok(m, "no <!-- record-example:trade --> block");
    const record: SlotRecord = {
      type: TxType.TRADE, buyAccountId: 1n, buyOrderId: 452409753600n, sellAccountId: 2n, sellOrderId: 7n, marketId: 0n,
      lots: 250n, priceTicks: 300_000n, buyFeePpm: 500n, sellFeePpm: 100n,
    };
    const hex = Buffer.from(encodeRecord(record)).toString("hex");
    assert.equal(m[1]!.split("|").map((s) => s.trim()).join(""), hex);
    assert.ok(spec.includes(`\`0x${hex}\``), "the example's hex string is stale");
  });
});
