import { verifyChain } from "../../verifier/chainVerifier.ts";
console.log(verifyChain);
