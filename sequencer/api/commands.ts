/**
 * The state-changing requests of the API, shared by the HTTP routes and the WebSocket: the per-source rate limit's
 * charge for the request's body, before it is parsed (chargeBody: server.ts and stream.ts call it), shape checks
 * (schemas.ts), the rest of the request's per-source cost, then the Sequencer (every signed request through
 * OrderIntake, so signatures are verified in groups, in arrival order), which charges the per-account rate limit once the account's signature holds
 * (issue 11, finding 11: charged before the check, anyone could drain another account's allowance by
 * sending junk in its name). Signatures, order-id slots, nonces, matching and risk are the
 * Sequencer's and the engine's; this module only maps their outcomes to the API's codes, and answers a
 * request only once what it logged is durable (Sequencer.durable; OrderIntake does the same for orders):
 *   400 MALFORMED | UNSIGNED | <RequestRejected code>, 422 <engine RejectCode> (with `events`),
 *   429 RATE_LIMITED. A refused request changed nothing.
 */
import type { PublicKey } from "../crypto/babyjub.ts";
import type { EngineEvent, RejectedEvent } from "../matching/index.ts";
import type { Cancel, Order, Signed } from "../protocol/messages.ts";
import type { IntakeOutcome, Sequencer, VerifiedRequest } from "../service/sequencer.ts";
import { ApiError, intake, parse, rejectedError } from "./errors.ts";
import { RequestRejected } from "../service/requestRejected.ts";
import type { OrderIntake } from "./orderIntake.ts";
import { parseOrderRecords } from "../wire/orderFrames.ts";
import { sourceBucketKey, TokenBuckets, type RateLimit } from "./rateLimit.ts";
import type { OracleOutcome } from "../wire/responses.ts";
import { CancelBatchSchema, CancelSchema, OracleUpdateSchema, OrderBatchSchema, OrderSchema, TransferSchema, WithdrawalSchema } from "../wire/schemas.ts";

export type RateLimits = {
  /**
   * Signed requests per trading key (account), charged for each request once its signature holds
   * (a batch's items one by one: those beyond the bucket are answered 429). null: none.
   */
  perAccount?: RateLimit | null;
  /**
   * Requests per client address (all its connections together), charged before anything is checked: a request's body
   * before it is parsed (bodyCost), then what its command costs beyond that (a batch: its items). null: none.
   */
  perSource?: RateLimit | null;
};

export const DEFAULT_RATE_LIMITS: Required<RateLimits> = {
  perAccount: { perSecond: 1000, burst: 2000 },
  perSource: { perSecond: 5000, burst: 10000 },
};

/**
 * Bytes of a request body (an HTTP body, a WebSocket message) one token of its source's bucket pays for: reading
 * and parsing a body is charged before it is parsed (bodyCost), so malformed or oversized bodies are not parsed for
 * free (review of 2026-12-06, Low: the source was charged only once the body had parsed, and a malformed one never).
 */
export const BODY_BYTES_PER_TOKEN = 2048;

/** What a body of `bytes` costs of its source's bucket before it is parsed: a token per started BODY_BYTES_PER_TOKEN bytes, at least one. */
export function bodyCost(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / BODY_BYTES_PER_TOKEN));
}

/**
 * What one stream authentication attempt costs of its source's bucket: a signature check before any account is
 * known, so a source gets 1 / AUTH_SOURCE_COST of its request rate in attempts (50 a second by default).
 */
export const AUTH_SOURCE_COST = 100;

/**
 * Spends `cost` tokens of `source`'s bucket in `buckets` (its /64 for IPv6: sourceBucketKey), all or none, or throws
 * RATE_LIMITED (429) having spent none; null buckets: no limit. The API's source charge (CommandGateway.chargeSource),
 * and the web page server's relayed calls when it runs without the API (sequencer/web/server.ts).
 */
export function chargeSourceBucket(buckets: TokenBuckets<string> | null, source: string, cost: number): void {
  if (buckets && !buckets.take(sourceBucketKey(source), cost)) throw new ApiError(429, "RATE_LIMITED", `too many requests from ${source}`);
}

/** One item of a batch request: what the single request would have answered. */
export type ItemResult = { status: 200; events: EngineEvent[] } | ({ status: number } & Record<string, unknown>);

