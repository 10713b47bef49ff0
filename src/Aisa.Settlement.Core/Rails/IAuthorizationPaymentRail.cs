using System.Text.Json.Nodes;
using Aisa.Settlement.Deposits;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Rails;

/// <summary>
/// An authorization payment (x402's <c>exact</c> scheme): the payer signs a payment that the request itself carries, and it is
/// settled inside the request — to top up the wallet (<c>POST /api/agent/topup/{rail}</c>) or to pay one verify without an
/// account. A signed authorization pays once, on any instance; one whose settlement is unknown is kept for the rail's
/// reconciler and never used again.
/// </summary>
public interface IAuthorizationPaymentRail : IRequestPaymentRail
{
    /// <summary>What one payment of <paramref name="amount"/> for <paramref name="resourceUrl"/> must be.</summary>
    PaymentOffer Offer(Micros amount, string resourceUrl, string description);

    /// <summary>How to pay a top-up of <paramref name="amount"/>, in words for the 402's message.</summary>
    string HowToTopUp(Micros amount);

    Task<AuthorizationOutcome> PayAsync(SignedPayment payment, PaymentOffer offer, long? agentId, Micros amount, CancellationToken cancellationToken);

    /// <summary>A settled top-up booked through the deposit book (credited at once, or recorded for a watcher to confirm).</summary>
    Task<Deposit> CreditTopUpAsync(long agentId, AuthorizationOutcome.Settled settled, Micros amount, CancellationToken cancellationToken);

    Task<PaymentOffer?> IRequestPaymentRail.OfferRequestAsync(RequestCharge charge, CancellationToken cancellationToken) =>
        Task.FromResult<PaymentOffer?>(Offer(charge.Price, charge.ResourceUrl, charge.Description));

    Task<AuthorizationOutcome> IRequestPaymentRail.PayRequestAsync(SignedPayment payment, RequestCharge charge, CancellationToken cancellationToken) =>
        PayAsync(payment, Offer(charge.Price, charge.ResourceUrl, charge.Description), null, charge.Price, cancellationToken);
}

/// <summary>A payment as the request carried it, not yet decoded.</summary>
public sealed record SignedPayment(string Value, int Version);

/// <summary>One payment's requirements, as the 402 states them.</summary>
public abstract class PaymentOffer
{
    /// <summary>The headers of a 402 that asks for this payment; <paramref name="error"/> names why an earlier one was refused.</summary>
    public abstract IReadOnlyDictionary<string, string> RequiredHeaders(string? error);

    /// <summary>Fields a 402 body carries for clients that read the requirements from it, after the contract's own; empty for none.</summary>
    public abstract JsonObject BodyFields { get; }

    /// <summary>The networks the payment may be made on (CAIP-2 for x402), the first preferred; none where the rail has no such choice.</summary>
    public virtual IReadOnlyList<string> Networks => [];

    /// <summary>The challenge of the 402's <c>WWW-Authenticate</c> header that asks for this payment (L402's macaroon and invoice), or null.</summary>
    public virtual string? Challenge => null;
}

/// <summary>What became of one authorization payment.</summary>
public abstract record AuthorizationOutcome
{
    /// <summary>Refused with the protocol's error: nothing moved, and the client may sign a new payment.</summary>
    /// <param name="Headers">The rail's answer headers for the payer (a failed settlement's response), if any.</param>
    public sealed record Refused(string Error, string Message, IReadOnlyDictionary<string, string> Headers) : AuthorizationOutcome;

    /// <summary>The settlement service could not be asked (502): <see cref="Retryable"/> when the same payment may be sent again.</summary>
    public sealed record Unavailable(string Error, string Message, bool Retryable) : AuthorizationOutcome;

    /// <summary>Settled, and the rail checked it moved exactly what was asked.</summary>
    /// <param name="Transaction">The settlement's transaction, for the payer's message.</param>
    /// <param name="RequestKey">The ledger key of this payment as one request's charge: whoever books it first (the request, the reconciler) stands.</param>
    /// <param name="Headers">The rail's answer headers for the payer (the settlement response).</param>
    /// <param name="Detail">The rail's own record of the settlement, for <see cref="IAuthorizationPaymentRail.CreditTopUpAsync"/> and <see cref="IAuthorizationPaymentRail.BookedAsync"/>.</param>
    public sealed record Settled(string Transaction, string RequestKey, IReadOnlyDictionary<string, string> Headers, object Detail) : AuthorizationOutcome
    {
        /// <summary>What the payment paid for one request, when not the price asked now (an L402 token bought at an earlier price); null for the price.</summary>
        public Micros? Paid { get; init; }
    }
}
