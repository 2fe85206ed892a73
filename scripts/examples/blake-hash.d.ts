// Type of the one call the worked example makes into blake-hash (circomlibjs's BLAKE-512, no types of its own).
declare module "blake-hash" {
  export default function createBlakeHash(algorithm: "blake512"): { update(data: Buffer): { digest(): Buffer } };
}
