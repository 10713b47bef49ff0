using Aisa.Settlement.Adapters.Solana.Keys;

namespace Aisa.Settlement.Adapters.Solana;

/// <summary><c>Rails:Solana</c>: USDC (SPL) deposits into the treasury's associated token account, credited at <c>finalized</c>.</summary>
public sealed class SolanaOptions
{
    public const string Section = "Rails:Solana";

    /// <summary>Mainnet USDC.</summary>
    public const string MainnetUsdc = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v";

    /// <summary>JSON-RPC URLs, tried in order with fail-over.</summary>
    public List<string> RpcUrls { get; set; } = [];

    /// <summary>The wallet that owns the treasury's USDC account (watch-only: no key on the server).</summary>
    public string? TreasuryOwner { get; set; }

    public string UsdcMint { get; set; } = MainnetUsdc;

    public int Decimals { get; set; } = 6;

    public int PollIntervalSeconds { get; set; } = 15;

    /// <summary>The most finalized signatures one pass reads; a longer catch-up takes several passes.</summary>
    public int MaxSignaturesPerPass { get; set; } = 1_000;

    public int RpcTimeoutSeconds { get; set; } = 10;

    /// <summary>Present when Solana pays publishers: the treasury owner's key.</summary>
    public SolanaPayoutOptions? Payouts { get; set; }

    public IEnumerable<string> Validate()
    {
        if (RpcUrls.Count == 0)
        {
            yield return $"{Section}:RpcUrls needs at least one JSON-RPC URL.";
        }
        for (var i = 0; i < RpcUrls.Count; i++)
        {
            if (!Uri.TryCreate(RpcUrls[i], UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                // The URL may hold an API key: say which one by position only.
                yield return $"{Section}:RpcUrls[{i}] is not an http(s) URL.";
            }
        }
        if (string.IsNullOrWhiteSpace(TreasuryOwner))
        {
            yield return $"{Section}:TreasuryOwner is required: the wallet that owns the treasury's USDC account (its public key, base58).";
        }
        else if (!SolanaKey.TryParse(TreasuryOwner, out var owner))
        {
            yield return $"{Section}:TreasuryOwner is not a Solana public key (base58 of 32 bytes).";
        }
        else if (!SolanaKey.IsOnCurve(owner))
        {
            // A program-derived address has no private key: nobody could ever move the money.
            yield return $"{Section}:TreasuryOwner is not a wallet's key (it is off the Ed25519 curve, like a program-derived address).";
        }
        if (!SolanaKey.TryParse(UsdcMint, out _))
        {
            yield return $"{Section}:UsdcMint is not a Solana public key (base58 of 32 bytes).";
        }
        if (Decimals is < 0 or > 18)
        {
            yield return $"{Section}:Decimals must be from 0 to 18.";
        }
        if (PollIntervalSeconds is < 1 or > 3600)
        {
            yield return $"{Section}:PollIntervalSeconds must be from 1 to 3600.";
        }
        if (MaxSignaturesPerPass is < 1 or > 100_000)
        {
            yield return $"{Section}:MaxSignaturesPerPass must be from 1 to 100000.";
        }
        if (RpcTimeoutSeconds is < 1 or > 300)
        {
            yield return $"{Section}:RpcTimeoutSeconds must be from 1 to 300.";
        }
        if (Payouts is not null && !string.IsNullOrWhiteSpace(TreasuryOwner))
        {
            Payouts.ReadSeed(TreasuryOwner, out var keyProblem);
            if (keyProblem is not null)
            {
                yield return $"{Section}:Payouts: {keyProblem}.";
            }
        }
    }
}
