/**
 * Builds the web page (sequencer/web/browser/) into build/web/ with esbuild: the trading page's and the
 * explorer's scripts, the explorer's worker (the chain verifier: proofs, decoding, replay), and the HTML and CSS
 * (snarkjs's browser build is bundled into the worker). The page imports the SDK and protocol modules themselves; the few Node-only
 * modules they reach are swapped for browser shims here (browser/shims/): the native addon (absent),
 * node:crypto (sha256), assert, and ws (the page has its own stream client); node:events and Buffer come from
 * the npm packages `events` and `buffer`.
 *
 * Built on first use (ensureWebBuild, called by the page server) and again whenever a source file is newer
 * than the build; nothing is downloaded.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(here, "../..");
export const WEB_BUILD_DIR = join(REPO_ROOT, "build", "web");
const BROWSER_DIR = join(here, "browser");
const ENTRIES = ["app.ts", "explorer.ts", "verifyWorker.ts"];
const STATIC = ["index.html", "explorer.html", "style.css"];

function newestSource(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newestSource(p) : s.mtimeMs);
  }
  return t;
}

/** The modules of the shared code that cannot run in a browser, and what replaces them there. */
const SHIMS: [RegExp, string][] = [
  [/fpga-prover\/native\/index\.ts$/, "nativeAddon.ts"],
  [/^node:crypto$/, "nodeCrypto.ts"],
  [/^ws$/, "ws.ts"],
  [/^assert$/, "assert.ts"],
];

let building: Promise<string> | null = null;

/** Builds build/web/ unless it is newer than every source file of the page (and of the shared modules it bundles, by their build marker). */
export function ensureWebBuild(opts: { force?: boolean } = {}): Promise<string> {
  building ??= build(opts.force ?? false).finally(() => (building = null));
  return building;
}

async function build(force: boolean): Promise<string> {
  const marker = join(WEB_BUILD_DIR, "app.js");
  const sources = Math.max(newestSource(BROWSER_DIR), newestSource(join(REPO_ROOT, "sequencer")));
  if (!force && existsSync(marker) && statSync(marker).mtimeMs > sources) return WEB_BUILD_DIR;
  const esbuild = await import("esbuild");
  mkdirSync(WEB_BUILD_DIR, { recursive: true });
  await esbuild.build({
    entryPoints: ENTRIES.map((e) => join(BROWSER_DIR, e)),
    outdir: WEB_BUILD_DIR,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    logLevel: "error",
    define: { global: "globalThis" },
    inject: [join(BROWSER_DIR, "shims", "inject.ts")],
    alias: { "node:events": "events", "node:buffer": "buffer" },
    plugins: [
      {
        name: "browser-shims",
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) => {
            const target = args.path.startsWith(".") ? resolve(args.resolveDir, args.path) : args.path;
            for (const [re, shim] of SHIMS) if (re.test(target)) return { path: join(BROWSER_DIR, "shims", shim) };
            return undefined;
          });
        },
      },
    ],
  });
  for (const f of STATIC) copyFileSync(join(BROWSER_DIR, f), join(WEB_BUILD_DIR, f));
  return WEB_BUILD_DIR;
}
