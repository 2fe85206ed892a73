/**
 * Source-level gas profile of one mined transaction: every opcode of its trace (Hardhat's `debug_traceTransaction`,
 * the struct logger without stack and memory) is charged to the Solidity source line and function that the
 * compiler's source map gives for it, in the contract whose code ran it (the call tracer's call tree says which
 * code each frame ran; its precompile calls say what each precompile call cost).
 *
 * What a step costs: the drop in remaining gas to the next step of the same frame; for a call into code, that
 * drop less what the callee used (the callee's own steps are charged where they ran), so the call opcode keeps
 * its access, memory and value costs; for a precompile call, the precompile's gas (from the call tracer) is a
 * step of its own, named after the precompile, and the call opcode keeps the rest. The last step of a frame costs
 * its `gasCost`. Refunds are not steps: {@link TxProfile.refund} holds what the transaction got back.
 *
 * Phases: the caller says which functions (`Contract.function`) mark phases; each step carries the most recent
 * step of its frame that ran in one of them (a call's frame starts with its caller's), so code those functions
 * call (inlined or not, in other contracts or in compiler-generated helpers) is charged to the phase line that
 * called it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hexToBytes, type Address, type Hex } from "viem";

/** A compiled contract's runtime code with what maps its instructions to source. */
export type CodeSource = {
  /** The contract's name. */
  name: string;
  /** Its deployed bytecode as compiled (library and immutable placeholders as zeros). */
  bytecode: Hex;
  /** The compressed source map of the deployed bytecode (solc's `evm.deployedBytecode.sourceMap`). */
  sourceMap: string;
  /** The compilation's sources by source-map file index. */
  files: Map<number, SourceFile>;
};

/** One source file: its path, its text and its functions (solc AST `FunctionDefinition`/`ModifierDefinition`). */
export type SourceFile = { path: string; text: string; lineStarts: number[]; functions: { start: number; end: number; name: string }[] };

type SolcInput = { sources: Record<string, { content: string }> };
type SolcOutput = {
  sources: Record<string, { id: number; ast: unknown }>;
  contracts: Record<string, Record<string, { evm?: { deployedBytecode?: { object?: string; sourceMap?: string } } }>>;
};

/** The functions of a solc AST, each with the name `Contract.function` (`Contract.modifier`, `Contract.constructor`). */
function functionsOf(ast: unknown): SourceFile["functions"] {
  const out: SourceFile["functions"] = [];
  const walk = (node: unknown, contract: string): void => {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, contract));
    if (!node || typeof node !== "object") return;
    const n = node as { nodeType?: string; name?: string; kind?: string; src?: string };
    if (n.nodeType === "ContractDefinition") contract = n.name ?? contract;
    if ((n.nodeType === "FunctionDefinition" || n.nodeType === "ModifierDefinition") && n.src) {
      const [start, length] = n.src.split(":").map(Number);
      const name = n.name || n.kind || "?";
      out.push({ start: start!, end: start! + length!, name: `${contract}.${name}` });
    }
    for (const v of Object.values(node)) if (v && typeof v === "object") walk(v, contract);
  };
  walk(ast, "");
  return out;
}

/** The line start offsets of `text` (offsets are bytes in solc's source maps; the sources here are ASCII). */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

/** Every contract with runtime code in a solc standard-JSON compilation (its input and output). */
export function codeSources(input: SolcInput, output: SolcOutput): CodeSource[] {
  const files = new Map<number, SourceFile>();
  for (const [path, s] of Object.entries(output.sources)) {
    const text = input.sources[path]?.content ?? "";
    files.set(s.id, { path, text, lineStarts: lineStarts(text), functions: functionsOf(s.ast) });
  }
  const out: CodeSource[] = [];
  for (const contracts of Object.values(output.contracts)) {
    for (const [name, c] of Object.entries(contracts)) {
      const object = c.evm?.deployedBytecode?.object;
      // library placeholders (`__$<34 hex>$__`, 20 bytes) as zeros: the code is matched by its other bytes
      if (object) out.push({ name, bytecode: `0x${object.replace(/__\$[0-9a-f]{34}\$__/g, "0".repeat(40))}`, sourceMap: c.evm!.deployedBytecode!.sourceMap ?? "", files });
    }
  }
  return out;
}

