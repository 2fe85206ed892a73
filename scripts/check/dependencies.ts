/**
 * The dependency picture and its rules: which module imports which (module = `sequencer/<dir>`,
 * `scripts/<dir>`, or a top-level folder), and the imports the layering forbids. Product code
 * (sequencer/, fpga-prover/) never reaches into scripts/ or test/; the SDK never into the API or the
 * service (what they share lives in protocol/ and wire/); scripts never into test/ (fixtures shared by
 * tests and benchmarks live in scripts/fixtures/).
 *
 * Usage: npx tsx scripts/check/dependencies.ts [root]   prints "a -> b (n)" per edge, then each forbidden
 * import and each module cycle (modules that import one another, directly or around a loop); exits 1 if
 * there is one. test/scripts/check/dependencies.test.ts runs the same check.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { isMainModule } from "../lib/mainModule.ts";

/** One import of one file: the importing file and the file it names, both relative to the root. */
export type ImportEdge = { from: string; to: string };

/** A layering rule: no file of `from` may import a file of `to` (both path prefixes). */
export type ForbiddenImport = { from: string; to: string; why: string };

export const FORBIDDEN: readonly ForbiddenImport[] = [
  { from: "sequencer/", to: "scripts/", why: "product code does not depend on build, deploy or benchmark scripts" },
  { from: "sequencer/", to: "test/", why: "product code does not depend on tests" },
  { from: "fpga-prover/", to: "scripts/", why: "product code does not depend on build, deploy or benchmark scripts" },
  { from: "fpga-prover/", to: "test/", why: "product code does not depend on tests" },
  { from: "fpga-prover/", to: "sequencer/", why: "the prover is below the sequencer" },
  { from: "scripts/", to: "test/", why: "benchmarks and tools take shared fixtures from scripts/fixtures/" },
  { from: "sequencer/sdk/", to: "sequencer/api/", why: "the SDK shares the wire format through sequencer/wire/, not the server" },
  { from: "sequencer/sdk/", to: "sequencer/service/", why: "the SDK does not depend on the sequencer process" },
  { from: "sequencer/protocol/", to: "sequencer/service/", why: "the protocol vocabulary is below everything that uses it" },
  { from: "sequencer/protocol/", to: "sequencer/api/", why: "the protocol vocabulary is below everything that uses it" },
  { from: "sequencer/service/", to: "sequencer/api/", why: "the service does not know its network front; sequencer/process/ wires them" },
  { from: "sequencer/persistence/", to: "sequencer/service/", why: "the store is below the service that journals into it" },
  { from: "sequencer/crypto/", to: "sequencer/protocol/", why: "hashes and signatures are below the protocol that uses them" },
  { from: "sequencer/wire/", to: "sequencer/api/", why: "the wire format is below the server and the SDK" },
  { from: "sequencer/wire/", to: "sequencer/service/", why: "the wire format is below the server and the SDK" },
  { from: "sequencer/wire/", to: "sequencer/sdk/", why: "the wire format is below the server and the SDK" },
];

/**
 * The folders that hold sources. Build outputs (build/, artifacts/, cache/) sit at the root, outside
 * them, so a source folder named `build` (scripts/build/, test/scripts/build/) is read like any other.
 */
const SOURCE_ROOTS = ["sequencer", "fpga-prover", "scripts", "test"];

/** The TypeScript sources under `dir` (relative to root, sorted), skipping node_modules and dot folders. */
export function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(join(root, d))) {
      if (name === "node_modules" || name.startsWith(".")) continue;
      const path = join(d, name);
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (/\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts")) out.push(path);
    }
  };
  walk(dir);
  return out.sort();
}

/** Every relative import (static or dynamic) of every TypeScript source under the source roots. */
export function importEdges(root: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const top of SOURCE_ROOTS) {
    for (const from of sourceFiles(root, top)) {
      const source = readFileSync(join(root, from), "utf8");
      for (const m of source.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
        edges.push({ from, to: normalize(join(dirname(from), m[1])) });
      }
    }
  }
  return edges;
}

/** The module of a path: `sequencer/<dir>` and `scripts/<dir>`, else its top-level folder. */
export function moduleOf(path: string): string {
  const parts = path.split("/");
  if ((parts[0] === "sequencer" || parts[0] === "scripts") && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return parts[0];
}

/** Module-to-module import counts, sorted: the picture the README's layout describes. */
export function dependencyPicture(edges: readonly ImportEdge[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of edges) {
    const a = moduleOf(e.from), b = moduleOf(e.to);
    if (a !== b) counts.set(`${a} -> ${b}`, (counts.get(`${a} -> ${b}`) ?? 0) + 1);
  }
  return new Map([...counts].sort(([x], [y]) => (x < y ? -1 : 1)));
}

/**
 * The module cycles of a picture: each set of two or more modules that reach one another through
 * imports (a strongly connected component), its modules sorted; the sets sorted. Empty when every
 * dependency points one way.
 */
export function moduleCycles(picture: ReadonlyMap<string, number>): string[][] {
  const next = new Map<string, string[]>();
  for (const edge of picture.keys()) {
    const [a, b] = edge.split(" -> ");
    next.set(a, [...(next.get(a) ?? []), b]);
    if (!next.has(b)) next.set(b, []);
  }
  // Tarjan's algorithm.
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) cycles.push(component.sort());
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles.sort((x, y) => (x.join() < y.join() ? -1 : 1));
}

/** Every import a rule forbids, with the rule. */
export function forbiddenImports(edges: readonly ImportEdge[], rules = FORBIDDEN): (ImportEdge & { why: string })[] {
  return edges.flatMap((e) => rules.filter((r) => e.from.startsWith(r.from) && e.to.startsWith(r.to)).map((r) => ({ ...e, why: r.why })));
}

if (isMainModule(import.meta.url)) {
  const root = process.argv[2] ?? ".";
  const edges = importEdges(root);
  const picture = dependencyPicture(edges);
  for (const [edge, n] of picture) console.log(`${edge} (${n})`);
  const bad = forbiddenImports(edges);
  for (const b of bad) console.log(`FORBIDDEN ${b.from} -> ${b.to}: ${b.why}`);
  const cycles = moduleCycles(picture);
  for (const c of cycles) console.log(`CYCLE ${c.join(" <-> ")}`);
  console.log(bad.length ? `${bad.length} forbidden imports` : "no forbidden imports");
  console.log(cycles.length ? `${cycles.length} module cycles` : "no module cycle");
  process.exit(bad.length || cycles.length ? 1 : 0);
}
