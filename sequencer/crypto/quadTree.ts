/**
 * A sparse quad Merkle tree: node = Poseidon(c0, c1, c2, c3). A leaf index is read two bits per level,
 * the least significant pair at the leaf level (as circuits/lib/quadTree.circom reads it).
 */
import { poseidon } from "../crypto/poseidon.ts";

const emptyCache = new Map<string, bigint[]>();

/** emptyHashes(levels, leaf)[l] is the root of an empty subtree of height l. */
export function emptyHashes(levels: number, emptyLeaf: bigint): readonly bigint[] {
  const key = `${levels}:${emptyLeaf}`;
  let hashes = emptyCache.get(key);
  if (!hashes) {
    hashes = [emptyLeaf];
    for (let l = 0; l < levels; l++) hashes.push(poseidon([hashes[l], hashes[l], hashes[l], hashes[l]]));
    emptyCache.set(key, hashes);
  }
  return hashes;
}

/** Three siblings per level, leaf level first: what QuadUpdate takes as `siblings`. */
export type QuadProof = bigint[][];

export class QuadTree {
  readonly levels: number;
  readonly capacity: number;
  private readonly empty: readonly bigint[];
  /** nodes[l] maps an index at height l to its value, only where it differs from empty. */
  private readonly nodes: Map<number, bigint>[];

  constructor(levels: number, emptyLeaf = 0n) {
    if (!Number.isInteger(levels) || levels < 1 || levels > 15) throw new RangeError(`bad tree levels ${levels}`);
    this.levels = levels;
    this.capacity = 4 ** levels;
    this.empty = emptyHashes(levels, emptyLeaf);
    this.nodes = Array.from({ length: levels + 1 }, () => new Map<number, bigint>());
  }

  get root(): bigint {
    return this.node(this.levels, 0);
  }

  leaf(index: number): bigint {
    this.checkIndex(index);
    return this.node(0, index);
  }

  /** Every leaf that is not the empty leaf, as [index, value], by index. */
  leaves(): [number, bigint][] {
    return [...this.nodes[0].entries()].sort((a, b) => a[0] - b[0]);
  }

  /** Writes a leaf and rehashes its path. */
  set(index: number, value: bigint): void {
    this.checkIndex(index);
    this.store(0, index, value);
    let i = index;
    for (let l = 0; l < this.levels; l++) {
      const first = i & ~3;
      const parent = poseidon([this.node(l, first), this.node(l, first + 1), this.node(l, first + 2), this.node(l, first + 3)]);
      i >>= 2;
      this.store(l + 1, i, parent);
    }
  }

  /** The siblings of a leaf's path, in the order the circuit's QuadChildren expects. */
  proof(index: number): QuadProof {
    this.checkIndex(index);
    const out: QuadProof = [];
    let i = index;
    for (let l = 0; l < this.levels; l++) {
      const first = i & ~3;
      const level: bigint[] = [];
      for (let k = 0; k < 4; k++) if (first + k !== i) level.push(this.node(l, first + k));
      out.push(level);
      i >>= 2;
    }
    return out;
  }

  /** Recomputes the root from a leaf and a proof (used by verifiers and tests). */
  static rootFrom(index: number, leaf: bigint, proof: QuadProof): bigint {
    let node = leaf;
    let i = index;
    for (const siblings of proof) {
      const pos = i & 3;
      const kids = [...siblings];
      kids.splice(pos, 0, node);
      node = poseidon(kids);
      i >>= 2;
    }
    return node;
  }

  private node(level: number, index: number): bigint {
    return this.nodes[level].get(index) ?? this.empty[level];
  }

  private store(level: number, index: number, value: bigint): void {
    if (value === this.empty[level]) this.nodes[level].delete(index);
    else this.nodes[level].set(index, value);
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.capacity) {
      throw new RangeError(`leaf index ${index} outside a tree of ${this.capacity} leaves`);
    }
  }
}
