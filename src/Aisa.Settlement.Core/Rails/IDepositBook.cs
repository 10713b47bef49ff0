using Aisa.Settlement.Deposits;
using Aisa.Settlement.Money;

namespace Aisa.Settlement.Rails;

/// <summary>
/// The deposit state machine, as rails see it: the one place that turns what a rail saw into deposit states and money.
/// Every booking falls on a unique ledger key (<see cref="IRail.CreditKey"/>, a reversal's key), so a repeat — a webhook
/// delivered five times, a watcher and a webhook racing, a pass retried after a crash — books nothing more.
/// </summary>
public interface IDepositBook
{
    /// <summary>Books one observation (see <see cref="ObservationKind"/>); returns the deposit as it stands after it, or null when the observation names none and brings no money.</summary>
    Task<Deposit?> BookAsync(RailId rail, DepositObservation observation, CancellationToken cancellationToken);

    /// <summary>A request waiting for its payment (a checkout, an invoice), with what was asked and until when.</summary>
    Task<Deposit> OpenAsync(RailId rail, long agentId, Micros requested, string? address, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>
    /// Names a pending request by the rail's id for it, once the rail has made it; <paramref name="address"/>, when given, is
    /// where the rail's service keeps it (an invoice's id at BTCPay), for the watcher to read it there.
    /// </summary>
    Task NameAsync(long depositId, string externalId, string? address, CancellationToken cancellationToken);

    Task<Deposit?> FindAsync(long depositId, CancellationToken cancellationToken);

    Task<Deposit?> FindAsync(RailId rail, string externalId, CancellationToken cancellationToken);

    /// <summary>Pending requests of a rail already named by the rail (their payment may have happened without us hearing).</summary>
    Task<IReadOnlyList<Deposit>> PendingAsync(RailId rail, CancellationToken cancellationToken);

    /// <summary>
    /// Money paid for one request whose content was never served (its request failed after the payment settled): held in
    /// suspense under <paramref name="requestKey"/>, the key the request's own charge has, so whichever is first stands.
    /// </summary>
    Task HoldRequestPaymentAsync(RailId rail, string requestKey, Micros amount, string reference, CancellationToken cancellationToken);

    /// <summary>Whether anything is booked under <paramref name="key"/> (a booking an earlier build keyed otherwise).</summary>
    Task<bool> IsBookedAsync(string key, CancellationToken cancellationToken);
}
