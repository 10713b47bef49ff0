using System.Globalization;
using System.Numerics;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.Evm.Rpc;

/// <summary>One ERC-20 <c>Transfer(from, to, value)</c> log.</summary>
public sealed record TransferLog(string Token, string From, string To, BigInteger Value, long BlockNumber, string BlockHash, string TransactionHash, long LogIndex)
{
    /// <summary>keccak256("Transfer(address,address,uint256)").</summary>
    public const string Topic = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

    /// <summary>Null for a log that is not a standard ERC-20 Transfer (ERC-721 puts the value in a topic).</summary>
    public static TransferLog? Parse(JsonObject log)
    {
        var topics = log["topics"]?.AsArray();
        var data = log["data"]?.GetValue<string>();
        if (topics is not { Count: 3 } || !string.Equals(topics[0]?.GetValue<string>(), Topic, StringComparison.OrdinalIgnoreCase) || data is not { Length: 66 })
        {
            return null;
        }
        if (log["removed"]?.GetValue<bool>() == true)
        {
            return null;
        }
        return new TransferLog(
            log["address"]!.GetValue<string>().ToLowerInvariant(),
            TopicAddress(topics[1]!.GetValue<string>()),
            TopicAddress(topics[2]!.GetValue<string>()),
            BigInteger.Parse("0" + data[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
            EvmRpcClient.ParseQuantity(log["blockNumber"]!.GetValue<string>()),
            log["blockHash"]!.GetValue<string>().ToLowerInvariant(),
            log["transactionHash"]!.GetValue<string>().ToLowerInvariant(),
            EvmRpcClient.ParseQuantity(log["logIndex"]!.GetValue<string>()));
    }

    /// <summary>
    /// Where this log stands among its transaction's logs (0 for the first), read from the transaction's receipt: what
    /// stays the same when the transaction is mined again in another block, where its block-wide log index changes.
    /// Null when the receipt is of another block (it was mined again meanwhile) or does not hold the log.
    /// </summary>
    public int? PositionIn(JsonObject receipt)
    {
        if (!string.Equals(receipt["blockHash"]?.GetValue<string>(), BlockHash, StringComparison.OrdinalIgnoreCase) || receipt["logs"] is not JsonArray logs)
        {
            return null;
        }
        for (var i = 0; i < logs.Count; i++)
        {
            if (logs[i]?["logIndex"]?.GetValue<string>() is { } index && EvmRpcClient.ParseQuantity(index) == LogIndex)
            {
                return i;
            }
        }
        return null;
    }

    private static string TopicAddress(string topic) => "0x" + topic[^40..].ToLowerInvariant();
}
