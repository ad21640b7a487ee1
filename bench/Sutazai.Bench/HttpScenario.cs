using System.CommandLine;
using System.Net;

namespace Sutazai.Bench;

/// <summary>
/// The foundation's scenario: <c>/health</c> (a database round trip) and a database-backed read
/// (<c>GET /api/v1/agents</c>, authenticated with a bearer token) at a given concurrency, against SQLite or PostgreSQL.
/// </summary>
internal static class HttpScenario
{
    public static Command Command()
    {
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent clients", DefaultValueFactory = _ => 32 };
        var seconds = new Option<int>("--seconds") { Description = "Measured seconds per endpoint", DefaultValueFactory = _ => 10 };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string; SQLite when absent" };
        var command = new Command("http", "Requests/s and p50/p99 latency of /health and a database-backed read.") { concurrency, seconds, postgres };
        command.SetAction((parse, cancellationToken) =>
            RunAsync(parse.GetValue(concurrency), TimeSpan.FromSeconds(parse.GetValue(seconds)), parse.GetValue(postgres), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(int concurrency, TimeSpan duration, string? postgres, CancellationToken cancellationToken)
    {
        var storage = postgres is null ? "sqlite" : "postgresql";
        await using var server = await ServerUnderTest.StartAsync(postgres, cancellationToken);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = server.Address };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", await server.SignInAsync(http, cancellationToken));

        Console.WriteLine($"{"scenario",-22} {"storage",-11} {"clients",7} {"requests",9} {"req/s",9} {"p50 ms",8} {"p99 ms",8} {"errors",7}");
        foreach (var path in new[] { "/health", "/api/v1/agents?limit=20" })
        {
            var result = await LoadRun.RunAsync(concurrency, TimeSpan.FromSeconds(2), duration, async ct =>
            {
                using var response = await http.GetAsync(path, HttpCompletionOption.ResponseContentRead, ct);
                return response.StatusCode == HttpStatusCode.OK;
            }, cancellationToken);
            Console.WriteLine($"{"GET " + path.Split('?')[0],-22} {storage,-11} {concurrency,7} {result.Requests,9} {result.RequestsPerSecond,9:0} {result.P50Ms,8:0.00} {result.P99Ms,8:0.00} {result.Errors,7}");
        }

        return 0;
    }
}
