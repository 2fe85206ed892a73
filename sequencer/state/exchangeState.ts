/**
 * The exchange state the batch circuit commits to (circuits/SPEC.md and DERIVATIVES.md, "State"):
 * stateRoot = Poseidon(accountsRoot, marketsRoot, feePool, globalsHash). Mutations go through a
 * journal so a batch that fails half-way can be rolled back and leave the state exactly as it was.
 */
import { poseidon } from "../crypto/poseidon.ts";
import type { PublicKey } from "../crypto/babyjub.ts";
import { QUOTE_TOKEN_ID } from "../protocol/constants.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { EMPTY_INSTRUMENT, type DerivAccount, type Globals, type InstrumentState } from "../derivatives/formulas.ts";
import { derivLeaf, emptyLayout, layoutAfter, type PositionLayout } from "./positionSlots.ts";
import { emptyHashes, QuadTree, type QuadProof } from "../crypto/quadTree.ts";
import { instrumentLeaf, instrumentLevels } from "./instrumentTable.ts";

export type Market = { baseTokenId: number; sizeUnit: bigint; priceUnit: bigint };

/** One order-tree leaf: orderId + filled * 2^40 + cancelled * 2^80. */
export type OrderSlot = { storedId: bigint; filled: bigint; cancelled: boolean };

export type Account = {
  pubKey: PublicKey;
  nonce: number;
  /** The quote token's balance (token 0): a field of the account leaf, not a leaf of `balances`. */
  quote: bigint;
  /** The other tokens' balances; leaf 0 is never written (the quote is `quote`). */
  balances: QuadTree;
  orders: QuadTree;
  deriv: DerivAccount;
  /** Which instrument each position slot holds (positionSlots.ts): the layout the derivatives leaf hashes. */
  positionSlots: PositionLayout;
};


/**
 * The account leaf (circuits/SPEC.md "State"): Poseidon(pubKeyX, pubKeyY, nonce, quote, balancesRoot, ordersRoot,
 * derivLeaf), the quote token's balance a field of its own, the other tokens in the balance tree.
 */
export function accountLeafHash(a: { pubKey: PublicKey; nonce: bigint | number; quote: bigint; balancesRoot: bigint; ordersRoot: bigint; derivLeaf: bigint }): bigint {
  return poseidon([a.pubKey[0], a.pubKey[1], BigInt(a.nonce), a.quote, a.balancesRoot, a.ordersRoot, a.derivLeaf]);
}

/** The account's derivatives leaf: its collateral and position slots (positionSlots.ts#derivLeaf). */
export function accountDerivLeaf(a: Pick<Account, "deriv" | "positionSlots">): bigint {
  return derivLeaf(a.deriv, a.positionSlots);
}

export function emptyDerivAccount(instruments: number): DerivAccount {
  return { collateral: 0n, positions: Array.from({ length: instruments }, () => ({ size: 0n, snapshot: 0n })) };
}

export function encodeOrderSlot(s: OrderSlot): bigint {
  return s.storedId + (s.filled << 40n) + ((s.cancelled ? 1n : 0n) << 80n);
}

export function decodeOrderSlot(leaf: bigint): OrderSlot {
  const mask = (1n << 40n) - 1n;
  return { storedId: leaf & mask, filled: (leaf >> 40n) & mask, cancelled: (leaf >> 80n) === 1n };
}

export function marketLeaf(m: Market): bigint {
  return poseidon([BigInt(m.baseTokenId), m.sizeUnit, m.priceUnit]);
}

type Undo = () => void;

/** An open transaction on the state (ExchangeState.begin). */
export type StateTransaction = { rollback: () => void; commit: () => void };

export class ExchangeState {
  readonly params: CircuitParams;
  readonly accountTree: QuadTree;
  readonly marketTree: QuadTree;
  private readonly accounts = new Map<number, Account>();
  private readonly markets = new Map<number, Market>();
  private fees = 0n;
  private readonly instrumentTable: InstrumentState[];
  /** The table's commitment (instrumentTable.ts, H2a): the quad tree of the array's leaves, written with it. */
  private readonly instrumentTree: QuadTree;
  private globalState: Globals = { insuranceFund: 0n, oracleTime: 0, fundingEpoch: 0, badDebt: 0n, pooledQuote: 0n };
  private journal: Undo[] | null = null;
  /** The open transactions, oldest first, each with the journal index its undo entries start at. */
  private readonly frames: { start: number }[] = [];

  constructor(params: CircuitParams) {
    this.params = params;
    this.accountTree = new QuadTree(params.accountLevels, ExchangeState.emptyAccountLeaf(params));
    this.marketTree = new QuadTree(params.marketLevels, 0n);
    this.instrumentTable = Array.from({ length: params.instruments }, () => EMPTY_INSTRUMENT);
    this.instrumentTree = new QuadTree(instrumentLevels(params.instruments), instrumentLeaf(EMPTY_INSTRUMENT));
  }

