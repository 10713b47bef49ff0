using Aisa.Settlement.Adapters.Evm;
using Aisa.Settlement.Adapters.Evm.Rpc;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>
/// What the chain says of an EIP-3009 authorization, for a settlement whose answer was lost: whether it was used
/// (<c>authorizationState</c>), and by which transaction (its <c>AuthorizationUsed</c> event).
/// </summary>
public sealed class Eip3009Chain(EvmRpcClient rpc)
{
    private static readonly string AuthorizationState = Keccak.Selector("authorizationState(address,bytes32)");
    private static readonly string AuthorizationUsed = Keccak.Topic("AuthorizationUsed(address,bytes32)");

    /// <summary>How far back to look for the transaction of a used authorization.</summary>
    public const long SearchBlocks = 50_000;

    public async Task<bool> IsUsedAsync(string asset, string payer, string nonce, CancellationToken cancellationToken)
    {
        var answer = await rpc.EthCallAsync(asset, "0x" + AuthorizationState + Word(payer) + nonce[2..].PadLeft(64, '0'), cancellationToken);
        return answer.Length >= 66 && answer[^1] == '1';
    }

    /// <summary>The hash of the transaction that used the authorization, if it is within the last <see cref="SearchBlocks"/> blocks.</summary>
    public async Task<string?> TransactionAsync(string asset, string payer, string nonce, CancellationToken cancellationToken)
    {
        var head = await rpc.BlockNumberAsync(cancellationToken);
        var logs = await rpc.LogsAsync(asset, [AuthorizationUsed, "0x" + Word(payer), "0x" + nonce[2..].PadLeft(64, '0')], Math.Max(0, head - SearchBlocks), head, cancellationToken);
        return logs.Count == 0 ? null : logs[0]!["transactionHash"]!.GetValue<string>().ToLowerInvariant();
    }

    /// <summary>
    /// The <c>Transfer</c> log a settlement made to <paramref name="payTo"/>, from its receipt: what the EVM watcher
    /// follows to its confirmations. Null when the transaction has no such log (or no receipt yet).
    /// </summary>
    public async Task<(TransferLog Log, int Position)?> TransferAsync(string transaction, string asset, string payTo, CancellationToken cancellationToken)
    {
        var receipt = await rpc.CallAsync("eth_getTransactionReceipt", [transaction], cancellationToken);
        if (receipt is not System.Text.Json.Nodes.JsonObject found || found["logs"] is not System.Text.Json.Nodes.JsonArray logs)
        {
            return null;
        }
        var log = logs.OfType<System.Text.Json.Nodes.JsonObject>().Select(TransferLog.Parse)
            .FirstOrDefault(log => log is not null && log.Token == asset.ToLowerInvariant() && log.To == payTo.ToLowerInvariant());
        return log is not null && log.PositionIn(found) is { } position ? (log, position) : null;
    }

    private static string Word(string address) => address[2..].ToLowerInvariant().PadLeft(64, '0');
}
