using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Evm;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>
/// How a settled x402 top-up becomes money in the wallet, from the transfer the chain shows its authorization made (the
/// caller has checked it is exactly the claim). Trusting the facilitator (<c>Confirm: facilitator</c>): an <c>x402</c>
/// deposit credited at once, keyed by that transfer. Confirmed by the watcher (<c>Confirm: watcher</c>): the transfer is
/// recorded as a detected deposit of the EVM rail of the same chain, keyed like any deposit there, and that rail's
/// watcher credits it at its confirmation depth after re-reading the block.
/// </summary>
public sealed class X402Credits(X402Chains chains, IRailRegistry rails, IDepositBook book)
{
    /// <param name="network">The CAIP-2 network it settled on.</param>
    public async Task<Deposit> TopUpAsync(long agentId, string network, AuthorizedTransfer settled, Micros amount, JsonObject evidence, CancellationToken cancellationToken)
    {
        var options = chains.Find(network)?.Settings ?? throw new InvalidOperationException($"{network} is not an x402 network of {X402Options.Section}.");
        var (log, position) = (settled.Transfer, settled.Position);
        var tokenAmount = log.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var payment = new SeenPayment(agentId, log.To, log.Token, tokenAmount, amount, "0", log.TransactionHash, log.LogIndex, position);
        var block = new ChainPosition(log.BlockNumber, log.BlockHash);
        if (!options.ConfirmedByWatcher)
        {
            // Credited by a build that keyed a top-up by its transaction alone: it stands.
            if (await book.FindAsync(X402Rail.Rail, $"{options.Network}:{log.TransactionHash}", cancellationToken) is { AgentId: { } owner } earlier
                && owner == agentId && earlier.TokenAmount == tokenAmount)
            {
                return earlier;
            }
            // Settled is final: credited at once, keyed by the transfer.
            return (await book.BookAsync(X402Rail.Rail,
                new DepositObservation(ObservationKind.Seen, $"{options.Network}:{log.TransactionHash}#{position}", 1, block, payment) { Evidence = evidence }, cancellationToken))!;
        }
        var rail = rails.All.OfType<EvmRail>().First(r => r.ChainId == options.ChainId);
        evidence["confirmedBy"] = rail.Id.Value;
        return (await book.BookAsync(rail.Id,
            new DepositObservation(ObservationKind.Reported, EvmRail.ExternalId(log.TransactionHash, position), 1, block, payment) { Evidence = evidence }, cancellationToken))!;
    }
}
