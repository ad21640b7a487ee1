using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>The server as a user starts it: a real process in an empty directory, with nothing configured.</summary>
public sealed class FirstStartTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Fresh_directory_starts_serves_health_keeps_its_state_and_shuts_down_gracefully()
    {
        using var directory = new TempDirectory();
        var environment = new Dictionary<string, string?> { ["SUTAZAI__SERVER__PORT"] = "0" };

        int firstExit;
        await using (var first = ServerProcess.Start(directory.Path, environment))
        {
            await first.WaitForLogAsync("SutazAI is ready", StartTimeout, Cancellation);
            using var http = new HttpClient { BaseAddress = first.Address };
            var health = await http.GetFromJsonAsync<JsonElement>("/health", Cancellation);
            // Up and serving; degraded only because no model backend is configured out of the box.
            Assert.Equal("degraded", health.GetProperty("status").GetString());
            Assert.Equal("healthy", health.GetProperty("dependencies").GetProperty("database").GetProperty("status").GetString());

            var passwordLines = first.LogsContaining("generated password");
            var password = Assert.Single(passwordLines).GetProperty("InitialPassword").GetString();
            Assert.Equal(24, password!.Length);
            Assert.Single(first.LogsContaining("Generated token signing key"));

            firstExit = await first.TerminateAsync(TimeSpan.FromSeconds(30), Cancellation);
            Assert.NotEmpty(first.LogsContaining("Shutting down"));
        }

        Assert.Equal(0, firstExit);
        Assert.True(File.Exists(directory.Combine("data", "sutazai.db")), "the default data dir is ./data");

        await using var second = ServerProcess.Start(directory.Path, environment);
        await second.WaitForLogAsync("SutazAI is ready", StartTimeout, Cancellation);
        using var again = new HttpClient { BaseAddress = second.Address };
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/health/ready", Cancellation)).StatusCode);
        Assert.Empty(second.LogsContaining("generated password"));
        Assert.Empty(second.LogsContaining("Generated token signing key"));
        Assert.Equal(0, await second.TerminateAsync(TimeSpan.FromSeconds(30), Cancellation));
    }

    [Theory]
    [InlineData("SUTAZAI__STORAGE__PROVIDER", "Oracle", "Sutazai:Storage:Provider must be one of Sqlite, PostgreSql (got 'Oracle')")]
    [InlineData("SUTAZAI__SERVER__PORT", "70000", "Sutazai:Server:Port must be between 0 and 65535")]
    [InlineData("SUTAZAI__SERVER__PORT", "ten", "'ten' at 'Sutazai:Server:Port'")]
    [InlineData("SUTAZAI__STORAGE__PROVIDER", "PostgreSql", "Sutazai:Storage:ConnectionString is required")]
    [InlineData("SUTAZAI__BOOTSTRAP__ADMINPASSWORD", "short", "Sutazai:Bootstrap:AdminPassword must be at least 12 characters")]
    [InlineData("SUTAZAI__MODELS__DEFAULTMODEL", " ", "Sutazai:Models:DefaultModel must name a model")]
    public async Task Invalid_configuration_stops_the_server_with_a_message_naming_the_key(string variable, string value, string expected)
    {
        using var directory = new TempDirectory();

        await using var server = ServerProcess.Start(directory.Path, new Dictionary<string, string?> { ["SUTAZAI__SERVER__PORT"] = "0", [variable] = value });
        var exit = await server.WaitForExitAsync(StartTimeout, Cancellation);

        Assert.Equal(2, exit);
        Assert.Contains(expected, server.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain(" at Microsoft.", server.Errors, StringComparison.Ordinal);
    }
}
