namespace Aisa.Settlement.Adapters.Lightning.Bolt11;

/// <summary>The Bitcoin network an invoice is for, as its prefix says: <c>lnbc</c>, <c>lntb</c>, <c>lntbs</c>, <c>lnbcrt</c>.</summary>
public enum LightningNetwork
{
    Mainnet,
    Testnet,
    Signet,
    Regtest,
}
