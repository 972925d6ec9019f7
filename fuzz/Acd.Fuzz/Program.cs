using Acd.Fuzz;
using SharpFuzz;

// Usage (fuzz/README.md):
//   Acd.Fuzz TARGET              under afl-fuzz: the input on stdin, many inputs in one process (SharpFuzz)
//   Acd.Fuzz TARGET < FILE       outside afl-fuzz: one input; a finding ends in an unhandled exception (exit 134)
//   Acd.Fuzz --seeds DIR         writes the binary seed corpora (journal, snapshot) under DIR
if (args.Length == 2 && string.Equals(args[0], "--seeds", StringComparison.Ordinal))
{
    Seeds.Write(args[1]);
    return 0;
}

if (args.Length != 1 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    await Console.Error.WriteLineAsync($"usage: Acd.Fuzz {string.Join("|", FuzzTargets.All.Keys)} < input, or Acd.Fuzz --seeds DIR");
    return 2;
}

// Out of process: a finding that kills the process (a stack overflow, a hang) is still reported, and the campaign goes on.
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target(buffer.ToArray());
});
return 0;
