namespace Aisa.Settlement.Rails;

/// <summary>
/// A webhook receiver (<c>POST /api/webhooks/{rail}</c>): a signed delivery in, bookings out. The signature is checked before
/// anything is read from the body; a bad one is refused (400) and changes nothing. A delivery that could not be applied
/// now is answered so that the sender delivers it again (every booking is keyed: a repeat books nothing more).
/// </summary>
public interface IWebhookRail : IRail
{
    /// <summary>The largest body the rail's sender sends, and the refusal of a longer one; nothing past it is read.</summary>
    WebhookLimit Limit { get; }

    Task<RailAnswer> ReceiveAsync(WebhookDelivery delivery, CancellationToken cancellationToken);
}

public sealed record WebhookLimit(int MaxBodyBytes, string TooLargeMessage);

/// <param name="Header">A request header by name; null when absent.</param>
/// <param name="Body">The raw body, as signed.</param>
public sealed record WebhookDelivery(Func<string, string?> Header, byte[] Body);
