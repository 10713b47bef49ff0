namespace Aisa.Settlement.Rails;

/// <summary>How a rail's payment becomes final: a depth of N blocks (EVM), a commitment level (Solana <c>finalized</c>), or at once (a settled invoice, a paid session, a settled authorization).</summary>
/// <param name="Required">Confirmations after which a payment is credited: N for a depth, 1 otherwise (the one observation at the final level).</param>
/// <param name="Commitment">The level a payment is read at, for a commitment rail.</param>
public sealed record RailFinality(FinalityKind Kind, int Required, string? Commitment = null)
{
    public static RailFinality Depth(int confirmations) =>
        confirmations >= 1 ? new(FinalityKind.Depth, confirmations) : throw new ArgumentOutOfRangeException(nameof(confirmations), "A depth is at least one block.");

    public static RailFinality AtCommitment(string level) => new(FinalityKind.Commitment, 1, level);

    public static readonly RailFinality Immediate = new(FinalityKind.Immediate, 1);
}

public enum FinalityKind
{
    Depth,
    Commitment,
    Immediate,
}
