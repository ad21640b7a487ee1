using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Sutazai.Core.Chat;

namespace Sutazai.Core.Models;

/// <summary>Who a model call is for, so usage can be told apart per user, key, agent and task.</summary>
public sealed record ModelCaller(Guid? UserId, Guid? ApiKeyId = null, string? Agent = null, Guid? TaskId = null);

/// <summary>A chat call: which model (the default when null), the conversation, the settings, and its priority (1 first).</summary>
public sealed record ChatCall(string? Model, IReadOnlyList<ChatMessage> Messages, ChatOptions Options, ModelCaller Caller, int Priority = 5);

/// <summary>
/// Every model call goes through here: the model is resolved (the default when none is named) to the backend
/// that serves it; a deterministic call already answered is served from the cache; otherwise it waits for a
/// turn under the model's concurrency limit and runs. Every call is recorded with its tokens and time.
/// Streaming and whole answers take the same path.
/// </summary>
public sealed class ModelGateway(
    IEnumerable<IModelBackend> backends,
    IChatHistoryStore history,
    IOptions<ModelOptions> options,
    TimeProvider time)
{
    private readonly IReadOnlyList<IModelBackend> _backends = [.. backends];
    private readonly ConcurrentDictionary<string, ModelLimiter> _limiters = new(StringComparer.OrdinalIgnoreCase);

    public ResponseCache Cache { get; } = new(TimeSpan.FromSeconds(options.Value.CacheSeconds), options.Value.CacheEntries, time);

    public string DefaultModel => options.Value.DefaultModel;

    /// <summary>Every model every backend serves now; a backend that cannot be asked is reported, not skipped.</summary>
    public async Task<IReadOnlyList<BackendModel>> ListModelsAsync(CancellationToken cancellationToken)
    {
        var listed = await Task.WhenAll(_backends.Select(async backend =>
        {
            try
            {
                return await backend.ListModelsAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return (IReadOnlyList<BackendModel>)[new BackendModel($"{backend.Name}:*", backend.Name, ModelStatus.Unreachable, null, [], e.Message)];
            }
        }));
        return [.. listed.SelectMany(l => l).OrderBy(m => m.Name, StringComparer.OrdinalIgnoreCase)];
    }

    public async Task<ChatResponse> ChatAsync(ChatCall call, CancellationToken cancellationToken) =>
        await StreamAsync(call, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(ChatCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var model = string.IsNullOrWhiteSpace(call.Model) ? DefaultModel : call.Model;
        var (backend, client) = Resolve(model);
        var started = time.GetTimestamp();
        var answer = new StringBuilder();
        UsageDetails? usage = null;
        var cacheKey = Cache.KeyFor(model, call.Messages, call.Options);
        var source = cacheKey is not null && Cache.Find(cacheKey) is { } cached
            ? cached.ToAsyncEnumerable()
            : RunAsync(backend, client, model, call, cacheKey, cancellationToken);
        await foreach (var update in source.WithCancellation(cancellationToken))
        {
            answer.Append(update.Text);
            usage = update.Contents.OfType<UsageContent>().LastOrDefault()?.Details ?? usage;
            yield return update;
        }

        await history.AddAsync(
            new ChatHistoryEntry
            {
                UserId = call.Caller.UserId,
                ApiKeyId = call.Caller.ApiKeyId,
                AgentUsed = call.Caller.Agent,
                TaskId = call.Caller.TaskId,
                Model = model,
                Backend = backend.Name,
                Message = call.Messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "",
                Response = answer.ToString(),
                PromptTokens = (int)(usage?.InputTokenCount ?? 0),
                CompletionTokens = (int)(usage?.OutputTokenCount ?? 0),
                ResponseTimeMs = time.GetElapsedTime(started).TotalMilliseconds,
                CreatedAt = time.GetUtcNow(),
            },
            CancellationToken.None);
    }

    /// <summary>Runs the call on its backend under the model's concurrency limit, and keeps a whole cacheable answer.</summary>
    private async IAsyncEnumerable<ChatResponseUpdate> RunAsync(
        IModelBackend backend, IChatClient client, string model, ChatCall call, string? cacheKey, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var limiter = _limiters.GetOrAdd(model, _ => new ModelLimiter(options.Value.MaxConcurrentCalls, options.Value.MaxQueuedCalls));
        using var turn = await limiter.EnterAsync(call.Priority, cancellationToken);
        var collected = cacheKey is null ? null : new List<ChatResponseUpdate>();
        await using var updates = client.GetStreamingResponseAsync(call.Messages, call.Options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await updates.MoveNextAsync())
                {
                    break;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException and not ArgumentException)
            {
                throw new ModelBackendException(backend.Name, model, e);
            }

            collected?.Add(updates.Current);
            yield return updates.Current;
        }

        // Only a whole answer is kept: a caller that stopped reading leaves nothing behind.
        if (cacheKey is not null && collected is not null)
        {
            Cache.Store(cacheKey, collected);
        }
    }

    private (IModelBackend Backend, IChatClient Client) Resolve(string model)
    {
        foreach (var backend in _backends)
        {
            if (backend.ChatClient(model) is { } client)
            {
                return (backend, client);
            }
        }

        throw new UnknownModelException(model, _backends.Select(b => b.Name).ToList());
    }
}

/// <summary>No backend serves the model asked for.</summary>
public sealed class UnknownModelException(string model, IReadOnlyList<string> backends)
    : Exception(backends.Count == 0
        ? $"No model backend is configured, so model '{model}' cannot be served (see Sutazai:Models in the README)."
        : $"No backend ({string.Join(", ", backends)}) serves a model named '{model}'.")
{
    public string Model { get; } = model;
}

/// <summary>The backend that serves the model failed; says which and why.</summary>
public sealed class ModelBackendException(string backend, string model, Exception inner)
    : Exception($"Backend '{backend}' failed while serving model '{model}': {inner.Message}", inner)
{
    public string Backend { get; } = backend;
}
