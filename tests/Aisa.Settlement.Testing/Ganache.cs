using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Numerics;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Testing;

/// <summary>
/// A real local EVM node (ganache from tests/peers) on a free port, with the deterministic accounts unlocked: the
/// tests send transactions through it as any wallet would, and mine, snapshot and revert blocks.
/// </summary>
public sealed class Ganache : IAsyncDisposable
{
    /// <summary>Account #0 of ganache's deterministic wallet: deploys and mints.</summary>
    public const string Deployer = "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1";

    /// <summary>Account #1: the payer that sends tokens to deposit addresses.</summary>
    public const string Payer = "0xffcf8fdee72ac11b5c542428b35eef5769c409f0";

    /// <summary>Private keys of ganache's deterministic accounts #0 and #1 (published with ganache; test chains only).</summary>
    public const string DeployerKey = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";
    public const string PayerKey = "0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1";

    /// <summary>Where Multicall3 lives on every chain: the x402 facilitator reads token state through it.</summary>
    public const string Multicall3 = "0xca11bde05977b3631167028862be2a173976ca11";

    // Well-known selectors: keccak256("mint(address,uint256)") and keccak256("transfer(address,uint256)"), first 4 bytes.
    private const string MintSelector = "40c10f19";
    private const string TransferSelector = "a9059cbb";

    private static readonly Lazy<Task<string>> TokenBytecode = new(() => CompileAsync("TestToken"));
    private static readonly Lazy<Task<string>> UsdcBytecode = new(() => CompileAsync("TestUSDC"));
    private static readonly Lazy<Task<string>> MulticallBytecode = new(() => CompileAsync("Multicall3Lite"));

    private static async Task<string> CompileAsync(string contract) =>
        JsonNode.Parse(await NodePeers.RunAsync("compile.mjs", contract))!["bytecode"]!.GetValue<string>();

    private readonly Process _process;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private Ganache(Process process, Uri url, long chainId)
    {
        _process = process;
        Url = url;
        ChainId = chainId;
    }

    public Uri Url { get; }

    public long ChainId { get; }

