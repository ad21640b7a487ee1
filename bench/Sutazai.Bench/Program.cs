using System.CommandLine;
using Sutazai.Bench;

var root = new RootCommand("SutazAI benchmarks: each scenario prints its figures.");
root.Subcommands.Add(HttpScenario.Command());
return await root.Parse(args).InvokeAsync();
