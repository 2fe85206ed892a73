/** Helpers shared by the command-line entry points under scripts/. */
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** True when the module with this `import.meta.url` is the script node was started with. */
export function isMainModule(metaUrl: string): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return metaUrl === pathToFileURL(realpathSync(arg)).href;
  } catch {
    return false;
  }
}
