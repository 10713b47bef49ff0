using Aisa.Settlement.Adapters.Evm.Addresses;

namespace Aisa.Settlement.Adapters.Evm;

/// <summary><c>Rails:Evm:Chains:&lt;base|polygon|bnb&gt;</c>: one chain, watched by one code path.</summary>
public sealed class EvmChainOptions
{
    public const string Section = "Rails:Evm:Chains";

    /// <summary>The chains this build knows, with their mainnet id and default confirmation depth.</summary>
    public static readonly IReadOnlyDictionary<string, (long ChainId, int Confirmations)> KnownChains = new Dictionary<string, (long, int)>
    {
        // Depths used by deposit processors (BVNK: Base 10, Polygon 12; Cryptopay: BNB Smart Chain 15).
        ["base"] = (8453, 10),
        ["polygon"] = (137, 12),
        ["bnb"] = (56, 15),
    };

    /// <summary>
    /// Account xpubs of mnemonics every developer tool ships ("test test … junk" of hardhat and anvil): anyone can
    /// spend what is sent to their addresses, so they are refused on a mainnet.
    /// </summary>
    public static readonly IReadOnlySet<string> PublishedTestKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP",
    };

    public long ChainId { get; set; }

    /// <summary>Tried in order, failing over to the next.</summary>
    public List<string> RpcUrls { get; set; } = [];

    /// <summary>Confirmations before a credit; the chain's default when absent.</summary>
    public int? Confirmations { get; set; }

    public int PollIntervalSeconds { get; set; } = 15;

    /// <summary>Blocks per <c>eth_getLogs</c>; halved for a range the node refuses.</summary>
    public int MaxBlockRange { get; set; } = 500;

    /// <summary>The most blocks one pass reads: a longer catch-up takes several passes, each stored range by range.</summary>
    public int MaxBlocksPerPass { get; set; } = 10_000;

    /// <summary>Account-level extended public key (<c>m/44'/60'/0'</c>); agent k pays to its child <c>0/k</c>.</summary>
    public string? Xpub { get; set; }

    /// <summary>The first block of the first pass; the head at first start when absent.</summary>
    public long? StartBlock { get; set; }

    public int RpcTimeoutSeconds { get; set; } = 10;

    public List<EvmTokenOptions> Tokens { get; set; } = [];

    /// <summary>Present when this chain pays publishers: the hot wallet and its limits.</summary>
    public EvmPayoutOptions? Payouts { get; set; }

    public int ConfirmationsFor(string chain) => Confirmations ?? (KnownChains.TryGetValue(chain, out var known) ? known.Confirmations : 12);

    public IEnumerable<string> Validate(string chain)
    {
        var at = $"{Section}:{chain}";
        if (!KnownChains.ContainsKey(chain))
        {
            yield return $"{at}: the chain is one of {string.Join(", ", KnownChains.Keys)}.";
        }
        if (ChainId <= 0)
        {
            yield return $"{at}:ChainId is required (Base 8453, Polygon 137, BNB Smart Chain 56, or a test network's id).";
        }
        if (RpcUrls.Count == 0)
        {
            yield return $"{at}:RpcUrls needs at least one JSON-RPC URL.";
        }
        foreach (var url in RpcUrls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                // The URL may hold an API key: say which one by position only.
                yield return $"{at}:RpcUrls[{RpcUrls.IndexOf(url)}] is not an http(s) URL.";
            }
        }
        if (Confirmations is < 1 or > 10_000)
        {
            yield return $"{at}:Confirmations must be from 1 to 10000.";
        }
        if (PollIntervalSeconds is < 1 or > 3600)
        {
            yield return $"{at}:PollIntervalSeconds must be from 1 to 3600.";
        }
        if (MaxBlockRange is < 1 or > 100_000)
        {
            yield return $"{at}:MaxBlockRange must be from 1 to 100000.";
        }
        if (MaxBlocksPerPass is < 1 or > 1_000_000)
        {
            yield return $"{at}:MaxBlocksPerPass must be from 1 to 1000000.";
        }
        if (RpcTimeoutSeconds is < 1 or > 300)
        {
            yield return $"{at}:RpcTimeoutSeconds must be from 1 to 300.";
        }
        if (StartBlock is < 0)
        {
            yield return $"{at}:StartBlock cannot be negative.";
        }
        string? xpubProblem = null;
        if (string.IsNullOrWhiteSpace(Xpub))
        {
            xpubProblem = "is required: the account-level extended public key (xpub) the deposit addresses derive from";
        }
        else
        {
            try
            {
                ExtendedPublicKey.Parse(Xpub);
            }
            catch (FormatException e)
            {
                xpubProblem = "is not an extended public key: " + e.Message.TrimEnd('.');
            }
        }
        if (xpubProblem is null && PublishedTestKeys.Contains(Xpub!.Trim()) && KnownChains.Values.Any(c => c.ChainId == ChainId))
        {
            xpubProblem = "is a published test key (the \"test test … junk\" mnemonic): anyone could spend deposits sent to it on a mainnet";
        }
        if (xpubProblem is not null)
        {
            yield return $"{at}:Xpub {xpubProblem}.";
        }
        if (Tokens.Count == 0)
        {
            yield return $"{at}:Tokens needs at least one token {{Symbol, Address, Decimals}}.";
        }
        for (var i = 0; i < Tokens.Count; i++)
        {
            var token = Tokens[i];
            if (string.IsNullOrWhiteSpace(token.Symbol))
            {
                yield return $"{at}:Tokens[{i}]:Symbol is required.";
            }
            if (!EvmAddress.TryParse(token.Address, out _))
            {
                yield return $"{at}:Tokens[{i}]:Address is not a 20-byte hex address.";
            }
            if (token.Decimals is < 0 or > 36)
            {
                yield return $"{at}:Tokens[{i}]:Decimals must be from 0 to 36.";
            }
        }
        foreach (var problem in Payouts?.Validate($"{at}:Payouts", Tokens) ?? [])
        {
            yield return problem;
        }
    }
}

public sealed class EvmTokenOptions
{
    public string Symbol { get; set; } = "";

    public string Address { get; set; } = "";

    public int Decimals { get; set; } = 6;
}
