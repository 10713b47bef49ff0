// The real Solana runtime (LiteSVM, from npm) behind a JSON-RPC front end of ours: what a Solana RPC node answers, for the
// methods a deposit watcher and a wallet use, with the agave behaviour a watcher must handle (measured, see
// reference/peers-and-libraries-2.md §4): finalized lags 32 slots behind, `processed` is refused where agave refuses it,
// a v0 transaction needs maxSupportedTransactionVersion, getSignaturesForAddress lists a transaction only under the
// addresses among its account keys, a token account created in the transaction has no pre balance, a failed transaction
// lands with meta.err and its fee, a Solana Pay reference shows as multisigAuthority + signers.
// One slot per landed transaction; a blockhash per slot, valid for 150 slots (LiteSVM itself keeps only its latest).
// Test controls at POST /control build every transaction with the official @solana/kit and @solana-program/* packages,
// sign it, and send it through this node's own sendTransaction, as a wallet would.
// Usage: node solana-node.mjs <port>   prints "listening <url>"
import http from 'node:http';
import { LiteSVM } from 'litesvm';
import * as kit from '@solana/kit';
import * as token from '@solana-program/token';
import * as system from '@solana-program/system';
import * as memo from '@solana-program/memo';

const TOKEN_PROGRAM = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const TOKEN_2022_PROGRAM = 'TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb';
const ATA_PROGRAM = 'ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL';
const MEMO_PROGRAM = 'MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr';
const SYSTEM_PROGRAM = '11111111111111111111111111111111';
const LAMPORTS_PER_SIGNATURE = 5000n;
const BLOCKHASH_WINDOW = 150;
const GENESIS_TIME = 1_796_000_000;

const base58 = kit.getBase58Decoder();
const base58Bytes = kit.getBase58Encoder();
const base64Bytes = kit.getBase64Encoder();
const addressOf = bytes => kit.getAddressDecoder().decode(bytes);

function newSvm(bytes) {
  const svm = bytes ? LiteSVM.fromBytes(bytes) : new LiteSVM();
  // The window of recent blockhashes is ours: LiteSVM accepts only its latest one.
  return svm.withBlockhashCheck(false);
}

let svm = newSvm();
let slot = 1;
let lags = { confirmed: 1, finalized: 32 };
const blockhashes = new Map(); // slot -> blockhash
const ledger = []; // landed transactions, oldest first
const bySignature = new Map();
const snapshots = new Map();
const signers = new Map(); // address -> KeyPairSigner of the wallets the controls made
blockhashes.set(slot, svm.latestBlockhash());

const commitmentSlot = commitment => (commitment === 'processed' ? slot : commitment === 'confirmed' ? slot - lags.confirmed : slot - lags.finalized);
const statusOf = entrySlot => (entrySlot <= slot - lags.finalized ? 'finalized' : entrySlot <= slot - lags.confirmed ? 'confirmed' : 'processed');
const blockTimeOf = s => GENESIS_TIME + Math.floor(s * 0.4);

function nextSlot() {
  slot += 1;
  svm.expireBlockhash();
  blockhashes.set(slot, svm.latestBlockhash());
  blockhashes.delete(slot - BLOCKHASH_WINDOW - 1);
}

function advance(slots) {
  for (let i = 0; i < slots; i++) {
    // Only the last window's blockhashes can still be used.
    if (slots - i <= BLOCKHASH_WINDOW) nextSlot();
    else slot += 1;
  }
}

function blockhashValid(blockhash) {
  for (const [s, hash] of blockhashes) if (hash === blockhash && s > slot - BLOCKHASH_WINDOW) return true;
  return false;
}

class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

// ---------------------------------------------------------------- accounts and token balances

function account(address) {
  const found = svm.getAccount(address);
  return found.exists ? found : null;
}

function tokenAccount(address) {
  const found = account(address);
  if (!found || (found.programAddress !== TOKEN_PROGRAM && found.programAddress !== TOKEN_2022_PROGRAM) || found.data.length < 165) return null;
  const data = found.data;
  const mint = addressOf(data.slice(0, 32));
  const mintAccount = account(mint);
  const decimals = mintAccount ? mintAccount.data[44] : 0;
  const amount = new DataView(data.buffer, data.byteOffset + 64, 8).getBigUint64(0, true);
  return { mint, owner: addressOf(data.slice(32, 64)), programId: found.programAddress, amount, decimals };
}

