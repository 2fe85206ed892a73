// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {BabyJubjub} from "../libraries/BabyJubjub.sol";
import {PublicData} from "../libraries/PublicData.sol";
import {ProtocolConstants} from "../generated/ProtocolConstants.sol";

/// @title PublicDataHarness
/// @notice TEST ONLY. Exposes the PublicData and BabyJubjub libraries so tests can compare them with the
/// TypeScript encoders field by field.
contract PublicDataHarness {
    /// @notice {PublicData-decodeHeader}.
    function decodeHeader(bytes calldata data) external pure returns (PublicData.Header memory) {
        return PublicData.decodeHeader(data);
    }

    /// @notice {PublicData-decodeWithdraw} on slot `i` of `data`, whose records start at `recordsOffset`.
    function decodeWithdrawAt(bytes calldata data, uint256 recordsOffset, uint256 i)
        external
        pure
        returns (uint8 txType, uint32 accountId, uint16 tokenId, uint96 amount)
    {
        bytes calldata record = PublicData.recordAt(data, recordsOffset, i);
        txType = uint8(record[0]);
        (accountId, tokenId, amount) = PublicData.decodeWithdraw(record);
    }

    /// @notice {PublicData-recordAt}.
    function recordAt(bytes calldata data, uint256 recordsOffset, uint256 i) external pure returns (bytes memory) {
        return PublicData.recordAt(data, recordsOffset, i);
    }

    /// @notice {PublicData-decodeOracleKey}.
    function decodeOracleKey(bytes calldata data) external pure returns (uint8 used, uint256 key) {
        return PublicData.decodeOracleKey(data);
    }

    /// @notice {PublicData-oracleSectionBytes}.
    function oracleSectionBytes(uint256 underlyings, uint256 volSlices, uint256 instruments)
        external
        pure
        returns (uint256)
    {
        return PublicData.oracleSectionBytes(underlyings, volSlices, instruments);
    }

    /// @notice {PublicData-freeMaskBytes}.
    function freeMaskBytes(uint256 instruments) external pure returns (uint256) {
        return PublicData.freeMaskBytes(instruments);
    }

    /// @notice {PublicData-decodeFreeInstruments}.
    function decodeFreeInstruments(
        bytes calldata data,
        uint256 underlyings,
        uint256 volSlices,
        uint256 instruments
    ) external pure returns (uint256) {
        return PublicData.decodeFreeInstruments(data, underlyings, volSlices, instruments);
    }

    /// @notice {PublicData-decodeMarksKey}.
    function decodeMarksKey(bytes calldata data, uint256 underlyings, uint256 volSlices, uint256 instruments)
        external
        pure
        returns (uint256)
    {
        return PublicData.decodeMarksKey(data, underlyings, volSlices, instruments);
    }

    /// @notice {PublicData-lengthFor}.
    function lengthFor(
        uint256 slots,
        uint256 derivSlots,
        uint256 underlyings,
        uint256 volSlices,
        uint256 instruments
    ) external pure returns (uint256) {
        return PublicData.lengthFor(slots, derivSlots, underlyings, volSlices, instruments);
    }

    /// @notice {PublicData-isSpotType}, {PublicData-isDerivativesType} and {PublicData-isRequest} of `txType`.
    function classify(uint8 txType) external pure returns (bool spot, bool derivatives, bool request) {
        return (PublicData.isSpotType(txType), PublicData.isDerivativesType(txType), PublicData.isRequest(txType));
    }

    /// @notice {PublicData-encodeRegisterKey}.
    function encodeRegisterKey(uint32 accountId, uint256 compressedKey) external pure returns (bytes memory) {
        return PublicData.encodeRegisterKey(accountId, compressedKey);
    }

    /// @notice {PublicData-encodeDeposit}.
    function encodeDeposit(uint32 accountId, uint16 tokenId, uint96 amount) external pure returns (bytes memory) {
        return PublicData.encodeDeposit(accountId, tokenId, amount);
    }

    /// @notice {PublicData-encodeAmountRecord}.
    function encodeAmountRecord(uint8 txType, uint32 accountId, uint16 tokenId, uint96 amount)
        external
        pure
        returns (bytes memory)
    {
        return PublicData.encodeAmountRecord(txType, accountId, tokenId, amount);
    }

    /// @notice {PublicData-chainNext}.
    function chainNext(bytes32 chain, bytes calldata record) external pure returns (bytes32) {
        return PublicData.chainNext(chain, record);
    }

    /// @notice {PublicData-isForced}.
    function isForced(uint8 txType) external pure returns (bool) {
        return PublicData.isForced(txType);
    }

    /// @notice {PublicData-FORCED_OUTCOME_OFFSET}.
    function forcedOutcomeOffset() external pure returns (uint256) {
        return PublicData.FORCED_OUTCOME_OFFSET;
    }

    /// @notice {PublicData-encodeExit} and {PublicData-publicInputsOfMemory} of it.
    function encodeExit(
        uint256 root,
        uint32 accountId,
        uint256[] memory prices,
        uint256 pooledQuote,
        uint256 derivativesClaim,
        uint256[] calldata amounts
    ) external pure returns (bytes memory data, uint256[] memory inputs) {
        data = PublicData.encodeExit(root, accountId, prices, pooledQuote, derivativesClaim, amounts);
        inputs = PublicData.publicInputsOfMemory(data);
    }

    /// @notice {PublicData-publicInputsOfMemory} of `data`.
    function publicInputsOfMemory(bytes memory data) external pure returns (uint256[] memory inputs) {
        return PublicData.publicInputsOfMemory(data);
    }

    /// @notice {PublicData-encodeRegisterMarket}.
    function encodeRegisterMarket(uint16 marketId, uint16 baseTokenId, uint64 sizeUnit, uint64 priceUnit)
        external
        pure
        returns (bytes memory)
    {
        return PublicData.encodeRegisterMarket(marketId, baseTokenId, sizeUnit, priceUnit);
    }

    /// @notice {PublicData-encodeRegisterInstrument}.
    function encodeRegisterInstrument(uint16 instrumentId, PublicData.Instrument calldata p)
        external
        pure
        returns (bytes memory)
    {
        return PublicData.encodeRegisterInstrument(instrumentId, p);
    }

    /// @notice {PublicData-writePublicInputs} into a fresh array of one input per chunk.
    function publicInputs(bytes calldata data) external pure returns (uint256[] memory inputs) {
        inputs = new uint256[]((data.length + ProtocolConstants.PUBLIC_INPUT_CHUNK_BYTES - 1) / ProtocolConstants.PUBLIC_INPUT_CHUNK_BYTES);
        PublicData.writePublicInputs(data, inputs, 0);
    }

    /// @notice {PublicData-writePublicInputs} into a fresh array of `room` zeros, from index `at`.
    function publicInputsAt(bytes calldata data, uint256 room, uint256 at) external pure returns (uint256[] memory inputs) {
        inputs = new uint256[](room);
        PublicData.writePublicInputs(data, inputs, at);
    }

    /// @notice {BabyJubjub-isValidPublicKey}.
    function isValidPublicKey(uint256 x, uint256 y) external pure returns (bool) {
        return BabyJubjub.isValidPublicKey(x, y);
    }

    /// @notice {BabyJubjub-isValidPublicKey} and the gas it used (measured around the library call).
    function isValidPublicKeyGas(uint256 x, uint256 y) external view returns (bool valid, uint256 gasUsed) {
        uint256 before = gasleft();
        valid = BabyJubjub.isValidPublicKey(x, y);
        gasUsed = before - gasleft();
    }

    /// @notice {BabyJubjub-isOnCurve}.
    function isOnCurve(uint256 x, uint256 y) external pure returns (bool) {
        return BabyJubjub.isOnCurve(x, y);
    }

    /// @notice {BabyJubjub-isInPrimeSubgroup}.
    function isInPrimeSubgroup(uint256 x, uint256 y) external pure returns (bool) {
        return BabyJubjub.isInPrimeSubgroup(x, y);
    }

    /// @notice {BabyJubjub-compress}.
    function compress(uint256 x, uint256 y) external pure returns (uint256) {
        return BabyJubjub.compress(x, y);
    }
}
