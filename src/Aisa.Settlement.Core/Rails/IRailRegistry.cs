namespace Aisa.Settlement.Rails;

/// <summary>Every rail this instance has configured, in the order they were registered.</summary>
public interface IRailRegistry
{
    IReadOnlyList<IRail> All { get; }

    IRail? Find(RailId rail);

    /// <summary>The rail a top-up that names none goes to, as a rail's registration declared it; null when none did.</summary>
    RailId? DefaultTopUp { get; }
}