/** The contracts of the Hardhat build (artifacts/build-info under `root`). */
export function hardhatCodeSources(root: string): CodeSource[] {
  const dir = join(root, "artifacts", "build-info");
  const out: CodeSource[] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".output.json"))) {
    const output = (JSON.parse(readFileSync(join(dir, f), "utf8")) as { output: SolcOutput }).output;
    const input = (JSON.parse(readFileSync(join(dir, f.replace(/\.output\.json$/, ".json")), "utf8")) as { input: SolcInput }).input;
    out.push(...codeSources(input, output));
  }
  return out;
}

/** Where one instruction's source is: file index, byte offset, length (-1 file: no source). */
type Src = { file: number; start: number; length: number };

/** Decompresses a solc source map into one entry per instruction. */
function parseSourceMap(map: string): Src[] {
  const out: Src[] = [];
  let prev: Src = { file: -1, start: 0, length: 0 };
  for (const entry of map.split(";")) {
    const [s, l, f] = entry.split(":");
    prev = { start: s ? Number(s) : prev.start, length: l ? Number(l) : prev.length, file: f ? Number(f) : prev.file };
    out.push(prev);
  }
  return out;
}

/** For each pc of `code` that starts an instruction, its instruction index. */
function instructionIndex(code: Uint8Array): Map<number, number> {
  const out = new Map<number, number>();
  for (let pc = 0, i = 0; pc < code.length; i++) {
    out.set(pc, i);
    const op = code[pc]!;
    pc += op >= 0x60 && op <= 0x7f ? op - 0x5e : 1;
  }
  return out;
}

/** Where a step ran: its code, function, source line (`text`: that line, trimmed) and phase. */
export type Site = { code: string; fn: string; file: string; line: number; text: string; phase?: Site; precompile?: string };

/** A source-mapped view of one deployed contract. */
class MappedCode {
  private readonly srcs: Src[];
  private readonly index: Map<number, number>;
  private readonly cache = new Map<number, Omit<Site, "phase">>();

  constructor(readonly source: CodeSource | undefined, code: Uint8Array, private readonly label: string) {
    this.srcs = source ? parseSourceMap(source.sourceMap) : [];
    this.index = instructionIndex(code);
  }

