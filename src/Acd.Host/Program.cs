using Acd.Host;

return await AcdProgram.RunAsync(args).ConfigureAwait(false);
