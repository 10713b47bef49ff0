namespace Aisa.Settlement.Payouts;

/// <summary>
/// Where a payout is: <c>requested → submitted → confirmed</c>, or <c>→ failed → reversed</c> (the money back in the
/// publisher's payable); above the approval threshold <c>awaiting_approval → requested</c>, or cancelled by an operator
/// before it is sent (<c>→ failed → cancelled</c>, the money back in the payable).
/// </summary>
public enum PayoutState
{
    Requested,
    AwaitingApproval,
    Submitted,
    Confirmed,
    Failed,
    Reversed,
    Cancelled,
}

public static class PayoutStates
{
    public static string ToWire(this PayoutState state) => state switch
    {
        PayoutState.Requested => "requested",
        PayoutState.AwaitingApproval => "awaiting_approval",
        PayoutState.Submitted => "submitted",
        PayoutState.Confirmed => "confirmed",
        PayoutState.Failed => "failed",
        PayoutState.Reversed => "reversed",
        PayoutState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static bool TryParse(string? text, out PayoutState state)
    {
        foreach (var candidate in Enum.GetValues<PayoutState>())
        {
            if (string.Equals(candidate.ToWire(), text, StringComparison.Ordinal))
            {
                state = candidate;
                return true;
            }
        }
        state = default;
        return false;
    }

    public static PayoutState Parse(string text) =>
        TryParse(text, out var state) ? state : throw new FormatException($"Not a payout state: {text}.");

    /// <summary>
    /// A payout whose money is still in flight: a publisher has at most one, so a payout run never moves the same money
    /// twice (the store's unique index holds that across instances).
    /// </summary>
    public static bool IsOpen(this PayoutState state) =>
        state is PayoutState.Requested or PayoutState.AwaitingApproval or PayoutState.Submitted or PayoutState.Failed;

    /// <summary>The states an open payout is in, as the store's index lists them.</summary>
    public static readonly IReadOnlyList<PayoutState> Open = [.. Enum.GetValues<PayoutState>().Where(IsOpen)];

    /// <summary>The moves the state machine allows. Confirmed, reversed and cancelled are final.</summary>
    public static bool CanMove(PayoutState from, PayoutState to) => (from, to) switch
    {
        // A cancel fails the payout first, naming who cancelled, then gives the money back: cancelled is reached from failed.
        (PayoutState.AwaitingApproval, PayoutState.Requested or PayoutState.Failed) => true,
        (PayoutState.Requested, PayoutState.Submitted or PayoutState.Failed) => true,
        (PayoutState.Submitted, PayoutState.Submitted or PayoutState.Confirmed or PayoutState.Failed) => true,
        (PayoutState.Failed, PayoutState.Reversed or PayoutState.Cancelled) => true,
        _ => false,
    };
}
