using System.Text;
using LLama;
using LLama.Extensions;
using LLama.Common;
using LLama.Native;
using LLama.Sampling;
using Microsoft.Extensions.AI;

namespace Sutazai.LlamaCpp;

/// <summary>
/// One GGUF model: its weights are loaded on first use, shared by every call, and unloaded after an idle time
/// (never while a call runs). Each call gets its own context, so calls do not see each other's tokens.
/// </summary>
public sealed class LlamaCppModel : IAsyncDisposable
{
    private readonly SemaphoreSlim _loading = new(1, 1);
    private readonly TimeProvider _time;
    private readonly ITimer? _idleCheck;
    private readonly Lock _use = new();
    private LLamaWeights? _weights;
    private int _inUse;
    private DateTimeOffset _lastUsed;

    public LlamaCppModel(string name, LlamaCppModelOptions options, TimeProvider time)
    {
        Name = name;
        Options = options;
        _time = time;
        if (options.IdleUnloadSeconds > 0)
        {
            var period = TimeSpan.FromSeconds(Math.Max(1, options.IdleUnloadSeconds / 4.0));
            _idleCheck = time.CreateTimer(_ => UnloadIfIdle(), null, period, period);
        }
    }

    public string Name { get; }

    public LlamaCppModelOptions Options { get; }

    public bool IsLoaded => Volatile.Read(ref _weights) is not null;

    /// <summary>When the loaded weights will be unloaded if nobody uses them; null when not loaded or never unloaded.</summary>
    public DateTimeOffset? UnloadsAt
    {
        get
        {
            lock (_use)
            {
                return _weights is null || Options.IdleUnloadSeconds <= 0 ? null
                    : (_inUse > 0 ? _time.GetUtcNow() : _lastUsed) + TimeSpan.FromSeconds(Options.IdleUnloadSeconds);
            }
        }
    }

    /// <summary>Generates a continuation of <paramref name="prompt"/> token by token, until an end token or the limit.</summary>
    internal async IAsyncEnumerable<GeneratedText> GenerateAsync(
        Func<LLamaWeights, string> prompt, ChatOptions? options, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var weights = await AcquireAsync(cancellationToken);
        try
        {
            var parameters = ContextParameters();
            using var context = weights.CreateContext(parameters);
            var tokens = context.Tokenize(prompt(weights), addBos: true, special: true);
            var room = (int)context.ContextSize - tokens.Length;
            if (room <= 0)
            {
                throw new ArgumentException($"The prompt is {tokens.Length} tokens; model '{Name}' holds {context.ContextSize} in its context (Sutazai:Models:LlamaCpp:Models:{Name}:ContextSize).");
            }

            var limit = Math.Min(options?.MaxOutputTokens ?? room, room);
            using var sampler = new DefaultSamplingPipeline
            {
                Temperature = options?.Temperature ?? 0.8f,
                TopP = options?.TopP ?? 0.95f,
                TopK = options?.TopK ?? 40,
                Seed = options?.Seed is { } seed ? unchecked((uint)seed) : (uint)Random.Shared.Next(),
            };
            var batch = new LLamaBatch();
            batch.AddRange(tokens, 0, LLamaSeqId.Zero, true);
            await DecodeAsync(context, batch, cancellationToken);
            var decoder = new StreamingTokenDecoder(context);
            var position = tokens.Length;
            var finish = ChatFinishReason.Length;
            for (var generated = 0; generated < limit; generated++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var token = sampler.Sample(context.NativeHandle, batch.TokenCount - 1);
                if (token.IsEndOfGeneration(weights.Vocab))
                {
                    finish = ChatFinishReason.Stop;
                    break;
                }

                decoder.Add(token);
                yield return new GeneratedText(decoder.Read(), tokens.Length, generated + 1, null);
                batch.Clear();
                batch.Add(token, position++, LLamaSeqId.Zero, true);
                await DecodeAsync(context, batch, cancellationToken);
            }

            yield return new GeneratedText("", tokens.Length, null, finish);
        }
        finally
        {
            Release();
        }
    }

