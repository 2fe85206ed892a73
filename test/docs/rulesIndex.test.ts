/**
 * RULES.md cannot go stale: every reference it cites (a backticked `path#name`) must resolve. The file
 * exists; a function, method, refusal code, error or constant occurs in it; a circom `Template.signal`
 * names a template declared in the file whose body holds the signal; a `"test name"` occurs in the test
 * file. Every rule row cites a test or a gap, and every gap it cites is listed under "Gaps". No circuit
 * build, no chain.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";

const INDEX = "RULES.md";
const TRANSACTION_SECTIONS = [
  "REGISTER_KEY", "DEPOSIT", "REGISTER_MARKET", "TRADE", "WITHDRAW", "CANCEL", "DERIV_TRADE", "LIQUIDATE", "SETTLE",
  "TRANSFER", "REGISTER_INSTRUMENT",
];

/** One cited reference: the file, what is cited in it, and the line of RULES.md citing it. */
export type Reference = { path: string; name: string; line: number };

/** Every backticked `path#name` of a markdown text, with its line number. */
export function references(markdown: string): Reference[] {
  const out: Reference[] = [];
  markdown.split("\n").forEach((text, i) => {
    for (const m of text.matchAll(/`([A-Za-z0-9_./-]+\.(?:ts|circom|sol))#([^`]+)`/g)) out.push({ path: m[1], name: m[2], line: i + 1 });
  });
  return out;
}

/** The body of `template name(...)` in a circom source (up to the next template), or null. */
export function templateBody(source: string, name: string): string | null {
  const start = source.search(new RegExp(`^template ${name}\\s*\\(`, "m"));
  if (start < 0) return null;
  const rest = source.slice(start + 1);
  const next = rest.search(/^template /m);
  return next < 0 ? source.slice(start) : source.slice(start, start + 1 + next);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const word = (text: string, w: string) => new RegExp(`(^|[^A-Za-z0-9_])${escape(w)}($|[^A-Za-z0-9_])`).test(text);

/** Why `ref` does not resolve in the working tree, or null. */
export function unresolved(ref: Reference, read: (path: string) => string | null): string | null {
  const source = read(ref.path);
  if (source === null) return `${ref.path} does not exist`;
  if (ref.path.endsWith(".circom")) {
    const [template, signal, ...more] = ref.name.split(".");
    if (more.length) return `"${ref.name}" is not Template or Template.signal`;
    const body = templateBody(source, template);
    if (body === null) return `no template ${template} in ${ref.path}`;
    if (signal !== undefined && !word(body, signal)) return `no ${signal} in template ${template} of ${ref.path}`;
    return null;
  }
  const quoted = /^"(.+)"$/.exec(ref.name);
  if (quoted) {
    if (!ref.path.startsWith("test/")) return `a test name cited in ${ref.path}, which is not a test file`;
    return source.includes(quoted[1]) ? null : `no test "${quoted[1]}" in ${ref.path}`;
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(ref.name)) return `"${ref.name}" is not a name`;
  return word(source, ref.name) ? null : `${ref.name} does not occur in ${ref.path}`;
}

const readOrNull = (path: string): string | null => (existsSync(path) ? readFileSync(path, "utf8") : null);

/** The rows of every rule table: [id, cells...] with the line number. */
function ruleRows(markdown: string): { id: string; cells: string[]; line: number }[] {
  return markdown.split("\n").flatMap((text, i) => {
    const m = /^\| ([A-Z]+\d+) \|(.*)\|$/.exec(text);
    return m ? [{ id: m[1], cells: m[2].split(/(?<!\\)\|/).map((c) => c.trim()), line: i + 1 }] : [];
  });
}

describe("RULES.md", () => {
  const markdown = readFileSync(INDEX, "utf8");

  it("resolves every cited file, function, template, signal, error and test name", () => {
    const refs = references(markdown);
    assert.ok(refs.length > 200, `only ${refs.length} references`);
    const cache = new Map<string, string | null>();
    const read = (p: string) => (cache.has(p) ? cache.get(p)! : (cache.set(p, readOrNull(p)), cache.get(p)!));
    const broken = refs.flatMap((r) => {
      const why = unresolved(r, read);
      return why ? [`RULES.md:${r.line}: ${why}`] : [];
    });
    assert.deepEqual(broken, []);
  });

  it("gives each rule one row with five sides, a test or a gap, and unique ids; every cited gap is listed", () => {
    const rows = ruleRows(markdown);
    assert.ok(rows.length > 80, `only ${rows.length} rules`);
    const ids = rows.map((r) => r.id);
    assert.deepEqual(ids.filter((id, i) => ids.indexOf(id) !== i), [], "duplicate rule ids");
    const gaps = new Set([...markdown.matchAll(/^- \*\*(G\d+)\*\*/gm)].map((m) => m[1]));
    for (const r of rows) {
      assert.equal(r.cells.length, 5, `RULES.md:${r.line}: ${r.id} has ${r.cells.length} cells, not rule | TypeScript | circom | Solidity | test`);
      const test = r.cells[4];
      const citesTest = references(test).some((ref) => ref.path.startsWith("test/") && ref.name.startsWith('"'));
      const cited = [...r.cells.join(" ").matchAll(/\bG\d+\b/g)].map((m) => m[0]);
      assert.ok(citesTest || /\bG\d+\b/.test(test), `RULES.md:${r.line}: ${r.id} cites no test that breaks it and no gap`);
      for (const g of cited) assert.ok(gaps.has(g), `RULES.md:${r.line}: ${r.id} cites ${g}, which "Gaps" does not list`);
    }
  });

  it("has a section for every transaction type, the oracle step, the header, keys and the custodian", () => {
    const headings = [...markdown.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    for (const t of TRANSACTION_SECTIONS) assert.ok(headings.some((h) => h.split(/\s/)[0] === t), `no section for ${t}`);
    for (const s of ["The oracle step", "Header, public data and the batch", "Keys and signatures", "The custodian", "Gaps"]) {
      assert.ok(headings.some((h) => h.startsWith(s)), `no section "${s}"`);
    }
  });

  it("a reference that does not resolve is reported (the check can fail)", () => {
    const read = readOrNull;
    assert.match(unresolved({ path: "circuits/batch/slot.circom", name: "Slot.noSuchSignal", line: 1 }, read)!, /no noSuchSignal in template Slot/);
    assert.match(unresolved({ path: "circuits/batch/slot.circom", name: "NoSuchTemplate.x", line: 1 }, read)!, /no template NoSuchTemplate/);
    // a signal of another template of the same file is not the cited template's
    assert.match(unresolved({ path: "circuits/lib/compare.circom", name: "RequireGreaterEq.le", line: 1 }, read)!, /no le in template RequireGreaterEq/);
    assert.equal(unresolved({ path: "circuits/lib/compare.circom", name: "RequireLessEq.le", line: 1 }, read), null);
    assert.match(unresolved({ path: "contracts/Custodian.sol", name: "NoSuchError", line: 1 }, read)!, /does not occur/);
    assert.match(unresolved({ path: "contracts/Custodian.sol", name: "StaleRo", line: 1 }, read)!, /does not occur/, "a prefix is not a name");
    assert.match(unresolved({ path: "test/circuits/batch.test.ts", name: '"refuses nothing at all"', line: 1 }, read)!, /no test/);
    assert.match(unresolved({ path: "sequencer/nowhere.ts", name: "x", line: 1 }, read)!, /does not exist/);
    assert.equal(unresolved({ path: "circuits/batch/slot.circom", name: "Slot.sigCheckA", line: 1 }, read), null);
  });
});
