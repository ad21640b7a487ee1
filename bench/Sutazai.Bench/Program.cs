using System.CommandLine;
using Sutazai.Bench;

var root = new RootCommand("SutazAI benchmarks: each scenario prints its figures.");
root.Subcommands.Add(HttpScenario.Command());
root.Subcommands.Add(TaskScenario.Command());
root.Subcommands.Add(GatewayScenario.Command());
return await root.Parse(args).InvokeAsync();
