using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sutazai.Persistence;

/// <summary>Stores a dictionary property as one JSON document (jsonb on PostgreSQL), compared by content.</summary>
internal static class JsonDictionaries
{
    public static PropertyBuilder<Dictionary<string, TValue>> AsJson<TValue>(this PropertyBuilder<Dictionary<string, TValue>> property, JsonColumns json)
    {
        property.HasConversion(
            d => JsonSerializer.Serialize(d, JsonSerializerOptions.Default),
            s => JsonSerializer.Deserialize<Dictionary<string, TValue>>(s, JsonSerializerOptions.Default) ?? new Dictionary<string, TValue>(),
            new ValueComparer<Dictionary<string, TValue>>(
                (a, b) => a!.Count == b!.Count && !a.Except(b).Any(),
                d => d.Aggregate(0, (hash, pair) => hash ^ HashCode.Combine(pair.Key, pair.Value)),
                d => new Dictionary<string, TValue>(d)));
        json.Apply(property);
        return property;
    }
}
