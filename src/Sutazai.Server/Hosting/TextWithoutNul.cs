using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using Sutazai.Server.Errors;

namespace Sutazai.Server.Hosting;

/// <summary>
/// Refuses the NUL character in request text. No name, key or document of ours needs it, PostgreSQL cannot
/// store it, and it is a favourite of injection attempts; refusing it at the edge gives a 400 instead of a 500.
/// </summary>
internal sealed class NulFreeStringConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var value = reader.GetString();
        return value is not null && value.Contains('\0', StringComparison.Ordinal)
            ? throw new JsonException("Text may not contain the NUL character (\\u0000).")
            : value;
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>The same rule inside free-form JSON (a task's input, an agent's definition), names and values alike.</summary>
internal sealed class NulFreeJsonElementConverter : JsonConverter<JsonElement>
{
    public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var element = JsonElement.ParseValue(ref reader);
        return HasNul(element) ? throw new JsonException("Text may not contain the NUL character (\\u0000).") : element;
    }

    public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options) => value.WriteTo(writer);

    private static bool HasNul(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString()!.Contains('\0', StringComparison.Ordinal),
        JsonValueKind.Array => element.EnumerateArray().Any(HasNul),
        JsonValueKind.Object => element.EnumerateObject().Any(p => p.Name.Contains('\0', StringComparison.Ordinal) || HasNul(p.Value)),
        _ => false,
    };
}

/// <summary>The same rule for the URL: a NUL in the path or query is refused before any endpoint sees it.</summary>
internal sealed class NulFreeUrl(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Path.Value?.Contains('\0', StringComparison.Ordinal) == true
            || request.Query.Any(q => q.Key.Contains('\0', StringComparison.Ordinal) || q.Value.Any(v => v?.Contains('\0', StringComparison.Ordinal) == true)))
        {
            await Problems.WriteAsync(context, new ProblemDetails
            {
                Status = StatusCodes.Status400BadRequest,
                Type = ProblemTypes.BadRequest,
                Title = "The URL cannot be read",
                Detail = "The path or query contains the NUL character (%00).",
            });
            return;
        }

        await next(context);
    }
}
