using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sutazai.Core.Models;
using Sutazai.Server.Identity;

namespace Sutazai.Server.Models;

/// <summary>What the OpenAI- and Ollama-compatible APIs share: how they write JSON, and how they read an embedding request.</summary>
internal static class CompatibleApis
{
    /// <summary>Their clients' field names as written, nulls left out.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static async Task WriteAsync(HttpContext http, int status, object value)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(http.Response.Body, value, Json, http.RequestAborted);
    }

    /// <summary>One item of a stream (an SSE <c>data:</c> line, an NDJSON line), sent at once.</summary>
    public static async Task WriteItemAsync(HttpContext http, string prefix, object value, string suffix)
    {
        await http.Response.WriteAsync(prefix + JsonSerializer.Serialize(value, Json) + suffix, http.RequestAborted);
        await http.Response.Body.FlushAsync(http.RequestAborted);
    }

    /// <summary>Both APIs' embedding request: <c>input</c> (a string or up to 2048 strings) and <c>model</c>.</summary>
    /// <exception cref="FormatException">Says which field is wrong.</exception>
    public static EmbedCall EmbedCall(JsonElement root, ClaimsPrincipal caller, HttpContext http)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("input", out var input) || Sutazai.Core.Models.EmbedCall.ReadInputs(input, 2048) is not { } inputs)
        {
            throw new FormatException("'input' must be a non-empty string or an array of 1 to 2048 non-empty strings.");
        }

        var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        return new EmbedCall(model, inputs, new ModelCaller(caller.UserId(), caller.ApiKeyIdOf()), CallId: ChatApi.NewCallId(http));
    }
}
