using Aisa.Settlement.Money;

namespace Aisa.Settlement.Rails;

/// <summary>
/// A rail that pays one request by itself, with no account: the 402 carries the rail's offer (x402's requirements, an L402
/// invoice), and the request made again carries the payment. A payment pays one request once, on any instance: the
/// <see cref="AuthorizationOutcome.Settled.RequestKey"/> it settles under is the ledger key of that request's charge.
/// </summary>
public interface IRequestPaymentRail : IRail
{
    /// <summary>The payment a request carries in its headers; null for none.</summary>
    SignedPayment? ReadPayment(Func<string, string?> header);

    /// <summary>What pays <paramref name="charge"/>; null when the rail cannot offer it now (its backend is away, or it made too many offers lately).</summary>
    Task<PaymentOffer?> OfferRequestAsync(RequestCharge charge, CancellationToken cancellationToken);

    /// <summary>How a crawler pays one request here, in words for the 402's message.</summary>
    string HowToPayRequest { get; }

    /// <summary>The request is paid with <paramref name="payment"/>: settled, refused with the protocol's error, or the rail unavailable.</summary>
    Task<AuthorizationOutcome> PayRequestAsync(SignedPayment payment, RequestCharge charge, CancellationToken cancellationToken);

    /// <summary>The settlement is in the ledger (the publisher paid, or the wallet credited): its claim is closed for good.</summary>
    Task BookedAsync(AuthorizationOutcome.Settled settled);
}

/// <summary>One request's price, the resource it is for (<c>https://&lt;publisher domain&gt;&lt;path and query&gt;</c>) and its words for the payer.</summary>
public sealed record RequestCharge(Micros Price, string ResourceUrl, string Description);

/// <summary>
/// Seals what this service states in a token it hands out (an L402 macaroon): only this service, on any of its instances,
/// can have made a sealed token, nobody can read or change what it says, and a token sealed for one purpose opens for no other.
/// </summary>
public interface ISealedTokens
{
    string Seal(string purpose, byte[] content);

    /// <summary>What the token says; null when it was not sealed here for <paramref name="purpose"/>, or was changed.</summary>
    byte[]? Open(string purpose, string token);
}
