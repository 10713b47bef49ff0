using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>What a settlement's transaction did for one claim, read from the chain.</summary>
public abstract record SettlementCheck
{
    /// <summary>The authorization moved exactly the claim: from the payer, to our treasury, the units claimed, in our asset.</summary>
    public sealed record Matches(AuthorizedTransfer Transfer) : SettlementCheck;

    /// <summary>The authorization moved something else: the claim is closed with the evidence, and nothing is credited for it.</summary>
    public sealed record Mismatched(JsonObject Evidence) : SettlementCheck;

    /// <summary>The chain cannot tell yet (not mined here, or not this authorization): the claim stays for the reconciler.</summary>
    public sealed record Unknown(string Why) : SettlementCheck;
}
