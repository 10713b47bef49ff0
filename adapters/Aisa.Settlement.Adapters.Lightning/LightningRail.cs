using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisa.Settlement.Adapters.Lightning.Backends;
using Aisa.Settlement.Adapters.Lightning.Bolt11;
using Aisa.Settlement.Adapters.Lightning.BtcPay;
using Aisa.Settlement.Adapters.Lightning.Lnd;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Rails;
using Microsoft.Extensions.Logging;

namespace Aisa.Settlement.Adapters.Lightning;

/// <summary>
/// USD top-ups paid by Lightning. A top-up is an invoice made by the backend (BTCPay Server or LND) for the dollars asked,
/// decoded and checked here before the agent sees it; its deposit is named by the payment hash. A settled invoice credits
/// the dollars fixed when it was made — never recomputed — once, under <c>deposit:lightning:&lt;payment hash&gt;</c>, whichever
/// tells first: BTCPay's signed webhook, or the watcher. The watcher reads every open BTCPay invoice; on LND it replays the
/// settlements after the stored <c>settle_index</c> (one request, however many invoices are open, and what settled while the
/// service was away comes in settlement order) and reads the invoices past their expiry. An invoice expired or cancelled
/// unpaid expires its deposit; one settled for less, marked invalid, or no longer known fails it, with the evidence.
/// </summary>
public partial class LightningRail(LightningOptions options, ILightningBackend backend, IDepositBook book, ISealedTokens tokens, TimeProvider clock, ILogger<LightningRail> logger)
    : ITopUpRail, IRailWatcher, IWebhookRail, IRequestPaymentRail
{
    public static readonly RailId Rail = new("lightning");

    /// <summary>
    /// How long after its invoice expired a deposit waits for the backend's word before the clock closes it: a payment
    /// accepted at the last moment settles meanwhile, and a backend away for a while is asked again.
    /// </summary>
    public static readonly TimeSpan Grace = TimeSpan.FromHours(1);

    /// <summary>How long the watcher listens for more of LND's replayed settlements before it takes the rest as none.</summary>
    public static readonly TimeSpan ReplayQuiet = TimeSpan.FromSeconds(1);

    private const int InvoicesPerStep = 100;
    private const int MaxReplayLinesPerPass = 10_000;

    public RailId Id => Rail;

    public RailFinality Finality => RailFinality.Immediate;

    public TimeSpan PollInterval { get; } = TimeSpan.FromSeconds(options.PollIntervalSeconds);

    public WebhookLimit Limit { get; } = new(64 * 1024, "A BTCPay webhook delivery is at most 64 KB.");

    protected LightningOptions Options => options;

    protected ILightningBackend Backend => backend;

    protected TimeProvider Clock => clock;

    // ---------------------------------------------------------------- top-ups

    public async Task<RailAnswer> CreateTopUpAsync(TopUpRequest request, CancellationToken cancellationToken)
    {
        var expiry = TimeSpan.FromSeconds(options.InvoiceExpirySeconds);
        var now = clock.GetUtcNow();
        var deposit = await book.OpenAsync(Rail, request.AgentId, request.Amount, null, now + expiry + Grace, cancellationToken);
        MadeInvoice made;
        try
        {
            made = await backend.CreateAsync(InvoicePurpose.TopUp(deposit.Id), request.Amount, expiry, cancellationToken);
        }
        catch (LightningBackendException e)
        {
            await FailAsync(deposit.Id, new JsonObject { ["backend"] = backend.Name, ["refused"] = e.Message });
            logger.LogWarning("Lightning top-up {Deposit}: no invoice from {Backend}: {Error}", deposit.Id, backend.Name, e.Message);
            return RailAnswer.Refused(502, "lightning_unavailable", $"{e.Message} No invoice was made; ask again.");
        }
        var (invoice, problem) = Check(made, now, expiry);
        if (invoice is null)
        {
            await FailAsync(deposit.Id, With(made.Evidence, ("refused", problem), ("invoice", made.PaymentRequest)));
            logger.LogError("Lightning top-up {Deposit}: {Backend} answered an invoice that is not handed out: {Problem}", deposit.Id, backend.Name, problem);
            return RailAnswer.Refused(502, "lightning_invalid_invoice", $"The Lightning backend answered an invoice this service does not hand out: {problem} Nothing can be paid on it; ask again.");
        }
        // From here on the invoice exists: it is named and its evidence kept even if the caller has gone.
        await book.NameAsync(deposit.Id, invoice.PaymentHash, made.InvoiceId, CancellationToken.None);
        await book.BookAsync(Rail, new DepositObservation(ObservationKind.Noted, invoice.PaymentHash, 0)
        {
            DepositId = deposit.Id,
            Evidence = With(made.Evidence, ("made", "invoice"), ("paymentHash", invoice.PaymentHash), ("amountMsat", invoice.AmountMsat),
                ("expiresAt", invoice.ExpiresAt.ToString("O", CultureInfo.InvariantCulture)), ("payee", invoice.Payee)),
        }, CancellationToken.None);
        return new RailAnswer(201, new
        {
            rail = Rail.Value,
            depositId = deposit.Id,
            invoice = invoice.PaymentRequest,
            paymentHash = invoice.PaymentHash,
            amountMsat = invoice.AmountMsat,
            amount = request.Amount,
            expiresAt = invoice.ExpiresAt,
        });
    }

    /// <summary>The backend's invoice decoded, and what in it differs from what was asked; an invoice only when nothing does.</summary>
    private (Bolt11Invoice? Invoice, string? Problem) Check(MadeInvoice made, DateTimeOffset now, TimeSpan expiry)
    {
        if (!Bolt11Invoice.TryDecode(made.PaymentRequest, out var invoice, out var problem))
        {
            return (null, $"it is not a BOLT11 invoice ({problem}).");
        }
        var network = options.InvoiceNetwork;
        problem = invoice!.Network != network ? $"it is an invoice of {invoice.Network}, and this service takes {network}."
            : invoice.AmountMsat != made.AmountMsat ? $"it asks {invoice.AmountMsat?.ToString(CultureInfo.InvariantCulture) ?? "any amount"} msat, and the backend said {made.AmountMsat}."
            : !string.Equals(invoice.PaymentHash, made.PaymentHash, StringComparison.OrdinalIgnoreCase) ? $"its payment hash {invoice.PaymentHash} is not the {made.PaymentHash} the backend said."
            : invoice.ExpiresAt < now + TimeSpan.FromSeconds(30) ? $"it expires at {invoice.ExpiresAt:O}, too soon to be paid."
            // Some minutes' leeway for the backend's clock.
            : invoice.ExpiresAt > now + expiry + TimeSpan.FromMinutes(10) ? $"it expires at {invoice.ExpiresAt:O}, later than the {expiry.TotalSeconds} s asked."
            : null;
        return problem is null ? (invoice, null) : (null, problem);
    }

    private Task FailAsync(long depositId, JsonObject evidence) =>
        book.BookAsync(Rail, new DepositObservation(ObservationKind.Failed, "", 0) { DepositId = depositId, Evidence = evidence }, CancellationToken.None);

    // ---------------------------------------------------------------- BTCPay's webhooks

    /// <summary>
    /// A BTCPay delivery: verified before anything is read from it, then the invoice it names is read back from BTCPay (the
    /// delivery says only that something happened) and applied as the watcher would. Unreadable now → 503, and BTCPay delivers again.
    /// </summary>
    public async Task<RailAnswer> ReceiveAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        if (options.UsesLnd)
        {
            return RailAnswer.Refused(404, "webhook_not_used", "Lightning deposits here are read from LND, which sends no webhooks; the watcher credits them.");
        }
        var signature = delivery.Header(BtcPaySignature.Header);
        if (!BtcPaySignature.IsValid(signature, delivery.Body, options.BtcPay.WebhookSecret!))
        {
            return RailAnswer.Refused(400, "invalid_signature", signature is null
                ? "The BTCPay-Sig header is missing."
                : "BTCPay-Sig is not sha256=<HMAC-SHA256 of the body with the webhook's secret>: a wrong secret or a changed body.");
        }
        JsonObject? delivered;
        try
        {
            delivered = JsonNode.Parse(delivery.Body) as JsonObject;
        }
        catch (JsonException)
        {
            delivered = null;
        }
        var type = delivered?["type"]?.ToString();
        if (delivered is null || type is null)
        {
            return RailAnswer.Refused(400, "invalid_request", "A signed delivery that is not a BTCPay webhook event.");
        }
        var source = $"webhook {type} {delivered["deliveryId"]}";
        var invoiceId = delivered["invoiceId"]?.ToString();
        if (!type.StartsWith("Invoice", StringComparison.Ordinal) || invoiceId is null || delivered["storeId"]?.ToString() != options.BtcPay.StoreId)
        {
            return RailAnswer.Ok(new { received = true });
        }
        var deposit = long.TryParse(delivered["metadata"]?["depositId"]?.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? await book.FindAsync(id, cancellationToken)
            : null;
        if (deposit is null || deposit.Rail != Rail.Value || deposit.Address != invoiceId || deposit.ExternalId is null)
        {
            logger.LogInformation("BTCPay invoice {Invoice} ({Source}) is no Lightning top-up of this service: ignored.", invoiceId, source);
            return RailAnswer.Ok(new { received = true });
        }
        try
        {
            if (Observe(deposit, await backend.ReadAsync(invoiceId, cancellationToken), source) is { } observation)
            {
                await book.BookAsync(Rail, observation, cancellationToken);
            }
        }
        catch (LightningBackendException e)
        {
            return RailAnswer.Refused(503, "lightning_unavailable", $"The delivery could not be applied now: {e.Message}");
        }
        return RailAnswer.Ok(new { received = true });
    }

    // ---------------------------------------------------------------- the watcher

    public async IAsyncEnumerable<PollResult> PollAsync(PollContext context, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var settleIndex = long.TryParse(context.Cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var stored) ? stored : 0;
        var replayedFrom = settleIndex;
        var pending = await book.PendingAsync(Rail, cancellationToken);
        var summary = new Dictionary<string, long> { ["pending"] = pending.Count, ["replayed"] = 0, ["read"] = 0 };
        var done = new HashSet<string>(StringComparer.Ordinal);
        var callsBefore = backend.Calls;

        if (backend is LndBackend lnd && settleIndex > 0)
        {
            var replayed = new List<DepositObservation>();
            await foreach (var settled in lnd.SettledAfterAsync(settleIndex, ReplayQuiet, MaxReplayLinesPerPass, cancellationToken))
            {
                settleIndex = Math.Max(settleIndex, settled.SettleIndex);
                summary["replayed"]++;
                // Invoices of others on the same node are none of ours: only a deposit's own invoice is observed.
                if (settled.PaymentHash is { } hash && await book.FindAsync(Rail, hash, cancellationToken) is { } deposit
                    && Observe(deposit, settled, $"settle_index {settled.SettleIndex}") is { } observation)
                {
                    replayed.Add(observation);
                    done.Add(hash);
                }
            }
            summary["backendCalls"] = backend.Calls - callsBefore;
            yield return new PollResult(Cursor(settleIndex), 0, replayed, summary);
        }

        // BTCPay: every open invoice. LND: every open one until a settle index is known; from then on the replay tells the
        // settlements, and those past their expiry are read (LND cancels them, or one settled at the last moment).
        var now = clock.GetUtcNow();
        var toRead = pending.Where(d => !done.Contains(d.ExternalId!)
            && (backend is not LndBackend || replayedFrom == 0 || d.ExpiresAt is not { } expires || expires - Grace <= now)).ToList();
        var (unread, firstError) = (0, (string?)null);
        foreach (var chunk in toRead.Chunk(InvoicesPerStep).DefaultIfEmpty([]))
        {
            var observations = new List<DepositObservation>();
            foreach (var deposit in chunk)
            {
                InvoiceReading reading;
                try
                {
                    reading = await backend.ReadAsync(deposit.Address ?? deposit.ExternalId!, cancellationToken);
                }
                catch (LightningBackendException e)
                {
                    unread++;
                    firstError ??= e.Message;
                    continue;
                }
                summary["read"]++;
                if (replayedFrom == 0)
                {
                    // No replay yet: the highest settlement read is where the first starts. An invoice of ours that settled
                    // below it while this pass read the others is read again once past its expiry: late, never lost.
                    settleIndex = Math.Max(settleIndex, reading.SettleIndex);
                }
                if (Observe(deposit, reading, "watcher") is { } observation)
                {
                    observations.Add(observation);
                }
            }
            summary["settleIndex"] = settleIndex;
            summary["backendCalls"] = backend.Calls - callsBefore;
            yield return new PollResult(Cursor(settleIndex), 0, observations, summary);
        }
        if (unread > 0)
        {
            // The pass fails, so nothing is closed by the clock while an invoice could not be asked about.
            throw new LightningBackendException($"{unread} of {toRead.Count} open invoices could not be read from {backend.Name}: {firstError}");
        }
    }

    private static string Cursor(long settleIndex) => settleIndex.ToString(CultureInfo.InvariantCulture);

    /// <summary>What a reading of a deposit's invoice means for the deposit; null when nothing changes.</summary>
    private DepositObservation? Observe(Deposit deposit, InvoiceReading reading, string source)
    {
        var hash = deposit.ExternalId!;
        var evidence = With(reading.Evidence, ("source", source));
        if (reading.PaymentHash is { } readHash && !string.Equals(readHash, hash, StringComparison.OrdinalIgnoreCase))
        {
            evidence["invoicePaymentHash"] = readHash;
        }
        if (reading.Status == InvoiceStatus.Settled)
        {
            if (deposit.State == DepositState.Pending)
            {
                // The dollars asked when the invoice was made: BTCPay fixed them, or the rate did for LND.
                return new DepositObservation(ObservationKind.Seen, hash, 1) { DepositId = deposit.Id, Paid = deposit.RequestedAmount, Evidence = evidence };
            }
            if (deposit.State is DepositState.Expired or DepositState.Failed)
            {
                logger.LogError("Lightning invoice {Hash} of deposit {Deposit} settled after the deposit was {State}: the money is at the backend, credited to nobody; an operator decides.",
                    hash, deposit.Id, deposit.State.ToWire());
                return new DepositObservation(ObservationKind.Noted, hash, 0) { DepositId = deposit.Id, Evidence = With(evidence, ("settledAfterClosed", true)) };
            }
            return null;
        }
        if (deposit.State != DepositState.Pending)
        {
            return null;
        }
        var refused = reading.Status switch
        {
            InvoiceStatus.Underpaid => $"paid {reading.PaidMsat} msat of the {reading.AmountMsat} asked: never credited; for an operator.",
            InvoiceStatus.Invalid => "the backend marked the invoice invalid.",
            InvoiceStatus.Unknown => "the backend has no such invoice any more.",
            _ => null,
        };
        return reading.Status switch
        {
            InvoiceStatus.Expired => new DepositObservation(ObservationKind.Expired, hash, 0) { DepositId = deposit.Id, Evidence = evidence },
            _ when refused is not null => new DepositObservation(ObservationKind.Failed, hash, 0) { DepositId = deposit.Id, Evidence = With(evidence, ("refused", refused)) },
            _ => null,
        };
    }

    private static JsonObject With(JsonObject evidence, params (string Name, JsonNode? Value)[] fields)
    {
        var copy = evidence.DeepClone().AsObject();
        foreach (var (name, value) in fields)
        {
            copy[name] = value;
        }
        return copy;
    }
}
