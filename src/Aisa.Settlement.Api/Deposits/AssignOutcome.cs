namespace Aisa.Settlement.Api.Deposits;

public enum AssignOutcome
{
    Assigned,
    /// <summary>The deposit is not (or no longer) unattributed.</summary>
    NotUnattributed,
    NoSuchAgent,
    /// <summary>Another operator gave it to another agent at the same time.</summary>
    AssignedElsewhere,
}
