using Sutazai.Testing;

namespace Sutazai.Persistence.Tests;

/// <summary>A test class with its own empty store, migrated and seeded before each test and dropped after.</summary>
public abstract class InitializedStoreTest<TStore>(IReadOnlyDictionary<string, string?>? settings = null) : IAsyncLifetime
    where TStore : ITestStore, new()
{
    private readonly TStore _store = new();

    protected StoreHarness Harness { get; private set; } = null!;

    protected TStore Store => _store;

    protected static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _store.InitializeAsync(Cancellation);
        Harness = StoreHarness.Create(_store, settings);
        await Harness.InitializeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await Harness.DisposeAsync();
        await _store.DisposeAsync();
    }
}