function uiAmount(amount, decimals) {
  const text = amount.toString().padStart(decimals + 1, '0');
  const whole = text.slice(0, text.length - decimals);
  const fraction = text.slice(text.length - decimals).replace(/0+$/, '');
  const uiAmountString = fraction ? `${whole}.${fraction}` : whole;
  return { amount: amount.toString(), decimals, uiAmount: Number(uiAmountString), uiAmountString };
}

function tokenBalances(keys) {
  const balances = [];
  keys.forEach((key, accountIndex) => {
    const held = tokenAccount(key);
    if (held) balances.push({ accountIndex, mint: held.mint, owner: held.owner, programId: held.programId, uiTokenAmount: uiAmount(held.amount, held.decimals) });
  });
  return balances;
}

const lamportsOf = keys => keys.map(key => Number(svm.getBalance(key) ?? 0n));

// ---------------------------------------------------------------- instructions, as agave's jsonParsed shows them

const u64 = (data, offset) => new DataView(data.buffer, data.byteOffset + offset, 8).getBigUint64(0, true);

// agave parse_signers: accounts past the authority make it a multisig authority with those accounts as its signers.
function authority(info, accounts, index) {
  if (accounts.length > index + 1) {
    info.multisigAuthority = accounts[index];
    info.signers = accounts.slice(index + 1);
  } else {
    info.authority = accounts[index];
  }
  return info;
}

function parseToken(data, accounts) {
  switch (data[0]) {
    case 3:
      return { type: 'transfer', info: authority({ source: accounts[0], destination: accounts[1], amount: u64(data, 1).toString() }, accounts, 2) };
    case 12: {
      const decimals = data[9];
      return {
        type: 'transferChecked',
        info: authority({ source: accounts[0], mint: accounts[1], destination: accounts[2], tokenAmount: uiAmount(u64(data, 1), decimals) }, accounts, 3),
      };
    }
    case 7:
      return { type: 'mintTo', info: { mint: accounts[0], account: accounts[1], amount: u64(data, 1).toString(), mintAuthority: accounts[2] } };
    case 20:
      return { type: 'initializeMint2', info: { mint: accounts[0], decimals: data[1], mintAuthority: addressOf(data.slice(2, 34)) } };
    case 18:
      return { type: 'initializeAccount3', info: { account: accounts[0], mint: accounts[1], owner: addressOf(data.slice(1, 33)) } };
    case 21:
      return { type: 'getAccountDataSize', info: { mint: accounts[0] } };
    case 22:
      return { type: 'initializeImmutableOwner', info: { account: accounts[0] } };
    default:
      return null;
  }
}

function parseInstruction(programId, accounts, data, stackHeight) {
  let parsed = null;
  let program = null;
  if (programId === TOKEN_PROGRAM || programId === TOKEN_2022_PROGRAM) {
    program = programId === TOKEN_PROGRAM ? 'spl-token' : 'spl-token-2022';
    parsed = parseToken(data, accounts);
  } else if (programId === ATA_PROGRAM && (data.length === 0 || data[0] <= 1)) {
    program = 'spl-associated-token-account';
    parsed = {
      type: data.length && data[0] === 1 ? 'createIdempotent' : 'create',
      info: { source: accounts[0], account: accounts[1], wallet: accounts[2], mint: accounts[3], systemProgram: accounts[4], tokenProgram: accounts[5] },
    };
  } else if (programId === MEMO_PROGRAM) {
    program = 'spl-memo';
    parsed = new TextDecoder().decode(data);
  } else if (programId === SYSTEM_PROGRAM) {
    const kind = data.length >= 4 ? new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true) : -1;
    program = 'system';
    if (kind === 0) {
      parsed = { type: 'createAccount', info: { source: accounts[0], newAccount: accounts[1], lamports: Number(u64(data, 4)), space: Number(u64(data, 12)), owner: addressOf(data.slice(20, 52)) } };
    } else if (kind === 2) {
      parsed = { type: 'transfer', info: { source: accounts[0], destination: accounts[1], lamports: Number(u64(data, 4)) } };
    }
  }
  return parsed === null
    ? { accounts, data: base58.decode(data), programId, stackHeight }
    : { parsed, program, programId, stackHeight };
}

