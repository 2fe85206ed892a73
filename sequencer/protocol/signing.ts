/** Signing of orders, withdrawals, cancels, collateral transfers and stream authentication with a trading key (what a trader's client does). */
import { signMessage } from "../crypto/babyjub.ts";
import {
  cancelMessage, orderMessage, streamAuthMessage, transferMessage, withdrawalMessage, type Cancel, type Order, type Signed, type StreamAuth,
  type Transfer, type Withdrawal,
} from "./messages.ts";

export function signOrder(tradingKey: Uint8Array, order: Order): Signed<Order> {
  return { ...order, signature: signMessage(tradingKey, orderMessage(order)) };
}

export function signWithdrawal(tradingKey: Uint8Array, w: Withdrawal): Signed<Withdrawal> {
  return { ...w, signature: signMessage(tradingKey, withdrawalMessage(w)) };
}

export function signCancel(tradingKey: Uint8Array, c: Cancel): Signed<Cancel> {
  return { ...c, signature: signMessage(tradingKey, cancelMessage(c)) };
}

export function signStreamAuth(tradingKey: Uint8Array, a: StreamAuth): Signed<StreamAuth> {
  return { ...a, signature: signMessage(tradingKey, streamAuthMessage(a)) };
}

export function signTransfer(tradingKey: Uint8Array, t: Transfer): Signed<Transfer> {
  return { ...t, signature: signMessage(tradingKey, transferMessage(t)) };
}
