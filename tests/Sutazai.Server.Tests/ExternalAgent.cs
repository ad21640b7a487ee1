using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sutazai.Server.Tests;

/// <summary>
/// An agent in another "process": a real HTTP service on a loopback port that speaks the external agent
/// protocol. Its actions script what agents do in the world: succeed, fail for a while, reject input, hang until
/// the call is dropped, break. It records every call it gets and every call that was cancelled.
/// </summary>
public sealed class ExternalAgent : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ExternalAgent(WebApplication app)
    {
        _app = app;
    }

    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public ConcurrentQueue<Call> Calls { get; } = new();

    public ConcurrentQueue<Guid> Cancelled { get; } = new();

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _atGate = new(StringComparer.Ordinal);

    /// <summary>The most "gate" calls for each gate that were in progress at once.</summary>
    public ConcurrentDictionary<string, int> GatePeaks { get; } = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets every "gate" call waiting on <paramref name="gate"/> (and any later one) finish.</summary>
    public void Open(string gate) => Gate(gate).TrySetResult();

    /// <summary>Waits, without polling, until at least <paramref name="count"/> calls matching <paramref name="match"/> arrived.</summary>
    public async Task<IReadOnlyList<Call>> WaitForCallsAsync(Func<Call, bool> match, int count, CancellationToken cancellationToken)
    {
        IReadOnlyList<Call> calls = [];
        await WaitUntilAsync(() => (calls = Calls.Where(match).ToList()).Count >= count, cancellationToken);
        return calls;
    }

    /// <summary>
    /// Waits, without polling, until this agent saw the call for <paramref name="taskId"/> dropped. The caller's side
    /// ends first; this side learns of it when its server reads the closed connection, which can come later.
    /// </summary>
    public Task WaitForCancelledAsync(Guid taskId, CancellationToken cancellationToken) =>
        WaitUntilAsync(() => Cancelled.Contains(taskId), cancellationToken);

    private async Task WaitUntilAsync(Func<bool> done, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            var next = Volatile.Read(ref _changed).Task;
            if (done())
            {
                return;
            }

            await next.WaitAsync(timeout.Token);
        }
    }

    private void Changed() => Interlocked.Exchange(ref _changed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private TaskCompletionSource Gate(string gate) => _gates.GetOrAdd(gate, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>What GET /health answers; 503 when false.</summary>
    public bool Healthy { get; set; } = true;

    /// <summary>Completes when a call of the given action starts (for actions that hang).</summary>
    public TaskCompletionSource<Call> Started { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<ExternalAgent> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var agent = new ExternalAgent(app);
        app.MapGet("/health", () => agent.Healthy ? Results.Ok(new { status = "ok" }) : Results.StatusCode(503));
        app.MapPost("/process", (Func<HttpContext, Task<IResult>>)agent.ProcessAsync);
        await app.StartAsync();
        return agent;
    }

    public void ExpectStart() => Started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task<IResult> ProcessAsync(HttpContext context)
    {
        var body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body);
        var call = new Call(
            body.GetProperty("task_id").GetGuid(),
            body.GetProperty("action").GetString()!,
            body.GetProperty("input"),
            body.GetProperty("idempotency_key").GetString()!,
            body.GetProperty("attempt").GetInt32());
        Calls.Enqueue(call);
        Started.TrySetResult(call);
        Changed();
        switch (call.Action)
        {
            case "echo":
                return Results.Ok(new { status = "completed", output = new { echo = call.Input, attempt = call.Attempt, idempotency_key = call.IdempotencyKey } });
            case "flaky":
                var failures = call.Input.TryGetProperty("failures", out var f) ? f.GetInt32() : 1;
                return call.Attempt <= failures
                    ? Results.Ok(new { status = "failed", error = $"transient trouble on attempt {call.Attempt}", retryable = true })
                    : Results.Ok(new { status = "completed", output = new { attempt = call.Attempt } });
            case "reject":
                return Results.Ok(new { status = "failed", error = "input rejected: 'amount' must be positive", retryable = false });
            case "break":
                return Results.StatusCode(500);
            case "gate":
                var gate = call.Input.GetProperty("gate").GetString()!;
                var atOnce = _atGate.AddOrUpdate(gate, 1, (_, n) => n + 1);
                GatePeaks.AddOrUpdate(gate, atOnce, (_, peak) => Math.Max(peak, atOnce));
                try
                {
                    await Gate(gate).Task.WaitAsync(context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    Cancelled.Enqueue(call.TaskId);
                    Changed();
                    return Results.Empty;
                }
                finally
                {
                    _atGate.AddOrUpdate(gate, 0, (_, n) => n - 1);
                }

                return Results.Ok(new { status = "completed", output = new { passed = call.Input.GetProperty("gate").GetString() } });
            case "hang":
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    Cancelled.Enqueue(call.TaskId);
                    Changed();
                }

                return Results.Empty;
            default:
                return Results.Ok(new { status = "failed", error = $"unknown action {call.Action}" });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed record Call(Guid TaskId, string Action, JsonElement Input, string IdempotencyKey, int Attempt);
}
