namespace Aisa.Settlement.Ledger;

/// <summary>What a transfer was for; a wallet's statement shows it as the entry's type.</summary>
public static class TransferKinds
{
    public const string Deposit = "deposit";
    public const string Charge = "charge";
    public const string PlatformFee = "platform-fee";
    public const string Adjustment = "adjustment";
}
