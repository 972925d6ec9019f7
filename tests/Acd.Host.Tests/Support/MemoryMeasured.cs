namespace Acd.Host.Tests.Support;

/// <summary>
/// Tests that measure the process's managed memory (<see cref="GC.GetTotalMemory"/>) run alone, after the others: a
/// test running beside them would allocate into their figure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasured
{
    public const string Name = "memory measured";
}
