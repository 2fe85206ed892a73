// The warnings of `circom2 --inspect`, each tied to the line that declares the signal it names, and the
// project's convention for them (circuits/SPEC.md, "Build checks"): every warning about our circuits is
// fixed, or justified by a comment containing `inspect:` and a reason on the declaring line or the line
// above it.
//
// circom2 prints two kinds of warnings:
//   - located ones (e.g. T3002 "Consider using <== instead of <--"), with a `┌─ "file":line:col` line:
//     the line given is the declaring one;
//   - CA01/CA02 ("signal ... does not appear in any constraint"), which name only the template and the
//     signal (`In template "Slot(2,1,2,1)": ... signals wordsA.idBits ...`): the declaring line is found in
//     the template's source, `signal ... name` for a local signal, `component name` for a subcomponent's
//     input/output signals.
// Templates of dependencies (circomlib, under node_modules) cannot carry our comments: their warnings are
// kept, marked `library`, and never count as unjustified.
import { readFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";

export interface InspectWarning {
  /** circom's code, e.g. CA01, CA02, T3002. */
  code: string;
  /** The warning's first line, without the code. */
  message: string;
  /** The template it names (CA warnings). */
  template?: string;
  /** The signal or subcomponent it names, indices dropped (CA warnings). */
  signal?: string;
  /** Where the signal is declared: repository-relative path ("<main>" for the main source); absent if not found. */
  file?: string;
  /** 1-based declaring line; absent if not found. */
  line?: number;
  /** Declared in a dependency (node_modules): not ours to annotate. */
  library: boolean;
  /** The reason after `inspect:` on the declaring line or the line above; absent when unjustified. */
  justification?: string;
}

/** A source file the warnings can point into: its label (repository-relative path or "<main>") and lines. */
export interface InspectSource {
  label: string;
  lines: string[];
  library: boolean;
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** Every .circom file under `dir` (recursively, sorted), skipping dot-directories and those `skip` names. */
export async function circomFilesUnder(dir: string, skip: (name: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (!e.name.startsWith(".") && !skip(e.name)) await walk(p);
      } else if (e.isFile() && e.name.endsWith(".circom")) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/** Reads `files` (absolute) as InspectSources labelled relative to `root`; those under node_modules are libraries. */
export function readSources(root: string, files: string[]): InspectSource[] {
  return files.map((f) => {
    const label = relative(root, f).split(sep).join("/");
    return { label, lines: readFileSync(f, "utf8").split("\n"), library: label.split("/").includes("node_modules") };
  });
}

/** The `inspect:` reason on line `i` (0-based) of `lines` or the line above; undefined if none. */
export function justificationAt(lines: string[], i: number): string | undefined {
  for (const l of [lines[i], lines[i - 1]]) {
    const m = l === undefined ? null : /\/\/.*\binspect:\s*(\S.*)$/.exec(l) ?? /\/\*.*\binspect:\s*(\S.*?)\s*\*\//.exec(l);
    if (m) return m[1].trim();
  }
  return undefined;
}

type TemplateSpan = { source: InspectSource; start: number; end: number };

/** template name -> where its body lies; our sources win over libraries on a name clash. */
function templateIndex(sources: InspectSource[]): Map<string, TemplateSpan> {
  const index = new Map<string, TemplateSpan>();
  for (const source of [...sources].sort((a, b) => Number(b.library) - Number(a.library))) {
    const starts: [string, number][] = [];
    source.lines.forEach((l, i) => {
      const m = /^\s*template\s+(?:parallel\s+)?(\w+)\s*\(/.exec(l);
      if (m) starts.push([m[1], i]);
      else if (/^\s*function\s+\w+\s*\(/.test(l)) starts.push(["", i]);
    });
    starts.forEach(([name, start], k) => {
      if (name) index.set(name, { source, start, end: k + 1 < starts.length ? starts[k + 1][1] : source.lines.length });
    });
  }
  return index;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The 0-based line of `span` that declares `name`: `component name` for a subcomponent, else `signal ... name`. */
function declaringLine(span: TemplateSpan, name: string, subcomponent: boolean): number | undefined {
  const id = escape(name);
  const re = subcomponent ? new RegExp(`\\bcomponent\\s+${id}\\b`) : new RegExp(`\\bsignal\\b[^;]*?(?:^|[\\s,}])${id}\\s*(?:\\[|;|,|<==|<--|$)`);
  for (let i = span.start; i < span.end; i++) {
    const code = span.source.lines[i].replace(/\/\/.*$/, "");
    if (re.test(code)) return i;
  }
  return undefined;
}

/**
 * Parses circom2's output (stdout and stderr, colours or not) into warnings, each located and judged
 * against `sources` (our circuits, the main source as "<main>", and the libraries). `resolvePath` maps a
 * path circom printed to a source label.
 */
export function parseInspectOutput(output: string, sources: InspectSource[], resolvePath: (printed: string) => string): InspectWarning[] {
  const text = output.replace(ANSI, "");
  const byLabel = new Map(sources.map((s) => [s.label, s]));
  const templates = templateIndex(sources);
  const warnings: InspectWarning[] = [];
  const blocks = text.split(/^(?=warning\[)/m).filter((b) => b.startsWith("warning["));
  for (const block of blocks) {
    const head = /^warning\[(\w+)\]:\s*(.*)$/m.exec(block)!;
    const w: InspectWarning = { code: head[1], message: head[2].trim(), library: false };
    const at = /┌─\s*"([^"]+)":(\d+):\d+/.exec(block);
    const ca = /In template "(\w+)\([^"]*\)":\s*(.*)$/.exec(w.message);
    if (at) {
      w.file = resolvePath(at[1]);
      w.line = Number(at[2]);
      const source = byLabel.get(w.file);
      w.library = source?.library ?? w.file.split("/").includes("node_modules");
      if (source) w.justification = justificationAt(source.lines, w.line - 1);
    } else if (ca) {
      w.template = ca[1];
      const sub = /subcomponent input\/output signals? ([\w[\].]+)/i.exec(ca[2]);
      const local = /local signals? ([\w[\].]+)/i.exec(ca[2]);
      const named = sub?.[1] ?? local?.[1];
      const span = templates.get(ca[1]);
      if (span) {
        w.file = span.source.label;
        w.library = span.source.library;
      }
      if (named) {
        w.signal = (sub ? named.split(".")[0] : named).replace(/\[.*$/, "");
        const line = span && declaringLine(span, w.signal, Boolean(sub));
        if (span && line !== undefined) {
          w.line = line + 1;
          w.justification = justificationAt(span.source.lines, line);
        }
      }
    }
    warnings.push(w);
  }
  return warnings;
}

/** The warnings that break the convention (ours, not justified), grouped by declaring file ("(unlocated)" if none). */
export function unjustifiedByFile(warnings: readonly InspectWarning[]): Map<string, InspectWarning[]> {
  const out = new Map<string, InspectWarning[]>();
  for (const w of warnings) {
    if (w.library || w.justification) continue;
    const file = w.file ?? "(unlocated)";
    out.set(file, [...(out.get(file) ?? []), w]);
  }
  return out;
}

/** One line per warning: `file:line [code] message`. */
export function formatWarning(w: InspectWarning): string {
  const where = w.file ? `${w.file}${w.line ? `:${w.line}` : ""}` : "(unlocated)";
  return `${where} [${w.code}] ${w.message}`;
}

/** Throws, listing them per file, when any warning is ours and not justified. */
export function assertInspectClean(name: string, warnings: readonly InspectWarning[]): void {
  const bad = unjustifiedByFile(warnings);
  if (bad.size === 0) return;
  const lines = [...bad].flatMap(([file, ws]) => [`  ${file}: ${ws.length}`, ...ws.map((w) => `    ${formatWarning(w)}`)]);
  throw new Error(`circom2 --inspect: ${name} has warnings neither fixed nor justified by an "inspect:" comment on the declaring line or the line above:\n${lines.join("\n")}`);
}

/** Resolves a path circom printed (relative to the directory it ran in) to a label relative to `root`. */
export function pathLabel(root: string, cwd: string, printed: string, main?: { path: string; label: string }): string {
  const abs = resolve(cwd, printed);
  if (main && abs === resolve(main.path)) return main.label;
  return relative(root, abs).split(sep).join("/");
}