// ---------------------------------------------------------------- sending and the ledger

function errorJson(err) {
  if (err === null || err === undefined) return null;
  if (typeof err === 'number') return FIELDLESS_TRANSACTION_ERRORS[err] ?? `TransactionError${err}`;
  if ('index' in err && typeof err.err === 'function') {
    const inner = err.err();
    const instruction = typeof inner === 'number' ? FIELDLESS_INSTRUCTION_ERRORS[inner] ?? `InstructionError${inner}`
      : 'code' in inner ? { Custom: inner.code } : { BorshIoError: inner.msg };
    return { InstructionError: [err.index, instruction] };
  }
  if ('index' in err) return { DuplicateInstruction: err.index };
  if ('accountIndex' in err) return { InsufficientFundsForRent: { account_index: err.accountIndex } };
  return String(err);
}

const FIELDLESS_TRANSACTION_ERRORS = ['AccountInUse', 'AccountLoadedTwice', 'AccountNotFound', 'ProgramAccountNotFound', 'InsufficientFundsForFee',
  'InvalidAccountForFee', 'AlreadyProcessed', 'BlockhashNotFound', 'CallChainTooDeep', 'MissingSignatureForFee', 'InvalidAccountIndex', 'SignatureFailure',
  'InvalidProgramForExecution', 'SanitizeFailure', 'ClusterMaintenance', 'AccountBorrowOutstanding', 'WouldExceedMaxBlockCostLimit', 'UnsupportedVersion',
  'InvalidWritableAccount', 'WouldExceedMaxAccountCostLimit', 'WouldExceedAccountDataBlockLimit', 'TooManyAccountLocks', 'AddressLookupTableNotFound',
  'InvalidAddressLookupTableOwner', 'InvalidAddressLookupTableData', 'InvalidAddressLookupTableIndex', 'InvalidRentPayingAccount',
  'WouldExceedMaxVoteCostLimit', 'WouldExceedAccountDataTotalLimit', 'MaxLoadedAccountsDataSizeExceeded', 'InvalidLoadedAccountsDataSizeLimit',
  'ResanitizationNeeded', 'UnbalancedTransaction', 'ProgramCacheHitMaxLimit', 'CommitCancelled'];
const FIELDLESS_INSTRUCTION_ERRORS = ['GenericError', 'InvalidArgument', 'InvalidInstructionData', 'InvalidAccountData', 'AccountDataTooSmall',
  'InsufficientFunds', 'IncorrectProgramId', 'MissingRequiredSignature', 'AccountAlreadyInitialized', 'UninitializedAccount', 'UnbalancedInstruction',
  'ModifiedProgramId', 'ExternalAccountLamportSpend', 'ReadonlyLamportChange', 'ReadonlyDataModified', 'DuplicateAccountIndex', 'ExecutableModified',
  'RentEpochModified', 'NotEnoughAccountKeys', 'AccountDataSizeChanged', 'AccountNotExecutable', 'AccountBorrowFailed', 'AccountBorrowOutstanding',
  'DuplicateAccountOutOfSync', 'InvalidError', 'ExecutableDataModified', 'ExecutableLamportChange', 'ExecutableAccountNotRentExempt',
  'UnsupportedProgramId', 'CallDepth', 'MissingAccount', 'ReentrancyNotAllowed', 'MaxSeedLengthExceeded', 'InvalidSeeds', 'InvalidRealloc',
  'ComputationalBudgetExceeded', 'PrivilegeEscalation', 'ProgramEnvironmentSetupFailure', 'ProgramFailedToComplete', 'ProgramFailedToCompile',
  'Immutable', 'IncorrectAuthority', 'ArithmeticOverflow', 'UnsupportedSysvar', 'IllegalOwner', 'MaxAccountsDataAllocationsExceeded',
  'MaxAccountsExceeded', 'MaxInstructionTraceLengthExceeded', 'BuiltinProgramsMustConsumeComputeUnits'];

