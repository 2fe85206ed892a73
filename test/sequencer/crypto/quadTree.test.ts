/**
 * Direct tests of the sparse quad Merkle tree (sequencer/crypto/quadTree.ts) that every state tree is
 * built on: empty roots, reads and writes, Merkle paths, which nodes a write touches, bounds, and the
 * root against a naive recomputation with circomlibjs's Poseidon over 4 children (circuits/SPEC.md,
 * "State": node = Poseidon(c0, c1, c2, c3), least-significant index pair at the leaf level).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { emptyHashes, QuadTree, type QuadProof } from "../../../sequencer/crypto/quadTree.ts";
import { poseidonJs } from "../../../sequencer/crypto/poseidon.ts";
import { FIELD_MODULUS } from "../../../sequencer/crypto/field.ts";

/** A seeded 64-bit LCG: the same leaves on every run. */
function rng(seed: bigint): () => bigint {
  let s = seed;
  return () => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    return s;
  };
}

/** A field element drawn from `next` (two draws, reduced mod p; never the zero leaf). */
function fieldValue(next: () => bigint): bigint {
  return (((next() << 64n) | next()) % (FIELD_MODULUS - 1n)) + 1n;
}

/** The root of `leaves` (all 4^levels of them) hashed level by level, four consecutive nodes at a time. */
function naiveRoot(leaves: readonly bigint[]): bigint {
  let level = [...leaves];
  while (level.length > 1) {
    const up: bigint[] = [];
    for (let i = 0; i < level.length; i += 4) up.push(poseidonJs(level.slice(i, i + 4)));
    level = up;
  }
  return level[0];
}

/** A tree of `levels` with `count` random leaves at random indexes, and the same leaves as a dense array. */
function randomTree(levels: number, count: number, seed: bigint, emptyLeaf = 0n): { tree: QuadTree; dense: bigint[] } {
  const next = rng(seed);
  const tree = new QuadTree(levels, emptyLeaf);
  const dense = Array<bigint>(4 ** levels).fill(emptyLeaf);
  for (let k = 0; k < count; k++) {
    const i = Number(next() % BigInt(tree.capacity));
    const v = fieldValue(next);
    tree.set(i, v);
    dense[i] = v;
  }
  return { tree, dense };
}

const copyProof = (p: QuadProof): QuadProof => p.map((level) => [...level]);

