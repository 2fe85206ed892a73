/**
 * Checkpoint files (sequencer/verifier/checkpoint.ts) on disk, for the commands that read or write one: `verify
 * --checkpoint / --save-checkpoint`, `exit --checkpoint`, `force-close --checkpoint`, the devnet's exodus act.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { decodeCheckpoint, encodeCheckpoint, type StateCheckpoint } from "../../sequencer/verifier/checkpoint.ts";

/** The checkpoint in the file at `path` (decodeCheckpoint); a file that cannot be read is an error naming it. */
export function readCheckpoint(path: string): StateCheckpoint {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`checkpoint ${path}: ${(e as Error).message}`);
  }
  return decodeCheckpoint(text);
}

/** Writes `checkpoint` to `path`: beside it first, then renamed over it, so a run stopped midway leaves the previous one whole. */
export function writeCheckpoint(path: string, checkpoint: StateCheckpoint): void {
  const partial = `${path}.partial`;
  writeFileSync(partial, encodeCheckpoint(checkpoint));
  renameSync(partial, path);
}