function isWritable(index, header, keyCount) {
  const signers = header.numSignerAccounts;
  if (index < signers) return index < signers - header.numReadonlySignerAccounts;
  return index < keyCount - header.numReadonlyNonSignerAccounts;
}

function decodeWire(bytes) {
  const transaction = kit.getTransactionDecoder().decode(bytes);
  const message = kit.getCompiledTransactionMessageDecoder().decode(transaction.messageBytes);
  return { transaction, message };
}

function send(bytes, skipPreflight) {
  let decoded;
  try {
    decoded = decodeWire(bytes);
  } catch (error) {
    throw new RpcError(-32602, `invalid transaction: ${error.message}`);
  }
  const { transaction, message } = decoded;
  const signature = base58.decode(Object.values(transaction.signatures)[0] ?? new Uint8Array(64));
  if (bySignature.has(signature)) {
    throw new RpcError(-32002, 'Transaction simulation failed: This transaction has already been processed', { err: 'AlreadyProcessed', logs: [] });
  }
  if (!blockhashValid(message.lifetimeToken)) {
    throw new RpcError(-32002, 'Transaction simulation failed: Blockhash not found', { err: 'BlockhashNotFound', logs: [] });
  }
  if (!skipPreflight) {
    const simulated = svm.simulateTransaction(transaction);
    if (typeof simulated.err === 'function') {
      throw new RpcError(-32002, `Transaction simulation failed: ${JSON.stringify(errorJson(simulated.err()))}`, { err: errorJson(simulated.err()), logs: simulated.meta().logs() });
    }
  }
  const keys = message.staticAccounts.map(String);
  const preBalances = lamportsOf(keys);
  const preTokenBalances = tokenBalances(keys);
  const result = svm.sendTransaction(transaction);
  const failed = typeof result.err === 'function';
  const err = failed ? errorJson(result.err()) : null;
  // What never lands on a chain: a bad signature, a fee that cannot be paid, a duplicate.
  if (failed && !(typeof err === 'object' && err && ('InstructionError' in err || 'DuplicateInstruction' in err || 'InsufficientFundsForRent' in err))) {
    throw new RpcError(-32002, `Transaction simulation failed: ${JSON.stringify(err)}`, { err, logs: [] });
  }
  const meta = failed ? result.meta() : result;
  nextSlot();
  const entry = {
    signature,
    slot,
    bytes,
    message,
    signatures: Object.values(transaction.signatures).map(s => base58.decode(s)),
    keys,
    err,
    fee: Number(LAMPORTS_PER_SIGNATURE * BigInt(message.header.numSignerAccounts)),
    preBalances,
    postBalances: lamportsOf(keys),
    preTokenBalances,
    postTokenBalances: tokenBalances(keys),
    logs: meta.logs(),
    inner: meta.innerInstructions(),
    computeUnits: Number(meta.computeUnitsConsumed()),
  };
  ledger.push(entry);
  bySignature.set(signature, entry);
  return signature;
}

function visible(entry, commitment) {
  return entry.slot <= commitmentSlot(commitment);
}

function memoField(entry) {
  const memos = entry.message.instructions
    .filter(i => entry.keys[i.programAddressIndex] === MEMO_PROGRAM)
    .map(i => new TextDecoder().decode(i.data ?? new Uint8Array()))
    .map(text => `[${new TextEncoder().encode(text).length}] ${text}`);
  return memos.length ? memos.join('; ') : null;
}

