// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BabyJubjub
/// @notice Curve membership and point compression for Baby Jubjub public keys (circomlib's twisted Edwards
/// curve over the BN254 scalar field: a*x^2 + y^2 = 1 + d*x^2*y^2).
library BabyJubjub {
    /// @dev BN254 scalar field modulus; Baby Jubjub coordinates live in this field.
    uint256 internal constant P = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant A = 168700;
    uint256 internal constant D = 168696;
    /// @dev (P - 1) / 2: a coordinate above it is "negative" (its sign bit is 1).
    uint256 internal constant HALF_P = (P - 1) / 2;

    /// @notice Whether (x, y) is acceptable as a trading key: canonical coordinates (< P), on the curve, and not
    /// one of the points with x = 0 (the identity (0, 1) and the order-2 point (0, -1)), or with y = 0 (the
    /// two order-4 points), which would make every signature verify.
    /// @dev Points of order 8 and points outside the prime-order subgroup are not rejected: that needs a
    /// 251-bit scalar multiplication. A key is derived by its owner's wallet, so a bad key only hurts its owner.
    function isValidPublicKey(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= P || y >= P || x == 0 || y == 0) return false;
        uint256 xx = mulmod(x, x, P);
        uint256 yy = mulmod(y, y, P);
        uint256 lhs = addmod(mulmod(A, xx, P), yy, P);
        uint256 rhs = addmod(1, mulmod(mulmod(D, xx, P), yy, P), P);
        return lhs == rhs;
    }

    /// @notice The protocol's compressed key: `y | signX << 255`, with `signX = 1` iff `x > (P - 1) / 2`.
    /// @dev Matches the REGISTER_KEY record's `pubKey` field (circuits/SPEC.md). Assumes x, y < P.
    function compress(uint256 x, uint256 y) internal pure returns (uint256) {
        return x > HALF_P ? y | (uint256(1) << 255) : y;
    }
}