  site(pc: number): Omit<Site, "phase"> {
    let s = this.cache.get(pc);
    if (s) return s;
    const src = this.srcs[this.index.get(pc) ?? -1];
    const file = src ? this.source!.files.get(src.file) : undefined;
    if (!src || !file) s = { code: this.label, fn: "(generated)", file: "", line: 0, text: "" };
    else {
      const inside = file.functions.filter((f) => f.start <= src.start && src.start + src.length <= f.end);
      const fn = inside.reduce<(typeof inside)[number] | undefined>((a, f) => (!a || f.end - f.start < a.end - a.start ? f : a), undefined);
      let line = file.lineStarts.findIndex((o) => o > src.start);
      line = line < 0 ? file.lineStarts.length : line;
      const text = file.text.slice(file.lineStarts[line - 1], file.lineStarts[line] ?? file.text.length).trim();
      s = { code: this.label, fn: fn?.name ?? `${this.label}.(contract)`, file: file.path.replace(/^project\//, ""), line, text };
    }
    this.cache.set(pc, s);
    return s;
  }
}

/** Which compiled contract `code` is: the one of its length whose bytes agree most (placeholders differ). */
function identify(code: Uint8Array, sources: readonly CodeSource[]): CodeSource | undefined {
  let best: { s: CodeSource; same: number } | undefined;
  for (const s of sources) {
    const b = hexToBytes(s.bytecode);
    if (b.length !== code.length) continue;
    let same = 0;
    for (let i = 0; i < b.length; i++) if (b[i] === code[i]) same++;
    if (!best || same > best.same) best = { s, same };
  }
  return best && best.same >= 0.9 * code.length ? best.s : undefined;
}

const PRECOMPILES: Record<number, string> = { 1: "ecrecover", 2: "sha256", 3: "ripemd160", 4: "identity", 5: "modexp", 6: "ecAdd", 7: "ecMul", 8: "ecPairing", 9: "blake2f", 10: "pointEvaluation" };

type CallNode = { to?: Address; type: string; gasUsed: Hex; calls?: CallNode[] };
type StructLog = { pc: number; op: string; gas: number; gasCost: number; depth: number; refund?: number };

/** A transaction's gas charged to sites, with the receipt's gas and what the steps leave out. */
export type TxProfile = {
  gasUsed: bigint;
  /** Gas the steps account for, summed: execution, before refunds. */
  execution: number;
  /** The refund the transaction got: min(refund counter, (intrinsic + execution) / 5) = min(counter, gasUsed / 4). */
  refund: number;
  /** gasUsed - execution + refund: the intrinsic gas (21,000 base and calldata). */
  intrinsic: number;
  /** Each step's gas by site (equal sites summed; `count`: how many steps, or precompile calls, were charged there). */
  sites: { site: Site; gas: number; count: number }[];
};

const CALL_OPS = new Set(["CALL", "CALLCODE", "DELEGATECALL", "STATICCALL", "CREATE", "CREATE2"]);

/**
 * The source-level profile of mined transaction `hash`. `sources`: the compiled contracts that may run (others
 * are profiled without source); `isPhase`: whether a function (`Contract.function`) marks a phase.
 */
export async function profileTransaction(
  provider: { request(a: { method: string; params: unknown[] }): Promise<unknown> },
  client: { getCode(a: { address: Address }): Promise<Hex | undefined>; getTransactionReceipt(a: { hash: Hex }): Promise<{ gasUsed: bigint; to: Address | null }> },
  hash: Hex,
  sources: readonly CodeSource[],
  isPhase: (fn: string) => boolean,
): Promise<TxProfile> {
  const receipt = await client.getTransactionReceipt({ hash });
  const tree = (await provider.request({ method: "debug_traceTransaction", params: [hash, { tracer: "callTracer" }] })) as CallNode;
  const { structLogs: logs } = (await provider.request({
    method: "debug_traceTransaction", params: [hash, { disableStack: true, disableMemory: true, disableStorage: true }],
  })) as { structLogs: StructLog[] };

  const mapped = new Map<string, MappedCode>();
  const codeAt = async (a: Address): Promise<MappedCode> => {
    const key = a.toLowerCase();
    let m = mapped.get(key);
    if (!m) {
      const code = hexToBytes((await client.getCode({ address: a })) ?? "0x");
      const source = identify(code, sources);
      m = new MappedCode(source, code, source?.name ?? a);
      mapped.set(key, m);
    }
    return m;
  };

  const totals = new Map<string, { site: Site; gas: number; count: number }>();
  const charge = (site: Site, gas: number) => {
    const key = JSON.stringify(site);
    const t = totals.get(key);
    if (t) {
      t.gas += gas;
      t.count++;
    } else totals.set(key, { site, gas, count: 1 });
  };
  type Frame = { node: CallNode; code: MappedCode; next: number; phase?: Site; callStep?: number; callSite?: Site };
  const frames: Frame[] = [{ node: tree, code: await codeAt(receipt.to!), next: 0 }];
  let execution = 0;
  for (let i = 0; i < logs.length; i++) {
    const s = logs[i]!;
    const frame = frames[frames.length - 1]!;
    const base = frame.code.site(s.pc);
    if (isPhase(base.fn)) frame.phase = { ...base, phase: undefined };
    const site: Site = { ...base, phase: frame.phase };
    const next = logs[i + 1];
    if (CALL_OPS.has(s.op)) {
      const child = frame.node.calls?.[frame.next++];
      if (next && next.depth > s.depth && child) {
        frames.push({ node: child, code: await codeAt(child.to!), next: 0, phase: frame.phase, callStep: i, callSite: site });
        continue; // charged when the callee returns
      }
      const used = child ? Number(child.gasUsed) : 0;
      const pre = child?.to ? PRECOMPILES[Number(child.to)] : undefined;
      const total = next ? s.gas - next.gas : s.gasCost;
      if (pre) charge({ ...site, precompile: pre }, used);
      charge(site, total - (pre ? used : 0));
      execution += total;
      continue;
    }
    if (next && next.depth === s.depth) {
      charge(site, s.gas - next.gas);
      execution += s.gas - next.gas;
      continue;
    }
    // The frame's last step; then the call that made it is charged what the callee did not use.
    charge(site, s.gasCost);
    execution += s.gasCost;
    if (next && next.depth < s.depth) {
      const done = frames.pop()!;
      const callStep = logs[done.callStep!]!;
      const own = callStep.gas - next.gas - Number(done.node.gasUsed);
      charge(done.callSite!, own);
      execution += own;
    }
  }
  const finalRefund = logs.length ? (logs[logs.length - 1]!.refund ?? 0) : 0;
  const gasUsed = receipt.gasUsed;
  // gasUsed = intrinsic + execution - refund, refund = min(counter, (gasUsed + refund) / 5) = min(counter, gasUsed / 4)
  const refund = Math.min(finalRefund, Math.floor(Number(gasUsed) / 4));
  return { gasUsed, execution, refund, intrinsic: Number(gasUsed) - execution + refund, sites: [...totals.values()] };
}
