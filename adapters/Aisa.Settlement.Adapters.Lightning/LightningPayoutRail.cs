using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Lightning.Backends;
using Aisa.Settlement.Adapters.Lightning.Bolt11;
using Aisa.Settlement.Adapters.Lightning.Payouts;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Logging;

namespace Aisa.Settlement.Adapters.Lightning;

/// <summary>
/// Lightning with payouts: a publisher's Lightning address is resolved (LNURL-pay) to a fresh invoice for the payout's dollars
/// at the backend's BTC/USD rate then (rounded down: never more than owed), decoded and checked (network, amount, the
/// description hash of the address's metadata, expiry) before it is stored with its payment hash — the payout's name on
/// the network — and paid through the backend (LND's router, or BTCPay's store node). A node pays a hash at most once, and
/// after a crash or a lost answer the payout asks the node where its payment of that hash stands before anything else.
/// </summary>
public sealed class LightningPayoutRail(LightningOptions options, LightningPayoutOptions payouts, ILightningBackend backend, LightningHttp lnurl, IDepositBook book,
    ISealedTokens tokens, TimeProvider clock, ILogger<LightningRail> logger) : LightningRail(options, backend, book, tokens, clock, logger), IPayoutRail
{
    public async Task<DestinationCheck> CheckDestinationAsync(string destination, CancellationToken cancellationToken)
    {
        if (!LightningAddress.TryParse(destination, out var address))
        {
            return DestinationCheck.Refused("destination on lightning is a Lightning address, name@domain (LUD-16).");
        }
        try
        {
            await address!.ResolveAsync(lnurl, cancellationToken);
        }
        catch (LightningBackendException e)
        {
            return DestinationCheck.Refused(e.Message + " Check the address with its wallet.");
        }
        return DestinationCheck.Valid(address.ToString());
    }

    public async Task<PreparedPayout> PrepareAsync(PayoutOrder order, CancellationToken cancellationToken)
    {
        if (!LightningAddress.TryParse(order.Destination, out var address))
        {
            throw new PayoutRefusedException($"{order.Destination} is not a Lightning address.");
        }
        var offer = await address!.ResolveAsync(lnurl, cancellationToken);
        var (price, source) = await Backend.BtcUsdAsync(cancellationToken);
        // Rounded down: the publisher is never paid more than it earned at the rate of the moment.
        var msat = (long)decimal.Floor(order.Amount.Value * (Msat.PerBitcoin / Micros.PerDollar) / price);
        if (msat < offer.MinSendableMsat || msat > offer.MaxSendableMsat)
        {
            throw new PayoutRefusedException($"{address} takes {offer.MinSendableMsat} to {offer.MaxSendableMsat} msat; this payout is {msat} msat ({order.Amount.ToAmountString()} USD at {price} USD/BTC).");
        }
        var request = await address.InvoiceAsync(lnurl, offer, msat, cancellationToken);
        if (!Bolt11Invoice.TryDecode(request, out var invoice, out var problem))
        {
            throw new LightningBackendException($"{address} answered something that is not a BOLT11 invoice ({problem}): nothing is paid; asked again next pass.");
        }
        problem = invoice!.Network != Options.InvoiceNetwork ? $"it is an invoice of {invoice.Network}, not {Options.InvoiceNetwork}"
            : invoice.AmountMsat != msat ? $"it asks {invoice.AmountMsat?.ToString(CultureInfo.InvariantCulture) ?? "any amount"} msat, not the {msat} asked"
            : !string.Equals(invoice.DescriptionHash, offer.DescriptionHash, StringComparison.OrdinalIgnoreCase) ? "its description hash does not commit to the address's metadata"
            : invoice.ExpiresAt < Clock.GetUtcNow() + TimeSpan.FromMinutes(1) ? $"it expires at {invoice.ExpiresAt:O}, too soon to be paid"
            : null;
        if (problem is not null)
        {
            throw new LightningBackendException($"{address} answered an invoice that is not paid: {problem}. Asked again next pass.");
        }
        var state = new JsonObject
        {
            ["address"] = address.ToString(), ["msat"] = msat, ["rate"] = price.ToString(CultureInfo.InvariantCulture), ["rateSource"] = source,
            ["invoice"] = request, ["paymentHash"] = invoice.PaymentHash, ["expiresAt"] = invoice.ExpiresAt.ToString("O", CultureInfo.InvariantCulture),
        };
        return new PreparedPayout(order.Key, state.ToJsonString(), invoice.PaymentHash);
    }

    public async Task<PayoutProgress> SendAsync(PreparedPayout prepared, CancellationToken cancellationToken)
    {
        var state = Parse(prepared);
        return Progress(state, await Backend.PayAsync(state["invoice"]!.GetValue<string>(), state["paymentHash"]!.GetValue<string>(), payouts.MaxFeePercent, cancellationToken));
    }

    public async Task<PayoutProgress> TrackAsync(PreparedPayout prepared, CancellationToken cancellationToken)
    {
        var state = Parse(prepared);
        var reading = await Backend.PaymentAsync(state["paymentHash"]!.GetValue<string>(), cancellationToken);
        if (reading.Status != PaymentStatus.Unknown)
        {
            return Progress(state, reading);
        }
        // The node never made this payment (the process died before it asked): made now, unless the invoice is past.
        if (DateTimeOffset.Parse(state["expiresAt"]!.GetValue<string>(), CultureInfo.InvariantCulture) <= Clock.GetUtcNow())
        {
            reading.Evidence["expired"] = "the invoice expired before the node ever paid it";
            return Progress(state, reading with { Status = PaymentStatus.Failed });
        }
        return await SendAsync(prepared, cancellationToken);
    }

    private static JsonObject Parse(PreparedPayout prepared) =>
        JsonNode.Parse(prepared.State) as JsonObject ?? throw new JsonException("A prepared Lightning payout is a JSON object.");

    private static PayoutProgress Progress(JsonObject state, PaymentReading reading)
    {
        var evidence = reading.Evidence;
        foreach (var name in new[] { "address", "msat", "rate", "rateSource" })
        {
            evidence[name] = state[name]?.DeepClone();
        }
        var stage = reading.Status switch
        {
            PaymentStatus.Succeeded => PayoutStage.Confirmed,
            PaymentStatus.Failed => PayoutStage.Failed,
            _ => PayoutStage.Submitted,
        };
        return new PayoutProgress(stage, state["paymentHash"]!.GetValue<string>(), 0, 0, evidence);
    }
}
