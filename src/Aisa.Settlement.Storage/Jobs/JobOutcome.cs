namespace Aisa.Settlement.Storage.Jobs;

public enum JobOutcome
{
    Running,
    Succeeded,
    Failed,
}
