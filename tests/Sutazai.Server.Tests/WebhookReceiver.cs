using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sutazai.Server.Tests;

/// <summary>A real HTTP endpoint that receives webhooks, failing the first few on purpose.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _failuresLeft;

    private WebhookReceiver(WebApplication app, int failFirst)
    {
        _app = app;
        _failuresLeft = failFirst;
    }

    public string Url => new Uri(new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), "/hook").ToString();

    public ConcurrentQueue<Received> Accepted { get; } = new();

    public Task<Received> FirstAccepted => _first.Task;

    private readonly TaskCompletionSource<Received> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<WebhookReceiver> StartAsync(int failFirst = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, failFirst);
        app.MapPost("/hook", async (HttpContext context) =>
        {
            if (Interlocked.Decrement(ref receiver._failuresLeft) >= 0)
            {
                return Results.StatusCode(503);
            }

            using var reader = new StreamReader(context.Request.Body);
            var received = new Received(
                context.Request.Headers["X-Sutazai-Event"].ToString(),
                context.Request.Headers["X-Sutazai-Timestamp"].ToString(),
                context.Request.Headers["X-Sutazai-Signature"].ToString(),
                await reader.ReadToEndAsync());
            receiver.Accepted.Enqueue(received);
            receiver._first.TrySetResult(received);
            return Results.Ok();
        });
        await app.StartAsync();
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed record Received(string Event, string Timestamp, string Signature, string Body);
}
