using System.Text.Json.Nodes;

namespace Aisa.Settlement.Adapters.Lightning.Backends;

/// <summary>An invoice as the backend reports it now.</summary>
/// <param name="PaymentHash">Its payment hash (hex), when the backend says.</param>
/// <param name="SettleIndex">LND's settle index of a settled invoice (0 for none, and on BTCPay).</param>
/// <param name="Evidence">The backend's own words (status, amounts), kept with the deposit.</param>
public sealed record InvoiceReading(InvoiceStatus Status, string? PaymentHash, long AmountMsat, long PaidMsat, long SettleIndex, JsonObject Evidence);
