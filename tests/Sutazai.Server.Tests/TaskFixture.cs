using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sutazai.Core.Agents;
using Sutazai.Core.Tasks;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>A server and an external agent it can reach, for the task engine's tests.</summary>
public class TaskFixture<TStore> : ServerFixture<TStore>
    where TStore : ITestStore, new()
{
    public ExternalAgent Agent { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Sutazai:Tasks:RetryBaseDelaySeconds"] = "2",
        ["Sutazai:Tasks:RetryMaxDelaySeconds"] = "4",
        ["Sutazai:Resources:Custom:licence"] = "1",
        ["Sutazai:Resources:Custom:seats"] = "10",
    };

    public override async ValueTask InitializeAsync()
    {
        Agent = await ExternalAgent.StartAsync();
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Agent.DisposeAsync();
    }

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    /// <summary>Registers the external agent under a fresh name with a capability of its own, and checks its health.</summary>
    public async Task<(string Name, string Capability)> RegisterAgentAsync(HttpClient admin, int maxConcurrency = 4, string[]? actions = null)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var (name, capability) = ($"ext-{suffix}", $"cap-{suffix}");
        var response = await admin.PostAsJsonAsync("/api/v1/agents", new
        {
            name,
            kind = "http",
            description = "test agent over HTTP",
            endpoint = Agent.Address.ToString(),
            capabilities = new[] { capability },
            actions = actions ?? ["echo", "flaky", "reject", "break", "hang", "gate"],
            max_concurrency = maxConcurrency,
        }, Cancellation);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        await CheckHealthAsync();
        return (name, capability);
    }

    public Task CheckHealthAsync() => Factory.Services.GetRequiredService<AgentDirectory>().CheckHealthAsync(TimeSpan.FromSeconds(5), Cancellation);

    public async Task<JsonElement> SubmitAsync(HttpClient client, object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tasks") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        var response = await client.SendAsync(request, Cancellation);
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync(Cancellation)}");
        return await response.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
    }

    /// <summary>Runs an agent's action as a task through the API and returns the finished task.</summary>
    public async Task<JsonElement> RunAsync(HttpClient client, string agent, string action, object? input = null)
    {
        var created = await SubmitAsync(client, new { title = $"{agent} {action}", agent, action, input = input ?? new { } });
        return await WaitForAsync(client, created.GetProperty("id").GetGuid(), TaskState.Completed, TaskState.Failed, TaskState.TimedOut, TaskState.Cancelled);
    }

    /// <summary>Runs an agent's action and returns its result, failing the test if the task did not complete.</summary>
    public async Task<JsonElement> ResultOfAsync(HttpClient client, string agent, string action, object? input = null)
    {
        var task = await RunAsync(client, agent, action, input);
        Assert.True(task.GetProperty("status").GetString() == "completed", $"{agent} {action}: {task}");
        return task.GetProperty("result");
    }

    /// <summary>Waits, without polling, until the task reaches one of <paramref name="states"/>; returns it as the API shows it.</summary>
    public Task<JsonElement> WaitForAsync(HttpClient client, Guid taskId, params TaskState[] states) =>
        WaitUntilAsync(client, taskId, task => states.Contains(Enum.Parse<TaskState>(task.GetProperty("status").GetString()!.Replace("_", "", StringComparison.Ordinal), ignoreCase: true)),
            $"reach {string.Join("/", states)}");

    /// <summary>Waits until the task, as the API shows it, meets <paramref name="condition"/>: checked now and after each of its changes.</summary>
    public async Task<JsonElement> WaitUntilAsync(HttpClient client, Guid taskId, Func<JsonElement, bool> condition, string what = "meet the condition")
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var subscription = Factory.Services.GetRequiredService<TaskEventHub>().Subscribe(c => c.TaskId == taskId);
        await using var changes = subscription.ReadAllAsync(timeout.Token).GetAsyncEnumerator(timeout.Token);
        var task = await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{taskId}", Cancellation);
        try
        {
            while (!condition(task))
            {
                if (!await changes.MoveNextAsync())
                {
                    break;
                }

                task = await client.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{taskId}", Cancellation);
            }
        }
        catch (OperationCanceledException) when (!Cancellation.IsCancellationRequested)
        {
        }

        if (condition(task))
        {
            return task;
        }

        var events = await client.GetStringAsync($"/api/v1/tasks/{taskId}/events", Cancellation);
        var latest = await client.GetStringAsync($"/api/v1/tasks/{taskId}", Cancellation);
        throw new TimeoutException($"Task {taskId} did not {what} within 30 s: {task}\nnow: {latest}\nevents: {events}");
    }
}