/** The engine's events, or a 422 when it refused the command. */
export function engineOutcome(events: EngineEvent[]): { events: EngineEvent[] } {
  const rejected = events.find((e): e is RejectedEvent => e.type === "rejected");
  if (rejected) throw new ApiError(422, rejected.code, `the matching engine refused the request: ${rejected.code}`, { events });
  return { events };
}

function itemResult(run: () => { events: EngineEvent[] }): ItemResult {
  try {
    return { status: 200, ...run() };
  } catch (e) {
    if (e instanceof ApiError) return { status: e.statusCode, ...e.body() };
    throw e;
  }
}

function outcomeEvents(o: IntakeOutcome): { events: EngineEvent[] } {
  if ("rejected" in o) throw rejectedError(o.rejected);
  return engineOutcome(o.events);
}

export class CommandGateway {
  readonly #sequencer: Sequencer;
  readonly #intake: OrderIntake;
  readonly #perAccount: TokenBuckets<number> | null;
  readonly #perSource: TokenBuckets<string> | null;

  constructor(sequencer: Sequencer, orderIntake: OrderIntake, limits: RateLimits = {}) {
    this.#sequencer = sequencer;
    this.#intake = orderIntake;
    const l = { ...DEFAULT_RATE_LIMITS, ...limits };
    this.#perAccount = l.perAccount ? new TokenBuckets(l.perAccount) : null;
    this.#perSource = l.perSource ? new TokenBuckets(l.perSource) : null;
  }

  /**
   * Spends `cost` tokens of the source's bucket (its /64 for IPv6: sourceBucketKey) before any signature is checked, or
   * throws RATE_LIMITED (429). `prepaid`: what the request already paid for its body (chargeBody), taken off `cost`.
   */
  chargeSource(source: string, cost: number, prepaid = 0): void {
    if (cost > prepaid) chargeSourceBucket(this.#perSource, source, cost - prepaid);
  }

  /**
   * Charges a request's body of `bytes` (bodyCost) before it is parsed, less the `prepaid` tokens the request already
   * paid (an HTTP request pays one when it arrives, before its body is read); returns what the request has paid in all,
   * which the command it carries then counts against its own cost (`prepaid` of chargeSource and the commands). A
   * request refused afterwards (malformed, rate-limited, refused by the sequencer) keeps it spent.
   */
  chargeBody(source: string, bytes: number, prepaid = 0): number {
    const cost = bodyCost(bytes);
    this.chargeSource(source, cost, prepaid);
    return Math.max(cost, prepaid);
  }

  /**
   * Checks a stream's authentication (the connection's challenge signed by the account's trading key) with the
   * sequencer's configured verifier. The check is charged AUTH_SOURCE_COST tokens of the source's bucket first,
   * as no signature holds yet that an account's bucket could be charged for (RATE_LIMITED, 429, beyond it).
   */
  verifyStreamAuth(source: string, message: bigint, signature: Signed<object>["signature"], publicKey: PublicKey, prepaid = 0): boolean {
    this.chargeSource(source, AUTH_SOURCE_COST, prepaid);
    return this.#sequencer.signedBy(message, signature, publicKey);
  }

  /**
   * Spends one token of the account's bucket, or throws RequestRejected RATE_LIMITED (429). Called only
   * once a request's signature under the account's key holds (the Sequencer's `admit` callbacks).
   */
  chargeAccount = (accountId: number): void => {
    if (this.#perAccount && !this.#perAccount.take(accountId)) {
      throw new RequestRejected("RATE_LIMITED", `too many signed requests for account ${accountId}`);
    }
  };

  #admitOrder = (order: Signed<Order>): void => this.chargeAccount(order.accountId);

  // Each command below takes `prepaid`, the tokens its request paid for its body before it was parsed (chargeBody), and
  // charges the source what its own cost (1, or a batch's items) is beyond that.

  async placeOrder(body: unknown, source: string, prepaid = 0): Promise<{ events: EngineEvent[] }> {
    const order = parse(OrderSchema, body, "order");
    this.chargeSource(source, 1, prepaid);
    const [outcome] = await this.#intake.submit([order], this.#admitOrder);
    return outcomeEvents(outcome);
  }

  /** Up to MAX_BATCH_ITEMS orders, validated whole, then placed in order; one result per order. */
  placeOrderBatch(body: unknown, source: string, prepaid = 0): Promise<{ results: ItemResult[] }> {
    return this.#placeBatch(parse(OrderBatchSchema, body, "order batch").orders, source, prepaid);
  }

  /** The same from binary order records (orderFrames.ts): the compact route for high order rates. */
  placeOrderRecords(records: Uint8Array, source: string, prepaid = 0): Promise<{ results: ItemResult[] }> {
    return this.#placeBatch(parseOrderRecords(records), source, prepaid);
  }

  async #placeBatch(orders: Signed<Order>[], source: string, prepaid: number): Promise<{ results: ItemResult[] }> {
    this.chargeSource(source, orders.length, prepaid);
    const outcomes = await this.#intake.submit(orders, this.#admitOrder);
    return { results: outcomes.map((o) => itemResult(() => outcomeEvents(o))) };
  }

