namespace Aisa.Settlement.Adapters.Lightning.Backends;

public enum InvoiceStatus
{
    /// <summary>Waiting for its payment (LND's OPEN or ACCEPTED; BTCPay's New or Processing).</summary>
    Open,

    /// <summary>Paid in full.</summary>
    Settled,

    /// <summary>Settled or closed with less than it asked (BTCPay marked it settled, or it expired partly paid): never credited.</summary>
    Underpaid,

    /// <summary>Expired or cancelled unpaid.</summary>
    Expired,

    /// <summary>BTCPay marked it invalid.</summary>
    Invalid,

    /// <summary>The backend has no such invoice.</summary>
    Unknown,
}
