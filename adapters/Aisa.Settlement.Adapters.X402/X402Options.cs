using Aisa.Settlement.Adapters.Evm.Addresses;

namespace Aisa.Settlement.Adapters.X402;

/// <summary>
/// <c>Rails:X402</c>: where to verify and settle, and the networks a payment may be made on (the "exact" scheme, EIP-3009).
/// The networks are listed in <see cref="Networks"/>; a single network may instead be given by its keys at the top level
/// (<c>Rails:X402:Network</c>, <c>…:PayTo</c>, …), as before there was a list.
/// </summary>
public sealed class X402Options : X402Network
{
    public const string Section = "Rails:X402";

    /// <summary>The facilitator's base URL: <c>/verify</c>, <c>/settle</c> and <c>/supported</c> are below it.</summary>
    public string? FacilitatorUrl { get; set; }

    /// <summary>Every network a payment may be made on, each offered in a 402's <c>accepts</c>, the first preferred.</summary>
    public List<X402Network> Networks { get; set; } = [];

    public int MaxTimeoutSeconds { get; set; } = 120;

    /// <summary>How often unresolved settlements are looked up on chain.</summary>
    public int ReconcileIntervalSeconds { get; set; } = 30;

    public int FacilitatorTimeoutSeconds { get; set; } = 30;

    /// <summary>The networks accepted: <see cref="Networks"/>, or the one of the top-level keys.</summary>
    public IReadOnlyList<X402Network> Accepted => Networks.Count > 0 ? Networks : [this];

    public IEnumerable<string> Validate()
    {
        if (!Uri.TryCreate(FacilitatorUrl, UriKind.Absolute, out var facilitator) || facilitator.Scheme is not ("http" or "https"))
        {
            yield return $"{Section}:FacilitatorUrl is required: the http(s) URL of an x402 facilitator.";
        }
        if (Networks.Count > 0 && (PayTo is not null || Asset is not null || RpcUrls.Count > 0))
        {
            yield return $"{Section}: list the networks in {Section}:Networks, or give one network's keys (Network, PayTo, Asset, RpcUrls, …) at the top level; not both.";
        }
        var problems = Networks.Count > 0
            ? Networks.SelectMany((network, i) => network.Validate($"{Section}:Networks:{i}"))
            : Validate(Section);
        foreach (var problem in problems)
        {
            yield return problem;
        }
        foreach (var twice in Networks.GroupBy(n => n.Network).Where(g => g.Count() > 1))
        {
            yield return $"{Section}:Networks lists {twice.Key} {twice.Count()} times: once each.";
        }
        if (MaxTimeoutSeconds is < 10 or > 3600)
        {
            yield return $"{Section}:MaxTimeoutSeconds must be from 10 to 3600.";
        }
        if (ReconcileIntervalSeconds is < 1 or > 3600)
        {
            yield return $"{Section}:ReconcileIntervalSeconds must be from 1 to 3600.";
        }
        if (FacilitatorTimeoutSeconds is < 1 or > 300)
        {
            yield return $"{Section}:FacilitatorTimeoutSeconds must be from 1 to 300.";
        }
    }
}

/// <summary>One network x402 is paid on: which, to whom, in which token, and how its settlements are looked up and confirmed.</summary>
public class X402Network
{
    /// <summary>CAIP-2: <c>eip155:8453</c> (Base), <c>eip155:137</c> (Polygon), or a test network.</summary>
    public string Network { get; set; } = "eip155:8453";

    /// <summary>The platform's treasury address the payments go to.</summary>
    public string? PayTo { get; set; }

    /// <summary>The USDC contract (EIP-3009): Base 0x8335…2913.</summary>
    public string? Asset { get; set; }

    /// <summary>The token's EIP-712 domain name and version ("USD Coin" / "2" on Base mainnet, "USDC" / "2" on Base Sepolia).</summary>
    public string AssetName { get; set; } = "USD Coin";

    public string AssetVersion { get; set; } = "2";

    public int AssetDecimals { get; set; } = 6;

    /// <summary>JSON-RPC URLs of the network: a settlement whose answer was lost is looked up on chain through them.</summary>
    public List<string> RpcUrls { get; set; } = [];

    /// <summary>
    /// When a top-up is credited: <c>facilitator</c> (default), as soon as the facilitator reports the settlement mined;
    /// <c>watcher</c>, after the EVM watcher of the same chain (Rails:Evm:Chains) counts its confirmations.
    /// </summary>
    public string Confirm { get; set; } = "facilitator";

    public bool ConfirmedByWatcher => Confirm == "watcher";

    /// <summary>The chain id of <see cref="Network"/>; 0 when it is not <c>eip155:&lt;id&gt;</c>.</summary>
    public long ChainId => Network.StartsWith("eip155:", StringComparison.Ordinal)
        && long.TryParse(Network["eip155:".Length..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) ? id : 0;

    public IEnumerable<string> Validate(string at)
    {
        if (ChainId == 0)
        {
            yield return $"{at}:Network must be an EVM network as CAIP-2, eip155:<chain id> (BNB Smart Chain's USDC has no EIP-3009: it is a deposit-address rail only).";
        }
        else if (Network == "eip155:56")
        {
            yield return $"{at}:Network eip155:56: BNB Smart Chain's USDC (Binance-Peg) has no EIP-3009 transferWithAuthorization, so x402 cannot settle there; BNB is a deposit-address rail (Rails:Evm:Chains:bnb).";
        }
        if (!EvmAddress.TryParse(PayTo, out _))
        {
            yield return $"{at}:PayTo must be the treasury's 20-byte hex address.";
        }
        if (!EvmAddress.TryParse(Asset, out _))
        {
            yield return $"{at}:Asset must be the USDC contract's 20-byte hex address.";
        }
        if (string.IsNullOrWhiteSpace(AssetName) || string.IsNullOrWhiteSpace(AssetVersion))
        {
            yield return $"{at}:AssetName and AssetVersion are the token's EIP-712 domain and are required.";
        }
        if (AssetDecimals is < 0 or > 36)
        {
            yield return $"{at}:AssetDecimals must be from 0 to 36.";
        }
        if (RpcUrls.Count == 0 || RpcUrls.Any(u => !Uri.TryCreate(u, UriKind.Absolute, out var rpc) || rpc.Scheme is not ("http" or "https")))
        {
            yield return $"{at}:RpcUrls needs at least one http(s) JSON-RPC URL of the network: a settlement whose answer was lost is found on chain through it.";
        }
        if (Confirm is not ("facilitator" or "watcher"))
        {
            yield return $"{at}:Confirm is facilitator (credit once settled) or watcher (credit after the EVM watcher's confirmations), not {Confirm}.";
        }
    }
}
