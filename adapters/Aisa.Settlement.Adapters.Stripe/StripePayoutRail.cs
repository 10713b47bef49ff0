using System.Globalization;
using System.Text.Json.Nodes;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;

namespace Aisa.Settlement.Adapters.Stripe;

/// <summary>
/// Stripe with payouts: a Stripe Connect transfer of whole cents from the platform's balance to the publisher's connected
/// account (<c>acct_…</c>), under the payout's key as Idempotency-Key and transfer group, stored before it is sent. A transfer
/// is final when Stripe makes it. After a lost answer the transfer group is looked up first (it outlives Stripe's 24-hour
/// idempotency window), and only when Stripe has none is it asked again, under the same key.
/// </summary>
public sealed class StripePayoutRail(StripeOptions options, StripeTopUps topUps, StripeClient stripe, TimeProvider clock) : StripeRail(options, topUps, clock), IPayoutRail
{
    public Micros Payable(Micros available) => new(available.Value - available.Value % Micros.PerCent);

    public async Task<DestinationCheck> CheckDestinationAsync(string destination, CancellationToken cancellationToken)
    {
        var account = destination.Trim();
        if (!account.StartsWith("acct_", StringComparison.Ordinal) || account.Length > 255 || !account.Skip(5).All(char.IsAsciiLetterOrDigit))
        {
            return DestinationCheck.Refused("destination on stripe is a Stripe connected account id, acct_….");
        }
        try
        {
            return await stripe.CanReceiveTransfersAsync(account, cancellationToken) switch
            {
                null => DestinationCheck.Refused($"Stripe knows no connected account {account} on this platform."),
                false => DestinationCheck.Refused($"The connected account {account} cannot receive transfers yet (its transfers capability is not active): finish its onboarding."),
                true => DestinationCheck.Valid(account),
            };
        }
        catch (StripeException e)
        {
            return DestinationCheck.Refused($"{account} could not be checked with Stripe now ({e.Message}); try again.");
        }
    }

    public Task<PreparedPayout> PrepareAsync(PayoutOrder order, CancellationToken cancellationToken)
    {
        if (order.Amount.Value % Micros.PerCent != 0)
        {
            throw new PayoutRefusedException($"{order.Amount.ToAmountString()} USD is not a whole number of cents.");
        }
        var state = new JsonObject
        {
            ["account"] = order.Destination, ["cents"] = order.Amount.Value / Micros.PerCent, ["idempotencyKey"] = order.Key, ["payoutId"] = order.PayoutId,
        };
        return Task.FromResult(new PreparedPayout(order.Key, state.ToJsonString()));
    }

    public async Task<PayoutProgress> SendAsync(PreparedPayout prepared, CancellationToken cancellationToken)
    {
        var state = JsonNode.Parse(prepared.State)!.AsObject();
        var key = state["idempotencyKey"]!.GetValue<string>();
        try
        {
            return Progress(await stripe.TransferAsync(key, state["account"]!.GetValue<string>(), state["cents"]!.GetValue<long>(), state["payoutId"]!.GetValue<long>(),
                cancellationToken));
        }
        catch (StripeException e) when (!e.Transient)
        {
            // Stripe refused it (no funds, the account lost its capability): nothing was transferred.
            return new PayoutProgress(PayoutStage.Failed, null, 0, 0, new JsonObject { ["account"] = state["account"]?.DeepClone(), ["refused"] = e.Message });
        }
    }

    public async Task<PayoutProgress> TrackAsync(PreparedPayout prepared, CancellationToken cancellationToken)
    {
        var key = JsonNode.Parse(prepared.State)!.AsObject()["idempotencyKey"]!.GetValue<string>();
        return await stripe.FindTransferAsync(key, cancellationToken) is { } made
            ? Progress(made)
            : await SendAsync(prepared, cancellationToken);
    }

    private static PayoutProgress Progress(global::Stripe.Transfer transfer) =>
        new(PayoutStage.Confirmed, transfer.Id, 0, 0, new JsonObject
        {
            ["transferId"] = transfer.Id, ["account"] = transfer.DestinationId, ["cents"] = transfer.Amount, ["currency"] = transfer.Currency,
            ["transferGroup"] = transfer.TransferGroup, ["created"] = transfer.Created.ToString("O", CultureInfo.InvariantCulture),
        });
}
