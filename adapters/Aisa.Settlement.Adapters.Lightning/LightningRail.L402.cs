using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Lightning.Backends;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Logging;

namespace Aisa.Settlement.Adapters.Lightning;

/// <summary>
/// One request paid by itself with Lightning (L402): the 402 carries an invoice for the exact price and a macaroon — a token
/// sealed by this service that binds the invoice's payment hash to the resource and the price — in
/// <c>WWW-Authenticate: L402 macaroon="…", invoice="…"</c>. The paid request is made again with
/// <c>Authorization: L402 &lt;macaroon&gt;:&lt;preimage hex&gt;</c>: the preimage, which the node gives up only when it takes the
/// payment, is the proof; its SHA-256 must be the sealed hash. The charge is keyed by the hash (<c>l402:&lt;hash&gt;</c>), so
/// a preimage pays one request once, on any instance. These invoices name no deposit: the watcher and BTCPay's webhook pass over them.
/// </summary>
public partial class LightningRail
{
    /// <summary>What a sealed L402 macaroon is for: it opens for nothing else this service seals.</summary>
    public const string MacaroonPurpose = "Aisa.Settlement.Lightning.L402";

    public const string ChallengeHeader = "WWW-Authenticate";

    private static readonly string[] Schemes = ["L402 ", "LSAT "];

    private readonly InvoiceAllowance _requestInvoices = new(options.RequestInvoicesPerMinute, clock);

    public static string RequestKey(string paymentHash) => $"l402:{paymentHash}";

    public string HowToPayRequest => "pay this request with Lightning (L402: pay the invoice in WWW-Authenticate, then request again with Authorization: L402 <macaroon>:<preimage hex>)";

    public SignedPayment? ReadPayment(Func<string, string?> header)
    {
        var value = header("Authorization")?.Trim();
        var scheme = value is null ? null : Schemes.FirstOrDefault(s => value.StartsWith(s, StringComparison.OrdinalIgnoreCase));
        return scheme is null ? null : new SignedPayment(value![scheme.Length..].Trim(), 1);
    }

    public async Task<PaymentOffer?> OfferRequestAsync(RequestCharge charge, CancellationToken cancellationToken)
    {
        if (!_requestInvoices.TryTake())
        {
            logger.LogDebug("No L402 invoice for {Resource}: {Limit} a minute made already.", charge.ResourceUrl, options.RequestInvoicesPerMinute);
            return null;
        }
        var expiry = TimeSpan.FromSeconds(options.InvoiceExpirySeconds);
        var now = clock.GetUtcNow();
        MadeInvoice made;
        try
        {
            made = await backend.CreateAsync(new InvoicePurpose(null, charge.Description), charge.Price, expiry, cancellationToken);
        }
        catch (LightningBackendException e)
        {
            logger.LogWarning("No L402 invoice for {Resource} from {Backend}: {Error}", charge.ResourceUrl, backend.Name, e.Message);
            return null;
        }
        var (invoice, problem) = Check(made, now, expiry);
        if (invoice is null)
        {
            logger.LogError("L402 for {Resource}: {Backend} answered an invoice that is not handed out: {Problem}", charge.ResourceUrl, backend.Name, problem);
            return null;
        }
        var grant = new L402Grant(invoice.PaymentHash.ToLowerInvariant(), charge.Price.Value, charge.ResourceUrl);
        return new L402Offer(tokens.Seal(MacaroonPurpose, JsonSerializer.SerializeToUtf8Bytes(grant)), invoice.PaymentRequest);
    }

    public Task<AuthorizationOutcome> PayRequestAsync(SignedPayment payment, RequestCharge charge, CancellationToken cancellationToken)
    {
        var colon = payment.Value.LastIndexOf(':');
        if (colon <= 0)
        {
            return Refused("invalid_payment", "Authorization: L402 is <macaroon>:<preimage hex>.");
        }
        var grant = tokens.Open(MacaroonPurpose, payment.Value[..colon]) is { } content ? Read(content) : null;
        if (grant is null)
        {
            return Refused("invalid_macaroon", "The L402 macaroon was not made by this service, or was changed: pay the invoice of a 402 from here.");
        }
        if (grant.Resource != charge.ResourceUrl)
        {
            return Refused("payment_for_other_resource", $"This L402 macaroon pays for {grant.Resource}, not {charge.ResourceUrl}.");
        }
        var preimageHex = payment.Value[(colon + 1)..];
        if (preimageHex.Length != 64 || !preimageHex.All(char.IsAsciiHexDigit)
            || Convert.ToHexStringLower(SHA256.HashData(Convert.FromHexString(preimageHex))) != grant.PaymentHash)
        {
            return Refused("invalid_preimage", "The preimage is not the one of the macaroon's invoice: pay the invoice, and send the preimage (64 hex digits) your node got for it.");
        }
        AuthorizationOutcome settled = new AuthorizationOutcome.Settled(grant.PaymentHash, RequestKey(grant.PaymentHash), new Dictionary<string, string>(), grant)
        {
            // What was paid: the price when the invoice was made, should the publisher have changed it since.
            Paid = new Money.Micros(grant.PriceMicros),
        };
        return Task.FromResult(settled);
    }

    /// <summary>The ledger's key is the claim: nothing else to close.</summary>
    public Task BookedAsync(AuthorizationOutcome.Settled settled) => Task.CompletedTask;

    private static Task<AuthorizationOutcome> Refused(string error, string message) =>
        Task.FromResult<AuthorizationOutcome>(new AuthorizationOutcome.Refused(error, message, new Dictionary<string, string>()));

    private static L402Grant? Read(byte[] content)
    {
        try
        {
            return JsonSerializer.Deserialize<L402Grant>(content) is { PaymentHash.Length: 64, Resource: not null } grant ? grant : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>What a macaroon binds: the invoice's payment hash (hex), the price it was made for, the resource it pays for.</summary>
    private sealed record L402Grant(string PaymentHash, long PriceMicros, string Resource);

    private sealed class L402Offer(string macaroon, string invoice) : PaymentOffer
    {
        public override string Challenge => $"L402 macaroon=\"{macaroon}\", invoice=\"{invoice}\"";

        public override IReadOnlyDictionary<string, string> RequiredHeaders(string? error) => new Dictionary<string, string> { [ChallengeHeader] = Challenge };

        public override JsonObject BodyFields => [];
    }

    /// <summary>
    /// At most <paramref name="perMinute"/> invoices a minute on this instance, refilled evenly: a flood of unpaid requests
    /// cannot have the backend make invoices without end (each 402 that offers L402 makes one).
    /// </summary>
    private sealed class InvoiceAllowance(int perMinute, TimeProvider clock)
    {
        private readonly Lock _lock = new();
        private double _left = perMinute;
        private DateTimeOffset _since = clock.GetUtcNow();

        public bool TryTake()
        {
            lock (_lock)
            {
                var now = clock.GetUtcNow();
                _left = Math.Min(perMinute, _left + Math.Max(0, (now - _since).TotalMinutes) * perMinute);
                _since = now;
                if (_left < 1)
                {
                    return false;
                }
                _left--;
                return true;
            }
        }
    }
}
