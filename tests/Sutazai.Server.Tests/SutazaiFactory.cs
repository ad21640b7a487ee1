using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Sutazai.Server.Hosting;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>
/// The real server on a real Kestrel port (so body limits, content types and connections behave as in
/// production), against one test store.
/// </summary>
public class SutazaiFactory(ITestStore store, IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    public const string AdminPassword = "test-admin-password-1";

    public ITestStore Store { get; } = store;

    /// <summary>Starts the server and, unless told not to, waits until it has migrated, seeded and bootstrapped.</summary>
    public async Task<HttpClient> StartAsync(CancellationToken cancellationToken, bool waitUntilReady = true)
    {
        UseKestrel();
        StartServer();
        if (waitUntilReady)
        {
            await Services.GetRequiredService<StartupState>().WhenReady.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }

        return CreateClient();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in Store.Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.UseSetting("Sutazai:Server:Port", "0");
        builder.UseSetting("Sutazai:Bootstrap:AdminPassword", AdminPassword);
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }
    }
}
