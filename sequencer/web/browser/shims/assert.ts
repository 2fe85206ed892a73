/** The browser's `assert` (circomlibjs's Poseidon checks its arguments with it). */
export default function assert(condition: unknown, message?: string): asserts condition {
  if (!condition) throw new Error(message ?? "assertion failed");
}
