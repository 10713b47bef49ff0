namespace Aisa.Settlement.Adapters.Evm.Addresses;

/// <summary>
/// Per-agent deposit addresses under an account-level extended public key (as wallets export at <c>m/44'/60'/0'</c>):
/// agent k gets the external child <c>0/k</c>, so the wallet that holds the private key finds every deposit.
/// </summary>
public sealed class DepositAddresses
{
    private readonly ExtendedPublicKey _external;

    public DepositAddresses(ExtendedPublicKey account)
    {
        ArgumentNullException.ThrowIfNull(account);
        _external = account.Child(0);
    }

    public EvmAddress At(uint derivationIndex) => _external.Child(derivationIndex).ToEvmAddress();
}
