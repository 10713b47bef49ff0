namespace Aisa.Settlement.Ledger;

/// <summary>What a transfer was for; a wallet's statement shows it as the entry's type.</summary>
public static class TransferKinds
{
    public const string Deposit = "deposit";
    public const string Charge = "charge";
    public const string PlatformFee = "platform-fee";
    public const string Adjustment = "adjustment";
    /// <summary>A card payment given back to the payer (a refund made at the payment provider).</summary>
    public const string Refund = "refund";
    /// <summary>A card payment taken back by the payer's bank (a dispute that withdrew the funds).</summary>
    public const string Chargeback = "chargeback";
    /// <summary>The funds of a dispute given back to us (the dispute was won, or the refund failed).</summary>
    public const string Reinstatement = "reinstatement";
    /// <summary>A publisher's earnings moved out of its payable into a payout in flight.</summary>
    public const string Payout = "payout";
    /// <summary>A payout confirmed paid on its rail: out of flight, against the rail's clearing account.</summary>
    public const string PayoutSettlement = "payout-settlement";
    /// <summary>A payout that failed or was cancelled: its money back in the publisher's payable.</summary>
    public const string PayoutReversal = "payout-reversal";

    /// <summary>
    /// Money that has already left through the rail when we hear of it: its debit may take a wallet below zero,
    /// which then pays for nothing until a top-up brings it back above the price. No other debit may.
    /// </summary>
    public static bool TakesBackPaidMoney(string kind) => kind is Refund or Chargeback;
}