function transactionJson(entry, encoding) {
  const { message, keys } = entry;
  const header = message.header;
  const accountKeys = keys.map((pubkey, index) => ({ pubkey, signer: index < header.numSignerAccounts, source: 'transaction', writable: isWritable(index, header, keys.length) }));
  const compiled = (instruction, stackHeight) => ({
    programIdIndex: instruction.programAddressIndex,
    accounts: [...(instruction.accountIndices ?? [])],
    data: base58.decode(instruction.data ?? new Uint8Array()),
    stackHeight,
  });
  const parsed = (instruction, stackHeight) => parseInstruction(keys[instruction.programAddressIndex],
    (instruction.accountIndices ?? []).map(i => keys[i]), instruction.data ?? new Uint8Array(), stackHeight);
  const innerOf = (toJson) => entry.inner
    .map((list, index) => ({
      index,
      instructions: list.map(inner => {
        const c = inner.instruction();
        return toJson({ programAddressIndex: c.programIdIndex(), accountIndices: [...c.accounts()], data: c.data() }, inner.stackHeight());
      }),
    }))
    .filter(group => group.instructions.length > 0);
  const meta = {
    err: entry.err,
    status: entry.err === null ? { Ok: null } : { Err: entry.err },
    fee: entry.fee,
    preBalances: entry.preBalances,
    postBalances: entry.postBalances,
    innerInstructions: innerOf(encoding === 'jsonParsed' ? parsed : compiled),
    logMessages: entry.logs,
    preTokenBalances: entry.preTokenBalances,
    postTokenBalances: entry.postTokenBalances,
    rewards: [],
    loadedAddresses: { writable: [], readonly: [] },
    computeUnitsConsumed: entry.computeUnits,
  };
  let transaction;
  if (encoding === 'base64') {
    transaction = [Buffer.from(entry.bytes).toString('base64'), 'base64'];
  } else if (encoding === 'jsonParsed') {
    transaction = {
      signatures: entry.signatures,
      message: {
        accountKeys,
        instructions: message.instructions.map(i => parsed(i, null)),
        recentBlockhash: message.lifetimeToken,
        ...(message.version === 0 ? { addressTableLookups: [] } : {}),
      },
    };
  } else {
    transaction = {
      signatures: entry.signatures,
      message: {
        header: { numRequiredSignatures: header.numSignerAccounts, numReadonlySignedAccounts: header.numReadonlySignerAccounts, numReadonlyUnsignedAccounts: header.numReadonlyNonSignerAccounts },
        accountKeys: keys,
        recentBlockhash: message.lifetimeToken,
        instructions: message.instructions.map(i => compiled(i, null)),
        ...(message.version === 0 ? { addressTableLookups: [] } : {}),
      },
    };
  }
  if (encoding === 'jsonParsed') delete meta.loadedAddresses;
  return { slot: entry.slot, blockTime: blockTimeOf(entry.slot), version: message.version === 0 ? 0 : 'legacy', meta, transaction };
}

// ---------------------------------------------------------------- the JSON-RPC methods

const context = () => ({ apiVersion: '2.2.0', slot });

function commitmentOf(config, allowProcessed = true) {
  const commitment = config?.commitment ?? 'finalized';
  if (!['processed', 'confirmed', 'finalized'].includes(commitment)) throw new RpcError(-32602, `Invalid params: unknown commitment ${commitment}`);
  if (commitment === 'processed' && !allowProcessed) throw new RpcError(-32602, 'Method does not support commitment below `confirmed`');
  return commitment;
}

