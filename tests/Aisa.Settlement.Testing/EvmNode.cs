using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Numerics;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Testing;

/// <summary>
/// A real local EVM node on a free port with deterministic, unlocked accounts: the tests send transactions through it as
/// any wallet would, and mine, snapshot and revert blocks. <see cref="Ganache"/> and <see cref="Anvil"/> are the kinds.
/// </summary>
public abstract class EvmNode : IAsyncDisposable
{
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

    protected EvmNode(Process process, Uri url, long chainId)
    {
        _process = process;
        Url = url;
        ChainId = chainId;
    }

    public Uri Url { get; }

    public long ChainId { get; }

    /// <summary>Account #0 of the node's deterministic wallet: deploys and mints.</summary>
    public abstract string DeployerAccount { get; }

    /// <summary>Account #1: the payer that sends tokens to deposit addresses.</summary>
    public abstract string PayerAccount { get; }

    /// <summary>
    /// Starts the node's process on a free port (its arguments for that port are the kind's) and waits until it answers
    /// JSON-RPC. A free port is only free when it is picked: when another server took it meanwhile (it answers, but not as
    /// a node) or the node could not bind it and exited, the node is started again on another.
    /// </summary>
    protected static async Task<T> StartAsync<T>(Func<int, ProcessStartInfo> startOn, Func<Process, Uri, T> create) where T : EvmNode
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var start = startOn(port);
            start.RedirectStandardOutput = true;
            start.RedirectStandardError = true;
            start.UseShellExecute = false;
            var process = Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start.");
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var node = create(process, new Uri($"http://127.0.0.1:{port}/"));
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try
                {
                    await node.CallAsync("eth_chainId");
                    return node;
                }
                catch (HttpRequestException e) when (e.StatusCode is null && DateTime.UtcNow < deadline && !process.HasExited)
                {
                    await Task.Delay(100);
                }
                catch (Exception e) when (attempt < 5 && (process.HasExited || e is HttpRequestException { StatusCode: not null } or System.Text.Json.JsonException))
                {
                    // Port {port} went to another server (or the node could not bind it): try another.
                    await node.DisposeAsync();
                    break;
                }
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

    public abstract Task MineAsync(int blocks);

    /// <summary>Puts code at an address (Multicall3 at its canonical place).</summary>
    protected abstract Task SetCodeAsync(string address, string code);

    /// <summary>Stops mining a block per transaction: sent transactions wait until <c>evm_mine</c>.</summary>
    protected abstract Task StopMiningAsync();

    protected abstract Task StartMiningAsync();

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
        var hash = await SendAsync(DeployerAccount, null, data);
        var receipt = await ReceiptAsync(hash);
        var token = receipt["contractAddress"]!.GetValue<string>();
        await SendAsync(DeployerAccount, token, "0x" + MintSelector + Word(PayerAccount) + Word(BigInteger.Pow(10, decimals + 9)));
        return token;
    }

    /// <summary>
    /// Deploys the EIP-3009 test USDC (6 decimals, EIP-712 domain "USD Coin" / "2"), mints the payer a large balance and
    /// puts Multicall3 at its canonical address; returns the token address.
    /// </summary>
    public async Task<string> DeployUsdcAsync()
    {
        var receipt = await ReceiptAsync(await SendAsync(DeployerAccount, null, await UsdcBytecode.Value));
        var token = receipt["contractAddress"]!.GetValue<string>();
        await SendAsync(DeployerAccount, token, "0x" + MintSelector + Word(PayerAccount) + Word(BigInteger.Pow(10, 15)));
        var multicall = (await ReceiptAsync(await SendAsync(DeployerAccount, null, await MulticallBytecode.Value)))["contractAddress"]!.GetValue<string>();
        var code = (await CallAsync("eth_getCode", multicall, "latest"))!.GetValue<string>();
        await SetCodeAsync(Multicall3, code);
        return token;
    }

    /// <summary>The token balance of an address, read from the node.</summary>
    public async Task<BigInteger> BalanceOfAsync(string token, string holder)
    {
        // keccak256("balanceOf(address)") first 4 bytes.
        var answer = (await CallAsync("eth_call", new JsonObject { ["to"] = token, ["data"] = "0x70a08231" + Word(holder) }, "latest"))!.GetValue<string>();
        return BigInteger.Parse("0" + answer[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
    }

    /// <summary>The payer transfers tokens; returns the transaction hash once it is mined (the node mines each at once).</summary>
    public Task<string> TransferAsync(string token, string to, BigInteger amount) =>
        SendAsync(PayerAccount, token, "0x" + TransferSelector + Word(to) + Word(amount));

    /// <summary>
    /// A payer's transfer signed but not sent: the same bytes can be sent, reverted away and sent again, and are
    /// then the same transaction (same hash) in another block, as after a real reorganisation.
    /// </summary>
    public async Task<string> SignTransferAsync(string token, string to, BigInteger amount)
    {
        var nonce = (await CallAsync("eth_getTransactionCount", PayerAccount, "pending"))!.GetValue<string>();
        var transaction = new JsonObject
        {
            ["from"] = PayerAccount, ["to"] = token, ["data"] = "0x" + TransferSelector + Word(to) + Word(amount),
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

    /// <summary>
    /// Mines, in one block, the deployer minting <paramref name="mintAmount"/> tokens to <paramref name="mintTo"/> and then
    /// the signed transaction <paramref name="raw"/>: the mint comes first in the block (it pays more for gas), so on a
    /// node that numbers logs block-wide the raw transaction's logs get other indexes than alone. Returns the block number.
    /// </summary>
    public async Task<long> MineBehindAMintAsync(string token, string mintTo, BigInteger mintAmount, string raw)
    {
        await StopMiningAsync();
        try
        {
            var mint = new JsonObject
            {
                ["from"] = DeployerAccount, ["to"] = token, ["data"] = "0x" + MintSelector + Word(mintTo) + Word(mintAmount), ["gas"] = "0x7a1200", ["gasPrice"] = "0x2540be400",
            };
            var minted = (await CallAsync("eth_sendTransaction", mint))!.GetValue<string>();
            var sent = (await CallAsync("eth_sendRawTransaction", raw))!.GetValue<string>();
            await CallAsync("evm_mine");
            var (first, second) = (await ReceiptAsync(minted), await ReceiptAsync(sent));
            if (first["blockNumber"]!.GetValue<string>() != second["blockNumber"]!.GetValue<string>() || second["status"]!.GetValue<string>() != "0x1")
            {
                throw new InvalidOperationException($"The mint and {sent} were not mined together: {first.ToJsonString()} {second.ToJsonString()}");
            }
            return ParseQuantity(second["blockNumber"]!.GetValue<string>());
        }
        finally
        {
            await StartMiningAsync();
        }
    }

    /// <summary>The transaction's receipt, waited for: anvil answers a sent transaction before it has mined it.</summary>
    public async Task<JsonObject> ReceiptAsync(string transactionHash)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if ((await CallAsync("eth_getTransactionReceipt", transactionHash)) is JsonObject receipt)
            {
                return receipt;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"No receipt for {transactionHash}.");
            }
            await Task.Delay(20);
        }
    }

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

    protected static long ParseQuantity(string hex) => long.Parse(hex.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

    protected static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Runs a set-up step on the node and stops the node if it fails: xunit never disposes a fixture whose
    /// InitializeAsync threw, and the node process would outlive the test run.
    /// </summary>
    public async Task<T> OrStopAsync<T>(Func<EvmNode, Task<T>> step)
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
        // A node can outlive a first kill by a second: wait, and make sure.
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
        GC.SuppressFinalize(this);
    }
}
