// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProtocolConstants} from "../generated/ProtocolConstants.sol";

/// @title PublicData
/// @notice Encoding of a batch's public data and of the request records, mirroring
/// `sequencer/protocol/publicData.ts` (the single source of truth; tests check this library against it). Types
/// and sizes come from the generated {ProtocolConstants}.
/// @dev `publicData = header ++ oracle section ++ record[0] ++ ... ++ record[slots + derivSlots - 1]` (the spot
/// slots' records, then the derivatives slots'), all integers big-endian.
/// Header: oldRoot(32) newRoot(32) batchNumber(4) timestamp(4). Oracle section (circuits/DERIVATIVES.md):
/// oracleUsed(1) oracleKey(32) oracleTime(4) fundingEpoch(4), then price(7) per underlying, vol slice(11) per option
/// instrument id, rate(3) per instrument, then the named expiry settleExpiry(4) and settlePrice(7) per underlying,
/// then marksKey(32) (0, or the marks registry's key of the marking the batch read its option marks from), then
/// freeInstruments ({freeMaskBytes}: ceil(instruments / 8) bytes), the mask of the instrument ids free after the
/// batch ({decodeFreeInstruments}). Record: type(1) then the type's fields, zero-padded to 36 bytes (see
/// `RECORD_LAYOUT` in publicData.ts).
library PublicData {
    /// @notice Parameters of a derivative instrument, exactly the fields of its REGISTER_INSTRUMENT record after the
    /// instrument id (and the static part of the instrument leaf, circuits/DERIVATIVES.md).
    struct Instrument {
        uint8 kind;
        uint8 underlying;
        uint64 lotSizeE6;
        uint64 tickValue;
        uint32 imPpm;
        uint32 mmPpm;
        uint64 strike;
        uint32 expiry;
        uint32 fundingCapPpm;
    }

    struct Header {
        uint256 oldRoot;
        uint256 newRoot;
        uint32 batchNumber;
        uint32 timestamp;
    }

    /// @notice Bytes of the oracle section: a price per underlying, a vol slice per (underlying, expiry) of the oracle's table, a rate per
    /// instrument, after the fixed fields; then the named expiry and a settlement price per underlying; then
    /// marksKey; then the mask of free instrument ids ({freeMaskBytes}).
    function oracleSectionBytes(uint256 underlyings, uint256 volSlices, uint256 instruments)
        internal
        pure
        returns (uint256)
    {
        return ProtocolConstants.ORACLE_FIXED_BYTES + underlyings * ProtocolConstants.ORACLE_PRICE_BYTES
            + volSlices * ProtocolConstants.ORACLE_SLICE_BYTES + instruments * ProtocolConstants.ORACLE_RATE_BYTES
            + ProtocolConstants.ORACLE_SETTLE_EXPIRY_BYTES + underlyings * ProtocolConstants.ORACLE_PRICE_BYTES
            + ProtocolConstants.ORACLE_MARKS_KEY_BYTES + freeMaskBytes(instruments);
    }

    /// @notice Bytes of the oracle section's closing `freeInstruments` mask: `ceil(instruments / 8)`, 0 without
    /// instruments (`freeMaskBytes` of sequencer/protocol/constants.ts).
    function freeMaskBytes(uint256 instruments) internal pure returns (uint256) {
        // (instruments + 7) / 8 without its overflow and zero-divisor checks: instruments is a circuit size.
        unchecked {
            return (instruments + 7) >> 3;
        }
    }

    /// @notice Total public-data bytes of a batch: header, oracle section, `slots + derivSlots` records.
    function lengthFor(
        uint256 slots,
        uint256 derivSlots,
        uint256 underlyings,
        uint256 volSlices,
        uint256 instruments
    ) internal pure returns (uint256) {
        return ProtocolConstants.HEADER_BYTES + oracleSectionBytes(underlyings, volSlices, instruments)
            + (slots + derivSlots) * ProtocolConstants.RECORD_BYTES;
    }

    /// @notice Parses the 72-byte header. The caller has checked `data.length >= HEADER_BYTES`.
    function decodeHeader(bytes calldata data) internal pure returns (Header memory h) {
        h.oldRoot = uint256(bytes32(data[0:32]));
        h.newRoot = uint256(bytes32(data[32:64]));
        h.batchNumber = uint32(bytes4(data[64:68]));
        h.timestamp = uint32(bytes4(data[68:72]));
    }

    /// @notice The oracle section's `oracleUsed` byte and `oracleKey` (compressed, as {BabyJubjub-compress}). The
    /// caller has checked the length.
    function decodeOracleKey(bytes calldata data) internal pure returns (uint8 used, uint256 key) {
        used = uint8(data[ProtocolConstants.HEADER_BYTES]);
        key = uint256(bytes32(data[ProtocolConstants.HEADER_BYTES + 1:ProtocolConstants.HEADER_BYTES + 33]));
    }

    /// @notice The oracle section's `freeInstruments`: a big-endian mask whose bit i (value 2^i) is set when
    /// instrument id i is free after the batch (never registered, or settled with no open position). The circuit
    /// proves it, bits at or above `instruments` included (0). The caller has checked the length.
    /// @dev For `instruments <= 256` (a wider mask does not fit the result). 0 without instruments.
    /// @param data A batch's public data.
    /// @param underlyings The batch circuit's underlyings (the oracle section's shape, as {oracleSectionBytes}).
    /// @param volSlices Its vol slices (the oracle's vol table).
    /// @param instruments Its instrument ids.
    /// @return mask The mask, below `2^instruments` in any proven batch.
    function decodeFreeInstruments(
        bytes calldata data,
        uint256 underlyings,
        uint256 volSlices,
        uint256 instruments
    ) internal pure returns (uint256 mask) {
        uint256 sectionEnd =
            ProtocolConstants.HEADER_BYTES + oracleSectionBytes(underlyings, volSlices, instruments);
        return freeInstrumentsAt(data, sectionEnd, instruments);
    }

    /// @notice {decodeFreeInstruments} given where the oracle section ends, `sectionEnd` (the offset of the first
    /// record): the mask is the section's last {freeMaskBytes} bytes. One calldata load. The caller has checked the
    /// length.
    function freeInstrumentsAt(bytes calldata data, uint256 sectionEnd, uint256 instruments)
        internal
        pure
        returns (uint256 mask)
    {
        uint256 bytes_ = freeMaskBytes(instruments);
        // The 32 bytes from the mask's first, shifted down to its big-endian value (a shift by 256, for no bytes,
        // gives 0).
        assembly ("memory-safe") {
            mask := shr(sub(256, shl(3, bytes_)), calldataload(add(data.offset, sub(sectionEnd, bytes_))))
        }
    }

    /// @notice The oracle section's `marksKey`: 0 when the batch read no option mark, else
    /// `Poseidon(messageHash, marksRoot)` of the marking its oracle step read the marks from, which the custodian
    /// requires its marks registry to have recorded. The caller has checked the length.
    /// @param data A batch's public data.
    /// @param underlyings The batch circuit's underlyings (the oracle section's shape, as {oracleSectionBytes}).
    /// @param volSlices Its vol slices (the oracle's vol table).
    /// @param instruments Its instrument ids.
    /// @return key The 32-byte key, big-endian.
    function decodeMarksKey(bytes calldata data, uint256 underlyings, uint256 volSlices, uint256 instruments)
        internal
        pure
        returns (uint256 key)
    {
        uint256 sectionEnd =
            ProtocolConstants.HEADER_BYTES + oracleSectionBytes(underlyings, volSlices, instruments);
        return marksKeyAt(data, marksKeyOffset(sectionEnd, instruments));
    }

    /// @notice Where {decodeMarksKey} reads, given where the oracle section ends, `sectionEnd` (the offset of the
    /// first record): the ORACLE_MARKS_KEY_BYTES (32) bytes before the closing {freeMaskBytes}.
    /// @param sectionEnd The end of an oracle section of `instruments` instrument ids (so at least its key and mask
    /// past the header).
    function marksKeyOffset(uint256 sectionEnd, uint256 instruments) internal pure returns (uint256) {
        return sectionEnd - freeMaskBytes(instruments) - ProtocolConstants.ORACLE_MARKS_KEY_BYTES;
    }

    /// @notice {decodeMarksKey} given its offset `at` ({marksKeyOffset}): one calldata load. The caller has checked
    /// the length.
    function marksKeyAt(bytes calldata data, uint256 at) internal pure returns (uint256 key) {
        assembly ("memory-safe") {
            key := calldataload(add(data.offset, at))
        }
    }

    /// @notice The 36 bytes of slot `i` (spot slots first, then derivatives slots), the records starting at byte
    /// `recordsOffset` (header plus oracle section). The caller has checked the length.
    function recordAt(bytes calldata data, uint256 recordsOffset, uint256 i) internal pure returns (bytes calldata) {
        uint256 start = recordsOffset + i * ProtocolConstants.RECORD_BYTES;
        return data[start:start + ProtocolConstants.RECORD_BYTES];
    }

    /// @notice Byte offset of `honoured` in a forced request's record, type(1) accountId(4) tokenId(2) amount(12):
    /// FORCED_OUTCOME_OFFSET of sequencer/protocol/constants.ts (tested equal).
    uint256 internal constant FORCED_OUTCOME_OFFSET = 19;

    /// @notice The types an outcome request has (FORCED_REQUEST_TYPES of constants.ts), as a mask: bit t set for type
    /// t. A forced withdrawal (12, 13), a treasury withdrawal (14, 15) or a forced close (18).
    uint256 internal constant FORCED_TYPES = (uint256(1) << ProtocolConstants.TX_FORCED_WITHDRAW)
        | (uint256(1) << ProtocolConstants.TX_FORCED_COLLATERAL_WITHDRAW) | (uint256(1) << ProtocolConstants.TX_FEE_WITHDRAW)
        | (uint256(1) << ProtocolConstants.TX_INSURANCE_WITHDRAW) | (uint256(1) << ProtocolConstants.TX_FORCED_CLOSE);

    /// @notice The types of on-chain requests (queued, consumed in order), as a mask: key registrations, deposits, market
    /// and instrument registrations, and the outcome requests ({FORCED_TYPES}).
    uint256 internal constant REQUEST_TYPES = (uint256(1) << ProtocolConstants.TX_REGISTER_KEY)
        | (uint256(1) << ProtocolConstants.TX_DEPOSIT) | (uint256(1) << ProtocolConstants.TX_REGISTER_MARKET)
        | (uint256(1) << ProtocolConstants.TX_REGISTER_INSTRUMENT) | FORCED_TYPES;

    /// @notice The types a spot slot may hold, as a mask: NOOP, the spot types 1..6, FORCED_WITHDRAW, FEE_WITHDRAW and
    /// OPERATOR_CANCEL.
    uint256 internal constant SPOT_TYPES = ((uint256(1) << (ProtocolConstants.TX_CANCEL + 1)) - 1)
        | (uint256(1) << ProtocolConstants.TX_FORCED_WITHDRAW) | (uint256(1) << ProtocolConstants.TX_FEE_WITHDRAW)
        | (uint256(1) << ProtocolConstants.TX_OPERATOR_CANCEL);

    /// @notice The types a derivatives slot may hold, as a mask: NOOP, the derivatives types 7..11,
    /// FORCED_COLLATERAL_WITHDRAW, INSURANCE_WITHDRAW, DELEVERAGE and FORCED_CLOSE.
    uint256 internal constant DERIVATIVES_TYPES = (uint256(1) << ProtocolConstants.TX_NOOP)
        | (uint256(1) << ProtocolConstants.TX_DERIV_TRADE) | (uint256(1) << ProtocolConstants.TX_LIQUIDATE)
        | (uint256(1) << ProtocolConstants.TX_SETTLE) | (uint256(1) << ProtocolConstants.TX_TRANSFER)
        | (uint256(1) << ProtocolConstants.TX_REGISTER_INSTRUMENT) | (uint256(1) << ProtocolConstants.TX_FORCED_COLLATERAL_WITHDRAW)
        | (uint256(1) << ProtocolConstants.TX_INSURANCE_WITHDRAW) | (uint256(1) << ProtocolConstants.TX_DELEVERAGE)
        | (uint256(1) << ProtocolConstants.TX_FORCED_CLOSE);

    /// @notice Whether `txType` is in `mask` (bit t for type t; a type byte is below 256, so every type has a bit).
    function inTypes(uint256 mask, uint256 txType) internal pure returns (bool) {
        return (mask >> txType) & 1 != 0;
    }

    /// @notice Whether a record of this type is an on-chain request (queued, consumed in order): {REQUEST_TYPES}.
    function isRequest(uint8 txType) internal pure returns (bool) {
        return inTypes(REQUEST_TYPES, txType);
    }

    /// @notice Whether a record of this type is an outcome request ({FORCED_TYPES}). Its byte FORCED_OUTCOME_OFFSET is
    /// the proven outcome, 0 in the queue.
    function isForced(uint8 txType) internal pure returns (bool) {
        return inTypes(FORCED_TYPES, txType);
    }

    /// @notice Whether a record of this type is a treasury withdrawal (TREASURY_REQUEST_TYPES of constants.ts):
    /// FEE_WITHDRAW or INSURANCE_WITHDRAW, accountId and tokenId 0.
    function isTreasury(uint8 txType) internal pure returns (bool) {
        return txType == ProtocolConstants.TX_FEE_WITHDRAW || txType == ProtocolConstants.TX_INSURANCE_WITHDRAW;
    }

    /// @notice Whether a spot slot may hold a record of this type ({SPOT_TYPES}).
    function isSpotType(uint8 txType) internal pure returns (bool) {
        return inTypes(SPOT_TYPES, txType);
    }

    /// @notice Whether a derivatives slot may hold a record of this type ({DERIVATIVES_TYPES}).
    function isDerivativesType(uint8 txType) internal pure returns (bool) {
        return inTypes(DERIVATIVES_TYPES, txType);
    }

    /// @notice The request chain after `record`: `keccak256(chain ++ queuedForm(record))`, where the queued form
    /// clears byte FORCED_OUTCOME_OFFSET of an outcome request ({isForced}: the outcome the circuit proved; 0 in the queue) and
    /// leaves any other record unchanged (`nextRequestChain` of publicData.ts). Hashes in scratch memory past the
    /// free memory pointer, allocating nothing. `record` is RECORD_BYTES long (from {recordAt}).
    function chainNext(bytes32 chain, bytes calldata record) internal pure returns (bytes32 next) {
        bool forced = isForced(uint8(record[0]));
        uint256 recordBytes = ProtocolConstants.RECORD_BYTES;
        uint256 outcomeAt = 32 + FORCED_OUTCOME_OFFSET;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, chain)
            calldatacopy(add(p, 32), record.offset, recordBytes)
            if forced { mstore8(add(p, outcomeAt), 0) }
            next := keccak256(p, add(32, recordBytes))
        }
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

    /// @notice REGISTER_KEY record: accountId(3) pubKey(32), pubKey compressed as in {BabyJubjub-compress}. The
    /// caller's account id is below its account tree's capacity, at most 4^MAX_ACCOUNT_LEVELS = 2^24 (the
    /// custodian's constructor), so it fits.
    function encodeRegisterKey(uint32 accountId, uint256 compressedKey) internal pure returns (bytes memory) {
        return abi.encodePacked(ProtocolConstants.TX_REGISTER_KEY, uint24(accountId), compressedKey);
    }

    /// @notice DEPOSIT record: accountId(4) tokenId(2) amount(12), 17 bytes of padding.
    function encodeDeposit(uint32 accountId, uint16 tokenId, uint96 amount) internal pure returns (bytes memory) {
        return encodeAmountRecord(ProtocolConstants.TX_DEPOSIT, accountId, tokenId, amount);
    }

    /// @notice A record `txType` accountId(4) tokenId(2) amount(12) followed by 17 zero bytes: a DEPOSIT, or an
    /// outcome request as queued (FORCED_WITHDRAW, FORCED_COLLATERAL_WITHDRAW, FEE_WITHDRAW, INSURANCE_WITHDRAW:
    /// honoured = 0, then 16 bytes of padding).
    function encodeAmountRecord(uint8 txType, uint32 accountId, uint16 tokenId, uint96 amount)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(txType, accountId, tokenId, amount, bytes17(0));
    }

    /// @notice REGISTER_MARKET record: marketId(2) baseTokenId(2) sizeUnit(8) priceUnit(8), 15 bytes of padding.
    function encodeRegisterMarket(uint16 marketId, uint16 baseTokenId, uint64 sizeUnit, uint64 priceUnit)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodePacked(
            ProtocolConstants.TX_REGISTER_MARKET, marketId, baseTokenId, sizeUnit, priceUnit, bytes15(0)
        );
    }

    /// @notice REGISTER_INSTRUMENT record: instrumentId(2) kind(1) underlying(1) lotSizeE6(5) tickValue(6) imPpm(3)
    /// mmPpm(3) strike(7) expiry(4) fundingCapPpm(3), no padding. The caller has checked every field fits its width.
    function encodeRegisterInstrument(uint16 instrumentId, Instrument memory p) internal pure returns (bytes memory) {
        return bytes.concat(
            abi.encodePacked(
                ProtocolConstants.TX_REGISTER_INSTRUMENT, instrumentId, p.kind, p.underlying, uint40(p.lotSizeE6)
            ),
            abi.encodePacked(uint48(p.tickValue), uint24(p.imPpm), uint24(p.mmPpm), uint56(p.strike)),
            abi.encodePacked(p.expiry, uint24(p.fundingCapPpm))
        );
    }

    /// @notice The exit claim's public data (sequencer/protocol/exitPublicData.ts): root(32) accountId(4), then
    /// price(7) per underlying, then pooledQuote(16) and derivativesClaim(16), then amount(16) per token id. The
    /// caller has checked every price is below 2^56, and the pooled quote, the derivatives claim and every amount
    /// below 2^128.
    function encodeExit(
        uint256 root,
        uint32 accountId,
        uint256[] memory prices,
        uint256 pooledQuote,
        uint256 derivativesClaim,
        uint256[] calldata amounts
    ) internal pure returns (bytes memory data) {
        uint256 u = prices.length;
        uint256 n = amounts.length;
        data = new bytes(36 + u * ProtocolConstants.ORACLE_PRICE_BYTES + 32 + n * 16);
        // Each mstore writes its field left-aligned in 32 bytes; the next field overwrites the zeros after it, and
        // the last one's zeros land in unallocated memory past `data`.
        assembly ("memory-safe") {
            let p := add(data, 32)
            mstore(p, root)
            mstore(add(p, 32), shl(224, accountId))
            p := add(p, 36)
            for { let i := 0 } lt(i, u) { i := add(i, 1) } {
                mstore(p, shl(200, mload(add(prices, mul(add(i, 1), 32)))))
                p := add(p, 7)
            }
            mstore(p, shl(128, pooledQuote))
            mstore(add(p, 16), shl(128, derivativesClaim))
            p := add(p, 32)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(p, shl(128, calldataload(add(amounts.offset, mul(i, 32)))))
                p := add(p, 16)
            }
        }
    }

    /// @notice The batch circuit's public inputs: `data` cut into chunks of PUBLIC_INPUT_CHUNK_BYTES (31) bytes, each
    /// a big-endian integer, the last one the remaining bytes (sequencer/protocol/publicData.ts#publicInputsOf),
    /// written to `inputs[at ..]`, which must have room: one per chunk (a panic, as an index out of bounds, otherwise).
    /// {publicInputsOfMemory} cuts data in memory the same way.
    /// @dev Each chunk is one calldataload shifted right past the bytes that follow it (whatever follows `data` in
    /// the calldata is shifted out); 31 bytes are below the field's modulus, so every input is a canonical field
    /// element. Assembly: a production batch's 33 chunks cost about 3,100 gas here, where the checked loop cost 13,600
    /// (npm run bench:gas-profile).
    function writePublicInputs(bytes calldata data, uint256[] memory inputs, uint256 at) internal pure {
        uint256 chunk = ProtocolConstants.PUBLIC_INPUT_CHUNK_BYTES;
        uint256 len = data.length;
        uint256 count = (len + chunk - 1) / chunk;
        if (at + count > inputs.length) _panicOutOfBounds();
        assembly ("memory-safe") {
            let src := data.offset
            let dst := add(add(inputs, 32), shl(5, at))
            for { let end := add(src, mul(div(len, chunk), chunk)) } lt(src, end) { src := add(src, chunk) } {
                mstore(dst, shr(8, calldataload(src)))
                dst := add(dst, 32)
            }
            let rest := mod(len, chunk)
            if rest { mstore(dst, shr(shl(3, sub(32, rest)), calldataload(src))) }
        }
    }

    /// @dev Reverts with Panic(0x32), the panic of an array index out of bounds.
    function _panicOutOfBounds() private pure {
        assembly ("memory-safe") {
            mstore(0, shl(224, 0x4e487b71))
            mstore(4, 0x32)
            revert(0, 0x24)
        }
    }

    /// @notice An exit claim's public inputs: its public data `data`, in memory, cut as {writePublicInputs} cuts a
    /// batch's (sequencer/protocol/exitPublicData.ts#exitPublicInputs).
    /// @dev Each chunk is one mload shifted right past the bytes that follow it; reading past the end of `data` is
    /// harmless (those bytes are shifted out).
    function publicInputsOfMemory(bytes memory data) internal pure returns (uint256[] memory inputs) {
        uint256 chunk = ProtocolConstants.PUBLIC_INPUT_CHUNK_BYTES;
        uint256 len = data.length;
        inputs = new uint256[]((len + chunk - 1) / chunk);
        for (uint256 o = 0; o < len; o += chunk) {
            uint256 take = len - o < chunk ? len - o : chunk;
            uint256 word;
            assembly ("memory-safe") {
                word := shr(mul(8, sub(32, take)), mload(add(add(data, 32), o)))
            }
            inputs[o / chunk] = word;
        }
    }
}
