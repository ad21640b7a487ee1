using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Sutazai.Core.Models;

/// <summary>
/// Answers to deterministic calls (temperature 0, or a fixed seed), kept for a while under an exact key over the
/// model, the messages and every setting that shapes the answer. Anything else is never cached.
/// </summary>
public sealed class ResponseCache(TimeSpan lifetime, int capacity, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _hits;
    private long _misses;

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Hits over lookups so far; 0 before the first lookup.</summary>
    public double HitRatio => Hits + Misses is var lookups and > 0 ? (double)Hits / lookups : 0;

    /// <summary>The key for a call, or null when its answer may differ from one call to the next.</summary>
    public string? KeyFor(string model, IReadOnlyList<ChatMessage> messages, ChatOptions options)
    {
        if (lifetime <= TimeSpan.Zero || capacity == 0 || (options.Temperature is not 0 && options.Seed is null))
        {
            return null;
        }

        // Every content counts, not only text: tool calls and their results differ where the text is empty.
        var shape = JsonSerializer.SerializeToUtf8Bytes(new
        {
            model = model.ToLowerInvariant(),
            messages = messages.Select(m => new { role = m.Role.Value, contents = m.Contents.Select(c => JsonSerializer.SerializeToElement(c, AIJsonUtilities.DefaultOptions)) }),
            options.Temperature,
            options.TopP,
            options.TopK,
            options.MaxOutputTokens,
            options.Seed,
            options.StopSequences,
            options.FrequencyPenalty,
            options.PresencePenalty,
            tools = options.Tools?.Select(t => new { t.Name, t.Description, schema = (t as AIFunctionDeclaration)?.JsonSchema }),
            tool_mode = options.ToolMode?.ToString(),
            format = options.ResponseFormat switch
            {
                null => null,
                ChatResponseFormatJson json => json.Schema?.GetRawText() ?? "json",
                _ => "text",
            },
        });
        return Convert.ToHexString(SHA256.HashData(shape));
    }

    public IReadOnlyList<ChatResponseUpdate>? Find(string key)
    {
        if (_entries.TryGetValue(key, out var entry) && entry.Expires > time.GetUtcNow())
        {
            Interlocked.Increment(ref _hits);
            return entry.Updates;
        }

        Interlocked.Increment(ref _misses);
        return null;
    }

    public void Store(string key, IReadOnlyList<ChatResponseUpdate> updates)
    {
        var now = time.GetUtcNow();
        _entries[key] = new Entry(now + lifetime, updates);
        if (_entries.Count > capacity)
        {
            // Expired ones first, then the soonest to expire, until there is room again.
            foreach (var stale in _entries.OrderBy(e => e.Value.Expires).Take(_entries.Count - capacity).ToList())
            {
                _entries.TryRemove(stale);
            }
        }
    }

    private sealed record Entry(DateTimeOffset Expires, IReadOnlyList<ChatResponseUpdate> Updates);
}
