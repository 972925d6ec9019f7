using Acd.Core.Configuration;
using Acd.Core.Domain;
using Acd.Core.Durability;
using Acd.Core.Routing;

namespace Acd.Fuzz;

/// <summary>Binary seeds made by the real code: small journals and command payloads, router snapshots with some state in them.</summary>
public static class Seeds
{
    public static void Write(string directory)
    {
        var options = System.Text.Json.JsonSerializer.Deserialize<DomainOptions>(FuzzTargets.SeedCentre, new System.Text.Json.JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        var errors = new List<ConfigError>();
        var config = DomainCompiler.TryCompile(options, "Acd", errors) ?? throw new InvalidOperationException(string.Join("; ", errors));
        var router = new Router(config);
        var events = new EventBuffer(64);
        var commands = new List<(long Time, Command Command)>
        {
            (1_000, LoginRoster.Instance),
            (2_000, new OfferCall { CallId = "c1", Caller = "13800000001", Skill = "general" }),
            (2_500, new OfferCall { CallId = "c2", Caller = "13800000002", Skill = "data", Priority = 3 }),
            (3_000, new OfferCall { CallId = "c3", Caller = "13800000003", Skill = "general", Vip = 2 }),
            (4_000, new CallCommand(CommandKind.Answered, "c1")),
            (5_000, new CallCommand(CommandKind.Abandon, "c3")),
            (6_000, new AgentCommand(CommandKind.SetState, "A3") { State = AgentState.Ready }),
            (40_000, Tick.Instance),
            (41_000, new SetCallerVip("13900000000", 4)),
            (42_000, new ForceSurgeTier { Skill = "general", Tier = 2, DurationSeconds = 600, Reason = "drill" }),
        };

        var snapshotOptions = System.Text.Json.JsonSerializer.Deserialize<DomainOptions>(FuzzTargets.SnapshotCentre, new System.Text.Json.JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        var small = new Router(DomainCompiler.TryCompile(snapshotOptions, "Acd", errors) ?? throw new InvalidOperationException(string.Join("; ", errors)));
        var journal = new StateWriter();
        var index = 0L;
        var snapshotDir = Directory.CreateDirectory(Path.Combine(directory, "snapshot")).FullName;
        var journalDir = Directory.CreateDirectory(Path.Combine(directory, "journal")).FullName;
        foreach (var (time, command) in commands)
        {
            events.Clear();
            router.Execute(command, time, events);
            events.Clear();
            // The snapshot states' callers begin with a 'Z': the snapshot proof then starts one step from its planted fault,
            // as the config proof does (fuzz/README.md: the binary seeds follow the writer).
            small.Execute(command is OfferCall offer ? new OfferCall { CallId = offer.CallId, Caller = "Z" + offer.Caller, Skill = "g", Priority = offer.Priority, Vip = offer.Vip } : command, time, events);
            var one = new StateWriter();
            JournalFormat.Append(one, ++index, time, command);
            JournalFormat.Append(journal, index, time, command);
            File.WriteAllBytes(Path.Combine(journalDir, $"record-{index:D2}"), one.Written.ToArray());
            if (index % 3 == 0)
            {
                var state = new StateWriter();
                small.WriteState(state);
                File.WriteAllBytes(Path.Combine(snapshotDir, $"state-{index:D2}"), state.Written.ToArray());
            }
        }

        File.WriteAllBytes(Path.Combine(journalDir, "journal"), [.. journal.Written, .. new byte[64]]);
    }
}