const methods = {
  getHealth: () => 'ok',
  getVersion: () => ({ 'solana-core': '2.2.0', 'feature-set': 0 }),
  getGenesisHash: () => blockhashes.get(1) ?? svm.latestBlockhash(),
  getSlot: ([config] = []) => commitmentSlot(commitmentOf(config)),
  getBlockHeight: ([config] = []) => commitmentSlot(commitmentOf(config)),
  getEpochInfo: ([config] = []) => {
    const at = commitmentSlot(commitmentOf(config));
    return { absoluteSlot: at, blockHeight: at, epoch: 0, slotIndex: at, slotsInEpoch: 432000, transactionCount: ledger.length };
  },
  getLatestBlockhash: ([config] = []) => {
    const at = Math.max(1, commitmentSlot(commitmentOf(config)));
    let s = at;
    while (s > 0 && !blockhashes.has(s)) s -= 1;
    return { context: context(), value: { blockhash: blockhashes.get(s) ?? svm.latestBlockhash(), lastValidBlockHeight: s + BLOCKHASH_WINDOW } };
  },
  isBlockhashValid: ([blockhash]) => ({ context: context(), value: blockhashValid(blockhash) }),
  getMinimumBalanceForRentExemption: ([length]) => Number(svm.minimumBalanceForRentExemption(BigInt(length ?? 0))),
  getFeeForMessage: ([message]) => {
    const bytes = base64Bytes.encode(message);
    // The header's first byte after an optional version prefix is the number of signers.
    const signersCount = bytes[0] & 0x80 ? bytes[1] : bytes[0];
    return { context: context(), value: Number(LAMPORTS_PER_SIGNATURE) * signersCount };
  },
  getBalance: ([address]) => ({ context: context(), value: Number(svm.getBalance(address) ?? 0n) }),
  getAccountInfo: ([address, config]) => {
    const found = account(address);
    return {
      context: context(),
      value: found ? {
        data: [Buffer.from(found.data).toString('base64'), 'base64'],
        executable: found.executable,
        lamports: Number(found.lamports),
        owner: found.programAddress,
        rentEpoch: 18446744073709551615,
        space: found.data.length,
      } : null,
    };
  },
  getTokenAccountBalance: ([address]) => {
    const held = tokenAccount(address);
    if (!held) throw new RpcError(-32602, 'Invalid param: could not find account');
    return { context: context(), value: uiAmount(held.amount, held.decimals) };
  },
  requestAirdrop: ([address, lamports]) => {
    svm.airdrop(address, BigInt(lamports));
    return base58.decode(crypto.getRandomValues(new Uint8Array(64)));
  },
  sendTransaction: ([encoded, config]) => {
    const bytes = config?.encoding === 'base58' ? base58Bytes.encode(encoded) : base64Bytes.encode(encoded);
    return send(bytes, config?.skipPreflight === true);
  },
  simulateTransaction: ([encoded, config]) => {
    const bytes = config?.encoding === 'base58' ? base58Bytes.encode(encoded) : base64Bytes.encode(encoded);
    const { transaction } = decodeWire(bytes);
    const result = svm.simulateTransaction(transaction);
    const failed = typeof result.err === 'function';
    const meta = failed ? result.meta() : result.meta();
    return { context: context(), value: { err: failed ? errorJson(result.err()) : null, logs: meta.logs(), accounts: null, unitsConsumed: Number(meta.computeUnitsConsumed()), returnData: null } };
  },
  getSignatureStatuses: ([signatures]) => ({
    context: context(),
    value: signatures.map(signature => {
      const entry = bySignature.get(signature);
      if (!entry) return null;
      const status = statusOf(entry.slot);
      return {
        slot: entry.slot,
        confirmations: status === 'finalized' ? null : slot - entry.slot,
        err: entry.err,
        status: entry.err === null ? { Ok: null } : { Err: entry.err },
        confirmationStatus: status,
      };
    }),
  }),
  getSignaturesForAddress: ([address, config]) => {
    const commitment = commitmentOf(config, false);
    const limit = config?.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RpcError(-32602, 'Invalid limit; max 1000');
    let list = ledger.filter(entry => visible(entry, commitment) && entry.keys.includes(address)).reverse();
    if (config?.before) {
      const at = list.findIndex(entry => entry.signature === config.before);
      list = at < 0 ? [] : list.slice(at + 1);
    }
    if (config?.until) {
      const at = list.findIndex(entry => entry.signature === config.until);
      if (at >= 0) list = list.slice(0, at);
    }
    return list.slice(0, limit).map(entry => ({
      signature: entry.signature,
      slot: entry.slot,
      err: entry.err,
      memo: memoField(entry),
      blockTime: blockTimeOf(entry.slot),
      confirmationStatus: statusOf(entry.slot),
    }));
  },
  getTransaction: ([signature, config]) => {
    const commitment = commitmentOf(typeof config === 'string' ? { commitment: config } : config, false);
    const entry = bySignature.get(signature);
    if (!entry || !visible(entry, commitment)) return null;
    if (entry.message.version === 0 && (config?.maxSupportedTransactionVersion ?? null) === null) {
      throw new RpcError(-32015, 'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0');
    }
    return transactionJson(entry, config?.encoding ?? 'json');
  },
};

// ---------------------------------------------------------------- test controls: a wallet built on @solana/kit

const signerOf = address => signers.get(address) ?? (() => { throw new Error(`no wallet ${address} here`); })();

