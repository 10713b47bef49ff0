using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.Lightning.Backends;

/// <summary>An invoice as the backend answered its creation, before it is checked.</summary>
/// <param name="InvoiceId">Where the backend keeps it: BTCPay's invoice id, LND's payment hash.</param>
/// <param name="PaymentHash">The payment hash the backend says the invoice has (hex).</param>
/// <param name="AmountMsat">What the backend says the invoice asks, in millisatoshis.</param>
/// <param name="Evidence">What the amount rests on (BTCPay's rate, or the rate read for LND), kept with the deposit.</param>
public sealed record MadeInvoice(string InvoiceId, string PaymentRequest, string PaymentHash, long AmountMsat, JsonObject Evidence);
