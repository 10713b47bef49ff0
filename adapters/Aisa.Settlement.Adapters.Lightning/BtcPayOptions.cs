namespace Aisa.Settlement.Adapters.Lightning;

/// <summary><c>Rails:Lightning:BtcPay</c>: a store of a BTCPay Server with Lightning enabled, and the secret of its webhook to us.</summary>
public sealed class BtcPayOptions
{
    /// <summary>The server's address (https://btcpay.example/).</summary>
    public string? Url { get; set; }

    /// <summary>A Greenfield API key with <c>btcpay.store.cancreateinvoice</c> and <c>btcpay.store.canviewinvoices</c> on the store.</summary>
    public string? ApiKey { get; set; }

    public string? StoreId { get; set; }

    /// <summary>The secret of the store's webhook to <c>/api/webhooks/lightning</c>: BTCPay signs every delivery with it.</summary>
    public string? WebhookSecret { get; set; }

    public IEnumerable<string> Validate(string at)
    {
        if (!LightningOptions.IsHttpUrl(Url))
        {
            yield return $"{at}:Url is required: the BTCPay Server's http(s) address.";
        }
        if (string.IsNullOrWhiteSpace(ApiKey))
        {
            yield return $"{at}:ApiKey is required: a Greenfield API key that can create and view the store's invoices.";
        }
        if (string.IsNullOrWhiteSpace(StoreId) || StoreId.Any(c => !char.IsAsciiLetterOrDigit(c)))
        {
            yield return $"{at}:StoreId is required: the store's id (letters and digits, as BTCPay shows it).";
        }
        if (string.IsNullOrWhiteSpace(WebhookSecret))
        {
            yield return $"{at}:WebhookSecret is required: the secret of the store's webhook to /api/webhooks/lightning.";
        }
    }
}