async function sendInstructions(payer, instructions, skipPreflight = false) {
  const message = kit.pipe(
    kit.createTransactionMessage({ version: 0 }),
    m => kit.setTransactionMessageFeePayerSigner(payer, m),
    // The newest blockhash: each landed transaction makes a new one, so two equal transfers in a row are two transactions.
    m => kit.setTransactionMessageLifetimeUsingBlockhash(methods.getLatestBlockhash([{ commitment: 'processed' }]).value, m),
    m => kit.appendTransactionMessageInstructions(instructions, m),
  );
  const signed = await kit.signTransactionMessageWithSigners(message);
  return methods.sendTransaction([kit.getBase64EncodedWireTransaction(signed), { encoding: 'base64', skipPreflight }]);
}

async function walletOf(seed, lamports) {
  const signer = await kit.createKeyPairSignerFromPrivateKeyBytes(new Uint8Array(seed));
  svm.airdrop(signer.address, lamports);
  signers.set(signer.address, signer);
  return signer;
}

async function wallet(lamports = 10_000_000_000n) {
  const signer = await kit.generateKeyPairSigner();
  svm.airdrop(signer.address, lamports);
  signers.set(signer.address, signer);
  return signer;
}

const ata = async (owner, mint, tokenProgram = TOKEN_PROGRAM) => (await token.findAssociatedTokenPda({ owner, mint, tokenProgram }))[0];

const controls = {
  // A mint, the treasury's owner wallet (its token account is created by the first payment, as a wallet does); the owner's
  // key is the given 32-byte seed (hex) when the service must sign for it (payouts), else a fresh one.
  async setup({ decimals = 6, treasurySeed }) {
    const authority = await wallet();
    const mint = await kit.generateKeyPairSigner();
    const space = BigInt(token.getMintSize());
    await sendInstructions(authority, [
      system.getCreateAccountInstruction({ payer: authority, newAccount: mint, lamports: svm.minimumBalanceForRentExemption(space), space, programAddress: TOKEN_PROGRAM }),
      token.getInitializeMint2Instruction({ mint: mint.address, decimals, mintAuthority: authority.address }),
    ]);
    const treasury = treasurySeed ? await walletOf(Buffer.from(treasurySeed, 'hex'), 1_000_000_000n) : await wallet(1_000_000_000n);
    return { mint: mint.address, mintAuthority: authority.address, treasuryOwner: treasury.address, treasuryTokenAccount: await ata(treasury.address, mint.address) };
  },
  // A payer with SOL and tokens of the mint.
  async payer({ mint, mintAuthority, amount }) {
    const payer = await wallet();
    const account = await ata(payer.address, mint);
    await sendInstructions(payer, [
      await token.getCreateAssociatedTokenIdempotentInstructionAsync({ payer, owner: payer.address, mint }),
      token.getMintToInstruction({ mint, token: account, mintAuthority: signerOf(mintAuthority), amount: BigInt(amount) }),
    ]);
    return { payer: payer.address, tokenAccount: account };
  },
  // One transaction from a payer: transfers (each with its own reference key and memo if given) to owners' token accounts.
  async transfer({ payer, mint, transfers, fail = false, checked = true }) {
    const signer = signerOf(payer);
    const source = await ata(payer, mint);
    const instructions = [];
    for (const t of transfers) {
      const destination = await ata(t.owner, t.mint ?? mint);
      instructions.push(await token.getCreateAssociatedTokenIdempotentInstructionAsync({ payer: signer, owner: t.owner, mint: t.mint ?? mint }));
      if (t.memo) instructions.push(memo.getAddMemoInstruction({ memo: t.memo }, { programAddress: MEMO_PROGRAM }));
      const amount = BigInt(t.amount);
      const transfer = checked
        ? token.getTransferCheckedInstruction({ source: t.mint ? await ata(payer, t.mint) : source, mint: t.mint ?? mint, destination, authority: signer, amount, decimals: t.decimals ?? 6 })
        : token.getTransferInstruction({ source: t.mint ? await ata(payer, t.mint) : source, destination, authority: signer, amount });
      // Solana Pay: the reference is a read-only, non-signer account appended to the transfer.
      instructions.push(t.reference ? { ...transfer, accounts: [...transfer.accounts, { address: t.reference, role: kit.AccountRole.READONLY }] } : transfer);
    }
    const signature = await sendInstructions(signer, instructions, fail);
    const entry = bySignature.get(signature);
    return { signature, slot: entry.slot, err: entry.err };
  },
  // Many one-transfer transactions, each built and signed as the single ones are (a page of signatures and more).
  async burst({ payer, mint, owner, count, amount, reference }) {
    const signatures = [];
    for (let i = 0; i < count; i++) {
      signatures.push((await controls.transfer({ payer, mint, transfers: [{ owner, amount, reference }] })).signature);
    }
    return { count: signatures.length, first: signatures[0], last: signatures[signatures.length - 1], slot };
  },
  // The benchmark's chain: `deposits` transfers into the treasury, each naming one of `references` in turn, spread among
  // `others` transactions that also touch the treasury's token account without paying it (the treasury paying out).
  async mix({ payer, mint, treasuryOwner, references, deposits, others, amount }) {
    const sink = (await wallet(1_000_000_000n)).address;
    const every = Math.max(1, Math.floor((deposits + others) / Math.max(1, deposits)));
    let paid = 0;
    let out = 0;
    for (let i = 0; i < deposits + others; i++) {
      if ((i % every === 0 && paid < deposits) || out >= others) {
        await controls.transfer({ payer, mint, transfers: [{ owner: treasuryOwner, amount: amount + paid, reference: references[paid % references.length] }] });
        paid += 1;
      } else {
        await controls.transfer({ payer: treasuryOwner, mint, transfers: [{ owner: sink, amount: 1 }] });
        out += 1;
      }
    }
    return { deposits: paid, others: out, slot };
  },
  async reference() {
    return { reference: (await kit.generateKeyPairSigner()).address };
  },
  advance({ slots }) {
    advance(slots);
    return { slot };
  },
  lags({ confirmed, finalized }) {
    lags = { confirmed, finalized };
    return { slot, lags };
  },
  // A fork: what lands after the snapshot is dropped by revert, and the chain goes on from the current slot.
  snapshot() {
    const id = `s${snapshots.size + 1}`;
    snapshots.set(id, { bytes: svm.toBytes(), landed: ledger.length });
    return { id, slot };
  },
  revert({ id }) {
    const saved = snapshots.get(id);
    svm = newSvm(saved.bytes);
    for (const dropped of ledger.splice(saved.landed)) bySignature.delete(dropped.signature);
    nextSlot();
    return { slot, transactions: ledger.length };
  },
  state() {
    return { slot, lags, confirmed: commitmentSlot('confirmed'), finalized: commitmentSlot('finalized'), transactions: ledger.length };
  },
};

