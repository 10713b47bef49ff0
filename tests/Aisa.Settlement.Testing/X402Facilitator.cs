using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Testing;

/// <summary>
/// The official x402 facilitator (@x402/core and @x402/evm from npm) served over HTTP by tests/peers/x402-facilitator.mjs,
/// settling on a local node with ganache's account #0 paying the gas.
/// </summary>
public sealed class X402Facilitator : IAsyncDisposable
{
    private readonly Process _process;

    private X402Facilitator(Process process, Uri url)
    {
        _process = process;
        Url = url;
    }

    public Uri Url { get; }

    public static Task<X402Facilitator> StartAsync(EvmNode node) => StartAsync([node]);

    /// <summary>One facilitator settling on each of <paramref name="nodes"/> (their chain ids differ), as a hosted facilitator settles on many networks.</summary>
    public static async Task<X402Facilitator> StartAsync(IReadOnlyList<EvmNode> nodes)
    {
        var (process, url) = await NodePeers.StartServerAsync("x402-facilitator.mjs", "x402 facilitator",
            [.. nodes.SelectMany(node => new[] { node.Url.ToString(), node.ChainId.ToString(CultureInfo.InvariantCulture) }), Ganache.DeployerKey]);
        return new X402Facilitator(process, url);
    }

    /// <summary>
    /// The official x402 client pays <paramref name="url"/> as an agent would, with the payer's key; returns
    /// {status, body, paymentResponse} or {status: 0, error}.
    /// </summary>
    public static async Task<JsonObject> PayAsync(Uri url, string method, long chainId, params string[] headers) =>
        JsonNode.Parse(await NodePeers.RunAsync("x402-pay.mjs", [url.ToString(), method, Ganache.PayerKey, $"eip155:{chainId}", .. headers]))!.AsObject();

    /// <summary>The official x402 client's <c>PAYMENT-SIGNATURE</c> for these requirements (a PaymentRequired object), signed by the payer, not sent.</summary>
    public static async Task<string> SignAsync(JsonNode paymentRequired, string network) =>
        (await NodePeers.RunAsync("x402-sign.mjs", paymentRequired.ToJsonString(), Ganache.PayerKey, network)).Trim();

    /// <summary>
    /// The payer itself uses an authorization nonce on chain, with viem and no facilitator: a transfer of <paramref name="value"/>
    /// units to <paramref name="to"/>. Returns the transaction hash.
    /// </summary>
    public static async Task<string> AuthorizeOnChainAsync(EvmNode node, string token, string to, string value, string nonce, long validBefore) =>
        (await NodePeers.RunAsync("eip3009-authorize.mjs", node.Url.ToString(), node.ChainId.ToString(CultureInfo.InvariantCulture), token, Ganache.PayerKey, to, value, nonce,
            validBefore.ToString(CultureInfo.InvariantCulture))).Trim();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
