using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Sutazai.Core.Chat;

namespace Sutazai.Core.Models;

/// <summary>Who a model call is for, so usage can be told apart per user, key, agent and task.</summary>
public sealed record ModelCaller(Guid? UserId, Guid? ApiKeyId = null, string? Agent = null, Guid? TaskId = null);

/// <summary>A chat call: which model (the default when null), the conversation, the settings, and its priority (1 first).</summary>
/// <param name="CallId">Names the call while it runs (see <see cref="ModelCalls"/>); a new one when empty.</param>
public sealed record ChatCall(string? Model, IReadOnlyList<ChatMessage> Messages, ChatOptions Options, ModelCaller Caller, int Priority = 5, Guid CallId = default);

/// <summary>An embedding call: one vector per input.</summary>
public sealed record EmbedCall(string? Model, IReadOnlyList<string> Inputs, ModelCaller Caller, int Priority = 5, Guid CallId = default)
{
    /// <summary>The texts to embed from a request's <c>input</c>: one string, or an array of strings; null when the shape or size is wrong.</summary>
    public static IReadOnlyList<string>? ReadInputs(JsonElement input, int limit = 256)
    {
        List<string>? texts = input.ValueKind switch
        {
            JsonValueKind.String => [input.GetString()!],
            JsonValueKind.Array when input.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => [.. input.EnumerateArray().Select(e => e.GetString()!)],
            _ => null,
        };
        return texts is { Count: > 0 } && texts.Count <= limit && texts.All(t => t.Length is > 0 and <= 100_000) ? texts : null;
    }
}

/// <summary>Embeddings and the model and backend that made them.</summary>
public sealed record EmbedResult(string Model, string Backend, IReadOnlyList<ReadOnlyMemory<float>> Vectors, int PromptTokens, TimeSpan Duration);

/// <summary>How a backend is doing now: whether it answers, how fast, its circuit, and its last failure.</summary>
public sealed record BackendState(string Backend, bool Reachable, double LatencyMs, string Circuit, string? Error, DateTimeOffset? LastFailureAt, IReadOnlyList<BackendModel> Models);

