namespace Aisa.Settlement.Api.Jobs;

/// <summary><c>Scheduling</c>: how the instances share the recurring passes.</summary>
public sealed class SchedulingOptions
{
    public const string Section = "Scheduling";

    /// <summary>
    /// How long a pass holds its job's lease without renewing it. A live pass renews it every third of this and gives it
    /// up when it ends; a pass whose instance died holds it this long, so another instance goes on within this plus one
    /// poll interval.
    /// </summary>
    public int LeaseSeconds { get; set; } = 60;

    public IEnumerable<string> Validate()
    {
        if (LeaseSeconds is < 2 or > 3600)
        {
            yield return $"{Section}:LeaseSeconds must be from 2 to 3600.";
        }
    }
}
