using System.Text.Json.Nodes;
using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Options;

namespace Aisa.Settlement.Api.Verify;

/// <summary>What a 402 lists: the offers, the <c>Link</c> header naming each (<c>rel="payment"; type="&lt;rail&gt;"</c>), and the per-request rails' own requirements.</summary>
public sealed record PaymentChoices(IReadOnlyList<OfferView> Offers, string Link, IReadOnlyList<(IRequestPaymentRail Rail, PaymentOffer Offer)> RequestOffers)
{
    /// <summary>The per-request rails' headers; <paramref name="error"/> is told to the rail that refused a payment, if one did.</summary>
    public IEnumerable<KeyValuePair<string, string>> RequiredHeaders(IRequestPaymentRail? refusedBy = null, string? error = null) =>
        RequestOffers.SelectMany(o => o.Offer.RequiredHeaders(o.Rail == refusedBy ? error : null));

    /// <summary>The per-request rails' fields for the 402 body (x402 version 1's), or null for none.</summary>
    public System.Text.Json.Nodes.JsonObject? BodyFields()
    {
        var fields = new System.Text.Json.Nodes.JsonObject();
        foreach (var (name, value) in RequestOffers.SelectMany(o => o.Offer.BodyFields))
        {
            fields[name] = value?.DeepClone();
        }
        return fields.Count == 0 ? null : fields;
    }
}

/// <summary>
/// Every way this gateway can be paid for one resource, in one 402: the prepaid wallet, a top-up on each enabled rail, and
/// the rails that pay one request by themselves. A crawler with an account is offered its wallet first; one without, the
/// per-request rails first (it can pay now without registering).
/// </summary>
public sealed class PaymentOptions(IRailRegistry rails, IOptions<PlatformOptions> platform)
{
    /// <summary>The rails a request pays for itself with (x402, L402), in the order they are offered.</summary>
    public IReadOnlyList<IRequestPaymentRail> RequestRails { get; } = rails.All.OfType<IRequestPaymentRail>().ToList();

    /// <summary>One request of <paramref name="verify"/>'s resource at <paramref name="price"/>, as a per-request rail is asked to be paid for it.</summary>
    public static RequestCharge ChargeFor(CheckedVerify verify, string publisherDomain, Micros price) =>
        new(price, $"https://{publisherDomain}{verify.Resource.PathAndQuery}", $"One request to {publisherDomain}{verify.Resource.Path}");

    /// <param name="shortfall">What the wallet lacks, when that is why the 402 is sent: a top-up covers it (and at least the minimum).</param>
    public async Task<PaymentChoices> ForAsync(CheckedVerify verify, string publisherDomain, Micros price, Micros? shortfall, bool hasAccount, CancellationToken cancellationToken)
    {
        var call = verify.Call;
        var endpoint = call.Body.ResourceUrl!;
        OfferView Offer(string rail, string kind, string url) => new(rail, price.Value, "USD", url, verify.PublisherName, endpoint) { Kind = kind };

        var needed = shortfall ?? price;
        var topUp = needed > platform.Value.MinTopUpMicros ? needed : platform.Value.MinTopUpMicros;
        var wallet = Offer(CrawlerHeaders.WalletRail, OfferKinds.Wallet, call.PaymentUrl) with
        {
            Instructions = hasAccount
                ? $"Top up the wallet on any rail below and verify again with the crawler token in {CrawlerHeaders.Token}."
                : $"Register an agent (POST {call.PublicUrl("/api/agent/auth/register")}), top up its wallet, and send its crawler token in {CrawlerHeaders.Token}.",
        };
        var topUps = new List<OfferView>();
        foreach (var rail in rails.All)
        {
            var name = rail.Id.Value;
            switch (rail)
            {
                case IAuthorizationPaymentRail payments:
                    topUps.Add(Offer(name, OfferKinds.TopUp, call.PublicUrl($"/api/agent/topup/{name}?amount={topUp.ToAmountString()}")) with
                    {
                        Method = "POST",
                        Instructions = payments.HowToTopUp(topUp),
                    });
                    break;
                case ITopUpRail:
                    topUps.Add(Offer(name, OfferKinds.TopUp, call.PaymentUrl) with
                    {
                        Method = "POST",
                        Body = new JsonObject { ["amount"] = topUp.ToUsd(), ["rail"] = name },
                        Instructions = "With the agent's session (Authorization: Bearer): the answer says how to pay; the wallet is credited once paid.",
                    });
                    break;
                case IAddressDepositRail:
                    topUps.Add(Offer(name, OfferKinds.TopUp, call.PublicUrl("/api/agent/deposit-addresses")) with
                    {
                        Method = "GET",
                        Instructions = $"With the agent's session: its own {name} address, whose payments are credited once final.",
                    });
                    break;
            }
        }

        var perRequest = new List<OfferView>();
        var requestOffers = new List<(IRequestPaymentRail, PaymentOffer)>();
        var charge = ChargeFor(verify, publisherDomain, price);
        foreach (var requestRail in RequestRails)
        {
            // A rail that cannot offer now (its backend away, its invoices used up for the minute) is left out; the others stand.
            if (await requestRail.OfferRequestAsync(charge, cancellationToken) is not { } requestOffer)
            {
                continue;
            }
            requestOffers.Add((requestRail, requestOffer));
            // One offer per network, so a crawler picks the chain it holds money on.
            IReadOnlyList<string?> networks = requestOffer.Networks.Count > 0 ? [.. requestOffer.Networks] : [null];
            perRequest.AddRange(networks.Select(network => Offer(requestRail.Id.Value, OfferKinds.PerRequest, charge.ResourceUrl) with
            {
                Method = "GET",
                Network = network,
                Challenge = requestOffer.Challenge,
                Instructions = requestRail.HowToPayRequest,
            }));
        }

        List<OfferView> offers = hasAccount ? [wallet, .. topUps, .. perRequest] : [.. perRequest, wallet, .. topUps];
        var link = string.Join(", ", offers.Select(o => $"<{o.PaymentUrl}>; rel=\"payment\"; type=\"{o.Rail}\""));
        return new PaymentChoices(offers, link, requestOffers);
    }
}
