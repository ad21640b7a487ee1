using System.Collections.Concurrent;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Serilog.Core;
using Serilog.Events;
using Sutazai.Core;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>
/// The real server on a real Kestrel port (so body limits, content types and connections behave as in
/// production), against one test store, with a clock the test moves and every log event kept for inspection.
/// Rate limits are high unless a test sets them, so suites are not throttled by their own speed.
/// </summary>
public class SutazaiFactory(ITestStore store, IReadOnlyDictionary<string, string?>? settings = null) : WebApplicationFactory<Program>
{
    public const string AdminPassword = "test-admin-password-1";

    public ITestStore Store { get; } = store;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 26, 9, 0, 0, TimeSpan.Zero));

    public LogCapture Logs { get; } = new();

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

    public string NodeName { get; } = $"test-{Guid.NewGuid():N}";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        foreach (var (key, value) in Store.Settings)
        {
            builder.UseSetting(key, value);
        }

        builder.UseSetting("Sutazai:Server:Port", "0");
        // Each test server a node of its own, as it would be in production (metrics are tagged by node).
        builder.UseSetting("Sutazai:NodeName", NodeName);
        builder.UseSetting("Sutazai:Bootstrap:AdminPassword", AdminPassword);
        builder.UseSetting("Sutazai:RateLimits:AuthenticatedPerMinute", "1000000");
        builder.UseSetting("Sutazai:RateLimits:AnonymousPerMinute", "1000000");
        // No Ollama unless a test points at one: whatever answers on this machine's 11434 must not change results.
        builder.UseSetting("Sutazai:Models:Ollama:Endpoint", "");
        builder.UseSetting("Serilog:MinimumLevel:Default", "Information");
        builder.UseSetting("Serilog:MinimumLevel:Override:Microsoft", "Warning");
        if (Environment.GetEnvironmentVariable("SUTAZAI_TEST_LOG") is { Length: > 0 })
        {
            builder.UseSetting("Serilog:MinimumLevel:Override:Sutazai", "Debug");
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureTestServices(services =>
        {
            services.Replace(ServiceDescriptor.Singleton<TimeProvider>(Time));
            services.AddSingleton<ILogEventSink>(Logs);
        });
    }
}

/// <summary>Every log event the server wrote, rendered, so tests can look for what must never be logged.</summary>
public sealed class LogCapture : ILogEventSink
{
    private readonly ConcurrentQueue<string> _events = new();

    public IReadOnlyList<string> Rendered => [.. _events];

    public void Emit(LogEvent logEvent)
    {
        using var writer = new StringWriter();
        writer.Write(logEvent.RenderMessage());
        foreach (var (name, value) in logEvent.Properties)
        {
            writer.Write($" {name}={value}");
        }

        if (logEvent.TraceId is { } traceId)
        {
            writer.Write($" TraceId={traceId}");
        }

        if (logEvent.Exception is not null)
        {
            writer.Write($" {logEvent.Exception}");
        }

        _events.Enqueue(writer.ToString());
        if (Environment.GetEnvironmentVariable("SUTAZAI_TEST_LOG") is { Length: > 0 } file)
        {
            lock (_events)
            {
                File.AppendAllText(file, $"{logEvent.Timestamp:HH:mm:ss.fff} {logEvent.Level} {writer}{Environment.NewLine}");
            }
        }
    }
}
