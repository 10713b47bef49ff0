namespace Aisa.Settlement.Deposits;

/// <summary>
/// Where a deposit is: <c>pending → detected (1/N) → confirming (k/N) → credited</c>, or <c>reorged</c> (its block
/// left the chain; it may re-appear), <c>failed</c>, <c>expired</c> (asked for, never paid), <c>unattributed</c>
/// (money arrived, owner unknown).
/// </summary>
public enum DepositState
{
    Pending,
    Detected,
    Confirming,
    Credited,
    Reorged,
    Failed,
    Expired,
    Unattributed,
}

public static class DepositStates
{
    public static string ToWire(this DepositState state) => state switch
    {
        DepositState.Pending => "pending",
        DepositState.Detected => "detected",
        DepositState.Confirming => "confirming",
        DepositState.Credited => "credited",
        DepositState.Reorged => "reorged",
        DepositState.Failed => "failed",
        DepositState.Expired => "expired",
        DepositState.Unattributed => "unattributed",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static bool TryParse(string? text, out DepositState state)
    {
        foreach (var candidate in Enum.GetValues<DepositState>())
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

    public static DepositState Parse(string text) =>
        TryParse(text, out var state) ? state : throw new FormatException($"Not a deposit state: {text}.");

    /// <summary>A deposit the watcher still follows: it may yet be credited.</summary>
    public static bool IsOpen(this DepositState state) =>
        state is DepositState.Pending or DepositState.Detected or DepositState.Confirming or DepositState.Reorged;

    /// <summary>The moves the state machine allows. Credited, failed and expired are final.</summary>
    public static bool CanMove(DepositState from, DepositState to) => (from, to) switch
    {
        (DepositState.Pending, DepositState.Detected or DepositState.Confirming or DepositState.Credited or DepositState.Expired or DepositState.Failed) => true,
        (DepositState.Detected, DepositState.Detected or DepositState.Confirming or DepositState.Credited or DepositState.Reorged or DepositState.Failed) => true,
        (DepositState.Confirming, DepositState.Confirming or DepositState.Credited or DepositState.Reorged or DepositState.Failed) => true,
        // A transfer reorganised away may be mined again, in another block.
        (DepositState.Reorged, DepositState.Detected or DepositState.Confirming or DepositState.Credited) => true,
        (DepositState.Unattributed, DepositState.Credited) => true,
        _ => false,
    };
}
