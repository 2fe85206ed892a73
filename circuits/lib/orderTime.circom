pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";
include "../generated/protocol.circom";
include "./compare.circom";

/// Proves, when enabled (0 or 1), the time rule of a filled order `o` at a batch stamped `timestamp` (SPEC.md,
/// "Order time"; TypeScript: messages.ts orderTimeFault):
/// - the order has not expired: `timestamp <= expiry`;
/// - an order that never rests (a MARKET order, type 1, or time in force IOC 1 or FOK 2) and carries no trigger
///   (trigger type 0) fills only in a batch stamped at most IMMEDIATE_ORDER_TTL before its expiry:
///   `expiry <= timestamp + IMMEDIATE_ORDER_TTL`. The engine cancels what such an order leaves unfilled (an IOC
///   remainder, a killed FOK) without a proven cancel, so this is what bounds, in the proof, how long after its
///   arrival the operator could still fill it (RULES.md G12). Intake refuses an expiry further than that from the
///   order's arrival, and a batch is stamped after the arrival of every order it fills, so an accepted order stays
///   provable. A trigger order is exempt: it waits for its mark as long as its expiry allows (a stop that fires as
///   IOC or MARKET keeps its remainder fillable until that expiry: RULES.md G12).
/// The caller range-checks the fields (OrderWords: the type a bit, the time in force two bits, the expiry 32 bits,
/// the trigger type two bits) and the timestamp (32 bits).
template OrderTime() {
    signal input enabled;
    signal input timestamp;
    signal input o[ORDER_FIELDS()];  // inspect: the whole order is passed; only its type, time in force, trigger type and expiry are read
    component notExpired = RequireLessEq(BITS_TIME());
    notExpired.enabled <== enabled;
    notExpired.a <== timestamp;
    notExpired.b <== o[O_EXPIRY()];
    // tif * (3 - tif) is 2 for IOC (1) and FOK (2), 0 for GTC (0) and POST_ONLY (3)
    signal iocOrFokTwice <== o[O_TIF()] * (3 - o[O_TIF()]);
    // never rests: MARKET, or IOC / FOK (type OR iocOrFok, both 0 or 1)
    signal neverRests <== o[O_TYPE()] + (1 - o[O_TYPE()]) * iocOrFokTwice / 2;
    component noTrigger = IsZero();
    noTrigger.in <== o[O_TRIGTYPE()];
    signal immediate <== enabled * neverRests;
    signal bounded <== immediate * noTrigger.out;
    // with timestamp <= expiry (above), timestamp + TTL - expiry is in [0, TTL] exactly when the rule holds
    component withinTtl = RequireGreaterEq(IMMEDIATE_ORDER_TTL_BITS());
    withinTtl.enabled <== bounded;
    withinTtl.a <== timestamp + IMMEDIATE_ORDER_TTL();
    withinTtl.b <== o[O_EXPIRY()];
}