describe("QuadTree", () => {
  it("an empty tree's root is the hash of four empty children at every level, for a zero and a non-zero empty leaf", () => {
    for (const emptyLeaf of [0n, 12345n]) {
      const levels = 5;
      const h = emptyHashes(levels, emptyLeaf);
      assert.equal(h.length, levels + 1);
      assert.equal(h[0], emptyLeaf);
      for (let l = 0; l < levels; l++) assert.equal(h[l + 1], poseidonJs([h[l], h[l], h[l], h[l]]), `level ${l + 1}`);
      for (let levels2 = 1; levels2 <= levels; levels2++) {
        const tree = new QuadTree(levels2, emptyLeaf);
        assert.equal(tree.root, h[levels2], `root of an empty tree of ${levels2} levels`);
        assert.equal(tree.capacity, 4 ** levels2);
        assert.deepEqual(tree.leaves(), []);
      }
      // Every sibling of an empty tree's path is the empty subtree of its height.
      const proof = new QuadTree(levels, emptyLeaf).proof(777);
      proof.forEach((siblings, l) => assert.deepEqual(siblings, [h[l], h[l], h[l]], `siblings at level ${l}`));
    }
    assert.notEqual(new QuadTree(2, 0n).root, new QuadTree(2, 1n).root);
  });

  it("set writes a leaf that leaf() reads back, leaves the others empty, and leaves() lists only non-empty leaves by index", () => {
    const tree = new QuadTree(3, 7n);
    tree.set(42, 100n);
    tree.set(5, 200n);
    tree.set(63, 300n);
    assert.equal(tree.leaf(42), 100n);
    assert.equal(tree.leaf(5), 200n);
    assert.equal(tree.leaf(63), 300n);
    for (let i = 0; i < tree.capacity; i++) if (![5, 42, 63].includes(i)) assert.equal(tree.leaf(i), 7n, `leaf ${i}`);
    assert.deepEqual(tree.leaves(), [[5, 200n], [42, 100n], [63, 300n]]);
    tree.set(42, 101n);
    assert.equal(tree.leaf(42), 101n);
    assert.deepEqual(tree.leaves(), [[5, 200n], [42, 101n], [63, 300n]]);
  });

  it("writing the empty leaf back removes it and restores the earlier root (the sparse store holds no empty nodes)", () => {
    const tree = new QuadTree(3);
    const empty = tree.root;
    tree.set(9, 1n);
    const one = tree.root;
    tree.set(50, 2n);
    assert.notEqual(tree.root, one);
    tree.set(50, 0n);
    assert.equal(tree.root, one);
    assert.deepEqual(tree.leaves(), [[9, 1n]]);
    tree.set(9, 0n);
    assert.equal(tree.root, empty);
    assert.deepEqual(tree.leaves(), []);
  });

  it("the root equals a naive recomputation over all leaves with circomlibjs's Poseidon of 4 children", () => {
    for (const [levels, count, emptyLeaf, seed] of [[1, 3, 0n, 1n], [2, 9, 0n, 2n], [3, 40, 0n, 3n], [3, 20, 99n, 4n]] as const) {
      const { tree, dense } = randomTree(levels, count, seed, emptyLeaf);
      assert.equal(tree.root, naiveRoot(dense), `levels ${levels}, empty leaf ${emptyLeaf}`);
    }
    // Index bits are read least-significant pair first: leaf 1 and leaf 4 sit in different subtrees.
    const a = new QuadTree(2);
    a.set(1, 5n);
    const dense = Array<bigint>(16).fill(0n);
    dense[1] = 5n;
    assert.equal(a.root, naiveRoot(dense));
    const b = new QuadTree(2);
    b.set(4, 5n);
    assert.notEqual(a.root, b.root);
  });

  it("every leaf's Merkle path recomputes the root; a changed leaf, sibling or index does not", () => {
    const { tree, dense } = randomTree(3, 30, 11n);
    const root = tree.root;
    for (let i = 0; i < tree.capacity; i++) {
      const proof = tree.proof(i);
      assert.equal(proof.length, tree.levels);
      for (const level of proof) assert.equal(level.length, 3);
      assert.equal(QuadTree.rootFrom(i, dense[i], proof), root, `path of leaf ${i}`);
      assert.notEqual(QuadTree.rootFrom(i, dense[i] + 1n, proof), root, `changed leaf ${i}`);
      const other = i ^ 1; // same parent, other position: the same children in another order
      if (dense[i] !== dense[other]) {
        assert.notEqual(QuadTree.rootFrom(other, dense[i], proof), root, `leaf ${i} claimed at index ${other}`);
      }
    }
    for (const i of [0, 17, 63]) {
      const proof = tree.proof(i);
      for (let l = 0; l < tree.levels; l++) {
        for (let k = 0; k < 3; k++) {
          const bad = copyProof(proof);
          bad[l][k] += 1n;
          assert.notEqual(QuadTree.rootFrom(i, dense[i], bad), root, `leaf ${i}: sibling ${k} of level ${l} changed`);
        }
      }
    }
  });

  it("updating a leaf changes exactly the nodes on its path: no other leaf, and only the siblings that are path nodes", () => {
    const levels = 3;
    const { tree } = randomTree(levels, 25, 21n);
    for (const target of [0, 22, 63]) {
      const leavesBefore = Array.from({ length: tree.capacity }, (_, j) => tree.leaf(j));
      const proofsBefore = Array.from({ length: tree.capacity }, (_, j) => tree.proof(j));
      const rootBefore = tree.root;
      tree.set(target, tree.leaf(target) + 1000n);
      assert.notEqual(tree.root, rootBefore);
      for (let j = 0; j < tree.capacity; j++) {
        if (j !== target) assert.equal(tree.leaf(j), leavesBefore[j], `leaf ${j}`);
        const after = tree.proof(j);
        for (let l = 0; l < levels; l++) {
          // Leaf j's siblings at level l include the target's path node of that level exactly when j's own
          // node there is another child of the same parent.
          const holdsPathNode = j >> (2 * l) !== target >> (2 * l) && j >> (2 * l + 2) === target >> (2 * l + 2);
          const changed = after[l].some((s, k) => s !== proofsBefore[j][l][k]);
          assert.equal(changed, holdsPathNode, `write to ${target}: siblings of leaf ${j} at level ${l}`);
          if (holdsPathNode) assert.equal(after[l].filter((s, k) => s !== proofsBefore[j][l][k]).length, 1, "one sibling changes");
        }
      }
    }
  });

  it("refuses bad sizes with a RangeError naming the levels (1 to 15 levels)", () => {
    for (const levels of [0, -1, 16, 1.5, Number.NaN]) {
      assert.throws(() => new QuadTree(levels), (e: unknown) => e instanceof RangeError && e.message === `bad tree levels ${levels}`, `levels ${levels}`);
    }
    assert.equal(new QuadTree(1).capacity, 4);
    const big = new QuadTree(15);
    assert.equal(big.capacity, 4 ** 15);
    big.set(4 ** 15 - 1, 3n);
    assert.equal(big.leaf(4 ** 15 - 1), 3n);
    assert.equal(QuadTree.rootFrom(4 ** 15 - 1, 3n, big.proof(4 ** 15 - 1)), big.root);
  });

  it("refuses an out-of-range or non-integer index on leaf, set and proof with a clear error, and the tree is unchanged", () => {
    const { tree } = randomTree(2, 6, 31n);
    const root = tree.root;
    const leaves = tree.leaves();
    for (const index of [-1, 16, 17, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const clear = (e: unknown) => e instanceof RangeError && e.message === `leaf index ${index} outside a tree of 16 leaves`;
      assert.throws(() => tree.leaf(index), clear, `leaf(${index})`);
      assert.throws(() => tree.set(index, 5n), clear, `set(${index})`);
      assert.throws(() => tree.proof(index), clear, `proof(${index})`);
      assert.equal(tree.root, root);
      assert.deepEqual(tree.leaves(), leaves);
    }
  });

  it("trees are independent: writing one leaves another of the same shape untouched (shared empty hashes are not mutated)", () => {
    const a = new QuadTree(2, 3n);
    const b = new QuadTree(2, 3n);
    const emptyRoot = b.root;
    a.set(7, 8n);
    assert.equal(b.root, emptyRoot);
    assert.equal(b.leaf(7), 3n);
    assert.equal(emptyHashes(2, 3n)[2], emptyRoot);
  });
});
