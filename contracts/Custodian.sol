// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IBatchGroth16Verifier} from "./interfaces/IBatchGroth16Verifier.sol";
import {ICustodianExits, ITimelockDelay} from "./interfaces/ICustodianExits.sol";
import {ICustodianMarks} from "./interfaces/ICustodianMarks.sol";
import {ICustodianTreasury} from "./interfaces/ICustodianTreasury.sol";
import {IMarksRegistry} from "./interfaces/IMarksRegistry.sol";
import {BabyJubjub} from "./libraries/BabyJubjub.sol";
import {BatchRecords} from "./libraries/BatchRecords.sol";
import {CustodianPayouts} from "./libraries/CustodianPayouts.sol";
import {PublicData} from "./libraries/PublicData.sol";
import {RegistrationRules} from "./libraries/RegistrationRules.sol";
import {RequestQueue} from "./libraries/RequestQueue.sol";
import {ProtocolConstants} from "./generated/ProtocolConstants.sol";

/// @title Custodian
/// @notice Holds the exchange's collateral and accepts a new state root only with a valid Groth16 proof of the
/// batch that produced it (the paper's Protocol 1).
/// @dev On-chain requests (trading-key registrations, deposits, market and instrument registrations) are appended
/// to a queue committed as a keccak hash chain over the exact 36-byte records a batch must carry:
/// `requestChain(0) = 0`, `requestChain(i + 1) = keccak256(requestChain(i) ++ record_i)`.
/// A batch consumes the next requests in order (its spot records first, then its derivatives records); its spot
/// WITHDRAW records and its honoured forced withdrawals are credited to the accounts' owners, and its honoured
/// treasury withdrawals ({ICustodianTreasury}) to {feeRecipient} and {insuranceRecipient}, who pull them with
/// {withdraw}. Derivatives
/// (circuits/DERIVATIVES.md) need no other on-chain accounting: TRANSFER moves value between an account's spot
/// quote balance and its collateral inside the rollup, and collateral leaves through a spot WITHDRAW.
/// The custodian checks that a batch using the oracle names the registered oracle key; the circuit checks its
/// signature. A batch whose oracle step read option marks carries the marking's key, which the custodian's
/// {marksRegistry} must have recorded ({ICustodianMarks}).
///
/// Bounds on what anyone can queue (the queue is FIFO, so every queued request delays the ones behind it):
/// a deposit must bring at least its token's {minDeposit}; an account has at most one unconsumed REGISTER_KEY
/// in the queue ({registerTradingKey}); new accounts are bounded by {maxAccounts} and cost a storage-writing
/// transaction each. Every request the custodian queues is one the circuit can consume (see {_deposit} for the
/// 2^128 balance bound, {registerTradingKey} for keys, {registerInstrument} for instruments).
///
/// Exits (issue 12, {ICustodianExits}): every queued request records when it was queued; once the oldest
/// unconsumed one is {requestDeadline} old, anyone may switch the custodian to exodus mode ({activateExodus}),
/// which stops batches for good and freezes {stateRoot}. Then unconsumed deposits are refunded to their
/// depositors ({refundDeposit}) and each account claims, once, what an exit proof says it owns at the frozen root
/// ({exit}): its spot balances, paid at most what the custodian holds beyond what it already {owed} (always in
/// full: they are backed), and its derivatives claim, paid out of a pot of the frozen state's pooled quote
/// ({exodusDerivativesPaid}). Owners who are not served can
/// queue forced withdrawals ({forceWithdraw}, {forceWithdrawCollateral}) and cancel all their orders by rotating
/// their key ({registerTradingKey}); these get the same deadline.
///
/// Code size (EIP-170): the token transfers and payouts (deposits, withdrawals, a batch's credits, deposit refunds,
/// exits) run in the linked library {CustodianPayouts} on the storage this contract passes it, the registrations (the
/// key and instrument checks, with the choice and record of an instrument's id) in the linked library
/// {RegistrationRules}, and the forced and treasury requests, with the waiting line of forced requests, in
/// {RequestQueue}. Each library function that builds a request also queues it ({RequestQueue-push}, at the
/// {requestCount} and with the {exodusMode} this contract passes) and emits its events; this contract then counts
/// it. This contract checks who may call, and owns all state.
///
/// Roles ({AccessControlDefaultAdminRules}): one admin (DEFAULT_ADMIN_ROLE), transferred in two steps with a
/// delay of at least {minAdminDelay} (longer than the request deadline), never renounced; it lists tokens,
/// markets and instruments and sets the first oracle key, all additive. What changes what depositors trusted
/// (granting or revoking OPERATOR_ROLE, replacing the oracle key, changing the treasury's recipients) needs
/// TIMELOCK_ROLE, held by an OpenZeppelin
/// TimelockController whose delay exceeds the request deadline: every such action is announced (CallScheduled)
/// long enough in advance for any user to force a withdrawal and, if the operator ignores it, reach exodus first.
/// Operators (OPERATOR_ROLE) are never fewer than one ({LastOperator}).
contract Custodian is ICustodianExits, ICustodianTreasury, ICustodianMarks, AccessControlDefaultAdminRules, ReentrancyGuard {

    /// @notice Parameters of a registered market (mirrors the market leaf of the state tree).
    struct Market {
        uint16 baseTokenId;
        uint64 sizeUnit;
        uint64 priceUnit;
    }

    /// @notice The derivatives half of the constructor's arguments (its second to last): the batch circuit's
    /// derivatives sizes and the registry of the option marks its batches read.
    /// @param derivSlots Derivatives transaction slots per batch ({derivSlots}).
    /// @param underlyings Underlyings the oracle prices ({underlyings}).
    /// @param instruments Derivative instrument ids ({instruments}).
    /// @param optionInstruments The last instrument ids, reserved for options ({optionInstruments}).
    /// @param marksRegistry The registry of verified markings ({marksRegistry}): a contract, or the zero address for
    /// none (then every batch with a non-zero marks key is refused).
    struct DerivativesConfig {
        uint256 derivSlots;
        uint8 underlyings;
        uint16 instruments;
        uint16 optionInstruments;
        IMarksRegistry marksRegistry;
    }

    /// @notice Role allowed to submit batches and to queue the treasury's withdrawals. Its role admin is TIMELOCK_ROLE.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice The timelock's role: grants and revokes OPERATOR_ROLE (its role admin), replaces the oracle key,
    /// sets the treasury's recipients and requests insurance withdrawals, while the timelock's delay exceeds the
    /// request deadline. Held by the {timelock} alone, for good: its role admin is NO_ADMIN_ROLE, which nobody holds,
    /// so neither the admin nor the timelock can grant it to another address.
    bytes32 public constant TIMELOCK_ROLE = keccak256("TIMELOCK_ROLE");
    /// @dev The role admin of TIMELOCK_ROLE, and its own: a role no address is ever granted (nobody holds it, so
    /// nobody can grant it).
    bytes32 private constant NO_ADMIN_ROLE = keccak256("NO_ADMIN_ROLE");
    /// @notice The longest request deadline a custodian accepts.
    uint64 public constant MAX_REQUEST_DEADLINE = 30 days;
    /// @notice Most outcome requests queued and not yet consumed: forced requests of all accounts together and the
    /// treasury's withdrawals.
    /// @dev An account has at most one open forced withdrawal (spot or collateral) and one forced close per instrument
    /// id, and the treasury at most one of each type (so the
    /// operator cannot crowd users' forced requests out of the cap), so filling the cap takes 1024 / (1 + instruments)
    /// accounts (each a registration transaction, about 230k gas, and a leaf of the account tree) and 1024 forced
    /// requests. Reaching
    /// the cap only delays new forced requests until the next batch consumes some: they wait in line, and batches
    /// admit them in order. Their deadline runs from the call all the same ({exodusAvailableAt}), so the cap does not
    /// bound the operator's forced work per deadline: every forced request is served within the deadline of its call
    /// or exodus opens. An operator's own accounts in line ahead of a user therefore cannot delay the user's request
    /// (they could while the deadline ran from the admission). What bounds the work is the cost of the requests:
    /// each needs a transaction, and at most 1 + {instruments} of them an account of its own, while a production
    /// batch serves up to 18 forced withdrawals (spot slots) and 4 forced collateral withdrawals or closes
    /// (derivatives slots): at one batch a minute, a 7-day deadline is about 10,000 batches.
    uint256 public constant MAX_OPEN_FORCED_REQUESTS = 1024;
    /// @notice What {forceWithdraw} returns, and what an account's pending forced request reads as, while the
    /// request waits for a place under MAX_OPEN_FORCED_REQUESTS (it has no queue index yet).
    uint256 public constant WAITING = RequestQueue.WAITING;

    /// @notice BN254 scalar field modulus; roots are field elements.
    uint256 public constant FIELD_MODULUS = BabyJubjub.P;
    /// @notice A batch's timestamp may be at most this far ahead of the block's (room for the operator's clock
    /// running ahead of the chain's). Stamping ahead makes orders look expired and the oracle update look older,
    /// which only narrows what a batch may do, and lets an expiry settle up to this much early, which is safe only
    /// as long as the settling oracle update must be signed after the expiry time (finding 4, circuit side).
    uint256 public constant MAX_FUTURE_DRIFT = 15 minutes;
    /// @notice A batch's timestamp may be at most this far behind the block that accepts it; batch timestamps
    /// never decrease ({lastTimestamp}).
    /// @dev Everything a batch proves about time is measured from its timestamp: order expiry, oracle age
    /// (MAX_ORACLE_AGE = 5 minutes before it), expiry settlement. A stamp held back by `age` lets the operator fill
    /// orders that expired up to `age` ago and use oracle prices up to `age + MAX_ORACLE_AGE` old, so the window
    /// must be short. It must also cover building, proving and including a batch: tens of seconds of proving at
    /// production size, a retry on another prover device, and a few blocks of inclusion delay. Ten minutes covers
    /// that with margin; a batch that misses it is rebuilt with a later stamp, never accepted late.
    uint256 public constant MAX_BATCH_AGE = RegistrationRules.MAX_BATCH_AGE;
    /// @notice How much longer than the request deadline the admin transfer's delay is at deployment and always
    /// stays ({minAdminDelay}): time for users to see a transfer begin and queue forced requests before it lands.
    uint48 public constant ADMIN_TRANSFER_DELAY = 2 days;
    /// @notice The largest market tree the custodian accepts, 4^7 market ids: spot order market ids must stay
    /// below INSTRUMENT_MARKET_BASE = 2^15, where derivatives orders' market ids start (sequencer/protocol/constants.ts).
    uint256 public constant MAX_MARKETS = 4 ** ProtocolConstants.MAX_MARKET_LEVELS;
    /// @dev The largest account tree, 4^MAX_ACCOUNT_LEVELS = 2^24: a REGISTER_KEY record's account id has 3 bytes.
    /// Internal: the custodian's code size has little room for another getter.
    uint256 internal constant MAX_ACCOUNTS = 4 ** ProtocolConstants.MAX_ACCOUNT_LEVELS;
    /// @notice The custodian never holds this much or more of a token after a deposit (see {_deposit}).
    uint256 public constant MAX_TOKEN_HOLDINGS = 1 << ProtocolConstants.BITS_BALANCE;
    /// @notice Rates (margins, funding caps) are in parts per million.
    uint256 public constant PPM = ProtocolConstants.PPM;
    /// @notice Oracle prices and tick sizes are in 1e-8 quote per whole underlying unit.
    uint256 public constant PRICE_SCALE = ProtocolConstants.PRICE_SCALE;
    /// @notice Option strikes lie in [MIN_STRIKE, MAX_STRIKE): the Black-Scholes domain of oracle prices.
    uint256 public constant MIN_STRIKE = RegistrationRules.MIN_STRIKE;
    /// @notice See {MIN_STRIKE}.
    uint256 public constant MAX_STRIKE = RegistrationRules.MAX_STRIKE;

    /// @notice The Groth16 verifier of the batch circuit (one circuit size = one verifier): the batched verifier
    /// generated from its key (scripts/build/batchVerifierContract.ts), `verifyProof` for {submitBatch},
    /// `verifyProofs` for {submitBatches}.
    IBatchGroth16Verifier public immutable verifier;
    /// @notice Capacity of the account tree, 4^accountLevels; ids run from 1 to maxAccounts - 1 (0 is reserved).
    uint32 public immutable maxAccounts;
    /// @notice Capacity of each balance tree, 4^balanceLevels: token ids run from 0 to maxTokens - 1.
    uint16 public immutable maxTokens;
    /// @notice Capacity of the market tree, 4^marketLevels: market ids run from 0 to maxMarkets - 1.
    uint16 public immutable maxMarkets;
    /// @notice Spot transaction slots per batch (their records come first).
    uint256 public immutable slots;
    /// @notice Derivatives transaction slots per batch (their records follow the spot records).
    uint256 public immutable derivSlots;
    /// @notice Underlyings the oracle prices: underlying indices run from 0 to underlyings - 1.
    uint8 public immutable underlyings;
    /// @notice Derivative instrument ids run from 0 to instruments - 1; an id is registered again once its
    /// instrument is settled and closed ({registerInstrument}).
    uint16 public immutable instruments;
    /// @notice The last optionInstruments instrument ids are reserved for options (and only they may be options). The
    /// oracle signs as many vol slices (an implied vol per (underlying, expiry)), so every listed option finds one.
    uint16 public immutable optionInstruments;
    /// @inheritdoc ICustodianMarks
    IMarksRegistry public immutable marksRegistry;
    /// @notice Exact public-data length of a batch: 72 + oracle section + (slots + derivSlots) * 36 bytes.
    uint256 public immutable publicDataBytes;
    /// @dev Offset of the first record: the header and the oracle section come before.
    uint256 private immutable _recordsOffset;
    /// @dev Offset of the oracle section's marks key ({PublicData-marksKeyOffset}).
    uint256 private immutable _marksKeyOffset;
    /// @notice Seconds a queued request may wait before exodus becomes available ({exodusAvailableAt}).
    uint64 public immutable requestDeadline;
    /// @notice The Groth16 verifier of the exit circuit (the generated verifier, as the batch circuit's).
    IBatchGroth16Verifier public immutable exitVerifier;
    /// @notice The TimelockController holding TIMELOCK_ROLE at deployment.
    address public immutable timelock;
    /// @notice The admin transfer's delay at deployment and its floor: requestDeadline + ADMIN_TRANSFER_DELAY.
    uint48 public immutable minAdminDelay;

    /// @notice The last verified state root.
    uint256 public stateRoot;
    /// @notice Number of accepted batches, i.e. the batch number the next batch must carry.
    uint32 public batchCount;
    /// @notice Timestamp of the last accepted batch (0 before the first).
    uint32 public lastTimestamp;
    /// @notice Number of accounts registered; the last assigned account id.
    uint32 public accountCount;
    /// @notice Number of queued requests consumed by accepted batches.
    uint64 public processedRequests;
    /// @notice Number of requests ever queued (the queue length).
    uint64 public requestCount;
    /// @notice Whether exodus mode is on ({activateExodus}); it never turns off.
    bool public exodusMode;
    /// @notice Outcome requests (forced and treasury withdrawals) queued and not yet consumed by a batch (at most
    /// MAX_OPEN_FORCED_REQUESTS).
    uint16 public openForcedRequests;
    /// @notice The instrument ids free after the latest accepted batch, as its public data proves them (the oracle
    /// section's `freeInstruments`): bit i (value 2^i) is set when id i was never registered, or its instrument is
    /// settled and no account holds a position in it. All ids (`2^instruments - 1`) before the first batch.
    /// @dev At most MAX_TABLE_INSTRUMENTS (64) instruments ({constructor}), so the mask fits 64 bits. It has a storage slot
    /// of its own (the counters above fill 31 bytes of theirs, so the 2-byte mask did not share it either): a batch reads
    /// it cold and writes it only when its mask changes ({_storeFreeInstruments}).
    uint64 public freeInstruments;
    /// @notice The registered oracle key, compressed as `y | signX << 255` ({BabyJubjub-compress}); 0 if none.
    uint256 public oracleKey;

    /// @notice Number of OPERATOR_ROLE holders; never below 1.
    uint256 public operatorCount;

    /// @dev The treasury's recipients by record type: {feeRecipient} at TX_FEE_WITHDRAW, {insuranceRecipient} at
    /// TX_INSURANCE_WITHDRAW (a mapping, so a batch reads one only when it credits it).
    mapping(uint8 txType => address recipient) private _treasuryRecipients;
    /// @dev `1 +` the queue index of the latest FEE_WITHDRAW and INSURANCE_WITHDRAW (one slot): one of each open.
    uint64 private _feeRequestPlusOne;
    uint64 private _insuranceRequestPlusOne;

    /// @notice Account id of each owner; zero if the address has none.
    mapping(address owner => uint32 accountId) public accountOf;
    /// @notice Amounts credited by accepted batches' withdrawals (and exits and deposit refunds), waiting to be pulled with {withdraw}.
    mapping(address owner => mapping(uint16 tokenId => uint256 amount)) public withdrawable;
    /// @notice What the custodian owes outside the state, per token: credited {withdrawable} not yet pulled plus
    /// queued deposits no batch consumed and not refunded (a refund moves its amount into {withdrawable}). An exit is paid only from holdings beyond this.
    mapping(uint16 tokenId => uint256 amount) public owed;
    /// @notice Whether the account has claimed its exit.
    mapping(uint32 accountId => bool done) public exited;

    mapping(uint256 index => bytes32 chain) private _requestChain;
    mapping(uint32 accountId => CustodianPayouts.Account account) private _accounts;
    /// @dev Per account and kind of forced request ({CustodianPayouts-forcedKey}: forced withdrawals, or a forced close
    /// of one instrument id), `1 +` the queue index of its latest one, WAITING + 1 while it waits in line.
    mapping(uint32 accountId => mapping(uint16 kind => uint48 plusOne)) private _forcedPlusOne;
    CustodianPayouts.TokenInfo[] private _tokens;
    mapping(IERC20 token => uint256 idPlusOne) private _tokenIdPlusOne;
    Market[] private _markets;
    /// @dev The parameters of each id's latest registered instrument ({instrument}).
    mapping(uint16 instrumentId => PublicData.Instrument params) private _instruments;
    /// @dev Each id's latest registration, registration count and latest market id, written by
    /// {RegistrationRules-registerInstrument} ({RegistrationRules-availableInstrumentId}, {instrumentMarketId}).
    mapping(uint16 instrumentId => RegistrationRules.InstrumentIdInfo info) private _instrumentIds;
    mapping(uint256 index => CustodianPayouts.QueuedRequest request) private _queued;
    /// @dev Forced requests waiting for a place under MAX_OPEN_FORCED_REQUESTS ({RequestQueue}, {waitingLine}).
    RequestQueue.Line private _waitingLine;
    /// @dev The last oracle batch's index prices, four 64-bit lanes per word (underlying u: word u / 4, lane u % 4).
    mapping(uint256 word => uint256 lanes) private _lastPrices;
    /// @dev What exits paid of the derivatives pot ({exodusDerivativesPaid}).
    CustodianPayouts.ExodusLedger private _exodusLedger;

    // The events of requests queued in the linked libraries ({RequestQueue}, {RegistrationRules}, {CustodianPayouts})
    // are declared here or in the interfaces, so they are this contract's in its ABI, and emitted in its context.
    /// @notice `owner` was assigned a new account id.
    event AccountRegistered(uint32 indexed accountId, address indexed owner);
    /// @notice A trading key was queued for an account (first registration or rotation).
    event TradingKeyRegistered(
        uint32 indexed accountId, uint256 pubKeyX, uint256 pubKeyY, uint256 compressedKey, uint256 requestIndex
    );
    /// @notice `from` deposited `amount` (the amount actually received) of `tokenId` to `accountId`.
    event Deposited(
        uint32 indexed accountId, uint16 indexed tokenId, address indexed from, uint96 amount, uint256 requestIndex
    );
    /// @notice `token` was registered under `tokenId`; a deposit of it must bring at least `minDeposit`.
    event TokenRegistered(uint16 indexed tokenId, IERC20 indexed token, uint96 minDeposit);
    /// @notice A market was registered and queued.
    event MarketRegistered(
        uint16 indexed marketId, uint16 indexed baseTokenId, uint64 sizeUnit, uint64 priceUnit, uint256 requestIndex
    );
    /// @notice The oracle key was set (or replaced; `previousKey` is 0 the first time).
    event OracleKeySet(uint256 pubKeyX, uint256 pubKeyY, uint256 compressedKey, uint256 previousKey);
    /// @notice A derivative instrument was registered and queued; `tickSizeE8` is the tick size it was registered
    /// with, `instrument.tickValue` the tick value derived from it.
    event InstrumentRegistered(
        uint16 indexed instrumentId,
        uint8 indexed kind,
        uint64 tickSizeE8,
        PublicData.Instrument instrument,
        uint256 requestIndex
    );
    /// @notice A batch was verified and its root accepted.
    event BatchSubmitted(
        uint32 indexed batchNumber, uint256 oldRoot, uint256 newRoot, uint256 requestsConsumed, bytes32 publicDataHash
    );
    /// @notice A batch's WITHDRAW record credited `amount` of `tokenId` to the owner of `accountId`.
    event WithdrawalCredited(
        uint32 indexed batchNumber, uint32 indexed accountId, address indexed owner, uint16 tokenId, uint96 amount
    );
    /// @notice `owner` pulled its credited `amount` of `tokenId`, sent to `to`.
    event Withdrawn(address indexed owner, address indexed to, uint16 indexed tokenId, uint256 amount);

    /// @notice An address argument (a constructor argument, a token, an operator, a withdrawal recipient) is zero.
    error ZeroAddress();
    /// @notice A constructor capacity is out of range: maxAccounts < 2 or above 4^MAX_ACCOUNT_LEVELS, maxTokens,
    /// maxMarkets or slots zero, maxMarkets above {MAX_MARKETS}, or derivatives sizes no circuit has (see {constructor}).
    error InvalidCapacity();
    /// @notice A root is not a field element.
    error InvalidRoot(uint256 root);
    /// @notice (x, y) is not an acceptable Baby Jubjub public key.
    error InvalidTradingKey(uint256 x, uint256 y);
    /// @notice Every account id is assigned.
    error AccountTreeFull();
    /// @notice The account id is not assigned.
    error UnknownAccount(uint32 accountId);
    /// @notice The caller has no account.
    error NoAccount(address caller);
    /// @notice The token id is not registered.
    error UnknownToken(uint16 tokenId);
    /// @notice The token is not registered.
    error TokenNotRegistered(IERC20 token);
    /// @notice The token is already registered.
    error TokenAlreadyRegistered(IERC20 token);
    /// @notice The address has no code: no token to list.
    error TokenWithoutCode(IERC20 token);
    /// @notice Every token id is assigned.
    error TokenLimitReached();
    /// @notice The market id is not registered.
    error UnknownMarket(uint16 marketId);
    /// @notice Every market id is assigned.
    error MarketLimitReached();
    /// @notice The market's base token is the quote token or unregistered.
    error InvalidBaseToken(uint16 baseTokenId);
    /// @notice A market unit is zero.
    error ZeroUnit();
    /// @notice The deposit amount (requested, or actually received) is zero or does not fit in 96 bits.
    error InvalidDepositAmount(uint256 amount);
    /// @notice The deposit brought `received` of token `tokenId`, less than its minimum.
    error DepositBelowMinimum(uint16 tokenId, uint256 received, uint96 minimum);
    /// @notice After the deposit the custodian would hold `holdings` >= 2^128 of token `tokenId`.
    error TokenHoldingsLimit(uint16 tokenId, uint256 holdings);
    /// @notice A token's minimum deposit is zero.
    error ZeroMinDeposit();
    /// @notice The account's previous REGISTER_KEY request (queue index `requestIndex`) is not consumed yet.
    error KeyRotationPending(uint32 accountId, uint64 requestIndex);
    /// @notice The admin role and TIMELOCK_ROLE cannot be renounced, nor an admin transfer to the zero address begun.
    error AdminRenounceRefused();
    /// @notice The admin transfer delay cannot be set below {minAdminDelay}.
    error AdminDelayTooShort(uint48 delay);
    /// @notice Revoking or renouncing `account`'s OPERATOR_ROLE would leave no operator.
    error LastOperator(address account);
    /// @notice (x, y) is not an acceptable Baby Jubjub public key for the oracle.
    error InvalidOracleKey(uint256 x, uint256 y);
    /// @notice The instrument kind is not 1 (perpetual), 2 (dated future), 3 (call) or 4 (put).
    error InvalidInstrumentKind(uint8 kind);
    /// @notice The underlying index is not below {underlyings}.
    error UnknownUnderlying(uint8 underlying);
    /// @notice The lot size is zero or does not fit in 48 bits.
    error InvalidLotSize(uint64 lotSizeE6);
    /// @notice `tickSizeE8 * lotSizeE6 / 10^8` is not exact, is zero, or does not fit in 48 bits.
    error InvalidTickSize(uint64 tickSizeE8, uint64 lotSizeE6);
    /// @notice Margin rates are not `0 < mmPpm <= imPpm <= 10^6`.
    error InvalidMarginRates(uint32 imPpm, uint32 mmPpm);
    /// @notice An option's strike is outside [2^16, 2^50), or a perpetual's or future's strike is not 0.
    error InvalidStrike(uint64 strike);
    /// @notice Longest time to expiry of a dated instrument at registration. The circuit's Black-Scholes time
    /// input, expiry minus the oracle time, is proven below 2^26 s (circuits/lib/fixed/SPEC.md); a batch that
    /// marks the instrument comes after this block, is stamped at most MAX_BATCH_AGE before its own block, and
    /// its oracle update is at most MAX_ORACLE_AGE older than its stamp, so its oracle time is at least
    /// `block.timestamp - MAX_BATCH_AGE - MAX_ORACLE_AGE` of the registering block (DERIVATIVES.md, "Ranges").
    uint256 public constant MAX_EXPIRY_SECONDS = RegistrationRules.MAX_EXPIRY_SECONDS;

    /// @notice A perpetual's expiry is not 0, or a dated instrument's expiry is less than MIN_EXPIRY_LEAD (one
    /// hour) ahead or MAX_EXPIRY_SECONDS or more ahead (the circuit's Black-Scholes is proven for shorter times only).
    error InvalidExpiry(uint32 expiry);
    /// @notice A perpetual's funding cap exceeds 10^6 ppm or lets one funding step reach 2^43 at the highest oracle
    /// price (`fundingCapPpm * lotSizeE6 * (2^50 - 1) >= 2^43 * 10^14`), or a dated instrument's cap is not 0.
    error InvalidFundingCap(uint32 fundingCapPpm);
    /// @notice No instrument id of this class (options, or perpetuals and futures) is available: each is in use
    /// (not free in the latest batch's mask, or its latest registration not yet consumed) or has used up its market
    /// ids ({RegistrationRules-availableInstrumentId}).
    error InstrumentLimitReached(bool option);
    /// @notice The instrument id is not registered.
    error UnknownInstrument(uint16 instrumentId);
    /// @notice A batch uses the oracle but no oracle key is registered.
    error OracleKeyNotSet();
    /// @notice A batch uses the oracle under a key other than the registered one.
    error OracleKeyMismatch(uint256 expected, uint256 actual);
    /// @notice The oracle section's oracleUsed byte is neither 0 nor 1.
    error BadOracleUsed(uint8 value);
    /// @notice Public data is not exactly {publicDataBytes} bytes.
    error BadPublicDataLength(uint256 expected, uint256 actual);
    /// @notice The batch's old root is not the current state root.
    error StaleRoot(uint256 expected, uint256 actual);
    /// @notice A batch must come in the calldata of the transaction itself: sent by an account with no code (not a
    /// contract, nor an EOA delegated to code by EIP-7702) that is the transaction's origin.
    error BatchNotInCalldata(address sender);
    /// @notice The batch number is not the number of accepted batches.
    error BadBatchNumber(uint32 expected, uint32 actual);
    /// @notice The batch timestamp goes back in time, or is too far from the block's.
    error BadTimestamp(uint32 timestamp);
    /// @notice The batch's request records are not the next queued requests, in order.
    error UnqueuedRequest(uint256 firstRequest, uint256 count);
    /// @notice A slot record has a transaction type its slot cannot hold: spot slots (0 .. slots - 1) hold types
    /// 0 to 6, 12 (FORCED_WITHDRAW) and 14 (FEE_WITHDRAW), derivatives slots (slots .. slots + derivSlots - 1) hold
    /// 0, 7 to 11, 13 (FORCED_COLLATERAL_WITHDRAW) and 15 (INSURANCE_WITHDRAW).
    error UnknownTxType(uint256 slot, uint8 txType);
    /// @notice Nothing credited to the caller in this token.
    error NothingToWithdraw(uint16 tokenId);

    /// @param verifier_ Batched Groth16 verifier of the batch circuit (IBatchGroth16Verifier).
    /// @param genesisRoot State root of the empty exchange (with the same tree parameters as the circuit).
    /// @param quoteToken_ The quote asset, registered as token 0.
    /// @param quoteMinDeposit The quote token's minimum deposit ({minDeposit}); non-zero.
    /// @param admin The admin (DEFAULT_ADMIN_ROLE): registers tokens, markets and instruments, sets the first oracle
    /// key. Non-zero (AccessControlInvalidDefaultAdmin otherwise).
    /// @param operator The first holder of OPERATOR_ROLE: submits batches.
    /// @param maxAccounts_ 4^accountLevels, at most 4^MAX_ACCOUNT_LEVELS = 2^24.
    /// @param maxTokens_ 4^balanceLevels.
    /// @param maxMarkets_ 4^marketLevels, at most {MAX_MARKETS}.
    /// @param slots_ Spot transaction slots per batch.
    /// @param derivatives Derivatives sizes of the circuit (sequencer/protocol/params.ts), checked as its
    /// `checkParams` does: at least one and at most SETTLEMENT_MAX_UNDERLYINGS underlyings, `optionInstruments <= instruments`,
    /// `instruments <= MAX_TABLE_INSTRUMENTS` (64: the instrument table every batch marks, and the 64-bit
    /// {freeInstruments} mask); and derivSlots > 0 when instruments > 0 (otherwise an instrument
    /// registration could never be consumed and would block the request queue); and the marks registry, the zero
    /// address or a contract (InvalidMarksRegistry for an account without code).
    /// @param exitConfig The request deadline (in (0, MAX_REQUEST_DEADLINE]), the exit circuit's verifier, the
    /// timelock (non-zero; an AdminTimelock, whose floor `minDelayFloor()`, the least delay it can ever have, must
    /// exceed the deadline, TimelockDelayTooShort otherwise; a contract without that view, such as OpenZeppelin's
    /// TimelockController, which can lower its delay and run a call scheduled under the low one, reverts), which gets
    /// TIMELOCK_ROLE, and the treasury (non-zero), the first {feeRecipient} and {insuranceRecipient}. The admin
    /// transfer delay starts at requestDeadline + ADMIN_TRANSFER_DELAY.
    constructor(
        IBatchGroth16Verifier verifier_,
        uint256 genesisRoot,
        IERC20 quoteToken_,
        uint96 quoteMinDeposit,
        address admin,
        address operator,
        uint32 maxAccounts_,
        uint16 maxTokens_,
        uint16 maxMarkets_,
        uint256 slots_,
        DerivativesConfig memory derivatives,
        ExitConfig memory exitConfig
    )
        AccessControlDefaultAdminRules(
            uint48(exitConfig.requestDeadline > MAX_REQUEST_DEADLINE ? 0 : exitConfig.requestDeadline) + ADMIN_TRANSFER_DELAY,
            admin
        )
    {
        if (
            address(verifier_) == address(0) || address(quoteToken_) == address(0) || operator == address(0)
                || address(exitConfig.exitVerifier) == address(0) || exitConfig.timelock == address(0)
        ) revert ZeroAddress();
        _setTreasuryRecipients(exitConfig.treasury, exitConfig.treasury);
        if (exitConfig.requestDeadline == 0 || exitConfig.requestDeadline > MAX_REQUEST_DEADLINE) {
            revert InvalidRequestDeadline(exitConfig.requestDeadline);
        }
        uint256 timelockDelay = ITimelockDelay(exitConfig.timelock).minDelayFloor();
        if (timelockDelay <= exitConfig.requestDeadline) revert TimelockDelayTooShort(timelockDelay, exitConfig.requestDeadline);
        requestDeadline = exitConfig.requestDeadline;
        exitVerifier = exitConfig.exitVerifier;
        timelock = exitConfig.timelock;
        minAdminDelay = uint48(exitConfig.requestDeadline) + ADMIN_TRANSFER_DELAY;
        _setRoleAdmin(OPERATOR_ROLE, TIMELOCK_ROLE);
        // TIMELOCK_ROLE is the timelock's alone, for good: its admin is a role nobody holds. Were it its own admin, one
        // announced grant to another address would make every later timelocked change (a new oracle key, operators,
        // the treasury's recipients, an insurance withdrawal) take effect at once, unannounced (review of 2026-12-06).
        // NO_ADMIN_ROLE is its own admin: left to the default (DEFAULT_ADMIN_ROLE), the admin could grant itself
        // NO_ADMIN_ROLE, then TIMELOCK_ROLE, and skip the timelock altogether.
        _setRoleAdmin(TIMELOCK_ROLE, NO_ADMIN_ROLE);
        _setRoleAdmin(NO_ADMIN_ROLE, NO_ADMIN_ROLE);
        _grantRole(TIMELOCK_ROLE, exitConfig.timelock);
        if (maxAccounts_ < 2 || maxAccounts_ > MAX_ACCOUNTS || maxTokens_ == 0 || maxMarkets_ == 0 || maxMarkets_ > MAX_MARKETS || slots_ == 0) {
            revert InvalidCapacity();
        }
        _checkDerivativesConfig(derivatives);
        if (genesisRoot >= FIELD_MODULUS) revert InvalidRoot(genesisRoot);

        verifier = verifier_;
        maxAccounts = maxAccounts_;
        maxTokens = maxTokens_;
        maxMarkets = maxMarkets_;
        slots = slots_;
        derivSlots = derivatives.derivSlots;
        underlyings = derivatives.underlyings;
        instruments = derivatives.instruments;
        optionInstruments = derivatives.optionInstruments;
        marksRegistry = derivatives.marksRegistry;
        uint256 recordsOffset =
            ProtocolConstants.HEADER_BYTES + PublicData.oracleSectionBytes(derivatives.underlyings, derivatives.optionInstruments, derivatives.instruments); // a vol slice per option id
        _recordsOffset = recordsOffset;
        _marksKeyOffset = PublicData.marksKeyOffset(recordsOffset, derivatives.instruments);
        publicDataBytes = recordsOffset + (slots_ + derivatives.derivSlots) * ProtocolConstants.RECORD_BYTES;
        freeInstruments = uint64((1 << derivatives.instruments) - 1);
        stateRoot = genesisRoot;

        _grantRole(OPERATOR_ROLE, operator);
        _addToken(quoteToken_, quoteMinDeposit);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Requests
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Registers the caller's Baby Jubjub trading key. The first call assigns the caller the next
    /// account id; later calls rotate the key of the caller's account. Queues a REGISTER_KEY request.
    /// @dev The key must be in the prime-order subgroup and not the identity ({BabyJubjub-isValidPublicKey}): with a
    /// low-order key every signature, or a large share of them, verifies; a mixed-order key (a subgroup point plus
    /// a torsion point) verifies exactly the signatures of the subgroup point, because the circuit's EdDSA check
    /// multiplies by the cofactor. Costs one 251-bit scalar multiplication, about 103k gas.
    /// Rotation bound: an account may have at most one REGISTER_KEY in the queue that no accepted batch has
    /// consumed (KeyRotationPending otherwise). Unbounded rotations would let one account push every later request
    /// (a victim's deposit) back by thousands of batches for the price of gas alone; with the bound, the key
    /// requests in the queue never outnumber the accounts, and each new account costs a fresh address, a slot of
    /// the account tree ({maxAccounts}, AccountTreeFull once all are used) and a transaction of about 200k gas. A fee
    /// would only price the flood, not bound it; the bound costs an honest user nothing (the next batch consumes
    /// the pending registration, and rotating twice before that is the same as rotating once to the last key).
    /// Forced cancel: rotating to a new key is how an owner cancels all its orders without the operator. The
    /// REGISTER_KEY request gets the request deadline like any other (exodus if no batch consumes it in time), and
    /// once consumed the circuit's signature check refuses every order the old key signed.
    /// Runs in {RegistrationRules-registerKey}; a new account id and the request are counted here.
    /// @param x The key's x coordinate (< field modulus).
    /// @param y The key's y coordinate (< field modulus).
    /// @return accountId The caller's account id.
    function registerTradingKey(uint256 x, uint256 y) external returns (uint32 accountId) {
        uint32 count = accountCount;
        accountId = RegistrationRules.registerKey(
            accountOf, _accounts, _requestChain, _queued, requestCount, processedRequests, exodusMode, count, maxAccounts, x, y
        );
        if (accountId > count) accountCount = accountId;
        ++requestCount;
    }

    /// @notice Deposits `amount` of token `tokenId` from the caller to the caller's own account.
    /// @dev The caller must have approved the custodian. The amount credited (and queued) is the amount
    /// actually received, so a fee-on-transfer token cannot inflate a balance; it must be at least the token's
    /// {minDeposit} (DepositBelowMinimum), below 2^96, and leave the custodian holding less than 2^128 of the token
    /// (TokenHoldingsLimit).
    /// @param tokenId A registered token id.
    /// @param amount Amount to transfer, in the token's base units; non-zero.
    function deposit(uint16 tokenId, uint96 amount) external nonReentrant {
        uint32 accountId = accountOf[msg.sender];
        if (accountId == 0) revert NoAccount(msg.sender);
        _deposit(accountId, tokenId, amount);
    }

    /// @notice Deposits `amount` of token `tokenId` from the caller to account `accountId`.
    /// @dev As {deposit}; the account must exist. The minimum deposit is what makes flooding the queue through
    /// other people's accounts expensive: each queued deposit gives the account at least {minDeposit}.
    /// @param accountId An assigned account id.
    /// @param tokenId A registered token id.
    /// @param amount Amount to transfer, in the token's base units; non-zero.
    function depositTo(uint32 accountId, uint16 tokenId, uint96 amount) external nonReentrant {
        if (_accounts[accountId].owner == address(0)) revert UnknownAccount(accountId);
        _deposit(accountId, tokenId, amount);
    }

    /// @notice Queues a forced withdrawal of `amount` of spot token `tokenId` from the caller's account
    /// (FORCED_WITHDRAW: a spot slot proves it honoured, crediting {withdrawable}, if the balance covers it, and
    /// refused otherwise). The next batches must consume it within {requestDeadline}, or exodus becomes available.
    /// @dev Owner only (NoAccount). Refused: amount 0 (ZeroForcedAmount), an unknown token (UnknownToken), a
    /// second forced withdrawal (this or {forceWithdrawCollateral}) while the account's previous one is unconsumed
    /// (ForcedRequestPending; its forced closes do not count), more than
    /// MAX_OPEN_FORCED_REQUESTS open (TooManyForcedRequests), and anything in exodus (ExodusModeActive).
    /// @param tokenId A registered token id.
    /// @param amount Amount to withdraw, in the token's base units; non-zero.
    /// @return requestIndex The request's queue index.
    function forceWithdraw(uint16 tokenId, uint96 amount) external returns (uint256 requestIndex) {
        if (tokenId >= _tokens.length) revert UnknownToken(tokenId);
        return _forceWithdraw(ProtocolConstants.TX_FORCED_WITHDRAW, tokenId, amount);
    }

    /// @notice Queues a forced withdrawal of `amount` of the caller's derivatives collateral (quote, token 0):
    /// FORCED_COLLATERAL_WITHDRAW, proven by a derivatives slot honoured if the account's equity after it still
    /// covers its initial margin, refused otherwise. The slot judges it at the marks of its batch's oracle update
    /// and the circuit serves it only in a batch with one, so the operator cannot refuse it by leaving the update
    /// out: without updates it stays unconsumed, and exodus becomes available at its deadline.
    /// @dev Rules as {forceWithdraw}; NoDerivativesSlots on a spot-only custodian, OracleKeyNotSet before the
    /// oracle key is set (no collateral can exist before, and no batch could serve the request).
    /// @param amount Amount of collateral to withdraw; non-zero.
    /// @return requestIndex The request's queue index.
    function forceWithdrawCollateral(uint96 amount) external returns (uint256 requestIndex) {
        _checkJudgedAtMarks();
        return _forceWithdraw(ProtocolConstants.TX_FORCED_COLLATERAL_WITHDRAW, 0, amount);
    }

    /// @notice Queues a forced close of `lots` of the caller's position in instrument `instrumentId` against account
    /// `counterpartyId`, which holds the other side (FORCED_CLOSE: the derivatives slot proves it honoured exactly
    /// when the caller holds at least `lots` in its position's direction and the counterparty at least `lots` on the
    /// other side; the lots then pass to the counterparty at the batch's mark, which moves neither equity, and no
    /// margin rule applies). So a trader whose closing orders the operator never matches still leaves its position:
    /// the next batches must serve it within {requestDeadline}, in a batch with an oracle update, or exodus becomes
    /// available. The counterparty is the caller's to choose from the public data (anyone can rebuild every
    /// position); a refused request moves nothing (the request chain fixes its fields, so the operator cannot
    /// change them).
    /// @dev Rules as {forceWithdrawCollateral} (the cap and its waiting line), except that an account has one
    /// unconsumed forced close per instrument id (ForcedRequestPending), beside its forced withdrawal: a trader holding
    /// several positions closes them all within one request deadline (before 2026-12-06 one forced request per account:
    /// a position per deadline, while the timelock's margin over the deadline is one deadline); BadForcedClose for an id beyond the table, a counterparty that is the caller or no assigned account, or
    /// lots outside [1, 2^40). Queued as an outcome record of {forceWithdraw}'s shape:
    /// `instrumentId` where the token is, `counterpartyId << 64 | lots` where the amount is.
    /// @param instrumentId The instrument id (below {instruments}).
    /// @param counterpartyId The account that takes the lots.
    /// @param lots Lots to close, in [1, 2^40).
    /// @return requestIndex The request's queue index (or WAITING).
    function forceClose(uint16 instrumentId, uint32 counterpartyId, uint64 lots) external returns (uint256 requestIndex) {
        _checkJudgedAtMarks();
        if (
            instrumentId >= instruments || counterpartyId == accountOf[msg.sender] || _accounts[counterpartyId].owner == address(0)
                || lots == 0 || lots >= 1 << ProtocolConstants.BITS_LOTS
        ) revert BadForcedClose(instrumentId, counterpartyId, lots);
        return _forceWithdraw(ProtocolConstants.TX_FORCED_CLOSE, instrumentId, uint96(counterpartyId) << 64 | lots);
    }

    /// @dev Refunds, exits and their claims exist only in exodus (NotInExodus).
    function _requireExodus() private view {
        if (!exodusMode) revert NotInExodus();
    }

    /// @dev A forced request a derivatives slot judges at its batch's marks needs derivatives slots (NoDerivativesSlots),
    /// no exodus (ExodusModeActive) and the oracle key (OracleKeyNotSet: no batch could serve it without one).
    function _checkJudgedAtMarks() private view {
        if (derivSlots == 0) revert NoDerivativesSlots();
        if (exodusMode) revert ExodusModeActive();
        if (oracleKey == 0) revert OracleKeyNotSet();
    }

    /// @notice Queues a FEE_WITHDRAW of `amount` of the fee pool (quote, token 0): a spot slot proves it honoured
    /// if the fee pool covers the amount, crediting {feeRecipient}'s {withdrawable}, and refused otherwise.
    /// Operator only.
    /// @dev The record is FORCED_WITHDRAW's shape with accountId 0 and tokenId 0, queued with honoured 0 and the
    /// time and caller like every request: the request chain fixes the amount, the next batches must consume it
    /// within {requestDeadline} (or exodus becomes available to anyone), and it counts against
    /// MAX_OPEN_FORCED_REQUESTS until a batch consumes it. Refused: amount 0 (ZeroTreasuryWithdrawal), a second
    /// FEE_WITHDRAW while one is unconsumed (TreasuryRequestPending), a full cap (TooManyForcedRequests), and
    /// anything in exodus (ExodusModeActive). The recipient credited is the one set when the batch is accepted.
    /// @param amount Amount of quote to withdraw from the fee pool; non-zero.
    /// @return requestIndex The request's queue index (RequestQueued carries the record).
    function requestFeeWithdrawal(uint96 amount) external onlyRole(OPERATOR_ROLE) returns (uint256 requestIndex) {
        requestIndex = _requestTreasury(ProtocolConstants.TX_FEE_WITHDRAW, _feeRequestPlusOne, amount);
        _feeRequestPlusOne = uint64(requestIndex + 1);
    }

    /// @notice Queues an INSURANCE_WITHDRAW of `amount` of the insurance fund (quote, token 0): a derivatives slot
    /// proves it honoured if the fund minus the open bad debt covers the amount (and the collateral side holds it),
    /// crediting {insuranceRecipient}'s {withdrawable}, and refused otherwise. TIMELOCK_ROLE only: announced by the
    /// timelock (CallScheduled) longer than the request deadline in advance. Rules as {requestFeeWithdrawal}, and
    /// NoDerivativesSlots on a spot-only custodian (nothing could consume it).
    /// @dev The fund is what covers a liquidated account's deficit before anyone else's positions do (DELEVERAGE), so
    /// draining it changes what traders trusted: the proven rule keeps it at the open bad debt, but an account under
    /// water and not yet liquidated has no open bad debt, and the operator chooses when liquidations are batched. With
    /// the operator's role alone it could withdraw the fund ahead of a liquidation it delays and have the deficit
    /// deleveraged onto the traders on the other side (review of 2026-12-06). Through the timelock, everyone sees the
    /// withdrawal coming and can close positions or leave first, as for the oracle key and the operators.
    /// @param amount Amount of quote to withdraw from the insurance fund; non-zero.
    /// @return requestIndex The request's queue index.
    function requestInsuranceWithdrawal(uint96 amount)
        external
        onlyRole(TIMELOCK_ROLE)
        returns (uint256 requestIndex)
    {
        if (derivSlots == 0) revert NoDerivativesSlots();
        requestIndex = _requestTreasury(ProtocolConstants.TX_INSURANCE_WITHDRAW, _insuranceRequestPlusOne, amount);
        _insuranceRequestPlusOne = uint64(requestIndex + 1);
    }

    /// @notice Registers an ERC20 token under the next token id, with its minimum deposit. Admin only.
    /// @dev Listing stays with the admin, without the timelock: it is additive (a new token id no balance holds
    /// yet) and changes nothing any depositor holds; the same holds for {registerMarket} and {registerInstrument}
    /// (a new market or instrument starts empty, and registered parameters never change: an instrument id is given
    /// to a new instrument only once no position holds its previous one, and the new one's orders sign a market id
    /// of their own).
    /// The minimum is fixed at registration: no later call can raise it and lock deposits out, or lower it
    /// and reopen the queue to dust. Choose it in the token's base units, large enough that thousands of queued
    /// deposits cost real capital (each one is the depositor's or, through {depositTo}, a gift to the account)
    /// and small enough for any real user: e.g. 1 USDC (10^6) or 0.0005 WETH (5 * 10^14).
    /// Refused: an address without code, the zero address included (TokenWithoutCode), a registered token,
    /// minimum 0, every id taken, and anything in exodus (ExodusModeActive).
    /// @param token The token; not yet registered.
    /// @param minDeposit_ The smallest amount a deposit of the token may bring, in base units; non-zero.
    /// @return tokenId The new token id.
    function registerToken(IERC20 token, uint96 minDeposit_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint16 tokenId)
    {
        // nothing is listed in exodus, and an address without code (the zero address included) is no token yet: code
        // put there later would be a token the admin never saw
        if (exodusMode) revert ExodusModeActive();
        if (address(token).code.length == 0) revert TokenWithoutCode(token);
        return _addToken(token, minDeposit_);
    }

    /// @notice Registers a market BASE/QUOTE under the next market id and queues a REGISTER_MARKET request.
    /// Admin only.
    /// @param baseTokenId A registered token id other than the quote token (0).
    /// @param sizeUnit Base-token units per lot; non-zero.
    /// @param priceUnit Quote-token units per price tick per lot; non-zero.
    /// @return marketId The new market id.
    function registerMarket(uint16 baseTokenId, uint64 sizeUnit, uint64 priceUnit)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (uint16 marketId)
    {
        marketId = RegistrationRules.registerMarket(
            _markets, _requestChain, _queued, requestCount, exodusMode, _tokens.length, maxMarkets, baseTokenId, sizeUnit, priceUnit
        );
        ++requestCount;
    }

    /// @notice Registers a derivative instrument under the lowest available id of its class and queues a
    /// REGISTER_INSTRUMENT request. Admin only. The rules are those the circuit proves for the record
    /// (circuits/DERIVATIVES.md), so a queued registration can always be consumed.
    /// @dev Ids: options (calls, puts) take the option ids `instruments - optionInstruments .. instruments - 1`,
    /// perpetuals and futures the other ids `0 ..`, each the lowest available one of its class
    /// ({RegistrationRules-availableInstrumentId}): free in the latest accepted batch's mask ({freeInstruments}: never
    /// registered, or settled with no open position), its latest registration consumed by an accepted batch, and
    /// its next market id ({instrumentMarketId}) at most MAX_INSTRUMENT_MARKET_ID. An id is so reused once its
    /// instrument is settled and closed; each class runs out on its own (InstrumentLimitReached). A reused id's
    /// {instrument} shows the new parameters, and its orders sign the next market id of the id (generation + 1).
    /// The tick value is derived as `tickSizeE8 * lotSizeE6 / 10^8` and must be exact and below 2^48 (its record field).
    /// Besides the circuit's rules, a perpetual's or future's strike must be 0 (it means nothing for them) and a
    /// dated instrument's expiry must be after the current block, and an option needs a {marksRegistry}
    /// (OptionsNeedMarksRegistry: no batch could read its mark without one).
    /// @param kind 1 perpetual, 2 dated future, 3 call, 4 put.
    /// @param underlying The oracle's underlying index, below {underlyings}.
    /// @param lotSizeE6 Underlying per lot, in 1e-6 units; in (0, 2^40) (its record field, RegistrationRules.MAX_LOT_SIZE).
    /// @param tickSizeE8 Price tick, in 1e-8 quote per whole underlying unit.
    /// @param imPpm Initial margin rate, ppm; `mmPpm <= imPpm <= 10^6`.
    /// @param mmPpm Maintenance margin rate, ppm; `0 < mmPpm`.
    /// @param strike Options: strike in 1e-8 quote per underlying, in [2^16, 2^50). Others: 0.
    /// @param expiry Perpetuals: 0. Others: unix seconds, at least an hour and less than MAX_EXPIRY_SECONDS after the current block.
    /// @param fundingCapPpm Perpetuals: cap on |funding rate| per period, ppm, <= 10^6, with
    /// `fundingCapPpm * lotSizeE6 * (2^50 - 1) < 2^43 * 10^14` (every funding tick provable). Others: 0.
    /// @return instrumentId The new instrument id.
    function registerInstrument(
        uint8 kind,
        uint8 underlying,
        uint64 lotSizeE6,
        uint64 tickSizeE8,
        uint32 imPpm,
        uint32 mmPpm,
        uint64 strike,
        uint32 expiry,
        uint32 fundingCapPpm
    ) external onlyRole(DEFAULT_ADMIN_ROLE) returns (uint16 instrumentId) {
        PublicData.Instrument memory p = PublicData.Instrument({
            kind: kind,
            underlying: underlying,
            lotSizeE6: lotSizeE6,
            tickValue: 0,
            imPpm: imPpm,
            mmPpm: mmPpm,
            strike: strike,
            expiry: expiry,
            fundingCapPpm: fundingCapPpm
        });
        return _registerInstrument(p, tickSizeE8);
    }

    /// @dev {RegistrationRules-registerInstrument} on this custodian's storage (out of {registerInstrument}, whose nine
    /// arguments leave no stack for the call's).
    function _registerInstrument(PublicData.Instrument memory p, uint64 tickSizeE8) private returns (uint16 instrumentId) {
        if (address(marksRegistry) == address(0) && RegistrationRules.isOption(p.kind)) revert OptionsNeedMarksRegistry();
        instrumentId = RegistrationRules.registerInstrument(
            _instruments, _instrumentIds, _requestChain, _queued, exodusMode, p, tickSizeE8, underlyings, _idContext()
        );
        ++requestCount;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Oracle
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Sets the oracle's Baby Jubjub public key: the first time the admin's (DEFAULT_ADMIN_ROLE), a
    /// replacement only TIMELOCK_ROLE's. A batch that uses the oracle must carry this key in its oracle section;
    /// the circuit checks the prices are signed under it.
    /// @dev The oracle's prices move every open derivatives position, so a new key changes what depositors trusted:
    /// it goes through the timelock, announced longer than the request deadline in advance. The first key may stay
    /// with the admin: no batch can use the oracle, so no derivatives position can exist, before it is set.
    /// The key is checked as {registerTradingKey} checks trading keys, and stored compressed.
    /// @param x The key's x coordinate (< field modulus).
    /// @param y The key's y coordinate (< field modulus).
    function setOracleKey(uint256 x, uint256 y) external {
        uint256 previous = oracleKey;
        _checkRole(previous == 0 ? DEFAULT_ADMIN_ROLE : TIMELOCK_ROLE);
        uint256 key = RegistrationRules.oracleKey(x, y);
        oracleKey = key;
        emit OracleKeySet(x, y, key, previous);
    }

    /// @notice Replaces the treasury's recipients: `fee` gets what honoured FEE_WITHDRAW records pay, `insurance`
    /// what honoured INSURANCE_WITHDRAW records pay, from the next accepted batch on. TIMELOCK_ROLE only, so the
    /// change is announced by the timelock (CallScheduled) and lands only after its delay; zero addresses are
    /// refused (ZeroAddress). Emits TreasuryRecipientsSet.
    /// @param fee The new {feeRecipient}.
    /// @param insurance The new {insuranceRecipient}.
    function setTreasuryRecipients(address fee, address insurance) external onlyRole(TIMELOCK_ROLE) {
        _setTreasuryRecipients(fee, insurance);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Roles
    // ------------------------------------------------------------------------------------------------------------

    /// @notice As {AccessControlDefaultAdminRules-renounceRole}, except that DEFAULT_ADMIN_ROLE and TIMELOCK_ROLE can
    /// never be renounced (AdminRenounceRefused) and the last operator cannot renounce OPERATOR_ROLE (LastOperator).
    /// @dev Without an admin, a lost or compromised operator or oracle key could never be replaced and no token,
    /// market or instrument registered again, while deposits keep arriving: everything would freeze for good. That
    /// holds whether or not the custodian holds funds when the admin leaves (funds deposited afterwards would be
    /// just as stuck), so the refusal is unconditional: the admin role only ever moves to a new holder, in two
    /// steps ({beginDefaultAdminTransfer}, then {acceptDefaultAdminTransfer} by the new admin after the delay).
    /// TIMELOCK_ROLE is the only way operators, the oracle key and the treasury's recipients change, and nobody can
    /// grant it again (its role admin is NO_ADMIN_ROLE): a timelock that renounced it (one announced call) would
    /// freeze them for good, a lost oracle key included, so it is refused the same way (review of 2026-12-06).
    function renounceRole(bytes32 role, address account) public override {
        if (role == DEFAULT_ADMIN_ROLE || role == TIMELOCK_ROLE) revert AdminRenounceRefused();
        super.renounceRole(role, account);
    }

    /// @dev A transfer to the zero address is how {AccessControlDefaultAdminRules} schedules a renounce: refused,
    /// as {renounceRole} is.
    function _beginDefaultAdminTransfer(address newAdmin) internal override {
        if (newAdmin == address(0)) revert AdminRenounceRefused();
        super._beginDefaultAdminTransfer(newAdmin);
    }

    /// @dev The admin transfer delay may be raised (after the base contract's wait) but never set below
    /// {minAdminDelay}, which exceeds the request deadline.
    function _changeDefaultAdminDelay(uint48 newDelay) internal override {
        if (newDelay < minAdminDelay) revert AdminDelayTooShort(newDelay);
        super._changeDefaultAdminDelay(newDelay);
    }

    /// @dev Counts the holders of OPERATOR_ROLE (granted by TIMELOCK_ROLE only, its role admin), and refuses the zero address as one: counted as an operator, it
    /// would let the real one be revoked while nobody can submit a batch.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        if (role == OPERATOR_ROLE && account == address(0)) revert ZeroAddress();
        granted = super._grantRole(role, account);
        if (granted && role == OPERATOR_ROLE) ++operatorCount;
    }

    /// @dev TIMELOCK_ROLE acts only while the timelock's delay still exceeds the request deadline, as at deployment
    /// (TimelockDelayTooShort otherwise): a timelock that lowered its own delay (`updateDelay`, itself announced) can
    /// no longer change what depositors trusted faster than they can leave.
    function _checkRole(bytes32 role, address account) internal view override {
        super._checkRole(role, account);
        if (role == TIMELOCK_ROLE) {
            uint256 delay = ITimelockDelay(timelock).getMinDelay();
            if (delay <= requestDeadline) revert TimelockDelayTooShort(delay, requestDeadline);
        }
    }

    /// @dev Refuses to take OPERATOR_ROLE from its last holder ({revokeRole} and {renounceRole} both come here):
    /// with no operator no batch could ever be submitted, and no deposit or withdrawal completed, again.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (revoked && role == OPERATOR_ROLE) {
            if (operatorCount == 1) revert LastOperator(account);
            --operatorCount;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Batches
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Verifies a batch and accepts its new state root. Operator only; never in exodus mode.
    /// @dev Checks, in order: the sender (the transaction's origin, with no code: BatchNotInCalldata, so the public
    /// data is in the transaction's own calldata, where readers find it), exodus mode off, length, old root, batch number, timestamp window, new root in the field, the
    /// oracle section (oracleUsed 0, or 1 with the registered oracle key; a marks key of 0, or one {marksRegistry}
    /// has recorded, MarksNotRecorded otherwise; the circuit checks the rest), every
    /// record (each slot's type must be one its slot class holds; request records must be the next queued
    /// requests in order, spot records before derivatives records, outcome requests (forced and treasury
    /// withdrawals) in their queued form with an outcome byte of 0 or 1; WITHDRAW records must name an assigned
    /// account and a registered token). It then writes the root, counters, withdrawal credits (WITHDRAW, honoured
    /// forced records to the accounts' owners, honoured treasury records to {feeRecipient} and
    /// {insuranceRecipient}), the custody ledger ({owed}), the free instrument ids ({freeInstruments}, the oracle
    /// section's closing mask) and, for an oracle batch, {lastPrices}, and last checks the proof for the public inputs
    /// {PublicData-publicInputs} (the public data in 31-byte chunks) with the verifier, a view call: a failure
    /// (InvalidProof) reverts the whole transaction, so nothing changes unless the proof holds. Nothing before the
    /// verifier's call moves tokens or calls a contract other than the custodian's own libraries and, with a static
    /// call before any write, {marksRegistry}.
    /// @param publicData The batch's public data: header ++ oracle section ++ `slots` spot records ++ `derivSlots`
    /// derivatives records (sequencer/protocol/publicData.ts).
    /// @param proof The Groth16 proof as `[a0, a1, b00, b01, b10, b11, c0, c1]`, flattened from the three
    /// arguments of `snarkjs zkey export soliditycalldata` (B already swapped there):
    /// `a = [pi_a[0], pi_a[1]]`, `b = [[pi_b[0][1], pi_b[0][0]], [pi_b[1][1], pi_b[1][0]]]`, `c = [pi_c[0], pi_c[1]]`.
    function submitBatch(bytes calldata publicData, uint256[8] calldata proof)
        external
        onlyRole(OPERATOR_ROLE)
        nonReentrant
    {
        _submitBatch(publicData);
        uint256[] memory inputs = new uint256[](_inputsPerBatch());
        PublicData.writePublicInputs(publicData, inputs, 0);
        if (!verifier.verifyFlatProof(proof, inputs)) revert InvalidProof();
    }

    /// @notice Verifies several consecutive batches in one transaction: each is checked and applied in order
    /// exactly as {submitBatch} would (batch i + 1 against the root, counters and queue batch i left), then all
    /// proofs are checked together with one call of the batched verifier (`verifier.verifyProofs`: one pairing
    /// call of k + 3 pairs instead of k of 4, and one multi-scalar multiplication for all the proofs' inputs).
    /// Operator only; never in exodus mode.
    /// @dev If any batch breaks a rule or the combined check fails (InvalidProof; also for no batches, or a
    /// proof count other than the batch count), the whole transaction reverts and changes nothing. Emits
    /// {BatchSubmitted} per batch.
    /// @param publicData The batches' public data, in order (each as {submitBatch}'s).
    /// @param proofs Their proofs, in the same order (each flattened as {submitBatch}'s).
    function submitBatches(bytes[] calldata publicData, uint256[8][] calldata proofs)
        external
        onlyRole(OPERATOR_ROLE)
        nonReentrant
    {
        uint256 k = publicData.length;
        if (proofs.length != k || k == 0) revert InvalidProof();
        uint256 n = _inputsPerBatch();
        uint256[] memory inputs = new uint256[](k * n);
        for (uint256 i = 0; i < k; ++i) {
            _submitBatch(publicData[i]);
            PublicData.writePublicInputs(publicData[i], inputs, i * n);
        }
        if (!verifier.verifyProofs(proofs, inputs)) revert InvalidProof();
    }

    /// @dev The public inputs of one batch: its public data in PUBLIC_INPUT_CHUNK_BYTES chunks.
    function _inputsPerBatch() private view returns (uint256) {
        return (publicDataBytes + ProtocolConstants.PUBLIC_INPUT_CHUNK_BYTES - 1) / ProtocolConstants.PUBLIC_INPUT_CHUNK_BYTES;
    }

    /// @dev The body of {submitBatch} (see its checks and writes), without the proof: the caller must verify the
    /// batch's public inputs with its proof before the transaction ends, so that a failure reverts these writes.
    function _submitBatch(bytes calldata publicData) private {
        // The public data is published nowhere but in the transaction's calldata (BatchSubmitted carries its SHA-256),
        // and every exit needs the state rebuilt from it (sequencer/verifier reads each batch from its transaction's
        // input): an operator posting through a contract, or through code an EIP-7702 delegation gave its account,
        // could hide the data inside internal calls (review of 2026-12-06, Medium: exits then needed tooling of one's
        // own). So the operator's account must be the origin and have no code.
        if (msg.sender != tx.origin || msg.sender.code.length != 0) revert BatchNotInCalldata(msg.sender);
        if (exodusMode) revert ExodusModeActive();
        if (publicData.length != publicDataBytes) revert BadPublicDataLength(publicDataBytes, publicData.length);

        PublicData.Header memory header = PublicData.decodeHeader(publicData);
        if (header.oldRoot != stateRoot) revert StaleRoot(stateRoot, header.oldRoot);
        uint32 batchNumber = batchCount;
        if (header.batchNumber != batchNumber) revert BadBatchNumber(batchNumber, header.batchNumber);
        if (
            header.timestamp < lastTimestamp || header.timestamp > block.timestamp + MAX_FUTURE_DRIFT
                || uint256(header.timestamp) + MAX_BATCH_AGE < block.timestamp
        ) revert BadTimestamp(header.timestamp);
        if (header.newRoot >= FIELD_MODULUS) revert InvalidRoot(header.newRoot);
        bool oracleUsed = _checkOracle(publicData);
        _checkMarks(publicData);

        uint64 firstRequest = processedRequests;
        (uint64 consumed, uint16 forced, uint256 applySlots) = _checkRecords(publicData, firstRequest);

        stateRoot = header.newRoot;
        batchCount = batchNumber + 1;
        lastTimestamp = header.timestamp;
        processedRequests = firstRequest + consumed;
        openForcedRequests -= forced;
        // consumed outcome requests: admitted line entries among them leave the line, waiting ones take their places
        if (forced != 0 && _waitingLine.first != _waitingLine.tail) _admitWaiting();
        if (applySlots != 0) _applyRecords(publicData, batchNumber, applySlots);
        if (oracleUsed) _storePrices(publicData);
        _storeFreeInstruments(publicData);

        emit BatchSubmitted(batchNumber, header.oldRoot, header.newRoot, consumed, sha256(publicData));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Exodus
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Switches the custodian to exodus mode, for good: callable by anyone once the oldest unconsumed
    /// request is {requestDeadline} old (`block.timestamp >= exodusAvailableAt()`), a forced request that waited in
    /// line for a place counted from its call, not from its admission.
    /// @dev Until someone calls this, a batch that consumes the overdue request is still accepted (its owner is then
    /// served, and exodus waits for the next overdue request).
    /// From then on {submitBatch}, deposits, registrations and forced requests revert (ExodusModeActive);
    /// {stateRoot} is the root every exit is proven against; {refundDeposit}, {exit} and {withdraw} remain.
    /// The fee pool and the insurance fund are state-tree values no account owns: no exit claims them as such; they
    /// are part of the pooled quote, the pot the derivatives claims are paid from ({exit}; each account's derivatives
    /// equity is floored at 0, so the claims can exceed the zero-sum collateral; what no exit takes stays in the
    /// custodian). A treasury
    /// withdrawal still queued is simply never served: it refunds nothing ({refundDeposit} refuses every index
    /// but a deposit's) and its amount stays in the pool or fund it was to come from.
    function activateExodus() external {
        if (exodusMode) revert ExodusModeActive();
        uint256 availableAt = exodusAvailableAt();
        if (block.timestamp < availableAt) revert ExodusNotAvailable(availableAt);
        exodusMode = true;
        _exodusLedger.windowEnd = block.timestamp + ProtocolConstants.EXODUS_CLAIM_WINDOW;
        emit ExodusActivated(stateRoot, processedRequests, availableAt);
    }

    /// @notice In exodus, refunds queued deposit `index`, which no batch consumed, to the address that made it:
    /// credits its {withdrawable}, which it pulls with {withdraw} or {withdrawTo} (so a depositor that cannot
    /// receive the token, a blacklisted one, still takes it to another address). Anyone may call; once.
    /// @dev The record (accountId, tokenId, amount) must be the DEPOSIT the request chain committed to at `index`
    /// (RequestMismatch otherwise, which also refuses any other request type); `index` must be at least
    /// {processedRequests} and below {requestCount} (NotRefundable); a second refund reverts (AlreadyRefunded).
    /// Runs in {CustodianPayouts-refundDeposit}.
    function refundDeposit(uint256 index, uint32 accountId, uint16 tokenId, uint96 amount) external nonReentrant {
        _requireExodus();
        CustodianPayouts.refundDeposit(
            _requestChain, _queued, withdrawable, processedRequests, requestCount, index, accountId, tokenId, amount
        );
    }

    /// @notice In exodus, claims account `accountId`'s exit, as an exit proof against the frozen {stateRoot} and
    /// {lastPrices} shows it (circuits/exit/EXIT.md): its spot balance `amounts[t]` of every token id t
    /// (0 .. maxTokens - 1; token 0, the quote, without any equity), and its `derivativesClaim`, its derivatives
    /// equity floored at 0, paid in token 0 out of a pot of the frozen state's `pooledQuote` (every account's
    /// collateral, funding settled, plus the insurance fund and the fee pool): within the claim window recorded and
    /// paid pro rata once it ends ({claimDerivatives}), after it paid at once out of what the window's claims left.
    /// Owner only, once per account. What is paid is credited to the owner's {withdrawable}, pulled with {withdraw}.
    /// @dev Public data as sequencer/protocol/exitPublicData.ts: stateRoot(32) accountId(4) price(7) per underlying
    /// pooledQuote(16) derivativesClaim(16) amount(16) per token id; the proof's public inputs are that data in
    /// 31-byte big-endian chunks (the batch's rule, {PublicData-publicInputsOfMemory}), checked by {exitVerifier}'s
    /// `verifyFlatProof`. The proof binds `pooledQuote` to the root's globals, and every exit proves against the
    /// same frozen root, so every accepted exit carries the same `pooledQuote`.
    /// Custody: spot first, `paid[t] = min(amounts[t], balanceOf(this) - owed[t])`; the batch circuit keeps the
    /// pooled quote >= 0, so the spot balances of all accounts never exceed what the custodian holds for the state
    /// less the pooled quote, and every spot amount is paid in full (of a token whose `balanceOf` answers); what an
    /// exit cannot pay of a registered token's amount (its `balanceOf` failed, read as 0, or the custodian held less
    /// at that moment) is recorded, not credited ({ICustodianExits-ExitRemainderRecorded}), and paid in full later
    /// by {claimExitRemainder}. Then
    /// the derivatives claim: before the claim window's end ({exodusClaim}: EXODUS_CLAIM_WINDOW after exodus began)
    /// recorded, nothing paid; after it, `min(derivativesClaim, pooledQuote - min(windowClaims, pooledQuote) -
    /// latePaid)` is due, all of it taken from the pot (`latePaid` grows by it): paid at once as far as token 0 is
    /// still free, {exodusDerivativesPaid} growing by what was paid, and the rest (token 0 read short) recorded as
    /// the account's pending claim ({exodusClaim}), paid in full by {claimDerivatives}, never to a later exit. So derivatives
    /// claims never take the quote that backs spot balances, and together never exceed `pooledQuote`; when accounts
    /// under water at the last prices owe more than the insurance fund and the fee pool hold, the claims exceed the
    /// pot and every claim of the window is paid the same share of itself, the late ones only what the window's
    /// left. Token ids not registered are claimed (0 in any honest state) and paid 0. The custodian checks
    /// exodus mode (NotInExodus); the caller's ownership, the single exit (the account is marked exited first;
    /// AlreadyExited), the range checks, the proof check (InvalidProof) and the payout (ExitGasTooLow) run in
    /// {CustodianPayouts-exit}. Emits {ICustodianExits-Exited}. No token moves here, and the only external calls
    /// (the verifier, each token's `balanceOf`) are static.
    /// @param accountId The exiting account; the caller must own it (NotAccountOwner).
    /// @param amounts One spot amount per token id, each below 2^128 (BadExitAmounts).
    /// @param pooledQuote The frozen state's pooled quote, below 2^128 (BadExitAmounts); the proof binds it.
    /// @param derivativesClaim The account's derivatives equity floored at 0, below 2^128 (BadExitAmounts).
    /// @param proof The exit proof, flattened as {submitBatch}'s.
    function exit(
        uint32 accountId,
        uint256[] calldata amounts,
        uint256 pooledQuote,
        uint256 derivativesClaim,
        uint256[8] calldata proof
    ) external nonReentrant {
        _requireExodus();
        CustodianPayouts.ExitContext memory ctx = CustodianPayouts.ExitContext({
            root: stateRoot,
            exitVerifier: exitVerifier,
            maxTokens: maxTokens,
            underlyings: underlyings,
            accountId: accountId,
            pooledQuote: pooledQuote,
            derivativesClaim: derivativesClaim
        });
        CustodianPayouts.exit(_accounts, exited, withdrawable, owed, _tokens, _lastPrices, _exodusLedger, ctx, amounts, proof);
    }

    /// @notice Quote token (token 0) credited for derivatives claims so far, by late exits ({exit}) and by
    /// {claimDerivatives}: the part of the frozen state's pooled quote already paid out of the derivatives pot;
    /// never above that pooled quote.
    function exodusDerivativesPaid() external view returns (uint256) {
        return _exodusLedger.derivativesPaid;
    }

    /// @notice In exodus, once the claim window has ended ({exodusClaim}; ClaimWindowOpen before), pays
    /// account `accountId`'s pending derivatives claim (NoPendingClaim if none, or paid already): one its exit
    /// recorded within the window, `claim * pot / max(pot, windowClaims)`, or the part of a late exit's due that
    /// token 0 could not pay at the exit, in full; in token 0, credited to the account's owner's {withdrawable}. Anyone may call: only the owner is credited. Never paid in part: when the custodian holds
    /// less of token 0 beyond what it owes than is due (never while the spot balances and the pot are backed; a
    /// token-0 `balanceOf` that fails reads as 0) it reverts (ClaimNotCovered) and the claim stays pending, so
    /// nobody can make a passing fault of the token cut anyone's claim, or choose who takes a real shortfall.
    /// @dev So every claim of the window takes the same share of a shortfall (accounts under water owing more
    /// than the fund and the fee pool keep) instead of the last exits all of it. Runs in
    /// {CustodianPayouts-claimDerivatives}; emits {ICustodianExits-DerivativesClaimPaid}.
    /// @param accountId An account that exited within the window with a derivatives claim.
    function claimDerivatives(uint32 accountId) external nonReentrant {
        _requireExodus();
        CustodianPayouts.claimDerivatives(_accounts, withdrawable, owed, _tokens, _exodusLedger, accountId);
    }

    /// @notice In exodus, pays account `accountId`'s exit remainder of token `tokenId`: the part of the spot amount its
    /// {exit} proved that the exit could not pay (the custodian read less of the token free than claimed, as when
    /// its `balanceOf` failed; {ICustodianExits-ExitRemainderRecorded}), credited to the owner's {withdrawable}.
    /// Anyone may call: only the owner is credited. In full or not at all: while the custodian holds less of the
    /// token beyond what it owes than the remainder, it reverts (ClaimNotCovered) and the remainder stays pending;
    /// NoExitRemainder when none waits (paid already, or never recorded).
    /// @dev A remainder is not in {owed} until paid, and its payment checks `balanceOf(this) - owed` then, so
    /// remainders are never credited beyond what the custodian holds. nonReentrant: a token hook inside {withdraw}
    /// (owed already lowered, the balance not yet) cannot make a remainder look covered. Runs in
    /// {CustodianPayouts-claimExitRemainder}; emits {ICustodianExits-ExitRemainderPaid}.
    function claimExitRemainder(uint32 accountId, uint16 tokenId) external nonReentrant {
        _requireExodus();
        CustodianPayouts.claimExitRemainder(_accounts, withdrawable, owed, _tokens, _exodusLedger, accountId, tokenId);
    }

    /// @notice The exodus claim window and account `accountId`'s place in it: when the window ends (`windowEnd`,
    /// set when exodus began; 0 before), the derivatives claims exits recorded in it together (`windowClaims`),
    /// the pot they are paid from (`pot`: the frozen state's pooled quote, known from the first exit with a claim;
    /// 0 before), and the account's claim waiting for {claimDerivatives} (`pending`; 0: none): recorded in the
    /// window, or what a late exit was due and token 0 could not pay.
    function exodusClaim(uint32 accountId)
        external
        view
        returns (uint256 windowEnd, uint256 windowClaims, uint256 pot, uint256 pending)
    {
        CustodianPayouts.ExodusLedger storage ledger = _exodusLedger;
        return (ledger.windowEnd, ledger.windowClaims, ledger.pot, ledger.pending[accountId]);
    }

    /// @notice Sends the caller everything credited to it in token `tokenId`.
    /// @param tokenId The token id.
    function withdraw(uint16 tokenId) external nonReentrant {
        _withdraw(tokenId, msg.sender);
    }

    /// @notice Sends everything credited to the caller in token `tokenId` to `to`.
    /// @param tokenId The token id.
    /// @param to Recipient; non-zero.
    function withdrawTo(uint16 tokenId, address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        _withdraw(tokenId, to);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------------

    /// @notice The request hash chain after `index` requests; `requestChain(0) == 0`.
    /// @param index 0 to {requestCount}; larger indices return 0.
    function requestChain(uint256 index) external view returns (bytes32) {
        return _requestChain[index];
    }

    /// @inheritdoc ICustodianTreasury
    function feeRecipient() external view returns (address) {
        return _treasuryRecipients[ProtocolConstants.TX_FEE_WITHDRAW];
    }

    /// @inheritdoc ICustodianTreasury
    function insuranceRecipient() external view returns (address) {
        return _treasuryRecipients[ProtocolConstants.TX_INSURANCE_WITHDRAW];
    }

    /// @notice The waiting line of forced requests ({RequestQueue}): positions [head, tail) wait for a place under
    /// MAX_OPEN_FORCED_REQUESTS, and batches admit them oldest first (an admitted one keeps its join time, which
    /// {exodusAvailableAt} counts from, until a batch consumes it).
    function waitingLine() external view returns (uint64 head, uint64 tail) {
        return (_waitingLine.head, _waitingLine.tail);
    }

    /// @inheritdoc ICustodianExits
    function queuedAt(uint256 index) external view returns (uint64) {
        return _queued[index].at;
    }

    /// @inheritdoc ICustodianExits
    function queuedBy(uint256 index) external view returns (address) {
        return _queued[index].by;
    }

    /// @inheritdoc ICustodianExits
    function exodusAvailableAt() public view returns (uint256) {
        uint256 since = RequestQueue.oldestUnconsumed(_waitingLine, _queued, processedRequests, requestCount);
        return since == type(uint256).max ? since : since + requestDeadline;
    }

    /// @inheritdoc ICustodianExits
    function lastPrices() external view returns (uint256[] memory prices) {
        prices = CustodianPayouts.unpackPrices(_lastPrices, underlyings);
    }

    /// @notice The token registered under `tokenId`.
    /// @param tokenId A registered token id (reverts with UnknownToken otherwise).
    function tokens(uint16 tokenId) external view returns (IERC20) {
        return _token(tokenId).token;
    }

    /// @notice The smallest amount a deposit of token `tokenId` may bring, fixed at its registration.
    /// @param tokenId A registered token id (reverts with UnknownToken otherwise).
    function minDeposit(uint16 tokenId) external view returns (uint96) {
        return _token(tokenId).minDeposit;
    }

    /// @notice Owner (the wallet that registered it) of each account id; zero for unassigned ids.
    function accountOwner(uint32 accountId) external view returns (address) {
        return _accounts[accountId].owner;
    }

    /// @notice Whether account `accountId`'s latest REGISTER_KEY request is still waiting in the queue (then
    /// {registerTradingKey} refuses another one with KeyRotationPending).
    function keyRotationPending(uint32 accountId) external view returns (bool) {
        return _accounts[accountId].keyRequestPlusOne > processedRequests;
    }

    /// @notice The id under which `token` is registered.
    /// @param token A registered token (reverts with TokenNotRegistered otherwise).
    function tokenIdOf(IERC20 token) external view returns (uint16) {
        uint256 idPlusOne = _tokenIdPlusOne[token];
        if (idPlusOne == 0) revert TokenNotRegistered(token);
        return uint16(idPlusOne - 1);
    }

    /// @notice Number of registered tokens (the next token id).
    function tokenCount() external view returns (uint256) {
        return _tokens.length;
    }

    /// @notice The quote token (token id 0).
    function quoteToken() external view returns (IERC20) {
        return _tokens[0].token;
    }

    /// @notice Parameters of market `marketId`.
    /// @param marketId A registered market id (reverts with UnknownMarket otherwise).
    function markets(uint16 marketId) external view returns (Market memory) {
        if (marketId >= _markets.length) revert UnknownMarket(marketId);
        return _markets[marketId];
    }

    /// @notice Number of registered markets (the next market id).
    function marketCount() external view returns (uint256) {
        return _markets.length;
    }

    /// @notice Parameters of the latest instrument registered at `instrumentId`, as its REGISTER_INSTRUMENT record
    /// carries them (the tick size it was registered with is `tickValue * 10^8 / lotSizeE6`, exact). An id is
    /// registered again once free ({registerInstrument}): this then shows the new instrument, whose market id is
    /// {instrumentMarketId}.
    /// @param instrumentId A registered instrument id (reverts with UnknownInstrument otherwise).
    function instrument(uint16 instrumentId) external view returns (PublicData.Instrument memory) {
        PublicData.Instrument memory p = _instruments[instrumentId];
        if (p.kind == 0) revert UnknownInstrument(instrumentId);
        return p;
    }

    /// @notice The market id orders on the latest instrument registered at `instrumentId` sign:
    /// `INSTRUMENT_MARKET_BASE + instrumentId + instruments * generation`, where `generation` counts the id's
    /// earlier registrations (0 for its first instrument), so an order for one instrument can never fill a later
    /// instrument at the same id.
    /// @param instrumentId A registered instrument id (reverts with UnknownInstrument otherwise).
    function instrumentMarketId(uint16 instrumentId) external view returns (uint16) {
        uint16 marketId = _instrumentIds[instrumentId].marketId;
        if (marketId == 0) revert UnknownInstrument(instrumentId);
        return marketId;
    }

    /// @notice The id the next perpetual or dated future would get (of ids 0 .. instruments - optionInstruments - 1):
    /// the lowest available one ({registerInstrument}), or {instruments} if none is.
    function nextNonOptionId() external view returns (uint16) {
        return _availableInstrumentId(false);
    }

    /// @notice The id the next option would get (of ids instruments - optionInstruments .. instruments - 1): the
    /// lowest available one ({registerInstrument}), or {instruments} if none is.
    function nextOptionId() external view returns (uint16) {
        return _availableInstrumentId(true);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Registered token `tokenId` (UnknownToken otherwise), for the views {tokens} and {minDeposit}.
    function _token(uint16 tokenId) private view returns (CustodianPayouts.TokenInfo storage) {
        if (tokenId >= _tokens.length) revert UnknownToken(tokenId);
        return _tokens[tokenId];
    }

    /// @dev {CustodianPayouts-addToken} on this custodian's token list.
    function _addToken(IERC20 token, uint96 minDeposit_) private returns (uint16 tokenId) {
        return CustodianPayouts.addToken(_tokens, _tokenIdPlusOne, maxTokens, token, minDeposit_);
    }

    /// @dev After a batch consumed outcome requests: drops the admitted line entries it consumed, then admits waiting
    /// forced requests, oldest first, into the places MAX_OPEN_FORCED_REQUESTS leaves after the batch gave back those
    /// of the outcome requests it consumed ({RequestQueue-admit}): at most as many as it consumed.
    function _admitWaiting() private {
        uint16 open = openForcedRequests;
        (uint64 count, uint256 admitted) = RequestQueue.admit(
            _waitingLine, _requestChain, _queued, _forcedPlusOne, processedRequests, requestCount, MAX_OPEN_FORCED_REQUESTS - open
        );
        requestCount = count;
        openForcedRequests = open + uint16(admitted);
    }

    /// @dev The DEPOSIT record must be provable: the circuit needs `amount < 2^96` and the new balance below
    /// 2^128. No account can claim more than the custodian holds (the custody invariant the circuit proves), so
    /// keeping every token's holdings below 2^128 after each deposit keeps every balance a deposit adds to below
    /// 2^128 when the record is consumed. (Tokens sent without a deposit only count against the limit.)
    /// Runs in {CustodianPayouts-deposit}, which pulls the tokens first (under nonReentrant) and queues what arrived.
    function _deposit(uint32 accountId, uint16 tokenId, uint96 amount) private {
        CustodianPayouts.deposit(_tokens, owed, _requestChain, _queued, requestCount, exodusMode, accountId, tokenId, amount);
        ++requestCount;
    }

    /// @dev Queues a forced request of `txType` for the caller's account ({RequestQueue-requestForced}, which checks the
    /// account, the amount and exodus mode); see {forceWithdraw}. Counts it here unless it waits in line.
    function _forceWithdraw(uint8 txType, uint16 tokenId, uint96 amount) private returns (uint256 index) {
        uint16 open = openForcedRequests;
        index = RequestQueue.requestForced(
            _waitingLine,
            _requestChain,
            _queued,
            accountOf,
            _forcedPlusOne,
            txType,
            tokenId,
            amount,
            processedRequests,
            requestCount,
            exodusMode,
            open >= MAX_OPEN_FORCED_REQUESTS
        );
        if (index != WAITING) {
            requestCount = uint64(index + 1);
            openForcedRequests = open + 1;
        }
    }

    /// @dev Queues a treasury withdrawal of `txType` whose latest one was queued at `pendingPlusOne - 1`
    /// ({RequestQueue-requestTreasury}): the request and its place under MAX_OPEN_FORCED_REQUESTS are counted here, a
    /// batch consuming it gives the place back (see {submitBatch}).
    function _requestTreasury(uint8 txType, uint64 pendingPlusOne, uint96 amount) private returns (uint256 index) {
        uint16 open = openForcedRequests;
        index = RequestQueue.requestTreasury(
            _requestChain,
            _queued,
            requestCount,
            processedRequests,
            exodusMode,
            open >= MAX_OPEN_FORCED_REQUESTS,
            txType,
            pendingPlusOne,
            amount
        );
        ++requestCount;
        openForcedRequests = open + 1;
    }

    /// @dev Sets both treasury recipients (non-zero) and emits TreasuryRecipientsSet.
    function _setTreasuryRecipients(address fee, address insurance) private {
        if (fee == address(0) || insurance == address(0)) revert ZeroAddress();
        _treasuryRecipients[ProtocolConstants.TX_FEE_WITHDRAW] = fee;
        _treasuryRecipients[ProtocolConstants.TX_INSURANCE_WITHDRAW] = insurance;
        emit TreasuryRecipientsSet(fee, insurance);
    }

    /// @dev The constructor's derivatives checks (see its `derivatives` parameter): sizes some circuit has
    /// (InvalidCapacity), and a marks registry that is none or a contract (InvalidMarksRegistry).
    function _checkDerivativesConfig(DerivativesConfig memory d) private view {
        uint256 u = d.underlyings;
        uint256 n = d.instruments;
        if (
            u == 0 || u > ProtocolConstants.SETTLEMENT_MAX_UNDERLYINGS || d.optionInstruments > n
                || n > ProtocolConstants.MAX_TABLE_INSTRUMENTS || (n > 0 && d.derivSlots == 0)
        ) revert InvalidCapacity();
        address registry = address(d.marksRegistry);
        if (registry != address(0) && registry.code.length == 0) revert InvalidMarksRegistry(registry);
    }

    /// @dev The lowest available id of the class ({RegistrationRules-availableInstrumentId}), or `instruments`.
    function _availableInstrumentId(bool option) private view returns (uint16) {
        return RegistrationRules.availableInstrumentId(_instrumentIds, _idContext(), option);
    }

    /// @dev What {RegistrationRules} needs to choose an instrument id: the mask, the counters, the sizes.
    function _idContext() private view returns (RegistrationRules.IdContext memory) {
        return RegistrationRules.IdContext({
            freeMask: freeInstruments,
            processedRequests: processedRequests,
            requestIndex: requestCount,
            instruments: instruments,
            optionInstruments: optionInstruments
        });
    }

    /// @dev {BatchRecords-checkOracle} against the registered oracle key. Returns whether the batch uses the oracle.
    function _checkOracle(bytes calldata publicData) private view returns (bool) {
        return BatchRecords.checkOracle(publicData, oracleKey);
    }

    /// @dev A batch's marks key ({PublicData-marksKeyAt}, one calldata load at an offset fixed at deployment) is 0, or
    /// recorded in {marksRegistry} (MarksNotRecorded otherwise): one static call of `isRecorded`, only for a non-zero
    /// key. A check, not an interaction: a static call cannot re-enter a write. Assembly, for the custodian's code size
    /// (the checked high-level call cost 107 bytes more): a call that fails or returns anything but an ABI `true` reads
    /// as not recorded, so without a registry (the zero address, no code: an empty return) every non-zero key is refused.
    function _checkMarks(bytes calldata publicData) private view {
        uint256 key = PublicData.marksKeyAt(publicData, _marksKeyOffset);
        if (key == 0) return;
        (address registry, bytes4 selector) = (address(marksRegistry), IMarksRegistry.isRecorded.selector);
        bool recorded;
        assembly ("memory-safe") {
            mstore(0, selector)
            mstore(4, key)
            let ok := staticcall(gas(), registry, 0, 36, 0, 32)
            recorded := and(ok, and(gt(returndatasize(), 31), eq(mload(0), 1)))
        }
        if (!recorded) revert MarksNotRecorded(key);
    }

    /// @dev Stores an oracle batch's index prices (7 bytes each, one per underlying, right after the fixed fields).
    function _storePrices(bytes calldata publicData) private {
        CustodianPayouts.storePrices(_lastPrices, underlyings, publicData);
    }

    /// @dev Stores the batch's `freeInstruments` mask ({freeInstruments}) if it changed: one calldata load, one
    /// storage read, and a write only when the mask changed. The mask is `ceil(instruments / 8)` bytes (one with 1 to 8
    /// instruments), the oracle section's last ({PublicData-freeInstrumentsAt}), proven below 2^instruments; without instruments it
    /// has no bytes, reads 0 and leaves the 0 stored.
    function _storeFreeInstruments(bytes calldata publicData) private {
        uint256 free = PublicData.freeInstrumentsAt(publicData, _recordsOffset, instruments);
        if (free != freeInstruments) freeInstruments = uint64(free);
    }

    /// @dev {BatchRecords-checkRecords} over this custodian's queue, accounts and token count.
    function _checkRecords(bytes calldata publicData, uint64 firstRequest)
        private
        view
        returns (uint64 count, uint16 forced, uint256 applySlots)
    {
        return BatchRecords.checkRecords(
            _requestChain,
            _accounts,
            BatchRecords.RecordsContext({
                spot: slots,
                n: slots + derivSlots,
                offset: _recordsOffset,
                tokenCount: _tokens.length,
                firstRequest: firstRequest,
                requestCount: requestCount
            }),
            publicData
        );
    }

    /// @dev Credits the first `n` slots' records ({CustodianPayouts-applyRecords}), after every check passed.
    function _applyRecords(bytes calldata publicData, uint32 batchNumber, uint256 n) private {
        CustodianPayouts.applyRecords(
            withdrawable,
            owed,
            _accounts,
            _treasuryRecipients,
            CustodianPayouts.BatchContext({recordsOffset: _recordsOffset, slots: n, batchNumber: batchNumber}),
            publicData
        );
    }

    function _withdraw(uint16 tokenId, address to) private {
        CustodianPayouts.withdraw(withdrawable[msg.sender], owed, _tokens, tokenId, to);
    }
}
