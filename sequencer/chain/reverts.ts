/** Reading a contract's revert out of viem's errors. */
import { BaseError, ContractFunctionRevertedError } from "viem";

/**
 * The contract revert inside `e` (a simulation's or a call's, whose `data` names the custom error when the ABI has
 * it), or null when `e` is some other failure (the node, the network, a transaction that was never sent).
 */
export function contractRevert(e: unknown): ContractFunctionRevertedError | null {
  if (!(e instanceof BaseError)) return null;
  const revert = e.walk((err) => err instanceof ContractFunctionRevertedError);
  return revert instanceof ContractFunctionRevertedError ? revert : null;
}
