using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Testing;

/// <summary>
/// ganache (from tests/peers): a real local EVM node with its deterministic accounts unlocked. It numbers each
/// transaction's logs from 0, where other nodes number a block's logs; <see cref="Anvil"/> does as mainnet nodes do.
/// </summary>
public sealed class Ganache : EvmNode
{
    /// <summary>Account #0 of ganache's deterministic wallet: deploys and mints.</summary>
    public const string Deployer = "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1";

    /// <summary>Account #1: the payer that sends tokens to deposit addresses.</summary>
    public const string Payer = "0xffcf8fdee72ac11b5c542428b35eef5769c409f0";

    /// <summary>Private keys of ganache's deterministic accounts #0 and #1 (published with ganache; test chains only).</summary>
    public const string DeployerKey = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d";
    public const string PayerKey = "0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1";

    private Ganache(Process process, Uri url, long chainId) : base(process, url, chainId)
    {
    }

    public override string DeployerAccount => Deployer;

    public override string PayerAccount => Payer;

    public static Task<Ganache> StartAsync(long chainId = 8453) =>
        StartAsync(port =>
        {
            var start = new ProcessStartInfo("node") { WorkingDirectory = NodePeers.Directory };
            foreach (var argument in new[]
            {
                Path.Combine(NodePeers.NodeModules, "ganache", "dist", "node", "cli.js"),
                "--chain.chainId", chainId.ToString(CultureInfo.InvariantCulture), "--wallet.deterministic",
                "--server.host", "127.0.0.1", "--server.port", port.ToString(CultureInfo.InvariantCulture), "--logging.quiet",
            })
            {
                start.ArgumentList.Add(argument);
            }
            return start;
        }, (process, url) => new Ganache(process, url, chainId));

    public override async Task MineAsync(int blocks) => await CallAsync("evm_mine", new JsonObject { ["blocks"] = blocks });

    protected override async Task SetCodeAsync(string address, string code) => await CallAsync("evm_setAccountCode", address, code);

    protected override async Task StopMiningAsync() => await CallAsync("miner_stop");

    protected override async Task StartMiningAsync() => await CallAsync("miner_start");
}
