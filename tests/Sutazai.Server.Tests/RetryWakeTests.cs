using Sutazai.Core.Tasks;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>A node whose dispatcher polls the whole queue only once a minute.</summary>
public sealed class SlowPollTaskFixture : TaskFixture<SqliteTestStore>
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(base.Settings)
    {
        ["Sutazai:Tasks:PollMilliseconds"] = "60000",
    };
}

public sealed class RetryWakeTests(SlowPollTaskFixture fixture) : IClassFixture<SlowPollTaskFixture>
{
    [Fact]
    public async Task A_retry_runs_when_its_backoff_ends_not_at_the_next_poll()
    {
        using var admin = await fixture.Api.AdminAsync();
        var (_, capability) = await fixture.RegisterAgentAsync(admin);

        var created = await fixture.SubmitAsync(admin, new { title = "flaky once", action = "flaky", required_capabilities = new[] { capability }, input = new { failures = 1 }, max_retries = 1 });
        var id = created.GetProperty("id").GetGuid();
        await fixture.WaitUntilAsync(admin, id, t => t.GetProperty("status").GetString() == "queued" && t.GetProperty("attempt").GetInt32() == 1);

        // The backoff is at most 4 s; the poll is a minute away.
        fixture.Factory.Time.Advance(TimeSpan.FromSeconds(5));
        var done = await fixture.WaitForAsync(admin, id, TaskState.Completed);

        Assert.Equal(2, done.GetProperty("attempt").GetInt32());
    }
}
