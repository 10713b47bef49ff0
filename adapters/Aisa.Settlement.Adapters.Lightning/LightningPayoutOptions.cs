namespace Aisa.Settlement.Adapters.Lightning;

/// <summary><c>Rails:Lightning:Payouts</c>: Lightning pays publishers at their Lightning address, through the configured backend.</summary>
public sealed class LightningPayoutOptions
{
    /// <summary>The most a payment may cost in routing fees, in percent of the amount.</summary>
    public decimal MaxFeePercent { get; set; } = 1m;

    /// <summary>LND only: a macaroon that may pay (admin, or baked for the router), hex. The invoice macaroon cannot pay. Never logged.</summary>
    public string? MacaroonHex { get; set; }

    public IEnumerable<string> Validate(string at, bool usesLnd)
    {
        if (MaxFeePercent is < 0 or > 10)
        {
            yield return $"{at}:MaxFeePercent must be from 0 to 10.";
        }
        if (usesLnd && (string.IsNullOrWhiteSpace(MacaroonHex) || MacaroonHex.Length % 2 != 0 || !MacaroonHex.All(Uri.IsHexDigit)))
        {
            yield return $"{at}:MacaroonHex is required on LND: a macaroon that may pay (admin.macaroon, or one baked for the router), as hex.";
        }
        if (!usesLnd && MacaroonHex is not null)
        {
            yield return $"{at}:MacaroonHex is for LND: BTCPay pays with the store's API key (it needs btcpay.store.canuselightningnode).";
        }
    }
}
