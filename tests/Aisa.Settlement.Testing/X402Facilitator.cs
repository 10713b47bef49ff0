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

    public static async Task<X402Facilitator> StartAsync(EvmNode node)
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var start = new ProcessStartInfo("node") { WorkingDirectory = NodePeers.Directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { Path.Combine(NodePeers.Directory, "x402-facilitator.mjs"), node.Url.ToString(), node.ChainId.ToString(CultureInfo.InvariantCulture), Ganache.DeployerKey, port.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }
        _ = NodePeers.NodeModules;
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is null || !line.StartsWith("listening ", StringComparison.Ordinal))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("The x402 facilitator did not start: " + await process.StandardError.ReadToEndAsync());
        }
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        return new X402Facilitator(process, new Uri(line["listening ".Length..]));
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
