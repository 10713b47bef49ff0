using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Aisa.Settlement.Api.Configuration;
using Aisa.Settlement.Api.Guard;
using Aisa.Settlement.Api.Rails;
using Aisa.Settlement.Api.Http;
using Aisa.Settlement.Api.Publishers;
using Aisa.Settlement.Identity;
using Aisa.Settlement.Ledger;
using Aisa.Settlement.Money;
using Aisa.Settlement.Rails;
using Aisa.Settlement.Pricing;
using Aisa.Settlement.Storage.Agents;
using Aisa.Settlement.Storage.Idempotency;
using Aisa.Settlement.Storage.Ledger;
using Aisa.Settlement.Storage.Pricing;
using Aisa.Settlement.Storage.Publishers;
using Microsoft.Extensions.Options;

namespace Aisa.Settlement.Api.Verify;

/// <summary>Everything of one verify call that the decision reads: the body, the headers, where to top up.</summary>
public sealed record VerifyCall(
    VerifyRequest Body,
    string? HeaderToken,
    bool SentBearer,
    string? HeaderExactPrice,
    string? HeaderMaxPrice,
    string? UserAgent,
    Func<string, string> PublicUrl,
    RequestSignature? Signature = null)
{
    /// <summary>Where a wallet is topped up (the contract's payment URL).</summary>
    public string PaymentUrl => PublicUrl("/api/agent/topup/create-session");

    /// <summary>The agent wallet's sign-up page.</summary>
    public string SignUpUrl => PublicUrl("/agent/signup");

    /// <summary>The agent wallet's page (its top-up), as the AISA documents link it.</summary>
    public string WalletUrl => PublicUrl("/agent/wallet.html");
}

public enum PriceIntentKind
{
    None,
    Auto,
    Exact,
    Max,
}

public sealed record PriceIntent(PriceIntentKind Kind, Micros Amount);

/// <summary>A call that passed the checks needing no database (steps 1 and 2).</summary>
public sealed record CheckedVerify(VerifyCall Call, string PublisherName, ResourceUrl Resource, PriceIntent Intent);