    /// <summary>One vector per input (mean of its tokens, unit length, as Ollama returns them), with its token count.</summary>
    internal async Task<IReadOnlyList<(float[] Vector, int Tokens)>> EmbedAsync(IReadOnlyList<string> inputs, CancellationToken cancellationToken)
    {
        var weights = await AcquireAsync(cancellationToken);
        try
        {
            var parameters = ContextParameters();
            parameters.Embeddings = true;
            parameters.PoolingType = LLamaPoolingType.Mean;
            parameters.BatchSize = parameters.UBatchSize = (uint)Options.ContextSize;
            using var embedder = new LLamaEmbedder(weights, parameters);
            var results = new List<(float[], int)>(inputs.Count);
            foreach (var input in inputs)
            {
                var tokens = weights.Tokenize(input, true, false, Encoding.UTF8).Length;
                if (tokens > Options.ContextSize)
                {
                    throw new ArgumentException($"An input is {tokens} tokens; model '{Name}' embeds at most {Options.ContextSize} (Sutazai:Models:LlamaCpp:Models:{Name}:ContextSize).");
                }

                var vector = (await embedder.GetEmbeddings(input, cancellationToken))[0];
                vector.EuclideanNormalization();
                results.Add((vector, tokens));
            }

            return results;
        }
        finally
        {
            Release();
        }
    }

    private ModelParams ContextParameters() => new(Options.Path)
    {
        ContextSize = (uint)Options.ContextSize,
        Threads = Options.Threads ?? Environment.ProcessorCount,
        GpuLayerCount = 0,
    };

    private static async Task DecodeAsync(LLamaContext context, LLamaBatch batch, CancellationToken cancellationToken)
    {
        var result = await context.DecodeAsync(batch, cancellationToken);
        if (result != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama.cpp could not decode the batch ({result}).");
        }
    }

    private async Task<LLamaWeights> AcquireAsync(CancellationToken cancellationToken)
    {
        await _loading.WaitAsync(cancellationToken);
        try
        {
            if (_weights is null)
            {
                if (!File.Exists(Options.Path))
                {
                    throw new FileNotFoundException($"Model '{Name}': no GGUF file at '{Options.Path}' (Sutazai:Models:LlamaCpp:Models:{Name}:Path).", Options.Path);
                }

                Volatile.Write(ref _weights, await LLamaWeights.LoadFromFileAsync(ContextParameters(), cancellationToken));
            }

            lock (_use)
            {
                _inUse++;
            }

            return _weights;
        }
        finally
        {
            _loading.Release();
        }
    }

    private void Release()
    {
        lock (_use)
        {
            _inUse--;
            _lastUsed = _time.GetUtcNow();
        }
    }

    /// <summary>Unloads the weights when no call has used them for the idle time.</summary>
    private bool UnloadIfIdle()
    {
        if (!_loading.Wait(0))
        {
            return false;
        }

        try
        {
            lock (_use)
            {
                if (_weights is null || _inUse > 0 || _time.GetUtcNow() - _lastUsed < TimeSpan.FromSeconds(Options.IdleUnloadSeconds))
                {
                    return false;
                }

                _weights.Dispose();
                Volatile.Write(ref _weights, null);
                return true;
            }
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>Unloads the weights once no call holds them; safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_idleCheck is not null)
        {
            await _idleCheck.DisposeAsync();
        }

        await _loading.WaitAsync();
        try
        {
            _weights?.Dispose();
            Volatile.Write(ref _weights, null);
        }
        finally
        {
            _loading.Release();
        }
    }
}

/// <summary>Decoded text of one token (or the end), with the counts so far.</summary>
/// <param name="CompletionTokens">Null on the closing item, which carries <paramref name="Finish"/>.</param>
internal sealed record GeneratedText(string Text, int PromptTokens, int? CompletionTokens, ChatFinishReason? Finish);