  /**
   * A signed cancel: its signature checked with the group of requests it arrived with (OrderIntake.command,
   * Sequencer.verifyGroup: off the main thread for a large group), then run in its arrival turn, after the orders
   * received before it.
   */
  async cancel(body: unknown, source: string, prepaid = 0): Promise<{ events: EngineEvent[] }> {
    const cancel = parse(CancelSchema, body, "cancel");
    this.chargeSource(source, 1, prepaid);
    return this.#intake.command([{ cancel }], ([verified]) => this.#cancelOne(cancel, verified!));
  }

  /**
   * Up to MAX_BATCH_ITEMS signed cancels, validated whole, their signatures checked together with the group they
   * arrived with, as a single cancel's, then run in order in their arrival turn; one result per cancel. This is
   * cancel-all: the circuit proves every cancel with its own signature over that order id. (Until 2026-12-06 each was
   * checked on the main thread, one verifier call each, for a token of the source's bucket: a source could keep the
   * thread busy with junk-signed cancels in other accounts' names.)
   */
  async cancelBatch(body: unknown, source: string, prepaid = 0): Promise<{ results: ItemResult[] }> {
    const { cancels } = parse(CancelBatchSchema, body, "cancel batch");
    this.chargeSource(source, cancels.length, prepaid);
    return this.#intake.command(
      cancels.map((cancel) => ({ cancel })),
      (verified) => ({ results: cancels.map((c, i) => itemResult(() => this.#cancelOne(c, verified[i]!))) }),
    );
  }

  /** `answer` once what the request logged is durable: no request is acknowledged before that. */
  async #whenDurable<T>(answer: T): Promise<T> {
    await this.#sequencer.durable();
    return answer;
  }

  #cancelOne(cancel: Signed<Cancel>, verified: VerifiedRequest): { events: EngineEvent[] } {
    return engineOutcome(intake(() => this.#sequencer.cancelVerified(cancel, verified, () => this.chargeAccount(cancel.accountId))));
  }

  async withdraw(body: unknown, source: string, prepaid = 0): Promise<Record<string, unknown>> {
    const w = parse(WithdrawalSchema, body, "withdrawal");
    this.chargeSource(source, 1, prepaid);
    return this.#intake.command([{ withdrawal: w }], ([verified]) => {
      intake(() => this.#sequencer.requestWithdrawal(w, () => this.chargeAccount(w.accountId), verified));
      return { status: "accepted", accountId: w.accountId, tokenId: w.tokenId, amount: w.amount, nonce: w.nonce };
    });
  }

  /**
   * A signed oracle update from the oracle's feeder: its key must be the custodian's oracle key (that is
   * its authentication), then the circuit's oracle rules. Answers what it caused.
   */
  async oracleUpdate(body: unknown, source: string, prepaid = 0): Promise<OracleOutcome> {
    const u = parse(OracleUpdateSchema(this.#sequencer.params), body, "oracle update");
    this.chargeSource(source, 1, prepaid);
    try {
      return await this.#whenDurable(await this.#sequencer.acceptOracleUpdate(u));
    } catch (e) {
      if (e instanceof RequestRejected) throw rejectedError(e);
      throw e;
    }
  }

  async transfer(body: unknown, source: string, prepaid = 0): Promise<Record<string, unknown>> {
    const t = parse(TransferSchema, body, "transfer");
    this.chargeSource(source, 1, prepaid);
    return this.#intake.command([{ transfer: t }], ([verified]) => {
      intake(() => this.#sequencer.requestTransfer(t, () => this.chargeAccount(t.accountId), verified));
      return { status: "accepted", accountId: t.accountId, toCollateral: t.toCollateral, amount: t.amount, nonce: t.nonce };
    });
  }
}