    public static async Task<Ganache> StartAsync(long chainId = 8453)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = NodePeers.Directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            Path.Combine(NodePeers.NodeModules, "ganache", "dist", "node", "cli.js"),
            "--chain.chainId", chainId.ToString(CultureInfo.InvariantCulture), "--wallet.deterministic",
            "--server.host", "127.0.0.1", "--server.port", port.ToString(CultureInfo.InvariantCulture), "--logging.quiet",
        })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("ganache did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var node = new Ganache(process, new Uri($"http://127.0.0.1:{port}/"), chainId);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await node.CallAsync("eth_chainId");
                return node;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    public async Task<JsonNode?> CallAsync(string method, params JsonNode?[] parameters)
    {
        var request = new JsonObject { ["jsonrpc"] = "2.0", ["id"] = 1, ["method"] = method, ["params"] = new JsonArray(parameters) };
        using var response = await _http.PostAsJsonAsync(Url, request);
        response.EnsureSuccessStatusCode();
        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        return answer["error"] is { } error ? throw new InvalidOperationException($"{method}: {error.ToJsonString()}") : answer["result"];
    }

    public async Task<long> BlockNumberAsync() => ParseQuantity((await CallAsync("eth_blockNumber"))!.GetValue<string>());

    public async Task MineAsync(int blocks) => await CallAsync("evm_mine", new JsonObject { ["blocks"] = blocks });

    /// <summary>A snapshot id to revert to; each id can be reverted to once.</summary>
    public async Task<string> SnapshotAsync() => (await CallAsync("evm_snapshot"))!.GetValue<string>();

    public async Task RevertAsync(string snapshot)
    {
        if (!(await CallAsync("evm_revert", snapshot))!.GetValue<bool>())
        {
            throw new InvalidOperationException($"evm_revert {snapshot} failed.");
        }
    }

    /// <summary>Deploys the test ERC-20 with these decimals and mints the payer a large balance; returns the token address.</summary>
    public async Task<string> DeployTokenAsync(int decimals)
    {
        var data = await TokenBytecode.Value + Word(decimals);
        var hash = await SendAsync(Deployer, null, data);
        var receipt = await ReceiptAsync(hash);
        var token = receipt["contractAddress"]!.GetValue<string>();
        await SendAsync(Deployer, token, "0x" + MintSelector + Word(Payer) + Word(BigInteger.Pow(10, decimals + 9)));
        return token;
    }

    /// <summary>
    /// Deploys the EIP-3009 test USDC (6 decimals, EIP-712 domain "USD Coin" / "2"), mints the payer a large balance and
    /// puts Multicall3 at its canonical address; returns the token address.
    /// </summary>
    public async Task<string> DeployUsdcAsync()
    {
        var receipt = await ReceiptAsync(await SendAsync(Deployer, null, await UsdcBytecode.Value));
        var token = receipt["contractAddress"]!.GetValue<string>();
        await SendAsync(Deployer, token, "0x" + MintSelector + Word(Payer) + Word(BigInteger.Pow(10, 15)));
        var multicall = (await ReceiptAsync(await SendAsync(Deployer, null, await MulticallBytecode.Value)))["contractAddress"]!.GetValue<string>();
        var code = (await CallAsync("eth_getCode", multicall, "latest"))!.GetValue<string>();
        await CallAsync("evm_setAccountCode", Multicall3, code);
        return token;
    }

    /// <summary>The token balance of an address, read from the node.</summary>
    public async Task<BigInteger> BalanceOfAsync(string token, string holder)
    {
        // keccak256("balanceOf(address)") first 4 bytes.
        var answer = (await CallAsync("eth_call", new JsonObject { ["to"] = token, ["data"] = "0x70a08231" + Word(holder) }, "latest"))!.GetValue<string>();
        return BigInteger.Parse("0" + answer[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    /// <summary>The payer transfers tokens; returns the transaction hash once it is mined (ganache mines each at once).</summary>
    public Task<string> TransferAsync(string token, string to, BigInteger amount) =>
        SendAsync(Payer, token, "0x" + TransferSelector + Word(to) + Word(amount));

    /// <summary>
    /// A payer's transfer signed but not sent: the same bytes can be sent, reverted away and sent again, and are
    /// then the same transaction (same hash) in another block, as after a real reorganisation.
    /// </summary>
    public async Task<string> SignTransferAsync(string token, string to, BigInteger amount)
    {
        var nonce = (await CallAsync("eth_getTransactionCount", Payer, "pending"))!.GetValue<string>();
        var transaction = new JsonObject
        {
            ["from"] = Payer, ["to"] = token, ["data"] = "0x" + TransferSelector + Word(to) + Word(amount),
            ["gas"] = "0x7a1200", ["gasPrice"] = "0x77359400", ["nonce"] = nonce, ["chainId"] = "0x" + ChainId.ToString("x", CultureInfo.InvariantCulture),
        };
        return (await CallAsync("eth_signTransaction", transaction))!.GetValue<string>();
    }

    /// <summary>Sends signed bytes; returns the transaction hash once mined.</summary>
    public async Task<string> SendRawAsync(string raw)
    {
        var hash = (await CallAsync("eth_sendRawTransaction", raw))!.GetValue<string>();
        var receipt = await ReceiptAsync(hash);
        return receipt["status"]!.GetValue<string>() == "0x1" ? hash : throw new InvalidOperationException($"Transaction {hash} reverted.");
    }

    public async Task<JsonObject> ReceiptAsync(string transactionHash) =>
        (await CallAsync("eth_getTransactionReceipt", transactionHash))?.AsObject()
            ?? throw new InvalidOperationException($"No receipt for {transactionHash}.");

    private async Task<string> SendAsync(string from, string? to, string data)
    {
        var transaction = new JsonObject { ["from"] = from, ["data"] = data, ["gas"] = "0x7a1200" };
        if (to is not null)
        {
            transaction["to"] = to;
        }
        var hash = (await CallAsync("eth_sendTransaction", transaction))!.GetValue<string>();
        var receipt = await ReceiptAsync(hash);
        return receipt["status"]!.GetValue<string>() == "0x1" ? hash : throw new InvalidOperationException($"Transaction {hash} reverted.");
    }

    private static string Word(string address) => address[2..].ToLowerInvariant().PadLeft(64, '0');

    private static string Word(BigInteger value) => value.ToString("x", CultureInfo.InvariantCulture).TrimStart('0').PadLeft(64, '0');

    private static string Word(int value) => Word(new BigInteger(value));

    private static long ParseQuantity(string hex) => long.Parse(hex.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Runs a set-up step on the node and stops the node if it fails: xunit never disposes a fixture whose
    /// InitializeAsync threw, and the node process would outlive the test run.
    /// </summary>
    public async Task<T> OrStopAsync<T>(Func<Ganache, Task<T>> step)
    {
        try
        {
            return await step(this);
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        // ganache can outlive a first kill by a second: wait, and make sure.
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
        }
        _process.Dispose();
    }
}
