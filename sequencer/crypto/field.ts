/** BN254 scalar field: the field of circuit signals, Poseidon and Baby Jubjub coordinates. */
export const FIELD_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
