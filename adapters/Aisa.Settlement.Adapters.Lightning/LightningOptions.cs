using System.Globalization;
using Aisa.Settlement.Adapters.Lightning.Bolt11;

namespace Aisa.Settlement.Adapters.Lightning;

/// <summary><c>Rails:Lightning</c>: USD top-ups paid by Lightning invoices of BTCPay Server (Greenfield) or of an LND node (REST).</summary>
public sealed class LightningOptions
{
    public const string Section = "Rails:Lightning";
    public const string BtcPayBackend = "btcpay";
    public const string LndBackend = "lnd";

    /// <summary><c>btcpay</c> (BTCPay fixes the rate) or <c>lnd</c> (the rate is read from <see cref="LndOptions.RateUrl"/>).</summary>
    public string Backend { get; set; } = BtcPayBackend;

    public BtcPayOptions BtcPay { get; set; } = new();

    public LndOptions Lnd { get; set; } = new();

    /// <summary>Present when Lightning pays publishers (at their Lightning address).</summary>
    public LightningPayoutOptions? Payouts { get; set; }

    /// <summary>How long an agent has to pay an invoice.</summary>
    public int InvoiceExpirySeconds { get; set; } = 900;

    public int PollIntervalSeconds { get; set; } = 15;

    /// <summary>
    /// How many L402 invoices (one request paid by itself) this instance may make a minute, one per 402 that offers it; past
    /// that a 402 offers the other ways to pay. 0: no L402 offers.
    /// </summary>
    public int RequestInvoicesPerMinute { get; set; } = 600;

    /// <summary>The network whose invoices are handed out (<c>mainnet</c>: <c>lnbc…</c>); an invoice of another is refused.</summary>
    public string Network { get; set; } = "mainnet";

    public int TimeoutSeconds { get; set; } = 30;

    public LightningNetwork InvoiceNetwork => Enum.Parse<LightningNetwork>(Network, ignoreCase: true);

    public bool UsesLnd => string.Equals(Backend, LndBackend, StringComparison.OrdinalIgnoreCase);

    public IEnumerable<string> Validate()
    {
        if (!string.Equals(Backend, BtcPayBackend, StringComparison.OrdinalIgnoreCase) && !UsesLnd)
        {
            yield return $"{Section}:Backend is btcpay or lnd.";
        }
        else
        {
            foreach (var problem in UsesLnd ? Lnd.Validate($"{Section}:Lnd") : BtcPay.Validate($"{Section}:BtcPay"))
            {
                yield return problem;
            }
        }
        if (!Enum.TryParse<LightningNetwork>(Network, ignoreCase: true, out _) || int.TryParse(Network, CultureInfo.InvariantCulture, out _))
        {
            yield return $"{Section}:Network is mainnet, testnet, signet or regtest.";
        }
        if (InvoiceExpirySeconds is < 60 or > 86_400)
        {
            yield return $"{Section}:InvoiceExpirySeconds must be from 60 to 86400.";
        }
        if (PollIntervalSeconds is < 1 or > 3600)
        {
            yield return $"{Section}:PollIntervalSeconds must be from 1 to 3600.";
        }
        if (RequestInvoicesPerMinute is < 0 or > 100_000)
        {
            yield return $"{Section}:RequestInvoicesPerMinute must be from 0 to 100000.";
        }
        if (TimeoutSeconds is < 1 or > 300)
        {
            yield return $"{Section}:TimeoutSeconds must be from 1 to 300.";
        }
        foreach (var problem in Payouts?.Validate($"{Section}:Payouts", UsesLnd) ?? [])
        {
            yield return problem;
        }
    }

    internal static bool IsHttpUrl(string? url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";
}
