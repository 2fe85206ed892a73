// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {Custodian} from "../Custodian.sol";
import {ProtocolConstants} from "../generated/ProtocolConstants.sol";
import {BabyJubjub} from "./BabyJubjub.sol";
import {CustodianPayouts} from "./CustodianPayouts.sol";
import {PublicData} from "./PublicData.sol";
import {RequestQueue} from "./RequestQueue.sol";

/// @title RegistrationRules
/// @notice The rules a registration must pass before the custodian queues it: a Baby Jubjub key's validity
/// (trading keys, {registerKey}; the oracle key, {oracleKey}) and a derivative instrument's parameters
/// ({checkInstrument}); and the registrations themselves: a trading key ({registerKey}, with a new account id), a
/// market ({registerMarket}) and an instrument under the lowest available id of its class ({registerInstrument},
/// {availableInstrumentId}), each queued as a request ({RequestQueue-push}) with the custodian's events. The checks
/// are pure functions of their arguments (and the block time); the registrations also write the custodian's
/// storage passed to them. The errors are the custodian's, the bounds its public constants (which alias them).
/// @dev An external library, linked into Custodian at deployment, only to keep Custodian's runtime bytecode under
/// EIP-170 (24,576 bytes) with room to spare: the key check (a 251-bit scalar multiplication), the instrument
/// rules, the instrument id choice and the registrations' records and events are among the custodian's largest
/// code, run only on rare registrations (a few thousand gas of call overhead on calls of 100k and more) and the
/// views {Custodian-nextNonOptionId} and {Custodian-nextOptionId}, and need nothing of the custodian but their
/// arguments (the storage the custodian passes by reference, its counters and sizes), so moving them out changes
/// no behaviour. A
/// separate contract would do the same at the price of an address the custodian must store and trust; a library is
/// linked into the bytecode and called by DELEGATECALL, and its functions act only on their arguments.
library RegistrationRules {
    /// @notice Custodian.MAX_BATCH_AGE (documented there): a batch's timestamp is at most this far behind its block.
    uint256 internal constant MAX_BATCH_AGE = 10 minutes;
    /// @notice MAX_LOT_SIZE: lot sizes are below 2^40 (their record field).
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

    /// @notice What the custodian keeps of an instrument id besides its latest parameters (one slot per id).
    /// @param latestRequestPlusOne `1 +` the queue index of the id's latest REGISTER_INSTRUMENT; 0 if never registered.
    /// @param registrations How many times the id was registered: the generation of its latest instrument is
    /// `registrations - 1`, that of the next one `registrations`.
    /// @param marketId The market id orders on the id's latest instrument sign ({marketIdOf}); 0 if never registered.
    struct InstrumentIdInfo {
        uint64 latestRequestPlusOne;
        uint16 registrations;
        uint16 marketId;
    }

    /// @notice The custodian's state an instrument id choice depends on.
    /// @param freeMask The latest accepted batch's `freeInstruments` ({Custodian-freeInstruments}).
    /// @param processedRequests The custodian's processedRequests: requests below it are consumed.
    /// @param requestIndex The queue index the registration will get (the custodian's requestCount).
    /// @param instruments The custodian's instrument id count.
    /// @param optionInstruments Its option instrument id count (the last ids).
    struct IdContext {
        uint256 freeMask;
        uint256 processedRequests;
        uint256 requestIndex;
        uint256 instruments;
        uint256 optionInstruments;
    }

    /// @notice The oracle key (x, y) compressed ({BabyJubjub-compress}), as {Custodian-setOracleKey} stores it;
    /// InvalidOracleKey unless it is an acceptable Baby Jubjub public key ({BabyJubjub-isValidPublicKey}).
    function oracleKey(uint256 x, uint256 y) external pure returns (uint256) {
        if (!BabyJubjub.isValidPublicKey(x, y)) revert Custodian.InvalidOracleKey(x, y);
        return BabyJubjub.compress(x, y);
    }

    /// @notice Registers the caller's trading key (x, y) ({Custodian-registerTradingKey}, whose rules these are): refused
    /// unless valid ({BabyJubjub-isValidPublicKey}: InvalidTradingKey); a caller without an account gets the next account id
    /// (`accountCount + 1`, below `maxAccounts`: AccountTreeFull) and AccountRegistered, one with an account is refused
    /// while its previous REGISTER_KEY is unconsumed (at `processed` or later: KeyRotationPending). Then queues the
    /// REGISTER_KEY record at `count` ({RequestQueue-push}: ExodusModeActive in exodus), records the caller as the
    /// account's owner with that request, and emits TradingKeyRegistered. The custodian counts the new account id, if
    /// any (returned above `accountCount`), and the request.
    /// @param accountOf The custodian's {Custodian-accountOf}, set for a new account.
    /// @param accounts The custodian's accounts: the owner and latest key request written.
    /// @param chain The custodian's request chain, appended to.
    /// @param queued The custodian's queued requests' times and callers.
    /// @param count The custodian's requestCount: the index the request gets.
    /// @param processed The custodian's processedRequests.
    /// @param exodus The custodian's exodusMode.
    /// @param accountCount The custodian's accountCount: the last assigned account id.
    /// @param maxAccounts The custodian's account id count.
    /// @return accountId The caller's account id.
    function registerKey(
        mapping(address => uint32) storage accountOf,
        mapping(uint32 => CustodianPayouts.Account) storage accounts,
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        uint64 count,
        uint64 processed,
        bool exodus,
        uint32 accountCount,
        uint32 maxAccounts,
        uint256 x,
        uint256 y
    ) external returns (uint32 accountId) {
        if (!BabyJubjub.isValidPublicKey(x, y)) revert Custodian.InvalidTradingKey(x, y);
        accountId = accountOf[msg.sender];
        if (accountId == 0) {
            accountId = accountCount + 1;
            if (accountId >= maxAccounts) revert Custodian.AccountTreeFull();
            accountOf[msg.sender] = accountId;
            emit Custodian.AccountRegistered(accountId, msg.sender);
        } else {
            uint48 pendingPlusOne = accounts[accountId].keyRequestPlusOne;
            if (pendingPlusOne > processed) revert Custodian.KeyRotationPending(accountId, pendingPlusOne - 1);
        }
        uint256 key = BabyJubjub.compress(x, y);
        uint256 index = RequestQueue.push(chain, queued, count, exodus, PublicData.encodeRegisterKey(accountId, key));
        CustodianPayouts.Account storage account = accounts[accountId];
        account.owner = msg.sender;
        account.keyRequestPlusOne = uint48(index + 1);
        emit Custodian.TradingKeyRegistered(accountId, x, y, key, index);
    }

    /// @notice The REGISTER_INSTRUMENT rules of circuits/DERIVATIVES.md (see {Custodian-registerInstrument}) for
    /// instrument `p` (its tickValue ignored) registered with tick size `tickSizeE8` on a custodian of
    /// `underlyings` underlyings; reverts with the custodian's error for the first rule broken. Run by
    /// {registerInstrument}.
    /// @return tickValue `tickSizeE8 * lotSizeE6 / 10^8`, exact.
    function checkInstrument(PublicData.Instrument memory p, uint64 tickSizeE8, uint8 underlyings)
        public
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

    /// @notice The lowest instrument id of a class available for a new registration ({Custodian-registerInstrument}),
    /// or `instruments` if none is. Options take the ids `instruments - optionInstruments .. instruments - 1`, the
    /// other kinds `0 .. instruments - optionInstruments - 1`.
    /// @dev An id is available when all of these hold:
    /// - its bit is set in `ctx.freeMask`, the latest accepted batch's proven mask (circuits/DERIVATIVES.md): never
    ///   registered, or its instrument settled and no account holds a position in it;
    /// - its latest registration was consumed by an accepted batch (`latestRequestPlusOne <= processedRequests`):
    ///   the mask of a batch that did not consume a queued registration still shows its id free, and a second
    ///   registration of the id queued behind the first would be refused by the circuit and block the queue for good;
    /// - its next instrument's market id, {marketIdOf}(id, registrations), is at most MAX_INSTRUMENT_MARKET_ID (the
    ///   16 bits an order's market id has): orders signed for an earlier instrument of the id name another market id,
    ///   so they can never fill the new one.
    /// Reads one slot per id whose mask bit is set, in id order, until one is available.
    /// @param ids The custodian's per-id records.
    /// @param ctx The custodian's mask, counters and sizes (`requestIndex` unused).
    /// @param option Whether the instrument is an option (a call or a put).
    /// @return instrumentId The id, or `ctx.instruments` if every id of the class is in use.
    function availableInstrumentId(
        mapping(uint16 => InstrumentIdInfo) storage ids,
        IdContext memory ctx,
        bool option
    ) public view returns (uint16 instrumentId) {
        uint256 instruments = ctx.instruments;
        uint256 end = instruments - ctx.optionInstruments;
        uint256 id = 0;
        if (option) (id, end) = (end, instruments);
        for (; id < end; ++id) {
            if ((ctx.freeMask >> id) & 1 == 0) continue;
            InstrumentIdInfo memory info = ids[uint16(id)];
            if (
                info.latestRequestPlusOne <= ctx.processedRequests
                    && marketIdOf(id, info.registrations, instruments) <= ProtocolConstants.MAX_INSTRUMENT_MARKET_ID
            ) return uint16(id);
        }
        return uint16(instruments);
    }

    /// @notice Registers instrument `p` in the custodian's storage ({Custodian-registerInstrument}): checks it
    /// ({checkInstrument}, with tick size `tickSizeE8` on a custodian of `underlyings` underlyings), gives it the
    /// lowest available id of its class ({availableInstrumentId}; InstrumentLimitReached if none) and records it
    /// there: `params[id] = p` with its tick value (overwriting the id's previous instrument), and the id's latest
    /// request (`ctx.requestIndex`), registration count and market id. Then queues its REGISTER_INSTRUMENT record
    /// ({PublicData-encodeRegisterInstrument}) at `ctx.requestIndex` ({RequestQueue-push}: ExodusModeActive in
    /// exodus) and emits InstrumentRegistered; the custodian counts the request.
    /// @param params The custodian's parameters of each id's latest instrument.
    /// @param ids The custodian's per-id records.
    /// @param chain The custodian's request chain, appended to.
    /// @param queued The custodian's queued requests' times and callers.
    /// @param exodus The custodian's exodusMode.
    /// @param p The instrument (its tickValue ignored).
    /// @param tickSizeE8 The tick size it is registered with.
    /// @param underlyings The custodian's underlyings.
    /// @param ctx The custodian's mask, counters and sizes.
    /// @return instrumentId The id.
    function registerInstrument(
        mapping(uint16 => PublicData.Instrument) storage params,
        mapping(uint16 => InstrumentIdInfo) storage ids,
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        bool exodus,
        PublicData.Instrument memory p,
        uint64 tickSizeE8,
        uint8 underlyings,
        IdContext memory ctx
    ) external returns (uint16 instrumentId) {
        p.tickValue = checkInstrument(p, tickSizeE8, underlyings);
        bool option = isOption(p.kind);
        instrumentId = availableInstrumentId(ids, ctx, option);
        if (instrumentId == ctx.instruments) revert Custodian.InstrumentLimitReached(option);
        params[instrumentId] = p;
        InstrumentIdInfo storage info = ids[instrumentId];
        uint256 generation = info.registrations;
        info.latestRequestPlusOne = uint64(ctx.requestIndex + 1);
        info.registrations = uint16(generation + 1);
        // At most MAX_INSTRUMENT_MARKET_ID (availableInstrumentId), so it fits 16 bits.
        info.marketId = uint16(marketIdOf(instrumentId, generation, ctx.instruments));
        uint256 index = RequestQueue.push(
            chain, queued, uint64(ctx.requestIndex), exodus, PublicData.encodeRegisterInstrument(instrumentId, p)
        );
        emit Custodian.InstrumentRegistered(instrumentId, p.kind, tickSizeE8, p, index);
    }

    /// @notice Registers market `baseTokenId`/quote under the next market id in the custodian's `markets` and queues
    /// its REGISTER_MARKET record at `count` ({RequestQueue-push}: ExodusModeActive in exodus); see
    /// {Custodian-registerMarket}. Refused: the quote token or an unregistered token as base (InvalidBaseToken), a
    /// unit of 0 (ZeroUnit), and every id taken (MarketLimitReached). Emits MarketRegistered; the custodian counts
    /// the request.
    /// @param markets The custodian's markets, appended to.
    /// @param chain The custodian's request chain, appended to.
    /// @param queued The custodian's queued requests' times and callers.
    /// @param count The custodian's requestCount: the index the request gets.
    /// @param exodus The custodian's exodusMode.
    /// @param tokenCount The custodian's registered token count.
    /// @param maxMarkets The custodian's market id count.
    /// @return marketId The new market id.
    function registerMarket(
        Custodian.Market[] storage markets,
        mapping(uint256 => bytes32) storage chain,
        mapping(uint256 => CustodianPayouts.QueuedRequest) storage queued,
        uint64 count,
        bool exodus,
        uint256 tokenCount,
        uint256 maxMarkets,
        uint16 baseTokenId,
        uint64 sizeUnit,
        uint64 priceUnit
    ) external returns (uint16 marketId) {
        if (baseTokenId == 0 || baseTokenId >= tokenCount) revert Custodian.InvalidBaseToken(baseTokenId);
        if (sizeUnit == 0 || priceUnit == 0) revert Custodian.ZeroUnit();
        uint256 marketCount = markets.length;
        if (marketCount >= maxMarkets) revert Custodian.MarketLimitReached();
        marketId = uint16(marketCount);
        markets.push(Custodian.Market({baseTokenId: baseTokenId, sizeUnit: sizeUnit, priceUnit: priceUnit}));
        uint256 index = RequestQueue.push(
            chain, queued, count, exodus, PublicData.encodeRegisterMarket(marketId, baseTokenId, sizeUnit, priceUnit)
        );
        emit Custodian.MarketRegistered(marketId, baseTokenId, sizeUnit, priceUnit, index);
    }

    /// @notice The market id orders on the instrument of generation `generation` at id `instrumentId` sign:
    /// `INSTRUMENT_MARKET_BASE + instrumentId + instruments * generation` (`instrumentMarketId` of
    /// sequencer/protocol/constants.ts), not truncated.
    function marketIdOf(uint256 instrumentId, uint256 generation, uint256 instruments) internal pure returns (uint256) {
        return ProtocolConstants.INSTRUMENT_MARKET_BASE + instrumentId + instruments * generation;
    }

    /// @notice Whether instrument kind `kind` is an option (a call or a put).
    function isOption(uint8 kind) internal pure returns (bool) {
        return kind == ProtocolConstants.KIND_CALL || kind == ProtocolConstants.KIND_PUT;
    }
}
