/** The browser's face of fpga-prover/native/index.ts: no native addon in a page (Poseidon runs in circomlibjs). */
export const isNativeAvailable = (): boolean => false;
export const nativeUnavailableReason = (): string => "no native addon in a browser";
export function nativeAddon(): never {
  throw new Error("the native addon is not available in a browser");
}
