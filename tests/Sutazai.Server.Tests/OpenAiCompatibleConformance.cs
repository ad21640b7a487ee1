using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using Sutazai.Testing;

namespace Sutazai.Server.Tests;

/// <summary>The OpenAI-compatible endpoints, driven by the real OpenAI .NET client with an API key as its key.</summary>
public abstract class OpenAiCompatibleConformance<TStore>(ModelFixture<TStore> fixture) : IClassFixture<ModelFixture<TStore>>
    where TStore : ITestStore, new()
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_OpenAI_client_completes_streams_and_lists_models_and_its_calls_are_recorded_against_the_key()
    {
        using var admin = await fixture.Api.AdminAsync();
        using var created = await admin.PostAsJsonAsync("/api/v1/api-keys", new { name = "openai-client", scopes = new[] { "model:use", "model:view" } }, Cancellation);
        var key = await created.Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var options = new OpenAIClientOptions { Endpoint = new Uri(admin.BaseAddress!, "/v1") };
        var credential = new ApiKeyCredential(key.GetProperty("key").GetString()!);
        var chat = new ChatClient("tiny", credential, options);
        var settings = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 12 };

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hello model")], settings, Cancellation);
        var streamed = new List<StreamingChatCompletionUpdate>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hello model")], settings, Cancellation))
        {
            streamed.Add(update);
        }

        var ours = await (await admin.PostAsJsonAsync("/api/v1/chat", new { message = "hello model", temperature = 0, max_tokens = 12 }, Cancellation))
            .Content.ReadFromJsonAsync<JsonElement>(Cancellation);
        var models = (await new OpenAIModelClient(credential, options).GetModelsAsync(Cancellation)).Value.Select(m => m.Id).ToList();

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(12, completion.Usage.OutputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + 12, completion.Usage.TotalTokenCount);
        // The same model, prompt and greedy settings give the same text on every route.
        Assert.Equal(ours.GetProperty("response").GetString(), completion.Content[0].Text);
        Assert.Equal(completion.Content[0].Text, string.Concat(streamed.SelectMany(u => u.ContentUpdate).Select(p => p.Text)));
        Assert.True(streamed.Count(u => u.ContentUpdate.Count > 0) > 1);
        Assert.Equal(ChatFinishReason.Length, streamed.Last(u => u.FinishReason is not null).FinishReason);
        Assert.Contains("tiny", models);
        Assert.DoesNotContain("missing", models);

        await using var db = await fixture.DatabaseWithRecordsAsync();
        var keyId = key.GetProperty("api_key").GetProperty("id").GetGuid();
        Assert.Equal(2, await db.ChatHistory.CountAsync(c => c.ApiKeyId == keyId, Cancellation));
    }

    [Fact]
    public async Task Failures_reach_the_client_as_OpenAI_errors_with_their_status()
    {
        using var admin = await fixture.Api.AdminAsync();
        var token = admin.DefaultRequestHeaders.Authorization!.Parameter!;
        var options = new OpenAIClientOptions { Endpoint = new Uri(admin.BaseAddress!, "/v1") };

        var unknown = await Assert.ThrowsAsync<ClientResultException>(() =>
            new ChatClient("no-such-model", new ApiKeyCredential(token), options).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation));
        var anonymous = await Assert.ThrowsAsync<ClientResultException>(() =>
            new ChatClient("tiny", new ApiKeyCredential("szk_not-a-key"), options).CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Cancellation));
        using var malformed = await admin.PostAsJsonAsync("/v1/chat/completions", new { model = "tiny", messages = Array.Empty<object>() }, Cancellation);
        var error = (await malformed.Content.ReadFromJsonAsync<JsonElement>(Cancellation)).GetProperty("error");

        Assert.Equal(404, unknown.Status);
        Assert.Contains("no-such-model", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(401, anonymous.Status);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(("invalid_request_error", "'messages' must be a non-empty array."), (error.GetProperty("type").GetString(), error.GetProperty("message").GetString()));
    }
}

public sealed class SqliteOpenAiCompatibleTests(ModelFixture<SqliteTestStore> fixture) : OpenAiCompatibleConformance<SqliteTestStore>(fixture);

public sealed class PostgreSqlOpenAiCompatibleTests(ModelFixture<PostgreSqlTestStore> fixture) : OpenAiCompatibleConformance<PostgreSqlTestStore>(fixture);
