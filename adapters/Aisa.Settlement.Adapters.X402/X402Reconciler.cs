using System.Text.Json.Nodes;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Logging;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>
/// x402 settlements whose answer never came back (the facilitator timed out or failed after sending the
/// transaction), or whose booking failed after it did: the chain decides. A used authorization is found by its
/// <c>AuthorizationUsed</c> event, and what that transaction moved for it is compared with the claim: exactly the claim
/// is credited like any settlement (a top-up to its agent; one request paid without an account, whose content was
/// never served, to suspense for an operator), under the same key, so it is credited once whichever path is first.
/// Anything else (a front-run with the same nonce for another amount or payee) closes the claim with its evidence and
/// credits nothing. An unused authorization whose validity ended can never settle: it is closed, and nothing was taken.
/// </summary>
public sealed class X402Reconciler(X402Payments x402, IAuthorizationClaims authorizations, X402Credits credits, IDepositBook book,
    TimeProvider clock, ILogger<X402Reconciler> logger) : IRailJob
{
    public const string JobName = "reconcile:x402";

    public string Name => JobName;

    public Task<JsonObject> RunAsync(CancellationToken cancellationToken) => PassAsync(cancellationToken);

    /// <summary>A claim younger than this may still be settling: its request may still wait for /verify and /settle.</summary>
    private TimeSpan Grace => TimeSpan.FromSeconds(2 * x402.Options.FacilitatorTimeoutSeconds + 5);

    public async Task<JsonObject> PassAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (credited, expired, mismatched, waiting) = (0, 0, 0, 0);
        foreach (var claim in await authorizations.UnresolvedAsync(now - Grace, cancellationToken))
        {
            if (x402.Chains.Find(claim.Network)?.Chain is not { } chain)
            {
                logger.LogError("x402 authorization {Payer}/{Nonce} was claimed on {Network}, which is no longer in {Section}: it cannot be looked up; put the network back or resolve it by hand.",
                    claim.Payer, claim.Nonce, claim.Network, X402Options.Section);
                waiting++;
                continue;
            }
            if (!await chain.IsUsedAsync(claim.Asset, claim.Payer, claim.Nonce, cancellationToken))
            {
                // One minute past validBefore, no block can still include it.
                if (now.ToUnixTimeSeconds() > claim.ValidBefore + 60)
                {
                    await authorizations.ExpireAsync(claim, cancellationToken);
                    expired++;
                }
                else
                {
                    waiting++;
                }
                continue;
            }
            var transaction = await chain.TransactionAsync(claim.Asset, claim.Payer, claim.Nonce, cancellationToken);
            if (transaction is null)
            {
                logger.LogError("x402 authorization {Payer}/{Nonce} is used on chain but its transaction is not in the last {Blocks} blocks: resolve it by hand.",
                    claim.Payer, claim.Nonce, Eip3009Chain.SearchBlocks);
                waiting++;
                continue;
            }
            switch (await x402.CheckSettlementAsync(claim, transaction, cancellationToken))
            {
                case SettlementCheck.Matches matches:
                    await BookAsync(claim, transaction, matches.Transfer, cancellationToken);
                    await authorizations.SettledAsync(claim.Network, claim.Payer, claim.Nonce, transaction, cancellationToken);
                    credited++;
                    break;
                case SettlementCheck.Mismatched:
                    mismatched++;
                    break;
                default:
                    waiting++;
                    break;
            }
        }
        return new JsonObject { ["credited"] = credited, ["expired"] = expired, ["mismatched"] = mismatched, ["waiting"] = waiting };
    }

    private async Task BookAsync(AuthorizationClaim claim, string transaction, AuthorizedTransfer transfer, CancellationToken cancellationToken)
    {
        var evidence = new JsonObject
        {
            ["network"] = claim.Network,
            ["txHash"] = transaction,
            ["payer"] = claim.Payer,
            ["nonce"] = claim.Nonce,
            ["tokenAmount"] = claim.Value,
            ["logPosition"] = transfer.Position,
            ["reconciled"] = true,
        };
        if (claim.AgentId is { } agent)
        {
            await credits.TopUpAsync(agent, claim.Network, transfer, claim.Amount, evidence, cancellationToken);
            return;
        }
        // Booked by a build that keyed a request by its transaction alone: it stands.
        if (await book.IsBookedAsync(X402Rail.LegacyRequestKey(claim.Network, transaction), cancellationToken))
        {
            return;
        }
        // The request's own booking (to the publisher) uses this key too: whichever came first stands.
        await book.HoldRequestPaymentAsync(X402Rail.Rail, X402Rail.RequestKey(claim.Network, transaction, transfer.Position), claim.Amount,
            $"x402 payment {transaction} by {claim.Payer}, settled after its request failed", cancellationToken);
    }
}
