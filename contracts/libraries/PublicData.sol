// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title PublicData
/// @notice Encoding of a batch's public data and of the request records, mirroring
/// `sequencer/protocol/publicData.ts` (the single source of truth; tests check this library against it).
/// @dev `publicData = header ++ record[0] ++ ... ++ record[slots-1]`, all integers big-endian.
/// Header: oldRoot(32) newRoot(32) batchNumber(4) timestamp(4). Record: type(1) then the type's fields, zero-padded
/// to 37 bytes (see `RECORD_LAYOUT` in publicData.ts).
library PublicData {
    uint256 internal constant HEADER_BYTES = 72;
    uint256 internal constant RECORD_BYTES = 37;
    /// @dev The public input is sha256(publicData) with its 3 low bits dropped, so it is below the field modulus.
    uint256 internal constant PUBLIC_INPUT_SHIFT = 3;

    uint8 internal constant TX_NOOP = 0;
    uint8 internal constant TX_REGISTER_KEY = 1;
    uint8 internal constant TX_DEPOSIT = 2;
    uint8 internal constant TX_REGISTER_MARKET = 3;
    uint8 internal constant TX_TRADE = 4;
    uint8 internal constant TX_WITHDRAW = 5;
    uint8 internal constant TX_CANCEL = 6;

    struct Header {
        uint256 oldRoot;
        uint256 newRoot;
        uint32 batchNumber;
        uint32 timestamp;
    }

    /// @notice Total public-data bytes of a batch with `slots` slots.
    function lengthFor(uint256 slots) internal pure returns (uint256) {
        return HEADER_BYTES + slots * RECORD_BYTES;
    }

    /// @notice Parses the 72-byte header. The caller has checked `data.length >= HEADER_BYTES`.
    function decodeHeader(bytes calldata data) internal pure returns (Header memory h) {
        h.oldRoot = uint256(bytes32(data[0:32]));
        h.newRoot = uint256(bytes32(data[32:64]));
        h.batchNumber = uint32(bytes4(data[64:68]));
        h.timestamp = uint32(bytes4(data[68:72]));
    }

    /// @notice The 37 bytes of slot `i`. The caller has checked the length.
    function recordAt(bytes calldata data, uint256 i) internal pure returns (bytes calldata) {
        uint256 start = HEADER_BYTES + i * RECORD_BYTES;
        return data[start:start + RECORD_BYTES];
    }

    /// @notice Whether a record of this type is an on-chain request (queued, consumed in order).
    function isRequest(uint8 txType) internal pure returns (bool) {
        return txType == TX_REGISTER_KEY || txType == TX_DEPOSIT || txType == TX_REGISTER_MARKET;
    }

    /// @notice Fields of a WITHDRAW record: accountId(4) tokenId(2) amount(12) after the type byte.
    function decodeWithdraw(bytes calldata record)
        internal
        pure
        returns (uint32 accountId, uint16 tokenId, uint96 amount)
    {
        accountId = uint32(bytes4(record[1:5]));
        tokenId = uint16(bytes2(record[5:7]));
        amount = uint96(bytes12(record[7:19]));
    }

    /// @notice REGISTER_KEY record: accountId(4) pubKey(32), pubKey compressed as in {BabyJubjub-compress}.
    function encodeRegisterKey(uint32 accountId, uint256 compressedKey) internal pure returns (bytes memory) {
        return abi.encodePacked(TX_REGISTER_KEY, accountId, compressedKey);
    }

    /// @notice DEPOSIT record: accountId(4) tokenId(2) amount(12), 18 bytes of padding.
    function encodeDeposit(uint32 accountId, uint16 tokenId, uint96 amount) internal pure returns (bytes memory) {
        return abi.encodePacked(TX_DEPOSIT, accountId, tokenId, amount, bytes18(0));
    }

    /// @notice REGISTER_MARKET record: marketId(2) baseTokenId(2) sizeUnit(8) priceUnit(8), 16 bytes of padding.
    function encodeRegisterMarket(uint16 marketId, uint16 baseTokenId, uint64 sizeUnit, uint64 priceUnit)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(TX_REGISTER_MARKET, marketId, baseTokenId, sizeUnit, priceUnit, bytes16(0));
    }

    /// @notice The circuit's single public input, `uint256(sha256(data)) >> 3`, and the full digest.
    function publicInput(bytes calldata data) internal pure returns (uint256 input, bytes32 digest) {
        digest = sha256(data);
        input = uint256(digest) >> PUBLIC_INPUT_SHIFT;
    }
}
