using Acd.Core.Domain;
using Acd.Core.Routing;

namespace Acd.Core.Tests.Support;

/// <summary>Drives a routing model on a test clock: time in seconds from a fixed start, every event kept.</summary>
public sealed class Harness
{
    /// <summary>2026-11-02 09:00 Beijing time: far from a day boundary.</summary>
    public const long Start = 1_793_581_200_000;

    public Harness(IRoutingModel model)
    {
        Model = model;
        Now = Start;
        Model.AdvanceTo(Now, _buffer);
    }

    private readonly EventBuffer _buffer = new();

    public IRoutingModel Model { get; }

    public long Now { get; private set; }

    public double Seconds => (Now - Start) / 1000.0;

    public List<RoutingEvent> Events { get; } = [];

    public CommandResult Last { get; private set; }

    public int Mark => Events.Count;

    public static long At(double seconds) => Start + (long)Math.Round(seconds * 1000);

    public CommandResult Run(Command command)
    {
        _buffer.Clear();
        Last = Model.Execute(command, Now, _buffer);
        Events.AddRange(_buffer.ToArray());
        return Last;
    }

    /// <summary>Moves the clock to <paramref name="seconds"/> after the start, firing timers.</summary>
    public void AtSecond(double seconds)
    {
        Now = At(seconds);
        _buffer.Clear();
        Model.AdvanceTo(Now, _buffer);
        Events.AddRange(_buffer.ToArray());
    }

    public void Wait(double seconds) => AtSecond(Seconds + seconds);

    public IEnumerable<RoutingEvent> Since(int mark) => Events.Skip(mark);

    public CommandResult Offer(string callId, string? skill = null, int priority = -1, OfferMode mode = OfferMode.Api, string? caller = null, long connection = 0)
        => Run(new OfferCall { CallId = callId, Skill = skill, Priority = priority, Mode = mode, Caller = caller ?? "138" + callId, Connection = mode == OfferMode.Sip && connection == 0 ? 1 : connection });

    public CommandResult Login(string agentId, AgentState state = AgentState.Ready, string? reason = null)
        => Run(new LoginAgent { AgentId = agentId, InitialState = state, Reason = reason });

    public CommandResult Logout(string agentId) => Run(new AgentCommand(CommandKind.Logout, agentId));

    public CommandResult SetState(string agentId, AgentState state, string? reason = null) => Run(new AgentCommand(CommandKind.SetState, agentId) { State = state, Reason = reason });

    public CommandResult Ready(string agentId) => SetState(agentId, AgentState.Ready);

    public CommandResult NotReady(string agentId, string reason = "break") => SetState(agentId, AgentState.NotReady, reason);

    public CommandResult EndWrapUp(string agentId) => Run(new AgentCommand(CommandKind.EndWrapUp, agentId));

    public CommandResult ExtendWrapUp(string agentId, int seconds) => Run(new AgentCommand(CommandKind.ExtendWrapUp, agentId) { Seconds = seconds });

    public CommandResult Answered(string callId) => Run(new CallCommand(CommandKind.Answered, callId));

    public CommandResult NoAnswer(string callId) => Run(new CallCommand(CommandKind.NoAnswer, callId));

    public CommandResult End(string callId) => Run(new CallCommand(CommandKind.End, callId));

    public CommandResult Abandon(string callId) => Run(new CallCommand(CommandKind.Abandon, callId));

    public CommandResult DetachConnection(long connection) => Run(new DetachConnection(connection));

    public CommandResult Transfer(string callId, string? toSkill = null, string? toAgent = null) => Run(new TransferCall { CallId = callId, ToSkill = toSkill, ToAgent = toAgent });

    public AgentState StateOf(string agentId) => Model.GetAgent(agentId)!.State;

    public string? AgentOf(string callId) => Model.GetCall(callId)?.AgentId;

    public CallState? CallStateOf(string callId) => Model.GetCall(callId)?.State;

    public int PositionOf(string callId) => Model.GetCall(callId)!.Position;

    /// <summary>The agent the call was routed to by the last CallRouted event for it.</summary>
    public string? RoutedTo(string callId) => Events.LastOrDefault(e => e.Kind == EventKind.CallRouted && e.CallId == callId).AgentId;

    public RoutingEvent LastOf(EventKind kind, string? callId = null)
        => Events.Last(e => e.Kind == kind && (callId is null || e.CallId == callId));

    /// <summary>Logs in every roster agent given, Ready, in order.</summary>
    public void AllReady(params string[] agents)
    {
        foreach (var a in agents)
        {
            Assert.True(Login(a).IsOk, $"login {a}: {Last.Message}");
        }
    }
}
