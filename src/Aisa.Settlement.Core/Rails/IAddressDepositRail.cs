namespace Aisa.Settlement.Rails;

/// <summary>A deposit intent by address: each agent pays to an address of its own, derived from the agent's derivation index.</summary>
public interface IAddressDepositRail : IRail
{
    /// <summary>
    /// Names the key the addresses derive from now (a hash of the public key, never the key): a changed key is noticed,
    /// and the addresses of earlier keys stay watched.
    /// </summary>
    string KeyId { get; }

    string AddressAt(long derivationIndex);

    /// <summary>What an agent needs to pay to this address: <c>{rail, chainId, address, tokens}</c> for a chain.</summary>
    DepositInstructions Instructions(string address, long derivationIndex);
}

public sealed record RailToken(string Symbol, string Address, int Decimals);

/// <param name="Reference">What names the agent in its payment when the address is shared (Solana: the treasury owner, and the agent's Solana Pay reference key).</param>
public sealed record DepositInstructions(string Rail, long? ChainId, string Address, long DerivationIndex, IReadOnlyList<RailToken> Tokens, string? Reference = null);
