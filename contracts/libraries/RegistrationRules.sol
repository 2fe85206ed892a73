// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Custodian} from "../Custodian.sol";
import {ProtocolConstants} from "../generated/ProtocolConstants.sol";
import {BabyJubjub} from "./BabyJubjub.sol";
import {PublicData} from "./PublicData.sol";

/// @title RegistrationRules
/// @notice The rules a registration must pass before the custodian queues it: a Baby Jubjub key's validity
/// (trading keys, {Custodian-registerTradingKey}; the oracle key, {Custodian-setOracleKey}) and a derivative
/// instrument's parameters ({Custodian-registerInstrument}). Pure checks of their arguments (and the block time):
/// no storage, no state change; the errors are the custodian's, the bounds its public constants (which alias them).
/// @dev An external library, linked into Custodian at deployment, only to keep Custodian's runtime bytecode under
/// EIP-170 (24,576 bytes) with room to spare: the key check (a 251-bit scalar multiplication) and the instrument
/// rules are among the custodian's largest code, run only on rare registrations (a few thousand gas of call
/// overhead on calls of 100k and more), and need nothing of the custodian but their arguments, so moving them out
/// changes no behaviour and shares no storage. A separate contract would do the same at the price of an address
/// the custodian must store and trust; a library is linked into the bytecode and called by DELEGATECALL, and its
/// functions act only on their arguments.
library RegistrationRules {
    /// @notice Custodian.MAX_BATCH_AGE (documented there): a batch's timestamp is at most this far behind its block.
    uint256 internal constant MAX_BATCH_AGE = 10 minutes;
    /// @notice MAX_LOT_SIZE: lot sizes are below 2^48 (their record field).
    uint256 internal constant MAX_LOT_SIZE = 1 << ProtocolConstants.BITS_LOTSIZE;
    /// @notice MAX_TICK_VALUE: tick values are below 2^48 (their record field).
    uint256 internal constant MAX_TICK_VALUE = 1 << ProtocolConstants.BITS_TICKVALUE;
    /// @notice MIN_STRIKE: option strikes lie in [MIN_STRIKE, MAX_STRIKE), the oracle's price domain.
    uint256 internal constant MIN_STRIKE = ProtocolConstants.MIN_ORACLE_PRICE;
    /// @notice MAX_STRIKE: see MIN_STRIKE.
    uint256 internal constant MAX_STRIKE = ProtocolConstants.MAX_ORACLE_PRICE + 1;
    /// @notice MAX_EXPIRY_SECONDS (documented there): the longest time to expiry at registration.
    uint256 internal constant MAX_EXPIRY_SECONDS = (1 << 26) - MAX_BATCH_AGE - ProtocolConstants.MAX_ORACLE_AGE;
    /// @notice Shortest time to expiry of a dated instrument at registration (DERIVATIVES.md, "Expiry"): the
    /// operator has at least this long to prove the registration before the instrument's settlement window
    /// opens (an instrument still unsettled after its window stops every batch with an oracle update).
    uint256 internal constant MIN_EXPIRY_LEAD = 1 hours;

    /// @notice Whether (x, y) is an acceptable Baby Jubjub public key: {BabyJubjub-isValidPublicKey}.
    function isValidKey(uint256 x, uint256 y) external pure returns (bool) {
        return BabyJubjub.isValidPublicKey(x, y);
    }

    /// @notice The REGISTER_INSTRUMENT rules of circuits/DERIVATIVES.md (see {Custodian-registerInstrument}) for
    /// instrument `p` (its tickValue ignored) registered with tick size `tickSizeE8` on a custodian of
    /// `underlyings` underlyings; reverts with the custodian's error for the first rule broken.
    /// @return tickValue `tickSizeE8 * lotSizeE6 / 10^8`, exact.
    function checkInstrument(PublicData.Instrument memory p, uint64 tickSizeE8, uint8 underlyings)
        external
        view
        returns (uint64 tickValue)
    {
        if (p.kind < ProtocolConstants.KIND_PERPETUAL || p.kind > ProtocolConstants.KIND_PUT) {
            revert Custodian.InvalidInstrumentKind(p.kind);
        }
        if (p.underlying >= underlyings) revert Custodian.UnknownUnderlying(p.underlying);
        if (p.lotSizeE6 == 0 || p.lotSizeE6 >= MAX_LOT_SIZE) revert Custodian.InvalidLotSize(p.lotSizeE6);
        uint256 scaled = uint256(tickSizeE8) * p.lotSizeE6;
        uint256 value = scaled / ProtocolConstants.PRICE_SCALE;
        if (scaled % ProtocolConstants.PRICE_SCALE != 0 || value == 0 || value >= MAX_TICK_VALUE) {
            revert Custodian.InvalidTickSize(tickSizeE8, p.lotSizeE6);
        }
        tickValue = uint64(value);
        if (p.mmPpm == 0 || p.mmPpm > p.imPpm || p.imPpm > ProtocolConstants.PPM) {
            revert Custodian.InvalidMarginRates(p.imPpm, p.mmPpm);
        }
        if (isOption(p.kind)) {
            if (p.strike < MIN_STRIKE || p.strike >= MAX_STRIKE) revert Custodian.InvalidStrike(p.strike);
        } else if (p.strike != 0) {
            revert Custodian.InvalidStrike(p.strike);
        }
        if (p.kind == ProtocolConstants.KIND_PERPETUAL) {
            if (p.expiry != 0) revert Custodian.InvalidExpiry(p.expiry);
            // Funding horizon: the largest funding step, this over PPM * PRICE_SCALE, is below 2^43, so the circuit's
            // 64-bit funding index absorbs at least 2^20 ticks at the cap and any oracle price (the circuit's
            // REGISTER_INSTRUMENT applies the same rule: test/circuits/derivatives/registrationRule.test.ts).
            uint256 scaledStep = uint256(p.fundingCapPpm) * p.lotSizeE6 * ProtocolConstants.MAX_ORACLE_PRICE;
            if (p.fundingCapPpm > ProtocolConstants.PPM || scaledStep >= ProtocolConstants.FUNDING_CAP_BOUND) {
                revert Custodian.InvalidFundingCap(p.fundingCapPpm);
            }
        } else {
            if (
                p.expiry < block.timestamp + MIN_EXPIRY_LEAD
                    || p.expiry >= block.timestamp + MAX_EXPIRY_SECONDS
            ) revert Custodian.InvalidExpiry(p.expiry);
            if (p.fundingCapPpm != 0) revert Custodian.InvalidFundingCap(p.fundingCapPpm);
        }
    }

    /// @notice Whether instrument kind `kind` is an option (a call or a put).
    function isOption(uint8 kind) internal pure returns (bool) {
        return kind == ProtocolConstants.KIND_CALL || kind == ProtocolConstants.KIND_PUT;
    }
}
