namespace Aisa.Settlement.Adapters.Stripe;

/// <summary><c>Rails:Stripe</c>: card top-ups through Checkout Sessions, and publishers' payouts by Connect transfers when enabled.</summary>
public sealed class StripeOptions
{
    public const string Section = "Rails:Stripe";

    /// <summary>
    /// The API version of every request and of the events accepted: Stripe.net's own pin, so an account upgrade changes nothing
    /// here. The webhook endpoint must be created at this version (an event of another is refused).
    /// </summary>
    public static string ApiVersion => global::Stripe.StripeConfiguration.ApiVersion;

    public string? SecretKey { get; set; }

    public string? WebhookSecret { get; set; }

    /// <summary>Several endpoint secrets while one is rolled; any of them verifies a delivery.</summary>
    public List<string> WebhookSecrets { get; set; } = [];

    public string ApiBaseUrl { get; set; } = "https://api.stripe.com/";

    public string? SuccessUrl { get; set; }

    public string? CancelUrl { get; set; }

    /// <summary>How often open sessions are read from Stripe, so a webhook that never came still credits.</summary>
    public int PollIntervalSeconds { get; set; } = 30;

    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>Stripe also pays publishers: Connect transfers to their connected accounts (the platform needs Connect).</summary>
    public bool PayoutsEnabled { get; set; }

    public IReadOnlyList<string> Secrets => [.. WebhookSecrets, .. WebhookSecret is null ? Array.Empty<string>() : [WebhookSecret]];

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(SecretKey) || !(SecretKey.StartsWith("sk_", StringComparison.Ordinal) || SecretKey.StartsWith("rk_", StringComparison.Ordinal)))
        {
            yield return $"{Section}:SecretKey is required: a Stripe secret (sk_…) or restricted (rk_…) key.";
        }
        if (Secrets.Count == 0 || Secrets.Any(s => !s.StartsWith("whsec_", StringComparison.Ordinal)))
        {
            yield return $"{Section}:WebhookSecret (or WebhookSecrets) is required: the endpoint's signing secret(s), whsec_….";
        }
        if (!Uri.TryCreate(ApiBaseUrl, UriKind.Absolute, out var api) || api.Scheme is not ("http" or "https"))
        {
            yield return $"{Section}:ApiBaseUrl must be an http(s) URL.";
        }
        if (!Uri.TryCreate(SuccessUrl, UriKind.Absolute, out _) || !Uri.TryCreate(CancelUrl, UriKind.Absolute, out _))
        {
            yield return $"{Section}:SuccessUrl and CancelUrl are required absolute URLs (where Checkout sends the payer back).";
        }
        if (PollIntervalSeconds is < 1 or > 3600)
        {
            yield return $"{Section}:PollIntervalSeconds must be from 1 to 3600.";
        }
        if (TimeoutSeconds is < 1 or > 300)
        {
            yield return $"{Section}:TimeoutSeconds must be from 1 to 300.";
        }
    }
}
