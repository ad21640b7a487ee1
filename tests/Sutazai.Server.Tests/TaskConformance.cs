using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Sutazai.Core.Tasks;
using Sutazai.Server.Tasks;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>The task engine through its API, with a real external agent over HTTP, on every store.</summary>
public abstract class TaskConformance<TStore>(TaskFixture<TStore> fixture) : IClassFixture<TaskFixture<TStore>>
    where TStore : ITestStore, new()
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private TestApi Api => fixture.Api;

    [Fact]
    public async Task A_task_is_routed_by_capability_run_by_an_http_agent_and_its_whole_history_is_stored()
    {
        using var admin = await Api.AdminAsync();
        var (agent, capability) = await fixture.RegisterAgentAsync(admin);

        var created = await fixture.SubmitAsync(admin, new { title = "echo something", action = "echo", required_capabilities = new[] { capability }, input = new { word = "hello" } });
        var id = created.GetProperty("id").GetGuid();
        var done = await fixture.WaitForAsync(admin, id, TaskState.Completed, TaskState.Failed);

        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(agent, done.GetProperty("agent").GetString());
        Assert.Equal("hello", done.GetProperty("result").GetProperty("echo").GetProperty("word").GetString());
        Assert.Contains("offers echo", done.GetProperty("routing_reason").GetString(), StringComparison.Ordinal);
        var history = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{id}/events", Cancellation);
        Assert.Equal(["created", "queued", "assigned", "running", "completed"], history.EnumerateArray().Select(e => e.GetProperty("to_status").GetString()));
        Assert.Equal(done.GetProperty("routing_reason").GetString(), history[2].GetProperty("reason").GetString());
        Assert.StartsWith("started on ", history[3].GetProperty("reason").GetString(), StringComparison.Ordinal);
        var executions = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{id}/executions", Cancellation);
        var execution = Assert.Single(executions.EnumerateArray());
        Assert.Equal("completed", execution.GetProperty("status").GetString());
        Assert.Equal(id.ToString("N"), fixture.Agent.Calls.Single(c => c.TaskId == id).IdempotencyKey);
    }

    [Fact]
    public async Task The_same_idempotency_key_gives_back_the_same_task()
    {
        using var admin = await Api.AdminAsync();
        var (_, capability) = await fixture.RegisterAgentAsync(admin);
        var key = Guid.NewGuid().ToString();
        var body = new { title = "once", action = "echo", required_capabilities = new[] { capability } };

        var first = await fixture.SubmitAsync(admin, body, key);
        using var replay = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tasks") { Content = JsonContent.Create(body) };
        replay.Headers.Add("Idempotency-Key", key);
        var second = await admin.SendAsync(replay, Cancellation);
        var other = await fixture.SubmitAsync(admin, body, Guid.NewGuid().ToString());

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("true", second.Headers.GetValues("Idempotency-Replayed").Single());
        Assert.Equal(first.GetProperty("id").GetGuid(), (await second.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("id").GetGuid());
        Assert.NotEqual(first.GetProperty("id").GetGuid(), other.GetProperty("id").GetGuid());
        var done = await fixture.WaitForAsync(admin, first.GetProperty("id").GetGuid(), TaskState.Completed);
        Assert.Equal(key, done.GetProperty("result").GetProperty("idempotency_key").GetString());
    }

    [Fact]
    public async Task A_task_nobody_can_take_stays_queued_with_the_reason_until_an_agent_can()
    {
        using var admin = await Api.AdminAsync();
        var capability = $"cap-later-{Guid.NewGuid():N}"[..20];
        // Some agent must offer 'echo' for the task to be accepted at all; this one lacks the capability asked for.
        await fixture.RegisterAgentAsync(admin);

        var created = await fixture.SubmitAsync(admin, new { title = "later", action = "echo", required_capabilities = new[] { capability } });
        var id = created.GetProperty("id").GetGuid();
        var waiting = await WaitForReasonAsync(admin, id);

        Assert.Equal("queued", waiting.GetProperty("status").GetString());
        Assert.Contains($"no active agent has the capabilities [{capability}]", waiting.GetProperty("routing_reason").GetString(), StringComparison.Ordinal);
        var response = await admin.PostAsJsonAsync("/api/v1/agents", new { name = capability, kind = "http", endpoint = fixture.Agent.Address.ToString(), capabilities = new[] { capability }, actions = new[] { "echo" } }, Cancellation);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        fixture.Factory.Time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal("completed", (await fixture.WaitForAsync(admin, id, TaskState.Completed)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Transient_failures_are_retried_with_backoff_up_to_max_retries()
    {
        using var admin = await Api.AdminAsync();
        var (_, capability) = await fixture.RegisterAgentAsync(admin);

        var flaky = await fixture.SubmitAsync(admin, new { title = "flaky", action = "flaky", required_capabilities = new[] { capability }, input = new { failures = 2 }, max_retries = 3 });
        var hopeless = await fixture.SubmitAsync(admin, new { title = "hopeless", action = "flaky", required_capabilities = new[] { capability }, input = new { failures = 5 }, max_retries = 1 });
        var flakyId = flaky.GetProperty("id").GetGuid();
        var hopelessId = hopeless.GetProperty("id").GetGuid();
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            // Each failed attempt leaves the task queued for a retry after a backoff of at most 4 s.
            var failedAttempt = attempt;
            await fixture.WaitUntilAsync(admin, flakyId, t => t.GetProperty("status").GetString() == "queued" && t.GetProperty("attempt").GetInt32() == failedAttempt);
            fixture.Factory.Time.Advance(TimeSpan.FromSeconds(5));
        }

        var completed = await fixture.WaitForAsync(admin, flakyId, TaskState.Completed);
        var hopelessNow = await fixture.WaitUntilAsync(admin, hopelessId, t => t.GetProperty("status").GetString() == "failed" || (t.GetProperty("status").GetString() == "queued" && t.GetProperty("attempt").GetInt32() == 1));
        if (hopelessNow.GetProperty("status").GetString() == "queued")
        {
            fixture.Factory.Time.Advance(TimeSpan.FromSeconds(5));
        }

        var failed = await fixture.WaitForAsync(admin, hopelessId, TaskState.Failed);

        Assert.Equal(3, completed.GetProperty("attempt").GetInt32());
        var executions = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{flakyId}/executions", Cancellation);
        Assert.Equal(["failed_will_retry", "failed_will_retry", "completed"], executions.EnumerateArray().Select(e => e.GetProperty("status").GetString()));
        Assert.Equal(2, failed.GetProperty("attempt").GetInt32());
        Assert.Contains("transient trouble on attempt 2", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        var events = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{flakyId}/events", Cancellation);
        Assert.Contains(events.EnumerateArray(), e => e.GetProperty("reason").GetString()!.Contains("retry 1 of 3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_agent_that_rejects_the_input_fails_the_task_with_its_error_and_a_broken_agent_is_a_retryable_failure()
    {
        using var admin = await Api.AdminAsync();
        var (_, capability) = await fixture.RegisterAgentAsync(admin);

        var rejected = await fixture.SubmitAsync(admin, new { title = "bad input", action = "reject", required_capabilities = new[] { capability }, max_retries = 3 });
        var broken = await fixture.SubmitAsync(admin, new { title = "broken", action = "break", required_capabilities = new[] { capability } });

        var rejectedTask = await fixture.WaitForAsync(admin, rejected.GetProperty("id").GetGuid(), TaskState.Failed);
        var brokenTask = await fixture.WaitForAsync(admin, broken.GetProperty("id").GetGuid(), TaskState.Failed);
        Assert.Equal(1, rejectedTask.GetProperty("attempt").GetInt32());
        Assert.Contains("'amount' must be positive", rejectedTask.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("answered 500", brokenTask.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_a_running_task_reaches_the_agent_and_the_live_stream_reports_it()
    {
        using var admin = await Api.AdminAsync();
        var (_, capability) = await fixture.RegisterAgentAsync(admin);
        fixture.Agent.ExpectStart();

        var created = await fixture.SubmitAsync(admin, new { title = "long", action = "hang", required_capabilities = new[] { capability } });
        var id = created.GetProperty("id").GetGuid();
        using var stream = await admin.GetStreamAsync($"/api/v1/tasks/{id}/stream", Cancellation);
        using var reader = new StreamReader(stream);
        await fixture.Agent.Started.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        var cancel = await admin.PostAsync($"/api/v1/tasks/{id}/cancel", null, Cancellation);
        var seen = new List<string>();
        var eventName = "";
        while (await reader.ReadLineAsync(Cancellation) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                eventName = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && eventName == "task")
            {
                seen.Add(JsonDocument.Parse(line[6..]).RootElement.GetProperty("status").GetString()!);
            }
        }

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("cancelled", seen[^1]);
        var task = await fixture.WaitForAsync(admin, id, TaskState.Cancelled);
        Assert.Contains("cancelled by admin", task.GetProperty("error").GetString(), StringComparison.Ordinal);
        await fixture.Agent.WaitForCancelledAsync(id, Cancellation);
        await HttpConformance<TStore>.AssertProblemAsync(await admin.PostAsync($"/api/v1/tasks/{id}/cancel", null, Cancellation), HttpStatusCode.Conflict, "conflict");
    }

    [Fact]
    public async Task A_task_that_runs_past_its_timeout_times_out_and_can_be_retried()
    {
        using var admin = await Api.AdminAsync();
        var (_, capability) = await fixture.RegisterAgentAsync(admin);
        fixture.Agent.ExpectStart();

        var created = await fixture.SubmitAsync(admin, new { title = "slow", action = "hang", required_capabilities = new[] { capability }, timeout_seconds = 30 });
        var id = created.GetProperty("id").GetGuid();
        await fixture.Agent.Started.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        await fixture.WaitForAsync(admin, id, TaskState.Running);
        fixture.Factory.Time.Advance(TimeSpan.FromSeconds(31));

        var timedOut = await fixture.WaitForAsync(admin, id, TaskState.TimedOut);
        Assert.Contains("timeout of 30 s", timedOut.GetProperty("error").GetString(), StringComparison.Ordinal);
        var retry = await admin.PostAsync($"/api/v1/tasks/{id}/retry", null, Cancellation);
        // The answer's body says why, should it ever be refused (it was once, in CI, not reproduced since).
        Assert.True(retry.StatusCode == HttpStatusCode.Accepted, $"retry answered {retry.StatusCode}: {await retry.Content.ReadAsStringAsync(Cancellation)}; events: {await admin.GetStringAsync($"/api/v1/tasks/{id}/events", Cancellation)}");
        await fixture.WaitForAsync(admin, id, TaskState.Running);
        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync($"/api/v1/tasks/{id}/cancel", null, Cancellation)).StatusCode);
        await fixture.WaitForAsync(admin, id, TaskState.Cancelled);
    }

    [Fact]
    public async Task A_queued_task_past_its_deadline_times_out_without_running()
    {
        using var admin = await Api.AdminAsync();
        var deadline = fixture.Factory.Time.GetUtcNow().AddSeconds(20);

        var created = await fixture.SubmitAsync(admin, new { title = "never", action = "ping", required_capabilities = new[] { "nobody-has-this" }, deadline });
        var id = created.GetProperty("id").GetGuid();
        fixture.Factory.Time.Advance(TimeSpan.FromSeconds(21));
        await fixture.Factory.Services.GetRequiredService<TaskEngine>().MaintainOnceAsync(Cancellation);

        var task = await fixture.WaitForAsync(admin, id, TaskState.TimedOut);
        Assert.Contains("deadline passed before an agent could start it", task.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_never_runs_more_tasks_at_once_than_its_limit_and_each_runs_once()
    {
        using var admin = await Api.AdminAsync();
        var (_, capability) = await fixture.RegisterAgentAsync(admin, maxConcurrency: 3);
        var gate = $"limit-{Guid.NewGuid():N}";
        var ids = new List<Guid>();
        for (var i = 0; i < 12; i++)
        {
            var created = await fixture.SubmitAsync(admin, new { title = $"limited {i}", action = "gate", required_capabilities = new[] { capability }, input = new { gate } });
            ids.Add(created.GetProperty("id").GetGuid());
        }

        // Three arrive and wait at the gate; a fourth would be over the limit while they do.
        bool AtThisGate(ExternalAgent.Call c) => c.Action == "gate" && c.Input.GetProperty("gate").GetString() == gate;
        await fixture.Agent.WaitForCallsAsync(AtThisGate, 3, Cancellation);
        fixture.Agent.Open(gate);
        foreach (var id in ids)
        {
            await fixture.WaitForAsync(admin, id, TaskState.Completed);
        }

        Assert.Equal(3, fixture.Agent.GatePeaks[gate]);
        Assert.Equal(ids.Order(), fixture.Agent.Calls.Where(AtThisGate).Select(c => c.TaskId).Order());
    }

    [Fact]
    public async Task A_task_queued_ahead_of_those_the_dispatcher_read_ahead_runs_before_them()
    {
        using var admin = await Api.AdminAsync();
        var (agent, _) = await fixture.RegisterAgentAsync(admin, maxConcurrency: 1);
        var run = Guid.NewGuid().ToString("N");
        async Task<Guid> SubmitAsync(string name, int priority, string action = "gate") =>
            (await fixture.SubmitAsync(admin, new { title = name, agent, action, priority, input = new { gate = $"{run}-{name}" } })).GetProperty("id").GetGuid();
        Task StartedAsync(Guid id) => fixture.Agent.WaitForCallsAsync(c => c.TaskId == id, 1, Cancellation);

        // The agent's one slot is taken; three tasks wait for it.
        var first = await SubmitAsync("first", 5);
        await StartedAsync(first);
        // A moment apart: tasks queued at the same instant with the same priority have no order among themselves.
        async Task<Guid> LaterAsync(string name, string action = "gate")
        {
            fixture.Factory.Time.Advance(TimeSpan.FromMilliseconds(1));
            return await SubmitAsync(name, 9, action);
        }

        var (low1, low2, low3) = (await LaterAsync("low1"), await LaterAsync("low2"), await LaterAsync("low3", "echo"));

        // The slot frees: the next look takes low1 and reads low2 ahead for the slot's next turn.
        fixture.Agent.Open($"{run}-first");
        await StartedAsync(low1);

        // An urgent task comes while low1 runs: it goes before what was read ahead.
        var urgent = await SubmitAsync("urgent", 1, "echo");
        fixture.Agent.Open($"{run}-low1");
        fixture.Agent.Open($"{run}-low2");
        foreach (var id in new[] { first, low1, low2, low3, urgent })
        {
            await fixture.WaitForAsync(admin, id, TaskState.Completed);
        }

        Guid[] ids = [first, low1, low2, low3, urgent];
        Assert.Equal([first, low1, urgent, low2, low3], fixture.Agent.Calls.Select(c => c.TaskId).Where(ids.Contains));
    }

    [Fact]
    public async Task Priority_orders_dispatch_and_waiting_long_enough_beats_a_better_priority()
    {
        using var admin = await Api.AdminAsync();
        var submissions = fixture.Factory.Services.GetRequiredService<TaskSubmissions>();
        var store = fixture.Factory.Services.GetRequiredService<ITaskStore>();
        var capability = $"order-{Guid.NewGuid():N}"[..16];
        var me = (await admin.GetFromJsonAsync<JsonElement>("/api/v1/auth/me", Cancellation)).GetProperty("user").GetProperty("id").GetGuid();
        var submitter = new Submitter(me, new HashSet<string>());

        async Task<Guid> SubmitAsync(string title, int priority) =>
            ((SubmissionResult.Accepted)await submissions.SubmitAsync(new TaskRequest(title, RequiredCapabilities: [capability], Priority: priority), submitter, Cancellation)).Task.Id;

        var oldLow = await SubmitAsync("old low", 9);
        fixture.Factory.Time.Advance(TimeSpan.FromMinutes(8));
        var recentLow = await SubmitAsync("recent low", 9);
        fixture.Factory.Time.Advance(TimeSpan.FromMinutes(2));
        var newHigh = await SubmitAsync("new high", 2);
        fixture.Factory.Time.Advance(TimeSpan.FromSeconds(1));
        var newLow = await SubmitAsync("new low", 8);
        fixture.Factory.Time.Advance(TimeSpan.FromSeconds(1));
        var newHighLater = await SubmitAsync("new high later", 2);

        // Nobody has the capability, so the dispatcher sets these aside for a while; look past that.
        var ids = new[] { oldLow, recentLow, newHigh, newLow, newHighLater };
        var order = (await store.PeekDispatchableAsync(new DispatchWindow(fixture.Factory.Time.GetUtcNow().AddHours(1)) { Head = 10_000 }, Cancellation)).Select(t => t.Id).Where(ids.Contains).ToList();

        // One minute of waiting is worth one step of priority: ten minutes beat seven steps, two minutes do not.
        // Within a priority, first come first served.
        Assert.Equal([oldLow, newHigh, newHighLater, recentLow, newLow], order);
    }

    [Fact]
    public async Task A_webhook_is_signed_retried_until_delivered_and_logged()
    {
        using var admin = await Api.AdminAsync();
        var (_, capability) = await fixture.RegisterAgentAsync(admin);
        await using var receiver = await WebhookReceiver.StartAsync(failFirst: 1);
        const string secret = "a-webhook-secret-of-32-characters";

        var created = await fixture.SubmitAsync(admin, new { title = "notify me", action = "echo", required_capabilities = new[] { capability }, webhook_url = receiver.Url, webhook_secret = secret });
        var id = created.GetProperty("id").GetGuid();
        await fixture.WaitForAsync(admin, id, TaskState.Completed);
        var sender = fixture.Factory.Services.GetRequiredService<WebhookSender>();
        await sender.DeliverDueAsync(Cancellation);
        fixture.Factory.Time.Advance(TimeSpan.FromSeconds(5));
        await sender.DeliverDueAsync(Cancellation);

        // The sender's own timer may have taken the retry; either way it arrives.
        var received = await receiver.FirstAccepted.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        Assert.Single(receiver.Accepted);
        Assert.Equal("task.completed", received.Event);
        Assert.Equal(WebhookSender.Sign(secret, received.Timestamp, received.Body), received.Signature["v1=".Length..]);
        Assert.Equal(id, JsonDocument.Parse(received.Body).RootElement.GetProperty("task").GetProperty("id").GetGuid());
        var log = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{id}/webhooks", Cancellation);
        for (var i = 0; i < 100 && log[0].GetProperty("status").GetString() != "delivered"; i++)
        {
            // The receiver has it; the sender records the answer right after.
            await Task.Yield();
            log = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{id}/webhooks", Cancellation);
        }

        var delivery = Assert.Single(log.EnumerateArray());
        Assert.Equal("delivered", delivery.GetProperty("status").GetString());
        Assert.Equal(2, delivery.GetProperty("attempts").GetInt32());
        Assert.Equal(200, delivery.GetProperty("last_status_code").GetInt32());
    }

    [Fact]
    public async Task Callers_see_and_steer_their_own_tasks_and_operators_everyones()
    {
        using var admin = await Api.AdminAsync();
        var (_, capability) = await fixture.RegisterAgentAsync(admin);
        var (_, alice, _) = await Api.SignedInUserAsync("developer");
        var (_, bob, _) = await Api.SignedInUserAsync("developer");
        var (_, viewer, _) = await Api.SignedInUserAsync("viewer");
        var (_, operatorClient, _) = await Api.SignedInUserAsync("operator");
        fixture.Agent.ExpectStart();

        var task = await fixture.SubmitAsync(alice, new { title = "alice's", action = "hang", required_capabilities = new[] { capability } });
        var id = task.GetProperty("id").GetGuid();
        await fixture.Agent.Started.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);

        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/api/v1/tasks/{id}", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/v1/tasks/{id}", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.PostAsync($"/api/v1/tasks/{id}/cancel", null, Cancellation)).StatusCode);
        Assert.Equal(0, (await bob.GetFromJsonAsync<JsonElement>("/api/v1/tasks", Cancellation)).GetProperty("total").GetInt32());
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync("/api/v1/tasks", new { title = "no", action = "echo" }, Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await operatorClient.GetAsync($"/api/v1/tasks/{id}", Cancellation)).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await operatorClient.PostAsync($"/api/v1/tasks/{id}/cancel", null, Cancellation)).StatusCode);
        await fixture.WaitForAsync(alice, id, TaskState.Cancelled);
    }

    [Fact]
    public async Task Bad_task_requests_get_problem_details_naming_the_field()
    {
        using var admin = await Api.AdminAsync();

        var unknownAgent = await admin.PostAsJsonAsync("/api/v1/tasks", new { title = "x", agent = "no-such-agent" }, Cancellation);
        var unknownAction = await admin.PostAsJsonAsync("/api/v1/tasks", new { title = "x", action = "teleport" }, Cancellation);
        var badInput = await admin.PostAsJsonAsync("/api/v1/tasks", new { title = "x", action = "ping", input = new[] { 1, 2 } }, Cancellation);
        var badPriority = await admin.PostAsJsonAsync("/api/v1/tasks", new { title = "x", action = "ping", priority = 11 }, Cancellation);
        var pastDeadline = await admin.PostAsJsonAsync("/api/v1/tasks", new { title = "x", action = "ping", deadline = fixture.Factory.Time.GetUtcNow().AddMinutes(-1) }, Cancellation);
        var webhookWithoutSecret = await admin.PostAsJsonAsync("/api/v1/tasks", new { title = "x", action = "ping", webhook_url = "http://127.0.0.1:9/hook" }, Cancellation);
        // PostgreSQL cannot store a NUL even inside JSON: refused at the edge, on every store alike.
        var nulInInput = await admin.PostAsJsonAsync("/api/v1/tasks", new { title = "x", action = "ping", input = new { deep = new[] { "a\u0000b" } } }, Cancellation);

        Assert.True((await HttpConformance<TStore>.AssertProblemAsync(unknownAgent, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").TryGetProperty("agent", out _));
        var action = (await HttpConformance<TStore>.AssertProblemAsync(unknownAction, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").GetProperty("action")[0].GetString();
        Assert.Contains("collect_metrics", action, StringComparison.Ordinal);
        Assert.True((await HttpConformance<TStore>.AssertProblemAsync(badInput, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").TryGetProperty("input", out _));
        await HttpConformance<TStore>.AssertProblemAsync(badPriority, HttpStatusCode.BadRequest, "validation");
        Assert.True((await HttpConformance<TStore>.AssertProblemAsync(pastDeadline, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").TryGetProperty("deadline", out _));
        Assert.True((await HttpConformance<TStore>.AssertProblemAsync(webhookWithoutSecret, HttpStatusCode.BadRequest, "validation")).GetProperty("errors").TryGetProperty("webhook_secret", out _));
        Assert.Contains("NUL", (await HttpConformance<TStore>.AssertProblemAsync(nulInInput, HttpStatusCode.BadRequest, "malformed-json")).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unhealthy_agent_gets_no_new_work_and_the_api_says_why()
    {
        using var admin = await Api.AdminAsync();
        var (name, capability) = await fixture.RegisterAgentAsync(admin);
        fixture.Agent.Healthy = false;
        try
        {
            await fixture.CheckHealthAsync();
            var agent = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/agents/{name}", Cancellation);
            Assert.Equal("unhealthy", agent.GetProperty("health").GetString());
            Assert.Contains("answered 503", agent.GetProperty("health_detail").GetString(), StringComparison.Ordinal);

            var created = await fixture.SubmitAsync(admin, new { title = "waits", action = "echo", required_capabilities = new[] { capability } });
            var waiting = await WaitForReasonAsync(admin, created.GetProperty("id").GetGuid());
            Assert.Equal("queued", waiting.GetProperty("status").GetString());
            Assert.Contains($"{name}: GET", waiting.GetProperty("routing_reason").GetString(), StringComparison.Ordinal);

            fixture.Agent.Healthy = true;
            await fixture.CheckHealthAsync();
            fixture.Factory.Time.Advance(TimeSpan.FromSeconds(6));
            await fixture.WaitForAsync(admin, created.GetProperty("id").GetGuid(), TaskState.Completed);
            var history = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/agents/{name}/health", Cancellation);
            Assert.Contains(history.GetProperty("items").EnumerateArray(), h => h.GetProperty("status").GetString() == "unhealthy");
        }
        finally
        {
            fixture.Agent.Healthy = true;
        }
    }

    private Task<JsonElement> WaitForReasonAsync(HttpClient client, Guid id) =>
        fixture.WaitUntilAsync(client, id, t => t.GetProperty("routing_reason").ValueKind == JsonValueKind.String, "get a routing reason");
}

public sealed class SqliteTaskTests(TaskFixture<SqliteTestStore> fixture) : TaskConformance<SqliteTestStore>(fixture);

public sealed class PostgreSqlTaskTests(TaskFixture<PostgreSqlTestStore> fixture) : TaskConformance<PostgreSqlTestStore>(fixture);
