using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.X402;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Money;
using Aisa.Settlement.Storage.Deposits;

namespace Aisa.Settlement.Api.Rails;

/// <summary>
/// How a settled x402 top-up becomes money in the wallet, from the transfer the chain shows its authorization made (the
/// caller has checked it is exactly the claim). Trusting the facilitator (<c>Confirm: facilitator</c>): an <c>x402</c>
/// deposit credited at once, keyed by that transfer. Confirmed by the watcher (<c>Confirm: watcher</c>): the transfer is
/// recorded as a detected deposit of the EVM rail of the same chain, keyed like any deposit there, and that rail's
/// watcher credits it at its confirmation depth after re-reading the block.
/// </summary>
public sealed class X402Credits(X402Options options, RailRegistry rails, DepositProcessor processor, DepositStore deposits)
{
    public async Task<Deposit> TopUpAsync(long agentId, AuthorizedTransfer settled, Micros amount, JsonObject evidence, CancellationToken cancellationToken)
    {
        var (log, position) = (settled.Transfer, settled.Position);
        var tokenAmount = log.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!options.ConfirmedByWatcher)
        {
            // Credited by a build that keyed a top-up by its transaction alone: it stands.
            if (await deposits.FindByExternalIdAsync(X402TopUpApi.Rail, $"{options.Network}:{log.TransactionHash}", cancellationToken) is { AgentId: { } owner } earlier
                && owner == agentId && earlier.TokenAmount == tokenAmount)
            {
                return earlier;
            }
            return await processor.CreditSettledAsync(X402TopUpApi.Rail,
                new DepositPayment(agentId, $"{options.Network}:{log.TransactionHash}#{position}", log.TransactionHash, log.LogIndex, log.To, log.Token, tokenAmount, amount,
                    log.BlockNumber, log.BlockHash, position),
                evidence, cancellationToken);
        }
        var rail = rails.All.OfType<Adapters.Evm.EvmRail>().First(r => r.ChainId == options.ChainId);
        evidence["confirmedBy"] = rail.Rail;
        return await deposits.RecordPaymentAsync(rail.Rail,
            new DepositPayment(agentId, Adapters.Evm.EvmRail.ExternalId(log.TransactionHash, position), log.TransactionHash, log.LogIndex, log.To, log.Token, tokenAmount, amount,
                log.BlockNumber, log.BlockHash, position),
            DepositState.Detected, 1, rail.ConfirmationsRequired, evidence.ToJsonString(), cancellationToken);
    }
}
