using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sutazai.Core.Chat;
using Sutazai.Persistence;
using Sutazai.Server.Audit;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>One server on one store, shared by the tests of a class (they run one after another).</summary>
public class ServerFixture<TStore> : IAsyncLifetime
    where TStore : ITestStore, new()
{
    public TStore Store { get; } = new();

    public SutazaiFactory Factory { get; private set; } = null!;

    public TestApi Api { get; private set; } = null!;

    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    public virtual async ValueTask InitializeAsync()
    {
        await Store.InitializeAsync(TestContext.Current.CancellationToken);
        Factory = new SutazaiFactory(Store, Settings);
        (await Factory.StartAsync(TestContext.Current.CancellationToken)).Dispose();
        Api = new TestApi(Factory);
    }

    public virtual async ValueTask DisposeAsync()
    {
        await Factory.DisposeAsync();
        await Store.DisposeAsync();
    }

    /// <summary>A context on the server's own store, to check what was persisted.</summary>
    public SutazaiDbContext Database() => Factory.Services.GetRequiredService<IDbContextFactory<SutazaiDbContext>>().CreateDbContext();

    /// <summary>A context on the server's store once the records written behind answers (usage, model-call audit entries) are stored.</summary>
    public async Task<SutazaiDbContext> DatabaseWithRecordsAsync()
    {
        await Factory.Services.GetRequiredService<IChatHistoryStore>().FlushAsync();
        await Factory.Services.GetRequiredService<AuditLog>().FlushAsync();
        return Database();
    }
}
