using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Sutazai.Core;
using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

/// <summary>The persistence services wired as the server wires them, against one test store.</summary>
public sealed class StoreHarness : IAsyncDisposable
{
    private StoreHarness(ServiceProvider services, FakeTimeProvider time)
    {
        Services = services;
        Time = time;
    }

    public ServiceProvider Services { get; }

    public FakeTimeProvider Time { get; }

    public IDbContextFactory<SutazaiDbContext> Contexts => Services.GetRequiredService<IDbContextFactory<SutazaiDbContext>>();

    /// <param name="logging">Where logs go; nowhere by default.</param>
    public static StoreHarness Create(ITestStore store, IReadOnlyDictionary<string, string?>? extraSettings = null, Action<ILoggingBuilder>? logging = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(store.Settings)
            .AddInMemoryCollection(extraSettings ?? new Dictionary<string, string?>())
            .Build();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton<TimeProvider>(time)
            .AddLogging(builder => logging?.Invoke(builder))
            .AddSutazaiCore()
            .AddSutazaiPersistence()
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        return new StoreHarness(services, time);
    }

    public Task InitializeAsync() => Services.GetRequiredService<DatabaseInitializer>().InitializeAsync(TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => Services.DisposeAsync();
}
