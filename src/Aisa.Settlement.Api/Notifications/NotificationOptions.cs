namespace Aisa.Settlement.Api.Notifications;

/// <summary><c>Notifications</c>: how the webhooks owners register are delivered.</summary>
public sealed class NotificationOptions
{
    public const string Section = "Notifications";

    /// <summary>
    /// The waits before the second, third, … attempt of a delivery that failed; after the last, it has failed for good.
    /// Unset: <see cref="DefaultRetryDelaysSeconds"/> (a default array would have the configured waits appended to it by the binder).
    /// </summary>
    public int[]? RetryDelaysSeconds { get; set; }

    public static readonly int[] DefaultRetryDelaysSeconds = [10, 60, 300, 1800, 7200, 21600];

    public IReadOnlyList<int> RetryDelays => RetryDelaysSeconds ?? DefaultRetryDelaysSeconds;

    /// <summary>How long one attempt may take.</summary>
    public int TimeoutSeconds { get; set; } = 10;

    /// <summary>A charge that takes a wallet below this many USD sends <c>balance.low</c> to its owner's webhook; 0 sends none.</summary>
    public decimal LowBalance { get; set; } = 1.00m;

    public Aisa.Settlement.Money.Micros? LowBalanceMicros => LowBalance > 0 ? Aisa.Settlement.Money.Micros.FromUsd(LowBalance) : null;

    /// <summary>Lets webhook URLs be plain http and point at loopback or private addresses: for tests and closed networks only.</summary>
    public bool AllowPrivateNetworks { get; set; }

    public IEnumerable<string> Validate()
    {
        if (RetryDelays.Count > 20 || RetryDelays.Any(d => d is < 1 or > 7 * 24 * 3600))
        {
            yield return $"{Section}:RetryDelaysSeconds holds at most 20 waits of 1 s to 7 days.";
        }
        if (LowBalance is < 0 or > 1_000_000 || !Aisa.Settlement.Money.Micros.TryFromUsd(LowBalance, out _))
        {
            yield return $"{Section}:LowBalance is from 0 (no notice) to 1000000 USD, to the micro.";
        }
        if (TimeoutSeconds is < 1 or > 60)
        {
            yield return $"{Section}:TimeoutSeconds is from 1 to 60.";
        }
    }
}
