using Aisa.Settlement.Money;

namespace Aisa.Settlement.Adapters.Lightning.Backends;

/// <summary>Where invoices are made and read, and publishers' invoices paid: BTCPay Server or an LND node. Both throw <see cref="LightningBackendException"/> when they cannot answer.</summary>
public interface ILightningBackend
{
    /// <summary>The backend's name, for messages and evidence (<c>btcpay</c>, <c>lnd</c>).</summary>
    string Name { get; }

    /// <summary>Requests sent so far.</summary>
    long Calls { get; }

    /// <summary>An invoice for <paramref name="amount"/> US dollars that expires after <paramref name="expiry"/>; what it is for rides along where the backend keeps it.</summary>
    Task<MadeInvoice> CreateAsync(InvoicePurpose purpose, Micros amount, TimeSpan expiry, CancellationToken cancellationToken);

    /// <summary>Where the invoice stands now; <see cref="InvoiceStatus.Unknown"/> when the backend says it has no such invoice.</summary>
    Task<InvoiceReading> ReadAsync(string invoiceId, CancellationToken cancellationToken);

    /// <summary>The price of a bitcoin in US dollars now, and where it was read, for a payout's amount.</summary>
    Task<(decimal Price, string Source)> BtcUsdAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Pays <paramref name="bolt11"/> (whose hash is <paramref name="paymentHash"/>) with at most <paramref name="maxFeePercent"/>
    /// percent in fees. Paying a hash again pays nothing more: the node answers where the first payment stands.
    /// </summary>
    Task<PaymentReading> PayAsync(string bolt11, string paymentHash, decimal maxFeePercent, CancellationToken cancellationToken);

    /// <summary>Where the node's payment of <paramref name="paymentHash"/> stands; <see cref="PaymentStatus.Unknown"/> when it made none.</summary>
    Task<PaymentReading> PaymentAsync(string paymentHash, CancellationToken cancellationToken);
}

/// <summary>What an invoice is for: a deposit (a wallet top-up), or one request paid by itself (L402), which names no deposit.</summary>
public sealed record InvoicePurpose(long? DepositId, string Description)
{
    public static InvoicePurpose TopUp(long depositId) =>
        new(depositId, $"AISA wallet top-up, deposit {depositId.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
}
