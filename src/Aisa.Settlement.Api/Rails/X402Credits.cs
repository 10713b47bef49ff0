using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.X402;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Deposits;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// How a settled x402 top-up becomes money in the wallet. Trusting the facilitator (<c>Confirm: facilitator</c>): an
/// <c>x402</c> deposit credited at once, keyed by the transaction. Confirmed by the watcher (<c>Confirm: watcher</c>):
/// the settlement's Transfer log is recorded as a detected deposit of the EVM rail of the same chain, keyed like
/// any deposit there, and that rail's watcher credits it at its confirmation depth after re-reading the block.
/// </summary>
public sealed class X402Credits(X402Options options, Eip3009Chain chain, RailRegistry rails, DepositProcessor processor, DepositStore deposits)
{
    public async Task<Deposit> TopUpAsync(long agentId, string transaction, string tokenAmount, Micros amount, JsonObject evidence, CancellationToken cancellationToken)
    {
        var payTo = options.PayTo!.ToLowerInvariant();
        var asset = options.Asset!.ToLowerInvariant();
        if (!options.ConfirmedByWatcher)
        {
            return await processor.CreditSettledAsync(X402TopUpApi.Rail,
                new DepositPayment(agentId, $"{options.Network}:{transaction}", transaction, null, payTo, asset, tokenAmount, amount, null, null),
                evidence, cancellationToken);
        }
        var rail = rails.All.OfType<Adapters.Evm.EvmRail>().First(r => r.ChainId == options.ChainId);
        var (log, position) = await chain.TransferAsync(transaction, asset, payTo, cancellationToken)
            ?? throw new InvalidOperationException($"The settlement {transaction} has no Transfer of {asset} to {payTo} in its receipt.");
        evidence["confirmedBy"] = rail.Rail;
        return await deposits.RecordPaymentAsync(rail.Rail,
            new DepositPayment(agentId, Adapters.Evm.EvmRail.ExternalId(log.TransactionHash, position), transaction, log.LogIndex, payTo, asset, tokenAmount, amount,
                log.BlockNumber, log.BlockHash, position),
            DepositState.Detected, 1, rail.ConfirmationsRequired, evidence.ToJsonString(), cancellationToken);
    }
}
