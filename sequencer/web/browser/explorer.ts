/**
 * The settlement explorer: works from chain data alone (a JSON-RPC node: the page's server relays one, or
 * `?rpc=URL` names any other; no sequencer). A worker (verifyWorker.ts) runs the independent chain
 * verifier: each batch's proof verified with snarkjs, its public data decoded record by record and
 * replayed; the page shows batches (number, time, transactions by type, roots, gas, proof result), the
 * decoded records, an account's history and balances rebuilt from chain data, the custodian's holdings
 * beside the sum of claims, and the exodus status with what a connected wallet's account would exit with. A
 * connected wallet's positions each offer a forced close against the counterparty the rebuilt state names.
 */
import type { Address, PublicClient, WalletClient } from "viem";
import { TxType } from "../../protocol/constants.ts";
import { accountOf, claimDerivatives, claimWithdrawal, exit, exodusClaim, exodusStatus, FORCED_WAITING, forceClose, pullCredited } from "../../sdk/custodian.ts";
import { custodianAbi } from "../../chain/abi.ts";
import { $, devWallet, errorText, fill, h, injectedWallet, loadConfig, publicClientOf, short, table, time, tokensOf, units, type PageConfig, type TokenInfo } from "./common.ts";

type Any = Record<string, any>;
const TX_NAMES = Object.fromEntries(Object.entries(TxType).map(([k, v]) => [v, k])) as Record<number, string>;

const s = {
  cfg: null as PageConfig | null,
  pc: null as PublicClient | null,
  tokens: [] as TokenInfo[],
  worker: null as Worker | null,
  batches: new Map<number, Any>(),
  done: null as Any | null,
  wallet: null as WalletClient | null,
  accountId: 0,
  exodus: false,
  exitProof: null as ((msg: Any) => void) | null,
};
(window as unknown as { __explorer: unknown }).__explorer = { state: s };

const tokenName = (id: number | bigint) => s.tokens[Number(id)]?.symbol ?? `token ${id}`;
const amount = (tokenId: number | bigint, v: bigint) => (s.tokens[Number(tokenId)] ? `${units(v, s.tokens[Number(tokenId)]!.decimals)} ${tokenName(tokenId)}` : String(v));

function recordText(r: Any): string {
  const fields = Object.entries(r).filter(([k]) => k !== "type");
  return fields.map(([k, v]) => `${k}=${k === "pubKey" ? short(BigInt(v)) : k === "amount" && "tokenId" in r ? amount(r.tokenId, BigInt(v)) : String(v)}`).join(" ");
}

function renderBatch(n: number): HTMLElement {
  const b = s.batches.get(n)!;
  const c = b.check;
  const byType = new Map<string, number>();
  for (const r of b.records as Any[]) {
    const name = TX_NAMES[r.type] ?? String(r.type);
    byType.set(name, (byType.get(name) ?? 0) + 1);
  }
  const header = c.header ?? {};
  return h("details", { id: `batch-${n}`, class: "batch", "data-batch": n, "data-proof": c.proofValid ? "valid" : "invalid", open: location.hash === `#batch-${n}` ? "" : undefined },
    h("summary", {},
      `batch ${n} · ${header.timestamp !== undefined ? time(header.timestamp) : "?"} · ${c.transactions} transactions (${byType.size ? [...byType].map(([k, v]) => `${v} ${k}`).join(", ") : "oracle update only"}) · gas ${b.gasUsed ?? "…"} · proof `,
      h("span", { class: c.proofValid ? "valid proof" : "invalid proof" }, c.proofValid ? "verified in your browser" : "INVALID"),
      " · replay ", h("span", { class: c.rootMatches ? "valid" : "invalid" }, c.rootMatches ? "root matches" : "ROOT MISMATCH")),
    h("div", {}, `tx ${c.txHash}, block ${c.blockNumber}, ${c.verifyMs.toFixed(0)} ms to check`),
    h("div", {}, `old root ${short(BigInt(header.oldRoot ?? 0), 18)} → new root ${short(BigInt(header.newRoot ?? 0), 18)}`),
    table(["#", "type", "fields"], (b.records as Any[]).map((r, i) => [i, TX_NAMES[r.type] ?? r.type, h("span", { class: "record" }, recordText(r))]), { class: "records" }));
}