// ---------------------------------------------------------------- HTTP

function answer(request) {
  const reply = { jsonrpc: '2.0', id: request?.id ?? null };
  try {
    const method = methods[request?.method];
    if (!method) throw new RpcError(-32601, 'Method not found');
    reply.result = method(request.params ?? []);
  } catch (error) {
    reply.error = error instanceof RpcError
      ? { code: error.code, message: error.message, ...(error.data ? { data: error.data } : {}) }
      : { code: -32603, message: `Internal error: ${error.message}` };
  }
  return reply;
}

const stringify = value => JSON.stringify(value, (key, v) => (typeof v === 'bigint' ? Number(v) : v));

const server = http.createServer(async (request, response) => {
  let text = '';
  for await (const chunk of request) text += chunk;
  const reply = (status, body) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(stringify(body));
  };
  try {
    if (request.method === 'POST' && request.url === '/control') {
      const body = JSON.parse(text);
      const control = controls[body.op];
      if (!control) return reply(404, { error: `no control ${body.op}` });
      return reply(200, await control(body));
    }
    if (request.method !== 'POST') return reply(405, { error: 'POST only' });
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      return reply(200, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    }
    return reply(200, Array.isArray(body) ? body.map(answer) : answer(body));
  } catch (error) {
    reply(500, { error: String(error?.stack ?? error) });
  }
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening http://127.0.0.1:${server.address().port}/`));
