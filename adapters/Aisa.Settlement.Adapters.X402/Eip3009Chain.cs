using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Evm;
using Aisa.Settlement.Adapters.Evm.Rpc;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>The <c>Transfer</c> an EIP-3009 authorization made, and its place among its transaction's logs.</summary>
public sealed record AuthorizedTransfer(TransferLog Transfer, int Position);

public enum SettlementStatus
{
    /// <summary>The node has no receipt for the transaction (not mined, or not seen by this node yet).</summary>
    NotMined,
    /// <summary>The transaction is mined and failed: it moved nothing.</summary>
    Reverted,
    /// <summary>The transaction is mined and did not use this authorization.</summary>
    NotThisAuthorization,
    /// <summary>The transaction used this authorization: <see cref="SettlementReading.Transfer"/> is what it moved.</summary>
    Used,
}

public sealed record SettlementReading(SettlementStatus Status, AuthorizedTransfer? Transfer);

/// <summary>
/// What the chain says of an EIP-3009 authorization: whether it was used (<c>authorizationState</c>), by which transaction
/// (its <c>AuthorizationUsed</c> event), and what that transaction moved for it — the token's <c>Transfer</c> emitted right
/// after the <c>AuthorizationUsed(payer, nonce)</c> it belongs to, as USDC's <c>transferWithAuthorization</c> emits them.
/// Only that transfer tells who paid whom how much; a facilitator's word, or another transfer in the same transaction,
/// does not.
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

    /// <summary>What <paramref name="transaction"/> did with the authorization <c>(payer, nonce)</c> of <paramref name="asset"/>.</summary>
    public async Task<SettlementReading> ReadAsync(string transaction, string asset, string payer, string nonce, CancellationToken cancellationToken)
    {
        var receipt = (await rpc.ReceiptsAsync([transaction], cancellationToken)).GetValueOrDefault(transaction);
        if (receipt is null)
        {
            return new SettlementReading(SettlementStatus.NotMined, null);
        }
        if (receipt["status"]?.GetValue<string>() != "0x1" || receipt["logs"] is not JsonArray logs)
        {
            return new SettlementReading(SettlementStatus.Reverted, null);
        }
        var token = asset.ToLowerInvariant();
        var (payerTopic, nonceTopic) = ("0x" + Word(payer), "0x" + nonce[2..].PadLeft(64, '0').ToLowerInvariant());
        for (var i = 0; i < logs.Count; i++)
        {
            if (logs[i] is not JsonObject log || !string.Equals(log["address"]?.GetValue<string>(), token, StringComparison.OrdinalIgnoreCase)
                || log["topics"] is not JsonArray { Count: 3 } topics
                || !string.Equals(topics[0]?.GetValue<string>(), AuthorizationUsed, StringComparison.OrdinalIgnoreCase)
                || !string.Equals(topics[1]?.GetValue<string>(), payerTopic, StringComparison.OrdinalIgnoreCase)
                || !string.Equals(topics[2]?.GetValue<string>(), nonceTopic, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            // The authorization's own transfer is the token's next Transfer log.
            for (var j = i + 1; j < logs.Count; j++)
            {
                if (logs[j] is JsonObject next && TransferLog.Parse(next) is { } transfer && transfer.Token == token)
                {
                    return new SettlementReading(SettlementStatus.Used, new AuthorizedTransfer(transfer, j));
                }
            }
            return new SettlementReading(SettlementStatus.Used, null);
        }
        return new SettlementReading(SettlementStatus.NotThisAuthorization, null);
    }

    private static string Word(string address) => address[2..].ToLowerInvariant().PadLeft(64, '0');
}