/// <summary>
/// Every model call goes through here, in this order: the model is resolved (the default when none is named);
/// a deterministic call already answered is served from the cache; otherwise it waits for a turn under the
/// model's concurrency limit and runs on its backend, with a time limit per token, retries of transient failures
/// and the backend's circuit breaker; when the backend fails, the configured fallback models are tried in
/// order. Every answered call is recorded with its tokens and time. Streaming and whole answers take one path.
/// </summary>
public sealed class ModelGateway(
    IEnumerable<IModelBackend> backends,
    IChatHistoryStore history,
    IModelSettingsStore settings,
    ModelCalls calls,
    IOptions<ModelOptions> options,
    TimeProvider time,
    IMeterFactory? meters = null,
    IOptions<PlatformOptions>? platform = null)
{
    /// <summary>How long a node trusts its copy of the default model before reading the shared one again.</summary>
    private static readonly TimeSpan DefaultModelLifetime = TimeSpan.FromSeconds(5);

    private readonly IReadOnlyList<IModelBackend> _backends = [.. backends];
    private readonly ConcurrentDictionary<string, ModelLimiter> _limiters = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, BackendGuard> _guards = new(StringComparer.OrdinalIgnoreCase);
    private readonly ModelOptions _options = options.Value;
    private (string Model, DateTimeOffset ReadAt)? _default;

    public ResponseCache Cache { get; } = new(TimeSpan.FromSeconds(options.Value.CacheSeconds), options.Value.CacheEntries, time);

    private readonly Lock _metricsGate = new();
    private ModelMetrics? _metrics;

    /// <summary>The gateway's instruments, made once (a second set would be observed twice).</summary>
    public ModelMetrics Metrics
    {
        get
        {
            if (Volatile.Read(ref _metrics) is { } made)
            {
                return made;
            }

            lock (_metricsGate)
            {
                return _metrics ??= new ModelMetrics(meters, platform?.Value.ResolvedNodeName ?? Environment.MachineName, Cache, Lines);
            }
        }
    }

    /// <summary>The model used when a call names none: the one an admin chose, else <c>Sutazai:Models:DefaultModel</c>.</summary>
    public async ValueTask<string> DefaultModelAsync(CancellationToken cancellationToken)
    {
        if (_default is { } known && time.GetUtcNow() - known.ReadAt < DefaultModelLifetime)
        {
            return known.Model;
        }

        var model = await settings.GetDefaultModelAsync(cancellationToken) ?? _options.DefaultModel;
        _default = (model, time.GetUtcNow());
        return model;
    }

    /// <summary>Makes <paramref name="model"/> the default on every node (others see it within a few seconds).</summary>
    /// <exception cref="UnknownModelException">No backend serves it.</exception>
    public async Task SetDefaultModelAsync(string model, CancellationToken cancellationToken)
    {
        if (Locate(model) is null)
        {
            await BackendStatesAsync(cancellationToken);
        }

        var backend = Locate(model) ?? throw new UnknownModelException(model, [.. _backends.Select(b => b.Name)]);
        await settings.SetDefaultModelAsync(model, backend.Name, time.GetUtcNow(), cancellationToken);
        _default = (model, time.GetUtcNow());
    }

    /// <summary>Every model every backend serves now; a backend that cannot be asked is reported, not skipped.</summary>
    public async Task<IReadOnlyList<BackendModel>> ListModelsAsync(CancellationToken cancellationToken)
    {
        var states = await BackendStatesAsync(cancellationToken);
        return [.. states
            .SelectMany(s => s.Reachable ? s.Models : [new BackendModel($"{s.Backend}:*", s.Backend, ModelStatus.Unreachable, null, [], s.Error)])
            .OrderBy(m => m.Name, StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>Asks every backend, at once, for its models; how long it took, its circuit and its last failure.</summary>
    public async Task<IReadOnlyList<BackendState>> BackendStatesAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(_backends.Select(async backend =>
        {
            var guard = Guard(backend);
            var started = time.GetTimestamp();
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(Math.Min(10, _options.TimeoutSeconds)), time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
                var models = await backend.ListModelsAsync(linked.Token);
                return new BackendState(backend.Name, true, time.GetElapsedTime(started).TotalMilliseconds, guard.Circuit, guard.LastError, guard.LastFailureAt, models);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                var why = e is OperationCanceledException ? "it did not answer within 10 s" : e.Message;
                return new BackendState(backend.Name, false, time.GetElapsedTime(started).TotalMilliseconds, guard.Circuit, why, guard.LastFailureAt, []);
            }
        }));

    /// <summary>The backend that pulls models: the one named, or the first that can.</summary>
    /// <exception cref="NotSupportedException">No configured backend (or not the one named) can pull; says which there are.</exception>
    public IModelBackend Puller(string? backend)
    {
        if (_backends.FirstOrDefault(b => b.CanPull && (backend is null || string.Equals(b.Name, backend, StringComparison.OrdinalIgnoreCase))) is { } puller)
        {
            return puller;
        }

        var names = _backends.Count == 0 ? "none configured" : string.Join(", ", _backends.Select(b => $"{b.Name} {(b.CanPull ? "can" : "cannot")} pull"));
        throw new NotSupportedException(backend is null
            ? $"No configured backend can pull models ({names}); configure an Ollama endpoint (Sutazai:Models:Ollama:Endpoint)."
            : $"Backend '{backend}' is not configured or cannot pull models ({names}).");
    }

    /// <summary>Each model's calls running and waiting on this node now.</summary>
    public IEnumerable<(string Model, int Running, int Waiting)> Lines() => _limiters.Select(l => (l.Key, l.Value.Running, l.Value.Waiting));

    /// <summary>
    /// The backend that serves <paramref name="model"/> (the default when null), asking the remote backends again
    /// when none does; null when still none does.
    /// </summary>
    public async Task<string?> BackendOfAsync(string? model, CancellationToken cancellationToken)
    {
        var name = string.IsNullOrWhiteSpace(model) ? await DefaultModelAsync(cancellationToken) : model;
        if (Locate(name) is null)
        {
            await BackendStatesAsync(cancellationToken);
        }

        return Locate(name)?.Name;
    }

    /// <summary>Where a waiting call stands in its model's line (1 = next); null once it runs.</summary>
    public int? PositionOf(ModelCall call) => _limiters.TryGetValue(call.Model, out var limiter) ? limiter.PositionOf(call.Id) : null;

    public async Task<ChatResponse> ChatAsync(ChatCall call, CancellationToken cancellationToken) =>
        await StreamAsync(call, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(ChatCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var requested = string.IsNullOrWhiteSpace(call.Model) ? await DefaultModelAsync(cancellationToken) : call.Model;
        using var handle = calls.Begin(call.CallId, "chat", requested, call.Caller, call.Priority, cancellationToken);
        var started = time.GetTimestamp();
        var answer = new StringBuilder();
        UsageDetails? usage = null;
        var cacheKey = Cache.KeyFor(requested, call.Messages, call.Options);
        string backendName;
        IAsyncEnumerable<ChatResponseUpdate> source;
        var fromCache = false;
        if (cacheKey is not null && Cache.Find(cacheKey) is { } cached)
        {
            backendName = Locate(requested)?.Name ?? "cache";
            source = cached.ToAsyncEnumerable();
            fromCache = true;
        }
        else
        {
            var stream = await OpenAsync(requested, call, handle);
            backendName = stream.Backend!;
            source = ReadAsync(stream, stream.Model == requested ? cacheKey : null, handle);
        }

        await foreach (var update in source)
        {
            answer.Append(update.Text);
            usage = update.Contents.OfType<UsageContent>().LastOrDefault()?.Details ?? usage;
            yield return update;
        }

        await RecordAsync(call.Caller, "chat", handle.Model, backendName, call.Messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "", answer.ToString(), usage, started, cached: fromCache);
    }

    public async Task<EmbedResult> EmbedAsync(EmbedCall call, CancellationToken cancellationToken)
    {
        var requested = string.IsNullOrWhiteSpace(call.Model) ? await DefaultModelAsync(cancellationToken) : call.Model;
        using var handle = calls.Begin(call.CallId, "embed", requested, call.Caller, call.Priority, cancellationToken);
        var started = time.GetTimestamp();
        var answered = await OnFirstThatAnswersAsync<IEmbeddingGenerator<string, Embedding<float>>, GeneratedEmbeddings<Embedding<float>>>(requested, (b, m) => b.EmbeddingGenerator(m), call.Priority, handle, async (generator, token) =>
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(_options.TimeoutSeconds), time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token);
            try
            {
                return await generator.GenerateAsync(call.Inputs, null, linked.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !token.IsCancellationRequested)
            {
                throw new TimeoutException($"no embeddings within {_options.TimeoutSeconds} s (Sutazai:Models:TimeoutSeconds)");
            }
        });
        answered.Turn.Dispose();
        var (backend, model, embeddings) = (answered.Backend, answered.Model, answered.Result);
        var tokens = (int)(embeddings.Usage?.InputTokenCount ?? 0);
        await RecordAsync(call.Caller, "embed", model, backend.Name, call.Inputs.Count > 0 ? call.Inputs[0] : "", "", new UsageDetails { InputTokenCount = tokens }, started);
        return new EmbedResult(model, backend.Name, [.. embeddings.Select(e => e.Vector)], tokens, time.GetElapsedTime(started));
    }

    private ValueTask RecordAsync(ModelCaller caller, string operation, string model, string backend, string message, string response, UsageDetails? usage, long started, bool cached = false)
    {
        Metrics.Answered(operation, model, backend, cached, usage?.InputTokenCount ?? 0, usage?.OutputTokenCount ?? 0, time.GetElapsedTime(started));
        return history.RecordAsync(
            new ChatHistoryEntry
            {
                UserId = caller.UserId,
                ApiKeyId = caller.ApiKeyId,
                AgentUsed = caller.Agent,
                TaskId = caller.TaskId,
                Operation = operation,
                Model = model,
                Backend = backend,
                Message = message,
                Response = response,
                PromptTokens = (int)(usage?.InputTokenCount ?? 0),
                CompletionTokens = (int)(usage?.OutputTokenCount ?? 0),
                ResponseTimeMs = time.GetElapsedTime(started).TotalMilliseconds,
                CreatedAt = time.GetUtcNow(),
            });
    }

    /// <summary>Opens the stream on the model or, when its backend fails, on the first fallback that answers.</summary>
    private async Task<OpenStream> OpenAsync(string requested, ChatCall call, ModelCall handle)
    {
        var timeout = TimeSpan.FromSeconds(_options.TimeoutSeconds);
        var answered = await OnFirstThatAnswersAsync<IChatClient, OpenStream>(requested, (b, m) => b.ChatClient(m), call.Priority, handle, async (client, token) =>
        {
            // The first token is awaited inside the guard: a backend that cannot start an answer is retried, or
            // counts against its circuit, before the caller has seen anything.
            var stream = new OpenStream(client.GetStreamingResponseAsync(call.Messages, call.Options, token), timeout, time, token);
            try
            {
                stream.HasCurrent = await stream.MoveNextAsync();
                return stream;
            }
            catch
            {
                await stream.DisposeAsync();
                throw;
            }
        });
        answered.Result.Attach(answered.Backend.Name, answered.Model, answered.Turn);
        return answered.Result;
    }

    /// <summary>Reads the rest of an opened stream; keeps a whole cacheable answer.</summary>
    private async IAsyncEnumerable<ChatResponseUpdate> ReadAsync(OpenStream stream, string? cacheKey, ModelCall handle)
    {
        await using var _ = stream;
        var collected = cacheKey is null ? null : new List<ChatResponseUpdate>();
        var more = stream.HasCurrent;
        while (more)
        {
            var update = WithoutNul(stream.Current);
            collected?.Add(update);
            yield return update;
            try
            {
                more = await stream.MoveNextAsync();
            }
            catch (OperationCanceledException) when (handle.Token.IsCancellationRequested)
            {
                handle.ThrowIfStopped();
                throw;
            }
            catch (Exception e) when (BackendGuard.IsBackendFailure(e))
            {
                throw new ModelBackendException(stream.Backend!, stream.Model!, e);
            }
        }

        // Only a whole answer is kept: a caller that stopped reading leaves nothing behind.
        if (cacheKey is not null && collected is not null)
        {
            Cache.Store(cacheKey, collected);
        }
    }

    /// <summary>
    /// The update with each NUL character a model produced replaced by U+FFFD: no text of ours needs it, and
    /// PostgreSQL can store it neither as text nor in JSON, so an answer, its usage record and a task result holding
    /// it would fail to be saved.
    /// </summary>
    private static ChatResponseUpdate WithoutNul(ChatResponseUpdate update)
    {
        foreach (var text in update.Contents.OfType<TextContent>())
        {
            if (text.Text.Contains('\0', StringComparison.Ordinal))
            {
                text.Text = text.Text.Replace('\0', '\uFFFD');
            }
        }

        return update;
    }

    /// <summary>
    /// Tries the model, then its fallbacks, each under its concurrency limit and its backend's guard, until one
    /// answers; the answer holds its turn until the caller disposes it. The caller giving up, or someone
    /// stopping the call, ends it at once.
    /// </summary>
    private async Task<Answered<T>> OnFirstThatAnswersAsync<TClient, T>(
        string requested, Func<IModelBackend, string, TClient?> client, int priority, ModelCall handle, Func<TClient, CancellationToken, ValueTask<T>> attempt)
        where TClient : class
    {
        List<string> candidates = _options.Fallbacks.TryGetValue(requested, out var fallbacks) ? [requested, .. fallbacks] : [requested];
        if (!candidates.Any(m => Locate(m) is not null))
        {
            // A model added on a remote backend since it was last asked: ask again before calling it unknown.
            await BackendStatesAsync(handle.Token);
        }

        ModelBackendException? failure = null;
        foreach (var model in candidates)
        {
            if (Locate(model) is not { } backend || client(backend, model) is not { } found)
            {
                continue;
            }

            handle.Model = model;
            handle.StartedAt = null;
            var limiter = _limiters.GetOrAdd(model, _ => new ModelLimiter(_options.MaxConcurrentCalls, _options.MaxQueuedCalls));
            IDisposable? turn = null;
            try
            {
                turn = await limiter.EnterAsync(priority, handle.Token, handle.Id);
                handle.StartedAt = time.GetUtcNow();
                var result = await Guard(backend).ExecuteAsync(t => attempt(found, t), handle.Token);
                return new Answered<T>(backend, model, result, turn);
            }
            catch (OperationCanceledException) when (handle.Token.IsCancellationRequested)
            {
                turn?.Dispose();
                Metrics.Failed(model, backend.Name, "stopped");
                handle.ThrowIfStopped();
                throw;
            }
            catch (ModelBusyException)
            {
                Metrics.Failed(model, backend.Name, "busy");
                throw;
            }
            catch (Exception e) when (BackendGuard.IsBackendFailure(e))
            {
                turn?.Dispose();
                Metrics.Failed(model, backend.Name, "backend");
                failure = new ModelBackendException(backend.Name, model, e, failure);
            }
            catch
            {
                turn?.Dispose();
                throw;
            }
        }

        throw (Exception?)failure ?? new UnknownModelException(requested, [.. _backends.Select(b => b.Name)]);
    }

    private sealed record Answered<T>(IModelBackend Backend, string Model, T Result, IDisposable Turn);

    private BackendGuard Guard(IModelBackend backend) => _guards.GetOrAdd(backend.Name, name => new BackendGuard(name, _options, time));

    /// <summary>The first backend, in registration order, that serves the model.</summary>
    private IModelBackend? Locate(string model)
    {
        foreach (var backend in _backends)
        {
            if (backend.Serves(model))
            {
                return backend;
            }
        }

        return null;
    }
}