function renderBatches(): void {
  fill("batches", [...s.batches.keys()].sort((a, b) => b - a).map(renderBatch));
}

function onWorker(msg: Any): void {
  if (msg.type === "batch") {
    s.batches.set(msg.check.batchNumber, { check: msg.check, records: msg.records });
    fill("verify-status", `checked ${msg.done} of ${msg.total} batches…`);
    renderBatches();
  } else if (msg.type === "gas") {
    const b = s.batches.get(msg.batchNumber);
    if (b) b.gasUsed = msg.gasUsed;
    renderBatches();
  } else if (msg.type === "done") {
    s.done = msg;
    $("verify-status").dataset.ok = String(msg.ok);
    fill("verify-status", h("span", { class: msg.ok ? "valid" : "invalid" }, msg.ok
      ? `all ${msg.batchesChecked} batches verified: every proof holds, the replay rebuilds the custodian's root ${short(msg.chainRoot, 18)}`
      : `${msg.mismatches.length} mismatches`), msg.ok ? "" : table(["batch", "check", "message"], msg.mismatches.map((m: Any) => [m.batchNumber ?? "—", m.check, m.message])));
    const exitedNote = msg.custody[0]?.exitedAccounts ? `${msg.custody[0].exitedAccounts} accounts have exited (exodus): their balances are paid out and no longer counted. ` : "";
    fill("custody", exitedNote, table(["token", "custodian holds", "spot balances", "pooled quote (collateral, fund, fee pool; less what exits paid of it)", "owed (withdrawable + queued deposits)", "exit remainders waiting", "sum of claims", "holdings − claims"],
      msg.custody.map((c: Any) => [tokenName(c.tokenId), amount(c.tokenId, c.holdings), amount(c.tokenId, c.balances), amount(c.tokenId, c.pooled), amount(c.tokenId, c.owed), amount(c.tokenId, c.remainders), amount(c.tokenId, c.claims),
        h("span", { class: c.holdings >= c.claims ? "valid" : "invalid", "data-surplus": String(c.holdings - c.claims) }, amount(c.tokenId, BigInt(c.holdings) - BigInt(c.claims)))]), { id: "custody-table" }));
    $<HTMLButtonElement>("account-lookup").disabled = false;
  } else if (msg.type === "account") {
    fill("account", h("div", { "data-account": msg.accountId }, `account ${msg.accountId}, rebuilt from chain data: `, msg.balances.map((b: Any) => amount(b.tokenId, b.amount)).join(", ") || "no balances",
      `; collateral ${amount(0, BigInt(msg.collateral))}`, msg.positions.length ? `; positions ${msg.positions.map((p: Any) => `#${p.instrumentId}: ${p.size} lots`).join(", ")}` : ""),
      msg.positions.length ? positionsTable(msg.accountId, msg.positions) : "",
      h("div", { id: "account-msg", class: "msg" }),
      table(["batch", "#", "type", "fields"], msg.history.map((x: Any) => [x.batchNumber, x.index, TX_NAMES[x.record.type], recordText(x.record)]), { id: "account-history" }));
  } else if (msg.type === "exitProof") {
    s.exitProof?.(msg);
  } else if (msg.type === "error") {
    if (msg.op === "exit") return s.exitProof?.(msg);
    fill(msg.op === "account" ? "account" : "verify-status", h("span", { class: "invalid" }, `${msg.op}: ${msg.message}`));
  }
}

/**
 * The account's positions with whom a forced close of each would name (the largest holder of the other side in the
 * rebuilt state, sdk/forcedClose.ts) and, for the connected wallet's own account outside exodus, a button that queues
 * that close on the custodian: leaving a position needs nothing from the operator, not even its API.
 */
function positionsTable(accountId: number, positions: Any[]): HTMLElement {
  const own = s.wallet !== null && s.accountId === accountId && !s.exodus;
  return table(["instrument", "lots", "a forced close names", ""], positions.map((p: Any) => [
    p.instrumentId, String(p.size),
    p.closeAgainst ? `account ${p.closeAgainst.counterpartyId}, ${p.closeAgainst.lots} lots` : "nobody: no account holds the other side",
    own && p.closeAgainst ? h("button", { class: "force-close", onclick: () => void forceCloseNow(p.instrumentId, p.closeAgainst.counterpartyId, BigInt(p.closeAgainst.lots)) }, "Force close (on-chain)") : "",
  ]), { id: "account-positions" });
}

/** Queues the connected wallet's forced close of `lots` in `instrumentId` against `counterpartyId` (Custodian.forceClose). */
async function forceCloseNow(instrumentId: number, counterpartyId: number, lots: bigint): Promise<void> {
  const say = (t: string, ok = true) => fill("account-msg", h("span", { class: ok ? "valid" : "invalid" }, t));
  const what = `forced close of ${lots} lots of instrument ${instrumentId} against account ${counterpartyId}`;
  try {
    const index = await forceClose({ publicClient: s.pc!, walletClient: s.wallet! }, s.cfg!.custodian, instrumentId, counterpartyId, lots);
    say(index === FORCED_WAITING
      ? `${what} waits in line for a place in the custodian's queue (its forced requests are full): the next batches admit it, oldest first`
      : `${what} queued on the custodian (request ${index}): the next batch with an oracle update must process it`);
  } catch (e) {
    say(`${what} failed: ${errorText(e)}`, false);
  }
}

async function verifyAll(): Promise<void> {
  s.batches.clear();
  s.done = null;
  fill("verify-status", "reading the chain…");
  const vkey = await (await fetch("/web/vkey.json")).json();
  s.worker?.terminate();
  s.worker = new Worker("/web/verifyWorker.js", { type: "module" });
  const worker = s.worker;
  const ready = new Promise<void>((resolve) => {
    worker.onmessage = (e) => (e.data?.type === "ready" ? resolve() : onWorker(e.data));
  });
  worker.onerror = (e) => fill("verify-status", h("span", { class: "invalid" }, `worker failed: ${e.message}`));
  await ready;
  fill("verify-status", "verifying batch proofs and replaying public data in a worker…");
  const cfg = s.cfg!;
  worker.postMessage({ op: "verify", rpcUrl: cfg.rpcUrl, chainId: cfg.chainId, custodian: cfg.custodian, params: cfg.params, vkey });
}

async function renderExodus(): Promise<void> {
  const e = await exodusStatus(s.pc!, s.cfg!.custodian);
  const now = Math.floor(Date.now() / 1000);
  fill("exodus", h("div", { "data-exodus": String(e.exodusMode) }, e.exodusMode
    ? "EXODUS MODE: the operator has stopped; every account can exit with a proof from chain data"
    : `normal operation; ${e.openForcedRequests} open forced requests; ${e.exodusAvailableAt === null ? "no unprocessed request: exodus cannot be activated" : `exodus can be activated from ${time(e.exodusAvailableAt)}${Number(e.exodusAvailableAt) <= now ? " (now)" : ""}`}; request deadline ${Number(e.requestDeadline) / 86400} days`));
}

async function connectWallet(): Promise<void> {
  if (s.cfg!.foreignCustodian) throw new Error("this page names another custodian than the exchange's (?custodian=): no wallet action here");
  const choice = $<HTMLSelectElement>("wallet-select").value;
  const w = choice === "injected" ? await injectedWallet(s.cfg!) : devWallet(s.cfg!, Number(choice));
  const address = w.account!.address as Address;
  const id = await accountOf(s.pc!, s.cfg!.custodian, address);
  $<HTMLInputElement>("account-id").value = String(id);
  const exodus = (await exodusStatus(s.pc!, s.cfg!.custodian)).exodusMode;
  s.wallet = w;
  s.accountId = id;
  s.exodus = exodus;
  await renderExitPanel(address);
  if (s.done && id) s.worker!.postMessage({ op: "account", accountId: id });
}

/**
 * The connected wallet's exit panel: whether it can exit, and once exited, its derivatives claim waiting for the end
 * of the claim window (with the button that collects it once the window is over).
 */
async function renderExitPanel(address: string, message?: Node | string): Promise<void> {
  const { accountId: id, exodus } = s;
  const exited = id ? ((await s.pc!.readContract({ address: s.cfg!.custodian, abi: custodianAbi, functionName: "exited", args: [id] } as never)) as boolean) : false;
  const canExit = exodus && id && !exited && s.cfg!.exit;
  const claim = exodus && exited ? await exodusClaim(s.pc!, s.cfg!.custodian, id) : null;
  const windowOver = claim !== null && Number(claim.windowEnd) <= Number((await s.pc!.getBlock()).timestamp);
  // credited and not pulled: a claim someone else sent for this account (anyone may), or a pull that failed
  const unpulled = claim ? ((await s.pc!.readContract({ address: s.cfg!.custodian, abi: custodianAbi, functionName: "withdrawable", args: [address, 0] } as never)) as bigint) : 0n;
  fill("exit", `wallet ${address}: account ${id || "none"}${exited ? " (exited)" : ""}. `,
    !exodus ? "Exits open only in exodus mode; until then withdraw through the exchange (or force a withdrawal on the custodian)."
      : !id ? "This wallet has no account." : exited ? "This account has exited." : !s.cfg!.exit ? "This server has no exit circuit: exit with `npm run cli -- exit`." : "",
    claim && claim.pending > 0n
      ? h("span", { id: "derivatives-pending" }, windowOver
        // after the window: a claim of the window, or the part of a late exit's due that token 0 could not pay then
        ? ` Its derivatives claim of ${amount(0, claim.pending)} waits to be collected: a claim of the claim window is paid its share of the pooled quote (${amount(0, claim.pot)} for ${amount(0, claim.windowClaims)} claimed), what a later exit could not be paid at once is paid in full. `
        : ` Its derivatives claim of ${amount(0, claim.pending)} waits for the claim window, which ends ${time(claim.windowEnd)}: every claim recorded in it is paid the same share of the pooled quote (${amount(0, claim.pot)} for ${amount(0, claim.windowClaims)} claimed). `)
      : "",
    claim && claim.pending > 0n && windowOver ? h("button", { id: "claim-derivatives-button", onclick: () => void collectNow() }, "Collect my derivatives claim") : "",
    unpulled > 0n ? h("span", { id: "unpulled" }, ` ${amount(0, unpulled)} is credited to this wallet and not pulled. `) : "",
    unpulled > 0n ? h("button", { id: "pull-button", onclick: () => void pullNow() }, "Pull it to the wallet") : "",
    canExit ? h("button", { id: "exit-button", onclick: () => void exitNow() }, "Exit: prove my claim from chain data and withdraw") : "",
    h("div", { id: "exit-msg", class: "msg" }, ...(message === undefined ? [] : [message])));
}

/** Pulls what the custodian credited the connected wallet in token 0 (withdraw). */
async function pullNow(): Promise<void> {
  const address = s.wallet!.account!.address;
  try {
    await claimWithdrawal({ publicClient: s.pc!, walletClient: s.wallet! }, s.cfg!.custodian, 0);
    await renderExitPanel(address, h("span", { class: "valid" }, `pulled to ${address}`));
  } catch (e) {
    fill("exit-msg", h("span", { class: "invalid" }, `pull failed: ${errorText(e)}`));
  }
}

/** After the claim window: the connected wallet's share of the pot for the claim its exit recorded, credited and pulled. */
async function collectNow(): Promise<void> {
  const clients = { publicClient: s.pc!, walletClient: s.wallet! };
  const address = s.wallet!.account!.address;
  try {
    const { claimed, paid } = await claimDerivatives(clients, s.cfg!.custodian, s.accountId);
    if (paid > 0n) await claimWithdrawal(clients, s.cfg!.custodian, 0);
    await renderExitPanel(address, h("span", { class: "valid" }, `derivatives claim paid: ${amount(0, paid)} of ${amount(0, claimed)} to ${address}`));
  } catch (e) {
    fill("exit-msg", h("span", { class: "invalid" }, `claim failed: ${errorText(e)}`));
  }
}

/** Exodus exit of the connected wallet's account: proven in the worker on the rebuilt state, sent, then pulled token by token. */
async function exitNow(): Promise<void> {
  const say = (t: string, ok = true, title = "") => fill("exit-msg", h("span", { class: ok ? "valid" : "invalid", ...(title ? { title } : {}) }, t));
  try {
    if (!s.done?.ok) throw new Error("the chain must verify first (the exit is proven against the rebuilt state)");
    const clients = { publicClient: s.pc!, walletClient: s.wallet! };
    const prices = (await s.pc!.readContract({ address: s.cfg!.custodian, abi: custodianAbi, functionName: "lastPrices" } as never)) as readonly bigint[];
    say(`proving the exit of account ${s.accountId} in the worker (the exit circuit)…`);
    const msg = await new Promise<Any>((resolve) => {
      s.exitProof = resolve;
      s.worker!.postMessage({ op: "exit", accountId: s.accountId, prices: [...prices] });
    });
    s.exitProof = null;
    if (msg.type === "error") throw new Error(msg.message);
    say("sending the exit to the custodian…");
    const { paid, derivativesClaimed, derivativesPaid, warnings, hash } = await exit(clients, s.cfg!.custodian,
      { accountId: s.accountId, amounts: msg.amounts, pooledQuote: msg.pooledQuote, derivativesClaim: msg.derivativesClaim }, msg.proof);
    // The exit went through (once only): from here a token refusing its pull, or a read failing, must not hide what it paid.
    const failedPulls = await pullCredited(clients, s.cfg!.custodian, paid);
    // the USDC paid includes the derivatives part paid at once (after the claim window only); the panel shows a
    // claim recorded for the window, and how much of the claim the pot paid is in the message's title
    const address = s.wallet!.account!.address;
    const notes = [
      ...failedPulls.map((f) => `${amount(f.tokenId, paid[f.tokenId]!)} credited but not pulled (${f.error}): it waits in the custodian for this wallet (its withdraw(${f.tokenId}); npm run cli -- withdraw --claim --token-id ${f.tokenId})`),
      ...warnings,
    ];
    const said = `exited: paid ${paid.map((v, t) => amount(t, v)).filter((_, t) => paid[t]! > 0n).join(", ") || "nothing"} to ${address}`;
    try {
      await renderExitPanel(address, h("span", { class: notes.length ? "invalid" : "valid", title: `exit ${hash}; derivatives claim: ${amount(0, derivativesPaid)} paid at once of ${amount(0, derivativesClaimed)} claimed (out of the pooled quote's pot)` },
        notes.length ? `${said}; ${notes.join("; ")}` : said));
      await renderExodus();
    } catch (e) {
      say(`${said} (exit ${hash}); the page could not refresh: ${errorText(e)}${notes.length ? `; ${notes.join("; ")}` : ""}`, notes.length === 0);
    }
  } catch (e) {
    say(`exit failed: ${errorText(e)}`, false);
  }
}

async function main(): Promise<void> {
  s.cfg = await loadConfig(true);
  s.pc = publicClientOf(s.cfg);
  s.tokens = await tokensOf(s.pc, s.cfg.custodian);
  fill("chain", `custodian ${s.cfg.custodian} on chain ${s.cfg.chainId}, read through ${s.cfg.rpcUrl} (${s.cfg.params} circuit parameters)`,
    ...(s.cfg.foreignCustodian ? [h("div", { class: "invalid", id: "foreign-custodian" }, "This is not the custodian this server's exchange uses (the link names it with ?custodian=): read only, no wallet action here.")] : []));
  $("wallet-select").replaceChildren(h("option", { value: "injected" }, "browser wallet (window.ethereum)"), ...(s.cfg.devWallets ? [1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => h("option", { value: i }, `devnet test wallet #${i}`)) : []));
  $("verify").onclick = () => void verifyAll().catch((e) => fill("verify-status", h("span", { class: "invalid" }, errorText(e))));
  $("account-lookup").onclick = () => {
    const id = $<HTMLInputElement>("account-id").value.trim();
    if (!/^[1-9]\d*$/.test(id)) return fill("account", h("span", { class: "invalid" }, `"${id}" is not an account id (a positive whole number)`));
    s.worker!.postMessage({ op: "account", accountId: Number(id) });
  };
  $("connect").onclick = () => void connectWallet().catch((e) => fill("exit", h("span", { class: "invalid" }, errorText(e))));
  await renderExodus();
  document.body.dataset.ready = "true";
  await verifyAll();
}

main().catch((e) => {
  fill("verify-status", h("span", { class: "invalid" }, `the explorer could not start: ${errorText(e)}`));
  console.error(e);
});