  /** Leaf of an account that was never written: no key, nonce 0, no quote, empty balance and order trees, empty derivatives leaf. */
  static emptyAccountLeaf(p: CircuitParams): bigint {
    return accountLeafHash({
      pubKey: [0n, 0n], nonce: 0, quote: 0n,
      balancesRoot: emptyHashes(p.balanceLevels, 0n)[p.balanceLevels], ordersRoot: emptyHashes(p.orderLevels, 0n)[p.orderLevels],
      derivLeaf: derivLeaf(emptyDerivAccount(p.instruments), emptyLayout(p.positionSlots)),
    });
  }

  get feePool(): bigint {
    return this.fees;
  }

  get globals(): Readonly<Globals> {
    return this.globalState;
  }

  get instruments(): readonly InstrumentState[] {
    return this.instrumentTable;
  }

  /** The root of the instrument tree (instrumentTable.ts; the circuit's InstrumentTableRoot). */
  instrumentsHash(): bigint {
    return this.instrumentTree.root;
  }

  /** Instrument `id`'s path in the instrument tree (the exit circuit's HeldInstruments reads a slot's instrument by it). */
  instrumentProof(id: number): QuadProof {
    return this.instrumentTree.proof(id);
  }

  globalsHash(): bigint {
    return this.globalsHashWith(this.instrumentsHash());
  }

  get root(): bigint {
    return this.rootWith(this.instrumentsHash());
  }

  /**
   * The state root this state would have with `instrumentsHash` in place of its table's commitment: the root's one
   * formula, which a restore also uses to recognise a snapshot hashed under an older table commitment.
   */
  rootWith(instrumentsHash: bigint): bigint {
    return poseidon([this.accountTree.root, this.marketTree.root, this.fees, this.globalsHashWith(instrumentsHash)]);
  }

  private globalsHashWith(instrumentsHash: bigint): bigint {
    const g = this.globalState;
    return poseidon([instrumentsHash, g.insuranceFund, BigInt(g.oracleTime), BigInt(g.fundingEpoch), g.badDebt, g.pooledQuote]);
  }

  /** The account at `id`; an unwritten account reads as empty (no key, zero balances). */
  account(id: number): Account {
    const existing = this.accounts.get(id);
    if (existing) return existing;
    if (!Number.isInteger(id) || id < 0 || id >= this.accountTree.capacity) throw new RangeError(`account ${id} out of range`);
    const fresh: Account = {
      pubKey: [0n, 0n],
      nonce: 0,
      quote: 0n,
      balances: new QuadTree(this.params.balanceLevels),
      orders: new QuadTree(this.params.orderLevels),
      deriv: emptyDerivAccount(this.params.instruments),
      positionSlots: emptyLayout(this.params.positionSlots),
    };
    this.accounts.set(id, fresh);
    return fresh;
  }

  /** Ids of every account the state holds (written or read), ascending. */
  accountIds(): number[] {
    return [...this.accounts.keys()].sort((a, b) => a - b);
  }

  /** Ids of every registered market, ascending. */
  marketIds(): number[] {
    return [...this.markets.keys()].sort((a, b) => a - b);
  }

  hasKey(id: number): boolean {
    const a = this.accounts.get(id);
    return a !== undefined && (a.pubKey[0] !== 0n || a.pubKey[1] !== 0n);
  }

  market(id: number): Market | undefined {
    return this.markets.get(id);
  }

  /** The account's balance of `tokenId` (token 0, the quote token, is the leaf's own field). */
  balance(accountId: number, tokenId: number): bigint {
    const a = this.account(accountId);
    return tokenId === QUOTE_TOKEN_ID ? a.quote : a.balances.leaf(tokenId);
  }

  /** The account's non-zero balances as [tokenId, amount], ascending by token. */
  balances(accountId: number): [number, bigint][] {
    const a = this.account(accountId);
    return [...(a.quote !== 0n ? ([[QUOTE_TOKEN_ID, a.quote]] as [number, bigint][]) : []), ...a.balances.leaves()];
  }

  orderSlotIndex(orderId: bigint): number {
    return Number(orderId % BigInt(4 ** this.params.orderLevels));
  }

  /** The fill state of order `orderId` as the circuit reads it (a newer id in the slot wins). */
  orderSlot(accountId: number, orderId: bigint): OrderSlot {
    return decodeOrderSlot(this.account(accountId).orders.leaf(this.orderSlotIndex(orderId)));
  }

  accountLeaf(id: number): bigint {
    const a = this.account(id);
    return accountLeafHash({ pubKey: a.pubKey, nonce: a.nonce, quote: a.quote, balancesRoot: a.balances.root, ordersRoot: a.orders.root, derivLeaf: accountDerivLeaf(a) });
  }

  // ---- journaled writes

