using System.Net.Http.Json;
using System.Text.Json;
using Sutazai.Core.Agents;

namespace Sutazai.Agents.Http;

/// <summary>
/// An agent that lives in another process, in any language: it answers <c>POST {endpoint}/process</c> with
/// the request and result shapes below and <c>GET {endpoint}/health</c>. Cancelling the task cancels the
/// HTTP call, which the agent sees as a dropped connection.
/// </summary>
public sealed class HttpAgent(Agent definition, HttpClient http) : IAgent
{
    private readonly Uri _endpoint = new(definition.Endpoint!.TrimEnd('/') + "/");

    public string Name => definition.Name;

    public IReadOnlyList<AgentAction> Actions { get; } = [.. definition.Actions.Select(a => new AgentAction(a, "declared by the external agent"))];

    public async Task<AgentResult> ExecuteAsync(AgentRequest request, CancellationToken cancellationToken)
    {
        var body = new ProcessRequest(request.TaskId, request.Action, request.Input, request.IdempotencyKey, request.Attempt, request.Deadline);
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsJsonAsync(new Uri(_endpoint, "process"), body, AgentJson.Options, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            return AgentResult.Failure($"{Name} at {_endpoint} could not be reached: {e.Message}", retryable: true);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var retryable = (int)response.StatusCode >= 500 || response.StatusCode == System.Net.HttpStatusCode.TooManyRequests;
                return AgentResult.Failure($"{Name} answered {(int)response.StatusCode}: {Truncate(text)}", retryable);
            }

            ProcessResult? result;
            try
            {
                result = JsonSerializer.Deserialize<ProcessResult>(text, Lenient);
            }
            catch (JsonException e)
            {
                return AgentResult.Failure($"{Name} answered with JSON that is not a process result: {e.Message}");
            }

            return result switch
            {
                null => AgentResult.Failure($"{Name} answered with an empty body."),
                { Status: "completed" or "success" } => new AgentResult.Succeeded(result.Output ?? JsonDocument.Parse("null").RootElement.Clone()),
                { Status: "failed" or "error" } => AgentResult.Failure(result.Error ?? $"{Name} reported a failure without saying why.", result.Retryable),
                _ => AgentResult.Failure($"{Name} answered with status '{result.Status}'; expected 'completed' or 'failed'."),
            };
        }
    }

    public async Task<AgentHealthReport> CheckHealthAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(_endpoint, "health"), cancellationToken);
            return response.IsSuccessStatusCode
                ? AgentHealthReport.Healthy
                : new AgentHealthReport(AgentHealthStatus.Unhealthy, $"GET {_endpoint}health answered {(int)response.StatusCode}");
        }
        catch (HttpRequestException e)
        {
            return new AgentHealthReport(AgentHealthStatus.Unhealthy, $"{_endpoint} could not be reached: {e.Message}");
        }
    }

    /// <summary>External agents are written by others: unknown fields in their answers are tolerated.</summary>
    private static readonly JsonSerializerOptions Lenient = new(AgentJson.Options) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip };

    private static string Truncate(string text) => text.Length <= 500 ? text : text[..500] + "…";

    /// <summary>What <c>POST /process</c> receives.</summary>
    public sealed record ProcessRequest(Guid TaskId, string Action, JsonElement Input, string IdempotencyKey, int Attempt, DateTimeOffset? Deadline);

    /// <summary>What <c>POST /process</c> answers: <c>{"status":"completed","output":...}</c> or <c>{"status":"failed","error":"...","retryable":false}</c>.</summary>
    public sealed record ProcessResult(string Status, JsonElement? Output = null, string? Error = null, bool Retryable = false);
}

/// <summary>Creates HTTP agents over the shared, pooled <c>agents</c> client.</summary>
public sealed class HttpAgentFactory(IHttpClientFactory clients) : IHttpAgentFactory
{
    public const string ClientName = "agents";

    public IAgent Create(Agent definition) => new HttpAgent(definition, clients.CreateClient(ClientName));
}
