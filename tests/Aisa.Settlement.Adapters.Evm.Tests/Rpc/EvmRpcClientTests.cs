using Aisa.Settlement.Adapters.JsonRpc;
using System.Numerics;
using Aisa.Settlement.Adapters.Evm.Rpc;
using Aisa.Settlement.Testing;

namespace Aisa.Settlement.Adapters.Evm.Tests.Rpc;

public sealed class EvmRpcClientTests : IAsyncLifetime
{
    private Ganache _node = null!;

    public async Task InitializeAsync() => _node = await Ganache.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private EvmRpcClient Client(params Uri[] endpoints) =>
        new(new HttpClient(), new JsonRpcOptions { Endpoints = endpoints, Timeout = TimeSpan.FromSeconds(2), FirstBackoff = TimeSpan.FromMilliseconds(10) });

    [Fact]
    public async Task Transfer_logs_of_a_real_token_come_back_with_their_evidence()
    {
        var token = await _node.DeployTokenAsync(decimals: 6);
        const string recipient = "0x1111111111111111111111111111111111111111";
        var hash = await _node.TransferAsync(token, recipient, 12_500_000);
        var receipt = await _node.ReceiptAsync(hash);
        var client = Client(_node.Url);

        var head = await client.BlockNumberAsync(CancellationToken.None);
        var logs = await client.TransferLogsAsync([token], 0, head, CancellationToken.None);

        var log = Assert.Single(logs, l => l.To == recipient);
        Assert.Equal(new BigInteger(12_500_000), log.Value);
        Assert.Equal(Ganache.Payer, log.From);
        Assert.Equal(hash, log.TransactionHash);
        Assert.Equal(receipt["blockHash"]!.GetValue<string>(), log.BlockHash);
        Assert.Equal(head, log.BlockNumber);
        var hashes = await client.BlockHashesAsync([head, head + 100], CancellationToken.None);
        Assert.Equal(log.BlockHash, hashes[head]);
        Assert.Null(hashes[head + 100]);
    }

    [Fact]
    public async Task A_dead_endpoint_hands_over_to_the_next_one()
    {
        var client = Client(new Uri("http://127.0.0.1:9/"), _node.Url);

        Assert.Equal(await _node.BlockNumberAsync(), await client.BlockNumberAsync(CancellationToken.None));
        Assert.Equal(await _node.BlockNumberAsync(), await client.BlockNumberAsync(CancellationToken.None));
        // The second call went straight to the endpoint that answered.
        Assert.Equal(3, client.Calls);
    }

    [Fact]
    public async Task Every_endpoint_down_fails_with_each_one_named_and_no_secret()
    {
        var client = Client(new Uri("http://127.0.0.1:9/v3/secret-api-key"));

        var error = await Assert.ThrowsAsync<JsonRpcException>(() => client.BlockNumberAsync(CancellationToken.None));

        Assert.Contains("127.0.0.1:9", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-api-key", error.Message, StringComparison.Ordinal);
        Assert.Equal(3, client.Calls);
    }
}
