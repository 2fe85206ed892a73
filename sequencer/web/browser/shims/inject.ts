/** Globals that bundled Node-style packages expect (blake-hash's streams use Buffer and process.nextTick). */
import { Buffer } from "buffer";

export { Buffer };
export const process = {
  env: {} as Record<string, string | undefined>,
  browser: true,
  version: "",
  versions: {} as Record<string, string>,
  platform: "browser",
  nextTick: (fn: (...args: unknown[]) => void, ...args: unknown[]) => queueMicrotask(() => fn(...args)),
};
