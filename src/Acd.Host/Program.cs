using Acd.Host;

// Socket completions run on the sockets' own event threads instead of one thread-pool work item each: with the SIP port's
// inline transport (SipTransportFactory) a SIP message is read, parsed and answered without a hand-off between threads
// (docs/performance.md, issue 18's ninth step). The runtime reads this once, at the first socket, so it is set here
// before any; an operator's own value (0 turns it off, in acd.env) is kept.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
}

return await AcdProgram.RunAsync(args).ConfigureAwait(false);
