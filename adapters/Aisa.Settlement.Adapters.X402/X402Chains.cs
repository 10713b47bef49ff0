namespace Aisa.Settlement.Adapters.X402;

/// <summary>One accepted network at run time: its settings, and its chain, where settlements are read.</summary>
public sealed record X402Chain(X402Network Settings, Eip3009Chain Chain)
{
    public string Network => Settings.Network;

    /// <summary>The network's version 1 name; null where version 1 has none (then only version 2 is offered there).</summary>
    public string? V1Network => X402Protocol.V1Network(Settings.ChainId);
}

/// <summary>The networks x402 is paid on, the first preferred.</summary>
public sealed class X402Chains(IReadOnlyList<X402Chain> chains)
{
    public IReadOnlyList<X402Chain> All => chains;

    /// <summary>The chain of a CAIP-2 <paramref name="network"/>; null when it is not (or no longer) accepted.</summary>
    public X402Chain? Find(string network) => chains.FirstOrDefault(c => c.Network == network);

    /// <summary>The chain whose version 1 name is <paramref name="name"/>; null for none.</summary>
    public X402Chain? FindV1(string name) => chains.FirstOrDefault(c => c.V1Network == name);
}