  /**
   * Starts a transaction on the state, on top of those already open: `rollback` undoes every write made
   * since it began, those of transactions begun after it included (they are closed with it); `commit`
   * keeps its writes. Committing a transaction with an older one still open hands its writes to that one
   * (an outer rollback still undoes them); committing the oldest open one makes its writes final and
   * frees their undo entries, even while newer ones stay open: the batch pipeline keeps one transaction
   * per batch in flight and commits them oldest first as the chain takes them. A transaction closed
   * (by itself or by an older one's rollback) throws when it is used again.
   */
  begin(): StateTransaction {
    const journal = (this.journal ??= []);
    const frame = { start: journal.length };
    this.frames.push(frame);
    const open = (): number => {
      const i = this.frames.indexOf(frame);
      if (i < 0) throw new Error("state transaction already closed");
      return i;
    };
    const closeDown = (i: number) => {
      this.frames.length = i;
      if (i === 0) this.journal = null;
    };
    return {
      rollback: () => {
        closeDown(open());
        for (let k = journal.length - 1; k >= frame.start; k--) journal[k]();
        journal.length = frame.start;
      },
      commit: () => {
        const i = open();
        this.frames.splice(i, 1);
        if (this.frames.length === 0) return closeDown(0);
        if (i > 0) return; // its writes now belong to the transaction below it
        // the oldest: its writes are final; drop their undo entries and renumber the newer transactions
        const final = this.frames[0].start;
        journal.splice(0, final);
        for (const f of this.frames) f.start -= final;
      },
    };
  }

  /** How many transactions are open (begin). */
  get openTransactions(): number {
    return this.frames.length;
  }

  private record(undo: Undo): void {
    this.journal?.push(undo);
  }

  setBalance(accountId: number, tokenId: number, value: bigint): void {
    if (tokenId === QUOTE_TOKEN_ID) {
      const a = this.account(accountId);
      const old = a.quote;
      a.quote = value;
      this.record(() => {
        a.quote = old;
      });
      return;
    }
    const tree = this.account(accountId).balances;
    const old = tree.leaf(tokenId);
    tree.set(tokenId, value);
    this.record(() => tree.set(tokenId, old));
  }

  setOrderLeaf(accountId: number, slot: number, leaf: bigint): void {
    const tree = this.account(accountId).orders;
    const old = tree.leaf(slot);
    tree.set(slot, leaf);
    this.record(() => tree.set(slot, old));
  }

  setKeyAndNonce(accountId: number, pubKey: PublicKey, nonce: number): void {
    const a = this.account(accountId);
    const [oldKey, oldNonce] = [a.pubKey, a.nonce];
    a.pubKey = pubKey;
    a.nonce = nonce;
    this.record(() => {
      a.pubKey = oldKey;
      a.nonce = oldNonce;
    });
  }

  /** Rehashes an account's leaf into the account tree after its fields changed. */
  commitAccount(accountId: number): void {
    const old = this.accountTree.leaf(accountId);
    this.accountTree.set(accountId, this.accountLeaf(accountId));
    this.record(() => this.accountTree.set(accountId, old));
  }

  setMarket(id: number, m: Market): void {
    const old = this.markets.get(id);
    const oldLeaf = this.marketTree.leaf(id);
    this.markets.set(id, m);
    this.marketTree.set(id, marketLeaf(m));
    this.record(() => {
      if (old) this.markets.set(id, old);
      else this.markets.delete(id);
      this.marketTree.set(id, oldLeaf);
    });
  }

  /**
   * Replaces an account's collateral and positions (call commitAccount after). Their slots follow the canonical
   * layout (positionSlots.ts#layoutAfter) unless `layout` is given (a restored snapshot; a dishonest witness).
   * Throws when the positions do not fit the slots: the witness builder refuses that first (TOO_MANY_POSITIONS).
   */
  setDeriv(accountId: number, d: DerivAccount, layout?: PositionLayout): void {
    const a = this.account(accountId);
    const old = a.deriv;
    const oldLayout = a.positionSlots;
    const next = layout ?? layoutAfter(oldLayout, old, d);
    if (!next) throw new RangeError(`account ${accountId}: positions exceed its ${oldLayout.length} slots`);
    a.deriv = d;
    a.positionSlots = next;
    this.record(() => {
      a.deriv = old;
      a.positionSlots = oldLayout;
    });
  }

  /**
   * Writes instrument `id`. The state keeps a frozen copy: the tree hashes a leaf when it is written, so an instrument
   * changed in place afterwards would leave the root stale; a caller's later change of `inst` does not reach the state,
   * and a change of what `instruments` returns throws.
   */
  setInstrument(id: number, inst: InstrumentState): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.instrumentTable.length) throw new RangeError(`instrument ${id} out of range`);
    const old = this.instrumentTable[id];
    const kept = Object.freeze({ ...inst });
    this.instrumentTable[id] = kept;
    this.instrumentTree.set(id, instrumentLeaf(kept));
    this.record(() => {
      this.instrumentTable[id] = old;
      this.instrumentTree.set(id, instrumentLeaf(old));
    });
  }

  setGlobals(g: Globals): void {
    const old = this.globalState;
    this.globalState = g;
    this.record(() => {
      this.globalState = old;
    });
  }

  /** Moves the pooled quote (Globals.pooledQuote) by `delta`: quote into (+) or out of the collateral, the fund and the fee pool. */
  addPooledQuote(delta: bigint): void {
    if (delta !== 0n) this.setGlobals({ ...this.globalState, pooledQuote: this.globalState.pooledQuote + delta });
  }

  addFees(amount: bigint): void {
    const old = this.fees;
    this.fees += amount;
    this.record(() => {
      this.fees = old;
    });
  }
}
