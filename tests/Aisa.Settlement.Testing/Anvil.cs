using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Aisa.Settlement.Testing;

/// <summary>
/// anvil (Foundry's node, from tests/peers): a real local EVM node with the "test test … junk" accounts unlocked. It
/// numbers a block's logs across its transactions, as mainnet nodes do, which a reorganisation changes.
/// </summary>
public sealed class Anvil : EvmNode
{
    /// <summary>Accounts #0 and #1 of anvil's deterministic wallet (the "test test … junk" mnemonic; test chains only).</summary>
    public const string Deployer = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
    public const string Payer = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";

    private Anvil(Process process, Uri url, long chainId) : base(process, url, chainId)
    {
    }

    public override string DeployerAccount => Deployer;

    public override string PayerAccount => Payer;

    public static Task<Anvil> StartAsync(long chainId = 8453) =>
        StartAsync(port =>
        {
            var binary = Path.Combine(NodePeers.NodeModules, "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");
            var start = new ProcessStartInfo(binary) { WorkingDirectory = NodePeers.Directory };
            foreach (var argument in new[] { "--host", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--chain-id", chainId.ToString(CultureInfo.InvariantCulture), "--silent" })
            {
                start.ArgumentList.Add(argument);
            }
            return start;
        }, (process, url) => new Anvil(process, url, chainId));

    public override async Task MineAsync(int blocks) => await CallAsync("anvil_mine", "0x" + blocks.ToString("x", CultureInfo.InvariantCulture));

    protected override async Task SetCodeAsync(string address, string code) => await CallAsync("anvil_setCode", address, code);

    protected override async Task StopMiningAsync() => await CallAsync("evm_setAutomine", false);

    protected override async Task StartMiningAsync() => await CallAsync("evm_setAutomine", true);
}
