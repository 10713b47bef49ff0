using Aisa.Settlement.Money;

namespace Aisa.Settlement.Adapters.Lightning.Backends;

/// <summary>Where invoices are made and read: BTCPay Server or an LND node. Both throw <see cref="LightningBackendException"/> when they cannot answer.</summary>
public interface ILightningBackend
{
    /// <summary>The backend's name, for messages and evidence (<c>btcpay</c>, <c>lnd</c>).</summary>
    string Name { get; }

    /// <summary>Requests sent so far.</summary>
    long Calls { get; }

    /// <summary>An invoice for <paramref name="amount"/> US dollars that expires after <paramref name="expiry"/>; the deposit's id rides along where the backend keeps it.</summary>
    Task<MadeInvoice> CreateAsync(long depositId, Micros amount, TimeSpan expiry, CancellationToken cancellationToken);

    /// <summary>Where the invoice stands now; <see cref="InvoiceStatus.Unknown"/> when the backend says it has no such invoice.</summary>
    Task<InvoiceReading> ReadAsync(string invoiceId, CancellationToken cancellationToken);
}