/// <summary>The decision table of the contract, step by step; each answer a <see cref="StoredResponse"/> ready to send or replay.</summary>
public sealed class VerifyService(
    AgentStore agents,
    PublisherDirectory publishers,
    ILedger ledger,
    TimePassStore passes,
    SystemAccounts systemAccounts,
    IOptions<PlatformOptions> platform,
    Observability.SettlementMetrics metrics,
    PublisherOptions publisherOptions,
    SpendingGuard guard,
    SignedRequests signedRequests,
    PaymentOptions paymentOptions,
    TimeProvider clock)
{
    private const int MaxNameLength = 254;

    /// <summary>The rails a request pays for itself with (x402, L402), none when none is configured.</summary>
    public IReadOnlyList<IRequestPaymentRail> RequestPaymentRails => paymentOptions.RequestRails;
    private static readonly TimeSpan PassLength = TimeSpan.FromHours(1);
    private const string RetryAfterSeconds = "60";

    /// <summary>Steps 1 and 2: required fields and the price intent.</summary>
    public static (CheckedVerify? Checked, StoredResponse? Refusal) Check(VerifyCall call)
    {
        var body = call.Body;
        if (string.IsNullOrWhiteSpace(body.PublisherDomain) || string.IsNullOrWhiteSpace(body.ResourceUrl))
        {
            return (null, Refuse(400, "missing_fields", "publisherDomain and resourceUrl are required."));
        }
        if (body.PublisherDomain.Length > MaxNameLength || body.PublisherDomain.Any(char.IsControl))
        {
            return (null, Refuse(400, "invalid_request", $"publisherDomain is a domain or an email of at most {MaxNameLength} characters."));
        }
        if (!ResourceUrl.TryParse(body.ResourceUrl, out var resource, out var resourceProblem))
        {
            return (null, Refuse(400, "invalid_request", resourceProblem!));
        }
        if (!Auth.Credentials.TryUserAgent(body.CrawlerAgent, out _) || (body.CrawlerToken?.Length ?? 0) > 200)
        {
            return (null, Refuse(400, "invalid_request", "crawlerAgent is at most 500 printable characters without quotes or markup; crawlerToken at most 200."));
        }

        var intents = new List<(PriceIntentKind Kind, string? Text)>();
        if (body.CrawlerAutoPrice == true)
        {
            intents.Add((PriceIntentKind.Auto, null));
        }
        foreach (var (kind, text) in new[]
                 {
                     (PriceIntentKind.Exact, body.CrawlerExactPrice), (PriceIntentKind.Max, body.CrawlerMaxPrice),
                     (PriceIntentKind.Exact, call.HeaderExactPrice), (PriceIntentKind.Max, call.HeaderMaxPrice),
                 })
        {
            if (text is not null)
            {
                intents.Add((kind, text));
            }
        }
        if (intents.Count > 1)
        {
            return (null, Refuse(400, "invalid_price_intent", "Send at most one of crawlerAutoPrice, crawlerExactPrice, crawlerMaxPrice, crawler-exact-price, crawler-max-price."));
        }
        var intent = new PriceIntent(PriceIntentKind.None, Micros.Zero);
        if (intents.Count == 1)
        {
            var (kind, text) = intents[0];
            var amount = Micros.Zero;
            if (text is not null && !Micros.TryParsePrice(text, out amount))
            {
                return (null, Refuse(400, "invalid_price_intent", "A price is 'USD <amount>' with at most six decimals (USD 0.10), or '<micros> micros USD'."));
            }
            intent = new PriceIntent(kind, amount);
        }
        return (new CheckedVerify(call, body.PublisherDomain.Trim(), resource, intent), null);
    }

    /// <summary>Step 3: the crawler token, from X-AISA-Crawler-Token or the body; never from Authorization: Bearer.</summary>
    public async Task<(Agent? Agent, StoredResponse? Refusal)> AuthenticateAsync(VerifyCall call, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(call.HeaderToken) && !string.IsNullOrEmpty(call.Body.CrawlerToken) && call.HeaderToken != call.Body.CrawlerToken)
        {
            return (null, Refuse(402, "invalid_token", "The header and the body carry two different crawler tokens: send one."));
        }
        var token = string.IsNullOrEmpty(call.HeaderToken) ? call.Body.CrawlerToken : call.HeaderToken;
        if (string.IsNullOrEmpty(token))
        {
            return (null, WithoutWallet(call, call.SentBearer
                ? "Authorization: Bearer is not accepted for crawler tokens since 2026-04: send the token in X-AISA-Crawler-Token."
                : "A crawler token is required: send it in X-AISA-Crawler-Token."));
        }
        var agent = Secrets.IsCrawlerTokenShaped(token) ? await agents.FindByTokenHashAsync(Secrets.Hash(token), cancellationToken) : null;
        if (agent is null || agent.Disabled)
        {
            return (null, WithoutWallet(call, "The crawler token is unknown, rotated out or disabled."));
        }
        return (agent, null);
    }

    /// <summary>402 <c>invalid_token</c> for a crawler that shows no wallet: with where a person opens one.</summary>
    private StoredResponse WithoutWallet(VerifyCall call, string message) => Respond(402, new VerifyBody(false, 402)
    {
        Error = "invalid_token",
        Message = message,
        Onboarding = Onboarding(call, $"Open a prepaid wallet for your crawler at {call.SignUpUrl} and send its token in X-AISA-Crawler-Token."),
    });

    private OnboardingView Onboarding(VerifyCall call, string message) =>
        new(call.PaymentUrl, platform.Value.MinTopUpMicros, message, call.SignUpUrl, call.WalletUrl);

    /// <summary>
    /// Steps 4 to 12. <paramref name="operationId"/> names the charge in the ledger: a fresh id per call, or one
    /// derived from the Idempotency-Key so that a retry can never charge twice.
    /// </summary>
    public async Task<StoredResponse> DecideAsync(CheckedVerify verify, Agent agent, string operationId, CancellationToken cancellationToken)
    {
        var call = verify.Call;
        var identification = CrawlerIdentifier.Identify(agent.CrawlerType, call.Body.CrawlerAgent, call.UserAgent ?? agent.UserAgent);
        var (priced, answer) = await PricedRuleAsync(verify, agent.CrawlerType, identification, cancellationToken);
        if (priced is not var (publisher, rule, ruleView))
        {
            return answer!;
        }
        long? passSequence = null;
        string chargeKey;
        switch (rule.BillingType)
        {
            case BillingType.OneTime:
                chargeKey = string.Create(CultureInfo.InvariantCulture,
                    $"pass:once:{agent.Id}:{publisher.Id}:{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(verify.Resource.PathAndQuery)))}");
                if (await ledger.FindTransferAsync(chargeKey, cancellationToken) is not null)
                {
                    return await AlreadyPaidAsync(agent, rule, ruleView!, identification, cancellationToken);
                }
                break;
            case BillingType.TimePassHour:
                var latest = await passes.LatestAsync(agent.Id, rule.Id, cancellationToken);
                if (latest is not null && latest.ExpiresAt > clock.GetUtcNow())
                {
                    return await AlreadyPaidAsync(agent, rule, ruleView!, identification, cancellationToken);
                }
                passSequence = (latest?.Sequence ?? 0) + 1;
                chargeKey = TimePassStore.TransferKey(agent.Id, rule.Id, passSequence.Value);
                break;
            default:
                chargeKey = "charge:" + operationId;
                break;
        }

        var price = rule.Price;
        // First of the owner's rules: a request the crawler did not sign is nobody's to pay for, and counts for nothing.
        if (agent.Guard.RequireSignedRequests
            && await signedRequests.ProblemAsync(agent, call.Signature ?? new RequestSignature(null, null, null), publisher.Domain, call.Body.ResourceUrl!, cancellationToken) is { } signatureProblem)
        {
            return await PaymentRequiredAsync(new VerifyBody(false, 402) { Error = "invalid_signature", Message = signatureProblem, Rule = ruleView, CrawlerIdentification = identification },
                verify, publisher.Domain, rule, retryAfter: false, cancellationToken: cancellationToken);
        }
        if (guard.Admit(agent, publisher.Domain, price) is { } refused)
        {
            var refusal = new VerifyBody(false, refused.StatusCode) { Error = refused.Error, Message = refused.Message, Rule = ruleView, CrawlerIdentification = identification };
            return refused.StatusCode == 402
                ? await PaymentRequiredAsync(refusal, verify, publisher.Domain, rule, retryAfter: false, cancellationToken: cancellationToken)
                : Respond(refused.StatusCode, refusal, refused.RetryAfter is { } wait
                    ? new Dictionary<string, string> { ["Retry-After"] = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture) }
                    : null);
        }
        var priceRefusal = verify.Intent.Kind switch
        {
            PriceIntentKind.None => ("price_required", $"This resource costs {price.ToPriceString()}: send crawlerAutoPrice, crawlerExactPrice or crawlerMaxPrice."),
            PriceIntentKind.Exact when verify.Intent.Amount != price => ("price_mismatch", $"The price is {price.ToPriceString()}, not {verify.Intent.Amount.ToPriceString()}."),
            PriceIntentKind.Max when price > verify.Intent.Amount => ("price_too_high", $"The price {price.ToPriceString()} is above your maximum {verify.Intent.Amount.ToPriceString()}."),
            _ => default((string, string)?),
        };
        if (priceRefusal is var (error, message))
        {
            return await PaymentRequiredAsync(new VerifyBody(false, 402) { Error = error, Message = message, Rule = ruleView, CrawlerIdentification = identification }, verify, publisher.Domain, rule,
                retryAfter: false, cancellationToken: cancellationToken);
        }
        async Task<StoredResponse> BudgetExceededAsync(BudgetView budget)
        {
            await guard.ReachedAsync(agent, budget);
            return await PaymentRequiredAsync(new VerifyBody(false, 402)
            {
                Error = "budget_exceeded",
                Message = $"The owner's {(budget.Period == "day" ? "daily" : "monthly")} budget of {budget.Limit.ToPriceString()} has {budget.Remaining.ToPriceString()} left, less than the price {price.ToPriceString()}; it renews at {budget.RenewsAt:yyyy-MM-dd'T'HH:mm:ss'Z'}.",
                Rule = ruleView,
                CrawlerIdentification = identification,
                Budget = budget,
            }, verify, publisher.Domain, rule, retryAfter: false, cancellationToken: cancellationToken);
        }

        Storage.Guard.Approval? approval = null;
        if (SpendingGuard.NeedsApproval(agent, price))
        {
            // The approval comes after the budgets: a charge the budget cannot take is not put to the owner.
            if (await guard.WouldExceedAsync(agent, price, cancellationToken) is { } over)
            {
                return await BudgetExceededAsync(over);
            }
            switch (await guard.ApprovalAsync(agent, publisher.Id, verify.Resource.PathAndQuery, price, cancellationToken))
            {
                case ApprovalStatus.Approved approved:
                    approval = approved.Approval;
                    if (rule.BillingType == BillingType.PerRequest)
                    {
                        // Keyed by the approval: the verifies that race with it after the owner said yes charge once.
                        chargeKey = "approval:" + approval.Id;
                    }
                    break;
                case ApprovalStatus.Declined declined:
                    return await PaymentRequiredAsync(new VerifyBody(false, 402)
                    {
                        Error = "approval_declined",
                        Message = $"The owner declined this charge of {price.ToPriceString()} ({declined.Approval.Id}).",
                        Rule = ruleView,
                        CrawlerIdentification = identification,
                        ApprovalId = declined.Approval.Id,
                    }, verify, publisher.Domain, rule, retryAfter: false, cancellationToken: cancellationToken);
                case var waiting:
                    return await PaymentRequiredAsync(new VerifyBody(false, 402)
                    {
                        Error = "approval_required",
                        Message = $"The owner approves charges above {agent.Guard.ApprovalAbove!.Value.ToPriceString()}: this one ({price.ToPriceString()}) waits for approval {waiting.Approval.Id}; verify again once it is approved.",
                        Rule = ruleView,
                        CrawlerIdentification = identification,
                        ApprovalId = waiting.Approval.Id,
                    }, verify, publisher.Domain, rule, retryAfter: true, cancellationToken: cancellationToken);
            }
        }

        // What the charge is for. An hourly pass is bought by whichever request comes first, and its key names the pass,
        // not the request: its reference names the pass too, so two requests racing for it post the same transfer.
        var reference = rule.BillingType == BillingType.TimePassHour
            ? $"{publisher.Domain} hourly pass for {rule.UrlPattern}"
            : $"{publisher.Domain}{verify.Resource.PathAndQuery}";
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var result = await ledger.PostAsync(ChargeTransfers(chargeKey, agent.Wallet, publisher.Payable, price, reference), SpendingGuard.Caps(agent), cancellationToken);
            if (approval is not null && result.Succeeded)
            {
                await guard.UsedAsync(approval, chargeKey);
            }
            switch (result.Outcome)
            {
                case PostOutcome.BudgetExceeded:
                    return await BudgetExceededAsync(BudgetView.Of(result.ExceededPeriod!.Value, SpendingGuard.Caps(agent)!.CapOf(result.ExceededPeriod.Value)!.Value, result.Spending!));
                case PostOutcome.Posted:
                    metrics.Charged(price);
                    await guard.ChargedAsync(agent, result.Transfers[0], result.Spending);
                    if (passSequence is { } posted)
                    {
                        await passes.RecordAsync(agent.Id, rule.Id, new TimePass(posted, result.Transfers[0].CreatedAt + PassLength), cancellationToken);
                    }
                    return Charged(result.Transfers[0], rule, ruleView!, identification);
                case PostOutcome.AlreadyPosted when rule.BillingType == BillingType.PerRequest:
                    // The same operation charged before (a retry of a keyed request): the same answer.
                    return Charged(result.Transfers[0], rule, ruleView!, identification);
                case PostOutcome.AlreadyPosted when rule.BillingType == BillingType.OneTime:
                    return await AlreadyPaidAsync(agent, rule, ruleView!, identification, cancellationToken);
                case PostOutcome.AlreadyPosted when passSequence is { } racing:
                    // Another verify bought this pass first (or bought it and died before noting its end).
                    var ends = result.Transfers[0].CreatedAt + PassLength;
                    await passes.RecordAsync(agent.Id, rule.Id, new TimePass(racing, ends), cancellationToken);
                    if (ends > clock.GetUtcNow())
                    {
                        return await AlreadyPaidAsync(agent, rule, ruleView!, identification, cancellationToken);
                    }
                    passSequence = racing + 1;
                    chargeKey = TimePassStore.TransferKey(agent.Id, rule.Id, passSequence.Value);
                    continue;
                case PostOutcome.InsufficientFunds:
                    var balance = await ledger.GetBalanceAsync(agent.Wallet, cancellationToken);
                    return await PaymentRequiredAsync(new VerifyBody(false, 402)
                    {
                        Error = "insufficient_balance",
                        Message = balance < Micros.Zero
                            ? $"The wallet is frozen at {balance.ToPriceString()} by a refund or chargeback of a top-up: it pays for nothing until a top-up of at least {(price - balance).ToPriceString()} brings it back."
                            : $"The price is {price.ToPriceString()} and the wallet holds {balance.ToPriceString()}: top up to continue.",
                        Rule = ruleView,
                        CrawlerIdentification = identification,
                        Crawler = new CrawlerBalanceView(balance, price - balance),
                        Onboarding = Onboarding(call,
                            $"Top up at least {platform.Value.MinTopUpMicros.ToPriceString()} with POST {call.PaymentUrl} (or on the wallet's page, {call.WalletUrl}) and retry."),
                    }, verify, publisher.Domain, rule, retryAfter: true, price - balance, cancellationToken);
                default:
                    throw new InvalidOperationException($"Charge {chargeKey} could not be posted: {result.Outcome}.");
            }
        }
        throw new InvalidOperationException($"Charge {chargeKey} kept racing with other verifies.");
    }

    /// <summary>
    /// A request pays for itself on a per-request rail (x402, L402), with no account: unpaid, a 402 with every rail's offer next
    /// to the usual price headers; paid, the payment is settled and the publisher is paid from the rail's clearing account, keyed
    /// by the payment, with the platform's share as for any charge. A payment whose key was booked before pays nothing now.
    /// </summary>
    public async Task<StoredResponse> DecideRequestPaymentAsync(CheckedVerify verify, (IRequestPaymentRail Rail, SignedPayment Payment)? sent, CancellationToken cancellationToken)
    {
        var identification = CrawlerIdentifier.Identify(null, verify.Call.Body.CrawlerAgent, verify.Call.UserAgent);
        var (priced, answer) = await PricedRuleAsync(verify, null, identification, cancellationToken);
        if (priced is not var (publisher, rule, ruleView))
        {
            return answer!;
        }
        var price = rule.Price;
        async Task<StoredResponse> UnpaidAsync(IRequestPaymentRail? refusedBy, string error, string message, IReadOnlyDictionary<string, string>? outcomeHeaders = null)
        {
            var choices = await paymentOptions.ForAsync(verify, publisher.Domain, price, null, hasAccount: false, cancellationToken);
            var preferred = choices.Offers[0];
            var headers = new Dictionary<string, string>
            {
                [CrawlerHeaders.Price] = price.ToPriceString(),
                [CrawlerHeaders.PriceRail] = preferred.Rail,
                ["Link"] = choices.Link,
            };
            foreach (var (name, value) in choices.RequiredHeaders(refusedBy, error).Concat(outcomeHeaders ?? new Dictionary<string, string>()))
            {
                headers[name] = value;
            }
            return Respond(402, new VerifyBody(false, 402)
            {
                Error = error,
                Message = message,
                Rule = ruleView,
                CrawlerIdentification = identification,
                Price = new PriceView(price, "USD", BillingType.PerRequest.ToWire()),
                Offer = new OfferView(preferred.Rail, price.Value, "USD", preferred.PaymentUrl, verify.PublisherName, verify.Call.Body.ResourceUrl!),
                Offers = choices.Offers,
                PaymentFields = choices.BodyFields(),
                Onboarding = Onboarding(verify.Call,
                    $"Pay this request with one of the offers, or open a prepaid wallet for your crawler at {verify.Call.SignUpUrl} and send its token in X-AISA-Crawler-Token."),
            }, headers);
        }
        if (sent is not var (rail, payment))
        {
            return await UnpaidAsync(null, "payment_required",
                $"This resource costs {price.ToPriceString()}: {string.Join(", or ", paymentOptions.RequestRails.Select(r => r.HowToPayRequest))}, or send an AISA crawler token in {CrawlerHeaders.Token}.");
        }
        switch (await rail.PayRequestAsync(payment, PaymentOptions.ChargeFor(verify, publisher.Domain, price), cancellationToken))
        {
            case AuthorizationOutcome.Refused refused:
                return await UnpaidAsync(rail, refused.Error, refused.Message, refused.Headers);
            case AuthorizationOutcome.Unavailable unavailable:
                return Respond(502, new VerifyBody(false, 502) { Error = unavailable.Error, Message = unavailable.Message, Rule = ruleView, CrawlerIdentification = identification });
            case AuthorizationOutcome.Settled settled:
                var paid = settled.Paid ?? price;
                var clearing = await systemAccounts.ClearingAsync(rail.Id.Value, CancellationToken.None);
                var result = await ledger.PostAsync(
                    ChargeTransfers(settled.RequestKey, clearing, publisher.Payable, paid, $"{publisher.Domain}{verify.Resource.PathAndQuery}"), CancellationToken.None);
                if (result.Outcome == PostOutcome.AlreadyPosted)
                {
                    // An L402 preimage sent again (its hash is the key): it paid for one request, which was served then.
                    return await UnpaidAsync(rail, "payment_already_used", $"This {rail.Id} payment paid for a request before ({settled.Transaction}): a payment pays once. Pay again.");
                }
                if (result.Outcome != PostOutcome.Posted)
                {
                    // KeyReusedForDifferentTransfer: the reconciler booked it to suspense first; an operator moves it on.
                    throw new InvalidOperationException($"The {rail.Id} payment {settled.RequestKey} settled but could not be booked to the publisher: {result.Outcome}.");
                }
                metrics.Charged(paid);
                await rail.BookedAsync(settled);
                var paidHeaders = new Dictionary<string, string> { [CrawlerHeaders.Charged] = paid.ToPriceString() };
                foreach (var (name, value) in settled.Headers)
                {
                    paidHeaders[name] = value;
                }
                return Respond(200, new VerifyBody(true, 200) { Rule = ruleView, CrawlerIdentification = identification, Message = $"Paid with {rail.Id}: {settled.Transaction}." },
                    paidHeaders);
            default:
                throw new InvalidOperationException("A request payment ends refused, unavailable or settled.");
        }
    }

    /// <summary>
    /// Steps 4 to 6: the publisher and the rule for this resource and crawler type. An unknown publisher (404), a
    /// blocked (403) or free (200) resource is answered here; a priced one comes back with its rule.
    /// </summary>
    private async Task<((Publisher Publisher, PricingRule Rule, VerifyRuleView RuleView)? Priced, StoredResponse? Answer)> PricedRuleAsync(
        CheckedVerify verify, string? crawlerType, CrawlerIdentification identification, CancellationToken cancellationToken)
    {
        var entry = await publishers.FindAsync(verify.PublisherName, cancellationToken);
        if (entry is null)
        {
            return (null, Respond(404, new VerifyBody(false, 404) { Error = "unknown_publisher", Message = "No publisher has this domain or email.", CrawlerIdentification = identification }));
        }
        if (publisherOptions.RequiresProof && !entry.Publisher.DomainVerified)
        {
            return (null, Respond(403, new VerifyBody(false, 403)
            {
                Error = "publisher_unverified",
                Message = $"{entry.Publisher.Domain} has not shown it controls its domain yet: nothing is charged for it.",
                CrawlerIdentification = identification,
            }));
        }
        var rule = PricingRule.Select(entry.Rules, verify.Resource.Path, crawlerType);
        var ruleView = rule is null ? null : new VerifyRuleView(rule.Id, rule.UrlPattern, rule.AccessMode.ToWire(), rule.Price);
        if (rule?.AccessMode == AccessMode.Block)
        {
            return (null, Respond(403, new VerifyBody(false, 403) { Error = "blocked", Message = "The publisher blocks this crawler here.", Rule = ruleView, CrawlerIdentification = identification }));
        }
        if (rule is null || rule.AccessMode == AccessMode.Free)
        {
            return (null, Respond(200, new VerifyBody(true, 200) { Rule = ruleView, CrawlerIdentification = identification }));
        }
        return ((entry.Publisher, rule, ruleView!), null);
    }

    /// <summary>The payer pays the publisher the price; the publisher pays the platform its share. One batch: both or neither.</summary>
    private TransferRequest[] ChargeTransfers(string key, AccountId payer, AccountId payable, Micros price, string reference)
    {
        var fee = new Micros((long)((Int128)price.Value * platform.Value.RevenueShareBps / 10_000));
        var charge = new TransferRequest(key, payer, payable, price, TransferKinds.Charge, reference.Length > 500 ? reference[..500] : reference);
        return fee.IsPositive
            ? [charge, new TransferRequest(key + ":fee", payable, systemAccounts.PlatformRevenue, fee, TransferKinds.PlatformFee, key)]
            : [charge];
    }

    private async Task<StoredResponse> AlreadyPaidAsync(Agent agent, PricingRule rule, VerifyRuleView ruleView, CrawlerIdentification identification, CancellationToken cancellationToken)
    {
        var balance = await ledger.GetBalanceAsync(agent.Wallet, cancellationToken);
        return Respond(200, new VerifyBody(true, 200)
        {
            Message = rule.BillingType == BillingType.OneTime ? "Bought before: no charge." : "Within a paid hour: no charge.",
            Rule = ruleView,
            CrawlerIdentification = identification,
            Charge = new ChargeView(Micros.Zero, "USD", rule.BillingType.ToWire(), balance, balance),
        });
    }

    private static StoredResponse Charged(Transfer charge, PricingRule rule, VerifyRuleView ruleView, CrawlerIdentification identification)
    {
        var after = charge.DebitBalanceAfter ?? throw new InvalidOperationException("A charge debits a wallet, which keeps its balance.");
        return Respond(200, new VerifyBody(true, 200)
        {
            Rule = ruleView,
            CrawlerIdentification = identification,
            Charge = new ChargeView(charge.Amount, "USD", rule.BillingType.ToWire(), after + charge.Amount, after),
        }, new Dictionary<string, string> { [CrawlerHeaders.Charged] = charge.Amount.ToPriceString() });
    }

    /// <summary>A 402 of the wallet's: its own offer (for existing clients), and every other way to pay for the resource here.</summary>
    private async Task<StoredResponse> PaymentRequiredAsync(VerifyBody body, CheckedVerify verify, string publisherDomain, PricingRule rule, bool retryAfter,
        Micros? shortfall = null, CancellationToken cancellationToken = default)
    {
        var choices = await paymentOptions.ForAsync(verify, publisherDomain, rule.Price, shortfall, hasAccount: true, cancellationToken);
        var headers = new Dictionary<string, string>
        {
            [CrawlerHeaders.Price] = rule.Price.ToPriceString(),
            [CrawlerHeaders.PriceRail] = CrawlerHeaders.WalletRail,
            ["Link"] = choices.Link,
        };
        if (retryAfter)
        {
            headers["Retry-After"] = RetryAfterSeconds;
        }
        foreach (var (name, value) in choices.RequiredHeaders())
        {
            headers[name] = value;
        }
        return Respond(402, body with
        {
            Price = new PriceView(rule.Price, "USD", rule.BillingType.ToWire()),
            Offer = new OfferView(CrawlerHeaders.WalletRail, rule.Price.Value, "USD", verify.Call.PaymentUrl, verify.PublisherName, verify.Call.Body.ResourceUrl!),
            Offers = choices.Offers,
            PaymentFields = choices.BodyFields(),
        }, headers);
    }

    public static StoredResponse Refuse(int statusCode, string error, string message) =>
        Respond(statusCode, new VerifyBody(false, statusCode) { Error = error, Message = message });

    private static StoredResponse Respond(int statusCode, VerifyBody body, Dictionary<string, string>? headers = null)
    {
        headers ??= [];
        headers["Cache-Control"] = "no-store";
        return body.PaymentFields is null ? ApiResponses.Json(statusCode, body, headers) : ApiResponses.Json(statusCode, body.ToJson(ApiJson.Options), headers);
    }
}
